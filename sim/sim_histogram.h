/*
 * sim_histogram: the distribution of non-negative integer samples (the simulator's latencies
 * in ns) in fixed memory, with quantiles of a stated relative error, mergeable.
 *
 * Layout (the log-linear buckets of an HDR histogram): values below 2^B (B =
 * SIM_HIST_SUB_BITS) have a bucket each; from 2^k to 2^(k+1) - 1, for every k >= B, there are
 * 2^B buckets of width 2^(k-B). A bucket's width is at most 2^-B of its smallest value, and a
 * quantile is reported as its bucket's middle, so it is within SIM_HIST_REL_ERROR = 2^-(B+1)
 * (0.195 %) of the exact sample of that rank, whatever the distribution and the count. Up to
 * SIM_HIST_EXACT samples are also kept as they are, and quantiles are then exact. The count,
 * the minimum and the maximum are always exact. Memory: SIM_HIST_BYTES (about 144 KiB), fixed
 * at creation; recording never allocates.
 *
 * Quantiles use the nearest-rank definition: the p-quantile of n samples is the smallest
 * sample with at least ceil(p n) samples at or below it.
 *
 * Merging adds the counts bucket by bucket: merging the histograms of two runs (or shards)
 * gives exactly the histogram of their union, so the error bound holds for merged histograms
 * too. Why not an existing library: Debian ships no C HDR histogram or t-digest, and GSL's
 * gsl_rstat quantiles (the P^2 algorithm) track one fixed quantile each, carry no error bound
 * and cannot be merged.
 */
#ifndef EDGEPIPE_SIM_HISTOGRAM_H
#define EDGEPIPE_SIM_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "ep_error.h"

#define SIM_HIST_SUB_BITS 8
#define SIM_HIST_REL_ERROR (1.0 / (2 << SIM_HIST_SUB_BITS)) /* 2^-(B+1) */
#define SIM_HIST_BUCKETS ((64 - SIM_HIST_SUB_BITS) << SIM_HIST_SUB_BITS)
#define SIM_HIST_EXACT 4096
#define SIM_HIST_BYTES (SIM_HIST_BUCKETS * sizeof(int64_t) + SIM_HIST_EXACT * sizeof(int64_t))

struct sim_hist;

/* An empty histogram in *out, owned by the caller (sim_hist_destroy). EP_OK or EP_ENOMEM. */
int sim_hist_create(struct sim_hist **out, struct ep_error *err);
void sim_hist_destroy(struct sim_hist *h);

/* Forget every sample. */
void sim_hist_reset(struct sim_hist *h);

/* Record one sample; a negative value is recorded as 0. O(1). */
void sim_hist_record(struct sim_hist *h, int64_t value);

/* Add `from`'s samples to `into`. O(SIM_HIST_BUCKETS). */
void sim_hist_merge(struct sim_hist *into, const struct sim_hist *from);

int64_t sim_hist_count(const struct sim_hist *h);
/* The exact smallest and largest samples; 0 when empty. */
int64_t sim_hist_min(const struct sim_hist *h);
int64_t sim_hist_max(const struct sim_hist *h);

/*
 * The nearest-rank p-quantile (0 <= p <= 1; p = 0 gives the minimum), within
 * SIM_HIST_REL_ERROR of the exact one, exact while at most SIM_HIST_EXACT samples were
 * recorded, and always between the minimum and the maximum. 0 when empty. Sorts the kept
 * samples in place (hence not const). O(SIM_HIST_BUCKETS), or O(n log n) once for kept samples.
 */
int64_t sim_hist_quantile(struct sim_hist *h, double p);

#endif
