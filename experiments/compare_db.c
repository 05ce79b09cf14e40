/*
 * compare_db: a comparison recorded in SQLite (schema in compare.h), beside the emulator's run
 * (emu_db_write) in the same file. One comparison is one transaction.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "compare.h"
#include "compare_internal.h"
#include "trial_internal.h"
#include "ep_util.h"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS compare_meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS compare_runs(compare_id TEXT PRIMARY KEY, started_utc TEXT,"
	"  version TEXT, command TEXT, scenario_path TEXT, scenario_text TEXT, model TEXT,"
	"  nodes INTEGER, algo TEXT, seed INTEGER, workload TEXT, requests INTEGER, faults TEXT,"
	"  emu_run_id TEXT, analytic_bottleneck_s REAL, bin_s REAL);"
	"CREATE TABLE IF NOT EXISTS compare_rows(compare_id TEXT, backend TEXT, ran INTEGER,"
	"  note TEXT, throughput REAL, latency_p50_s REAL, latency_p95_s REAL,"
	"  latency_p99_s REAL, detection_s REAL, recovery_s REAL, issued INTEGER,"
	"  answered INTEGER, resent INTEGER, lost INTEGER, duplicated INTEGER,"
	"  PRIMARY KEY(compare_id, backend));"
	"CREATE TABLE IF NOT EXISTS compare_series(compare_id TEXT, backend TEXT, bin INTEGER,"
	"  start_s REAL, throughput REAL, PRIMARY KEY(compare_id, backend, bin));"
	"CREATE TABLE IF NOT EXISTS compare_events(compare_id TEXT, seq INTEGER, backend TEXT,"
	"  t_s REAL, kind TEXT, text TEXT, PRIMARY KEY(compare_id, seq));";

/* A fresh id: "cmp" and 8 characters of [0-9a-z] from the clock, the pid and a counter. */
static void new_id(char id[16])
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	static unsigned counter;
	struct timespec ts;
	uint64_t z;

	clock_gettime(CLOCK_REALTIME, &ts);
	z = ep_mix64((uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
		     ((uint64_t)getpid() << 32) ^ ++counter);
	memcpy(id, "cmp", 3);
	for (int i = 0; i < 8; i++, z /= 36)
		id[3 + i] = digits[z % 36];
	id[11] = '\0';
}

static void write_rows(struct emu_db_writer *d, const struct compare_report *r)
{
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++) {
		const struct compare_row *w = &r->rows[b];

		emu_db_row(d, "compare_rows", "snsddddddIIIII", compare_backend_name(w->backend),
			   w->ran, w->note, w->throughput, w->latency_p50_s, w->latency_p95_s,
			   w->latency_p99_s, w->detection_s, w->recovery_s, w->issued, w->answered,
			   w->resent, w->lost, w->duplicated);
	}
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++)
		for (int i = 0; r->series[b] && i < r->n_bins; i++)
			emu_db_row(d, "compare_series", "sndd",
				   compare_backend_name((enum compare_backend)b), i, i * r->bin_s,
				   r->series[b][i]);
	for (int i = 0; i < r->n_marks; i++) {
		const struct compare_mark *m = &r->marks[i];

		emu_db_row(d, "compare_events", "nsdss", i,
			   m->backend < 0 ? "timeline"
					  : compare_backend_name((enum compare_backend)m->backend),
			   m->t_s, m->kind, m->text);
	}
}

int compare_db_write(const struct compare *c, const char *path, char id_out[16],
		     struct ep_error *err)
{
	const struct compare_report *r = &c->rep;
	const struct trial_setup *t = c->t;
	const struct sim_report *sim = r->sim;
	const struct trial_sim_ref ref = {r->rows[COMPARE_SIM].throughput,
					  sim ? sim->latency_mean_s : NAN, NAN, NAN};
	char id[16], started[32];
	struct emu_db_writer d;
	time_t now = time(NULL);
	struct tm tm;

	new_id(id);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	/* The emulator's run first, in its own tables: the compare row points at it. */
	if (r->emu) {
		struct emu_db_run dr = trial_emu_db_run(t, c->res, c->w, &c->cfg, c->command,
							c->cfg.compute ? "model" : "none", &ref);

		EP_CHECK(emu_db_write(path, &dr, r->emu, err));
	}
	/* After a failed open every write does nothing, and close returns the error. */
	emu_db_open(&d, path, id, schema, "compare_meta", "compare", COMPARE_DB_SCHEMA_VERSION,
		    err);
	emu_db_row(&d, "compare_runs", "ssssssnsusIssdd", started, EDGEPIPE_VERSION, c->command,
		   t->scenario_path, t->scenario_text, t->inst->profile->model, t->inst->cluster->n,
		   t->algo->name, t->spec->seed, emu_arrival_name(c->cfg.arrival), c->cfg.requests,
		   c->faults_text, r->emu ? r->emu->run_id : NULL, r->analytic_bottleneck_s,
		   r->bin_s);
	write_rows(&d, r);
	EP_CHECK(emu_db_close(&d));
	if (id_out)
		memcpy(id_out, id, 16);
	/* The simulator's run, as `sim --db` writes it. */
	if (c->ts && sim)
		EP_CHECK(trial_sim_db_write(c->ts, path, c->command, err));
	return EP_OK;
}
