#!/bin/bash
# A model update rolled out on real stage hosts (`edgepipe stage` on 127.0.0.2..4, no
# namespaces, no root), with the emulator's semantics: the new version's stages start beside
# the old ones (a host's second data port), new requests go to them once they are connected,
# the old ones drain and stop; nothing is lost or sent twice.
#
#  1. `dispatch --update "mobilenet at 1s"` from MobileNetV2, --compute real: every request
#     answered once; the dispatcher checks every answer against the whole model of the
#     version that answered it (its own run of MobileNetV2 or MobileNet on the same image), so
#     0 mismatches means outputs before the switch are the old model's and after it the new
#     one's; every request answered by the old version was sent before the new deployment went
#     live, every one answered by the new version after; no deployment failed, nothing resent;
#     a host ran the new stage on its second data port (PORT + 2) while the old one ran.
#  2. A watched model file, as a Kubernetes ConfigMap delivers it: the dispatcher and every host
#     run in their own directory with their own copy of model.model (MobileNetV2, exported);
#     1 s into the workload the dispatcher's copy becomes MobileNet's export, and the hosts'
#     copies only once a host has been assigned the new version (kubelets refresh a ConfigMap
#     volume at their own times). The
#     hosts assigned the new version meanwhile find another model at the path (its structure
#     fingerprint is not the dispatcher's), wait, and start when their copy changes: the
#     roll-out completes with every request answered once by the right model.
#  3. Bad input: a data port whose second port is past 65535 exits 2.
#
# Ports: derived from the pid (control P, data P + 1 and P + 2 on each address; stage_hosts.sh).
source "$(dirname "$0")/cli_lib.sh"
setup stage_dispatch_update.sh "$@"
EP=$(realpath "$EP") # the hosts and the dispatcher run in directories of their own

source "$(dirname "$0")/stage_hosts.sh"
hosts_require 3

q() { sqlite3 "$1" "$2"; }

# No host fails here: a heartbeat timeout of 3 s (not 0.5) keeps a host starved of CPU on a
# loaded machine from being declared dead, which would mix failures into the roll-out. The
# workload (8 s at 10/s) outlasts the update's set-up under load (seen taking 4 s at load 20).
COMMON=(--listen 127.0.0.1 --mem 64MiB --cluster uniform --bw-range 100Mbit:200Mbit --seed 1
	--probes 0 --compute real --workload constant:10 --heartbeat-timeout 3s)

