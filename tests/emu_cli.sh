#!/bin/bash
# edgepipe emu's bad input: every bad fault spec (command line or file) and every bad option
# exits 2 with a message that names the offending token, and nothing is created: no state
# directory, no registry, no namespace, no cgroup. Also --help. Needs no root: all of this is
# refused before the emulator would need it.
#
# Usage: bash emu_cli.sh PATH_TO_EDGEPIPE
# Prints one line per check and a last line "N passed, M failed"; exits 1 if any failed.

set -u
source "$(dirname "$0")/cli_lib.sh"
setup emu_cli.sh "$@"

STATE=$TMP/state # must never be created
BASE=(emu --model resnet50 --nodes 4 --mem 128MiB --cluster uniform --bw-range 100Mbit:200Mbit
	--requests 10 --state-dir "$STATE")

host_state() {
	ls /run/netns 2>/dev/null
	find /sys/fs/cgroup -maxdepth 3 -name 'edgepipe-*' 2>/dev/null
}
# The emulator tests take turns on this lock (tests/emu_harness.h): their namespaces would
# otherwise show up in the comparison below.
if exec 9>>/run/lock/edgepipe-emu-tests.lock 2>/dev/null; then
	flock 9
fi
host_state >"$TMP/before"

# ---- fault specs on the command line ---------------------------------------------------------
fault() { # WHAT NEEDLE SPEC
	expect_exit2 "fault: $1" "$2" "$EP" "${BASE[@]}" --fault "$3"
}
fault "unknown kind" "'explode'${NL}expected kill, stall, link, bandwidth, loss or update" \
	"explode node1 at 1s"
fault "node out of range" "'node9'${NL}node0 .. node3" "kill node9 at 1s"
fault "not a node" "'server1'${NL}nodeN" "kill server1 at 1s"
fault "missing time" "'kill node1 at'${NL}a time after 'at'" "kill node1 at"
fault "bad time" "'soon'" "kill node1 at soon"
fault "negative time" "'-3s'" "kill node1 at -3s"
fault "kill with a duration" "'for'${NL}a kill lasts" "kill node1 at 1s for 2s"
fault "stall without a duration" "'stall node2 at 5s'${NL}for DURATION" "stall node2 at 5s"
fault "zero duration" "'0s'" "stall node2 at 5s for 0s"
fault "dispatcher killed" "'dispatcher'${NL}does not fail" "kill dispatcher at 1s"
fault "link with one end" "'down'" "link node1 down at 1s"
fault "link to itself" "'node1'${NL}same" "link node1 node1 down at 1s"
fault "link up without a cut" "'link node1 node2 up at 1s'${NL}no 'link ... down'" "link node1 node2 up at 1s"
fault "link neither down nor up" "'sideways'${NL}'down' or 'up'" "link node1 node2 sideways at 1s"
fault "bad rate" "'fast'${NL}rate" "bandwidth node1 node2 fast at 1s"
fault "zero rate" "'0Mbit'" "bandwidth node1 node2 0Mbit at 1s"
fault "loss of 150%" "'150%'${NL}below 100%" "loss node1 150% at 1s"
fault "loss without %" "'0.05'${NL}percent" "loss node1 0.05 at 1s"
fault "trailing garbage" "'now'" "kill node1 at 1s now"
fault "empty" "empty" ""
expect_exit2 "--fail (the older spelling) out of range" "'node 9 at 1s'${NL}node0 .. node3" \
	"$EP" "${BASE[@]}" --fail "node 9 at 1s"
# The plan of BASE has 2 stages: a stage it lacks would never fire (issue 9, item 12).
fault "stage beyond the plan" "'stage7'${NL}the plan has 2 stages${NL}never fire" \
	"kill stage7 at 1s"
fault "link to a stage beyond the plan" "'stage2'${NL}stage0 .. stage1" \
	"link stage0 stage2 down at 1s"

# ---- a fault file ----------------------------------------------------------------------------
printf '# a timeline\nkill node1 at 1s\n\nlink node0 node2 down at 2s for 1s  # cut\nstall node7 at 3s for 1s\n' \
	>"$TMP/faults.txt"
expect_exit2 "fault file: line named" "$TMP/faults.txt:5${NL}'node7'" "$EP" "${BASE[@]}" \
	--faults "$TMP/faults.txt"
expect_exit2 "fault file: missing" "'$TMP/nope.txt'" "$EP" "${BASE[@]}" --faults "$TMP/nope.txt"

# ---- options ---------------------------------------------------------------------------------
expect_exit2 "--compute fast" "'fast'${NL}model, real or none" "$EP" "${BASE[@]}" --compute fast
expect_exit2 "--threads 0" "--threads" "$EP" "${BASE[@]}" --compute real --threads 0
expect_exit2 "--save-tensors without real compute" "'$TMP/t.bin'${NL}--compute real" "$EP" \
	"${BASE[@]}" --save-tensors "$TMP/t.bin"
# The planner's compute source (a measured profile) and the CPU share of real compute.
expect_exit2 "--compute profile without real" "--compute profile:$TMP/r.prof${NL}--compute real" \
	"$EP" "${BASE[@]}" --compute "profile:$TMP/r.prof"
expect_exit2 "--compute profile: missing file" "$TMP/none.prof" "$EP" "${BASE[@]}" \
	--compute real --compute "profile:$TMP/none.prof"
expect_exit2 "--compute profile with --update" "profile measures one model" "$EP" "${BASE[@]}" \
	--compute real --compute "profile:$TMP/r.prof" --update "mobilenetv2 at 1s"
