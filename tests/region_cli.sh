#!/bin/bash
# edgepipe region and the feltin options end to end: the CSV's solver and closed form agree at
# every point, JSON parses, --out writes the heat map and the CSV, bad input exits 2 naming the
# value; plan --algo feltin obeys --max-split and --parallel; sim refuses --parallel.
#
# Usage: bash region_cli.sh PATH_TO_EDGEPIPE

set -u
source "$(dirname "$0")/cli_lib.sh"
setup region_cli.sh "$@"

# ---- region: formats -----------------------------------------------------------------------

if "$EP" region --model mobilenetv2 --nodes 3 --grid 5 --format csv >"$TMP/r.csv" 2>"$TMP/err"; then
	# header + 25 points; pays (column 10) equals pays_closed (column 11) on every row
	rows=$(tail -n +2 "$TMP/r.csv" | wc -l)
	disagree=$(tail -n +2 "$TMP/r.csv" | awk -F, '$10 != $11' | wc -l)
	if [ "$rows" -eq 25 ] && [ "$disagree" -eq 0 ]; then
		pass "region --format csv: 25 points, solver = closed form on each"
	else
		fail "region --format csv: 25 points, solver = closed form on each" \
			"$rows rows, $disagree disagree"
	fi
else
	fail "region --format csv" "exit status $?: $(head -c 400 "$TMP/err")"
fi

if "$EP" region --model resnet50 --grid 3 --format json >"$TMP/r.json" 2>"$TMP/err" &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["points"]) == 9' \
		"$TMP/r.json" 2>"$TMP/json.err"; then
	pass "region --format json parses, 9 points"
else
	fail "region --format json parses, 9 points" "$(head -c 400 "$TMP/err" "$TMP/json.err")"
fi

if command -v gnuplot >/dev/null 2>&1; then
	if "$EP" region --model resnet50 --nodes 2 --grid 4 --out "$TMP/fig" >/dev/null \
		2>"$TMP/err" && [ -s "$TMP/fig/region-resnet50-N2.png" ] &&
		[ -s "$TMP/fig/region-resnet50-N2.svg" ] && [ -s "$TMP/fig/region-resnet50-N2.csv" ]; then
		pass "region --out writes the heat map and the CSV"
	else
		fail "region --out writes the heat map and the CSV" "$(head -c 400 "$TMP/err")"
	fi
else
	echo "skip region --out (no gnuplot)"
fi

# ---- region: bad input ---------------------------------------------------------------------

expect_exit2 "region without --model" "--model" "$EP" region
expect_exit2 "region --grid 0" "'0'" "$EP" region --model resnet50 --grid 0
expect_exit2 "region --bw-range backwards" "'10Mbit:1Mbit'" \
	"$EP" region --model resnet50 --bw-range 10Mbit:1Mbit
expect_exit2 "region --speed-range bad unit" "'1Gbit:2Gbit'" \
	"$EP" region --model resnet50 --speed-range 1Gbit:2Gbit
expect_exit2 "region --algo unknown" "'frob'" "$EP" region --model resnet50 --algo frob
expect_exit2 "region unknown model" "'nosuchmodel'" "$EP" region --model nosuchmodel
if "$EP" region --help | grep -q '^usage: edgepipe region'; then
	pass "region --help"
else
	fail "region --help" "no usage line"
fi

# ---- plan --algo feltin ----------------------------------------------------------------------

plan=("$EP" plan --model resnet50 --nodes 6 --mem 1GiB --speed 5GFLOPS --cluster uniform
	--bw-range 100Mbit:1Gbit --metric feltin --algo feltin --format csv)
if "${plan[@]}" --max-split 2 >"$TMP/p.csv" 2>"$TMP/err"; then
	stages=$(tail -n +2 "$TMP/p.csv" | wc -l)
	if [ "$stages" -ge 1 ] && [ "$stages" -le 3 ]; then
		pass "plan --algo feltin --max-split 2: at most 3 stages ($stages)"
	else
		fail "plan --algo feltin --max-split 2: at most 3 stages" "$stages stages"
	fi
else
	fail "plan --algo feltin --max-split 2" "$(head -c 400 "$TMP/err")"
fi
if "${plan[@]}" --parallel >/dev/null 2>"$TMP/err"; then
	pass "plan --algo feltin --parallel"
else
	fail "plan --algo feltin --parallel" "$(head -c 400 "$TMP/err")"
fi
expect_exit2 "plan --max-split -1" "'-1'" "${plan[@]}" --max-split -1
expect_exit2 "plan --metric bogus lists feltin" "'bogus'${NL}feltin" \
	"$EP" plan --model resnet50 --mem 1GiB --metric bogus
expect_exit2 "sim --parallel refused" "--parallel" \
	"$EP" sim --model resnet50 --mem 1GiB --parallel

finish