# check_rollout TAG DB N NEW: the checks both parts share.
check_rollout() {
	local tag=$1 db=$2 n=$3 new=$4 got live
	got=$(q "$db" "SELECT answered, incomplete, duplicates, mismatches, requests_resent
		FROM emu_summary")
	if [ "$got" = "$n|0|0|0|0" ]; then pass "$tag: $n answered once, none lost, resent or differing"
	else fail "$tag: answered|incomplete|duplicates|mismatches|resent = '$got', want $n|0|0|0|0"; fi
	got=$(q "$db" "SELECT count(*) FROM emu_requests WHERE done_s >= 0 AND mismatch = 0")
	if [ "$got" = "$n" ]; then pass "$tag: every answer equals its version's whole-model output"
	else fail "$tag: requests answered and matched = '$got', want $n"; fi
	got=$(q "$db" "SELECT model, live_s IS NOT NULL, drained_s >= live_s FROM emu_updates")
	if [ "$got" = "$new|1|1" ]; then pass "$tag: the update to $new went live, the old drained after"
	else fail "$tag: update model|live|drained after = '$got', want $new|1|1" \
		"$(q "$db" "SELECT t_s, kind, text FROM emu_events")"; fi
	got=$(q "$db" "SELECT count(*) FROM emu_deployments WHERE state = 'failed'")
	if [ "$got" = 0 ]; then pass "$tag: make-before-break: no deployment failed"
	else fail "$tag: $got deployment(s) failed" \
		"$(q "$db" "SELECT deployment, state, reason FROM emu_deployments")"; fi
	# Old model until the switch, new after: the switch is the new deployment's going live.
	live=$(q "$db" "SELECT live_s FROM emu_updates")
	got=$(q "$db" "SELECT d.version, count(*), sum(r.sent_s <= $live), sum(r.sent_s >= $live)
		FROM emu_requests r JOIN emu_deployments d ON d.run_id = r.run_id AND
		d.deployment = r.deployment GROUP BY d.version ORDER BY d.version")
	local v0 v1
	v0=$(echo "$got" | sed -n 1p)
	v1=$(echo "$got" | sed -n 2p)
	if [[ "$v0" =~ ^0\|([0-9]+)\|([0-9]+)\|[0-9]+$ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] &&
		[[ "$v1" =~ ^1\|([0-9]+)\|[0-9]+\|([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
		pass "$tag: answers of the old version sent before the switch, of the new after ($v0; $v1)"
	else
		fail "$tag: version|answers|sent before|sent after the switch at $live s = '$got'"
	fi
	got=$(grep -l "data port $((PORT + 2))" "$TMP/$tag".h*.log | wc -l)
	if [ "$got" -ge 1 ]; then pass "$tag: new stages on the hosts' second data port ($got host(s))"
	else fail "$tag: no host used data port $((PORT + 2))" "$(cat "$TMP/$tag".h*.log)"; fi
}

# 1: --update
if hosts_start --dirs upd 3; then
	db=$TMP/upd.db
	"$EP" dispatch --hosts "$HOSTS" "${COMMON[@]}" --model mobilenetv2 --requests 80 \
		--update "mobilenet at 1s" --db "$db" >"$TMP/upd.out" 2>"$TMP/upd.err"
	rc=$?
	if [ $rc = 0 ]; then pass "dispatch --update: exit 0"
	else fail "dispatch --update: exit $rc" "$(tail -20 "$TMP/upd.err")"; fi
	check_rollout upd "$db" 80 mobilenet
	hosts_kill
else
	fail "no free port for three stage hosts" "$(cat "$TMP"/upd.h*.log)"
fi

# 2: a watched model file, each host with its own copy updated late.
"$EP" model export mobilenetv2 -o "$TMP/old.model" && "$EP" model export mobilenet -o "$TMP/new.model"
if [ -s "$TMP/old.model" ] && [ -s "$TMP/new.model" ] && hosts_start --dirs watch 3; then
	mkdir -p "$TMP/watch.d"
	for d in "$TMP/watch.d" "$TMP"/watch.h?; do cp "$TMP/old.model" "$d/model.model"; done
	db=$TMP/watch.db
	(cd "$TMP/watch.d" && exec "$EP" dispatch --hosts "$HOSTS" "${COMMON[@]}" \
		--model model.model --requests 80 --db "$db") >"$TMP/watch.out" 2>"$TMP/watch.err" &
	dpid=$!
	# The workload starts when the first deployment is assigned; 1 s later the dispatcher's
	# copy changes (atomically, as a ConfigMap volume's), the hosts' once one of them has been
	# assigned the new version and found its copy old (or after 30 s).
	log_wait 15 "deployment 0 stage 0 of" "$TMP"/watch.h?.log >/dev/null
	sleep 1
	cp "$TMP/new.model" "$TMP/watch.d/.new" && mv "$TMP/watch.d/.new" "$TMP/watch.d/model.model"
	log_wait 30 "waiting for it to change" "$TMP"/watch.h?.log >/dev/null
	sleep 0.5
	for d in "$TMP"/watch.h?; do cp "$TMP/new.model" "$d/.new" && mv "$d/.new" "$d/model.model"; done
	wait $dpid
	rc=$?
	if [ $rc = 0 ]; then pass "dispatch with a watched model file: exit 0"
	else fail "dispatch with a watched model file: exit $rc" "$(tail -20 "$TMP/watch.err")"; fi
	check_rollout watch "$db" 80 mobilenet
	got=$(grep -l "waiting for it to change" "$TMP"/watch.h?.log | wc -l)
	if [ "$got" -ge 1 ]; then pass "hosts with the old file waited for the new one ($got)"
	else fail "no host waited for its model file" "$(cat "$TMP"/watch.h?.log)"; fi
	hosts_kill
else
	fail "exporting the models or starting the hosts" "$(cat "$TMP"/watch.h?.log 2>/dev/null)"
fi

# 3: bad input.
expect_exit2 "stage --data-port past 65534" "--data-port" "$EP" stage --listen 127.0.0.1:1000 \
	--data-port 65535
expect_exit2 "stage --listen port 65534 (data ports past 65535)" "'127.0.0.1:65534'" "$EP" stage \
	--listen 127.0.0.1:65534
finish
