/*
 * The SEIFER family (random, greedy, seifer), corrected variant, on the whole zoo: every model
 * x N in {2, 5, 10, 20, 50} x 64, 128, 256, 512 MiB x 3 seeds, exact accounting, full metric.
 * Each run gives a plan that plan_check accepts, or EP_EINFEASIBLE with a reason exactly when
 * the instance is infeasible by the test's own reckoning (a segment larger than a node, or
 * more pieces needed than nodes, counted greedily: filling each piece as far as it goes gives
 * the fewest pieces); the same seed gives the same plan, byte for byte.
 * Then the published variant on the published setting: plans are structurally usable except
 * for the empty pieces the reference's DP may choose (partition.c's header explains them).
 */
#include <math.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <igraph.h>

#include "algo.h"
#include "algo_internal.h"
#include "check.h"
#include "ep_util.h"
#include "instance.h"
#include "model_profile.h"
#include "model_zoo.h"
#include "partition.h"
#include "tiny_instance.h"

#define MIB (1024.0 * 1024.0)

static const int node_counts[] = { 2, 5, 10, 20, 50 };
static const double caps_mib[] = { 64, 128, 256, 512 };
static const struct algo *const family[] = { &algo_random, &algo_greedy, &algo_seifer };

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Feasible by the test's own reckoning: every segment fits and the greedy count is <= n. */
static bool feasible(const struct problem *p, double cap, int n)
{
	int pieces = 0;

	for (int a = 0; a < p->m - 1;) {
		int b = a;

		while (b + 1 < p->m && p->cum_mem[b + 1] - p->cum_mem[a] <= cap)
			b++;
		if (b == a)
			return false; /* the segment after cut a alone exceeds the node */
		pieces++;
		a = b;
	}
	return pieces <= n;
}

static bool same_plan(const struct plan *a, const struct plan *b)
{
	return a->n_stages == b->n_stages &&
	       (a->n_stages == 0 ||
		memcmp(a->stages, b->stages, (size_t)a->n_stages * sizeof(*a->stages)) == 0);
}

struct tally {
	int ok, infeasible, wrong;
};

static void run_corrected(const struct problem *p, double cap, int seed, struct tally *t)
{
	bool want_ok = feasible(p, cap, p->cluster->n);

	for (int a = 0; a < COUNT(family); a++) {
		struct algo_options o = ALGO_OPTIONS_DEFAULT;
		struct algo_result r1, r2;
		struct ep_error err = { 0, "" };
		gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
		int rc1, rc2;

		algo_result_init(&r1);
		algo_result_init(&r2);
		gsl_rng_set(rng, (unsigned long)seed);
		rc1 = algo_run(family[a], p, &o, rng, &r1, &err);
		gsl_rng_set(rng, (unsigned long)seed);
		rc2 = algo_run(family[a], p, &o, rng, &r2, &err);
		CHECK_INT(rc1, EP_OK);
		CHECK_INT(rc2, EP_OK);
		if (rc1 == EP_OK && r1.status == EP_OK) {
			t->ok++;
			CHECK(plan_check(p, &r1.plan, NULL, NULL) == EP_OK);
			CHECK(r1.plan.n_stages <= p->cluster->n);
			CHECK(isfinite(r1.cost.bottleneck_s) && r1.cost.bottleneck_s > 0);
		} else if (rc1 == EP_OK && r1.status == EP_EINFEASIBLE) {
			t->infeasible++;
			CHECK(r1.reason[0] != '\0');
			/* corrected placement on a complete graph cannot fail */
			CHECK(strstr(r1.reason, "placement failed") == NULL);
		}
		if (rc1 == EP_OK && (r1.status == EP_OK) != want_ok) {
			t->wrong++;
			fprintf(stderr, "%s %s N=%d %.0f MiB seed %d: status %d (%s), expected %s\n",
				family[a]->name, p->profile->model, p->cluster->n, cap / MIB, seed,
				r1.status, r1.reason, want_ok ? "a plan" : "infeasible");
		}
		CHECK_INT(r2.status, r1.status);
		CHECK(same_plan(&r1.plan, &r2.plan));
		algo_result_release(&r1);
		algo_result_release(&r2);
		gsl_rng_free(rng);
	}
}

/*
 * Published: a plan may have gaps (D1), over-full random pieces, and the DP's empty pieces
 * (a vertex (i, i+1): stage after cut i through cut i). Nothing else is structural.
 */
