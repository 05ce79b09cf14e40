#!/bin/bash
# The edgepipe command line end to end (DESIGN.md, "One command line"): bad input exits 2 with
# a message on stderr that names the offending value; --help exits 0 with usage on stdout; the
# data formats parse; an exported model shows the same cut table as the zoo model it came from.
#
# Usage: bash cli_errors.sh PATH_TO_EDGEPIPE
# Prints one line per check and a last line "N passed, M failed"; exits 1 if any failed.

set -u
source "$(dirname "$0")/cli_lib.sh"
setup cli_errors.sh "$@"

# expect_help NAME ARGS...: exits 0 and prints "usage:" on stdout.
expect_help() {
	local name=$1 status
	shift
	"$EP" "$@" >"$TMP/out" 2>"$TMP/err"
	status=$?
	if [ "$status" -ne 0 ]; then
		fail "$name" "edgepipe $* exited $status, expected 0"
	elif ! grep -q '^usage: edgepipe' "$TMP/out"; then
		fail "$name" "edgepipe $*: no 'usage: edgepipe' line on stdout"
	else
		pass "$name"
	fi
}

# ---- bad command lines: exit 2, the message names the value -------------------------------

expect_exit2 "unknown command" "'frobnicate'" "$EP" frobnicate
expect_exit2 "no command prints usage" "usage: edgepipe" "$EP"
expect_exit2 "models --format xml" "'xml'${NL}--format" "$EP" models --format xml
expect_exit2 "models extra argument" "'extra'" "$EP" models extra
expect_exit2 "models unknown option" "--bogus" "$EP" models --bogus
expect_exit2 "model alone prints usage" "usage: edgepipe model" "$EP" model
expect_exit2 "model unknown action" "'frobnicate'" "$EP" model frobnicate resnet50
# The zoo's first and last entries (models/model_zoo.c) stand for the list.
expect_exit2 "model show unknown model lists the zoo" \
	"'nosuchmodel'${NL}resnet50${NL}efficientnetb1${NL}model file" "$EP" model show nosuchmodel
expect_exit2 "model show --dtype int4" "'int4'" "$EP" model show resnet50 --dtype int4
expect_exit2 "model show --cuts fuzzy" "'fuzzy'" "$EP" model show resnet50 --cuts fuzzy
expect_exit2 "model show --input-shape (import only)" "--input-shape${NL}'model import'" \
	"$EP" model show resnet50 --input-shape 32x32x3
expect_exit2 "model export --weights-out (import only)" "--weights-out${NL}'model import'" \
	"$EP" model export resnet50 --weights-out w.bin
expect_exit2 "model show --accounting magic" "'magic'" \
	"$EP" model show resnet50 --accounting magic
expect_exit2 "model show --compression 0.5" "'0.5'${NL}>= 1" \
	"$EP" model show resnet50 --compression 0.5
expect_exit2 "model show --compression abc" "'abc'" \
	"$EP" model show resnet50 --compression abc
expect_exit2 "model show --table foo" "'foo'" "$EP" model show resnet50 --table foo
expect_exit2 "model show --format xml" "'xml'" "$EP" model show resnet50 --format xml
expect_exit2 "model show unknown option" "--bogus" "$EP" model show resnet50 --bogus
expect_exit2 "model import of a non-ONNX name" "'resnet50'${NL}FILE.onnx" \
	"$EP" model import resnet50
expect_exit2 "model import missing file" "'$TMP/none.onnx'" "$EP" model import "$TMP/none.onnx"
expect_exit2 "model import --input-shape 3x3" "'3x3'${NL}HxWxC" \
	"$EP" model import x.onnx --input-shape 3x3
expect_exit2 "model export --format xml" "'xml'${NL}model or onnx" \
	"$EP" model export resnet50 --format xml -o "$TMP/x.onnx"
expect_exit2 "model export --format onnx without -o" "-o FILE" \
	"$EP" model export resnet50 --format onnx
expect_exit2 "model export --seed abc" "'abc'" \
	"$EP" model export resnet50 --format onnx --seed abc -o "$TMP/x.onnx"
expect_exit2 "model show missing ONNX file" "'$TMP/none.onnx'" "$EP" model show "$TMP/none.onnx"
expect_exit2 "model show without a model" "model show" "$EP" model show
# Two models where one is expected: the message names the extra one, as 'models extra' does.
expect_exit2 "model show a b" "'b'" "$EP" model show a b

