#!/usr/bin/env bash
# The pods of `edgepipe deploy --k8s`, run here without Kubernetes: each Deployment's container
# command and arguments exactly as the manifests give them (tests/k8s/deploy_commands.py), the
# ConfigMap's files in a directory for /config, each stage host on its own loopback address
# (127.0.0.2..5 for the pods' IPs, the Services' names replaced by them), the dispatcher on
# 127.0.0.1. The model is a model file, so it travels in the ConfigMap and both the
# dispatcher and the stage hosts load it from /config. The host of stage 0 is SIGKILLed during
# the workload (a node dying). Checks: the dispatcher exits 0, every request answered with the
# whole model's output (--compute real), none lost; its first deployment is the plan the
# ConfigMap records (the same options give the same plan), run by the hosts annotated with
# those stages; a later deployment, over the hosts left, does not use the killed one. Then (2)
# a new model version rolled out through the ConfigMap alone, the pods' copies of /config
# updated at different times (below).
# Exits 77 without Python's yaml or where 127.0.0.5 is not a loopback address.
# Usage: k8s_deploy_run.sh EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup k8s_deploy_run.sh "$@"
EP=$(realpath "$EP") # part 2 runs the pods in directories of their own
here=$(cd "$(dirname "$0")/.." && pwd)
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
"$py" -c "import yaml" 2>/dev/null || { echo "skipped: no Python yaml"; exit 77; }
source "$(dirname "$0")/stage_hosts.sh"
hosts_require 4

# pods_argv I: host I's container arguments from $PODS/host-I.args (deploy_commands.py), its
# pod IP for 0.0.0.0; sets HOST_ARGV (stage_hosts.sh).
pods_argv() {
	mapfile -t HOST_ARGV <"$PODS/host-$1.args"
	HOST_ARGV=("${HOST_ARGV[@]//0.0.0.0:/$(hosts_addr "$1"):}")
	[ "${HOST_ARGV[0]}" = edgepipe ] || fail "host $1: command '${HOST_ARGV[0]}'"
	HOST_ARGV=("${HOST_ARGV[@]:1}")
}

