#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

struct store {
	sqlite3 *db;
	sqlite3_stmt *insert, *has;
	char run_id[64];
	int batch, pending;
	bool read_only;
	int lock_fd; /* the writer's flock on the file; -1 when reading */
	char path[PATH_MAX];
};

/* The key columns of results and the columns whose values a computation determines (not the
 * run, version, solve time or reason): two rows with one key must agree on these. */
#define KEY_COLUMNS "model, mem_bytes, nodes, cluster, algo, variant, bw_classes, trial, seed, compute"
static const char *const value_columns[] = {
	"cluster_seed", "status", "stages", "plan", "bottleneck_s", "throughput",
	"sum_transfer_bits", "gaps", "over_memory", "sim_throughput", "sim_latency_mean_s",
	"sim_latency_p50_s", "sim_latency_p95_s", "sim_latency_p99_s",
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
	int tables = -1;
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
	EP_CHECK(exec(s, schema, err));
	snprintf(sql, sizeof(sql), "INSERT INTO meta VALUES('schema', '%d')",
		 STORE_SCHEMA_VERSION);
	return exec(s, sql, err);
}

/* The directory part of `path` ("." when it has none). */
static void dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, size, ".");
	else if (slash == path)
		snprintf(dir, size, "/");
	else
		snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

/*
 * Where `path` is: EP_OK with *exists and *writable (the file, and its directory, which WAL
 * needs for its side files), or an error that says what is wrong with the place: a directory
 * given as the file, a missing directory, a missing file (when !create).
 */
static int check_place(const char *path, bool create, bool *exists, bool *writable,
		       int *why, struct ep_error *err)
{
	char dir[PATH_MAX];
	struct stat sb;

	*exists = *writable = false;
	*why = 0;
	dir_of(path, dir, sizeof(dir));
	if (!*path)
		return ep_error_set(err, EP_EINVAL, "an empty database path");
	if (stat(path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return ep_error_set(err, EP_EINVAL, "'%s' is a directory, not a database "
					    "file", path);
		if (!S_ISREG(sb.st_mode))
			return ep_error_set(err, EP_EINVAL, "'%s' is not a regular file", path);
		if (access(path, R_OK) != 0)
			return ep_error_set(err, EP_EIO, "cannot read database '%s': %s", path,
					    strerror(errno));
		*exists = true;
		*writable = access(path, W_OK) == 0 && access(dir, W_OK) == 0;
		if (!*writable)
			*why = errno;
		return EP_OK;
	}
	if (errno == ENOTDIR)
		return ep_error_set(err, EP_EINVAL, "'%s': a component of the path is a file, not a "
				    "directory", path);
	if (errno != ENOENT)
		return ep_error_set(err, EP_EIO, "database '%s': %s", path, strerror(errno));
	if (stat(dir, &sb) != 0)
		return ep_error_set(err, EP_ENOTFOUND, "%s '%s': directory '%s' does not exist",
				    create ? "cannot create database" : "no database", path, dir);
	if (!S_ISDIR(sb.st_mode))
		return ep_error_set(err, EP_EINVAL, "database '%s': '%s' is not a directory", path,
				    dir);
	if (!create)
		return ep_error_set(err, EP_ENOTFOUND, "database '%s' does not exist", path);
	*writable = access(dir, W_OK) == 0;
	if (!*writable)
		*why = errno;
	return EP_OK;
}

/* "read-only filesystem" or "not writable" for an errno of access(W_OK). */
static const char *why_str(int why)
{
	return why == EROFS ? "on a read-only filesystem" : "not writable";
}

/*
 * Open an existing database read-only. A WAL database needs its -shm side file, which a
 * read-only directory cannot hold: SQLite then refuses, and the file is opened as immutable
 * (no locks, no side files), which is right for a medium nobody writes.
 */
static int open_read(const char *path, sqlite3 **out, struct ep_error *err)
{
	char uri[3 * PATH_MAX + 32];
	size_t k;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool ok;

	*out = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_finalize(st);
		sqlite3_busy_timeout(db, 10000);
		*out = db;
		return EP_OK;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	db = NULL;
	/* file: URI, with every byte but unreserved ones and '/' percent-encoded */
	k = (size_t)snprintf(uri, sizeof(uri), "file:");
	for (const unsigned char *c = (const unsigned char *)path; *c && k + 4 < sizeof(uri); c++)
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("/._-~", *c))
			uri[k++] = (char)*c;
		else
			k += (size_t)snprintf(uri + k, sizeof(uri) - k, "%%%02X", *c);
	snprintf(uri + k, sizeof(uri) - k, "?immutable=1");
	ok = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) == SQLITE_OK;
	if (ok) {
		*out = db;
		return EP_OK;
	}
	ep_error_set(err, EP_EINVAL, "'%s' is not an SQLite database (%s)", path,
		     db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_close(db);
	return EP_EINVAL;
}

