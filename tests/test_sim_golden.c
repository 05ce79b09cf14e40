/*
 * Golden traces: two small scenarios whose every event is derived by hand below, compared line
 * for line with the simulator's trace; the report's figures follow from the same timelines.
 *
 * The problem: 3 cut points; cumulative FLOPs 0, 100, 300; parameter bytes 0, 5, 15 (also the
 * memory); transfers 100, 50, 25 bytes (800, 400, 200 bits). Nodes 0, 1, 2 of 100, 100, 50
 * FLOP/s and 100 bytes; every link 400 bit/s, no latency. Full metric (compute and dispatcher
 * hops). Plan: cuts 0..1 on node 0, cuts 1..2 on node 1. So:
 *   hop 0, D->0: 800/400 = 2 s     stage 0 on node 0: 100/100 = 1 s
 *   hop 1, 0->1: 400/400 = 1 s     stage 1 on node 1: 200/100 = 2 s
 *   hop 2, 1->D: 200/400 = 0.5 s
 * Events at the same time run in the order they were scheduled.
 */
#include <gsl/gsl_errno.h>
#include <igraph.h>
#include <stdlib.h>

#include "check.h"
#include "sim_fixture.h"
#include "sim_pipeline.h"

static const double flops[3] = { 0, 100, 300 }, params[3] = { 0, 5, 15 };
static const double xfer[3] = { 100, 50, 25 }, speeds[3] = { 100, 100, 50 };

/*
 * Scenario 1: closed loop, window 2, 3 requests.
 * t=0    r0 and r1 issued; r0 takes link D->0 (to 2), r1 waits for it.
 * t=2    r0 off the link, r1 on it (to 4); r0 on node 0 (to 3).
 * t=3    r0 done on node 0, on link 0->1 (to 4).
 * t=4    r1 off D->0 (scheduled at 2, before r0's at 3), on node 0 (to 5); then r0 off 0->1,
 *        on node 1 (to 6).
 * t=5    r1 done on node 0, on 0->1 (to 6).
 * t=6    r0 done on node 1 (scheduled at 4), on 1->D (to 6.5); r1 off 0->1, on node 1 (to 8).
 * t=6.5  r0 answered: latency 6.5 s; r2 issued, on D->0 (to 8.5).
 * t=8    r1 done on node 1, on 1->D (to 8.5).
 * t=8.5  r2 off D->0 (scheduled at 6.5), on node 0 (to 9.5); r1 answered: latency 8.5 s.
 * t=9.5  r2 on 0->1 (to 10.5); t=10.5 on node 1 (to 12.5); t=12.5 on 1->D (to 13).
 * t=13   r2 answered: latency 13 - 6.5 = 6.5 s.
 */
static const char golden1[] =
	"0 warmup_end\n"
	"0 issue req=0\n"
	"0 send req=0 attempt=1 epoch=0\n"
	"0 link_start req=0 hop=0 from=D to=0\n"
	"0 issue req=1\n"
	"0 send req=1 attempt=1 epoch=0\n"
	"2000000000 link_end req=0 hop=0 from=D to=0\n"
	"2000000000 link_start req=1 hop=0 from=D to=0\n"
	"2000000000 stage_start req=0 stage=0 node=0 epoch=0\n"
	"3000000000 stage_end req=0 stage=0 node=0\n"
	"3000000000 link_start req=0 hop=1 from=0 to=1\n"
	"4000000000 link_end req=1 hop=0 from=D to=0\n"
	"4000000000 stage_start req=1 stage=0 node=0 epoch=0\n"
	"4000000000 link_end req=0 hop=1 from=0 to=1\n"
	"4000000000 stage_start req=0 stage=1 node=1 epoch=0\n"
	"5000000000 stage_end req=1 stage=0 node=0\n"
	"5000000000 link_start req=1 hop=1 from=0 to=1\n"
	"6000000000 stage_end req=0 stage=1 node=1\n"
	"6000000000 link_start req=0 hop=2 from=1 to=D\n"
	"6000000000 link_end req=1 hop=1 from=0 to=1\n"
	"6000000000 stage_start req=1 stage=1 node=1 epoch=0\n"
	"6500000000 link_end req=0 hop=2 from=1 to=D\n"
	"6500000000 complete req=0 latency_ns=6500000000\n"
	"6500000000 issue req=2\n"
	"6500000000 send req=2 attempt=1 epoch=0\n"
	"6500000000 link_start req=2 hop=0 from=D to=0\n"
	"8000000000 stage_end req=1 stage=1 node=1\n"
	"8000000000 link_start req=1 hop=2 from=1 to=D\n"
	"8500000000 link_end req=2 hop=0 from=D to=0\n"
	"8500000000 stage_start req=2 stage=0 node=0 epoch=0\n"
	"8500000000 link_end req=1 hop=2 from=1 to=D\n"
	"8500000000 complete req=1 latency_ns=8500000000\n"
	"9500000000 stage_end req=2 stage=0 node=0\n"
	"9500000000 link_start req=2 hop=1 from=0 to=1\n"
	"10500000000 link_end req=2 hop=1 from=0 to=1\n"
	"10500000000 stage_start req=2 stage=1 node=1 epoch=0\n"
	"12500000000 stage_end req=2 stage=1 node=1\n"
	"12500000000 link_start req=2 hop=2 from=1 to=D\n"
	"13000000000 link_end req=2 hop=2 from=1 to=D\n"
	"13000000000 complete req=2 latency_ns=6500000000\n"
	"13000000000 end\n";

