#!/bin/bash
# edgepipe sim end to end: bad input exits 2 with a message naming the value; --help exits 0;
# the text output shows the analytic bottleneck beside the simulated figures; csv and json
# parse; the same command and seed write the same trace, byte for byte; a crash and an update
# are reported.
#
# Usage: bash sim_cli.sh PATH_TO_EDGEPIPE
# Prints one line per check and a last line "N passed, M failed"; exits 1 if any failed.

set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: bash sim_cli.sh PATH_TO_EDGEPIPE" >&2
	exit 2
fi
EP=$1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sim_cli.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() {
	failed=$((failed + 1))
	echo "FAIL $1"
	shift
	for line in "$@"; do echo "     $line"; done
}

# expect_bad NAME PATTERN... -- ARGS...: exits 2, stderr contains every PATTERN.
expect_bad() {
	local name=$1 status
	shift
	local patterns=()
	while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
	shift
	"$EP" "$@" >"$TMP/out" 2>"$TMP/err"
	status=$?
	if [ "$status" -ne 2 ]; then
		fail "$name" "edgepipe $* exited $status, expected 2" "stderr: $(head -c 400 "$TMP/err")"
		return
	fi
	for p in "${patterns[@]}"; do
		if ! grep -qF -- "$p" "$TMP/err"; then
			fail "$name" "stderr does not contain \"$p\"" "stderr: $(head -c 400 "$TMP/err")"
			return
		fi
	done
	pass "$name"
}

# A small, fast instance: ResNet50 on 6 nodes with compute.
BASE=(sim --model resnet50 --nodes 6 --mem 128MiB --cluster uniform --bw-range 10Mbit:100Mbit
	--speed 5GFLOPS --latency 1ms --algo greedy --seed 3 --requests 400)

expect_bad "sim without --model" "sim: --model and --mem are required" -- sim --mem 64MiB
expect_bad "sim --workload open:3" "'open:3'" -- "${BASE[@]}" --workload open:3
expect_bad "sim --workload closed:2.5" "'closed:2.5'" -- "${BASE[@]}" --workload closed:2.5
expect_bad "sim --workload poisson:0" "'poisson:0'" -- "${BASE[@]}" --workload poisson:0
expect_bad "sim --service gamma" "'gamma'" -- "${BASE[@]}" --service gamma
expect_bad "sim --service lognormal:-1" "'lognormal:-1'" -- "${BASE[@]}" --service lognormal:-1
expect_bad "sim --fail garbage" "'node three at 20s'" "node N at TIME" -- "${BASE[@]}" \
	--fail "node three at 20s"
expect_bad "sim --fail bad time" "'soon'" -- "${BASE[@]}" --fail "node 1 at soon"
expect_bad "sim --fail node out of range" "node 6" "0 to 5" -- "${BASE[@]}" --fail "node 6 at 1s"
expect_bad "sim --update garbage" "'resnet101'" "MODEL at TIME" -- "${BASE[@]}" --update resnet101
expect_bad "sim --update unknown model" "'nosuchmodel'" -- "${BASE[@]}" --update "nosuchmodel at 1s"
expect_bad "sim --algo all" "'all'" -- "${BASE[@]}" --algo all
expect_bad "sim --algo unknown" "'frob'" -- "${BASE[@]}" --algo frob
expect_bad "sim --compute maybe" "'maybe'" -- "${BASE[@]}" --compute maybe
expect_bad "sim --heartbeat-timeout below period" "--heartbeat-timeout" -- "${BASE[@]}" \
	--heartbeat 2s --heartbeat-timeout 1s
expect_bad "sim --warmup too large" "400" -- "${BASE[@]}" --warmup 400
expect_bad "sim --requests 0 without --duration" "--duration" -- "${BASE[@]}" --requests 0
expect_bad "sim --trace into a missing directory" "'$TMP/no/such/file'" -- "${BASE[@]}" \
	--trace "$TMP/no/such/file"
expect_bad "sim extra argument" "'extra'" -- "${BASE[@]}" extra

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
EOF
	then
		pass "json: parses; a crash and an update reported; 400 answers in the series"
	else
		fail "json: parses; a crash and an update reported" "$(head -c 600 "$TMP/json")" \
			"$(head -c 300 "$TMP/err")"
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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