# ---- bad model files: exit 2, the message is FILE:LINE: -----------------------------------

printf 'edgepipe-model 1\ninput_1 InputLayer - 8x8x3 0 0 float32\nd Dense input_1 10 40 90 int4\n' \
	>"$TMP/bad_dtype.model"
expect_exit2 "model show malformed file (dtype, line 3)" "bad_dtype.model:3:${NL}'int4'" \
	"$EP" model show "$TMP/bad_dtype.model"
printf 'edgepipe-model 9\n' >"$TMP/bad_version.model"
expect_exit2 "model show malformed file (version, line 1)" "bad_version.model:1:${NL}'9'" \
	"$EP" model show "$TMP/bad_version.model"
printf '# comment\n\nedgepipe-model 1\ninput_1 InputLayer - 8x0x3 0 0 float32\n' \
	>"$TMP/bad_shape.model"
expect_exit2 "model show malformed file (shape, line 4)" "bad_shape.model:4:${NL}'8x0x3'" \
	"$EP" model show "$TMP/bad_shape.model"
: >"$TMP/empty.model"
expect_exit2 "model show empty file" "empty.model${NL}empty" \
	"$EP" model show "$TMP/empty.model"
expect_exit2 "model export malformed file" "bad_dtype.model:3:" \
	"$EP" model export "$TMP/bad_dtype.model"

# ---- one duration grammar (ep_parse_duration_in): a run's time options and the commands' own
# wrote the longest time two ways ("1e+09 s" and "1e9 s") before issue 17 made them one ----

expect_exit2 "sim --heartbeat past the longest time" "'2e9s': expected a time from 1e-09 s to 1e9 s" \
	"$EP" sim --model resnet50 --mem 512MiB --heartbeat 2e9s
expect_exit2 "sim --mtbf past the longest time" "'2e9s': expected a time from 1e-09 s to 1e9 s" \
	"$EP" sim --model resnet50 --mem 512MiB --mtbf 2e9s
expect_exit2 "emu --bin past the longest time" "'2e7s': expected a time from 0.05 s to 1e7 s" \
	"$EP" emu --model resnet50 --mem 512MiB --bin 2e7s

# ---- the wire codec and the power model (issue 13): emu_codec.h's names, power.h's models ----

expect_exit2 "plan --codec-profile unknown codec" "'bogus'${NL}lz4" \
	"$EP" plan --model resnet50 --mem 512MiB --codec-profile bogus:2:100:100
expect_exit2 "sim --codec-profile bad zstd level" "'zstd:30:2:100:100'" \
	"$EP" sim --model resnet50 --mem 512MiB --codec-profile zstd:30:2:100:100
expect_exit2 "plan --codec-profile ratio 0" "the ratio '0'" \
	"$EP" plan --model resnet50 --mem 512MiB --codec-profile lz4:0:100:100
expect_exit2 "plan --codec-profile missing speeds" "'lz4:2'${NL}SPEC:RATIO:ENC_MBPS:DEC_MBPS" \
	"$EP" plan --model resnet50 --mem 512MiB --codec-profile lz4:2
expect_exit2 "plan --codec-profile with --compression" "--compression 2${NL}give one" \
	"$EP" plan --model resnet50 --mem 512MiB --codec-profile lz4:2:100:100 --compression 2
expect_exit2 "plan --device unknown preset" "'rpi5'${NL}rpi4" \
	"$EP" plan --model resnet50 --mem 512MiB --device rpi5
expect_exit2 "sim --device P_max below P_idle" "P_max 3 W is below P_idle 5 W" \
	"$EP" sim --model resnet50 --mem 512MiB --device 5:3
expect_exit2 "emu --device negative" "'-1:3'" \
	"$EP" emu --model resnet50 --mem 512MiB --device -1:3
# The instance file states the codec and its rule: the plan's bottleneck recomputed from the
# file alone (full metric: compute with coding, every hop with its bits / ratio) is the one
# plan printed.
if "$EP" plan --model resnet50 --nodes 4 --mem 512MiB --metric full --speed 5GFLOPS \
	--latency 1ms --algo optimal --codec-profile zstd:3:1.339:86:350 --format json \
	--instance-out "$TMP/inst.json" >"$TMP/plan.json" 2>"$TMP/err" &&
	python3 - "$TMP/inst.json" "$TMP/plan.json" <<'EOF'
