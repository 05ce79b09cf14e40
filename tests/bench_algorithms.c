/*
 * Benchmark: every registered algorithm's solve time against N, and its gap to `optimal`.
 *
 * times: ResNet50 and InceptionResNetV2, geometric clusters of N in {5, 10, 20, 50, 100, 200,
 *        500, 1000} nodes of 128 MiB, corrected variant (exact accounting, full metric), one
 *        cluster per N (seed 1, trial 0). Each cell is the mean solve time in milliseconds over
 *        enough repetitions to fill about 50 ms, then the bottleneck's gap to optimal in percent
 *        where optimal solves (N <= 12); "limit" where an algorithm refuses the size,
 *        "infeasible" where it finds no plan.
 * gaps:  the zoo study quoted in joint.c's header: 15 models x N in {3, 5, 8, 10} x 64, 128,
 *        256, 512 MiB x 5 trials, geometric clusters, in the corrected setting and in the
 *        published one (published cut rule, accounting and metric), all algorithms in their
 *        corrected variant. Per algorithm: instances compared (both have a plan), the mean and
 *        largest gap to optimal, how often it is optimal, plans it missed that optimal found,
 *        and instances where optimal's bottleneck is 0 but its is not. Also optimal's slowest
 *        solve. Then the same over 3000 random small instances (tests/tiny_instance.h).
 *
 * Usage: bench_algorithms [times|gaps|all]   (default all). Not a test: it prints figures.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <igraph.h>

#include "algo.h"
#include "instance.h"
#include "model_zoo.h"
#include "tiny_instance.h"

#define MIB	  (1024.0 * 1024.0)
#define MAX_ALGOS 16

static int algo_count(void)
{
	int k = 0;

	while (algo_registry[k] && k < MAX_ALGOS)
		k++;
	return k;
}

static struct instance *make_instance(struct instance_spec *spec, const char *model,
				      enum algo_variant variant, int n, double mem_mib)
{
	struct instance *inst = NULL;
	struct ep_error err;

	memset(spec, 0, sizeof(*spec));
	spec->model = model;
	spec->profile = MODEL_PROFILE_OPTIONS_DEFAULT;
	spec->cluster = cluster_spec_default(n, mem_mib * MIB);
	instance_spec_set_variant(spec, variant);
	spec->seed = 1;
	if (instance_create(spec, &inst, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	return inst;
}

/* Mean solve time of `a` over repetitions filling about 50 ms; the last result stays in r. */
static int time_algo(const struct algo *a, const struct problem *p, const struct algo_options *o,
		     gsl_rng *rng, struct algo_result *r, double *mean_s)
{
	struct ep_error err;
	double total = 0;
	int reps = 0;

	do {
		if (algo_run(a, p, o, rng, r, &err)) {
			fprintf(stderr, "%s: %s\n", a->name, err.msg);
			return -1;
		}
		total += r->solve_s;
		reps++;
	} while (total < 0.05 && reps < 1000);
	*mean_s = total / reps;
	return 0;
}

static int bench_times(gsl_rng *rng)
{
	static const char *const models[] = {"resnet50", "inceptionresnetv2"};
	static const int ns[] = {5, 10, 20, 50, 100, 200, 500, 1000};
	int na = algo_count();
	struct algo_options o = ALGO_OPTIONS_DEFAULT;

	gsl_rng_set(rng, 1);
	for (size_t mi = 0; mi < 2; mi++) {
		struct instance_spec spec;
		struct instance *inst =
			make_instance(&spec, models[mi], ALGO_CORRECTED, ns[0], 128);

		if (!inst)
			return 1;
		printf("\n%s (%d cut points), geometric clusters, 128 MiB, corrected variant:\n"
		       "solve time in ms (gap of the bottleneck to optimal in %%)\n%6s",
		       models[mi], inst->problem.m, "N");
		for (int i = 0; i < na; i++)
			printf(" %22s", algo_registry[i]->name);
		printf("\n");
		for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++) {
			struct algo_result r[MAX_ALGOS];
			double t[MAX_ALGOS], opt = NAN;
			struct ep_error err;

			spec.cluster.n = ns[ni];
			if (instance_set_trial(inst, &spec, &err)) {
				fprintf(stderr, "%s\n", err.msg);
				instance_destroy(inst);
				return 1;
			}
			for (int i = 0; i < na; i++) {
				algo_result_init(&r[i]);
				if (time_algo(algo_registry[i], &inst->problem, &o, rng, &r[i],
					      &t[i]))
					return 1;
				if (strcmp(algo_registry[i]->name, "optimal") == 0 &&
				    r[i].status == EP_OK)
					opt = r[i].cost.bottleneck_s;
			}
			printf("%6d", ns[ni]);
			for (int i = 0; i < na; i++) {
				char cell[64];

				if (r[i].status == EP_ELIMIT)
					snprintf(cell, sizeof(cell), "limit");
				else if (r[i].status != EP_OK)
					snprintf(cell, sizeof(cell), "%.3f infeasible", t[i] * 1e3);
				else if (!isnan(opt) && opt > 0)
					snprintf(cell, sizeof(cell), "%.3f (%+.2f%%)", t[i] * 1e3,
						 100 * (r[i].cost.bottleneck_s - opt) / opt);
				else
					snprintf(cell, sizeof(cell), "%.3f", t[i] * 1e3);
				printf(" %22s", cell);
				algo_result_release(&r[i]);
			}
			printf("\n");
			fflush(stdout);
		}
		instance_destroy(inst);
	}
	return 0;
}

