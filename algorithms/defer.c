/*
 * defer: DEFER's way, as a baseline (Parthasarathy et al., "DEFER: Distributed Edge Inference
 * for Deep Neural Networks", COMSNETS 2022): cut the model into K stages of equal compute, as
 * near as the cut points allow, and chain them over the nodes in the cluster's order:
 * dispatcher -> node 0 -> node 1 -> ... -> node K-1 -> dispatcher.
 *
 * K is options->stages; 0 means "as many as nodes", capped at the m-1 segments the model has (a
 * stage holds at least one segment), so that the default works on any cluster. An explicit K
 * larger than the nodes or the segments is infeasible (EP_EINFEASIBLE, saying which); a
 * negative one is EP_EINVAL.
 *
 * "Equal compute as near as the cut points allow": the cuts minimise the largest stage's FLOPs
 * (a min-max dynamic program over (stages, cut)); among the partitions that reach that minimum,
 * the one with the least sum of squared stage FLOPs is chosen, so that the stages other than the
 * largest are balanced too (ties are broken the same way every time). FLOPs are the profile's
 * cumulative counts, whatever the nodes' speeds: DEFER splits the work evenly and assumes equal
 * devices.
 *
 * Memory: DEFER does not consider memory. A plan with a stage that does not fit its node's
 * memory cannot be deployed, so instead of returning it defer reports EP_EINFEASIBLE naming the
 * first such stage, its size and the node's capacity (in both variants: the variant concerns
 * SEIFER's published behaviour, not DEFER's).
 *
 * Complexity: O(K m^2) time, O(K m) memory.
 */
#include <math.h>
#include <stdlib.h>

#include "algo_internal.h"

#define MIB (1024.0 * 1024.0)

static inline double stage_flops(const struct problem *p, int a, int b)
{
	return p->cum_flops[b] - p->cum_flops[a];
}

static const struct algo_option defer_options[] = {
	{ "stages", "K",
	  "number of stages (default min(N, M - 1) for a model of M cut\n"
	  "points: a stage per node, at most one per segment)",
	  algo_option_parse_int, algo_option_format_int, { .i = 0 }, 1, 100000 },
	{ NULL },
};

/* The number of stages: options->stages, or min(N, m - 1) for 0; refused when the cluster or
 * the model cannot hold that many. */
static int defer_stages(const struct problem *p, long asked, int *k, struct ep_error *err)
{
	int n = p->cluster->n, m = p->m;

	*k = (int)asked;
	if (*k < 0)
		return ep_error_set(err, EP_EINVAL,
				    "%d stages: must be positive (0: as many as nodes)", *k);
	if (*k == 0)
		*k = n < m - 1 ? n : m - 1;
	if (*k > n)
		return ep_error_set(err, EP_EINFEASIBLE,
				    "%d stages need %d nodes but the cluster has %d", *k, *k, n);
	if (*k > m - 1)
		return ep_error_set(err, EP_EINFEASIBLE,
				    "the model has %d segments between its %d cut points; it "
				    "cannot be cut into %d stages",
				    m - 1, m, *k);
	return EP_OK;
}

/* mx[j][b]: the least possible largest stage when j stages cover cuts 1 .. b (k + 1 rows of m,
 * INFINITY where none). Returns that of k stages over the whole model. */
static double defer_minmax(const struct problem *p, int k, double *mx)
{
	int m = p->m;

	for (size_t i = 0; i < (size_t)(k + 1) * (size_t)m; i++)
		mx[i] = INFINITY;
	mx[0] = 0;
	for (int j = 1; j <= k; j++)
		for (int b = j; b < m; b++) {
			double *cell = &mx[(size_t)j * (size_t)m + (size_t)b];

			for (int a = j - 1; a < b; a++) {
				double prev = mx[(size_t)(j - 1) * (size_t)m + (size_t)a];
				double f = stage_flops(p, a, b), v = f > prev ? f : prev;

				if (v < *cell)
					*cell = v;
			}
		}
	return mx[(size_t)k * (size_t)m + (size_t)(m - 1)];
}

/* sq[j][b]: the least sum of squares of j stages covering cuts 1 .. b with every stage <= limit;
 * from[j][b] the start of the last of them. */
static void defer_balance(const struct problem *p, int k, double limit, double *sq, int *from)
{
	int m = p->m;

	for (size_t i = 0; i < (size_t)(k + 1) * (size_t)m; i++)
		sq[i] = INFINITY;
	sq[0] = 0;
	for (int j = 1; j <= k; j++)
		for (int b = j; b < m; b++) {
			size_t cell = (size_t)j * (size_t)m + (size_t)b;

			for (int a = j - 1; a < b; a++) {
				double prev = sq[(size_t)(j - 1) * (size_t)m + (size_t)a];
				double f = stage_flops(p, a, b);

				if (f > limit || prev == INFINITY)
					continue;
				if (prev + f * f < sq[cell]) {
					sq[cell] = prev + f * f;
					from[cell] = a;
				}
			}
		}
}

/* Walk back from (k, m-1) to each stage's start (start[0..k]), then place stage j on node j. */
static int defer_place(const struct problem *p, int k, const int *from, int *start,
		       struct plan *out, struct ep_error *err)
{
	int m = p->m;

	start[k] = m - 1;
	for (int j = k; j >= 1; j--)
		start[j - 1] = from[(size_t)j * (size_t)m + (size_t)start[j]];
	for (int j = 0; j < k; j++) {
		int a = start[j], e = start[j + 1];

		if (!problem_fits(p, a, e, j)) {
			plan_clear(out);
			return ep_error_set(err, EP_EINFEASIBLE,
					    "stage %d (cuts %d..%d, %.1f MiB) does not fit node %d "
					    "(%.1f MiB): DEFER balances compute and does not "
					    "consider memory",
					    j, a, e, problem_stage_mem(p, a, e) / MIB, j,
					    p->cluster->mem_bytes[j] / MIB);
		}
		if (plan_push(out, a, e, j))
			return ep_error_set(err, EP_ENOMEM, "out of memory for the plan");
	}
	return EP_OK;
}

static int defer_solve(const struct problem *p, const struct algo_options *o, gsl_rng *rng,
		       struct plan *out, struct ep_error *err)
{
	int m = p->m, k, rc;
	size_t rows;
	double *mx = NULL, *sq = NULL;
	int *from = NULL, *start = NULL;

	(void)rng;
	plan_clear(out);
	rc = defer_stages(p, algo_options_int(o, &defer_options[0]), &k, err);
	if (rc)
		return rc;
	rows = (size_t)(k + 1) * (size_t)m;
	mx = malloc(rows * sizeof(double));
	sq = malloc(rows * sizeof(double));
	from = malloc(rows * sizeof(int));
	start = malloc((size_t)(k + 1) * sizeof(int));
	if (!mx || !sq || !from || !start) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for %d stages", k);
	} else {
		defer_balance(p, k, defer_minmax(p, k, mx), sq, from);
		rc = defer_place(p, k, from, start, out, err);
	}
	free(mx);
	free(sq);
	free(from);
	free(start);
	return rc;
}

const struct algo algo_defer = {
	.name = "defer",
	.summary = "DEFER's baseline: K stages of equal FLOPs on nodes 0 .. K-1 in order",
	.solve = defer_solve,
	.options = defer_options,
};
