/*
 * kpath: the max-min path search of K-path matching against a brute-force enumeration of every
 * simple path on many small random graphs; colour coding alone finding planted paths; the
 * colouring counts; the error codes.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <igraph.h>

#include "check.h"
#include "kpath.h"

#define NMAX 40

struct graph {
	int n;
	double w[NMAX * NMAX];
	bool usable[NMAX];
};

/* ---- brute force: every simple path, written out here ---- */

struct brute {
	const struct graph *g;
	int k, last;
	bool on[NMAX];
	double best; /* best bottleneck so far, -1 when none */
};

static bool usable_or_end(const struct brute *b, int v, int first)
{
	return b->g->usable[v] || v == first || v == b->last;
}

static void brute_extend(struct brute *b, int len, int u, double bott, int first)
{
	if (len == b->k) {
		if (b->last < 0 || u == b->last)
			b->best = fmax(b->best, bott);
		return;
	}
	for (int v = 0; v < b->g->n; v++) {
		double wt = b->g->w[u * b->g->n + v];

		if (v == u || b->on[v] || !(wt > 0) || !usable_or_end(b, v, first))
			continue;
		b->on[v] = true;
		brute_extend(b, len + 1, v, fmin(bott, wt), first);
		b->on[v] = false;
	}
}

/* The best bottleneck of a simple k-vertex path first .. last, INFINITY for k = 1, -1 if none. */
static double brute_maxmin(const struct graph *g, int k, int first, int last)
{
	struct brute b = { .g = g, .k = k, .last = last, .best = -1 };

	for (int s = 0; s < g->n; s++) {
		if ((first >= 0 && s != first) || !usable_or_end(&b, s, first))
			continue;
		if (k > 1 && s == last)
			continue;
		b.on[s] = true;
		brute_extend(&b, 1, s, INFINITY, first);
		b.on[s] = false;
	}
	return b.best;
}

/* A path is a real answer: k distinct usable vertices, the fixed ends, edges of >= bott. */
static bool path_valid(const struct graph *g, const int *path, int k, int first, int last,
		       double bott)
{
	bool on[NMAX] = { false };
	double b = INFINITY;

	for (int i = 0; i < k; i++) {
		int v = path[i];

		if (v < 0 || v >= g->n || on[v] || (!g->usable[v] && v != first && v != last))
			return false;
		on[v] = true;
		if (i > 0) {
			double wt = g->w[path[i - 1] * g->n + v];

			if (!(wt > 0))
				return false;
			b = fmin(b, wt);
		}
	}
	if ((first >= 0 && path[0] != first) || (last >= 0 && path[k - 1] != last))
		return false;
	return b == bott;
}

static void random_graph(struct graph *g, gsl_rng *rng, int n)
{
	double density = (double[]){ 0.25, 0.5, 1.0 }[gsl_rng_uniform_int(rng, 3)];
	bool symmetric = gsl_rng_uniform_int(rng, 2);
	bool few_values = gsl_rng_uniform_int(rng, 2); /* ties between edges */

	g->n = n;
	for (int u = 0; u < n; u++) {
		g->usable[u] = gsl_rng_uniform(rng) < 0.85;
		for (int v = 0; v < n; v++) {
			double wt = few_values ? 1.0 + (double)gsl_rng_uniform_int(rng, 4)
					       : gsl_rng_uniform_pos(rng);

			if (u == v || gsl_rng_uniform(rng) >= density)
				wt = 0;
			if (symmetric && v < u)
				wt = g->w[v * n + u];
			g->w[u * n + v] = wt;
		}
	}
}

static struct kpath_graph view(const struct graph *g)
{
	return (struct kpath_graph){ g->n, g->w, g->n, g->usable };
}

/* A random query: k and which ends are fixed (distinct vertices). */
static void random_query(gsl_rng *rng, int n, int *k, int *first, int *last)
{
	unsigned long ends = gsl_rng_uniform_int(rng, 4);

	*k = 1 + (int)gsl_rng_uniform_int(rng, (unsigned long)n);
	*first = (ends & 1) ? (int)gsl_rng_uniform_int(rng, (unsigned long)n) : -1;
	*last = (ends & 2) ? (int)gsl_rng_uniform_int(rng, (unsigned long)n) : -1;
	if (*first >= 0 && *first == *last)
		*last = -1;
}

/*
 * The corrected search equals brute force: with the exact depth-first search first (the
 * default), and with colour coding alone (dfs_budget 0; failure bound 1e-9 per call, so over
 * these few thousand calls a mismatch is a bug, not bad luck). The published search returns
 * a real path no better than the optimum, and nothing when there is none.
 */
