#!/usr/bin/env bash
# experiments/cluster/slurm on a real one-node Slurm cluster that this test starts and stops
# itself (munged, slurmctld and slurmd from Debian's slurm-wlm and munge, private key, ports and
# state in a scratch directory, every address 127.0.0.1): N array tasks and the dependent merge
# job give the rows of one single-process run, and the runs record their Slurm shards. Exits 77
# where it cannot start a cluster (not root, no Slurm). Usage: slurm_cluster.sh EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup slurm_cluster.sh "$@"
EP=$(cd "$(dirname "$EP")" && pwd)/$(basename "$EP")
here=$(cd "$(dirname "$0")/.." && pwd)

skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root to run slurmd"
for t in munged mungekey slurmctld slurmd sbatch squeue sinfo; do
    command -v "$t" >/dev/null || skip "$t not found (Debian packages slurm-wlm, munge)"
done

# A private cluster: ports from the process id so that two runs do not meet.
d=$TMP/slurm
mkdir -p "$d/state" "$d/spool"
h=$(hostname -s)
port=$((20000 + ($$ % 20000)))
cat >"$d/slurm.conf" <<CONF
ClusterName=eptest
SlurmctldHost=$h(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$d/munge.sock
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/ctld.pid
SlurmdPidFile=$d/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldLogFile=$d/ctld.log
SlurmdLogFile=$d/slurmd.log
NodeName=$h NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=eptest Nodes=$h Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$d/slurm.conf
stop_cluster() {
    local f
    for f in slurmd.pid ctld.pid munged.pid; do
        [ -s "$d/$f" ] && kill "$(cat "$d/$f")" 2>/dev/null
    done
    sleep 0.5
    for f in slurmd.pid ctld.pid munged.pid; do
        [ -s "$d/$f" ] && kill -9 "$(cat "$d/$f")" 2>/dev/null
    done
}
at_exit stop_cluster
mungekey -c -k "$d/munge.key" 2>/dev/null || skip "mungekey failed"
munged --socket="$d/munge.sock" --key-file="$d/munge.key" --pid-file="$d/munged.pid" \
    --log-file="$d/munged.log" --seed-file="$d/munged.seed" --force 2>/dev/null ||
    skip "munged did not start"
slurmctld -f "$d/slurm.conf" 2>/dev/null || skip "slurmctld did not start"
slurmd -f "$d/slurm.conf" -N "$h" 2>/dev/null || skip "slurmd did not start"
for _ in $(seq 100); do
    sinfo -h -o %t 2>/dev/null | grep -q idle && break
    sleep 0.2
done
sinfo -h -o %t 2>/dev/null | grep -q idle || skip "the node did not come up: $(tail -3 "$d/slurmd.log")"
pass "one-node Slurm cluster up"

q() { sqlite3 "$1" "$2"; }
rows() {
    q "$1" "SELECT model, mem_bytes, nodes, cluster, algo, variant, bw_classes, trial, seed,
            cluster_seed, status, stages, plan, bottleneck_s, throughput, gaps
            FROM results ORDER BY model, mem_bytes, nodes, cluster, algo, variant,
            bw_classes, trial, seed"
}
grid=(--model resnet50,mobilenetv2 --mem 64MiB,128MiB --nodes 5,10 --algo greedy,seifer,joint
      --trials 3 --seed 11)

# The array of 3 tasks and the merge, waited for.
bash "$here/experiments/cluster/slurm/submit.sh" -n 3 -o "$TMP/array" -e "$EP" -w -- \
    "${grid[@]}" >"$TMP/submit.out" 2>&1
status=$?
[ $status -eq 0 ] && pass "array of 3 tasks and the merge job ran" ||
    fail "submit.sh -w exited $status" "$(tail -5 "$TMP/submit.out")" \
        "$(cat "$TMP/array/"*.log 2>/dev/null | tail -5)"

"$EP" sweep --db "$TMP/one.db" "${grid[@]}" --no-progress 2>/dev/null
one=$(rows "$TMP/one.db")
[ -n "$one" ] && [ "$one" = "$(rows "$TMP/array/sweep.db" 2>/dev/null)" ] &&
    pass "merged shards = one run ($(q "$TMP/one.db" "SELECT count(*) FROM results") rows)" ||
    fail "the merged array differs from one run"
for i in 0 1 2; do
    s=$(q "$TMP/array/shard-$i.db" "SELECT shard FROM runs" 2>/dev/null)
    case $s in
    "$i/3 slurm"*) pass "shard $i recorded as '$s'" ;;
    *) fail "shard $i recorded as '$s'" ;;
    esac
done

# A resubmission of one task alone (--array=1) recomputes that shard: the id is the shard.
rm -f "$TMP/array/shard-1.db"
EDGEPIPE="$EP" EDGEPIPE_OUT="$TMP/array" EDGEPIPE_SHARD_COUNT=3 \
    sbatch --parsable --wait --export=ALL --array=1 --output="$TMP/array/redo.log" \
    "$here/experiments/cluster/slurm/sweep.sbatch" "${grid[@]}" >/dev/null 2>&1
[ "$(q "$TMP/array/shard-1.db" "SELECT shard FROM runs" 2>/dev/null)" = \
  "1/3 slurm SLURM_ARRAY_TASK_ID=1, count 3" ] &&
    pass "a resubmitted task (--array=1) is shard 1/3" ||
    fail "resubmitted task" "$(cat "$TMP/array/redo.log" 2>/dev/null | tail -3)"

# Bad submissions exit 2 before anything is queued.
expect_exit2 "submit without -o" "-o OUTDIR" bash "$here/experiments/cluster/slurm/submit.sh" -n 2 -- --model resnet50
expect_exit2 "submit with --db" "--db is set per task" \
    bash "$here/experiments/cluster/slurm/submit.sh" -n 2 -o "$TMP/x" -e "$EP" -- --db a.db
finish