import json, sys
inst, plan = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
plan = plan[0] if isinstance(plan, list) else plan
c, cuts, nodes, d = inst["codec"], inst["cuts"], inst["nodes"], inst["dispatcher"]
bw, lat = inst["bandwidth_bps"], inst["latency_s"]
terms, prev, cut = [], d, 0
for s in plan["stages"]:
    a, b, v = s["first_cut"], s["end_cut"], s["node"]
    bits = cuts[a]["transfer_bits"]
    terms.append(bits / c["ratio"] / bw[prev][v] + lat[prev][v])
    terms.append((cuts[b]["cum_flops"] - cuts[a]["cum_flops"]) / nodes[v]["speed_flops"] +
                 (c["decode_s_per_byte"] * bits + c["encode_s_per_byte"] *
                  cuts[b]["transfer_bits"]) / 8 / nodes[v]["speed_factor"])
    prev, cut = v, b
terms.append(cuts[cut]["transfer_bits"] / c["ratio"] / bw[prev][d] + lat[prev][d])
assert c["spec"] == "zstd:3" and c["ratio"] == 1.339, c
assert abs(max(terms) / plan["bottleneck_s"] - 1) < 1e-12, (max(terms), plan["bottleneck_s"])
EOF
then
	pass "plan --instance-out: the codec and its rule reproduce the bottleneck"
else
	fail "plan --instance-out: the codec and its rule" "$(head -c 400 "$TMP/err")"
fi

# --dispatcher-bw: the dispatcher's links of a cluster file. MobileNetV2 on one node of a
# 3-node file of 100 Mbit links, full metric: the whole model on one node (seifer), whose
# bottleneck is the input hop, 224 x 224 x 3 float32 = 4816896 bits: 48.16896 ms at the file's
# mean (100 Mbit/s), 481.6896 ms at --dispatcher-bw 10Mbit (hand calculation).
printf '0,100,100\n100,0,100\n100,100,0\n' >"$TMP/c3.csv"
for rate in "" 10Mbit; do
	want=$([ -n "$rate" ] && echo 481.689600 || echo 48.168960)
	"$EP" plan --model mobilenetv2 --mem 1GiB --cluster file --cluster-file "$TMP/c3.csv" \
		${rate:+--dispatcher-bw "$rate"} --metric full --algo seifer >"$TMP/out" 2>"$TMP/err"
	if grep -q "^bottleneck $want ms (hop 0, dispatcher -> node" "$TMP/out"; then
		pass "--dispatcher-bw ${rate:-unset}: input hop $want ms"
	else
		fail "--dispatcher-bw ${rate:-unset}: input hop $want ms" "$(tail -n 2 "$TMP/out")"
	fi
done
expect_exit2 "--dispatcher-bw without a cluster file" "--dispatcher-bw${NL}--cluster file" \
	"$EP" plan --model mobilenetv2 --mem 1GiB --dispatcher-bw 10Mbit
expect_exit2 "--dispatcher-bw fast" "'fast'" "$EP" plan --model mobilenetv2 --mem 1GiB \
	--cluster file --cluster-file "$TMP/c3.csv" --dispatcher-bw fast

# ---- empty list elements (issue 9, item 9): a tokenizer skipped them silently ------------

expect_exit2 "plan --mem with an empty element" "'64MiB,,128MiB'${NL}element 2 is empty" \
	"$EP" plan --model resnet50 --mem 64MiB,,128MiB --nodes 3
expect_exit2 "plan --mem ending in a comma" "'64MiB,'${NL}element 2 is empty" \
	"$EP" plan --model resnet50 --mem 64MiB, --nodes 3
expect_exit2 "sweep --mem with an empty element" "--mem '64MiB,,128MiB'${NL}element 2" \
	"$EP" sweep --db "$TMP/never.db" --model resnet50 --mem 64MiB,,128MiB --nodes 3
expect_exit2 "sweep --nodes starting with a comma" "--nodes ',3'${NL}element 1" \
	"$EP" sweep --db "$TMP/never.db" --model resnet50 --mem 64MiB --nodes ,3
expect_exit2 "sweep --model with an empty element" "--model 'resnet50,'" \
	"$EP" sweep --db "$TMP/never.db" --model resnet50, --mem 64MiB --nodes 3
