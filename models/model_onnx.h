/*
 * model_onnx: read and write ONNX files (the protobuf schema of Debian's libonnx-dev, compiled
 * with protoc-c), so that a model exported from PyTorch, TensorFlow or Keras can be planned,
 * simulated and emulated like a zoo model, and a zoo model can be run by other tools.
 *
 * Layout. ONNX tensors are NCHW, edgepipe's graph is NHWC as Keras is; the batch dimension is
 * dropped (batch 1). An ONNX image tensor [N, C, H, W] is the layer shape (H, W, C); a vector
 * [N, C] is (C). Weights change layout on the way (model_weights.h gives Keras's layouts):
 *   Conv W [O][I/g][kh][kw]            <-> Conv2D kernel [kh][kw][I/g][O]
 *   Conv W [C*m][1][kh][kw], group C   <-> DepthwiseConv2D kernel [kh][kw][C][m]
 *   Gemm B [K][N] (transB 0) / [N][K]  <-> Dense kernel [K][N]
 * A Flatten of an image whose spatial size is not 1x1 orders elements C, H, W in ONNX and H, W,
 * C in Keras. The exporter therefore writes Transpose(perm 0,2,3,1) + Flatten (as keras2onnx
 * does); the importer reads that pair back as one Flatten, and reads a plain ONNX Flatten (or
 * Reshape to [N, -1]) as a Flatten whose consuming Gemm/MatMul gets its rows permuted from
 * C,H,W to H,W,C order (any other consumer of such a Flatten is refused).
 *
 * Import: one layer per ONNX node, named after the node (characters our names forbid become
 * '_'; an empty name becomes the node's first output name), except these groups, which become
 * one layer named after their last node:
 *   - nodes named "L/<anything>" whose only output feeds only the node named "L" or another
 *     "L/..." node: the parts of layer L as our exporter writes them (Conv + activation =
 *     Conv2D with a fused activation, depthwise Conv + Conv = SeparableConv2D, Mul + Add =
 *     InceptionResNetV2's scale Lambda, Sigmoid + Mul = swish, ...);
 *   - Transpose(0,2,3,1) + Flatten, GlobalAveragePool + Flatten/Squeeze/Reshape([N,C]) (Keras
 *     GlobalAveragePooling2D without keepdims), Sigmoid(x) + Mul(x, .) (swish),
 *     HardSigmoid(x) + Mul(x, .) (hard_swish, as PyTorch writes Hardswish before opset 14),
 *     MatMul + Add of a constant (Dense with bias), wherever they occur.
 * Op by op: Conv (group 1: Conv2D; group = input channels: DepthwiseConv2D; else Conv2D with
 * groups), Gemm and MatMul with a constant B (Dense), BatchNormalization, Relu (Activation
 * relu), Clip(0, m) (ReLU max_value m), Sigmoid, Tanh, Softmax on the channel axis,
 * HardSigmoid with alpha 1/6 and beta 1/2 (PyTorch's Hardsigmoid; ONNX's default alpha 0.2,
 * TensorFlow 2's, is refused), HardSwish (Activation hard_sigmoid, hard_swish), LeakyRelu
 * (ReLU with negative_slope alpha), Add and Sum of same-shaped tensors (Add), Mul of two tensors (Multiply) or by a
 * constant scalar (Rescaling), Concat on the channel axis, MaxPool, AveragePool,
 * GlobalAveragePool (keepdims), Pad (constant 0, spatial only: ZeroPadding2D), Flatten, Reshape
 * and Squeeze/Unsqueeze (Reshape), Dropout (Dropout), Identity (no layer: an alias),
 * Constant (a constant tensor, no layer), and shape arithmetic on known shapes, as PyTorch
 * writes x.view(x.size(0), -1) (Shape, then Gather on axis 0, Unsqueeze, Squeeze and Concat
 * of int64 constants: each folded into a constant, no layer). Padding: auto_pad SAME_UPPER and explicit pads equal
 * to Keras's "same" become padding same; zero pads become valid; other pads become a
 * ZeroPadding2D layer "<node>_pad" before the op (MaxPool only when its input cannot be
 * negative, after a ReLU or sigmoid; AveragePool only with count_include_pad 1).
 * A node's doc_string "keras:OP [center=B] [scale=B]" (written by our exporter) chooses between
 * Keras layers that are one ONNX op: "keras:ReLU" on a Relu, "keras:Activation" on a Clip,
 * "keras:Normalization" on a BatchNormalization, "keras:BatchNormalization scale=false" (the
 * gamma input must then be all ones, beta all zeros for center=false).
 * Parameters and FLOPs are counted by the builders of model_graph.h (the zoo's conventions);
 * output shapes come from our own propagation and are checked against the file's value_info
 * and graph outputs where those give them.
 *
 * Refused, with EP_EINVAL and a message naming the node and its op (or the tensor): an op not
 * listed above, attributes outside what is listed, a graph with more than one (non-constant)
 * input or more than one output, a cycle, a node reading a tensor nothing produces, dimensions
 * unknown except the batch (taken as 1; override with `input_shape`), a default-domain opset
 * outside 1..18 (and before 7 for BatchNormalization and Dropout, 6 for Clip, LeakyRelu and
 * HardSigmoid, 5 for Reshape, 2 for Pad, whose attributes changed), a shape that disagrees with the file's value_info, an
 * initializer whose element count disagrees with its dims or the op, a file that is not a
 * protobuf ModelProto.
 *
 * Export writes opset 13, IR version 7: each layer as one node named after it (with parts
 * "L/..." where ONNX needs more than one node), the graph input named after the input layer,
 * initializers "L/kernel", "L/bias", "L/gamma", ... from `model_weights`, and value_info for
 * every layer's output, so `onnx.checker.check_model` and onnxruntime accept the file and the
 * importer gives back the same graph (names, ops, attributes, shapes, parameters, FLOPs).
 * hard_swish is written as "L/hard_sigmoid" HardSigmoid + Mul "L" (HardSwish is opset 14), a
 * ReLU's negative slope as LeakyRelu (a ReLU with both a slope and a cap is refused).
 * Every layer kind of the zoo exports; a Reshape that reorders elements between the two layouts
 * (an image of more than one position and more than one channel) and a Dense on an image are
 * refused naming the layer.
 */
