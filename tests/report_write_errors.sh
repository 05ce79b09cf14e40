#!/bin/bash
# The report writers of plan, region, profile and model show check their writes: a report that
# cannot be written all (stdout on /dev/full, where every write fails with ENOSPC) exits 1 with
# the writer's message on stderr, never 0 with a truncated report. Before the writers moved
# into the libraries (issue 17), all 9 checks below failed with the session's baseline binary:
# plan, region and profile JSON printed "writing JSON failed" and went on to exit 0; the text
# and CSV of plan, region, profile and model show did not look.
#
# Each report below is larger than stdio's buffer (4 KiB on /dev/full), so the failure shows
# while the command writes, not only when the process flushes stdout at exit (which no command
# checks: see the notes of report17). A control run with a working stdout must exit 0 first.
#
# Usage: bash report_write_errors.sh PATH_TO_EDGEPIPE

set -u
source "$(dirname "$0")/cli_lib.sh"
setup report_write_errors.sh "$@"

if ! (: >/dev/full) 2>/dev/null; then
	echo "no writable /dev/full: skipped"
	exit 77
fi

write_chain5 "$TMP/chain5.model"

# expect_write_error WHAT MIN_BYTES CMD...: CMD writes at least MIN_BYTES to a working stdout
# and exits 0; with stdout on /dev/full it exits 1 and says why on stderr.
expect_write_error() {
	local what=$1 min=$2 status size
	shift 2
	if ! "$@" >"$TMP/out" 2>"$TMP/err"; then
		fail "$what" "control run failed: $*" "stderr: $(head -c 400 "$TMP/err")"
		return
	fi
	size=$(wc -c <"$TMP/out")
	if [ "$size" -lt "$min" ]; then
		fail "$what" "control run wrote $size bytes, fewer than $min: the test cannot fail"
		return
	fi
	"$@" >/dev/full 2>"$TMP/err"
	status=$?
	if [ "$status" -ne 1 ]; then
		fail "$what" "$* >/dev/full exited $status, expected 1" \
			"stderr: $(head -c 400 "$TMP/err")"
	elif ! grep -qE '^edgepipe: (cannot write|writing JSON failed)' "$TMP/err"; then
		fail "$what" "no message on stderr" "stderr: $(head -c 400 "$TMP/err")"
	else
		pass "$what"
	fi
}

# 100 stages of ResNet-152 (109 cut points) on 100 nodes: a line (a row, an object) per stage.
PLAN=("$EP" plan --model resnet152 --nodes 100 --mem 1GiB --algo defer --stages 100)
for fmt in text csv json; do
	expect_write_error "plan --format $fmt" 8192 "${PLAN[@]}" --format "$fmt"
done
# 1600 and 144 points of the region of the chain above.
expect_write_error "region --format text" 8192 "$EP" region --model "$TMP/chain5.model" --grid 40
expect_write_error "region --format json" 8192 "$EP" region --model "$TMP/chain5.model" \
	--grid 12 --format json
expect_write_error "model show" 8192 "$EP" model show resnet50
# MobileNetV2's 156 layers, measured once.
for fmt in text csv json; do
	expect_write_error "profile --format $fmt" 8192 "$EP" profile mobilenetv2 --repeat 1 \
		--warmup 0 --format "$fmt"
done
# Reports smaller than stdio's buffer reach the file only when main flushes stdout at exit.
expect_write_error "models (flushed at exit)" 100 "$EP" models
expect_write_error "--version (flushed at exit)" 5 "$EP" --version
finish
