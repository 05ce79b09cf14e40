/*
 * EfficientNetB0 and EfficientNetB1, layer for layer as tf.keras 2.x builds them: the file
 * reproduced is keras/applications/efficientnet.py of the Keras 2 releases bundled with
 * TensorFlow 2.10 to 2.15, kept unchanged as tf_keras/applications/efficientnet.py in
 * keras-team/tf-keras. That version follows the Normalization layer with a second Rescaling
 * ("rescaling_1") when weights="imagenet", to undo the square root Normalization takes of the
 * ImageNet standard deviations (tensorflow/tensorflow issue 49930); TensorFlow 2.3 to 2.8
 * build the model without it. The helpers below mirror the file's EfficientNet(), its nested
 * round_filters() and round_repeats(), block() and imagenet_utils.correct_pad().
 */
#include <stdbool.h>
#include <stdio.h>

#include "zoo_internal.h"

/* One row of Keras's DEFAULT_BLOCKS_ARGS: a stage of identical inverted residual blocks. */
struct block_args {
	int kernel_size;
	int repeats;
	int filters_in;
	int filters_out;
	int expand_ratio;
	bool id_skip;
	int strides;
	double se_ratio;
};

static const struct block_args default_blocks_args[] = {
	{3, 1, 32, 16, 1, true, 1, 0.25},   /* block1 */
	{3, 2, 16, 24, 6, true, 2, 0.25},   /* block2 */
	{5, 2, 24, 40, 6, true, 2, 0.25},   /* block3 */
	{3, 3, 40, 80, 6, true, 2, 0.25},   /* block4 */
	{5, 3, 80, 112, 6, true, 1, 0.25},  /* block5 */
	{5, 4, 112, 192, 6, true, 2, 0.25}, /* block6 */
	{3, 1, 192, 320, 6, true, 1, 0.25}, /* block7 */
};

#define N_STAGES (sizeof(default_blocks_args) / sizeof(default_blocks_args[0]))

/* The scaling of one family member, as EfficientNetBx() passes it to EfficientNet(). */
struct efficientnet_params {
	double width_coefficient;
	double depth_coefficient;
	int default_size;
	double dropout_rate;
};

#define DROP_CONNECT_RATE 0.2
#define DEPTH_DIVISOR	  8

/*
 * The per-channel factor of "rescaling_1" is 1 / sqrt(stddev) for the ImageNet standard
 * deviations (0.229, 0.224, 0.225). A graph layer keeps one scalar, so it records the green
 * channel's 1 / sqrt(0.224); parameters (none) and FLOPs do not depend on the value.
 */
#define IMAGENET_INV_SQRT_STDDEV_G 2.1128856368212916

/* round_filters(): scale by the width coefficient, round to the divisor, never down > 10%. */
static int round_filters(int filters, double width_coefficient)
{
	double f = filters * width_coefficient;
	int new_filters = (int)(f + DEPTH_DIVISOR / 2.0) / DEPTH_DIVISOR * DEPTH_DIVISOR;

	if (new_filters < DEPTH_DIVISOR)
		new_filters = DEPTH_DIVISOR;
	if (new_filters < 0.9 * f)
		new_filters += DEPTH_DIVISOR;
	return new_filters;
}

/* round_repeats(): int(math.ceil(depth_coefficient * repeats)), without linking libm. */
static int round_repeats(int repeats, double depth_coefficient)
{
	double r = depth_coefficient * repeats;
	int n = (int)r;

	return n < r ? n + 1 : n;
}

/*
 * ZeroPadding2D by imagenet_utils.correct_pad(): before a stride-2 'valid' convolution, pad
 * (k/2 - 1, k/2) on an even side and (k/2, k/2) on an odd one, which reproduces TensorFlow's
 * 'same' padding for stride 2.
 */
static int correct_pad(struct model_graph *g, const char *name, int x, int kernel_size)
{
	const struct model_layer *l;
	int correct = kernel_size / 2;
	int adjust_h, adjust_w;

	if (x < 0)
		return -1;
	l = model_graph_layer(g, (size_t)x);
	adjust_h = 1 - (int)(l->shape[0] % 2);
	adjust_w = 1 - (int)(l->shape[1] % 2);
	return model_add_zero_pad(g, name, x, correct - adjust_h, correct, correct - adjust_w,
				  correct);
}

/*
 * block(): the inverted residual block. Expansion (1x1 conv, skipped when expand_ratio is 1),
 * depthwise convolution, squeeze-and-excitation, 1x1 projection, then a residual add (behind
 * a Dropout when drop_rate > 0) when the block keeps its shape.
 */
