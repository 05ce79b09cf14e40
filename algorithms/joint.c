/*
 * joint: partition and placement chosen together against the bottleneck (not the sum of the
 * transfers, which is what the DP partition behind `greedy` and `seifer` minimises).
 *
 * Plans are paths in a layered graph whose states are (cut a, node v): "the next stage runs on v
 * and starts after cut a". For a candidate bottleneck beta, a feasibility check walks the cuts in
 * order; a stage may run from a state to any later cut that fits v's memory with its compute
 * time <= beta, and hand over to any node x not yet on the path with hop(cut, v, x) <= beta.
 * Each state keeps up to B paths (labels): fewer stages first (they leave more nodes free), then
 * the smaller bottleneck so far, and never two with the same set of nodes (they would have the
 * same futures), so the kept paths are different choices of nodes and one of them can usually
 * avoid a node that a continuation needs. B is 16 for N <= 12 and 4 above. The nodes of a path
 * are marked before it is extended, so every plan the check returns is valid.
 *
 * The candidate bottlenecks are searched by bisection between a lower bound and the best plan
 * known, starting with greedy's: the upper end moves to the cost of each plan found (a hop or
 * compute time of the instance, so a real candidate value), the lower end to each beta that
 * failed, until they are within JOINT_REL_TOL of each other. The first probe is the lower
 * bound itself.
 *
 * The lower bound is the layered problem with the distinctness of non-consecutive stages'
 * nodes relaxed, solved exactly by a min-max DP over (cut, node): every valid plan is a path
 * there, so no plan beats it. When the plan found reaches it, the plan is proven optimal and the
 * search stops at once, which is what happens on most zoo instances.
 *
 * Keeping B paths per state is what makes the check polynomial and what makes it a heuristic:
 * the check can say "no" at a beta that some plan meets (all kept paths to a state may use a
 * node that the only good continuation needs), and with heterogeneous memories it can even miss
 * every plan although one exists ("infeasible" from joint is then not a proof; optimal's is).
 *
 * Not exact, for the published metric either: distinctness of nodes is what makes the problem
 * hard, and the B labels per state can drop the only path that avoids a node a continuation
 * needs, whatever the metric. Measured against the proven optimum (`optimal`) over the whole
 * published ITNAC grid (4 models x 64..512 MiB x N = 5..50 x 50 trials of seed 2022,
 * tests/bench_optimal.c; instances with b_opt > 0): published metric, exact accounting: 21 of
 * 2200 instances not optimal, mean gap 0.037 %, largest 20.5 %; published metric and
 * accounting (the sweep's published variant): 1 of 1950, mean 0.0003 %, largest 0.58 %; full
 * metric, exact accounting (the corrected variant): 5 of 3950, mean 0.004 %, largest 10.2 %;
 * full metric, published accounting: 0 of 3950. Every miss is on InceptionResNetV2 at N >= 15.
 *
 * Never worse than `greedy`: joint runs algo_greedy (through its registry struct, in the
 * corrected variant, whose plans are valid), checks that plan with plan_check and starts from it;
 * it only ever replaces it by a strictly cheaper valid plan. So whenever greedy finds a plan,
 * joint finds one with a bottleneck no larger (tests/test_joint_defer.c checks this).
 *
 * How close to optimal (tests/bench_algorithms.c, "gaps"; gap = (joint - optimal) / optimal
 * over the instances where optimal has a plan):
 * - the zoo: 15 models x N in {3, 5, 8, 10} x 64/128/256/512 MiB x 5 trials on geometric
 *   clusters, corrected algorithms. Corrected setting (exact accounting, full metric): 980
 *   instances with a plan, joint optimal on all 980 (mean gap 0 %, max 0 %). Published setting
 *   (published accounting, inter-stage hops only): 1115 instances, optimal on all (mean and max
 *   0 %). For comparison greedy: mean 1.4 %, max 110 % (corrected); 0.37 %, 56 % (published).
 *   The zoo result was also checked against the DP run without joint's bound: identical.
 * - 3000 random small instances (tests/tiny_instance.h: heterogeneous memories and speeds,
 *   latencies, random metric options), harder: 2551 with a plan, joint finds a plan on all of
 *   them and the optimal one on 98.9 %, mean gap 0.19 %, max 68 %.
 * For the choice of B: with B = 4 for every N the zoo is unchanged and the random instances give
 * 96.2 %, 0.68 %, 195 %; with one path per state (B = 1) the zoo gives mean 0.05 % / 0.14 %,
 * max 18 % / 31 % (corrected / published) and the random instances 87.6 %, 3.9 %, 476 %.
 *
 * Complexity: O(N^2 log N) to sort each node's links by bandwidth; a check costs
 * O(m N B^2 (L + N)), L <= m the most segments a stage can hold (stage ends from every start,
 * then hops to every node, each offer O(B)), with early exits on the bandwidth-sorted lists once
 * hops exceed beta; the lower bound O(m N (L + N + log N)); at most JOINT_MAX_CHECKS checks
 * (about log2(gap / JOINT_REL_TOL) when the bound is not met, none when it is); plus greedy.
 * Measured (bench_algorithms, 2 cores): ResNet50 and InceptionResNetV2 at N = 50, 128 MiB,
 * about 0.6 and 4 ms; at N = 1000 about 0.2 s. Memory O(N^2 + m N B).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ep_util.h"
#include "algo_internal.h"

/* The bisection stops when hi - lo <= JOINT_REL_TOL * hi: plans within that are not told apart. */
#define JOINT_REL_TOL	 1e-6
#define JOINT_MAX_CHECKS 80
/* Paths kept per state: many where N is small (the check is cheap there and the nodes are
 * scarce, so alternative paths matter most), a few where N is large. At most 32: a bit per
 * label marks paths. */
