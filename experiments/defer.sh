#!/usr/bin/env bash
# DEFER (Parthasarathy and Krishnamachari, "DEFER: Distributed Edge Inference for Deep Neural
# Networks", COMSNETS 2022 workshops, arXiv 2201.06769) on emulated edge devices: ResNet50,
# VGG16 and VGG19 on one device and on chains of 2 to 8 nodes, real inference (every stage runs
# its layers with the XNNPACK executor; every answer is checked against the whole model), each
# node's CPU capped to a Raspberry-Pi-class share of one core, equal links. DEFER's own split
# (`defer`: equal FLOPs per stage, one stage per node) beside our planners `joint` and `optimal`
# on the full metric with the layer times `edgepipe profile` measured on this host, for every
# wire codec the emulator has. Throughput, network payload and (when the emulator has --device)
# modelled energy per node per inference against the node count; figures and summary.md with
# DEFER's published +53 % throughput and -63 % energy per node beside ours. See
# experiments/README.md.
#
# The default grid is reduced so that scripts/run.sh stays within minutes on a 2-core machine;
# FULL=1 runs the whole grid (about an hour). Every axis can be set:
#   MODELS (reduced: resnet50; full: resnet50 vgg16 vgg19), NODES (1 4 8; full 1 .. 8) and
#   ALGOS (defer optimal; full defer joint optimal) without a codec; CODECS (zfp+lz4; full: lz4
#   zstd zfp zfp+lz4, the lossless ones) at CODEC_NODES (8; full 1 2 4 6 8) with CODEC_ALGOS
#   (defer; full defer optimal); REQUESTS per run (16; full 24; ONE_REQUESTS, 8, on one device),
#   HB_TIMEOUT (3s: no fault is injected here), CODEC_PROFILES (none: joint and optimal plan
#   without knowing the codec; e.g. "lz4:1.17:148:818 zfp:0.99:22:22", tests/bench_codec's
#   ratio and MB/s, makes them cost each hop and stage with it), SHARE (each node's share of one
#   core, 0.2: eight nodes leave some of this 2-core host to the dispatcher and the links),
#   BW (every link, 100Mbit), MEM (each node's memory, 2GiB: memory does not limit), DEVICE
#   (the power model, rpi4), SEED (1).
# Environment: EDGEPIPE (the binary, default build/cli/edgepipe), DB (default results/defer.db,
# with FULL=1 results/defer-full.db), OUT (default results/defer or results/defer-full), APPEND=1
# (keep the database: add these runs to an earlier invocation's; figures and summary cover
# all). Needs root (the emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
ep=${EDGEPIPE:-build/cli/edgepipe}
suffix=$([ "${FULL:-0}" = 1 ] && echo -full || true)
db=${DB:-results/defer$suffix.db}
out=${OUT:-results/defer$suffix}
source experiments/emu_lib.sh

full=${FULL:-0}
if [ "$full" = 1 ]; then
    models=${MODELS:-resnet50 vgg16 vgg19}
    nodes=${NODES:-1 2 3 4 5 6 7 8}
    algos=${ALGOS:-defer joint optimal}
    codecs=${CODECS:-lz4 zstd zfp zfp+lz4}
    codec_nodes=${CODEC_NODES:-1 2 4 6 8}
    codec_algos=${CODEC_ALGOS:-defer optimal}
    requests=${REQUESTS:-24}
else
    models=${MODELS:-resnet50}
    nodes=${NODES:-1 4 8}
    algos=${ALGOS:-defer optimal}
    codecs=${CODECS:-zfp+lz4}
    codec_nodes=${CODEC_NODES:-8}
    codec_algos=${CODEC_ALGOS:-defer}
    requests=${REQUESTS:-16}
