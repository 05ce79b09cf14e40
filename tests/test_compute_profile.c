/*
 * Measured compute in the cost model (problem.h, instance.h): with a layer profile, a stage's
 * compute time is the sum of its layers' measured medians / its node's speed factor, through
 * the one cost function; FLOPs / speed stays the default; the exact solver sees the measured
 * times; a profile of another model, a profile of a changed graph and a speed factor list of the
 * wrong length are refused with messages naming the values.
 *
 * The instance: a five-layer chain written below as a model file (every layer a cut point, so
 * cuts 0..4 are the layers in order), and a layer profile written by hand with the medians
 * in 0, conv 4 ms, act 1 ms, flat 0, fc 3 ms. Two nodes, speed factors 2 and 0.5, links of
 * 1 Tbit/s without latency (hops of a few ns, far below every compute term).
 *
 * Hand calculation of the plan {stage 0: cuts 0..2 on node 0, stage 1: cuts 2..4 on node 1}:
 *   stage 0 = (4 + 1) ms / 2   = 2.5 ms
 *   stage 1 = (0 + 3) ms / 0.5 = 6 ms   <- the bottleneck (compute of stage 1)
 * With FLOPs instead (conv 14080, act 256, flat 0, fc 5130 as the model file says) and 1 MFLOP/s
 * nodes: stage 0 = 14336 / 1e6 = 14.336 ms, stage 1 = 5130 / 1e6 = 5.13 ms <- stage 0.
 * The best plan under measured compute, by hand over all 8 plans of two nodes (cumulative
 * medians 0, 4, 5, 5, 8 ms at cuts 0..4; the bottleneck is the larger stage time):
 *   one stage: node 0 8 / 2 = 4 ms; node 1 8 / 0.5 = 16 ms
 *   split after cut 1 (4 | 4 ms): nodes (0, 1) max(2, 8) = 8; (1, 0) max(8, 2) = 8
 *   split after cut 2 or 3 (5 | 3 ms): (0, 1) max(2.5, 6) = 6; (1, 0) max(10, 1.5) = 10
 * so the optimum is 4 ms, one stage on node 0 (with FLOPs it would differ: the measured times
 * decide). The test checks the exact solver against an enumeration through plan_cost.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <igraph.h>

#include "algo.h"
#include "check.h"
#include "instance.h"
#include "model_lprofile.h"
#include "model_zoo.h"
#include "plan.h"

static const char model_text[] =
	"edgepipe-model 1\n"
	"model chain5\n"
	"in InputLayer - 8x8x3 0 0 float32\n"
	"conv Conv2D in 8x8x4 112 14080 float32 filters=4 kernel=3,3 strides=1,1 padding=same "
	"use_bias=true\n"
	"act Activation conv 8x8x4 0 256 float32 activation=relu\n"
	"flat Flatten act 256 0 0 float32\n"
	"fc Dense flat 10 2570 5130 float32 units=10 use_bias=true\n";

static char dir[] = "/tmp/test_compute_profile_XXXXXX";
static char model_path[256], prof_path[256], other_path[256], bad_path[256];

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

static bool setup(void)
{
	struct model_graph *g = NULL;
	struct ep_error err;
	char text[2048];
	uint64_t fp;

	if (!mkdtemp(dir))
		return false;
	snprintf(model_path, sizeof(model_path), "%s/chain5.model", dir);
	snprintf(prof_path, sizeof(prof_path), "%s/chain5.lprof", dir);
	snprintf(other_path, sizeof(other_path), "%s/mnv2.lprof", dir);
	snprintf(bad_path, sizeof(bad_path), "%s/bad.lprof", dir);
	if (!write_file(model_path, model_text))
		return false;
	if (model_zoo_open(model_path, &g, &err)) {
		fprintf(stderr, "model: %s\n", err.msg);
		return false;
	}
	/* The fingerprint is the graph's identity, so it comes from the function; the rest of
	 * the file is written by hand (4 ms at 14080 FLOPs is 0.00352 GFLOP/s, and so on). */
	fp = model_lprofile_fingerprint(g);
	model_graph_destroy(g);
	snprintf(text, sizeof(text),
		 "edgepipe-lprofile 1\nmodel chain5\nfingerprint %016" PRIx64 "\nthreads 1\n"
		 "repeat 5\nhost hand\n"
		 "layer in InputLayer none 0 0 0 -\n"
		 "layer conv Conv2D xnnpack 14080 0.004 0.0001 0.00352\n"
		 "layer act Activation plain 256 0.001 0 0.000256\n"
		 "layer flat Flatten alias 0 0 0 -\n"
		 "layer fc Dense xnnpack 5130 0.003 0 0.00171\n", fp);
	if (!write_file(prof_path, text))
		return false;
	/* The same layers under another model name. */
	snprintf(text, sizeof(text),
		 "edgepipe-lprofile 1\nmodel mobilenetv2\nfingerprint %016" PRIx64 "\nthreads 1\n"
		 "repeat 5\nhost hand\nlayer in InputLayer none 0 0 0 -\n", fp ^ 1);
	if (!write_file(other_path, text))
		return false;
	return write_file(bad_path, "edgepipe-lprofile 1\nmodel chain5\nthreads x\n");
}

