#!/bin/bash
# --scenario FILE (cli/scenario_opts.c, experiments/scenario.h) for plan and sim, without root:
# a scenario gives the same output as the same options given as flags (the flags' run is the
# expected value), a flag overrides the file, a list key repeats its option, another command's
# key is ignored; every bad file exits 2 naming FILE:LINE: KEY and creates nothing (no
# --instance-out file, no emulator state directory, database or namespace). The emulator's
# part that needs root is scenario_emu.sh.
#
# Usage: bash scenario_cli.sh PATH_TO_EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup scenario_cli.sh "$@"

S=$TMP/s.yaml
cat >"$S" <<'EOF'
# resnet50 on 5 uniform nodes, two nodes killed
model: resnet50
nodes: 5
mem: 100MiB
cluster: uniform
bw-range: 100Mbit:200Mbit
algo: seifer
seed: 3
workload: closed:2
requests: 50
fault:
  - kill node3 at 1s
  - "kill node4 at 2s"
EOF
INST=(--model resnet50 --nodes 5 --mem 100MiB --cluster uniform --bw-range 100Mbit:200Mbit
	--algo seifer --seed 3)
RUN=(--workload closed:2 --requests 50 --fault "kill node3 at 1s" --fault "kill node4 at 2s")

# same CHECK A_FILE B_FILE: equal files
same() {
	if cmp -s "$2" "$3"; then pass "$1"; else fail "$1" "$(diff "$2" "$3" | head -8)"; fi
}
# plan's CSV without the solve time (column 16), which varies from run to run; without
# comment lines
plan_csv() {
	"$EP" plan "$@" --format csv | grep -v '^#' | cut -d, -f1-15,17-
}
# sim's text and messages without the line of its own wall-clock time and the scenario's header
sim_text() {
	"$EP" sim "$@" 2>&1 | grep -v -e ' simulated in ' -e '^scenario: '
}

# ---- the same experiment as flags ----------------------------------------------------------
plan_csv "${INST[@]}" >"$TMP/plan.flags"
plan_csv --scenario "$S" >"$TMP/plan.scen"
same "plan: scenario = flags (its fault and workload keys ignored)" "$TMP/plan.flags" "$TMP/plan.scen"
[ "$(wc -l <"$TMP/plan.flags")" -ge 2 ] && pass "plan: a plan was made" || fail "plan: a plan was made" "$(cat "$TMP/plan.flags")"
sim_text "${INST[@]}" "${RUN[@]}" >"$TMP/sim.flags"
sim_text --scenario="$S" >"$TMP/sim.scen"
same "sim: scenario = flags (the fault list = --fault twice)" "$TMP/sim.flags" "$TMP/sim.scen"
# The list really gave both faults: one fault alone gives another run.
sim_text "${INST[@]}" --workload closed:2 --requests 50 --fault "kill node3 at 1s" >"$TMP/sim.one"
if ! cmp -s "$TMP/sim.one" "$TMP/sim.scen" && grep -q "node 4 crashed" "$TMP/sim.scen"; then
	pass "sim: both faults of the list are in the run"
else
	fail "sim: both faults of the list are in the run" "$(grep -A3 incidents "$TMP/sim.scen")"
fi

# ---- recorded whole -------------------------------------------------------------------------
if [ "$("$EP" plan --scenario "$S" | head -1)" = "scenario: $S" ] &&
	! "$EP" plan "${INST[@]}" | grep -q '^scenario:'; then
	pass "plan text: a first line names the scenario (none without)"
else
	fail "plan text: a first line names the scenario (none without)" "$("$EP" plan --scenario "$S" | head -2)"
fi
"$EP" plan --scenario "$S" --algo all --format json >"$TMP/plan.json"
if python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
want = {"path": sys.argv[2], "text": open(sys.argv[2]).read()}
sys.exit(0 if len(d) > 1 and all(e["scenario"] == want for e in d) else 1)' "$TMP/plan.json" "$S" &&
	! "$EP" plan "${INST[@]}" --format json | grep -q '"scenario"'; then
	pass "plan JSON: every plan's \"scenario\" holds the path and the whole text (none without)"
else
	fail "plan JSON: every plan's \"scenario\" holds the path and the whole text (none without)" "$(head -c 300 "$TMP/plan.json")"
fi