static void run_published(const struct problem *p, int seed, int *plans, int *empty)
{
	for (int a = 0; a < COUNT(family); a++) {
		struct algo_options o = ALGO_OPTIONS_DEFAULT;
		struct plan plan;
		struct plan_defects d;
		struct ep_error err = { 0, "" };
		gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
		int rc;

		o.variant = ALGO_PUBLISHED;
		plan_init(&plan);
		gsl_rng_set(rng, (unsigned long)seed);
		rc = family[a]->solve(p, &o, rng, &plan, &err);
		CHECK(rc == EP_OK || rc == EP_EINFEASIBLE);
		if (rc == EP_OK) {
			bool has_empty = false, nodes_ok = true;

			(*plans)++;
			for (int s = 0; s < plan.n_stages; s++) {
				has_empty |= plan.stages[s].first_cut == plan.stages[s].end_cut;
				nodes_ok &= plan.stages[s].node >= 0 &&
					    plan.stages[s].node < p->cluster->n;
			}
			CHECK(nodes_ok);
			*empty += has_empty;
			plan_check(p, &plan, &d, NULL);
			CHECK(!d.structural || has_empty);
			CHECK_INT(d.repeated_nodes, 0);
		} else {
			CHECK(err.msg[0] != '\0');
		}
		plan_release(&plan);
		gsl_rng_free(rng);
	}
}

static void run_model(const char *name, enum model_accounting acc, struct tally *t,
		      int *plans, int *empty)
{
	struct model_graph *g = NULL;
	struct model_profile *profile = NULL;
	struct model_profile_options po = MODEL_PROFILE_OPTIONS_DEFAULT;
	struct problem_options opt = acc == MODEL_ACCOUNT_EXACT ? PROBLEM_OPTIONS_FULL
								 : PROBLEM_OPTIONS_PUBLISHED;
	gsl_rng *crng = gsl_rng_alloc(gsl_rng_mt19937);

	po.accounting = acc;
	if (acc == MODEL_ACCOUNT_PUBLISHED)
		po.cuts = MODEL_CUTS_PUBLISHED;
	CHECK_INT(model_zoo_build(name, &g, NULL), EP_OK);
	CHECK_INT(model_profile_create(g, &po, &profile, NULL), EP_OK);
	for (int ni = 0; ni < COUNT(node_counts) && profile; ni++)
		for (int ci = 0; ci < COUNT(caps_mib); ci++)
			for (int seed = 1; seed <= 3; seed++) {
				int n = node_counts[ni];
				struct cluster_spec spec = cluster_spec_default(n, caps_mib[ci] * MIB);
				struct cluster *c = NULL;
				struct problem p;

				gsl_rng_set(crng, cluster_trial_seed((uint64_t)seed, 0, n));
				CHECK_INT(cluster_create(&spec, crng, &c, NULL), EP_OK);
				CHECK_INT(problem_init(&p, profile, c, &opt, NULL), EP_OK);
				if (acc == MODEL_ACCOUNT_EXACT)
					run_corrected(&p, caps_mib[ci] * MIB, seed, t);
				else
					run_published(&p, seed, plans, empty);
				problem_release(&p);
				cluster_destroy(c);
			}
	model_profile_destroy(profile);
	model_graph_destroy(g);
	gsl_rng_free(crng);
}

/*
 * Unequal memories (256, 64, 512 MiB in turn): the corrected variants cut for the smallest
 * node (not node 0), so their plans stay valid wherever a piece lands; ResNet50 (239 MiB
 * exact) with N = 10 must then be cut into pieces of at most 64 MiB.
 */
