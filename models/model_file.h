/*
 * model_file: a plain text format for model graphs, so a user can bring a model that is not in
 * the zoo (exported from any framework by a short script), and so zoo models can be saved.
 *
 * Format, version 1. Everything from '#' to the end of a line is a comment; blank lines are
 * ignored; fields are separated by spaces or tabs.
 *
 *   edgepipe-model 1             first line that is not blank or a comment: the format version
 *   model NAME                   optional; default: the file name without directory and suffix
 *   weights PATH                 optional: the model's trained weights (model_weights.h's raw
 *                                float32 format); a relative PATH is relative to the model
 *                                file's directory; no blanks. Without it, the executor
 *                                generates weights from a seed. Stored resolved in the graph
 *                                (model_graph_weights_path) and written back as stored.
 *   NAME OP INPUTS SHAPE PARAMS FLOPS DTYPE [KEY=VALUE ...]     one line per layer, in order
 *
 * - NAME: unique; no blanks, control characters, ',', '#', '"' or '\\'; at most 63
 *   characters.
 * - OP: the Keras class name (Conv2D, BatchNormalization, ...). Unknown ops are accepted and kept.
 * - INPUTS: '-' for the input layer, else the names of earlier layers separated by ','.
 * - SHAPE: the output shape without the batch dimension, dimensions joined by 'x': 112x112x64.
 * - PARAMS: TRAINABLE or TRAINABLE+NON_TRAINABLE (BatchNormalization: 128+128).
 * - FLOPS: floating-point operations of one inference of the layer (model_graph.h convention).
 * - DTYPE: float32, float16, int8 or float64.
 * - Attributes, all optional, as model_attrs names them: filters, units, groups,
 *   depth_multiplier, axis, target_rank (integers); kernel, strides, dilation (H,W); pad
 *   (T,B,L,R); target (D1,...); padding (valid|same); activation (linear, relu, relu6, sigmoid,
 *   swish, tanh, softmax, hard_sigmoid, hard_swish); max_value, scale_value, negative_slope
 *   (numbers); use_bias, center, scale, keepdims (true|false).
 *
 * Shapes, parameter counts and FLOPs are taken as written (they may come from any profiler);
 * the reader checks the file's syntax and the graph's structure (model_graph_add_layer,
 * model_graph_validate). Writing a graph and reading it back gives an equal graph.
 */
#ifndef EDGEPIPE_MODEL_FILE_H
#define EDGEPIPE_MODEL_FILE_H

#include <stdio.h>

#include "ep_error.h"
#include "model_graph.h"

#define MODEL_FILE_VERSION 1

/*
 * Read a model from `f`; `path` names the file in error messages and gives the default model
 * name. On success *out is a new valid graph owned by the caller. Errors: EP_EINVAL with
 * "PATH:LINE: what is wrong", EP_ENOMEM, EP_EIO.
 * Complexity: O(size of the file).
 */
int model_file_read(FILE *f, const char *path, struct model_graph **out, struct ep_error *err);
/* Open `path` and read it; EP_ENOTFOUND or EP_EIO when it cannot be opened. */
int model_file_load(const char *path, struct model_graph **out, struct ep_error *err);

/* Write `g` to `f` in the format above. Returns EP_OK or EP_EIO. */
int model_file_write(const struct model_graph *g, FILE *f, struct ep_error *err);
/* Write `g` to `path` (replaced). */
int model_file_save(const struct model_graph *g, const char *path, struct ep_error *err);

#endif
