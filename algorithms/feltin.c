/*
 * feltin: Feltin, Marché, Cordero-Fuertes, Brockners and Clausen, "DNN partitioning for inference
 * throughput acceleration at the edge" (IEEE Access 2023; their code: the `wedge` repository,
 * wedge-orchestrator/placement/placement.py), in both variants.
 *
 * Their model, on this project's problem:
 * - The model is a chain of super-layers: everything between two cut points (articulation points
 *   of the tensor graph: a residual block, an inception module) is one layer. These are the
 *   problem's segments: segment j (1 <= j <= m-1) computes the layers after cut j-1 through cut
 *   j and sends transfer_bits[j] to segment j + 1.
 * - An assignment puts every segment on a node; its stages are the maximal runs of consecutive
 *   segments on one node. A node's term is the compute time of all its segments (several runs
 *   add up when nodes are shared), a directed link's term the sum of the hops over it, a hop
 *   inside a node costs 0; T = the largest term, throughput 1 / T. That is plan_cost with the
 *   problem's shared_nodes option (their `parallel`), and without it when every run has its own
 *   node. Which terms count is the problem's metric: Feltin's own is PROBLEM_OPTIONS_FELTIN
 *   (`--metric feltin`: compute and inter-stage hops, no dispatcher); with the dispatcher hops
 *   counted, the hop into the first stage is a transfer of the first segment.
 * - Compute comes from the problem's compute source (problem_stage_s: FLOPs / speed, or
 *   measured time / speed factor; the bounds read the same cum_compute and node_rate). Their
 *   per-layer work is measured duration x threads x CPU frequency: the cycles of every thread
 *   the layer ran on, not the time it took, so a layer timed on 4 threads counts 4 times its
 *   wall time. We do not reproduce that inflation in either variant: a measured profile
 *   enters through the problem's compute source (its medians / speed factor) like FLOPs do.
 * - `max_split` (options->max_split, default 5) bounds the number of cuts; `parallel` (the
 *   problem's shared_nodes, `--parallel`) lets a node hold several non-contiguous runs.
 *
 * --variant published, their branch and bound as their code runs it:
 *   the first incumbent is the best single node (the first among equals); a FIFO queue (breadth
 *   first) starts with every one-segment prefix; popping a prefix of d < L segments, each of its
 *   N children (segment d + 1 on node 0 .. N-1) is kept when its bound, the largest transfer
 *   term among its assigned segments (their max_Tt of the prefix's completion), is below the
 *   incumbent, and its completion (every remaining segment on the last used node, so every
 *   prefix is a feasible plan) replaces the incumbent when strictly better; then the kept
 *   children with fewer than max_split cuts are queued, only when max_split > 0, and without
 *   `parallel` only those that never return to a node they left. What this reproduces:
 *   P1 the bound ignores compute: it is valid (transfers only grow along a prefix) but loose,
 *      so when compute binds almost nothing is pruned;
 *   P2 breadth first: the queue holds a whole level of the tree, exponential in its depth;
 *   P3 the `parallel` filter applies only to what is queued: a child that returns to a node it
 *      left is still evaluated as a completion and may become the answer without `parallel`
 *      (a repeated-node defect in plan_check);
 *   P4 max_split <= 0 still lets the roots' children, one cut, be evaluated;
 *   P5 memory is not modelled: plans may exceed a node's memory.
 *   (Their code also reads each link's bandwidth for both directions from one undirected entry;
 *   our links are the cluster's directed ones, in both variants.)
 *
 * --variant corrected (the default) changes:
 *   C1 the bound of a prefix counts compute too: every term it has fixed (the compute of the
 *      runs it closed and of the open run, the hops it made), the remaining segments' work over
 *      the fastest nodes that can still take it (at most max_split - cuts more runs), and, when
 *      the dispatcher counts, the cheapest hop back from a node that can still end the plan;
 *   C2 depth first over runs (choose where the run ends, largest first, then the next node,
 *      cheapest hop first), so memory is O(L + N) per level and good incumbents come early;
 *   C3 a plan is only a candidate when it obeys the options: no node reused without `parallel`,
 *      at most max_split cuts (0 means one stage), every node's stages within its memory (the
 *      problem's memory test), and prefixes that cannot fit the rest of the model are cut off.
 *   Both are exact over the plans they consider; the corrected one answers the problem as posed.
 *   Both stop with EP_ELIMIT after FELTIN_WORK_LIMIT child evaluations (the published one also
 *   when its queue passes FELTIN_QUEUE_LIMIT prefixes) unless options->force.
 *
 * Complexity: exponential in the worst case for both: at most sum over k <= max_split of
 * C(L-1, k) N (N-1)^k assignments (N nodes, L = m - 1 segments), times O(runs^2) per child in
 * the published variant, O(runs + N) in the corrected one plus O(N log N) per expansion to order
 * the next nodes and O(max_split m^2) once for the partition bound. Memory: the published queue,
 * up to FELTIN_QUEUE_LIMIT entries of 2 (max_split + 2) ints; the corrected search O(max_split N).
 * Measured (tests/bench_feltin, Feltin's metric, ResNet50 and InceptionV3, uniform 100 Mbit/s to
 * 1 Gbit/s, 5 GFLOP/s; on this project's loaded 2-core machine): the corrected variant solves
 * every cell, N = 2 .. 50 and max_split 1 .. 8, in 0.03 to 2.6 ms, equal to `optimal` wherever
 * max_split + 1 >= N (optimal: 1 to 173 ms, joint 0.8 to 150 ms, at N <= 10); the published one
 * stops at its work limit (0.6 to 1.8 s) from N = 5 with max_split >= 3, and at N = 2 and 3 its
 * answers are 0.2 to 5.8 % below optimal's because they reuse a node (P3): invalid plans.
 * On the ITNAC grid (full metric, compute not modelled, 64 to 512 MiB, N up to 50) the corrected
 * variant takes 1.4 ms on average, 44 ms at most, and never reaches the limit.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "algo_internal.h"

/* Child evaluations before EP_ELIMIT. */
#define FELTIN_WORK_LIMIT 2e6
/* Prefixes the published breadth-first queue may hold before EP_ELIMIT (at max_split 5,
 * 56 bytes each: 112 MiB). */
