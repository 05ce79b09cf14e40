#!/bin/bash
# One scenario file through plan, sim and emu (issue 11): the three make the same plan (the
# stages' nodes and cuts in their JSON), and the simulator and the emulator apply the same
# fault (kind, node, time) and re-plan to the same plan. Expected values: plan's own output is
# the reference for the first plan; the fault's node is the node of stage 1 in that plan (the
# scenario's 'kill stage1'), at the scenario's 1 s. Needs root and network namespaces (77
# otherwise); takes the emulator tests' lock.
#
# Usage: bash scenario_emu.sh PATH_TO_EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup scenario_emu.sh "$@"

if [ "$(id -u)" -ne 0 ] || ! ip netns add edgepipe-scentest 2>/dev/null; then
	echo "skipped: needs root and network namespaces"
	exit 77
fi
ip netns del edgepipe-scentest
if exec 9>>/run/lock/edgepipe-emu-tests.lock 2>/dev/null; then
	flock 9
fi

S=$TMP/s.yaml
cat >"$S" <<'EOF'
model: resnet50
nodes: 5
mem: 100MiB
cluster: uniform
bw-range: 100Mbit:200Mbit
algo: seifer
seed: 3
workload: closed:2
requests: 40
fault: [ "kill stage1 at 1s" ]
# emu's own keys, ignored by plan and sim
give-up: 20s
state-dir: STATE
EOF
sed -i "s|STATE|$TMP/state|" "$S"
"$EP" plan --scenario "$S" --format json >"$TMP/plan.json" 2>"$TMP/plan.err" ||
	fail "plan runs" "$(cat "$TMP/plan.err")"
"$EP" sim --scenario "$S" --format json >"$TMP/sim.json" 2>"$TMP/sim.err" ||
	fail "sim runs" "$(cat "$TMP/sim.err")"
"$EP" emu --scenario "$S" --format json --db "$TMP/emu.db" >"$TMP/emu.json" 2>"$TMP/emu.err" ||
	fail "emu runs" "$(tail -5 "$TMP/emu.err")"

cat >"$TMP/check.py" <<'EOF'
import json, sys
t = sys.argv[1]
def load(n):
    try:
        return json.load(open(f"{t}/{n}.json"))
    except Exception as e:
        print(f"FAIL {n}.json parses: {e}")
        return None
p, s, e = load("plan"), load("sim"), load("emu")
if p is None or s is None or e is None:
    sys.exit(0)
first = [(st["node"], st["first_cut"], st["end_cut"]) for st in p[0]["stages"]]
def stages(v):
    return [(st["node"], st["first_cut"], st["end_cut"]) for st in v]
def check(what, got, want):
    print(("ok " if got == want else "FAIL ") + what + ("" if got == want else f": {got} != {want}"))
check("sim's plan = plan's", stages(s["plan"]), first)
check("emu's plan = plan's", stages(e["plan"]), first)
# kill stage1: the node of stage 1 of the first plan, at 1 s
want = [("crash", first[1][0], 1.0)]
check("sim's fault = the scenario's", [(i["kind"], i["node"], i["at_s"]) for i in s["incidents"]], want)
check("emu's fault = the scenario's",
      [("crash", f["node"], f["scheduled_s"]) for f in e["faults"]], want)
check("emu's JSON: the scenario whole", e.get("scenario"), {"path": sys.argv[2], "text": open(sys.argv[2]).read()})
final = "%s" % " ".join(f"{a}..{b}@{n}" for n, a, b in stages(s["final_plan"]))
check("emu re-planned to sim's final plan", e["deployments"][-1]["plan"], final)
EOF
# the emulator's database holds the scenario whole (emu_scenarios)
if python3 -c 'import sqlite3, sys
d = sqlite3.connect(sys.argv[1])
r = d.execute("SELECT s.path, s.text FROM emu_scenarios s JOIN emu_runs r USING (run_id)").fetchall()
sys.exit(0 if r == [(sys.argv[2], open(sys.argv[2]).read())] else 1)' "$TMP/emu.db" "$S"; then
	pass "emu --db: the scenario's path and text in emu_scenarios"
else
	fail "emu --db: the scenario's path and text in emu_scenarios" "$(sqlite3 "$TMP/emu.db" 'SELECT * FROM emu_scenarios' 2>&1 | head -3)"
fi
while IFS= read -r line; do
	case $line in
	ok*) pass "${line#ok }" ;;
	*) fail "${line#FAIL }" ;;
	esac
done < <(python3 "$TMP/check.py" "$TMP" "$S")
finish
