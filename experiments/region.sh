#!/usr/bin/env bash
# Feltin et al.'s acceleration region (IEEE Access 2023) for three zoo models on 4 identical
# nodes: where partitioning beats the best single device, and the speed-up, over 1 Mbit/s ..
# 10 Gbit/s and 1 GFLOP/s .. 1 TFLOP/s (21 x 21 points, feltin corrected, at most 5 cuts), with
# the closed-form boundary of experiments/region.h drawn over each heat map.
#
# Environment: EDGEPIPE (the binary, default build/cli/edgepipe), OUT (default results/region).
set -euo pipefail
cd "$(dirname "$0")/.."
ep=${EDGEPIPE:-build/cli/edgepipe}
out=${OUT:-results/region}
mkdir -p "$out"
for model in resnet50 mobilenetv2 inceptionv3; do
    "$ep" region --model "$model" --nodes 4 --out "$out" | sed -n 1,4p
done