#define FELTIN_QUEUE_LIMIT (1 << 21)

struct fl_run {
	int node;
	int end; /* the run computes the segments after the previous run's end through cut `end` */
};

struct fl_ws {
	const struct problem *p;
	const struct algo_options *o;
	int n, m;
	int max_split; /* its option --max-split */
	bool shared;
	double work, work_limit;
	double *node_s;   /* [n] scratch: compute per node */
	/* the best plan so far */
	double best;
	struct fl_run *best_runs;
	int best_nr, max_runs;
	/* corrected search */
	struct fl_run *runs;  /* [max_runs] the current prefix */
	double *node_mem;     /* [n] memory of the closed runs on each node */
	unsigned char *used;  /* [n] runs on each node (closed or open) */
	int *by_speed;        /* [n] nodes by speed, fastest first */
	struct fl_cand *cand; /* [max_runs][n] next nodes per level */
	double *cand_room;    /* [n] scratch of rest_bound, all 0 between calls */
	/* lp[k * m + b]: the least, over the ways to cut the model after cut b into at most k
	 * runs, of the largest run compute at the fastest speed and hop at the widest link (C1) */
	double *lp;
};

/* Completion time of cut `end` of the run: the last run ends at the output. */
static inline int run_start(const struct fl_run *runs, int r)
{
	return r ? runs[r - 1].end : 0;
}

/* Sum of the counted hops over the directed link (from, to) among hops 1 .. upto-1 (the hop
 * into run r goes from run r-1's node at cut runs[r-1].end). */
static double link_sum(const struct problem *p, const struct fl_run *runs, int upto, int from,
		       int to)
{
	double sum = 0;

	for (int r = 1; r < upto; r++)
		if (runs[r - 1].node == from && runs[r].node == to)
			sum += problem_hop_s(p, runs[r - 1].end, from, to);
	return sum;
}

/*
 * Their evaluation of a prefix of `nr` runs (the last may end before the output): `total` the
 * bottleneck of its completion (the last run extended to the output) under their model (node
 * and link sums); `bound` the largest counted transfer term among the assigned segments (the
 * dispatcher hop into the first run when it counts, the links between runs), the published
 * bound. Either pointer may be NULL. node_s is scratch of n doubles.
 */
