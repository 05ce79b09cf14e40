/*
 * Every registered algorithm, on every zoo model and a spread of node counts, capacities and
 * seeds, in both variants: algo_run's checks hold (a corrected plan passes plan_check, a
 * published one is structurally sound; anything else is EP_EINTERNAL and fails here), a result
 * without a plan says why, and no algorithm beats `optimal` where `optimal` solved the
 * instance (the exact optimum is a lower bound of every valid plan).
 */
#include <gsl/gsl_errno.h>
#include <igraph.h>

#include "algo.h"
#include "check.h"
#include "instance.h"
#include "model_zoo.h"

#define MIB 1048576.0

int main(void)
{
	static const int nodes[] = { 2, 5, 10, 20, 50 };
	static const double mems[] = { 64 * MIB, 128 * MIB, 256 * MIB, 512 * MIB };
	gsl_rng *rng;
	struct algo_result r, opt;
	long runs = 0, plans = 0;

	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	rng = gsl_rng_alloc(gsl_rng_mt19937);
	algo_result_init(&r);
	algo_result_init(&opt);
	for (size_t m = 0; m < model_zoo_count; m++)
		for (int v = 0; v < 2; v++)
			for (size_t ni = 0; ni < sizeof(nodes) / sizeof(nodes[0]); ni++)
				for (size_t ki = 0; ki < sizeof(mems) / sizeof(mems[0]); ki++) {
					struct instance_spec spec = { .model = model_zoo[m].name };
					struct algo_options o = ALGO_OPTIONS_DEFAULT;
					struct instance *inst;
					struct ep_error err;
					bool have_opt;

					spec.profile = MODEL_PROFILE_OPTIONS_DEFAULT;
					spec.cluster = cluster_spec_default(nodes[ni], mems[ki]);
					spec.seed = 11 + ki;
					spec.trial = (int)ni;
					o.variant = (enum algo_variant)v;
					instance_spec_set_variant(&spec, o.variant);
					if (instance_create(&spec, &inst, &err)) {
						fprintf(stderr, "%s\n", err.msg);
						check_failures++;
						continue;
					}
					gsl_rng_set(rng, 1);
					CHECK_INT(algo_run(algo_find("optimal"), &inst->problem, &o, rng,
							   &opt, &err), EP_OK);
					have_opt = opt.status == EP_OK;
					for (int a = 0; algo_registry[a]; a++) {
						gsl_rng_set(rng, instance_algo_seed(&spec,
										     algo_registry[a]->name));
						if (algo_run(algo_registry[a], &inst->problem, &o, rng, &r,
							     &err)) {
							fprintf(stderr, "%s on %s: %s\n", algo_registry[a]->name,
								model_zoo[m].name, err.msg);
							check_failures++;
							continue;
						}
						runs++;
						if (r.status != EP_OK) {
							CHECK(r.reason[0] != '\0');
							continue;
						}
						plans++;
						/* A published plan may skip segments (D1), so only valid plans
						 * are bounded by the optimum. */
						if (have_opt && o.variant == ALGO_CORRECTED &&
						    r.cost.bottleneck_s < opt.cost.bottleneck_s * (1 - 1e-9)) {
							fprintf(stderr, "%s beats optimal on %s N=%d: %g < %g\n",
								algo_registry[a]->name, model_zoo[m].name,
								nodes[ni], r.cost.bottleneck_s,
								opt.cost.bottleneck_s);
							check_failures++;
						}
					}
					instance_destroy(inst);
				}
	/* 15 models x 2 variants x 5 N x 4 capacities x 7 algorithms. */
	CHECK_INT(runs, (long)model_zoo_count * 2 * 5 * 4 * 7);
	CHECK(plans > runs / 2);
	printf("%ld runs, %ld plans\n", runs, plans);
	algo_result_release(&r);
	algo_result_release(&opt);
	gsl_rng_free(rng);
	return check_exit();
}
