/*
 * SEIFER's partition DP in both variants (partition.h). The reference indexes pieces by
 * vertices (i, j) over the n = m cut points; in plan terms vertex (i, j) is the stage after cut i
 * through cut j - 1, and the piece after it starts after cut j: that is defect D1.
 *
 * The reference's vertex (i, i+1) "always exists with memory 0": it is the EMPTY stage after
 * cut i through cut i, and the published DP does choose it, mostly as a last piece (i, n)
 * ... (n-1, n) that lets the output layers fall into a gap: ResNet101 at 128 MiB, N = 5
 * gives (0,25] (26,73] (74,74]. Such plans are returned as they are, as the reference computes
 * them; plan_check calls an empty stage structural (see the report of issue 3).
 */
#include "partition.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partition_internal.h"

#define MIB (1024.0 * 1024.0)

/*
 * The published memo: best(j), the cheapest continuation from vertex (., j), for the cut
 * indices j of one model. It survives across calls on purpose (D2): nothing in it says for
 * which capacity an entry was computed.
 */
struct partition_memo {
	char model[MODEL_NAME_MAX];
	int n;        /* cut points of the model; 0 until the first call */
	bool *known;  /* [n + 1] */
	double *best; /* [n + 1] sum of transfers of the continuation */
	int *next;    /* [n + 1] k of the continuation's first vertex (j, k) */
	int *len;     /* [n + 1] vertices on the continuation */
};

struct partition_memo *partition_memo_create(void)
{
	return calloc(1, sizeof(struct partition_memo));
}

void partition_memo_destroy(struct partition_memo *memo)
{
	if (!memo)
		return;
	free(memo->known);
	free(memo->best);
	free(memo->next);
	free(memo->len);
	free(memo);
}

static int memo_bind(struct partition_memo *memo, const struct problem *p, struct ep_error *err)
{
	size_t n1 = (size_t)p->m + 1;

	if (memo->n) {
		if (memo->n != p->m || strcmp(memo->model, p->profile->model) != 0)
			return ep_error_set(err, EP_EINVAL, "the partition memo belongs to model '%s' "
					    "(%d cut points), not '%s' (%d)", memo->model, memo->n,
					    p->profile->model, p->m);
		return EP_OK;
	}
	memo->known = calloc(n1, sizeof(bool));
	memo->best = calloc(n1, sizeof(double));
	memo->next = calloc(n1, sizeof(int));
	memo->len = calloc(n1, sizeof(int));
	if (!memo->known || !memo->best || !memo->next || !memo->len) {
		free(memo->known);
		free(memo->best);
		free(memo->next);
		free(memo->len);
		memo->known = NULL;
		memo->best = NULL;
		memo->next = NULL;
		memo->len = NULL;
		return ep_error_set(err, EP_ENOMEM, "out of memory for the partition memo");
	}
	memo->n = p->m;
	snprintf(memo->model, sizeof(memo->model), "%s", p->profile->model);
	return EP_OK;
}

int partition_min_node(const struct problem *p)
{
	int best = 0;

	for (int v = 1; v < p->cluster->n; v++)
		if (p->cluster->mem_bytes[v] < p->cluster->mem_bytes[best])
			best = v;
	return best;
}

int partition_check_fit(const struct problem *p, int node, int max_pieces, struct ep_error *err)
{
	double cap = p->cluster->mem_bytes[node];
	int pieces = 0;

	for (int b = 1; b < p->m; b++)
		if (!problem_fits(p, b - 1, b, node))
			return ep_error_set(err, EP_EINFEASIBLE, "the segment after cut %d through "
					    "cut %d needs %.2f MiB; a node has %.2f MiB%s", b - 1, b,
					    problem_stage_mem(p, b - 1, b) / MIB, cap / MIB,
					    p->options.strict_memory ? " (strictly less needed)" : "");
	for (int a = 0; a < p->m - 1; a = problem_max_end(p, a, node))
		pieces++;
	if (pieces > max_pieces)
		return ep_error_set(err, EP_EINFEASIBLE, "the model needs at least %d pieces of "
				    "%.2f MiB but at most %d are allowed (nodes: %d)", pieces,
				    cap / MIB, max_pieces, p->cluster->n);
	return EP_OK;
}

/*
 * Published: best(j) = min over feasible (j, k) of (k = n ? 0 : T[k-1] + best(k)), vertex (j, k)
 * feasible when k = j + 1 (an empty piece) or the stage after cut j through cut k-1 fits on the
 * smallest node (the notebooks read node 0's memory, as all their nodes are equal; the ITNAC
 * paper uses the smallest memory when they differ, so that placement cannot break a bound). The reference computes it top-down from the roots; since (j, j+1) always exists, that
 * visits every j, so filling the unknown entries bottom-up gives the same table, stale entries
 * included.
 */
static int dp_published(const struct problem *p, int max_pieces, struct partition_memo *memo,
			struct plan *out, struct ep_error *err)
{
	int n = p->m, root = -1, rc, node = partition_min_node(p);
	double root_cost = INFINITY;
	const double *t = p->transfer_bits;