static void fl_evaluate(const struct problem *p, const struct fl_run *runs, int nr,
			double *node_s, double *total, double *bound)
{
	const struct problem_options *o = &p->options;
	int m = p->m, disp = CLUSTER_DISPATCHER(p->cluster);
	double b = 0, t;

	if (o->count_dispatcher)
		b = problem_hop_s(p, 0, disp, runs[0].node);
	for (int r = 1; r < nr; r++) {
		int from = runs[r - 1].node, to = runs[r].node;
		bool first = true;

		for (int q = 1; q < r; q++) /* sum each link once, at its first hop */
			if (runs[q - 1].node == from && runs[q].node == to)
				first = false;
		if (first)
			b = fmax(b, link_sum(p, runs, nr, from, to));
	}
	if (bound)
		*bound = b;
	if (!total)
		return;
	t = b;
	for (int r = 0; r < nr; r++)
		node_s[runs[r].node] = 0;
	for (int r = 0; r < nr; r++) {
		int end = r == nr - 1 ? m - 1 : runs[r].end;

		node_s[runs[r].node] += problem_stage_s(p, run_start(runs, r), end, runs[r].node);
	}
	for (int r = 0; r < nr && o->count_compute; r++)
		t = fmax(t, node_s[runs[r].node]);
	if (o->count_dispatcher)
		t = fmax(t, problem_hop_s(p, m - 1, runs[nr - 1].node, disp));
	*total = t;
}

/* Feltin's published bound and completion of an assignment prefix (algo_internal.h). */
void feltin_prefix_eval(const struct problem *p, const int *node_of, int d, double *total,
			double *bound)
{
	struct fl_run runs[FELTIN_EVAL_MAX_SEGMENTS];
	double node_s[FELTIN_EVAL_MAX_NODES];
	int nr = 0;

	for (int j = 1; j <= d; j++) {
		if (nr && runs[nr - 1].node == node_of[j - 1])
			runs[nr - 1].end = j;
		else
			runs[nr++] = (struct fl_run){ node_of[j - 1], j };
	}
	fl_evaluate(p, runs, nr, node_s, total, bound);
}

static void keep_best(struct fl_ws *w, const struct fl_run *runs, int nr, double t)
{
	w->best = t;
	w->best_nr = nr;
	memcpy(w->best_runs, runs, (size_t)nr * sizeof(*runs));
	w->best_runs[nr - 1].end = w->m - 1;
}

static bool single_threaded(const struct fl_run *runs, int nr)
{
	for (int r = 1; r < nr; r++)
		for (int q = 0; q < r - 1; q++)
			if (runs[q].node == runs[r].node)
				return false;
	return true;
}

/*
 * The published breadth-first queue: prefixes of at most rmax runs, `stride` ints each (the run
 * count, then each run's node and end), the live ones from `head` to `size`.
 */
struct fl_queue {
	int *q;
	size_t head, size, cap;
	int stride;
};

static int queue_push(struct fl_queue *qu, const struct fl_run *runs, int nr, struct ep_error *err)
{
	int *e;

	if (qu->size == qu->cap) {
		if (qu->head > 0) { /* compact before growing */
			memmove(qu->q, qu->q + qu->head * (size_t)qu->stride,
				(qu->size - qu->head) * (size_t)qu->stride * sizeof(int));
			qu->size -= qu->head;
			qu->head = 0;
		}
		if (qu->size == qu->cap) {
			size_t nc = qu->cap ? 2 * qu->cap : 1024;
			int *nq = realloc(qu->q, nc * (size_t)qu->stride * sizeof(int));

			if (!nq)
				return ep_error_set(err, EP_ENOMEM,
						    "out of memory for the breadth-first queue");
			qu->q = nq;
			qu->cap = nc;
		}
	}
	e = qu->q + qu->size * (size_t)qu->stride;
	e[0] = nr;
	for (int i = 0; i < nr; i++) {
		e[1 + 2 * i] = runs[i].node;
		e[2 + 2 * i] = runs[i].end;
	}
	qu->size++;
	return EP_OK;
}

