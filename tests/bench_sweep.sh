#!/usr/bin/env bash
# Benchmark: configurations per second for the full published grid (experiments/itnac22.sh's
# axes, 96,000 rows), with 1 and with all worker processes, and with the simulator on a smaller
# grid. Prints figures; never fails on speed. Usage: bench_sweep.sh EDGEPIPE
set -euo pipefail
ep=$1
dir=$(mktemp -d /tmp/edgepipe-bench-sweep-XXXXXX)
trap 'rm -rf "$dir"' EXIT
grid=(--model resnet50,inceptionresnetv2,efficientnetb1,mobilenetv2
      --mem 64MiB,128MiB,256MiB,512MiB --nodes 5,10,15,20,50 --bw-classes 2:20:3
      --algo all --variant published,corrected --trials 50 --seed 2022 --no-progress)
run() { # label, then sweep arguments
    local label=$1 t0 t1 rows
    shift
    rm -f "$dir"/b.db*
    t0=$(date +%s.%N)
    "$ep" sweep --db "$dir/b.db" "$@" 2>/dev/null
    t1=$(date +%s.%N)
    rows=$(sqlite3 "$dir/b.db" "SELECT count(*) FROM results")
    awk -v l="$label" -v r="$rows" -v a="$t0" -v b="$t1" \
        'BEGIN { printf "%-34s %7d rows %8.2f s %9.0f rows/s\n", l, r, b - a, r / (b - a) }'
}
jobs=$(nproc)
run "full grid, -j 1" "${grid[@]}" -j 1
run "full grid, -j $jobs" "${grid[@]}" -j "$jobs"
run "full grid without optimal, -j $jobs" "${grid[@]/all/random,greedy,seifer,joint,defer}" -j "$jobs"
run "2 models, 10 trials, --sim, -j $jobs" --model resnet50,mobilenetv2 --mem 64MiB,256MiB \
    --nodes 5,10,20 --algo all --variant corrected --trials 10 --sim --no-progress -j "$jobs"
