/*
 * tiny_instance: hand-made and random small problem instances for the algorithm tests, without
 * a model graph: a profile holding only the fields problem_init reads (cumulative memory and
 * FLOPs, transfer bytes per cut point) and a cluster in fixed arrays (no cluster_destroy).
 */
#ifndef EDGEPIPE_TEST_TINY_INSTANCE_H
#define EDGEPIPE_TEST_TINY_INSTANCE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "cluster.h"
#include "model_profile.h"
#include "problem.h"

#define TINY_MAX_M 24
#define TINY_MAX_N 16

struct tiny {
	struct model_profile prof;
	struct model_cut_profile cuts[TINY_MAX_M];
	struct cluster cl;
	double mem[TINY_MAX_N], speed[TINY_MAX_N];
	double bw[(TINY_MAX_N + 1) * (TINY_MAX_N + 1)], lat[(TINY_MAX_N + 1) * (TINY_MAX_N + 1)];
	struct problem p;
};

/* Empty instance of m cut points and n nodes, all zero; fill, then tiny_ready. */
static inline void tiny_clear(struct tiny *t, int m, int n)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->prof.model, sizeof(t->prof.model), "tiny");
	t->prof.n_cuts = (size_t)m;
	t->prof.cuts = t->cuts;
	t->cl.n = n;
	t->cl.mem_bytes = t->mem;
	t->cl.speed_flops = t->speed;
	t->cl.bw_bps = t->bw;
	t->cl.latency_s = t->lat;
}

static inline int tiny_ready(struct tiny *t, const struct problem_options *opt)
{
	return problem_init(&t->p, &t->prof, &t->cl, opt, NULL);
}

/*
 * Random instance with m cut points and n nodes: segments of 1..10 bytes, 1..100 FLOPs and
 * transfers of 1..20 bytes (the output's is 0 three times in ten, as in the published
 * accounting); node memories from 8 bytes to the whole model (all equal to node 0's when
 * equal_mem), speeds 0 (not modelled) or 1..10 FLOP/s, bandwidths 1..100 bit/s, latencies 0 or
 * 0..0.4 s, and random metric options.
 */
static inline int tiny_random(struct tiny *t, gsl_rng *rng, int m, int n, bool equal_mem)
{
	struct problem_options opt = { 0 };
	double cum_mem = 0, cum_flops = 0;
	int v1 = n + 1;

	tiny_clear(t, m, n);
	for (int k = 0; k < m; k++) {
		cum_mem += k == 0 ? 1 : 1 + (double)gsl_rng_uniform_int(rng, 10);
		cum_flops += k == 0 ? 0 : (double)(1 + gsl_rng_uniform_int(rng, 100));
		t->cuts[k].cum_mem_bytes = cum_mem;
		t->cuts[k].cum_flops = (int64_t)cum_flops;
		t->cuts[k].transfer_bytes = 1 + (double)gsl_rng_uniform_int(rng, 20);
	}
	if (gsl_rng_uniform(rng) < 0.3)
		t->cuts[m - 1].transfer_bytes = 0;
	for (int i = 0; i < n; i++) {
		t->mem[i] = equal_mem && i > 0
				    ? t->mem[0]
				    : 8 + (double)gsl_rng_uniform_int(rng, (unsigned long)cum_mem);
		t->speed[i] =
			gsl_rng_uniform(rng) < 0.3 ? 0 : 1 + (double)gsl_rng_uniform_int(rng, 10);
	}
	for (int i = 0; i < v1; i++)
		for (int j = 0; j < v1; j++) {
			t->bw[i * v1 + j] = i == j ? 0 : 1 + (double)gsl_rng_uniform_int(rng, 100);
			t->lat[i * v1 + j] = i == j || gsl_rng_uniform(rng) < 0.5
						     ? 0
						     : 0.1 * (double)gsl_rng_uniform_int(rng, 5);
		}
	opt.count_compute = gsl_rng_uniform(rng) < 0.5;
	opt.count_dispatcher = gsl_rng_uniform(rng) < 0.5;
	opt.strict_memory = gsl_rng_uniform(rng) < 0.5;
	return tiny_ready(t, &opt);
}

/* A random wire codec (problem.h) for a tiny instance: ratio 0.5 to 4, coding 0 to 4 s per byte
 * each way, against stages of 0.1 to 100 s and transfers of 1 to 20 bytes, so that coding often
 * decides where to cut and a longer stage can cost less than a shorter one. */
static inline void tiny_codec_draw(gsl_rng *rng, struct problem_codec *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->spec, sizeof(c->spec), "test");
	c->ratio = 0.5 * (double)(1 + gsl_rng_uniform_int(rng, 8));
	c->encode_s_per_byte = 0.25 * (double)gsl_rng_uniform_int(rng, 17);
	c->decode_s_per_byte = 0.25 * (double)gsl_rng_uniform_int(rng, 17);
}

#endif
