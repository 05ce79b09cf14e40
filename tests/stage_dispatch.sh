#!/bin/bash
# `edgepipe stage` and `edgepipe dispatch` on loopback addresses (no namespaces, no root):
# four stage hosts on 127.0.0.2..5, a dispatcher on 127.0.0.1.
#
#  1. every request is answered once and every answer equals the whole model's output
#     (--compute real, mobilenetv2: the dispatcher runs the whole model itself and checks each
#     answer, EMU_REAL_TOLERANCE), with the zstd codec on every link;
#  2. a stage host SIGKILLed during the workload is detected (its control connection closes,
#     its heartbeats stop), the model is re-planned on the three hosts left, and every request
#     is still answered (0 lost), again equal to the whole model's output; the new plan does
#     not use the killed host. The host is started again half a second later: the dispatcher
#     opens its node session again and it is alive again (node-back) before the run ends (a
#     constant workload of 40 requests at 10/s lasts 4 s).
#  3. `dispatch --plan FILE` runs the file's plan, not its own: the plan of `edgepipe plan
#     --format json` for these options with its two stages moved to nodes 1 and 2 (the
#     options' plan uses other nodes) is the plan deployment 0 ran, every answer still the
#     whole model's;
#  4. bad input exits 2 naming the value (a plan file whose node is not a host, a missing one).
#
# Ports: derived from the pid (control P, data P + 1 on each address), moved on if taken
# (stage_hosts.sh).
source "$(dirname "$0")/cli_lib.sh"
setup stage_dispatch.sh "$@"
source "$(dirname "$0")/stage_hosts.sh"

if ! "$EP" stage --help >/dev/null 2>&1; then
	echo "edgepipe has no stage command" >&2
	exit 1
fi
hosts_require 4

q() { sqlite3 "$1" "$2"; }

COMMON=(--listen 127.0.0.1 --model mobilenetv2 --mem 64MiB --cluster uniform
	--bw-range 100Mbit:200Mbit --seed 1 --probes 0 --compute real)

