#include "plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

void plan_init(struct plan *plan)
{
	memset(plan, 0, sizeof(*plan));
}

void plan_release(struct plan *plan)
{
	free(plan->stages);
	plan_init(plan);
}

void plan_clear(struct plan *plan)
{
	plan->n_stages = 0;
}

int plan_push(struct plan *plan, int first_cut, int end_cut, int node)
{
	if (plan->n_stages == plan->cap) {
		int cap = plan->cap ? 2 * plan->cap : 16;
		struct plan_stage *s = realloc(plan->stages, (size_t)cap * sizeof(*s));

		if (!s)
			return EP_ENOMEM;
		plan->stages = s;
		plan->cap = cap;
	}
	plan->stages[plan->n_stages++] = (struct plan_stage){ first_cut, end_cut, node };
	return EP_OK;
}

int plan_copy(struct plan *dst, const struct plan *src)
{
	plan_clear(dst);
	for (int s = 0; s < src->n_stages; s++)
		if (plan_push(dst, src->stages[s].first_cut, src->stages[s].end_cut,
			      src->stages[s].node))
			return EP_ENOMEM;
	return EP_OK;
}

/* plan_check's findings: the defects counted, the first error kept (its code in rc). */
struct plan_checker {
	const struct problem *p;
	const struct plan *plan;
	struct plan_defects d;
	int rc;
	struct ep_error *err;
	unsigned char *used; /* [N] a stage so far is on the node */
	double *node_mem;    /* [N] shared_nodes: the node's stages' memory so far */
};

/* The first finding is the error; later ones only count. */
#define FIRST(ck, ...)                                                                             \
	((ck)->rc ? (ck)->rc : ((ck)->rc = ep_error_set((ck)->err, EP_EINVAL, __VA_ARGS__)))

/* Stage s's cuts: in range (else false: nothing more can be checked), not empty, starting where
 * the previous stage ends. */
static bool check_stage_cuts(struct plan_checker *ck, int s)
{
	const struct problem *p = ck->p;
	const struct plan_stage *st = &ck->plan->stages[s];
	int n = p->cluster->n, prev_end = s ? ck->plan->stages[s - 1].end_cut : 0;

	if (st->node < 0 || st->node >= n || st->first_cut < 0 || st->end_cut >= p->m ||
	    st->first_cut > st->end_cut) {
		ck->d.structural = true;
		FIRST(ck,
		      "stage %d (cuts %d..%d on node %d) is out of range (%d cut points, "
		      "%d nodes)",
		      s, st->first_cut, st->end_cut, st->node, p->m, n);
		return false;
	}
	if (st->first_cut == st->end_cut) {
		ck->d.empty_stages++;
		FIRST(ck, "stage %d (after cut %d through cut %d) computes nothing", s,
		      st->first_cut, st->end_cut);
	}
	if (st->first_cut > prev_end) {
		ck->d.gaps += st->first_cut - prev_end;
		FIRST(ck,
		      "stage %d starts after cut %d but the previous stage ends with cut %d: "
		      "the layers in between are computed by no stage",
		      s, st->first_cut, prev_end);
	} else if (st->first_cut < prev_end) {
		if (s > 0 && st->first_cut < ck->plan->stages[s - 1].first_cut) {
			ck->d.structural = true;
			FIRST(ck, "stage %d starts before stage %d", s, s - 1);
		}
		ck->d.overlaps++;
		FIRST(ck, "stage %d starts after cut %d, before the previous stage's end %d", s,
		      st->first_cut, prev_end);
	}
	return true;
}

/* Stage s's node: the stage fits its memory (shared_nodes: counted for check_shared_memory)
 * and no earlier stage is on it (unless shared_nodes). */
static void check_stage_node(struct plan_checker *ck, int s)
{
	const struct problem *p = ck->p;
	const struct plan_stage *st = &ck->plan->stages[s];
	bool shared = p->options.shared_nodes;

	if (shared) {
		ck->node_mem[st->node] += problem_stage_mem(p, st->first_cut, st->end_cut);
	} else if (!problem_fits(p, st->first_cut, st->end_cut, st->node)) {
		ck->d.over_memory++;
		FIRST(ck, "stage %d (cuts %d..%d) needs %.3f MiB on node %d with %.3f MiB", s,
		      st->first_cut, st->end_cut,
		      problem_stage_mem(p, st->first_cut, st->end_cut) / MIB, st->node,
		      p->cluster->mem_bytes[st->node] / MIB);
	}
	if (ck->used[st->node] && !shared) {
		ck->d.repeated_nodes++;
		FIRST(ck, "stage %d uses node %d, which an earlier stage uses", s, st->node);
	}
	ck->used[st->node] = 1;
}

/* shared_nodes: each node's stages together within its memory. */
static void check_shared_memory(struct plan_checker *ck)
{
	const struct problem *p = ck->p;

	for (int v = 0; v < p->cluster->n; v++) {
		double cap = p->cluster->mem_bytes[v], mem = ck->node_mem[v];

		if (ck->used[v] && (p->options.strict_memory ? !(mem < cap) : !(mem <= cap))) {
			ck->d.over_memory++;
			FIRST(ck, "the stages on node %d need %.3f MiB together, with %.3f MiB", v,
			      mem / MIB, cap / MIB);
		}
	}
}

