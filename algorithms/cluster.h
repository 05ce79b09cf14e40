/*
 * cluster: N edge devices and a dispatcher, with a link for every ordered pair.
 *
 * Node i (0 <= i < n) has memory (bytes) and compute speed (FLOP/s; 0 means compute is not
 * modelled, as in the published work). The dispatcher, which feeds inputs and collects outputs,
 * is index n (CLUSTER_DISPATCHER(c)) in the link matrices, which are (n+1) x (n+1), row = sender,
 * column = receiver. The diagonal is unused (0).
 *
 * Generators draw from a gsl_rng the caller passes. For paired comparisons a trial's cluster
 * must depend only on (seed, trial, n): seed the generator with cluster_trial_seed(), draw the
 * nodes first and the dispatcher last, and never draw from that generator for anything else.
 */
#ifndef EDGEPIPE_CLUSTER_H
#define EDGEPIPE_CLUSTER_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "ep_error.h"

enum cluster_kind {
	CLUSTER_GEOMETRIC = 0, /* the published model: log2(1 + 283230 / d^2) Mbit/s */
	CLUSTER_UNIFORM,       /* every link uniform in [bw_min_bps, bw_max_bps] */
	CLUSTER_CLASSES,       /* every link one of `classes` levels evenly spaced in [min, max] */
	CLUSTER_FILE,          /* a measured bandwidth matrix in CSV (Mbit/s), e.g. from iperf3 */
	CLUSTER_KIND_COUNT_
};

const char *cluster_kind_name(enum cluster_kind kind); /* "geometric", ... */
int cluster_kind_from_name(const char *name);           /* -1 if unknown */

/* What to generate. Zero-initialise, then set what applies; cluster_spec_default() gives the
 * published setting. */
struct cluster_spec {
	enum cluster_kind kind;
	int n;                   /* nodes; for CLUSTER_FILE 0 means "as many as the file has" */
	double mem_bytes;        /* every node's memory, unless mem_list is given */
	const double *mem_list;  /* n_mem_list values used in turn (node i gets [i % n_mem_list]) */
	int n_mem_list;
	double speed_flops;      /* every node's speed; 0 = compute not modelled */
	/* Measured compute (problem.h): a node's speed as a factor of the host that measured the
	 * layer profile. speed_factor_list, when given, has exactly one value per node (n, or
	 * the file's node count); otherwise every node gets speed_factor (0 is taken as 1). */
	double speed_factor;
	const double *speed_factor_list;
	int n_speed_factor_list;
	double latency_s;        /* every link's latency */
	/* geometric: nodes uniform in [1, side]^2 (published: 150); the Mbit of the formula is
	 * mbit_bits bits (1e6; the published notebooks' transfers use 2^20). Symmetric links. */
	double side;
	double mbit_bits;
	/* uniform and classes */
	double bw_min_bps, bw_max_bps;
	int classes;
	bool symmetric;          /* uniform, classes: B(u,v) = B(v,u) */
	/* file: the path of an N x N CSV of bandwidths in Mbit/s (10^6 bit/s); an optional first
	 * line of node names is skipped; the diagonal is ignored. The dispatcher's links get
	 * dispatcher_bw_bps, or the mean off-diagonal bandwidth when that is 0. */
	const char *path;
	double dispatcher_bw_bps;
};

/* The published setting for n nodes of mem_bytes each: geometric, side 150, 10^6-bit Mbit,
 * no compute, no latency. */
struct cluster_spec cluster_spec_default(int n, double mem_bytes);

/*
 * The grammars of a cluster's values as users type them; `option` names the value in the
 * messages ("--mem"). EP_EINVAL with a message naming the value.
 * - cluster_mem_list_parse: "SIZE[,SIZE...]" (ep_units.h sizes, each > 0) into out[0 .. max),
 *   *n of them (the spec's mem_bytes and mem_list);
 * - cluster_speed_factor_list_parse: "F[,F...]", each 0 < F < 1e12 (speed_factor and its list);
 * - cluster_bw_range_parse: "MIN:MAX" bit rates, 0 < MIN <= MAX (bw_min_bps, bw_max_bps).
 */
