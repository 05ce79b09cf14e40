#!/usr/bin/env bash
# Set up edgepipe on a Debian 12 machine: install the Debian packages that are missing (apt-get
# update runs only when something is missing, so a second run is quick), configure and build.
# Idempotent. Environment: BUILD_DIR (default build), EDGEPIPE_SANITIZE (ON/OFF, default OFF),
# JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libigraph-dev libgsl-dev libnl-3-dev
          libnl-route-3-dev libsqlite3-dev sqlite3 gnuplot-nox iproute2 iptables
          liblz4-dev libzstd-dev libzfp-dev
          slurm-wlm munge yamllint python3-yaml libonnx-dev protobuf-c-compiler
          libprotobuf-c-dev libonnx-testdata python3-onnx
          libxnnpack-dev libpthreadpool-dev)
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
