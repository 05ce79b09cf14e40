#!/usr/bin/env bash
# List the functions longer than N lines (default 80) in the libraries and the CLI (issue 17:
# none over about 80 lines without a comment saying why), longest first: "FILE:LINE NAME LINES".
# A function runs from the first line of its signature (an unindented line with a '(' that does
# not end in ';') to the '}' in column 0 that closes the body opened by a '{' in column 0: the
# layout .clang-format gives every function here. Usage: scripts/long_functions.sh [N] [FILE...]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-80}
shift || true
[ $# -gt 0 ] || set -- models/*.c algorithms/*.c sim/*.c emu/*.c experiments/*.c cli/*.c
for f in "$@"; do
    awk -v n="$n" -v f="$f" '
        /^[A-Za-z_].*\(/ && !/;[ \t]*$/ { sig = FNR; name = $0 }
        /^\{/ { start = sig ? sig : FNR; fn = name }
        /^\}/ {
            if (start && FNR - start + 1 > n) {
                sub(/\(.*/, "", fn)
                k = split(fn, w, /[ *]+/)
                printf "%s:%d %s %d\n", f, start, w[k], FNR - start + 1
            }
            start = 0; sig = 0
        }' "$f"
done | sort -k3,3nr
