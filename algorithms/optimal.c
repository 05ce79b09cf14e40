/*
 * optimal: the driver of the exact methods (optimal.h) and the first of them, the subset DP.
 *
 * The driver: joint's plan (a heuristic, usually optimal on this problem family) is the first
 * incumbent; then the subset DP (N <= OPTIMAL_DP_MAX_NODES under OPTIMAL_AUTO) or the branch
 * and bound of optimal_search.c proves it optimal or replaces it by the optimum, and the proof
 * (bound, nodes, time) is reported. Never is a plan reported proven that was not.
 *
 * The subset DP: dynamic programming over subsets of nodes, pruned by the cost of a known plan
 * (branch and bound).
 *
 * The search space is every tiling of the cut points 0 .. m-1 into 1 .. min(N, m-1) stages, each
 * placed on its own node and fitting that node's memory (problem_fits), in every order of nodes.
 *
 * The table: f[S][v][a] = the least bottleneck, over all ways to compute the layers through cut
 * a on the nodes of S \ {v} in some order and to send cut a's tensor to v, of the terms counted
 * so far (S is the set of used nodes, v in S holds the next stage, which starts after cut a).
 * It decomposes into
 *     g[S][v][b] = min over a < b with (a, b] fitting v of max(f[S][v][a], compute(v, a, b))
 *     f[S + w][w][b] = min over v in S of max(g[S][v][b], hop(b, v, w)),   w not in S
 * and the optimum is min over S, v of max(g[S][v][m-1], hop(m-1, v, dispatcher)). The
 * bottleneck of a plan is a max of terms, each depending only on one stage or one hop, so a
 * prefix's value summarises everything the suffix needs to know besides the used set: this is
 * why the recurrence is exact. Every (S, v, a) is enumerated, so the minimum found is the
 * minimum over all plans: the answer is proven optimal, not estimated. Because the same double
 * terms are combined with max and min only, the value equals plan_cost of the returned plan bit
 * for bit.
 *
 * Pruning (sound, so still exact): every state whose value is not below the best complete plan
 * known so far (joint's first) is dropped, since a max can only grow along the plan. If nothing
 * strictly better survives, the joint plan is optimal and is returned. Subsets larger than
 * min(N, m-1) have no rows; a subset's rows are initialised only when one of its states first
 * survives (the pages of the others are never touched), and a subset none of whose states
 * survived is skipped.
 *
 * Limits: the work grows as 2^N, so the DP refuses instances with more than OPTIMAL_MAX_NODES
 * nodes with EP_ELIMIT unless options->force; with force, a table beyond
 * OPTIMAL_MAX_TABLE_BYTES is refused with EP_ELIMIT too, rather than left to the kernel's
 * out-of-memory killer. OPTIMAL_AUTO never meets these limits: it takes the search above
 * OPTIMAL_DP_MAX_NODES.
 *
 * Complexity: O(2^N N m (L + N)) time, where L <= m is the largest number of segments a stage
 * can hold (memory): 2^N N m L for the stages, 2^N N^2 m for the hops. O(2^N N m) memory for the
 * table: sum over k of C(N, k) k (m - 1) doubles, only v in S being stored, k up to min(N, m-1).
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "algo_internal.h"
#include "ep_util.h"
#include "optimal_internal.h"

/* Beyond this many nodes the table and the work double with every node: at 12 nodes the
 * longest zoo model (121 cut points) needs at most a 23 MiB table and well under a second. */
#define OPTIMAL_MAX_NODES 12
/* Even with --force: 30 nodes would not index a 32-bit subset; 2 GiB is a hard ceiling. */
#define OPTIMAL_FORCE_MAX_NODES 30
#define OPTIMAL_MAX_TABLE_BYTES (2.0 * 1024 * 1024 * 1024)

struct optimal_ws {
	int n, m, kmax;
	size_t *off; /* [2^n] first entry of S's rows in f; SIZE_MAX if |S| > kmax */
	/* per S: |S| rows (v in S by rank) of m-1 entries (a = 0 .. m-2), set to INFINITY when S
	 * first becomes live: the pages of subsets that never do are never touched */
	double *f;
	unsigned char *live; /* [2^n] some state of S is below the bound; S's rows are set */
	double *g;	     /* [m] g[S][v][.] of the pair being expanded */
	double *hop;	     /* [m][(n+1)^2] every hop time, dispatcher included */
	int *max_end;	     /* [n][m] last cut a stage starting after a can end with on v */
	int *stage_a, *stage_b, *stage_node; /* [kmax] the plan being rebuilt, last stage first */
};