static void test_against_brute_force(void)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct kpath_ws *ws = kpath_ws_create(8, 8);
	struct graph g;
	int path[8], mismatches[3] = { 0, 0, 0 }, found = 0, published_best = 0;
	int colour_only_runs = 0;

	gsl_rng_set(rng, 20240601);
	for (int t = 0; t < 1500; t++) {
		int n = 2 + (int)gsl_rng_uniform_int(rng, 7), k, first, last;
		struct kpath_graph kg;
		double want, bott;
		int rc;

		random_graph(&g, rng, n);
		kg = view(&g);
		random_query(rng, n, &k, &first, &last);
		want = brute_maxmin(&g, k, first, last);
		found += want >= 0;

		for (int mode = 0; mode < 2; mode++) {
			struct kpath_options o = KPATH_OPTIONS_DEFAULT;

			o.failure_prob = 1e-9;
			if (mode == 1) {
				/* colour coding alone: keep k small so that the test stays fast */
				if (k > 6)
					continue;
				o.dfs_budget = 0;
				colour_only_runs++;
			}
			rc = kpath_maxmin(ws, &kg, k, first, last, &o, rng, path, &bott, NULL);
			if (rc != (want >= 0) || (rc == 1 && (bott != want ||
						!path_valid(&g, path, k, first, last, bott)))) {
				mismatches[mode]++;
				fprintf(stderr, "mode %d n %d k %d ends %d %d: rc %d bott %g, brute "
					"force %g\n", mode, n, k, first, last, rc, bott, want);
			}
		}
		if (k <= 7) { /* beyond, int(10 e^k) colourings of a missing path are slow */
			struct kpath_options o = KPATH_OPTIONS_DEFAULT;
			struct kpath_stats st;

			o.variant = KPATH_PUBLISHED;
			rc = kpath_maxmin(ws, &kg, k, first, last, &o, rng, path, &bott, &st);
			/* published paths come from colour coding only: k = 1 needs no search */
			if (rc < 0 || (want < 0 && rc != 0) ||
			    (rc == 1 && (bott > want || !path_valid(&g, path, k, first, last, bott) ||
					 (k > 1 && st.colourings < 1))))
				mismatches[2]++;
			published_best += rc == 1 && bott == want;
		}
	}
	CHECK_INT(mismatches[0], 0);
	CHECK_INT(mismatches[1], 0);
	CHECK_INT(mismatches[2], 0);
	/* the random graphs must exercise both answers, and colour coding alone must have run */
	CHECK(found > 300 && found < 1200);
	CHECK(colour_only_runs > 800);
	CHECK(published_best > 0);
	kpath_ws_destroy(ws);
	gsl_rng_free(rng);
}

/*
 * Larger graphs (30 vertices, uniform bandwidths, a few edges missing), where brute force is
 * out of reach: the exact-search answer and the colour-coding-only answer agree.
 */
static void test_search_methods_agree(void)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct kpath_ws *ws = kpath_ws_create(30, 6);
	struct graph g;
	int path[6], disagreements = 0;

	gsl_rng_set(rng, 77);
	g.n = 30;
	for (int t = 0; t < 12; t++) {
		int k = 3 + (int)gsl_rng_uniform_int(rng, 4), first = -1, last = -1;
		struct kpath_options exact = KPATH_OPTIONS_DEFAULT, colour = KPATH_OPTIONS_DEFAULT;
		struct kpath_graph kg = { 30, g.w, 30, g.usable };
		double b1 = -1, b2 = -2;
		int r1, r2;

		for (int u = 0; u < 30; u++) {
			g.usable[u] = true;
			for (int v = 0; v < 30; v++)
				g.w[u * 30 + v] = u != v && gsl_rng_uniform(rng) < 0.9
							  ? gsl_rng_uniform_pos(rng) : 0;
		}
		if (t % 3 == 1)
			first = (int)gsl_rng_uniform_int(rng, 30);
		if (t % 3 == 2) {
			first = 0;
			last = 29;
		}
		colour.dfs_budget = 0;
		colour.failure_prob = exact.failure_prob = 1e-9;
		r1 = kpath_maxmin(ws, &kg, k, first, last, &exact, rng, path, &b1, NULL);
		CHECK(r1 != 1 || path_valid(&g, path, k, first, last, b1));
		r2 = kpath_maxmin(ws, &kg, k, first, last, &colour, rng, path, &b2, NULL);
		CHECK(r2 != 1 || path_valid(&g, path, k, first, last, b2));
		disagreements += r1 != 1 || r2 != 1 || b1 != b2;
	}
	CHECK_INT(disagreements, 0);
	kpath_ws_destroy(ws);
	gsl_rng_free(rng);
}

