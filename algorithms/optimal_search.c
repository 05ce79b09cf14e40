/*
 * optimal_search: the exact minimum bottleneck by depth-first branch and bound, for clusters of
 * any size (optimal.h).
 *
 * Why this method. The decision form of the problem ("is there a plan whose every term is
 * below T?") asks for a path of distinct nodes through a layered graph, a constrained path
 * problem; a mixed-integer program would need a variable per (stage, node) and per (cut, link),
 * hundreds of thousands at N = 50 with 100 cut points, and a solver's set-up alone would cost
 * more than the 1 s aimed at per instance. What makes this instance family easy is that the
 * only hard constraint, distinct nodes, rarely binds: relaxing it (a node may come back, but
 * not twice in a row) leaves a min-max path problem over (cut, node) states that a DP solves
 * exactly, and its value is almost always the optimum. So the search is a branch and bound
 * whose bound is that relaxation, solved once per instance from each state to the end, and
 * whose branching restores distinctness only where the relaxed paths break it.
 *
 * The states: (a, v, U, g) = the next stage runs on node v and starts after cut a, the nodes of
 * U (v included) are used, and g is the largest term of the stages and hops so far. Its children
 * are every stage end b (a < b, fitting v's memory) followed by a hop to every unused node w:
 * (b, w, U + w, max(g, compute(a, b, v), hop(b, v, w))); with b = m-1 the plan is complete and
 * its value is max(g, compute, hop to the dispatcher). The dispatcher hop into the first stage
 * starts the plan.
 *
 * The bound: H(a, v) = the least bottleneck from state (a, v) to the end in the relaxation,
 *     E(b, v) = hop(m-1, v, dispatcher) if b = m-1, else min over w != v of
 *               max(hop(b, v, w), H(b, w)),
 *     H(a, v) = min over b in (a, max_end(a, v)] of max(compute(a, b, v), E(b, v)),
 * by a backward DP. Every completion of a state is a relaxed path, so no completion of
 * (a, v, U, g) is below f = max(g, H(a, v)), and f never decreases from a state to its children
 * (H is a minimum over exactly the transitions the children take). A state is expanded only if
 * f < the best plan's value (the incumbent), so every plan that could be strictly better is
 * reached: the incumbent at the end is optimal. Children are explored in increasing f (ties:
 * the later cut first, which reaches a complete plan sooner), so the incumbent usually becomes
 * optimal at the first dive and the rest of the search is the proof.
 *
 * Dominance: once the subtree of (a, v, U', g') is exhausted, the incumbent is no worse than any
 * completion of it. A later state (a, v, U, g) with U' a subset of U and g' <= g has only
 * completions that (a, v, U', g') also had (with the same nodes and no better value), so it is
 * skipped. A few such exhausted states are kept per (a, v) (OPTIMAL_MEMO_WAYS, replaced in
 * turn), which is a cache: forgetting one costs time, never exactness.
 *
 * The initial incumbent is joint's plan (optimal.c), which usually meets the root bound: then
 * the proof is immediate and costs one relaxation. Equality with plan_cost: the terms are
 * problem_compute_s and problem_hop_s combined by max only, as plan_cost combines them, so the
 * value found is the returned plan's cost bit for bit.
 *
 * With a deadline the search stops where it is; the lower bound is then the smallest f of the
 * states not yet exhausted: children are taken in increasing f and f never decreases down the
 * tree, so that is the f of the root's child under exploration.
 *
 * Complexity: O(m N (L + N)) for the relaxation (L <= m the most segments a stage holds), then
 * O(L N) per search node to generate and O(L N log(L N)) to sort its children, plus the
 * dominance checks (OPTIMAL_MEMO_WAYS bitset tests of N bits). The number of search nodes is
 * exponential in the worst case (the problem contains Hamiltonian path); measured on the
 * published grid in tests/bench_optimal.c. Memory O(m N) for the bound, O(depth L N) for the
 * children, O(m N OPTIMAL_MEMO_WAYS N / 64) words for the cache (capped).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ep_util.h"
#include "optimal_internal.h"

/* Exhausted states remembered per (cut, node), and the cache's ceiling in bytes. */
#define OPTIMAL_MEMO_WAYS 8
#define OPTIMAL_MEMO_MAX_BYTES (64.0 * 1024 * 1024)
/* Search nodes between two readings of the clock. */
#define OPTIMAL_CLOCK_EVERY 256

struct bb_child {
	double f;   /* bound of the child's subtree */
	double val; /* its g */
	int b, w;   /* it starts after cut b on node w */
};

struct bb_frame {
	int a, v;
	double g, f;
	size_t lo, hi, next; /* its children in the arena */
};

