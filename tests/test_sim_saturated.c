/*
 * A saturated deterministic pipeline runs at the throughput of the one cost function: the
 * simulated throughput equals plan_cost's 1 / bottleneck within 0.5 % (expected value: plan_cost,
 * algorithms/plan.c), under the full metric with a compute or a hop bottleneck, under the
 * published metric, and for ResNet50 on a generated cluster. Two link models that depart from
 * plan_cost are checked against hand calculations: a shared half-duplex medium, and latency
 * that overlaps the next transfer.
 */
#include <gsl/gsl_errno.h>
#include <igraph.h>
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "instance.h"
#include "sim_fixture.h"
#include "sim_pipeline.h"

#define TOL 0.005

/*
 * Closed loop with a window large enough to keep the bottleneck busy, deterministic service;
 * the first tenth of the requests are the warm-up. The measurement runs from one completion to
 * another, so its error is at most one burst of completions (up to a window's worth when a
 * shared medium serves the window in phases) over the requests measured.
 */
static double run_saturated(const struct problem *p, const struct plan *plan,
			    struct sim_config *cfg, int64_t requests)
{
	struct sim_pipeline *sp = NULL;
	struct ep_error err;
	double x = NAN;

	cfg->window = 64;
	cfg->requests = requests;
	cfg->warmup_requests = requests / 10;
	cfg->retry_timeout_s = 0;
	if (sim_pipeline_create(p, plan, cfg, &sp, &err) || sim_pipeline_run(sp, &err)) {
		fprintf(stderr, "simulation: %s\n", err.msg);
		check_failures++;
	} else {
		const struct sim_report *r = sim_pipeline_report(sp);

		CHECK_INT(r->completed, requests);
		CHECK_INT(r->measured, requests - requests / 10);
		x = r->throughput;
	}
	sim_pipeline_destroy(sp);
	return x;
}

static double saturated_throughput(const struct problem *p, const struct plan *plan,
				   struct sim_config *cfg)
{
	return run_saturated(p, plan, cfg, 3000);
}

static void report(const char *what, double got, double want)
{
	printf("%-52s simulated %.6f /s, expected %.6f /s (%+.4f %%)\n", what, got, want,
	       100 * (got - want) / want);
	CHECK(fabs(got - want) <= TOL * want);
}

/*
 * The hand problem: 4 cut points, cumulative FLOPs 0, 300, 500, 900; transfers 1000, 400, 250,
 * 100 bytes; 3 nodes of 100, 100, 200 FLOP/s; every link 8000 bit/s and 10 ms.
 * Plan: cuts 0..1 on node 0, 1..2 on node 1, 2..3 on node 2.
 * Compute: 300/100 = 3 s, 200/100 = 2 s, 400/200 = 2 s.
 * Hops: D->0 8000/8000 + 0.01 = 1.01 s; 0->1 3200/8000 + 0.01 = 0.41 s; 1->2 2000/8000 + 0.01
 * = 0.26 s; 2->D 800/8000 + 0.01 = 0.11 s.
 */
static const double flops[4] = { 0, 300, 500, 900 }, params[4] = { 0, 10, 20, 30 };
static const double xfer[4] = { 1000, 400, 250, 100 }, speeds[3] = { 100, 100, 200 };

