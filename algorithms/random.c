/*
 * random: the random baseline (shared/reference/seifer-2022.md, "Baselines as published").
 *
 * Corrected: a tiling drawn uniformly at random among all valid ones (every piece fits the
 * smallest node, at most N pieces), placed on uniformly random distinct nodes. Counting the
 * tilings of cuts (0, b] into k pieces, c[k][b] = sum over a of c[k-1][a] for the a whose piece
 * (a, b] fits, gives the exact distribution: draw the piece count k with weight c[k][m-1], then
 * the cuts from the end backwards, each with weight c[k-1][a]. Counts grow like 2^m, so they are
 * long doubles (range to 1e4932).
 *
 * Published: fill pieces greedily up to the capacity of the smallest node (node 0 in the
 * notebooks, whose nodes are equal; the ITNAC paper uses the smallest memory); choose one uniformly random cut
 * inside each filled chunk (among the chunk's cut points after its start, its end included; the
 * last chunk keeps the output as its end); the pieces run from one chosen cut to the next, so
 * they may exceed the capacity, which is not checked, nor is N: with more pieces than nodes the
 * pieces cannot go on distinct nodes, and the call says so (EP_EINFEASIBLE).
 *
 * Complexity: corrected O(m min(N, m)) to count plus O(m + N) to draw; published O(m log m + N).
 */
#include <stdlib.h>

#include "algo_internal.h"
#include "partition_internal.h"

#define MIB (1024.0 * 1024.0)

/* k distinct nodes, uniformly at random (a partial Fisher-Yates shuffle). */
static int random_nodes(const struct problem *p, gsl_rng *rng, struct plan *plan,
			struct ep_error *err)
{
	int n = p->cluster->n, *perm = malloc((size_t)n * sizeof(int));

	if (!perm)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the random placement");
	for (int v = 0; v < n; v++)
		perm[v] = v;
	for (int s = 0; s < plan->n_stages; s++) {
		int j = s + (int)gsl_rng_uniform_int(rng, (unsigned long)(n - s)), tmp = perm[s];

		perm[s] = perm[j];
		perm[j] = tmp;
		plan->stages[s].node = perm[s];
	}
	free(perm);
	return EP_OK;
}

/* Draw an index i with probability w[i] / sum(w), i in [lo, hi). */
static int draw_weighted(gsl_rng *rng, const long double *w, int lo, int hi)
{
	long double total = 0, x;

	for (int i = lo; i < hi; i++)
		total += w[i];
	x = (long double)gsl_rng_uniform(rng) * total;
	for (int i = lo; i < hi; i++) {
		if (w[i] > 0 && x < w[i])
			return i;
		x -= w[i];
	}
	for (int i = hi - 1; i >= lo; i--) /* rounding left x >= 0: the last positive one */
		if (w[i] > 0)
			return i;
	return lo;
}

static int random_corrected(const struct problem *p, gsl_rng *rng, struct plan *out,
			    struct ep_error *err)
{
	int m = p->m, node = partition_min_node(p), n = p->cluster->n;
	int kmax = n < m - 1 ? n : m - 1, rc, *lo = NULL, *cut = NULL;
	long double *cnt = NULL, *pre = NULL, *total = NULL;

	rc = partition_check_fit(p, node, n, err);
	if (rc)
		return rc;
	lo = malloc((size_t)m * sizeof(int));
	cut = malloc((size_t)(kmax + 1) * sizeof(int));
	cnt = malloc((size_t)kmax * (size_t)m * sizeof(long double));
	pre = malloc((size_t)(m + 1) * sizeof(long double));
	total = malloc((size_t)kmax * sizeof(long double));
	if (!lo || !cut || !cnt || !pre || !total) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for the random partition");
		goto out;
	}
	for (int b = 1, a = 0; b < m; b++) {
		while (!problem_fits(p, a, b, node))
			a++;
		lo[b] = a;
	}
	/* cnt[k][b]: tilings of (0, b] into k + 1 pieces; pre holds prefix sums of row k - 1 */
	for (int b = 0; b < m; b++)
		cnt[b] = b > 0 && lo[b] == 0 ? 1.0L : 0.0L;
	for (int k = 1; k < kmax; k++) {
		const long double *prev = cnt + (size_t)(k - 1) * m;

		pre[0] = 0;
		for (int a = 0; a < m; a++)
			pre[a + 1] = pre[a] + prev[a];
		for (int b = 0; b < m; b++)
			cnt[(size_t)k * m + b] = b > 0 ? pre[b] - pre[lo[b]] : 0.0L;
	}
	for (int k = 0; k < kmax; k++)
		total[k] = cnt[(size_t)k * m + m - 1];
	{
		int k = draw_weighted(rng, total, 0, kmax);

		cut[k + 1] = m - 1;
		for (int j = k; j > 0; j--)
			cut[j] = draw_weighted(rng, cnt + (size_t)(j - 1) * m, lo[cut[j + 1]],
					       cut[j + 1]);
		cut[0] = 0;
		plan_clear(out);
		for (int j = 0; j <= k; j++)
			if (plan_push(out, cut[j], cut[j + 1], -1)) {
				rc = ep_error_set(err, EP_ENOMEM, "out of memory for the plan");
				goto out;
			}
	}
	rc = random_nodes(p, rng, out, err);
out:
	free(lo);
	free(cut);
	free(cnt);
	free(pre);
	free(total);
	return rc;
}

static int random_published(const struct problem *p, gsl_rng *rng, struct plan *out,
			    struct ep_error *err)
{
	int m = p->m, prev = 0, node = partition_min_node(p);

	plan_clear(out);
	for (int a = 0; a < m - 1;) {
		/* the chunk after cut a, as far as the smallest node holds it (node 0 in the
		 * notebooks, whose nodes are equal), at least one segment */
		int b = problem_max_end(p, a, node), cut;

		if (b == a)
			b = a + 1;
		cut = b == m - 1 ? m - 1 : a + 1 + (int)gsl_rng_uniform_int(rng, (unsigned long)(b - a));
		if (plan_push(out, prev, cut, -1))
			return ep_error_set(err, EP_ENOMEM, "out of memory for the plan");
		prev = cut;
		a = b;
	}
	if (out->n_stages > p->cluster->n)
		return ep_error_set(err, EP_EINFEASIBLE, "the published random baseline filled %d "
				    "chunks of %.2f MiB, one piece each, but there are %d nodes",
				    out->n_stages, p->cluster->mem_bytes[node] / MIB, p->cluster->n);
	return random_nodes(p, rng, out, err);
}

static int random_solve(const struct problem *p, const struct algo_options *o, gsl_rng *rng,
			struct plan *out, struct ep_error *err)
{
	if (o->variant == ALGO_PUBLISHED)
		return random_published(p, rng, out, err);
	return random_corrected(p, rng, out, err);
}

const struct algo algo_random = {
	.name = "random",
	.summary = "random valid cuts on random distinct nodes",
	.solve = random_solve,
};