struct bb_ws {
	const struct problem *p;
	int n, m, words;
	double *h;	 /* [m][n] H(a, v); INFINITY when no completion */
	double *e;	 /* [m][n] E(b, v) */
	int *max_end;	 /* [n][m] */
	uint64_t *used;	 /* [words] */
	struct bb_frame *frames; /* [n + 1]: frame 0 is the root */
	struct bb_child *kids;
	size_t n_kids, cap_kids;
	/* the cache: per (a, v), ways entries of (g, words of U); count in memo_n */
	int ways;
	double *memo_g;
	uint64_t *memo_u;
	unsigned char *memo_n, *memo_next;
	double upper;
	long nodes;
};

static void bb_release(struct bb_ws *w)
{
	free(w->h);
	free(w->e);
	free(w->max_end);
	free(w->used);
	free(w->frames);
	free(w->kids);
	free(w->memo_g);
	free(w->memo_u);
	free(w->memo_n);
	free(w->memo_next);
}

static int bb_init(struct bb_ws *w, const struct problem *p, struct ep_error *err)
{
	int n = p->cluster->n, m = p->m;
	size_t nm = (size_t)n * (size_t)m;
	double memo_bytes;

	w->p = p;
	w->n = n;
	w->m = m;
	w->words = (n + 63) / 64;
	w->h = malloc(nm * sizeof(double));
	w->e = malloc(nm * sizeof(double));
	w->max_end = malloc(nm * sizeof(int));
	w->used = calloc((size_t)w->words, sizeof(uint64_t));
	w->frames = malloc((size_t)(n + 1) * sizeof(*w->frames));
	w->cap_kids = 1024;
	w->kids = malloc(w->cap_kids * sizeof(*w->kids));
	if (!w->h || !w->e || !w->max_end || !w->used || !w->frames || !w->kids)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the search (N = %d)", n);
	memo_bytes = (double)nm * OPTIMAL_MEMO_WAYS * (double)(w->words + 1) * 8.0;
	w->ways = memo_bytes <= OPTIMAL_MEMO_MAX_BYTES
			  ? OPTIMAL_MEMO_WAYS
			  : (int)(OPTIMAL_MEMO_MAX_BYTES / ((double)nm * (w->words + 1) * 8.0));
	if (w->ways > 0) {
		w->memo_g = malloc(nm * (size_t)w->ways * sizeof(double));
		w->memo_u = malloc(nm * (size_t)w->ways * (size_t)w->words * sizeof(uint64_t));
		w->memo_n = calloc(nm, 1);
		w->memo_next = calloc(nm, 1);
		if (!w->memo_g || !w->memo_u || !w->memo_n || !w->memo_next)
			return ep_error_set(err, EP_ENOMEM, "out of memory for the search's cache "
					    "(N = %d)", n);
	}
	for (int v = 0; v < n; v++)
		for (int a = 0; a < m; a++)
			w->max_end[v * m + a] = a < m - 1 ? problem_max_end(p, a, v) : a;
	return EP_OK;
}

static inline double dmax(double x, double y)
{
	return x > y ? x : y;
}

/* The hop out of the last stage, as the metric counts it. */
static inline double out_hop(const struct problem *p, int v)
{
	return p->options.count_dispatcher ? problem_hop_s(p, p->m - 1, v, p->cluster->n) : 0.0;
}

static inline double in_hop(const struct problem *p, int v)
{
	return p->options.count_dispatcher ? problem_hop_s(p, 0, p->cluster->n, v) : 0.0;
}

/* The relaxation's tables H and E, backward over the cuts; returns the root bound. */
static double bb_relax(struct bb_ws *w)
{
	const struct problem *p = w->p;
	int n = w->n, m = w->m;
	double root = INFINITY;

	for (int v = 0; v < n; v++) {
		w->e[(size_t)(m - 1) * (size_t)n + (size_t)v] = out_hop(p, v);
		w->h[(size_t)(m - 1) * (size_t)n + (size_t)v] = INFINITY; /* not a start */
	}
	for (int a = m - 2; a >= 0; a--) {
		int b = a + 1;

		/* E(a + 1, .) from H(a + 1, .), filled by the previous pass. */
		if (b < m - 1)
			for (int v = 0; v < n; v++) {
				const double *hb = w->h + (size_t)b * (size_t)n;
				double best = INFINITY;

				for (int x = 0; x < n; x++) {
					double t;

					if (x == v || !(hb[x] < best))
						continue;
					t = dmax(problem_hop_s(p, b, v, x), hb[x]);
					if (t < best)
						best = t;
				}
				w->e[(size_t)b * (size_t)n + (size_t)v] = best;
			}
		for (int v = 0; v < n; v++) {
			double best = INFINITY;
			int end = w->max_end[v * m + a];

			for (int e = a + 1; e <= end; e++) {
				double c = problem_compute_s(p, a, e, v);

				/* The layers' part only grows with the stage; the encoding of its
				 * output (a codec) need not: stop on the floor, which grows. */
				if (!(problem_compute_floor_s(p, a, e, v) < best))
					break;
				c = dmax(c, w->e[(size_t)e * (size_t)n + (size_t)v]);
				if (c < best)
					best = c;
			}
			w->h[(size_t)a * (size_t)n + (size_t)v] = best;
		}
	}
	for (int v = 0; v < n; v++) {
		double t = dmax(in_hop(p, v), w->h[v]);

		if (t < root)
			root = t;
	}
	return root;
}