/*
 * Scenario 2: the same, with node 1 crashing at 5 s; heartbeats every 1 s, timeout 2 s; retry
 * after 10 s; re-planned by first fit. Up to t=4 as scenario 1 (r0 on node 1 until 6).
 * t=5    The crash (scheduled before anything else) loses r0 in service on node 1; then r1,
 *        done on node 0, is lost sending to the dead node 1.
 * t=7    Last heartbeat at 5 s + 2 s: node 1 declared dead; it is used: first fit on nodes 0
 *        and 2 puts the whole model (15 bytes) on node 0. Node 0 had cuts 0..1, so it needs
 *        the weights: 15 x 8 / 400 = 0.3 s.
 * t=7.3  Epoch 1 live: D->0 (2 s), node 0 for 300/100 = 3 s, 0->D 200/400 = 0.5 s.
 * t=10   r0's and r1's timers (sent at 0): both sent again; r0 on D->0 (to 12), r1 waits.
 * t=12   r0 off, r1 on D->0 (to 14); r0 on node 0 (to 15).
 * t=14   r1 off D->0, waits for node 0.
 * t=15   r0 done, r1 on node 0 (to 18); r0 on 0->D (to 15.5).
 * t=15.5 r0 answered (latency 15.5 s); r2 issued, on D->0 (to 17.5).
 * t=17.5 r2 waits for node 0.   t=18 r1 done, r2 on node 0 (to 21), r1 on 0->D (to 18.5).
 * t=18.5 r1 answered (18.5 s).  t=21 r2 on 0->D (to 21.5).
 * t=21.5 r2 answered (21.5 - 15.5 = 6 s).
 * Recovery: live 7.3 - crash 5 = 2.3 s; 2 attempts lost, 2 requests retried.
 */
