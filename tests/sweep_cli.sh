#!/usr/bin/env bash
# The sweep end to end, as a user runs it: resume after SIGKILL, shards merged against one run,
# bad axes and names rejected with exit 2. Usage: sweep_cli.sh EDGEPIPE
set -u
ep=$1
dir=$(mktemp -d /tmp/edgepipe-sweep-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
pass=0 fail=0
ok() { echo "ok: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }
q() { sqlite3 "$1" "$2"; }

# Deterministic columns of every row, in key order (solve times and run ids differ by run).
rows() {
    q "$1" "SELECT model, mem_bytes, nodes, cluster, algo, variant, bw_classes, trial, seed,
            cluster_seed, status, stages, plan, bottleneck_s, throughput, gaps
            FROM results ORDER BY model, mem_bytes, nodes, cluster, algo, variant,
            bw_classes, trial, seed"
}

# 1. Kill a sweep mid-run with SIGKILL, run the same command again: every row once.
grid=(--model inceptionresnetv2,densenet201 --mem 64MiB,128MiB --nodes 5,8,10
      --algo random,greedy,seifer,joint,defer --bw-classes 2,8 --variant corrected,published
      --trials 40 --seed 5 --no-progress)
# rows = 2 models x 2 mems x 3 N x 2 variants x 40 trials x (4 algos + seifer x 2 classes)
want=$((2 * 2 * 3 * 2 * 40 * 6))
"$ep" sweep --db "$dir/kill.db" "${grid[@]}" -j 2 2>"$dir/kill.err" &
pid=$!
pids+=("$pid")
for _ in $(seq 1 600); do
    n=$(q "$dir/kill.db" "SELECT count(*) FROM results" 2>/dev/null || echo 0)
    [ "${n:-0}" -gt 0 ] && break
    sleep 0.05
done
pkill -9 -P "$pid" 2>/dev/null # its workers first: once the parent is gone they are orphans
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
sleep 0.2
before=$(q "$dir/kill.db" "SELECT count(*) FROM results")
if [ "$before" -gt 0 ] && [ "$before" -lt "$want" ]; then
    ok "killed mid-sweep with $before of $want rows stored"
else
    bad "the kill did not land mid-sweep ($before of $want rows)"
fi
if "$ep" sweep --db "$dir/kill.db" "${grid[@]}" -j 2 2>"$dir/resume.err"; then
    ok "resumed sweep exits 0"
else
    bad "resumed sweep failed: $(cat "$dir/resume.err")"
fi
after=$(q "$dir/kill.db" "SELECT count(*) FROM results")
distinct=$(q "$dir/kill.db" "SELECT count(*) FROM (SELECT DISTINCT model, mem_bytes, nodes,
    cluster, algo, variant, bw_classes, trial, seed FROM results)")
[ "$after" -eq "$want" ] && ok "all $want rows after resume" || bad "$after rows, want $want"
[ "$distinct" -eq "$after" ] && ok "no duplicate keys" || bad "$distinct distinct of $after"
[ "$(q "$dir/kill.db" "PRAGMA integrity_check")" = "ok" ] && ok "integrity_check ok" ||
    bad "integrity_check"
runs=$(q "$dir/kill.db" "SELECT count(*), count(finished) FROM runs")
[ "$runs" = "2|1" ] && ok "two runs recorded, the killed one unfinished" || bad "runs: $runs"
# The resumed file equals a sweep that was never interrupted.
"$ep" sweep --db "$dir/clean.db" "${grid[@]}" -j 1 2>/dev/null
if [ "$(rows "$dir/kill.db")" = "$(rows "$dir/clean.db")" ]; then
    ok "resumed rows equal an uninterrupted run's"
else
    bad "resumed rows differ from an uninterrupted run's"
fi
# A third run computes nothing.
"$ep" sweep --db "$dir/kill.db" "${grid[@]}" 2>"$dir/again.err"
grep -q "^sweep: 0 rows computed" "$dir/again.err" && ok "a complete sweep recomputes nothing" ||
    bad "rerun: $(cat "$dir/again.err")"

# 2. Three shards merged equal one run.
small=(--model resnet50,mobilenetv2 --mem 64MiB,256MiB --nodes 3:9:3 --algo all
       --variant corrected,published --trials 4 --seed 9 --no-progress)
"$ep" sweep --db "$dir/one.db" "${small[@]}" 2>/dev/null
for i in 0 1 2; do
    "$ep" sweep --db "$dir/shard$i.db" "${small[@]}" --shard "$i/3" 2>/dev/null
done
"$ep" merge "$dir/merged.db" "$dir/shard0.db" "$dir/shard1.db" "$dir/shard2.db" 2>/dev/null
one=$(rows "$dir/one.db")
[ -n "$one" ] && [ "$one" = "$(rows "$dir/merged.db")" ] && ok "3 shards merged = one run" ||
    bad "merged shards differ from one run"
n0=$(q "$dir/shard0.db" "SELECT count(*) FROM results")
n1=$(q "$dir/shard1.db" "SELECT count(*) FROM results")
[ "$n0" -gt 0 ] && [ "$n1" -gt 0 ] && ok "shards are non-empty slices ($n0, $n1)" ||
    bad "empty shard"
"$ep" merge "$dir/merged.db" "$dir/shard0.db" 2>/dev/null
[ "$(rows "$dir/merged.db")" = "$one" ] && ok "merging a shard twice adds nothing" ||
    bad "double merge changed the rows"

# 3. Bad input: exit 2 and a message naming the value.
expect2() {
    local what=$1 needle=$2
    shift 2
    "$ep" "$@" >"$dir/out" 2>"$dir/err"
    local rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$needle" "$dir/err"; then
        ok "$what"
    else
        bad "$what: exit $rc, stderr: $(cat "$dir/err")"
    fi
}
base=(sweep --db "$dir/bad.db" --model resnet50 --mem 64MiB --nodes 5)
expect2 "bad node range" "5:x" "${base[@]}" --nodes 5:x
expect2 "reversed range" "9:3" "${base[@]}" --nodes 9:3
expect2 "bad size" "64XB" "${base[@]}" --mem 64XB
expect2 "unknown algorithm" "nosuch" "${base[@]}" --algo seifer,nosuch
expect2 "unknown variant" "foo" "${base[@]}" --variant foo
expect2 "unknown cluster" "torus" "${base[@]}" --cluster torus
expect2 "bad shard" "3/2" "${base[@]}" --shard 3/2
expect2 "unknown model" "nosuchnet" "${base[@]}" --model resnet50,nosuchnet
expect2 "zero trials" "0" "${base[@]}" --trials 0
expect2 "missing axes" "required" sweep --db "$dir/bad.db"
expect2 "merge of a non-database" "not an edgepipe" merge "$dir/m.db" "$dir/err"
expect2 "merge of a missing file" "nothere" merge "$dir/m.db" "$dir/nothere.db"
[ ! -e "$dir/bad.db" ] && ok "bad sweeps created no database" || bad "bad.db was created"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
