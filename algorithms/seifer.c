/*
 * seifer: SEIFER's partition DP, then K-path matching (shared/reference/seifer-2022.md,
 * "Placement"), in both variants.
 *
 * 1. Bandwidth classes. C (--bw-classes) equal-width bins over [min, max] of the transfers of
 *    ALL cut points (not only the chosen ones); a transfer's class is the number of bin edges
 *    at or below it, numpy.digitize's rule. Published: the maximum gets class C + 1, which the
 *    loop below never visits, so the hop that carries it is never matched and a stage whose
 *    transfers all have it gets no node (D5). Corrected: the maximum is in class C.
 * 2. For class X = C down to 1, the maximal runs of consecutive inter-stage transfers in class
 *    X, longest first (then leftmost): a run of L transfers spans L + 1 stages and needs a path
 *    of L + 1 unused nodes, whose ends are fixed when the neighbouring stages already have
 *    nodes. The path is the max-min path of kpath.h (published: randomised and not monotone,
 *    colours from 1..floor(1.3 k), int(10 e^k) colourings; corrected: monotone, k colours and
 *    enough colourings for options->failure_prob per path search, which bounds the chance
 *    that a search misses its best path).
 *    The path's order: published, the notebook's (kpath.h); corrected, among the orders of its
 *    nodes with the same threshold (the reversed path too, when no end is fixed) the one that
 *    minimises the part of the bottleneck the run decides: its stages' compute, the hops among
 *    them and to placed neighbours or the dispatcher (order_run; issue 9: a reversed path is
 *    often better when a run's transfers differ).
 * 3. Its nodes leave the graph. A stage left without a node, or a run without a path, fails the
 *    trial: EP_EINFEASIBLE "placement failed: ...". Never a cost of 0: recording failures as 0
 *    in a mean is the published sweep's defect D6, which the sweep handles.
 *
 * A model in one piece goes on node 0 when published (beta = 0 anyway), on the node that costs
 * least when corrected (place_single). Colour coding is exponential in the path length; a
 * search that would pass SEIFER_WORK_LIMIT bitset operations stops with EP_ELIMIT unless
 * options->force.
 *
 * Complexity: that of partition_dp, plus O(N^2 log N) to sort the edges once, plus for each
 * run (at most K - 1) O(log N) threshold tests of O(N^2) each and a bounded exact search, plus
 * the colour coding when that search runs out of budget: O(T 2^k N^2 / 64) with T colourings.
 * With the default 8 classes the runs are short: measured on ResNet50 and InceptionResNetV2
 * (exact accounting, 64 to 512 MiB), a solve takes 0.3 to 0.8 ms on average at N = 50 (1.3 ms
 * at most), 2 ms at N = 100, 0.15 to 0.3 s at N = 1000, where the edge sort dominates.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algo_internal.h"
#include "kpath.h"
#include "partition.h"

#define SEIFER_WORK_LIMIT 2e9
/* Steps of the search for a path's best order (order_run) before it keeps the best so far. */
#define SEIFER_ORDER_BUDGET 200000L

struct run {
	int first; /* first transfer (= first stage) of the run */
	int len;   /* transfers */
};

static int run_cmp(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	if (x->len != y->len)
		return y->len - x->len;
	return x->first - y->first;
}

/* The class of transfer `t` among C bins over [lo, hi] (numpy.digitize on C + 1 edges). */
static int bw_class(double t, double lo, double hi, int classes, enum algo_variant variant)
{
	int cls = 0;

	for (int i = 0; i <= classes; i++) {
		double edge = i == classes ? hi : lo + i * (hi - lo) / classes;

		if (edge <= t)
			cls++;
	}
	if (variant != ALGO_PUBLISHED && cls > classes)
		cls = classes;
	return cls;
}

/*
 * One piece: K-path matching has no transfer to match. Published: node 0 (beta = 0 whatever
 * the node). Corrected: the node whose plan costs least under the problem's cost function
 * (the dispatcher hops and compute time, when they count), the lowest index among equals.
 */
static int place_single(const struct problem *p, enum algo_variant variant, struct plan *out)
{
	double best = INFINITY;
	int best_v = 0;

	for (int v = 0; v < p->cluster->n && variant != ALGO_PUBLISHED; v++) {
		struct plan_cost cost;

		out->stages[0].node = v;
		plan_cost(p, out, &cost, NULL, NULL);
		if (v == 0 || cost.bottleneck_s < best) {
			best = cost.bottleneck_s;
			best_v = v;
		}
	}
	out->stages[0].node = best_v;
	return EP_OK;
}