	rc = memo_bind(memo, p, err);
	if (rc)
		return rc;
	for (int j = n - 1; j >= 1; j--) {
		int kend = problem_max_end(p, j, node) + 1;

		if (memo->known[j])
			continue;
		memo->best[j] = INFINITY;
		for (int k = j + 1; k <= kend; k++) {
			double c = k == n ? 0.0 : t[k - 1] + memo->best[k];

			if (c < memo->best[j]) {
				memo->best[j] = c;
				memo->next[j] = k;
				memo->len[j] = 1 + (k == n ? 0 : memo->len[k]);
			}
		}
		memo->known[j] = true;
	}
	/* D8: the node count only filters the roots' (unconstrained) best paths. */
	for (int j = 1; j <= n; j++) {
		double c;
		int vertices;

		if (j > 1 && !problem_fits(p, 0, j - 1, node))
			break;
		c = j == n ? 0.0 : t[j - 1] + memo->best[j];
		vertices = j == n ? 1 : 1 + memo->len[j];
		if (vertices <= max_pieces && c < root_cost) {
			root_cost = c;
			root = j;
		}
	}
	if (root < 0)
		return ep_error_set(err, EP_EINFEASIBLE, "no partition into at most %d pieces of "
				    "%.2f MiB: the cheapest continuation of every first piece has "
				    "more pieces (the published DP counts nodes only there, D8)",
				    max_pieces, p->cluster->mem_bytes[node] / MIB);
	plan_clear(out);
	if (plan_push(out, 0, root - 1, -1))
		return ep_error_set(err, EP_ENOMEM, "out of memory for the partition");
	for (int i = root; i < n; i = memo->next[i])
		if (plan_push(out, i, memo->next[i] - 1, -1))
			return ep_error_set(err, EP_ENOMEM, "out of memory for the partition");
	return EP_OK;
}

/*
 * Corrected: f[k][b] = the least sum of transfers over tilings of cuts (0, b] into k pieces that
 * fit the smallest node; f[k][b] = min over a of f[k-1][a] + T[a]. The answer is the least
 * f[k][m-1] over k <= max_pieces, the fewest pieces among equals.
 */
static int dp_corrected(const struct problem *p, int max_pieces, struct plan *out,
			struct ep_error *err)
{
	int m = p->m, node = partition_min_node(p), kmax = max_pieces < m - 1 ? max_pieces : m - 1;
	int rc, best_k = -1, *lo = NULL, *arg = NULL, *cut = NULL;
	double *f = NULL;
	const double *t = p->transfer_bits;

	rc = partition_check_fit(p, node, max_pieces, err);
	if (rc)
		return rc;
	lo = malloc((size_t)m * sizeof(int));
	cut = malloc((size_t)(kmax + 1) * sizeof(int));
	f = malloc((size_t)kmax * (size_t)m * sizeof(double));
	arg = malloc((size_t)kmax * (size_t)m * sizeof(int));
	if (!lo || !cut || !f || !arg) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for the partition");
		goto out;
	}
	/* lo[b]: the earliest start of a piece ending with cut b; it never decreases with b */
	for (int b = 1, a = 0; b < m; b++) {
		while (!problem_fits(p, a, b, node))
			a++;
		lo[b] = a;
	}
	for (int b = 0; b < m; b++) {
		f[b] = b > 0 && lo[b] == 0 ? 0.0 : INFINITY;
		arg[b] = 0;
	}
	for (int k = 1; k < kmax; k++) {
		double *fk = f + (size_t)k * m;
		const double *fp = f + (size_t)(k - 1) * m;

		for (int b = 0; b < m; b++) {
			fk[b] = INFINITY;
			arg[(size_t)k * m + b] = -1;
			for (int a = lo[b] > k ? lo[b] : k; a < b; a++) {
				double c = fp[a] + t[a];

				if (c < fk[b]) {
					fk[b] = c;
					arg[(size_t)k * m + b] = a;
				}
			}
		}
	}
	for (int k = 0; k < kmax; k++)
		if (f[(size_t)k * m + m - 1] < INFINITY &&
		    (best_k < 0 || f[(size_t)k * m + m - 1] < f[(size_t)best_k * m + m - 1]))
			best_k = k;
	if (best_k < 0) { /* partition_check_fit said there is a tiling */
		rc = ep_error_set(err, EP_EINTERNAL, "the partition DP found no tiling");
		goto out;
	}
	cut[best_k + 1] = m - 1;
	for (int k = best_k; k > 0; k--)
		cut[k] = arg[(size_t)k * m + cut[k + 1]];
	cut[0] = 0;
	plan_clear(out);
	for (int k = 0; k <= best_k; k++)
		if (plan_push(out, cut[k], cut[k + 1], -1)) {
			rc = ep_error_set(err, EP_ENOMEM, "out of memory for the partition");
			goto out;
		}
out:
	free(lo);
	free(cut);
	free(f);
	free(arg);
	return rc;
}

int partition_dp(const struct problem *p, enum algo_variant variant, int max_pieces,
		 struct partition_memo *memo, struct plan *out, struct ep_error *err)
{
	struct partition_memo *own = NULL;
	int rc;

	if (max_pieces == 0)
		max_pieces = p->cluster->n;
	if (max_pieces < 1)
		return ep_error_set(err, EP_EINVAL, "at most %d pieces: must be at least 1",
				    max_pieces);
	if (variant != ALGO_PUBLISHED)
		return dp_corrected(p, max_pieces, out, err);
	if (!memo && !(memo = own = partition_memo_create()))
		return ep_error_set(err, EP_ENOMEM, "out of memory for the partition memo");
	rc = dp_published(p, max_pieces, memo, out, err);
	partition_memo_destroy(own);
	return rc;
}
