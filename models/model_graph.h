/*
 * model_graph: a deep neural network as a DAG of layers at the granularity of Keras
 * applications (every Conv2D, BatchNormalization, Activation, Add, ZeroPadding2D ... is one
 * layer, named as Keras names it).
 *
 * Invariants of a graph:
 * - layers are stored in the order they were added, which is a topological order: a layer's
 *   inputs are always earlier layers;
 * - layer names are unique;
 * - shapes exclude the batch dimension (batch size 1): (H, W, C) for images, (C) for vectors.
 *
 * Layers are added either with `model_graph_add_layer` (everything given, as the file reader
 * does) or with the builder helpers `model_add_*`, which infer the output shape, count the
 * parameters the way Keras does and count the FLOPs.
 *
 * FLOP convention (batch 1, inference):
 * - Conv2D, DepthwiseConv2D, SeparableConv2D, Dense: 2 per multiply-accumulate, plus 1 per
 *   output element for the bias when the layer has one;
 * - BatchNormalization: 2 per output element (the folded scale and shift);
 * - Normalization, Rescaling: 2 per output element; the InceptionResNetV2 scale Lambda
 *   (a + b * scale): 2 per output element;
 * - Activation, ReLU, and an activation fused into Conv2D or Dense: 1 per output element,
 *   whatever the function (relu, relu6, sigmoid, swish, tanh, softmax, hard_sigmoid,
 *   hard_swish, a ReLU's negative slope);
 * - Add: (inputs - 1) per output element; Multiply: 1 per output element;
 * - MaxPooling2D, AveragePooling2D: pool height x pool width per output element;
 *   GlobalAveragePooling2D: 1 per input element;
 * - InputLayer, ZeroPadding2D, Concatenate, Flatten, Reshape, Dropout: 0 (data movement only).
 *
 * Builder error handling: the `model_add_*` helpers return the new layer's index (>= 0) or -1.
 * The first error is kept in the graph (`model_graph_error`), later calls return -1 at once, so
 * a builder can chain calls and check once at the end, like a stream.
 */
#ifndef EDGEPIPE_MODEL_GRAPH_H
#define EDGEPIPE_MODEL_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ep_error.h"

#define MODEL_NAME_MAX 64   /* layer and model names, including the NUL */
#define MODEL_OP_MAX 32     /* op names, including the NUL */
#define MODEL_MAX_INPUTS 16 /* inputs of one layer */
#define MODEL_MAX_RANK 4    /* dimensions of a shape, batch excluded */
/* The bound of every count: a layer's output elements, its parameters (trainable plus
 * non-trainable), its FLOPs, and the graph's totals of parameters and FLOPs. 2^53 keeps them
 * exact in a double and their bytes (at most 8 per element) within int64_t. */
#define MODEL_MAX_COUNT (INT64_C(1) << 53)

enum model_op {
	MODEL_OP_OTHER = 0, /* an op edgepipe does not know: read from a file, kept verbatim */
	MODEL_OP_INPUT,     /* InputLayer */
	MODEL_OP_CONV2D,
	MODEL_OP_DEPTHWISE_CONV2D,
	MODEL_OP_SEPARABLE_CONV2D,
	MODEL_OP_DENSE,
	MODEL_OP_BATCH_NORM,    /* BatchNormalization */
	MODEL_OP_ACTIVATION,    /* Activation */
	MODEL_OP_RELU,          /* ReLU (with max_value, as MobileNet uses) */
	MODEL_OP_ADD,
	MODEL_OP_MULTIPLY,
	MODEL_OP_CONCATENATE,
	MODEL_OP_ZERO_PADDING2D,
	MODEL_OP_MAX_POOL2D,    /* MaxPooling2D */
	MODEL_OP_AVG_POOL2D,    /* AveragePooling2D */
	MODEL_OP_GLOBAL_AVG_POOL2D,
	MODEL_OP_FLATTEN,
	MODEL_OP_RESHAPE,
	MODEL_OP_DROPOUT,
	MODEL_OP_RESCALING,
	MODEL_OP_NORMALIZATION,
	MODEL_OP_LAMBDA,        /* InceptionResNetV2's residual scaling: a + b * scale */
	MODEL_OP_COUNT_
};

