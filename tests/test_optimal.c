/*
 * test_optimal: `optimal` is exact, proves it, and knows its limits.
 *
 * 1. On 400 tiny random instances (3 to 8 cut points, 1 to 5 nodes, random memories, speeds,
 *    bandwidths, latencies and metric options), optimal's bottleneck equals the minimum found
 *    by a naive enumeration written below: every tiling of the cut points, every injective
 *    placement of its stages, costed here from the raw numbers (not with plan_cost). When the
 *    enumeration finds no plan, optimal must say EP_EINFEASIBLE. Both exact methods (the
 *    subset DP and the branch and bound) are checked, each with its proof: lower bound equal
 *    to the plan's bottleneck, status proven.
 * 2. On 600 random instances with up to 10 nodes and up to 24 cut points, the branch and bound
 *    equals the subset DP (bit for bit, same status).
 * 3. On 300 random small instances (up to 12 cut points, up to 8 nodes, corrected variant),
 *    optimal is never worse than any other algorithm of the registry that returns a plan.
 * 4. Beyond 12 nodes the subset DP refuses with EP_ELIMIT and a message naming N, the limit and
 *    --force, with force it solves, and a table too large even for force is refused; optimal
 *    itself (the search above 10 nodes) solves both, checked against the enumeration.
 * 5. A time limit that strikes returns EP_ELIMIT and status limit, never "proven": the best
 *    plan so far, valid, costing the reported upper bound, a lower bound at or below the
 *    optimum (found without the limit) and at or above the root bound; algo_run keeps the plan
 *    beside status EP_ELIMIT.
 * 6. With a wire codec (problem.h: hops send bits / ratio, a stage adds the decoding of its input
 *    and the encoding of its output), on 400 tiny instances optimal (both methods) equals the
 *    enumeration, which applies the codec from the raw numbers itself; coding times are drawn
 *    large enough that a longer stage can cost less than a shorter one (its output tensor is
 *    smaller), which the search's bounds must allow for; no algorithm of the registry beats
 *    optimal there. And on 300 larger ones the branch and bound equals the subset DP.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <igraph.h>

#include "algo.h"
#include "check.h"
#include "optimal.h"
#include "cluster.h"
#include "plan.h"
#include "problem.h"
#include "tiny_instance.h"

/* The naive enumeration: its own arithmetic from the profile's bytes and the cluster, with
 * the codec's terms (none when its ratio is 0; the tiny clusters have no speed factors). */
static double hop(const struct problem *p, int k, int from, int to)
{
	int v1 = p->cluster->n + 1;
	double ratio = p->options.codec.ratio > 0 ? p->options.codec.ratio : 1;
	double bits = p->profile->cuts[k].transfer_bytes * 8 / ratio;

	return bits <= 0 ? 0
			 : bits / p->cluster->bw_bps[from * v1 + to] +
				   p->cluster->latency_s[from * v1 + to];
}

static bool fits(const struct problem *p, int a, int b, int node)
{
	double mem = p->cum_mem[b] - p->cum_mem[a];

	return p->options.strict_memory ? mem < p->cluster->mem_bytes[node]
					: mem <= p->cluster->mem_bytes[node];
}

static double compute(const struct problem *p, int a, int b, int node)
{
	const struct problem_codec *c = &p->options.codec;
	double speed = p->cluster->speed_flops[node], coding = 0;

	if (!p->options.count_compute)
		return 0;
	if (c->ratio > 0)
		coding = c->decode_s_per_byte * p->profile->cuts[a].transfer_bytes +
			 c->encode_s_per_byte * p->profile->cuts[b].transfer_bytes;
	return (speed > 0 ? (p->cum_flops[b] - p->cum_flops[a]) / speed : 0) + coding;
}

/* Give t a random codec (tiny_codec_draw), compute counted mostly (where coding counts). */
static int tiny_codec(struct tiny *t, gsl_rng *rng)
{
	struct problem_options o = t->p.options;

	problem_release(&t->p);
	tiny_codec_draw(rng, &o.codec);
	o.count_compute = gsl_rng_uniform(rng) < 0.8;
	return tiny_ready(t, &o);
}