/*
 * Colour coding alone finds planted paths: 40 vertices, a sparse random graph (each ordered
 * pair an edge with probability 0.04) plus a planted path of 7 vertices; with the corrected
 * number of colourings for a failure bound of 1e-6 it must find a 7-vertex path every time,
 * free or between the planted path's fixed ends.
 */
static void test_colour_coding_finds_paths(void)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct kpath_ws *ws = kpath_ws_create(NMAX, 7);
	struct graph g;
	int path[7], planted[7], found = 0;
	const int k = 7, trials = 30;

	gsl_rng_set(rng, 4242);
	g.n = NMAX;
	for (int t = 0; t < trials; t++) {
		int first = -1, last = -1, n_fixed;
		struct kpath_graph kg;
		long used;

		for (int u = 0; u < NMAX; u++) {
			g.usable[u] = true;
			for (int v = 0; v < NMAX; v++)
				g.w[u * NMAX + v] = u != v && gsl_rng_uniform(rng) < 0.04 ? 1.0 : 0.0;
		}
		/* plant a path on random distinct vertices */
		for (int i = 0; i < k; i++) {
			bool again;

			do {
				planted[i] = (int)gsl_rng_uniform_int(rng, NMAX);
				again = false;
				for (int j = 0; j < i; j++)
					again |= planted[j] == planted[i];
			} while (again);
			if (i > 0)
				g.w[planted[i - 1] * NMAX + planted[i]] = 1.0;
		}
		if (t % 3 >= 1)
			first = planted[0];
		if (t % 3 == 2)
			last = planted[k - 1];
		n_fixed = (first >= 0) + (last >= 0);
		kg = view(&g);
		if (kpath_colour_coding(ws, &kg, 1.0, k, first, last, KPATH_CORRECTED,
					kpath_colourings(KPATH_CORRECTED, k, n_fixed, 1e-6), rng, path,
					&used) == 1 &&
		    path_valid(&g, path, k, first, last, 1.0))
			found++;
	}
	CHECK_INT(found, trials);
	kpath_ws_destroy(ws);
	gsl_rng_free(rng);
}

/*
 * The colouring counts. Published: int(10 e^5) = int(1484.13) = 1484. Corrected, k = 5 free
 * vertices, p = 1e-6: q = 5!/5^5 = 0.0384, -ln(1 - q) = 0.0391567, ln(1e6) = 13.8155,
 * T = ceil(352.83) = 353. With both ends of a 2-vertex path fixed nothing is random: 1. And the
 * stated bound T <= e^k' ln(1/p) + 1 for k' = 2 .. 14.
 */
static void test_colourings(void)
{
	CHECK_NEAR(kpath_colourings(KPATH_PUBLISHED, 5, 0, 1e-6), 1484, 0);
	CHECK_NEAR(kpath_colourings(KPATH_CORRECTED, 5, 0, 1e-6), 353, 0);
	CHECK_NEAR(kpath_colourings(KPATH_CORRECTED, 7, 2, 1e-6), 353, 0);
	CHECK_NEAR(kpath_colourings(KPATH_CORRECTED, 2, 2, 1e-6), 1, 0);
	for (int k = 2; k <= 14; k++)
		CHECK(kpath_colourings(KPATH_CORRECTED, k, 0, 1e-3) <= exp(k) * log(1e3) + 1);
}

