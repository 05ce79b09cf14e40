#!/bin/bash
# edgepipe sim end to end: bad input exits 2 with a message naming the value; --help exits 0;
# the text output shows the analytic bottleneck beside the simulated figures; csv and json
# parse; the same command and seed write the same trace, byte for byte; a crash and an update
# are reported.
#
# Usage: bash sim_cli.sh PATH_TO_EDGEPIPE
# Prints one line per check and a last line "N passed, M failed"; exits 1 if any failed.

set -u
source "$(dirname "$0")/cli_lib.sh"
setup sim_cli.sh "$@"

# A small, fast instance: ResNet50 on 6 nodes with compute.
BASE=(sim --model resnet50 --nodes 6 --mem 128MiB --cluster uniform --bw-range 10Mbit:100Mbit
	--speed 5GFLOPS --latency 1ms --algo greedy --seed 3 --requests 400)

expect_exit2 "sim without --model" "sim: --model and --mem are required" "$EP" sim --mem 64MiB
expect_exit2 "sim --workload open:3" "'open:3'" "$EP" "${BASE[@]}" --workload open:3
expect_exit2 "sim --workload closed:2.5" "'closed:2.5'" "$EP" "${BASE[@]}" --workload closed:2.5
expect_exit2 "sim --workload poisson:0" "'poisson:0'" "$EP" "${BASE[@]}" --workload poisson:0
expect_exit2 "sim --service gamma" "'gamma'" "$EP" "${BASE[@]}" --service gamma
expect_exit2 "sim --service lognormal:-1" "'lognormal:-1'" "$EP" "${BASE[@]}" \
	--service lognormal:-1
expect_exit2 "sim --fail garbage" "'node three at 20s'${NL}node N at TIME" "$EP" "${BASE[@]}" \
	--fail "node three at 20s"
expect_exit2 "sim --fail bad time" "'soon'" "$EP" "${BASE[@]}" --fail "node 1 at soon"
expect_exit2 "sim --fail node out of range" "'node 6 at 1s'${NL}node0 .. node5" "$EP" "${BASE[@]}" \
	--fail "node 6 at 1s"
expect_exit2 "sim --update garbage" "'resnet101'${NL}MODEL at TIME" "$EP" "${BASE[@]}" \
	--update resnet101
expect_exit2 "sim --update unknown model" "'nosuchmodel'" "$EP" "${BASE[@]}" \
	--update "nosuchmodel at 1s"
expect_exit2 "sim --algo all" "'all'" "$EP" "${BASE[@]}" --algo all
expect_exit2 "sim --algo unknown" "'frob'" "$EP" "${BASE[@]}" --algo frob
expect_exit2 "sim --compute maybe" "'maybe'" "$EP" "${BASE[@]}" --compute maybe
expect_exit2 "sim --heartbeat-timeout below period" "--heartbeat-timeout" "$EP" "${BASE[@]}" \
	--heartbeat 2s --heartbeat-timeout 1s
expect_exit2 "sim --warmup too large" "400" "$EP" "${BASE[@]}" --warmup 400
expect_exit2 "sim --requests 0 without --duration" "--duration" "$EP" "${BASE[@]}" --requests 0
expect_exit2 "sim --trace into a missing directory" "'$TMP/no/such/file'" "$EP" "${BASE[@]}" \
	--trace "$TMP/no/such/file"
expect_exit2 "sim --retry-timeout 0s" "'0s'${NL}off" "$EP" "${BASE[@]}" --retry-timeout 0s
expect_exit2 "sim --compute on --speed 0" "--compute on${NL}--speed" "$EP" "${BASE[@]}" \
	--compute on --speed 0
expect_exit2 "sim --warmup-time past the end" "--warmup-time 100000 s${NL}nothing was measured" \
	"$EP" "${BASE[@]}" --warmup-time 100000s
expect_exit2 "sim extra argument" "'extra'" "$EP" "${BASE[@]}" extra

