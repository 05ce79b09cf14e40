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

int compare_db_write(const char *path, const struct compare_report *r,
		     const struct compare_db_info *info, char id_out[16], struct ep_error *err)
{
	char id[16], started[32];
	struct emu_db_writer d;
	time_t now = time(NULL);
	struct tm tm;

	new_id(id);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	/* The emulator's run first, in its own tables: the compare row points at it. */
	if (r->emu && info->emu_run && emu_db_write(path, info->emu_run, r->emu, err))
		return err ? err->code : EP_EIO;
	/* After a failed open every write does nothing, and close returns the error. */
	emu_db_open(&d, path, id, schema, "compare_meta", "compare", COMPARE_DB_SCHEMA_VERSION,
		    err);
	emu_db_row(&d, "compare_runs", "ssssssnsusIssdd", started, EDGEPIPE_VERSION, info->command,
		   info->scenario_path, info->scenario_text, info->model, info->nodes, info->algo,
		   info->seed, info->workload, info->requests, info->faults,
		   r->emu ? r->emu->run_id : NULL, r->analytic_bottleneck_s, r->bin_s);
	write_rows(&d, r);
	if (emu_db_close(&d) == EP_OK && id_out)
		memcpy(id_out, id, 16);
	return d.rc;
}
