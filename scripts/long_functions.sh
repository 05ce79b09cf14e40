#!/usr/bin/env bash
# List the functions longer than N lines (default 80) in the libraries and the CLI (issue 17:
# none over about 80 lines without a comment saying why), longest first: "FILE:LINE NAME LINES".
# A function runs from the first line of its signature (an unindented line with a '(' that does
# not end in ';') to the '}' in column 0 that closes the body opened by a '{' in column 0: the
# layout .clang-format gives every function here.
# A function is explained when the comment just above its signature says "Long because ...";
# explained functions are listed with a trailing "(explained)".
# Usage: scripts/long_functions.sh [--check] [N] [FILE...] (N: a number; default 80)
#   --check  list only the unexplained ones; exit 1 if there are any.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = --check ]; then
    check=1
    shift
fi
n=80
case "${1:-}" in
[0-9]*) n=$1; shift ;;
esac
[ $# -gt 0 ] || set -- models/*.c algorithms/*.c sim/*.c emu/*.c experiments/*.c cli/*.c
out=$(for f in "$@"; do
    awk -v n="$n" -v f="$f" -v check="$check" '
        /^[ \t]*(\/\*|\*|\/\/)/ { if ($0 ~ /Long because/) why = 1; next }
        /^[A-Za-z_].*\(/ && !/;[ \t]*$/ { sig = FNR; name = $0; sigwhy = why; why = 0; next }
        /^\{/ { start = sig ? sig : FNR; fn = name; fnwhy = sig ? sigwhy : 0; next }
        /^\}/ {
            if (start && FNR - start + 1 > n && !(check && fnwhy)) {
                sub(/\(.*/, "", fn)
                k = split(fn, w, /[ *]+/)
                printf "%s:%d %s %d%s\n", f, start, w[k], FNR - start + 1,
                       fnwhy ? " (explained)" : ""
            }
            start = 0; sig = 0; why = 0; next
        }
        !sig { why = 0 }' "$f"
done | sort -k3,3nr)
[ -z "$out" ] || printf '%s\n' "$out"
[ "$check" = 0 ] || [ -z "$out" ]
