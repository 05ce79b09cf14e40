/*
 * Modelled energy in the simulator (sim_pipeline.h, "Modelled energy") and of a plan
 * (power.h, power_plan_energy), and a wire codec in the simulated pipeline (problem.h).
 *
 * The problem is test_sim_golden's: 3 cut points; cumulative FLOPs 0, 100, 300; transfers 100,
 * 50, 25 bytes (800, 400, 200 bits); nodes 0, 1, 2 of 100, 100, 50 FLOP/s; every link 400
 * bit/s, no latency; full metric. Plan: cuts 0..1 on node 0, cuts 1..2 on node 1:
 *   hop 0, D->0: 800/400 = 2 s     stage 0 on node 0: 100/100 = 1 s
 *   hop 1, 0->1: 400/400 = 1 s     stage 1 on node 1: 200/100 = 2 s
 *   hop 2, 1->D: 200/400 = 0.5 s
 * The power model (set directly, in J/bit): P_idle 2 W, P_max 6 W, 1e-3 J per bit sent and
 * 2e-3 J per bit received; E = 2 T + 4 busy + 1e-3 sent + 2e-3 received.
 */
#include <gsl/gsl_errno.h>
#include <igraph.h>
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "power.h"
#include "sim_fixture.h"
#include "sim_pipeline.h"

static const double flops[3] = { 0, 100, 300 }, params[3] = { 0, 5, 15 };
static const double xfer[3] = { 100, 50, 25 }, speeds[3] = { 100, 100, 50 };
static const struct power_model pm = { "test", 2, 6, 1e-3, 2e-3 };

static struct sim_pipeline *run(struct fixture *f, const struct plan *plan,
				const struct sim_config *cfg)
{
	struct sim_pipeline *sp = NULL;
	struct ep_error err;
	int rc = sim_pipeline_create(&f->problem, plan, cfg, &sp, &err);

	if (!rc)
		rc = sim_pipeline_run(sp, &err);
	if (rc) {
		fprintf(stderr, "simulation: %s\n", err.msg);
		check_failures++;
		sim_pipeline_destroy(sp);
		return NULL;
	}
	return sp;
}

/*
 * test_sim_golden's scenario 1: window 2, 3 requests, answered at 6.5, 8.5 and 13 s, so the
 * interval is [0, 13] s and 3 are measured. Node 0 computed 3 x 1 s, received 3 x 800 bits
 * (D->0) and sent 3 x 400 (0->1); node 1 computed 3 x 2 s, received 3 x 400 and sent 3 x 200
 * (1->D). Node 2 did nothing: inactive, outside the totals.
 *   E0 = 2 x 13 + 4 x 3 + 1e-3 x 1200 + 2e-3 x 2400 = 26 + 12 + 1.2 + 4.8 = 44 J
 *   E1 = 2 x 13 + 4 x 6 + 1e-3 x 600 + 2e-3 x 1200 = 26 + 24 + 0.6 + 2.4 = 53 J
 *   E2 = 2 x 13 = 26 J (reported, not counted)
 * Total 97 J: 97 / 3 J per inference, 97 / 13 W.
 * Then the same run with node 2 crashing at 5 s: it is not in use, so nothing else changes, and
 * it draws only until its crash: E2 = 2 x 5 = 10 J.
 */