fi
# One device is the slowest run: fewer requests measure it as well.
one_requests=${ONE_REQUESTS:-8}
# Runs without faults: a node is declared dead after this silence. Longer than the emulator's
# default, so that a loaded host's late heartbeat is not taken for a crash.
hb_timeout=${HB_TIMEOUT:-3s}
# A stage makes its weights under its node's CPU cap before it connects: VGG's 138 M parameters
# take tens of seconds at a fifth of a core.
deploy_timeout=${DEPLOY_TIMEOUT:-180s}
share=${SHARE:-0.2}
bw=${BW:-100Mbit}
mem=${MEM:-2GiB}
device=${DEVICE:-rpi4}
seed=${SEED:-1}
energy=()
if exp_has_option --device; then energy=(--device "$device"); fi

exp_init "$db" "$out" "$out/runs.log"
echo "defer: models $models; nodes $nodes; algos $algos; codecs $codecs at nodes $codec_nodes" \
    "with $codec_algos; $requests requests; CPU share $share; links $bw;" \
    "${energy[*]:-no energy model (emu has no --device yet)}"

# run MODEL N ALGO CODEC: one emulator run (N = 1: the whole model on one device, whatever
# the algorithm, recorded as algorithm 'single').
run() {
    local model=$1 n=$2 algo=$3 codec=$4 label="$1 $4 N=$2 $3" rec=$3 req=$requests
    if [ "$n" = 1 ]; then label="$model $codec 1 device"; rec=single; req=$one_requests; fi
    exp_emu defer "$model" "$n" "$rec" "$codec" "$label" -- \
        --model "$model" --nodes "$n" --mem "$mem" --cluster uniform --bw-range "$bw:$bw" \
        --seed "$seed" --algo "$algo" --compute real --compute "profile:$out/profile-$model.txt" \
        --speed-factor "$share" --compress "$codec" --requests "$req" --probes 0 \
        --heartbeat-timeout "$hb_timeout" --deploy-timeout "$deploy_timeout" "${energy[@]}" \
        $(codec_profile "$codec" "$algo")
}
first() { echo "$1"; }
# codec_profile CODEC ALGO: the --codec-profile of CODEC_PROFILES (entries
# SPEC:RATIO:ENC_MBPS:DEC_MBPS, as tests/bench_codec measures them), for the planners that
# cost a plan with it (not defer, which splits by FLOPs alone).
codec_profile() {
    local e
    [ "$1" = none ] || [ "$2" = defer ] && return 0
    for e in ${CODEC_PROFILES:-}; do
        if [ "${e%:*:*:*}" = "$1" ]; then echo "--codec-profile $e"; fi
    done
}

for model in $models; do
    # The layer times the planners use, measured here with the executor (one thread, the
    # stages' setting); a node's share scales them (--speed-factor).
    "$ep" profile "$model" --repeat 3 --warmup 1 -o "$out/profile-$model.txt" >/dev/null
    # Every node count and algorithm without a codec; the codecs at fewer points.
    for n in $nodes; do
        for algo in $algos; do
            # One device: every planner gives the same one-stage plan; run it once.
            [ "$n" = 1 ] && [ "$algo" != "$(first $algos)" ] && continue
            run "$model" "$n" "$algo" none
        done
    done
    for codec in $codecs; do
        [ "$codec" = none ] && continue
        for n in $codec_nodes; do
            for algo in $codec_algos; do
                [ "$n" = 1 ] && [ "$algo" != "$(first $codec_algos)" ] && continue
                run "$model" "$n" "$algo" "$codec"
            done
        done
    done
done

# ---- figures ----------------------------------------------------------------------------------
# Per run: throughput, payload per answer, and (with energy) the mean over the nodes that hold a
# stage of the modelled energy per inference. The one-device run is every line's N = 1 point.
have_energy=$(exp_q "SELECT count(*) FROM sqlite_master WHERE name = 'emu_energy'")
[ "$have_energy" = 1 ] && have_energy=$(exp_q "SELECT count(*) > 0 FROM emu_energy
                                             WHERE energy_per_inference_j IS NOT NULL")
# The mean over the nodes that hold a stage (the active ones) of the modelled energy per
# inference, as SQL on a run's row r.
node_j="(SELECT avg(g.energy_per_inference_j) FROM emu_energy g WHERE g.run_id = r.run_id
         AND g.active = 1)"