/* Stages so far end with cut a on node `last` (-1: none yet); `acc` is their bottleneck. */
static double enumerate(const struct problem *p, int a, int last, unsigned used, double acc)
{
	int n = p->cluster->n, m = p->m;
	double best = INFINITY;

	if (a == m - 1) {
		double out = p->options.count_dispatcher ? hop(p, m - 1, last, n) : 0;

		return fmax(acc, out);
	}
	for (int b = a + 1; b < m; b++)
		for (int v = 0; v < n; v++) {
			double in, val;

			if (used & (1u << v) || !fits(p, a, b, v))
				continue;
			if (last < 0)
				in = p->options.count_dispatcher ? hop(p, 0, n, v) : 0;
			else
				in = hop(p, a, last, v);
			val = fmax(acc, fmax(in, compute(p, a, b, v)));
			val = enumerate(p, b, v, used | (1u << v), val);
			best = fmin(best, val);
		}
	return best;
}

/* Both exact methods on p: the value `want` (INFINITY: no plan) with its proof. */
static void check_methods(const struct problem *p, gsl_rng *rng, double want)
{
	static const enum optimal_method methods[] = {OPTIMAL_SUBSET_DP, OPTIMAL_SEARCH};

	for (int i = 0; i < 2; i++) {
		struct optimal_options oo = {methods[i], 0, true};
		struct optimal_proof proof;
		struct plan plan;
		struct plan_cost cost;
		struct ep_error err;
		int rc;

		plan_init(&plan);
		rc = optimal_solve(p, &oo, rng, &plan, &proof, &err);
		if (want == INFINITY) {
			CHECK_INT(rc, EP_EINFEASIBLE);
			CHECK_INT(proof.status, OPTIMAL_NO_PLAN);
		} else {
			CHECK_INT(rc, EP_OK);
			CHECK_INT(proof.status, OPTIMAL_PROVEN);
			CHECK_INT(plan_check(p, &plan, NULL, NULL), EP_OK);
			if (rc == EP_OK) {
				plan_cost(p, &plan, &cost, NULL, NULL);
				CHECK(cost.bottleneck_s == proof.upper_s);
				CHECK(proof.lower_s == proof.upper_s);
				CHECK_NEAR(cost.bottleneck_s, want, 1e-12);
				if (methods[i] == OPTIMAL_SEARCH)
					CHECK(proof.root_bound_s <= proof.lower_s);
			}
		}
		plan_release(&plan);
	}
}

static void test_against_enumeration(gsl_rng *rng)
{
	const struct algo *opt = algo_find("optimal");
	struct algo_options o = ALGO_OPTIONS_DEFAULT;
	int feasible = 0, infeasible = 0, multi = 0;

	CHECK(opt != NULL);
	if (!opt)
		return;
	for (int trial = 0; trial < 400; trial++) {
		struct tiny t;
		struct algo_result r;
		struct ep_error err;
		int m = 3 + (int)gsl_rng_uniform_int(rng, 6),
		    n = 1 + (int)gsl_rng_uniform_int(rng, 5);
		double want;

		CHECK_INT(tiny_random(&t, rng, m, n, false), EP_OK);
		want = enumerate(&t.p, 0, -1, 0, 0);
		algo_result_init(&r);
		CHECK_INT(algo_run(opt, &t.p, &o, rng, &r, &err), EP_OK);
		if (want == INFINITY) {
			infeasible++;
			CHECK_INT(r.status, EP_EINFEASIBLE);
			check_methods(&t.p, rng, want);
		} else {
			feasible++;
			check_methods(&t.p, rng, want);
			CHECK_INT(r.status, EP_OK);
			if (r.status == EP_OK) {
				multi += r.plan.n_stages > 1;
				CHECK_NEAR(r.cost.bottleneck_s, want, 1e-12);
			}
			if (r.status == EP_OK && fabs(r.cost.bottleneck_s - want) > 1e-12)
				fprintf(stderr, "  trial %d: m %d n %d compute %d dispatcher %d\n",
					trial, m, n, t.p.options.count_compute,
					t.p.options.count_dispatcher);
		}
		algo_result_release(&r);
		problem_release(&t.p);
	}
	/* The generator must exercise both outcomes and plans of several stages. */
	CHECK(feasible >= 200);
	CHECK(infeasible >= 20);
	CHECK(multi >= 100);
}