static int block(struct model_graph *g, int inputs, enum model_activation activation,
		 double drop_rate, const char *name, int filters_in, int filters_out,
		 int kernel_size, int strides, int expand_ratio, double se_ratio, bool id_skip)
{
	char n[MODEL_NAME_MAX];
	int filters = filters_in * expand_ratio;
	enum model_padding conv_pad;
	int x = inputs;

	if (expand_ratio != 1) {
		x = model_add_conv2d(g, zoo_name(n, "%s%s", name, "expand_conv"), inputs, filters, 1, 1,
				     1, MODEL_PAD_SAME, false, MODEL_ACT_LINEAR);
		x = model_add_batch_norm(g, zoo_name(n, "%s%s", name, "expand_bn"), x, true, true);
		x = model_add_activation(g, zoo_name(n, "%s%s", name, "expand_activation"), x,
					 activation);
	}

	if (strides == 2) {
		x = correct_pad(g, zoo_name(n, "%s%s", name, "dwconv_pad"), x, kernel_size);
		conv_pad = MODEL_PAD_VALID;
	} else {
		conv_pad = MODEL_PAD_SAME;
	}
	x = model_add_depthwise(g, zoo_name(n, "%s%s", name, "dwconv"), x, kernel_size, kernel_size,
				strides, conv_pad, 1, false);
	x = model_add_batch_norm(g, zoo_name(n, "%s%s", name, "bn"), x, true, true);
	x = model_add_activation(g, zoo_name(n, "%s%s", name, "activation"), x, activation);

	if (se_ratio > 0 && se_ratio <= 1) {
		/* The squeeze width follows the block's input, not its expanded width. */
		int filters_se = (int)(filters_in * se_ratio);
		const int64_t se_shape[3] = {1, 1, filters};
		int se;

		if (filters_se < 1)
			filters_se = 1;
		se = model_add_global_avg_pool(g, zoo_name(n, "%s%s", name, "se_squeeze"), x, false);
		se = model_add_reshape(g, zoo_name(n, "%s%s", name, "se_reshape"), se, 3, se_shape);
		se = model_add_conv2d(g, zoo_name(n, "%s%s", name, "se_reduce"), se, filters_se, 1, 1, 1,
				      MODEL_PAD_SAME, true, activation);
		se = model_add_conv2d(g, zoo_name(n, "%s%s", name, "se_expand"), se, filters, 1, 1, 1,
				      MODEL_PAD_SAME, true, MODEL_ACT_SIGMOID);
		x = model_add_multiply(g, zoo_name(n, "%s%s", name, "se_excite"), x, se);
	}

	x = model_add_conv2d(g, zoo_name(n, "%s%s", name, "project_conv"), x, filters_out, 1, 1, 1,
			     MODEL_PAD_SAME, false, MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, zoo_name(n, "%s%s", name, "project_bn"), x, true, true);
	if (id_skip && strides == 1 && filters_in == filters_out) {
		int xs[2];

		if (drop_rate > 0)
			x = model_add_dropout(g, zoo_name(n, "%s%s", name, "drop"), x);
		/* layers.add([x, inputs]): the block's output first, its input second. */
		xs[0] = x;
		xs[1] = inputs;
		x = model_add_add(g, zoo_name(n, "%s%s", name, "add"), xs, 2);
	}
	return x;
}

/* EfficientNet(): stem, the scaled stages of block(), top, with include_top=True. */
static int efficientnet(struct model_graph *g, const struct efficientnet_params *p)
{
	const enum model_activation activation = MODEL_ACT_SWISH;
	char prefix[MODEL_NAME_MAX];
	int blocks = 0;
	int b = 0;
	size_t i;
	int j;
	int x;

	x = model_add_input(g, NULL, p->default_size, p->default_size, 3);
	x = model_add_rescaling(g, NULL, x, 1.0 / 255.0);
	x = model_add_normalization(g, NULL, x);
	x = model_add_rescaling(g, NULL, x, IMAGENET_INV_SQRT_STDDEV_G);

	x = correct_pad(g, "stem_conv_pad", x, 3);
	x = model_add_conv2d(g, "stem_conv", x, round_filters(32, p->width_coefficient), 3, 3, 2,
			     MODEL_PAD_VALID, false, MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, "stem_bn", x, true, true);
	x = model_add_activation(g, "stem_activation", x, activation);

	/* The drop-connect rate grows linearly with the block's index over all blocks. */
	for (i = 0; i < N_STAGES; i++)
		blocks += round_repeats(default_blocks_args[i].repeats, p->depth_coefficient);

	for (i = 0; i < N_STAGES; i++) {
		const struct block_args *args = &default_blocks_args[i];
		int filters_in = round_filters(args->filters_in, p->width_coefficient);
		int filters_out = round_filters(args->filters_out, p->width_coefficient);
		int strides = args->strides;
		int repeats = round_repeats(args->repeats, p->depth_coefficient);

		for (j = 0; j < repeats; j++) {
			/* Only a stage's first block changes stride and width. */
			if (j > 0) {
				strides = 1;
				filters_in = filters_out;
			}
			zoo_name(prefix, "block%zu%c_", i + 1, 'a' + j);
			x = block(g, x, activation, DROP_CONNECT_RATE * b / blocks, prefix,
				  filters_in, filters_out, args->kernel_size, strides,
				  args->expand_ratio, args->se_ratio, args->id_skip);
			b++;
		}
	}

	x = model_add_conv2d(g, "top_conv", x, round_filters(1280, p->width_coefficient), 1, 1, 1,
			     MODEL_PAD_SAME, false, MODEL_ACT_LINEAR);
	x = model_add_batch_norm(g, "top_bn", x, true, true);
	x = model_add_activation(g, "top_activation", x, activation);
	x = model_add_global_avg_pool(g, "avg_pool", x, false);
	if (p->dropout_rate > 0)
		x = model_add_dropout(g, "top_dropout", x);
	model_add_dense(g, "predictions", x, 1000, true, MODEL_ACT_SOFTMAX);
	return model_graph_error_code(g);
}

/* keras.applications.efficientnet.EfficientNetB0 (keras/applications/efficientnet.py) */
int zoo_build_efficientnet_b0(struct model_graph *g)
{
	static const struct efficientnet_params p = {1.0, 1.0, 224, 0.2};

	return efficientnet(g, &p);
}

/* keras.applications.efficientnet.EfficientNetB1 (keras/applications/efficientnet.py) */
int zoo_build_efficientnet_b1(struct model_graph *g)
{
	static const struct efficientnet_params p = {1.0, 1.1, 240, 0.2};

	return efficientnet(g, &p);
}
