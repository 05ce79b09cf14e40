# Shared by the emulator experiments (defer.sh, seifer.sh): run `edgepipe emu` into one SQLite
# database, keep a row per attempted run (also the runs that found no plan, which write nothing
# to the emulator's tables), and draw figures with gnuplot the way `edgepipe plot` does: beside
# each image NAME.png and NAME.svg are its data NAME.dat and script NAME.gp (re-plot from the
# output directory with `gnuplot NAME.gp`), and figures.gp loads them all. Sourced, not run.
#
# Needs: sqlite3 and gnuplot (scripts/setup.sh installs both), root for the emulator.

# exp_init DB OUT LOG: a fresh database (the emulator appends; an old file would mix grids),
# the output directory and the log of every run's stderr.
# With APPEND=1 the database and the log are kept: the runs add to an earlier invocation's.
exp_init() {
    exp_db=$1 exp_out=$2 exp_log=$3
    mkdir -p "$(dirname "$exp_db")" "$exp_out"
    rm -f "$exp_out"/*.dat "$exp_out"/*.gp "$exp_out"/*.png "$exp_out"/*.svg
    if [ "${APPEND:-0}" != 1 ]; then
        rm -f "$exp_db"
        : >"$exp_log"
        : >"$exp_log.csv"
    fi
    sqlite3 "$exp_db" "CREATE TABLE IF NOT EXISTS exp_runs(seq INTEGER PRIMARY KEY, experiment TEXT,
        model TEXT, nodes INTEGER, algo TEXT, codec TEXT, label TEXT, status TEXT,
        run_id TEXT, wall_s REAL, note TEXT);"
    exp_figures=()
}

# exp_has_option OPTION [WORD]: whether `edgepipe emu --help` documents OPTION (and WORD on
# its lines), so that a script uses a codec or the energy model once the emulator has it.
exp_has_option() {
    "$ep" emu --help | grep -A3 -- "$1" | grep -q -- "${2:-$1}"
}

# exp_emu EXPERIMENT MODEL NODES ALGO CODEC LABEL -- EMU_ARGS...: one emulator run. Its row in
# exp_runs has status ok (every request answered, every answer right), failed (exit 1: no plan,
# unanswered requests or mismatched answers; the reason is the run's last stderr line) or error.
exp_emu() {
    local experiment=$1 model=$2 nodes=$3 algo=$4 codec=$5 label=$6
    shift 7
    local t0 t1 status rc run_id note
    t0=$(date +%s.%N)
    echo "== $experiment $label: edgepipe emu $*" >>"$exp_log"
    "$ep" emu "$@" --db "$exp_db" --format csv >>"$exp_log.csv" 2>>"$exp_log" && rc=0 || rc=$?
    t1=$(date +%s.%N)
    status=ok
    [ "$rc" -eq 0 ] || status=failed
    [ "$rc" -le 1 ] || status="error $rc"
    note=$(tail -n 1 "$exp_log" | tr "'" '"')
    [ "$status" = ok ] && note=""
    # The run's id: the newest emulator run, if this one wrote one.
    run_id=$(sqlite3 "$exp_db" "SELECT run_id FROM emu_runs WHERE rowid = (SELECT max(rowid)
        FROM emu_runs) AND run_id NOT IN (SELECT run_id FROM exp_runs WHERE run_id IS NOT NULL)" \
        2>/dev/null || true)
    sqlite3 "$exp_db" "INSERT INTO exp_runs(experiment, model, nodes, algo, codec, label, status,
        run_id, wall_s, note) VALUES('$experiment', '$model', $nodes, '$algo', '$codec',
        '$label', '$status', NULLIF('$run_id', ''), $t1 - $t0, '$note');"
    awk -v e="$experiment" -v l="$label" -v s="$status" -v a="$t0" -v b="$t1" -v n="$note" \
        'BEGIN { printf "%-7s %-30s %-7s %6.1f s %s\n", e, l, s, b - a, n }' 
}

# exp_q SQL: rows separated by newlines, fields by a space (gnuplot's data format).
exp_q() {
    sqlite3 -separator ' ' -nullvalue NaN "$exp_db" "$1"
}

# exp_figure NAME TITLE XLABEL YLABEL PLOT_CLAUSES [SETTINGS]: write NAME.gp around the plot
# clauses (which read NAME.dat), run gnuplot on it, and list it in figures.gp.
exp_figure() {
    local name=$1 title=$2 xlabel=$3 ylabel=$4 plot=$5 settings=${6:-}
    cat >"$exp_out/$name.gp" <<EOF
# $(basename "$0"): $title
# data: $name.dat; re-plot from this directory with: gnuplot $name.gp
reset session
set encoding utf8
set grid
set title "$title" noenhanced
set xlabel "$xlabel"
set ylabel "$ylabel"
set key below noenhanced height 1 samplen 2
$settings
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 960,600 noenhanced font "Sans,10"
} else {
	set terminal png size 960,600 noenhanced
}
set output '$name.png'
plot $plot
set terminal svg size 960,600 noenhanced font "Sans,10"
set output '$name.svg'
replot
unset output
EOF
    (cd "$exp_out" && gnuplot "$name.gp") || {
        echo "$(basename "$0"): gnuplot failed on $exp_out/$name.gp" >&2
        return 1
    }
    exp_figures+=("$name")
}

# exp_figures_index: figures.gp, which re-plots every figure of the directory.
exp_figures_index() {
    {
        echo "# $(basename "$0"): every figure of this directory. Re-plot them all, from this"
        echo "# directory, with: gnuplot figures.gp"
        for f in "${exp_figures[@]}"; do echo "load '$f.gp'"; done
    } >"$exp_out/figures.gp"
}
