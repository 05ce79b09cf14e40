#!/usr/bin/env bash
# Run an edgepipe sweep as a Slurm job array plus a dependent merge job.
#
#   bash experiments/cluster/slurm/submit.sh -n SHARDS -o OUTDIR [-e EDGEPIPE] [-w]
#        [-s "SBATCH OPTIONS"] -- SWEEP OPTIONS...
#
# SWEEP OPTIONS are those of `edgepipe sweep` without --db and --shard (each array task writes
# OUTDIR/shard-I.db; the merge job writes OUTDIR/sweep.db). OUTDIR must be on a filesystem that
# every node sees, as must EDGEPIPE (default: the edgepipe on PATH). -s passes extra options to
# both sbatch calls (partition, account, time limit). -w waits until the merge job has ended and
# exits with its status. Prints the two job ids.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
shards= out= ep=$(command -v edgepipe || true) wait= extra=
while getopts "n:o:e:s:wh" opt; do
    case $opt in
    n) shards=$OPTARG ;;
    o) out=$OPTARG ;;
    e) ep=$OPTARG ;;
    s) extra=$OPTARG ;;
    w) wait=1 ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || { echo "submit: -n SHARDS: expected a positive integer, got '$shards'" >&2; exit 2; }
[ -n "$out" ] || { echo "submit: -o OUTDIR is required" >&2; exit 2; }
[ -n "$ep" ] && [ -x "$ep" ] || { echo "submit: edgepipe binary '$ep' not found (use -e)" >&2; exit 2; }
for a in "$@"; do
    case $a in
    --db|--db=*|--shard|--shard=*|--shard-count|--shard-count=*)
        echo "submit: $a is set per task by the job array; leave it out" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
ep=$(cd "$(dirname "$ep")" && pwd)/$(basename "$ep")
export EDGEPIPE=$ep EDGEPIPE_OUT=$out EDGEPIPE_SHARD_COUNT=$shards
# shellcheck disable=SC2086  # $extra is a list of sbatch options
array=$(sbatch --parsable $extra --export=ALL --array="0-$((shards - 1))" \
    --output="$out/shard-%a.log" "$here/sweep.sbatch" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable $extra --export=ALL --dependency="afterok:$array" \
    --kill-on-invalid-dep=yes --output="$out/merge.log" ${wait:+--wait} "$here/merge.sbatch")
echo "array job $array, merge job ${merge%%;*}"
