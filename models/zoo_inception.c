/*
 * InceptionV3 and InceptionResNetV2, layer for layer as tf.keras 2.x builds them in
 * tensorflow/python/keras/applications/inception_v3.py and inception_resnet_v2.py
 * (TensorFlow 2.x). The helpers below mirror those files' conv2d_bn and
 * inception_resnet_block, and split InceptionV3's long body into one helper per kind of
 * "mixed" block.
 *
 * Almost every convolution is built by an unnamed conv2d_bn call, so most names are Keras's
 * counters (conv2d_N, batch_normalization_N, activation_N). Layers are added in the order the
 * Keras source calls them: branch by branch, left to right, each convolution followed at once
 * by its BatchNormalization and Activation.
 */
#include <stdio.h>

#include "zoo_internal.h"

#define INCEPTION_INPUT_SIZE 299

/*
 * conv2d_bn() of inception_resnet_v2.py: Conv2D (named `name`), then, unless the convolution
 * has a bias, BatchNormalization without gamma (scale=False: a ReLU follows, so a scale
 * would be redundant) named name_bn, then the activation named name_ac unless `relu` is
 * false. A NULL name leaves all three to Keras's counters.
 */
static int irv2_conv2d_bn(struct model_graph *g, int x, int filters, int kh, int kw, int stride,
			  enum model_padding padding, bool relu, bool use_bias, const char *name)
{
	char n[MODEL_NAME_MAX];

	x = model_add_conv2d(g, name, x, filters, kh, kw, stride, padding, use_bias,
			     MODEL_ACT_LINEAR);
	if (!use_bias)
		x = model_add_batch_norm(g, name ? zoo_name(n, "%s%s", name, "_bn") : NULL, x, true,
					 false);
	if (relu)
		x = model_add_activation(g, name ? zoo_name(n, "%s%s", name, "_ac") : NULL, x,
					 MODEL_ACT_RELU);
	return x;
}

/*
 * conv2d_bn() as both files call it without a name: Conv2D without bias, BatchNormalization
 * without gamma, ReLU, all named by Keras's counters. (InceptionV3's own conv2d_bn names
 * its layers differently when given a name, but InceptionV3 never gives one.)
 */
static int conv2d_bn(struct model_graph *g, int x, int filters, int kh, int kw, int stride,
		     enum model_padding padding)
{
	return irv2_conv2d_bn(g, x, filters, kh, kw, stride, padding, true, false, NULL);
}

/* The 3x3 average pooling, stride 1, "same" padding, that feeds every pool branch. */
static int avg_pool_3x3(struct model_graph *g, int x)
{
	return model_add_pool(g, NULL, MODEL_OP_AVG_POOL2D, x, 3, 1, MODEL_PAD_SAME);
}

/* The 3x3 max pooling, stride 2, "valid" padding, of the stems and reduction blocks. */
static int max_pool_3x3_s2(struct model_graph *g, int x)
{
	return model_add_pool(g, NULL, MODEL_OP_MAX_POOL2D, x, 3, 2, MODEL_PAD_VALID);
}

/*
 * The stem both models share: 299x299x3 down to 35x35x192 through five conv2d_bn and two
 * max poolings.
 */
static int inception_stem(struct model_graph *g)
{
	int x;

	x = model_add_input(g, NULL, INCEPTION_INPUT_SIZE, INCEPTION_INPUT_SIZE, 3);
	x = conv2d_bn(g, x, 32, 3, 3, 2, MODEL_PAD_VALID);
	x = conv2d_bn(g, x, 32, 3, 3, 1, MODEL_PAD_VALID);
	x = conv2d_bn(g, x, 64, 3, 3, 1, MODEL_PAD_SAME);
	x = max_pool_3x3_s2(g, x);
	x = conv2d_bn(g, x, 80, 1, 1, 1, MODEL_PAD_VALID);
	x = conv2d_bn(g, x, 192, 3, 3, 1, MODEL_PAD_VALID);
	return max_pool_3x3_s2(g, x);
}

/*
 * InceptionV3 mixed0..mixed2 (35x35): 1x1, 1x1-5x5, 1x1-3x3-3x3 and avgpool-1x1 branches;
 * only the pool branch's width changes between the three blocks.
 */
