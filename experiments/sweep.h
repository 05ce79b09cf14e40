/*
 * sweep: a grid of independent runs (model x memory x nodes x cluster x variant x trial, and in
 * each cell every algorithm, seifer once per bandwidth-class count), run by N worker processes
 * into one SQLite store (store.h).
 *
 * Cells are numbered in that order (trial innermost). --shard I/N takes the cells whose number
 * is I modulo N, so shards are disjoint and their union is the grid; `edgepipe merge` unions
 * their databases. A rerun of the same command skips the cells whose rows are all stored, so a
 * killed sweep finishes only what is missing; the store's key prevents duplicates.
 *
 * Pairing: a cell's cluster depends only on (seed, trial, nodes) (cluster_trial_seed), so every
 * algorithm, memory size and class count of a trial sees the same cluster.
 *
 * The published DP's memo is global across a sweep (defect D2): for the published variant each
 * worker keeps one memo per model, filled by the grid's first (memory, nodes) cell of that
 * model, as the notebooks' first call (N = 5, 64 MiB) filled theirs; that call fills every
 * entry and later calls only read them. This keeps the defect reproducible whatever the
 * sharding, worker count or resumption.
 */
#ifndef EDGEPIPE_SWEEP_H
#define EDGEPIPE_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "algo.h"
#include "cluster.h"
#include "ep_error.h"
#include "store.h"

#define SWEEP_MAX_AXIS 64

struct sweep_grid {
	const char *models[SWEEP_MAX_AXIS];
	int n_models;
	/* Per model: its layer profile (measured compute, problem.h), or NULL for FLOPs / speed.
	 * The rows record it in their compute column ("profile:BASENAME" or "flops"). */
	const char *compute_profiles[SWEEP_MAX_AXIS];
	double mems[SWEEP_MAX_AXIS]; /* bytes */
	int n_mems;
	int nodes[SWEEP_MAX_AXIS];
	int n_nodes;
	int bw_classes[SWEEP_MAX_AXIS]; /* seifer's C axis */
	int n_bw_classes;
	const struct algo *algos[SWEEP_MAX_AXIS];
	int n_algos;
	enum algo_variant variants[2];
	int n_variants;
	enum cluster_kind clusters[CLUSTER_KIND_COUNT_];
	int n_clusters;
	int trials;
	uint64_t seed;
	/* Everything else of the cluster (ranges, latency, speed, file); kind, n and memory are
	 * set per cell. */
	struct cluster_spec cluster_base;
	/* Options for every algorithm ("bw-classes", variant and memo are set per row). */
	struct algo_options algo_base;
	bool parallel; /* nodes may hold several stages (the problem's shared_nodes) */
	/* Also simulate every plan (sim_pipeline): a closed loop with enough requests in flight to
	 * keep every stage and link busy (2 stages + 2), deterministic times, no failures and so
	 * no retries, `sim_requests` requests of which the first tenth are warm-up. */
	bool sim;
	int64_t sim_requests;
	int shard_index, shard_count; /* 0 and 1 for the whole grid */
	int jobs;                     /* worker processes; 1 runs in this process */
	bool progress;                /* print progress on stderr */
};

/* An empty grid with the defaults: geometric cluster, 1 trial, seed 1, no shards, 1 job. */
void sweep_grid_init(struct sweep_grid *g);

/*
 * Parse axis values into `out` (at most SWEEP_MAX_AXIS): a list "a,b,c" or, for integers, also
 * ranges "start:end:step" (inclusive, step > 0) mixed with values: "5,10:20:5" = 5,10,15,20.
 * Returns the count or a negative EP_E* with the offending text named in err.
 */
int sweep_parse_ints(const char *axis, const char *s, int min, int max, int *out,
		     struct ep_error *err);
int sweep_parse_sizes(const char *axis, const char *s, double *out, struct ep_error *err);

/*
 * Split the comma list `buf` of option `axis` in place into at most `max` pointers into it.
 * Returns the count, or EP_EINVAL naming the option and the value: an empty element ("--algo
 * ',': element 1 is empty"), more than `max` values, a value given twice.
 */
int sweep_parse_list(const char *axis, char *buf, const char **out, int max, struct ep_error *err);

/*
 * The list axes of `g` from their option's value (errors EP_EINVAL naming the option and the
 * value, EP_ENOMEM): --model (a list, split in place: g->models point into `list`, which the
 * caller keeps while `g` is used), --algo (a list of registry names, or "all"), --variant
 * (corrected, published, a list of them, or "both") and --cluster (geometric, uniform, classes,
 * file).
 */
int sweep_grid_parse_models(struct sweep_grid *g, char *list, struct ep_error *err);
int sweep_grid_parse_algos(struct sweep_grid *g, const char *s, struct ep_error *err);
int sweep_grid_parse_variants(struct sweep_grid *g, const char *s, struct ep_error *err);
int sweep_grid_parse_clusters(struct sweep_grid *g, const char *s, struct ep_error *err);

/*
 * Open every model of `g` (a zoo name or a model file), so that a typo fails before the first
 * row; with n_profiles > 0 give each model its layer profile among `profiles` (files of
 * 'edgepipe profile', matched by the model name they record, checked against the model) in
 * g->compute_profiles. EP_ENOTFOUND/EP_EINVAL naming the model or the profiles.
 */
int sweep_grid_set_models(struct sweep_grid *g, const char *const *profiles, int n_profiles,
			  struct ep_error *err);

/*
 * The options of `g` that change a row's numbers without being in its key (store.h): the
 * cluster details (speed, speed factors, latency, bandwidth range, link classes, the cluster
 * file's content, geometric side ...), the algorithm options (--stages, --failure-prob,
 * --force, --time-limit, --max-split: every option of the registry's algorithms but
 * "bw-classes", a key column), --parallel, the simulation (--sim, --sim-requests) and the layer profiles'
 * content. Returns the count (at most STORE_MAX_OPTIONS) or EP_EIO when a file cannot be read.
 */
int sweep_options(const struct sweep_grid *g, struct store_option *out, struct ep_error *err);

/* Rows of this shard not yet in `store` (a read-only sweep can only report them). */
long sweep_missing_rows(const struct sweep_grid *g, struct store *store);

/* Cells in the whole grid, in this shard, and rows per cell. */
long sweep_cells(const struct sweep_grid *g);
int sweep_rows_per_cell(const struct sweep_grid *g);

/*
 * Run the grid (this shard) into `store`: skip stored rows, compute the missing ones with
 * g->jobs workers, insert them in batches. `*done` receives the rows computed now.
 * Returns EP_OK or the first error (a bad model name, the database). Infeasible plans are rows,
 * not errors.
 */
int sweep_run(const struct sweep_grid *g, struct store *store, long *done,
	      struct ep_error *err);

/*
 * A whole sweep into the database file `path`: open it (created if missing; read only when its
 * medium or permissions say so), bind the grid's options (a file swept with other values is
 * refused: store.h), and run the missing rows (sweep_run) in a run recorded with `command` and
 * `shard_text` ("3/16 slurm ..."). *done receives the rows computed now, *rows the rows in the
 * file at the end. A read-only file with no row missing: EP_OK, *read_only set, nothing
 * computed; with rows missing: EP_EIO naming their count.
 */
int sweep_run_file(const struct sweep_grid *g, const char *path, const char *command,
		   const char *shard_text, long *done, long *rows, bool *read_only,
		   struct ep_error *err);

#endif