static struct instance_spec make_spec(const char *profile)
{
	static const double factors[2] = { 2.0, 0.5 };
	struct instance_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.model = model_path;
	spec.profile = MODEL_PROFILE_OPTIONS_DEFAULT;
	spec.cluster = cluster_spec_default(2, 1e9);
	spec.cluster.kind = CLUSTER_UNIFORM;
	spec.cluster.bw_min_bps = spec.cluster.bw_max_bps = 1e12;
	spec.cluster.speed_flops = 1e6;
	spec.cluster.speed_factor_list = factors;
	spec.cluster.n_speed_factor_list = 2;
	spec.problem = PROBLEM_OPTIONS_FULL;
	spec.problem.count_dispatcher = false;
	spec.seed = 1;
	spec.compute_profile = profile;
	return spec;
}

static void test_hand_plan(void)
{
	struct instance_spec spec = make_spec(prof_path);
	struct instance *inst = NULL;
	struct plan plan;
	struct plan_cost cost;
	double stage_s[2];
	struct ep_error err;

	plan_init(&plan);
	if (instance_create(&spec, &inst, &err)) {
		fprintf(stderr, "instance: %s\n", err.msg);
		check_failures++;
		return;
	}
	CHECK_INT(inst->problem.m, 5);
	CHECK_INT(inst->problem.options.compute, PROBLEM_COMPUTE_MEASURED);
	CHECK_NEAR(inst->cluster->speed_factor[0], 2.0, 0);
	CHECK_NEAR(inst->cluster->speed_factor[1], 0.5, 0);
	/* Stage times on each node, by hand: (4 + 1) / 2, (4 + 1) / 0.5, 3 / 0.5, 8 / 2 ms. */
	CHECK_NEAR(problem_stage_s(&inst->problem, 0, 2, 0), 2.5e-3, 1e-12);
	CHECK_NEAR(problem_stage_s(&inst->problem, 0, 2, 1), 10e-3, 1e-12);
	CHECK_NEAR(problem_stage_s(&inst->problem, 2, 4, 1), 6e-3, 1e-12);
	CHECK_NEAR(problem_stage_s(&inst->problem, 0, 4, 0), 4e-3, 1e-12);
	CHECK_INT(plan_push(&plan, 0, 2, 0), EP_OK);
	CHECK_INT(plan_push(&plan, 2, 4, 1), EP_OK);
	plan_cost(&inst->problem, &plan, &cost, stage_s, NULL);
	CHECK_NEAR(stage_s[0], 2.5e-3, 1e-12);
	CHECK_NEAR(stage_s[1], 6e-3, 1e-12);
	CHECK_NEAR(cost.bottleneck_s, 6e-3, 1e-12);
	CHECK_INT(cost.where, COST_TERM_COMPUTE);
	CHECK_INT(cost.index, 1);
	instance_destroy(inst);

	/* The same plan with FLOPs / speed (the default): 14.336 ms and 5.13 ms, stage 0. */
	spec = make_spec(NULL);
	spec.cluster.speed_factor_list = NULL;
	spec.cluster.n_speed_factor_list = 0;
	if (instance_create(&spec, &inst, &err)) {
		fprintf(stderr, "instance: %s\n", err.msg);
		check_failures++;
		plan_release(&plan);
		return;
	}
	CHECK_INT(inst->problem.options.compute, PROBLEM_COMPUTE_FLOPS);
	plan_cost(&inst->problem, &plan, &cost, stage_s, NULL);
	CHECK_NEAR(stage_s[0], 14.336e-3, 1e-12);
	CHECK_NEAR(stage_s[1], 5.13e-3, 1e-12);
	CHECK_INT(cost.where, COST_TERM_COMPUTE);
	CHECK_INT(cost.index, 0);
	instance_destroy(inst);
	plan_release(&plan);
}