struct gap_stats {
	int compared;	     /* both optimal and the algorithm have a plan */
	int optimal_hits;    /* ... and the algorithm's is optimal */
	int missed;	     /* optimal has a plan, the algorithm none */
	int nonzero_at_zero; /* optimal's bottleneck is 0 (one stage, published metric), the
				algorithm's is not: no finite gap */
	double sum, max;
};

/* Run every algorithm on p into r[] and add the gaps to g[]. Returns optimal's solve time, or
 * -1 on a program error. */
static double gap_add(const struct problem *p, gsl_rng *rng, int na, int opt_i,
		      struct algo_result *r, struct gap_stats *g)
{
	struct algo_options o = ALGO_OPTIONS_DEFAULT;
	struct ep_error err;
	double opt;

	for (int i = 0; i < na; i++)
		if (algo_run(algo_registry[i], p, &o, rng, &r[i], &err)) {
			fprintf(stderr, "%s: %s\n", algo_registry[i]->name, err.msg);
			return -1;
		}
	if (r[opt_i].status != EP_OK)
		return r[opt_i].solve_s;
	opt = r[opt_i].cost.bottleneck_s;
	for (int i = 0; i < na; i++) {
		double gap;

		if (r[i].status != EP_OK) {
			g[i].missed++;
			continue;
		}
		if (opt == 0) {
			if (r[i].cost.bottleneck_s > 0) {
				g[i].nonzero_at_zero++;
				continue;
			}
			gap = 0;
		} else {
			gap = (r[i].cost.bottleneck_s - opt) / opt;
		}
		g[i].compared++;
		g[i].sum += gap;
		g[i].max = gap > g[i].max ? gap : g[i].max;
		g[i].optimal_hits += gap <= 1e-12;
	}
	return r[opt_i].solve_s;
}

static void gap_print(const struct gap_stats *g, int na)
{
	printf("%-10s %9s %10s %10s %9s %8s %10s\n", "algorithm", "compared", "mean gap", "max gap",
	       "optimal", "no plan", ">0 at 0");
	for (int i = 0; i < na; i++)
		printf("%-10s %9d %9.3f%% %9.3f%% %8.1f%% %8d %10d\n", algo_registry[i]->name,
		       g[i].compared, g[i].compared ? 100 * g[i].sum / g[i].compared : 0,
		       100 * g[i].max,
		       g[i].compared ? 100.0 * g[i].optimal_hits / g[i].compared : 0, g[i].missed,
		       g[i].nonzero_at_zero);
}

static int find_optimal(int na)
{
	for (int i = 0; i < na; i++)
		if (strcmp(algo_registry[i]->name, "optimal") == 0)
			return i;
	return -1;
}