if "$EP" sim --help >"$TMP/out" 2>&1 && grep -q '^usage: edgepipe sim' "$TMP/out" &&
	grep -q -- '--update' "$TMP/out"; then
	pass "sim --help"
else
	fail "sim --help" "$(head -c 400 "$TMP/out")"
fi

# Deterministic saturated run: the simulated throughput equals the analytic one.
if "$EP" "${BASE[@]}" >"$TMP/text" 2>"$TMP/err" &&
	awk '/^throughput/ { a = $3; s = $4; exit !(s > 0 && (a - s) / a < 0.005 && (s - a) / a < 0.005) }' \
		"$TMP/text"; then
	pass "text: simulated throughput = analytic (deterministic, default window)"
else
	fail "text: simulated throughput = analytic" "$(head -c 600 "$TMP/text")" "$(head -c 300 "$TMP/err")"
fi

if "$EP" "${BASE[@]}" --format csv >"$TMP/csv" 2>"$TMP/err" && [ "$(wc -l <"$TMP/csv")" -eq 2 ] &&
	head -1 "$TMP/csv" | grep -q '^model,algo,' &&
	[ "$(head -1 "$TMP/csv" | tr ',' '\n' | wc -l)" -eq "$(tail -1 "$TMP/csv" | tr ',' '\n' | wc -l)" ]; then
	pass "csv: a header and one row of as many fields"
else
	fail "csv: a header and one row of as many fields" "$(head -c 600 "$TMP/csv")"
fi

if command -v python3 >/dev/null 2>&1; then
	if "$EP" "${BASE[@]}" --service exp --fail "node 1 at 20s" --update "resnet101 at 40s" \
		--format json >"$TMP/json" 2>"$TMP/err" &&
		python3 - "$TMP/json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["completed"] == 400 and d["incomplete"] == 0, d
kinds = [i["kind"] for i in d["incidents"]]
assert kinds == ["crash", "update"], kinds
assert d["incidents"][1]["replanned"] and d["incidents"][1]["live_s"] > 40
assert sum(d["series"]) == 400
# Every attempt accounted for (issue 9, item 4).
assert d["issued"] + d["retries"] == (d["completed"] + d["duplicates"] + d["lost"] +
                                      d["in_flight"] + d["waiting"]), d
EOF
	then
		pass "json: parses; a crash and an update reported; 400 answers in the series"
	else
		fail "json: parses; a crash and an update reported" "$(head -c 600 "$TMP/json")" \
			"$(head -c 300 "$TMP/err")"
	fi
fi

# Issue 9, item 3: after an update at 0 s the default window is the new plan's, so the
# deterministic run matches the new plan's analytic throughput (with the first plan's window of
# 4 it ran at 0.532426 /s against 0.547854 /s); a second --update applies too.
UPD=(sim --model resnet50 --nodes 10 --mem 64MiB --requests 3000 --update "resnet101 at 0s")
if command -v python3 >/dev/null 2>&1; then
	if "$EP" "${UPD[@]}" --update "mobilenetv2 at 3000s" --format json >"$TMP/json" 2>"$TMP/err" &&
		python3 - "$TMP/json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ups = [i for i in d["incidents"] if i["kind"] == "update"]
assert len(ups) == 2 and all(u["replanned"] for u in ups), d["incidents"]
assert d["final_model"] == "mobilenetv2", d["final_model"]
EOF
	then
		pass "json: two updates, both rolled out"
	else
		fail "json: two updates, both rolled out" "$(head -c 600 "$TMP/json")" \
			"$(head -c 300 "$TMP/err")"
	fi
	if "$EP" "${UPD[@]}" --format json >"$TMP/json" 2>"$TMP/err" &&
		python3 - "$TMP/json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
a, s = d["final_analytic_throughput"], d["throughput"]
assert abs(s - a) <= 0.005 * a, (s, a, d["window"], d["window_end"])
assert d["window_end"] != d["window"], (d["window"], d["window_end"])
EOF
	then
		pass "json: after an update the window is the new plan's (simulated = its analytic)"
	else
		fail "json: after an update the window is the new plan's" "$(head -c 600 "$TMP/json")" \
			"$(head -c 300 "$TMP/err")"
	fi
