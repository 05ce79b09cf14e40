/*
 * bench_sim: events per second of the simulator on one core.
 * 1. The engine alone: the classic "hold" model, P events pending, each one, when run,
 *    schedules the next at an exponential delay (one pop and one push per event).
 * 2. The pipeline: an 8-stage plan, exponential service and transfers, closed loop of 32
 *    requests with retry timers armed and cancelled (every request also schedules and cancels
 *    its timer), deterministic or on shared media.
 * 3. Memory per request: the peak RSS before and after a run of 1e7 x SCALE requests. The
 *    latencies go into a fixed-size histogram (sim_histogram.h); before issue 9, item 5, they
 *    were kept in an array of doubles (8 bytes per measured request, 16 at the peak of a
 *    doubling), so a run of 1e7 requests grew by about 80 to 160 MB.
 * Usage: bench_sim [SCALE] (default 1: a few seconds in all on one core).
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <igraph.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "ep_util.h"
#include "sim_engine.h"
#include "sim_fixture.h"
#include "sim_histogram.h"
#include "sim_pipeline.h"

struct hold {
	gsl_rng *rng;
	uint64_t left;
};

static void hold_event(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct hold *h = ctx;

	if (h->left == 0)
		return;
	h->left--;
	sim_engine_after(e, 1 + (int64_t)gsl_ran_exponential(h->rng, 1e6), hold_event, h, arg, NULL,
			 NULL);
}

static void bench_engine(size_t pending, uint64_t events)
{
	struct sim_engine *e;
	struct hold h = { gsl_rng_alloc(gsl_rng_mt19937), events };
	struct ep_error err;
	double t0, t;

	gsl_rng_set(h.rng, 1);
	if (sim_engine_create(pending, &e, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	for (size_t i = 0; i < pending; i++)
		sim_engine_schedule(e, (int64_t)i, hold_event, &h, 0, NULL, NULL);
	t0 = ep_now_s();
	sim_engine_run(e, SIM_TIME_MAX);
	t = ep_now_s() - t0;
	printf("engine, hold model, %7zu pending: %10llu events in %.3f s = %6.2f M events/s "
	       "(pool %zu records)\n", pending, (unsigned long long)sim_engine_events_run(e), t,
	       (double)sim_engine_events_run(e) / t / 1e6, sim_engine_pool_size(e));
	sim_engine_destroy(e);
	gsl_rng_free(h.rng);
}

static double peak_rss_mib(void)
{
	struct rusage u;

	return getrusage(RUSAGE_SELF, &u) ? NAN : (double)u.ru_maxrss / 1024; /* KiB on Linux */
}

static void bench_pipeline(const char *what, bool exp, bool shared, int64_t requests)
{
	static double flops[9], params[9], xfer[9], speeds[8];
	struct fixture f;
	struct plan plan;
	struct sim_config cfg;
	struct sim_pipeline *sp = NULL;
	struct ep_error err;
	double t0, t;

	for (int k = 0; k < 9; k++) {
		flops[k] = 1e6 * k;
		params[k] = 10.0 * k;
		xfer[k] = 1000;
	}
	for (int i = 0; i < 8; i++)
		speeds[i] = 1e9 * (1 + 0.1 * i);
	fixture_init(&f, "bench", 9, flops, params, xfer, 8, speeds, 1e9, 100e6, 1e-4,
		     PROBLEM_OPTIONS_FULL);
	plan_init(&plan);
	for (int s = 0; s < 8; s++)
		plan_push(&plan, s, s + 1, s);
	cfg = sim_config_default(&f.problem);
	cfg.window = 32;
	cfg.requests = requests;
	cfg.service = exp ? SIM_DIST_EXP : SIM_DIST_DET;
	cfg.transfer = exp ? SIM_DIST_EXP : SIM_DIST_DET;
	cfg.shared_medium = shared;
	cfg.retry_timeout_s = 10;
	if (sim_pipeline_create(&f.problem, &plan, &cfg, &sp, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	t0 = ep_now_s();
	if (sim_pipeline_run(sp, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	t = ep_now_s() - t0;
	{
		const struct sim_report *r = sim_pipeline_report(sp);

		printf("pipeline, %-30s %10llu events in %.3f s = %6.2f M events/s, %.2f M "
		       "requests/s\n", what, (unsigned long long)r->events, t,
		       (double)r->events / t / 1e6, (double)r->completed / t / 1e6);
	}
	sim_pipeline_destroy(sp);
	plan_release(&plan);
	fixture_release(&f);
}

int main(int argc, char **argv)
{
	double scale = argc > 1 ? atof(argv[1]) : 1;

	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	if (!(scale > 0))
		scale = 1;
	bench_engine(64, (uint64_t)(1e7 * scale));
	bench_engine(4096, (uint64_t)(1e7 * scale));
	bench_engine(262144, (uint64_t)(5e6 * scale));
	bench_pipeline("8 stages, deterministic:", false, false, (int64_t)(5e5 * scale));
	bench_pipeline("8 stages, exponential:", true, false, (int64_t)(5e5 * scale));
	bench_pipeline("8 stages, exp, shared media:", true, true, (int64_t)(5e5 * scale));
	{
		double before = peak_rss_mib(), after;
		int64_t n = (int64_t)(1e7 * scale);

		bench_pipeline("8 stages, deterministic, long:", false, false, n);
		after = peak_rss_mib();
		printf("memory: peak RSS %.1f MiB before, %.1f MiB after a run of %lld requests: "
		       "%.2f bytes per request (latency histogram: %zu bytes, fixed)\n", before,
		       after, (long long)n, (after - before) * 1048576 / (double)n,
		       (size_t)SIM_HIST_BYTES);
	}
	return 0;
}