if [ "$("$EP" sim --scenario "$S" 2>/dev/null | head -1)" = "scenario: $S" ] &&
	"$EP" sim --scenario "$S" --format json 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["scenario"] == {"path": sys.argv[1], "text": open(sys.argv[1]).read()} else 1)' "$S"; then
	pass "sim text and JSON: the scenario's path (header line) and whole text (\"scenario\")"
else
	fail "sim text and JSON: the scenario's path (header line) and whole text (\"scenario\")" \
		"$("$EP" sim --scenario "$S" 2>&1 | head -2)"
fi

# ---- flags override ------------------------------------------------------------------------
plan_csv "${INST[@]}" --nodes 5 --seed 4 >"$TMP/plan.flags5"
plan_csv --scenario "$S" --nodes 5 --seed 4 >"$TMP/plan.over"
plan_csv --nodes 5 --scenario "$S" --seed 4 >"$TMP/plan.over2"
same "plan: --nodes and --seed override the file" "$TMP/plan.flags5" "$TMP/plan.over"
same "plan: a flag before --scenario overrides it too" "$TMP/plan.flags5" "$TMP/plan.over2"
sim_text "${INST[@]}" "${RUN[@]}" --requests 30 >"$TMP/sim.flags30"
sim_text --scenario "$S" --requests 30 >"$TMP/sim.over"
same "sim: --requests overrides the file" "$TMP/sim.flags30" "$TMP/sim.over"
# a flag --fault adds to the file's (the option repeats)
sim_text "${INST[@]}" "${RUN[@]}" --fault "kill node2 at 3s" >"$TMP/sim.flags3"
sim_text --scenario "$S" --fault "kill node2 at 3s" >"$TMP/sim.more"
same "sim: a --fault flag adds to the file's list" "$TMP/sim.flags3" "$TMP/sim.more"
# switches: true gives the flag, false leaves it out
printf 'model: resnet50\nnodes: 4\nmem: 100MiB\nlatency-overlap: true\n' >"$TMP/sw.yaml"
sim_text --model resnet50 --nodes 4 --mem 100MiB --latency-overlap >"$TMP/sw.flags"
sim_text --scenario "$TMP/sw.yaml" >"$TMP/sw.scen"
same "sim: 'latency-overlap: true' = --latency-overlap" "$TMP/sw.flags" "$TMP/sw.scen"
sed -i 's/true/false/' "$TMP/sw.yaml"
sim_text --model resnet50 --nodes 4 --mem 100MiB >"$TMP/sw.flags"
sim_text --scenario "$TMP/sw.yaml" >"$TMP/sw.scen"
same "sim: 'latency-overlap: false' = no flag" "$TMP/sw.flags" "$TMP/sw.scen"
# an algorithm's option as a key
printf 'model: resnet50\nnodes: 6\nmem: 100MiB\nalgo: joint\nmax-split: 2\n' >"$TMP/algo.yaml"
plan_csv --model resnet50 --nodes 6 --mem 100MiB --algo joint --max-split 2 >"$TMP/algo.flags"
plan_csv --scenario "$TMP/algo.yaml" >"$TMP/algo.scen"
same "plan: an algorithm option (max-split) as a key" "$TMP/algo.flags" "$TMP/algo.scen"

# --compute in one grammar (cli.h cli_compute_mode): a run's mode (model = on, none = off) and
# the planner's source together; plan ignores the mode from a scenario, sim takes model as on,
# emu and compare parse both (--help after them: their values were taken, nothing run)
printf 'model: resnet50\nnodes: 5\nmem: 100MiB\nspeed: 5GFLOPS\ncompute: [model, flops]\n' >"$TMP/cp.yaml"
plan_csv --model resnet50 --nodes 5 --mem 100MiB --speed 5GFLOPS --compute flops >"$TMP/cp.flags"
plan_csv --scenario "$TMP/cp.yaml" >"$TMP/cp.scen"
same "plan: 'compute: [model, flops]' = --compute flops" "$TMP/cp.flags" "$TMP/cp.scen"
sim_text --model resnet50 --nodes 5 --mem 100MiB --speed 5GFLOPS --compute on >"$TMP/cp.flags"
sim_text --scenario "$TMP/cp.yaml" >"$TMP/cp.scen"
same "sim: 'compute: [model, flops]' = --compute on" "$TMP/cp.flags" "$TMP/cp.scen"
for cmd in emu compare; do
	if "$EP" $cmd --scenario "$TMP/cp.yaml" --help >/dev/null 2>"$TMP/err"; then
		pass "$cmd: 'compute: [model, flops]' taken"
	else
		fail "$cmd: 'compute: [model, flops]' taken" "$(cat "$TMP/err")"
	fi
