#!/bin/bash
# emu runs the plan that plan and sim print (defect: emu seeded the planner with the unfolded
# 64-bit seed where plan and sim fold it with ep_seed32, so a randomised algorithm's emulated
# plan differed from the one plan prints). Expected value: plan's own JSON, for --algo random
# (whose plan depends on nothing but the generator), against emu's and sim's. Needs root and
# network namespaces (77 otherwise); takes the emulator tests' lock.
#
# Usage: bash emu_plan_seed.sh PATH_TO_EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup emu_plan_seed.sh "$@"

if [ "$(id -u)" -ne 0 ] || ! ip netns add edgepipe-seedtest 2>/dev/null; then
	echo "skipped: needs root and network namespaces"
	exit 77
fi
ip netns del edgepipe-seedtest
if exec 9>>/run/lock/edgepipe-emu-tests.lock 2>/dev/null; then
	flock 9
fi
INST=(--model mobilenetv2 --nodes 5 --mem 64MiB --cluster uniform --bw-range 200Mbit:400Mbit
	--algo random --seed 7)
"$EP" plan "${INST[@]}" --format json >"$TMP/plan.json" 2>"$TMP/err" &&
	"$EP" sim "${INST[@]}" --requests 5 --format json >"$TMP/sim.json" 2>>"$TMP/err" &&
	"$EP" emu "${INST[@]}" --compute none --requests 2 --state-dir "$TMP/state" \
		--format json >"$TMP/emu.json" 2>>"$TMP/err"
status=$?
if [ $status -ne 0 ]; then
	fail "plan, sim and emu run" "exit $status" "$(tail -c 400 "$TMP/err")"
	finish
fi
python3 - "$TMP/plan.json" "$TMP/sim.json" "$TMP/emu.json" >"$TMP/cmp" 2>&1 <<'PY'
import json, sys
def stages(d):
    # plan's JSON: a list, one object per algorithm, its "stages"; sim's and emu's: "plan"
    p = d[0]["stages"] if isinstance(d, list) else d["plan"]
    return [(s["node"], s["first_cut"], s["end_cut"]) for s in p]
want = stages(json.load(open(sys.argv[1])))
for name, path in (("sim", sys.argv[2]), ("emu", sys.argv[3])):
    got = stages(json.load(open(path)))
    if got != want:
        print("%s plan %s, plan prints %s" % (name, got, want))
        sys.exit(1)
PY
if [ $? -eq 0 ]; then
	pass "sim and emu run the plan that plan prints (--algo random)"
else
	fail "sim and emu run the plan that plan prints (--algo random)" "$(cat "$TMP/cmp")"
fi
finish