#define JOINT_LABELS_SMALL_N 16
#define JOINT_LABELS_LARGE_N 4
#define JOINT_SMALL_N	     12

/*
 * A set of up to `width` labels, best first; stages == 0 marks an empty slot. A label is a
 * path: its stage count, its bottleneck so far, a reference to the label it extends (for a state
 * label: the label of the previous stage's state; for an end label: the state label whose stage
 * ends here) and a 64-bit hash of its set of nodes. Two paths to one state with the same set of
 * nodes have the same futures, so a set keeps only the better of them: its labels are different
 * choices of nodes, which is what lets one of them avoid a node that a continuation needs.
 */
struct joint_labels {
	int width; /* slots per set */
	int *stages;
	double *val;
	int *ref;
	uint64_t *set;
};

/* A node with a sort key: a link's bandwidth, or minus a bound. */
struct joint_item {
	double key;
	int node;
};

struct joint_ws {
	int n, m;
	int nl; /* labels per state */
	/* [n][n-1] the other nodes by outgoing bandwidth, highest first, with the bandwidth
	 * and latency of each link, side by side for the inner loop */
	int *order;
	double *order_bw, *order_lat;
	double *lat_min; /* [n] lowest latency out of each node */
	int *max_end;	 /* [n][m] last cut a stage starting after a can end with on v */
	int *min_start;	 /* [n][m] first cut a stage ending with b can start after on v */
	/* state (a, v), v running the stage after cut a: labels [(a n + v) B + j]; a state
	 * label's ref is a state label index, or -1 for the first stage */
	struct joint_labels st;
	/* ends at the current cut b, per node v: labels [v B + j]; ref is the index of the state
	 * label (a, v) whose stage ends with b */
	struct joint_labels end;
	/* [n] which end labels' paths hold a node: mark_bits, valid where mark_stamp == stamp */
	unsigned *mark_stamp, *mark_bits;
	unsigned stamp;
	int *path;		  /* [n] state label indices of a plan being rebuilt */
	double *lb;		  /* [m][n] the relaxation's values */
	double *lb_end;		  /* [n] */
	struct joint_item *items; /* [2 n] sorting scratch */
	struct plan cand;
};