/* The oldest prefix into runs; returns its number of runs. */
static int queue_pop(struct fl_queue *qu, struct fl_run *runs)
{
	const int *e = qu->q + qu->head * (size_t)qu->stride;
	int nr = e[0];

	for (int i = 0; i < nr; i++)
		runs[i] = (struct fl_run){e[1 + 2 * i], e[2 + 2 * i]};
	qu->head++;
	return nr;
}

/* Published: the first incumbent is the best single node, the first among equals. */
static void published_incumbent(struct fl_ws *w)
{
	for (int v = 0; v < w->n; v++) {
		struct fl_run one = {v, 1};
		double t;

		fl_evaluate(w->p, &one, 1, w->node_s, &t, NULL);
		if (v == 0 || t < w->best)
			keep_best(w, &one, 1, t);
	}
}

/*
 * Published: the N children of a prefix of nr runs whose last ends at cut d < L (segment d + 1
 * on each node in turn). A child whose bound is below the incumbent is kept (kept[k] with
 * kept_nr[k] runs, rmax apart), and its completion replaces the incumbent when strictly better.
 * Returns the number kept, or a negative error code.
 */
static int published_children(struct fl_ws *w, struct fl_run *child, int nr, int rmax,
			      struct fl_run *kept, int *kept_nr, struct ep_error *err)
{
	int d = child[nr - 1].end, n_kept = 0;

	for (int v = 0; v < w->n; v++) {
		int cnr = nr;
		double bound, t;

		if (w->work_limit > 0 && ++w->work > w->work_limit)
			return ep_error_set(err, EP_ELIMIT,
					    "the published branch and bound "
					    "evaluated %g prefixes without finishing (breadth "
					    "first, compute not in the bound); use --variant "
					    "corrected, a smaller --max-split, or --force",
					    w->work_limit);
		if (child[nr - 1].node == v) {
			child[nr - 1].end = d + 1;
		} else {
			child[nr] = (struct fl_run){v, d + 1};
			cnr = nr + 1;
		}
		fl_evaluate(w->p, child, cnr, w->node_s, &t, &bound);
		if (bound < w->best) {
			memcpy(kept + (size_t)n_kept * (size_t)rmax, child,
			       (size_t)cnr * sizeof(*child));
			kept_nr[n_kept++] = cnr;
			if (t < w->best)
				keep_best(w, child, cnr, t);
		}
		child[nr - 1].end = d; /* undo */
	}
	return n_kept;
}

/* Published: queue the kept children with fewer than max_split cuts (none when max_split is 0),
 * and without `parallel` only those that never return to a node they left. */
static int published_queue(struct fl_ws *w, struct fl_queue *qu, const struct fl_run *kept,
			   const int *kept_nr, int n_kept, int rmax, struct ep_error *err)
{
	int ms = w->max_split, rc;

	for (int k = 0; k < n_kept; k++) {
		const struct fl_run *s = kept + (size_t)k * (size_t)rmax;

		if (!(ms > 0 && kept_nr[k] - 1 < ms))
			continue;
		if (!w->shared && !single_threaded(s, kept_nr[k]))
			continue;
		if (w->work_limit > 0 && qu->size - qu->head >= FELTIN_QUEUE_LIMIT)
			return ep_error_set(err, EP_ELIMIT,
					    "the published breadth-first queue "
					    "passed %d prefixes; use --variant corrected, a "
					    "smaller --max-split, or --force",
					    FELTIN_QUEUE_LIMIT);
		rc = queue_push(qu, s, kept_nr[k], err);
		if (rc)
			return rc;
	}
	return EP_OK;
}