fi

# Issue 9, item 4. Every node crashes: the report says so, gives no analytic figure for a dead
# plan, and the run exits 3.
ALL=()
for i in 0 1 2 3 4 5; do ALL+=(--fail "node $i at $((10 + i))s"); done
"$EP" "${BASE[@]}" "${ALL[@]}" >"$TMP/text" 2>"$TMP/err"
status=$?
if [ "$status" -eq 3 ] && grep -q "final plan: none" "$TMP/text" &&
	grep -q "not declared dead before the run stopped" "$TMP/text" &&
	! grep -q "declared dead at -1" "$TMP/text" && grep -q "no plan fits" "$TMP/err"; then
	pass "every node crashed: said so, no final analytic figure, exit 3"
else
	fail "every node crashed: exit $status" "$(head -c 900 "$TMP/text")" "$(head -c 300 "$TMP/err")"
fi
# The README's example measures its crash and update (inside the default warm-up it did not).
README_SIM=(sim --model resnet50 --nodes 10 --mem 64MiB --algo seifer --requests 10000
	--workload closed:8 --fault "kill node3 at 20s" --update "resnet101 at 40s")
if "$EP" "${README_SIM[@]}" --warmup 0 >"$TMP/text" 2>"$TMP/err" && ! grep -q "note:" "$TMP/text" &&
	"$EP" "${README_SIM[@]}" >"$TMP/text2" 2>"$TMP/err" && grep -q "note: 2 of these came during the warm-up" "$TMP/text2" &&
	grep -qF -- '--workload closed:8 --warmup 0 --fault "kill node3 at 20s"' "$(dirname "$0")/../README.md"; then
	pass "README sim example: measured from 0 s; a warm-up hiding incidents is noted"
else
	fail "README sim example" "$(head -c 600 "$TMP/text")" "$(grep note "$TMP/text2")"
fi
# Shared medium: the text labels the analytic column and shows the medium's bound; json keys are
# unique; a medium's mean_queue counts waiting transfers (at least its utilisation).
if "$EP" "${BASE[@]}" --shared-medium --service exp >"$TMP/text" 2>"$TMP/err" &&
	grep -q "^shared-medium bound (/s)" "$TMP/text"; then
	pass "text: shared-medium bound shown beside the dedicated-link analytic figure"
else
	fail "text: shared-medium bound" "$(head -c 600 "$TMP/text")"
fi
if command -v python3 >/dev/null 2>&1; then
	if "$EP" "${BASE[@]}" --shared-medium --service exp --format json >"$TMP/json" 2>"$TMP/err" &&
		python3 - "$TMP/json" <<'EOF'
