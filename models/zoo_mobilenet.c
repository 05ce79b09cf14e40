/*
 * MobileNet (v1) and MobileNetV2 at alpha 1.0 and 224x224, layer for layer as tf.keras 2.x
 * builds them in keras/applications/mobilenet.py and mobilenet_v2.py (Keras 2.x, the
 * tf.keras of TensorFlow 2.x). The helpers below mirror those files' _conv_block,
 * _depthwise_conv_block, _inverted_res_block, _make_divisible and imagenet_utils.correct_pad.
 *
 * MobileNet's head is that of the later Keras 2.x releases (kept in Keras 3):
 * GlobalAveragePooling2D(keepdims=True), Dropout, a 1x1 Conv2D "conv_preds", Reshape
 * "reshape_2" and a softmax Activation "predictions". Earlier TensorFlow 2.x releases
 * (tensorflow/python/keras/applications/mobilenet.py) pooled without keepdims and restored the
 * 1x1 map with one more layer, Reshape "reshape_1"; the parameters are the same.
 *
 * Both networks are chains apart from MobileNetV2's residual Adds, whose shortcut is the
 * block's input itself, so model.layers order is the call order.
 */
#include <stdio.h>

#include "zoo_internal.h"

/* The ImageNet head: 1000 classes. */
#define MOBILENET_CLASSES 1000

/* mobilenet._conv_block(): the stem, a strided 3x3 convolution, BatchNormalization, ReLU6. */
static int conv_block(struct model_graph *g, int x, int filters, int stride)
{
	x = model_add_conv2d(g, "conv1", x, filters, 3, 3, stride, MODEL_PAD_SAME, false,
			     MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, "conv1_bn", x, true, true);
	return model_add_relu(g, "conv1_relu", x, 6.0);
}

/*
 * mobilenet._depthwise_conv_block(): 3x3 depthwise and 1x1 pointwise convolutions, each with
 * BatchNormalization and ReLU6. A strided block pads bottom and right by one and convolves
 * "valid", where a stride-1 block convolves "same".
 */
static int depthwise_conv_block(struct model_graph *g, int x, int pointwise_filters, int stride,
				int block_id)
{
	char prefix[MODEL_NAME_MAX];
	char n[MODEL_NAME_MAX];
	enum model_padding padding = MODEL_PAD_SAME;

	if (stride != 1) {
		zoo_name(n, "conv_pad_%d", block_id);
		x = model_add_zero_pad(g, n, x, 0, 1, 0, 1);
		padding = MODEL_PAD_VALID;
	}
	zoo_name(prefix, "conv_dw_%d", block_id);
	x = model_add_depthwise(g, prefix, x, 3, 3, stride, padding, 1, false);
	x = model_add_batch_norm(g, zoo_name(n, "%s%s", prefix, "_bn"), x, true, true);
	x = model_add_relu(g, zoo_name(n, "%s%s", prefix, "_relu"), x, 6.0);

	zoo_name(prefix, "conv_pw_%d", block_id);
	x = model_add_conv2d(g, prefix, x, pointwise_filters, 1, 1, 1, MODEL_PAD_SAME, false,
			     MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, zoo_name(n, "%s%s", prefix, "_bn"), x, true, true);
	return model_add_relu(g, zoo_name(n, "%s%s", prefix, "_relu"), x, 6.0);
}