static const char golden2[] =
	"0 warmup_end\n"
	"0 issue req=0\n"
	"0 send req=0 attempt=1 epoch=0\n"
	"0 link_start req=0 hop=0 from=D to=0\n"
	"0 issue req=1\n"
	"0 send req=1 attempt=1 epoch=0\n"
	"2000000000 link_end req=0 hop=0 from=D to=0\n"
	"2000000000 link_start req=1 hop=0 from=D to=0\n"
	"2000000000 stage_start req=0 stage=0 node=0 epoch=0\n"
	"3000000000 stage_end req=0 stage=0 node=0\n"
	"3000000000 link_start req=0 hop=1 from=0 to=1\n"
	"4000000000 link_end req=1 hop=0 from=D to=0\n"
	"4000000000 stage_start req=1 stage=0 node=0 epoch=0\n"
	"4000000000 link_end req=0 hop=1 from=0 to=1\n"
	"4000000000 stage_start req=0 stage=1 node=1 epoch=0\n"
	"5000000000 crash node=1\n"
	"5000000000 lost req=0 epoch=0 why=crash\n"
	"5000000000 stage_end req=1 stage=0 node=0\n"
	"5000000000 lost req=1 epoch=0 why=dead_node\n"
	"7000000000 detect node=1 used=yes\n"
	"7000000000 replan epoch=1 model=golden plan=0..2@0 deploy_ns=300000000\n"
	"7300000000 live epoch=1\n"
	"10000000000 timeout req=0\n"
	"10000000000 send req=0 attempt=2 epoch=1\n"
	"10000000000 link_start req=0 hop=0 from=D to=0\n"
	"10000000000 timeout req=1\n"
	"10000000000 send req=1 attempt=2 epoch=1\n"
	"12000000000 link_end req=0 hop=0 from=D to=0\n"
	"12000000000 link_start req=1 hop=0 from=D to=0\n"
	"12000000000 stage_start req=0 stage=0 node=0 epoch=1\n"
	"14000000000 link_end req=1 hop=0 from=D to=0\n"
	"15000000000 stage_end req=0 stage=0 node=0\n"
	"15000000000 stage_start req=1 stage=0 node=0 epoch=1\n"
	"15000000000 link_start req=0 hop=1 from=0 to=D\n"
	"15500000000 link_end req=0 hop=1 from=0 to=D\n"
	"15500000000 complete req=0 latency_ns=15500000000\n"
	"15500000000 issue req=2\n"
	"15500000000 send req=2 attempt=1 epoch=1\n"
	"15500000000 link_start req=2 hop=0 from=D to=0\n"
	"17500000000 link_end req=2 hop=0 from=D to=0\n"
	"18000000000 stage_end req=1 stage=0 node=0\n"
	"18000000000 stage_start req=2 stage=0 node=0 epoch=1\n"
	"18000000000 link_start req=1 hop=1 from=0 to=D\n"
	"18500000000 link_end req=1 hop=1 from=0 to=D\n"
	"18500000000 complete req=1 latency_ns=18500000000\n"
	"21000000000 stage_end req=2 stage=0 node=0\n"
	"21000000000 link_start req=2 hop=1 from=0 to=D\n"
	"21500000000 link_end req=2 hop=1 from=0 to=D\n"
	"21500000000 complete req=2 latency_ns=6000000000\n"
	"21500000000 end\n";

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Equal, or print both texts and the first line where they differ. */
static void compare(const char *what, const char *got, const char *want)
{
	int line = 1;

	if (strcmp(got, want) == 0) {
		printf("%s: the trace matches the hand calculation (%d lines)\n", what,
		       count_lines(want));
		return;
	}
	for (const char *g = got, *w = want; *g && *g == *w; g++, w++)
		line += *g == '\n';
	fprintf(stderr, "%s: the trace differs at line %d\n--- got:\n%s--- expected:\n%s", what,
		line, got, want);
	check_failures++;
}

static const struct sim_report *run(struct fixture *f, const struct plan *plan,
				    struct sim_config *cfg, struct sim_pipeline **sp,
				    char **text)
{
	size_t size = 0;
	FILE *trace = open_memstream(text, &size);
	struct ep_error err;
	int rc;

	cfg->trace = trace;
	rc = sim_pipeline_create(&f->problem, plan, cfg, sp, &err);
	if (!rc)
		rc = sim_pipeline_run(*sp, &err);
	fclose(trace);
	if (rc) {
		fprintf(stderr, "simulation: %s\n", err.msg);
		check_failures++;
		return NULL;
	}
	return sim_pipeline_report(*sp);
}