/* The exact solver against every plan of the two nodes, both through plan_cost. */
static void test_optimal_sees_measured(void)
{
	struct instance_spec spec = make_spec(prof_path);
	struct instance *inst = NULL;
	const struct algo *opt = algo_find("optimal");
	struct algo_options ao = ALGO_OPTIONS_DEFAULT;
	struct algo_result r;
	struct plan plan;
	struct plan_cost cost;
	double best = INFINITY;
	struct ep_error err;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

	plan_init(&plan);
	algo_result_init(&r);
	CHECK(opt != NULL);
	if (!opt || !rng || instance_create(&spec, &inst, &err))
		goto out;
	for (int v = 0; v < 2; v++) { /* one stage */
		plan_clear(&plan);
		plan_push(&plan, 0, 4, v);
		plan_cost(&inst->problem, &plan, &cost, NULL, NULL);
		best = fmin(best, cost.bottleneck_s);
	}
	for (int k = 1; k <= 3; k++) /* two stages, split after cut k, both orders */
		for (int v = 0; v < 2; v++) {
			plan_clear(&plan);
			plan_push(&plan, 0, k, v);
			plan_push(&plan, k, 4, 1 - v);
			plan_cost(&inst->problem, &plan, &cost, NULL, NULL);
			best = fmin(best, cost.bottleneck_s);
		}
	/* The enumeration agrees with the hand calculation in the header. */
	CHECK_NEAR(best, 4e-3, 1e-6);
	CHECK_INT(algo_run(opt, &inst->problem, &ao, rng, &r, &err), EP_OK);
	CHECK_INT(r.status, EP_OK);
	CHECK_NEAR(r.cost.bottleneck_s, best, 1e-12);
out:
	algo_result_release(&r);
	plan_release(&plan);
	instance_destroy(inst);
	gsl_rng_free(rng);
}

static void test_refusals(void)
{
	struct instance_spec spec = make_spec(other_path);
	struct instance *inst = NULL;
	struct ep_error err;
	static const double three[3] = { 1, 2, 3 };

	/* A profile of another model: both named. */
	CHECK_INT(instance_create(&spec, &inst, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, other_path);
	CHECK_CONTAINS(err.msg, "'mobilenetv2'");
	CHECK_CONTAINS(err.msg, "'chain5'");
	/* A malformed profile: PATH:LINE. */
	spec = make_spec(bad_path);
	CHECK_INT(instance_create(&spec, &inst, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, ":3: threads 'x'");
	/* A missing one. */
	spec = make_spec("/nonexistent/p.lprof");
	CHECK_INT(instance_create(&spec, &inst, &err), EP_ENOTFOUND);
	CHECK_CONTAINS(err.msg, "/nonexistent/p.lprof");
	/* Three factors for two nodes. */
	spec = make_spec(prof_path);
	spec.cluster.speed_factor_list = three;
	spec.cluster.n_speed_factor_list = 3;
	CHECK_INT(instance_create(&spec, &inst, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "3 values for 2 nodes");
	/* A zero factor. */
	spec = make_spec(prof_path);
	spec.cluster.speed_factor_list = NULL;
	spec.cluster.speed_factor = -1;
	CHECK_INT(instance_create(&spec, &inst, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "speed factor -1");
	CHECK(inst == NULL);
	instance_destroy(inst);
}

int main(void)
{
	int rc;

	gsl_set_error_handler_off();
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	if (!setup()) {
		fprintf(stderr, "cannot write the test files in %s\n", dir);
		return 1;
	}
	test_hand_plan();
	test_optimal_sees_measured();
	test_refusals();
	rc = check_exit();
	unlink(model_path);
	unlink(prof_path);
	unlink(other_path);
	unlink(bad_path);
	rmdir(dir);
	return rc;
}