/* The published breadth-first search. */
static int solve_published(struct fl_ws *w, struct ep_error *err)
{
	int n = w->n, L = w->m - 1, ms = w->max_split;
	int rmax = (ms > 1 ? ms : 1) + 1; /* runs of an evaluated child */
	struct fl_queue qu = {NULL, 0, 0, 0, 1 + 2 * rmax};
	struct fl_run *child = NULL, *kept = NULL;
	int *kept_nr = NULL, rc = EP_OK;

	child = malloc((size_t)rmax * sizeof(*child));
	kept = malloc((size_t)n * (size_t)rmax * sizeof(*kept));
	kept_nr = malloc((size_t)n * sizeof(int));
	if (!child || !kept || !kept_nr) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for the branch and bound");
		goto out;
	}
	published_incumbent(w);
	for (int v = 0; v < n && !rc; v++)
		rc = queue_push(&qu, &(struct fl_run){v, 1}, 1, err);
	while (!rc && qu.head < qu.size) {
		int nr = queue_pop(&qu, child), n_kept;

		if (child[nr - 1].end >= L) { /* complete, already evaluated as a completion */
			double t;

			fl_evaluate(w->p, child, nr, w->node_s, &t, NULL);
			if (t < w->best)
				keep_best(w, child, nr, t);
			continue;
		}
		n_kept = published_children(w, child, nr, rmax, kept, kept_nr, err);
		rc = n_kept < 0 ? n_kept
				: published_queue(w, &qu, kept, kept_nr, n_kept, rmax, err);
	}
out:
	free(qu.q);
	free(child);
	free(kept);
	free(kept_nr);
	return rc;
}

/* Whether a stage of `mem` bytes more fits on node v (the problem's memory test). */
static inline bool fits_more(const struct fl_ws *w, int v, double mem)
{
	double total = w->node_mem[v] + mem, cap = w->p->cluster->mem_bytes[v];

	return w->p->options.strict_memory ? total < cap : total <= cap;
}

/* Whether node u may take a run after the current prefix (whose open run is on `cur`). */
static inline bool available(const struct fl_ws *w, int u, int cur)
{
	return u != cur && (w->shared || !w->used[u]);
}

/*
 * C1's remaining part, for a prefix that closed a run on `cur` at cut b and has `cuts_left`
 * cuts left: the rest of the model (after cut b) runs on at most cuts_left nodes that may still
 * take a run, at full speed at best, so T >= its compute over their summed speeds; the hop back
 * to the dispatcher leaves from one of them. Returns INFINITY when its memory cannot fit the
 * capacity left on all of them.
 */
static double rest_bound(struct fl_ws *w, int b, int cur, int cuts_left)
{
	const struct problem *p = w->p;
	const struct cluster *c = p->cluster;
	int m = w->m, disp = CLUSTER_DISPATCHER(c), k = 0;
	double flops = p->cum_compute[m - 1] - p->cum_compute[b];
	double speed = 0, room = 0, out = INFINITY;
	double mem = problem_stage_mem(p, b, m - 1), lb = 0;
	bool free_compute = false;

	(void)cur;
	for (int i = 0; i < w->n; i++) {
		int u = w->by_speed[i];

		/* shared nodes: any node may take a later run, cur included */
		if (!w->shared && w->used[u])
			continue;
		room += c->mem_bytes[u] - w->node_mem[u];
		if (p->options.count_dispatcher)
			out = fmin(out, problem_hop_s(p, m - 1, u, disp));
		if (!(p->node_rate[u] > 0))
			free_compute = true; /* compute not modelled on u: it costs nothing */
		else if (k < cuts_left)
			speed += p->node_rate[u];
		k++;
	}
	if (!w->shared && cuts_left < k) { /* the rest fits on cuts_left nodes at most */
		room = 0;
		for (int i = 0; i < cuts_left; i++) {
			double top = -1;
			int at = -1;

			for (int u = 0; u < w->n; u++)
				if (!w->used[u] && !(w->cand_room[u] < 0) &&
				    c->mem_bytes[u] - w->node_mem[u] > top) {
					top = c->mem_bytes[u] - w->node_mem[u];
					at = u;
				}
			if (at < 0)
				break;
			room += top;
			w->cand_room[at] = -1; /* taken */
		}
		for (int u = 0; u < w->n; u++)
			w->cand_room[u] = 0;
	}
	if (k == 0 || mem > room)
		return INFINITY;
	if (!(speed > 0))
		free_compute = true;
	if (p->options.count_compute && !free_compute && flops > 0)
		lb = flops / speed * (1 - 1e-12); /* a hair below: rounding must not cut the optimum */
	if (p->options.count_dispatcher)
		lb = fmax(lb, out);
	/* at most cuts_left runs, and without sharing one per node still free (k of them) */
	if (cuts_left < k || w->shared)
		k = cuts_left;
	if (k > w->max_runs)
		k = w->max_runs;
	return fmax(lb, w->lp[(size_t)k * (size_t)m + (size_t)b]);
}

