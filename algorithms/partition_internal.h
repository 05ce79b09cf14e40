/*
 * partition_internal: memory helpers shared by the SEIFER family (partition.c, random.c,
 * greedy.c, seifer.c).
 */
#ifndef EDGEPIPE_PARTITION_INTERNAL_H
#define EDGEPIPE_PARTITION_INTERNAL_H

#include "ep_error.h"
#include "problem.h"

/* The node with the least memory (the lowest index among equals). The corrected variants cut
 * for it, so that every piece fits on every node and placement never breaks a memory bound. */
int partition_min_node(const struct problem *p);

/*
 * Whether the model can be tiled into at most max_pieces pieces that fit on `node`. Returns
 * EP_OK, or EP_EINFEASIBLE with the reason in err: the first segment that alone does not fit
 * ("segment after cut 40 through cut 41 needs 98.0 MiB; a node has 64.0 MiB"), or the fewest
 * pieces that fit, found greedily (filling each piece as far as it goes is optimal for cutting
 * a sequence into the fewest bounded runs), when they are more than max_pieces.
 * Complexity: O(m).
 */
int partition_check_fit(const struct problem *p, int node, int max_pieces, struct ep_error *err);

#endif
