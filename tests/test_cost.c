/*
 * Plans and the one cost function, on a problem built by hand: every expected number below is
 * computed in the comments from the hand-chosen profile and cluster.
 */
#include <gsl/gsl_errno.h>
#include <igraph.h>
#include <stdlib.h>

#include "check.h"
#include "plan.h"
#include "problem.h"

/*
 * 4 cut points: cumulative memory 1, 11, 31, 36 bytes; cumulative FLOPs 0, 100, 350, 400;
 * transfers 1000, 500, 250, 10 bytes (8000, 4000, 2000, 80 bits).
 * 3 nodes (+ dispatcher 3): speeds 50, 100, 50 FLOP/s; memory 30, 20, 10 bytes; latency 1 ms.
 */
static struct model_cut_profile cuts[4];
static struct model_profile profile = { .model = "hand", .n_cuts = 4, .cuts = cuts };
static double mem[3] = { 30, 20, 10 }, speed[3] = { 50, 100, 50 };
static double bw[16], lat[16];
static struct cluster cl = { 3, mem, speed, bw, lat, NULL, NULL, NULL };

static void setup(void)
{
	static const double cum_mem[4] = { 1, 11, 31, 36 }, cum_flops[4] = { 0, 100, 350, 400 };
	static const double transfer[4] = { 1000, 500, 250, 10 };

	for (int k = 0; k < 4; k++) {
		cuts[k].cum_mem_bytes = cum_mem[k];
		cuts[k].cum_flops = (int64_t)cum_flops[k];
		cuts[k].transfer_bytes = transfer[k];
	}
	for (int i = 0; i < 16; i++) {
		bw[i] = 1000;
		lat[i] = (i % 5) ? 1e-3 : 0; /* diagonal (i = 0, 5, 10, 15) unused */
	}
	bw[3 * 4 + 2] = 100; /* dispatcher -> node 2 */
	bw[2 * 4 + 0] = 400; /* node 2 -> node 0 */
	bw[0 * 4 + 3] = 80;  /* node 0 -> dispatcher */
}

static void test_cost_terms(void)
{
	struct problem p;
	struct plan plan;
	struct plan_cost cost;
	struct ep_error err;
	double stage_s[2], hop_s[3];
	struct problem_options full = PROBLEM_OPTIONS_FULL, pub = PROBLEM_OPTIONS_PUBLISHED;

	CHECK_INT(problem_init(&p, &profile, &cl, &full, &err), EP_OK);
	plan_init(&plan);
	/* Stage 0: after cut 0 through cut 1 on node 2 (10 bytes, 100 FLOPs);
	 * stage 1: after cut 1 through cut 3 on node 0 (25 bytes, 300 FLOPs). */
	plan_push(&plan, 0, 1, 2);
	plan_push(&plan, 1, 3, 0);
	CHECK_INT(plan_check(&p, &plan, NULL, &err), EP_OK);
	plan_cost(&p, &plan, &cost, stage_s, hop_s);
	CHECK_NEAR(stage_s[0], 100.0 / 50, 1e-12);  /* 2 s */
	CHECK_NEAR(stage_s[1], 300.0 / 50, 1e-12);  /* 6 s */
	CHECK_NEAR(hop_s[0], 8000.0 / 100 + 1e-3, 1e-12); /* dispatcher -> 2: 80.001 s */
	CHECK_NEAR(hop_s[1], 4000.0 / 400 + 1e-3, 1e-12); /* 2 -> 0: 10.001 s */
	CHECK_NEAR(hop_s[2], 80.0 / 80 + 1e-3, 1e-12);    /* 0 -> dispatcher: 1.001 s */
	/* Full metric: the dispatcher hop into stage 0 is the bottleneck. */
	CHECK_NEAR(cost.bottleneck_s, 80.001, 1e-12);
	CHECK_INT(cost.where, COST_TERM_HOP);
	CHECK_INT(cost.index, 0);
	CHECK_NEAR(cost.throughput, 1 / 80.001, 1e-12);
	CHECK_NEAR(cost.sum_transfer_bits, 4000, 1e-12);
	CHECK_NEAR(cost.max_compute_s, 6, 1e-12);
	problem_release(&p);

	/* Published metric: only the hop between the stages counts. */
	CHECK_INT(problem_init(&p, &profile, &cl, &pub, &err), EP_OK);
	plan_cost(&p, &plan, &cost, NULL, NULL);
	CHECK_NEAR(cost.bottleneck_s, 10.001, 1e-12);
	CHECK_INT(cost.index, 1);
	problem_release(&p);

	/* Full metric with a slow node 0 (10 FLOP/s): stage 1's compute, 300 / 10 = 30 s, still
	 * below the dispatcher hop; with that hop at 10000 bit/s (0.801 s) compute wins. */
	speed[0] = 10;
	bw[3 * 4 + 2] = 10000;
	CHECK_INT(problem_init(&p, &profile, &cl, &full, &err), EP_OK);
	plan_cost(&p, &plan, &cost, NULL, NULL);
	CHECK_NEAR(cost.bottleneck_s, 30, 1e-12);
	CHECK_INT(cost.where, COST_TERM_COMPUTE);
	CHECK_INT(cost.index, 1);
	problem_release(&p);
	speed[0] = 50;
	bw[3 * 4 + 2] = 100;

	/* One stage under the published metric: no hop counts, bottleneck 0, throughput inf.
	 * (The 35 bytes do not fit node 1's 20, so this plan is over memory; its cost is still
	 * defined.) */
	CHECK_INT(problem_init(&p, &profile, &cl, &pub, &err), EP_OK);
	plan_clear(&plan);
	plan_push(&plan, 0, 3, 1);
	plan_cost(&p, &plan, &cost, NULL, NULL);
	CHECK_NEAR(cost.bottleneck_s, 0, 0);
	CHECK(isinf(cost.throughput));
	CHECK_INT(cost.where, COST_TERM_NONE);
	problem_release(&p);
	plan_release(&plan);
}