static void optimal_ws_release(struct optimal_ws *w)
{
	free(w->off);
	free(w->f);
	free(w->live);
	free(w->g);
	free(w->hop);
	free(w->max_end);
	free(w->stage_a);
	free(w->stage_b);
	free(w->stage_node);
}

static inline double hop_at(const struct optimal_ws *w, int cut, int from, int to)
{
	return w->hop[((size_t)cut * (size_t)(w->n + 1) + (size_t)from) * (size_t)(w->n + 1) +
		      (size_t)to];
}

/* Row of v in S's block (v must be in S). */
static inline double *row_of(const struct optimal_ws *w, uint32_t s, int v)
{
	int rank = __builtin_popcount(s & ((1u << v) - 1u));

	return w->f + w->off[s] + (size_t)rank * (size_t)(w->m - 1);
}

/* Make S live: its states start at INFINITY. */
static inline void make_live(struct optimal_ws *w, uint32_t s)
{
	double *rows = w->f + w->off[s];
	size_t count = (size_t)__builtin_popcount(s) * (size_t)(w->m - 1);

	for (size_t i = 0; i < count; i++)
		rows[i] = INFINITY;
	w->live[s] = 1;
}

/* Table entries for every subset of at most kmax nodes (a double: it may not fit size_t). */
static double table_entries(int n, int kmax, int m)
{
	double total = 0, binom = 1;

	for (int k = 1; k <= kmax; k++) {
		binom = binom * (double)(n - k + 1) / (double)k;
		total += binom * (double)k * (double)(m - 1);
	}
	return total;
}

static int optimal_ws_init(struct optimal_ws *w, const struct problem *p, struct ep_error *err)
{
	int n = p->cluster->n, m = p->m, v1 = n + 1;
	size_t subsets = (size_t)1 << n, pos = 0;
	double entries, bytes;

	w->n = n;
	w->m = m;
	w->kmax = n < m - 1 ? n : m - 1;
	entries = table_entries(n, w->kmax, m);
	bytes = entries * sizeof(double) + (double)subsets * (sizeof(size_t) + 1);
	if (bytes > OPTIMAL_MAX_TABLE_BYTES)
		return ep_error_set(
			err, EP_ELIMIT,
			"N = %d with %d cut points needs a %.1f GiB table, beyond the %.0f GiB "
			"this solver allows even with --force",
			n, m, bytes / (1024.0 * 1024 * 1024),
			OPTIMAL_MAX_TABLE_BYTES / (1024.0 * 1024 * 1024));
	w->off = malloc(subsets * sizeof(*w->off));
	w->live = calloc(subsets, 1);
	w->f = malloc((size_t)entries * sizeof(double));
	w->g = malloc((size_t)m * sizeof(double));
	w->hop = malloc((size_t)m * (size_t)v1 * (size_t)v1 * sizeof(double));
	w->max_end = malloc((size_t)n * (size_t)m * sizeof(int));
	w->stage_a = malloc((size_t)w->kmax * sizeof(int));
	w->stage_b = malloc((size_t)w->kmax * sizeof(int));
	w->stage_node = malloc((size_t)w->kmax * sizeof(int));
	if (!w->off || !w->live || !w->f || !w->g || !w->hop || !w->max_end || !w->stage_a ||
	    !w->stage_b || !w->stage_node)
		return ep_error_set(err, EP_ENOMEM,
				    "out of memory for a %.0f MiB table (N = %d, %d cut points)",
				    entries * sizeof(double) / (1024.0 * 1024), n, m);
	for (size_t s = 0; s < subsets; s++) {
		int k = __builtin_popcount((unsigned)s);

		w->off[s] = SIZE_MAX;
		if (k >= 1 && k <= w->kmax) {
			w->off[s] = pos;
			pos += (size_t)k * (size_t)(m - 1);
		}
	}
	for (int k = 0; k < m; k++)
		for (int from = 0; from < v1; from++)
			for (int to = 0; to < v1; to++)
				w->hop[((size_t)k * (size_t)v1 + (size_t)from) * (size_t)v1 +
				       (size_t)to] =
					from == to ? 0.0 : problem_hop_s(p, k, from, to);
	for (int v = 0; v < n; v++)
		for (int a = 0; a < m; a++)
			w->max_end[v * m + a] = a < m - 1 ? problem_max_end(p, a, v) : a;
	return EP_OK;
}