int store_open_read(const char *path, struct sqlite3 **out, struct ep_error *err)
{
	bool exists, writable;
	int why, rc = check_place(path, false, &exists, &writable, &why, err);
	char what[PATH_MAX + 4];

	*out = NULL;
	if (rc)
		return rc;
	EP_CHECK(open_read(path, out, err));
	snprintf(what, sizeof(what), "'%s'", path);
	rc = store_check_schema(*out, what, err);
	if (rc) {
		sqlite3_close(*out);
		*out = NULL;
	}
	return rc;
}

void store_db_close(struct sqlite3 *db)
{
	sqlite3_close(db);
}

static int prepare_statements(struct store *s, struct ep_error *err)
{
	if ((!s->read_only &&
	     sqlite3_prepare_v2(s->db,
				"INSERT OR IGNORE INTO results VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
				"?,?,?,?,?,?,?,?,?,?,?)",
				-1, &s->insert, NULL) != SQLITE_OK) ||
	    sqlite3_prepare_v2(s->db,
			       "SELECT 1 FROM results WHERE model=? AND mem_bytes=? AND nodes=? AND "
			       "cluster=? AND algo=? AND variant=? AND bw_classes=? AND trial=? AND "
			       "seed=? AND compute=?",
			       -1, &s->has, NULL) != SQLITE_OK)
		return db_fail(s, err, s->path);
	return EP_OK;
}

int store_open_mode(const char *path, enum store_mode mode, struct store **out,
		    struct ep_error *err)
{
	struct store *s = calloc(1, sizeof(*s));
	bool exists, writable;
	int rc, why;