done
expect_exit2 "plan: --compute on on the command line still refused" "'on'" \
	"$EP" plan --scenario "$TMP/cp.yaml" --compute on

# ---- bad files: exit 2, FILE:LINE: KEY, nothing created --------------------------------------
bad() { # NAME TEXT NEEDLE COMMAND [ARGS]: TEXT written to $TMP/NAME.yaml
	local f=$TMP/$1.yaml needle=$3 what=$4
	printf '%b' "$2" >"$f"
	shift 4
	expect_exit2 "$what: $(basename "$f")" "${needle//FILE/$f}" "$EP" $what --scenario "$f" "$@"
}
BASE='model: resnet50\nnodes: 4\nmem: 100MiB\n'
for cmd in plan sim emu; do
	bad unknown "${BASE}bogus: 3\n" "FILE:4: bogus: unknown key" $cmd
	bad mapping "${BASE}seed:\n  value: 3\n" "FILE:5: seed: a mapping where a scalar belongs" $cmd
	bad syntax "${BASE}seed: [3\n" "FILE:5: YAML syntax error" $cmd
	bad value "${BASE}seed: three\n" "FILE:4: seed: --seed 'three'" $cmd
	bad twice "${BASE}seed: [4, 5]\n" "FILE:4: seed: a list of 2 values" $cmd
	bad again "${BASE}nodes: 5\n" "FILE:4: nodes: given twice (first on line 2)" $cmd
	bad nested "${BASE}scenario: other.yaml\n" "FILE:4: scenario: not a scenario key" $cmd
done
bad switch "${BASE}parallel: maybe\n" "FILE:4: parallel: 'maybe': expected true or false" plan
expect_exit2 "plan: no such scenario" "scenario '$TMP/none.yaml'" "$EP" plan --scenario "$TMP/none.yaml"
expect_exit2 "plan: two scenarios" "one scenario per run" "$EP" plan --scenario "$S" --scenario "$S"
STATE=$TMP/state
for cmd in sim emu; do
	extra=()
	[ $cmd = emu ] && extra=(--state-dir "$STATE" --db "$TMP/emu.db")
	bad order "${BASE}fault:\n  - kill node3 at 5s\n  - kill node2 at 1s\n" \
		"FILE:6: fault: 'kill node2 at 1s' at 1 s is listed after 'kill node3 at 5s'" $cmd "${extra[@]}"
	bad missing "${BASE}fault: [ \"kill node9 at 5s\" ]\n" \
		"FILE:4: fault: fault 'kill node9 at 5s': 'node9'" $cmd "${extra[@]}"
	bad fail "${BASE}fail:\n  - node 7 at 2s\n" "FILE:5: fail: fault 'node 7 at 2s'" $cmd "${extra[@]}"
	bad update "${BASE}update: resnet101 soon\n" "FILE:4: update: --update 'resnet101 soon'" $cmd "${extra[@]}"
	bad workload "${BASE}workload: open\n" "FILE:4: workload:" $cmd "${extra[@]}"
done
# the plan of BASE has 3 stages (sim's plan line above): stage 5 would never fire, refused by
# both back ends (sim ran without it before)
for cmd in sim emu; do
	extra=()
	[ $cmd = emu ] && extra=(--state-dir "$STATE" --db "$TMP/emu.db")
	bad stage "${BASE}fault:\n  - kill node1 at 1s\n  - kill stage5 at 2s\n" \
		"FILE:6: fault: fault 'kill stage5 at 2s'${NL}never fire" $cmd "${extra[@]}"
done
bad inst "${BASE}bogus: 1\n" "FILE:4: bogus" plan --instance-out "$TMP/inst.json"
if [ ! -e "$TMP/inst.json" ] && [ ! -e "$STATE" ] && [ ! -e "$TMP/emu.db" ]; then
	pass "nothing created by the bad scenarios"
else
	fail "nothing created by the bad scenarios" "$(ls "$TMP")"
fi

# ---- help ----------------------------------------------------------------------------------
for cmd in plan sim emu; do
	if "$EP" $cmd --help 2>&1 | grep -q -- '--scenario FILE'; then
		pass "$cmd --help: --scenario"
	else
		fail "$cmd --help: --scenario"
	fi
done

finish