# 1: a whole run.
if hosts_start one 4; then
	db=$TMP/one.db
	"$EP" dispatch --hosts "$HOSTS" "${COMMON[@]}" --requests 16 --compress zstd --db "$db" \
		>"$TMP/one.out" 2>"$TMP/one.err"
	rc=$?
	if [ $rc = 0 ]; then pass "dispatch: exit 0"; else fail "dispatch: exit $rc" "$(cat "$TMP/one.err")"; fi
	got=$(q "$db" "SELECT answered, incomplete, duplicates, mismatches FROM emu_summary")
	if [ "$got" = "16|0|0|0" ]; then pass "16 answered once, none lost, none differ"
	else fail "answered|incomplete|duplicates|mismatches = '$got', want 16|0|0|0"; fi
	# Every answer checked against the whole model's output (duplicates included).
	got=$(q "$db" "SELECT checked >= 16, count(*) FROM emu_summary,
		(SELECT 1 FROM emu_requests WHERE mismatch = 0 AND done_s >= 0)")
	if [ "$got" = "1|16" ]; then pass "every answer equals the whole model's"
	else fail "checked >= 16 | requests matched = '$got', want 1|16"; fi
	# The codec ran on the hosts and the dispatcher: zstd is lossless (answers still match)
	# and the activations after a ReLU compress.
	got=$(q "$db" "SELECT wire_bytes > 0 AND wire_bytes < raw_bytes FROM emu_summary")
	if [ "$got" = 1 ]; then pass "zstd on the wire: fewer bytes than the raw tensors"
	else fail "wire_bytes < raw_bytes: '$got'" "$(q "$db" "SELECT raw_bytes, wire_bytes FROM emu_summary")"; fi
	# The stages ran on the hosts: their counters came back through the relay.
	got=$(q "$db" "SELECT min(frames_out) FROM emu_stages WHERE deployment = 0")
	if [ "$got" = 16 ]; then pass "each stage host computed 16 frames"
	else fail "stage frames_out min = '$got', want 16"; fi
	# SIGTERM: the hosts stop cleanly (exit 0; under a sanitizer, no report).
	if hosts_stop && ! grep -q Sanitizer "$TMP"/one.h*.log; then
		pass "stage hosts exit 0 on SIGTERM"
	else
		fail "stage hosts on SIGTERM:$HOSTS_BAD" "$(cat "$TMP"/one.h*.log)"
	fi
else
	fail "no free port for four stage hosts" "$(cat "$TMP"/one.h*.log)"
fi

# 2: a stage host SIGKILLed during the workload.
if hosts_start two 4; then
	db=$TMP/two.db
	"$EP" dispatch --hosts "$HOSTS" "${COMMON[@]}" --requests 40 --workload constant:10 \
		--db "$db" \
		>"$TMP/two.out" 2>"$TMP/two.err" &
	dpid=$!
	# Wait for the workload: the first answers are counted by the last stage's host.
	victim=$(log_wait 15 "deployment 0 stage 0 of" "$TMP"/two.h*.log)
	killed_node=-1
	if [ -n "$victim" ]; then
		killed_node=$(host_of "$victim")
		# Kill during the workload, not during set-up (a deployment that fails before the
		# workload starts ends the run by design, emu_recovery.c): wait until the host's
		# data port has received two input images. A fixed 0.4 s sleep lost that race
		# under load.
		host_rx_wait "$killed_node" >/dev/null
		host_kill "$killed_node"
		sleep 0.5
		host_restart "$killed_node" "$TMP/two.again.log"
	fi
	wait $dpid
	rc=$?
	if [ -n "$victim" ]; then pass "host of stage 0 (node $killed_node) SIGKILLed"
	else fail "no host was assigned stage 0" "$(cat "$TMP/two.err")"; fi
	if [ $rc = 0 ]; then pass "dispatch after a kill: exit 0"
	else fail "dispatch after a kill: exit $rc" "$(tail -20 "$TMP/two.err")"; fi
	got=$(q "$db" "SELECT answered, incomplete, mismatches FROM emu_summary")
	if [ "$got" = "40|0|0" ]; then pass "40 answered, 0 lost, none differ after the kill"
	else fail "answered|incomplete|mismatches = '$got', want 40|0|0"; fi
	got=$(q "$db" "SELECT count(*) FROM emu_requests WHERE done_s >= 0 AND mismatch = 0")
	if [ "$got" = 40 ]; then pass "every request answered with the whole model's output"
	else fail "requests answered and matched = '$got', want 40"; fi
	# Detected and re-planned: a second deployment went live, without the killed node.
	got=$(q "$db" "SELECT count(*) FROM emu_events WHERE kind = 'detect'")
	if [ "${got:-0}" -ge 1 ]; then pass "the kill was detected"
	else fail "no detect event" "$(q "$db" "SELECT kind, text FROM emu_events")"; fi
	got=$(q "$db" "SELECT count(*) FROM emu_events WHERE kind = 'node-back' AND node = $killed_node")
	if [ "${got:-0}" -ge 1 ]; then pass "the restarted host heartbeats again (node-back)"
	else fail "no node-back event for node $killed_node" "$(q "$db" "SELECT t_s, kind, node, text FROM emu_events")" \
		"$(cat "$TMP/two.again.log")"; fi
	got=$(q "$db" "SELECT plan FROM emu_deployments WHERE live_s IS NOT NULL
		ORDER BY deployment DESC LIMIT 1")
	ndep=$(q "$db" "SELECT count(*) FROM emu_deployments WHERE live_s IS NOT NULL")
	if [ "${ndep:-0}" -ge 2 ] && [[ "$got" != *"@$killed_node"* ]]; then
		pass "re-planned on the hosts left ($got)"
	else
		fail "live deployments $ndep, last plan '$got' (killed node $killed_node)" \
			"$(q "$db" "SELECT deployment, plan, state, reason FROM emu_deployments")"
	fi
	hosts_kill
else
	fail "no free port for four stage hosts" "$(cat "$TMP"/two.h*.log)"
fi

# 3: --plan FILE
"$EP" plan --model mobilenetv2 --mem 64MiB --cluster uniform --bw-range 100Mbit:200Mbit \
	--seed 1 --nodes 4 --format json >"$TMP/plan.json" 2>"$TMP/plan.err"
own=$(python3 -c 'import json, sys
p = json.load(open(sys.argv[1]))[0]
print(" ".join("%d..%d@%d" % (s["first_cut"], s["end_cut"], s["node"]) for s in p["stages"]))' "$TMP/plan.json")
python3 -c 'import json, sys
p = json.load(open(sys.argv[1]))
for s, n in zip(p[0]["stages"], (1, 2)): s["node"] = n
json.dump(p, open(sys.argv[2], "w"))
p[0]["stages"][0]["node"] = 7
json.dump(p, open(sys.argv[3], "w"))' "$TMP/plan.json" "$TMP/moved.json" "$TMP/bad.json"
want=$(python3 -c 'import json, sys
p = json.load(open(sys.argv[1]))[0]
print(" ".join("%d..%d@%d" % (s["first_cut"], s["end_cut"], s["node"]) for s in p["stages"]))' "$TMP/moved.json")
if [ -n "$want" ] && [ "$want" != "$own" ] && hosts_start plan 4; then
	db=$TMP/plan.db
	"$EP" dispatch --hosts "$HOSTS" "${COMMON[@]}" --requests 8 --plan "$TMP/moved.json" \
		--db "$db" >"$TMP/plan.out" 2>"$TMP/plan.err"
	rc=$?
	if [ $rc = 0 ]; then pass "dispatch --plan: exit 0"
	else fail "dispatch --plan: exit $rc" "$(tail -20 "$TMP/plan.err")"; fi
	got=$(q "$db" "SELECT plan FROM emu_deployments WHERE deployment = 0")
	if [ "$got" = "$want" ]; then pass "the plan file's stages ran ($got; the options give $own)"
	else fail "deployment 0 ran '$got', the file has '$want'"; fi
	got=$(q "$db" "SELECT answered, incomplete, mismatches FROM emu_summary")
	if [ "$got" = "8|0|0" ]; then pass "--plan: 8 answered, each the whole model's output"
	else fail "--plan: answered|incomplete|mismatches = '$got', want 8|0|0"; fi
	hosts_kill
else
	fail "a moved plan ('$want', the options' '$own') or the hosts" "$(cat "$TMP/plan.err")"
fi

# 4: bad input.
expect_exit2 "stage without --listen" "--listen" "$EP" stage
expect_exit2 "stage bad port" "'127.0.0.1:70000'" "$EP" stage --listen 127.0.0.1:70000
expect_exit2 "dispatch without --hosts" "--hosts" "$EP" dispatch --model mobilenetv2 --mem 64MiB
expect_exit2 "dispatch bad host item" "'localhost': expected HOST:PORT" "$EP" dispatch --hosts a=localhost \
	--model mobilenetv2 --mem 64MiB
expect_exit2 "dispatch --nodes disagrees" "--nodes 3" "$EP" dispatch \
	--hosts 127.0.0.2:1,127.0.0.3:1 --nodes 3 --model mobilenetv2 --mem 64MiB
expect_exit2 "dispatch refuses faults" "--fault" "$EP" dispatch --hosts 127.0.0.2:1 \
	--model mobilenetv2 --mem 64MiB --fault 'kill node0 at 1s'
expect_exit2 "dispatch --plan with a node that is not a host" "--plan '$TMP/bad.json'${NL}node 7" \
	"$EP" dispatch --hosts 127.0.0.2:1,127.0.0.3:1,127.0.0.4:1,127.0.0.5:1 "${COMMON[@]}" \
	--plan "$TMP/bad.json"
expect_exit2 "dispatch --plan missing file" "'$TMP/none.json'" "$EP" dispatch \
	--hosts 127.0.0.2:1 --model mobilenetv2 --mem 64MiB --plan "$TMP/none.json"
finish