/*
 * The part of the plan's bottleneck that placing stages a..a+len on nodes[0..len] decides: their
 * compute times and the hops among them, and the hops to the neighbouring stages already placed
 * (node_of >= 0) or to the dispatcher, as the metric counts them.
 */
static double run_cost(const struct problem *p, const struct plan *plan, const int *node_of,
		       int a, int len, const int *nodes)
{
	int k = plan->n_stages, disp = CLUSTER_DISPATCHER(p->cluster);
	double worst = 0;

	for (int i = 0; i <= len; i++) {
		const struct plan_stage *st = &plan->stages[a + i];

		worst = fmax(worst, problem_compute_s(p, st->first_cut, st->end_cut, nodes[i]));
	}
	for (int h = a; h <= a + len + 1; h++) { /* hop h: stage h - 1 -> stage h */
		int from = h == 0 ? disp : h - 1 >= a ? nodes[h - 1 - a] : node_of[h - 1];
		int to = h == k ? disp : h <= a + len ? nodes[h - a] : node_of[h];

		if (from < 0 || to < 0 || ((h == 0 || h == k) && !p->options.count_dispatcher))
			continue;
		worst = fmax(worst, problem_hop_s(p, h == 0 ? 0 : plan->stages[h - 1].end_cut, from,
						  to));
	}
	return worst;
}

struct order {
	const struct problem *p;
	const struct plan *plan;
	const int *node_of;
	int a, len;
	double threshold; /* every edge of an order must have at least this bandwidth */
	const int *set;   /* the path's vertices */
	int cur[64], best[64];
	bool used[64];
	double best_cost;
	long budget;
};

/* Orders of the remaining vertices from position i on; `partial` is the cost of the terms
 * decided by positions 0..i-1 (a lower bound of any completion's), so a branch that reaches
 * the best cost so far is cut. */
static void order_extend(struct order *o, int i, double partial)
{
	const struct problem *p = o->p;
	const struct plan_stage *st = &o->plan->stages[o->a + i];
	int s = o->a + i, disp = CLUSTER_DISPATCHER(p->cluster);

	for (int j = 0; j <= o->len && o->budget > 0; j++) {
		int v = o->set[j], from = i > 0 ? o->cur[i - 1] : s == 0 ? disp : o->node_of[s - 1];
		bool fixed_first = i == 0 && o->node_of[o->a] >= 0;
		bool fixed_last = i == o->len && o->node_of[o->a + o->len] >= 0;
		double c = fmax(partial, problem_compute_s(p, st->first_cut, st->end_cut, v));

		if (o->used[j] || (fixed_first && v != o->node_of[o->a]) ||
		    (fixed_last && v != o->node_of[o->a + o->len]) ||
		    (i > 0 && !(cluster_bw(p->cluster, o->cur[i - 1], v) >= o->threshold)))
			continue;
		o->budget--;
		/* the hop into position i, when its sender is known and the metric counts it */
		if (from >= 0 && (s > 0 || p->options.count_dispatcher))
			c = fmax(c, problem_hop_s(p, s == 0 ? 0 : o->plan->stages[s - 1].end_cut,
						  from, v));
		if (c >= o->best_cost) /* no completion can do better */
			continue;
		o->cur[i] = v;
		if (i == o->len) {
			double total = run_cost(p, o->plan, o->node_of, o->a, o->len, o->cur);

			if (total < o->best_cost) {
				o->best_cost = total;
				memcpy(o->best, o->cur, sizeof(o->best));
			}
			continue;
		}
		o->used[j] = true;
		order_extend(o, i + 1, c);
		o->used[j] = false;
	}
}

/*
 * Corrected: the order of the path's vertices, among those whose every edge has at least the
 * path's bandwidth (so the same max-min threshold) and which keep its fixed ends, that
 * minimises run_cost; ties keep the order found (the path itself is tried first). The
 * reversed path is one of them when no end is fixed. Depth-first over the orders, at most
 * SEIFER_ORDER_BUDGET steps (all of them for the short runs of the usual class counts).
 */
static void order_run(const struct problem *p, const struct plan *plan, const int *node_of,
		      int a, int len, double threshold, int *path)
{
	struct order o = { p, plan, node_of, a, len, threshold, path, { 0 }, { 0 }, { false },
			   0, SEIFER_ORDER_BUDGET };

	if (len < 1 || len + 1 > 64)
		return;
	o.best_cost = run_cost(p, plan, node_of, a, len, path);
	memcpy(o.best, path, (size_t)(len + 1) * sizeof(int));
	order_extend(&o, 0, 0.0);
	memcpy(path, o.best, (size_t)(len + 1) * sizeof(int));
}