/*
 * Rebuild the plan whose value is `best`, ending on node v with used set s, into out. Each step
 * looks for a predecessor whose terms are all <= the current state's value: one exists, because
 * the state's value was computed from it, and any such predecessor gives a plan of the same
 * value (the value is a minimum, so it cannot be beaten by one of its own candidates).
 */
static int rebuild(const struct optimal_ws *w, const struct problem *p, uint32_t s, int v,
		   double best, struct plan *out, struct ep_error *err)
{
	int disp = w->n, m = w->m, k = 0, b = m - 1;
	double target = best;
	bool last = true;

	for (;;) {
		const double *row = row_of(w, s, v);
		double out_hop =
			last ? (p->options.count_dispatcher ? hop_at(w, m - 1, v, disp) : 0) : 0;
		int a = -1;

		for (int x = 0; x < b && a < 0; x++)
			if (row[x] <= target && w->max_end[v * m + x] >= b &&
			    problem_compute_s(p, x, b, v) <= target && out_hop <= target)
				a = x;
		if (a < 0 || k >= w->kmax)
			return ep_error_set(err, EP_EINTERNAL,
					    "cannot rebuild the plan of value %g (stage ending "
					    "with cut %d on node %d)",
					    best, b, v);
		w->stage_a[k] = a;
		w->stage_b[k] = b;
		w->stage_node[k] = v;
		k++;
		if (a == 0)
			break;
		/* Which stage, on which node of s - v, ended with cut a and sent it to v? */
		{
			uint32_t prev_s = s & ~(1u << v);
			double value = row[a];
			int found = -1;

			if (!prev_s || !w->live[prev_s])
				return ep_error_set(
					err, EP_EINTERNAL,
					"the stage starting after cut %d on node %d has no "
					"predecessor set",
					a, v);
			for (int u = 0; u < w->n && found < 0; u++) {
				const double *prow;

				if (!(prev_s & (1u << u)) || hop_at(w, a, u, v) > value)
					continue;
				prow = row_of(w, prev_s, u);
				for (int x = 0; x < a; x++)
					if (prow[x] <= value && w->max_end[u * m + x] >= a &&
					    problem_compute_s(p, x, a, u) <= value) {
						found = u;
						break;
					}
			}
			if (found < 0)
				return ep_error_set(err, EP_EINTERNAL,
						    "no predecessor for the stage starting after "
						    "cut %d on node %d",
						    a, v);
			s = prev_s;
			v = found;
			b = a;
			target = value;
			last = false;
		}
	}
	plan_clear(out);
	for (int i = k - 1; i >= 0; i--)
		if (plan_push(out, w->stage_a[i], w->stage_b[i], w->stage_node[i]))
			return ep_error_set(err, EP_ENOMEM, "out of memory for the plan");
	return EP_OK;
}

/* g[S][v][.] into w->g from S's row of v: every stage on v from a state below `best`. Returns
 * whether any stage end was reached. */
static bool expand_stages(struct optimal_ws *w, const struct problem *p, const double *row, int v,
			  double best)
{
	int m = w->m;
	bool any = false;

	for (int b = 0; b < m; b++)
		w->g[b] = INFINITY;
	for (int a = 0; a < m - 1; a++) {
		int end;

		if (!(row[a] < best))
			continue;
		end = w->max_end[v * m + a];
		for (int b = a + 1; b <= end; b++) {
			double c = problem_compute_s(p, a, b, v);

			c = c > row[a] ? c : row[a];
			if (c < w->g[b]) {
				w->g[b] = c;
				any = true;
			}
		}
	}
	return any;
}

/* f[S + x][x][b] from w->g: the hop of every cut b from v to every node x not in S. */
static void expand_hops(struct optimal_ws *w, uint32_t s, int v, double best)
{
	int n = w->n, m = w->m;

	for (int b = 1; b < m - 1; b++) {
		if (!(w->g[b] < best))
			continue;
		for (int x = 0; x < n; x++) {
			double val;
			double *cell;

			if (s & (1u << x))
				continue;
			val = hop_at(w, b, v, x);
			val = val > w->g[b] ? val : w->g[b];
			if (!(val < best))
				continue;
			if (!w->live[s | (1u << x)])
				make_live(w, s | (1u << x));
			cell = row_of(w, s | (1u << x), x) + b;
			if (val < *cell)
				*cell = val;
		}
	}
}

