#!/bin/bash
# Every JSON output parses under a strict reader (issue 11): Python's json with duplicate keys
# refused (sim --format json once wrote "nodes" twice) and NaN/Infinity refused (not JSON).
# Covered: plan (one algorithm and --algo all), sim (faults, updates, energy, codec), model
# show, models, region, compare without the emulator, and emu when root can make network
# namespaces (otherwise that one check says it was skipped). The checker itself is checked
# first on two documents it must refuse.
#
# Usage: bash json_strict.sh PATH_TO_EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup json_strict.sh "$@"

cat >"$TMP/strict.py" <<'PY'
import json, sys
def pairs(p):
    keys = [k for k, _ in p]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError("duplicate keys %s" % dup)
    return dict(p)
def constant(c):
    raise ValueError("not JSON: %s" % c)
text = open(sys.argv[1]).read()
json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
PY
# strict WHAT FILE: FILE is one strict JSON document.
strict() {
	if python3 "$TMP/strict.py" "$2" 2>"$TMP/strict.err"; then
		pass "$1"
	else
		fail "$1" "$(tail -1 "$TMP/strict.err")" "$(head -c 300 "$2")"
	fi
}
# json WHAT CMD...: CMD exits 0 (or $WANT) and its stdout is strict JSON.
json() {
	local what=$1 status
	shift
	"$@" >"$TMP/out.json" 2>"$TMP/err"
	status=$?
	if [ "$status" -eq "${WANT:-0}" ]; then
		strict "$what" "$TMP/out.json"
	else
		fail "$what" "$* exited $status" "$(head -c 300 "$TMP/err")"
	fi
}

printf '{"nodes": 3, "nodes": []}' >"$TMP/dup.json"
printf '{"x": NaN}' >"$TMP/nan.json"
if python3 "$TMP/strict.py" "$TMP/dup.json" 2>/dev/null ||
	python3 "$TMP/strict.py" "$TMP/nan.json" 2>/dev/null; then
	fail "the checker refuses duplicate keys and NaN"
else
	pass "the checker refuses duplicate keys and NaN"
fi

INST=(--model resnet50 --nodes 6 --mem 128MiB --cluster uniform --bw-range 10Mbit:100Mbit
	--speed 5GFLOPS --seed 3)
json "plan" "$EP" plan "${INST[@]}" --format json
json "plan --algo all" "$EP" plan "${INST[@]}" --algo all --format json
json "plan --device" "$EP" plan "${INST[@]}" --device rpi4 --format json
json "sim" "$EP" sim "${INST[@]}" --requests 300 --format json
json "sim with faults, an update, energy and a codec" "$EP" sim "${INST[@]}" --requests 600 \
	--fault "kill stage1 at 20s" --fault "stall stage0 at 5s for 5s" \
	--update "mobilenetv2 at 40s" --device rpi4 --codec-profile lz4:2:1e6:1e6 --format json
# (exit 3: the run stopped with no plan on the surviving nodes; the report is still written)
WANT=3 json "sim, no plan left" "$EP" sim --model resnet50 --nodes 3 --mem 100MiB --requests 200 \
	--fault "kill stage0 at 1s" --format json
# The largest seed is a uint64: written exactly (jansson's integers are signed; ep_json_u64).
if "$EP" sim "${INST[@]:0:8}" --seed 18446744073709551615 --requests 50 --format json \
	>"$TMP/seed.json" 2>"$TMP/err" &&
	python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["seed"] == 2**64 - 1' \
		"$TMP/seed.json" 2>>"$TMP/err"; then
	pass "sim --seed 2^64-1 written exactly"
else
	fail "sim --seed 2^64-1 written exactly" "$(head -c 300 "$TMP/err")"
fi
json "model show" "$EP" model show resnet50 --format json
json "models" "$EP" models --format json
json "region" "$EP" region --model resnet50 --grid 2 --format json
# The instance file of --instance-out, and a measured layer profile.
instance_out() {
	"$EP" plan "$@" --instance-out "$TMP/instance.json" >/dev/null && cat "$TMP/instance.json"
}
json "plan --instance-out" instance_out "${INST[@]}" --codec-profile zstd:3:1.339:86:350
json "profile" "$EP" profile mobilenet --repeat 1 --warmup 0 --format json
json "compare without the emulator" "$EP" compare "${INST[@]}" --requests 200 --no-emu \
	--format json

if [ "$(id -u)" -eq 0 ] && ip netns add edgepipe-jsontest 2>/dev/null; then
	ip netns del edgepipe-jsontest
	if exec 9>>/run/lock/edgepipe-emu-tests.lock 2>/dev/null; then
		flock 9
	fi
	json "emu" "$EP" emu --model mobilenetv2 --nodes 4 --mem 64MiB --cluster uniform \
		--bw-range 200Mbit:400Mbit --compute none --requests 40 --state-dir "$TMP/state" \
		--format json
else
	echo "skip emu (needs root and network namespaces)"
fi
finish
