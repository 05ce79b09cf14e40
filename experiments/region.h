/*
 * region: Feltin et al.'s "acceleration region": over a grid of link bandwidths B and device
 * speeds s, does partitioning a model over N identical devices beat the best single device, and
 * by how much (the speed-up T1 / T*)?
 *
 * The instance at a grid point: N nodes of speed s FLOP/s, every directed link B bit/s, no
 * latency, memory not limiting (every node holds the whole model); Feltin's metric
 * (PROBLEM_OPTIONS_FELTIN: compute and inter-stage hops count, not the dispatcher hops; with
 * `parallel`, nodes are shared). The model is its chain of segments between cut points:
 * W_k = cum_flops[k] (FLOPs through cut k, cut 0 the input, m - 1 the output), W = W_{m-1},
 * b_k = transfer_bits[k], w_j = W_j - W_{j-1} the work of segment j. T* is the solver's answer
 * (feltin corrected by default, at most max_split cuts).
 *
 * Closed forms (checked against the solver's map in tests/test_region.c):
 *
 * (1) Best single device: every node is the same, so T1 = W / s.
 *
 * (2) Partitioning pays, T* < T1, if and only if some interior cut k (0 < k < m - 1) with work on
 *     both sides (0 < W_k < W) has b_k / B < W / s, i.e. B / s > b_k / W, provided N >= 2 and
 *     max_split >= 1.
 *     Only if: a plan of two or more stages has some cut k between two of its stages, on two
 *     different nodes (the runs are maximal), so T >= b_k / B, hence b_k / B <= T* < W / s; and
 *     if every cut with b_k / B < W / s left all the work on one side, the plan's compute would
 *     all sit on one node, T >= W / s. If: the two-stage plan cut at such a k has T = max(W_k / s,
 *     (W - W_k) / s, b_k / B) < W / s, since both parts are below the whole.
 *     So the region's boundary is a line of slope 1 in log-log, B = s b* / W with b* the least
 *     such b_k: only the ratio B / s matters (scaling both leaves every T1 / T unchanged, as
 *     every term scales by the same factor).
 *
 * (3) Two nodes (N = 2, or max_split = 1) without `parallel`: T2 = min(W / s, min over such k of
 *     max(W_k / s, (W - W_k) / s, b_k / B)), the best of one cut or none; with B large, the cut
 *     that balances the work, and the speed-up is at most W / max(W_k, W - W_k) <= 2.
 *
 * (4) Any N: the speed-up T1 / T* is at most min(K, W / w_max) with K = min(N, max_split + 1)
 *     stages without `parallel` (K runs share W, so one holds W / K; no segment is split: one
 *     holds w_max), and, when partitioning pays, at most (W / s) / (b* / B) (some hop carries
 *     at least b*). It is at least the two-node speed-up (3) when N >= 2.
 */
#ifndef EDGEPIPE_REGION_H
#define EDGEPIPE_REGION_H

#include <stdbool.h>
#include <stdio.h>

#include "algo.h"
#include "ep_error.h"
#include "instance.h"
#include "model_profile.h"
#include "plot.h"

struct region_spec {
	int nodes;                  /* N >= 1 */
	const struct algo *algo;    /* the solver; NULL: feltin */
	struct algo_options algo_options; /* variant, --max-split, --force ... */
	bool parallel;              /* nodes may hold several stages (shared_nodes) */
	/* log-spaced axes; one point means the minimum only */
	double bw_min_bps, bw_max_bps;
	int n_bw;
	double speed_min_flops, speed_max_flops;
	int n_speed;
};

struct region_point {
	double bw_bps, speed_flops;
	int status;            /* the solver's: EP_OK, EP_EINFEASIBLE, EP_ELIMIT */
	double single_s;       /* (1) */
	double best_s;         /* the solver's bottleneck; NAN unless status is EP_OK */
	double speedup;        /* single_s / best_s; NAN unless status is EP_OK */
	int stages;            /* of the solver's plan */
	bool pays;             /* the solver's best_s < single_s */
	bool pays_closed;      /* (2) */
	double two_node_s;     /* (3) */
	double speedup_bound;  /* (4) */
};

/* The cut limit S of `spec`: the algorithm option "max-split" (feltin's; its default when not
 * given), which bounds the stages to min(N, S + 1). */
int region_max_split(const struct region_spec *spec);

/* (1), (2), (3), (4) at one point (see above). `kmax` = stages allowed, min(N, max_split + 1),
 * or N' = N with parallel (the bound then uses W / w_max only). Complexity: O(m). */
double region_single_s(const struct model_profile *prof, double speed_flops);
bool region_pays_closed(const struct model_profile *prof, double bw_bps, double speed_flops,
			int nodes, int max_split);