struct fl_cand {
	double s; /* the hop's time (link sum) */
	int node;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct fl_cand *x = a, *y = b;

	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	return x->node - y->node;
}

/* Corrected: EP_ELIMIT once the search has evaluated work_limit children (0: no limit). */
static inline int work_spent(struct fl_ws *w, struct ep_error *err)
{
	if (w->work_limit > 0 && ++w->work > w->work_limit)
		return ep_error_set(err, EP_ELIMIT,
				    "the branch and bound evaluated %g prefixes "
				    "without finishing; use a smaller --max-split, fewer nodes, "
				    "or --force",
				    w->work_limit);
	return EP_OK;
}

static int search(struct fl_ws *w, int r, int a, int v, double base, struct ep_error *err);

/*
 * Run r on v has just been closed at cut b with the prefix's bound lb (its compute and memory
 * are in node_s and node_mem): every node that may take the next run, cheapest hop first.
 */
static int branch_next(struct fl_ws *w, int r, int b, int v, double lb, struct ep_error *err)
{
	const struct problem *p = w->p;
	int n = w->n, nc = 0, rc;
	struct fl_cand *cand = w->cand + (size_t)r * (size_t)n;

	for (int u = 0; u < n; u++) {
		double h;

		if (!available(w, u, v))
			continue;
		h = link_sum(p, w->runs, r + 1, v, u) + problem_hop_s(p, b, v, u);
		if (fmax(lb, h) < w->best)
			cand[nc++] = (struct fl_cand){h, u};
	}
	qsort(cand, (size_t)nc, sizeof(*cand), cand_cmp);
	for (int i = 0; i < nc; i++) {
		int u = cand[i].node;
		double nb = fmax(lb, cand[i].s);

		rc = work_spent(w, err);
		if (rc)
			return rc;
		if (nb >= w->best) /* the incumbent improved meanwhile */
			continue;
		w->used[u]++;
		/* base for the next run: everything fixed so far, u's earlier compute (shared
		 * nodes) enters through node_s[u] in the callee */
		rc = search(w, r + 1, b, u, p->options.count_compute ? fmax(nb, w->node_s[u]) : nb,
			    err);
		w->used[u]--;
		if (rc)
			return rc;
	}
	return EP_OK;
}

/*
 * Run r starts after cut a on node v; `base` is the largest term the prefix has fixed besides
 * v's compute (closed runs' nodes, hops, the dispatcher hop in). Tries every end of the run and,
 * when the run is not the last, every next node.
 */
static int search(struct fl_ws *w, int r, int a, int v, double base, struct ep_error *err)
{
	const struct problem *p = w->p;
	const struct problem_options *o = &p->options;
	int m = w->m, n = w->n, disp = CLUSTER_DISPATCHER(p->cluster);
	int cuts = r, ms = w->max_split;
	double v_before = w->node_s[v];

	/* the rest after cut a in at most max_split - r + 1 runs, and without sharing at most
	 * one per node not used yet, v's included: n - r */
	int k = ms - r + 1 < w->max_runs ? ms - r + 1 : w->max_runs;

	if (!w->shared && n - r < k)
		k = n - r;
	if (fmax(base, w->lp[(size_t)k * (size_t)m + (size_t)a]) >= w->best)
		return EP_OK;
	w->runs[r].node = v;
	for (int b = m - 1; b > a; b--) {
		double mem = problem_stage_mem(p, a, b), c, lb;
		int rc = work_spent(w, err);

		if (rc)
			return rc;
		if (!fits_more(w, v, mem))
			continue;
		c = v_before + problem_stage_s(p, a, b, v);
		lb = o->count_compute ? fmax(base, c) : base;
		if (lb >= w->best)
			continue;
		w->runs[r].end = b;
		if (b == m - 1) {
			double t = o->count_dispatcher ? fmax(lb, problem_hop_s(p, m - 1, v, disp))
						       : lb;

			if (t < w->best)
				keep_best(w, w->runs, r + 1, t);
			continue;
		}
		if (cuts >= ms)
			continue;
		/* close the run: v's compute and memory are fixed from here on */
		w->node_s[v] = c;
		w->node_mem[v] += mem;
		lb = fmax(lb, rest_bound(w, b, v, ms - cuts));
		rc = lb < w->best ? branch_next(w, r, b, v, lb, err) : EP_OK;
		w->node_s[v] = v_before;
		w->node_mem[v] -= mem;
		if (rc)
			return rc;
	}
	return EP_OK;
}

