#include "kpath.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Vertex sets are bitsets of `words` 64-bit words. The threshold graph is kept as one bitset of
 * out-neighbours per vertex, "oriented" so that a fixed end, if there is one, is where the
 * search starts: when only `last` is fixed the graph is transposed and the path reversed at the
 * end. That way both searches below only ever handle a fixed start and an optional fixed end.
 */
struct edge {
	double w;
	int u, v;
};

struct kpath_ws {
	int n, words, kmax;
	uint64_t *adj;      /* [n * words] out-neighbours at the current threshold */
	uint64_t *usable;   /* [words] */
	uint64_t *onpath;   /* [words] depth-first search: vertices on the current path */
	uint64_t *seen;     /* [words] reachability scratch */
	uint64_t *frontier; /* [words] */
	uint64_t *next;     /* [words] */
	uint64_t *cls;      /* [KPATH_MAX_COLOURS * words] vertices of each colour */
	uint64_t *reach;    /* [2^k * words] colour coding table, grown on demand */
	size_t reach_words;
	int *colour;        /* [n] */
	int *path;          /* [kmax] a path found by the current test */
	/* The edges among the usable vertices by bandwidth, descending (ties by index u*n+v):
	 * the threshold graph of bandwidth t is a prefix of this list. */
	struct edge *edges; /* [n * n] */
	int n_edges;
	double *thr;        /* [n * n] the distinct finite bandwidths, descending */
	/* kpath_ws_prepare: the same order over all vertices of one weight matrix */
	struct edge *all;   /* [n * n] */
	int n_all;
	const double *prepared_w;
	int prepared_n, prepared_stride;
};

/* One query, oriented: start (or -1), end (or -1, only when start is fixed). */
struct query {
	const struct kpath_graph *g;
	int k, start, end;
	bool reversed;
	bool last_pred; /* published: walk back through the highest-index predecessor */
};

static inline bool bit_test(const uint64_t *s, int v)
{
	return (s[v >> 6] >> (v & 63)) & 1;
}

static inline void bit_set(uint64_t *s, int v)
{
	s[v >> 6] |= UINT64_C(1) << (v & 63);
}

static inline void bit_clear(uint64_t *s, int v)
{
	s[v >> 6] &= ~(UINT64_C(1) << (v & 63));
}

static int set_count(const uint64_t *s, int words)
{
	int c = 0;

	for (int i = 0; i < words; i++)
		c += __builtin_popcountll(s[i]);
	return c;
}

static bool set_empty(const uint64_t *s, int words)
{
	for (int i = 0; i < words; i++)
		if (s[i])
			return false;
	return true;
}

/* Iterate the members of a bitset in ascending order (nestable: the loop's own names derive
 * from v's). */