expect_exit2 "sweep --algo with an empty element" "--algo 'seifer,,greedy'" \
	"$EP" sweep --db "$TMP/never.db" --model resnet50 --mem 64MiB --nodes 3 \
	--algo seifer,,greedy
expect_exit2 "plot --format with an empty element" "'png,,svg'" \
	"$EP" plot --db "$TMP/never.db" --out "$TMP/figs" --format png,,svg
[ ! -e "$TMP/never.db" ] && pass "refused lists created no database" || fail "never.db exists"

# ---- help ----------------------------------------------------------------------------------

expect_help "edgepipe --help" --help
expect_help "edgepipe models --help" models --help
expect_help "edgepipe model --help" model --help
expect_help "edgepipe model show --help" model show --help
expect_help "edgepipe model export --help" model export --help
expect_help "edgepipe model import --help" model import --help
# emu --help lists the codecs that --compress takes: both from the codec registry
# (emu_codec_usage), the list that an unknown codec's message gives.
codecs=$("$EP" emu --model resnet50 --mem 512MiB --compress bogus 2>&1 | sed -n 's/.*(codecs: \(.*\))$/\1/p')
help=$("$EP" emu --help | tr -s ' \n' '  ')
if [ -n "$codecs" ] && [[ "$help" == *"(default none): $codecs "* ]]; then
	pass "emu --help lists the registry's codecs"
else
	fail "emu --help lists the registry's codecs" "codecs '$codecs'"
fi

# ---- data formats --------------------------------------------------------------------------

# A header line and one line per zoo model: 15 models in models/model_zoo.c.
if "$EP" models --format csv >"$TMP/models.csv" 2>"$TMP/err"; then
	lines=$(wc -l <"$TMP/models.csv")
	if [ "$lines" -eq 16 ] && head -1 "$TMP/models.csv" | grep -q '^model,'; then
		pass "models --format csv: header + 15 models"
	else
		fail "models --format csv: header + 15 models" "$lines lines"
	fi
else
	fail "models --format csv: header + 15 models" "exit status $?"
fi

if command -v python3 >/dev/null 2>&1; then
	if "$EP" models --format json >"$TMP/models.json" 2>"$TMP/err" &&
		python3 -m json.tool "$TMP/models.json" >/dev/null 2>"$TMP/json.err"; then
		pass "models --format json is valid JSON"
	else
		fail "models --format json is valid JSON" "$(head -c 400 "$TMP/json.err")"
	fi
	if "$EP" model show resnet50 --format json >"$TMP/show.json" 2>"$TMP/err" &&
		python3 -m json.tool "$TMP/show.json" >/dev/null 2>"$TMP/json.err"; then
		pass "model show --format json is valid JSON"
	else
		fail "model show --format json is valid JSON" "$(head -c 400 "$TMP/json.err")"
	fi
else
	echo "skip models --format json is valid JSON (no python3)"
fi

# ---- export and show the file: the same cut table as the zoo model --------------------------

if "$EP" model export resnet50 -o "$TMP/resnet50.model" 2>"$TMP/err" &&
	"$EP" model show "$TMP/resnet50.model" --format csv --table cuts >"$TMP/file.csv" \
		2>>"$TMP/err" &&
	"$EP" model show resnet50 --format csv --table cuts >"$TMP/zoo.csv" 2>>"$TMP/err"; then
	# The comparison is the check; -s guards against two equal empty outputs.
	if [ -s "$TMP/zoo.csv" ] && cmp -s "$TMP/file.csv" "$TMP/zoo.csv"; then
		pass "export resnet50 then show the file: same cut table"
	else
		fail "export resnet50 then show the file: same cut table" \
			"$(diff "$TMP/zoo.csv" "$TMP/file.csv" | head -5)"
	fi
else
	fail "export resnet50 then show the file: same cut table" "$(head -c 400 "$TMP/err")"
fi

# edgepipe measure: bad hosts and options are refused before anything is sent.
expect_exit2 "measure with one host" "at least 2 hosts" "$EP" measure 127.0.0.1
expect_exit2 "measure with a bad port" "'127.0.0.1:0'" "$EP" measure 127.0.0.1:0 127.0.0.2
expect_exit2 "measure --listen without --serve" "--listen goes with --serve" \
	"$EP" measure --listen 127.0.0.1 127.0.0.1 127.0.0.2
