/*
 * model_lprofile: measured layer profiles. How long each layer of a model took on one host
 * (median and spread over R warm runs of the whole model), beside its FLOPs, so that the cost
 * model can take a stage's compute time from measurement instead of FLOPs / speed (DESIGN.md,
 * "Compute"), and so that a user can see which layer kinds run far below the FLOP rate of a
 * dense convolution. (model_profile.h is the other profile: memory, FLOPs and transfers per cut
 * point, by accounting.)
 *
 * Format, version 1, plain text. Everything from '#' to the end of a line is a comment; blank
 * lines are ignored; fields are separated by spaces or tabs. Header lines first, in any order,
 * each exactly once, then one line per layer of the model, in the graph's order:
 *
 *   edgepipe-lprofile 1             first line that is not blank or a comment: the version
 *   model NAME                      the model's name (model_graph_name)
 *   fingerprint HEX                 16 hex digits: model_lprofile_fingerprint of the graph
 *   threads T                       threads the executor ran with (1..256)
 *   repeat R                        warm runs measured (>= 1)
 *   host NAME                       where it was measured (no blanks; "-" if unknown)
 *   layer NAME OP KERNEL FLOPS MEDIAN_S SPREAD_S GFLOPS
 *
 * - NAME, OP: the layer's name and Keras class name, as in the model file (model_file.h).
 * - KERNEL: how the executor ran the layer: xnnpack, plain, folded (a BatchNormalization
 *   folded into the convolution before it: its time is in that convolution's), alias (no
 *   work: Flatten, Reshape, Dropout), none (the input layer), or '-' when not known.
 * - FLOPS: the layer's FLOPs (model_graph.h's convention), a non-negative integer.
 * - MEDIAN_S: median wall time of the layer over the R runs, seconds, >= 0.
 * - SPREAD_S: interquartile range of those R times (75th minus 25th percentile, linear
 *   interpolation between order statistics), seconds, >= 0.
 * - GFLOPS: FLOPS / MEDIAN_S / 1e9, the achieved rate, or '-' when MEDIAN_S or FLOPS is 0. It is
 *   derived: the reader checks it against the other two fields (relative 1e-4) and keeps none.
 *
 * A profile belongs to one graph: the reader checks only the file; model_lprofile_check then
 * compares the model name, the fingerprint and every layer's name with the graph's, and refuses
 * a profile of another model with a message naming both. Writing a profile and reading it back
 * gives an equal profile (times are written with 17 significant digits).
 *
 * What a profile does not capture: a BatchNormalization folded into its convolution has time 0
 * (the convolution's time includes it), so a stage that starts right after such a convolution is
 * charged nothing for a normalisation it would run plainly; and each layer's median leaves out
 * the time a loaded machine spends between layers, so on a busy host the whole run's median
 * (model_lprofile_measure's total_median_s) exceeds the sum of the layer medians.
 *
 * Errors of the reader are EP_EINVAL with "PATH:LINE: what is wrong" (LINE 0 when the problem
 * is the file as a whole, e.g. a missing header line).
 */
#ifndef EDGEPIPE_MODEL_LPROFILE_H
#define EDGEPIPE_MODEL_LPROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ep_error.h"
#include "model_graph.h"
#include "model_profile.h"
#include "model_weights.h"

#define MODEL_LPROFILE_VERSION 1
#define MODEL_LPROFILE_HOST_MAX 64   /* host name, including the NUL */
#define MODEL_LPROFILE_KERNEL_MAX 16 /* kernel name, including the NUL */
#define MODEL_LPROFILE_MAX_THREADS 256

/* One layer's measurement: a plain value. */
struct model_lprofile_layer {
	char name[MODEL_NAME_MAX];
	char op[MODEL_OP_MAX];
	char kernel[MODEL_LPROFILE_KERNEL_MAX]; /* "xnnpack", "plain", ..., "-" */
	int64_t flops;
	double median_s; /* >= 0 */
	double spread_s; /* interquartile range, >= 0 */
};

/* A whole model's profile. Plain struct; `layers` is owned (model_lprofile_destroy). */
struct model_lprofile {
	char model[MODEL_NAME_MAX];
	uint64_t fingerprint;
	int threads; /* 1..MODEL_LPROFILE_MAX_THREADS */
	int repeat;  /* >= 1 */
	char host[MODEL_LPROFILE_HOST_MAX];
	size_t n_layers;
	struct model_lprofile_layer *layers;
};

/*
 * The fingerprint of a graph's structure: FNV-1a (64 bits) over, per layer in order, its name,
 * op name, inputs, output shape, parameter counts, FLOPs and the attributes that change its
 * work (kernel, strides, dilation, groups, depth multiplier, filters, units, padding,
 * activation). Two graphs with equal fingerprints run the same layers. Complexity: O(layers).
 */
