#!/usr/bin/env bash
# experiments/cluster/k8s/sweep-job.yaml, checked without a cluster: yamllint; `kubectl create
# --dry-run=client` against a discovery-only stand-in server on 127.0.0.1 (tests/k8s); field
# types and the shard count's three places (tests/k8s/check_manifest.py); and the pods' own shell
# commands run here, one per completion index, then the merge's: their union equals one
# single-process sweep. Exits 77 without yamllint, kubectl or Python's yaml.
# Usage: k8s_manifests.sh EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup k8s_manifests.sh "$@"
here=$(cd "$(dirname "$0")/.." && pwd)
manifest=$here/experiments/cluster/k8s/sweep-job.yaml
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
command -v yamllint >/dev/null || { echo "skipped: no yamllint"; exit 77; }
command -v kubectl >/dev/null || { echo "skipped: no kubectl"; exit 77; }
"$py" -c "import yaml" 2>/dev/null || { echo "skipped: no Python yaml"; exit 77; }

yamllint -s -c "$here/experiments/cluster/.yamllint" "$here"/experiments/cluster/k8s/*.yaml \
    >"$TMP/lint" 2>&1 && pass "yamllint" || fail "yamllint" "$(head -5 "$TMP/lint")"

"$py" "$here/tests/k8s/discovery_stub.py" >"$TMP/port" 2>/dev/null &
at_exit "kill $! 2>/dev/null"
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
kubectl create --dry-run=client --validate=false -s "http://127.0.0.1:$(cat "$TMP/port")" \
    -f "$manifest" -o name >"$TMP/kubectl" 2>&1
names=$(sort "$TMP/kubectl" | tr '\n' ' ')
[ "$names" = "configmap/edgepipe-sweep job.batch/edgepipe-merge job.batch/edgepipe-sweep persistentvolumeclaim/edgepipe-sweep " ] &&
    pass "kubectl create --dry-run=client: 4 objects" || fail "kubectl dry run" "$(cat "$TMP/kubectl")"

mkdir -p "$TMP/cmd" "$TMP/data"
"$py" "$here/tests/k8s/check_manifest.py" "$manifest" --commands "$TMP/cmd" >"$TMP/check" 2>&1 &&
    pass "manifest structure" || fail "manifest structure" "$(cat "$TMP/check")"
# A broken copy must fail the structural check (the check can fail).
sed 's/completions: 8/completions: "8"/' "$manifest" >"$TMP/bad.yaml"
"$py" "$here/tests/k8s/check_manifest.py" "$TMP/bad.yaml" >/dev/null 2>&1 &&
    fail "a string completions count passed the check" || pass "a string completions count is caught"

# The pods' commands, here: /data and /config are the scratch directory, a small grid.
n=$(sed -n 's/^  completions: \([0-9]*\)$/\1/p' "$manifest")
grid="--model resnet50,mobilenetv2 --mem 64MiB,128MiB --nodes 5,10 --algo greedy,joint --trials 3 --seed 3"
echo "$grid" >"$TMP/args"
mkdir -p "$TMP/bin"
ln -s "$(cd "$(dirname "$EP")" && pwd)/$(basename "$EP")" "$TMP/bin/edgepipe"
for f in edgepipe-sweep edgepipe-merge; do
    sed -e "s#/data/#$TMP/data/#g" -e "s#/config/args#$TMP/args#g" "$TMP/cmd/$f.sh" >"$TMP/$f.sh"
done
ok=1
for ((i = 0; i < n; i++)); do
    PATH=$TMP/bin:$PATH JOB_COMPLETION_INDEX=$i EDGEPIPE_SHARD_COUNT=$n sh "$TMP/edgepipe-sweep.sh" \
        2>>"$TMP/pods.log" || ok=0
done
PATH=$TMP/bin:$PATH EDGEPIPE_SHARD_COUNT=$n timeout 60 sh "$TMP/edgepipe-merge.sh" \
    2>>"$TMP/pods.log" || ok=0
[ $ok -eq 1 ] && pass "$n indexed pods and the merge ran" || fail "pods" "$(tail -5 "$TMP/pods.log")"
rows() {
    sqlite3 "$1" "SELECT model, mem_bytes, nodes, algo, variant, trial, seed, status, plan,
                  bottleneck_s FROM results ORDER BY model, mem_bytes, nodes, algo, trial"
}
# shellcheck disable=SC2086
"$EP" sweep --db "$TMP/one.db" $grid --no-progress 2>/dev/null
[ -n "$(rows "$TMP/one.db")" ] && [ "$(rows "$TMP/one.db")" = "$(rows "$TMP/data/sweep.db" 2>/dev/null)" ] &&
    pass "merged indexed shards = one run" || fail "merged shards differ from one run"
s=$(sqlite3 "$TMP/data/shard-3.db" "SELECT shard FROM runs" 2>/dev/null)
[ "$s" = "3/$n k8s JOB_COMPLETION_INDEX=3, count $n" ] && pass "pod 3 recorded '$s'" ||
    fail "pod 3 recorded '$s'"
finish