static void test_check(void)
{
	struct problem p;
	struct plan plan;
	struct plan_defects d;
	struct ep_error err;
	struct problem_options full = PROBLEM_OPTIONS_FULL, pub = PROBLEM_OPTIONS_PUBLISHED;

	CHECK_INT(problem_init(&p, &profile, &cl, &full, &err), EP_OK);
	plan_init(&plan);

	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_EINVAL); /* no stages */
	CHECK(d.structural);

	/* A gap: stage 1 starts after cut 2 but stage 0 ends with cut 1 (D1's shape). */
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 2, 3, 1);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_EINVAL);
	CHECK_INT(d.gaps, 1);
	CHECK(!d.structural);
	CHECK_CONTAINS(err.msg, "no stage");

	/* Over memory: cuts 1..3 hold 25 bytes, node 2 has 10. */
	plan_clear(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 3, 2);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_EINVAL);
	CHECK_INT(d.over_memory, 1);
	CHECK_CONTAINS(err.msg, "node 2");

	/* Repeated node. */
	plan_clear(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 2, 0);
	plan_push(&plan, 2, 3, 1);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_EINVAL);
	CHECK_INT(d.repeated_nodes, 1);

	/* Not ending at the output; node out of range; a stage ending before it starts. */
	plan_clear(&plan);
	plan_push(&plan, 0, 2, 0);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_EINVAL);
	CHECK(d.structural);
	plan_clear(&plan);
	plan_push(&plan, 0, 3, 7);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_EINVAL);
	CHECK(d.structural);
	plan_clear(&plan);
	plan_push(&plan, 0, 2, 0);
	plan_push(&plan, 2, 1, 1);
	plan_push(&plan, 1, 3, 2);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_EINVAL); /* reversed: ends before it starts */
	CHECK(d.structural);

	/* An empty stage (the published DP's memory-0 piece): a defect, not unusable. */
	plan_clear(&plan);
	plan_push(&plan, 0, 0, 0);
	plan_push(&plan, 0, 3, 1);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_EINVAL);
	CHECK(!d.structural);
	CHECK_INT(d.empty_stages, 1);
	CHECK_CONTAINS(err.msg, "computes nothing");

	/* Memory exactly at capacity: cuts 0..1 hold 10 bytes, node 2 has 10. Allowed by the
	 * full options (<=), refused by the published strict test (<). */
	plan_clear(&plan);
	plan_push(&plan, 0, 1, 2);
	plan_push(&plan, 1, 2, 0);
	plan_push(&plan, 2, 3, 1);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_OK);
	problem_release(&p);
	CHECK_INT(problem_init(&p, &profile, &cl, &pub, &err), EP_OK);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_EINVAL);
	CHECK_INT(d.over_memory, 1);

	/* problem_max_end on node 0 (30 bytes). Strict: from cut 0, (0,1] holds 10 and (0,2] 30,
	 * not < 30: 1; from cut 1, (1,3] holds 25 < 30: 3. On node 2 (10 bytes) from cut 0:
	 * (0,1] holds 10, not < 10: none, so 0. Not strict: (0,2] = 30 <= 30: 2; node 2: 1. */
	CHECK_INT(problem_max_end(&p, 0, 0), 1);
	CHECK_INT(problem_max_end(&p, 1, 0), 3);
	CHECK_INT(problem_max_end(&p, 0, 2), 0);
	problem_release(&p);
	CHECK_INT(problem_init(&p, &profile, &cl, &full, &err), EP_OK);
	CHECK_INT(problem_max_end(&p, 0, 0), 2);
	CHECK_INT(problem_max_end(&p, 0, 2), 1);
	problem_release(&p);
	plan_release(&plan);
}