static int labels_alloc(struct joint_labels *l, int width, size_t sets)
{
	size_t count = (size_t)width * sets;

	l->width = width;
	l->stages = malloc(count * sizeof(int));
	l->val = malloc(count * sizeof(double));
	l->ref = malloc(count * sizeof(int));
	l->set = malloc(count * sizeof(uint64_t));
	return l->stages && l->val && l->ref && l->set ? EP_OK : EP_ENOMEM;
}

static void labels_free(struct joint_labels *l)
{
	free(l->stages);
	free(l->val);
	free(l->ref);
	free(l->set);
}

static void joint_ws_release(struct joint_ws *w)
{
	free(w->order);
	free(w->order_bw);
	free(w->order_lat);
	free(w->lat_min);
	free(w->max_end);
	free(w->min_start);
	labels_free(&w->st);
	labels_free(&w->end);
	free(w->mark_stamp);
	free(w->mark_bits);
	free(w->path);
	free(w->lb);
	free(w->lb_end);
	free(w->items);
	plan_release(&w->cand);
}

/* Larger key first; among equals the lower node, so the order is deterministic. */
static inline bool item_before(const struct joint_item *a, const struct joint_item *b)
{
	return a->key > b->key || (a->key == b->key && a->node < b->node);
}

/* Bottom-up merge sort of l[0..k) with scratch tmp[0..k); the result ends in l. A plain loop
 * with the comparison inlined: qsort's callback made it a fifth of the time at N = 1000. */
static void items_sort(struct joint_item *l, struct joint_item *tmp, int k)
{
	struct joint_item *src = l, *dst = tmp;

	for (int width = 1; width < k; width *= 2) {
		for (int lo = 0; lo < k; lo += 2 * width) {
			int mid = lo + width < k ? lo + width : k;
			int hi = lo + 2 * width < k ? lo + 2 * width : k;
			int i = lo, j = mid, o = lo;

			while (i < mid && j < hi)
				dst[o++] = item_before(&src[j], &src[i]) ? src[j++] : src[i++];
			while (i < mid)
				dst[o++] = src[i++];
			while (j < hi)
				dst[o++] = src[j++];
		}
		src = src == l ? tmp : l;
		dst = dst == l ? tmp : l;
	}
	if (src != l)
		memcpy(l, src, (size_t)k * sizeof(*l));
}

static int joint_ws_init(struct joint_ws *w, const struct problem *p, struct ep_error *err)
{
	const struct cluster *c = p->cluster;
	int n = c->n, m = p->m;
	size_t nm = (size_t)n * (size_t)m, links = (size_t)n * (size_t)(n > 1 ? n - 1 : 1);

	w->n = n;
	w->m = m;
	w->order = malloc(links * sizeof(int));
	w->order_bw = malloc(links * sizeof(double));
	w->order_lat = malloc(links * sizeof(double));
	w->lat_min = malloc((size_t)n * sizeof(double));
	w->max_end = malloc(nm * sizeof(int));
	w->min_start = malloc(nm * sizeof(int));
	w->mark_stamp = calloc((size_t)n, sizeof(unsigned));
	w->mark_bits = malloc((size_t)n * sizeof(unsigned));
	w->path = malloc((size_t)n * sizeof(int));
	w->lb = malloc(nm * sizeof(double));
	w->lb_end = malloc((size_t)n * sizeof(double));
	w->items = malloc(2 * (size_t)n * sizeof(*w->items));
	plan_init(&w->cand);
	w->nl = n <= JOINT_SMALL_N ? JOINT_LABELS_SMALL_N : JOINT_LABELS_LARGE_N;
	if (labels_alloc(&w->st, w->nl, nm) || labels_alloc(&w->end, w->nl, (size_t)n) ||
	    !w->order || !w->order_bw || !w->order_lat || !w->lat_min || !w->max_end ||
	    !w->min_start || !w->mark_stamp || !w->mark_bits || !w->path || !w->lb || !w->lb_end ||
	    !w->items)
		return ep_error_set(err, EP_ENOMEM, "out of memory for %d nodes", n);
	for (int v = 0; v < n; v++) {
		int k = 0;

		w->lat_min[v] = INFINITY;
		for (int x = 0; x < n; x++) {
			if (x == v)
				continue;
			w->items[k++] = (struct joint_item){cluster_bw(c, v, x), x};
			if (cluster_latency(c, v, x) < w->lat_min[v])
				w->lat_min[v] = cluster_latency(c, v, x);
		}
		items_sort(w->items, w->items + n, k);
		for (int i = 0; i < k; i++) {
			size_t at = (size_t)v * (size_t)(n - 1) + (size_t)i;

			w->order[at] = w->items[i].node;
			w->order_bw[at] = w->items[i].key;
			w->order_lat[at] = cluster_latency(c, v, w->items[i].node);
		}
	}
	for (int v = 0; v < n; v++) {
		int *me = w->max_end + (size_t)v * (size_t)m,
		    *ms = w->min_start + (size_t)v * (size_t)m;
		int a = 0;

		for (int x = 0; x < m; x++)
			me[x] = x < m - 1 ? problem_max_end(p, x, v) : x;
		/* max_end is non-decreasing in a (a later start holds less), so the first a that
		 * reaches b only moves forward as b grows. */
		for (int b = 0; b < m; b++) {
			while (a < b && me[a] < b)
				a++;
			ms[b] = a; /* == b when no stage ending with b fits */
		}
	}
	return EP_OK;
}