static void test_hand(void)
{
	struct fixture f;
	struct plan plan;
	struct plan_cost cost;
	struct sim_config cfg;

	if (fixture_init(&f, "hand", 4, flops, params, xfer, 3, speeds, 1e9, 8000, 0.01,
			 PROBLEM_OPTIONS_FULL)) {
		check_failures++;
		return;
	}
	plan_init(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 2, 1);
	plan_push(&plan, 2, 3, 2);

	/* Full metric: stage 0's compute, 3 s, is the bottleneck. */
	plan_cost(&f.problem, &plan, &cost, NULL, NULL);
	CHECK_NEAR(cost.bottleneck_s, 3.0, 1e-12);
	cfg = sim_config_default(&f.problem);
	report("full metric, compute bottleneck (3 s)", saturated_throughput(&f.problem, &plan,
									     &cfg),
	       cost.throughput);

	/* The input hop at 2000 bit/s: 8000/2000 + 0.01 = 4.01 s, a hop bottleneck. */
	fixture_set_link(&f, 3, 0, 2000, 0.01);
	plan_cost(&f.problem, &plan, &cost, NULL, NULL);
	CHECK_NEAR(cost.bottleneck_s, 4.01, 1e-12);
	CHECK_INT(cost.where, COST_TERM_HOP);
	cfg = sim_config_default(&f.problem);
	report("full metric, input hop bottleneck (4.01 s)",
	       saturated_throughput(&f.problem, &plan, &cfg), cost.throughput);
	fixture_set_link(&f, 3, 0, 8000, 0.01);
	fixture_release(&f);

	/* Published metric: only the hops between stages count; the simulation's defaults follow
	 * (no compute, no dispatcher hops): hop 0->1, 0.41 s. */
	fixture_init(&f, "hand", 4, flops, params, xfer, 3, speeds, 1e9, 8000, 0.01,
		     PROBLEM_OPTIONS_PUBLISHED);
	plan_cost(&f.problem, &plan, &cost, NULL, NULL);
	CHECK_NEAR(cost.bottleneck_s, 0.41, 1e-12);
	cfg = sim_config_default(&f.problem);
	CHECK(!cfg.compute && !cfg.dispatcher_hops);
	report("published metric, hop 0->1 (0.41 s)", saturated_throughput(&f.problem, &plan, &cfg),
	       cost.throughput);
	fixture_release(&f);

	/*
	 * Latency overlapped (latency_pipelined), no compute: a link is busy for bits / bandwidth
	 * only, so the input hop allows one request per 8000/8000 = 1 s instead of 1.01 s. Hand
	 * calculation: 1 / max(1.0, 0.4, 0.25, 0.1) = 1 /s.
	 */
	fixture_init(&f, "hand", 4, flops, params, xfer, 3, speeds, 1e9, 8000, 0.01,
		     PROBLEM_OPTIONS_FULL);
	cfg = sim_config_default(&f.problem);
	cfg.compute = false;
	cfg.latency_pipelined = true;
	report("latency overlapped, no compute (hand: 1 /s)",
	       saturated_throughput(&f.problem, &plan, &cfg), 1.0);

	/*
	 * Shared half-duplex media, no compute, two stages: cuts 0..1 on node 0, 1..3 on node 1.
	 * Hops D->0 1.01 s, 0->1 0.41 s, 1->D 0.11 s. Every two of them share a medium (D's: the
	 * first and the last; node 0's: the first two; node 1's: the last two), so only one
	 * transfer is ever under way and the pipeline's cycle is their sum: hand calculation
	 * 1 / (1.01 + 0.41 + 0.11) = 1 / 1.53 /s, where plan_cost says 1 / 1.01.
	 */
	plan_clear(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 3, 1);
	cfg = sim_config_default(&f.problem);
	cfg.compute = false;
	cfg.shared_medium = true;
	report("shared medium, 2 stages, no compute (hand: 1/1.53)",
	       run_saturated(&f.problem, &plan, &cfg, 40000), 1 / 1.53);
	{
		/* Dedicated links: the input hop's 1 / 1.01 /s (plan_cost without compute). */
		cfg.shared_medium = false;
		report("dedicated links, same plan (hand: 1/1.01)",
		       saturated_throughput(&f.problem, &plan, &cfg), 1 / 1.01);
	}
	plan_release(&plan);
	fixture_release(&f);
}

/* ResNet50 (exact accounting, full metric) on 6 nodes of 128 MiB and 5 GFLOP/s, links uniform
 * in 10..100 Mbit/s with 1 ms latency, placed by first fit. */
static void test_resnet50(void)
{
	struct instance_spec spec;
	struct instance *inst = NULL;
	struct algo_result r;
	struct algo_options opt = ALGO_OPTIONS_DEFAULT;
	struct sim_config cfg;
	struct ep_error err;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

	memset(&spec, 0, sizeof(spec));
	spec.model = "resnet50";
	spec.profile = MODEL_PROFILE_OPTIONS_DEFAULT;
	spec.cluster = cluster_spec_default(6, 128.0 * 1024 * 1024);
	spec.cluster.kind = CLUSTER_UNIFORM;
	spec.cluster.bw_min_bps = 10e6;
	spec.cluster.bw_max_bps = 100e6;
	spec.cluster.speed_flops = 5e9;
	spec.cluster.latency_s = 1e-3;
	spec.problem = PROBLEM_OPTIONS_FULL;
	spec.seed = 3;
	algo_result_init(&r);
	if (instance_create(&spec, &inst, &err)) {
		fprintf(stderr, "instance: %s\n", err.msg);
		check_failures++;
		goto out;
	}
	gsl_rng_set(rng, 1);
	CHECK_INT(algo_run(&algo_firstfit, &inst->problem, &opt, rng, &r, &err), EP_OK);
	CHECK_INT(r.status, EP_OK);
	if (r.status != EP_OK)
		goto out;
	cfg = sim_config_default(&inst->problem);
	printf("resnet50: %d stages, bottleneck %.6f s (%s)\n", r.plan.n_stages,
	       r.cost.bottleneck_s, r.cost.where == COST_TERM_HOP ? "hop" : "compute");
	report("resnet50, 6 nodes, first fit", saturated_throughput(&inst->problem, &r.plan, &cfg),
	       r.cost.throughput);
out:
	algo_result_release(&r);
	instance_destroy(inst);
	gsl_rng_free(rng);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	test_hand();
	test_resnet50();
	return check_exit();
}