	*out = NULL;
	if (!s)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	s->batch = 256;
	s->lock_fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	EP_CHECK_GOTO(check_place(path, mode != STORE_READ, &exists, &writable, &why, err), rc, fail);
	if (mode == STORE_READ || (mode == STORE_WRITE_OR_READ && exists && !writable)) {
		s->read_only = true;
		rc = store_open_read(path, &s->db, err);
		if (!rc)
			rc = prepare_statements(s, err);
		if (rc)
			goto fail;
		*out = s;
		return EP_OK;
	}
	if (!writable) {
		char dir[PATH_MAX];

		dir_of(path, dir, sizeof(dir));
		rc = exists ? ep_error_set(err, EP_EIO, "database '%s' is read-only (the file or "
					   "directory '%s' is %s): it cannot be written", path,
					   dir, why_str(why))
			    : ep_error_set(err, EP_EIO, "cannot create database '%s': directory "
					   "'%s' is %s", path, dir, why_str(why));
		goto fail;
	}
	if (sqlite3_open(path, &s->db) != SQLITE_OK) {
		rc = ep_error_set(err, EP_EIO, "cannot open database '%s': %s", path,
				  s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	/* One writer at a time (sweep or merge), refused at once rather than after a busy
	 * timeout with its rows computed: an advisory lock on the file, released at close or
	 * when the process dies. SQLite's own locks are POSIX record locks, which flock does
	 * not touch on a local filesystem. */
	s->lock_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK
			     ? ep_error_set(err, EP_EIO, "database '%s' is being written by another "
					    "edgepipe sweep or merge: wait until it ends, or write to "
					    "another file and merge them", path)
			     : ep_error_set(err, EP_EIO, "cannot lock database '%s': %s", path,
					    strerror(errno));
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	rc = prepare_schema(s, path, err);
	if (!rc)
		rc = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err);
	if (!rc)
		rc = prepare_statements(s, err);
	if (rc)
		goto fail;
	*out = s;
	return EP_OK;
fail:
	store_close(s);
	return rc;
}

int store_open(const char *path, struct store **out, struct ep_error *err)
{
	return store_open_mode(path, STORE_WRITE, out, err);
}

bool store_read_only(const struct store *s)
{
	return s->read_only;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (!s->read_only && s->db)
		store_flush(s, NULL);
	sqlite3_finalize(s->insert);
	sqlite3_finalize(s->has);
	sqlite3_close(s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* after SQLite has checkpointed and closed */
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

/* ---- the options a database's rows were computed with ---- */

static const struct store_option *find_option(const struct store_option *o, int n,
					      const char *name);

/*
 * Files written before the algorithms' options moved into their registry entries (2a398c4)
 * recorded feltin's cut limit as "(max split)" and had no "--parallel" (always off then): read
 * them under today's names, so that such a sweep still resumes and merges.
 */
static int upgrade_legacy_options(struct store_option *o, int n, int max)
{
	struct store_option *legacy = NULL;

	for (int i = 0; i < n; i++)
		if (strcmp(o[i].name, "(max split)") == 0)
			legacy = &o[i];
	if (!legacy || find_option(o, n, "--max-split"))
		return n;
	snprintf(legacy->name, sizeof(legacy->name), "--max-split");
	if (!find_option(o, n, "--parallel") && n < max) {
		snprintf(o[n].name, sizeof(o[n].name), "--parallel");
		snprintf(o[n].value, sizeof(o[n].value), "off");
		n++;
	}
	return n;
}

/* The recorded options of `db` ("option:NAME" rows of meta), at most `max`, under today's
 * names. */
static int read_options(sqlite3 *db, struct store_option *o, int max)
{
	sqlite3_stmt *st;
	int n = 0;

	if (sqlite3_prepare_v2(db, "SELECT substr(key, 8), value FROM meta WHERE key LIKE "
				   "'option:%' ORDER BY key", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		snprintf(o[n].name, sizeof(o[n].name), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(o[n].value, sizeof(o[n].value), "%s",
			 sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
		n++;
	}
	sqlite3_finalize(st);
	return upgrade_legacy_options(o, n, max);
}

static const struct store_option *find_option(const struct store_option *o, int n,
					      const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(o[i].name, name) == 0)
			return &o[i];
	return NULL;
}

/* The first option on which `a` and `b` differ (either way), or -1: *name, *va, *vb. */
static bool options_differ(const struct store_option *a, int na, const struct store_option *b,
			   int nb, const char **name, const char **va, const char **vb)
{
	for (int i = 0; i < na; i++) {
		const struct store_option *x = find_option(b, nb, a[i].name);

		if (!x || strcmp(x->value, a[i].value) != 0) {
			*name = a[i].name;
			*va = a[i].value;
			*vb = x ? x->value : "(not recorded)";
			return true;
		}
	}
	for (int i = 0; i < nb; i++)
		if (!find_option(a, na, b[i].name)) {
			*name = b[i].name;
			*va = "(not recorded)";
			*vb = b[i].value;
			return true;
		}
	return false;
}

static long count_rows(sqlite3 *db)
{
	sqlite3_stmt *st;
	long n = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM results", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int write_options(struct store *s, const struct store_option *o, int n,
			 struct ep_error *err)
{
	sqlite3_stmt *st;
	int rc = EP_OK;

	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta VALUES('option:' || ?, ?)", -1,
			       &st, NULL) != SQLITE_OK)
		return db_fail(s, err, s->path);
	for (int i = 0; i < n && !rc; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, o[i].name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, o[i].value, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(s, err, "recording the sweep's options");
	}
	sqlite3_finalize(st);
	return rc;
}

int store_bind_options(struct store *s, const struct store_option *o, int n,
		       struct ep_error *err)
{
	struct store_option rec[STORE_MAX_OPTIONS];
	int nrec = read_options(s->db, rec, STORE_MAX_OPTIONS);
	const char *name, *va, *vb;
	long rows = count_rows(s->db);
	int rc;

	if (nrec < 0 || rows < 0)
		return db_fail(s, err, s->path);
	if (nrec == 0 && rows > 0)
		return ep_error_set(err, EP_EINVAL, "database '%s' holds %ld rows but does not "
				    "record the options they were computed with (an older "
				    "edgepipe wrote it): sweep into another file", s->path, rows);
	if (nrec == 0) {
		if (s->read_only)
			return EP_OK;
		rc = exec(s, "BEGIN", err);
		if (!rc)
			rc = write_options(s, o, n, err);
		if (!rc)
			return exec(s, "COMMIT", err);
		exec(s, "ROLLBACK", NULL);
		return rc;
	}
	if (options_differ(o, n, rec, nrec, &name, &va, &vb))
		return ep_error_set(err, EP_EINVAL, "database '%s' holds rows computed with %s %s; "
				    "this run has %s %s. Rows are resumed only under the options "
				    "they were computed with: sweep into another file, or rerun "
				    "with the recorded options (table meta)", s->path, name, vb,
				    name, va);
	return EP_OK;
}

/* ---- merge ---- */

/* Copy every row of table `table` of `src` into `dst_table` of s (same columns). */
static int copy_rows(struct store *s, sqlite3 *src, const char *table, const char *dst_table,
		     const char *what, struct ep_error *err)
{
	sqlite3_stmt *in = NULL, *out = NULL;
	char sql[4096];
	int cols, rc = EP_OK, step;
	size_t k;

	snprintf(sql, sizeof(sql), "SELECT * FROM %s", table);
	if (sqlite3_prepare_v2(src, sql, -1, &in, NULL) != SQLITE_OK)
		return ep_error_set(err, EP_EIO, "reading %s: %s", what, sqlite3_errmsg(src));
	cols = sqlite3_column_count(in);
	k = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES(", dst_table);
	for (int i = 0; i < cols && k < sizeof(sql); i++)
		k += (size_t)snprintf(sql + k, sizeof(sql) - k, "%s?", i ? "," : "");
	snprintf(sql + k, sizeof(sql) - k, ")");
	if (sqlite3_prepare_v2(s->db, sql, -1, &out, NULL) != SQLITE_OK) {
		rc = ep_error_set(err, EP_EINVAL, "%s does not have the columns of '%s' (%s)", what,
				  s->path, sqlite3_errmsg(s->db));
		goto done;
	}
	while ((step = sqlite3_step(in)) == SQLITE_ROW) {
		sqlite3_reset(out);
		for (int i = 0; i < cols; i++)
			sqlite3_bind_value(out, i + 1, sqlite3_column_value(in, i));
		if (sqlite3_step(out) != SQLITE_DONE) {
			rc = db_fail(s, err, "merging");
			goto done;
		}
	}
	if (step != SQLITE_DONE)
		rc = ep_error_set(err, EP_EIO, "reading %s: %s", what, sqlite3_errmsg(src));
done:
	sqlite3_finalize(in);
	sqlite3_finalize(out);
	return rc;
}

/*
 * Rows of temp.in_results whose key is in main.results with other values: EP_EINVAL naming
 * the count, the first such row's key, the column and both values.
 */
static int check_conflicts(struct store *s, const char *what, struct ep_error *err)
{
	char sql[4096], cond[1024] = "", cases[2048] = "";
	size_t kc = 0, kw = 0;
	sqlite3_stmt *st;
	int rc = EP_OK;

	for (size_t i = 0; i < sizeof(value_columns) / sizeof(value_columns[0]); i++) {
		const char *c = value_columns[i];

		kc += (size_t)snprintf(cond + kc, sizeof(cond) - kc, "%si.%s IS NOT m.%s",
				       i ? " OR " : "", c, c);
		kw += (size_t)snprintf(cases + kw, sizeof(cases) - kw,
				       " WHEN i.%s IS NOT m.%s THEN '%s: ' || quote(i.%s) || "
				       "' there, ' || quote(m.%s) || ' here'", c, c, c, c, c);
	}
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) OVER (), i.model, i.mem_bytes, i.nodes, i.cluster, i.algo, "
		 "i.variant, i.bw_classes, i.trial, i.seed, i.compute, CASE%s END "
		 "FROM temp.in_results i JOIN main.results m USING(" KEY_COLUMNS ") WHERE %s "
		 "LIMIT 1", cases, cond);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, err, "checking merged rows");
	if (sqlite3_step(st) == SQLITE_ROW)
		rc = ep_error_set(err, EP_EINVAL, "%s conflicts with '%s': %lld row(s) have a key "
				  "already stored with other values, the first (%s, %.0f bytes, "
				  "N = %d, %s, %s, %s, classes %d, trial %d, seed %lld, %s) in %s. "
				  "Nothing was merged", what, s->path,
				  (long long)sqlite3_column_int64(st, 0),
				  (const char *)sqlite3_column_text(st, 1), sqlite3_column_double(st, 2),
				  sqlite3_column_int(st, 3), (const char *)sqlite3_column_text(st, 4),
				  (const char *)sqlite3_column_text(st, 5),
				  (const char *)sqlite3_column_text(st, 6), sqlite3_column_int(st, 7),
				  sqlite3_column_int(st, 8), (long long)sqlite3_column_int64(st, 9),
				  (const char *)sqlite3_column_text(st, 10),
				  (const char *)sqlite3_column_text(st, 11));
	sqlite3_finalize(st);
	return rc;
}

/* Merge one input inside the caller's transaction. */
static int merge_one(struct store *s, const char *path, struct ep_error *err)
{
	struct store_option mine[STORE_MAX_OPTIONS], theirs[STORE_MAX_OPTIONS];
	sqlite3 *in = NULL;
	char what[PATH_MAX + 4];
	const char *name, *va, *vb;
	int rc = store_open_read(path, &in, err), nm, nt;
	long rows_in, rows_here;

	if (rc)
		return rc;
	snprintf(what, sizeof(what), "'%s'", path);
	nm = read_options(s->db, mine, STORE_MAX_OPTIONS);
	nt = read_options(in, theirs, STORE_MAX_OPTIONS);
	rows_in = count_rows(in);
	rows_here = count_rows(s->db);
	if (nm < 0 || nt < 0 || rows_in < 0 || rows_here < 0) {
		rc = ep_error_set(err, EP_EIO, "reading the options of %s", what);
		goto out;
	}
	if (nt == 0 && rows_in > 0) {
		rc = ep_error_set(err, EP_EINVAL, "%s holds %ld rows but does not record the "
				  "options they were computed with (an older edgepipe wrote it)",
				  what, rows_in);
		goto out;
	}
	if (nm == 0 && rows_here == 0) {
		rc = write_options(s, theirs, nt, err);
	} else if (rows_in > 0 && options_differ(theirs, nt, mine, nm, &name, &va, &vb)) {
		rc = ep_error_set(err, EP_EINVAL, "%s was swept with %s %s, but '%s' holds rows "
				  "computed with %s %s: merging them would mix configurations",
				  what, name, va, s->path, name, vb);
	}
	if (!rc)
		rc = exec(s, "DELETE FROM temp.in_results; DELETE FROM temp.in_runs;", err);
	if (!rc)
		rc = copy_rows(s, in, "results", "temp.in_results", what, err);
	if (!rc)
		rc = copy_rows(s, in, "runs", "temp.in_runs", what, err);
	if (!rc)
		rc = check_conflicts(s, what, err);
	if (!rc)
		rc = exec(s, "INSERT OR IGNORE INTO main.runs SELECT * FROM temp.in_runs;"
			     "INSERT OR IGNORE INTO main.results SELECT * FROM temp.in_results;",
			  err);
out:
	sqlite3_close(in);
	return rc;
}

int store_merge(struct store *s, const char *const *inputs, int n, long *added,
		struct ep_error *err)
{
	long before = store_count(s);
	int rc = store_flush(s, err);

	if (added)
		*added = 0;
	if (rc)
		return rc;
	rc = exec(s, "CREATE TEMP TABLE IF NOT EXISTS in_results AS SELECT * FROM main.results "
		     "WHERE 0; CREATE TEMP TABLE IF NOT EXISTS in_runs AS SELECT * FROM main.runs "
		     "WHERE 0; BEGIN",
		  err);
	if (rc)
		return rc;
	/* All inputs or none: a conflict in the last one leaves the output as it was. */
	for (int i = 0; i < n && !rc; i++)
		rc = merge_one(s, inputs[i], err);
	if (rc) {
		exec(s, "ROLLBACK", NULL);
		return rc;
	}
	rc = exec(s, "COMMIT", err);
	if (!rc && added)
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
