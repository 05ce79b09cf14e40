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

struct db {
	sqlite3 *h;
	const char *path, *id;
	struct ep_error *err;
	int rc;
};

static int fail(struct db *d, const char *what)
{
	if (d->rc == EP_OK)
		d->rc = ep_error_set(d->err, EP_EIO, "--db '%s': %s: %s", d->path, what,
				     sqlite3_errmsg(d->h));
	return d->rc;
}

static int exec(struct db *d, const char *sql, const char *what)
{
	if (d->rc == EP_OK && sqlite3_exec(d->h, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(d, what);
	return d->rc;
}

/*
 * INSERT INTO `table` the compare id and then one value per letter of `types`: 's' a string
 * (NULL is NULL), 'd' a double (NAN and infinities are NULL), 'i' an int64_t (negative is
 * NULL: "not applicable"), 'u' a uint64_t (stored as SQLite's int64), 'n' an int.
 */
static int row(struct db *d, const char *table, const char *types, ...)
{
	sqlite3_stmt *st = NULL;
	char sql[256];
	size_t used;
	va_list ap;
	int n = (int)strlen(types);

	if (d->rc)
		return d->rc;
	used = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES(?", table);
	for (int i = 0; i < n && used < sizeof(sql); i++)
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, ",?");
	snprintf(sql + used, sizeof(sql) - used, ")");
	if (sqlite3_prepare_v2(d->h, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(d, table);
	sqlite3_bind_text(st, 1, d->id, -1, SQLITE_TRANSIENT);
	va_start(ap, types);
	for (int i = 0; i < n; i++) {
		int k = i + 2;

		if (types[i] == 's') {
			const char *s = va_arg(ap, const char *);

			s ? sqlite3_bind_text(st, k, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, k);
		} else if (types[i] == 'd') {
			double v = va_arg(ap, double);

			isfinite(v) ? sqlite3_bind_double(st, k, v) : sqlite3_bind_null(st, k);
		} else if (types[i] == 'i') {
			int64_t v = va_arg(ap, int64_t);

			v >= 0 ? sqlite3_bind_int64(st, k, v) : sqlite3_bind_null(st, k);
		} else if (types[i] == 'u') {
			sqlite3_bind_int64(st, k, (sqlite3_int64)va_arg(ap, uint64_t));
		} else {
			sqlite3_bind_int(st, k, va_arg(ap, int));
		}
	}
	va_end(ap);
	if (sqlite3_step(st) != SQLITE_DONE)
		fail(d, table);
	sqlite3_finalize(st);
	return d->rc;
}

/* The file's compare schema: written when new, else it must be ours. */
static int check_schema(struct db *d)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (exec(d, schema, "creating the compare tables"))
		return d->rc;
	if (sqlite3_prepare_v2(d->h, "SELECT value FROM compare_meta WHERE key = 'schema'", -1,
			       &st, NULL) != SQLITE_OK)
		return fail(d, "reading compare_meta");
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v < 0) {
		char sql[128];

		snprintf(sql, sizeof(sql), "INSERT INTO compare_meta VALUES('schema', '%d')",
			 COMPARE_DB_SCHEMA_VERSION);
		return exec(d, sql, "writing compare_meta");
	}
	if (v != COMPARE_DB_SCHEMA_VERSION)
		d->rc = ep_error_set(d->err, EP_EINVAL, "--db '%s': compare schema version %d, "
				     "this edgepipe writes %d", d->path, v,
				     COMPARE_DB_SCHEMA_VERSION);
	return d->rc;
}

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

static void write_rows(struct db *d, const struct compare_report *r)
{
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++) {
		const struct compare_row *w = &r->rows[b];

		row(d, "compare_rows", "snsddddddiiiii", compare_backend_name(w->backend), w->ran,
		    w->note, w->throughput, w->latency_p50_s, w->latency_p95_s, w->latency_p99_s,
		    w->detection_s, w->recovery_s, w->issued, w->answered, w->resent, w->lost,
		    w->duplicated);
	}
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++)
		for (int i = 0; r->series[b] && i < r->n_bins; i++)
			row(d, "compare_series", "sndd", compare_backend_name((enum compare_backend)b),
			    i, i * r->bin_s, r->series[b][i]);
	for (int i = 0; i < r->n_marks; i++) {
		const struct compare_mark *m = &r->marks[i];

		row(d, "compare_events", "nsdss", i,
		    m->backend < 0 ? "timeline" : compare_backend_name((enum compare_backend)m->backend),
		    m->t_s, m->kind, m->text);
	}
}

int compare_db_write(const char *path, const struct compare_report *r,
		     const struct compare_db_info *info, char id_out[16], struct ep_error *err)
{
	char id[16], started[32];
	struct db d = { .path = path, .id = id, .err = err };
	time_t now = time(NULL);
	struct tm tm;

	new_id(id);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	/* The emulator's run first, in its own tables: the compare row points at it. */
	if (r->emu && info->emu_run && emu_db_write(path, info->emu_run, r->emu, err))
		return err ? err->code : EP_EIO;
	if (sqlite3_open_v2(path, &d.h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		int rc = ep_error_set(err, EP_EIO, "--db '%s': %s", path,
				      d.h ? sqlite3_errmsg(d.h) : "out of memory");

		sqlite3_close(d.h);
		return rc;
	}
	sqlite3_busy_timeout(d.h, 10000);
	exec(&d, "BEGIN IMMEDIATE", "starting a transaction");
	check_schema(&d);
	row(&d, "compare_runs", "ssssssnsusissdd", started, EDGEPIPE_VERSION, info->command,
	    info->scenario_path, info->scenario_text, info->model, info->nodes, info->algo,
	    info->seed, info->workload, info->requests, info->faults, r->emu ? r->emu->run_id : NULL,
	    r->analytic_bottleneck_s, r->bin_s);
	write_rows(&d, r);
	if (d.rc == EP_OK)
		exec(&d, "COMMIT", "committing");
	else
		sqlite3_exec(d.h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(d.h);
	if (d.rc == EP_OK && id_out)
		memcpy(id_out, id, 16);
	return d.rc;
}