enum { SEIFER_BW_CLASSES, SEIFER_FAILURE_PROB, SEIFER_FORCE };

static const struct algo_option seifer_options[] = {
	[SEIFER_BW_CLASSES] = { "bw-classes", "C", "bandwidth classes (default 8)",
				algo_option_parse_int, algo_option_format_int, { .i = 8 }, 1,
				1000 },
	[SEIFER_FAILURE_PROB] = { "failure-prob", "P",
				  "corrected: colour-coding failure bound (default 1e-6)",
				  algo_option_parse_real, algo_option_format_real, { .d = 1e-6 },
				  1e-300, 0.5 },
	[SEIFER_FORCE] = { "force", NULL, "K-path matching beyond its work limit",
			   algo_option_parse_flag, algo_option_format_flag, { .i = 0 }, 0, 1 },
	{ NULL },
};

/* The class of every chosen transfer (step 1): cls[s] for the hop after stage s, from the bins
 * over [min, max] of the transfers of all cut points. */
static void classify_transfers(const struct problem *p, const struct plan *plan, int classes,
			       enum algo_variant variant, int *cls)
{
	double lo = INFINITY, hi = -INFINITY;

	for (int m = 0; m < p->m; m++) {
		lo = fmin(lo, p->transfer_bits[m]);
		hi = fmax(hi, p->transfer_bits[m]);
	}
	for (int s = 0; s + 1 < plan->n_stages; s++)
		cls[s] = bw_class(p->transfer_bits[plan->stages[s].end_cut], lo, hi, classes,
				  variant);
}

/* The maximal runs of each class, classes descending, longest first within a class (step 2).
 * Returns their number. */
static int list_runs(const int *cls, int k, int classes, struct run *runs)
{
	int n_runs = 0;

	for (int x = classes; x >= 1; x--)
		for (int s = 0; s + 1 < k; s++)
			if (cls[s] == x && (s == 0 || cls[s - 1] != x)) {
				int e = s;

				while (e + 1 < k - 1 && cls[e + 1] == x)
					e++;
				runs[n_runs++] = (struct run){ s, e - s + 1 };
			}
	/* Runs of one class are contiguous in `runs` (classes descending): sort each group. */
	for (int a = 0, b; a < n_runs; a = b) {
		for (b = a + 1; b < n_runs && cls[runs[b].first] == cls[runs[a].first]; b++)
			;
		qsort(runs + a, (size_t)(b - a), sizeof(*runs), run_cmp);
	}
	return n_runs;
}

/* The state of K-path matching: which stage has which node, which nodes are still free. */
struct matching {
	const struct problem *p;
	const struct algo_options *o;
	struct plan *plan;
	const int *cls;
	int *node_of; /* [K] the node of each stage, -1 while it has none */
	int *path;    /* [K] scratch: the path of one run */
	bool *usable; /* [N] the nodes no run has taken */
	struct kpath_ws *ws;
	struct kpath_graph g;
	struct kpath_options ko;
};

/* One run's path of len + 1 free nodes (step 2), ordered (corrected), whose nodes then leave the
 * graph (step 3). */
static int match_run(struct matching *mt, int a, int len, gsl_rng *rng, struct ep_error *err)
{
	double bottleneck;
	int rc = kpath_maxmin(mt->ws, &mt->g, len + 1, mt->node_of[a], mt->node_of[a + len],
			      &mt->ko, rng, mt->path, &bottleneck, NULL);

	if (rc == EP_ELIMIT)
		return ep_error_set(err, EP_ELIMIT,
				    "K-path matching for stages %d..%d needs "
				    "colour coding beyond %g operations (or %d colours); "
				    "use more bandwidth classes, or force it",
				    a, a + len, SEIFER_WORK_LIMIT, KPATH_MAX_COLOURS);
	if (rc < 0)
		return ep_error_set(err, rc == EP_ENOMEM ? EP_ENOMEM : EP_EINTERNAL,
				    "K-path search failed for stages %d..%d (%d)", a, a + len, rc);
	if (rc == 0)
		return ep_error_set(err, EP_EINFEASIBLE,
				    "placement failed: no path of %d "
				    "free nodes for stages %d..%d (bandwidth class %d)%s",
				    len + 1, a, a + len, mt->cls[a],
				    mt->o->variant == ALGO_PUBLISHED
					    ? ": the randomised search found none"
					    : "");
	if (mt->o->variant != ALGO_PUBLISHED)
		order_run(mt->p, mt->plan, mt->node_of, a, len, bottleneck, mt->path);
	for (int i = 0; i <= len; i++) {
		mt->node_of[a + i] = mt->path[i];
		mt->usable[mt->path[i]] = false;
	}
	return EP_OK;
}

