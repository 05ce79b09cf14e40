/*
 * The event engine: events run in (time, sequence) order, whatever order they were scheduled
 * in; same-time events run in the order they were scheduled; cancel removes exactly the named
 * event; the pool is reused (it does not grow in a steady state); run stops at a time, on
 * request, and when empty; scheduling in the past is refused.
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <igraph.h>
#include <stdlib.h>

#include "check.h"
#include "sim_engine.h"

#define LOG_MAX 4096

struct log {
	int n;
	int64_t time[LOG_MAX];
	uint64_t arg[LOG_MAX];
};

static void record(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct log *l = ctx;

	if (l->n < LOG_MAX) {
		l->time[l->n] = sim_engine_now(e);
		l->arg[l->n] = arg;
		l->n++;
	}
}

static void test_order(void)
{
	struct sim_engine *e;
	struct log *l = calloc(1, sizeof(*l));
	struct ep_error err;
	/* Times given out of order, with ties: arg = the scheduling order. */
	static const int64_t times[] = { 50, 10, 30, 10, 50, 0, 30, 10 };
	/* Expected: by time, ties in scheduling order: 0(5), 10(1,3,7), 30(2,6), 50(0,4). */
	static const uint64_t want[] = { 5, 1, 3, 7, 2, 6, 0, 4 };

	CHECK_INT(sim_engine_create(2, &e, &err), EP_OK); /* tiny pool: it must grow */
	for (int i = 0; i < 8; i++)
		CHECK_INT(sim_engine_schedule(e, times[i], record, l, (uint64_t)i, NULL, &err),
			  EP_OK);
	CHECK_INT(sim_engine_pending(e), 8);
	CHECK_INT(sim_engine_run(e, SIM_TIME_MAX), SIM_RUN_EMPTY);
	CHECK_INT(l->n, 8);
	for (int i = 0; i < 8 && i < l->n; i++)
		CHECK_INT(l->arg[i], want[i]);
	CHECK_INT(sim_engine_now(e), 50);
	CHECK_INT(sim_engine_events_run(e), 8);
	/* The past is refused, with both times in the message. */
	CHECK_INT(sim_engine_schedule(e, 49, record, l, 0, NULL, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "49 ns");
	CHECK_INT(sim_engine_after(e, -1, record, l, 0, NULL, &err), EP_EINVAL);
	sim_engine_destroy(e);
	free(l);
}

/* A heap with many random times and cancellations: the run is sorted by (time, sequence) and
 * holds exactly the events not cancelled. */
static void test_random_order(void)
{
	enum { N = 3000 };
	struct sim_engine *e;
	struct log *l = calloc(1, sizeof(*l));
	struct sim_event_ref *refs = calloc(N, sizeof(*refs));
	bool *cancelled = calloc(N, sizeof(bool));
	int64_t *t = calloc(N, sizeof(int64_t));
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct ep_error err;
	int kept = 0, seen = 0;

	gsl_rng_set(rng, 7);
	CHECK_INT(sim_engine_create(0, &e, &err), EP_OK);
	for (int i = 0; i < N; i++) {
		t[i] = (int64_t)gsl_rng_uniform_int(rng, 200); /* many ties */
		CHECK_INT(sim_engine_schedule(e, t[i], record, l, (uint64_t)i, &refs[i], &err),
			  EP_OK);
	}
	for (int i = 0; i < N; i += 3) {
		cancelled[i] = true;
		CHECK(sim_engine_cancel(e, &refs[i]));
		CHECK_INT(refs[i].seq, 0);
	}
	/* A second cancel of the same event does nothing. */
	{
		struct sim_event_ref again = { 0, 1 }; /* event 0's: slot 0, sequence 1 */

		CHECK(!sim_engine_cancel(e, &again));
	}
	for (int i = 0; i < N; i++)
		kept += !cancelled[i];
	CHECK_INT(sim_engine_pending(e), kept);
	CHECK_INT(sim_engine_run(e, SIM_TIME_MAX), SIM_RUN_EMPTY);
	CHECK_INT(l->n, kept);
	for (int i = 0; i < l->n; i++) {
		uint64_t a = l->arg[i];

		CHECK(!cancelled[a]);
		CHECK_INT(l->time[i], t[a]);
		if (i > 0) {
			uint64_t b = l->arg[i - 1];

			/* sequence = scheduling order = arg */
			CHECK(t[b] < t[a] || (t[b] == t[a] && b < a));
		}
		seen++;
	}
	CHECK_INT(seen, kept);
	/* An event that has run cannot be cancelled. */
	CHECK(!sim_engine_cancel(e, &refs[1]));
	sim_engine_destroy(e);
	gsl_rng_free(rng);
	free(t);
	free(cancelled);
	free(refs);
	free(l);
}

/* A self-rescheduling event chain with a bounded number pending: the pool stops growing. */
struct chain {
	int left;
	int64_t step;
};

static void tick(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct chain *c = ctx;

	if (c->left-- > 0)
		sim_engine_after(e, c->step + (int64_t)arg, tick, c, arg, NULL, NULL);
}

static void stopper(struct sim_engine *e, void *ctx, uint64_t arg)
{
	sim_engine_stop(e);
}

static void test_pool_reuse(void)
{
	struct sim_engine *e;
	struct chain c = { 100000, 10 };
	struct ep_error err;
	size_t pool;

	CHECK_INT(sim_engine_create(0, &e, &err), EP_OK);
	/* 300 event chains in flight, 100000 events in all. */
	for (int i = 0; i < 300; i++)
		CHECK_INT(sim_engine_schedule(e, i, tick, &c, (uint64_t)(i % 7), NULL, &err), EP_OK);
	pool = sim_engine_pool_size(e);
	CHECK(pool >= 300);
	CHECK_INT(sim_engine_run(e, SIM_TIME_MAX), SIM_RUN_EMPTY);
	/* Each event frees its record before scheduling the next: never more than 300 pending,
	 * so the pool sized for the first 300 was never grown. */
	CHECK_INT(sim_engine_pool_size(e), pool);
	CHECK_INT(sim_engine_events_run(e), 100000 + 300);

	/* Run until a time: the clock moves to it; then stop on request. */
	c.left = 1000;
	CHECK_INT(sim_engine_schedule(e, sim_engine_now(e) + 5, tick, &c, 0, NULL, &err), EP_OK);
	{
		int64_t t0 = sim_engine_now(e);

		CHECK_INT(sim_engine_run(e, t0 + 100), SIM_RUN_UNTIL);
		CHECK_INT(sim_engine_now(e), t0 + 100);
		CHECK_INT(sim_engine_schedule(e, t0 + 205, stopper, NULL, 0, NULL, &err), EP_OK);
		CHECK_INT(sim_engine_run(e, SIM_TIME_MAX), SIM_RUN_STOPPED);
		CHECK_INT(sim_engine_now(e), t0 + 205);
		CHECK(sim_engine_pending(e) > 0);
	}
	sim_engine_destroy(e);
	sim_engine_destroy(NULL);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	test_order();
	test_random_order();
	test_pool_reuse();
	return check_exit();
}
