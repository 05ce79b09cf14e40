/*
 * test_zoo: every model of the zoo against what tf.keras 2.x publishes for it: the parameter
 * totals of model.summary(), len(model.layers), the output shape and parameters of named
 * layers, and the order of model.layers on stretches that published summaries show (the
 * check of model_graph_sort_keras). Also the registry's look-up by name.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <igraph.h>

#include "check.h"
#include "model_graph.h"
#include "model_zoo.h"

/*
 * Per model: Total params and Trainable params as model.summary() prints them for the
 * tf.keras 2.x application with its ImageNet head (tf.keras 2.x summary transcripts, and the
 * keras.io applications table; every total is also in
 * https://gist.github.com/ogyalcin/052f2df49b3288e62086aa0e5fd25fcd), and len(model.layers),
 * counted from tf.keras 2.x summaries by the builders' authors.
 */
struct expect_model {
	const char *name; /* the zoo's name */
	int64_t params;   /* Total params */
	int64_t trainable;
	size_t layers;
};

static const struct expect_model expect_models[] = {
	{ "resnet50", 25636712, 25583592, 177 },
	{ "resnet101", 44707176, 44601832, 347 },
	{ "resnet152", 60419944, 60268520, 517 },
	{ "inceptionv3", 23851784, 23817352, 313 },
	{ "inceptionresnetv2", 55873736, 55813192, 782 },
	{ "xception", 22910480, 22855952, 134 },
	{ "vgg16", 138357544, 138357544, 23 },
	{ "vgg19", 143667240, 143667240, 26 },
	/*
	 * 91 is the head of the later Keras 2.x releases (GlobalAveragePooling2D with
	 * keepdims, no "reshape_1"); earlier tf.keras 2.x releases print 92 layers, with the
	 * same parameters.
	 */
	{ "mobilenet", 4253864, 4231976, 91 },
	{ "mobilenetv2", 3538984, 3504872, 156 },
	{ "densenet121", 8062504, 7978856, 429 },
	{ "densenet169", 14307880, 14149480, 597 },
	{ "densenet201", 20242984, 20013928, 709 },
	{ "efficientnetb0", 5330571, 5288548, 241 },
	{ "efficientnetb1", 7856239, 7794184, 343 },
};

#define N_EXPECT_MODELS (sizeof(expect_models) / sizeof(expect_models[0]))

/*
 * Named layers: output shape without the batch dimension, and where given Keras's "Param #"
 * (trainable + non-trainable), all as tf.keras 2.x model.summary() prints them. -1: not
 * checked.
 */
struct expect_layer {
	const char *model;
	const char *layer;
	int rank;
	int64_t shape[3];
	int64_t params;
	int64_t non_trainable;
};

#define IMG(h, w, c) 3, { h, w, c }
#define VEC(c) 1, { c, 0, 0 }
#define ANY -1, -1

