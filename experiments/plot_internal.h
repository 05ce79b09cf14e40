/*
 * plot_internal: what plot.c and summary.c share: the result rows of a sweep database loaded
 * into memory with their names interned, the statistics over trials, and the wording of the
 * exclusion counts.
 *
 * Rows are sorted by (variant, cluster, model, mem_bytes, algo, bw_classes, nodes, trial, seed),
 * every name compared byte by byte, so every group and every file comes out in one order.
 * A result's status decides whether it enters a mean: only 'ok' rows with a bottleneck do;
 * every other row is counted in `excluded` by its status, never averaged in as 0.
 */
#ifndef EDGEPIPE_PLOT_INTERNAL_H
#define EDGEPIPE_PLOT_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ep_error.h"

struct sqlite3;

/* A row's status. Everything before PLOT_S_OK is excluded from means. */
enum plot_status {
	PLOT_S_FAILED = 0,
	PLOT_S_INFEASIBLE,
	PLOT_S_LIMIT,
	PLOT_S_NO_VALUE, /* 'ok' without a bottleneck (not written by store.c; counted, not used) */
	PLOT_S_OTHER,	 /* a status this reader does not know */
	PLOT_S_OK,
};
#define PLOT_S_EXCLUDED_COUNT PLOT_S_OK

/*
 * Why a trial is not in a mean: its own status, or, for a value paired with a reference
 * algorithm (the gap to optimal), the reference row's status, its absence, or a reference
 * bottleneck of 0 (a ratio with it is undefined).
 */
enum {
	PLOT_X_REF = PLOT_S_EXCLUDED_COUNT, /* + the reference row's status */
	PLOT_X_REF_MISSING = 2 * PLOT_S_EXCLUDED_COUNT,
	PLOT_X_REF_ZERO,
	PLOT_X_COUNT_,
};

struct plot_names {
	char **name; /* sorted by strcmp, owned */
	int n;
};

struct plot_row {
	int variant, cluster, model, algo; /* indices into plot_data's name tables */
	double mem_bytes;
	int nodes, bw_classes, trial;
	int64_t seed;
	enum plot_status status;
	double bottleneck_s; /* NAN unless status is PLOT_S_OK */
	double solve_s;	     /* NAN when not recorded */
};

struct plot_data {
	struct plot_row *rows; /* sorted, see above */
	size_t n;
	struct plot_names variants, clusters, models, algos;
	/* The class count shown for algorithms with bandwidth classes; 0 when no row has one. */
	int classes;
	/* Algorithm indices, -1 when the database has no row of it. */
	int optimal, seifer, random, greedy;
};

/*
 * Load every row of `results`. `classes` > 0 picks the class count shown for algorithms with
 * bandwidth classes (EP_EINVAL naming it, and those present, when no row has it); 0 picks 8 if
 * present, else the median of the class counts present (the lower one of an even count).
 * Returns EP_OK, EP_EINVAL (not our schema), EP_ENOMEM or EP_EIO (SQLite's message).
 * `d` is filled on success only; release it with plot_release.
 */
int plot_load(struct sqlite3 *db, int classes, struct plot_data *d, struct ep_error *err);
void plot_release(struct plot_data *d);

/* Whether a row is among those shown: no bandwidth classes, or the chosen class count. */
bool plot_in_view(const struct plot_data *d, const struct plot_row *r);

/*
 * The row with the key of `like` except algorithm `algo` and class count `bw`, or NULL.
 * Complexity: O(log rows).
 */
const struct plot_row *plot_find(const struct plot_data *d, const struct plot_row *like, int algo,
				 int bw);

/* "seifer C=8" or "greedy" into buf. */
const char *plot_series_name(const struct plot_data *d, int algo, int bw, char *buf, size_t size);

/* A mean over trials (Welford) and the count of excluded trials by reason (PLOT_X_* above). */
struct plot_stats {
	long n;
	double mean, m2;
	long excluded[PLOT_X_COUNT_];
};

void plot_stats_add(struct plot_stats *s, double x);
void plot_stats_exclude(struct plot_stats *s, int reason);
/* Add b's values and exclusions to a (Chan et al.'s pairwise update). */
void plot_stats_merge(struct plot_stats *a, const struct plot_stats *b);
long plot_stats_excluded(const struct plot_stats *s);
/* Sample standard deviation; 0 when n < 2. */
double plot_stats_sd(const struct plot_stats *s);
/*
 * Half-width of the 95 % confidence interval of the mean: t(0.975, n - 1) s / sqrt(n), with
 * Student's t quantile from GSL. 0 when n < 2 (no interval).
 */
double plot_stats_ci95(const struct plot_stats *s);

/*
 * The exclusions in words: "1 failed, 2 infeasible; optimal: 3 limit, 1 missing" or "none".
 * `ref` names the reference algorithm of paired values (may be NULL when there is none).
 */
const char *plot_excluded_text(const long excluded[PLOT_X_COUNT_], const char *ref, char *buf,
			       size_t size);

/*
 * Run `gnuplot` on `script` in directory `dir` (stdin from /dev/null). EP_OK, or EP_EIO with
 * gnuplot's first output when it fails (plot.c; plot_lprofile.c uses it too).
 */
int plot_run_gnuplot(const char *gnuplot, const char *dir, const char *script,
		     struct ep_error *err);

/* `in` reduced to [A-Za-z0-9._+-] (others become '_'), for a file name and a gnuplot string. */
void plot_safe_name(const char *in, char *out, size_t size);

/*
 * A figure's file written atomically: plot_file_open creates DIR/BASE.EXT.tmp, the caller
 * writes to pf->f, plot_file_commit checks the writes, closes and renames it to DIR/BASE.EXT
 * (a reader sees the old file or the whole new one, never a part); plot_file_abort (on any
 * path, also after a commit: then it does nothing) closes and removes the temporary file.
 * EP_EIO naming the path.
 */
struct plot_file {
	FILE *f;
	char path[PATH_MAX + 256], tmp[PATH_MAX + 264];
};
int plot_file_open(struct plot_file *pf, const char *dir, const char *base, const char *ext,
		   struct ep_error *err);
int plot_file_commit(struct plot_file *pf, struct ep_error *err);
void plot_file_abort(struct plot_file *pf);

/* The gnuplot lines that select the SVG (svg true) or PNG terminal (pngcairo when present) of
 * width x height pixels, as every figure script of ours writes them. */
void plot_terminal(FILE *gp, bool svg, int width, int height);

#endif
