/*
 * Report figures that used to mislead (issue 9, item 4), on an instance small enough to follow
 * by hand: one node, no compute, the input and output hops of 1000 bits at 1000 bit/s (1 s
 * each, no latency), dispatcher hops on, a closed loop of 3 requests.
 * - Shared medium: both hops need the dispatcher's medium and node 0's, so each request holds
 *   both for 2 s: the throughput is 1/2 /s, and sim_plan_bottleneck says 2 s (dedicated links:
 *   1 s, as plan_cost). The 3 requests are always waiting for a transfer or in one (the stage
 *   takes no time), each through both media: both media have max_queue 3, utilisation 1, and
 *   mean_queue the dispatcher's mean number in the system (3, but for the final drain). (Before the fix mean_queue was the utilisation and max_queue at most 1.)
 */
#include <gsl/gsl_errno.h>
#include <igraph.h>
#include <math.h>

#include "check.h"
#include "sim_fixture.h"
#include "sim_pipeline.h"

static void test_shared_medium(void)
{
	static const double flops[2] = { 0, 0 }, params[2] = { 0, 1 }, xfer[2] = { 125, 125 };
	static const double speeds[1] = { 1e9 };
	struct fixture f;
	struct plan plan;
	struct sim_config cfg;
	struct sim_pipeline *sp = NULL;
	struct ep_error err;

	if (fixture_init(&f, "pingpong", 2, flops, params, xfer, 1, speeds, 1e9, 1000, 0,
			 PROBLEM_OPTIONS_FULL)) {
		check_failures++;
		return;
	}
	plan_init(&plan);
	plan_push(&plan, 0, 1, 0);
	cfg = sim_config_default(&f.problem);
	cfg.compute = false;
	cfg.dispatcher_hops = true;
	cfg.window = 3;
	cfg.requests = 300;
	cfg.warmup_requests = 30;
	CHECK_NEAR(sim_plan_bottleneck(&f.problem, &plan, &cfg), 1.0, 1e-12);
	cfg.shared_medium = true;
	CHECK_NEAR(sim_plan_bottleneck(&f.problem, &plan, &cfg), 2.0, 1e-12);
	if (sim_pipeline_create(&f.problem, &plan, &cfg, &sp, &err) ||
	    sim_pipeline_run(sp, &err)) {
		fprintf(stderr, "simulation: %s\n", err.msg);
		check_failures++;
	} else {
		const struct sim_report *r = sim_pipeline_report(sp);

		CHECK_NEAR(r->throughput, 0.5, 1e-9);
		CHECK_INT(r->n_media, 2);
		for (int i = 0; i < r->n_media; i++) {
			printf("medium %d: utilisation %.6f, mean_queue %.6f, max_queue %d\n", i,
			       r->media[i].utilisation, r->media[i].mean_queue,
			       r->media[i].max_queue);
			CHECK_NEAR(r->media[i].utilisation, 1.0, 1e-9);
			/* Every request in the system is in both media's counts: the dispatcher's
			 * own time average (3 but for the last requests' drain). */
			CHECK_NEAR(r->media[i].mean_queue, r->mean_in_system, 1e-9);
			CHECK(r->media[i].mean_queue > 2.99);
			CHECK_INT(r->media[i].max_queue, 3);
		}
		CHECK(!r->no_plan);
	}
	sim_pipeline_destroy(sp);
	plan_release(&plan);
	fixture_release(&f);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	test_shared_medium();
	return check_exit();
}