static const struct expect_layer expect_layers[] = {
	{ "resnet50", "conv1_pad", IMG(230, 230, 3), ANY },
	/* 1x1 conv 64 -> 256 with bias: 64 * 256 + 256 */
	{ "resnet50", "conv2_block1_0_conv", IMG(56, 56, 256), 16640, 0 },
	{ "resnet50", "conv5_block3_out", IMG(7, 7, 2048), ANY },
	{ "resnet50", "avg_pool", VEC(2048), ANY },
	{ "resnet101", "conv4_block23_out", IMG(14, 14, 1024), ANY },
	{ "resnet152", "conv3_block8_out", IMG(28, 28, 512), ANY },
	{ "resnet152", "conv4_block36_out", IMG(14, 14, 1024), ANY },

	{ "vgg16", "block5_pool", IMG(7, 7, 512), ANY },
	{ "vgg16", "flatten", VEC(25088), ANY },
	/* 25088 * 4096 + 4096 */
	{ "vgg16", "fc1", VEC(4096), 102764544, 0 },
	{ "vgg19", "block3_conv4", IMG(56, 56, 256), ANY },
	{ "vgg19", "block5_pool", IMG(7, 7, 512), ANY },

	{ "mobilenet", "conv_pad_2", IMG(113, 113, 64), ANY },
	{ "mobilenet", "conv_pw_13_relu", IMG(7, 7, 1024), ANY },
	/* 1x1 conv 1024 -> 1000 with bias */
	{ "mobilenet", "conv_preds", IMG(1, 1, 1000), 1025000, 0 },
	{ "mobilenet", "predictions", VEC(1000), ANY },

	{ "mobilenetv2", "block_1_pad", IMG(113, 113, 96), ANY },
	{ "mobilenetv2", "block_16_project_BN", IMG(7, 7, 320), ANY },
	{ "mobilenetv2", "Conv_1", IMG(7, 7, 1280), ANY },
	{ "mobilenetv2", "global_average_pooling2d", VEC(1280), ANY },

	{ "inceptionv3", "mixed0", IMG(35, 35, 256), ANY },
	{ "inceptionv3", "mixed9_0", IMG(8, 8, 768), ANY },
	{ "inceptionv3", "concatenate_1", IMG(8, 8, 768), ANY },
	/* 1x1 conv 2048 -> 192 without bias (conv2d_bn) */
	{ "inceptionv3", "conv2d_93", IMG(8, 8, 192), 393216, 0 },
	{ "inceptionv3", "mixed10", IMG(8, 8, 2048), ANY },

	/* 1x1 conv 128 -> 320 with bias */
	{ "inceptionresnetv2", "block35_1_conv", IMG(35, 35, 320), 41280, 0 },
	{ "inceptionresnetv2", "mixed_6a", IMG(17, 17, 1088), ANY },
	{ "inceptionresnetv2", "mixed_7a", IMG(8, 8, 2080), ANY },
	/* BatchNormalization with scale=False: 1536 beta trainable + 3072 moving statistics */
	{ "inceptionresnetv2", "conv_7b_bn", IMG(8, 8, 1536), 4608, 3072 },
	/* 1536 * 1000 + 1000 */
	{ "inceptionresnetv2", "predictions", VEC(1000), 1537000, 0 },

	/* 1x1 conv 64 -> 128 without bias, stride 2 */
	{ "xception", "conv2d", IMG(74, 74, 128), 8192, 0 },
	/* SeparableConv2D 728 -> 1024 without bias: 3 * 3 * 728 + 728 * 1024 */
	{ "xception", "block13_sepconv2", IMG(19, 19, 1024), 752024, 0 },
	{ "xception", "add_11", IMG(10, 10, 1024), ANY },
	{ "xception", "block14_sepconv2_act", IMG(10, 10, 2048), ANY },

	{ "densenet121", "conv1/conv", IMG(112, 112, 64), ANY },
	{ "densenet121", "pool2_pool", IMG(28, 28, 128), ANY },
	{ "densenet121", "conv5_block16_concat", IMG(7, 7, 1024), ANY },
	{ "densenet121", "zero_padding2d_1", IMG(114, 114, 64), ANY },
	{ "densenet169", "pool4_conv", IMG(14, 14, 640), ANY },
	{ "densenet169", "conv5_block32_concat", IMG(7, 7, 1664), ANY },
	{ "densenet201", "pool4_conv", IMG(14, 14, 896), ANY },
	{ "densenet201", "bn", IMG(7, 7, 1920), ANY },

	{ "efficientnetb0", "rescaling_1", IMG(224, 224, 3), ANY },
	{ "efficientnetb0", "stem_conv_pad", IMG(225, 225, 3), ANY },
	{ "efficientnetb0", "block3a_dwconv_pad", IMG(59, 59, 144), ANY },
	{ "efficientnetb0", "block2b_add", IMG(56, 56, 24), ANY },
	/* 1x1 conv 32 -> 8 with bias */
	{ "efficientnetb0", "block1a_se_reduce", IMG(1, 1, 8), 264, 0 },
	{ "efficientnetb0", "top_activation", IMG(7, 7, 1280), ANY },
	{ "efficientnetb1", "block1b_add", IMG(120, 120, 16), ANY },
	{ "efficientnetb1", "block3a_dwconv_pad", IMG(63, 63, 144), ANY },
	/* 1x1 conv 1920 -> 80 with bias */
	{ "efficientnetb1", "block7b_se_reduce", IMG(1, 1, 80), 153680, 0 },
	{ "efficientnetb1", "top_activation", IMG(8, 8, 1280), ANY },
};

/*
 * Stretches of model.layers that must be consecutive, in this order, copied from published
 * tf.keras 2.x model.summary() transcripts of the applications. They are where Keras's depth
 * sort differs from the call order, so they check model_graph_sort_keras.
 */
struct expect_order {
	const char *model;
	const char *layers[16]; /* up to the first NULL */
};

static const struct expect_order expect_orders[] = {
	{ "resnet50", { "conv2_block1_2_relu", "conv2_block1_0_conv", "conv2_block1_3_conv",
			"conv2_block1_0_bn", "conv2_block1_3_bn", "conv2_block1_add",
			"conv2_block1_out", NULL } },
	{ "inceptionv3", { "max_pooling2d_1", "conv2d_8", "batch_normalization_8",
			   "activation_8", "conv2d_6", "conv2d_9", "batch_normalization_6",
			   "batch_normalization_9", "activation_6", "activation_9",
			   "average_pooling2d", "conv2d_5" } },
	{ "xception", { "block2_sepconv2_bn", "conv2d", "block2_pool", "batch_normalization",
			"add", NULL } },
};