/* Fewer stages first (they leave more nodes free), then the smaller bottleneck so far. */
static inline bool better(int stages, double val, int old_stages, double old_val)
{
	return !old_stages || stages < old_stages || (stages == old_stages && val < old_val);
}

/* A node's key in the set hashes (splitmix64's finaliser): a set hashes to the XOR of its keys. */
static inline uint64_t node_key(int v)
{
	return ep_mix64((uint64_t)v * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL);
}

/* Offer a label to the set at l + base (l->width slots, best first). */
static void labels_offer(struct joint_labels *l, size_t base, int stages, double val, int ref,
			 uint64_t set)
{
	int *ls = l->stages + base, *lr = l->ref + base;
	uint64_t *lset = l->set + base;
	double *lv = l->val + base;
	int width = l->width, pos = width, same = -1;

	/* Most offers lose to a full set's last label: say so at once. */
	if (ls[width - 1] && !better(stages, val, ls[width - 1], lv[width - 1]))
		return;
	for (int j = 0; j < width && ls[j]; j++)
		if (lset[j] == set) {
			same = j;
			break;
		}
	if (same >= 0 && !better(stages, val, ls[same], lv[same]))
		return;
	for (int j = 0; j < width; j++)
		if (better(stages, val, ls[j], lv[j])) {
			pos = j;
			break;
		}
	if (pos == width)
		return;
	/* Shift down from pos, over the label with the same set if there is one, else over
	 * the last slot. */
	for (int j = same >= 0 ? same : width - 1; j > pos; j--) {
		ls[j] = ls[j - 1];
		lv[j] = lv[j - 1];
		lr[j] = lr[j - 1];
		lset[j] = lset[j - 1];
	}
	ls[pos] = stages;
	lv[pos] = val;
	lr[pos] = ref;
	lset[pos] = set;
}

/* The best state labels (a, v) whose stage can end with cut b, for every v, into w->end. */
static void joint_ends(struct joint_ws *w, const struct problem *p, int b, double beta)
{
	int n = w->n, m = w->m;

	for (int v = 0; v < n; v++) {
		size_t base = (size_t)v * (size_t)w->nl;

		for (int j = 0; j < w->nl; j++)
			w->end.stages[base + (size_t)j] = 0;
		for (int a = w->min_start[(size_t)v * (size_t)m + (size_t)b]; a < b; a++) {
			size_t st = ((size_t)a * (size_t)n + (size_t)v) * (size_t)w->nl;
			double c;

			if (!w->st.stages[st])
				continue;
			c = problem_compute_s(p, a, b, v);
			if (c > beta)
				continue;
			for (int j = 0; j < w->nl && w->st.stages[st + (size_t)j]; j++) {
				size_t l = st + (size_t)j;
				double val = c > w->st.val[l] ? c : w->st.val[l];

				labels_offer(&w->end, base, w->st.stages[l], val, (int)l,
					     w->st.set[l]);
			}
		}
	}
}

