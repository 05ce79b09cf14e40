#!/usr/bin/env bash
# Agreement of the simulator with the emulator (issue 11): every scenario of
# experiments/scenarios/agreement/ (22 files: ResNet50, MobileNet, MobileNetV2, EfficientNetB0,
# DenseNet121, Xception; uniform, geometric and classes clusters; closed and open (Poisson,
# constant) workloads; compute on and off; no fault, kill, short and long stall, short and long
# cut, a cut ended by 'link ... up', bandwidth, loss, update, a kill then an update) through
# `edgepipe compare` (analytic, simulated, emulated: one plan, one timeline) into one database,
# then the table of emulated against simulated throughput and recovery time.
#
# Writes OUT (default results/agreement):
#   agreement.csv   one row per scenario: the three throughputs, emu / sim - 1, both recovery
#                   and detection times, requests resent and lost, and whether the pair is
#                   within the aim (throughput within 10 %; recovery within 20 % or 0.5 s)
#   agreement.md    the same as a markdown table (experiments/README.md quotes it)
#   agreement.dat, agreement.gp, agreement.png, agreement.svg
#                   the figure: emulated against simulated throughput (left) and recovery time
#                   (right), the diagonal and the aim's band, each scenario numbered
#   figures/NAME.png  each scenario's own figure: throughput over time, the three back ends,
#                   faults and recoveries marked (FIGURES=0: none)
#   runs.log        every run's stderr
# and the database DB (default OUT/agreement.db, not committed: compare_* and emu_* tables).
#
# --quick runs three scenarios (no fault, a kill, a long cut) to try the script; the numbers
# are worth nothing on a loaded machine (the emulator's timing), so measure on a quiet one.
# Environment: EDGEPIPE (default build/cli/edgepipe), OUT, DB, SCENARIOS (files, overriding
# the directory's). Needs root for the emulator; without it every emulated column is empty
# (compare says why) and the table compares nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
ep=${EDGEPIPE:-build/cli/edgepipe}
out=${OUT:-results/agreement}
db=${DB:-$out/agreement.db}
dir=experiments/scenarios/agreement

if [ "${1:-}" = --quick ]; then
    scenarios=${SCENARIOS:-"$dir/01-resnet50-nofault.yaml $dir/02-resnet50-kill.yaml $dir/07-resnet50-cut-long.yaml"}
elif [ -n "${1:-}" ]; then
    echo "usage: experiments/agreement.sh [--quick]" >&2
    exit 2