int plan_check(const struct problem *p, const struct plan *plan, struct plan_defects *defects,
	       struct ep_error *err)
{
	int n = p->cluster->n, k = plan->n_stages;
	bool shared = p->options.shared_nodes;
	struct plan_checker ck = {.p = p, .plan = plan, .err = err};

	ck.used = calloc((size_t)n, 1);
	/* shared_nodes: each node's memory over all its stages, checked at the end */
	ck.node_mem = shared ? calloc((size_t)n, sizeof(double)) : NULL;
	if (!ck.used || (shared && !ck.node_mem)) {
		free(ck.used);
		free(ck.node_mem);
		return ep_error_set(err, EP_ENOMEM, "out of memory checking a plan");
	}
	if (k < 1) {
		ck.d.structural = true;
		FIRST(&ck, "the plan has no stages");
	}
	for (int s = 0; s < k; s++)
		if (check_stage_cuts(&ck, s))
			check_stage_node(&ck, s);
	if (k > 0 && plan->stages[k - 1].end_cut != p->m - 1) {
		ck.d.structural = true;
		FIRST(&ck, "the last stage ends with cut %d, not the output (cut %d)",
		      plan->stages[k - 1].end_cut, p->m - 1);
	}
	if (shared)
		check_shared_memory(&ck);
	free(ck.used);
	free(ck.node_mem);
	if (defects)
		*defects = ck.d;
	return ck.rc;
}

#undef FIRST

/* shared_nodes: the compute time of every stage on stage s's node, in stage order; 0 when an
 * earlier stage is on that node (its total was counted there). */
static double node_total_s(const struct problem *p, const struct plan *plan, int s)
{
	int v = plan->stages[s].node;
	double sum = 0;

	for (int t = 0; t < s; t++)
		if (plan->stages[t].node == v)
			return 0.0;
	for (int t = s; t < plan->n_stages; t++)
		if (plan->stages[t].node == v)
			sum += problem_stage_s(p, plan->stages[t].first_cut, plan->stages[t].end_cut,
					       v);
	return sum;
}

/* Hop h's sender and receiver (the dispatcher at either end) and the cut it sends. */
static void hop_ends(const struct problem *p, const struct plan *plan, int h, int *from, int *to,
		     int *cut)
{
	int k = plan->n_stages, disp = CLUSTER_DISPATCHER(p->cluster);

	*from = h == 0 ? disp : plan->stages[h - 1].node;
	*to = h == k ? disp : plan->stages[h].node;
	*cut = h == 0 ? 0 : plan->stages[h - 1].end_cut;
}

/* shared_nodes: the time of every counted hop over hop h's directed link, in hop order; 0 when
 * an earlier counted hop used that link. */
static double link_total_s(const struct problem *p, const struct plan *plan, int h)
{
	int k = plan->n_stages, from, to, cut;
	double sum = 0;

	hop_ends(p, plan, h, &from, &to, &cut);
	for (int g = 0; g <= k; g++) {
		int f2, t2, c2;

		if ((g == 0 || g == k) && !p->options.count_dispatcher)
			continue;
		hop_ends(p, plan, g, &f2, &t2, &c2);
		if (f2 != from || t2 != to)
			continue;
		if (g < h)
			return 0.0;
		sum += problem_hop_s(p, c2, f2, t2);
	}
	return sum;
}

void plan_cost(const struct problem *p, const struct plan *plan, struct plan_cost *cost,
	       double *stage_s, double *hop_s)
{
	const struct problem_options *o = &p->options;
	int k = plan->n_stages;

	memset(cost, 0, sizeof(*cost));
	for (int s = 0; s < k; s++) {
		const struct plan_stage *st = &plan->stages[s];
		double c = problem_stage_s(p, st->first_cut, st->end_cut, st->node);

		if (stage_s)
			stage_s[s] = c;
		if (o->shared_nodes)
			c = node_total_s(p, plan, s);
		if (c > cost->max_compute_s)
			cost->max_compute_s = c;
		if (o->count_compute && c > cost->bottleneck_s) {
			cost->bottleneck_s = c;
			cost->where = COST_TERM_COMPUTE;
			cost->index = s;
		}
	}
	for (int h = 0; h <= k; h++) {
		bool dispatcher = h == 0 || h == k;
		int from, to, cut;
		double t;

		hop_ends(p, plan, h, &from, &to, &cut);
		t = problem_hop_s(p, cut, from, to);
		if (hop_s)
			hop_s[h] = t;
		if (!dispatcher)
			cost->sum_transfer_bits += p->wire_bits[cut];
		if (dispatcher && !o->count_dispatcher)
			continue;
		if (o->shared_nodes)
			t = link_total_s(p, plan, h);
		if (t > cost->max_hop_s)
			cost->max_hop_s = t;
		if (t > cost->bottleneck_s) {
			cost->bottleneck_s = t;
			cost->where = COST_TERM_HOP;
			cost->index = h;
		}
	}
	cost->throughput = cost->bottleneck_s > 0 ? 1.0 / cost->bottleneck_s : INFINITY;
}