#ifndef EDGEPIPE_MODEL_ONNX_H
#define EDGEPIPE_MODEL_ONNX_H

#include <stdbool.h>
#include <stdint.h>

#include "ep_error.h"
#include "model_graph.h"

struct model_weights;

#define MODEL_ONNX_OPSET 13 /* the opset the exporter writes */

struct model_onnx_options {
	/* When the file leaves the input's dimensions (other than the batch) unknown: the input
	 * shape (H, W, C) to use; all 0 means "refuse unknown dimensions". A dimension the file
	 * knows must agree (else EP_EINVAL naming the input). */
	int64_t input_shape[3];
	/* Model name; NULL means the file's graph name when it is a valid model name, else the
	 * file name without directory and ".onnx". */
	const char *name;
};

#define MODEL_ONNX_OPTIONS_DEFAULT ((struct model_onnx_options){ { 0, 0, 0 }, NULL })

/* True when `path` ends in ".onnx" (case-insensitive): the suffix by which --model options
 * tell an ONNX file from a model file. */
bool model_onnx_is_path(const char *path);

/*
 * Read the ONNX file `path` into a new valid graph *out (owned by the caller). `opt` may be
 * NULL (defaults). Errors: EP_ENOTFOUND / EP_EIO when the file cannot be opened or read;
 * EP_EINVAL with "PATH: node 'NAME' (OP): what is wrong" for the refusals listed above;
 * EP_ENOMEM. Complexity: O(size of the file + layers log layers).
 */
int model_onnx_load(const char *path, const struct model_onnx_options *opt,
		    struct model_graph **out, struct ep_error *err);

/*
 * The same, and the file's initializers as the weights the executor runs (model_weights.h's
 * Keras layouts; BatchNormalization's epsilon e folded into the moving variance as
 * var + e - MODEL_BN_EPSILON; Normalization's variance as var + e). *weights refers to *graph:
 * destroy the weights first. Errors as model_onnx_load.
 * Complexity: O(size of the file + parameters).
 */
int model_onnx_load_weights(const char *path, const struct model_onnx_options *opt,
			    struct model_graph **graph, struct model_weights **weights,
			    struct ep_error *err);

/*
 * Fill existing weights `w` (of a graph already loaded from the same file, e.g. by
 * model_zoo_open) with the ONNX file's initializers. EP_EINVAL when the file's graph is not
 * equal to w's (model_graph_equal), else errors as model_onnx_load_weights; `w` is unchanged
 * on error.
 */
int model_onnx_read_weights(const char *path, struct model_weights *w, struct ep_error *err);

/*
 * Write `w`'s graph with these weights to `path` as ONNX (the export described above),
 * through a temporary file renamed at the end: on error nothing is written. Errors: EP_EINVAL
 * naming a layer that has no export, EP_EIO, EP_ENOMEM.
 * Complexity: O(layers + parameters).
 */
int model_onnx_save(const struct model_weights *w, const char *path, struct ep_error *err);

#endif
