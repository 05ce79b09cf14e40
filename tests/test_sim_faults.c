/*
 * The timeline's faults in the simulator (sim_pipeline.h, "Faults of the timeline"), each on a
 * 3-node instance small enough to follow by hand, with every completion time derived below.
 *
 * The instance: 3 cut points, two segments of 1 GFLOP each, 125000-byte (1 Mbit) tensors at
 * every cut, nodes of 1 GFLOP/s and 15 bytes of memory (one segment of 10 parameter bytes
 * each), links of 1 Mbit/s and no latency. The plan: stage 0 (cuts 0..1) on node 0, stage 1
 * (cuts 1..2) on node 1. Compute on, dispatcher hops off, deterministic, closed loop of
 * window 1: a request takes stage 0 for 1 s, the hop 0 -> 1 for 1 s (1 Mbit / 1 Mbit/s), stage
 * 1 for 1 s; without faults request i completes at 3 (i + 1) s. Heartbeats every 1 s, timeout
 * 3 s (the defaults).
 */
#include "check.h"
#include "sim_fixture.h"
#include "sim_pipeline.h"

#define MAX_DONE 8

struct run {
	double done_s[MAX_DONE];
	int n;
};

static void on_complete(void *ctx, int64_t request, int64_t issue_ns, int64_t done_ns)
{
	struct run *r = ctx;

	(void)issue_ns;
	if (request < MAX_DONE)
		r->done_s[request] = (double)done_ns / 1e9;
	r->n++;
}

/* The last run's pipeline: its report points into it (kept until the next run). */
static struct sim_pipeline *last;

/* Run `requests` requests with `spec` on the timeline (NULL: none); copy the report. */
static int run(struct fixture *f, const char *spec, int requests, struct run *out,
	       struct sim_report *rep)
{
	struct timeline_fault fault;
	struct sim_config cfg = sim_config_default_terms(true, false);
	struct sim_pipeline *sp = NULL;
	struct plan plan;
	struct ep_error err;
	int rc;

	memset(out, 0, sizeof(*out));
	sim_pipeline_destroy(last);
	last = NULL;
	plan_init(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 2, 1);
	if (spec && (rc = timeline_fault_parse(spec, 3, &fault, &err))) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	cfg.requests = requests;
	cfg.window = 1;
	cfg.algo = &algo_firstfit;
	cfg.faults = spec ? &fault : NULL;
	cfg.n_faults = spec ? 1 : 0;
	cfg.on_complete = on_complete;
	cfg.on_complete_ctx = out;
	rc = sim_pipeline_create(&f->problem, &plan, &cfg, &sp, &err);
	if (!rc)
		rc = sim_pipeline_run(sp, &err);
	if (rc)
		fprintf(stderr, "'%s': %s\n", spec ? spec : "", err.msg);
	else
		*rep = *sim_pipeline_report(sp);
out:
	if (rc)
		sim_pipeline_destroy(sp);
	else
		last = sp;
	plan_release(&plan);
	return rc;
}

/* Nothing lost, nothing resent, every attempt answered (the emulator promises the same). */
static void check_clean(const struct sim_report *r, int requests)
{
	CHECK_INT(r->completed, requests);
	CHECK_INT(r->lost, 0);
	CHECK_INT(r->retries, 0);
	CHECK_INT(r->duplicates, 0);
	CHECK_INT(r->issued + r->retries, r->completed + r->duplicates + r->lost + r->in_flight +
						  r->waiting);
}

