#!/usr/bin/env bash
# Issue 9, item 7: a valid result database on a read-only filesystem is read by plot, merge
# (as an input) and sweep (a finished sweep reports so; a missing row is refused before it is
# computed). Before, all three said "not an edgepipe database": WAL mode wants a writable -shm
# side file. Errors about places say what the place is: a directory, a missing directory, a
# read-only filesystem. The read-only filesystem is a tmpfs remounted read-only in a private
# mount namespace (unshare -m; skipped, exit 77, where that is not allowed).
# Also item 7: plot on a full disk left truncated PNG files. A tmpfs with room for the text
# files of a plot but not its images: plot fails, and every image there is whole or absent
# (gnuplot writes NAME.part, renamed once complete); no NAME.part is left.
# Usage: store_readonly.sh EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup store_readonly.sh "$@"

if [ "${EDGEPIPE_IN_NS:-}" != 1 ]; then
    if ! unshare -m true 2>/dev/null; then
        echo "skipped: needs unshare -m (root)"
        exit 77
    fi
    rm -rf "$TMP"
    EDGEPIPE_IN_NS=1 exec unshare -m bash "$0" "$EP"
fi
mkdir -p "$TMP/ro"
mount -t tmpfs -o size=64m tmpfs "$TMP/ro" || { echo "skipped: cannot mount tmpfs"; exit 77; }
at_exit "umount -l '$TMP/ro' 2>/dev/null"
q() { sqlite3 "$1" "$2"; }

grid=(--model resnet50,mobilenetv2 --mem 64MiB,128MiB --nodes 3,5 --algo greedy,seifer,optimal
      --trials 2 --no-progress)
"$EP" sweep --db "$TMP/ro/r.db" "${grid[@]}" 2>/dev/null
want=$(q "$TMP/ro/r.db" "SELECT count(*) FROM results")
mount -o remount,ro "$TMP/ro" || { echo "skipped: cannot remount read-only"; exit 77; }
touch "$TMP/ro/x" 2>/dev/null && fail "the tmpfs is still writable"
[ ! -e "$TMP/ro/r.db-shm" ] && pass "a read-only medium without a -shm file ($want rows)" ||
    fail "the -shm file is there"

# plot reads it (figures only with gnuplot; the error would come first otherwise)
if command -v gnuplot >/dev/null; then
    "$EP" plot --db "$TMP/ro/r.db" --out "$TMP/figs" --format svg >"$TMP/plot.out" 2>"$TMP/plot.err" &&
        ls "$TMP/figs"/*.svg >/dev/null 2>&1 && pass "plot reads a database on a read-only medium" ||
        fail "plot" "$(head -c 400 "$TMP/plot.err")"
fi
"$EP" merge "$TMP/m.db" "$TMP/ro/r.db" 2>"$TMP/merge.err" &&
    [ "$(q "$TMP/m.db" "SELECT count(*) FROM results")" = "$want" ] &&
    pass "merge reads an input on a read-only medium" ||
    fail "merge" "$(head -c 400 "$TMP/merge.err")"
"$EP" sweep --db "$TMP/ro/r.db" "${grid[@]}" 2>"$TMP/sweep.err" &&
    grep -q "0 rows computed, $want rows in .*read-only; no row is missing" "$TMP/sweep.err" &&
    pass "a finished sweep on a read-only medium reports itself finished" ||
    fail "sweep, finished" "$(head -c 400 "$TMP/sweep.err")"
"$EP" sweep --db "$TMP/ro/r.db" "${grid[@]/--trials/--trials}" --trials 3 2>"$TMP/more.err"
st=$?
[ "$st" -eq 1 ] && grep -q "'$TMP/ro/r.db' is read-only: 24 row(s) of this sweep are missing" \
    "$TMP/more.err" && pass "missing rows on a read-only medium are refused before computing" ||
    fail "sweep, missing rows: exit $st" "$(head -c 400 "$TMP/more.err")"

# Places, named for what they are.
"$EP" sweep --db "$TMP/ro/new.db" "${grid[@]}" 2>"$TMP/e1"
[ $? -eq 1 ] && grep -q "cannot create database '$TMP/ro/new.db': directory '$TMP/ro' is on a read-only filesystem" "$TMP/e1" &&
    pass "a new database in a read-only directory" || fail "new in ro" "$(cat "$TMP/e1")"
expect_exit2 "a database path that is a directory" "'$TMP' is a directory, not a database file" \
    "$EP" sweep --db "$TMP" "${grid[@]}"
"$EP" sweep --db "$TMP/nodir/x.db" "${grid[@]}" 2>"$TMP/e2"
[ $? -eq 2 ] && grep -q "directory '$TMP/nodir' does not exist" "$TMP/e2" &&
    pass "a missing directory" || fail "missing directory" "$(cat "$TMP/e2")"
expect_exit2 "plot of a missing database" "database '$TMP/nothere.db' does not exist" \
    "$EP" plot --db "$TMP/nothere.db" --out "$TMP/figs2"
expect_exit2 "merge of a directory" "is a directory" "$EP" merge "$TMP/m2.db" "$TMP/ro"
[ ! -e "$TMP/m2.db" ] && pass "a refused merge creates no output" || fail "m2.db was created"

# A full disk: room for the .dat, .gp and summary files (in 4 KiB pages, as a reference plot
# of the same database measures them) and 4 pages more, not for the images.
if command -v gnuplot >/dev/null; then
    "$EP" plot --db "$TMP/m.db" --out "$TMP/ref" --format png >/dev/null 2>&1
    pages=$(find "$TMP/ref" -type f ! -name '*.png' -printf '%s\n' |
            awk '{ p += int(($1 + 4095) / 4096) } END { print p + 4 }')
    img=$(find "$TMP/ref" -name '*.png' | wc -l)
    mkdir -p "$TMP/full"
    mount -t tmpfs -o size=$((pages * 4))k tmpfs "$TMP/full"
    at_exit "umount -l '$TMP/full' 2>/dev/null"
    "$EP" plot --db "$TMP/m.db" --out "$TMP/full/figs" --format png >/dev/null 2>"$TMP/full.err"
    st=$?
    cut=0
    for f in "$TMP/full/figs"/*.png; do
        [ -e "$f" ] || continue
        tail -c 12 "$f" | od -An -tx1 | tr -d ' \n' | grep -q '0000000049454e44ae426082$' ||
            cut=$((cut + 1))
    done
    parts=$(find "$TMP/full/figs" -name '*.part' | wc -l)
    if [ "$img" -gt 0 ] && [ "$st" -ne 0 ] && [ "$cut" -eq 0 ] && [ "$parts" -eq 0 ]; then
        pass "plot on a full disk fails and leaves no cut-short image ($img images wanted)"
    else
        fail "full disk: exit $st, $cut cut-short image(s), $parts .part file(s) of $img" \
            "$(head -c 300 "$TMP/full.err")"
    fi
fi

finish