expect_exit2 "measure --window 0" "--window '0s'" "$EP" measure --window 0s 127.0.0.1 127.0.0.2

# model show --exec: a layer kind the executor lacks and a weights file of the wrong size or
# truncated exit 2 naming them, before anything is printed.
"$EP" model export mobilenet -o "$TMP/mn.model"
sed 's/^conv1 Conv2D /conv1 Conv3D /' "$TMP/mn.model" >"$TMP/mn3d.model"
expect_exit2 "model show --exec unknown op" "layer 'conv1'${NL}'Conv3D'" \
	"$EP" model show "$TMP/mn3d.model" --exec
[ -s "$TMP/out" ] && fail "model show --exec unknown op" "printed before refusing" || true
head -c 1000 /dev/zero >"$TMP/short.bin"
expect_exit2 "model show --exec truncated weights" "short.bin${NL}truncated${NL}layer 'conv1'" \
	"$EP" model show mobilenet --exec --weights "$TMP/short.bin"
[ -s "$TMP/out" ] && fail "model show --exec truncated weights" "printed before refusing" || true
head -c 20000000 /dev/zero >"$TMP/long.bin"
expect_exit2 "model show --exec weights too long" "long.bin${NL}20000000 bytes" \
	"$EP" model show mobilenet --exec --weights "$TMP/long.bin"
{ echo "weights short.bin"; grep -v '^model ' "$TMP/mn.model" | grep -v '^edgepipe-model'; } \
	| { echo "edgepipe-model 1"; cat; } >"$TMP/mnw.model"
expect_exit2 "model file naming a truncated weights file" "short.bin${NL}truncated" \
	"$EP" model show "$TMP/mnw.model" --exec
expect_exit2 "model show --threads 0" "--threads '0'" "$EP" model show mobilenet --exec --threads 0


# ---- dispatch --plan FILE: a bad plan file is refused before any host is contacted ----------
# (127.0.0.2:9 is never reached: the file is read first.) A key given twice is refused
# (jansson's JSON_REJECT_DUPLICATES; libyaml, which read these files before, took the last).
DISPATCH=("$EP" dispatch --hosts 127.0.0.2:9,127.0.0.3:9 --model mobilenetv2 --mem 64MiB --plan)
printf '[{"stages": [{"node": 0, "first_cut": 0, "end_cut": 1}]}, {"algo": "x"}]\n' >"$TMP/two.json"
printf '{"stages": [{"node": 0.5, "first_cut": 0, "end_cut": 3}]}\n' >"$TMP/real.json"
printf '{"stages": [], "stages": []}\n' >"$TMP/dup.json"
printf '{"stages": [' >"$TMP/trunc.json"
printf '[{"algo": "seifer", "status": "infeasible", "reason": "too small"}]\n' >"$TMP/noplan.json"
expect_exit2 "dispatch --plan with two plans" "two.json${NL}2 plans" "${DISPATCH[@]}" "$TMP/two.json"
expect_exit2 "dispatch --plan with a real node" "real.json${NL}stage 0${NL}integers" \
	"${DISPATCH[@]}" "$TMP/real.json"
expect_exit2 "dispatch --plan with a key twice" "dup.json${NL}duplicate" \
	"${DISPATCH[@]}" "$TMP/dup.json"
expect_exit2 "dispatch --plan truncated" "trunc.json${NL}line 1" "${DISPATCH[@]}" "$TMP/trunc.json"
expect_exit2 "dispatch --plan without stages" "noplan.json${NL}no plan${NL}too small" \
	"${DISPATCH[@]}" "$TMP/noplan.json"
expect_exit2 "dispatch --plan missing file" "missing.json" "${DISPATCH[@]}" "$TMP/missing.json"

# -h is --help in every command (as getopt's "h" in each command's table promises): the same
# usage on stdout, exit 0. The list is main.c's subcommand table.
for c in models model profile plan sim sweep merge region plot emu compare stage dispatch \
	measure deploy clean; do
	"$EP" "$c" --help >"$TMP/help" 2>/dev/null
	if "$EP" "$c" -h >"$TMP/h" 2>"$TMP/herr" && cmp -s "$TMP/h" "$TMP/help" && [ ! -s "$TMP/herr" ]
	then
		pass "$c -h is --help"
	else
		fail "$c -h is --help" "edgepipe $c -h: not --help's usage on stdout with exit 0"
	fi
done

finish