series() { # MODEL CODEC ALGO COLUMN_SQL
    exp_q "SELECT r.nodes, $4 FROM exp_runs r JOIN emu_summary s ON s.run_id = r.run_id
           WHERE r.status = 'ok' AND r.model = '$1' AND r.codec = '$2'
             AND (r.algo = '$3' OR r.algo = 'single') ORDER BY r.nodes"
}
# With APPEND=1 the database holds earlier invocations too: draw everything it has.
models=$(exp_q "SELECT DISTINCT model FROM exp_runs ORDER BY model")
for model in $models; do
    whats="throughput payload"
    [ "$have_energy" = 1 ] && whats+=" energy"
    for what in $whats; do
        case $what in
        energy) col="$node_j"
            ylabel="modelled energy per inference per node (J, mean over the nodes with a stage)" ;;
        throughput) col="s.emu_throughput"; ylabel="inferences per second (emulated)" ;;
        payload) col="s.wire_bytes / s.answered / 1048576.0"
            ylabel="bytes on the wire per inference (MiB, every hop)" ;;
        esac
        name="$what-$model"
        : >"$out/$name.dat"
        plot="" i=0
        exp_q "SELECT DISTINCT codec, algo FROM exp_runs WHERE model = '$model' AND
               algo != 'single' ORDER BY codec != 'none', codec, algo" >"$out/.series"
        while read -r codec algo; do
                { echo "# $algo, --compress $codec: nodes $what"; series "$model" "$codec" "$algo" "$col"
                  printf '\n\n'; } >>"$out/$name.dat"
                plot+="${plot:+, }'$name.dat' index $i using 1:2 with linespoints lw 1.5 pt $((i + 1)) title \"$algo, $codec\""
                i=$((i + 1))
        done <"$out/.series"
        rm -f "$out/.series"
        exp_figure "$name" "$model: $what against nodes, real compute at $share of a core per node, $bw links\nthe N = 1 point is the whole model on one device (every line)" \
            "compute nodes N" "$ylabel" "$plot" "set xtics 1
set yrange [0:*]"
    done
done
exp_figures_index

