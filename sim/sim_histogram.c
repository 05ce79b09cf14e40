/*
 * Log-linear histogram with a relative error bound (layout and bound in sim_histogram.h).
 */
#include "sim_histogram.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define B SIM_HIST_SUB_BITS

struct sim_hist {
	int64_t count, min, max;
	bool sorted;                      /* exact[] is sorted */
	int64_t exact[SIM_HIST_EXACT];    /* the first samples, while count <= SIM_HIST_EXACT */
	int64_t buckets[SIM_HIST_BUCKETS];
};

int sim_hist_create(struct sim_hist **out, struct ep_error *err)
{
	*out = malloc(sizeof(**out));
	if (!*out)
		return ep_error_set(err, EP_ENOMEM, "out of memory for a latency histogram");
	sim_hist_reset(*out);
	return EP_OK;
}

void sim_hist_destroy(struct sim_hist *h)
{
	free(h);
}

void sim_hist_reset(struct sim_hist *h)
{
	h->count = h->min = h->max = 0;
	h->sorted = true;
	memset(h->buckets, 0, sizeof(h->buckets));
}

/* Floor of log2 of v > 0. */
static inline int log2_floor(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

static inline int bucket_of(int64_t v)
{
	int k;

	if (v < (1 << B))
		return (int)v;
	k = log2_floor((uint64_t)v);
	return ((k - B + 1) << B) + (int)(((uint64_t)v >> (k - B)) - (1u << B));
}

/* The middle of bucket i: (lowest + highest) / 2, rounded down. */
static int64_t bucket_middle(int i)
{
	int octave = i >> B, shift;
	uint64_t sub, lo, width;

	if (octave == 0)
		return i;
	shift = octave - 1;
	sub = (uint64_t)(i & ((1 << B) - 1)) + (1u << B);
	lo = sub << shift;
	width = (uint64_t)1 << shift;
	return (int64_t)(lo + (width - 1) / 2);
}

void sim_hist_record(struct sim_hist *h, int64_t v)
{
	if (v < 0)
		v = 0;
	if (h->count < SIM_HIST_EXACT) {
		h->exact[h->count] = v;
		h->sorted = false;
	}
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (h->count == 0 || v > h->max)
		h->max = v;
	h->count++;
	h->buckets[bucket_of(v)]++;
}

void sim_hist_merge(struct sim_hist *into, const struct sim_hist *from)
{
	if (from->count == 0)
		return;
	if (into->count + from->count <= SIM_HIST_EXACT) {
		memcpy(into->exact + into->count, from->exact, (size_t)from->count * sizeof(int64_t));
		into->sorted = false;
	}
	if (into->count == 0 || from->min < into->min)
		into->min = from->min;
	if (into->count == 0 || from->max > into->max)
		into->max = from->max;
	into->count += from->count;
	for (int i = 0; i < SIM_HIST_BUCKETS; i++)
		into->buckets[i] += from->buckets[i];
}

int64_t sim_hist_count(const struct sim_hist *h)
{
	return h->count;
}

int64_t sim_hist_min(const struct sim_hist *h)
{
	return h->min;
}

int64_t sim_hist_max(const struct sim_hist *h)
{
	return h->max;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t sim_hist_quantile(struct sim_hist *h, double p)
{
	int64_t rank, seen = 0, v;

	if (h->count == 0)
		return 0;
	if (!(p > 0))
		return h->min;
	if (p >= 1)
		return h->max;
	rank = (int64_t)ceil(p * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	if (h->count <= SIM_HIST_EXACT) {
		if (!h->sorted) {
			qsort(h->exact, (size_t)h->count, sizeof(int64_t), cmp_i64);
			h->sorted = true;
		}
		return h->exact[rank - 1];
	}
	for (int i = 0; i < SIM_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			v = bucket_middle(i);
			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max; /* not reached: the buckets hold count samples */
}