static void test_search_against_dp(gsl_rng *rng)
{
	int solved = 0, searched = 0;

	for (int trial = 0; trial < 600; trial++) {
		struct tiny t;
		int m = 3 + (int)gsl_rng_uniform_int(rng, TINY_MAX_M - 2),
		    n = 1 + (int)gsl_rng_uniform_int(rng, 10);
		struct optimal_options dp = {OPTIMAL_SUBSET_DP, 0, false},
				       bb = {OPTIMAL_SEARCH, 0, false};
		struct optimal_proof pd, pb;
		struct plan a, b;
		struct ep_error err;
		int rd, rb;

		CHECK_INT(tiny_random(&t, rng, m, n, trial % 2 == 0), EP_OK);
		plan_init(&a);
		plan_init(&b);
		rd = optimal_solve(&t.p, &dp, rng, &a, &pd, &err);
		rb = optimal_solve(&t.p, &bb, rng, &b, &pb, &err);
		CHECK_INT(rb, rd);
		CHECK_INT(pb.status, pd.status);
		if (rd == EP_OK && rb == EP_OK) {
			solved++;
			searched += pb.nodes > 0;
			CHECK(pb.upper_s == pd.upper_s);
			if (pb.upper_s != pd.upper_s)
				fprintf(stderr, "  trial %d (m %d, n %d): search %.17g, DP %.17g\n",
					trial, m, n, pb.upper_s, pd.upper_s);
		}
		plan_release(&a);
		plan_release(&b);
		problem_release(&t.p);
	}
	/* Most have a plan, and the search had to branch on many (joint was not proven). */
	CHECK(solved >= 400);
	CHECK(searched >= 50);
	fprintf(stderr, "search vs DP: %d instances with a plan, %d needed search nodes\n", solved,
		searched);
}

static void test_against_registry(gsl_rng *rng)
{
	const struct algo *opt = algo_find("optimal");
	struct algo_options o = ALGO_OPTIONS_DEFAULT;
	int compared = 0, instances = 0;

	if (!opt)
		return;
	for (int trial = 0; trial < 300; trial++) {
		struct tiny t;
		struct algo_result best, r;
		struct ep_error err;
		int m = 4 + (int)gsl_rng_uniform_int(rng, 9),
		    n = 1 + (int)gsl_rng_uniform_int(rng, 8);

		CHECK_INT(tiny_random(&t, rng, m, n, trial % 3 != 0), EP_OK);
		algo_result_init(&best);
		algo_result_init(&r);
		CHECK_INT(algo_run(opt, &t.p, &o, rng, &best, &err), EP_OK);
		instances += best.status == EP_OK;
		for (int i = 0; algo_registry[i]; i++) {
			const struct algo *a = algo_registry[i];
			int rc;

			if (a == opt)
				continue;
			rc = algo_run(a, &t.p, &o, rng, &r, &err);
			CHECK_INT(rc, EP_OK);
			if (rc != EP_OK)
				fprintf(stderr, "  trial %d, %s: %s\n", trial, a->name, err.msg);
			if (rc != EP_OK || r.status != EP_OK)
				continue;
			/* Whatever another algorithm finds, a plan exists, so optimal has one. */
			CHECK_INT(best.status, EP_OK);
			if (best.status != EP_OK)
				continue;
			compared++;
			CHECK(best.cost.bottleneck_s <= r.cost.bottleneck_s);
			if (best.cost.bottleneck_s > r.cost.bottleneck_s)
				fprintf(stderr, "  trial %d: %s %.17g < optimal %.17g\n", trial,
					a->name, r.cost.bottleneck_s, best.cost.bottleneck_s);
		}
		algo_result_release(&r);
		algo_result_release(&best);
		problem_release(&t.p);
	}
	CHECK(instances >= 200);
	CHECK(compared >= 200);
}

