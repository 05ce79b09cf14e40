#!/usr/bin/env bash
# Set up and run the benchmarks; each prints its own figures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
"${BUILD_DIR:-build}"/tests/bench_zoo
"${BUILD_DIR:-build}"/tests/bench_onnx
"${BUILD_DIR:-build}"/tests/bench_exec
"${BUILD_DIR:-build}"/tests/bench_algorithms
"${BUILD_DIR:-build}"/tests/bench_optimal
"${BUILD_DIR:-build}"/tests/bench_feltin
"${BUILD_DIR:-build}"/tests/bench_sim
"${BUILD_DIR:-build}"/tests/bench_codec
"${BUILD_DIR:-build}"/tests/bench_emu || [ $? -eq 77 ]
bash tests/bench_sweep.sh "${BUILD_DIR:-build}"/cli/edgepipe