static void test_golden(void)
{
	struct fixture f;
	struct plan plan;
	struct sim_config cfg;
	struct sim_pipeline *sp = NULL;
	const struct sim_report *r;
	struct sim_failure crash = { 1, 5.0 };
	char *text = NULL;

	if (fixture_init(&f, "golden", 3, flops, params, xfer, 3, speeds, 100, 400, 0,
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
	cfg.retry_timeout_s = 10;
	r = run(&f, &plan, &cfg, &sp, &text);
	if (r) {
		compare("scenario 1", text, golden1);
		/* 3 answers over [0, 13] s; latencies 6.5, 8.5, 6.5 s. */
		CHECK_NEAR(r->throughput, 3.0 / 13, 1e-12);
		CHECK_NEAR(r->latency_mean_s, 21.5 / 3, 1e-12);
		CHECK_NEAR(r->latency_p50_s, 6.5, 1e-12);
		CHECK_NEAR(r->latency_max_s, 8.5, 1e-12);
		/* Requests in the system: 2 until 8.5 s, then 1: (2 x 8.5 + 4.5) / 13 = 21.5 / 13,
		 * which is X W = 3/13 x 21.5/3 (Little). */
		CHECK_NEAR(r->mean_in_system, 21.5 / 13, 1e-12);
		/* Node 0 busy 3 x 1 s, node 1 3 x 2 s, link D->0 3 x 2 s. Requests at link D->0
		 * (waiting or crossing): 2 from 0 to 2 s, 1 from 2 to 4 s, 1 from 6.5 to 8.5 s. */
		CHECK_NEAR(r->nodes[0].utilisation, 3.0 / 13, 1e-12);
		CHECK_NEAR(r->nodes[1].utilisation, 6.0 / 13, 1e-12);
		CHECK_INT(r->links[0].from, 3);
		CHECK_INT(r->links[0].to, 0);
		CHECK_NEAR(r->links[0].utilisation, 6.0 / 13, 1e-12);
		CHECK_NEAR(r->links[0].mean_queue, (2 * 2 + 2 * 1 + 2 * 1) / 13.0, 1e-12);
		CHECK_INT(r->links[0].max_queue, 2);
		CHECK_INT(r->retries, 0);
		CHECK_INT(r->lost, 0);
		/* Series of 1 s bins: answers in bins 6, 8 and 13. */
		CHECK_INT(r->n_bins, 14);
		if (r->n_bins == 14)
			CHECK(r->series[6] == 1 && r->series[8] == 1 && r->series[13] == 1);
	}
	sim_pipeline_destroy(sp);
	free(text);
	sp = NULL;
	text = NULL;

	cfg = sim_config_default(&f.problem);
	cfg.window = 2;
	cfg.requests = 3;
	cfg.failures = &crash;
	cfg.n_failures = 1;
	cfg.heartbeat_period_s = 1;
	cfg.heartbeat_timeout_s = 2;
	cfg.retry_timeout_s = 10;
	cfg.algo = &algo_firstfit;
	r = run(&f, &plan, &cfg, &sp, &text);
	if (r) {
		compare("scenario 2 (crash)", text, golden2);
		CHECK_INT(r->completed, 3);
		CHECK_INT(r->lost, 2);
		CHECK_INT(r->retries, 2);
		CHECK_INT(r->requests_retried, 2);
		CHECK_INT(r->duplicates, 0);
		CHECK_INT(r->n_incidents, 1);
		if (r->n_incidents == 1) {
			CHECK_NEAR(r->incidents[0].detected_s, 7.0, 1e-12);
			CHECK_NEAR(r->incidents[0].deploy_s, 0.3, 1e-12);
			CHECK_NEAR(r->incidents[0].live_s, 7.3, 1e-12);
			CHECK_NEAR(r->incidents[0].recovery_s, 2.3, 1e-12);
			/* plan_cost of the new plan: node 0's 3 s compute. */
			CHECK_NEAR(r->incidents[0].bottleneck_s, 3.0, 1e-12);
		}
		CHECK_NEAR(r->latency_mean_s, (15.5 + 18.5 + 6.0) / 3, 1e-12);
		CHECK_INT(r->final_plan->n_stages, 1);
	}
	sim_pipeline_destroy(sp);
	free(text);

	/* Same seed, same trace: a stochastic run twice. */
	{
		char *a = NULL, *b = NULL;

		for (int i = 0; i < 2; i++) {
			cfg = sim_config_default(&f.problem);
			cfg.arrival = SIM_POISSON;
			cfg.rate = 0.2;
			cfg.requests = 200;
			cfg.service = SIM_DIST_LOGNORMAL;
			cfg.service_cv = 0.5;
			cfg.transfer = SIM_DIST_EXP;
			cfg.shared_medium = true;
			cfg.mtbf_s = 500;
			cfg.algo = &algo_firstfit;
			cfg.seed = 77;
			sp = NULL;
			r = run(&f, &plan, &cfg, &sp, i ? &b : &a);
			sim_pipeline_destroy(sp);
		}
		CHECK(a && b && strlen(a) > 1000 && strcmp(a, b) == 0);
		free(a);
		free(b);
	}
	plan_release(&plan);
	fixture_release(&f);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	test_golden();
	return check_exit();
}
