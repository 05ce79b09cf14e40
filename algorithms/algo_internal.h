/*
 * algo_internal: the algorithms of the registry (algo.c), one file each.
 */
#ifndef EDGEPIPE_ALGO_INTERNAL_H
#define EDGEPIPE_ALGO_INTERNAL_H

#include "algo.h"

extern const struct algo algo_random;  /* random.c */
extern const struct algo algo_greedy;  /* greedy.c */
extern const struct algo algo_seifer;  /* seifer.c */
extern const struct algo algo_joint;   /* joint.c */
extern const struct algo algo_optimal; /* optimal.c */
extern const struct algo algo_defer;   /* defer.c */
extern const struct algo algo_feltin;  /* feltin.c */

/*
 * For the tests: Feltin et al.'s evaluation of an assignment prefix, segment j (1 <= j <= d)
 * on node node_of[j - 1]: `total` (may be NULL) the bottleneck of its completion (every
 * remaining segment on node_of[d - 1]) under their model (compute summed per node, hops per
 * directed link), `bound` (may be NULL) their bound, the largest counted transfer term among
 * the assigned segments. d <= FELTIN_EVAL_MAX_SEGMENTS, nodes < FELTIN_EVAL_MAX_NODES.
 */
#define FELTIN_EVAL_MAX_SEGMENTS 64
#define FELTIN_EVAL_MAX_NODES 64
void feltin_prefix_eval(const struct problem *p, const int *node_of, int d, double *total,
			double *bound);

#endif
