#!/bin/bash
# edgepipe compare --db: the comparison's compare_* tables and, beside them, the simulator's run
# in the sim_* tables as `edgepipe sim --db` writes them (compare runs its simulator through
# trial_sim_run, experiments/trial.h). Expected values: the CSV table of the same run (its sim
# row's throughput, answered, resent, and lost = the simulator's incomplete: compare.h) and the
# command line; one sim_runs row per comparison, one crash incident each.
#
# Usage: bash compare_db.sh PATH_TO_EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup compare_db.sh "$@"

DB=$TMP/c.db
RUN=(compare --model resnet50 --nodes 5 --mem 128MiB --cluster uniform --bw-range 100Mbit:200Mbit
	--seed 1 --compute none --requests 150 --fault "kill stage1 at 1.55s" --no-emu --db "$DB")

if "$EP" "${RUN[@]}" --format csv >"$TMP/a.csv" 2>"$TMP/err"; then
	pass "compare --db exits 0"
else
	fail "compare --db exits 0" "$(head -c 400 "$TMP/err")"
fi
"$EP" "${RUN[@]}" >/dev/null 2>&1 # a second comparison appends
cat >"$TMP/check.py" <<'PY'
import csv, sqlite3, sys
db, table = sys.argv[1], list(csv.DictReader(open(sys.argv[2])))
sim = [r for r in table if r["backend"] == "sim"][0]
con = sqlite3.connect(db)
bad = []
n = con.execute("SELECT count(*) FROM compare_runs").fetchone()[0]
runs = con.execute("SELECT r.command, s.sim_throughput, s.answered, s.incomplete, "
                   "s.requests_resent, r.faults "
                   "FROM sim_runs r JOIN sim_summary s USING (run_id)").fetchall()
if n != 2 or len(runs) != 2:
    bad.append("2 comparisons, 2 sim runs: got %d, %d" % (n, len(runs)))
for cmd, tp, answered, lost, resent, faults in runs:
    if abs(tp - float(sim["throughput"])) > 1e-9 * float(sim["throughput"]):
        bad.append("sim_summary.sim_throughput %r, the table's %s" % (tp, sim["throughput"]))
    got, want = (answered, lost, resent), (sim["answered"], sim["lost"], sim["resent"])
    if got != tuple(int(x) for x in want):
        bad.append("answered, incomplete, requests_resent %r; the table's %r" % (got, want))
    if not cmd.startswith("edgepipe compare ") or faults != "kill stage1 at 1.55s":
        bad.append("command %r, faults %r" % (cmd, faults))
n = con.execute("SELECT count(*) FROM sim_faults WHERE kind = 'crash'").fetchone()[0]
if n != 2:
    bad.append("one crash incident per run in sim_faults: got %d" % n)
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
if out=$(python3 "$TMP/check.py" "$DB" "$TMP/a.csv" 2>&1); then
	pass "compare --db stores the simulator's run in sim_runs, sim_summary, sim_faults"
else
	fail "compare --db stores the simulator's run in sim_runs, sim_summary, sim_faults" "$out"
fi
finish