static void test_unequal_memory(void)
{
	static const double mem[3] = { 256 * MIB, 64 * MIB, 512 * MIB };
	struct model_graph *g = NULL;
	struct model_profile *profile = NULL;
	struct model_profile_options po = MODEL_PROFILE_OPTIONS_DEFAULT;
	struct problem_options opt = PROBLEM_OPTIONS_FULL;
	struct cluster_spec spec = cluster_spec_default(10, 0);
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct cluster *c = NULL;
	struct problem p;

	spec.mem_list = mem;
	spec.n_mem_list = 3;
	CHECK_INT(model_zoo_build("resnet50", &g, NULL), EP_OK);
	CHECK_INT(model_profile_create(g, &po, &profile, NULL), EP_OK);
	gsl_rng_set(rng, cluster_trial_seed(9, 0, 10));
	CHECK_INT(cluster_create(&spec, rng, &c, NULL), EP_OK);
	CHECK_INT(problem_init(&p, profile, c, &opt, NULL), EP_OK);
	for (int a = 0; a < COUNT(family); a++) {
		struct algo_options o = ALGO_OPTIONS_DEFAULT;
		struct algo_result r;
		struct ep_error err = { 0, "" };

		algo_result_init(&r);
		gsl_rng_set(rng, 3);
		CHECK_INT(algo_run(family[a], &p, &o, rng, &r, &err), EP_OK);
		CHECK_INT(r.status, EP_OK);
		for (int s = 0; s < r.plan.n_stages; s++)
			CHECK(problem_stage_mem(&p, r.plan.stages[s].first_cut,
						r.plan.stages[s].end_cut) <= 64 * MIB);
		algo_result_release(&r);
	}
	problem_release(&p);
	cluster_destroy(c);
	model_profile_destroy(profile);
	model_graph_destroy(g);
	gsl_rng_free(rng);
}

/*
 * Item 13 of issue 9: the published DP sized its pieces with node 0's memory, so on a
 * mixed-memory cluster (160 and 80 MiB in turn) seifer and greedy put a 159 MiB piece on an
 * 80 MiB node. The ITNAC paper cuts for the smallest memory when memories differ. The issue's
 * instance (efficientnetb1, N = 6, uniform links, seed 532417, trial 15, 5 GFLOP/s, full
 * metric): no algorithm of either variant may return a plan with a stage over its node's
 * memory (plan_check's count), except the published random baseline, whose pieces run from one
 * random cut to the next and may exceed any capacity by design (random.c).
 */
static void test_mixed_memory_issue(void)
{
	static const double mem[2] = { 160 * MIB, 80 * MIB };
	static const enum algo_variant variants[2] = { ALGO_PUBLISHED, ALGO_CORRECTED };

	for (int v = 0; v < 2; v++) {
		struct instance_spec spec;
		struct instance *inst = NULL;
		struct ep_error err = { 0, "" };
		int plans = 0;

		memset(&spec, 0, sizeof(spec));
		spec.model = "efficientnetb1";
		spec.profile = MODEL_PROFILE_OPTIONS_DEFAULT;
		spec.cluster = cluster_spec_default(6, 160 * MIB);
		spec.cluster.kind = CLUSTER_UNIFORM;
		spec.cluster.bw_min_bps = 1e6;
		spec.cluster.bw_max_bps = 100e6;
		spec.cluster.classes = 4;
		spec.cluster.speed_flops = 5e9;
		spec.cluster.mem_list = mem;
		spec.cluster.n_mem_list = 2;
		spec.seed = 532417;
		spec.trial = 15;
		instance_spec_set_variant(&spec, variants[v]);
		spec.problem = PROBLEM_OPTIONS_FULL;
		CHECK_INT(instance_create(&spec, &inst, &err), EP_OK);
		if (!inst)
			return;
		for (int a = 0; algo_registry[a]; a++) {
			struct algo_options o = ALGO_OPTIONS_DEFAULT;
			struct algo_result r;
			gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

			o.variant = variants[v];
			algo_result_init(&r);
			gsl_rng_set(rng, ep_seed32(instance_algo_seed(&spec, algo_registry[a]->name)));
			CHECK_INT(algo_run(algo_registry[a], &inst->problem, &o, rng, &r, &err), EP_OK);
			if (r.status == EP_OK &&
			    !(variants[v] == ALGO_PUBLISHED && algo_registry[a] == &algo_random)) {
				plans++;
				if (r.defects.over_memory)
					fprintf(stderr, "%s (%s): %d stage(s) over memory\n",
						algo_registry[a]->name, algo_variant_name(variants[v]),
						r.defects.over_memory);
				CHECK_INT(r.defects.over_memory, 0);
			}
			algo_result_release(&r);
			gsl_rng_free(rng);
		}
		/* every algorithm finds a plan here (the issue's table: 6 of 6 ok) */
		CHECK(plans >= 5);
		instance_destroy(inst);
	}
}