static inline bool used_has(const struct bb_ws *w, int v)
{
	return (w->used[v >> 6] >> (v & 63)) & 1u;
}

static inline void used_flip(struct bb_ws *w, int v)
{
	w->used[v >> 6] ^= (uint64_t)1 << (v & 63);
}

/* Whether an exhausted state at (a, v) dominates the current used set (v marked) with g. */
static bool memo_dominated(const struct bb_ws *w, int a, int v, double g)
{
	size_t s = (size_t)a * (size_t)w->n + (size_t)v;
	int count = w->ways > 0 ? w->memo_n[s] : 0;

	for (int i = 0; i < count; i++) {
		size_t at = s * (size_t)w->ways + (size_t)i;
		const uint64_t *u = w->memo_u + at * (size_t)w->words;
		bool subset = w->memo_g[at] <= g;

		for (int k = 0; k < w->words && subset; k++)
			subset = (u[k] & ~w->used[k]) == 0;
		if (subset)
			return true;
	}
	return false;
}

static void memo_add(struct bb_ws *w, int a, int v, double g)
{
	size_t s = (size_t)a * (size_t)w->n + (size_t)v, at;
	int slot;

	if (w->ways <= 0)
		return;
	if (w->memo_n[s] < w->ways) {
		slot = w->memo_n[s]++;
	} else {
		slot = w->memo_next[s];
		w->memo_next[s] = (unsigned char)((slot + 1) % w->ways);
	}
	at = s * (size_t)w->ways + (size_t)slot;
	w->memo_g[at] = g;
	memcpy(w->memo_u + at * (size_t)w->words, w->used, (size_t)w->words * sizeof(uint64_t));
}

static int kid_push(struct bb_ws *w, double f, double val, int b, int x)
{
	if (w->n_kids == w->cap_kids) {
		size_t cap = w->cap_kids * 2;
		struct bb_child *k = realloc(w->kids, cap * sizeof(*k));

		if (!k)
			return EP_ENOMEM;
		w->kids = k;
		w->cap_kids = cap;
	}
	w->kids[w->n_kids++] = (struct bb_child){f, val, b, x};
	return EP_OK;
}

/* Smaller bound first; then the later cut (a complete plan sooner); then the smaller g; then
 * the lower node, so that the order is deterministic. */
static int kid_cmp(const void *x, const void *y)
{
	const struct bb_child *a = x, *b = y;

	if (a->f != b->f)
		return a->f < b->f ? -1 : 1;
	if (a->b != b->b)
		return a->b > b->b ? -1 : 1;
	if (a->val != b->val)
		return a->val < b->val ? -1 : 1;
	return (a->w > b->w) - (a->w < b->w);
}

/* The plan of frames 1..depth, whose last stage ends with the output, into out. */
static int bb_record(struct bb_ws *w, int depth, struct plan *out)
{
	plan_clear(out);
	for (int i = 1; i <= depth; i++) {
		int end = i < depth ? w->frames[i + 1].a : w->m - 1;

		if (plan_push(out, w->frames[i].a, end, w->frames[i].v))
			return EP_ENOMEM;
	}
	return EP_OK;
}

/* The children of frame `depth` into the arena (unsorted); complete plans update the incumbent. */
static int bb_expand(struct bb_ws *w, int depth, struct plan *out)
{
	const struct problem *p = w->p;
	const struct bb_frame *fr = &w->frames[depth];
	int n = w->n, m = w->m, a = fr->a, v = fr->v, end = w->max_end[v * m + a];

	for (int b = a + 1; b <= end; b++) {
		double c = dmax(fr->g, problem_compute_s(p, a, b, v));
		const double *hb;

		if (!(dmax(fr->g, problem_compute_floor_s(p, a, b, v)) < w->upper))
			break; /* the floor only grows with the stage (bb_relax) */
		if (!(c < w->upper))
			continue;
		if (b == m - 1) {
			double val = dmax(c, out_hop(p, v));

			if (val < w->upper) {
				w->upper = val;
				if (bb_record(w, depth, out))
					return EP_ENOMEM;
			}
			continue;
		}
		hb = w->h + (size_t)b * (size_t)n;
		for (int x = 0; x < n; x++) {
			double val, f;

			if (!(hb[x] < w->upper) || used_has(w, x))
				continue;
			val = dmax(c, problem_hop_s(p, b, v, x));
			f = dmax(val, hb[x]);
			if (f < w->upper && kid_push(w, f, val, b, x))
				return EP_ENOMEM;
		}
	}
	return EP_OK;
}

