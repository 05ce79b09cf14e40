/*
 * store: the SQLite result store of sweeps (and the schema other tools read).
 *
 * Schema (version 2):
 *
 *   runs(run_id TEXT PRIMARY KEY, version TEXT, command TEXT, host TEXT, started TEXT,
 *        finished TEXT, shard TEXT)
 *     one row per invocation of `edgepipe sweep` that wrote to the file; started/finished are
 *     UTC ISO 8601; finished is NULL for a run that was killed. shard is "I/N" followed by
 *     where the shard came from ("3/16 slurm SLURM_ARRAY_TASK_ID=4 of 1..16 step 1";
 *     experiments/sweep_shard.h).
 *
 *   results(model, mem_bytes, nodes, cluster, algo, variant, bw_classes, trial, seed,   -- key
 *           cluster_seed, run_id, version, status, reason, stages, plan, bottleneck_s,
 *           throughput, sum_transfer_bits, gaps, over_memory, solve_s,
 *           sim_throughput, sim_latency_mean_s, sim_latency_p50_s, sim_latency_p95_s,
 *           sim_latency_p99_s, compute)                                            -- + key
 *     one row per (configuration, algorithm, trial, compute source). compute is 'flops' (FLOPs /
 *     node speed, the published assumption) or 'profile:FILE' (measured layer times of the
 *     layer profile FILE, its base name, / node speed factors; problem.h); version 1 had no
 *     compute column (every row was 'flops') and is refused. bw_classes is 0 for algorithms without
 *     bandwidth classes. status is 'ok', 'infeasible' (no valid plan exists or the method found
 *     none; reason says which), 'limit' (too large for the method) or 'failed'. plan is the
 *     stages as "node:first_cut-end_cut" joined by ' '. throughput is NULL when infinite (one
 *     stage under the published metric). The sim_* columns are NULL unless the sweep ran the
 *     simulator. An exact algorithm (optimal) states its proof in the reason of its ok rows
 *     ("proven optimal (search): no valid plan below B s; K search nodes"); stopped by a time
 *     limit, its row has status 'limit', the best plan found and its bottleneck, and the reason
 *     gives the lower bound and the gap.
 *
 *   meta(key, value): 'schema' = the version; 'option:NAME' = the value of every option that
 *     changes a number without being a key column (--latency, --speed, --bw-range, the cluster
 *     file's content, --sim ...; sweep_options), recorded by the first sweep into the file.
 *     A later sweep with other values is refused (store_bind_options), so a row's key and the
 *     file's options together identify what was computed; merge refuses inputs whose options
 *     differ, and rows whose key is stored with other values.
 *
 * The key makes a row unique, so a resumed or merged sweep cannot duplicate one. The file is in
 * WAL mode; rows are inserted in batched transactions by one writer process, which holds an
 * advisory lock (flock) on the file: a second sweep or merge into it is refused at the start.
 * Never let several processes write one file over a network filesystem: shard and merge
 * instead. A database on a read-only medium is read without WAL side files (immutable).
 */
#ifndef EDGEPIPE_STORE_H
#define EDGEPIPE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "ep_error.h"

struct sqlite3;

#define STORE_SCHEMA_VERSION 2

/* One result row. Strings are copied by store_insert. */
struct store_row {
	/* key */
	char model[64];
	double mem_bytes;
	int nodes;
	char cluster[16];
	char algo[16];
	char variant[16];
	int bw_classes;
	int trial;
	uint64_t seed;
	char compute[80]; /* "flops" (also when empty) or "profile:NAME" */
	/* values */
	uint64_t cluster_seed;
	char status[16];
	char reason[512];
	int stages;
	char plan[1024];
	double bottleneck_s;
	double throughput;      /* INFINITY is stored as NULL */
	double sum_transfer_bits;
	int gaps;
	int over_memory;
	double solve_s;
	bool has_sim;
	double sim_throughput;
	double sim_latency_mean_s, sim_latency_p50_s, sim_latency_p95_s, sim_latency_p99_s;
};

struct store;

