/*
 * model_exec: real inference of a model graph, or of one stage of it, on the CPU with XNNPACK
 * (Debian's libxnnpack-dev 0.0~git20220216, its operator API) and pthreadpool.
 *
 * A stage is a contiguous range of cut points (model_cut.h): it starts after the cut layer
 * `first_layer` (whose output is the stage's input; 0, the input layer, for the first stage)
 * and ends with the cut layer `last_layer` (whose output it returns). The whole model is the
 * stage (0, last layer). Tensors are float32, batch 1, NHWC as Keras lays them out (a layer of
 * shape (H, W, C) is H x W x C floats, C fastest); weights are model_weights.h's.
 *
 * Semantics are Keras's: SAME padding as TensorFlow computes it (total padding max((out - 1)
 * * stride + (k - 1) * dilation + 1 - in, 0), the odd pixel at the bottom/right), Flatten in
 * NHWC order, softmax over the last axis, BatchNormalization with epsilon MODEL_BN_EPSILON,
 * Dropout as the identity (inference).
 *
 * Which code runs each layer kind:
 * - XNNPACK: Conv2D (strides, padding, dilation, groups; fused relu/relu6 clamp),
 *   DepthwiseConv2D and the two halves of SeparableConv2D (as XNNPACK depthwise and 1x1
 *   convolutions), Dense (fully connected), MaxPooling2D, AveragePooling2D (VALID padding;
 *   SAME padding with a nonzero pad runs plainly, because Keras divides by the pixels inside
 *   the image and XNNPACK by the whole window), GlobalAveragePooling2D, Add of two inputs (a
 *   chain of XNNPACK adds for more), Multiply (with the squeeze-excite broadcast), sigmoid,
 *   softmax, relu/relu6 as a clamp, ZeroPadding2D (constant pad).
 * - Mixed: a swish Activation layer is XNNPACK's sigmoid followed by a plain product x * s.
 * - Plainly written here: tanh, hard_sigmoid (relu6(x + 3) / 6), hard_swish (x times that), a
 *   ReLU with a negative slope (LeakyReLU), BatchNormalization that cannot be folded,
 *   Rescaling, Normalization, the InceptionResNetV2 scale Lambda (a + b * scale),
 *   Concatenate, and the fused activations swish (x / (1 + exp(-x))), sigmoid, tanh, softmax,
 *   hard_sigmoid and hard_swish of a Conv2D or Dense (applied after the XNNPACK op).
 * - Copies: the stage's input is copied into its own buffer and the output out of it (one
 *   memcpy each per run), so that every operator is set up once, at creation.
 * - Without work: Flatten, Reshape, Dropout and a linear Activation alias their input's buffer.
 * - Folded: a BatchNormalization whose input is a Conv2D, DepthwiseConv2D or SeparableConv2D
 *   inside the same stage, with no fused activation and no other consumer, is folded into that
 *   convolution's kernel and bias at stage creation (what Keras/TFLite converters do); it then
 *   costs nothing at run time. Options can turn folding off.
 * - Anything else (MODEL_OP_OTHER, a Lambda that is not the scale sum, Concatenate on another
 *   axis, a Dense on a rank-3 tensor whose last axis is not the channels ...): stage creation
 *   fails with EP_EINVAL naming the layer and its op.
 *
 * Equality of stages and the whole model: the same XNNPACK operator with the same weights and
 * shapes gives the same bits whatever the stage boundaries and thread count (the work split
 * between threads does not change any sum's order). So running the stages of any plan in turn
 * gives exactly the whole model's output, except where a cut separates a convolution from the
 * BatchNormalization folded into it in the whole model: there the stage runs the normalisation
 * plainly, and the results differ by float rounding (relative 1e-4 of the output's largest
 * magnitude, tests/test_exec_stages.c). With folding off, stages always equal the whole model
 * bit for bit.
 *
 * Memory: every allocation XNNPACK makes (packed weights, indirection buffers, workspace) goes
 * through a counting allocator installed at first use, and is charged to the stage that was
 * being created or set up in that thread; the stage's own buffers (activations, plain weights)
 * are counted too. Activations are planned: a layer's buffer returns to a pool after its last
 * consumer in the stage ran, so the activation bytes are about the two or three largest live
 * tensors, not the sum of all.
 *
 * Threads: a stage runs its operators on its own pthreadpool of `threads` threads (1: in the
 * caller's thread). A stage object is used by one thread at a time; distinct stages may run
 * concurrently.
 *
 * Process-wide state (STYLE.md 10): XNNPACK's one-time initialisation with the counting
 * allocator, done once (pthread_once) by the first model_stage_create.
 */
#ifndef EDGEPIPE_MODEL_EXEC_H
#define EDGEPIPE_MODEL_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ep_error.h"
#include "model_graph.h"
#include "model_weights.h"

