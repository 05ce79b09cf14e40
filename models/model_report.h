/*
 * model_report: what 'edgepipe model show' prints of a model: the layer table (index, name,
 * op, shape, parameters, FLOPs, dtype, inputs) and the cut-point profile (per segment and
 * cumulative parameters, FLOPs and memory, and the transfer size of each cut tensor), as text,
 * CSV or JSON, with the executor's measured resident memory beside the accounting's when
 * measured (model_report_exec_memory).
 */
#ifndef EDGEPIPE_MODEL_REPORT_H
#define EDGEPIPE_MODEL_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ep_error.h"
#include "model_exec.h"
#include "model_graph.h"
#include "model_profile.h"

enum model_report_format { MODEL_REPORT_TEXT, MODEL_REPORT_CSV, MODEL_REPORT_JSON };

/* What the report shows; everything borrowed. */
struct model_report {
	const struct model_graph *graph;
	const struct model_profile_options *options; /* the profile's (cut rule, accounting...) */
	const struct model_profile *profile;
	bool layers, cuts;                    /* which tables */
	/* the executor's measured memory: per cut point (model_report_exec_memory), or NULL */
	const int64_t *exec_mem;
	const struct model_stage_memory *exec_whole; /* the whole model's, with exec_mem */
	int exec_threads;                     /* as measured, with exec_mem */
};

/* A layer's output shape as "HxWxC" into buf (cut to size - 1 characters). */
void model_report_shape(const struct model_layer *l, char *buf, size_t size);

/* Write the report to `f`: text (a summary line, then the tables), CSV (the tables) or one
 * JSON object (jansson, ep_json.h). EP_OK, EP_ENOMEM, or EP_EIO (a failed write).
 * Complexity: O(layers + cut points). */
int model_report_write(FILE *f, enum model_report_format fmt, const struct model_report *r,
		       struct ep_error *err);

/* Whether and how model_report_show measures the executor's memory (--exec). */
struct model_report_exec {
	bool on;
	uint64_t seed;	     /* of generated weights */
	int threads;	     /* executor threads per stage, >= 1 */
	const char *weights; /* a raw float32 weights file, or NULL (model_weights_open) */
};

/*
 * 'edgepipe model show' whole: the profile of `g` with `opt`, the executor's memory when
 * ex->on (model_report_exec_memory: whatever refuses the model does so before any output), and
 * the report with the tables asked for (`layers`, `cuts`) written to `f`. Errors:
 * model_profile_create's, model_report_exec_memory's, model_report_write's, EP_ENOMEM.
 */
int model_report_show(FILE *f, enum model_report_format fmt, const struct model_graph *g,
		      const struct model_profile_options *opt, bool layers, bool cuts,
		      const struct model_report_exec *ex, struct ep_error *err);

/*
 * 'edgepipe models': every zoo model (model_zoo.h), built, one row each: its name (and Keras
 * class in CSV and JSON), input shape, layers, parameters (and trainable ones), FLOPs (GFLOPs
 * in text) and its cut points under the exact and the published rule; text and CSV with a
 * header line, JSON an array of objects. EP_OK; a zoo model that does not build (the rows
 * before it written): its error; EP_ENOMEM, EP_EIO (a failed write).
 * Complexity: building every zoo model.
 */
int model_report_zoo_write(FILE *f, enum model_report_format fmt, struct ep_error *err);

/*
 * Measure, per cut point m >= 1, the resident memory of the executor's stage that runs the
 * segment ending at m (exec_mem[m]; exec_mem[0] = 0, the input), and the whole model's
 * (*whole), with `threads` executor threads and the weights of the file `weights` (raw
 * float32; NULL: the model's own or generated from `seed`: model_weights_open). exec_mem has
 * p->n_cuts entries. Everything that can refuse the model (a layer the executor lacks, a
 * weights file of the wrong size) is found here, before anything is printed: EP_EINVAL /
 * EP_ENOTFOUND naming it, EP_ENOMEM.
 */
int model_report_exec_memory(const struct model_graph *g, const struct model_profile *p,
			     uint64_t seed, int threads, const char *weights, int64_t *exec_mem,
			     struct model_stage_memory *whole, struct ep_error *err);

#endif
