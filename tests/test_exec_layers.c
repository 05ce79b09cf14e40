/*
 * The executor, layer kind by layer kind, against plain references written here from Keras's
 * definitions (small shapes), plus hand-derived cases for TensorFlow's asymmetric SAME padding
 * and Keras's average pooling at the border, and the errors of stage creation.
 *
 * Each graph runs with keep_tensors, so every layer is checked against the reference applied
 * to the executor's own input of that layer. Tolerance: 1e-4 x max(1, |expected|), for the
 * summation order and fused multiply-adds of XNNPACK's kernels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_exec.h"
#include "model_graph.h"
#include "model_weights.h"

#define TOL 1e-4

struct run {
	struct model_graph *g;
	struct model_weights *w;
	struct model_stage *s;
	float *in, *out;
};

/* Build weights from `seed` (or leave them for the caller's `fill`), run the whole graph. */
static int run_graph(struct run *r, struct model_graph *g, uint64_t seed, bool fold,
		     void (*fill)(struct model_weights *))
{
	struct ep_error err;
	struct model_exec_options o = MODEL_EXEC_OPTIONS_DEFAULT;
	int n = (int)model_graph_layer_count(g);

	memset(r, 0, sizeof(*r));
	r->g = g;
	if (model_graph_error(g)) {
		fprintf(stderr, "graph: %s\n", model_graph_error(g));
		return -1;
	}
	if (model_weights_create(g, &r->w, &err)) {
		fprintf(stderr, "weights: %s\n", err.msg);
		return -1;
	}
	model_weights_generate(r->w, seed);
	if (fill)
		fill(r->w);
	o.keep_tensors = true;
	o.no_fold_bn = !fold;
	if (model_stage_create(r->w, 0, n - 1, &o, &r->s, &err)) {
		fprintf(stderr, "stage: %s\n", err.msg);
		return -1;
	}
	r->in = malloc((size_t)model_stage_input_elements(r->s) * sizeof(float));
	r->out = malloc((size_t)model_stage_output_elements(r->s) * sizeof(float));
	model_exec_synthetic_input(r->in, (size_t)model_stage_input_elements(r->s), seed + 1);
	/* centre the input on 0 so that activations see both signs */
	for (int64_t i = 0; i < model_stage_input_elements(r->s); i++)
		r->in[i] = 2.0f * r->in[i] - 1.0f;
	if (model_stage_run(r->s, r->in, r->out, &err)) {
		fprintf(stderr, "run: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void run_free(struct run *r)
{
	model_stage_destroy(r->s);
	model_weights_destroy(r->w);
	model_graph_destroy(r->g);
	free(r->in);
	free(r->out);
}

static const float *T(const struct run *r, int layer)
{
	return model_stage_tensor(r->s, (size_t)layer);
}

static const struct model_layer *L(const struct run *r, int layer)
{
	return model_graph_layer(r->g, (size_t)layer);
}

static const float *W(const struct run *r, int layer, int t)
{
	return model_weights_tensor_const(r->w, (size_t)layer, t);
}

static void compare(const char *what, const float *got, const float *want, int64_t n)
{
	int bad = 0;

	if (!got) {
		fprintf(stderr, "%s: no tensor\n", what);
		check_failures++;
		return;
	}
	for (int64_t i = 0; i < n; i++)
		if (!(fabs((double)got[i] - want[i]) <= TOL * fmax(1.0, fabs(want[i])))) {
			if (bad++ < 3)
				fprintf(stderr, "%s[%" PRId64 "] = %.9g, expected %.9g\n", what, i,
					got[i], want[i]);
		}
	if (bad)
		check_failures++;
}

/* TensorFlow's padding (tf.nn convolution docs): out = ceil(in / s) for SAME; pad_total =
 * max((out - 1) * s + (k - 1) * d + 1 - in, 0), pad_before = pad_total / 2. */
static int64_t pad_before(int64_t in, int64_t out, int k, int s, int d, bool same)
{
	int64_t total = (out - 1) * s + (int64_t)(k - 1) * d + 1 - in;

	return same && total > 0 ? total / 2 : 0;
}

/*
 * Keras Conv2D / DepthwiseConv2D: out[y][x][f] = bias[f] + sum over window and the group's
 * input channels of in[y*s+i*d-pt][x*s+j*d-pl][ci] * k[i][j][ci'][f'].
 * `depthwise`: kernel [kh][kw][C][dm], output channel c*dm+m reads channel c.
 */
static void ref_conv(const struct model_layer *l, const struct model_layer *x, const float *in,
		     const float *k, const float *bias, bool depthwise, int64_t dm, float *out)
{
	int64_t H = x->shape[0], Wd = x->shape[1], C = x->shape[2];
	int64_t OH = l->shape[0], OW = l->shape[1], F = l->shape[2];
	int kh = l->attrs.kernel[0], kw = l->attrs.kernel[1];
	int sh = l->attrs.strides[0], sw = l->attrs.strides[1];
	int dh = l->attrs.dilation[0] > 0 ? l->attrs.dilation[0] : 1;
	int dw = l->attrs.dilation[1] > 0 ? l->attrs.dilation[1] : 1;
	int64_t groups = depthwise ? C : (l->attrs.groups > 1 ? l->attrs.groups : 1);
	int64_t cg = C / groups, fg = F / groups;
	bool same = l->attrs.padding == MODEL_PAD_SAME;
	int64_t pt = pad_before(H, OH, kh, sh, dh, same), pl = pad_before(Wd, OW, kw, sw, dw, same);

	for (int64_t y = 0; y < OH; y++)
		for (int64_t xx = 0; xx < OW; xx++)
			for (int64_t f = 0; f < F; f++) {
				double acc = bias ? bias[f] : 0.0;
				int64_t gidx = depthwise ? f / dm : f / fg;

				for (int i = 0; i < kh; i++)
					for (int j = 0; j < kw; j++) {
						int64_t iy = y * sh + i * dh - pt, ix = xx * sw + j * dw - pl;

						if (iy < 0 || iy >= H || ix < 0 || ix >= Wd)
							continue;
						const float *p = in + (iy * Wd + ix) * C;

						if (depthwise) {
							acc += (double)p[gidx] *
							       k[((i * kw + j) * C + gidx) * dm + f % dm];
							continue;
						}
						for (int64_t c = 0; c < cg; c++)
							acc += (double)p[gidx * cg + c] *
							       k[((i * kw + j) * cg + c) * F + f];
					}
				out[(y * OW + xx) * F + f] = (float)acc;
			}
}

static float act(enum model_activation a, float v)
{
	switch (a) {
	case MODEL_ACT_RELU:
		return v > 0 ? v : 0;
	case MODEL_ACT_RELU6:
		return v < 0 ? 0 : v > 6 ? 6 : v;
	case MODEL_ACT_SIGMOID:
		return (float)(1.0 / (1.0 + exp(-(double)v)));
	case MODEL_ACT_SWISH:
		return (float)(v / (1.0 + exp(-(double)v)));
	case MODEL_ACT_TANH:
		return (float)tanh(v);
	case MODEL_ACT_HARD_SIGMOID: /* Keras 3: relu6(x + 3) / 6 */
		return (float)(fmin(fmax(v + 3.0, 0.0), 6.0) / 6.0);
	case MODEL_ACT_HARD_SWISH: /* Keras 3: x * relu6(x + 3) / 6 */
		return (float)(v * fmin(fmax(v + 3.0, 0.0), 6.0) / 6.0);
	default:
		return v;
	}
}

static void ref_softmax(const float *in, float *out, int64_t n, int64_t c)
{
	for (int64_t r = 0; r < n; r += c) {
		double m = in[r], sum = 0;

		for (int64_t k = 0; k < c; k++)
			m = fmax(m, in[r + k]);
		for (int64_t k = 0; k < c; k++)
			sum += exp(in[r + k] - m);
		for (int64_t k = 0; k < c; k++)
			out[r + k] = (float)(exp(in[r + k] - m) / sum);
	}
}

static void ref_act(const struct model_layer *l, enum model_activation a, const float *in,
		    float *out)
{
	int64_t n = model_layer_elements(l);

	if (a == MODEL_ACT_SOFTMAX) {
		ref_softmax(in, out, n, l->shape[l->rank - 1]);
		return;
	}
	for (int64_t i = 0; i < n; i++)
		out[i] = act(a, in[i]);
}

/* Keras pooling: max over the window's pixels inside the image; average divided by the
 * number of pixels inside the image (TensorFlow's avg_pool excludes the padding). */
static void ref_pool(const struct model_layer *l, const struct model_layer *x, const float *in,
		     float *out)
{
	int64_t H = x->shape[0], Wd = x->shape[1], C = x->shape[2];
	int kh = l->attrs.kernel[0], kw = l->attrs.kernel[1];
	int sh = l->attrs.strides[0], sw = l->attrs.strides[1];
	bool same = l->attrs.padding == MODEL_PAD_SAME;
	int64_t pt = pad_before(H, l->shape[0], kh, sh, 1, same);
	int64_t pl = pad_before(Wd, l->shape[1], kw, sw, 1, same);

	for (int64_t y = 0; y < l->shape[0]; y++)
		for (int64_t xx = 0; xx < l->shape[1]; xx++)
			for (int64_t c = 0; c < C; c++) {
				double acc = l->op == MODEL_OP_MAX_POOL2D ? -INFINITY : 0;
				int count = 0;

				for (int i = 0; i < kh; i++)
					for (int j = 0; j < kw; j++) {
						int64_t iy = y * sh + i - pt, ix = xx * sw + j - pl;

						if (iy < 0 || iy >= H || ix < 0 || ix >= Wd)
							continue;
						double v = in[(iy * Wd + ix) * C + c];

						acc = l->op == MODEL_OP_MAX_POOL2D ? fmax(acc, v) : acc + v;
						count++;
					}
				out[(y * l->shape[1] + xx) * C + c] =
					(float)(l->op == MODEL_OP_MAX_POOL2D ? acc : acc / count);
			}
}

/* BatchNormalization from its weights: gamma (x - mean) / sqrt(var + eps) + beta. */
static void ref_bn(const struct run *r, int layer, const float *in, float *out)
{
	const struct model_layer *l = L(r, layer);
	int64_t n = model_layer_elements(l), c = l->shape[l->rank - 1];
	int t = 0;
	const float *gamma = l->attrs.scale ? W(r, layer, t++) : NULL;
	const float *beta = l->attrs.center ? W(r, layer, t++) : NULL;
	const float *mean = W(r, layer, t++), *var = W(r, layer, t++);

	for (int64_t i = 0; i < n; i++) {
		int64_t k = i % c;

		out[i] = (float)((gamma ? gamma[k] : 1.0) * (in[i] - mean[k]) /
				 sqrt((double)var[k] + 0.001) + (beta ? beta[k] : 0.0));
	}
}

static float *scratch(const struct model_layer *l)
{
	return calloc((size_t)model_layer_elements(l), sizeof(float));
}

/* ---- Hand-derived cases -------------------------------------------------------------------- */

static void ones(struct model_weights *w)
{
	float *k = model_weights_tensor(w, 1, 0);

	for (int64_t i = 0; i < model_weights_tensor_elements(w, 1, 0); i++)
		k[i] = 1.0f;
}

static void test_same_padding_by_hand(void)
{
	struct run r;
	struct model_graph *g = model_graph_create("hand");
	struct ep_error err;
	float in[16], out[4];

	/* 4x4 input of ones, 3x3 kernel of ones, stride 2, SAME: out = ceil(4/2) = 2, total pad
	 * = (2-1)*2 + 3 - 4 = 1, all of it at the bottom/right. So out[0][0] sums rows 0..2 and
	 * columns 0..2 (9 ones), out[0][1] columns 2..3 (6), out[1][0] rows 2..3 (6), out[1][1]
	 * 4. Symmetric padding (one on top) would give 4 at out[0][0]. */
	model_add_input(g, "in", 4, 4, 1);
	model_add_conv2d(g, "conv", 0, 1, 3, 3, 2, MODEL_PAD_SAME, false, MODEL_ACT_LINEAR);
	if (run_graph(&r, g, 1, true, ones)) {
		check_failures++;
		return;
	}
	for (int i = 0; i < 16; i++)
		in[i] = 1.0f;
	CHECK(model_stage_run(r.s, in, out, &err) == EP_OK);
	CHECK_NEAR(out[0], 9, 1e-6);
	CHECK_NEAR(out[1], 6, 1e-6);
	CHECK_NEAR(out[2], 6, 1e-6);
	CHECK_NEAR(out[3], 4, 1e-6);
	run_free(&r);

	/* AveragePooling2D 3x3, stride 2, SAME on in[y][x] = 4y + x: the same padding; out[1][1]
	 * averages the pixels inside the image, rows 2..3 x columns 2..3: (10 + 11 + 14 + 15) / 4
	 * = 12.5 (dividing by the 9-pixel window would give 50/9); out[0][0] averages rows and
	 * columns 0..2: (0+1+2+4+5+6+8+9+10) / 9 = 5. */
	g = model_graph_create("hand2");
	model_add_input(g, "in", 4, 4, 1);
	model_add_pool(g, "pool", MODEL_OP_AVG_POOL2D, 0, 3, 2, MODEL_PAD_SAME);
	if (run_graph(&r, g, 1, true, NULL)) {
		check_failures++;
		return;
	}
	for (int i = 0; i < 16; i++)
		in[i] = (float)i;
	CHECK(model_stage_run(r.s, in, out, &err) == EP_OK);
	CHECK_NEAR(out[0], 5, 1e-6);
	CHECK_NEAR(out[3], 12.5, 1e-6);
	run_free(&r);
}

/* ---- Convolutions ------------------------------------------------------------------------- */

static void check_conv_layer(const struct run *r, int layer)
{
	const struct model_layer *l = L(r, layer), *x = L(r, l->inputs[0]);
	float *want = scratch(l);
	int64_t n = model_layer_elements(l);
	char what[128];

	if (l->op == MODEL_OP_CONV2D) {
		ref_conv(l, x, T(r, l->inputs[0]), W(r, layer, 0),
			 l->attrs.use_bias ? W(r, layer, 1) : NULL, false, 1, want);
	} else if (l->op == MODEL_OP_DEPTHWISE_CONV2D) {
		ref_conv(l, x, T(r, l->inputs[0]), W(r, layer, 0),
			 l->attrs.use_bias ? W(r, layer, 1) : NULL, true,
			 l->attrs.depth_multiplier, want);
	} else { /* separable: depthwise (no bias) then a 1x1 convolution */
		struct model_layer dl = *l, pl = *l;
		int64_t mid = x->shape[2];
		float *tmp = calloc((size_t)(l->shape[0] * l->shape[1] * mid), sizeof(float));

		dl.shape[2] = mid;
		ref_conv(&dl, x, T(r, l->inputs[0]), W(r, layer, 0), NULL, true, 1, tmp);
		pl.attrs.kernel[0] = pl.attrs.kernel[1] = 1;
		pl.attrs.strides[0] = pl.attrs.strides[1] = 1;
		pl.attrs.padding = MODEL_PAD_VALID;
		ref_conv(&pl, &dl, tmp, W(r, layer, 1), l->attrs.use_bias ? W(r, layer, 2) : NULL,
			 false, 1, want);
		free(tmp);
	}
	for (int64_t i = 0; i < n; i++)
		want[i] = act(l->attrs.activation, want[i]);
	if (l->attrs.activation == MODEL_ACT_SOFTMAX)
		ref_softmax(want, want, n, l->shape[2]);
	snprintf(what, sizeof(what), "%s (%s)", l->name, l->op_name);
	compare(what, T(r, layer), want, n);
	free(want);
}

static void test_convolutions(void)
{
	struct run r;
	struct model_graph *g = model_graph_create("conv");
	struct model_attrs grouped = {
		.filters = 6, .kernel = { 3, 2 }, .strides = { 2, 1 }, .dilation = { 1, 1 },
		.groups = 2, .padding = MODEL_PAD_SAME, .activation = MODEL_ACT_RELU,
		.use_bias = true,
	};
	struct model_attrs dilated = {
		.filters = 5, .kernel = { 3, 3 }, .strides = { 1, 1 }, .dilation = { 2, 2 },
		.groups = 1, .padding = MODEL_PAD_SAME, .activation = MODEL_ACT_SWISH,
		.use_bias = true,
	};
	int in, a, b, c, d, e, f;

	in = model_add_input(g, "in", 7, 9, 4);
	a = model_add_conv2d_ex(g, "grouped", in, &grouped);                      /* 4x9x6 */
	b = model_add_conv2d_ex(g, "dilated", a, &dilated);                       /* 4x9x5 */
	c = model_add_depthwise(g, "dw", b, 3, 3, 2, MODEL_PAD_SAME, 2, true);    /* 2x5x10 */
	d = model_add_separable(g, "sep", c, 7, 3, 3, 1, MODEL_PAD_SAME, true);   /* 2x5x7 */
	e = model_add_conv2d(g, "valid", d, 3, 2, 3, 1, MODEL_PAD_VALID, false,
			     MODEL_ACT_RELU6);                                    /* 1x3x3 */
	f = model_add_separable(g, "sep_s2", a, 4, 3, 3, 2, MODEL_PAD_VALID, false);
	model_add_conv2d(g, "tail", e, 2, 1, 1, 1, MODEL_PAD_VALID, true, MODEL_ACT_SIGMOID);
	/* sep_s2 dangles: make the output the last layer by concatenating both paths' vectors */
	{
		int fl1 = model_add_flatten(g, NULL, (int)model_graph_layer_count(g) - 1);
		int fl2 = model_add_flatten(g, NULL, f);
		int xs[2] = { fl1, fl2 };

		model_add_concat(g, "cat", xs, 2);
	}
	if (run_graph(&r, g, 11, true, NULL)) {
		check_failures++;
		return;
	}
	for (int i = 1; i < (int)model_graph_layer_count(r.g); i++)
		if (L(&r, i)->op == MODEL_OP_CONV2D || L(&r, i)->op == MODEL_OP_DEPTHWISE_CONV2D ||
		    L(&r, i)->op == MODEL_OP_SEPARABLE_CONV2D) {
			check_conv_layer(&r, i);
			CHECK_STR(model_exec_kernel_name(model_stage_layer_kernel(r.s, (size_t)i)),
				  "xnnpack");
		}
	run_free(&r);
}

/* Conv2D -> BatchNormalization folded, and the same with folding off; BN after the input
 * (not foldable) runs plainly. */
static void test_batch_norm(void)
{
	for (int fold = 0; fold < 2; fold++) {
		struct run r;
		struct model_graph *g = model_graph_create("bn");
		int in = model_add_input(g, "in", 5, 5, 3);
		int bn0 = model_add_batch_norm(g, "bn0", in, true, true);
		int cv = model_add_conv2d(g, "conv", bn0, 4, 3, 3, 1, MODEL_PAD_SAME, false,
					  MODEL_ACT_LINEAR);
		int bn1 = model_add_batch_norm(g, "bn1", cv, false, true); /* no beta */
		int dw = model_add_depthwise(g, "dw", bn1, 3, 3, 1, MODEL_PAD_SAME, 1, false);
		int bn2 = model_add_batch_norm(g, "bn2", dw, true, false); /* no gamma */
		float *conv_out, *want;

		if (run_graph(&r, g, 5, fold, NULL)) {
			check_failures++;
			return;
		}
		want = scratch(L(&r, bn0));
		ref_bn(&r, bn0, T(&r, in), want);
		compare("bn0", T(&r, bn0), want, model_layer_elements(L(&r, bn0)));
		free(want);
		CHECK_STR(model_exec_kernel_name(model_stage_layer_kernel(r.s, (size_t)bn0)),
			  "plain");
		conv_out = scratch(L(&r, cv));
		ref_conv(L(&r, cv), L(&r, bn0), T(&r, bn0), W(&r, cv, 0), NULL, false, 1, conv_out);
		want = scratch(L(&r, bn1));
		ref_bn(&r, bn1, conv_out, want);
		compare(fold ? "conv+bn1 folded" : "bn1", T(&r, bn1), want,
			model_layer_elements(L(&r, bn1)));
		CHECK_STR(model_exec_kernel_name(model_stage_layer_kernel(r.s, (size_t)bn1)),
			  fold ? "folded" : "plain");
		/* a folded convolution's own output does not exist */
		CHECK(fold ? T(&r, cv) == NULL : T(&r, cv) != NULL);
		free(conv_out);
		free(want);
		conv_out = scratch(L(&r, dw));
		ref_conv(L(&r, dw), L(&r, bn1), T(&r, bn1), W(&r, dw, 0), NULL, true, 1, conv_out);
		want = scratch(L(&r, bn2));
		ref_bn(&r, bn2, conv_out, want);
		compare("dw+bn2", T(&r, bn2), want, model_layer_elements(L(&r, bn2)));
		free(conv_out);
		free(want);
		run_free(&r);
	}
}

/* ---- Activations, pooling, element-wise, shape ops, Dense ------------------------------------ */

static void test_activations(void)
{
	struct run r;
	struct model_graph *g = model_graph_create("act");
	static const enum model_activation acts[] = { MODEL_ACT_RELU, MODEL_ACT_RELU6,
						      MODEL_ACT_SIGMOID, MODEL_ACT_SWISH,
						      MODEL_ACT_TANH, MODEL_ACT_SOFTMAX,
						      MODEL_ACT_HARD_SIGMOID,
						      MODEL_ACT_HARD_SWISH };
	int in = model_add_input(g, "in", 3, 4, 5);
	int scaled = model_add_rescaling(g, "x8", in, 8.0); /* values in [-8, 8) */
	int layers[12], n = 0;

	for (size_t k = 0; k < sizeof(acts) / sizeof(acts[0]); k++)
		layers[n++] = model_add_activation(g, NULL, scaled, acts[k]);
	layers[n++] = model_add_relu(g, "relu_cap", scaled, 4.0);
	layers[n++] = model_add_relu(g, "relu_plain", scaled, 0.0);
	layers[n++] = model_add_leaky_relu(g, "leaky", scaled, 0.1);
	/* join everything into one output */
	model_add_add(g, "sum", layers, n);
	if (run_graph(&r, g, 3, true, NULL)) {
		check_failures++;
		return;
	}
	for (int k = 0; k < n; k++) {
		const struct model_layer *l = L(&r, layers[k]);
		float *want = scratch(l);
		int64_t m = model_layer_elements(l);

		if (l->op == MODEL_OP_RELU) {
			for (int64_t i = 0; i < m; i++) {
				float v = T(&r, scaled)[i];

				/* Keras ReLU: negative_slope * x below 0, capped at max_value */
				want[i] = v < 0 ? (float)(l->attrs.negative_slope * v)
					  : (l->attrs.max_value > 0 && v > 4 ? 4 : v);
			}
		} else {
			ref_act(l, l->attrs.activation, T(&r, scaled), want);
		}
		compare(l->name, T(&r, layers[k]), want, m);
		free(want);
	}
	{
		const struct model_layer *l = L(&r, (int)model_graph_layer_count(r.g) - 1);
		float *want = scratch(l);

		for (int64_t i = 0; i < model_layer_elements(l); i++)
			for (int k = 0; k < n; k++)
				want[i] += T(&r, layers[k])[i];
		compare("add of 11", r.out, want, model_layer_elements(l));
		free(want);
	}
	run_free(&r);
}

static void test_pooling_and_elementwise(void)
{
	struct run r;
	struct model_graph *g = model_graph_create("pool");
	int in = model_add_input(g, "in", 7, 6, 3);
	int mx = model_add_pool(g, "max_same", MODEL_OP_MAX_POOL2D, in, 3, 2, MODEL_PAD_SAME);
	int mv = model_add_pool(g, "max_valid", MODEL_OP_MAX_POOL2D, in, 2, 2, MODEL_PAD_VALID);
	int av = model_add_pool(g, "avg_valid", MODEL_OP_AVG_POOL2D, in, 2, 2, MODEL_PAD_VALID);
	int as = model_add_pool(g, "avg_same", MODEL_OP_AVG_POOL2D, in, 3, 1, MODEL_PAD_SAME);
	int gap = model_add_global_avg_pool(g, "gap", in, true);        /* 1x1x3 */
	int mul = model_add_multiply(g, "se", in, gap);                 /* broadcast */
	int pad = model_add_zero_pad(g, "pad", mul, 1, 2, 3, 0);        /* 10x9x3 */
	int lam = model_add_scale_sum(g, "lam", in, as, 0.17);
	int xs3[3] = { mv, av, mv };
	int add3 = model_add_add(g, "add3", xs3, 3);                    /* 3x3x3 */
	int xs2[2] = { mv, add3 };
	int add2 = model_add_add(g, "add2", xs2, 2);
	int f1 = model_add_flatten(g, "f1", pad), f2 = model_add_flatten(g, "f2", lam);
	int f3 = model_add_flatten(g, "f3", add2);
	int cat_in[3] = { f1, f2, f3 };
	int cat = model_add_concat(g, "cat", cat_in, 3);
	float *want;

	if (run_graph(&r, g, 7, true, NULL)) {
		check_failures++;
		return;
	}
	CHECK_INT(L(&r, mx)->shape[0], 4); /* ceil(7 / 2) */
	for (int k = 0; k < 4; k++) {
		int p = (int[]){ mx, mv, av, as }[k];

		want = scratch(L(&r, p));
		ref_pool(L(&r, p), L(&r, in), T(&r, in), want);
		compare(L(&r, p)->name, T(&r, p), want, model_layer_elements(L(&r, p)));
		free(want);
	}
	CHECK_STR(model_exec_kernel_name(model_stage_layer_kernel(r.s, (size_t)as)), "plain");
	CHECK_STR(model_exec_kernel_name(model_stage_layer_kernel(r.s, (size_t)av)), "xnnpack");
	/* GAP, Multiply broadcast */
	want = scratch(L(&r, gap));
	for (int64_t i = 0; i < 42; i++)
		for (int c = 0; c < 3; c++)
			want[c] += T(&r, in)[i * 3 + c] / 42.0f;
	compare("gap", T(&r, gap), want, 3);
	free(want);
	want = scratch(L(&r, mul));
	for (int64_t i = 0; i < 126; i++)
		want[i] = T(&r, in)[i] * T(&r, gap)[i % 3];
	compare("se multiply", T(&r, mul), want, 126);
	free(want);
	/* ZeroPadding2D: top 1, bottom 2, left 3, right 0 */
	want = scratch(L(&r, pad));
	for (int y = 0; y < 7; y++)
		for (int x = 0; x < 6; x++)
			for (int c = 0; c < 3; c++)
				want[((y + 1) * 9 + x + 3) * 3 + c] = T(&r, mul)[(y * 6 + x) * 3 + c];
	compare("pad", T(&r, pad), want, 270);
	free(want);
	/* Lambda, Add of 3 and of 2 */
	want = scratch(L(&r, lam));
	for (int64_t i = 0; i < 126; i++)
		want[i] = T(&r, in)[i] + T(&r, as)[i] * 0.17f;
	compare("lambda", T(&r, lam), want, 126);
	free(want);
	want = scratch(L(&r, add2));
	for (int64_t i = 0; i < 27; i++)
		want[i] = 3 * T(&r, mv)[i] + T(&r, av)[i];
	compare("add3 + add2", T(&r, add2), want, 27);
	free(want);
	/* Flatten aliases; Concatenate of vectors */
	CHECK(T(&r, f1) == T(&r, pad));
	CHECK_STR(model_exec_kernel_name(model_stage_layer_kernel(r.s, (size_t)f1)), "alias");
	want = scratch(L(&r, cat));
	memcpy(want, T(&r, pad), 270 * sizeof(float));
	memcpy(want + 270, T(&r, lam), 126 * sizeof(float));
	memcpy(want + 396, T(&r, add2), 27 * sizeof(float));
	compare("concat", T(&r, cat), want, 423);
	free(want);
	run_free(&r);
}

static void test_dense_and_shapes(void)
{
	struct run r;
	struct model_graph *g = model_graph_create("dense");
	int in = model_add_input(g, "in", 3, 2, 4);
	int norm = model_add_normalization(g, "norm", in);
	int c1 = model_add_conv2d(g, "c1", norm, 3, 1, 1, 1, MODEL_PAD_VALID, true,
				  MODEL_ACT_LINEAR);
	int c2 = model_add_conv2d(g, "c2", norm, 2, 1, 1, 1, MODEL_PAD_VALID, true,
				  MODEL_ACT_LINEAR);
	int xs[2] = { c1, c2 };
	int cat = model_add_concat(g, "cat", xs, 2);                 /* 3x2x5, channels joined */
	int64_t dims[1] = { 30 };
	int rs = model_add_reshape(g, "rs", cat, 1, dims);
	int dr = model_add_dropout(g, "drop", rs);
	int d1 = model_add_dense(g, "d1", dr, 8, true, MODEL_ACT_HARD_SWISH);
	int d2 = model_add_dense(g, "d2", d1, 5, true, MODEL_ACT_SOFTMAX);
	float *want;

	if (run_graph(&r, g, 9, true, NULL)) {
		check_failures++;
		return;
	}
	/* Normalization: (x - mean) / sqrt(variance) */
	want = scratch(L(&r, norm));
	for (int64_t i = 0; i < 24; i++)
		want[i] = (T(&r, in)[i] - W(&r, norm, 0)[i % 4]) / sqrtf(W(&r, norm, 1)[i % 4]);
	compare("normalization", T(&r, norm), want, 24);
	free(want);
	/* Concatenate on channels: pixel p holds c1's 3 then c2's 2 */
	want = scratch(L(&r, cat));
	for (int p = 0; p < 6; p++) {
		memcpy(want + p * 5, T(&r, c1) + p * 3, 3 * sizeof(float));
		memcpy(want + p * 5 + 3, T(&r, c2) + p * 2, 2 * sizeof(float));
	}
	compare("concat channels", T(&r, cat), want, 30);
	free(want);
	/* Dense: Keras kernel [in][units]: y[u] = b[u] + sum_i x[i] k[i][u] */
	for (int k = 0; k < 2; k++) {
		int d = k ? d2 : d1, x = k ? d1 : dr;
		int64_t ni = model_layer_elements(L(&r, x)), nu = L(&r, d)->attrs.units;

		want = scratch(L(&r, d));
		for (int64_t u = 0; u < nu; u++) {
			double acc = W(&r, d, 1)[u];

			for (int64_t i = 0; i < ni; i++)
				acc += (double)T(&r, x)[i] * W(&r, d, 0)[i * nu + u];
			want[u] = k ? (float)acc : act(MODEL_ACT_HARD_SWISH, (float)acc);
		}
		if (k)
			ref_softmax(want, want, nu, nu);
		compare(k ? "dense softmax" : "dense hard_swish", T(&r, d), want, nu);
		free(want);
	}
	run_free(&r);
}

/* ---- Errors ------------------------------------------------------------------------------- */

static void test_errors(void)
{
	struct model_graph *g = model_graph_create("bad");
	struct model_layer l;
	struct model_weights *w = NULL;
	struct model_stage *s = NULL;
	struct ep_error err;
	struct model_exec_options o = MODEL_EXEC_OPTIONS_DEFAULT;

	model_add_input(g, "in", 4, 4, 2);
	memset(&l, 0, sizeof(l));
	strcpy(l.name, "warp");
	strcpy(l.op_name, "Conv3D");
	l.n_inputs = 1;
	l.inputs[0] = 0;
	l.rank = 3;
	l.shape[0] = 4;
	l.shape[1] = 4;
	l.shape[2] = 2;
	l.dtype = MODEL_DTYPE_FLOAT32;
	CHECK(model_graph_add_layer(g, &l, &err) == 1);
	model_add_relu(g, "r", 1, 0);
	CHECK(model_weights_create(g, &w, &err) == EP_OK);
	CHECK_INT(model_stage_create(w, 0, 2, NULL, &s, &err), EP_EINVAL);
	CHECK(s == NULL);
	CHECK_CONTAINS(err.msg, "warp");
	CHECK_CONTAINS(err.msg, "Conv3D");
	/* from the ReLU alone works: the unknown layer is outside */
	CHECK_INT(model_stage_create(w, 1, 2, NULL, &s, &err), EP_OK);
	model_stage_destroy(s);
	s = NULL;
	CHECK_INT(model_stage_create(w, 2, 1, NULL, &s, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "before the last");
	CHECK_INT(model_stage_create(w, 0, 3, NULL, &s, &err), EP_EINVAL);
	o.threads = MODEL_EXEC_MAX_THREADS + 1;
	CHECK_INT(model_stage_create(w, 1, 2, &o, &s, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "threads 257");
	model_weights_destroy(w);
	model_graph_destroy(g);

	/* a stage that does not start at a cut point: the layer reading around it is named */
	g = model_graph_create("skip");
	model_add_input(g, "in", 4, 4, 2);
	model_add_relu(g, "a", 0, 0);
	model_add_add(g, "b", (int[]){ 0, 1 }, 2);
	CHECK(model_weights_create(g, &w, &err) == EP_OK);
	CHECK_INT(model_stage_create(w, 1, 2, NULL, &s, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "layer 'b' reads 'in'");
	model_weights_destroy(w);
	model_graph_destroy(g);
}

int main(void)
{
	test_same_padding_by_hand();
	test_convolutions();
	test_batch_norm();
	test_activations();
	test_pooling_and_elementwise();
	test_dense_and_shapes();
	test_errors();
	return check_exit();
}
