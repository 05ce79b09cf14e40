/*
 * model_zoo: builders that reproduce Keras applications layer for layer, with Keras's layer
 * names and order, output shapes and per-layer parameter counts, at the default input size and
 * with the ImageNet head (include_top=True, classes=1000, weights="imagenet" defaults).
 *
 * Layer names are those of tf.keras 2.x in a fresh session (input_1, conv2d, conv2d_1 ...).
 * The registry is one table (`model_zoo`); adding a model is one builder function and one line.
 */
#ifndef EDGEPIPE_MODEL_ZOO_H
#define EDGEPIPE_MODEL_ZOO_H

#include <stddef.h>
#include <stdint.h>

#include "ep_error.h"
#include "model_graph.h"

struct model_zoo_entry {
	const char *name;       /* edgepipe's name, lower case: "resnet50", "mobilenetv2" */
	const char *keras_name; /* the keras.applications function: "ResNet50" */
	/* Append the model's layers to the empty graph `g`; returns EP_OK or the graph's error. */
	int (*build)(struct model_graph *g);
};

extern const struct model_zoo_entry model_zoo[];
extern const size_t model_zoo_count;

/* The entry called `name` (case-insensitive; "ResNet50" and "resnet50" both work), or NULL. */
const struct model_zoo_entry *model_zoo_find(const char *name);

/*
 * Build the zoo model `name` into a new graph (*out, owned by the caller, freed with
 * model_graph_destroy) and validate it. Returns EP_OK, EP_ENOTFOUND for an unknown name (the
 * message lists the known ones), or the builder's error.
 * Complexity: O(layers).
 */
int model_zoo_build(const char *name, struct model_graph **out, struct ep_error *err);

/*
 * Open a model by `spec`: a zoo name if it is one, else an ONNX file when `spec` ends in
 * ".onnx" (model_onnx.h, default options), else the path of a model file (model_file.h).
 * Returns EP_OK with a new valid graph in *out, or EP_ENOTFOUND when `spec` is neither (the
 * message says so and lists the zoo), or the file reader's error.
 */
int model_zoo_open(const char *spec, struct model_graph **out, struct ep_error *err);

struct model_weights;

/*
 * Open a model by `spec` as model_zoo_open does, with the weights the executor runs: read
 * from the raw weights file `weights_path` when it is not NULL (model_weights.h), else an
 * ONNX file's own initializers (model_onnx.h), else model_weights_open's (the weights file a
 * model file names, or generated from `seed`). *graph and
 * *weights are new and owned by the caller (destroy the weights first). Errors as
 * model_zoo_open, model_onnx_load_weights and model_weights_load.
 */
int model_zoo_open_weights(const char *spec, const char *weights_path, uint64_t seed,
			   struct model_graph **graph, struct model_weights **weights,
			   struct ep_error *err);

/*
 * The weights to run graph `g` with when `g` was opened from `spec` (model_zoo_open): an ONNX
 * file's own initializers (model_onnx_read_weights), else model_weights_open's (the weights
 * file a model file names, or generated from `seed`). For a holder of a graph whose file is
 * read again only for its weights (the emulator's real compute). `spec` NULL: as a zoo name.
 * *out is new and owned by the caller. Errors: those of model_weights_create,
 * model_onnx_read_weights (EP_EINVAL when the file no longer holds graph `g`) and
 * model_weights_load.
 */
int model_zoo_weights_open(const char *spec, const struct model_graph *g, uint64_t seed,
			   struct model_weights **out, struct ep_error *err);

#endif