static const struct expect_model *find_expect_model(const char *name)
{
	for (size_t i = 0; i < N_EXPECT_MODELS; i++)
		if (strcmp(expect_models[i].name, name) == 0)
			return &expect_models[i];
	return NULL;
}

/* Structure every zoo model must have whatever its architecture. */
static void check_structure(const struct model_graph *g, const char *model)
{
	size_t n = model_graph_layer_count(g);
	int64_t params = 0, trainable = 0;
	struct ep_error err = { 0 };

	CHECK(n >= 2);
	if (n < 2)
		return;
	if (strcmp(model_graph_layer(g, 0)->name, "input_1") != 0 ||
	    model_graph_layer(g, 0)->op != MODEL_OP_INPUT) {
		fprintf(stderr, "%s:%d: %s: first layer is '%s', expected the InputLayer "
			"'input_1'\n", __FILE__, __LINE__, model, model_graph_layer(g, 0)->name);
		check_failures++;
	}
	if (strcmp(model_graph_layer(g, n - 1)->name, "predictions") != 0) {
		fprintf(stderr, "%s:%d: %s: last layer is '%s', expected 'predictions'\n",
			__FILE__, __LINE__, model, model_graph_layer(g, n - 1)->name);
		check_failures++;
	}
	for (size_t i = 0; i < n; i++) {
		const struct model_layer *l = model_graph_layer(g, i);

		for (int k = 0; k < l->n_inputs; k++)
			if (l->inputs[k] < 0 || (size_t)l->inputs[k] >= i) {
				fprintf(stderr, "%s:%d: %s: layer %zu '%s' has input %d, not an "
					"earlier layer\n", __FILE__, __LINE__, model, i, l->name,
					l->inputs[k]);
				check_failures++;
			}
		/* Names are unique: the look-up of each name finds that very layer. */
		if (model_graph_find(g, l->name) != (int)i) {
			fprintf(stderr, "%s:%d: %s: layer %zu '%s' is found at %d\n", __FILE__,
				__LINE__, model, i, l->name, model_graph_find(g, l->name));
			check_failures++;
		}
		params += l->params_trainable + l->params_non_trainable;
		trainable += l->params_trainable;
	}
	/* The totals are the sums over the layers, as model.summary() adds them up. */
	CHECK_I64(model, model_graph_params(g), params);
	CHECK_I64(model, model_graph_params_trainable(g), trainable);
	CHECK_I64(model, model_graph_validate(g, &err), EP_OK);
	if (err.code != EP_OK)
		fprintf(stderr, "  %s\n", err.msg);
}

static void check_model(const struct model_zoo_entry *e)
{
	const struct expect_model *x = find_expect_model(e->name);
	struct model_graph *g = NULL;
	struct ep_error err = { 0 };
	int rc;

	if (!x) {
		fprintf(stderr, "%s:%d: zoo model '%s' has no published figures in this test\n",
			__FILE__, __LINE__, e->name);
		check_failures++;
		return;
	}
	rc = model_zoo_build(e->name, &g, &err);
	CHECK_I64(e->name, rc, EP_OK);
	if (rc != EP_OK || !g) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	CHECK(strcmp(model_graph_name(g), e->name) == 0);
	CHECK_I64(e->name, model_graph_params(g), x->params);
	CHECK_I64(e->name, model_graph_params_trainable(g), x->trainable);
	CHECK_I64(e->name, model_graph_params(g) - model_graph_params_trainable(g),
		  x->params - x->trainable);
	CHECK_I64(e->name, model_graph_layer_count(g), x->layers);
	check_structure(g, e->name);

	for (size_t i = 0; i < sizeof(expect_layers) / sizeof(expect_layers[0]); i++) {
		const struct expect_layer *xl = &expect_layers[i];
		const struct model_layer *l;
		char what[2 * MODEL_NAME_MAX + 8];
		int idx;

		if (strcmp(xl->model, e->name) != 0)
			continue;
		snprintf(what, sizeof(what), "%s/%s", e->name, xl->layer);
		idx = model_graph_find(g, xl->layer);
		if (idx < 0) {
			fprintf(stderr, "%s:%d: %s: no such layer\n", __FILE__, __LINE__, what);
			check_failures++;
			continue;
		}
		l = model_graph_layer(g, (size_t)idx);
		CHECK_I64(what, l->rank, xl->rank);
		for (int d = 0; d < xl->rank && d < l->rank; d++)
			CHECK_I64(what, l->shape[d], xl->shape[d]);
		if (xl->params >= 0)
			CHECK_I64(what, l->params_trainable + l->params_non_trainable, xl->params);
		if (xl->non_trainable >= 0)
			CHECK_I64(what, l->params_non_trainable, xl->non_trainable);
	}

	for (size_t i = 0; i < sizeof(expect_orders) / sizeof(expect_orders[0]); i++) {
		const struct expect_order *xo = &expect_orders[i];
		int prev = -1;

		if (strcmp(xo->model, e->name) != 0)
			continue;
		for (size_t k = 0; k < sizeof(xo->layers) / sizeof(xo->layers[0]) && xo->layers[k];
		     k++) {
			int idx = model_graph_find(g, xo->layers[k]);

			if (idx < 0) {
				fprintf(stderr, "%s:%d: %s: no layer '%s'\n", __FILE__, __LINE__,
					e->name, xo->layers[k]);
				check_failures++;
			} else if (prev >= 0 && idx != prev + 1) {
				fprintf(stderr, "%s:%d: %s: '%s' is layer %d, expected %d, right "
					"after '%s'\n", __FILE__, __LINE__, e->name, xo->layers[k],
					idx, prev + 1, xo->layers[k - 1]);
				check_failures++;
			}
			prev = idx;
		}
	}
	model_graph_destroy(g);
}