/* Expand every pair (S, v) of the table; returns the best value and where it ends. */
static double search(struct optimal_ws *w, const struct problem *p, double bound, uint32_t *best_s,
		     int *best_v, long *expanded)
{
	int n = w->n, m = w->m, disp = n;
	uint32_t full = (uint32_t)((1ull << n) - 1);
	double best = bound;

	for (int v = 0; v < n; v++) {
		double start = p->options.count_dispatcher ? hop_at(w, 0, disp, v) : 0;

		if (start < best) {
			make_live(w, 1u << v);
			row_of(w, 1u << v, v)[0] = start;
		}
	}
	/* A subset's states are complete once every smaller subset is expanded, and every
	 * transition goes from S to a strict superset: increasing order is a topological one. */
	for (uint32_t s = 1; s <= full; s++) {
		int size = __builtin_popcount(s);

		if (!w->live[s] || size > w->kmax)
			continue;
		for (int v = 0; v < n; v++) {
			if (!(s & (1u << v)) || !expand_stages(w, p, row_of(w, s, v), v, best))
				continue;
			(*expanded)++;
			if (w->g[m - 1] < best) {
				double fin = w->g[m - 1], h;

				h = p->options.count_dispatcher ? hop_at(w, m - 1, v, disp) : 0;
				fin = h > fin ? h : fin;
				if (fin < best) {
					best = fin;
					*best_s = s;
					*best_v = v;
				}
			}
			if (size < w->kmax)
				expand_hops(w, s, v, best);
		}
	}
	return best;
}

/* The subset DP from the incumbent in out (value upper): out becomes the optimum. */
static int subset_dp(const struct problem *p, bool force, double upper, struct plan *out,
		     struct optimal_proof *proof, struct ep_error *err)
{
	struct optimal_ws w = {0};
	double best;
	uint32_t best_s = 0;
	int n = p->cluster->n, best_v = -1, rc;

	proof->status = OPTIMAL_LIMIT;
	if (n > OPTIMAL_MAX_NODES && !force)
		return ep_error_set(err, EP_ELIMIT,
				    "N = %d exceeds the subset DP's limit of %d nodes (2^N N^2 m "
				    "work); pass --force to try",
				    n, OPTIMAL_MAX_NODES);
	if (n > OPTIMAL_FORCE_MAX_NODES)
		return ep_error_set(err, EP_ELIMIT,
				    "N = %d is beyond what the subset table can index (%d nodes), "
				    "even with --force",
				    n, OPTIMAL_FORCE_MAX_NODES);
	rc = optimal_ws_init(&w, p, err);
	if (rc)
		goto done;
	best = search(&w, p, upper, &best_s, &best_v, &proof->nodes);
	if (best_v >= 0)
		rc = rebuild(&w, p, best_s, best_v, best, out, err);
	if (rc)
		goto done;
	proof->upper_s = best;
	proof->lower_s = best;
	proof->status = best < INFINITY ? OPTIMAL_PROVEN : OPTIMAL_NO_PLAN;
done:
	optimal_ws_release(&w);
	return rc;
}

int optimal_solve(const struct problem *p, const struct optimal_options *o, gsl_rng *rng,
		  struct plan *out, struct optimal_proof *proof, struct ep_error *err)
{
	struct optimal_proof local;
	struct algo_options jo = ALGO_OPTIONS_DEFAULT;
	struct plan_cost cost;
	double t0 = ep_now_s(), upper = INFINITY, deadline = INFINITY;
	bool dp;
	int rc;

	if (!proof)
		proof = &local;
	*proof = (struct optimal_proof){OPTIMAL_LIMIT, "search", INFINITY, 0, NAN, INFINITY, 0, 0};
	dp = o->method == OPTIMAL_SUBSET_DP ||
	     (o->method == OPTIMAL_AUTO && p->cluster->n <= OPTIMAL_DP_MAX_NODES);
	if (dp)
		proof->method = "subset-dp";
	if (o->time_limit_s > 0)
		deadline = t0 + o->time_limit_s;
	if (p->options.shared_nodes)
		return ep_error_set(err, EP_EINVAL,
				    "optimal solves the model of one node per stage; with shared "
				    "nodes (--parallel) its bottleneck is not a max of per-stage terms");

