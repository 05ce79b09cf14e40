/*
 * kpath: the max-min simple path of k vertices in a weighted directed graph, the path search of
 * SEIFER's K-path matching (shared/reference/seifer-2022.md, "Placement"), in both variants.
 *
 * Given a graph whose edge u -> v has a bandwidth w(u, v) > 0, a vertex count k and optionally
 * fixed end vertices, find a simple path v_0 .. v_{k-1} (v_0 = first, v_{k-1} = last when
 * fixed) that maximises its bottleneck min_i w(v_i, v_{i+1}). The search is a binary search over
 * the sorted edge bandwidths for the largest threshold whose graph (edges of at least that
 * bandwidth) holds such a path; whether one exists is decided at each step by
 *
 * - an exact depth-first search with a step budget (pruned by reachability counts). It proves
 *   "no path" on the sparse graphs of high thresholds and finds one at once on dense ones;
 * - randomised colour coding (Alon, Yuster, Zwick 1995) when the budget runs out: colour the
 *   vertices at random, then a dynamic program over (colour set, vertex) finds a path whose
 *   vertices have distinct colours, if one exists under that colouring.
 *
 * Published: colours are drawn from 1..floor(1.3 k) but only 1..k can complete a path (defect
 * D7); up to int(10 e^k) colourings per threshold; a colouring run that finds nothing counts as
 * "no path", so the binary search is not monotone and may miss the best threshold or fail. The
 * depth-first search is used only to skip colourings where it PROVES there is no path: that
 * changes which random numbers are drawn, not what the published method can return.
 *
 * Corrected: a fixed end gets a colour of its own and the k' = k - (fixed ends) free vertices
 * are coloured with k' colours, so a given path is colourful with probability q = k'!/k'^k' >=
 * e^-k'. With T colourings a path that exists is missed with probability (1 - q)^T; T =
 * ceil(ln(1/p') / -ln(1 - q)) makes that at most p', and T <= e^k' ln(1/p') + 1 <= e^k ln(1/p')
 * + 1 colourings (the bound usually quoted). The binary search spends p' = p / (number of
 * threshold tests), so one kpath_maxmin call answers wrongly with probability at most p = the
 * option failure_prob (a path it returns is always a real one: only its optimality is
 * probabilistic, and only when the depth-first search ran out of budget). The search keeps a
 * witness path for its lower end, so it is monotone: it returns the best threshold it proved,
 * never a path worse than one it has seen.
 *
 * Which of the colourful paths a colouring yields (the order of the path): the path ends at the
 * lowest-index vertex at which one ends (at the fixed end, when there is one). Published: each
 * vertex's predecessor is the highest-index one that can precede it, as in the notebook, whose
 * dynamic program overwrites a (vertex, colour set) entry with every path it finds, visiting
 * vertices in index order, so that the last one stays; a path with only its last vertex fixed
 * is built forward from any start. Corrected: the lowest-index predecessor, and such a path
 * is built backward from its fixed end; its order does not matter, the caller orders it
 * (seifer.c orders each path for the plan's bottleneck).
 *
 * Colour coding keeps a bitset per colour set: it refuses k > KPATH_MAX_COLOURS (EP_ELIMIT).
 */
#ifndef EDGEPIPE_KPATH_H
#define EDGEPIPE_KPATH_H

#include <stdbool.h>

#include <gsl/gsl_rng.h>

#include "ep_error.h"

#define KPATH_MAX_COLOURS 20

enum kpath_variant { KPATH_CORRECTED = 0, KPATH_PUBLISHED };

/* A graph borrowed from the caller: w[u * stride + v] is the bandwidth of u -> v; a value that
 * is not > 0 means no edge; the diagonal is ignored. `usable` (NULL: all) marks the vertices a
 * path may visit; the fixed ends of a query are usable whatever it says. */
struct kpath_graph {
	int n;
	const double *w;
	int stride;
	const bool *usable;
};

struct kpath_options {
	enum kpath_variant variant;
	double failure_prob;  /* corrected: bound on one kpath_maxmin call being wrong, (0, 1) */
	long dfs_budget;      /* depth-first steps per threshold before colour coding; 0: none */
	double work_limit;    /* colour coding work (colourings x colour sets x bitset words)
			       * per call before giving up with EP_ELIMIT; 0: no limit */
};

#define KPATH_DFS_BUDGET_DEFAULT 20000L
#define KPATH_OPTIONS_DEFAULT                                                                \
	((struct kpath_options){ KPATH_CORRECTED, 1e-6, KPATH_DFS_BUDGET_DEFAULT, 0 })

/* What one call did, for tests and benchmarks. */
struct kpath_stats {
	int tests;           /* thresholds tested */
	int dfs_decided;     /* of which the depth-first search decided */
	long colourings;     /* colourings drawn */
};

/* Workspace for graphs of up to n vertices and paths of up to kmax vertices; NULL when out of
 * memory. Owned by the caller. */
struct kpath_ws *kpath_ws_create(int n, int kmax);
void kpath_ws_destroy(struct kpath_ws *ws);

/*
 * Sort the edges of `g` once for the kpath_maxmin calls that follow on the same weight matrix
 * (whatever their `usable` sets): they then filter this order instead of sorting their own.
 * Call it again after changing the weights. EP_OK, EP_EINVAL, EP_ENOMEM.
 * Complexity: O(E log E).
 */
int kpath_ws_prepare(struct kpath_ws *ws, const struct kpath_graph *g);

/*
 * The number of colourings one threshold test draws: published int(10 e^k); corrected the T
 * above for k vertices of which n_fixed (0..2) are fixed ends, failure bound p per test.
 */
double kpath_colourings(enum kpath_variant variant, int k, int n_fixed, double p);

/*
 * Colour coding alone, at one threshold: up to `colourings` random colourings of `variant`'s
 * kind, stopping at the first that yields a path of k vertices using only edges of bandwidth
 * >= threshold, from `first` to `last` (-1: free). On success writes the path to path[0..k-1]
 * and returns 1; returns 0 when no colouring found one, EP_EINVAL for a bad query, EP_ELIMIT
 * when k > KPATH_MAX_COLOURS or beyond the workspace. `used` (may be NULL) receives the number
 * of colourings drawn.
 * Complexity: O(colourings 2^k n^2 / 64).
 */
int kpath_colour_coding(struct kpath_ws *ws, const struct kpath_graph *g, double threshold, int k,
			int first, int last, enum kpath_variant variant, double colourings,
			gsl_rng *rng, int *path, long *used);

/*
 * The max-min path of k vertices, as described above. On success writes it to path[0..k-1],
 * its bottleneck bandwidth to *bottleneck (+INFINITY when k = 1) and returns 1; returns 0 when
 * no path was found (corrected: none exists, with probability >= 1 - failure_prob; published:
 * the search failed), EP_EINVAL for a bad query, EP_ELIMIT when colour coding was needed beyond
 * KPATH_MAX_COLOURS or o->work_limit. `st` may be NULL.
 * Complexity: O(E log E) for sorting the E edges (O(n^2) after kpath_ws_prepare), then
 * O(log E) threshold tests, each O(E + dfs_budget n^2 / 64) plus, when colour coding runs,
 * O(T 2^k n^2 / 64).
 */
int kpath_maxmin(struct kpath_ws *ws, const struct kpath_graph *g, int k, int first, int last,
		 const struct kpath_options *o, gsl_rng *rng, int *path, double *bottleneck,
		 struct kpath_stats *st);

#endif
