/*
 * model_weights: the parameter tensors of every layer of a model graph, float32, in Keras's own
 * layouts; generated deterministically from a seed, or read from (and written to) a raw file.
 *
 * Nothing can be downloaded, so weights are synthetic unless a user brings a file. Generated
 * weights use He-style scaling (a kernel entry is uniform in [-sqrt(6 / fan_in), +sqrt(6 /
 * fan_in)], so activations keep a realistic range from layer to layer and about half of them
 * are cut by a ReLU), biases are small (uniform in [-0.05, 0.05]), and BatchNormalization
 * parameters are near identity (gamma in [0.9, 1.1], beta in [-0.05, 0.05], moving mean in
 * [-0.05, 0.05], moving variance in [0.9, 1.1]). A layer's stream is seeded from the seed and
 * the layer's name (ep_fnv1a), so a layer's weights do not depend on the layers around it.
 *
 * Tensors of each layer, in this order (shapes row-major, the last index varies fastest;
 * C = input channels, the last dimension of the layer's input):
 *   Conv2D            kernel [kh][kw][C / groups][filters] (Keras HWIO), bias [filters]
 *                     when use_bias
 *   DepthwiseConv2D   depthwise_kernel [kh][kw][C][depth_multiplier] (Keras), bias
 *                     [C * depth_multiplier] when use_bias; output channel c * dm + m reads
 *                     input channel c
 *   SeparableConv2D   depthwise_kernel [kh][kw][C][depth_multiplier], pointwise_kernel
 *                     [1][1][C * depth_multiplier][filters], bias [filters] when use_bias
 *   Dense             kernel [C][units] (Keras: input by output), bias [units] when use_bias
 *   BatchNormalization gamma [C] when scale, beta [C] when center, moving_mean [C],
 *                     moving_variance [C]; epsilon is fixed at Keras's default 0.001 (the
 *                     graph does not carry it: an importer with another epsilon e adds
 *                     e - 0.001 to the moving variance)
 *   Normalization     mean [C], variance [C], count [1] (as Keras stores them; the count is
 *                     not used)
 *   every other op    no tensor
 * The element counts of a layer's tensors add up to its parameter count (trainable plus
 * non-trainable) for every zoo layer; model_weights_create refuses a layer where they do not.
 *
 * Weights file (raw, no header): for each layer in graph order, for each of its tensors in the
 * order above, the elements as little-endian IEEE-754 float32. Its size is therefore exactly
 * 4 x the sum of all tensor elements (4 x model_graph_params for a zoo model).
 */
#ifndef EDGEPIPE_MODEL_WEIGHTS_H
#define EDGEPIPE_MODEL_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "ep_error.h"
#include "model_graph.h"

#define MODEL_WEIGHTS_MAX_TENSORS 4 /* tensors of one layer (BatchNormalization) */
#define MODEL_BN_EPSILON 0.001f     /* Keras's BatchNormalization default */

struct model_weights;

/*
 * Create zero-filled weights for graph `g` (which must outlive them). Every layer gets the
 * tensors listed above. Returns EP_OK, EP_ENOMEM, or EP_EINVAL naming the layer when its
 * tensors cannot be derived (a layer without the input channels its op needs, or tensor sizes
 * that disagree with the layer's parameter count).
 * Complexity: O(layers + parameters).
 */
int model_weights_create(const struct model_graph *g, struct model_weights **out,
			 struct ep_error *err);
/* Free. Accepts NULL. */
void model_weights_destroy(struct model_weights *w);

const struct model_graph *model_weights_graph(const struct model_weights *w);

/* Number of tensors of layer `layer` (0..MODEL_WEIGHTS_MAX_TENSORS). */
int model_weights_tensor_count(const struct model_weights *w, size_t layer);
/* Name of tensor `t` of layer `layer` ("kernel", "bias", "gamma", ...: the Keras names). */
const char *model_weights_tensor_name(const struct model_weights *w, size_t layer, int t);
/* Elements of tensor `t`; its dimensions (at most 4, Keras layout) in dims, returns the rank. */
int64_t model_weights_tensor_elements(const struct model_weights *w, size_t layer, int t);
int model_weights_tensor_dims(const struct model_weights *w, size_t layer, int t,
			      int64_t dims[4]);
/* The tensor's elements, to read or to fill (an importer writes here). */
float *model_weights_tensor(struct model_weights *w, size_t layer, int t);
const float *model_weights_tensor_const(const struct model_weights *w, size_t layer, int t);

/* Total elements and bytes (4 per element) of all tensors. */
int64_t model_weights_elements(const struct model_weights *w);
int64_t model_weights_bytes(const struct model_weights *w);

/* Fill every tensor from `seed` as described above. Deterministic across runs and machines. */
void model_weights_generate(struct model_weights *w, uint64_t seed);

/*
 * The weights a tool should run `g` with: create them, then load the file the model file names
 * (model_graph_weights_path) if any, else generate them from `seed`. Errors: those of
 * model_weights_create and model_weights_load. *out is owned by the caller.
 */
int model_weights_open(const struct model_graph *g, uint64_t seed, struct model_weights **out,
		       struct ep_error *err);

/*
 * Read the weights file `path` into `w` (format above). Errors: EP_ENOTFOUND / EP_EIO when it
 * cannot be opened or read; EP_EINVAL when its size is wrong ("weights file 'w.bin' has 1000
 * bytes, model 'resnet50' needs 102228128"), and for a truncated file the message also names
 * the layer whose tensor it ends in and that tensor's size. `w` is unchanged on error.
 */
int model_weights_load(struct model_weights *w, const char *path, struct ep_error *err);
/* Write `w` to `path`, through a temporary file renamed at the end (nothing half-written). */
int model_weights_save(const struct model_weights *w, const char *path, struct ep_error *err);

#endif