static int inception_v3_block35(struct model_graph *g, int x, int pool_filters,
				const char *name)
{
	int b[4];

	b[0] = conv2d_bn(g, x, 64, 1, 1, 1, MODEL_PAD_SAME);

	b[1] = conv2d_bn(g, x, 48, 1, 1, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], 64, 5, 5, 1, MODEL_PAD_SAME);

	b[2] = conv2d_bn(g, x, 64, 1, 1, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, b[2], 96, 3, 3, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, b[2], 96, 3, 3, 1, MODEL_PAD_SAME);

	b[3] = avg_pool_3x3(g, x);
	b[3] = conv2d_bn(g, b[3], pool_filters, 1, 1, 1, MODEL_PAD_SAME);
	return model_add_concat(g, name, b, 4);
}

/* InceptionV3 mixed3: the reduction from 35x35 to 17x17. */
static int inception_v3_reduce35(struct model_graph *g, int x)
{
	int b[3];

	b[0] = conv2d_bn(g, x, 384, 3, 3, 2, MODEL_PAD_VALID);

	b[1] = conv2d_bn(g, x, 64, 1, 1, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], 96, 3, 3, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], 96, 3, 3, 2, MODEL_PAD_VALID);

	b[2] = max_pool_3x3_s2(g, x);
	return model_add_concat(g, "mixed3", b, 3);
}

/*
 * InceptionV3 mixed4..mixed7 (17x17): the 7x7 convolutions are factored into 1x7 and 7x1;
 * `c7` is the width inside the factored branches (128, 160, 160, 192).
 */
static int inception_v3_block17(struct model_graph *g, int x, int c7, const char *name)
{
	int b[4];

	b[0] = conv2d_bn(g, x, 192, 1, 1, 1, MODEL_PAD_SAME);

	b[1] = conv2d_bn(g, x, c7, 1, 1, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], c7, 1, 7, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], 192, 7, 1, 1, MODEL_PAD_SAME);

	b[2] = conv2d_bn(g, x, c7, 1, 1, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, b[2], c7, 7, 1, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, b[2], c7, 1, 7, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, b[2], c7, 7, 1, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, b[2], 192, 1, 7, 1, MODEL_PAD_SAME);

	b[3] = avg_pool_3x3(g, x);
	b[3] = conv2d_bn(g, b[3], 192, 1, 1, 1, MODEL_PAD_SAME);
	return model_add_concat(g, name, b, 4);
}

/* InceptionV3 mixed8: the reduction from 17x17 to 8x8. */
static int inception_v3_reduce17(struct model_graph *g, int x)
{
	int b[3];

	b[0] = conv2d_bn(g, x, 192, 1, 1, 1, MODEL_PAD_SAME);
	b[0] = conv2d_bn(g, b[0], 320, 3, 3, 2, MODEL_PAD_VALID);

	b[1] = conv2d_bn(g, x, 192, 1, 1, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], 192, 1, 7, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], 192, 7, 1, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], 192, 3, 3, 2, MODEL_PAD_VALID);

	b[2] = max_pool_3x3_s2(g, x);
	return model_add_concat(g, "mixed8", b, 3);
}

/*
 * The 1x3 and 3x1 convolutions both applied to `x` and concatenated: the expanded filter
 * bank of mixed9 and mixed10. Keras names the first pair "mixed9_<i>" and leaves the second
 * unnamed, hence "concatenate" and "concatenate_1"; `name` NULL asks for the latter.
 */
static int inception_v3_split_1x3_3x1(struct model_graph *g, int x, const char *name)
{
	int b[2];

	b[0] = conv2d_bn(g, x, 384, 1, 3, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, x, 384, 3, 1, 1, MODEL_PAD_SAME);
	return model_add_concat(g, name, b, 2);
}

