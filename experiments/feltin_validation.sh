#!/usr/bin/env bash
# Feltin et al.'s throughput model (IEEE Access 2023) against the emulator with real inference.
# For each model, node count and regime: plan with `feltin` on Feltin's metric (--metric feltin:
# the largest of every node's compute and every directed inter-node link's transfer time), the
# compute from the layer profile `edgepipe profile` measured on this host and each node's speed
# factor (--force: its branch and bound runs past 2e6 prefixes, a fraction of a second here);
# then run that plan in the emulator (`emu --compute real`: every stage runs its layers
# with the executor in a cgroup capped at its speed factor of one core, links shaped with HTB)
# and compare the predicted throughput 1/T with the measured one.
#
# Regimes (each node count N, each model):
#   compute: every inter-node link 1 Gbit/s; speed factors alternate s and s/2 (s = min(0.6,
#            1.5/N), so that the busy stages together ask for at most about 1.5 of this host's
#            2 cores): compute binds;
#   slow:    links drawn uniform in [SLOW_BW] (default 2:8 Mbit/s), every node at s;
#   mid:     links in [MID_BW] (default 5:20 Mbit/s), every node at s.
# In the last two a link binds in some plans and compute in others (the table says which: the
# planner trades fewer cuts for slower links).
# The dispatcher's links are 1 Gbit/s (--dispatcher-bw): Feltin's model has no dispatcher, so
# its input and output hops are kept from binding (they are predicted anyway, column
# pred_full_tput: our full metric, the dispatcher hops included, on the same plan).
#
# Axes: MODELS (mobilenetv2 mobilenet efficientnetb0), NODES (2 4 6), REGIMES (compute slow
# mid), SECONDS of requests per run at the predicted rate (8; at least 24 requests, at most
# 400), PROFILE_REPEAT (20), SEED (1). Environment: EDGEPIPE (the
# binary, default build/cli/edgepipe), OUT (default results/feltin_validation). Writes
# OUT/table.csv (one row per run), OUT/summary.md (the error distribution and every run beyond
# 10 %), OUT/figure.{png,svg} (measured against predicted, with its .dat and .gp), the profiles,
# the cluster files and runs.log. Needs root (the emulator), python3 and gnuplot.
# Run it on a quiet host: the profile and the emulator share its cores with everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
ep=${EDGEPIPE:-build/cli/edgepipe}
out=${OUT:-results/feltin_validation}
models=${MODELS:-mobilenetv2 mobilenet efficientnetb0}
nodes=${NODES:-2 4 6}
regimes=${REGIMES:-compute slow mid}
seconds=${SECONDS_PER_RUN:-8}
repeat=${PROFILE_REPEAT:-20}
seed=${SEED:-1}
slow_bw=${SLOW_BW:-2:8}
mid_bw=${MID_BW:-5:20}
state=$(mktemp -d /tmp/feltin_validation.XXXXXX)
trap 'rm -rf "$state"' EXIT

if [ "$(id -u)" != 0 ]; then
    echo "feltin_validation.sh: the emulator needs root" >&2
    exit 1
fi
mkdir -p "$out/clusters" "$out/profiles"
: >"$out/runs.log"
rows=$out/.rows.jsonl
: >"$rows"

# cluster N LO:HI SEED: an N x N CSV of bandwidths in Mbit/s, each ordered pair uniform in
# [LO, HI] (awk's generator, seeded), 0 on the diagonal.
cluster() {
    awk -v n="$1" -v r="$2" -v s="$3" 'BEGIN {
        split(r, b, ":"); srand(s)
        for (i = 0; i < n; i++) {
            line = ""
            for (j = 0; j < n; j++)
                line = line (j ? "," : "") (i == j ? 0 : sprintf("%.3f", b[1] + (b[2] - b[1]) * rand()))
            print line
        }
    }'
}

