/*
 * optimal: the exact minimum of the bottleneck over every valid plan, with its proof.
 *
 * What is minimised is plan_cost's bottleneck_s under the problem's options (the hops between
 * stages, plus each stage's compute time and the two dispatcher hops when those count) over
 * every tiling of the cut points into stages on distinct nodes that fit their memory
 * (problem_fits), in every order of nodes. Compute and hop times are read through problem.h
 * (problem_compute_s, problem_hop_s), the terms plan_cost adds up, never recomputed here.
 *
 * Two exact methods, one answer:
 * - the subset DP (optimal.c): dynamic programming over the sets of used nodes, O(2^N); the
 *   small-N path and the oracle the search is tested against;
 * - the search (optimal_search.c): a depth-first branch and bound over partial plans, bounded
 *   below by a relaxation solved exactly once per instance, with dominance between explored
 *   partial plans; polynomial per search node and exact (see that file for the argument).
 * OPTIMAL_AUTO takes the DP up to OPTIMAL_DP_MAX_NODES nodes and the search above.
 *
 * The proof (struct optimal_proof) says what was shown: status OPTIMAL_PROVEN means no valid
 * plan has a smaller bottleneck than the one returned (lower_s == upper_s); OPTIMAL_LIMIT means
 * the time limit struck first: the plan returned is the best found (upper_s, or none) and no
 * plan is below lower_s; OPTIMAL_NO_PLAN means it is proven that no valid plan exists.
 */
#ifndef EDGEPIPE_OPTIMAL_H
#define EDGEPIPE_OPTIMAL_H

#include <stdbool.h>

#include <gsl/gsl_rng.h>

#include "ep_error.h"
#include "plan.h"
#include "problem.h"

/* AUTO's switch from the subset DP to the search. At N <= 10 both prove every published-grid
 * instance in under 0.2 s and neither is faster overall (tests/bench_optimal.c, 20 trials, `auto`
 * against `search`: 20.6 s of solve time each over 6400 instances, noise included); the DP, the
 * older and independently checked method, keeps the small instances. */
#define OPTIMAL_DP_MAX_NODES 10

enum optimal_method {
	OPTIMAL_AUTO = 0,
	OPTIMAL_SUBSET_DP, /* refused beyond 12 nodes (EP_ELIMIT) unless force */
	OPTIMAL_SEARCH,
};

struct optimal_options {
	enum optimal_method method;
	double time_limit_s; /* 0: none. Checked every few hundred search nodes (search only) */
	bool force;	     /* subset DP: go beyond 12 nodes (up to a 2 GiB table) */
};

enum optimal_status {
	OPTIMAL_PROVEN = 0, /* the plan's bottleneck is the minimum */
	OPTIMAL_LIMIT,      /* stopped at the time limit: best plan found and best bound */
	OPTIMAL_NO_PLAN,    /* proven: no valid plan exists */
};

struct optimal_proof {
	enum optimal_status status;
	const char *method; /* "subset-dp" or "search" */
	double upper_s;	    /* the returned plan's bottleneck; INFINITY without a plan */
	double lower_s;	    /* no valid plan is below it; == upper_s when proven */
	double root_bound_s; /* the search's relaxation bound at the root (NAN for the DP) */
	double initial_s;   /* the first incumbent's bottleneck (joint's plan); INFINITY if none */
	long nodes;	    /* search nodes expanded (DP: live (subset, node) pairs expanded) */
	double time_s;	    /* wall time, the initial plan (joint) included */
};

/*
 * Solve `p` into `out` (initialised). `rng` feeds the initial heuristic (joint). Returns EP_OK
 * with status PROVEN; EP_ELIMIT with status LIMIT (out holds the best plan found, possibly
 * none) or, for the subset DP, when the instance is too large for it (proof->status LIMIT,
 * nothing searched); EP_EINFEASIBLE with status NO_PLAN; EP_ENOMEM; EP_EINTERNAL. `proof` may
 * be NULL.
 * Complexity: see optimal.c (DP) and optimal_search.c (search).
 */
int optimal_solve(const struct problem *p, const struct optimal_options *o, gsl_rng *rng,
		  struct plan *out, struct optimal_proof *proof, struct ep_error *err);

#endif