static void test_two_stages(void)
{
	struct fixture f;
	struct plan plan;
	struct sim_config cfg;
	struct sim_pipeline *sp;
	const struct sim_report *r;

	if (fixture_init(&f, "energy", 3, flops, params, xfer, 3, speeds, 100, 400, 0,
			 PROBLEM_OPTIONS_FULL)) {
		check_failures++;
		return;
	}
	plan_init(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 2, 1);
	cfg = sim_config_default(&f.problem);
	cfg.window = 2;
	cfg.requests = 3;
	cfg.power = &pm;
	if ((sp = run(&f, &plan, &cfg))) {
		r = sim_pipeline_report(sp);
		CHECK(r->energy != NULL);
		CHECK_NEAR(r->end_s - r->warmup_end_s, 13, 1e-12);
		CHECK_INT((int)r->measured, 3);
		if (r->energy) {
			CHECK_NEAR(r->energy[0].busy_s, 3, 1e-9);
			CHECK_NEAR(r->energy[0].bits_sent, 1200, 1e-9);
			CHECK_NEAR(r->energy[0].bits_received, 2400, 1e-9);
			CHECK_NEAR(r->energy[0].energy_j, 44, 1e-9);
			CHECK_NEAR(r->energy[0].energy_per_inference_j, 44.0 / 3, 1e-9);
			CHECK_NEAR(r->energy[0].power_w, 44.0 / 13, 1e-9);
			CHECK_NEAR(r->energy[1].busy_s, 6, 1e-9);
			CHECK_NEAR(r->energy[1].bits_sent, 600, 1e-9);
			CHECK_NEAR(r->energy[1].bits_received, 1200, 1e-9);
			CHECK_NEAR(r->energy[1].energy_j, 53, 1e-9);
			CHECK(r->energy[0].active && r->energy[1].active && !r->energy[2].active);
			CHECK_NEAR(r->energy[2].energy_j, 26, 1e-9);
		}
		CHECK_NEAR(r->energy_j, 97, 1e-9);
		CHECK_NEAR(r->energy_per_inference_j, 97.0 / 3, 1e-9);
		CHECK_NEAR(r->power_w, 97.0 / 13, 1e-9);
		sim_pipeline_destroy(sp);
	}
	{
		struct sim_failure crash = { 2, 5.0 };

		cfg.failures = &crash;
		cfg.n_failures = 1;
		if ((sp = run(&f, &plan, &cfg))) {
			r = sim_pipeline_report(sp);
			CHECK_INT(r->n_incidents, 1);
			CHECK_NEAR(r->energy[2].energy_j, 10, 1e-9);
			CHECK(!r->energy[2].active);
			CHECK_NEAR(r->energy_j, 97, 1e-9);
			sim_pipeline_destroy(sp);
		}
		cfg.failures = NULL;
		cfg.n_failures = 0;
	}
	/* Without a power model: no energy, NAN totals. */
	cfg.power = NULL;
	if ((sp = run(&f, &plan, &cfg))) {
		r = sim_pipeline_report(sp);
		CHECK(r->energy == NULL);
		CHECK(isnan(r->energy_j) && isnan(r->power_w));
		sim_pipeline_destroy(sp);
	}
	/* A power model below its idle power is refused by name. */
	{
		struct power_model bad = { "bad", 5, 3, 0, 0 };
		struct sim_pipeline *none = NULL;
		struct ep_error err;

		cfg.power = &bad;
		CHECK_INT(sim_pipeline_create(&f.problem, &plan, &cfg, &none, &err), EP_EINVAL);
		CHECK(strstr(err.msg, "'bad'") != NULL);
		sim_pipeline_destroy(none);
	}
	plan_release(&plan);
	fixture_release(&f);
}

/*
 * Saturated: the analytic figure (power_plan_energy). The bottleneck is B = 2 s (hop 0 and
 * stage 1), so per inference:
 *   node 0: 2 x 2 + 4 x 1 + 1e-3 x 400 + 2e-3 x 800 = 4 + 4 + 0.4 + 1.6 = 10 J
 *   node 1: 2 x 2 + 4 x 2 + 1e-3 x 200 + 2e-3 x 400 = 4 + 8 + 0.2 + 0.8 = 13 J
 * 23 J per inference, 11.5 W. The simulation (window 8, 1000 requests, the first 100 left out)
 * answers every 2 s in steady state; its interval of 900 answers is 1800 s, and what falls
 * across its two ends (at most one stage and one transfer per node) moves the figure by less
 * than 0.1 %.
 */
