#!/usr/bin/env bash
# SEIFER (Parthasarathy and Krishnamachari, "SEIFER: Scalable Edge Inference for Deep Neural
# Networks", NeurIPS 2022 DMML workshop, arXiv 2210.12218) on emulated edge devices, with real
# inference: (1) throughput against the node count, SEIFER's plan (memory-limited nodes, its
# partition and K-path placement) beside `joint` and the whole model on one device, for the
# paper's "+200 % with sufficient nodes"; (2) one run with a node killed mid-run and a new model
# rolled out mid-run: throughput over time, the time to detect and recover, the roll-out time,
# requests lost (SEIFER claims fault tolerance: 0) and answers that differ from the whole
# model's output (0: every answer is checked against the model that answered it). Figures and
# summary.md in OUT. See experiments/README.md.
#
# The default grid is reduced so that scripts/run.sh stays within minutes on a 2-core machine;
# FULL=1 runs the whole one. Every axis can be set:
#   MODEL (resnet50), NODES (1 5 8; full 1 .. 8: fewer than 5 nodes of 64 MiB cannot hold
#   ResNet50's pieces, which the table counts as no plan), ALGOS (seifer; full seifer joint
#   optimal), MEM (64MiB per node: memory decides SEIFER's partition; the one-device run
#   gets BIG_MEM, 2GiB), REQUESTS (16; full 32), SHARE (0.2 of one core per node), BW (100Mbit),
#   TIMELINE_NODES (8), TIMELINE_REQUESTS (30), KILL (the node of stage 2: stage2), KILL_AT (4s),
#   UPDATE ("mobilenetv2 at 10s"), ONE_REQUESTS (8, on one device), HB_TIMEOUT (3s in the runs
#   without a fault; the timeline run keeps the emulator's 500 ms),
#   SEED (1).
# Environment: EDGEPIPE (the binary, default build/cli/edgepipe), DB (default results/seifer.db,
# with FULL=1 results/seifer-full.db), OUT (default results/seifer or results/seifer-full), APPEND=1
# (keep the database: add these runs to an earlier invocation's; figures and summary cover
# all). Needs root (the emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
ep=${EDGEPIPE:-build/cli/edgepipe}
suffix=$([ "${FULL:-0}" = 1 ] && echo -full || true)
db=${DB:-results/seifer$suffix.db}
out=${OUT:-results/seifer$suffix}
source experiments/emu_lib.sh

full=${FULL:-0}
if [ "$full" = 1 ]; then
    nodes=${NODES:-1 2 3 4 5 6 7 8}
    algos=${ALGOS:-seifer joint optimal}
    requests=${REQUESTS:-32}
else
    nodes=${NODES:-1 5 8}
    algos=${ALGOS:-seifer}
    requests=${REQUESTS:-16}
fi
model=${MODEL:-resnet50}
mem=${MEM:-64MiB}
big_mem=${BIG_MEM:-2GiB}
share=${SHARE:-0.2}
bw=${BW:-100Mbit}
seed=${SEED:-1}
tl_nodes=${TIMELINE_NODES:-8}
tl_requests=${TIMELINE_REQUESTS:-30}
one_requests=${ONE_REQUESTS:-8}
hb_timeout=${HB_TIMEOUT:-3s}
kill=${KILL:-stage2}
kill_at=${KILL_AT:-4s}
update=${UPDATE:-mobilenetv2 at 10s}
common=(--cluster uniform --bw-range "$bw:$bw" --seed "$seed" --compute real
        --speed-factor "$share" --probes 0 --deploy-timeout "${DEPLOY_TIMEOUT:-180s}")

exp_init "$db" "$out" "$out/runs.log"
echo "seifer: $model; nodes $nodes; algos $algos; $requests requests; $mem per node;" \
    "CPU share $share; links $bw; timeline on $tl_nodes nodes: kill $kill at $kill_at," \
    "update $update"
"$ep" profile "$model" --repeat 3 --warmup 1 -o "$out/profile-$model.txt" >/dev/null

