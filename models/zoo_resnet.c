/*
 * ResNet50, ResNet101 and ResNet152 (the v1 "resnet" module), layer for layer as tf.keras 2.x
 * builds them in tensorflow/python/keras/applications/resnet.py (TensorFlow 2.x; unchanged in
 * keras/applications/resnet.py of Keras 2.x). The helpers below mirror that file's ResNet(),
 * stack1() and block1(): every convolution has a bias and is followed by a BatchNormalization.
 *
 * Layer order: model.layers of a functional model is not the call order (Keras sorts by depth,
 * see model_graph_sort_keras). A block with a convolution shortcut therefore lists
 *   ..._2_relu, _0_conv, _3_conv, _0_bn, _3_bn, _add, _out
 * as model.summary() prints for tf.keras.applications.ResNet50(); tests/test_zoo.c checks it.
 */
#include <stdio.h>

#include "zoo_internal.h"

/* The bottleneck widens its `filters` channels by this factor in the last 1x1 convolution. */
#define RESNET_EXPANSION 4

/*
 * block1(): the bottleneck residual block, 1x1 (stride) - 3x3 - 1x1, with a projection
 * shortcut (1x1 convolution of stride `stride` plus BatchNormalization) when `conv_shortcut`,
 * the identity otherwise. Layers are added in the source's call order (shortcut first);
 * model_graph_sort_keras then gives model.layers order.
 */
static int block1(struct model_graph *g, int x, int filters, int stride, bool conv_shortcut,
		  const char *name)
{
	char n[MODEL_NAME_MAX];
	int shortcut = x;
	int y;
	int xs[2];

	if (conv_shortcut) {
		shortcut = model_add_conv2d(g, zoo_name(n, "%s%s", name, "_0_conv"), x,
					    RESNET_EXPANSION * filters, 1, 1, stride,
					    MODEL_PAD_VALID, true, MODEL_ACT_LINEAR);
		shortcut =
			model_add_batch_norm(g, zoo_name(n, "%s%s", name, "_0_bn"), shortcut, true, true);
	}

	y = model_add_conv2d(g, zoo_name(n, "%s%s", name, "_1_conv"), x, filters, 1, 1, stride,
			     MODEL_PAD_VALID, true, MODEL_ACT_LINEAR);
	y = model_add_batch_norm(g, zoo_name(n, "%s%s", name, "_1_bn"), y, true, true);
	y = model_add_activation(g, zoo_name(n, "%s%s", name, "_1_relu"), y, MODEL_ACT_RELU);

	y = model_add_conv2d(g, zoo_name(n, "%s%s", name, "_2_conv"), y, filters, 3, 3, 1, MODEL_PAD_SAME,
			     true, MODEL_ACT_LINEAR);
	y = model_add_batch_norm(g, zoo_name(n, "%s%s", name, "_2_bn"), y, true, true);
	y = model_add_activation(g, zoo_name(n, "%s%s", name, "_2_relu"), y, MODEL_ACT_RELU);

	y = model_add_conv2d(g, zoo_name(n, "%s%s", name, "_3_conv"), y, RESNET_EXPANSION * filters, 1, 1,
			     1, MODEL_PAD_VALID, true, MODEL_ACT_LINEAR);
	y = model_add_batch_norm(g, zoo_name(n, "%s%s", name, "_3_bn"), y, true, true);

	/* The shortcut is the Add's first input, as in Keras's Add()([shortcut, x]). */
	xs[0] = shortcut;
	xs[1] = y;
	y = model_add_add(g, zoo_name(n, "%s%s", name, "_add"), xs, 2);
	return model_add_activation(g, zoo_name(n, "%s%s", name, "_out"), y, MODEL_ACT_RELU);
}

/*
 * stack1(): `blocks` bottleneck blocks named <name>_block1, <name>_block2, ...; only the first
 * has a projection shortcut and the stride `stride1`.
 */
static int stack1(struct model_graph *g, int x, int filters, int blocks, int stride1,
		  const char *name)
{
	char n[MODEL_NAME_MAX];
	int i;

	for (i = 1; i <= blocks; i++) {
		zoo_name(n, "%s_block%d", name, i);
		x = block1(g, x, filters, i == 1 ? stride1 : 1, i == 1, n);
	}
	return x;
}

/* ResNet() with preact=False, use_bias=True; `blocks` are the block counts of conv2..conv5. */
static int resnet(struct model_graph *g, const int blocks[4])
{
	int x;

	x = model_add_input(g, NULL, 224, 224, 3);
	x = model_add_zero_pad(g, "conv1_pad", x, 3, 3, 3, 3);
	x = model_add_conv2d(g, "conv1_conv", x, 64, 7, 7, 2, MODEL_PAD_VALID, true,
			     MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, "conv1_bn", x, true, true);
	x = model_add_activation(g, "conv1_relu", x, MODEL_ACT_RELU);
	x = model_add_zero_pad(g, "pool1_pad", x, 1, 1, 1, 1);
	x = model_add_pool(g, "pool1_pool", MODEL_OP_MAX_POOL2D, x, 3, 2, MODEL_PAD_VALID);

	/* stack_fn: the first stack keeps the 56x56 resolution of pool1_pool. */
	x = stack1(g, x, 64, blocks[0], 1, "conv2");
	x = stack1(g, x, 128, blocks[1], 2, "conv3");
	x = stack1(g, x, 256, blocks[2], 2, "conv4");
	x = stack1(g, x, 512, blocks[3], 2, "conv5");

	x = model_add_global_avg_pool(g, "avg_pool", x, false);
	model_add_dense(g, "predictions", x, 1000, true, MODEL_ACT_SOFTMAX);
	return model_graph_error_code(g);
}

/* keras.applications.resnet.ResNet50 (tensorflow/python/keras/applications/resnet.py) */
int zoo_build_resnet50(struct model_graph *g)
{
	static const int blocks[4] = {3, 4, 6, 3};

	return resnet(g, blocks);
}

/* keras.applications.resnet.ResNet101 (tensorflow/python/keras/applications/resnet.py) */
int zoo_build_resnet101(struct model_graph *g)
{
	static const int blocks[4] = {3, 4, 23, 3};

	return resnet(g, blocks);
}

/* keras.applications.resnet.ResNet152 (tensorflow/python/keras/applications/resnet.py) */
int zoo_build_resnet152(struct model_graph *g)
{
	static const int blocks[4] = {3, 8, 36, 3};

	return resnet(g, blocks);
}
