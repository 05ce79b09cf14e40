#!/bin/bash
# edgepipe sim --db: the simulator's run in SQLite (experiments/trial.h trial_sim_db_write).
# Expected values: the JSON report of the same run (--format json beside --db): every row of
# sim_runs, sim_summary, sim_series, sim_energy and sim_faults equals the member it mirrors;
# a second run appends (two runs, distinct ids); a scenario is recorded whole in
# sim_scenarios; a database of another schema version is refused (exit 2), left unchanged.
#
# Usage: bash sim_db.sh PATH_TO_EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup sim_db.sh "$@"

DB=$TMP/s.db
RUN=(sim --model resnet50 --nodes 6 --mem 128MiB --cluster uniform --bw-range 10Mbit:100Mbit
	--speed 5GFLOPS --seed 3 --requests 600 --fault "stall stage1 at 20s for 5s"
	--fault "kill stage0 at 60s" --update "mobilenetv2 at 120s" --device rpi4 --db "$DB")

if "$EP" "${RUN[@]}" --format json >"$TMP/a.json" 2>"$TMP/err"; then
	pass "sim --db exits 0"
else
	fail "sim --db exits 0" "$(head -c 400 "$TMP/err")"
fi
cat >"$TMP/check.py" <<'PY'
import json, sqlite3, sys, math
db, js = sys.argv[1], json.load(open(sys.argv[2]))
con = sqlite3.connect(db)
con.row_factory = sqlite3.Row
bad = []
def same(what, got, want):
    if want is None or (isinstance(want, float) and math.isnan(want)):
        ok = got is None
    elif isinstance(want, bool):
        ok = got == int(want)
    elif isinstance(want, float) or isinstance(got, float):
        ok = got is not None and abs(got - want) <= 1e-12 * max(1.0, abs(want))
    else:
        ok = got == want
    if not ok:
        bad.append("%s: db %r, json %r" % (what, got, want))
run = con.execute("SELECT * FROM sim_runs").fetchall()
assert len(run) == 1, "one run, got %d" % len(run)
run = run[0]
rid = run["run_id"]
for col, key in [("model", "model"), ("algo", "algo"), ("variant", "variant"),
                 ("nodes", "nodes"), ("seed", "seed"), ("trial", "trial"),
                 ("workload", "workload"), ("win", "window"), ("rate", "rate"),
                 ("requests", "requests"), ("warmup", "warmup"), ("service", "service"),
                 ("transfer", "transfer"), ("shared_medium", "shared_medium"),
                 ("retry_timeout_s", "retry_timeout_s")]:
    same("sim_runs." + col, run[col], js[key])
same("sim_runs.device", run["device"], js["modelled_energy"]["device"])
s = con.execute("SELECT * FROM sim_summary WHERE run_id = ?", (rid,)).fetchone()
for col, key in [("stages", None), ("analytic_bottleneck_s", "analytic_bottleneck_s"),
                 ("analytic_throughput", "analytic_throughput"), ("sim_throughput", "throughput"),
                 ("latency_mean_s", "latency_mean_s"), ("latency_p50_s", "latency_p50_s"),
                 ("latency_p95_s", "latency_p95_s"), ("latency_p99_s", "latency_p99_s"),
                 ("latency_max_s", "latency_max_s"), ("issued", "issued"),
                 ("answered", "completed"), ("incomplete", "incomplete"),
                 ("duplicates", "duplicates"), ("resends", "retries"),
                 ("requests_resent", "requests_retried"), ("lost", "lost"),
                 ("measured", "measured"), ("warmup_end_s", "warmup_end_s"), ("end_s", "end_s"),
                 ("no_plan", "no_plan"), ("final_analytic_throughput", "final_analytic_throughput"),
                 ("window_end", "window_end"), ("events", "events"), ("sim_end_s", "sim_end_s"),
                 ("bin_s", "bin_s")]:
    same("sim_summary." + col, s[col], len(js["plan"]) if key is None else js[key])
me = js["modelled_energy"]
same("sim_summary.energy_per_inference_j", s["energy_per_inference_j"], me["energy_per_inference_j"])
same("sim_summary.power_w", s["power_w"], me["power_w"])
series = [r["answers"] for r in con.execute(
    "SELECT answers FROM sim_series WHERE run_id = ? ORDER BY bin", (rid,))]
same("sim_series.answers", series, js["series"])
energy = con.execute("SELECT * FROM sim_energy WHERE run_id = ? ORDER BY node", (rid,)).fetchall()
same("sim_energy rows", len(energy), len(me["per_node"]))
for row, e in zip(energy, me["per_node"]):
    for col, key in [("node", "node"), ("active", "active"), ("busy_s", "cpu_busy_s"),
                     ("bits_sent", "bits_sent"), ("bits_received", "bits_received"),
                     ("energy_j", "energy_j"), ("energy_per_inference_j", "energy_per_inference_j"),
                     ("power_w", "power_w")]:
        same("sim_energy[%d].%s" % (e["node"], col), row[col], e[key])
faults = con.execute("SELECT * FROM sim_faults WHERE run_id = ? ORDER BY fault", (rid,)).fetchall()
same("sim_faults rows", len(faults), len(js["incidents"]))
kinds = [f["kind"] for f in faults]
for want in ("stall", "crash", "update"):
    if want not in kinds:
        bad.append("sim_faults: no %s row (kinds %s)" % (want, kinds))
for row, inc in zip(faults, js["incidents"]):
    for col in ("kind", "node", "at_s", "detected_s", "live_s", "recovery_s", "deploy_s",
                "replanned"):
        same("sim_faults[%d].%s" % (row["fault"], col), row[col], inc[col])
    if inc["detected_s"] is not None:
        same("sim_faults[%d].detection_s" % row["fault"], row["detection_s"],
             inc["detected_s"] - inc["at_s"])
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
if python3 "$TMP/check.py" "$DB" "$TMP/a.json" >"$TMP/check.out" 2>&1; then
	pass "sim --db rows equal the JSON of the same run"
else
	fail "sim --db rows equal the JSON of the same run" "$(head -c 1500 "$TMP/check.out")"
fi

# A second run (with a scenario) appends; the scenario is recorded whole.
cat >"$TMP/s.yaml" <<'Y'
model: resnet50
nodes: 6
mem: 128MiB
requests: 100
Y
if "$EP" sim --scenario "$TMP/s.yaml" --db "$DB" >/dev/null 2>"$TMP/err" &&
	[ "$(sqlite3 "$DB" "SELECT COUNT(DISTINCT run_id) FROM sim_runs")" = 2 ] &&
	[ "$(sqlite3 "$DB" "SELECT COUNT(*) FROM sim_summary")" = 2 ] &&
	python3 - "$DB" "$TMP/s.yaml" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT path, text FROM sim_scenarios").fetchall()
assert rows == [(sys.argv[2], open(sys.argv[2]).read())], rows
PY
then
	pass "a second run appends; its scenario is recorded whole"
else
	fail "a second run appends; its scenario is recorded whole" "$(head -c 400 "$TMP/err")"
fi

# Another schema version: refused, the file unchanged.
sqlite3 "$DB" "UPDATE sim_meta SET value = '99' WHERE key = 'schema'"
cp "$DB" "$TMP/before.db"
expect_exit2 "a database of another schema version" "schema version 99" \
	"$EP" sim --model resnet50 --nodes 6 --mem 128MiB --requests 50 --db "$DB"
if cmp -s "$DB" "$TMP/before.db"; then
	pass "the refused database is unchanged"
else
	fail "the refused database is unchanged"
fi
finish