/* Rebuild the plan whose last stage is state label `label`, into out. */
static int joint_rebuild(struct joint_ws *w, int label, struct plan *out)
{
	int n = w->n, m = w->m, k = 0;

	for (int l = label; l >= 0; l = w->st.ref[l])
		w->path[k++] = l / w->nl;
	plan_clear(out);
	for (int i = k - 1; i >= 0; i--) {
		int sa = w->path[i] / n, node = w->path[i] % n;
		int sb = i > 0 ? w->path[i - 1] / n : m - 1;

		if (plan_push(out, sa, sb, node))
			return EP_ENOMEM;
	}
	return EP_OK;
}

/* Mark the nodes on the path of each of the `labels` end labels of node v: bit j of
 * mark_bits[u] for label j, valid where mark_stamp[u] is the current stamp. */
static void joint_mark_paths(struct joint_ws *w, size_t e0, int labels)
{
	if (++w->stamp == 0) {
		memset(w->mark_stamp, 0, (size_t)w->n * sizeof(unsigned));
		w->stamp = 1;
	}
	for (int j = 0; j < labels; j++)
		for (int l = w->end.ref[e0 + (size_t)j]; l >= 0; l = w->st.ref[l]) {
			int u = (l / w->nl) % w->n;

			if (w->mark_stamp[u] != w->stamp) {
				w->mark_stamp[u] = w->stamp;
				w->mark_bits[u] = 0;
			}
			w->mark_bits[u] |= 1u << j;
		}
}

/* The hops with cut b's tensor from node v's end labels to every node x not on their paths,
 * as state labels (b, x), while they stay within beta; the nodes in order of bandwidth. */
static void joint_hops(struct joint_ws *w, double bits, int b, int v, double beta)
{
	int n = w->n, labels = 0;
	size_t row = (size_t)v * (size_t)(n - 1), e0 = (size_t)v * (size_t)w->nl;
	const int *ord = w->order + row;
	const double *obw = w->order_bw + row, *olat = w->order_lat + row;

	while (labels < w->nl && w->end.stages[e0 + (size_t)labels])
		labels++;
	if (!labels)
		return;
	joint_mark_paths(w, e0, labels);
	for (int i = 0; i < n - 1; i++) {
		int x = ord[i];
		/* problem_hop_s's arithmetic, on the sorted copy */
		double t = bits > 0 ? bits / obw[i] + olat[i] : 0;
		size_t to = ((size_t)b * (size_t)n + (size_t)x) * (size_t)w->nl;
		unsigned on_path = w->mark_stamp[x] == w->stamp ? w->mark_bits[x] : 0;

		if (t > beta) {
			/* The rest of the list has less bandwidth: if even the lowest latency
			 * cannot bring it under beta, nothing further can. */
			if (bits / obw[i] + w->lat_min[v] > beta)
				break;
			continue;
		}
		for (int j = 0; j < labels; j++) {
			size_t e = e0 + (size_t)j;
			double val = t > w->end.val[e] ? t : w->end.val[e];

			if (!(on_path & (1u << j)))
				labels_offer(&w->st, to, w->end.stages[e] + 1, val, w->end.ref[e],
					     w->end.set[e] ^ node_key(x));
		}
	}
}

/* The best end label of the last stage whose hop back to the dispatcher keeps it within beta
 * (fewer stages first, then the smaller bottleneck); its state label, or -1. */
