/*
 * test_optimal_grid: `optimal` on a sample of the published ITNAC grid (experiments/itnac22.sh):
 * ResNet50, InceptionResNetV2, EfficientNetB1, MobileNetV2 x 64, 128, 256, 512 MiB x N = 5, 10,
 * 15, 20, 50 x both variants (the sweep's settings: published accounting and metric, or exact
 * accounting and full metric), one trial of seed 2022 (the main job's seed) per cell, trial 0
 * or 17 in turn: 160 instances.
 *
 * 1. optimal proves every one (status proven, lower bound = the plan's bottleneck = plan_cost),
 *    with no time limit needed;
 * 2. no algorithm of the registry, in either variant, returns a valid plan (plan_check) with a
 *    smaller bottleneck: the exact optimum is never beaten (published-variant plans with
 *    defects skip transfers a valid plan makes, so they are not comparable and are skipped);
 * 3. at N <= 10 the branch and bound and the subset DP (the oracle) give the same value bit for
 *    bit (beyond, the DP's table outgrows its 2 GiB ceiling on these models).
 * The whole grid (50 trials, N = 100 too) is the benchmark's: tests/bench_optimal.c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <igraph.h>

#include "algo.h"
#include "check.h"
#include "instance.h"
#include "optimal.h"

#define MIB (1024.0 * 1024.0)

int main(void)
{
	static const char *const models[] = {"resnet50", "inceptionresnetv2", "efficientnetb1",
					     "mobilenetv2"};
	static const double mems[] = {64, 128, 256, 512};
	static const int ns[] = {5, 10, 15, 20, 50};
	const struct algo *opt = algo_find("optimal");
	long proven = 0, compared = 0, oracle = 0;
	gsl_rng *rng;

	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	rng = gsl_rng_alloc(gsl_rng_mt19937);
	if (!rng || !opt)
		return 1;
	for (size_t mi = 0; mi < 4; mi++)
		for (size_t ki = 0; ki < 4; ki++)
			for (size_t ni = 0; ni < 5; ni++)
				for (int var = 0; var < 2; var++)
					for (int once = 0; once < 1; once++) {
						struct instance_spec spec;
						struct instance *inst = NULL;
						struct algo_options o = ALGO_OPTIONS_DEFAULT;
						struct algo_result best, r;
						struct ep_error err;
						char what[160];

						memset(&spec, 0, sizeof(spec));
						spec.model = models[mi];
						spec.profile = MODEL_PROFILE_OPTIONS_DEFAULT;
						spec.cluster = cluster_spec_default(ns[ni],
										    mems[ki] * MIB);
						instance_spec_set_variant(&spec, var ? ALGO_PUBLISHED
										     : ALGO_CORRECTED);
						spec.seed = 2022;
						/* trial 0 or 17 of the main job's 50, in turn */
						spec.trial = (int)((mi + ki + ni + (size_t)var) % 2) * 17;
						snprintf(what, sizeof(what), "%s %g MiB N %d %s trial %d",
							 models[mi], mems[ki], ns[ni],
							 var ? "published" : "corrected", spec.trial);
						if (instance_create(&spec, &inst, &err)) {
							fprintf(stderr, "%s: %s\n", what, err.msg);
							return 1;
						}
						algo_result_init(&best);
						algo_result_init(&r);
						gsl_rng_set(rng, 1);
						CHECK_INT(algo_run(opt, &inst->problem, &o, rng, &best,
								   &err),
							  EP_OK);
						if (best.status == EP_OK) {
							proven++;
							CHECK(best.bound.has &&
							      best.bound.lower_s == best.cost.bottleneck_s);
						} else {
							/* proven infeasible is a proof too */
							CHECK_INT(best.status, EP_EINFEASIBLE);
						}
						for (int i = 0; algo_registry[i]; i++)
							for (int v = 0; v < 2; v++) {
								const struct algo *a = algo_registry[i];

								if (a == opt)
									continue;
								o.variant = v ? ALGO_PUBLISHED
									      : ALGO_CORRECTED;
								CHECK_INT(algo_run(a, &inst->problem, &o,
										   rng, &r, &err),
									  EP_OK);
								if (r.status != EP_OK ||
								    plan_check(&inst->problem, &r.plan,
									       NULL, NULL) != EP_OK)
									continue;
								compared++;
								CHECK_I64(what, best.status, EP_OK);
								if (best.status == EP_OK &&
								    r.cost.bottleneck_s <
									    best.cost.bottleneck_s) {
									fprintf(stderr,
										"%s: %s (%s) %.17g below "
										"optimal %.17g\n",
										what, a->name,
										v ? "published"
										  : "corrected",
										r.cost.bottleneck_s,
										best.cost.bottleneck_s);
									CHECK(false);
								}
							}
						/* The oracle where it runs quickly. */
						if (ns[ni] <= 10 && best.status == EP_OK) {
							struct optimal_options dp = {OPTIMAL_SUBSET_DP, 0,
										     true},
									       bb = {OPTIMAL_SEARCH, 0,
										     false};
							struct optimal_proof pd, pb;
							struct plan a, b;

							plan_init(&a);
							plan_init(&b);
							CHECK_INT(optimal_solve(&inst->problem, &dp, rng,
										&a, &pd, &err),
								  EP_OK);
							CHECK_INT(optimal_solve(&inst->problem, &bb, rng,
										&b, &pb, &err),
								  EP_OK);
							CHECK(pd.upper_s == pb.upper_s);
							CHECK(pb.upper_s == best.cost.bottleneck_s);
							oracle++;
							plan_release(&a);
							plan_release(&b);
						}
						algo_result_release(&r);
						algo_result_release(&best);
						instance_destroy(inst);
					}
	fprintf(stderr, "%ld instances proven, %ld plans of other algorithms compared, %ld "
			"checked against the subset DP\n",
		proven, compared, oracle);
	CHECK(proven >= 150);
	CHECK(compared >= 1250);
	CHECK(oracle >= 60);
	gsl_rng_free(rng);
	return check_exit();
}