enum model_padding { MODEL_PAD_VALID = 0, MODEL_PAD_SAME };

enum model_activation {
	MODEL_ACT_LINEAR = 0, /* none */
	MODEL_ACT_RELU,
	MODEL_ACT_RELU6,
	MODEL_ACT_SIGMOID,
	MODEL_ACT_SWISH,
	MODEL_ACT_TANH,
	MODEL_ACT_SOFTMAX,
	MODEL_ACT_HARD_SIGMOID, /* relu6(x + 3) / 6 (Keras 3, PyTorch's Hardsigmoid) */
	MODEL_ACT_HARD_SWISH,   /* x * hard_sigmoid(x) (MobileNetV3) */
	MODEL_ACT_COUNT_
};

enum model_dtype {
	MODEL_DTYPE_DEFAULT = 0, /* in options: "each layer's own dtype"; never stored in a layer */
	MODEL_DTYPE_FLOAT32,
	MODEL_DTYPE_FLOAT16,
	MODEL_DTYPE_INT8,
	MODEL_DTYPE_FLOAT64,
	MODEL_DTYPE_COUNT_
};

/*
 * The attributes of a layer, as Keras names them. Fields an op does not use stay 0/false.
 * Kernel, strides, dilation and pool sizes are (height, width).
 */
struct model_attrs {
	int32_t filters;          /* Conv2D, SeparableConv2D */
	int32_t units;            /* Dense */
	int32_t kernel[2];        /* conv kernel_size, pool_size */
	int32_t strides[2];
	int32_t dilation[2];      /* Conv2D, DepthwiseConv2D, SeparableConv2D */
	int32_t groups;           /* Conv2D; 0 or 1 means an ordinary convolution */
	int32_t depth_multiplier; /* DepthwiseConv2D, SeparableConv2D */
	int32_t pad[4];           /* ZeroPadding2D: top, bottom, left, right */
	int32_t axis;             /* Concatenate, BatchNormalization: -1 is the channel axis */
	enum model_padding padding;
	enum model_activation activation; /* Activation, and fused into Conv2D/Dense */
	double max_value;         /* ReLU: 0 means no cap */
	double negative_slope;    /* ReLU: the slope below 0 (LeakyReLU), 0 for none */
	double scale_value;       /* Lambda: the residual scale; Rescaling: the factor */
	bool use_bias;            /* Conv2D, DepthwiseConv2D, SeparableConv2D, Dense */
	bool center;              /* BatchNormalization: has beta */
	bool scale;               /* BatchNormalization: has gamma */
	bool keepdims;            /* GlobalAveragePooling2D */
	int32_t target_rank;      /* Reshape */
	int64_t target[MODEL_MAX_RANK];
};

/* One layer: a plain value. */
struct model_layer {
	char name[MODEL_NAME_MAX];
	char op_name[MODEL_OP_MAX]; /* the Keras class name; for MODEL_OP_OTHER, what the file said */
	enum model_op op;
	int n_inputs;
	int inputs[MODEL_MAX_INPUTS]; /* indices of earlier layers */
	int rank;                     /* 1..MODEL_MAX_RANK */
	int64_t shape[MODEL_MAX_RANK];
	int64_t params_trainable;
	int64_t params_non_trainable; /* e.g. BatchNorm moving mean and variance */
	int64_t flops;
	enum model_dtype dtype;       /* never MODEL_DTYPE_DEFAULT */
	struct model_attrs attrs;
};

struct model_graph;

/* Create an empty graph called `name` (e.g. "resnet50"). Returns NULL when out of memory. */
struct model_graph *model_graph_create(const char *name);
/* Free the graph. Accepts NULL. */
void model_graph_destroy(struct model_graph *g);

