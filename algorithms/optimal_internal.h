/*
 * optimal_internal: what optimal.c (the driver and the subset DP) and optimal_search.c (the
 * branch and bound) share.
 */
#ifndef EDGEPIPE_OPTIMAL_INTERNAL_H
#define EDGEPIPE_OPTIMAL_INTERNAL_H

#include "optimal.h"

/*
 * The branch and bound of optimal_search.c. On entry `out` holds a valid plan of bottleneck
 * `upper` (or is empty with upper = INFINITY); it is replaced by every strictly better plan
 * found. `deadline` is an ep_now_s() time, or INFINITY. Fills proof's status, lower_s,
 * upper_s, root_bound_s and nodes. Returns EP_OK (proven, or no plan exists: see
 * proof->status), EP_ELIMIT (deadline reached), EP_ENOMEM.
 */
int optimal_search_run(const struct problem *p, double upper, double deadline, struct plan *out,
		       struct optimal_proof *proof, struct ep_error *err);

#endif
