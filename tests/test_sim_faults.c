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

#define MAX_FAULTS 4

/* Heartbeat period of the next run (the default, 1 s, unless a case sets it). */
static double period_s = 1;

/* Run `requests` requests with the specs of `spec` (separated by ';', folded by
 * timeline_resolve; NULL: none) on the timeline; copy the report. */
static int run(struct fixture *f, const char *spec, int requests, struct run *out,
	       struct sim_report *rep)
{
	struct timeline_fault faults[MAX_FAULTS];
	struct sim_config cfg = sim_config_default_terms(true, false);
	struct sim_pipeline *sp = NULL;
	struct plan plan;
	struct ep_error err;
	int rc = EP_OK, n = 0, n_upd = 0;

	memset(out, 0, sizeof(*out));
	sim_pipeline_destroy(last);
	last = NULL;
	plan_init(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 2, 1);
	for (const char *p = spec; p && *p && !rc && n < MAX_FAULTS; n++) {
		const char *e = strchr(p, ';');
		char one[128];

		snprintf(one, sizeof(one), "%.*s", e ? (int)(e - p) : (int)strlen(p), p);
		rc = timeline_fault_parse(one, 3, &faults[n], &err);
		p = e ? e + 1 : NULL;
	}
	if (!rc)
		rc = timeline_resolve(faults, &n, NULL, 0, &n_upd, &err);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	cfg.requests = requests;
	cfg.window = 1;
	cfg.algo = &algo_firstfit;
	cfg.heartbeat_period_s = period_s;
	cfg.faults = n ? faults : NULL;
	cfg.n_faults = n;
	cfg.trace = getenv("TRACE") ? stderr : NULL;
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

/* Every attempt accounted for, every request answered (the emulator loses none either). */
static void check_books(const struct sim_report *r, int requests)
{
	CHECK_INT(r->issued, requests);
	CHECK_INT(r->completed, requests);
	CHECK_INT(r->incomplete, 0);
	CHECK_INT(r->issued + r->retries, r->completed + r->duplicates + r->lost + r->in_flight +
						  r->waiting);
}

static void check_incident(const struct sim_report *r, int i, enum sim_incident_kind kind,
			   int node, int peer, double at_s, double detected_s, double live_s,
			   double back_s)
{
	const struct sim_incident *in;

	if (i >= r->n_incidents) {
		CHECK_INT(r->n_incidents, i + 1);
		return;
	}
	in = &r->incidents[i];
	CHECK_INT(in->kind, kind);
	CHECK_INT(in->node, node);
	CHECK_INT(in->peer, peer);
	CHECK(in->fault >= 0);
	CHECK_NEAR(in->at_s, at_s, 1e-9);
	CHECK_NEAR(in->detected_s, detected_s, 1e-9);
	CHECK_NEAR(in->detection_s, detected_s - at_s, 1e-9);
	CHECK_NEAR(in->live_s, live_s, 1e-9);
	CHECK_NEAR(in->recovery_s, live_s < 0 ? -1 : live_s - at_s, 1e-9);
	CHECK_NEAR(in->back_s, back_s, 1e-9);
	CHECK(in->reason[0] == '\0');
}

/*
 * Stalls and cuts the dispatcher detects, with the emulator's semantics (sim_pipeline.h).
 * W = 8e-5 s is a redeployment's weight transfer: 10 bytes = 80 bit over the dispatcher's
 * 1 Mbit/s links, in parallel, to the nodes that did not run the same stage in the deployment
 * torn down (they keep their weights). firstfit places segment 0 on the first node left and segment
 * 1 on the next (15 bytes hold one 10-byte segment). The retry timeout is 4 s (the default).
 */
static void long_faults(struct fixture *f)
{
	const double w = 8e-5;
	struct sim_report r;
	struct run x;

	/* A stall longer than the heartbeat timeout. Node 1's last heartbeat left at 2 s; at
	 * 2 + 3 = 5 s it is still stalled (to 7.5 s): declared dead, deployment 0 torn down:
	 * request 0, held at node 1 since 2.5 s, is lost. Re-planned on nodes 0 and 2: live at
	 * 5 + W. Request 0 is resent at max(0 + 4, 5) = 5 s, waits, goes at 5 + W and is
	 * answered 3 s later; request 1 3 s after that. Node 1 heartbeats again at 7.5 s (its
	 * heartbeater resumes and sends at once) and is a node for the next re-plan; the plan
	 * stays. */
	if (!run(f, "stall node1 at 2.5s for 5s", 2, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 5 + w + 3, 1e-9);
		CHECK_NEAR(x.done_s[1], 5 + w + 6, 1e-9);
		check_incident(&r, 0, SIM_INCIDENT_STALL, 1, -1, 2.5, 5, 5 + w, 7.5);
		CHECK_INT(r.n_incidents > 0 ? r.incidents[0].resent : -1, 1); /* request 0 */
		CHECK_INT(r.final_plan->stages[1].node, 2);
		CHECK_INT(r.lost, 1);
		CHECK_INT(r.retries, 1);
		CHECK_INT(r.duplicates, 0);
		check_books(&r, 2);
	}
	/* A stall shorter than the timeout is detected too when the heartbeats stop for longer
	 * than it: node 1 stalled at 2.9 s for 2.5 s (to 5.4 s) sent its last heartbeat at 2 s,
	 * and at 5 s none has come: declared dead, as above (the stall's own length is not the
	 * rule: the heartbeats' silence is). Request 0 is again lost at node 1 and answered at
	 * 5 + W + 3 s. */
	if (!run(f, "stall node1 at 2.9s for 2.5s", 1, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 5 + w + 3, 1e-9);
		check_incident(&r, 0, SIM_INCIDENT_STALL, 1, -1, 2.9, 5, 5 + w, 5.4);
		CHECK_INT(r.lost, 1);
		check_books(&r, 1);
	}
	/* ... but not one that ends before: to 4.9 s, node 1 heartbeats at 4.9 s, before the
	 * check at 5 s: request 0 is held (0.1 s of its stage left at 2.9 s) and ends at 5 s. */
	if (!run(f, "stall node1 at 2.9s for 2s", 1, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 5, 1e-9);
		CHECK_INT(r.n_incidents, 0);
		check_clean(&r, 1);
	}
	/* A long cut between nodes 0 and 1 while request 0 crosses it (1 s to 2 s), to 6.5 s.
	 * Heartbeats go on (the nodes reach the dispatcher); node 0's send is found STUCK at
	 * 1.5 + max(3 s timeout, 0.2 + 0.4 + 0.8 s of retransmissions) = 4.5 s: the pair is
	 * marked cut, deployment 0 torn down (request 0 lost), and the re-plan sees the pair at
	 * 1 bit/s; firstfit still puts segment 1 on node 1, across the cut, so node 1 (the
	 * receiver) is left out: 0..1@0, 1..2@2, live at 4.5 + W. Request 0 is resent at
	 * max(4, 4.5) s and answered at 4.5 + W + 3 s. */
	if (!run(f, "link node0 node1 down at 1.5s for 5s", 2, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 4.5 + w + 3, 1e-9);
		CHECK_NEAR(x.done_s[1], 4.5 + w + 6, 1e-9);
		check_incident(&r, 0, SIM_INCIDENT_CUT, 0, 1, 1.5, 4.5, 4.5 + w, -1);
		CHECK_INT(r.n_incidents > 0 ? r.incidents[0].resent : -1, 1);
		CHECK_INT(r.final_plan->stages[0].node, 0);
		CHECK_INT(r.final_plan->stages[1].node, 2);
		CHECK_INT(r.lost, 1);
		CHECK_INT(r.retries, 1);
		check_books(&r, 2);
	}
	/* The same cut with no end: the same times (the transfer held behind it is torn down
	 * with its deployment, not left waiting forever). */
	if (!run(f, "link node1 node0 down at 1.5s", 2, &x, &r)) {
		CHECK_NEAR(x.done_s[1], 4.5 + w + 6, 1e-9);
		check_incident(&r, 0, SIM_INCIDENT_CUT, 0, 1, 1.5, 4.5, 4.5 + w, -1);
		check_books(&r, 2);
	}
	/* A cut, then 'up' before the STUCK check (4 s < 4.5 s): not detected. TCP retries at
	 * 1.7, 2.1, 2.9 and 4.5 s (0.2 s, doubled): the hop's 0.5 s left run 4.5 -> 5 s, stage
	 * 1 5 -> 6 s. */
	if (!run(f, "link node0 node1 down at 1.5s; link node0 node1 up at 4s", 1, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 6, 1e-9);
		CHECK_INT(r.n_incidents, 0);
		check_clean(&r, 1);
	}
	/* A cut then up after the detection (6 s): as the long cut; the link coming back
	 * changes nothing (the emulator keeps the pair marked cut for the run's re-plans). */
	if (!run(f, "link node0 node1 down at 1.5s; link node0 node1 up at 6s", 2, &x, &r)) {
		CHECK_NEAR(x.done_s[1], 4.5 + w + 6, 1e-9);
		check_incident(&r, 0, SIM_INCIDENT_CUT, 0, 1, 1.5, 4.5, 4.5 + w, -1);
		CHECK_INT(r.final_plan->stages[1].node, 2);
		check_books(&r, 2);
	}
	/* A cut between node 1 and the dispatcher stops node 1's heartbeats. Heartbeats every
	 * 0.4 s: cut at 5.5 s to 8.5 s, the last one passed at 5.2 s, so node 1 is declared dead
	 * at 5.2 + 3 = 8.2 s (the first heartbeat after the cut, at 8.8 s, is later). Requests 0
	 * and 1 were answered at 3 and 6 s (dispatcher hops take no time here); request 2 is at
	 * node 1 from 8 s: lost at 8.2 s. Re-planned on nodes 0 and 2, live at 8.2 + W; request
	 * 2 is resent at 6 + 4 = 10 s, answered at 13 s. Node 1 is back at 8.8 s. */
	period_s = 0.4;
	if (!run(f, "link node1 dispatcher down at 5.5s for 3s", 3, &x, &r)) {
		CHECK_NEAR(x.done_s[1], 6, 1e-9);
		CHECK_NEAR(x.done_s[2], 13, 1e-9);
		check_incident(&r, 0, SIM_INCIDENT_CUT, 1, 3, 5.5, 8.2, 8.2 + w, 8.8);
		CHECK_INT(r.n_incidents > 0 ? r.incidents[0].resent : -1, 1); /* request 2 */
		CHECK_INT(r.lost, 1);
		check_books(&r, 3);
	}
	/* One that ends by 7.9 s: its first heartbeat after, at 8 s, is not later than the check
	 * (5.2 + 3 s < 8 s? no: 8.2 s): not declared; nothing lost. */
	if (!run(f, "link node1 dispatcher down at 5.5s for 2.4s", 3, &x, &r)) {
		CHECK_NEAR(x.done_s[2], 9, 1e-9);
		CHECK_INT(r.n_incidents, 0);
		check_clean(&r, 3);
	}
	period_s = 1;
	/* A node that comes back is re-planned with when no plan is left without it: nodes 1
	 * and 2 stall at 2.5 s (to 7.5 s and 12.5 s), both are declared dead at 5 s (last
	 * heartbeats at 2 s), node 1 first (its fault is listed first): the re-plan on nodes 0
	 * and 2 is dropped at once when node 2 goes too, and on node 0 alone there is no plan
	 * (one node holds one segment). The dispatcher waits; node 1 heartbeats at 7.5 s, the
	 * re-plan on nodes 0 and 1 is the first plan again (both nodes keep their weights: no
	 * transfer) and goes live at 7.5 s; request 0 (lost at node 1, resent at 5 s, waiting)
	 * is answered at 7.5 + 3 s. */
	if (!run(f, "stall node1 at 2.5s for 5s; stall node2 at 2.5s for 10s", 1, &x, &r)) {
		CHECK_NEAR(x.done_s[0], 7.5 + 3, 1e-9);
		check_incident(&r, 0, SIM_INCIDENT_STALL, 1, -1, 2.5, 5, 7.5, 7.5);
		check_incident(&r, 1, SIM_INCIDENT_STALL, 2, -1, 2.5, 5, 7.5, -1);
		/* request 0 counts for node 1's; at node 2's its attempt is gone already */
		CHECK_INT(r.n_incidents > 0 ? r.incidents[0].resent : -1, 1);
		CHECK_INT(r.n_incidents > 1 ? r.incidents[1].resent : -1, 0);
		CHECK_INT(r.final_plan->stages[1].node, 1);
		CHECK(!r.no_plan);
		check_books(&r, 1);
	}
	/* With no node to come back, the run stops without a plan: node 2 killed at 0.5 s, node
	 * 1 cut from the dispatcher for good at 2.5 s (heartbeats every 0.4 s: the last at 2.4
	 * s, declared dead at 5.4 s). Request 0 was answered at 3 s; request 1, at node 1 from
	 * 5 s, is lost at 5.4 s, and on node 0 alone there is no plan. */
	period_s = 0.4;
	if (!run(f, "kill node2 at 0.5s; link node1 dispatcher down at 2.5s", 2, &x, &r)) {
		CHECK(r.no_plan);
		CHECK_INT(r.completed, 1);
		CHECK_INT(r.incomplete, 1);
		CHECK_INT(r.n_incidents, 2);
		if (r.n_incidents == 2) {
			CHECK_NEAR(r.incidents[1].detected_s, 5.4, 1e-9);
			CHECK_NEAR(r.incidents[1].back_s, -1, 1e-9);
			CHECK(r.incidents[1].reason[0] != '\0');
		}
	}
	period_s = 1;
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
		CHECK_INT(r.n_incidents > 0 ? r.incidents[0].resent : -1, 1); /* request 1, in deployment 0 */
		CHECK_INT(r.issued + r.retries, r.completed + r.duplicates + r.lost + r.in_flight +
							r.waiting);
	}
	long_faults(&f);
	/* Link faults with a shared medium: refused, not half modelled. */
	plan_init(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 2, 1);
	cfg = sim_config_default_terms(true, false);
	cfg.faults = &bad;
	cfg.n_faults = 1;
	cfg.shared_medium = true;
	CHECK_INT(timeline_fault_parse("link node0 node1 down at 1s", 3, &bad, &err), EP_OK);
	CHECK_INT(sim_pipeline_create(&f.problem, &plan, &cfg, &sp, &err), EP_EINVAL);
	CHECK(strstr(err.msg, "shared medium") != NULL);
	plan_release(&plan);
	sim_pipeline_destroy(last);
	fixture_release(&f);
	return check_exit();
}
