/*
 * sim_fixture: hand-made problems for the simulator's tests, and `firstfit`, a re-planning
 * algorithm simple enough to follow by hand, so that the tests depend on no algorithm of the
 * registry.
 *
 * A fixture problem has m cut points with the cumulative FLOPs, memory and parameter bytes and
 * the transfer bytes the test gives, and n nodes with their speeds and memory; every link has
 * the same bandwidth and latency unless the test changes the matrices afterwards (then it calls
 * fixture_reinit so that the problem sees them; the problem borrows the cluster, so the
 * matrices can also be edited in place).
 */
#ifndef EDGEPIPE_TEST_SIM_FIXTURE_H
#define EDGEPIPE_TEST_SIM_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "plan.h"
#include "problem.h"

#define FIXTURE_MAX_CUTS 16
#define FIXTURE_MAX_NODES 16

struct fixture {
	struct model_cut_profile cuts[FIXTURE_MAX_CUTS];
	struct model_profile profile;
	double mem[FIXTURE_MAX_NODES], speed[FIXTURE_MAX_NODES];
	double bw[(FIXTURE_MAX_NODES + 1) * (FIXTURE_MAX_NODES + 1)];
	double lat[(FIXTURE_MAX_NODES + 1) * (FIXTURE_MAX_NODES + 1)];
	struct cluster cluster;
	struct problem problem;
};

/*
 * m cut points: cum_flops[k], cum_param_bytes[k] (memory = parameter bytes here), transfer
 * bytes[k]; n nodes of `speed[i]` FLOP/s and `mem_bytes` each; every link `bw_bps`, `lat_s`.
 */
static inline int fixture_init(struct fixture *f, const char *name, int m, const double *cum_flops,
			       const double *cum_param_bytes, const double *transfer_bytes, int n,
			       const double *speed, double mem_bytes, double bw_bps, double lat_s,
			       struct problem_options options)
{
	struct ep_error err;

	memset(f, 0, sizeof(*f));
	snprintf(f->profile.model, sizeof(f->profile.model), "%s", name);
	f->profile.n_cuts = (size_t)m;
	f->profile.cuts = f->cuts;
	for (int k = 0; k < m; k++) {
		f->cuts[k].layer = k;
		f->cuts[k].cum_flops = (int64_t)cum_flops[k];
		f->cuts[k].cum_param_bytes = cum_param_bytes[k];
		f->cuts[k].cum_mem_bytes = cum_param_bytes[k];
		f->cuts[k].transfer_bytes = transfer_bytes[k];
	}
	for (int i = 0; i < n; i++) {
		f->mem[i] = mem_bytes;
		f->speed[i] = speed[i];
	}
	for (int i = 0; i < (n + 1) * (n + 1); i++) {
		f->bw[i] = i % (n + 2) ? bw_bps : 0;
		f->lat[i] = i % (n + 2) ? lat_s : 0;
	}
	f->cluster = (struct cluster){ n, f->mem, f->speed, f->bw, f->lat, NULL, NULL, NULL };
	if (problem_init(&f->problem, &f->profile, &f->cluster, &options, &err)) {
		fprintf(stderr, "fixture %s: %s\n", name, err.msg);
		return -1;
	}
	return 0;
}

static inline void fixture_release(struct fixture *f)
{
	problem_release(&f->problem);
}

static inline void fixture_set_link(struct fixture *f, int from, int to, double bw_bps,
				    double lat_s)
{
	int v = f->cluster.n + 1;

	f->bw[from * v + to] = bw_bps;
	f->lat[from * v + to] = lat_s;
}

/*
 * firstfit: the nodes in index order, each taking the longest run of segments that fits its
 * memory (problem_max_end), until the model is covered. EP_EINFEASIBLE when it is not.
 */
static int firstfit_solve(const struct problem *p, const struct algo_options *o, gsl_rng *rng,
			  struct plan *out, struct ep_error *err)
{
	int a = 0;

	(void)o;
	(void)rng;
	for (int node = 0; node < p->cluster->n && a < p->m - 1; node++) {
		int b = problem_max_end(p, a, node);

		if (b > a) {
			if (plan_push(out, a, b, node))
				return ep_error_set(err, EP_ENOMEM, "out of memory");
			a = b;
		}
	}
	if (a < p->m - 1)
		return ep_error_set(err, EP_EINFEASIBLE, "first fit covers cuts 0..%d of %d", a,
				    p->m - 1);
	return EP_OK;
}

static const struct algo algo_firstfit = {
	.name = "firstfit",
	.summary = "nodes in order, each with the longest stage that fits",
	.solve = firstfit_solve,
};

#endif