expect_exit2 "--speed-factor without real compute" "--speed-factor${NL}profile" "$EP" \
	"${BASE[@]}" --speed-factor 0.25
expect_exit2 "--speed-factor 0" "'0'${NL}positive" "$EP" "${BASE[@]}" --compute real \
	--speed-factor 0
expect_exit2 "--speed-factor: one per node" "3 values for 4 nodes" "$EP" "${BASE[@]}" --compute real \
	--speed-factor 0.2,0.3,0.4
expect_exit2 "--compress brotli" "'brotli'${NL}zfp:precision=P" "$EP" "${BASE[@]}" --compress brotli
expect_exit2 "--compress zstd:99" "--compress${NL}99" "$EP" "${BASE[@]}" --compress zstd:99
expect_exit2 "--codec-profile for another codec" "'zstd:3'${NL}--compress lz4" "$EP" "${BASE[@]}" \
	--compress lz4 --codec-profile zstd:1.3:86:500
expect_exit2 "--codec-profile without --compress" "'lz4'${NL}--compress none" "$EP" "${BASE[@]}" \
	--codec-profile lz4:1.166:526:2639
expect_exit2 "--compress zfp:precision=0" "--compress${NL}precision" "$EP" "${BASE[@]}" \
	--compress zfp:precision=0
expect_exit2 "--workload closed:0" "'closed:0'" "$EP" "${BASE[@]}" --workload closed:0
expect_exit2 "--workload open:3" "'open:3'" "$EP" "${BASE[@]}" --workload open:3
expect_exit2 "--requests 0" "--requests" "$EP" "${BASE[@]}" --requests 0
expect_exit2 "--warmup too large" "--warmup 10" "$EP" "${BASE[@]}" --warmup 10
expect_exit2 "--heartbeat-timeout below period" "--heartbeat-timeout" "$EP" "${BASE[@]}" \
	--heartbeat 1s --heartbeat-timeout 100ms
expect_exit2 "--heartbeat bad" "'often'" "$EP" "${BASE[@]}" --heartbeat often
expect_exit2 "--update garbage" "'resnet101'${NL}MODEL at TIME" "$EP" "${BASE[@]}" \
	--update resnet101
expect_exit2 "--update unknown model" "'nosuchmodel'" "$EP" "${BASE[@]}" \
	--update "nosuchmodel at 1s"
expect_exit2 "--format xml" "'xml'" "$EP" "${BASE[@]}" --format xml
expect_exit2 "--db in a missing directory" "'$TMP/no/such/run.db'" "$EP" "${BASE[@]}" \
	--db "$TMP/no/such/run.db"
expect_exit2 "--algo unknown" "'frob'" "$EP" "${BASE[@]}" --algo frob
expect_exit2 "--algo all" "'all'" "$EP" "${BASE[@]}" --algo all
expect_exit2 "--nodes beyond the emulator" "--nodes 600" "$EP" "${BASE[@]}" --nodes 600
expect_exit2 "without --model" "emu: --model and --mem are required" "$EP" emu --mem 64MiB
expect_exit2 "unknown model" "'nosuchmodel'" "$EP" emu --model nosuchmodel --mem 64MiB \
	--state-dir "$STATE"
expect_exit2 "extra argument" "'extra'" "$EP" "${BASE[@]}" extra

# Too little memory: the message says how much memory, or how many nodes, would do (issue 9,
# item 10). ResNet50's cut profile needs 5 pieces of at most 64 MiB (the greedy cover that
# `edgepipe plan` reports as "at least 5 pieces"), and on 4 nodes at least 69 MiB each: the
# run with --mem 69MiB is planned, with 68MiB it is not (checked with `edgepipe plan`).
"$EP" emu --model resnet50 --nodes 4 --mem 64MiB --requests 200 --state-dir "$STATE" \
	>"$TMP/out" 2>"$TMP/err"
status=$?
if [ $status -eq 1 ] && grep -qF -- "--mem 69MiB" "$TMP/err" && grep -qF -- "--nodes 5" "$TMP/err"; then
	pass "too little memory: the remedy named"
else
	fail "too little memory: the remedy named" "exit $status" "$(head -c 400 "$TMP/err")"
fi
for mem in 68MiB 69MiB; do
	"$EP" plan --model resnet50 --nodes 4 --mem $mem --algo seifer --format csv |
		awk -F, -v m=$mem 'NR == 2 { print m, $7 }' >>"$TMP/plans"
done
if [ "$(cat "$TMP/plans")" = "68MiB infeasible
69MiB ok" ]; then
	pass "the remedy's memory is the least that plans"
else
	fail "the remedy's memory is the least that plans" "$(cat "$TMP/plans")"
fi
expect_exit2 "unknown option" "usage: edgepipe emu" "$EP" "${BASE[@]}" --frobnicate

# ---- nothing was created ---------------------------------------------------------------------
host_state >"$TMP/after"
if [ ! -e "$STATE" ] && cmp -s "$TMP/before" "$TMP/after"; then
	pass "nothing created by any of the above"
else
	fail "nothing created by any of the above" "state dir exists: $([ -e "$STATE" ] && echo yes || echo no)" \
		"$(diff "$TMP/before" "$TMP/after" | head -5)"
fi

if "$EP" emu --help >"$TMP/out" 2>&1 && grep -q '^usage: edgepipe emu' "$TMP/out" &&
	grep -q -- '--fault SPEC' "$TMP/out" && grep -q -- '--compress CODEC' "$TMP/out"; then
	pass "emu --help"
else
	fail "emu --help" "$(head -c 400 "$TMP/out")"
fi

finish