static void test_limit(gsl_rng *rng)
{
	const struct algo *opt = algo_find("optimal");
	struct algo_options o = ALGO_OPTIONS_DEFAULT;
	struct optimal_options dp = {OPTIMAL_SUBSET_DP, 0, false};
	struct cluster_spec spec = cluster_spec_default(13, 100);
	struct problem_options po = PROBLEM_OPTIONS_FULL;
	struct optimal_proof proof;
	struct cluster *c = NULL;
	struct plan plan;
	struct tiny t;
	struct algo_result r;
	struct ep_error err;

	if (!opt)
		return;
	plan_init(&plan);
	/* A 4-cut model whose segments need 2 or 3 stages on 100-byte nodes: 13 nodes. */
	tiny_random(&t, rng, 4, 1, true);
	problem_release(&t.p);
	t.cuts[1].cum_mem_bytes = 70;
	t.cuts[2].cum_mem_bytes = 130;
	t.cuts[3].cum_mem_bytes = 190;
	spec.kind = CLUSTER_UNIFORM;
	spec.bw_min_bps = 1e6;
	spec.bw_max_bps = 1e8;
	CHECK_INT(cluster_create(&spec, rng, &c, &err), EP_OK);
	if (!c)
		return;
	CHECK_INT(problem_init(&t.p, &t.prof, c, &po, &err), EP_OK);
	CHECK_INT(optimal_solve(&t.p, &dp, rng, &plan, &proof, &err), EP_ELIMIT);
	CHECK_CONTAINS(err.msg, "N = 13 exceeds the subset DP's limit of 12 nodes");
	CHECK_CONTAINS(err.msg, "--force");
	algo_result_init(&r);
	/* optimal itself takes the search: exact, proven. */
	CHECK_INT(algo_run(opt, &t.p, &o, rng, &r, &err), EP_OK);
	CHECK_INT(r.status, EP_OK);
	CHECK(r.bound.has);
	if (r.status == EP_OK) {
		CHECK_NEAR(r.cost.bottleneck_s, enumerate(&t.p, 0, -1, 0, 0), 1e-12);
		CHECK(r.bound.lower_s == r.cost.bottleneck_s);
		CHECK_STR(r.bound.method, "search");
	}

	/* Told to try, the DP solves it: the table has only subsets of at most 3 nodes. */
	dp.force = true;
	CHECK_INT(optimal_solve(&t.p, &dp, rng, &plan, &proof, &err), EP_OK);
	CHECK_NEAR(proof.upper_s, enumerate(&t.p, 0, -1, 0, 0), 1e-12);
	problem_release(&t.p);
	cluster_destroy(c);

	/* 30 nodes and 12 cut points: 2^30 subsets would need far more than the 2 GiB allowed,
	 * but the search solves it. */
	spec.n = 30;
	tiny_random(&t, rng, 12, 1, true);
	problem_release(&t.p);
	CHECK_INT(cluster_create(&spec, rng, &c, &err), EP_OK);
	if (!c)
		return;
	CHECK_INT(problem_init(&t.p, &t.prof, c, &po, &err), EP_OK);
	CHECK_INT(optimal_solve(&t.p, &dp, rng, &plan, &proof, &err), EP_ELIMIT);
	CHECK_CONTAINS(err.msg, "even with --force");
	CHECK_INT(algo_run(opt, &t.p, &o, rng, &r, &err), EP_OK);
	CHECK(r.status == EP_OK || r.status == EP_EINFEASIBLE);
	problem_release(&t.p);
	cluster_destroy(c);
	algo_result_release(&r);
	plan_release(&plan);
}

/*
 * The time limit. An instance where joint's plan does not meet the root bound (so the search
 * must branch) is found among random ones; a limit that has passed before the first search node
 * stops it there.
 */
static void test_time_limit(gsl_rng *rng)
{
	const struct algo *opt = algo_find("optimal");
	int tried = 0;

	for (int trial = 0; trial < 2000 && tried < 20; trial++) {
		struct tiny t;
		struct optimal_options free_run = {OPTIMAL_SEARCH, 0, false},
				       limited = {OPTIMAL_SEARCH, 1e-12, false};
		struct optimal_proof exact, lim;
		struct plan a, b;
		struct plan_cost cost;
		struct algo_options o = ALGO_OPTIONS_DEFAULT;
		struct algo_result r;
		struct ep_error err;
		int rc;

		CHECK_INT(tiny_random(&t, rng, 6 + (int)gsl_rng_uniform_int(rng, 12),
				      4 + (int)gsl_rng_uniform_int(rng, 12), false),
			  EP_OK);
		plan_init(&a);
		plan_init(&b);
		rc = optimal_solve(&t.p, &free_run, rng, &a, &exact, &err);
		if (rc != EP_OK || exact.nodes == 0) {
			plan_release(&a);
			plan_release(&b);
			problem_release(&t.p);
			continue;
		}
		tried++;
		rc = optimal_solve(&t.p, &limited, rng, &b, &lim, &err);
		CHECK_INT(rc, EP_ELIMIT);
		CHECK_INT(lim.status, OPTIMAL_LIMIT);
		CHECK(lim.lower_s < lim.upper_s);
		CHECK(lim.lower_s <= exact.upper_s);
		CHECK(lim.upper_s >= exact.upper_s);
		CHECK(lim.lower_s >= lim.root_bound_s);
		CHECK_CONTAINS(err.msg, "time limit");
		if (b.n_stages > 0) {
			CHECK_INT(plan_check(&t.p, &b, NULL, NULL), EP_OK);
			plan_cost(&t.p, &b, &cost, NULL, NULL);
			CHECK(cost.bottleneck_s == lim.upper_s);
		}
		/* Through the registry: status limit, the plan kept, the bound beside it. */
		algo_options_set_real(&o, "time-limit", 1e-12);
		algo_result_init(&r);
		CHECK_INT(algo_run(opt, &t.p, &o, rng, &r, &err), EP_OK);
		if (t.p.cluster->n > OPTIMAL_DP_MAX_NODES) {
			CHECK_INT(r.status, EP_ELIMIT);
			CHECK(r.bound.has && r.bound.lower_s < r.cost.bottleneck_s);
		}
		algo_result_release(&r);
		plan_release(&a);
		plan_release(&b);
		problem_release(&t.p);
	}
	CHECK_INT(tried, 20);
}

