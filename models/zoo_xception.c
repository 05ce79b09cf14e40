/*
 * Xception, layer for layer as tf.keras 2.x builds it in
 * tensorflow/python/keras/applications/xception.py (TensorFlow 2.x).
 *
 * The Keras function is one flat body; the helpers below name its three repeated shapes: the
 * ReLU-SeparableConv2D-BN unit, the entry/exit block with a strided 1x1 convolution on the
 * shortcut, and the middle block with an identity shortcut. Every layer is named except the
 * shortcut convolutions, their BatchNormalizations and the Adds, hence conv2d .. conv2d_3,
 * batch_normalization .. batch_normalization_3 and add .. add_11.
 */
#include <stdio.h>

#include "zoo_internal.h"

#define XCEPTION_INPUT_SIZE 299

/*
 * SeparableConv2D (3x3, "same", no bias) named `name`, then its BatchNormalization name_bn
 * (Keras's default, with gamma and beta).
 */
static int sepconv_bn(struct model_graph *g, int x, int filters, const char *name)
{
	char n[MODEL_NAME_MAX];

	x = model_add_separable(g, name, x, filters, 3, 3, 1, MODEL_PAD_SAME, false);
	return model_add_batch_norm(g, zoo_name(n, "%s%s", name, "_bn"), x, true, true);
}

/* The usual unit: ReLU named name_act, then sepconv_bn. `name` is e.g. "block5_sepconv1". */
static int act_sepconv_bn(struct model_graph *g, int x, int filters, const char *name)
{
	char n[MODEL_NAME_MAX];

	x = model_add_activation(g, zoo_name(n, "%s%s", name, "_act"), x, MODEL_ACT_RELU);
	return sepconv_bn(g, x, filters, name);
}

/*
 * Blocks 2, 3, 4 and 13: two sepconv units, a strided 3x3 max pooling (<block>_pool) and a
 * shortcut through an unnamed strided 1x1 Conv2D and BatchNormalization, summed by an
 * unnamed Add. Keras builds the shortcut before the main branch, which fixes the order of
 * the counters. Block 2 starts right after block1_conv2_act, so its first unit has no ReLU
 * of its own (`first_act` false).
 */
static int xception_strided_block(struct model_graph *g, int x, int filters1, int filters2,
				  const char *block, bool first_act)
{
	char n[MODEL_NAME_MAX];
	int residual;
	int xs[2];

	residual = model_add_conv2d(g, NULL, x, filters2, 1, 1, 2, MODEL_PAD_SAME, false,
				    MODEL_ACT_LINEAR);
	residual = model_add_batch_norm(g, NULL, residual, true, true);

	if (first_act)
		x = act_sepconv_bn(g, x, filters1, zoo_name(n, "%s%s", block, "_sepconv1"));
	else
		x = sepconv_bn(g, x, filters1, zoo_name(n, "%s%s", block, "_sepconv1"));
	x = act_sepconv_bn(g, x, filters2, zoo_name(n, "%s%s", block, "_sepconv2"));

	x = model_add_pool(g, zoo_name(n, "%s%s", block, "_pool"), MODEL_OP_MAX_POOL2D, x, 3, 2,
			   MODEL_PAD_SAME);
	xs[0] = x;
	xs[1] = residual;
	return model_add_add(g, NULL, xs, 2);
}

/* Blocks 5..12: three 728-wide sepconv units around an identity shortcut. */
static int xception_middle_block(struct model_graph *g, int x, const char *block)
{
	char n[MODEL_NAME_MAX];
	int xs[2];
	int i;

	xs[1] = x;
	for (i = 1; i <= 3; i++) {
		zoo_name(n, "%s_sepconv%d", block, i);
		x = act_sepconv_bn(g, x, 728, n);
	}
	xs[0] = x;
	return model_add_add(g, NULL, xs, 2);
}

/*
 * keras.applications.xception.Xception (tensorflow/python/keras/applications/xception.py)
 */
int zoo_build_xception(struct model_graph *g)
{
	char n[MODEL_NAME_MAX];
	int x;
	int i;

	x = model_add_input(g, NULL, XCEPTION_INPUT_SIZE, XCEPTION_INPUT_SIZE, 3);
	x = model_add_conv2d(g, "block1_conv1", x, 32, 3, 3, 2, MODEL_PAD_VALID, false,
			     MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, "block1_conv1_bn", x, true, true);
	x = model_add_activation(g, "block1_conv1_act", x, MODEL_ACT_RELU);
	x = model_add_conv2d(g, "block1_conv2", x, 64, 3, 3, 1, MODEL_PAD_VALID, false,
			     MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, "block1_conv2_bn", x, true, true);
	x = model_add_activation(g, "block1_conv2_act", x, MODEL_ACT_RELU);

	/* Entry flow */
	x = xception_strided_block(g, x, 128, 128, "block2", false);
	x = xception_strided_block(g, x, 256, 256, "block3", true);
	x = xception_strided_block(g, x, 728, 728, "block4", true);

	/* Middle flow */
	for (i = 5; i <= 12; i++) {
		zoo_name(n, "block%d", i);
		x = xception_middle_block(g, x, n);
	}

	/* Exit flow: here the ReLU follows each unit instead of preceding it. */
	x = xception_strided_block(g, x, 728, 1024, "block13", true);
	x = sepconv_bn(g, x, 1536, "block14_sepconv1");
	x = model_add_activation(g, "block14_sepconv1_act", x, MODEL_ACT_RELU);
	x = sepconv_bn(g, x, 2048, "block14_sepconv2");
	x = model_add_activation(g, "block14_sepconv2_act", x, MODEL_ACT_RELU);

	x = model_add_global_avg_pool(g, "avg_pool", x, false);
	model_add_dense(g, "predictions", x, 1000, true, MODEL_ACT_SOFTMAX);
	return model_graph_error_code(g);
}
