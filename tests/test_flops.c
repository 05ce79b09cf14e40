/*
 * test_flops: the FLOPs of ResNet50 and VGG16 against a hand calculation written here.
 *
 * The expected values never come from the library's shape inference: each architecture is
 * walked stage by stage as its Keras source describes it (keras/applications/resnet.py,
 * vgg16.py), spatial sizes come from the closed forms
 *     "valid": out = (in - k) / s + 1 (floor),   "same": out = ceil(in / s),
 * and each layer's FLOPs from the convention of models/model_graph.h:
 *   - Conv2D, Dense: 2 per multiply-accumulate (MAC), + 1 per output element for the bias,
 *     + 1 per output element for a fused activation (VGG's ReLU, the softmax of predictions);
 *   - BatchNormalization 2, Activation 1, two-input Add 1 per output element;
 *   - MaxPooling2D pool_h x pool_w per output element; GlobalAveragePooling2D 1 per input
 *     element; InputLayer, ZeroPadding2D, Flatten 0.
 * A Conv2D with a k x k kernel, cin input and cout output channels at h x w outputs does
 * h * w * cout * k * k * cin MACs; a Dense layer cin * units.
 *
 * The walk names every layer as Keras does and compares that layer's FLOPs in the library's
 * graph, then the sums over Conv2D and Dense layers and the model totals.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <igraph.h>

#include "check.h"
#include "model_graph.h"
#include "model_zoo.h"

/* The hand calculation's running sums, and the library graph it is compared with. */
struct tally {
	const struct model_graph *g;
	int64_t total;      /* every layer */
	int64_t conv_dense; /* Conv2D and Dense layers, bias and fused activation included */
	int64_t macs;       /* multiply-accumulates of Conv2D and Dense layers */
	size_t layers;      /* layers the walk named */
};

static int64_t out_valid(int64_t in, int64_t k, int64_t s)
{
	return (in - k) / s + 1;
}

static int64_t out_same(int64_t in, int64_t s)
{
	return (in + s - 1) / s;
}

/* One layer of the walk: the library's layer `name` must exist, be `op`, and cost `flops`. */
static void layer(struct tally *t, const char *name, enum model_op op, int64_t flops)
{
	int idx = model_graph_find(t->g, name);
	const struct model_layer *l;
	char what[2 * MODEL_NAME_MAX];

	t->total += flops;
	t->layers++;
	if (idx < 0) {
		fprintf(stderr, "%s:%d: %s: no layer '%s'\n", __FILE__, __LINE__,
			model_graph_name(t->g), name);
		check_failures++;
		return;
	}
	l = model_graph_layer(t->g, (size_t)idx);
	if (l->op != op) {
		fprintf(stderr, "%s:%d: %s: layer '%s' is %s, expected %s\n", __FILE__, __LINE__,
			model_graph_name(t->g), name, model_op_name(l->op), model_op_name(op));
		check_failures++;
	}
	snprintf(what, sizeof(what), "%s/%s", model_graph_name(t->g), name);
	CHECK_I64(what, l->flops, flops);
}

/* Conv2D with bias, h x w outputs of cout channels, a k x k kernel over cin channels. */
static void conv(struct tally *t, const char *name, int64_t h, int64_t w, int64_t cin,
		 int64_t cout, int64_t k, bool fused_act)
{
	int64_t out = h * w * cout;
	int64_t macs = out * k * k * cin;
	int64_t flops = 2 * macs + out + (fused_act ? out : 0);

	t->macs += macs;
	t->conv_dense += flops;
	layer(t, name, MODEL_OP_CONV2D, flops);
}

/* Dense with bias and a fused activation (ReLU or softmax: 1 per output element). */
static void dense(struct tally *t, const char *name, int64_t cin, int64_t units)
{
	int64_t macs = cin * units;
	int64_t flops = 2 * macs + units + units;

	t->macs += macs;
	t->conv_dense += flops;
	layer(t, name, MODEL_OP_DENSE, flops);
}

