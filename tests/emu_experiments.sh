#!/bin/bash
# experiments/defer.sh and experiments/seifer.sh end to end on a tiny grid (MobileNetV2, real
# inference, 1 and 2 nodes; a node killed and a model rolled out on 3 nodes): every run is ok,
# the summary has a row per run with no mismatched answer, the timeline run loses no request,
# and every figure is written with its data and script. Skips (77) without root or network
# namespaces, as the emulator tests do; takes the emulator tests' lock.
#
# Expected values: the grid's run count (1 device + 1 N = 2 run per algorithm); lost 0 and
# mismatched 0 are the emulator's promises (every request answered once, every answer equal to
# the whole model's output, emu_session.h).
#
# Usage: bash emu_experiments.sh PATH_TO_EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup emu_experiments.sh "$@"
root=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" -ne 0 ] || ! ip netns add edgepipe-exptest 2>/dev/null; then
	echo "skipped: needs root and network namespaces"
	exit 77
fi
ip netns del edgepipe-exptest
if exec 9>>/run/lock/edgepipe-emu-tests.lock 2>/dev/null; then
	flock 9
fi
EP=$(cd "$(dirname "$EP")" && pwd)/$(basename "$EP")

# ---- defer.sh -------------------------------------------------------------------------------
EDGEPIPE=$EP DB=$TMP/defer.db OUT=$TMP/defer MODELS=mobilenetv2 NODES="1 2" ALGOS="defer optimal" \
	CODECS=none REQUESTS=4 ONE_REQUESTS=4 bash "$root/experiments/defer.sh" >"$TMP/defer.out" 2>&1
status=$?
if [ $status -eq 0 ]; then pass "defer.sh runs"; else fail "defer.sh runs" "exit $status" "$(tail -5 "$TMP/defer.out")"; fi
rows=$(grep -c '^| mobilenetv2 | none |' "$TMP/defer/summary.md" 2>/dev/null)
if [ "$rows" = 3 ]; then pass "defer summary: 3 runs"; else fail "defer summary: 3 runs" "rows $rows" "$(cat "$TMP/defer/summary.md" 2>/dev/null)"; fi
if grep -q '^| mobilenetv2 | none | optimal | 2 |.* / 0 |$' "$TMP/defer/summary.md" &&
	! grep -q ' / [1-9][0-9]* |$' "$TMP/defer/summary.md"; then
	pass "defer summary: no mismatched answer"
else
	fail "defer summary: no mismatched answer" "$(cat "$TMP/defer/summary.md" 2>/dev/null)"
fi
for f in throughput-mobilenetv2 payload-mobilenetv2; do
	if [ -s "$TMP/defer/$f.png" ] && [ -s "$TMP/defer/$f.svg" ] && [ -s "$TMP/defer/$f.dat" ] &&
		grep -q "load '$f.gp'" "$TMP/defer/figures.gp"; then
		pass "defer figure $f"
	else
		fail "defer figure $f" "$(ls "$TMP/defer")"
	fi
done

# ---- seifer.sh ------------------------------------------------------------------------------
EDGEPIPE=$EP DB=$TMP/seifer.db OUT=$TMP/seifer MODEL=mobilenetv2 NODES="1 2" ALGOS=seifer \
	MEM=64MiB BIG_MEM=256MiB REQUESTS=4 ONE_REQUESTS=4 TIMELINE_NODES=3 TIMELINE_REQUESTS=80 KILL=stage1 \
	KILL_AT=1s UPDATE="mobilenet at 2.5s" bash "$root/experiments/seifer.sh" >"$TMP/seifer.out" 2>&1
status=$?
if [ $status -eq 0 ]; then pass "seifer.sh runs"; else fail "seifer.sh runs" "exit $status" "$(tail -5 "$TMP/seifer.out")"; fi
if grep -q '^| single | 1 | 1 | [0-9.]* | [0-9.]* | +0 % | 4 / 0 |$' "$TMP/seifer/summary.md" &&
	grep -q '^| seifer | 2 | 2 | [0-9.]* | [0-9.]* | [-+][0-9]* % | 4 / 0 |$' "$TMP/seifer/summary.md"; then
	pass "seifer summary: one device and N = 2"
else
	fail "seifer summary: one device and N = 2" "$(cat "$TMP/seifer/summary.md" 2>/dev/null)"
fi
if grep -q '^Requests: 80 issued, 80 answered, 0 lost .* mismatched: 0;' "$TMP/seifer/summary.md" &&
	grep -q '^| kill stage1 at 1s | 1\.[0-9]* | 0\.[0-9]* | [0-9.]* |' "$TMP/seifer/summary.md" &&
	grep -q '^| update to mobilenet |' "$TMP/seifer/summary.md"; then
	pass "seifer timeline: nothing lost, nothing mismatched, both events"
else
	fail "seifer timeline: nothing lost, nothing mismatched, both events" \
		"$(cat "$TMP/seifer/summary.md" 2>/dev/null)" "$(tail -5 "$TMP/seifer/runs.log" 2>/dev/null)"
fi
for f in throughput-nodes timeline; do
	if [ -s "$TMP/seifer/$f.png" ] && [ -s "$TMP/seifer/$f.svg" ] && [ -s "$TMP/seifer/$f.dat" ]; then
		pass "seifer figure $f"
	else
		fail "seifer figure $f" "$(ls "$TMP/seifer")"
	fi
done
finish