/*
 * C1's partition bound. Whatever the nodes, a run of the rest computes its FLOPs at most at the
 * fastest speed, fits at most the largest memory, and a cut between two runs sends its tensor
 * at most at the widest bandwidth: T >= lp[k][b] for the rest after cut b in at most k runs
 * (INFINITY: it does not fit in k runs). Complexity: O(k m^2).
 */
static void lp_fill(struct fl_ws *w)
{
	const struct problem *p = w->p;
	const struct cluster *c = p->cluster;
	int m = w->m, K = w->max_runs;
	double smax = 0, bwmax = 0, capmax = 0;
	bool free_compute = false;

	for (int v = 0; v < w->n; v++) {
		capmax = fmax(capmax, c->mem_bytes[v]);
		if (p->node_rate[v] > 0)
			smax = fmax(smax, p->node_rate[v]);
		else
			free_compute = true;
		for (int u = 0; u < w->n; u++)
			if (u != v)
				bwmax = fmax(bwmax, cluster_bw(c, v, u));
	}
	if (!p->options.count_compute || !(smax > 0))
		free_compute = true;
	/* a run must also fit the largest node: one that does not cannot be in any plan */
#define FITS(a, b)                                                                           \
	(p->options.strict_memory ? problem_stage_mem(p, a, b) < capmax                      \
				  : problem_stage_mem(p, a, b) <= capmax)
#define RUN_S(a, b)                                                                          \
	(!FITS(a, b) ? INFINITY                                                              \
		     : free_compute ? 0.0 : (p->cum_compute[b] - p->cum_compute[a]) / smax)
#define CUT_S(k) (bwmax > 0 && p->wire_bits[k] > 0 ? p->wire_bits[k] / bwmax : 0.0)
	for (int k = 1; k <= K; k++)
		for (int b = 0; b < m - 1; b++) {
			double best = RUN_S(b, m - 1);

			for (int e = b + 1; k > 1 && e < m - 1; e++)
				best = fmin(best, fmax(fmax(RUN_S(b, e), CUT_S(e)),
						       w->lp[(size_t)(k - 1) * (size_t)m + (size_t)e]));
			w->lp[(size_t)k * (size_t)m + (size_t)b] = best;
		}
#undef FITS
#undef RUN_S
#undef CUT_S
}

static int speed_cmp(const void *a, const void *b)
{
	const struct fl_cand *x = a, *y = b;

	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	return x->node - y->node;
}

static int solve_corrected(struct fl_ws *w, struct ep_error *err)
{
	const struct problem *p = w->p;
	const struct problem_options *o = &p->options;
	int n = w->n, disp = CLUSTER_DISPATCHER(p->cluster), rc;

	lp_fill(w);
	for (int v = 0; v < n; v++)
		w->cand[v] = (struct fl_cand){ p->node_rate[v], v };
	qsort(w->cand, (size_t)n, sizeof(*w->cand), speed_cmp);
	for (int v = 0; v < n; v++)
		w->by_speed[v] = w->cand[v].node;
	/* The first incumbent: the best single node that holds the whole model. */
	for (int v = 0; v < n; v++) {
		struct fl_run one = { v, w->m - 1 };
		double t;

		if (!problem_fits(p, 0, w->m - 1, v))
			continue;
		fl_evaluate(p, &one, 1, w->node_s, &t, NULL);
		if (t < w->best)
			keep_best(w, &one, 1, t);
	}
	for (int v = 0; v < n; v++)
		w->node_s[v] = 0;
	for (int v = 0; v < n; v++) {
		double base = o->count_dispatcher ? problem_hop_s(p, 0, disp, v) : 0;

		if (base >= w->best)
			continue;
		w->used[v]++;
		rc = search(w, 0, 0, v, base, err);
		w->used[v]--;
		if (rc)
			return rc;
	}
	return EP_OK;
}

