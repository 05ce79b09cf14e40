#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

struct store {
	sqlite3 *db;
	sqlite3_stmt *insert, *has;
	char run_id[64];
	int batch, pending;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS runs(run_id TEXT PRIMARY KEY, version TEXT, command TEXT,"
	"  host TEXT, started TEXT, finished TEXT, shard TEXT);"
	"CREATE TABLE IF NOT EXISTS results("
	"  model TEXT NOT NULL, mem_bytes REAL NOT NULL, nodes INTEGER NOT NULL,"
	"  cluster TEXT NOT NULL, algo TEXT NOT NULL, variant TEXT NOT NULL,"
	"  bw_classes INTEGER NOT NULL, trial INTEGER NOT NULL, seed INTEGER NOT NULL,"
	"  cluster_seed INTEGER, run_id TEXT, version TEXT, status TEXT NOT NULL, reason TEXT,"
	"  stages INTEGER, plan TEXT, bottleneck_s REAL, throughput REAL, sum_transfer_bits REAL,"
	"  gaps INTEGER, over_memory INTEGER, solve_s REAL, sim_throughput REAL,"
	"  sim_latency_mean_s REAL, sim_latency_p50_s REAL, sim_latency_p95_s REAL,"
	"  sim_latency_p99_s REAL, compute TEXT NOT NULL DEFAULT 'flops',"
	"  PRIMARY KEY(model, mem_bytes, nodes, cluster, algo, variant, bw_classes, trial, seed,"
	"  compute));";

static int db_fail(struct store *s, struct ep_error *err, const char *what)
{
	return ep_error_set(err, EP_EIO, "%s: %s", what, sqlite3_errmsg(s->db));
}

static int exec(struct store *s, const char *sql, struct ep_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = ep_error_set(err, EP_EIO, "%s", msg ? msg : sqlite3_errmsg(s->db));

		sqlite3_free(msg);
		return rc;
	}
	return EP_OK;
}

int store_check_schema(sqlite3 *db, const char *what, struct ep_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = EP_OK;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema'", -1, &st, NULL) !=
		    SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = ep_error_set(err, EP_EINVAL, "%s is not an edgepipe result database (%s)",
				  what, sqlite3_errmsg(db));
	} else if (sqlite3_column_int(st, 0) != STORE_SCHEMA_VERSION) {
		rc = ep_error_set(err, EP_EINVAL, "%s has schema version %d; this edgepipe reads "
				  "version %d", what, sqlite3_column_int(st, 0),
				  STORE_SCHEMA_VERSION);
	}
	sqlite3_finalize(st);
	if (rc)
		return rc;
	/* The meta table alone does not make a result database. */
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM results", -1, &st, NULL) != SQLITE_OK)
		rc = ep_error_set(err, EP_EINVAL, "%s is not an edgepipe result database (%s)",
				  what, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

/*
 * A new (empty) file gets the schema; an existing one must be an edgepipe database of our
 * version: a sweep never writes its tables into somebody else's database.
 */
static int prepare_schema(struct store *s, const char *path, struct ep_error *err)
{
	sqlite3_stmt *st = NULL;
	int tables = -1, rc;
	char sql[96];

	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		tables = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (tables < 0)
		return ep_error_set(err, EP_EINVAL, "'%s' is not an SQLite database (%s)", path,
				    sqlite3_errmsg(s->db));
	if (tables > 0) {
		char what[300];

		snprintf(what, sizeof(what), "'%s'", path);
		return store_check_schema(s->db, what, err);
	}
	rc = exec(s, schema, err);
	if (rc)
		return rc;
	snprintf(sql, sizeof(sql), "INSERT INTO meta VALUES('schema', '%d')",
		 STORE_SCHEMA_VERSION);
	return exec(s, sql, err);
}

int store_open(const char *path, struct store **out, struct ep_error *err)
{
	struct store *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	s->batch = 256;
	if (sqlite3_open(path, &s->db) != SQLITE_OK) {
		rc = ep_error_set(err, EP_EIO, "cannot open database '%s': %s", path,
				  s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	rc = prepare_schema(s, path, err);
	if (!rc)
		rc = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err);
	if (rc)
		goto fail;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT OR IGNORE INTO results VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
			       "?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &s->insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "SELECT 1 FROM results WHERE model=? AND mem_bytes=? AND nodes=? AND "
			       "cluster=? AND algo=? AND variant=? AND bw_classes=? AND trial=? AND "
			       "seed=? AND compute=?",
			       -1, &s->has, NULL) != SQLITE_OK) {
		rc = db_fail(s, err, path);
		goto fail;
	}
	*out = s;
	return EP_OK;
fail:
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_flush(s, NULL);
	sqlite3_finalize(s->insert);
	sqlite3_finalize(s->has);
	sqlite3_close(s->db);
	free(s);
}

static void utc_now(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int store_begin_run(struct store *s, const char *command, const char *shard,
		    struct ep_error *err)
{
	char host[128] = "", now[32];
	sqlite3_stmt *st;
	int rc = EP_OK;
	struct timespec ts;

	gethostname(host, sizeof(host) - 1);
	utc_now(now, sizeof(now));
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Unique across the shards of a cluster job: host, process and time. */
	snprintf(s->run_id, sizeof(s->run_id), "%.24s-%ld-%lld%09ld", host, (long)getpid(),
		 (long long)ts.tv_sec, ts.tv_nsec);
	if (sqlite3_prepare_v2(s->db, "INSERT INTO runs VALUES(?,?,?,?,?,NULL,?)", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(s, err, "recording the run");
	sqlite3_bind_text(st, 1, s->run_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, EDGEPIPE_VERSION, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, command, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, shard, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(s, err, "recording the run");
	sqlite3_finalize(st);
	return rc;
}

int store_end_run(struct store *s, struct ep_error *err)
{
	char now[32], sql[256];
	int rc = store_flush(s, err);

	if (rc)
		return rc;
	utc_now(now, sizeof(now));
	snprintf(sql, sizeof(sql), "UPDATE runs SET finished = '%s' WHERE run_id = '%s'", now,
		 s->run_id);
	return exec(s, sql, err);
}

/* The key's columns 1..9, and compute at `compute_index`. */
static void bind_key(sqlite3_stmt *st, const struct store_row *r, int compute_index)
{
	sqlite3_bind_text(st, compute_index, r->compute[0] ? r->compute : "flops", -1,
			  SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 1, r->model, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 2, r->mem_bytes);
	sqlite3_bind_int(st, 3, r->nodes);
	sqlite3_bind_text(st, 4, r->cluster, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, r->algo, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, r->variant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 7, r->bw_classes);
	sqlite3_bind_int(st, 8, r->trial);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)r->seed);
}

bool store_has(struct store *s, const struct store_row *key)
{
	bool found;

	sqlite3_reset(s->has);
	bind_key(s->has, key, 10);
	found = sqlite3_step(s->has) == SQLITE_ROW;
	sqlite3_reset(s->has);
	return found;
}

static void bind_double_or_null(sqlite3_stmt *st, int i, double v, bool present)
{
	if (present && isfinite(v))
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

int store_insert(struct store *s, const struct store_row *r, struct ep_error *err)
{
	sqlite3_stmt *st = s->insert;
	bool ok = strcmp(r->status, "ok") == 0;
	/* a plan: solved, or the best so far of a row stopped by a time limit */
	bool has_plan = ok || (strcmp(r->status, "limit") == 0 && r->stages > 0);
	int rc;

	if (s->pending == 0 && (rc = exec(s, "BEGIN", err)))
		return rc;
	sqlite3_reset(st);
	bind_key(st, r, 28);
	/* SQLite integers are signed 64-bit: the seed keeps its bits. */
	sqlite3_bind_int64(st, 10, (sqlite3_int64)r->cluster_seed);
	sqlite3_bind_text(st, 11, s->run_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 12, EDGEPIPE_VERSION, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, r->status, -1, SQLITE_TRANSIENT);
	if (r->reason[0])
		sqlite3_bind_text(st, 14, r->reason, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 14);
	if (has_plan) {
		sqlite3_bind_int(st, 15, r->stages);
		sqlite3_bind_text(st, 16, r->plan, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(st, 15);
		sqlite3_bind_null(st, 16);
	}
	bind_double_or_null(st, 17, r->bottleneck_s, has_plan);
	bind_double_or_null(st, 18, r->throughput, has_plan);
	bind_double_or_null(st, 19, r->sum_transfer_bits, has_plan);
	if (has_plan) {
		sqlite3_bind_int(st, 20, r->gaps);
		sqlite3_bind_int(st, 21, r->over_memory);
	} else {
		sqlite3_bind_null(st, 20);
		sqlite3_bind_null(st, 21);
	}
	sqlite3_bind_double(st, 22, r->solve_s);
	bind_double_or_null(st, 23, r->sim_throughput, ok && r->has_sim);
	bind_double_or_null(st, 24, r->sim_latency_mean_s, ok && r->has_sim);
	bind_double_or_null(st, 25, r->sim_latency_p50_s, ok && r->has_sim);
	bind_double_or_null(st, 26, r->sim_latency_p95_s, ok && r->has_sim);
	bind_double_or_null(st, 27, r->sim_latency_p99_s, ok && r->has_sim);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, err, "inserting a result");
	sqlite3_reset(st);
	if (++s->pending >= s->batch)
		return store_flush(s, err);
	return EP_OK;
}

int store_flush(struct store *s, struct ep_error *err)
{
	if (!s->pending)
		return EP_OK;
	s->pending = 0;
	return exec(s, "COMMIT", err);
}

void store_set_batch(struct store *s, int batch)
{
	s->batch = batch > 0 ? batch : 1;
}

long store_count(struct store *s)
{
	sqlite3_stmt *st;
	long n = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM results", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A shard must be an edgepipe database of our schema; it is only read. */
static int check_input(const char *path, struct ep_error *err)
{
	sqlite3 *db = NULL;
	char what[300];
	int rc;

	if (access(path, R_OK) != 0)
		return ep_error_set(err, EP_ENOTFOUND, "cannot read shard database '%s'", path);
	snprintf(what, sizeof(what), "'%s'", path);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		rc = ep_error_set(err, EP_EINVAL, "%s is not an SQLite database", what);
	else
		rc = store_check_schema(db, what, err);
	sqlite3_close(db);
	return rc;
}

int store_merge(struct store *s, const char *const *inputs, int n, long *added,
		struct ep_error *err)
{
	long before = store_count(s);
	int rc = store_flush(s, err);

	for (int i = 0; i < n && !rc; i++) {
		sqlite3_stmt *st;

		rc = check_input(inputs[i], err);
		if (rc)
			return rc;
		if (sqlite3_prepare_v2(s->db, "ATTACH DATABASE ? AS shard", -1, &st, NULL) !=
		    SQLITE_OK)
			return db_fail(s, err, inputs[i]);
		sqlite3_bind_text(st, 1, inputs[i], -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			return db_fail(s, err, inputs[i]);
		}
		sqlite3_finalize(st);
		rc = exec(s, "BEGIN; INSERT OR IGNORE INTO main.runs SELECT * FROM shard.runs;"
			     "INSERT OR IGNORE INTO main.results SELECT * FROM shard.results; COMMIT;",
			  err);
		if (rc)
			exec(s, "ROLLBACK", NULL);
		exec(s, "DETACH DATABASE shard", NULL);
	}
	if (added)
		*added = store_count(s) - before;
	return rc;
}

int store_check(struct store *s, struct ep_error *err)
{
	sqlite3_stmt *st;
	int rc = EP_OK;

	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, err, "integrity check");
	if (sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
		rc = ep_error_set(err, EP_EIO, "integrity check failed");
	sqlite3_finalize(st);
	return rc;
}

struct sqlite3 *store_db(struct store *s)
{
	return s->db;
}