/* InceptionV3 mixed9 and mixed10 (8x8), iteration `i` (0 or 1) of the Keras loop. */
static int inception_v3_block8(struct model_graph *g, int x, int i)
{
	char n[MODEL_NAME_MAX];
	int b[4];

	b[0] = conv2d_bn(g, x, 320, 1, 1, 1, MODEL_PAD_SAME);

	b[1] = conv2d_bn(g, x, 384, 1, 1, 1, MODEL_PAD_SAME);
	zoo_name(n, "mixed9_%d", i);
	b[1] = inception_v3_split_1x3_3x1(g, b[1], n);

	b[2] = conv2d_bn(g, x, 448, 1, 1, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, b[2], 384, 3, 3, 1, MODEL_PAD_SAME);
	b[2] = inception_v3_split_1x3_3x1(g, b[2], NULL);

	b[3] = avg_pool_3x3(g, x);
	b[3] = conv2d_bn(g, b[3], 192, 1, 1, 1, MODEL_PAD_SAME);
	zoo_name(n, "mixed%d", 9 + i);
	return model_add_concat(g, n, b, 4);
}

/* The ImageNet head: global average pooling and the 1000-way softmax classifier. */
static int imagenet_top(struct model_graph *g, int x)
{
	x = model_add_global_avg_pool(g, "avg_pool", x, false);
	return model_add_dense(g, "predictions", x, 1000, true, MODEL_ACT_SOFTMAX);
}

/*
 * keras.applications.inception_v3.InceptionV3
 * (tensorflow/python/keras/applications/inception_v3.py)
 */
int zoo_build_inception_v3(struct model_graph *g)
{
	char n[MODEL_NAME_MAX];
	static const int c7[4] = { 128, 160, 160, 192 };
	int x;
	int i;

	x = inception_stem(g);

	x = inception_v3_block35(g, x, 32, "mixed0");
	x = inception_v3_block35(g, x, 64, "mixed1");
	x = inception_v3_block35(g, x, 64, "mixed2");
	x = inception_v3_reduce35(g, x);

	for (i = 0; i < 4; i++) {
		zoo_name(n, "mixed%d", 4 + i);
		x = inception_v3_block17(g, x, c7[i], n);
	}
	x = inception_v3_reduce17(g, x);

	for (i = 0; i < 2; i++)
		x = inception_v3_block8(g, x, i);

	imagenet_top(g, x);
	return model_graph_error_code(g);
}

enum irv2_block { IRV2_BLOCK35, IRV2_BLOCK17, IRV2_BLOCK8 };

/*
 * inception_resnet_block(): the inception branches of `type`, concatenated (<block>_mixed),
 * projected back to x's width by a 1x1 convolution with bias and without BN or activation
 * (<block>_conv), added to x as x + scale * r by the Lambda named <block>, then a ReLU
 * (<block>_ac) unless `relu` is false. `block` is e.g. "block35_1".
 */
static int inception_resnet_block(struct model_graph *g, int x, double scale,
				  enum irv2_block type, const char *block, bool relu)
{
	char n[MODEL_NAME_MAX];
	int b[3];
	int nb;
	int up;

	switch (type) {
	case IRV2_BLOCK35:
		b[0] = conv2d_bn(g, x, 32, 1, 1, 1, MODEL_PAD_SAME);
		b[1] = conv2d_bn(g, x, 32, 1, 1, 1, MODEL_PAD_SAME);
		b[1] = conv2d_bn(g, b[1], 32, 3, 3, 1, MODEL_PAD_SAME);
		b[2] = conv2d_bn(g, x, 32, 1, 1, 1, MODEL_PAD_SAME);
		b[2] = conv2d_bn(g, b[2], 48, 3, 3, 1, MODEL_PAD_SAME);
		b[2] = conv2d_bn(g, b[2], 64, 3, 3, 1, MODEL_PAD_SAME);
		nb = 3;
		break;
	case IRV2_BLOCK17:
		b[0] = conv2d_bn(g, x, 192, 1, 1, 1, MODEL_PAD_SAME);
		b[1] = conv2d_bn(g, x, 128, 1, 1, 1, MODEL_PAD_SAME);
		b[1] = conv2d_bn(g, b[1], 160, 1, 7, 1, MODEL_PAD_SAME);
		b[1] = conv2d_bn(g, b[1], 192, 7, 1, 1, MODEL_PAD_SAME);
		nb = 2;
		break;
	case IRV2_BLOCK8:
	default:
		b[0] = conv2d_bn(g, x, 192, 1, 1, 1, MODEL_PAD_SAME);
		b[1] = conv2d_bn(g, x, 192, 1, 1, 1, MODEL_PAD_SAME);
		b[1] = conv2d_bn(g, b[1], 224, 1, 3, 1, MODEL_PAD_SAME);
		b[1] = conv2d_bn(g, b[1], 256, 3, 1, 1, MODEL_PAD_SAME);
		nb = 2;
		break;
	}