#define SET_FOREACH(v, s, words)                                                              \
	for (int w_##v = 0; w_##v < (words); w_##v++)                                         \
		for (uint64_t b_##v = (s)[w_##v];                                             \
		     b_##v && ((v) = w_##v * 64 + __builtin_ctzll(b_##v), 1);                  \
		     b_##v &= b_##v - 1)

struct kpath_ws *kpath_ws_create(int n, int kmax)
{
	struct kpath_ws *ws = calloc(1, sizeof(*ws));
	size_t words;

	if (!ws || n < 1 || kmax < 1)
		goto fail;
	words = ((size_t)n + 63) / 64;
	ws->n = n;
	ws->words = (int)words;
	ws->kmax = kmax;
	ws->adj = calloc((size_t)n * words, sizeof(uint64_t));
	ws->usable = calloc(words, sizeof(uint64_t));
	ws->onpath = calloc(words, sizeof(uint64_t));
	ws->seen = calloc(words, sizeof(uint64_t));
	ws->frontier = calloc(words, sizeof(uint64_t));
	ws->next = calloc(words, sizeof(uint64_t));
	ws->cls = calloc(KPATH_MAX_COLOURS * words, sizeof(uint64_t));
	ws->colour = calloc((size_t)n, sizeof(int));
	ws->path = calloc((size_t)kmax, sizeof(int));
	ws->thr = calloc((size_t)n * (size_t)n, sizeof(double));
	ws->edges = calloc((size_t)n * (size_t)n, sizeof(struct edge));
	if (!ws->adj || !ws->usable || !ws->onpath || !ws->seen || !ws->frontier || !ws->next ||
	    !ws->cls || !ws->colour || !ws->path || !ws->thr || !ws->edges)
		goto fail;
	return ws;
fail:
	kpath_ws_destroy(ws);
	return NULL;
}

void kpath_ws_destroy(struct kpath_ws *ws)
{
	if (!ws)
		return;
	free(ws->adj);
	free(ws->usable);
	free(ws->onpath);
	free(ws->seen);
	free(ws->frontier);
	free(ws->next);
	free(ws->cls);
	free(ws->reach);
	free(ws->colour);
	free(ws->path);
	free(ws->thr);
	free(ws->edges);
	free(ws->all);
	free(ws);
}

static double edge_w(const struct kpath_graph *g, int u, int v)
{
	return g->w[(size_t)u * (size_t)g->stride + (size_t)v];
}

/* The usable set: g->usable plus the fixed ends. Returns its size. */
static int build_usable(struct kpath_ws *ws, const struct kpath_graph *g, int first, int last)
{
	memset(ws->usable, 0, (size_t)ws->words * sizeof(uint64_t));
	for (int v = 0; v < g->n; v++)
		if (!g->usable || g->usable[v] || v == first || v == last)
			bit_set(ws->usable, v);
	return set_count(ws->usable, ws->words);
}

static int edge_cmp(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->w != y->w)
		return x->w < y->w ? 1 : -1;
	if (x->u != y->u)
		return x->u - y->u;
	return x->v - y->v;
}

/* Every edge of g (weight > 0, not NaN) into `out`, sorted; returns the count. */
static int edges_sorted(const struct kpath_graph *g, const uint64_t *among, struct edge *out)
{
	int n = 0;

	for (int u = 0; u < g->n; u++)
		for (int v = 0; v < g->n; v++) {
			double wt = edge_w(g, u, v);

			if (u != v && wt > 0 && (!among || (bit_test(among, u) && bit_test(among, v))))
				out[n++] = (struct edge){ wt, u, v };
		}
	qsort(out, (size_t)n, sizeof(*out), edge_cmp);
	return n;
}

int kpath_ws_prepare(struct kpath_ws *ws, const struct kpath_graph *g)
{
	if (!g || g->n < 1 || g->n > ws->n || g->stride < g->n)
		return EP_EINVAL;
	if (!ws->all && !(ws->all = malloc((size_t)ws->n * (size_t)ws->n * sizeof(struct edge))))
		return EP_ENOMEM;
	ws->n_all = edges_sorted(g, NULL, ws->all);
	ws->prepared_w = g->w;
	ws->prepared_n = g->n;
	ws->prepared_stride = g->stride;
	return EP_OK;
}

/* ws->edges among the usable vertices and ws->thr, the distinct finite bandwidths, both
 * descending. Returns the number of thresholds. */
static int thresholds(struct kpath_ws *ws, const struct kpath_graph *g)
{
	int out = 0;

	if (ws->prepared_w == g->w && ws->prepared_n == g->n && ws->prepared_stride == g->stride) {
		ws->n_edges = 0;
		for (int i = 0; i < ws->n_all; i++)
			if (bit_test(ws->usable, ws->all[i].u) && bit_test(ws->usable, ws->all[i].v))
				ws->edges[ws->n_edges++] = ws->all[i];
	} else {
		ws->n_edges = edges_sorted(g, ws->usable, ws->edges);
	}
	for (int i = 0; i < ws->n_edges; i++) {
		double wt = ws->edges[i].w;

		if (isfinite(wt) && (out == 0 || wt != ws->thr[out - 1]))
			ws->thr[out++] = wt;
	}
	return out;
}

/* The oriented threshold graph: the prefix of ws->edges at or above `threshold`. */
static void build_adj(struct kpath_ws *ws, const struct query *q, double threshold)
{
	int words = ws->words;

	memset(ws->adj, 0, (size_t)q->g->n * (size_t)words * sizeof(uint64_t));
	for (int i = 0; i < ws->n_edges && ws->edges[i].w >= threshold; i++) {
		const struct edge *e = &ws->edges[i];

		if (q->reversed)
			bit_set(ws->adj + (size_t)e->v * words, e->u);
		else
			bit_set(ws->adj + (size_t)e->u * words, e->v);
	}
}

/* ---- exact depth-first search ---------------------------------------------------------- */

struct dfs {
	struct kpath_ws *ws;
	int k, end;
	long budget;
};

/*
 * Whether the vertices reachable from u through free vertices (not on the path, not the fixed
 * end) can still complete the path: `need` more vertices, the last of them the fixed end if
 * there is one.
 */
static bool dfs_can_finish(struct dfs *d, int u, int need)
{
	struct kpath_ws *ws = d->ws;
	int words = ws->words, x, count;
	bool end_seen = d->end >= 0 && bit_test(ws->adj + (size_t)u * words, d->end);
	int want = d->end >= 0 ? need - 1 : need;

	memset(ws->seen, 0, (size_t)words * sizeof(uint64_t));
	memcpy(ws->frontier, ws->adj + (size_t)u * words, (size_t)words * sizeof(uint64_t));
	count = 0;
	for (;;) {
		for (int i = 0; i < words; i++) {
			ws->frontier[i] &= ws->usable[i] & ~ws->onpath[i] & ~ws->seen[i];
			if (d->end >= 0 && (d->end >> 6) == i)
				ws->frontier[i] &= ~(UINT64_C(1) << (d->end & 63));
			ws->seen[i] |= ws->frontier[i];
		}
		count = set_count(ws->seen, words);
		if (count >= want && (d->end < 0 || end_seen))
			return true;
		if (set_empty(ws->frontier, words))
			return false;
		memset(ws->next, 0, (size_t)words * sizeof(uint64_t));
		SET_FOREACH(x, ws->frontier, words) {
			const uint64_t *a = ws->adj + (size_t)x * words;

			for (int i = 0; i < words; i++)
				ws->next[i] |= a[i];
			if (d->end >= 0 && !end_seen && bit_test(a, d->end))
				end_seen = true;
		}
		memcpy(ws->frontier, ws->next, (size_t)words * sizeof(uint64_t));
	}
}

/* Extend ws->path[0..depth] (ending at u). 1 found, 0 none below, -1 out of budget. */
static int dfs_extend(struct dfs *d, int depth, int u)
{
	struct kpath_ws *ws = d->ws;
	int words = ws->words, need = d->k - 1 - depth, v;
	const uint64_t *a = ws->adj + (size_t)u * words;

	if (need == 0)
		return d->end < 0 || u == d->end;
	if (--d->budget < 0)
		return -1;
	if (need == 1 && d->end >= 0) {
		if (!bit_test(a, d->end))
			return 0;
		ws->path[depth + 1] = d->end;
		return 1;
	}
	if (!dfs_can_finish(d, u, need))
		return 0;
	for (int w = 0; w < words; w++) {
		uint64_t cand = a[w] & ws->usable[w] & ~ws->onpath[w];

		if (d->end >= 0 && (d->end >> 6) == w)
			cand &= ~(UINT64_C(1) << (d->end & 63));
		for (; cand; cand &= cand - 1) {
			int r;

			v = w * 64 + __builtin_ctzll(cand);
			ws->path[depth + 1] = v;
			bit_set(ws->onpath, v);
			r = dfs_extend(d, depth + 1, v);
			bit_clear(ws->onpath, v);
			if (r)
				return r;
		}
	}
	return 0;
}

/* Exact search at the current threshold graph: 1 found (ws->path), 0 none, -1 out of budget. */
static int dfs_search(struct kpath_ws *ws, const struct query *q, long budget)
{
	struct dfs d = { ws, q->k, q->end, budget };
	int s;

	SET_FOREACH(s, ws->usable, ws->words) {
		int r;

		if (q->start >= 0 && s != q->start)
			continue;
		if (s == q->end)
			continue;
		memset(ws->onpath, 0, (size_t)ws->words * sizeof(uint64_t));
		bit_set(ws->onpath, s);
		ws->path[0] = s;
		r = dfs_extend(&d, 0, s);
		if (r)
			return r;
	}
	return 0;
}

/* ---- colour coding -------------------------------------------------------------------- */

double kpath_colourings(enum kpath_variant variant, int k, int n_fixed, double p)
{
	int kf = k - n_fixed;
	double log_q;

	if (variant == KPATH_PUBLISHED)
		return floor(10.0 * exp((double)k));
	if (kf <= 1)
		return 1.0; /* every colouring makes every path colourful */
	/* q = kf! / kf^kf, in logs to stay finite */
	log_q = lgamma(kf + 1.0) - kf * log((double)kf);
	return ceil(log(1.0 / p) / -log1p(-exp(log_q)));
}

/* Draw one colouring into ws->colour and ws->cls. */
static void colour_draw(struct kpath_ws *ws, const struct query *q, enum kpath_variant variant,
			gsl_rng *rng)
{
	int k = q->k, words = ws->words, v;
	/* corrected: the fixed ends own colours 0 and k-1; the others share the rest */
	int base = q->start >= 0 ? 1 : 0;
	int free_colours = k - base - (q->end >= 0 ? 1 : 0);
	unsigned long drawn = (unsigned long)floor(1.3 * k);

	memset(ws->cls, 0, (size_t)k * (size_t)words * sizeof(uint64_t));
	SET_FOREACH(v, ws->usable, words) {
		int c;

		if (variant == KPATH_PUBLISHED) {
			c = (int)gsl_rng_uniform_int(rng, drawn);
			if (c >= k) { /* D7: such a vertex can never be on a found path */
				ws->colour[v] = -1;
				continue;
			}
		} else if (v == q->start) {
			c = 0;
		} else if (v == q->end) {
			c = k - 1;
		} else if (free_colours > 0) {
			c = base + (int)gsl_rng_uniform_int(rng, (unsigned long)free_colours);
		} else {
			ws->colour[v] = -1;
			continue;
		}
		ws->colour[v] = c;
		bit_set(ws->cls + (size_t)c * words, v);
	}
}

/*
 * The dynamic program of one colouring: reach[S] = the vertices at which a path coloured
 * exactly S (starting at the fixed start, if any) can end. Sets only grow, so visiting S in
 * increasing numeric order sees each set complete before extending it.
 */
static bool colour_dp(struct kpath_ws *ws, const struct query *q)
{
	int k = q->k, words = ws->words, u, v;
	size_t full = ((size_t)1 << k) - 1;
	uint64_t *reach = ws->reach;

	memset(reach, 0, ((size_t)1 << k) * (size_t)words * sizeof(uint64_t));
	if (q->start >= 0) {
		if (ws->colour[q->start] < 0)
			return false;
		bit_set(reach + ((size_t)1 << ws->colour[q->start]) * words, q->start);
	} else {
		for (int c = 0; c < k; c++)
			memcpy(reach + ((size_t)1 << c) * words, ws->cls + (size_t)c * words,
			       (size_t)words * sizeof(uint64_t));
	}
	for (size_t s = 1; s < full; s++) {
		const uint64_t *rs = reach + s * words;

		if (set_empty(rs, words))
			continue;
		SET_FOREACH(u, rs, words) {
			const uint64_t *a = ws->adj + (size_t)u * words;

			for (int c = 0; c < k; c++) {
				uint64_t *to, *cl;

				if (s & ((size_t)1 << c))
					continue;
				to = reach + (s | ((size_t)1 << c)) * words;
				cl = ws->cls + (size_t)c * words;
				for (int i = 0; i < words; i++)
					to[i] |= a[i] & cl[i];
			}
		}
	}
	if (q->end >= 0 ? !bit_test(reach + full * words, q->end)
			: set_empty(reach + full * words, words))
		return false;
	/* Walk back: the predecessor of v is in reach[S without v's colour] with an edge to v;
	 * the lowest-index one, or, published, the highest (kpath.h: the notebook's order). */
	v = q->end >= 0 ? q->end : -1;
	if (v < 0)
		SET_FOREACH(u, reach + full * words, words) {
			if (v < 0)
				v = u;
		}
	for (int i = k - 1, s = (int)full;; i--) {
		int prev = -1;

		ws->path[i] = v;
		if (i == 0)
			break;
		s &= ~(1 << ws->colour[v]);
		SET_FOREACH(u, reach + (size_t)s * words, words) {
			if ((prev < 0 || q->last_pred) && bit_test(ws->adj + (size_t)u * words, v))
				prev = u;
		}
		v = prev;
	}
	return true;
}

static int reach_reserve(struct kpath_ws *ws, int k)
{
	size_t need = ((size_t)1 << k) * (size_t)ws->words;
	uint64_t *r;

	if (need <= ws->reach_words)
		return EP_OK;
	r = realloc(ws->reach, need * sizeof(uint64_t));
	if (!r)
		return EP_ENOMEM;
	ws->reach = r;
	ws->reach_words = need;
	return EP_OK;
}

/* Up to `colourings` colourings at the current threshold graph: 1 found (ws->path), 0 not,
 * EP_ELIMIT when the work limit is passed. */
static int colour_search(struct kpath_ws *ws, const struct query *q, enum kpath_variant variant,
			 double colourings, gsl_rng *rng, double *work, double work_limit,
			 long *used)
{
	double per = (double)((size_t)1 << q->k) * ws->words;
	int rc = reach_reserve(ws, q->k);

	if (rc)
		return rc;
	for (double t = 0; t < colourings; t++) {
		*work += per;
		if (work_limit > 0 && *work > work_limit)
			return EP_ELIMIT;
		colour_draw(ws, q, variant, rng);
		(*used)++;
		if (colour_dp(ws, q))
			return 1;
	}
	return 0;
}

/* ---- queries -------------------------------------------------------------------------- */

static int query_init(struct kpath_ws *ws, const struct kpath_graph *g, int k, int first,
		      int last, enum kpath_variant variant, struct query *q)
{
	if (!g || g->n < 1 || g->n > ws->n || g->stride < g->n || k < 1 || k > ws->kmax ||
	    first < -1 || first >= g->n || last < -1 || last >= g->n)
		return EP_EINVAL;
	q->g = g;
	q->k = k;
	/* Corrected: a path with only its last vertex fixed is searched from that end, which
	 * prunes the search. Published: as the notebook, forward from any start to the end. */
	q->reversed = variant == KPATH_CORRECTED && first < 0 && last >= 0;
	q->last_pred = variant == KPATH_PUBLISHED;
	q->start = q->reversed ? last : first;
	q->end = q->reversed ? -1 : last;
	return EP_OK;
}

/* The path in the caller's direction. */
static void path_out(const struct kpath_ws *ws, const struct query *q, int *path)
{
	for (int i = 0; i < q->k; i++)
		path[i] = q->reversed ? ws->path[q->k - 1 - i] : ws->path[i];
}

/* The trivial answers: k = 1, too few vertices, the same vertex at both ends. -1: none. */
static int query_trivial(struct kpath_ws *ws, const struct query *q, int first, int last,
			 int usable, int *path)
{
	if (first >= 0 && first == last) {
		if (q->k != 1)
			return 0;
		path[0] = first;
		return 1;
	}
	if (usable < q->k)
		return 0;
	if (q->k == 1) {
		int v;

		if (first >= 0 && last >= 0)
			return 0;
		path[0] = first >= 0 ? first : last;
		if (path[0] < 0)
			SET_FOREACH(v, ws->usable, ws->words) {
				if (path[0] < 0)
					path[0] = v;
			}
		return 1;
	}
	return -1;
}

int kpath_colour_coding(struct kpath_ws *ws, const struct kpath_graph *g, double threshold, int k,
			int first, int last, enum kpath_variant variant, double colourings,
			gsl_rng *rng, int *path, long *used)
{
	struct query q;
	long n_used = 0;
	double work = 0;
	int rc = query_init(ws, g, k, first, last, variant, &q), usable;

	if (used)
		*used = 0;
	if (rc)
		return rc;
	if (k > KPATH_MAX_COLOURS)
		return EP_ELIMIT;
	usable = build_usable(ws, g, first, last);
	rc = query_trivial(ws, &q, first, last, usable, path);
	if (rc >= 0)
		return rc;
	thresholds(ws, g);
	build_adj(ws, &q, threshold);
	rc = colour_search(ws, &q, variant, colourings, rng, &work, 0, &n_used);
	if (used)
		*used = n_used;
	if (rc == 1)
		path_out(ws, &q, path);
	return rc;
}

static double path_bottleneck(const struct kpath_graph *g, const int *path, int k)
{
	double b = INFINITY;

	for (int i = 0; i + 1 < k; i++)
		b = fmin(b, edge_w(g, path[i], path[i + 1]));
	return b;
}

/* Index of `value` among the descending thresholds (it is one of them). */
static int threshold_index(const struct kpath_ws *ws, int n, double value)
{
	int lo = 0, hi = n - 1;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (ws->thr[mid] > value)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct search {
	struct kpath_ws *ws;
	const struct query *q;
	const struct kpath_options *o;
	gsl_rng *rng;
	double p_test; /* corrected: failure bound of one test */
	double work;
	struct kpath_stats st;
};

/* Is there a path at threshold t? 1 yes (ws->path), 0 no (or not found), < 0 error. */
static int threshold_test(struct search *s, double t)
{
	struct kpath_ws *ws = s->ws;
	const struct query *q = s->q;
	int n_fixed = (q->start >= 0) + (q->end >= 0), r = -1;
	double colourings;

	s->st.tests++;
	build_adj(ws, q, t);
	if (s->o->dfs_budget > 0) {
		r = dfs_search(ws, q, s->o->dfs_budget);
		/* Published: the exact search may only save colourings that could find nothing. */
		if (r == 0 || (r == 1 && s->o->variant == KPATH_CORRECTED)) {
			s->st.dfs_decided++;
			return r;
		}
	}
	if (q->k > KPATH_MAX_COLOURS)
		return EP_ELIMIT;
	colourings = kpath_colourings(s->o->variant, q->k, n_fixed, s->p_test);
	return colour_search(ws, q, s->o->variant, colourings, s->rng, &s->work,
			     s->o->work_limit, &s->st.colourings);
}

int kpath_maxmin(struct kpath_ws *ws, const struct kpath_graph *g, int k, int first, int last,
		 const struct kpath_options *o, gsl_rng *rng, int *path, double *bottleneck,
		 struct kpath_stats *st)
{
	struct query q;
	struct search s = { ws, &q, o, rng, 0, 0, { 0, 0, 0 } };
	int rc = query_init(ws, g, k, first, last, o->variant, &q), usable, nt, found = 0;

	if (st)
		*st = s.st;
	if (rc)
		return rc;
	if (o->variant == KPATH_CORRECTED && !(o->failure_prob > 0 && o->failure_prob < 1))
		return EP_EINVAL;
	usable = build_usable(ws, g, first, last);
	rc = query_trivial(ws, &q, first, last, usable, path);
	if (rc >= 0) {
		*bottleneck = INFINITY;
		return rc;
	}
	nt = thresholds(ws, g);
	if (nt == 0)
		return 0;

	if (o->variant == KPATH_PUBLISHED) {
		/* As published: the first threshold index at which a test says yes, assuming the
		 * tests are monotone, which randomised ones are not. */
		int lo = 0, hi = nt - 1;

		while (lo <= hi) {
			int mid = lo + (hi - lo) / 2;

			rc = threshold_test(&s, ws->thr[mid]);
			if (rc < 0)
				goto out;
			if (rc) {
				path_out(ws, &q, path);
				found = 1;
				hi = mid - 1;
			} else {
				lo = mid + 1;
			}
		}
	} else {
		/* Corrected: the lower end `hi` always has a witness path in `path`. A witness
		 * whose own bottleneck is above the tested threshold moves hi further. */
		int lo = 0, hi, tests = 2;

		for (int x = nt - 1; x > 1; x >>= 1)
			tests++;
		s.p_test = o->failure_prob / tests;
		rc = threshold_test(&s, ws->thr[nt - 1]);
		if (rc <= 0)
			goto out;
		path_out(ws, &q, path);
		found = 1;
		hi = threshold_index(ws, nt, path_bottleneck(g, path, k));
		while (lo < hi) {
			int mid = lo + (hi - lo) / 2;

			rc = threshold_test(&s, ws->thr[mid]);
			if (rc < 0)
				goto out;
			if (rc) {
				path_out(ws, &q, path);
				hi = threshold_index(ws, nt, path_bottleneck(g, path, k));
			} else {
				lo = mid + 1;
			}
		}
	}
	rc = found;
	if (found)
		*bottleneck = path_bottleneck(g, path, k);
out:
	if (st)
		*st = s.st;
	return rc;
}
