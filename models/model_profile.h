/*
 * model_profile: what each cut point of a model costs, under a dtype and an accounting.
 *
 * Cut points p_0 = input, ..., p_{n-1} = output (model_cut). Segment m is the run of layers after
 * p_{m-1} up to and including p_m (segment 0 is the input layer alone). A stage that starts
 * after cut a and ends with cut b holds segments a+1 .. b: its memory is cum_mem_bytes[b] -
 * cum_mem_bytes[a], and it sends transfer_bytes[b] to the next stage.
 *
 * Accountings (shared/reference/seifer-2022.md):
 * - MODEL_ACCOUNT_EXACT: parameters and activations in bytes of the dtype; a cut tensor is sent
 *   once, in the dtype, divided by `compression` (1 = none). The output layer's transfer is the
 *   prediction's size (what goes back to the dispatcher).
 * - MODEL_ACCOUNT_PUBLISHED: the SEIFER notebooks' numbers, defects included: a layer's memory
 *   is 4 x output elements + parameter COUNT (D3), compared as bytes; a cut tensor's transfer is
 *   consumers x elements x 8 bytes / 1.44 (float64 for a float32 model, a fixed compression
 *   ratio, once per consumer: D4); the output layer's transfer is 0. The dtype and compression
 *   options do not apply.
 *
 * Activation bytes count every layer's output once (the published memory model); FLOPs follow
 * model_graph.h's convention.
 */
#ifndef EDGEPIPE_MODEL_PROFILE_H
#define EDGEPIPE_MODEL_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ep_error.h"
#include "model_cut.h"
#include "model_graph.h"

enum model_accounting { MODEL_ACCOUNT_EXACT = 0, MODEL_ACCOUNT_PUBLISHED };

const char *model_accounting_name(enum model_accounting a); /* "exact", "published" */
int model_accounting_from_name(const char *name);            /* -1 if unknown */

struct model_profile_options {
	enum model_cut_rule cuts;
	enum model_accounting accounting;
	enum model_dtype dtype; /* MODEL_DTYPE_DEFAULT: each layer's own dtype */
	double compression;     /* exact accounting only; >= 1; 0 is taken as 1 */
};

/* Defaults: exact cut points, exact accounting, layers' own dtype, no compression. */
#define MODEL_PROFILE_OPTIONS_DEFAULT                                                         \
	((struct model_profile_options){ MODEL_CUTS_EXACT, MODEL_ACCOUNT_EXACT,                \
					 MODEL_DTYPE_DEFAULT, 1.0 })

/* One cut point and the segment that ends with it. Byte figures are doubles because the
 * published accounting divides by 1.44. */
struct model_cut_profile {
	int layer;              /* index of the cut layer in the graph */
	int first_layer;        /* first layer of the segment ending here */
	int consumers;          /* layers reading the cut tensor */
	int64_t out_elements;   /* elements of the cut tensor */
	int64_t seg_params;     /* parameters (trainable + non-trainable) of the segment */
	int64_t seg_flops;
	double seg_param_bytes; /* published: the parameter count itself (D3) */
	double seg_act_bytes;
	double seg_mem_bytes;   /* param + activation bytes */
	int64_t cum_flops;      /* from the input through this cut */
	double cum_param_bytes;
	double cum_act_bytes;
	double cum_mem_bytes;
	double transfer_bytes;  /* the cut tensor on the wire to the next stage */
	double cum_measured_s;  /* measured compute from the input through this cut, seconds on
				   the profiling host (model_lprofile_apply); 0 without */
};

struct model_profile {
	char model[MODEL_NAME_MAX];
	struct model_profile_options options;
	size_t n_cuts;
	struct model_cut_profile *cuts; /* n_cuts entries, owned by the profile */
	bool has_measured;              /* cum_measured_s is filled (model_lprofile_apply) */
};

/*
 * Profile the valid graph `g`. *out is owned by the caller (model_profile_destroy).
 * Returns EP_OK, EP_EINVAL (invalid graph or options), EP_ENOMEM or a model_cut error.
 * Complexity: that of model_cut_points plus O(layers).
 */
int model_profile_create(const struct model_graph *g, const struct model_profile_options *opt,
			 struct model_profile **out, struct ep_error *err);
void model_profile_destroy(struct model_profile *p);

#endif