else
    scenarios=${SCENARIOS:-$(ls "$dir"/*.yaml)}
fi
[ -x "$ep" ] || { echo "agreement.sh: $ep not built (bash scripts/setup.sh)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || echo "agreement.sh: not root: the emulator will be skipped" >&2

mkdir -p "$out"
rm -f "$db" "$out"/agreement.* "$out"/runs.log
rm -rf "$out/figures"
[ "${FIGURES:-1}" = 1 ] && mkdir -p "$out/figures"
t_all=$(date +%s)
for f in $scenarios; do
    name=$(basename "$f" .yaml)
    plot=()
    [ "${FIGURES:-1}" = 1 ] && plot=(--plot "$out/figures/$name.png")
    echo "== $name: $ep compare $f" >>"$out/runs.log"
    t0=$(date +%s.%N)
    rc=0
    "$ep" compare "$f" --db "$db" --format csv "${plot[@]}" >/dev/null 2>>"$out/runs.log" || rc=$?
    t1=$(date +%s.%N)
    awk -v n="$name" -v r="$rc" -v a="$t0" -v b="$t1" \
        'BEGIN { printf "%-36s exit %d %6.1f s\n", n, r, b - a }'
done
echo "agreement.sh: $(echo $scenarios | wc -w) scenarios in $(( $(date +%s) - t_all )) s" \
     "($(date -u +%H:%M) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$out/runs.log"

# One row per scenario: the sim and emu rows of its comparison side by side. The aim: throughput
# within 10 %; recovery within 20 % or 0.5 s (both empty: nothing to recover from, agreed).
views=$(cat <<'EOF'
CREATE TEMP VIEW pairs AS
  SELECT replace(substr(r.scenario_path, instr(r.scenario_path, 'agreement/') + 10), '.yaml', '') AS scenario,
         r.faults AS faults, a.throughput AS analytic, s.throughput AS sim, e.throughput AS emu,
         e.throughput / s.throughput - 1 AS tp_diff,
         s.detection_s AS sim_det, e.detection_s AS emu_det,
         s.recovery_s AS sim_rec, e.recovery_s AS emu_rec, e.recovery_s - s.recovery_s AS rec_diff,
         s.resent AS sim_resent, e.resent AS emu_resent, s.lost AS sim_lost, e.lost AS emu_lost,
         s.ran AS sim_ran, e.ran AS emu_ran, s.note AS sim_note, e.note AS emu_note
  FROM compare_runs r
  JOIN compare_rows a ON a.compare_id = r.compare_id AND a.backend = 'analytic'
  JOIN compare_rows s ON s.compare_id = r.compare_id AND s.backend = 'sim'
  JOIN compare_rows e ON e.compare_id = r.compare_id AND e.backend = 'emu';
CREATE TEMP VIEW verdict AS
  SELECT *,
         CASE WHEN sim IS NULL OR emu IS NULL THEN NULL ELSE abs(tp_diff) <= 0.10 END AS tp_ok,
         CASE WHEN sim_ran = 0 OR emu_ran = 0 THEN NULL
              WHEN sim_rec IS NULL AND emu_rec IS NULL THEN 1
              WHEN sim_rec IS NULL OR emu_rec IS NULL THEN 0
              ELSE abs(rec_diff) <= max(0.5, 0.2 * sim_rec) END AS rec_ok
  FROM pairs ORDER BY scenario;
EOF
)
sqlite3 -csv -header "$db" "$views SELECT scenario, faults, analytic, sim, emu, tp_diff, sim_det,
    emu_det, sim_rec, emu_rec, rec_diff, sim_resent, emu_resent, sim_lost, emu_lost, tp_ok, rec_ok,
    sim_note, emu_note FROM verdict;" >"$out/agreement.csv"

# The markdown table: throughputs to 4 digits, times in seconds to 3 decimals, '-' for none.
sqlite3 -separator '' -noheader "$db" "$views
SELECT '| scenario | faults | analytic /s | sim /s | emu /s | emu vs sim | recovery sim s | recovery emu s | resent sim/emu | lost sim/emu | within aim |';
SELECT '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|';
SELECT '| ' || scenario || ' | ' || CASE WHEN faults = '' THEN 'none' ELSE faults END || ' | ' ||
       printf('%.4g', analytic) || ' | ' || CASE WHEN sim IS NULL THEN '-' ELSE printf('%.4g', sim) END || ' | ' ||
       CASE WHEN emu IS NULL THEN '-' ELSE printf('%.4g', emu) END || ' | ' || CASE WHEN tp_diff IS NULL THEN '-' ELSE printf('%+.1f %%', 100 * tp_diff) END ||
       ' | ' || CASE WHEN sim_rec IS NULL THEN '-' ELSE printf('%.3f', sim_rec) END || ' | ' || CASE WHEN emu_rec IS NULL THEN '-' ELSE printf('%.3f', emu_rec) END ||
       ' | ' || ifnull(sim_resent, '-') || '/' || ifnull(emu_resent, '-') || ' | ' ||
       ifnull(sim_lost, '-') || '/' || ifnull(emu_lost, '-') || ' | ' ||
       CASE WHEN tp_ok IS NULL OR rec_ok IS NULL THEN 'not compared'
            WHEN tp_ok AND rec_ok THEN 'yes'
            ELSE 'no (' || CASE WHEN tp_ok THEN '' ELSE 'throughput' END ||
                 CASE WHEN NOT tp_ok AND NOT rec_ok THEN ', ' ELSE '' END ||
                 CASE WHEN rec_ok THEN '' ELSE 'recovery' END || ')' END || ' |'
FROM verdict;
SELECT '';
SELECT printf('%d scenarios; compared %d; throughput within 10 %%: %d; recovery within 20 %% or 0.5 s: %d.',
       count(*), sum(tp_ok IS NOT NULL AND rec_ok IS NOT NULL), sum(ifnull(tp_ok, 0)), sum(ifnull(rec_ok, 0)))
FROM verdict;
SELECT 'Not compared: ' || scenario || ': sim ' || CASE WHEN sim_ran THEN 'ran' ELSE sim_note END ||
       '; emu ' || CASE WHEN emu_ran THEN 'ran' ELSE emu_note END || '.'
FROM verdict WHERE tp_ok IS NULL OR rec_ok IS NULL;" >"$out/agreement.md"

# The figure's data: block 0, number, sim and emu throughput; block 1, number, sim and emu
# recovery (scenarios with both). gnuplot 5.4 crashes on a labels plot without a valid point,
# so a block without rows is not plotted.
{
    echo "# number, simulated and emulated throughput (/s)"
    sqlite3 -separator ' ' -noheader "$db" "$views SELECT substr(scenario, 1, 2), sim, emu
        FROM verdict WHERE sim IS NOT NULL AND emu IS NOT NULL;"
    printf '\n\n# number, simulated and emulated recovery (s)\n'
    sqlite3 -separator ' ' -noheader "$db" "$views SELECT substr(scenario, 1, 2), sim_rec, emu_rec
        FROM verdict WHERE sim_rec IS NOT NULL AND emu_rec IS NOT NULL;"
} >"$out/agreement.dat"
n_tp=$(sqlite3 "$db" "$views SELECT count(*) FROM verdict WHERE sim IS NOT NULL AND emu IS NOT NULL;")
n_rec=$(sqlite3 "$db" "$views SELECT count(*) FROM verdict WHERE sim_rec IS NOT NULL AND emu_rec IS NOT NULL;")
tp_points=', "agreement.dat" index 0 using 2:3 with points pt 7 lc rgb "#1f5fbf" notitle, "" index 0 using 2:3:1 with labels offset 0.8,0.6 font ",8" notitle'
rec_points=', "agreement.dat" index 1 using 2:3 with points pt 7 lc rgb "#c0392b" notitle, "" index 1 using 2:3:1 with labels offset 0.8,0.6 font ",8" notitle'
[ "$n_tp" -gt 0 ] || tp_points=""
[ "$n_rec" -gt 0 ] || rec_points=""
cat >"$out/agreement.gp" <<EOF
# experiments/agreement.sh: emulated against simulated throughput and recovery time, one point
# per scenario (its number); re-plot from this directory with: gnuplot agreement.gp
# agreement.dat: block 0, number, sim and emu throughput; block 1, number, sim and emu recovery
reset
if (!exists("out_suffix")) out_suffix = ""
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1200,560 font ",10" } else { set terminal svg size 1200,560 font ",10" }
  set output "agreement.".fmt.out_suffix
  set multiplot layout 1,2 title "edgepipe compare: emulated against simulated (experiments/agreement.sh)"
  set grid
  set key top left
  set logscale xy
  set xlabel "simulated throughput (/s)"
  set ylabel "emulated throughput (/s)"
  set title "throughput over the measured interval (aim: within 10 %)"
  plot x with lines lc rgb "gray40" title "emu = sim", \
       1.1 * x with lines dt 2 lc rgb "gray60" title "+-10 %", 0.9 * x with lines dt 2 lc rgb "gray60" notitle$tp_points
  unset logscale
  set xrange [0:*]
  set yrange [0:*]
  set xlabel "simulated recovery (s)"
  set ylabel "emulated recovery (s)"
  set title "recovery time, fault to new plan live (aim: within 20 % or 0.5 s)"
  plot x with lines lc rgb "gray40" title "emu = sim", \
       (x * 1.2 > x + 0.5 ? x * 1.2 : x + 0.5) with lines dt 2 lc rgb "gray60" title "aim's band", \
       (x * 0.8 < x - 0.5 ? x * 0.8 : x - 0.5) with lines dt 2 lc rgb "gray60" notitle$rec_points
  unset multiplot
  unset output
  set xrange [*:*]
  set yrange [*:*]
}
EOF
(cd "$out" && gnuplot agreement.gp)
cat "$out/agreement.md"