/*
 * Issue 9, item 14: K-path matching took a max-min path in whatever direction it came out.
 * Hand instance: 3 pieces forced by memory (segments of 10 bytes, nodes of 15, strict), one
 * bandwidth class, so one run of 2 transfers on a path of 3 nodes; links 0-1 at 10 bit/s,
 * 1-2 at 100, 0-2 at 1 (symmetric); published metric (inter-stage hops only). Transfers 1000
 * and 20 bits: the max-min paths are 0-1-2 and 2-1-0 (threshold 10); 0-1-2 costs
 * max(1000/10, 20/100) = 100 s, 2-1-0 max(1000/100, 20/10) = 10 s, and every other order
 * at least 20 s (1-2-0: 1000/100, 20/1), so the corrected variant must give 10 s, which the
 * exact solver confirms. The mirrored transfers (20 then 1000 bits) want 0-1-2, also 10 s:
 * whichever direction the search yields, one of the two cases needs the other.
 * Then random small instances in one class: the corrected plan is no worse than any order of
 * its nodes with the same threshold (every one enumerated here).
 */
static void hand_order_case(double t1_bits, double t2_bits)
{
	struct tiny t;
	struct algo_options o = ALGO_OPTIONS_DEFAULT;
	struct algo_result r, best;
	struct ep_error err = { 0, "" };
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	static const double bw[3][3] = { { 0, 10, 1 }, { 10, 0, 100 }, { 1, 100, 0 } };

	tiny_clear(&t, 4, 3);
	for (int k = 0; k < 4; k++)
		t.cuts[k].cum_mem_bytes = 10.0 * k;
	t.cuts[1].transfer_bytes = t1_bits / 8;
	t.cuts[2].transfer_bytes = t2_bits / 8;
	for (int i = 0; i < 3; i++)
		t.mem[i] = 15;
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			t.bw[i * 4 + j] = i == j ? 0 : i < 3 && j < 3 ? bw[i][j] : 1000;
	CHECK_INT(tiny_ready(&t, &PROBLEM_OPTIONS_PUBLISHED), EP_OK);
	algo_options_set_int(&o, "bw-classes", 1);
	algo_result_init(&r);
	algo_result_init(&best);
	gsl_rng_set(rng, 1);
	CHECK_INT(algo_run(&algo_seifer, &t.p, &o, rng, &r, &err), EP_OK);
	CHECK_INT(r.status, EP_OK);
	CHECK_INT(r.plan.n_stages, 3);
	CHECK_NEAR(r.cost.bottleneck_s, 10.0, 1e-12);
	CHECK_INT(algo_run(&algo_optimal, &t.p, &o, rng, &best, &err), EP_OK);
	CHECK_NEAR(best.cost.bottleneck_s, 10.0, 1e-12);
	algo_result_release(&r);
	algo_result_release(&best);
	problem_release(&t.p);
	gsl_rng_free(rng);
}

/* The least bottleneck over the orders of plan's nodes whose edges all reach `thr`. */
static double best_order(const struct problem *p, struct plan *plan, int i, bool *used,
			 const int *nodes, double thr)
{
	int k = plan->n_stages;
	double best = INFINITY;

	if (i == k) {
		struct plan_cost c;

		plan_cost(p, plan, &c, NULL, NULL);
		return c.bottleneck_s;
	}
	for (int j = 0; j < k; j++) {
		if (used[j] || (i > 0 && !(cluster_bw(p->cluster, plan->stages[i - 1].node,
						       nodes[j]) >= thr)))
			continue;
		used[j] = true;
		plan->stages[i].node = nodes[j];
		best = fmin(best, best_order(p, plan, i + 1, used, nodes, thr));
		used[j] = false;
	}
	return best;
}

