/*
 * onnx_import: the importer's result beyond the graph (private to models/): per layer, the
 * ONNX node(s) whose initializers are its weights and how to read them, so that the weights
 * step (onnx_weights.c) can convert them to model_weights.h's Keras layouts.
 */
#ifndef EDGEPIPE_ONNX_IMPORT_H
#define EDGEPIPE_ONNX_IMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "ep_error.h"
#include "model_graph.h"
#include "model_onnx.h"
#include "onnx.pb-c.h"

enum onnx_recipe_kind {
	ONNX_RECIPE_NONE = 0,  /* no weights */
	ONNX_RECIPE_CONV,      /* node: Conv (W, B) */
	ONNX_RECIPE_DEPTHWISE, /* node: Conv with group = channels */
	ONNX_RECIPE_SEPARABLE, /* node: the depthwise Conv, node2: the pointwise Conv */
	ONNX_RECIPE_DENSE,     /* node: Gemm or MatMul; bias below; node2: MatMul's Add */
	ONNX_RECIPE_BATCH_NORM, /* node: BatchNormalization (scale, B, mean, var) */
	ONNX_RECIPE_NORMALIZATION, /* node: BatchNormalization read as Keras Normalization */
};

struct onnx_import_recipe {
	enum onnx_recipe_kind kind;
	const Onnx__NodeProto *node, *node2;
	const Onnx__TensorProto *bias; /* Dense */
	bool trans_b;                  /* Gemm's B is [N][K] */
	bool chw_rows;                 /* Dense rows come in C,H,W order (chw = C, H, W) */
	int64_t chw[3];
};

struct onnx_import {
	Onnx__ModelProto *model;
	struct model_graph *graph;
	struct onnx_import_recipe *recipes; /* one per layer of graph */
};

/* Read and convert `path` (model_onnx_load's contract); *out owns everything. */
int onnx_import_run(const char *path, const struct model_onnx_options *opt,
		    struct onnx_import **out, struct ep_error *err);
/* The same from a decoded model (owned by the import from now on, also on error); `path`
 * names it in messages. */
int onnx_import_model(Onnx__ModelProto *model, const char *path,
		      const struct model_onnx_options *opt, struct onnx_import **out,
		      struct ep_error *err);
/* The initializers as weights of imp->graph (*out refers to imp->graph). */
struct model_weights;
int onnx_import_weights(const struct onnx_import *imp, struct model_weights **out,
			struct ep_error *err);
void onnx_import_destroy(struct onnx_import *imp);

#endif
