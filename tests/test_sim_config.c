/*
 * sim_pipeline_create's check of the configuration (sim/sim_pipeline.c, check_config): every
 * value it refuses is refused with EP_EINVAL, a message naming the value and no pipeline, and
 * where a configuration has two bad values the first in check order is the one named (window
 * before bin). The default configuration, and each value just inside its range, is accepted,
 * so that the refusals are not an accident of the fixture.
 *
 * The fixture: three cut points (0, 1e9 and 2e9 cumulative FLOPs, 1000 bytes each), two nodes
 * of 1 GFLOP/s and 1 MB, 1 Mbit/s links; the plan is one stage, cuts 0 to 2, on node 0.
 * Expected messages are those sim_pipeline.c writes for the value set here.
 */
#include <gsl/gsl_errno.h>
#include <igraph.h>
#include <stdlib.h>

#include "check.h"
#include "sim_fixture.h"
#include "sim_pipeline.h"

static struct fixture fx;
static struct plan plan;
static struct power_model bad_power = {"bad", 5, 1, 0, 0};
static struct sim_failure failure;
static struct sim_update update;

static void set_arrival(struct sim_config *c)
{
	c->arrival = 7;
}
static void set_power(struct sim_config *c)
{
	c->power = &bad_power;
}
static void set_window(struct sim_config *c)
{
	c->window = 0;
}
static void set_rate(struct sim_config *c)
{
	c->arrival = SIM_POISSON;
	c->rate = 0;
}
static void set_requests(struct sim_config *c)
{
	c->requests = -1;
}
static void set_no_end(struct sim_config *c)
{
	c->requests = 0;
	c->duration_s = 0;
}
static void set_warmup(struct sim_config *c)
{
	c->warmup_requests = -1;
}
static void set_warmup_all(struct sim_config *c)
{
	c->warmup_requests = c->requests;
}
static void set_dist(struct sim_config *c)
{
	c->service = 9;
}
static void set_cv(struct sim_config *c)
{
	c->transfer = SIM_DIST_LOGNORMAL;
	c->transfer_cv = 0;
}
static void set_no_failures(struct sim_config *c)
{
	c->n_failures = 1;
	c->failures = NULL;
}
static void set_failure_node(struct sim_config *c)
{
	failure = (struct sim_failure){2, 1};
	c->failures = &failure;
	c->n_failures = 1;
}
static void set_failure_time(struct sim_config *c)
{
	failure = (struct sim_failure){1, -1};
	c->failures = &failure;
	c->n_failures = 1;
}
static void set_mtbf(struct sim_config *c)
{
	c->mtbf_s = -1;
}
static void set_heartbeat(struct sim_config *c)
{
	c->heartbeat_period_s = 0;
}
static void set_retry(struct sim_config *c)
{
	c->retry_timeout_s = -1;
}
static void set_no_updates(struct sim_config *c)
{
	c->n_updates = 1;
	c->updates = NULL;
}
static void set_update_model(struct sim_config *c)
{
	update = (struct sim_update){NULL, 1};
	c->updates = &update;
	c->n_updates = 1;
}
static void set_update_time(struct sim_config *c)
{
	update = (struct sim_update){&fx.profile, -1};
	c->updates = &update;
	c->n_updates = 1;
}
static void set_update_algo(struct sim_config *c)
{
	update = (struct sim_update){&fx.profile, 1};
	c->updates = &update;
	c->n_updates = 1;
	c->algo = NULL;
}
static void set_bin(struct sim_config *c)
{
	c->bin_s = 0;
}
static void set_window_and_bin(struct sim_config *c)
{
	c->window = 0;
	c->bin_s = 0;
}

static const struct bad_case {
	void (*set)(struct sim_config *c);
	const char *msg;
} bad_cases[] = {
	{set_arrival, "unknown arrival process 7"},
	{set_power, "power model 'bad': P_idle 5 W, P_max 1 W"},
	{set_window, "window 0: at least 1 request must be in flight"},
	{set_rate, "rate 0: expected a positive number of requests per second"},
	{set_requests, "requests -1, duration 0 s"},
	{set_no_end, "the run would not end"},
	{set_warmup, "warm-up -1 requests"},
	{set_warmup_all, "a warm-up of 1000 requests leaves none of the 1000"},
	{set_dist, "unknown distribution"},
	{set_cv, "lognormal coefficient of variation 0"},
	{set_no_failures, "1 failures given without a list"},
	{set_failure_node, "failure of node 2: the cluster has nodes 0 to 1"},
	{set_failure_time, "failure of node 1 at -1 s"},
	{set_mtbf, "MTBF -1 s"},
	{set_heartbeat, "heartbeat period 0 s"},
	{set_retry, "retry timeout -1 s"},
	{set_no_updates, "1 updates given without a list"},
	{set_update_model, "update 1 has no model"},
	{set_update_time, "update at -1 s"},
	{set_update_algo, "a model update needs an algorithm"},
	{set_bin, "series bin 0 s"},
	{set_window_and_bin, "window 0"}, /* the first in check order */
};

/* Values just inside the ranges the cases above leave: each must be accepted. */
static void ok_default(struct sim_config *c)
{
	(void)c;
}
static void ok_edges(struct sim_config *c)
{
	failure = (struct sim_failure){1, 0};
	c->failures = &failure;
	c->n_failures = 1;
	c->warmup_requests = c->requests - 1;
	c->retry_timeout_s = 0;
	c->mtbf_s = 0;
	c->window = 1;
}

int main(void)
{
	static const double flops[] = {0, 1e9, 2e9}, bytes[] = {1000, 1000, 1000};
	static const double speed[] = {1e9, 1e9};
	void (*oks[])(struct sim_config *) = {ok_default, ok_edges};
	struct sim_pipeline *sp = NULL;
	struct ep_error err;

	igraph_set_error_handler(igraph_error_handler_ignore);
	gsl_set_error_handler_off();
	if (fixture_init(&fx, "three", 3, flops, bytes, bytes, 2, speed, 1e6, 1e6, 0,
			 PROBLEM_OPTIONS_FULL))
		return 1;
	plan_init(&plan);
	plan_push(&plan, 0, 2, 0);
	for (size_t i = 0; i < sizeof(oks) / sizeof(oks[0]); i++) {
		struct sim_config c = sim_config_default(&fx.problem);

		oks[i](&c);
		CHECK_INT(sim_pipeline_create(&fx.problem, &plan, &c, &sp, &err), EP_OK);
		if (!sp)
			fprintf(stderr, "  accepted configuration %zu: %s\n", i, err.msg);
		sim_pipeline_destroy(sp);
		sp = NULL;
	}
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct sim_config c = sim_config_default(&fx.problem);

		bad_cases[i].set(&c);
		err.msg[0] = '\0';
		CHECK_INT(sim_pipeline_create(&fx.problem, &plan, &c, &sp, &err), EP_EINVAL);
		CHECK_CONTAINS(err.msg, bad_cases[i].msg);
		CHECK(sp == NULL);
		sim_pipeline_destroy(sp);
		sp = NULL;
	}
	plan_release(&plan);
	fixture_release(&fx);
	return check_exit();
}
