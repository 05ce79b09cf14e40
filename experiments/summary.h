/*
 * summary: the Markdown table of a sweep database (store.h): our numbers beside the published
 * claims of SEIFER (ITNAC 2022): about 10x better than random, 35 % better than greedy, within
 * 9.2 % of optimal.
 *
 * For each (variant, model), in sorted order: the mean bottleneck latency of each algorithm over
 * its trials with status ok, with the 95 % confidence half-width (Student t) and the counts of
 * ok and excluded trials (failed, infeasible, limit: never averaged in as 0); then the paired
 * ratios the paper claims, each a mean over trials paired by (cluster, memory, N, trial, seed)
 * where both rows are ok and the denominator is positive, with the number of pairs and the
 * published figure beside it:
 *
 *   random / seifer          mean of b_random / b_seifer            (published: about 10x)
 *   seifer better than greedy mean of 1 - b_seifer / b_greedy, in %   (published: 35 %, at N = 50)
 *   seifer above optimal     mean of b_seifer / b_opt - 1, in %     (published: 9.2 %, measured
 *                                                                   against a lower bound)
 *
 * A ratio without pairs reads "n/a". Tables pool the memory sizes, node counts and clusters of
 * their (variant, model). Algorithms with bandwidth classes (seifer) are taken at one class
 * count, as in plot.h.
 */
#ifndef EDGEPIPE_SUMMARY_H
#define EDGEPIPE_SUMMARY_H

#include <stdio.h>

#include "ep_error.h"

struct sqlite3;

/*
 * Write the summary of `db` to `out`. `bw_classes` is the class count shown for seifer (0: 8
 * if the database has it, else the median count present). Returns EP_OK, EP_EINVAL (not an
 * edgepipe database, or the class count is absent), EP_EIO (reading, or writing `out`),
 * EP_ENOMEM. The caller keeps `db` and `out`.
 */
int summary_write_markdown(struct sqlite3 *db, int bw_classes, FILE *out, struct ep_error *err);

#endif
