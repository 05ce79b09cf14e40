/*
 * Benchmark: `optimal` on the published ITNAC grid, and beyond it at N = 100.
 *
 * The grid of experiments/itnac22.sh: ResNet50, InceptionResNetV2, EfficientNetB1, MobileNetV2;
 * 64, 128, 256, 512 MiB; N = 5, 10, 15, 20, 50 (and 100, outside the published grid); 50 trials
 * of geometric clusters from seed 2022 (the main job's); in every combination of metric
 * (published: inter-stage hops, strict memory; full: also the dispatcher hops) and accounting
 * (published, exact), the two of the sweep's variants among them. Per model and N: the median
 * and largest solve time (joint's first plan included), the instances proven optimal (or proven
 * to have no plan), those proven within 1 s, the largest number of search nodes, and how many
 * times joint's plan (optimal's first incumbent) was not optimal, with its largest gap. Then the
 * grid's total time, and joint's gap to the proven optimum per setting over the published grid
 * (N <= 50): instances, those where joint is not optimal, mean and largest gap (the figures in
 * joint.c's header).
 *
 * Usage: bench_optimal [TRIALS [TIME_LIMIT_S [auto|search|dp]]]  (defaults 50, 10, auto).
 * Not a test: it prints figures (scripts/bench.sh).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <igraph.h>

#include "ep_util.h"
#include "instance.h"
#include "optimal.h"

#define MIB (1024.0 * 1024.0)

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const char *const models[] = {"resnet50", "inceptionresnetv2", "efficientnetb1",
					     "mobilenetv2"};
	static const double mems[] = {64, 128, 256, 512};
	static const int ns[] = {5, 10, 15, 20, 50, 100};
	int trials = argc > 1 ? atoi(argv[1]) : 50;
	struct optimal_options oo = {OPTIMAL_AUTO, argc > 2 ? atof(argv[2]) : 10.0, false};
	double grid_s = 0, grid_max = 0, t_start = ep_now_s();
	long grid_count = 0, grid_proven = 0, grid_fast = 0;
	double *times, set_gap_sum[4] = {0}, set_gap_max[4] = {0};
	long set_count[4] = {0}, set_worse[4] = {0};
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_set_error_handler_off();
	if (argc > 3)
		oo.method = strcmp(argv[3], "search") == 0 ? OPTIMAL_SEARCH
			    : strcmp(argv[3], "dp") == 0   ? OPTIMAL_SUBSET_DP
							   : OPTIMAL_AUTO;
	times = malloc(sizeof(double) * 4 * 4 * (size_t)(trials > 0 ? trials : 1));
	if (!rng || !times || trials < 1)
		return 1;
	printf("optimal on the ITNAC grid: 4 memories x 4 settings (metric x accounting) x %d "
	       "trials per row; time limit %g s per instance; method %s\n",
	       trials, oo.time_limit_s,
	       oo.method == OPTIMAL_AUTO ? "auto" : oo.method == OPTIMAL_SEARCH ? "search" : "dp");
	printf("%-18s %4s %5s %10s %10s %7s %7s %9s %9s %12s\n", "model", "N", "count",
	       "median_ms", "max_ms", "proven", "<=1s", "max_nodes", "joint>opt", "joint_max_gap");
	for (size_t mi = 0; mi < sizeof(models) / sizeof(models[0]); mi++)
		for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++) {
			long count = 0, proven = 0, fast = 0, max_nodes = 0, improved = 0;
			double max_s = 0, joint_gap = 0;

			for (size_t ki = 0; ki < 4; ki++)
				for (int setting = 0; setting < 4; setting++) {
					struct instance_spec spec;
					struct instance *inst = NULL;
					struct ep_error err;

					memset(&spec, 0, sizeof(spec));
					spec.model = models[mi];
					spec.profile = MODEL_PROFILE_OPTIONS_DEFAULT;
					spec.cluster = cluster_spec_default(ns[ni], mems[ki] * MIB);
					/* bit 0: published accounting; bit 1: published metric */
					instance_spec_set_variant(&spec, (setting & 1)
										 ? ALGO_PUBLISHED
										 : ALGO_CORRECTED);
					spec.problem = (setting & 2) ? PROBLEM_OPTIONS_PUBLISHED
								     : PROBLEM_OPTIONS_FULL;
					spec.seed = 2022;
					for (int t = 0; t < trials; t++) {
						struct optimal_proof proof;
						struct plan plan;
						int rc;

						spec.trial = t;
						if (t == 0 ? instance_create(&spec, &inst, &err)
							   : instance_set_trial(inst, &spec, &err)) {
							fprintf(stderr, "%s\n", err.msg);
							return 1;
						}
						plan_init(&plan);
						gsl_rng_set(rng, (unsigned long)t + 1);
						rc = optimal_solve(&inst->problem, &oo, rng, &plan,
								   &proof, &err);
						if (rc && rc != EP_EINFEASIBLE && rc != EP_ELIMIT) {
							fprintf(stderr, "%s\n", err.msg);
							return 1;
						}
						times[count++] = proof.time_s;
						if (proof.status != OPTIMAL_LIMIT) {
							proven++;
							fast += proof.time_s <= 1.0;
						}
						if (ns[ni] <= 50 && proof.status == OPTIMAL_PROVEN &&
						    proof.upper_s > 0) {
							double gap = proof.initial_s / proof.upper_s - 1;

							set_count[setting]++;
							set_worse[setting] += gap > 0;
							set_gap_sum[setting] += gap;
							if (gap > set_gap_max[setting])
								set_gap_max[setting] = gap;
						}
						if (proof.status == OPTIMAL_PROVEN &&
						    proof.initial_s > proof.upper_s) {
							improved++;
							if (proof.upper_s > 0 &&
							    proof.initial_s / proof.upper_s - 1 >
								    joint_gap)
								joint_gap = proof.initial_s /
										    proof.upper_s -
									    1;
						}
						if (proof.nodes > max_nodes)
							max_nodes = proof.nodes;
						if (proof.time_s > max_s)
							max_s = proof.time_s;
						grid_s += ns[ni] <= 50 ? proof.time_s : 0;
						plan_release(&plan);
					}
					instance_destroy(inst);
				}
			qsort(times, (size_t)count, sizeof(double), cmp_double);
			printf("%-18s %4d %5ld %10.3f %10.3f %7ld %7ld %9ld %9ld %11.2f%%\n",
			       models[mi], ns[ni], count, 1e3 * times[count / 2], 1e3 * max_s, proven,
			       fast, max_nodes, improved, 100.0 * joint_gap);
			fflush(stdout);
			if (ns[ni] <= 50) {
				grid_count += count;
				grid_proven += proven;
				grid_fast += fast;
				if (max_s > grid_max)
					grid_max = max_s;
			}
		}
	printf("published grid (N <= 50): %ld instances, %ld proven, %ld proven within 1 s, "
	       "largest %.3f s, sum of solve times %.2f s; whole run %.1f s\n",
	       grid_count, grid_proven, grid_fast, grid_max, grid_s, ep_now_s() - t_start);
	for (int setting = 0; setting < 4; setting++)
		printf("joint vs the proven optimum, %s metric, %s accounting (N <= 50, b_opt > 0): "
		       "%ld instances, %ld not optimal, mean gap %.4f %%, largest %.2f %%\n",
		       setting & 2 ? "published" : "full", setting & 1 ? "published" : "exact",
		       set_count[setting], set_worse[setting],
		       set_count[setting] ? 100.0 * set_gap_sum[setting] / set_count[setting] : 0.0,
		       100.0 * set_gap_max[setting]);
	free(times);
	gsl_rng_free(rng);
	return 0;
}
