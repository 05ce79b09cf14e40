/*
 * Benchmark: feltin's solve time against N and --max-split, in both variants, beside joint and
 * optimal on the same instances.
 *
 * Instances: ResNet50 and InceptionV3 (exact accounting, float32), Feltin's metric (compute and
 * inter-stage hops), uniform clusters of N nodes with links uniform in 100 Mbit/s .. 1 Gbit/s,
 * 5 GFLOP/s per node, 1 GiB per node (memory does not bind), seed 1, trial 0; N in {2, 3, 5, 8,
 * 10, 20, 50}, max_split in {1, 3, 5, 8}. Each cell: the mean solve time in ms over repetitions
 * filling about 50 ms (at least one), then the bottleneck's gap to optimal in % where optimal
 * ran (N <= 10); "limit" where the algorithm stopped at its work limit, "infeasible" where it
 * found no plan. joint and optimal do not read max_split: they are timed once per N.
 *
 * Usage: bench_feltin. Not a test: it prints figures.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <igraph.h>

#include "algo.h"
#include "ep_util.h"
#include "instance.h"

#define OPTIMAL_MAX_N 10

/* Mean solve time (s) of `a` on `p`, with its result in *r. */
static double time_solve(const struct algo *a, const struct problem *p,
			 const struct algo_options *o, struct algo_result *r)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct ep_error err;
	double t0 = ep_now_s(), t;
	int reps = 0;

	do {
		gsl_rng_set(rng, 1);
		if (algo_run(a, p, o, rng, r, &err)) {
			fprintf(stderr, "%s: %s\n", a->name, err.msg);
			r->status = EP_EINTERNAL;
		}
		reps++;
		t = ep_now_s() - t0;
	} while (t < 0.05 && reps < 1000);
	gsl_rng_free(rng);
	return t / reps;
}

static void print_cell(const struct algo_result *r, double s, const struct algo_result *opt,
		       bool have_opt)
{
	char buf[64];

	if (r->status == EP_ELIMIT)
		snprintf(buf, sizeof(buf), "limit %.0fms", s * 1e3);
	else if (r->status != EP_OK)
		snprintf(buf, sizeof(buf), "%s", ep_strerror(r->status));
	else if (have_opt && opt->status == EP_OK && opt->cost.bottleneck_s > 0)
		snprintf(buf, sizeof(buf), "%.3f (%+.1f%%)", s * 1e3,
			 100 * (r->cost.bottleneck_s / opt->cost.bottleneck_s - 1));
	else
		snprintf(buf, sizeof(buf), "%.3f", s * 1e3);
	printf(" %20s", buf);
}

int main(void)
{
	static const char *const models[] = { "resnet50", "inceptionv3" };
	static const int nodes[] = { 2, 3, 5, 8, 10, 20, 50 };
	static const int splits[] = { 1, 3, 5, 8 };
	const struct algo *feltin = algo_find("feltin"), *joint = algo_find("joint");
	const struct algo *optimal = algo_find("optimal");
	struct algo_result r, opt, jr;

	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	algo_result_init(&r);
	algo_result_init(&opt);
	algo_result_init(&jr);
	printf("feltin solve time (ms) and gap to optimal, Feltin's metric, uniform 100Mbit..1Gbit, "
	       "5 GFLOP/s, 1 GiB\n");
	printf("%-12s %4s %9s %20s %20s %20s %20s\n", "model", "N", "max_split", "feltin corrected",
	       "feltin published", "joint", "optimal");
	for (size_t mi = 0; mi < sizeof(models) / sizeof(models[0]); mi++)
		for (size_t ni = 0; ni < sizeof(nodes) / sizeof(nodes[0]); ni++) {
			struct instance_spec spec = { .model = models[mi] };
			struct instance *inst;
			struct ep_error err;
			struct algo_options o = ALGO_OPTIONS_DEFAULT;
			double opt_s = 0, joint_s;
			bool have_opt = nodes[ni] <= OPTIMAL_MAX_N;

			spec.profile = MODEL_PROFILE_OPTIONS_DEFAULT;
			spec.cluster = cluster_spec_default(nodes[ni], 1024.0 * 1024 * 1024);
			spec.cluster.kind = CLUSTER_UNIFORM;
			spec.cluster.bw_min_bps = 100e6;
			spec.cluster.bw_max_bps = 1e9;
			spec.cluster.speed_flops = 5e9;
			spec.problem = PROBLEM_OPTIONS_FELTIN;
			spec.seed = 1;
			if (instance_create(&spec, &inst, &err)) {
				fprintf(stderr, "%s\n", err.msg);
				return 1;
			}
			if (have_opt)
				opt_s = time_solve(optimal, &inst->problem, &o, &opt);
			joint_s = time_solve(joint, &inst->problem, &o, &jr);
			for (size_t si = 0; si < sizeof(splits) / sizeof(splits[0]); si++) {
				printf("%-12s %4d %9d", models[mi], nodes[ni], splits[si]);
				algo_options_set_int(&o, "max-split", splits[si]);
				for (int v = 0; v < 2; v++) {
					double s;

					o.variant = v ? ALGO_PUBLISHED : ALGO_CORRECTED;
					s = time_solve(feltin, &inst->problem, &o, &r);
					print_cell(&r, s, &opt, have_opt);
				}
				o.variant = ALGO_CORRECTED;
				if (si == 0) {
					print_cell(&jr, joint_s, &opt, have_opt);
					if (have_opt)
						print_cell(&opt, opt_s, &opt, have_opt);
					else
						printf(" %20s", "-");
				}
				printf("\n");
			}
			instance_destroy(inst);
		}
	algo_result_release(&r);
	algo_result_release(&opt);
	algo_result_release(&jr);
	return 0;
}