/* The library's sum of per-layer FLOPs over its Conv2D and Dense layers, and their count. */
static int64_t library_conv_dense(const struct model_graph *g, int *count)
{
	int64_t s = 0;

	*count = 0;
	for (size_t i = 0; i < model_graph_layer_count(g); i++) {
		const struct model_layer *l = model_graph_layer(g, i);

		if (l->op == MODEL_OP_CONV2D || l->op == MODEL_OP_DENSE) {
			s += l->flops;
			(*count)++;
		}
	}
	return s;
}

/*
 * ResNet50 (keras/applications/resnet.py, ResNet50: stack1 with 3, 4, 6, 3 bottleneck
 * blocks of 64, 128, 256, 512 filters; the first block of each stack has a projection
 * shortcut and, from conv3 on, stride 2 in its first 1x1 convolution and in the shortcut).
 * Every convolution has a bias and no fused activation.
 */
static void walk_resnet50(struct tally *t)
{
	static const int64_t filters[4] = { 64, 128, 256, 512 };
	static const int blocks[4] = { 3, 4, 6, 3 };
	char n[MODEL_NAME_MAX];
	int64_t h = 224, c = 3;

	layer(t, "input_1", MODEL_OP_INPUT, 0);
	h += 3 + 3;
	layer(t, "conv1_pad", MODEL_OP_ZERO_PADDING2D, 0);
	h = out_valid(h, 7, 2); /* 112 */
	conv(t, "conv1_conv", h, h, c, 64, 7, false);
	c = 64;
	layer(t, "conv1_bn", MODEL_OP_BATCH_NORM, 2 * h * h * c);
	layer(t, "conv1_relu", MODEL_OP_ACTIVATION, h * h * c);
	h += 1 + 1;
	layer(t, "pool1_pad", MODEL_OP_ZERO_PADDING2D, 0);
	h = out_valid(h, 3, 2); /* 56 */
	layer(t, "pool1_pool", MODEL_OP_MAX_POOL2D, 3 * 3 * h * h * c);

	for (int s = 0; s < 4; s++) {
		for (int b = 1; b <= blocks[s]; b++) {
			int64_t f = filters[s], stride = (b == 1 && s > 0) ? 2 : 1;
			int64_t ho = out_valid(h, 1, stride);
			int64_t wide = ho * ho * 4 * f, narrow = ho * ho * f;

#define NAME(suffix) (snprintf(n, sizeof(n), "conv%d_block%d%s", s + 2, b, suffix), n)
			if (b == 1) {
				conv(t, NAME("_0_conv"), ho, ho, c, 4 * f, 1, false);
				layer(t, NAME("_0_bn"), MODEL_OP_BATCH_NORM, 2 * wide);
			}
			conv(t, NAME("_1_conv"), ho, ho, c, f, 1, false);
			layer(t, NAME("_1_bn"), MODEL_OP_BATCH_NORM, 2 * narrow);
			layer(t, NAME("_1_relu"), MODEL_OP_ACTIVATION, narrow);
			/* 3x3 "same" at stride 1: ceil(ho / 1) = ho. */
			conv(t, NAME("_2_conv"), ho, ho, f, f, 3, false);
			layer(t, NAME("_2_bn"), MODEL_OP_BATCH_NORM, 2 * narrow);
			layer(t, NAME("_2_relu"), MODEL_OP_ACTIVATION, narrow);
			conv(t, NAME("_3_conv"), ho, ho, f, 4 * f, 1, false);
			layer(t, NAME("_3_bn"), MODEL_OP_BATCH_NORM, 2 * wide);
			layer(t, NAME("_add"), MODEL_OP_ADD, wide);
			layer(t, NAME("_out"), MODEL_OP_ACTIVATION, wide);
#undef NAME
			h = ho;
			c = 4 * f;
		}
	}
	layer(t, "avg_pool", MODEL_OP_GLOBAL_AVG_POOL2D, h * h * c); /* 7 x 7 x 2048 in */
	dense(t, "predictions", c, 1000);
}

