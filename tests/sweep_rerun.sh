#!/usr/bin/env bash
# Issue 9, items 6 and 8: what a rerun into an existing database may do, and who may write it.
# - A rerun with an option that changes numbers but is not a key column (--latency, --speed,
#   --bw-range, --link-classes, the cluster file's content, --sim) used to report "0 rows
#   computed" and keep the old rows; it is refused (exit 2) naming the option, before anything
#   is computed, and the file is unchanged. The same command still resumes (sweep_cli.sh).
# - merge refuses an input swept with other options, and a row whose key is stored with other
#   values (made here by editing one value of a copy), merging nothing; the same rows again
#   are still accepted.
# - A second sweep or merge into a file being written is refused at once (exit 1), instead of
#   waiting 10 s and discarding its rows; readers (plot's queries) still read it.
# Usage: sweep_rerun.sh EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup sweep_rerun.sh "$@"
q() { sqlite3 "$1" "$2"; }
rows() { q "$1" "SELECT model, nodes, algo, trial, status, plan, bottleneck_s FROM results
                 ORDER BY model, nodes, algo, trial"; }

grid=(--model resnet50 --mem 64MiB --nodes 3,5 --algo greedy,seifer,joint --trials 3 --seed 7
      --cluster uniform --no-progress)
"$EP" sweep --db "$TMP/a.db" "${grid[@]}" 2>/dev/null
before=$(rows "$TMP/a.db")
[ "$(q "$TMP/a.db" "SELECT count(*) FROM results")" = 18 ] && pass "first sweep: 18 rows" ||
    fail "first sweep: $(q "$TMP/a.db" "SELECT count(*) FROM results") rows, want 18"

# 1. Every option that changes a number: refused with its name, nothing written.
printf '0,50,80\n50,0,60\n80,60,0\n' >"$TMP/c1.csv"
printf '0,50,80\n50,0,70\n80,70,0\n' >"$TMP/c2.csv"
check_refused() { # WHAT NEEDLE OPTIONS...
    local what=$1 needle=$2
    shift 2
    expect_exit2 "rerun with $what is refused" "$needle" "$EP" sweep --db "$TMP/a.db" \
        "${grid[@]}" "$@"
}
check_refused "--latency" "--latency 0 s${NL}--latency 0.005 s" --latency 5ms
check_refused "--speed" "--speed 0 FLOP/s${NL}--speed 2000000000 FLOP/s" --speed 2GFLOPS
check_refused "--bw-range" "--bw-range" --bw-range 10Mbit:20Mbit
check_refused "--link-classes" "--link-classes" --link-classes 3
check_refused "--sim" "--sim off${NL}--sim on, 300 requests" --sim-requests 300
check_refused "--failure-prob" "--failure-prob" --failure-prob 0.01
[ "$(rows "$TMP/a.db")" = "$before" ] && pass "the refused reruns changed no row" ||
    fail "a refused rerun changed the rows"
[ "$(q "$TMP/a.db" "SELECT count(*) FROM runs")" = 1 ] &&
    pass "the refused reruns recorded no run" || fail "runs: $(q "$TMP/a.db" "SELECT count(*) FROM runs")"
"$EP" sweep --db "$TMP/a.db" "${grid[@]}" 2>"$TMP/same.err" &&
    grep -q "^sweep: 0 rows computed" "$TMP/same.err" && pass "the same options still resume" ||
    fail "same options: $(cat "$TMP/same.err")"

# A file written before the algorithm options moved into the registry (c058a85 and earlier):
# feltin's cut limit recorded as "(max split)", no "--parallel". It resumes and merges (it was
# refused, naming "(max split)"), and a different --max-split is still refused.
cp "$TMP/a.db" "$TMP/old.db"
q "$TMP/old.db" "UPDATE meta SET key = 'option:(max split)' WHERE key = 'option:--max-split';
                 DELETE FROM meta WHERE key = 'option:--parallel'"
"$EP" sweep --db "$TMP/old.db" "${grid[@]}" 2>"$TMP/old.err" &&
    grep -q "^sweep: 0 rows computed" "$TMP/old.err" && pass "a file with the old option names resumes" ||
    fail "old option names: $(cat "$TMP/old.err")"
expect_exit2 "... and another --max-split is still refused" "--max-split 5${NL}--max-split 3" \
    "$EP" sweep --db "$TMP/old.db" "${grid[@]}" --max-split 3
"$EP" merge "$TMP/old-m.db" "$TMP/old.db" "$TMP/a.db" 2>"$TMP/oldm.err" &&
    pass "old and new files merge" || fail "merge old+new: $(cat "$TMP/oldm.err")"

# The cluster file's content, not its name, is recorded.
fgrid=(--model resnet50 --mem 64MiB --nodes 3 --cluster file --algo greedy,seifer --trials 2
       --no-progress)
"$EP" sweep --db "$TMP/f.db" "${fgrid[@]}" --cluster-file "$TMP/c1.csv" 2>/dev/null
cp "$TMP/c1.csv" "$TMP/c1-moved.csv"
"$EP" sweep --db "$TMP/f.db" "${fgrid[@]}" --cluster-file "$TMP/c1-moved.csv" 2>"$TMP/moved.err" &&
    pass "the same cluster file under another name resumes" ||
    fail "moved cluster file: $(cat "$TMP/moved.err")"
expect_exit2 "another cluster file's content is refused" "--cluster-file${NL}content fnv1a" \
    "$EP" sweep --db "$TMP/f.db" "${fgrid[@]}" --cluster-file "$TMP/c2.csv"

# 2. merge: options and conflicting rows.
"$EP" sweep --db "$TMP/s0.db" "${grid[@]}" --shard 0/2 2>/dev/null
"$EP" sweep --db "$TMP/s1.db" "${grid[@]}" --shard 1/2 2>/dev/null
"$EP" sweep --db "$TMP/s1-lat.db" "${grid[@]}" --shard 1/2 --latency 5ms 2>/dev/null
"$EP" merge "$TMP/m.db" "$TMP/s0.db" 2>/dev/null
expect_exit2 "merge of a shard swept with another --latency" \
    "'$TMP/s1-lat.db' was swept with --latency 0.005 s${NL}--latency 0 s" \
    "$EP" merge "$TMP/m.db" "$TMP/s1-lat.db"
"$EP" merge "$TMP/m.db" "$TMP/s1.db" 2>/dev/null && pass "the shard with the same options merges" ||
    fail "the same-option shard was refused"
[ "$(rows "$TMP/m.db")" = "$before" ] && pass "merged shards = one run" ||
    fail "merged shards differ from one run"
"$EP" merge "$TMP/m.db" "$TMP/s1.db" 2>/dev/null && pass "the same rows again are accepted" ||
    fail "merging the same rows again was refused"
cp "$TMP/s1.db" "$TMP/s1-edit.db"
q "$TMP/s1-edit.db" "UPDATE results SET bottleneck_s = bottleneck_s * 2
                     WHERE rowid = (SELECT min(rowid) FROM results WHERE algo = 'joint'
                                     AND status = 'ok')"
expect_exit2 "merge of a row stored with another value" \
    "1 row(s)${NL}joint${NL}bottleneck_s${NL}Nothing was merged" \
    "$EP" merge "$TMP/m.db" "$TMP/s1-edit.db"
[ "$(rows "$TMP/m.db")" = "$before" ] && pass "the refused merge changed no row" ||
    fail "the refused merge changed rows"
# All or nothing: the good inputs before the conflicting one are not merged either.
expect_exit2 "a conflict in the last input merges none" "Nothing was merged" \
    "$EP" merge "$TMP/m4.db" "$TMP/s1.db" "$TMP/s0.db" "$TMP/s1-edit.db"
[ "$(q "$TMP/m4.db" "SELECT count(*) FROM results")" = 0 ] && pass "... and the output has no row" ||
    fail "m4.db: $(q "$TMP/m4.db" "SELECT count(*) FROM results") rows"

# 3. One writer: a second sweep or merge is refused at once while a sweep writes.
big=(--model resnet50,densenet201 --mem 64MiB,128MiB --nodes 5,8,10 --algo random,greedy,seifer
     --trials 4000 --no-progress)
"$EP" sweep --db "$TMP/busy.db" "${big[@]}" 2>"$TMP/busy1.err" &
pid=$!
at_exit "kill $pid 2>/dev/null"
for _ in $(seq 1 200); do
    [ "$(q "$TMP/busy.db" "SELECT count(*) FROM runs" 2>/dev/null)" = 1 ] && break
    sleep 0.05
done
t0=$(date +%s.%N)
"$EP" sweep --db "$TMP/busy.db" "${big[@]}" 2>"$TMP/busy2.err"
st=$?
t1=$(date +%s.%N)
running=$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)
if [ "$running" = yes ] && [ "$st" -eq 1 ] && grep -q "being written by another" "$TMP/busy2.err" &&
    awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 2) }'; then
    pass "a second sweep is refused at once while the first writes"
else
    fail "second sweep: exit $st, first running: $running" "$(cat "$TMP/busy2.err")"
fi
"$EP" merge "$TMP/busy.db" "$TMP/s0.db" 2>"$TMP/busy3.err"
[ $? -eq 1 ] && grep -q "being written by another" "$TMP/busy3.err" &&
    pass "a merge into it is refused too" || fail "merge into busy: $(cat "$TMP/busy3.err")"
n=$(q "$TMP/busy.db" "SELECT count(*) FROM results")
[ -n "$n" ] && pass "readers still read it ($n rows so far)" || fail "cannot read while written"
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
"$EP" sweep --db "$TMP/busy.db" --model resnet50 --mem 64MiB --nodes 5 --algo greedy \
    --no-progress 2>"$TMP/after.err" && pass "once the writer is gone the file opens again" ||
    fail "after the writer: $(cat "$TMP/after.err")"

finish