/*
 * Shared nodes (Feltin et al.'s model, --parallel). 5 cut points: cumulative memory 0, 10, 20,
 * 30, 40 bytes; every segment 100 FLOPs; transfers 100, 10, 20, 35, 5 bytes (800, 80, 160, 280,
 * 40 bits). 2 nodes: speeds 100 and 50 FLOP/s, 25 bytes each; every link 80 bit/s, no latency.
 * Plan: segments on nodes 0, 1, 0, 1.
 * - compute: node 0 has two stages of 100/100 = 1 s, total 2 s; node 1 two of 100/50 = 2 s,
 *   total 4 s;
 * - hops: 0->1 at cut 1: 80/80 = 1 s; 1->0 at cut 2: 160/80 = 2 s; 0->1 at cut 3: 280/80 =
 *   3.5 s. Link 0->1 carries 1 + 3.5 = 4.5 s, link 1->0 2 s. Dispatcher hops (800/80 = 10 s in,
 *   40/80 = 0.5 s out) do not count under Feltin's metric.
 * So the bottleneck is link 0->1, 4.5 s, reported at its first hop (1). Without sharing, the
 * same plan repeats nodes (a defect) and its terms stand alone: max(2, 3.5) = 3.5 s.
 */
static void test_shared_nodes(void)
{
	static struct model_cut_profile c5[5];
	static struct model_profile prof5 = { .model = "shared", .n_cuts = 5, .cuts = c5 };
	static const double tx[5] = { 100, 10, 20, 35, 5 };
	double m2[2] = { 25, 25 }, s2[2] = { 100, 50 }, bw2[9], lat2[9] = { 0 };
	struct cluster cl2 = { 2, m2, s2, bw2, lat2, NULL, NULL, NULL };
	struct problem_options feltin = PROBLEM_OPTIONS_FELTIN, shared = PROBLEM_OPTIONS_FELTIN;
	struct problem p;
	struct plan plan;
	struct plan_cost cost;
	struct plan_defects d;
	struct ep_error err;
	double stage_s[4], hop_s[5];

	for (int k = 0; k < 5; k++) {
		c5[k].cum_mem_bytes = 10.0 * k;
		c5[k].cum_flops = 100 * k;
		c5[k].transfer_bytes = tx[k];
	}
	for (int i = 0; i < 9; i++)
		bw2[i] = i % 4 ? 80 : 0;
	shared.shared_nodes = true;
	CHECK_INT(problem_init(&p, &prof5, &cl2, &shared, &err), EP_OK);
	plan_init(&plan);
	for (int s = 0; s < 4; s++)
		plan_push(&plan, s, s + 1, s % 2);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_OK);
	CHECK_INT(d.repeated_nodes, 0);
	plan_cost(&p, &plan, &cost, stage_s, hop_s);
	CHECK_NEAR(stage_s[1], 2.0, 1e-12); /* each stage's own time */
	CHECK_NEAR(hop_s[3], 3.5, 1e-12);
	CHECK_NEAR(hop_s[0], 10.0, 1e-12);  /* reported, not counted */
	CHECK_NEAR(cost.max_compute_s, 4.0, 1e-12);
	CHECK_NEAR(cost.max_hop_s, 4.5, 1e-12);
	CHECK_NEAR(cost.bottleneck_s, 4.5, 1e-12);
	CHECK_INT(cost.where, COST_TERM_HOP);
	CHECK_INT(cost.index, 1);

	/* Node 1's stages need 10 + 10 = 20 bytes together: over a 15-byte node. */
	m2[1] = 15;
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_EINVAL);
	CHECK_INT(d.over_memory, 1);
	CHECK_CONTAINS(err.msg, "stages on node 1 need");
	m2[1] = 25;

	/* Two consecutive stages on node 0: the hop between them costs 0. Node 0 computes 2 s,
	 * node 1 (cuts 2..4) 200/50 = 4 s; hops: 0->0 0 s, 0->1 at cut 2 160/80 = 2 s. */
	plan_clear(&plan);
	plan_push(&plan, 0, 1, 0);
	plan_push(&plan, 1, 2, 0);
	plan_push(&plan, 2, 4, 1);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_OK);
	plan_cost(&p, &plan, &cost, stage_s, hop_s);
	CHECK_NEAR(hop_s[1], 0.0, 0);
	CHECK_NEAR(cost.bottleneck_s, 4.0, 1e-12);
	CHECK_INT(cost.where, COST_TERM_COMPUTE);
	CHECK_INT(cost.index, 2);
	problem_release(&p);

	/* Without sharing: repeated nodes are a defect and every term stands alone. */
	CHECK_INT(problem_init(&p, &prof5, &cl2, &feltin, &err), EP_OK);
	plan_clear(&plan);
	for (int s = 0; s < 4; s++)
		plan_push(&plan, s, s + 1, s % 2);
	CHECK_INT(plan_check(&p, &plan, &d, &err), EP_EINVAL);
	CHECK_INT(d.repeated_nodes, 2);
	plan_cost(&p, &plan, &cost, NULL, NULL);
	CHECK_NEAR(cost.bottleneck_s, 3.5, 1e-12);
	problem_release(&p);
	plan_release(&plan);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	setup();
	test_cost_terms();
	test_check();
	test_shared_nodes();
	return check_exit();
}