double region_two_node_s(const struct model_profile *prof, double bw_bps, double speed_flops);
double region_speedup_bound(const struct model_profile *prof, double bw_bps, double speed_flops,
			    int kmax);
/* b*: the least transfer (bits) of an interior cut with work on both sides, and that cut's
 * index in *cut (may be NULL); INFINITY (cut -1) when there is none. */
double region_min_cut_bits(const struct model_profile *prof, int *cut);

/*
 * An axis as users type it (--bw-range, --speed-range): "MIN:MAX", bit rates (ep_units.h
 * ep_parse_bitrate, "1Mbit") or with `flops` speeds (ep_parse_flops, "5GFLOPS"), 0 < MIN <= MAX.
 * EP_EINVAL with the message "OPTION 'S': ..." (`option` names the value).
 */
int region_axis_parse(const char *option, const char *s, bool flops, double *lo, double *hi,
		      struct ep_error *err);

/* Grid value i of n log-spaced values from lo to hi (lo when n == 1). */
double region_axis(double lo, double hi, int n, int i);

/*
 * Solve every grid point: pts has spec->n_speed * spec->n_bw entries, speed-major (point
 * (i, j) = speed i, bandwidth j at pts[i * n_bw + j]). A point the solver cannot solve keeps its
 * status (EP_EINFEASIBLE, EP_ELIMIT) and NAN values. Returns EP_OK, EP_EINVAL (bad spec: the
 * message names the field), EP_ENOMEM, EP_EINTERNAL (the solver returned an invalid plan).
 * Complexity: grid points x the solver's.
 */
int region_compute(const struct model_profile *prof, const struct region_spec *spec,
		   struct region_point *pts, struct ep_error *err);

/* CSV, one row per point with a header: model, nodes, bw_bps, speed_flops, status, single_s,
 * best_s, speedup, stages, pays, pays_closed, two_node_s, speedup_bound. EP_OK or EP_EIO. */
int region_write_csv(FILE *f, const struct model_profile *prof, const struct region_spec *spec,
		     const struct region_point *pts, struct ep_error *err);

/*
 * A solved region: the model's profile and every grid point. Plain struct, owned by its
 * creator (region_map_destroy).
 */
struct region_map {
	struct region_spec spec;  /* as solved */
	struct instance *inst;	  /* the model's instance (its graph and profile) */
	struct region_point *pts; /* spec.n_speed * spec.n_bw, as region_compute */
};

/*
 * Build `model` (zoo name or model file) with the profile options `opts` and solve the grid of
 * `spec` (region_compute); *out is owned by the caller. The instance has spec->nodes nodes and
 * Feltin's metric; only its profile matters. Errors: instance_create's (the model: EP_ENOTFOUND,
 * EP_EINVAL), region_compute's, EP_ENOMEM.
 */
int region_map_create(const char *model, const struct model_profile_options *opts,
		      const struct region_spec *spec, struct region_map **out,
		      struct ep_error *err);
/* Free. Accepts NULL. */
void region_map_destroy(struct region_map *m);

enum region_format { REGION_TEXT, REGION_CSV, REGION_JSON };

/*
 * The report of 'edgepipe region': text (a summary: the closed form, where partitioning pays,
 * the largest speed-up; then the speed-up table, rows of speed from the fastest down, columns
 * of bandwidth), CSV (region_write_csv) or one JSON object (the spec, b* and every point).
 * EP_OK, EP_ENOMEM or EP_EIO.
 */
int region_map_write(FILE *f, enum region_format fmt, const struct region_map *m,
		     struct ep_error *err);

/*
 * The map's files in `dir`: the heat map (region_plot) and the CSV (region-MODEL-NnN.csv);
 * `base` as region_plot's. Errors: region_plot's, EP_EIO ("cannot write 'PATH'").
 */
int region_map_save(const struct region_map *m, const char *dir, const struct plot_options *opt,
		    char *base, size_t base_size, struct ep_error *err);

/*
 * The heat map: speed-up against bandwidth (x) and device speed (y), both logarithmic, with the
 * closed-form boundary (2) drawn over it. Writes region-MODEL-NnN.dat, .gp and the images into
 * `dir` (created if needed) and runs gnuplot; `base` (may be NULL) receives the file name
 * without suffix. EP_OK, EP_ENOTFOUND (no gnuplot), EP_EINVAL (dir), EP_EIO.
 */
int region_plot(const struct model_profile *prof, const struct region_spec *spec,
		const struct region_point *pts, const char *dir, const struct plot_options *opt,
		char *base, size_t base_size, struct ep_error *err);

#endif