/* Every run in turn, then every stage's node into the plan, or the stage left without one. */
static int match_runs(struct matching *mt, const struct run *runs, int n_runs, int bw_classes,
		      gsl_rng *rng, struct ep_error *err)
{
	int k = mt->plan->n_stages, n = mt->g.n, rc;

	rc = kpath_ws_prepare(mt->ws, &mt->g);
	if (rc)
		return ep_error_set(err, rc, "out of memory for K-path matching");
	for (int s = 0; s < k; s++)
		mt->node_of[s] = -1;
	for (int v = 0; v < n; v++)
		mt->usable[v] = true;
	for (int r = 0; r < n_runs; r++) {
		rc = match_run(mt, runs[r].first, runs[r].len, rng, err);
		if (rc)
			return rc;
	}
	for (int s = 0; s < k; s++)
		if (mt->node_of[s] < 0)
			return ep_error_set(err, EP_EINFEASIBLE,
					    "placement failed: stage %d has "
					    "no node: its transfers are in class %d, the largest "
					    "transfer's, which K-path matching never places (D5)",
					    s, bw_classes + 1);
	for (int s = 0; s < k; s++)
		mt->plan->stages[s].node = mt->node_of[s];
	return EP_OK;
}

static int seifer_solve(const struct problem *p, const struct algo_options *o, gsl_rng *rng,
			struct plan *out, struct ep_error *err)
{
	int bw_classes = (int)algo_options_int(o, &seifer_options[SEIFER_BW_CLASSES]);
	double failure_prob = algo_options_real(o, &seifer_options[SEIFER_FAILURE_PROB]);
	int n = p->cluster->n, k, rc, n_runs;
	int *cls = NULL;
	struct run *runs = NULL;
	struct matching mt = {.p = p,
			      .o = o,
			      .plan = out,
			      .g = {n, p->cluster->bw_bps, n + 1, NULL},
			      .ko = KPATH_OPTIONS_DEFAULT};

	if (bw_classes < 1)
		return ep_error_set(err, EP_EINVAL, "bandwidth classes %d: must be at least 1",
				    bw_classes);
	if (o->variant != ALGO_PUBLISHED && !(failure_prob > 0 && failure_prob < 1))
		return ep_error_set(err, EP_EINVAL, "failure probability %g: must be in (0, 1)",
				    failure_prob);
	rc = partition_dp(p, o->variant, 0, o->memo, out, err);
	if (rc)
		return rc;
	k = out->n_stages;
	if (k > n) /* the DP keeps K <= N */
		return ep_error_set(err, EP_EINFEASIBLE, "%d pieces for %d nodes", k, n);
	if (k == 1)
		return place_single(p, o->variant, out);
	cls = malloc((size_t)(k - 1) * sizeof(int));
	mt.node_of = malloc((size_t)k * sizeof(int));
	mt.path = malloc((size_t)k * sizeof(int));
	mt.usable = malloc((size_t)n * sizeof(bool));
	runs = malloc((size_t)(k - 1) * sizeof(*runs));
	mt.ws = kpath_ws_create(n, k);
	if (!cls || !mt.node_of || !mt.path || !mt.usable || !runs || !mt.ws) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for K-path matching");
		goto out;
	}
	classify_transfers(p, out, bw_classes, o->variant, cls);
	n_runs = list_runs(cls, k, bw_classes, runs);
	mt.cls = cls;
	mt.g.usable = mt.usable;
	mt.ko.variant = o->variant == ALGO_PUBLISHED ? KPATH_PUBLISHED : KPATH_CORRECTED;
	mt.ko.failure_prob = failure_prob;
	mt.ko.work_limit =
		algo_options_int(o, &seifer_options[SEIFER_FORCE]) ? 0 : SEIFER_WORK_LIMIT;
	rc = match_runs(&mt, runs, n_runs, bw_classes, rng, err);
out:
	free(cls);
	free(mt.node_of);
	free(mt.path);
	free(mt.usable);
	free(runs);
	kpath_ws_destroy(mt.ws);
	return rc;
}

const struct algo algo_seifer = {
	.name = "seifer",
	.summary = "SEIFER: DP partition, then K-path matching by bandwidth class",
	.solve = seifer_solve,
	.options = seifer_options,
};
