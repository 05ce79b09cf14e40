/*
 * Resends never load a healthy pipeline (issue 9, item 1). The dispatcher used to resend every
 * request unanswered after the retry timeout, whether its attempt was lost or only queueing;
 * in a busy pipeline the resends lengthened the queues, which caused more resends: a healthy
 * run delivered a few per cent of the offered load. Now a request is resent only when failure
 * detection says its attempt may be lost, and the attempts of answered requests are cancelled.
 *
 * The pipeline is test_sim_jackson's tandem of three M/M/1 servers (stage 0 mean 0.5 s, the
 * link 0.4 s, stage 1 0.6 s) at lambda = 1 /s, whose mean sojourn is, by Jackson's theorem,
 * 1/(2-1) + 1/(2.5-1) + 1/(5/3-1) = 3.1666... s; the retry timeout (1 s, then 10 ms) is far
 * below the latency's tail (the sojourn at the last stage alone exceeds 1 s with probability
 * e^(-2/3) = 0.51).
 */
#include <gsl/gsl_errno.h>
#include <igraph.h>
#include <math.h>

#include "check.h"
#include "sim_fixture.h"
#include "sim_pipeline.h"

/* Every attempt is accounted for (sim_pipeline.h). */
static void check_accounting(const struct sim_report *r)
{
	CHECK_INT(r->issued + r->retries,
		  r->completed + r->duplicates + r->lost + r->in_flight + r->waiting);
}

static void run_tandem(double retry_timeout_s, bool crash)
{
	static const double flops[3] = { 0, 500, 1100 }, params[3] = { 0, 1, 2 };
	static const double xfer[3] = { 0, 125, 0 }, speeds[2] = { 1000, 1000 };
	const double want = 1.0 + 2.0 / 3 + 1.5;
	struct fixture f;
	struct plan plan;
	struct sim_config cfg;
	struct sim_pipeline *sp = NULL;
	struct ep_error err;

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
	cfg.requests = 3000;
	cfg.warmup_requests = 500;
	cfg.service = SIM_DIST_EXP;
	cfg.transfer = SIM_DIST_EXP;
	cfg.dispatcher_hops = false;
	cfg.retry_timeout_s = retry_timeout_s;
	cfg.bin_s = 100;
	cfg.seed = 11;
	if (crash) {
		/* Node 1 crashes at 1000 s, is declared at 1003 s; the whole model moves to node
		 * 0. Most lost requests were sent more than the timeout before: their checks have
		 * passed, and the declaration itself must resend them. */
		static const struct sim_failure fail = { 1, 1000 };

		cfg.failures = &fail;
		cfg.n_failures = 1;
		cfg.algo = &algo_firstfit;
	}
	if (sim_pipeline_create(&f.problem, &plan, &cfg, &sp, &err) ||
	    sim_pipeline_run(sp, &err)) {
		fprintf(stderr, "simulation: %s\n", err.msg);
		check_failures++;
	} else {
		const struct sim_report *r = sim_pipeline_report(sp);

		if (crash) {
			printf("retry timeout %g s, a crash at 1000 s: %lld lost, %lld resends, "
			       "%lld duplicates, %lld completed\n", retry_timeout_s,
			       (long long)r->lost, (long long)r->retries, (long long)r->duplicates,
			       (long long)r->completed);
			CHECK(r->lost > 0);
			CHECK_INT(r->retries, r->lost);
			CHECK_INT(r->completed, 3000);
			CHECK_INT(r->incomplete, 0);
			check_accounting(r);
			goto out;
		}
		printf("retry timeout %g s: throughput %.4f /s (offered 1), mean latency %.4f +- "
		       "%.4f s (Jackson %.4f), %lld resends, %lld duplicates, %llu events\n",
		       retry_timeout_s, r->throughput, r->latency_mean_s, r->latency_ci95_s, want,
		       (long long)r->retries, (long long)r->duplicates,
		       (unsigned long long)r->events);
		/* Nothing is lost, so nothing is resent and nothing is duplicated. */
		CHECK_INT(r->retries, 0);
		CHECK_INT(r->duplicates, 0);
		CHECK_INT(r->completed, 3000);
		check_accounting(r);
		CHECK_INT(r->in_flight, 0);
		CHECK_INT(r->waiting, 0);
		/* Throughput = lambda in a stable open network; the latency is Jackson's (a
		 * resend would have added load and lengthened it). */
		CHECK_NEAR(r->throughput, 1.0, 0.03);
		CHECK(fabs(r->latency_mean_s - want) <= 2 * r->latency_ci95_s);
		/* An arrival, two stages and a link: 4 events a request, and at most one check
		 * of its timer (a request answered first cancels it). */
		CHECK(r->events <= 3000ull * (4 + 1) + 1);
	}
out:
	sim_pipeline_destroy(sp);
	plan_release(&plan);
	fixture_release(&f);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	run_tandem(1.0, false);
	run_tandem(0.01, false);
	run_tandem(1.0, true);
	return check_exit();
}
