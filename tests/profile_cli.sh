#!/bin/bash
# edgepipe profile end to end: it measures every layer of a model with the executor and writes a
# layer profile that plan reads back (--compute profile:FILE); csv and json parse; bad input
# exits 2 naming the value, and writes nothing.
#
# Where the expected values come from: the FLOPs of every layer of MobileNetV2 must add up to
# the total that `edgepipe models` prints (the zoo's FLOP count, another command); the layer
# names and count of the chain are those of the model file below; times are measurements and
# are only checked to be positive where the executor did work (xnnpack or plain kernels).
#
# Usage: bash profile_cli.sh PATH_TO_EDGEPIPE

set -u
source "$(dirname "$0")/cli_lib.sh"
setup profile_cli.sh "$@"

write_chain5 "$TMP/chain5.model"

# ---- bad input ------------------------------------------------------------------------------
expect_exit2 "no model" "name one MODEL" "$EP" profile
expect_exit2 "unknown model" "'nosuchmodel'" "$EP" profile nosuchmodel
expect_exit2 "--threads 0" "--threads '0'" "$EP" profile "$TMP/chain5.model" --threads 0
expect_exit2 "--repeat x" "--repeat 'x'" "$EP" profile "$TMP/chain5.model" --repeat x
expect_exit2 "--format xml" "'xml'" "$EP" profile "$TMP/chain5.model" --format xml
expect_exit2 "--by op" "'op'" "$EP" profile "$TMP/chain5.model" --by op
expect_exit2 "--host with a blank" "'a b'" "$EP" profile "$TMP/chain5.model" --host "a b"
printf 'abc' >"$TMP/short.bin"
expect_exit2 "truncated weights file, nothing written" "'$TMP/short.bin'${NL}'conv'" \
	"$EP" profile "$TMP/chain5.model" --weights "$TMP/short.bin" -o "$TMP/never.lprof"
if [ -e "$TMP/never.lprof" ]; then
	fail "nothing written after an error" "$TMP/never.lprof exists"
else
	pass "nothing written after an error"
fi
if "$EP" profile --help | grep -q '^usage: edgepipe profile'; then
	pass "profile --help"
else
	fail "profile --help" "no usage line"
fi

# ---- a profile written, read back by plan ---------------------------------------------------
if "$EP" profile "$TMP/chain5.model" --repeat 3 --warmup 1 --host testhost \
	-o "$TMP/chain5.lprof" >"$TMP/out" 2>"$TMP/err"; then
	pass "profile -o"
else
	fail "profile -o" "$(cat "$TMP/err")"
fi
if python3 - "$TMP/chain5.lprof" <<'EOF'
import sys
lines = [l.split() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
head = {l[0]: l[1] for l in lines if l[0] != "layer" and len(l) == 2}
layers = [l for l in lines if l[0] == "layer"]
ok = (lines[0] == ["edgepipe-lprofile", "1"] and head["model"] == "chain5"
      and head["repeat"] == "3" and head["threads"] == "1" and head["host"] == "testhost"
      and [l[1] for l in layers] == ["in", "conv", "act", "flat", "fc"]
      and [int(l[4]) for l in layers] == [0, 14080, 256, 0, 5130]
      and all(float(l[5]) > 0 for l in layers if l[3] in ("xnnpack", "plain"))
      and [l[3] for l in layers][0] == "none" and layers[3][3] == "alias")
sys.exit(0 if ok else 1)
EOF
then
	pass "the profile file: header, layers, FLOPs, kernels, positive times"
else
	fail "the profile file: header, layers, FLOPs, kernels, positive times" \
		"$(cat "$TMP/chain5.lprof")"
fi
if "$EP" plan --model "$TMP/chain5.model" --mem 1GB --nodes 2 --compute "profile:$TMP/chain5.lprof" \
	--speed-factor 1 --format json >"$TMP/plan.json" 2>"$TMP/err" &&
	grep -q '"compute": "profile"' "$TMP/plan.json"; then
	pass "plan reads the written profile"
else
	fail "plan reads the written profile" "$(cat "$TMP/err" "$TMP/plan.json")"
fi

# ---- MobileNetV2: FLOPs add up to the zoo's total; csv and json parse ------------------------
total=$("$EP" models --format csv | awk -F, '$1 == "mobilenetv2" { print $7 }')
"$EP" profile mobilenetv2 --repeat 2 --warmup 0 --format csv >"$TMP/mnv2.csv" 2>"$TMP/err"
sum=$(awk -F, 'NR > 1 { s += $6 } END { printf "%d", s }' "$TMP/mnv2.csv")
rows=$(($(wc -l <"$TMP/mnv2.csv") - 1))
layers=$("$EP" models --format csv | awk -F, '$1 == "mobilenetv2" { print $4 }')
if [ -n "$total" ] && [ "$sum" = "$total" ] && [ "$rows" = "$layers" ]; then
	pass "mobilenetv2: $rows layers, FLOPs add up to the zoo's $total"
else
	fail "mobilenetv2: layers and FLOPs" "rows $rows (want $layers), sum $sum (want $total)" \
		"$(cat "$TMP/err")"
fi
"$EP" profile "$TMP/chain5.model" --repeat 2 --format json >"$TMP/p.json" 2>"$TMP/err"
if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ok = d["model"] == "chain5" and len(d["layers"]) == 5 and len(d["fingerprint"]) == 16
ok = ok and sum(k["layers"] for k in d["kinds"]) == 5
sys.exit(0 if ok else 1)' "$TMP/p.json"; then
	pass "profile --format json"
else
	fail "profile --format json" "$(cat "$TMP/p.json" "$TMP/err")"
fi
"$EP" profile "$TMP/chain5.model" --repeat 2 --format csv --by kind >"$TMP/k.csv" 2>"$TMP/err"
if [ "$(head -1 "$TMP/k.csv")" = "model,op,layers,flops,time_s,gflops" ] &&
	[ "$(awk -F, 'NR > 1 { s += $3 } END { print s }' "$TMP/k.csv")" = 5 ]; then
	pass "profile --format csv --by kind"
else
	fail "profile --format csv --by kind" "$(cat "$TMP/k.csv" "$TMP/err")"
fi

# ---- the figure: time against FLOPs per layer, one block (colour) per kind ------------------
expect_exit2 "plot --db and --profile" "one of them" "$EP" plot --db x.db \
	--profile "$TMP/chain5.lprof" --out "$TMP/fig"
expect_exit2 "plot --profile missing" "$TMP/none.lprof" "$EP" plot --profile "$TMP/none.lprof" \
	--out "$TMP/fig"
if ! command -v gnuplot >/dev/null; then
	echo "skip plot --profile: no gnuplot"
elif "$EP" plot --profile "$TMP/chain5.lprof" --out "$TMP/fig" >"$TMP/out" 2>"$TMP/err" &&
	[ -s "$TMP/fig/lprofile-chain5.png" ] && [ -s "$TMP/fig/lprofile-chain5.svg" ] &&
	[ "$(grep '^# [A-Z]' "$TMP/fig/lprofile-chain5.dat" | tr '\n' ' ')" = \
		"# Activation # Conv2D # Dense " ] &&
	[ "$(grep -c '^[0-9]' "$TMP/fig/lprofile-chain5.dat")" = 3 ]; then
	# conv, act and fc have FLOPs and time; the input and the Flatten alias have neither.
	pass "plot --profile: three kinds, three layers, png and svg"
else
	fail "plot --profile: three kinds, three layers, png and svg" "$(cat "$TMP/err")" \
		"$(cat "$TMP/fig/lprofile-chain5.dat" 2>/dev/null)"
fi

finish