static void test_saturated(void)
{
	struct fixture f;
	struct plan plan;
	struct sim_config cfg;
	struct sim_pipeline *sp;
	double node_j[3], total = 0;
	struct ep_error err;

	if (fixture_init(&f, "energy", 3, flops, params, xfer, 3, speeds, 100, 400, 0,
			 PROBLEM_OPTIONS_FULL)) {
		check_failures++;
		return;
	}
	plan_init(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 2, 1);
	CHECK_INT(power_plan_energy(&pm, &f.problem, &plan, node_j, &total, &err), EP_OK);
	CHECK_NEAR(node_j[0], 10, 1e-12);
	CHECK_NEAR(node_j[1], 13, 1e-12);
	CHECK_NEAR(node_j[2], 0, 0);
	CHECK_NEAR(total, 23, 1e-12);
	cfg = sim_config_default(&f.problem);
	cfg.window = 8;
	cfg.requests = 1000;
	cfg.warmup_requests = 100;
	cfg.power = &pm;
	if ((sp = run(&f, &plan, &cfg))) {
		const struct sim_report *r = sim_pipeline_report(sp);

		CHECK_NEAR(r->throughput, 0.5, 1e-12);
		CHECK_NEAR(r->energy_per_inference_j, 23, 23e-3);
		CHECK_NEAR(r->energy[0].energy_per_inference_j, 10, 10e-3);
		CHECK_NEAR(r->energy[1].energy_per_inference_j, 13, 13e-3);
		CHECK_NEAR(r->power_w, 11.5, 11.5e-3);
		sim_pipeline_destroy(sp);
	}
	/* The published metric counts neither compute nor the dispatcher hops: the bottleneck
	 * is hop 1 (1 s) and per inference node 0 is idle 1 s and sends 400 bits (2 + 0.4 J),
	 * node 1 idle 1 s and receives them (2 + 0.8 J): 5.2 J. */
	problem_release(&f.problem);
	{
		struct problem_options o = PROBLEM_OPTIONS_PUBLISHED;

		CHECK_INT(problem_init(&f.problem, &f.profile, &f.cluster, &o, &err), EP_OK);
	}
	CHECK_INT(power_plan_energy(&pm, &f.problem, &plan, node_j, &total, &err), EP_OK);
	CHECK_NEAR(node_j[0], 2.4, 1e-12);
	CHECK_NEAR(node_j[1], 2.8, 1e-12);
	CHECK_NEAR(total, 5.2, 1e-12);
	/* One stage under the published metric: nothing takes time, no energy per inference. */
	{
		struct plan one;

		plan_init(&one);
		plan_push(&one, 0, 2, 0);
		CHECK_INT(power_plan_energy(&pm, &f.problem, &one, node_j, &total, &err),
			  EP_EINVAL);
		CHECK(strstr(err.msg, "published") != NULL);
		plan_release(&one);
	}
	plan_release(&plan);
	fixture_release(&f);
}

/*
 * A codec in the simulated pipeline: ratio 2, encoding 0.01 s and decoding 0.02 s per raw
 * byte (the fixture's cluster has no speed factors: as measured). Then
 *   hop 0: 400 bits / 400 = 1 s; stage 0: 1 + 0.02 x 100 + 0.01 x 50 = 3.5 s;
 *   hop 1: 200 / 400 = 0.5 s;    stage 1: 2 + 0.02 x 50 + 0.01 x 25 = 3.25 s;
 *   hop 2: 100 / 400 = 0.25 s.
 * One request: answered at 1 + 3.5 + 0.5 + 3.25 + 0.25 = 8.5 s, over an interval of 8.5 s:
 *   E0 = 2 x 8.5 + 4 x 3.5 + 1e-3 x 200 + 2e-3 x 400 = 17 + 14 + 0.2 + 0.8 = 32 J
 *   E1 = 2 x 8.5 + 4 x 3.25 + 1e-3 x 100 + 2e-3 x 200 = 17 + 13 + 0.1 + 0.4 = 30.5 J
 * and plan_cost's bottleneck is stage 0's 3.5 s.
 */
static void test_codec(void)
{
	struct fixture f;
	struct plan plan;
	struct sim_config cfg;
	struct sim_pipeline *sp;
	struct plan_cost cost;
	struct problem_options o = PROBLEM_OPTIONS_FULL;

	o.codec = (struct problem_codec){ "lz4", 2, 0.01, 0.02 };
	if (fixture_init(&f, "codec", 3, flops, params, xfer, 3, speeds, 100, 400, 0, o)) {
		check_failures++;
		return;
	}
	plan_init(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 2, 1);
	plan_cost(&f.problem, &plan, &cost, NULL, NULL);
	CHECK_NEAR(cost.bottleneck_s, 3.5, 1e-12);
	CHECK_INT(cost.where, COST_TERM_COMPUTE);
	CHECK_NEAR(cost.sum_transfer_bits, 200, 1e-12);
	cfg = sim_config_default(&f.problem);
	cfg.requests = 1;
	cfg.power = &pm;
	if ((sp = run(&f, &plan, &cfg))) {
		const struct sim_report *r = sim_pipeline_report(sp);

		CHECK_NEAR(r->latency_max_s, 8.5, 1e-9);
		CHECK_NEAR(r->energy[0].energy_j, 32, 1e-6);
		CHECK_NEAR(r->energy[1].energy_j, 30.5, 1e-6);
		CHECK_NEAR(r->energy_per_inference_j, 62.5, 1e-6);
		sim_pipeline_destroy(sp);
	}
	plan_release(&plan);
	fixture_release(&f);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	gsl_set_error_handler_off();
	test_two_stages();
	test_saturated();
	test_codec();
	return check_exit();
}