enum { FELTIN_MAX_SPLIT, FELTIN_FORCE };

static const struct algo_option feltin_options[] = {
	[FELTIN_MAX_SPLIT] = { "max-split", "S",
			       "at most S cuts (default 5)",
			       algo_option_parse_int, algo_option_format_int, { .i = 5 }, 0,
			       100000 },
	[FELTIN_FORCE] = { "force", NULL, "search beyond its work limit", algo_option_parse_flag,
			   algo_option_format_flag, { .i = 0 }, 0, 1 },
	{ NULL },
};

static int feltin_solve(const struct problem *p, const struct algo_options *o, gsl_rng *rng,
			struct plan *out, struct ep_error *err)
{
	struct fl_ws w;
	int n = p->cluster->n, rc;
	int max_split = (int)algo_options_int(o, &feltin_options[FELTIN_MAX_SPLIT]);

	(void)rng;
	if (max_split < 0)
		return ep_error_set(err, EP_EINVAL, "max-split %d: must be 0 or more", max_split);
	memset(&w, 0, sizeof(w));
	w.p = p;
	w.o = o;
	w.max_split = max_split;
	w.n = n;
	w.m = p->m;
	w.shared = p->options.shared_nodes;
	w.work_limit = algo_options_int(o, &feltin_options[FELTIN_FORCE]) ? 0 : FELTIN_WORK_LIMIT;
	w.best = INFINITY;
	/* runs of any plan either variant evaluates: max_split + 1 (2 for the published roots'
	 * children when max_split is 0), never more than the segments */
	w.max_runs = (max_split > 1 ? max_split : 1) + 1;
	if (w.max_runs > p->m - 1)
		w.max_runs = p->m - 1;
	w.node_s = calloc((size_t)n, sizeof(double));
	w.best_runs = calloc((size_t)w.max_runs + 1, sizeof(*w.best_runs));
	w.runs = calloc((size_t)w.max_runs + 1, sizeof(*w.runs));
	w.node_mem = calloc((size_t)n, sizeof(double));
	w.used = calloc((size_t)n, 1);
	w.by_speed = calloc((size_t)n, sizeof(int));
	w.cand = calloc((size_t)(w.max_runs + 1) * (size_t)n, sizeof(*w.cand));
	w.cand_room = calloc((size_t)n, sizeof(double));
	w.lp = calloc((size_t)(w.max_runs + 1) * (size_t)p->m, sizeof(double));
	if (!w.node_s || !w.best_runs || !w.runs || !w.node_mem || !w.used || !w.by_speed ||
	    !w.cand || !w.cand_room || !w.lp) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for the branch and bound");
		goto out;
	}
	rc = o->variant == ALGO_PUBLISHED ? solve_published(&w, err) : solve_corrected(&w, err);
	if (rc)
		goto out;
	if (w.best_nr == 0) {
		rc = ep_error_set(err, EP_EINFEASIBLE, "no plan of at most %d cut(s) fits the "
				  "nodes' memory%s (--max-split %d)", max_split,
				  w.shared ? "" : " with one run per node", max_split);
		goto out;
	}
	plan_clear(out);
	for (int r = 0; r < w.best_nr; r++)
		if (plan_push(out, run_start(w.best_runs, r), w.best_runs[r].end,
			      w.best_runs[r].node)) {
			rc = ep_error_set(err, EP_ENOMEM, "out of memory for the plan");
			goto out;
		}
out:
	free(w.node_s);
	free(w.best_runs);
	free(w.runs);
	free(w.node_mem);
	free(w.used);
	free(w.by_speed);
	free(w.cand);
	free(w.lp);
	free(w.cand_room);
	return rc;
}

const struct algo algo_feltin = {
	.name = "feltin",
	.summary = "Feltin et al.: branch and bound over segment-to-node assignments "
		   "(--max-split, --parallel)",
	.solve = feltin_solve,
	.options = feltin_options,
};