import json, sys
def unique(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    return dict(pairs)
d = json.load(open(sys.argv[1]), object_pairs_hook=unique)
assert isinstance(d["nodes"], int) and isinstance(d["node_stats"], list)
used = [m for m in d["media"] if m["served"] > 0]
assert used and all(m["mean_queue"] >= m["utilisation"] - 1e-12 for m in used), used
assert any(m["max_queue"] > 1 for m in used), used
assert d["model_bound_throughput"] <= d["analytic_throughput"] * (1 + 1e-12)
EOF
	then
		pass "json: keys unique; media queues count waiting transfers"
	else
		fail "json: keys unique; media queues" "$(head -c 300 "$TMP/err")"
	fi
fi

# Same seed, same trace; another seed, another trace.
ARGS=("${BASE[@]}" --service lognormal:0.5 --transfer exp --shared-medium --mtbf 400s)
if "$EP" "${ARGS[@]}" --trace "$TMP/t1" >"$TMP/o1" 2>&1 &&
	"$EP" "${ARGS[@]}" --trace "$TMP/t2" >"$TMP/o2" 2>&1 &&
	"$EP" "${ARGS[@]}" --seed 4 --trace "$TMP/t3" >/dev/null 2>&1 &&
	[ -s "$TMP/t1" ] && cmp -s "$TMP/t1" "$TMP/t2" && ! cmp -s "$TMP/t1" "$TMP/t3"; then
	pass "trace: same seed, same bytes ($(wc -l <"$TMP/t1") lines); another seed differs"
else
	fail "trace: same seed, same bytes" "$(head -c 300 "$TMP/o1")"
fi

# Modelled energy (issue 13): a deterministic saturated run's energy per inference is within
# 1 % of the plan's analytic figure (power_plan_energy; the run's two ends are the difference),
# `plan --device` prints that same analytic figure for the same plan, and a codec halving the
# tensors halves the bits each node sends.
EN=("${BASE[@]}" --requests 2000 --device 2.7:6.4:5:5)
if "$EP" "${EN[@]}" --format json >"$TMP/e1" 2>"$TMP/err" &&
	"$EP" "${EN[@]}" --codec-profile lz4:2:1e6:1e6 --format json >"$TMP/e2" 2>>"$TMP/err" &&
	"$EP" plan "${BASE[@]:1:${#BASE[@]}-3}" --device 2.7:6.4:5:5 --format json >"$TMP/e3" \
		2>>"$TMP/err" &&
	python3 - "$TMP/e1" "$TMP/e2" "$TMP/e3" <<'EOF'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
p = json.load(open(sys.argv[3]))
p = p[0] if isinstance(p, list) else p
ea, eb = a["modelled_energy"], b["modelled_energy"]
assert abs(ea["energy_per_inference_j"] / ea["analytic_energy_per_inference_j"] - 1) < 0.01, ea
assert abs(p["modelled_energy"]["energy_per_inference_j"] -
           ea["analytic_energy_per_inference_j"]) < 1e-9, (p, ea)
assert a["codec"] is None and b["codec"]["spec"] == "lz4" and b["codec"]["ratio"] == 2
sa = sum(n["bits_sent"] for n in ea["per_node"]) / a["measured"]
sb = sum(n["bits_sent"] for n in eb["per_node"]) / b["measured"]
assert abs(sb / sa - 0.5) < 0.01, (sa, sb)
EOF
then
	pass "energy: simulated within 1 % of the analytic figure, plan prints it, a codec of 2 halves the bits"
else
	fail "energy: simulated vs analytic" "$(head -c 300 "$TMP/err")" "$(head -c 300 "$TMP/e1")"
fi

# One grammar (algorithms/timeline.h): the older --fail spelling, --fault and a --faults file
# give the same run, byte for byte; so do --update and an 'update' line.
printf 'kill node1 at 20s  # the crash\nupdate resnet101 at 40s\n' >"$TMP/timeline.txt"
if "$EP" "${BASE[@]}" --fail "node 1 at 20s" --update "resnet101 at 40s" --format csv \
	>"$TMP/f1" 2>&1 &&
	"$EP" "${BASE[@]}" --fault "kill node1 at 20s" --update "resnet101 at 40s" --format csv \
		>"$TMP/f2" 2>&1 &&
	"$EP" "${BASE[@]}" --faults "$TMP/timeline.txt" --format csv >"$TMP/f3" 2>&1 &&
	cmp -s "$TMP/f1" "$TMP/f2" && cmp -s "$TMP/f1" "$TMP/f3" &&
	col=$(head -1 "$TMP/f1" | tr ',' '\n' | grep -nx incidents | cut -d: -f1) &&
	[ "$(sed -n 2p "$TMP/f1" | cut -d, -f"$col")" = 2 ]; then
	pass "--fail, --fault and --faults: one grammar, the same run (2 incidents)"
else
	fail "--fail, --fault and --faults: one grammar" "$(head -c 300 "$TMP/f1")" "$(head -c 300 "$TMP/f3")"
fi

finish