static int joint_final(struct joint_ws *w, const struct problem *p, double beta)
{
	int n = w->n, m = w->m, fin_label = -1, fin_stages = 0;
	double fin_val = INFINITY;

	for (int v = 0; v < n; v++) {
		double t = p->options.count_dispatcher ? problem_hop_s(p, m - 1, v, n) : 0;

		for (int j = 0; j < w->nl; j++) {
			size_t e = (size_t)v * (size_t)w->nl + (size_t)j;
			double val;

			if (!w->end.stages[e])
				break;
			val = t > w->end.val[e] ? t : w->end.val[e];
			if (val <= beta && better(w->end.stages[e], val, fin_stages, fin_val)) {
				fin_label = w->end.ref[e];
				fin_stages = w->end.stages[e];
				fin_val = val;
			}
		}
	}
	return fin_label;
}

/*
 * Is there a plan with every counted term <= beta, as far as w->nl paths per state can
 * tell? On success the plan is in out and the call returns 1; 0 if none was found; EP_ENOMEM.
 */
static int joint_check(struct joint_ws *w, const struct problem *p, double beta, struct plan *out)
{
	int n = w->n, m = w->m, disp = n, fin_label;

	memset(w->st.stages, 0, (size_t)n * (size_t)m * (size_t)w->nl * sizeof(int));
	for (int v = 0; v < n; v++) {
		double t = p->options.count_dispatcher ? problem_hop_s(p, 0, disp, v) : 0;

		if (t <= beta)
			labels_offer(&w->st, (size_t)v * (size_t)w->nl, 1, t, -1, node_key(v));
	}
	for (int b = 1; b < m; b++) {
		joint_ends(w, p, b, beta);
		if (b == m - 1)
			break;
		for (int v = 0; v < n; v++)
			joint_hops(w, p->wire_bits[b], b, v, beta);
	}
	fin_label = joint_final(w, p, beta);
	if (fin_label < 0)
		return 0;
	return joint_rebuild(w, fin_label, out) ? EP_ENOMEM : 1;
}

/*
 * The relaxation: the least bottleneck over paths of states in which consecutive stages are on
 * different nodes but a node may come back later. Every valid plan is such a path, so the value
 * is a lower bound on the optimum. Only values below `hi` (a plan's cost) are of interest: a
 * path's value never decreases along it, so prefixes at or above hi are dropped, and hi is
 * returned when nothing is below it (then the plan of cost hi is optimal).
 */
static double joint_lower_bound(struct joint_ws *w, const struct problem *p, double hi)
{
	int n = w->n, m = w->m, disp = n;
	bool count_disp = p->options.count_dispatcher;
	double *endv = w->lb_end, result = hi;

	for (size_t i = 0; i < (size_t)n * (size_t)m; i++)
		w->lb[i] = INFINITY;
	for (int v = 0; v < n; v++) {
		double t = count_disp ? problem_hop_s(p, 0, disp, v) : 0;

		w->lb[v] = t < hi ? t : INFINITY;
	}
	for (int b = 1; b < m; b++) {
		double *cell = w->lb + (size_t)b * (size_t)n, bits = p->wire_bits[b];
		double cell_max = INFINITY;
		int k = 0, reached = 0;

		for (int v = 0; v < n; v++) {
			endv[v] = INFINITY;
			for (int a = w->min_start[(size_t)v * (size_t)m + (size_t)b]; a < b; a++) {
				double val = w->lb[(size_t)a * (size_t)n + (size_t)v], c;

				if (!(val < endv[v]))
					continue;
				c = problem_compute_s(p, a, b, v);
				val = c > val ? c : val;
				if (val < endv[v] && val < hi)
					endv[v] = val;
			}
		}
		if (b == m - 1)
			break;
		/* Cheapest ends first: once an end is no cheaper than every cell of cut b, neither
		 * it nor any later one can lower a cell. */
		for (int v = 0; v < n; v++)
			if (endv[v] < INFINITY)
				w->items[k++] = (struct joint_item){-endv[v], v};
		items_sort(w->items, w->items + n, k);
		for (int i = 0; i < k && -w->items[i].key < cell_max; i++) {
			int v = w->items[i].node;
			size_t row = (size_t)v * (size_t)(n - 1);
			double e = endv[v];

			for (int j = 0; j < n - 1; j++) {
				/* problem_hop_s's arithmetic, on the sorted copy */
				double t = bits > 0 ? bits / w->order_bw[row + (size_t)j] +
							      w->order_lat[row + (size_t)j]
						    : 0;
				int x = w->order[row + (size_t)j];

				if (t >= hi) {
					/* Less bandwidth further on (see joint_check). */
					if (bits / w->order_bw[row + (size_t)j] + w->lat_min[v] >=
					    hi)
						break;
					continue;
				}
				t = t > e ? t : e;
				if (t < cell[x]) {
					reached += cell[x] == INFINITY;
					cell[x] = t;
				}
			}
			if (reached == n) {
				cell_max = 0;
				for (int x = 0; x < n; x++)
					cell_max = cell[x] > cell_max ? cell[x] : cell_max;
			}
		}
	}
	for (int v = 0; v < n; v++) {
		double t = count_disp ? problem_hop_s(p, m - 1, v, disp) : 0;
		double val = t > endv[v] ? t : endv[v];

		if (val < result)
			result = val;
	}
	return result;
}

