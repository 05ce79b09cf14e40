#!/usr/bin/env bash
# Set up (install, configure, build) and run the main job: the reproduction of the ITNAC 2022
# experiments (experiments/itnac22.sh) into results/itnac22.db, with the figures and the summary
# table in results/itnac22/. The summary is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export EDGEPIPE="${BUILD_DIR:-build}/cli/edgepipe"
bash experiments/itnac22.sh
cat results/itnac22/summary.md