const char *model_graph_name(const struct model_graph *g);
size_t model_graph_layer_count(const struct model_graph *g);
/* The layer at `index`; the pointer stays valid until the next layer is added. */
const struct model_layer *model_graph_layer(const struct model_graph *g, size_t index);
/* Index of the layer called `name`, or -1. Complexity: O(1) expected. */
int model_graph_find(const struct model_graph *g, const char *name);

/* Totals over all layers. */
int64_t model_graph_params(const struct model_graph *g); /* trainable + non-trainable */
int64_t model_graph_params_trainable(const struct model_graph *g);
int64_t model_graph_flops(const struct model_graph *g);

/*
 * The first builder error, or NULL if none; and its code (EP_OK if none). The message names
 * the layer and the offending value.
 */
const char *model_graph_error(const struct model_graph *g);
int model_graph_error_code(const struct model_graph *g);

/*
 * Append `layer` verbatim (name, op, inputs, shape, counts, dtype, attrs are all taken as
 * given; `op` is derived from `op_name`). Checks: name unique and non-empty, inputs refer to
 * earlier layers, rank in 1..4, dimensions positive, counts non-negative, dtype set, every
 * count and the graph's totals at most MODEL_MAX_COUNT; and the shapes per op kind: Add and
 * Multiply inputs broadcast (numpy's rule: right-aligned, each dimension equal or 1) to the
 * output's shape; Concatenate inputs have the output's rank and agree with it except on one
 * axis, whose sizes add up to the output's; BatchNormalization, Activation, ReLU, Dropout,
 * Rescaling and Normalization keep their input's shape; Flatten and Reshape keep its number of
 * elements. Unknown ops are not checked.
 * Returns the new index, or a negative EP_E* code with `err` filled.
 */
int model_graph_add_layer(struct model_graph *g, const struct model_layer *layer,
			  struct ep_error *err);

/*
 * Check the whole graph: at least two layers, exactly one layer without inputs (the input,
 * which must be first), exactly one layer that no other layer consumes (the output, which must
 * be last), every layer on a path from the input to the output. Returns EP_OK or EP_EINVAL.
 */
int model_graph_validate(const struct model_graph *g, struct ep_error *err);

/*
 * Reorder the layers the way Keras orders a functional model's `model.layers`
 * (keras/engine/functional.py, _map_graph_network): by longest distance to the output layer,
 * largest first; ties by the order of a depth-first walk from the output that visits each
 * layer's inputs in order. Builders add layers in Keras's call order, which gives Keras's
 * generated names; this pass then gives Keras's order. The result is still topological.
 * Returns EP_OK, EP_ENOMEM, or EP_EINVAL unless the graph is valid (model_graph_validate).
 * Complexity: O(layers log layers + edges).
 */
int model_graph_sort_keras(struct model_graph *g, struct ep_error *err);

/*
 * The weights file a model file names (model_file.h's 'weights' line; model_weights.h's
 * format), or NULL. Set copies `path` (NULL clears it); EP_OK or EP_ENOMEM.
 */
int model_graph_set_weights_path(struct model_graph *g, const char *path);
const char *model_graph_weights_path(const struct model_graph *g);

/* Number of layers consuming the output of layer `index`. Complexity: O(1). */
int model_graph_consumers(const struct model_graph *g, size_t index);

/* Output elements of a layer (product of its shape); INT64_MAX when the product would overflow
 * (never for a layer of a graph: model_graph_add_layer bounds it by MODEL_MAX_COUNT). */
int64_t model_layer_elements(const struct model_layer *layer);

/* True when two graphs have the same name and the same layers, field by field. */
bool model_graph_equal(const struct model_graph *a, const struct model_graph *b);

