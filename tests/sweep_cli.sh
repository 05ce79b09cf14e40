#!/usr/bin/env bash
# The sweep end to end, as a user runs it: resume after SIGKILL, shards merged against one run,
# bad axes and names rejected with exit 2. Usage: sweep_cli.sh EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup sweep_cli.sh "$@"
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
"$EP" sweep --db "$TMP/kill.db" "${grid[@]}" -j 2 2>"$TMP/kill.err" &
pid=$!
at_exit "kill -9 $pid 2>/dev/null"
for _ in $(seq 1 600); do
    n=$(q "$TMP/kill.db" "SELECT count(*) FROM results" 2>/dev/null || echo 0)
    [ "${n:-0}" -gt 0 ] && break
    sleep 0.05
done
pkill -9 -P "$pid" 2>/dev/null # its workers first: once the parent is gone they are orphans
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
sleep 0.2
before=$(q "$TMP/kill.db" "SELECT count(*) FROM results")
if [ "$before" -gt 0 ] && [ "$before" -lt "$want" ]; then
    pass "killed mid-sweep with $before of $want rows stored"
else
    fail "the kill did not land mid-sweep ($before of $want rows)"
fi
if "$EP" sweep --db "$TMP/kill.db" "${grid[@]}" -j 2 2>"$TMP/resume.err"; then
    pass "resumed sweep exits 0"
else
    fail "resumed sweep failed: $(cat "$TMP/resume.err")"
fi
after=$(q "$TMP/kill.db" "SELECT count(*) FROM results")
distinct=$(q "$TMP/kill.db" "SELECT count(*) FROM (SELECT DISTINCT model, mem_bytes, nodes,
    cluster, algo, variant, bw_classes, trial, seed FROM results)")
[ "$after" -eq "$want" ] && pass "all $want rows after resume" || fail "$after rows, want $want"
[ "$distinct" -eq "$after" ] && pass "no duplicate keys" || fail "$distinct distinct of $after"
[ "$(q "$TMP/kill.db" "PRAGMA integrity_check")" = "ok" ] && pass "integrity_check ok" ||
    fail "integrity_check"
runs=$(q "$TMP/kill.db" "SELECT count(*), count(finished) FROM runs")
[ "$runs" = "2|1" ] && pass "two runs recorded, the killed one unfinished" || fail "runs: $runs"
# The run records the command as given: the lists whole (split in place, they were cut to
# their first element: "--model inceptionresnetv2 ... --algo random").
cmd=$(q "$TMP/kill.db" "SELECT command FROM runs LIMIT 1")
case "$cmd" in
*"--model inceptionresnetv2,densenet201 --mem 64MiB,128MiB --nodes 5,8,10 --algo random,greedy,seifer,joint,defer --bw-classes 2,8 --variant corrected,published"*)
    pass "the run records the command line whole" ;;
*) fail "runs.command: $cmd" ;;
esac
# The resumed file equals a sweep that was never interrupted.
"$EP" sweep --db "$TMP/clean.db" "${grid[@]}" -j 1 2>/dev/null
if [ "$(rows "$TMP/kill.db")" = "$(rows "$TMP/clean.db")" ]; then
    pass "resumed rows equal an uninterrupted run's"
else
    fail "resumed rows differ from an uninterrupted run's"
fi
# A third run computes nothing.
"$EP" sweep --db "$TMP/kill.db" "${grid[@]}" 2>"$TMP/again.err"
grep -q "^sweep: 0 rows computed" "$TMP/again.err" &&
    pass "a complete sweep recomputes nothing" || fail "rerun: $(cat "$TMP/again.err")"

# 2. Three shards merged equal one run.
small=(--model resnet50,mobilenetv2 --mem 64MiB,256MiB --nodes 3:9:3 --algo all
       --variant corrected,published --trials 4 --seed 9 --no-progress)
"$EP" sweep --db "$TMP/one.db" "${small[@]}" 2>/dev/null
for i in 0 1 2; do
    "$EP" sweep --db "$TMP/shard$i.db" "${small[@]}" --shard "$i/3" 2>/dev/null
done
"$EP" merge "$TMP/merged.db" "$TMP/shard0.db" "$TMP/shard1.db" "$TMP/shard2.db" 2>/dev/null
one=$(rows "$TMP/one.db")
[ -n "$one" ] && [ "$one" = "$(rows "$TMP/merged.db")" ] && pass "3 shards merged = one run" ||
    fail "merged shards differ from one run"
n0=$(q "$TMP/shard0.db" "SELECT count(*) FROM results")
n1=$(q "$TMP/shard1.db" "SELECT count(*) FROM results")
[ "$n0" -gt 0 ] && [ "$n1" -gt 0 ] && pass "shards are non-empty slices ($n0, $n1)" ||
    fail "empty shard"
"$EP" merge "$TMP/merged.db" "$TMP/shard0.db" 2>/dev/null
[ "$(rows "$TMP/merged.db")" = "$one" ] && pass "merging a shard twice adds nothing" ||
    fail "double merge changed the rows"

# 2b. --sim: a saturated deterministic simulation of every plan runs at plan_cost's throughput
# (tests/test_sim_saturated.c shows why), so simulated x analytic = 1 for every valid plan.
"$EP" sweep --db "$TMP/sim.db" --model resnet50,mobilenetv2 --mem 64MiB,256MiB --nodes 3,8 \
    --algo all --trials 3 --seed 4 --sim --sim-requests 300 --no-progress 2>/dev/null
