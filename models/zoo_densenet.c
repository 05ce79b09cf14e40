/*
 * DenseNet121, DenseNet169 and DenseNet201, layer for layer as tf.keras 2.x builds them in
 * tensorflow/python/keras/applications/densenet.py (TensorFlow 2.x). The helpers below mirror
 * that file's dense_block, transition_block and conv_block.
 *
 * Keras names the stem layers "conv1/conv", "conv1/bn" and "conv1/relu" with a slash (the
 * standalone Keras 3 file renamed them "conv1_conv" ...); tf.keras 2.x keeps the slash, and so
 * do we. The two ZeroPadding2D layers of the stem are unnamed in the source, hence
 * "zero_padding2d" and "zero_padding2d_1".
 */
#include <stdio.h>

#include "zoo_internal.h"

/* DenseNet's growth rate: every conv_block adds this many channels. */
#define DENSENET_GROWTH_RATE 32

/* conv_block(): BN-ReLU-Conv1x1-BN-ReLU-Conv3x3, concatenated to its input. */
static int conv_block(struct model_graph *g, int x, int growth_rate, const char *name)
{
	char n[MODEL_NAME_MAX];
	int x1;
	int xs[2];

	x1 = model_add_batch_norm(g, zoo_name(n, "%s%s", name, "_0_bn"), x, true, true);
	x1 = model_add_activation(g, zoo_name(n, "%s%s", name, "_0_relu"), x1, MODEL_ACT_RELU);
	x1 = model_add_conv2d(g, zoo_name(n, "%s%s", name, "_1_conv"), x1, 4 * growth_rate, 1, 1, 1,
			      MODEL_PAD_VALID, false, MODEL_ACT_LINEAR);
	x1 = model_add_batch_norm(g, zoo_name(n, "%s%s", name, "_1_bn"), x1, true, true);
	x1 = model_add_activation(g, zoo_name(n, "%s%s", name, "_1_relu"), x1, MODEL_ACT_RELU);
	x1 = model_add_conv2d(g, zoo_name(n, "%s%s", name, "_2_conv"), x1, growth_rate, 3, 3, 1,
			      MODEL_PAD_SAME, false, MODEL_ACT_LINEAR);
	/* The input comes first in the concatenation, as in Keras's [x, x1]. */
	xs[0] = x;
	xs[1] = x1;
	return model_add_concat(g, zoo_name(n, "%s%s", name, "_concat"), xs, 2);
}

/* dense_block(): `blocks` conv_blocks named <name>_block1, <name>_block2, ... */
static int dense_block(struct model_graph *g, int x, int blocks, const char *name)
{
	char label[MODEL_NAME_MAX];
	int i;

	for (i = 0; i < blocks; i++) {
		zoo_name(label, "%s_block%d", name, i + 1);
		x = conv_block(g, x, DENSENET_GROWTH_RATE, label);
	}
	return x;
}

/*
 * transition_block(): BN-ReLU, a 1x1 convolution keeping int(channels * reduction) channels,
 * then 2x2 average pooling.
 */
static int transition_block(struct model_graph *g, int x, double reduction, const char *name)
{
	char n[MODEL_NAME_MAX];

	x = model_add_batch_norm(g, zoo_name(n, "%s%s", name, "_bn"), x, true, true);
	x = model_add_activation(g, zoo_name(n, "%s%s", name, "_relu"), x, MODEL_ACT_RELU);
	x = model_add_conv2d(g, zoo_name(n, "%s%s", name, "_conv"), x, (int)(zoo_channels(g, x) * reduction),
			     1, 1, 1, MODEL_PAD_VALID, false, MODEL_ACT_LINEAR);
	return model_add_pool(g, zoo_name(n, "%s%s", name, "_pool"), MODEL_OP_AVG_POOL2D, x, 2, 2,
			      MODEL_PAD_VALID);
}

/* DenseNet(): the shared body; `blocks` are the conv_block counts of the four dense blocks. */
static int densenet(struct model_graph *g, const int blocks[4])
{
	int x;

	x = model_add_input(g, NULL, 224, 224, 3);
	x = model_add_zero_pad(g, NULL, x, 3, 3, 3, 3);
	x = model_add_conv2d(g, "conv1/conv", x, 64, 7, 7, 2, MODEL_PAD_VALID, false,
			     MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, "conv1/bn", x, true, true);
	x = model_add_activation(g, "conv1/relu", x, MODEL_ACT_RELU);
	x = model_add_zero_pad(g, NULL, x, 1, 1, 1, 1);
	x = model_add_pool(g, "pool1", MODEL_OP_MAX_POOL2D, x, 3, 2, MODEL_PAD_VALID);

	x = dense_block(g, x, blocks[0], "conv2");
	x = transition_block(g, x, 0.5, "pool2");
	x = dense_block(g, x, blocks[1], "conv3");
	x = transition_block(g, x, 0.5, "pool3");
	x = dense_block(g, x, blocks[2], "conv4");
	x = transition_block(g, x, 0.5, "pool4");
	x = dense_block(g, x, blocks[3], "conv5");

	x = model_add_batch_norm(g, "bn", x, true, true);
	x = model_add_activation(g, "relu", x, MODEL_ACT_RELU);

	x = model_add_global_avg_pool(g, "avg_pool", x, false);
	model_add_dense(g, "predictions", x, 1000, true, MODEL_ACT_SOFTMAX);
	return model_graph_error_code(g);
}

/* keras.applications.densenet.DenseNet121 (tensorflow/python/keras/applications/densenet.py) */
int zoo_build_densenet121(struct model_graph *g)
{
	static const int blocks[4] = {6, 12, 24, 16};

	return densenet(g, blocks);
}

/* keras.applications.densenet.DenseNet169 (tensorflow/python/keras/applications/densenet.py) */
int zoo_build_densenet169(struct model_graph *g)
{
	static const int blocks[4] = {6, 12, 32, 32};

	return densenet(g, blocks);
}

/* keras.applications.densenet.DenseNet201 (tensorflow/python/keras/applications/densenet.py) */
int zoo_build_densenet201(struct model_graph *g)
{
	static const int blocks[4] = {6, 12, 48, 32};

	return densenet(g, blocks);
}
