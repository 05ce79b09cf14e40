#!/usr/bin/env bash
# Reproduce the experiments of Parthasarathy and Krishnamachari, ITNAC 2022 (and the SEIFER
# workshop paper): the published grid, every algorithm, both variants, then the figures and the
# summary table. `optimal` proves the exact optimum of every instance at every N (its proof is
# in each row's reason), so the gap figures and the summary compare every algorithm with it at
# N = 5 to 50. See experiments/README.md for what each figure reproduces.
#
# Environment: EDGEPIPE (the binary, default build/cli/edgepipe), DB (default
# results/itnac22.db), OUT (default results/itnac22), JOBS (default: number of cores),
# TRIALS (default 50, as published), SEED (default 2022).
set -euo pipefail
cd "$(dirname "$0")/.."
ep=${EDGEPIPE:-build/cli/edgepipe}
db=${DB:-results/itnac22.db}
out=${OUT:-results/itnac22}
mkdir -p "$(dirname "$db")" "$out"

# The published grid: 4 models x 4 capacities x 5 node counts x 7 class counts, 50 trials.
"$ep" sweep --db "$db" \
    --model resnet50,inceptionresnetv2,efficientnetb1,mobilenetv2 \
    --mem 64MiB,128MiB,256MiB,512MiB \
    --nodes 5,10,15,20,50 \
    --bw-classes 2:20:3 \
    --algo all \
    --variant published,corrected \
    --trials "${TRIALS:-50}" --seed "${SEED:-2022}" \
    -j "${JOBS:-$(nproc)}"

"$ep" plot --db "$db" --out "$out"