static void test_codec(gsl_rng *rng)
{
	int feasible = 0, solved = 0, compared = 0;

	for (int trial = 0; trial < 400; trial++) {
		struct tiny t;
		int m = 3 + (int)gsl_rng_uniform_int(rng, 6),
		    n = 1 + (int)gsl_rng_uniform_int(rng, 5);
		double want;

		CHECK_INT(tiny_random(&t, rng, m, n, trial % 2 == 0), EP_OK);
		CHECK_INT(tiny_codec(&t, rng), EP_OK);
		want = enumerate(&t.p, 0, -1, 0, 0);
		feasible += want < INFINITY;
		check_methods(&t.p, rng, want);
		for (int i = 0; algo_registry[i]; i++) {
			struct algo_options o = ALGO_OPTIONS_DEFAULT;
			struct algo_result r;
			struct ep_error err;

			algo_result_init(&r);
			CHECK_INT(algo_run(algo_registry[i], &t.p, &o, rng, &r, &err), EP_OK);
			if (r.status == EP_OK && plan_check(&t.p, &r.plan, NULL, NULL) == EP_OK) {
				CHECK(want <= r.cost.bottleneck_s * (1 + 1e-12));
				compared++;
			}
			algo_result_release(&r);
		}
		problem_release(&t.p);
	}
	CHECK(feasible >= 200);
	CHECK(compared >= 1000);
	for (int trial = 0; trial < 300; trial++) {
		struct tiny t;
		int m = 3 + (int)gsl_rng_uniform_int(rng, TINY_MAX_M - 2),
		    n = 1 + (int)gsl_rng_uniform_int(rng, 9);
		struct optimal_options dp = {OPTIMAL_SUBSET_DP, 0, false},
				       bb = {OPTIMAL_SEARCH, 0, false};
		struct optimal_proof pd, pb;
		struct plan a, b;
		struct ep_error err;
		int rd, rb;

		CHECK_INT(tiny_random(&t, rng, m, n, trial % 2 == 0), EP_OK);
		CHECK_INT(tiny_codec(&t, rng), EP_OK);
		plan_init(&a);
		plan_init(&b);
		rd = optimal_solve(&t.p, &dp, rng, &a, &pd, &err);
		rb = optimal_solve(&t.p, &bb, rng, &b, &pb, &err);
		CHECK_INT(rb, rd);
		if (rd == EP_OK && rb == EP_OK) {
			solved++;
			CHECK(pb.upper_s == pd.upper_s);
			if (pb.upper_s != pd.upper_s)
				fprintf(stderr, "  codec trial %d (m %d, n %d): search %.17g, DP "
					"%.17g\n", trial, m, n, pb.upper_s, pd.upper_s);
		}
		plan_release(&a);
		plan_release(&b);
		problem_release(&t.p);
	}
	CHECK(solved >= 150);
}

int main(void)
{
	gsl_rng *rng;

	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	rng = gsl_rng_alloc(gsl_rng_mt19937);
	gsl_rng_set(rng, 20240603);
	test_against_enumeration(rng);
	test_search_against_dp(rng);
	test_against_registry(rng);
	test_limit(rng);
	test_time_limit(rng);
	test_codec(rng);
	gsl_rng_free(rng);
	return check_exit();
}