/*
 * VGG16 (keras/applications/vgg16.py): five blocks of 2, 2, 3, 3, 3 3x3 "same" ReLU
 * convolutions with 64, 128, 256, 512, 512 filters, each block closed by a 2x2 stride-2
 * max pooling; Flatten, fc1 and fc2 (4096, ReLU), predictions (1000, softmax).
 */
static void walk_vgg16(struct tally *t)
{
	static const int convs[5] = { 2, 2, 3, 3, 3 };
	static const int64_t filters[5] = { 64, 128, 256, 512, 512 };
	char n[MODEL_NAME_MAX];
	int64_t h = 224, c = 3;

	layer(t, "input_1", MODEL_OP_INPUT, 0);
	for (int b = 0; b < 5; b++) {
		for (int i = 1; i <= convs[b]; i++) {
			snprintf(n, sizeof(n), "block%d_conv%d", b + 1, i);
			h = out_same(h, 1);
			conv(t, n, h, h, c, filters[b], 3, true);
			c = filters[b];
		}
		snprintf(n, sizeof(n), "block%d_pool", b + 1);
		h = out_valid(h, 2, 2);
		layer(t, n, MODEL_OP_MAX_POOL2D, 2 * 2 * h * h * c);
	}
	layer(t, "flatten", MODEL_OP_FLATTEN, 0);
	dense(t, "fc1", h * h * c, 4096); /* 7 x 7 x 512 = 25088 in */
	dense(t, "fc2", 4096, 4096);
	dense(t, "predictions", 4096, 1000);
}

static void check_model(const char *name, void (*walk)(struct tally *t), int conv_dense_count,
			int64_t macs_low, int64_t macs_high)
{
	struct model_graph *g = NULL;
	struct ep_error err = { 0 };
	struct tally t = { 0 };
	int64_t lib_conv_dense;
	int lib_count;
	int rc;

	rc = model_zoo_build(name, &g, &err);
	CHECK_I64(name, rc, EP_OK);
	if (rc != EP_OK || !g) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	t.g = g;
	walk(&t);

	/* The walk named every layer of the model, so its total covers all of them. */
	CHECK_I64(name, model_graph_layer_count(g), t.layers);
	lib_conv_dense = library_conv_dense(g, &lib_count);
	CHECK_I64(name, lib_count, conv_dense_count);
	CHECK_I64(name, lib_conv_dense, t.conv_dense);
	CHECK_I64(name, model_graph_flops(g), t.total);

	/* The hand MAC count lies in the range the literature quotes for the model. */
	if (t.macs < macs_low || t.macs > macs_high) {
		fprintf(stderr, "%s:%d: %s: %" PRId64 " MACs, outside the published [%" PRId64
			", %" PRId64 "]\n", __FILE__, __LINE__, name, t.macs, macs_low,
			macs_high);
		check_failures++;
	}
	printf("%s: %" PRId64 " MACs, %" PRId64 " FLOPs (Conv2D + Dense %" PRId64 ")\n", name,
	       t.macs, t.total, t.conv_dense);
	model_graph_destroy(g);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);

	/*
	 * Published figures, counted as multiply-accumulates (the papers call them "FLOPs"):
	 * ResNet50 3.8 x 10^9 (He et al., CVPR 2016, Table 1) to 4.1 x 10^9 (torchvision's
	 * model table, for ResNet50 v1.5, whose stride sits in the 3x3 convolution; Keras's v1
	 * puts it in the first 1x1, which costs less), so ~3.8-4.1 GMACs; VGG16 15.3 x 10^9
	 * (He et al., section 4.1) to 15.47 x 10^9 (torchvision), so ~15.5 GMACs. The ranges
	 * below are those published ranges.
	 * Conv2D + Dense layer counts: ResNet50 1 + 16 x 3 + 4 shortcuts + 1 = 54; VGG16 13 + 3.
	 */
	check_model("resnet50", walk_resnet50, 54, 3800000000, 4100000000);
	check_model("vgg16", walk_vgg16, 16, 15300000000, 15600000000);

	return check_exit();
}
