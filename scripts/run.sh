#!/usr/bin/env bash
# Set up (install, configure, build) and run the main job. Until the sweep lands, the main job is
# the zoo's profile table: every model with its layers, parameters, FLOPs and cut points.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p results
"${BUILD_DIR:-build}"/cli/edgepipe models | tee results/zoo.txt