# ---- (1) throughput against the node count ------------------------------------------------
first_algo=$(set -- $algos; echo "$1")
for n in $nodes; do
    for algo in $algos; do
        if [ "$n" = 1 ]; then
            [ "$algo" = "$first_algo" ] || continue
            exp_emu scale "$model" 1 single none "$model 1 device ($big_mem)" -- \
                --model "$model" --nodes 1 --mem "$big_mem" --algo "$algo" \
                --compute "profile:$out/profile-$model.txt" --requests "$one_requests" \
                --heartbeat-timeout "$hb_timeout" "${common[@]}"
            continue
        fi
        exp_emu scale "$model" "$n" "$algo" none "$model N=$n $algo" -- \
            --model "$model" --nodes "$n" --mem "$mem" --algo "$algo" \
            --compute "profile:$out/profile-$model.txt" --requests "$requests" \
            --heartbeat-timeout "$hb_timeout" "${common[@]}"
    done
done

# ---- (2) a node killed and a model rolled out, mid-run ----------------------------------------
# Planned without the profile: the profile measures one model, and the update brings another.
exp_emu timeline "$model" "$tl_nodes" seifer none "$model N=$tl_nodes kill + update" -- \
    --model "$model" --nodes "$tl_nodes" --mem "$mem" --algo seifer \
    --requests "$tl_requests" --bin 2s --fault "kill $kill at $kill_at" --update "$update" \
    "${common[@]}"

