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

#endif
