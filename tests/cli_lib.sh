# The harness shared by the bash tests of the edgepipe command line (cli_errors.sh, sim_cli.sh,
# sweep_cli.sh). A script sources it, calls setup first and finish last:
#
#   source "$(dirname "$0")/cli_lib.sh"
#   setup my_test.sh "$@"
#   expect_exit2 "unknown command" "'frob'" "$EP" frob
#   finish
#
# Each check prints one line, "ok   WHAT" or "FAIL WHAT" followed by indented details; finish
# prints "N passed, M failed" as the last line and exits 1 if any check failed.

# Separates the strings of a NEEDLE that must all occur: "'xml'${NL}--format".
NL=$'\n'

passed=0
failed=0
_cli_lib_cleanups=()

_cli_lib_cleanup() {
	local i
	# Newest first: a background process goes before the files it writes.
	for ((i = ${#_cli_lib_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cli_lib_cleanups[i]}"
	done
	rm -rf "$TMP"
}

# setup NAME ARGS...: checks that ARGS is one executable, the edgepipe under test, and sets
# EP to it; makes the scratch directory TMP, removed on exit. NAME is the script's file name,
# for the usage line and the directory's name. Exits 2 on bad arguments.
setup() {
	local name=$1
	shift
	if [ $# -ne 1 ] || [ ! -x "$1" ]; then
		echo "usage: bash $name PATH_TO_EDGEPIPE" >&2
		exit 2
	fi
	EP=$1
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/${name%.sh}.XXXXXX") || exit 1
	# Quiet, so that finish's line stays the last: bash reports a killed background job.
	trap '_cli_lib_cleanup >/dev/null 2>&1' EXIT
}

# at_exit COMMAND: runs COMMAND (a string, evaluated) on exit, before TMP is removed; for
# instance killing a background process.
at_exit() {
	_cli_lib_cleanups+=("$1")
}

# write_chain5 FILE: a five-layer model file written by hand (an input, a 3x3 convolution, an
# activation, a flatten, a dense layer), small enough that its FLOPs and sizes can be checked by
# hand; the scripts of the compute source, the profile and the write errors use it.
write_chain5() {
	cat >"$1" <<'MODEL'
edgepipe-model 1
model chain5
in InputLayer - 8x8x3 0 0 float32
conv Conv2D in 8x8x4 112 14080 float32 filters=4 kernel=3,3 strides=1,1 padding=same use_bias=true
act Activation conv 8x8x4 0 256 float32 activation=relu
flat Flatten act 256 0 0 float32
fc Dense flat 10 2570 5130 float32 units=10 use_bias=true
MODEL
}

# pass WHAT: counts a check that held.
pass() {
	passed=$((passed + 1))
	echo "ok   $1"
}

# fail WHAT DETAIL...: counts a check that did not hold; each DETAIL is printed on its own
# indented line.
fail() {
	failed=$((failed + 1))
	echo "FAIL $1"
	shift
	local line
	for line in "$@"; do
		echo "     $line"
	done
}

# expect_exit2 WHAT NEEDLE CMD...: CMD exits 2 and its stderr contains NEEDLE, a fixed string;
# a NEEDLE of several lines (joined with $NL) wants every line. CMD's stdout and stderr are
# left in $TMP/out and $TMP/err.
expect_exit2() {
	local what=$1 needle=$2 status line
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	status=$?
	if [ "$status" -ne 2 ]; then
		fail "$what" "$* exited $status, expected 2" "stderr: $(head -c 400 "$TMP/err")"
		return
	fi
	while IFS= read -r line; do
		if ! grep -qF -- "$line" "$TMP/err"; then
			fail "$what" "$*: stderr does not contain \"$line\"" \
				"stderr: $(head -c 400 "$TMP/err")"
			return
		fi
	done <<<"$needle"
	pass "$what"
}

# finish: prints "N passed, M failed" and exits 0 if none failed, 1 otherwise.
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] || exit 1
	exit 0
}