# ---- figures ----------------------------------------------------------------------------------
: >"$out/throughput-nodes.dat"
plot="" i=0
for algo in $(exp_q "SELECT DISTINCT algo FROM exp_runs WHERE experiment = 'scale' AND
                    algo != 'single' ORDER BY algo"); do
    { echo "# $algo: nodes, emulated inferences/s, analytic inferences/s (the plan's cost)"
      exp_q "SELECT r.nodes, s.emu_throughput, s.analytic_throughput FROM exp_runs r
             JOIN emu_summary s ON s.run_id = r.run_id WHERE r.experiment = 'scale'
             AND r.status = 'ok' AND (r.algo = '$algo' OR r.algo = 'single') ORDER BY r.nodes"
      printf '\n\n'; } >>"$out/throughput-nodes.dat"
    plot+="${plot:+, }'throughput-nodes.dat' index $i using 1:2 with linespoints lw 1.5 pt $((i + 1)) lc $((i + 1)) title \"$algo (emulated)\""
    plot+=", 'throughput-nodes.dat' index $i using 1:3 with lines dt 2 lc $((i + 1)) title \"$algo (analytic)\""
    i=$((i + 1))
done
exp_figure throughput-nodes "$model: throughput against nodes, real compute at $share of a core per node, $mem per node, $bw links\nN = 1: the whole model on one device of $big_mem (every line); runs without a plan are left out" \
    "nodes N" "inferences per second" "$plot" "set xtics 1
set yrange [0:*]"

tl_run=$(exp_q "SELECT run_id FROM exp_runs WHERE experiment = 'timeline' AND run_id IS NOT NULL
                ORDER BY seq DESC LIMIT 1")
if [ -n "$tl_run" ]; then
    { echo "# bin start (s), answers per second in the bin"
      # the last bin once more at its end, so that the steps close it
      exp_q "SELECT start_s, throughput FROM emu_series WHERE run_id = '$tl_run' ORDER BY bin" |
          awk '{ print; if (NR == 2) w = $1 - x; x = $1; y = $2 } END { if (w > 0) print x + w, y }'
    } >"$out/timeline.dat"
    marks=$(exp_q "SELECT 'set arrow from ' || at_s || ', graph 0 to ' || at_s ||
                          ', graph 1 nohead dt 2 lc rgb \"red\"' || char(10) ||
                          'set label \"' || spec || '\" at ' || at_s || ', graph 0.95 offset 0.5,0 tc rgb \"red\"' || char(10) ||
                          'set arrow from ' || live_s || ', graph 0 to ' || live_s ||
                          ', graph 1 nohead dt 3 lc rgb \"dark-green\"'
                   FROM emu_faults WHERE run_id = '$tl_run' AND live_s IS NOT NULL
                   UNION ALL
                   SELECT 'set arrow from ' || at_s || ', graph 0 to ' || at_s ||
                          ', graph 1 nohead dt 2 lc rgb \"blue\"' || char(10) ||
                          'set label \"update to ' || model || '\" at ' || at_s ||
                          ', graph 0.85 right offset -0.5,0 tc rgb \"blue\"'
                   FROM emu_updates WHERE run_id = '$tl_run'" | tr -d '\r')
    exp_figure timeline "$model on $tl_nodes nodes (seifer): throughput over time, a node killed and a model rolled out\ndashed: the fault (red) and the update (blue); dotted green: the re-planned deployment live" \
        "time from the first request (s)" "answers per second (2 s bins)" \
        "'timeline.dat' using 1:2 with steps lw 1.5 title \"answers per second\"" \
        "set yrange [0:*]
$marks"
fi
exp_figures_index

# ---- summary table ----------------------------------------------------------------------------
{
    echo "# SEIFER on emulated devices: summary"
    echo
    echo "Written by experiments/seifer.sh; every run of $db (run by run in runs.log):"
    exp_q "SELECT '$model; N = ' || group_concat(DISTINCT nodes) || '; ' || group_concat(DISTINCT algo)
           FROM exp_runs WHERE experiment = 'scale'"
    echo "$requests requests per run ($one_requests on one device); $mem per node (one device:"
    echo "$big_mem); each node $share of one core of this host; links $bw; seed $seed."
    echo
    echo "## Throughput against nodes"
    echo
    echo "| algorithm | N | stages | inferences/s (emulated) | analytic | vs 1 device | answers checked / mismatched |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    exp_q "SELECT r.algo, r.nodes, s.stages, s.emu_throughput, s.analytic_throughput,
                  s.emu_throughput / (SELECT s1.emu_throughput FROM exp_runs r1 JOIN emu_summary s1
                      ON s1.run_id = r1.run_id WHERE r1.algo = 'single') * 100 - 100,
                  s.checked, s.mismatches
           FROM exp_runs r JOIN emu_summary s ON s.run_id = r.run_id
           WHERE r.experiment = 'scale' AND r.status = 'ok' ORDER BY r.nodes, r.algo" |
        awk '{ printf "| %s | %d | %d | %.3f | %.3f | %+.0f %% | %d / %d |\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
    echo
    echo "Runs without a plan or not ok (left out above): $(exp_q "SELECT count(*) FROM exp_runs
        WHERE experiment = 'scale' AND status != 'ok'")"
    exp_q "SELECT label || ': ' || note FROM exp_runs WHERE experiment = 'scale' AND status != 'ok'" |
        sed 's/^/- /'
    echo
    echo "## A node killed and a model rolled out mid-run"
    echo
    if [ -n "$tl_run" ]; then
        echo "| event | at (s) | detected after (s) | recovery / roll-out (s) | requests sent again |"
        echo "|---|---:|---:|---:|---:|"
        exp_q "SELECT replace(spec, ' ', '_'), at_s, detection_s, recovery_s, resent FROM emu_faults
               WHERE run_id = '$tl_run'" |
            awk '{ gsub("_", " ", $1); printf "| %s | %.3f | %.3f | %.3f | %d |\n", $1, $2, $3, $4, $5 }'
        exp_q "SELECT model, at_s, rollout_s FROM emu_updates WHERE run_id = '$tl_run'" |
            awk '{ printf "| update to %s | %.3f | - | %.3f | - |\n", $1, $2, $3 }'
        echo
        exp_q "SELECT issued, answered, incomplete, mismatches, checked, duplicates, emu_throughput
               FROM emu_summary WHERE run_id = '$tl_run'" |
            awk '{ printf "Requests: %d issued, %d answered, %d lost (never answered); answers checked against the whole model: %d, mismatched: %d; duplicates discarded: %d; mean throughput %.3f /s.\n", $1, $2, $3, $5, $4, $6, $7 }'
    else
        exp_q "SELECT label || ': ' || status || ' ' || note FROM exp_runs WHERE experiment = 'timeline'"
    fi
    echo
    exp_q "SELECT printf('Wall time of the runs: %.0f s (%d runs).', sum(wall_s), count(*))
           FROM exp_runs"
} >"$out/summary.md"
echo "wrote $out/summary.md and ${#exp_figures[@]} figures in $out"
