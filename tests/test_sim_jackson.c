/*
 * Queueing theory: a tandem of three exponential servers (two stages and the link between them)
 * fed by Poisson arrivals is a Jackson network, whose product form gives the mean sojourn time
 * sum_i 1 / (mu_i - lambda) (Jackson 1957; e.g. Kleinrock, Queueing Systems vol. 1, 4.8, or
 * Harchol-Balter, Performance Modeling and Design of Computer Systems, ch. 17). The simulated
 * mean latency must lie within its 95 % batch-means confidence interval of that value, and
 * Little's law L = X W must hold on the sample path. Each server's utilisation is lambda / mu_i.
 * A single M/M/1 (one stage) checks the same, and its median, ln 2 / (mu - lambda) (the sojourn
 * time of M/M/1 FIFO is exponential of rate mu - lambda).
 */
#include <gsl/gsl_errno.h>
#include <igraph.h>
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "sim_fixture.h"
#include "sim_pipeline.h"

static const struct sim_report *run(const struct problem *p, const struct plan *plan,
				    struct sim_config *cfg, struct sim_pipeline **sp)
{
	struct ep_error err;

	if (sim_pipeline_create(p, plan, cfg, sp, &err) || sim_pipeline_run(*sp, &err)) {
		fprintf(stderr, "simulation: %s\n", err.msg);
		check_failures++;
		return NULL;
	}
	return sim_pipeline_report(*sp);
}

static void check_little(const struct sim_report *r)
{
	double lw = r->throughput * r->latency_mean_s;

	printf("  Little: L = %.5f, X W = %.5f x %.5f = %.5f (%+.3f %%)\n", r->mean_in_system,
	       r->throughput, r->latency_mean_s, lw, 100 * (lw - r->mean_in_system) /
	       r->mean_in_system);
	/* Exact on a sample path but for the requests straddling the interval's ends. */
	CHECK(fabs(lw - r->mean_in_system) <= 0.01 * r->mean_in_system);
}

/*
 * Stage 0: 500 FLOPs on a 1000 FLOP/s node, mean 0.5 s (mu = 2 /s); the link between the stages
 * carries 1000 bits at 2500 bit/s, mean 0.4 s (mu = 2.5 /s); stage 1: 600 FLOPs at 1000 FLOP/s,
 * mean 0.6 s (mu = 5/3 /s). No dispatcher hops. lambda = 1 /s.
 * Expected mean sojourn: 1/(2-1) + 1/(2.5-1) + 1/(5/3-1) = 1 + 2/3 + 3/2 = 3.1666... s.
 */
static void test_tandem(void)
{
	static const double flops[3] = { 0, 500, 1100 }, params[3] = { 0, 1, 2 };
	static const double xfer[3] = { 0, 125, 0 }, speeds[2] = { 1000, 1000 };
	const double want = 1.0 + 2.0 / 3 + 1.5;
	struct fixture f;
	struct plan plan;
	struct sim_config cfg;
	struct sim_pipeline *sp = NULL;
	const struct sim_report *r;

	if (fixture_init(&f, "tandem", 3, flops, params, xfer, 2, speeds, 1e9, 2500, 0,
			 PROBLEM_OPTIONS_FULL)) {
		check_failures++;
		return;
	}
	plan_init(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 2, 1);
	cfg = sim_config_default(&f.problem);
	cfg.arrival = SIM_POISSON;
	cfg.rate = 1;
	cfg.requests = 200000;
	cfg.warmup_requests = 2000;
	cfg.service = SIM_DIST_EXP;
	cfg.transfer = SIM_DIST_EXP;
	cfg.dispatcher_hops = false;
	cfg.retry_timeout_s = 0;
	cfg.bin_s = 100;
	cfg.seed = 11;
	r = run(&f.problem, &plan, &cfg, &sp);
	if (r) {
		printf("tandem M/M/1 x 3, lambda 1: mean sojourn %.5f +- %.5f s (95 %%, batch "
		       "means), Jackson %.5f s\n", r->latency_mean_s, r->latency_ci95_s, want);
		CHECK(fabs(r->latency_mean_s - want) <= r->latency_ci95_s);
		/* The interval is informative: a few per cent of the mean. */
		CHECK(r->latency_ci95_s < 0.03 * want);
		check_little(r);
		printf("  utilisation: stage 0 %.4f (0.5), link %.4f (0.4), stage 1 %.4f (0.6)\n",
		       r->nodes[0].utilisation, r->links[0].utilisation, r->nodes[1].utilisation);
		CHECK_NEAR(r->nodes[0].utilisation, 0.5, 0.02);
		CHECK_NEAR(r->nodes[1].utilisation, 0.6, 0.02);
		CHECK_INT(r->n_links, 1);
		CHECK_NEAR(r->links[0].utilisation, 0.4, 0.02);
		/* Throughput = lambda in a stable open network. */
		CHECK_NEAR(r->throughput, 1.0, 0.02);
		CHECK_INT(r->completed, 200000);
	}
	sim_pipeline_destroy(sp);
	plan_release(&plan);
	fixture_release(&f);
}

/* One stage of mean 0.25 s (mu = 4) at lambda = 3: mean sojourn 1/(4-3) = 1 s, median ln 2. */
static void test_mm1(void)
{
	static const double flops[2] = { 0, 250 }, params[2] = { 0, 1 }, xfer[2] = { 0, 0 };
	static const double speeds[1] = { 1000 };
	struct fixture f;
	struct plan plan;
	struct sim_config cfg;
	struct sim_pipeline *sp = NULL;
	const struct sim_report *r;

	if (fixture_init(&f, "mm1", 2, flops, params, xfer, 1, speeds, 1e9, 1e6, 0,
			 PROBLEM_OPTIONS_FULL)) {
		check_failures++;
		return;
	}
	plan_init(&plan);
	plan_push(&plan, 0, 1, 0);
	cfg = sim_config_default(&f.problem);
	cfg.arrival = SIM_POISSON;
	cfg.rate = 3;
	cfg.requests = 300000;
	cfg.warmup_requests = 3000;
	cfg.service = SIM_DIST_EXP;
	cfg.retry_timeout_s = 0;
	cfg.bin_s = 100;
	cfg.seed = 5;
	r = run(&f.problem, &plan, &cfg, &sp);
	if (r) {
		printf("M/M/1, rho 0.75: mean sojourn %.5f +- %.5f s, theory 1; median %.5f, "
		       "theory %.5f\n", r->latency_mean_s, r->latency_ci95_s, r->latency_p50_s,
		       log(2.0));
		CHECK(fabs(r->latency_mean_s - 1.0) <= r->latency_ci95_s);
		CHECK(r->latency_ci95_s < 0.05);
		CHECK_NEAR(r->latency_p50_s, log(2.0), 0.03);
		/* p99 of an exponential of rate 1: ln 100. */
		CHECK_NEAR(r->latency_p99_s, log(100.0), 0.15);
		check_little(r);
		CHECK_NEAR(r->nodes[0].utilisation, 0.75, 0.01);
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
	test_tandem();
	test_mm1();
	return check_exit();
}