int cluster_mem_list_parse(const char *option, const char *s, double *out, int max, int *n,
			   struct ep_error *err);
int cluster_speed_factor_list_parse(const char *option, const char *s, double *out, int max, int *n,
				    struct ep_error *err);
int cluster_bw_range_parse(const char *option, const char *s, double *min_bps, double *max_bps,
			   struct ep_error *err);

struct cluster {
	int n;
	double *mem_bytes;   /* [n] */
	double *speed_flops; /* [n] */
	double *bw_bps;      /* [(n+1)^2], bw_bps[from * (n+1) + to] */
	double *latency_s;   /* [(n+1)^2] */
	double *x, *y;       /* [n+1] positions (geometric only; NULL otherwise) */
	/* [n] > 0: speed as a factor of the profiling host (measured compute). Last, so that a
	 * cluster built by hand with a positional initialiser leaves it NULL: such a cluster
	 * serves FLOPs compute only (problem_init refuses measured compute on it). */
	double *speed_factor;
};

#define CLUSTER_DISPATCHER(c) ((c)->n)

/* The most nodes a cluster may have: its two (n+1)^2 matrices of doubles then take 1.6 GB. */
#define CLUSTER_MAX_NODES 10000

/*
 * Generate a cluster. *out is owned by the caller (cluster_destroy). Errors: EP_EINVAL for a
 * bad spec (the message names the field and value), EP_ENOTFOUND/EP_EIO/EP_EINVAL for the file
 * ("path:line: ..."), EP_ENOMEM.
 * Complexity: O(n^2).
 */
int cluster_create(const struct cluster_spec *spec, gsl_rng *rng, struct cluster **out,
		   struct ep_error *err);
void cluster_destroy(struct cluster *c);

/*
 * The cluster of `m` of c's nodes: node i of *out is node nodes[i] of c, with its memory, its
 * speed and its position (when c has positions), and the links among those nodes; c's
 * dispatcher is *out's (index m, last), with its links to and from them. The nodes must be
 * distinct and in [0, c->n). *out is owned by the caller (cluster_destroy). Errors: EP_EINVAL
 * (m < 1, a node out of range or listed twice; the message names it), EP_ENOMEM.
 * Complexity: O(m^2).
 */
int cluster_subset(const struct cluster *c, const int *nodes, int m, struct cluster **out,
		   struct ep_error *err);

static inline double cluster_bw(const struct cluster *c, int from, int to)
{
	return c->bw_bps[(size_t)from * (size_t)(c->n + 1) + (size_t)to];
}

static inline double cluster_latency(const struct cluster *c, int from, int to)
{
	return c->latency_s[(size_t)from * (size_t)(c->n + 1) + (size_t)to];
}

/*
 * Write an n x n bandwidth matrix (bw_bps[from * n + to], bit/s; the diagonal is written as 0)
 * in the format that CLUSTER_FILE reads: Mbit/s (10^6 bit/s), one row per sending node, after
 * '#' comment lines holding `comment` (may be NULL; one line per '\n'). The file is written
 * to a temporary name and renamed, so a failed write leaves nothing behind. Errors: EP_EIO
 * (the message names the path), EP_EINVAL (n < 1, an off-diagonal value not positive).
 */
int cluster_file_write(const char *path, int n, const double *bw_bps, const char *comment,
		       struct ep_error *err);
/* The same to an open stream (stdout, say). Errors: EP_EINVAL as above. */
int cluster_file_print(FILE *f, int n, const double *bw_bps, const char *comment,
		       struct ep_error *err);

/*
 * The seed of trial `trial` with n nodes, from the run's seed: a hash (splitmix64) of the three,
 * so that every algorithm, memory size and class count sees the same cluster for a trial.
 */
uint64_t cluster_trial_seed(uint64_t seed, int trial, int n);

#endif