int main(void)
{
	static const double flops[] = { 0, 1e9, 2e9 }, params[] = { 0, 10, 20 };
	static const double xfer[] = { 125000, 125000, 125000 }, speeds[] = { 1e9, 1e9, 1e9 };
	struct fixture f;
	struct sim_report r;
	struct run x;
	struct ep_error err;
	struct timeline_fault bad;
	struct sim_config cfg;
	struct sim_pipeline *sp = NULL;
	struct plan plan;

	if (fixture_init(&f, "three", 3, flops, params, xfer, 3, speeds, 15, 1e6, 0,
			 PROBLEM_OPTIONS_FULL))
		return 1;

	/* No fault: 3, 6, 9 s. */
	if (!run(&f, NULL, 3, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 3, 1e-9);
		CHECK_NEAR(x.done_s[2], 9, 1e-9);
		check_clean(&r, 3);
	}
	/* Stall: request 0 is at node 1 from 2 s to 3 s; stalled at 2.5 s for 1 s, it holds the
	 * work and ends at 4 s; request 1 then runs 4 -> 7 s, request 2 7 -> 10 s. */
	if (!run(&f, "stall node1 at 2.5s for 1s", 3, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 4, 1e-9);
		CHECK_NEAR(x.done_s[1], 7, 1e-9);
		CHECK_NEAR(x.done_s[2], 10, 1e-9);
		check_clean(&r, 3);
	}
	/* A stall of an idle node delays the next start: node 0 is idle from 1 s to 3 s; stalled
	 * at 2.5 s until 3.2 s, request 1 (issued at 3 s) starts at 3.2 s and ends at 6.2 s. */
	if (!run(&f, "stall stage0 at 2.5s for 0.7s", 2, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 3, 1e-9);
		CHECK_NEAR(x.done_s[1], 6.2, 1e-9);
		check_clean(&r, 2);
	}
	/* A cut of 0 -> 1 from 1.5 s to 2 s, while request 0 crosses it (1 s to 2 s): TCP resends
	 * at 1.5 + 0.2 = 1.7 s (still cut), then 1.7 + 0.4 = 2.1 s: the transfer goes on then, its
	 * 0.5 s left end at 2.6 s; stage 1 runs 2.6 -> 3.6 s. Request 1: 3.6 -> 6.6 s. */
	if (!run(&f, "link node0 node1 down at 1.5s for 0.5s", 2, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 3.6, 1e-9);
		CHECK_NEAR(x.done_s[1], 6.6, 1e-9);
		check_clean(&r, 2);
	}
	/* A transfer that starts during a cut: the cut from 0.5 s to 1.1 s; request 0's hop tries
	 * at 1 s, TCP resends at 1.2 s (>= 1.1 s): the hop runs 1.2 -> 2.2 s, stage 1 to 3.2 s. */
	if (!run(&f, "link node1 node0 down at 0.5s for 0.6s", 1, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 3.2, 1e-9);
		check_clean(&r, 1);
	}
	/* Bandwidth: 2 Mbit/s from 0.5 s for 1 s. Request 0's hop starts at 1 s, inside: 0.5 s,
	 * so it completes at 2.5 s. Request 1's hop starts at 3.5 s, after: 1 s again; it
	 * completes at 2.5 + 3 = 5.5 s. */
	if (!run(&f, "bandwidth node0 node1 2Mbit at 0.5s for 1s", 2, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 2.5, 1e-9);
		CHECK_NEAR(x.done_s[1], 5.5, 1e-9);
		check_clean(&r, 2);
	}
	/* A change under way does not touch the transfer under way: from 1.5 s, request 0's hop
	 * (1 s to 2 s) keeps its rate; request 1's hop (4 s) takes 0.5 s: 3 + 2.5 = 5.5 s. */
	if (!run(&f, "bandwidth node0 node1 2Mbit at 1.5s", 2, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 3, 1e-9);
		CHECK_NEAR(x.done_s[1], 5.5, 1e-9);
		check_clean(&r, 2);
	}
	/* Loss 5 % on 0 <-> 1 with 50 ms latency each way: RTT 0.1 s, Mathis' bound
	 * 1448 x 8 / (0.1 sqrt(0.1 / 3)) = 634 482 bit/s, below the 1 Mbit/s; the hop takes
	 * 1e6 / that + 0.05 s latency + 0.05 x 0.2 s (a lost last segment's timeout). Request 0:
	 * 1 s + hop + 1 s. */
	fixture_set_link(&f, 0, 1, 1e6, 0.05);
	fixture_set_link(&f, 1, 0, 1e6, 0.05);
	if (!run(&f, "loss node0 node1 5% at 0s", 1, &x, &r)) {
		double rate = 1448.0 * 8 / (0.1 * sqrt(0.1 / 3));

		CHECK_NEAR(rate, 634481.8, 1e-6);
		CHECK_NEAR(x.done_s[0], 2 + 1e6 / rate + 0.05 + 0.01, 1e-9);
		check_clean(&r, 1);
	}
	/* 1 % on the same link: the bound, 1 418 740 bit/s, is above the bandwidth: only the
	 * timeout term, 0.01 x 0.2 s: 1 + 1.05 + 0.002 + 1 s. */
	if (!run(&f, "loss node1 1% at 0s", 1, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 3.052, 1e-9);
		check_clean(&r, 1);
	}
	fixture_set_link(&f, 0, 1, 1e6, 0);
	fixture_set_link(&f, 1, 0, 1e6, 0);

	/* Kill by stage: stage 1 is node 1 when the fault fires at 4.5 s; its last heartbeat was
	 * at 4 s, so it is declared dead at 4 + 3 = 7 s. The re-plan puts stage 1 on node 2
	 * (firstfit: node 0 takes segment 0, node 1 is dead, node 2 takes segment 1). Request 1
	 * (issued at 3 s, at node 1 from 5 s) is lost and resent; 2 requests are answered. */
	if (!run(&f, "kill stage1 at 4.5s", 2, &x, &r)) {
		CHECK_INT(r.n_incidents, 1);
		if (r.n_incidents == 1) {
			CHECK_INT(r.incidents[0].node, 1);
			CHECK_NEAR(r.incidents[0].at_s, 4.5, 1e-9);
			CHECK_NEAR(r.incidents[0].detected_s, 7, 1e-9);
		}
		CHECK_INT(r.final_plan->stages[1].node, 2);
		CHECK_INT(r.completed, 2);
		CHECK_INT(r.lost, 1);
		CHECK_INT(r.issued + r.retries, r.completed + r.duplicates + r.lost + r.in_flight +
							r.waiting);
	}
	/* A stall as long as the heartbeat timeout, an open cut: refused, not half modelled. */
	plan_init(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 2, 1);
	cfg = sim_config_default_terms(true, false);
	cfg.faults = &bad;
	cfg.n_faults = 1;
	CHECK_INT(timeline_fault_parse("stall node1 at 1s for 3s", 3, &bad, &err), EP_OK);
	CHECK_INT(sim_pipeline_create(&f.problem, &plan, &cfg, &sp, &err), EP_EINVAL);
	CHECK(strstr(err.msg, "heartbeat timeout") != NULL);
	CHECK_INT(timeline_fault_parse("link node0 node1 down at 1s", 3, &bad, &err), EP_OK);
	CHECK_INT(sim_pipeline_create(&f.problem, &plan, &cfg, &sp, &err), EP_EINVAL);
	CHECK(strstr(err.msg, "no end") != NULL);
	plan_release(&plan);
	sim_pipeline_destroy(last);
	fixture_release(&f);
	return check_exit();
}
