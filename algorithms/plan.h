/*
 * plan: the ordered stages of a pipeline, each with its cut range and its node; its validation;
 * and the one cost function.
 *
 * Stage s computes the layers after cut first_cut through cut end_cut (problem.h). In a valid
 * plan the stages tile the model: first_cut[0] = 0, first_cut[s+1] = end_cut[s], the last
 * end_cut = m-1; nodes are distinct and each stage fits in its node's memory.
 *
 * The published variant's DP produces pieces that leave a segment uncovered between two stages
 * (defect D1: first_cut[s+1] = end_cut[s] + 1), and pieces that compute nothing (its memory-0
 * vertex (i, i+1): first_cut = end_cut); plan_check reports such gaps and other defects
 * as flags so that the published variant can be run and its defects shown, while the corrected
 * algorithms must produce plans without any.
 *
 * Cost (DESIGN.md): stage compute time = problem_stage_s (stage FLOPs / node speed, or the
 * stage's measured layer times / the node's speed factor, problem.h); hop time = bits / bandwidth +
 * latency; bottleneck = the largest of these; throughput = 1 / bottleneck. Which terms count is
 * problem_options: the published metric counts only the hops between consecutive stages (so a
 * one-stage plan has bottleneck 0 and infinite throughput), the full one also the compute times
 * and the two dispatcher hops.
 */
#ifndef EDGEPIPE_PLAN_H
#define EDGEPIPE_PLAN_H

#include <stdbool.h>

#include "ep_error.h"
#include "problem.h"

struct plan_stage {
	int first_cut; /* the stage starts after this cut */
	int end_cut;   /* and ends with this one */
	int node;
};

struct plan {
	int n_stages;
	int cap;
	struct plan_stage *stages;
};

void plan_init(struct plan *plan);
void plan_release(struct plan *plan);
/* Empty the plan, keeping its storage. */
void plan_clear(struct plan *plan);
/* Append a stage; EP_OK or EP_ENOMEM. */
int plan_push(struct plan *plan, int first_cut, int end_cut, int node);
/* Copy src into dst (dst initialised). EP_OK or EP_ENOMEM. */
int plan_copy(struct plan *dst, const struct plan *src);

/* What plan_check found. A plan is valid when `structural` is false and every count is 0. */
struct plan_defects {
	bool structural;   /* no stages, cut or node out of range, stage empty or out of order,
			      last stage not ending at the output: unusable, whatever the variant */
	int gaps;          /* segments between stages that no stage computes (D1) */
	int empty_stages;  /* stages that compute nothing: the published DP's memory-0 piece
			      (i, i+1) */
	int overlaps;      /* stages that start before the previous one ended */
	int over_memory;   /* stages larger than their node's memory */
	int repeated_nodes; /* stages on a node that an earlier stage uses */
};

/*
 * Check `plan` against `p`. With the problem's shared_nodes option a node may hold several
 * stages (not a defect) and the memory test applies to each node's stages together.
 * Returns EP_OK when the plan is valid, EP_EINVAL otherwise with the
 * first problem described in `err` ("stage 2 (cuts 14..20) needs 70.1 MiB on node 3 with
 * 64 MiB"). `defects` (may be NULL) receives all counts.
 * Complexity: O(stages + nodes).
 */
int plan_check(const struct problem *p, const struct plan *plan, struct plan_defects *defects,
	       struct ep_error *err);

enum cost_term { COST_TERM_NONE = 0, COST_TERM_COMPUTE, COST_TERM_HOP };

struct plan_cost {
	double bottleneck_s;  /* the largest counted term; 0 if none counts */
	double throughput;    /* 1 / bottleneck_s per second; INFINITY when bottleneck_s is 0 */
	enum cost_term where; /* which kind of term is the bottleneck */
	int index;            /* stage index (compute) or hop index (hop), see below */
	double max_compute_s; /* over stages, whether counted or not */
	double max_hop_s;     /* over the counted hops */
	double sum_transfer_bits; /* between stages (the published DP's objective) */
};

/*
 * The cost of a structurally sound plan (plan_check's `structural` false). Hop h, 0 <= h <=
 * n_stages, is the one into stage h: hop 0 dispatcher -> stage 0, hop n_stages last stage ->
 * dispatcher. `stage_s` (n_stages) and `hop_s` (n_stages + 1) may be NULL; they receive every
 * term, counted or not, each stage's and hop's own time.
 *
 * With the problem's shared_nodes option the resources are nodes and directed links rather than
 * stages and hops: a node's term is the sum of its stages' compute times (in stage order; it
 * is reported at its first stage: `index`, max_compute_s), a link's term the sum of the counted
 * hops over it (in hop order; reported at its first hop), and a hop between two stages on one
 * node costs 0. Without the option, in a valid plan every node and link carries one term, so
 * the two views agree on every valid plan of distinct nodes.
 * Complexity: O(stages), or O(stages^2) with shared_nodes.
 */
void plan_cost(const struct problem *p, const struct plan *plan, struct plan_cost *cost,
	       double *stage_s, double *hop_s);

#endif
