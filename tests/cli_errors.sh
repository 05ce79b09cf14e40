#!/bin/bash
# The edgepipe command line end to end (DESIGN.md, "One command line"): bad input exits 2 with
# a message on stderr that names the offending value; --help exits 0 with usage on stdout; the
# data formats parse; an exported model shows the same cut table as the zoo model it came from.
#
# Usage: bash cli_errors.sh PATH_TO_EDGEPIPE
# Prints one line per check and a last line "N passed, M failed"; exits 1 if any failed.

set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: bash cli_errors.sh PATH_TO_EDGEPIPE" >&2
	exit 2
fi
EP=$1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cli_errors.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0

pass() {
	passed=$((passed + 1))
	echo "ok   $1"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL $1"
	shift
	for line in "$@"; do
		echo "     $line"
	done
}

# expect_bad NAME PATTERN... -- ARGS...: edgepipe ARGS exits 2 and stderr contains every
# PATTERN (fixed strings).
expect_bad() {
	local name=$1 status
	shift
	local patterns=()
	while [ "$1" != "--" ]; do
		patterns+=("$1")
		shift
	done
	shift
	"$EP" "$@" >"$TMP/out" 2>"$TMP/err"
	status=$?
	if [ "$status" -ne 2 ]; then
		fail "$name" "edgepipe $* exited $status, expected 2" "stderr: $(head -c 400 "$TMP/err")"
		return
	fi
	for p in "${patterns[@]}"; do
		if ! grep -qF -- "$p" "$TMP/err"; then
			fail "$name" "edgepipe $*: stderr does not contain \"$p\"" \
				"stderr: $(head -c 400 "$TMP/err")"
			return
		fi
	done
	pass "$name"
}

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

expect_bad "unknown command" "'frobnicate'" -- frobnicate
expect_bad "no command prints usage" "usage: edgepipe" --
expect_bad "models --format xml" "'xml'" "--format" -- models --format xml
expect_bad "models extra argument" "'extra'" -- models extra
expect_bad "models unknown option" "--bogus" -- models --bogus
expect_bad "model alone prints usage" "usage: edgepipe model" -- model
expect_bad "model unknown action" "'frobnicate'" -- model frobnicate resnet50
# The zoo's first and last entries (models/model_zoo.c) stand for the list.
expect_bad "model show unknown model lists the zoo" "'nosuchmodel'" "resnet50" \
	"efficientnetb1" "model file" -- model show nosuchmodel
expect_bad "model show --dtype int4" "'int4'" -- model show resnet50 --dtype int4
expect_bad "model show --cuts fuzzy" "'fuzzy'" -- model show resnet50 --cuts fuzzy
expect_bad "model show --accounting magic" "'magic'" -- model show resnet50 --accounting magic
expect_bad "model show --compression 0.5" "'0.5'" ">= 1" -- model show resnet50 --compression 0.5
expect_bad "model show --compression abc" "'abc'" -- model show resnet50 --compression abc
expect_bad "model show --table foo" "'foo'" -- model show resnet50 --table foo
expect_bad "model show --format xml" "'xml'" -- model show resnet50 --format xml
expect_bad "model show unknown option" "--bogus" -- model show resnet50 --bogus
expect_bad "model show without a model" "model show" -- model show
# Two models where one is expected: the message names the extra one, as 'models extra' does.
expect_bad "model show a b" "'b'" -- model show a b

# ---- bad model files: exit 2, the message is FILE:LINE: -----------------------------------

printf 'edgepipe-model 1\ninput_1 InputLayer - 8x8x3 0 0 float32\nd Dense input_1 10 40 90 int4\n' \
	>"$TMP/bad_dtype.model"
expect_bad "model show malformed file (dtype, line 3)" "bad_dtype.model:3:" "'int4'" \
	-- model show "$TMP/bad_dtype.model"
printf 'edgepipe-model 9\n' >"$TMP/bad_version.model"
expect_bad "model show malformed file (version, line 1)" "bad_version.model:1:" "'9'" \
	-- model show "$TMP/bad_version.model"
printf '# comment\n\nedgepipe-model 1\ninput_1 InputLayer - 8x0x3 0 0 float32\n' \
	>"$TMP/bad_shape.model"
expect_bad "model show malformed file (shape, line 4)" "bad_shape.model:4:" "'8x0x3'" \
	-- model show "$TMP/bad_shape.model"
: >"$TMP/empty.model"
expect_bad "model show empty file" "empty.model" "empty" -- model show "$TMP/empty.model"
expect_bad "model export malformed file" "bad_dtype.model:3:" -- model export "$TMP/bad_dtype.model"

# ---- help ----------------------------------------------------------------------------------

expect_help "edgepipe --help" --help
expect_help "edgepipe models --help" models --help
expect_help "edgepipe model --help" model --help
expect_help "edgepipe model show --help" model show --help
expect_help "edgepipe model export --help" model export --help

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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