/* The root's children, sorted: the first stage on each node. */
static int bb_root(struct bb_ws *w)
{
	struct bb_frame *root = &w->frames[0];

	*root = (struct bb_frame){-1, -1, 0, 0, 0, 0, 0};
	for (int v = 0; v < w->n; v++) {
		double val = in_hop(w->p, v), f = dmax(val, w->h[v]);

		if (f < w->upper && kid_push(w, f, val, 0, v))
			return EP_ENOMEM;
	}
	qsort(w->kids, w->n_kids, sizeof(*w->kids), kid_cmp);
	root->hi = w->n_kids;
	return EP_OK;
}

/*
 * Depth first from the root's children until every state below the incumbent is exhausted, or
 * the deadline passes (*stopped; *depth is then the frame under exploration). Complete plans
 * better than the incumbent go into out.
 */
static int bb_dive(struct bb_ws *w, double deadline, struct plan *out, int *depth, bool *stopped)
{
	int d = 0, rc;

	*stopped = false;
	while (d >= 0) {
		struct bb_frame *fr = &w->frames[d];
		struct bb_child ch;

		if (fr->next == fr->hi || !(w->kids[fr->next].f < w->upper)) {
			/* Exhausted: remember it, free its node and its children. */
			if (d > 0) {
				memo_add(w, fr->a, fr->v, fr->g);
				used_flip(w, fr->v);
			}
			w->n_kids = fr->lo;
			d--;
			continue;
		}
		ch = w->kids[fr->next++];
		used_flip(w, ch.w);
		if (memo_dominated(w, ch.b, ch.w, ch.val)) {
			used_flip(w, ch.w);
			continue;
		}
		/* The clock at the first node, then every OPTIMAL_CLOCK_EVERY. */
		if ((++w->nodes == 1 || w->nodes % OPTIMAL_CLOCK_EVERY == 0) &&
		    deadline < INFINITY && ep_now_s() > deadline) {
			used_flip(w, ch.w);
			fr->next--;
			*stopped = true;
			break;
		}
		d++;
		w->frames[d] = (struct bb_frame){ch.b, ch.w, ch.val, ch.f, w->n_kids, 0, 0};
		rc = bb_expand(w, d, out);
		if (rc)
			return rc;
		qsort(w->kids + w->frames[d].lo, w->n_kids - w->frames[d].lo, sizeof(*w->kids),
		      kid_cmp);
		w->frames[d].hi = w->n_kids;
		w->frames[d].next = w->frames[d].lo;
	}
	*depth = d;
	return EP_OK;
}

/* The proof after the dive: proven (or no plan) when it finished, else the bounds and
 * EP_ELIMIT when a gap is left. */
static int bb_proof(const struct bb_ws *w, int depth, bool stopped, struct optimal_proof *proof)
{
	/* What is not exhausted has a bound no smaller than the root's child under way. */
	double lower = w->upper;

	if (stopped) {
		const struct bb_frame *r0 = &w->frames[0];
		double pending = depth >= 1	     ? w->frames[1].f
				 : r0->next < r0->hi ? w->kids[r0->next].f
						     : INFINITY;

		if (pending < lower)
			lower = pending;
	}
	proof->upper_s = w->upper;
	proof->lower_s = lower;
	proof->nodes = w->nodes;
	if (stopped && lower < w->upper) {
		proof->status = OPTIMAL_LIMIT;
		return EP_ELIMIT;
	}
	proof->status = w->upper < INFINITY ? OPTIMAL_PROVEN : OPTIMAL_NO_PLAN;
	proof->lower_s = w->upper;
	return EP_OK;
}

int optimal_search_run(const struct problem *p, double upper, double deadline, struct plan *out,
		       struct optimal_proof *proof, struct ep_error *err)
{
	struct bb_ws w = {0};
	int rc, depth = 0;
	bool stopped = false;

	rc = bb_init(&w, p, err);
	if (rc)
		goto done;
	w.upper = upper;
	proof->root_bound_s = bb_relax(&w);
	rc = bb_root(&w);
	if (!rc)
		rc = bb_dive(&w, deadline, out, &depth, &stopped);
	if (rc) {
		ep_error_set(err, rc, "out of memory for the search (N = %d)", w.n);
		goto done;
	}
	rc = bb_proof(&w, depth, stopped, proof);
done:
	bb_release(&w);
	return rc;
}