/* Every documented error code of the module, and the trivial answers. */
static void test_errors_and_trivial(void)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct kpath_ws *ws = kpath_ws_create(24, 24);
	struct kpath_options o = KPATH_OPTIONS_DEFAULT;
	struct graph g;
	int path[24];
	double bott;
	long used;
	struct kpath_graph kg;

	g.n = 24;
	for (int u = 0; u < 24; u++) {
		g.usable[u] = true;
		for (int v = 0; v < 24; v++)
			g.w[u * 24 + v] = u != v ? 1.0 + (u + v) % 5 : 0;
	}
	kg = view(&g);
	CHECK_INT(kpath_maxmin(ws, &kg, 0, -1, -1, &o, rng, path, &bott, NULL), EP_EINVAL);
	CHECK_INT(kpath_maxmin(ws, &kg, 3, 24, -1, &o, rng, path, &bott, NULL), EP_EINVAL);
	CHECK_INT(kpath_maxmin(ws, &kg, 25, -1, -1, &o, rng, path, &bott, NULL), EP_EINVAL);
	o.failure_prob = 0;
	CHECK_INT(kpath_maxmin(ws, &kg, 3, -1, -1, &o, rng, path, &bott, NULL), EP_EINVAL);
	/* colour coding refuses more than KPATH_MAX_COLOURS vertices */
	CHECK_INT(kpath_colour_coding(ws, &kg, 1.0, KPATH_MAX_COLOURS + 1, -1, -1,
				      KPATH_CORRECTED, 1, rng, path, &used), EP_ELIMIT);
	o = KPATH_OPTIONS_DEFAULT;
	o.dfs_budget = 0;
	CHECK_INT(kpath_maxmin(ws, &kg, KPATH_MAX_COLOURS + 1, -1, -1, &o, rng, path, &bott, NULL),
		  EP_ELIMIT);
	/* and stops at the work limit: 2^10 sets x 1 word per colouring is above 100 */
	o.work_limit = 100;
	CHECK_INT(kpath_maxmin(ws, &kg, 10, -1, -1, &o, rng, path, &bott, NULL), EP_ELIMIT);

	/* k = 1: the fixed end itself, bottleneck +inf; both ends fixed and distinct: none */
	o = KPATH_OPTIONS_DEFAULT;
	CHECK_INT(kpath_maxmin(ws, &kg, 1, 5, -1, &o, rng, path, &bott, NULL), 1);
	CHECK_INT(path[0], 5);
	CHECK(isinf(bott));
	CHECK_INT(kpath_maxmin(ws, &kg, 1, 5, 6, &o, rng, path, &bott, NULL), 0);
	/* more vertices than usable ones: none, whatever the method */
	for (int v = 3; v < 24; v++)
		g.usable[v] = false;
	CHECK_INT(kpath_maxmin(ws, &kg, 4, -1, -1, &o, rng, path, &bott, NULL), 0);
	/* ... but fixed ends count as usable: 0, 1, 2 and the fixed 20 */
	CHECK_INT(kpath_maxmin(ws, &kg, 4, -1, 20, &o, rng, path, &bott, NULL), 1);
	CHECK_INT(path[3], 20);
	kpath_ws_destroy(ws);
	gsl_rng_free(rng);
}

/*
 * Issue 9, item 14: the order of the path a colouring yields. On a triangle with equal
 * weights every colouring that succeeds colours the three vertices 0, 1, 2 distinctly, and
 * both (1, 2, 0) and (2, 1, 0) end at vertex 0, the lowest index. The published notebook's
 * dynamic program overwrites the path of (vertex 0, all colours) with each predecessor in
 * vertex order, so the last, 2, stays: (1, 2, 0). The corrected search walks back through the
 * lowest-index predecessor: (2, 1, 0) (seifer then orders it for the bottleneck).
 */
static void test_path_order(void)
{
	static const int want_published[3] = { 1, 2, 0 }, want_corrected[3] = { 2, 1, 0 };
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct kpath_ws *ws = kpath_ws_create(3, 3);
	struct kpath_options o = KPATH_OPTIONS_DEFAULT;
	struct graph g;
	struct kpath_graph kg;
	int path[3];
	double bott;

	g.n = 3;
	for (int u = 0; u < 3; u++) {
		g.usable[u] = true;
		for (int v = 0; v < 3; v++)
			g.w[u * 3 + v] = u != v ? 5.0 : 0;
	}
	kg = view(&g);
	for (unsigned long seed = 1; seed <= 20; seed++) {
		gsl_rng_set(rng, seed);
		o.variant = KPATH_PUBLISHED;
		o.dfs_budget = 0;
		CHECK_INT(kpath_maxmin(ws, &kg, 3, -1, -1, &o, rng, path, &bott, NULL), 1);
		for (int i = 0; i < 3; i++)
			CHECK_INT(path[i], want_published[i]);
		o.variant = KPATH_CORRECTED;
		CHECK_INT(kpath_maxmin(ws, &kg, 3, -1, -1, &o, rng, path, &bott, NULL), 1);
		for (int i = 0; i < 3; i++)
			CHECK_INT(path[i], want_corrected[i]);
	}
	kpath_ws_destroy(ws);
	gsl_rng_free(rng);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	test_against_brute_force();
	test_search_methods_agree();
	test_colour_coding_finds_paths();
	test_colourings();
	test_errors_and_trivial();
	test_path_order();
	return check_exit();
}
