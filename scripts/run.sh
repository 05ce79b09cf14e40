#!/usr/bin/env bash
# Set up (install, configure, build) and run the main job: the reproduction of the ITNAC 2022
# experiments (experiments/itnac22.sh) into results/itnac22.db, with the figures and the summary
# table in results/itnac22/; then, as root (the emulator needs it), reduced grids of the
# emulated systems experiments, DEFER (experiments/defer.sh, results/defer/) and SEIFER
# (experiments/seifer.sh, results/seifer/), on real inference. FULL=1 runs their whole grids
# instead (about an hour). The summaries are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export EDGEPIPE="${BUILD_DIR:-build}/cli/edgepipe"
bash experiments/itnac22.sh
if [ "$(id -u)" -eq 0 ]; then
    bash experiments/defer.sh
    bash experiments/seifer.sh
else
    echo "run.sh: not root: the emulated DEFER and SEIFER experiments are skipped" \
        "(sudo bash experiments/defer.sh; sudo bash experiments/seifer.sh)" >&2
fi
cat results/itnac22/summary.md
if [ "$(id -u)" -eq 0 ]; then
    cat results/defer/summary.md results/seifer/summary.md
fi