	/* The first incumbent: joint's plan, when it finds one that checks out. */
	plan_clear(out);
	rc = algo_joint.solve(p, &jo, rng, out, err);
	if (rc == EP_ENOMEM)
		goto done;
	if (rc == EP_OK && plan_check(p, out, NULL, NULL) == EP_OK) {
		plan_cost(p, out, &cost, NULL, NULL);
		upper = cost.bottleneck_s;
	} else {
		plan_clear(out);
	}
	ep_error_clear(err);
	proof->initial_s = upper;

	if (dp)
		rc = subset_dp(p, o->force, upper, out, proof, err);
	else
		rc = optimal_search_run(p, upper, deadline, out, proof, err);
	if (rc == EP_ELIMIT && proof->nodes > 0) {
		/* The deadline: say what is known. */
		if (out->n_stages > 0)
			ep_error_set(err, EP_ELIMIT,
				     "time limit of %g s reached after %ld search nodes: best plan "
				     "%g s, no plan below %g s (gap %.3g %%)",
				     o->time_limit_s, proof->nodes, proof->upper_s, proof->lower_s,
				     proof->lower_s > 0
					     ? 100.0 * (proof->upper_s / proof->lower_s - 1.0)
					     : INFINITY);
		else
			ep_error_set(err, EP_ELIMIT,
				     "time limit of %g s reached after %ld search nodes: no plan "
				     "found yet, none below %g s",
				     o->time_limit_s, proof->nodes, proof->lower_s);
	} else if (rc == EP_OK && proof->status == OPTIMAL_NO_PLAN) {
		plan_clear(out);
		rc = ep_error_set(err, EP_EINFEASIBLE,
				  "no plan exists: no tiling of the %d cut points into stages on "
				  "distinct nodes fits the nodes' memory (with a finite bottleneck; "
				  "proven by the %s)",
				  p->m, proof->method);
	}
done:
	proof->time_s = ep_now_s() - t0;
	return rc;
}

enum { OPTIMAL_OPT_TIME_LIMIT, OPTIMAL_OPT_FORCE };

static const struct algo_option optimal_options[] = {
	[OPTIMAL_OPT_TIME_LIMIT] = { "time-limit", "DURATION",
				     "stop after DURATION (e.g. 2s) with the best plan and lower\n"
				     "bound so far, status limit and the gap (default: none; the\n"
				     "plan is then proven optimal)",
				     algo_option_parse_duration, algo_option_format_duration,
				     { .d = 0.0 }, 0, 0 },
	[OPTIMAL_OPT_FORCE] = { "force", NULL,
				"kept for scripts; no effect (optimal has no size limit since\n"
				"it searches beyond 10 nodes)",
				algo_option_parse_flag, algo_option_format_flag, { .i = 0 }, 0, 1 },
	{ NULL },
};

static int algo_optimal_bounded(const struct problem *p, const struct algo_options *o,
				gsl_rng *rng, struct plan *out, struct algo_bound *bound,
				struct ep_error *err)
{
	struct optimal_options oo = {
		OPTIMAL_AUTO, algo_options_real(o, &optimal_options[OPTIMAL_OPT_TIME_LIMIT]),
		algo_options_int(o, &optimal_options[OPTIMAL_OPT_FORCE]) != 0
	};
	struct optimal_proof proof;
	int rc = optimal_solve(p, &oo, rng, out, &proof, err);

	if (bound) {
		bound->has = rc == EP_OK || (rc == EP_ELIMIT && proof.nodes > 0);
		bound->lower_s = proof.lower_s;
		bound->nodes = proof.nodes;
		bound->method = proof.method;
	}
	return rc;
}

static int algo_optimal_solve(const struct problem *p, const struct algo_options *o,
			      gsl_rng *rng, struct plan *out, struct ep_error *err)
{
	return algo_optimal_bounded(p, o, rng, out, NULL, err);
}

const struct algo algo_optimal = {
	.name = "optimal",
	.summary = "exact minimum bottleneck, proven: subset DP (N <= 10) or branch and bound",
	.solve = algo_optimal_solve,
	.solve_bounded = algo_optimal_bounded,
	.options = optimal_options,
};