/* model_zoo_find is case-insensitive; unknown names fail with a message listing the zoo. */
static void check_lookup(void)
{
	struct model_graph *g = (struct model_graph *)1; /* must be reset to NULL on error */
	struct ep_error err = { 0 };
	const struct model_zoo_entry *e;
	int rc;

	e = model_zoo_find("resnet50");
	CHECK(e && strcmp(e->name, "resnet50") == 0);
	CHECK(model_zoo_find("ResNet50") == e);
	CHECK(model_zoo_find("RESNET50") == e);
	CHECK(model_zoo_find("MobileNetV2") && model_zoo_find("mobilenetv2") &&
	      strcmp(model_zoo_find("MobileNetV2")->name, "mobilenetv2") == 0);
	for (size_t i = 0; i < model_zoo_count; i++) {
		CHECK(model_zoo_find(model_zoo[i].name) == &model_zoo[i]);
		CHECK(model_zoo_find(model_zoo[i].keras_name) == &model_zoo[i]);
	}
	/* A prefix or a near miss is not a match. */
	CHECK(model_zoo_find("resnet") == NULL);
	CHECK(model_zoo_find("resnet51") == NULL);
	CHECK(model_zoo_find("") == NULL);

	rc = model_zoo_build("resnet51", &g, &err);
	CHECK_I64("model_zoo_build(resnet51)", rc, EP_ENOTFOUND);
	CHECK_I64("model_zoo_build(resnet51)", err.code, EP_ENOTFOUND);
	CHECK(g == NULL);
	CHECK(strstr(err.msg, "resnet51") != NULL);
	for (size_t i = 0; i < model_zoo_count; i++)
		if (!strstr(err.msg, model_zoo[i].name)) {
			fprintf(stderr, "%s:%d: message \"%s\" does not list '%s'\n", __FILE__,
				__LINE__, err.msg, model_zoo[i].name);
			check_failures++;
		}

	/* Neither a zoo name nor a file: the same code, and the zoo is listed too. */
	g = (struct model_graph *)1;
	ep_error_clear(&err);
	rc = model_zoo_open("/nonexistent-edgepipe-dir/resnet51", &g, &err);
	CHECK_I64("model_zoo_open(missing)", rc, EP_ENOTFOUND);
	CHECK_I64("model_zoo_open(missing)", err.code, EP_ENOTFOUND);
	CHECK(g == NULL);
	for (size_t i = 0; i < model_zoo_count; i++)
		if (!strstr(err.msg, model_zoo[i].name)) {
			fprintf(stderr, "%s:%d: message \"%s\" does not list '%s'\n", __FILE__,
				__LINE__, err.msg, model_zoo[i].name);
			check_failures++;
		}

	/* The Keras spelling builds the same model. */
	g = NULL;
	rc = model_zoo_build("ResNet50", &g, &err);
	CHECK_I64("model_zoo_build(ResNet50)", rc, EP_OK);
	if (g) {
		CHECK(strcmp(model_graph_name(g), "resnet50") == 0);
		CHECK_I64("ResNet50", model_graph_params(g), 25636712);
	}
	model_graph_destroy(g);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);

	/* Every expectation is for a zoo model, and every zoo model has expectations. */
	CHECK_I64("zoo", model_zoo_count, N_EXPECT_MODELS);
	for (size_t i = 0; i < N_EXPECT_MODELS; i++)
		if (!model_zoo_find(expect_models[i].name)) {
			fprintf(stderr, "%s:%d: '%s' is not in the zoo\n", __FILE__, __LINE__,
				expect_models[i].name);
			check_failures++;
		}
	for (size_t i = 0; i < model_zoo_count; i++)
		check_model(&model_zoo[i]);
	check_lookup();

	return check_exit();
}
