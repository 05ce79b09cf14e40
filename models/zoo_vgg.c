/*
 * VGG16 and VGG19, layer for layer as tf.keras 2.x builds them in
 * tensorflow/python/keras/applications/vgg16.py and vgg19.py (TensorFlow 2.x; unchanged in
 * keras/applications/ of Keras 2.x). The two files differ only in the number of convolutions
 * of blocks 3 to 5, so both models come from one table-driven builder.
 */
#include <stdio.h>

#include "zoo_internal.h"

#define VGG_BLOCKS 5

/* One VGG block: `convs` 3x3 ReLU convolutions block<b>_conv1.., then block<b>_pool. */
static int vgg_block(struct model_graph *g, int x, int block, int convs, int filters)
{
	char n[MODEL_NAME_MAX];
	int i;

	for (i = 1; i <= convs; i++) {
		zoo_name(n, "block%d_conv%d", block, i);
		x = model_add_conv2d(g, n, x, filters, 3, 3, 1, MODEL_PAD_SAME, true,
				     MODEL_ACT_RELU);
	}
	zoo_name(n, "block%d_pool", block);
	return model_add_pool(g, n, MODEL_OP_MAX_POOL2D, x, 2, 2, MODEL_PAD_VALID);
}

/* VGG16() and VGG19(): `convs` are the convolution counts of blocks 1 to 5. */
static int vgg(struct model_graph *g, const int convs[VGG_BLOCKS])
{
	static const int filters[VGG_BLOCKS] = {64, 128, 256, 512, 512};
	int x;
	int b;

	x = model_add_input(g, NULL, 224, 224, 3);
	for (b = 0; b < VGG_BLOCKS; b++)
		x = vgg_block(g, x, b + 1, convs[b], filters[b]);

	x = model_add_flatten(g, "flatten", x);
	x = model_add_dense(g, "fc1", x, 4096, true, MODEL_ACT_RELU);
	x = model_add_dense(g, "fc2", x, 4096, true, MODEL_ACT_RELU);
	model_add_dense(g, "predictions", x, 1000, true, MODEL_ACT_SOFTMAX);
	return model_graph_error_code(g);
}

/* keras.applications.vgg16.VGG16 (tensorflow/python/keras/applications/vgg16.py) */
int zoo_build_vgg16(struct model_graph *g)
{
	static const int convs[VGG_BLOCKS] = {2, 2, 3, 3, 3};

	return vgg(g, convs);
}

/* keras.applications.vgg19.VGG19 (tensorflow/python/keras/applications/vgg19.py) */
int zoo_build_vgg19(struct model_graph *g)
{
	static const int convs[VGG_BLOCKS] = {2, 2, 4, 4, 4};

	return vgg(g, convs);
}