# ---- summary table ----------------------------------------------------------------------------
{
    echo "# DEFER on emulated devices: summary"
    echo
    echo "Written by experiments/defer.sh; every run of $db (its grid, run by run, in runs.log):"
    exp_q "SELECT 'models ' || group_concat(DISTINCT model) FROM exp_runs"
    exp_q "SELECT 'without a codec: N = ' || group_concat(DISTINCT nodes) || '; ' ||
                  group_concat(DISTINCT algo) FROM exp_runs WHERE codec = 'none'"
    exp_q "SELECT 'with codecs ' || group_concat(DISTINCT codec) || ': N = ' ||
                  group_concat(DISTINCT nodes) || '; ' || group_concat(DISTINCT algo)
           FROM exp_runs WHERE codec != 'none'"
    echo "Requests per run: $requests ($one_requests on one device); each node $share of one core"
    echo "of this host, links $bw, $mem per node; seed $seed."
    echo "Throughput is the emulator's (answers per second after the warm-up); payload is every"
    echo "hop's bytes on the wire per answer. 'vs 1 device' compares with the whole model on one"
    echo "node of the same share and codec (without a codec where the grid has no one-device run"
    echo "with it)."
    echo
    echo "Modelled energy ($device power model, from each node's cgroup CPU time; nothing here"
    echo "measures watts): per node, the mean over the nodes that hold a stage of the energy per"
    echo "inference; total, the sum over those nodes."
    echo
    echo "| model | codec | algorithm | N | stages | inferences/s | vs 1 device | J/inference per node | vs 1 device | J/inference total | payload/inference | answers checked / mismatched |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    exp_q "SELECT r.model, r.codec, r.algo, r.nodes, s.stages, s.emu_throughput,
                  s.emu_throughput / b.emu_throughput * 100 - 100,
                  $node_j, $node_j / b.node_j * 100 - 100, s.energy_per_inference_j,
                  s.wire_bytes / s.answered / 1048576.0, s.checked, s.mismatches
           FROM exp_runs r JOIN emu_summary s ON s.run_id = r.run_id
           LEFT JOIN (SELECT r.model, r.codec, s1.emu_throughput, $node_j AS node_j
                      FROM exp_runs r JOIN emu_summary s1 ON s1.run_id = r.run_id
                      WHERE r.algo = 'single') b
             ON b.model = r.model AND b.codec = (CASE WHEN EXISTS (SELECT 1 FROM exp_runs x
                 WHERE x.algo = 'single' AND x.status = 'ok' AND x.model = r.model
                 AND x.codec = r.codec) THEN r.codec ELSE 'none' END)
           WHERE r.status = 'ok' ORDER BY r.model, r.codec, r.nodes, r.algo" |
        awk 'function j(x) { return x == "NaN" ? "-" : sprintf("%.2f", x) }
             function p(x) { return x == "NaN" ? "-" : sprintf("%+.0f %%", x) }
             { printf "| %s | %s | %s | %d | %d | %.3f | %s | %s | %s | %s | %.2f MiB | %d / %d |\n",
                      $1, $2, $3, $4, $5, $6, p($7), j($8), p($9), j($10), $11, $12, $13 }'
    echo
    echo "## Beside DEFER's claims"
    echo
    echo "DEFER (arXiv 2201.06769): ResNet50 on 8 compute nodes, +53 % throughput and -63 % energy"
    echo "per node against one device. Ours, at each model's largest N, without a codec:"
    echo
    echo "| model | N | algorithm | throughput vs 1 device (DEFER: +53 %) | J/inference per node vs 1 device (DEFER: -63 %) | J/inference, all nodes vs 1 device |"
    echo "|---|---:|---|---:|---:|---:|"
    exp_q "SELECT r.model, r.nodes, r.algo, s.emu_throughput / b.emu_throughput * 100 - 100,
                  $node_j / b.node_j * 100 - 100,
                  s.energy_per_inference_j / b.total_j * 100 - 100
           FROM exp_runs r JOIN emu_summary s ON s.run_id = r.run_id
           JOIN (SELECT r.model, s1.emu_throughput, $node_j AS node_j,
                        s1.energy_per_inference_j AS total_j
                 FROM exp_runs r JOIN emu_summary s1 ON s1.run_id = r.run_id
                 WHERE r.algo = 'single' AND r.codec = 'none') b ON b.model = r.model
           WHERE r.status = 'ok' AND r.codec = 'none' AND r.nodes = (SELECT max(nodes) FROM exp_runs
                 x WHERE x.model = r.model AND x.status = 'ok' AND x.codec = 'none')
           ORDER BY r.model, r.algo" |
        awk 'function p(x) { return x == "NaN" ? "-" : sprintf("%+.0f %%", x) }
             { printf "| %s | %d | %s | %s | %s | %s |\n", $1, $2, $3, p($4), p($5), p($6) }'
    failed=$(exp_q "SELECT count(*) FROM exp_runs WHERE status != 'ok'")
    echo
    echo "Runs not ok (excluded above, never averaged in): $failed"
    exp_q "SELECT label || ': ' || status || ' (' || coalesce(note, '') || ')' FROM exp_runs
           WHERE status != 'ok'" | sed 's/^/- /'
    echo
    exp_q "SELECT printf('Wall time of the runs: %.0f s (%d runs).', sum(wall_s), count(*))
           FROM exp_runs"
} >"$out/summary.md"
echo "wrote $out/summary.md and ${#exp_figures[@]} figures in $out"
