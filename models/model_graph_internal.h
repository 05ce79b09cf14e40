/*
 * model_graph_internal: what the graph container (model_graph.c) and its builders
 * (model_build.c) share. Not a public API.
 */
#ifndef EDGEPIPE_MODEL_GRAPH_INTERNAL_H
#define EDGEPIPE_MODEL_GRAPH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ep_error.h"
#include "model_graph.h"

struct model_graph {
	char name[MODEL_NAME_MAX];
	struct model_layer *layers;
	int *consumers; /* per layer: how many distinct later layers read its output */
	size_t n, cap;
	/* Open-addressing table from layer name to index + 1 (0 = empty); capacity a power of 2. */
	int *slots;
	size_t slot_cap;
	/* Keras's per-class counters for generated names (backend.unique_object_name). */
	int auto_count[MODEL_OP_COUNT_];
	struct ep_error err;
	int64_t params, flops; /* totals, each at most MODEL_MAX_COUNT */
	char *weights_path; /* a model file's 'weights' line, resolved; NULL if none */
};

/* The snake-case prefix Keras derives from op's class name for generated names ("conv2d"). */
const char *model_op_snake_name(enum model_op op);

/* Same rank and dimensions. */
static inline bool model_layer_same_shape(const struct model_layer *a, const struct model_layer *b)
{
	if (a->rank != b->rank)
		return false;
	for (int i = 0; i < a->rank; i++)
		if (a->shape[i] != b->shape[i])
			return false;
	return true;
}

#endif