#define MODEL_EXEC_MAX_THREADS 256

struct model_exec_options {
	int threads;       /* 1..MODEL_EXEC_MAX_THREADS; 0 means 1 */
	bool no_fold_bn;   /* true: run every BatchNormalization plainly */
	bool keep_tensors; /* true: keep every layer's output for model_stage_tensor (no reuse) */
};

#define MODEL_EXEC_OPTIONS_DEFAULT ((struct model_exec_options){ 1, false, false })

/* How a layer of a stage runs. */
enum model_exec_kernel {
	MODEL_EXEC_NONE = 0, /* the layer is not computed by the stage (outside it, or its input) */
	MODEL_EXEC_XNNPACK,
	MODEL_EXEC_PLAIN,
	MODEL_EXEC_FOLDED,   /* a BatchNormalization folded into the convolution before it */
	MODEL_EXEC_ALIAS,    /* Flatten, Reshape, Dropout: no work */
};

const char *model_exec_kernel_name(enum model_exec_kernel k); /* "xnnpack", "plain", ... */

struct model_stage;

/*
 * Check that the executor can run layer `layer` of `g` (its op and attributes). EP_OK, or
 * EP_EINVAL with "layer 'name' (Op): ..." naming what it lacks.
 */
int model_exec_check_layer(const struct model_graph *g, size_t layer, struct ep_error *err);

/*
 * Create the stage of `w`'s graph that starts after layer `first_layer` and ends with layer
 * `last_layer` (layer indices of two cut points, first_layer < last_layer). Every layer in
 * between must read only layers of the stage or first_layer. The XNNPACK operators are created
 * and set up here (weights packed, folded, buffers planned), so a run allocates nothing. The
 * stage copies what it needs: `w` may be destroyed afterwards. `opt` NULL means the defaults.
 * Errors: EP_EINVAL (range or options wrong, a layer the executor cannot run: the message names
 * it), EP_ENOMEM, EP_EINTERNAL (XNNPACK refused: the message names the layer and XNNPACK's
 * status).
 * Complexity: O(parameters of the stage + layers).
 */
int model_stage_create(const struct model_weights *w, int first_layer, int last_layer,
		       const struct model_exec_options *opt, struct model_stage **out,
		       struct ep_error *err);
/* Free the stage and its operators, thread pool and buffers. Accepts NULL. */
void model_stage_destroy(struct model_stage *s);

int model_stage_first_layer(const struct model_stage *s);
int model_stage_last_layer(const struct model_stage *s);
/* Elements (floats) of the input tensor (first layer's output) and of the output tensor. */
int64_t model_stage_input_elements(const struct model_stage *s);
int64_t model_stage_output_elements(const struct model_stage *s);

/*
 * Run the stage on `input` (model_stage_input_elements floats) into `output`
 * (model_stage_output_elements floats; may not overlap the input). Allocates nothing.
 * Returns EP_OK or EP_EINTERNAL (XNNPACK failed, message names the layer).
 */
int model_stage_run(struct model_stage *s, const float *input, float *output,
		    struct ep_error *err);
/*
 * The same, timing every layer: `layer_seconds` has model_graph_layer_count entries (indexed
 * by graph layer); the stage writes the wall time of each layer it computes (0 for folded and
 * alias layers, whose cost is in the convolution before them) and leaves the others untouched.
 */
int model_stage_run_timed(struct model_stage *s, const float *input, float *output,
			  double *layer_seconds, struct ep_error *err);

/*
 * After a run with keep_tensors: the output of layer `layer` (of the stage, or its input
 * layer), model_layer_elements floats; NULL for a layer whose output is not materialised (a
 * convolution whose BatchNormalization was folded into it) or outside the stage, or without
 * keep_tensors (except the stage's output layer, whose last output is always available).
 */
const float *model_stage_tensor(const struct model_stage *s, size_t layer);

/* How layer `layer` runs in the stage. */
enum model_exec_kernel model_stage_layer_kernel(const struct model_stage *s, size_t layer);

/* Measured resident memory of a stage, in bytes. */
struct model_stage_memory {
	int64_t weight_bytes;     /* XNNPACK's packed weights and our plain weight copies */
	int64_t activation_bytes; /* the stage's activation pool (all buffers, peak = total) */
	int64_t workspace_bytes;  /* XNNPACK's other allocations (indirection, operator state) */
	int64_t total_bytes;      /* the sum */
};
void model_stage_memory(const struct model_stage *s, struct model_stage_memory *m);

/*
 * Deterministic synthetic input: n floats, uniform in [0, 1) like a scaled image, from `seed`
 * (splitmix64). The same seed gives the same tensor on every machine.
 */
void model_exec_synthetic_input(float *x, size_t n, uint64_t seed);

/* Bytes currently allocated through the counting allocator, process-wide (all stages). */
int64_t model_exec_allocated_bytes(void);

#endif