"$EP" model export mobilenetv2 -o "$TMP/m.model" >/dev/null || fail "model export"
n_req=40
# The manifests for the port hosts_start chose (moved on when taken) and the pods' commands.
k8s_manifests() {
	rm -rf "$TMP/man" "$TMP/pods"
	"$EP" deploy --k8s -o "$TMP/man" --node-names a,b,c,d --model "$TMP/m.model" --mem 64MiB \
		--cluster uniform --bw-range 100Mbit:200Mbit --seed 1 --port "$PORT" \
		--dispatch-port $((PORT + 2)) -- --probes 0 --compute real --requests $n_req \
		--db /data/run.db >"$TMP/deploy.log" 2>&1 || { fail "deploy" "$(cat "$TMP/deploy.log")"; return 1; }
	"$py" "$here/tests/k8s/deploy_commands.py" "$TMP/man" "$TMP/pods" || { fail "commands"; return 1; }
}
PODS=$TMP/pods
started=0
hosts_start --prepare k8s_manifests --argv pods_argv k8s 4 && started=1
if [ $started = 1 ]; then
	pass "4 stage hosts started from the manifests' commands (port $PORT)"
	mapfile -t a <"$TMP/pods/controller.args"
	for i in 0 1 2 3; do a=("${a[@]//edgepipe-host-$i:/127.0.0.$((i + 2)):}"); done
	a=("${a[@]//0.0.0.0:/127.0.0.1:}")
	a=("${a[@]//\/config\//$TMP/pods/config/}")
	a=("${a[@]//\/data\//$TMP/}")
	timeout 120 "$EP" "${a[@]:1}" >"$TMP/dispatch.out" 2>"$TMP/dispatch.err" &
	dpid=$!
	# A node dies: the host of stage 0 is SIGKILLed once the workload runs; the dispatcher
	# must re-plan over the hosts left (a spare among them) and lose nothing.
	# A kill before the workload starts fails the run by design (emu_recovery.c: a deployment
	# failing during set-up is fatal), and under load set-up takes seconds: so the kill waits
	# until stage 0's data port has received two input tensors (ss, 224x224x3 float32 each).
	victim=$(log_wait 15 "deployment 0 stage 0 of" "$TMP"/k8s.h*.log)
	killed=-1
	if [ -n "$victim" ]; then
		killed=$(host_of "$victim")
		rx=$(host_rx_wait "$killed")
		host_kill "$killed"
		pass "the host of stage 0 (node $killed) SIGKILLed during the workload (rx $rx)"
	else
		fail "no host ran stage 0" "$(cat "$TMP"/k8s.h*.log)"
	fi
	wait $dpid
	rc=$?
	[ $rc = 0 ] && pass "dispatch from the manifest: exit 0" ||
		fail "dispatch exit $rc" "${a[*]}" "$(tail -5 "$TMP/dispatch.err")"
	got=$(sqlite3 "$TMP/run.db" "SELECT answered, incomplete, mismatches FROM emu_summary" 2>&1)
	[ "$got" = "$n_req|0|0" ] && pass "$n_req answered, none lost, all equal the whole model's" ||
		fail "answered|incomplete|mismatches = '$got', want $n_req|0|0"
	got=$(sqlite3 "$TMP/run.db" "SELECT plan FROM emu_deployments WHERE live_s IS NOT NULL
		ORDER BY deployment DESC LIMIT 1")
	ndep=$(sqlite3 "$TMP/run.db" "SELECT count(*) FROM emu_deployments WHERE live_s IS NOT NULL")
	if [ "${ndep:-0}" -ge 2 ] && [[ "$got" != *"@$killed"* ]]; then
		pass "re-planned over the hosts left ($got)"
	else
		fail "live deployments $ndep, last plan '$got' (killed node $killed)"
	fi
	# plan.json's stages as the dispatcher writes a plan: "first..end@node ...".
	want=$("$py" -c "
import json, sys
p = json.load(open(sys.argv[1]))
print(' '.join(f\"{s['first_cut']}..{s['end_cut']}@{s['node']}\" for s in p['stages']))" \
		"$TMP/pods/config/plan.json")
	got=$(sqlite3 "$TMP/run.db" "SELECT plan FROM emu_deployments WHERE deployment = 0" 2>&1)
	[ -n "$want" ] && [ "$got" = "$want" ] &&
		pass "the dispatcher's plan is the ConfigMap's ($got)" ||
		fail "dispatcher's plan '$got', ConfigMap's '$want'"
	# The stage hosts the plan annotates are the ones that ran its stages.
	ran=1
	for i in 0 1 2 3; do
		s=$(cat "$TMP/pods/host-$i.stage")
		if [ "$s" = spare ]; then
			grep -q "deployment 0 stage" "$TMP/k8s.h$i.log" && ran=0 &&
				fail "host $i is a spare but ran a stage" "$(cat "$TMP/k8s.h$i.log")"
		else
			grep -q "deployment 0 stage $s of" "$TMP/k8s.h$i.log" ||
				{ ran=0; fail "host $i did not run stage $s" "$(cat "$TMP/k8s.h$i.log")"; }
		fi
	done
	[ $ran = 1 ] && pass "each host ran the stage its Deployment is annotated with"
	hosts_stop && pass "stage hosts exit 0 on SIGTERM" || fail "stage hosts on SIGTERM:$HOSTS_BAD"
else
	fail "no free port for four stage hosts" "$(cat "$TMP"/k8s.h*.log 2>/dev/null)"
fi

# 2: a new model version through the ConfigMap. The same pods run from the manifests of
# MobileNetV2's file, each in a directory of its own holding its copy of /config (relative
# paths: a pod's /config is its own volume); during the workload the ConfigMap of MobileNet's
# file (edgepipe deploy's second output, whose pod templates are the first's) reaches the
# dispatcher's copy, and the hosts' copies only once a host has been assigned the new version,
# as kubelets refresh a ConfigMap volume each at its own time (heartbeat timeout 3 s: no host
# starved of CPU on a loaded machine is taken for dead during the roll-out). The dispatcher, watching its model file, rolls MobileNet out; hosts
# whose copy is still the old model wait for theirs. Checks: every request answered once with
# the whole model's output of the version that answered it, the update went live, no
# deployment failed.
"$EP" model export mobilenet -o "$TMP/m2.model" >/dev/null || fail "model export mobilenet"
# The two versions' manifests for the port hosts_start chose, the pods' commands, and each
# pod's copy of the first version's /config: the hosts' in their directories, the
# dispatcher's in roll.c.
roll_manifests() {
	local v m=("$TMP/m.model" "$TMP/m2.model") d
	rm -rf "$TMP/roll1" "$TMP/roll2" "$TMP/r1" "$TMP/r2" "$TMP/roll.c"
	: >"$TMP/deploy.log"
	for v in 1 2; do
		"$EP" deploy --k8s -o "$TMP/roll$v" --node-names a,b,c,d --model "${m[v - 1]}" \
			--mem 64MiB --cluster uniform --bw-range 100Mbit:200Mbit --seed 1 --port "$PORT" \
			--dispatch-port $((PORT + 2)) -- --probes 0 --compute real --requests 80 \
			--workload constant:10 --heartbeat-timeout 3s --db /data/roll.db \
			>>"$TMP/deploy.log" 2>&1 &&
			"$py" "$here/tests/k8s/deploy_commands.py" "$TMP/roll$v" "$TMP/r$v" || return 1
	done
	for d in "$TMP"/roll.h? "$TMP/roll.c"; do
		mkdir -p "$d" && cp -r "$TMP/r1/config" "$d/" || return 1
	done
}
PODS=$TMP/r1
if [ $started = 1 ] && hosts_start --dirs --prepare roll_manifests --argv pods_argv roll 4; then
	cmp -s "$TMP/r1/controller.args" "$TMP/r2/controller.args" &&
		pass "the new version's controller runs the same command" ||
		fail "the controller's command changed with the model" "$(diff "$TMP/r1/controller.args" "$TMP/r2/controller.args")"
	mapfile -t a <"$TMP/r1/controller.args"
	for i in 0 1 2 3; do a=("${a[@]//edgepipe-host-$i:/127.0.0.$((i + 2)):}"); done
	a=("${a[@]//0.0.0.0:/127.0.0.1:}")
	a=("${a[@]//\/config\//config/}")
	a=("${a[@]//\/data\//$TMP/}")
	(cd "$TMP/roll.c" && exec timeout 120 "$EP" "${a[@]:1}") >"$TMP/roll.out" 2>"$TMP/roll.err" &
	dpid=$!
	log_wait 15 "deployment 0 stage 0 of" "$TMP"/roll.h?.log >/dev/null
	sleep 1
	# kubelet's update: the new files, then one rename (here one per file). The hosts' copies
	# change once a host has been assigned the new version and found its copy old.
	for f in model.model plan.json; do
		cp "$TMP/r2/config/$f" "$TMP/roll.c/config/.$f" && mv "$TMP/roll.c/config/.$f" "$TMP/roll.c/config/$f"
	done
	log_wait 30 "waiting for it to change" "$TMP"/roll.h?.log >/dev/null
	sleep 0.5
	for d in "$TMP"/roll.h?; do
		for f in model.model plan.json; do
			cp "$TMP/r2/config/$f" "$d/config/.$f" && mv "$d/config/.$f" "$d/config/$f"
		done
	done
	wait $dpid
	rc=$?
	[ $rc = 0 ] && pass "roll-out through the ConfigMap: dispatch exit 0" ||
		fail "roll-out: dispatch exit $rc" "${a[*]}" "$(tail -5 "$TMP/roll.err")"
	got=$(sqlite3 "$TMP/roll.db" "SELECT answered, incomplete, duplicates, mismatches FROM emu_summary" 2>&1)
	[ "$got" = "80|0|0|0" ] && pass "roll-out: 80 answered once, each its version's whole-model output" ||
		fail "roll-out: answered|incomplete|duplicates|mismatches = '$got', want 80|0|0|0"
	got=$(sqlite3 "$TMP/roll.db" "SELECT model, live_s IS NOT NULL FROM emu_updates;
		SELECT count(*) FROM emu_deployments WHERE state = 'failed';
		SELECT count(DISTINCT d.version) FROM emu_requests r JOIN emu_deployments d ON
		d.run_id = r.run_id AND d.deployment = r.deployment" 2>&1 | tr '\n' ' ')
	[ "$got" = "mobilenet|1 0 2 " ] &&
		pass "roll-out: MobileNet went live, no deployment failed, both versions answered" ||
		fail "roll-out: update|live, failed deployments, versions answering = '$got'" \
			"$(sqlite3 "$TMP/roll.db" "SELECT t_s, kind, text FROM emu_events")"
	grep -q "waiting for it to change" "$TMP"/roll.h?.log &&
		pass "roll-out: a host with the old copy waited for the new one" ||
		fail "roll-out: no host waited" "$(cat "$TMP"/roll.h?.log)"
	hosts_kill
else
	fail "roll-out: deploy or the hosts" "$(cat "$TMP/deploy.log" "$TMP"/roll.h?.log 2>/dev/null)"
fi
finish
