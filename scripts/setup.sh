#!/usr/bin/env bash
# Set up edgepipe on a Debian 12 machine: install the Debian packages that are missing (apt-get
# update runs only when something is missing, so a second run is quick), configure and build.
# Idempotent. Environment: BUILD_DIR (default build), EDGEPIPE_SANITIZE (ON/OFF, default OFF),
# JOBS (default: number of cores). `setup.sh --packages image` prints the Dockerfile's packages.
set -euo pipefail
cd "$(dirname "$0")/.."

# What building and running edgepipe needs: the stage image (Dockerfile) installs these.
image=(build-essential cmake pkg-config libigraph-dev libgsl-dev libnl-3-dev
       libnl-route-3-dev libsqlite3-dev liblz4-dev libzstd-dev libzfp-dev libyaml-dev libjansson-dev
       libonnx-dev protobuf-c-compiler libprotobuf-c-dev libxnnpack-dev libpthreadpool-dev)
# `setup.sh --packages image`: print the image's list (and kubectl's package) and stop.
if [ "${1:-}" = "--packages" ] && [ "${2:-}" = "image" ]; then
    echo "${image[*]} kubernetes-client"
    exit 0
fi
# And the tools of the tests, figures and emulator.
packages=("${image[@]}" sqlite3 gnuplot-nox iproute2 iptables
          slurm-wlm munge yamllint python3-yaml libonnx-testdata python3-onnx)
# kubectl: Debian's kubernetes-client, unless a kubectl is already installed (some images ship
# one from another package that owns the same path).
command -v kubectl >/dev/null || packages+=(kubernetes-client)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DEDGEPIPE_SANITIZE="${EDGEPIPE_SANITIZE:-OFF}" >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}"