/* keras.applications.mobilenet.MobileNet (keras/applications/mobilenet.py, Keras 2.x) */
int zoo_build_mobilenet(struct model_graph *g)
{
	/* Pointwise filters and stride of _depthwise_conv_block 1..13. */
	static const struct {
		int filters;
		int stride;
	} blocks[] = {
		{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},  {512, 2},  {512, 1},
		{512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1},
	};
	static const int64_t logits[1] = {MOBILENET_CLASSES};
	size_t i;
	int x;

	x = model_add_input(g, NULL, 224, 224, 3);
	x = conv_block(g, x, 32, 2);
	for (i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		x = depthwise_conv_block(g, x, blocks[i].filters, blocks[i].stride, (int)i + 1);

	/* The classifier is a 1x1 convolution on the pooled 1x1 map, hence keepdims. */
	x = model_add_global_avg_pool(g, NULL, x, true);
	x = model_add_dropout(g, "dropout", x);
	x = model_add_conv2d(g, "conv_preds", x, MOBILENET_CLASSES, 1, 1, 1, MODEL_PAD_SAME, true,
			     MODEL_ACT_LINEAR);
	x = model_add_reshape(g, "reshape_2", x, 1, logits);
	model_add_activation(g, "predictions", x, MODEL_ACT_SOFTMAX);
	return model_graph_error_code(g);
}

/*
 * mobilenet_v2._make_divisible(): `v` rounded to the nearest multiple of `divisor`, but never
 * below `divisor` nor more than 10% below `v`.
 */
static int make_divisible(double v, int divisor)
{
	int new_v = (int)(v + divisor / 2.0) / divisor * divisor;

	if (new_v < divisor)
		new_v = divisor;
	if (new_v < 0.9 * v)
		new_v += divisor;
	return new_v;
}

/*
 * imagenet_utils.correct_pad() for a 3x3 kernel: the ZeroPadding2D before a strided "valid"
 * convolution. It pads one pixel at the bottom and right, and at the top (left) only when the
 * height (width) is odd, which gives the output size of a "same" convolution.
 */
static int correct_pad(struct model_graph *g, const char *name, int x)
{
	const struct model_layer *l;
	int top = 0;
	int left = 0;

	if (x >= 0) {
		l = model_graph_layer(g, (size_t)x);
		top = (int)(l->shape[0] % 2);
		left = (int)(l->shape[1] % 2);
	}
	return model_add_zero_pad(g, name, x, top, 1, left, 1);
}

/*
 * mobilenet_v2._inverted_res_block(): 1x1 expansion (except in block 0, named
 * "expanded_conv_"), 3x3 depthwise, linear 1x1 projection; the input is added back when the
 * block keeps both the resolution and the channel count.
 */
static int inverted_res_block(struct model_graph *g, int inputs, int expansion, int stride,
			      int filters, int block_id)
{
	char prefix[MODEL_NAME_MAX];
	char n[MODEL_NAME_MAX];
	int in_channels = zoo_channels(g, inputs);
	int pointwise_filters = make_divisible(filters, 8);
	int x = inputs;
	int xs[2];

	if (block_id) {
		zoo_name(prefix, "block_%d_", block_id);
		x = model_add_conv2d(g, zoo_name(n, "%s%s", prefix, "expand"), x, expansion * in_channels,
				     1, 1, 1, MODEL_PAD_SAME, false, MODEL_ACT_LINEAR);
		x = model_add_batch_norm(g, zoo_name(n, "%s%s", prefix, "expand_BN"), x, true, true);
		x = model_add_relu(g, zoo_name(n, "%s%s", prefix, "expand_relu"), x, 6.0);
	} else {
		zoo_name(prefix, "expanded_conv_");
	}

	if (stride == 2)
		x = correct_pad(g, zoo_name(n, "%s%s", prefix, "pad"), x);
	x = model_add_depthwise(g, zoo_name(n, "%s%s", prefix, "depthwise"), x, 3, 3, stride,
				stride == 1 ? MODEL_PAD_SAME : MODEL_PAD_VALID, 1, false);
	x = model_add_batch_norm(g, zoo_name(n, "%s%s", prefix, "depthwise_BN"), x, true, true);
	x = model_add_relu(g, zoo_name(n, "%s%s", prefix, "depthwise_relu"), x, 6.0);

	x = model_add_conv2d(g, zoo_name(n, "%s%s", prefix, "project"), x, pointwise_filters, 1, 1, 1,
			     MODEL_PAD_SAME, false, MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, zoo_name(n, "%s%s", prefix, "project_BN"), x, true, true);

	if (in_channels == pointwise_filters && stride == 1) {
		/* The input comes first, as in Keras's Add()([inputs, x]). */
		xs[0] = inputs;
		xs[1] = x;
		x = model_add_add(g, zoo_name(n, "%s%s", prefix, "add"), xs, 2);
	}
	return x;
}

/* keras.applications.mobilenet_v2.MobileNetV2 (keras/applications/mobilenet_v2.py, Keras 2.x) */
int zoo_build_mobilenet_v2(struct model_graph *g)
{
	/* Expansion, stride and filters of _inverted_res_block 0..16, one line per stage. */
	/* clang-format off */
	static const struct {
		int expansion;
		int stride;
		int filters;
	} blocks[] = {
		{ 1, 1, 16 },
		{ 6, 2, 24 },  { 6, 1, 24 },
		{ 6, 2, 32 },  { 6, 1, 32 },  { 6, 1, 32 },
		{ 6, 2, 64 },  { 6, 1, 64 },  { 6, 1, 64 },  { 6, 1, 64 },
		{ 6, 1, 96 },  { 6, 1, 96 },  { 6, 1, 96 },
		{ 6, 2, 160 }, { 6, 1, 160 }, { 6, 1, 160 },
		{ 6, 1, 320 },
	};
	/* clang-format on */
	size_t i;
	int x;

	x = model_add_input(g, NULL, 224, 224, 3);
	x = model_add_conv2d(g, "Conv1", x, make_divisible(32, 8), 3, 3, 2, MODEL_PAD_SAME, false,
			     MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, "bn_Conv1", x, true, true);
	x = model_add_relu(g, "Conv1_relu", x, 6.0);

	for (i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		x = inverted_res_block(g, x, blocks[i].expansion, blocks[i].stride,
				       blocks[i].filters, (int)i);

	/* At alpha <= 1 the last convolution keeps its 1280 filters (no width multiplier). */
	x = model_add_conv2d(g, "Conv_1", x, 1280, 1, 1, 1, MODEL_PAD_VALID, false,
			     MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, "Conv_1_bn", x, true, true);
	x = model_add_relu(g, "out_relu", x, 6.0);

	x = model_add_global_avg_pool(g, NULL, x, false);
	model_add_dense(g, "predictions", x, MOBILENET_CLASSES, true, MODEL_ACT_SOFTMAX);
	return model_graph_error_code(g);
}