static int bench_gaps(gsl_rng *rng)
{
	static const int ns[] = {3, 5, 8, 10};
	static const double mems[] = {64, 128, 256, 512};
	const int trials = 5;
	int na = algo_count(), opt_i = find_optimal(na);

	if (opt_i < 0)
		return 1;
	gsl_rng_set(rng, 1);
	for (int variant = 0; variant < 2; variant++) {
		struct gap_stats g[MAX_ALGOS];
		struct algo_result r[MAX_ALGOS];
		double slowest = 0;
		char slowest_what[128] = "";
		int instances = 0, solvable = 0;

		memset(g, 0, sizeof(g));
		for (int i = 0; i < na; i++)
			algo_result_init(&r[i]);
		for (size_t z = 0; z < model_zoo_count; z++) {
			struct instance_spec spec;
			struct instance *inst = make_instance(&spec, model_zoo[z].name,
							      (enum algo_variant)variant, 3, 64);

			if (!inst)
				return 1;
			for (size_t ni = 0; ni < 4; ni++)
				for (size_t mi = 0; mi < 4; mi++)
					for (int trial = 0; trial < trials; trial++) {
						struct ep_error err;
						double t;

						spec.cluster.n = ns[ni];
						spec.cluster.mem_bytes = mems[mi] * MIB;
						spec.trial = trial;
						if (instance_set_trial(inst, &spec, &err)) {
							fprintf(stderr, "%s\n", err.msg);
							return 1;
						}
						instances++;
						t = gap_add(&inst->problem, rng, na, opt_i, r, g);
						if (t < 0)
							return 1;
						solvable += r[opt_i].status == EP_OK;
						if (t > slowest) {
							slowest = t;
							snprintf(slowest_what, sizeof(slowest_what),
								 "%s N=%d %g MiB trial %d",
								 model_zoo[z].name, ns[ni],
								 mems[mi], trial);
						}
					}
			instance_destroy(inst);
		}
		printf("\nzoo gap study, %s setting: %d instances, %d with a plan (optimal's)\n",
		       variant ? "published" : "corrected", instances, solvable);
		gap_print(g, na);
		printf("optimal's slowest solve: %.3f s (%s)\n", slowest, slowest_what);
		for (int i = 0; i < na; i++)
			algo_result_release(&r[i]);
		fflush(stdout);
	}
	return 0;
}

/* The same on random small instances (tests/tiny_instance.h: heterogeneous memories and
 * speeds, latencies, random metric options), which are harder for the heuristics than the
 * zoo on geometric clusters. */
static int bench_random_gaps(gsl_rng *rng)
{
	const int instances = 3000;
	int na = algo_count(), opt_i = find_optimal(na), solvable = 0;
	struct gap_stats g[MAX_ALGOS];
	struct algo_result r[MAX_ALGOS];
	gsl_rng *gen = gsl_rng_alloc(gsl_rng_mt19937);

	if (opt_i < 0 || !gen)
		return 1;
	gsl_rng_set(gen, 5);
	gsl_rng_set(rng, 1);
	memset(g, 0, sizeof(g));
	for (int i = 0; i < na; i++)
		algo_result_init(&r[i]);
	for (int k = 0; k < instances; k++) {
		struct tiny t;
		int m = 4 + (int)gsl_rng_uniform_int(gen, 16),
		    n = 1 + (int)gsl_rng_uniform_int(gen, 10);

		if (tiny_random(&t, gen, m, n, k % 2 == 0) ||
		    gap_add(&t.p, rng, na, opt_i, r, g) < 0)
			return 1;
		solvable += r[opt_i].status == EP_OK;
		problem_release(&t.p);
	}
	printf("\nrandom small instances (4-19 cut points, 1-10 nodes, tests/tiny_instance.h): %d "
	       "instances, %d with a plan (optimal's)\n",
	       instances, solvable);
	gap_print(g, na);
	for (int i = 0; i < na; i++)
		algo_result_release(&r[i]);
	gsl_rng_free(gen);
	return 0;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	gsl_rng *rng;
	int rc = 0;

	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	if (strcmp(what, "times") && strcmp(what, "gaps") && strcmp(what, "all")) {
		fprintf(stderr, "usage: bench_algorithms [times|gaps|all]\n");
		return 2;
	}
	rng = gsl_rng_alloc(gsl_rng_mt19937);
	if (!rng)
		return 1;
	gsl_rng_set(rng, 1);
	if (strcmp(what, "gaps"))
		rc = bench_times(rng);
	if (!rc && strcmp(what, "times"))
		rc = bench_gaps(rng);
	if (!rc && strcmp(what, "times"))
		rc = bench_random_gaps(rng);
	gsl_rng_free(rng);
	return rc;
}