	up = model_add_concat(g, zoo_name(n, "%s%s", block, "_mixed"), b, nb);
	up = irv2_conv2d_bn(g, up, zoo_channels(g, x), 1, 1, 1, MODEL_PAD_SAME, false, true,
			    zoo_name(n, "%s%s", block, "_conv"));
	x = model_add_scale_sum(g, block, x, up, scale);
	if (relu)
		x = model_add_activation(g, zoo_name(n, "%s%s", block, "_ac"), x, MODEL_ACT_RELU);
	return x;
}

/* `count` inception_resnet_blocks of one type, named <prefix>_1 .. <prefix>_<count>. */
static int inception_resnet_repeat(struct model_graph *g, int x, int count, double scale,
				   enum irv2_block type, const char *prefix)
{
	char n[MODEL_NAME_MAX];
	int i;

	for (i = 1; i <= count; i++) {
		zoo_name(n, "%s_%d", prefix, i);
		x = inception_resnet_block(g, x, scale, type, n, true);
	}
	return x;
}

/*
 * keras.applications.inception_resnet_v2.InceptionResNetV2
 * (tensorflow/python/keras/applications/inception_resnet_v2.py)
 */
int zoo_build_inception_resnet_v2(struct model_graph *g)
{
	int b[4];
	int x;

	x = inception_stem(g);

	/* Mixed 5b (Inception-A block): 35x35x320 */
	b[0] = conv2d_bn(g, x, 96, 1, 1, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, x, 48, 1, 1, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], 64, 5, 5, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, x, 64, 1, 1, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, b[2], 96, 3, 3, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, b[2], 96, 3, 3, 1, MODEL_PAD_SAME);
	b[3] = avg_pool_3x3(g, x);
	b[3] = conv2d_bn(g, b[3], 64, 1, 1, 1, MODEL_PAD_SAME);
	x = model_add_concat(g, "mixed_5b", b, 4);

	x = inception_resnet_repeat(g, x, 10, 0.17, IRV2_BLOCK35, "block35");

	/* Mixed 6a (Reduction-A block): 17x17x1088 */
	b[0] = conv2d_bn(g, x, 384, 3, 3, 2, MODEL_PAD_VALID);
	b[1] = conv2d_bn(g, x, 256, 1, 1, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], 256, 3, 3, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], 384, 3, 3, 2, MODEL_PAD_VALID);
	b[2] = max_pool_3x3_s2(g, x);
	x = model_add_concat(g, "mixed_6a", b, 3);

	x = inception_resnet_repeat(g, x, 20, 0.1, IRV2_BLOCK17, "block17");

	/* Mixed 7a (Reduction-B block): 8x8x2080 */
	b[0] = conv2d_bn(g, x, 256, 1, 1, 1, MODEL_PAD_SAME);
	b[0] = conv2d_bn(g, b[0], 384, 3, 3, 2, MODEL_PAD_VALID);
	b[1] = conv2d_bn(g, x, 256, 1, 1, 1, MODEL_PAD_SAME);
	b[1] = conv2d_bn(g, b[1], 288, 3, 3, 2, MODEL_PAD_VALID);
	b[2] = conv2d_bn(g, x, 256, 1, 1, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, b[2], 288, 3, 3, 1, MODEL_PAD_SAME);
	b[2] = conv2d_bn(g, b[2], 320, 3, 3, 2, MODEL_PAD_VALID);
	b[3] = max_pool_3x3_s2(g, x);
	x = model_add_concat(g, "mixed_7a", b, 4);

	/* The tenth block8 is unscaled and linear: conv_7b's BN and ReLU follow it. */
	x = inception_resnet_repeat(g, x, 9, 0.2, IRV2_BLOCK8, "block8");
	x = inception_resnet_block(g, x, 1.0, IRV2_BLOCK8, "block8_10", false);

	/* Final convolution block: 8x8x1536 */
	x = irv2_conv2d_bn(g, x, 1536, 1, 1, 1, MODEL_PAD_SAME, true, false, "conv_7b");

	imagenet_top(g, x);
	return model_graph_error_code(g);
}