static void test_path_order(void)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937), *arng = gsl_rng_alloc(gsl_rng_mt19937);
	int runs = 0;

	hand_order_case(1000, 20);
	hand_order_case(20, 1000);
	gsl_rng_set(rng, 14);
	for (int trial = 0; trial < 400; trial++) {
		struct tiny t;
		struct algo_options o = ALGO_OPTIONS_DEFAULT;
		struct algo_result r;
		struct ep_error err = { 0, "" };
		int nodes[TINY_MAX_N], k;
		bool used[TINY_MAX_N] = { false };
		double thr = INFINITY, best;

		if (tiny_random(&t, rng, 8, 6, true))
			continue;
		algo_options_set_int(&o, "bw-classes", 1);
		algo_result_init(&r);
		gsl_rng_set(arng, (unsigned long)trial);
		CHECK_INT(algo_run(&algo_seifer, &t.p, &o, arng, &r, &err), EP_OK);
		k = r.plan.n_stages;
		if (r.status != EP_OK || k < 2) {
			algo_result_release(&r);
			problem_release(&t.p);
			continue;
		}
		for (int s = 0; s < k; s++)
			nodes[s] = r.plan.stages[s].node;
		for (int s = 0; s + 1 < k; s++)
			thr = fmin(thr, cluster_bw(t.p.cluster, nodes[s], nodes[s + 1]));
		best = best_order(&t.p, &r.plan, 0, used, nodes, thr);
		if (!(r.cost.bottleneck_s <= best * (1 + 1e-12)))
			fprintf(stderr, "trial %d: seifer %.9g s, best order of its nodes %.9g s\n",
				trial, r.cost.bottleneck_s, best);
		CHECK(r.cost.bottleneck_s <= best * (1 + 1e-12));
		runs++;
		algo_result_release(&r);
		problem_release(&t.p);
	}
	CHECK(runs >= 100);
	printf("path order: %d random plans as good as every order of their nodes\n", runs);
	gsl_rng_free(rng);
	gsl_rng_free(arng);
}

/*
 * The documented refusals: seifer with no bandwidth class or a failure bound outside (0, 1)
 * (EP_EINVAL, naming the value); partition_dp with a negative piece count.
 */
static void test_bad_options(void)
{
	struct model_graph *g = NULL;
	struct model_profile *profile = NULL;
	struct model_profile_options po = MODEL_PROFILE_OPTIONS_DEFAULT;
	struct problem_options opt = PROBLEM_OPTIONS_FULL;
	struct cluster_spec spec = cluster_spec_default(5, 64 * MIB);
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct algo_options o = ALGO_OPTIONS_DEFAULT;
	struct cluster *c = NULL;
	struct problem p;
	struct plan plan;
	struct ep_error err = { 0, "" };

	plan_init(&plan);
	CHECK_INT(model_zoo_build("mobilenetv2", &g, NULL), EP_OK);
	CHECK_INT(model_profile_create(g, &po, &profile, NULL), EP_OK);
	CHECK_INT(cluster_create(&spec, rng, &c, NULL), EP_OK);
	CHECK_INT(problem_init(&p, profile, c, &opt, NULL), EP_OK);
	algo_options_set_int(&o, "bw-classes", 0);
	CHECK_INT(algo_seifer.solve(&p, &o, rng, &plan, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "bandwidth classes 0");
	o = ALGO_OPTIONS_DEFAULT;
	algo_options_set_real(&o, "failure-prob", 1);
	CHECK_INT(algo_seifer.solve(&p, &o, rng, &plan, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "failure probability 1");
	CHECK_INT(partition_dp(&p, ALGO_CORRECTED, -1, NULL, &plan, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "-1");
	problem_release(&p);
	cluster_destroy(c);
	model_profile_destroy(profile);
	model_graph_destroy(g);
	plan_release(&plan);
	gsl_rng_free(rng);
}

int main(void)
{
	struct tally t = { 0, 0, 0 };
	int plans = 0, empty = 0;

	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	test_bad_options();
	test_unequal_memory();
	test_mixed_memory_issue();
	test_path_order();
	for (size_t i = 0; i < model_zoo_count; i++) {
		run_model(model_zoo[i].name, MODEL_ACCOUNT_EXACT, &t, NULL, NULL);
		run_model(model_zoo[i].name, MODEL_ACCOUNT_PUBLISHED, &t, &plans, &empty);
	}
	CHECK_INT(t.wrong, 0);
	/* 15 models x 5 N x 4 capacities x 3 seeds x 3 algorithms */
	CHECK_INT(t.ok + t.infeasible, 15 * 5 * 4 * 3 * 3);
	/* both outcomes occur: VGG16's 392 MiB fc1 fits no node below 512 MiB, while MobileNet
	 * (80 MiB) fits everywhere with N >= 2 */
	CHECK(t.ok > 0 && t.infeasible > 0);
	CHECK(plans > 0);
	printf("corrected: %d plans, %d infeasible; published: %d plans, %d with empty pieces\n",
	       t.ok, t.infeasible, plans, empty);
	return check_exit();
}