enum store_mode {
	STORE_WRITE,         /* create if missing; one writer at a time */
	STORE_READ,          /* an existing database, read-only (store_has, store_count) */
	STORE_WRITE_OR_READ, /* STORE_WRITE, or STORE_READ when the file exists on a read-only
			      * medium or without write permission (store_read_only says which) */
};

/*
 * Open the database at `path` in `mode`. Errors name the place: "'x' is a directory, not a
 * database file", "cannot create database 'd/x.db': directory 'd' does not exist", "... is on a
 * read-only filesystem", "database 'x' is being written by another edgepipe sweep or merge"
 * (EP_EIO, at once, without waiting). store_open is store_open_mode(STORE_WRITE).
 */
int store_open_mode(const char *path, enum store_mode mode, struct store **out,
		    struct ep_error *err);
bool store_read_only(const struct store *s);

/*
 * Open an existing result database read-only for queries (plot, summary, merge inputs): the
 * schema is checked (store_check_schema). Works on read-only media. The handle is closed with
 * sqlite3_close.
 */
int store_open_read(const char *path, struct sqlite3 **out, struct ep_error *err);
/* sqlite3_close for callers that do not include sqlite3.h. Accepts NULL. */
void store_db_close(struct sqlite3 *db);

/* One option of the sweep that wrote the rows (meta 'option:NAME'). */
#define STORE_MAX_OPTIONS 32
struct store_option {
	char name[32];   /* as the command line spells it: "--latency" */
	char value[256]; /* canonical text: "0.001 s" */
};

/*
 * Bind the database to the options of this run: a database without rows records them; one
 * with rows must have recorded the same (name and value), else EP_EINVAL naming the first
 * option that differs with both values. A read-only store only compares.
 */
int store_bind_options(struct store *s, const struct store_option *o, int n,
		       struct ep_error *err);

/* Open (creating if needed) the database at `path` in WAL mode with the schema above.
 * EP_EIO with SQLite's message when it cannot; EP_EINVAL when the file is not an SQLite
 * database, or not an edgepipe one of this schema version (it is left untouched). */
int store_open(const char *path, struct store **out, struct ep_error *err);
/* Commit what is pending and close. Accepts NULL. */
void store_close(struct store *s);

/* Record this invocation in `runs`; its id goes into every row inserted afterwards. */
int store_begin_run(struct store *s, const char *command, const char *shard,
		    struct ep_error *err);
/* Set the run's finished time (a run without it was killed). */
int store_end_run(struct store *s, struct ep_error *err);

/*
 * Whether the row with this key is already stored. Complexity: O(log rows) (primary key).
 */
bool store_has(struct store *s, const struct store_row *key);

/*
 * Insert a row (ignored if its key is stored). Rows are grouped in transactions committed every
 * `batch` rows (store_set_batch, default 256) and on store_flush / store_close.
 */
int store_insert(struct store *s, const struct store_row *row, struct ep_error *err);
int store_flush(struct store *s, struct ep_error *err);
void store_set_batch(struct store *s, int batch);

/* Rows in `results`; -1 on error. */
long store_count(struct store *s);

/* Union the results and runs of the databases `inputs` into `s` (rows already present are kept
 * once), all or nothing. Refused (EP_EINVAL, naming the input) when an input's recorded options
 * differ from the output's, or when a row's key is stored with other values (the message
 * names the row, the column and both values); an output without rows takes the first input's
 * options. Inputs are only read (store_open_read). Returns EP_OK or EP_EIO/EP_EINVAL. */
int store_merge(struct store *s, const char *const *inputs, int n, long *added,
		struct ep_error *err);

/* PRAGMA integrity_check: EP_OK when SQLite answers "ok". */
int store_check(struct store *s, struct ep_error *err);

/*
 * Check that `db` is an edgepipe result database of STORE_SCHEMA_VERSION; `what` names it in
 * the message ("'results.db'"). EP_OK or EP_EINVAL.
 */
int store_check_schema(struct sqlite3 *db, const char *what, struct ep_error *err);

/* The underlying handle, for the plot and summary queries. */
struct sqlite3 *store_db(struct store *s);

#endif