uint64_t model_lprofile_fingerprint(const struct model_graph *g);

/*
 * A profile of `g` with every layer's name, op and FLOPs filled, times 0, kernel "-",
 * threads 1, repeat 1, host "-". *out is owned by the caller. EP_OK or EP_ENOMEM.
 */
int model_lprofile_create(const struct model_graph *g, struct model_lprofile **out,
			  struct ep_error *err);
/* Free. Accepts NULL. */
void model_lprofile_destroy(struct model_lprofile *lp);

/* A layer's achieved rate in GFLOP/s: flops / median_s / 1e9; 0 when either is 0. */
double model_lprofile_layer_gflops(const struct model_lprofile_layer *l);

/*
 * Median and interquartile range of `n` >= 1 samples (the array is sorted in place), as the
 * file format defines them. Complexity: O(n log n).
 */
void model_lprofile_stats(double *samples, size_t n, double *median, double *spread);

/*
 * Read a profile from `f`; `path` names it in messages. On success *out is owned by the
 * caller. Errors: EP_EINVAL ("PATH:LINE: ..."), EP_ENOMEM, EP_EIO.
 * Complexity: O(size of the file).
 */
int model_lprofile_read(FILE *f, const char *path, struct model_lprofile **out,
			struct ep_error *err);
/* Open `path` and read it; EP_ENOTFOUND or EP_EIO when it cannot be opened. */
int model_lprofile_load(const char *path, struct model_lprofile **out, struct ep_error *err);

/* Write `lp` in the format above. EP_OK, or EP_EINVAL when a name or the host has a blank. */
int model_lprofile_write(const struct model_lprofile *lp, FILE *f, struct ep_error *err);
/* Write to `path` through a temporary file renamed at the end (nothing half-written). */
int model_lprofile_save(const struct model_lprofile *lp, const char *path, struct ep_error *err);

/*
 * Whether `lp` is a profile of `g`: same model name, same fingerprint, same layer count and
 * names. EP_OK or EP_EINVAL: "profile 'P' is of model 'A' (fingerprint X), not of model 'B'
 * (fingerprint Y)", with `path` (may be NULL) naming the profile.
 */
int model_lprofile_check(const struct model_lprofile *lp, const struct model_graph *g,
			 const char *path, struct ep_error *err);

/*
 * Put the measured times into a cut-point profile of the same graph: cuts[k].cum_measured_s =
 * the sum of the median times of the layers from the input through cut k, and
 * `has_measured` true. Checks the profile against `g` first (model_lprofile_check).
 * EP_OK or EP_EINVAL. Complexity: O(layers).
 */
int model_lprofile_apply(const struct model_lprofile *lp, const struct model_graph *g,
			 const char *path, struct model_profile *prof, struct ep_error *err);

/* How model_lprofile_measure runs the model. */
struct model_lprofile_run_options {
	int threads;         /* executor threads, 1..MODEL_LPROFILE_MAX_THREADS; 0 means 1 */
	int repeat;          /* measured runs, >= 1 */
	int warmup;          /* runs before them, not measured (caches, page faults), >= 0 */
	uint64_t input_seed; /* the synthetic input (model_exec_synthetic_input) */
	const char *host;    /* recorded in the profile; NULL: this machine's host name */
};

/* Called after every run (warm-up runs included): `done` of `total`. */
typedef void (*model_lprofile_progress_fn)(void *arg, int done, int total);

/*
 * Measure the graph of `w` (model_exec.h): the whole model as one stage, run warmup + repeat
 * times on one synthetic input, every layer timed in every measured run (model_stage_run_timed:
 * wall time, 0 for folded and alias layers); per layer the median and interquartile range of the
 * repeat samples. *out (owned by the caller) has the graph's name, fingerprint, FLOPs, the
 * kernel that ran each layer, threads, repeat and host; `total_median_s` (may be NULL) gets
 * the median wall time of a whole measured run, which exceeds the sum of the layer medians by
 * the timing overhead. `progress` may be NULL.
 * Errors: EP_EINVAL (options out of range; a layer the executor cannot run, named),
 * EP_ENOMEM, EP_EINTERNAL (XNNPACK).
 * Complexity: (warmup + repeat) inferences; O(layers x repeat) memory.
 */
int model_lprofile_measure(const struct model_weights *w,
			   const struct model_lprofile_run_options *opt,
			   model_lprofile_progress_fn progress, void *arg,
			   struct model_lprofile **out, double *total_median_s,
			   struct ep_error *err);

#endif