/* Keep `cand` in out when it is valid and strictly cheaper than *best. */
static int keep_if_better(const struct problem *p, const struct plan *cand, struct plan *out,
			  double *best)
{
	struct plan_cost cost;

	if (cand->n_stages == 0 || plan_check(p, cand, NULL, NULL) != EP_OK)
		return EP_OK;
	plan_cost(p, cand, &cost, NULL, NULL);
	if (!(cost.bottleneck_s < *best))
		return EP_OK;
	*best = cost.bottleneck_s;
	return plan_copy(out, cand);
}

static int joint_solve(const struct problem *p, const struct algo_options *o, gsl_rng *rng,
		       struct plan *out, struct ep_error *err)
{
	struct joint_ws w = {0};
	struct algo_options go = *o;
	double best = INFINITY, lo, hi;
	int rc;

	plan_clear(out);
	ep_error_clear(err);
	rc = joint_ws_init(&w, p, err);
	if (rc)
		goto done;

	/* greedy's plan first: joint returns something at least as good. */
	go.variant = ALGO_CORRECTED;
	rc = algo_greedy.solve(p, &go, rng, &w.cand, err);
	if (rc == EP_ENOMEM)
		goto done;
	ep_error_clear(err);
	if (rc == EP_OK && (rc = keep_if_better(p, &w.cand, out, &best)))
		goto done;

	/* Without greedy's plan, a first one from the check without a threshold. */
	if (out->n_stages == 0) {
		rc = joint_check(&w, p, INFINITY, &w.cand);
		if (rc < 0)
			goto done;
		if (rc == 1 && (rc = keep_if_better(p, &w.cand, out, &best)))
			goto done;
	}
	rc = EP_OK;
	if (out->n_stages == 0) {
		rc = ep_error_set(err, EP_EINFEASIBLE,
				  "found no plan: no tiling of the %d cut points into stages on "
				  "distinct nodes that fit their memory (%d nodes)",
				  p->m, p->cluster->n);
		goto done;
	}

	hi = best;
	lo = joint_lower_bound(&w, p, hi);
	for (int i = 0; i < JOINT_MAX_CHECKS && hi - lo > JOINT_REL_TOL * hi; i++) {
		/* The first probe is the bound itself: a plan there is optimal. */
		double beta = i == 0 ? lo : lo + (hi - lo) / 2;
		int found = joint_check(&w, p, beta, &w.cand);

		if (found < 0) {
			rc = found;
			goto done;
		}
		if (found && (rc = keep_if_better(p, &w.cand, out, &best)))
			goto done;
		if (found && best < hi)
			hi = best;
		else
			lo = beta;
	}
done:
	/* The checks and plan copies return the bare code; workspace and greedy say more. */
	if (rc == EP_ENOMEM && err && !err->msg[0])
		ep_error_set(err, EP_ENOMEM, "out of memory for a plan");
	joint_ws_release(&w);
	return rc;
}

const struct algo algo_joint = {
	.name = "joint",
	.summary =
		"partition and placement together against the bottleneck; never worse than greedy",
	.solve = joint_solve,
};