/* Names: Keras class names for ops, Keras strings for activations, "float32"... for dtypes. */
const char *model_op_name(enum model_op op);
enum model_op model_op_from_name(const char *name); /* MODEL_OP_OTHER if unknown */
const char *model_activation_name(enum model_activation act);
int model_activation_from_name(const char *name); /* -1 if unknown */
const char *model_dtype_name(enum model_dtype dtype);
int model_dtype_from_name(const char *name);      /* -1 if unknown; "default" is 0 */
int model_dtype_size(enum model_dtype dtype);     /* bytes per element; 0 for DEFAULT */

/*
 * Builder helpers. `name` NULL means "the name Keras would generate in a fresh session": the
 * snake-case class name, then _1, _2, ... (conv2d, conv2d_1, batch_normalization, ...;
 * "input_1" for the input). Explicit names do not advance those counters, as in Keras.
 * Every helper returns the new layer's index or -1 (see the error note above). Layers are
 * float32.
 */
int model_add_input(struct model_graph *g, const char *name, int64_t h, int64_t w, int64_t c);
int model_add_conv2d(struct model_graph *g, const char *name, int x, int filters, int kh, int kw,
		     int stride, enum model_padding padding, bool use_bias,
		     enum model_activation act);
/* Conv2D with every attribute (dilation, groups, unequal strides). */
int model_add_conv2d_ex(struct model_graph *g, const char *name, int x,
			const struct model_attrs *attrs);
int model_add_depthwise(struct model_graph *g, const char *name, int x, int kh, int kw,
			int stride, enum model_padding padding, int depth_multiplier,
			bool use_bias);
int model_add_separable(struct model_graph *g, const char *name, int x, int filters, int kh,
			int kw, int stride, enum model_padding padding, bool use_bias);
int model_add_dense(struct model_graph *g, const char *name, int x, int units, bool use_bias,
		    enum model_activation act);
/* BatchNormalization on the channel axis; Keras's default is center = scale = true. */
int model_add_batch_norm(struct model_graph *g, const char *name, int x, bool center,
			 bool scale);
int model_add_activation(struct model_graph *g, const char *name, int x,
			 enum model_activation act);
/* ReLU layer; max_value 0 means uncapped, 6 is MobileNet's ReLU6. */
int model_add_relu(struct model_graph *g, const char *name, int x, double max_value);
/* ReLU layer with negative_slope (Keras ReLU(negative_slope=a), ONNX LeakyRelu(alpha=a)). */
int model_add_leaky_relu(struct model_graph *g, const char *name, int x, double negative_slope);
int model_add_add(struct model_graph *g, const char *name, const int *xs, int n);
/* Element-wise product with broadcasting of size-1 dimensions (squeeze-and-excitation). */
int model_add_multiply(struct model_graph *g, const char *name, int a, int b);
/* Concatenate on the channel (last) axis. */
int model_add_concat(struct model_graph *g, const char *name, const int *xs, int n);
int model_add_zero_pad(struct model_graph *g, const char *name, int x, int top, int bottom,
		       int left, int right);
/* op is MODEL_OP_MAX_POOL2D or MODEL_OP_AVG_POOL2D. */
int model_add_pool(struct model_graph *g, const char *name, enum model_op op, int x, int pool,
		   int stride, enum model_padding padding);
int model_add_global_avg_pool(struct model_graph *g, const char *name, int x, bool keepdims);
int model_add_flatten(struct model_graph *g, const char *name, int x);
int model_add_reshape(struct model_graph *g, const char *name, int x, int rank,
		      const int64_t *dims);
int model_add_dropout(struct model_graph *g, const char *name, int x);
int model_add_rescaling(struct model_graph *g, const char *name, int x, double factor);
/* Keras Normalization on the channel axis: mean and variance per channel plus a count, all
 * non-trainable (2 C + 1 parameters). */
int model_add_normalization(struct model_graph *g, const char *name, int x);
/* InceptionResNetV2's residual Lambda: out = a + b * scale, shape of a. */
int model_add_scale_sum(struct model_graph *g, const char *name, int a, int b, double scale);

#endif
