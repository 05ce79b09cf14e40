/*
 * partition: SEIFER's dynamic program that cuts the model into pieces that fit a node's memory,
 * in both variants (shared/reference/seifer-2022.md), used by `greedy` and `seifer`.
 *
 * Published: vertices (i, j) over cut indices, piece (i, j) ends at cut j-1 and the next starts
 * after cut j (D1: segment j-1 is nobody's); it minimises the SUM of the chosen transfers and
 * ignores bandwidth; the memo on j is global across calls when a memo is passed (D2); the node
 * count only filters the first piece's root (D8). Memory uses problem_fits (strict under the
 * published options).
 * Corrected: pieces tile the model exactly; the memo is local to the call; at most N pieces is a
 * constraint of the DP; the objective is the sum of the transfers between pieces, ties broken by
 * fewer pieces.
 */
#ifndef EDGEPIPE_PARTITION_H
#define EDGEPIPE_PARTITION_H

#include "algo.h"
#include "ep_error.h"
#include "plan.h"
#include "problem.h"

/* A memo for the published DP shared across the calls of a sweep (D2). One per model. */
struct partition_memo *partition_memo_create(void);
void partition_memo_destroy(struct partition_memo *memo);
/* The first published call with a memo fills every entry (as the notebooks' top-down recursion
 * visits every j); later calls only read it, whatever their capacity or node count. */

/*
 * Cut the model of `p` into pieces for at most `max_pieces` nodes (the cluster's n when 0).
 * `out` receives the pieces as stages with node -1 (placement comes later). `memo` is used by
 * the published variant only (NULL: a fresh memo). Returns EP_OK or EP_EINFEASIBLE ("no
 * partition into at most N pieces of ... fits") or EP_ENOMEM.
 * Memory: both variants test against the smallest node's capacity (the notebooks read node
 * 0's, all their nodes being equal; the ITNAC paper states that with unequal memories the
 * smallest is used), so that the pieces fit any node when memories differ.
 * Complexity: corrected O(m^2 N); published O(m^2).
 */
int partition_dp(const struct problem *p, enum algo_variant variant, int max_pieces,
		 struct partition_memo *memo, struct plan *out, struct ep_error *err);

#endif