# factors N S ALT: N speed factors, S for every node or alternating S and S/2.
factors() {
    awk -v n="$1" -v s="$2" -v alt="$3" 'BEGIN {
        for (i = 0; i < n; i++) printf "%s%.4g", (i ? "," : ""), (alt && i % 2 ? s / 2 : s)
        print ""
    }'
}

for model in $models; do
    prof=$out/profiles/$model.txt
    "$ep" profile "$model" --repeat "$repeat" --warmup 3 -o "$prof" | tail -n 1
    for n in $nodes; do
        s=$(awk -v n="$n" 'BEGIN { x = 1.5 / n; printf "%.4g", x < 0.6 ? x : 0.6 }')
        for regime in $regimes; do
            case $regime in
            compute) bw=1000:1000 alt=1 ;;
            slow) bw=$slow_bw alt=0 ;;
            mid) bw=$mid_bw alt=0 ;;
            *) echo "feltin_validation.sh: unknown regime '$regime'" >&2; exit 2 ;;
            esac
            csv=$out/clusters/$regime-n$n.csv
            cluster "$n" "$bw" "$((seed * 1000 + n))" >"$csv"
            sf=$(factors "$n" "$s" "$alt")
            inst=(--model "$model" --nodes "$n" --mem 1GiB --cluster file --cluster-file "$csv"
                --dispatcher-bw 1Gbit --speed-factor "$sf" --compute "profile:$prof"
                --metric feltin --algo feltin --force --seed "$seed")
            label="$model N=$n $regime"
            "$ep" plan "${inst[@]}" --format json --instance-out "$state/inst.json" \
                >"$state/plan.json"
            requests=$(python3 -c 'import json, sys
t = json.load(open(sys.argv[1]))[0]["throughput"]
print(max(24, min(400, round(float(sys.argv[2]) * t))))' "$state/plan.json" "$seconds")
            load=$(cut -d ' ' -f 1 /proc/loadavg)
            echo "== $label: edgepipe emu ${inst[*]}" >>"$out/runs.log"
            t0=$(date +%s.%N)
            # One emulator at a time on this host (the emulator tests' lock).
            if flock /run/lock/edgepipe-emu-tests.lock \
                "$ep" emu "${inst[@]}" --compute real --requests "$requests" --probes 0 \
                --heartbeat-timeout 3s --deploy-timeout 60s --state-dir "$state/emu" \
                --format json >"$state/emu.json" 2>>"$out/runs.log"; then
                rc=0
            else
                rc=$?
            fi
            t1=$(date +%s.%N)
            python3 - "$state/plan.json" "$state/inst.json" "$state/emu.json" "$rc" \
                "$model" "$n" "$regime" "$sf" "$bw" "$load" "$requests" >>"$rows" <<'EOF'
import json, sys
plan_f, inst_f, emu_f, rc, model, n, regime, sf, bw, load, requests = sys.argv[1:]
plan = json.load(open(plan_f))[0]
inst = json.load(open(inst_f))
cuts, bwm, d = inst["cuts"], inst["bandwidth_bps"], inst["dispatcher"]
factor = [x["speed_factor"] for x in inst["nodes"]]
st = plan["stages"]
t_feltin = plan["bottleneck_s"]
# Our full metric on the same plan: Feltin's terms plus the two dispatcher hops.
t_in = cuts[st[0]["first_cut"]]["transfer_bits"] / bwm[d][st[0]["node"]]
t_out = st[-1]["transfer_bits"] / bwm[st[-1]["node"]][d]
t_full = max(t_feltin, t_in, t_out)
# The cores the plan asks of this host at the predicted rate: every stage's work at full
# speed (its compute time x its node's factor) per inference, times the inferences per second.
work = sum(x["compute_s"] * factor[x["node"]] for x in st)
row = dict(model=model, nodes=int(n), regime=regime, speed_factors=sf, bw_mbit=bw,
           stages=len(st), plan=" ".join(f'{x["first_cut"]}..{x["end_cut"]}@{x["node"]}'
                                        for x in st),
           binding=plan["bottleneck"], pred_feltin_tput=1 / t_feltin, pred_full_tput=1 / t_full,
           cpu_demand_cores=work / t_feltin, load1=float(load), requests=int(requests),
           status="error " + rc)
try:
    e = json.load(open(emu_f))
    row.update(emu_tput=e["throughput"], sim_tput=e["sim_throughput"],
               analytic_emu=1 / e["analytic_bottleneck_s"], answered=e["answered"],
               mismatches=e["mismatches"], emu_plan=e["plan"])
    same = [(x["node"], x["first_cut"], x["end_cut"]) for x in e["plan"]] == \
        [(x["node"], x["first_cut"], x["end_cut"]) for x in st]
    row["status"] = "ok" if rc == "0" and same else ("other plan" if not same else row["status"])
    row["rel_err_feltin"] = e["throughput"] / row["pred_feltin_tput"] - 1
    row["rel_err_full"] = e["throughput"] / row["pred_full_tput"] - 1
except (OSError, ValueError, KeyError):
    pass
print(json.dumps(row))
EOF
            tail -n 1 "$rows" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
print("%-34s %-10s %d stages, %-7s binds: predicted %7.2f /s, measured %7s /s, %s" % (
    sys.argv[1], r["status"], r["stages"], r["binding"], r["pred_feltin_tput"],
    "%.2f" % r["emu_tput"] if "emu_tput" in r else "-",
    "%+.1f %%" % (100 * r["rel_err_feltin"]) if "rel_err_feltin" in r else ""))' "$label" |
                awk -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')" \
                    '{ print $0 " (" t " s)" }'
        done
    done
done

# ---- table, summary, figure ------------------------------------------------------------------
python3 - "$rows" "$out" "$seconds" "$repeat" "$seed" <<'EOF'
import json, sys
rows_f, out, seconds, repeat, seed = sys.argv[1:]
rows = [json.loads(l) for l in open(rows_f)]
cols = ["model", "nodes", "regime", "speed_factors", "bw_mbit", "stages", "plan", "binding",
        "pred_feltin_tput", "pred_full_tput", "sim_tput", "emu_tput", "rel_err_feltin",
        "rel_err_full", "cpu_demand_cores", "load1", "requests", "answered", "mismatches",
        "status"]
with open(f"{out}/table.csv", "w") as f:
    f.write(",".join(cols) + "\n")
    for r in rows:
        f.write(",".join(f"{r[c]:.6g}" if isinstance(r.get(c), float) else
                         f'"{r[c]}"' if isinstance(r.get(c), str) and "," in r[c] else
                         str(r.get(c, "")) for c in cols) + "\n")
ok = [r for r in rows if r["status"] == "ok"]


def q(v, p):  # nearest-rank percentile of a sorted list
    return v[min(len(v) - 1, max(0, -(-len(v) * p // 100) - 1))] if v else float("nan")


def dist(key, sel):
    v = sorted(abs(r[key]) for r in sel)
    return len(v), q(v, 50), q(v, 90), v[-1] if v else float("nan")


with open(f"{out}/summary.md", "w") as f:
    f.write("# Feltin's throughput model against the emulator: summary\n\n")
    f.write("Written by experiments/feltin_validation.sh: feltin plans on Feltin's metric with the "
            "layer profile measured on this host (profile --repeat %s), run by `emu --compute "
            "real` (requests for about %s s at the predicted rate, seed %s); predicted throughput 1/T "
            "against the measured one (answers per second after the warm-up tenth). Relative "
            "error = measured / predicted - 1.\n\n" % (repeat, seconds, seed))
    f.write("| selection | runs | median abs. error | p90 | max |\n|---|---:|---:|---:|---:|\n")
    for name, key, sel in (("all runs, Feltin's metric", "rel_err_feltin", ok),
                           ("all runs, full metric (dispatcher hops too)", "rel_err_full", ok),
                           ("compute binds (Feltin)", "rel_err_feltin",
                            [r for r in ok if r["binding"] == "compute"]),
                           ("a link binds (Feltin)", "rel_err_feltin",
                            [r for r in ok if r["binding"] != "compute"])):
        n, m, p90, mx = dist(key, sel)
        f.write(f"| {name} | {n} | {100 * m:.1f} % | {100 * p90:.1f} % | {100 * mx:.1f} % |\n")
    bad = [r for r in rows if r["status"] != "ok"]
    if bad:
        f.write("\nRuns without a measurement (status): " + "; ".join(
            f'{r["model"]} N={r["nodes"]} {r["regime"]} ({r["status"]})' for r in bad) + "\n")
    f.write("\n## Every run\n\n| model | N | regime | stages | binds | predicted /s | simulated /s "
            "| measured /s | error | cores asked | load |\n|---|---:|---|---:|---|---:|---:|---:|"
            "---:|---:|---:|\n")
    for r in rows:
        f.write("| %s | %d | %s | %d | %s | %.2f | %s | %s | %s | %.2f | %.1f |\n" % (
            r["model"], r["nodes"], r["regime"], r["stages"], r["binding"],
            r["pred_feltin_tput"], "%.2f" % r["sim_tput"] if "sim_tput" in r else "-",
            "%.2f" % r["emu_tput"] if "emu_tput" in r else "-",
            "%+.1f %%" % (100 * r["rel_err_feltin"]) if "rel_err_feltin" in r else r["status"],
            r["cpu_demand_cores"], r["load1"]))
    beyond = [r for r in ok if abs(r["rel_err_feltin"]) > 0.10]
    f.write(f"\n{len(beyond)} of {len(ok)} runs beyond 10 % (explained in experiments/README.md, "
            "section 'Feltin's model against the emulator').\n")
with open(f"{out}/figure.dat", "w") as f:
    for i, regime in enumerate(("compute", "slow", "mid")):
        f.write(f"# {regime}: predicted measured model nodes\n")
        for r in ok:
            if r["regime"] == regime:
                f.write(f'{r["pred_feltin_tput"]:.6g} {r["emu_tput"]:.6g} {r["model"]} '
                        f'{r["nodes"]}\n')
        f.write("\n\n")
EOF
cat >"$out/figure.gp" <<'EOF'
# feltin_validation.sh: measured against predicted throughput, one point per run
# data: figure.dat; re-plot from this directory with: gnuplot figure.gp
reset session
set encoding utf8
set grid
set title "Feltin's model against the emulator (real inference, cgroup-capped nodes)" noenhanced
set xlabel "predicted throughput, 1/T on Feltin's metric (inferences/s)"
set ylabel "measured throughput, edgepipe emu --compute real (inferences/s)"
set logscale xy
set key top left noenhanced
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 800,700 noenhanced font "Sans,10"
} else {
	set terminal png size 800,700 noenhanced
}
set output 'figure.png'
plot x with lines lc rgb "black" title "measured = predicted", \
     1.1 * x with lines dt 2 lc rgb "gray" title "+/- 10 %", 0.9 * x with lines dt 2 lc rgb "gray" notitle, \
     'figure.dat' index 0 using 1:2 with points pt 7 ps 1.2 title "compute binds (1 Gbit/s links)", \
     'figure.dat' index 1 using 1:2 with points pt 5 ps 1.2 title "links 2-8 Mbit/s", \
     'figure.dat' index 2 using 1:2 with points pt 9 ps 1.4 title "links 5-20 Mbit/s"
set terminal svg size 800,700 noenhanced font "Sans,10"
set output 'figure.svg'
replot
unset output
EOF
(cd "$out" && gnuplot figure.gp)
rm -f "$rows"
echo "wrote $out/table.csv, $out/summary.md, $out/figure.png"
