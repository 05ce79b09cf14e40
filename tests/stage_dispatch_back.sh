#!/bin/bash
# A stage host that comes back after being declared dead, on real hosts (`edgepipe stage` on
# 127.0.0.2..4, no namespaces, no root), with the emulator's semantics (emu_remote.h): a host
# heartbeating again is alive again ("node-back"); its return starts no re-plan by itself
# (the running plan keeps running), and the next re-plan uses it.
#
# MobileNetV2 at 64 MiB per node needs two stages (its first piece, cuts 0..37, takes 63.4 MiB;
# `edgepipe plan` on 1 node finds none), so on three hosts:
#   1. the host of stage 0 is SIGKILLed during the workload: declared dead, re-planned on the
#      two left (the deployment that goes live uses both, not the dead one);
#   2. it is started again on the same address: the dispatcher opens its node session again,
#      it heartbeats, node-back; no deployment starts then (the re-plan's keeps serving);
#   3. the host of that deployment's stage 0 is SIGKILLed: the re-plan has two hosts alive,
#      the returned one among them, and uses it;
# and every request is answered once with the whole model's output (--compute real), 0 lost.
# The heartbeat timeout is 2 s (not 0.5): on a loaded machine a host starved of CPU for half a
# second was declared dead during set-up, which ends a run; the kills are seen at once anyway
# (the control connection closes, the port refuses the next assignment). The workload (10 s at
# 10/s) outlasts the two kills and the restart under load.
source "$(dirname "$0")/cli_lib.sh"
setup stage_dispatch_back.sh "$@"

source "$(dirname "$0")/stage_hosts.sh"
hosts_require 3

q() { sqlite3 "$1" "$2"; }

if ! hosts_start one 3; then
	fail "no free port for three stage hosts" "$(cat "$TMP"/one.h?.log)"
	finish
fi
db=$TMP/back.db
"$EP" dispatch --hosts "$HOSTS" --listen 127.0.0.1 --model mobilenetv2 --mem 64MiB \
	--cluster uniform --bw-range 100Mbit:200Mbit --seed 1 --probes 0 --compute real \
	--requests 100 --workload constant:10 --heartbeat-timeout 2s --db "$db" \
	>"$TMP/back.out" 2>"$TMP/back.err" &
dpid=$!
ok=0
if f=$(log_wait 30 "deployment 0 stage 0 of" "$TMP"/one.h?.log); then
	x=$(host_of "$f")
	host_rx_wait "$x" $((PORT + 1)) $((PORT + 2)) >/dev/null
	host_kill "$x"
	# 1 -> 2: a re-plan live on the two left (the first ones may still pick the dead host,
	# until its heartbeats time out or its port refuses), then X back.
	others=$(ls "$TMP"/one.h?.log | grep -v "one.h$x.log")
	if f=$(log_wait 30 "deployment [1-9][0-9]* stage 0 of" $others) &&
		host_rx_wait "$(host_of "$f")" $((PORT + 1)) $((PORT + 2)) >/dev/null; then
		host_restart "$x" "$TMP/back.h$x.log"
		if log_wait 30 "node session" "$TMP/back.h$x.log" >/dev/null; then
			sleep 1 # heartbeats: node-back; the run goes on with the re-plan's deployment
			y=$(host_of "$(grep -l "deployment [1-9][0-9]* stage 0 of" $others | head -1)")
			host_kill "$y"
			ok=1
		fi
	fi
fi
wait $dpid
rc=$?
if [ $ok = 1 ]; then pass "killed host $x (stage 0), restarted it, then killed host $y"
else fail "the kills did not happen as planned (x=$x y=$y)" "$(cat "$TMP"/one.h?.log "$TMP"/back.h?.log 2>/dev/null)" \
	"$(q "$db" "SELECT printf('%.3f', t_s), kind, node, text FROM emu_events")"; fi
if [ $rc = 0 ]; then pass "dispatch: exit 0"
else fail "dispatch: exit $rc" "$(tail -20 "$TMP/back.err")"; fi
got=$(q "$db" "SELECT answered, incomplete, mismatches FROM emu_summary")
if [ "$got" = "100|0|0" ]; then pass "100 answered, 0 lost, each the whole model's output"
else fail "answered|incomplete|mismatches = '$got', want 100|0|0"; fi
if [ $ok = 1 ]; then
	events=$(q "$db" "SELECT printf('%.3f', t_s), kind, node, deployment, text FROM emu_events")
	plans=$(q "$db" "SELECT deployment, plan, state, printf('%.3f', started_s) FROM emu_deployments")
	p1=$(q "$db" "SELECT plan FROM emu_deployments WHERE deployment > 0 AND live_s IS NOT NULL
		ORDER BY deployment LIMIT 1")
	if [ -n "$p1" ] && [[ "$p1" != *"@$x"* ]]; then pass "the re-plan leaves the dead node $x out ($p1)"
	else fail "the first re-plan live: '$p1' (dead node $x)" "$plans"; fi
	back=$(q "$db" "SELECT min(t_s) FROM emu_events WHERE kind = 'node-back' AND node = $x")
	# The second failure: the first deployment on node Y to fail after X came back (its
	# control connection closes before Y's heartbeats time out).
	fail2=$(q "$db" "SELECT min(ended_s) FROM emu_deployments WHERE state = 'failed' AND
		ended_s > ${back:-1e9} AND plan LIKE '%@$y%'")
	if [ -n "$back" ] && [ -n "$fail2" ]; then pass "node $x back at $back s, node $y's deployment failed at $fail2 s"
	else fail "node-back of $x '$back', a failure on node $y after it '$fail2'" "$events" "$plans"; fi
	if [ -n "$back" ] && [ -n "$fail2" ]; then
		# Its return started nothing: no deployment between node-back and the next failure.
		got=$(q "$db" "SELECT count(*) FROM emu_deployments WHERE started_s > $back AND
			started_s < $fail2")
		if [ "$got" = 0 ]; then pass "the return started no re-plan"
		else fail "$got deployment(s) started between node-back and the next failure" "$plans"; fi
		p2=$(q "$db" "SELECT plan FROM emu_deployments WHERE started_s >= $fail2 AND
			live_s IS NOT NULL ORDER BY deployment LIMIT 1")
		if [[ "$p2" == *"@$x"* ]] && [[ "$p2" != *"@$y"* ]]; then
			pass "the next re-plan that went live uses the returned node $x ($p2)"
		else
			fail "the re-plan live after node $y failed: '$p2' (want node $x in it)" \
				"$plans" "$events"
		fi
	fi
fi
hosts_kill
finish