simrows=$(sqlite3 "$TMP/sim.db" "SELECT count(*), count(sim_throughput),
    sum(abs(sim_throughput * bottleneck_s - 1) < 0.005) FROM results WHERE status = 'ok'")
IFS='|' read -r okrows withsim agree <<<"$simrows"
if [ "$okrows" -gt 0 ] && [ "$withsim" -eq "$okrows" ] && [ "$agree" -eq "$okrows" ]; then
    pass "--sim: all $okrows plans simulated at their analytic throughput (within 0.5 %)"
else
    fail "--sim: $simrows (ok rows, simulated, agreeing)"
fi

# 3. Bad input: exit 2 and a message naming the value.
# Feltin's --max-split and --parallel in a sweep (issue 14): the rows are plan's for the same
# instance (seed 1, trial 0): resnet50 at 96 MiB on 3 nodes takes 4 stages with --max-split 4
# --parallel (a node holds two; 3 without --parallel, plan shows); the file records both
# options, and a rerun with another --max-split is refused naming it.
fel=(--model resnet50 --mem 96MiB --nodes 3 --algo feltin --max-split 4 --parallel)
if "$EP" sweep --db "$TMP/fel.db" "${fel[@]}" --no-progress 2>"$TMP/fel.err" &&
    "$EP" plan "${fel[@]}" --format json >"$TMP/fel.json" 2>>"$TMP/fel.err"; then
    got=$(python3 -c 'import json, sqlite3, sys
k, b = sqlite3.connect(sys.argv[1]).execute("SELECT stages, bottleneck_s FROM results").fetchone()
r = json.load(open(sys.argv[2]))[0]
print(k, repr(b), k == len(r["stages"]) == 4 and b == r["bottleneck_s"])' "$TMP/fel.db" "$TMP/fel.json")
    same=${got##* }
    [ "$same" = True ] && pass "sweep feltin --max-split 4 --parallel = plan, 4 stages ($got)" ||
        fail "sweep feltin --max-split 4 --parallel = plan, 4 stages" "sweep '$got'" \
            "plan $(head -c 300 "$TMP/fel.json")"
    opts=$(q "$TMP/fel.db" "SELECT group_concat(key || '=' || value, ' ') FROM meta
                            WHERE key IN ('option:--max-split', 'option:--parallel')")
    [ "$opts" = "option:--max-split=4 option:--parallel=on" ] &&
        pass "the file records --max-split 4 and --parallel" ||
        fail "the file records --max-split 4 and --parallel" "$opts"
    expect_exit2 "a rerun with another --max-split" "--max-split" "$EP" sweep --db "$TMP/fel.db" \
        --model resnet50 --mem 96MiB --nodes 3 --algo feltin --max-split 2 --parallel --no-progress
else
    fail "sweep and plan with --max-split and --parallel" "$(head -c 400 "$TMP/fel.err")"
fi

base=(sweep --db "$TMP/bad.db" --model resnet50 --mem 64MiB --nodes 5)
expect_exit2 "bad node range" "5:x" "$EP" "${base[@]}" --nodes 5:x
expect_exit2 "reversed range" "9:3" "$EP" "${base[@]}" --nodes 9:3
expect_exit2 "bad size" "64XB" "$EP" "${base[@]}" --mem 64XB
expect_exit2 "unknown algorithm" "nosuch" "$EP" "${base[@]}" --algo seifer,nosuch
expect_exit2 "unknown variant" "foo" "$EP" "${base[@]}" --variant foo
expect_exit2 "unknown cluster" "torus" "$EP" "${base[@]}" --cluster torus
expect_exit2 "bad shard" "3/2" "$EP" "${base[@]}" --shard 3/2
expect_exit2 "unknown model" "nosuchnet" "$EP" "${base[@]}" --model resnet50,nosuchnet
expect_exit2 "a repeated axis value" "given twice" "$EP" "${base[@]}" --bw-classes 2,2
expect_exit2 "a repeated model" "given twice" "$EP" "${base[@]}" --model resnet50,resnet50
expect_exit2 "zero trials" "0" "$EP" "${base[@]}" --trials 0
expect_exit2 "missing axes" "required" "$EP" sweep --db "$TMP/bad.db"
# One error, one message: an empty element of --compute's list was reported, then reported
# again as "expected a list of files" (issue 17).
expect_exit2 "an empty profile in --compute" "--compute ',': element 1 is empty" \
    "$EP" "${base[@]}" --compute profile:,
[ "$(wc -l <"$TMP/err")" -eq 1 ] && pass "--compute profile:, says so once" ||
    fail "--compute profile:, printed $(wc -l <"$TMP/err") lines" "$(cat "$TMP/err")"
# $TMP/err is where expect_exit2 sends stderr, so edgepipe finds it just emptied: a file that is
# no edgepipe database.
expect_exit2 "merge of a non-database" "not an edgepipe" "$EP" merge "$TMP/m.db" "$TMP/err"
expect_exit2 "merge of a missing file" "nothere" "$EP" merge "$TMP/m.db" "$TMP/nothere.db"
[ ! -e "$TMP/bad.db" ] && pass "bad sweeps created no database" || fail "bad.db was created"

finish
