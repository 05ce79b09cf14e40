/*
 * The layer graph's builders (model_add_*, model_graph.h's "Builder helpers"): each infers the
 * output shape, counts the parameters and FLOPs and appends through model_graph_add_layer.
 */
#include "model_graph.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_graph_internal.h"

/* ---- builder helpers ------------------------------------------------------------------- */

/* Record the first builder error; later ones are consequences and are dropped. */
static int fail(struct model_graph *g, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct model_graph *g, int code, const char *fmt, ...)
{
	va_list ap;

	if (g->err.code)
		return -1;
	g->err.code = code;
	va_start(ap, fmt);
	vsnprintf(g->err.msg, sizeof(g->err.msg), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Start a layer of `op` reading `xs`: the name (given or generated the Keras way) and the
 * inputs. Returns false (with the graph's error set) if a previous step failed or an input
 * index is bad.
 */
static bool layer_begin(struct model_graph *g, struct model_layer *l, enum model_op op,
			const char *name, const int *xs, int n)
{
	memset(l, 0, sizeof(*l));
	if (g->err.code)
		return false;
	if (n > MODEL_MAX_INPUTS) {
		fail(g, EP_EINVAL, "%s: %d inputs (at most %d)", name ? name : model_op_name(op),
		     n, MODEL_MAX_INPUTS);
		return false;
	}
	for (int i = 0; i < n; i++) {
		if (xs[i] < 0 || (size_t)xs[i] >= g->n) {
			fail(g, EP_EINVAL, "%s: input %d is not a layer of the graph",
			     name ? name : model_op_name(op), i);
			return false;
		}
		l->inputs[i] = xs[i];
	}
	l->n_inputs = n;
	l->op = op;
	snprintf(l->op_name, sizeof(l->op_name), "%s", model_op_name(op));
	l->dtype = MODEL_DTYPE_FLOAT32;
	if (name) {
		snprintf(l->name, sizeof(l->name), "%s", name);
	} else if (op == MODEL_OP_INPUT) {
		/* Keras numbers inputs from 1 (zero_based=False). */
		snprintf(l->name, sizeof(l->name), "input_%d", ++g->auto_count[op]);
	} else {
		int k = g->auto_count[op]++;

		if (k == 0)
			snprintf(l->name, sizeof(l->name), "%s", model_op_snake_name(op));
		else
			snprintf(l->name, sizeof(l->name), "%s_%d", model_op_snake_name(op), k);
	}
	return true;
}

static const struct model_layer *in(const struct model_graph *g, const struct model_layer *l,
				    int i)
{
	return &g->layers[l->inputs[i]];
}

static int layer_end(struct model_graph *g, const struct model_layer *l)
{
	struct ep_error e;
	int rc = model_graph_add_layer(g, l, &e);

	return rc < 0 ? fail(g, rc, "%s", e.msg) : rc;
}

static void copy_shape(struct model_layer *l, const struct model_layer *src)
{
	l->rank = src->rank;
	memcpy(l->shape, src->shape, sizeof(l->shape));
}

/* Keras's conv_utils.conv_output_length; -1 if the window does not fit. */
static int64_t out_length(int64_t n, int k, int stride, int dilation, enum model_padding p)
{
	int64_t eff = (int64_t)(k - 1) * dilation + 1;

	if (p == MODEL_PAD_SAME)
		return (n + stride - 1) / stride;
	return n >= eff ? (n - eff) / stride + 1 : -1;
}

/* Spatial output of a windowed op (conv or pool) into l->shape[0..1]; false on error. */
static bool window_shape(struct model_graph *g, struct model_layer *l,
			 const struct model_layer *x)
{
	const struct model_attrs *a = &l->attrs;

	if (x->rank != 3) {
		fail(g, EP_EINVAL, "%s: input '%s' has rank %d, an image (H, W, C) is needed",
		     l->name, x->name, x->rank);
		return false;
	}
	for (int i = 0; i < 2; i++) {
		if (a->kernel[i] < 1 || a->strides[i] < 1 || a->dilation[i] < 1) {
			fail(g, EP_EINVAL, "%s: kernel, strides and dilation must be positive",
			     l->name);
			return false;
		}
		l->shape[i] = out_length(x->shape[i], a->kernel[i], a->strides[i], a->dilation[i],
					 a->padding);
		if (l->shape[i] < 1) {
			fail(g, EP_EINVAL, "%s: window %d does not fit input '%s' of size %" PRId64,
			     l->name, a->kernel[i], x->name, x->shape[i]);
			return false;
		}
	}
	l->rank = 3;
	return true;
}

static int64_t act_flops(enum model_activation act, int64_t elements)
{
	return act == MODEL_ACT_LINEAR ? 0 : elements;
}

int model_add_input(struct model_graph *g, const char *name, int64_t h, int64_t w, int64_t c)
{
	struct model_layer l;

	if (!layer_begin(g, &l, MODEL_OP_INPUT, name, NULL, 0))
		return -1;
	l.rank = 3;
	l.shape[0] = h;
	l.shape[1] = w;
	l.shape[2] = c;
	return layer_end(g, &l);
}

int model_add_conv2d_ex(struct model_graph *g, const char *name, int x,
			const struct model_attrs *attrs)
{
	struct model_layer l;
	const struct model_layer *xi;
	int64_t cin, groups, out;

	if (!layer_begin(g, &l, MODEL_OP_CONV2D, name, &x, 1))
		return -1;
	l.attrs = *attrs;
	if (l.attrs.groups < 1)
		l.attrs.groups = 1;
	xi = in(g, &l, 0);
	if (!window_shape(g, &l, xi))
		return -1;
	cin = xi->shape[2];
	groups = l.attrs.groups;
	if (l.attrs.filters < 1 || cin % groups || l.attrs.filters % groups)
		return fail(g, EP_EINVAL, "%s: %d filters, %" PRId64 " channels, %" PRId64
			    " groups do not divide", l.name, l.attrs.filters, cin, groups);
	l.shape[2] = l.attrs.filters;
	out = l.shape[0] * l.shape[1] * l.shape[2];
	l.params_trainable = (int64_t)l.attrs.kernel[0] * l.attrs.kernel[1] * (cin / groups) *
			     l.attrs.filters + (l.attrs.use_bias ? l.attrs.filters : 0);
	l.flops = 2 * out * l.attrs.kernel[0] * l.attrs.kernel[1] * (cin / groups) +
		  (l.attrs.use_bias ? out : 0) + act_flops(l.attrs.activation, out);
	return layer_end(g, &l);
}

int model_add_conv2d(struct model_graph *g, const char *name, int x, int filters, int kh, int kw,
		     int stride, enum model_padding padding, bool use_bias,
		     enum model_activation act)
{
	struct model_attrs a = {
		.filters = filters,
		.kernel = { kh, kw },
		.strides = { stride, stride },
		.dilation = { 1, 1 },
		.groups = 1,
		.padding = padding,
		.activation = act,
		.use_bias = use_bias,
	};

	return model_add_conv2d_ex(g, name, x, &a);
}

int model_add_depthwise(struct model_graph *g, const char *name, int x, int kh, int kw,
			int stride, enum model_padding padding, int depth_multiplier,
			bool use_bias)
{
	struct model_layer l;
	const struct model_layer *xi;
	int64_t out;

	if (!layer_begin(g, &l, MODEL_OP_DEPTHWISE_CONV2D, name, &x, 1))
		return -1;
	l.attrs = (struct model_attrs){
		.kernel = { kh, kw },
		.strides = { stride, stride },
		.dilation = { 1, 1 },
		.depth_multiplier = depth_multiplier,
		.padding = padding,
		.use_bias = use_bias,
	};
	xi = in(g, &l, 0);
	if (!window_shape(g, &l, xi))
		return -1;
	if (depth_multiplier < 1)
		return fail(g, EP_EINVAL, "%s: depth_multiplier %d", l.name, depth_multiplier);
	l.shape[2] = xi->shape[2] * depth_multiplier;
	out = l.shape[0] * l.shape[1] * l.shape[2];
	l.params_trainable = (int64_t)kh * kw * l.shape[2] + (use_bias ? l.shape[2] : 0);
	l.flops = 2 * out * kh * kw + (use_bias ? out : 0);
	return layer_end(g, &l);
}

int model_add_separable(struct model_graph *g, const char *name, int x, int filters, int kh,
			int kw, int stride, enum model_padding padding, bool use_bias)
{
	struct model_layer l;
	const struct model_layer *xi;
	int64_t cin, mid, out, positions;

	if (!layer_begin(g, &l, MODEL_OP_SEPARABLE_CONV2D, name, &x, 1))
		return -1;
	l.attrs = (struct model_attrs){
		.filters = filters,
		.kernel = { kh, kw },
		.strides = { stride, stride },
		.dilation = { 1, 1 },
		.depth_multiplier = 1,
		.padding = padding,
		.use_bias = use_bias,
	};
	xi = in(g, &l, 0);
	if (!window_shape(g, &l, xi))
		return -1;
	if (filters < 1)
		return fail(g, EP_EINVAL, "%s: %d filters", l.name, filters);
	cin = xi->shape[2];
	mid = cin; /* depth_multiplier 1 */
	l.shape[2] = filters;
	positions = l.shape[0] * l.shape[1];
	out = positions * filters;
	l.params_trainable = (int64_t)kh * kw * mid + mid * filters + (use_bias ? filters : 0);
	l.flops = 2 * positions * mid * kh * kw + 2 * positions * mid * filters +
		  (use_bias ? out : 0);
	return layer_end(g, &l);
}

int model_add_dense(struct model_graph *g, const char *name, int x, int units, bool use_bias,
		    enum model_activation act)
{
	struct model_layer l;
	const struct model_layer *xi;
	int64_t cin, out;

	if (!layer_begin(g, &l, MODEL_OP_DENSE, name, &x, 1))
		return -1;
	l.attrs = (struct model_attrs){ .units = units, .use_bias = use_bias, .activation = act };
	xi = in(g, &l, 0);
	if (units < 1)
		return fail(g, EP_EINVAL, "%s: %d units", l.name, units);
	copy_shape(&l, xi);
	cin = xi->shape[xi->rank - 1];
	l.shape[l.rank - 1] = units;
	out = model_layer_elements(&l);
	l.params_trainable = cin * units + (use_bias ? units : 0);
	l.flops = 2 * (out / units) * cin * units + (use_bias ? out : 0) + act_flops(act, out);
	return layer_end(g, &l);
}

int model_add_batch_norm(struct model_graph *g, const char *name, int x, bool center,
			 bool scale)
{
	struct model_layer l;
	int64_t c;

	if (!layer_begin(g, &l, MODEL_OP_BATCH_NORM, name, &x, 1))
		return -1;
	l.attrs = (struct model_attrs){ .axis = -1, .center = center, .scale = scale };
	copy_shape(&l, in(g, &l, 0));
	c = l.shape[l.rank - 1];
	l.params_trainable = (center ? c : 0) + (scale ? c : 0);
	l.params_non_trainable = 2 * c; /* moving mean and moving variance */
	l.flops = 2 * model_layer_elements(&l);
	return layer_end(g, &l);
}

/* A layer that keeps its input's shape and costs `per_element` FLOPs per element. */
static int add_elementwise(struct model_graph *g, struct model_layer *l, int per_element)
{
	copy_shape(l, in(g, l, 0));
	l->flops = per_element * model_layer_elements(l);
	return layer_end(g, l);
}

int model_add_activation(struct model_graph *g, const char *name, int x,
			 enum model_activation act)
{
	struct model_layer l;

	if (!layer_begin(g, &l, MODEL_OP_ACTIVATION, name, &x, 1))
		return -1;
	l.attrs.activation = act;
	return add_elementwise(g, &l, 1);
}

int model_add_relu(struct model_graph *g, const char *name, int x, double max_value)
{
	struct model_layer l;

	if (!layer_begin(g, &l, MODEL_OP_RELU, name, &x, 1))
		return -1;
	l.attrs.max_value = max_value;
	return add_elementwise(g, &l, 1);
}

int model_add_leaky_relu(struct model_graph *g, const char *name, int x, double negative_slope)
{
	struct model_layer l;

	if (!layer_begin(g, &l, MODEL_OP_RELU, name, &x, 1))
		return -1;
	l.attrs.negative_slope = negative_slope;
	return add_elementwise(g, &l, 1);
}

int model_add_dropout(struct model_graph *g, const char *name, int x)
{
	struct model_layer l;

	if (!layer_begin(g, &l, MODEL_OP_DROPOUT, name, &x, 1))
		return -1;
	return add_elementwise(g, &l, 0);
}

int model_add_rescaling(struct model_graph *g, const char *name, int x, double factor)
{
	struct model_layer l;

	if (!layer_begin(g, &l, MODEL_OP_RESCALING, name, &x, 1))
		return -1;
	l.attrs.scale_value = factor;
	return add_elementwise(g, &l, 2);
}

int model_add_normalization(struct model_graph *g, const char *name, int x)
{
	struct model_layer l;
	const struct model_layer *xi;

	if (!layer_begin(g, &l, MODEL_OP_NORMALIZATION, name, &x, 1))
		return -1;
	l.attrs.axis = -1;
	xi = in(g, &l, 0);
	/* mean and variance per channel, and the sample count. */
	l.params_non_trainable = 2 * xi->shape[xi->rank - 1] + 1;
	return add_elementwise(g, &l, 2);
}

int model_add_add(struct model_graph *g, const char *name, const int *xs, int n)
{
	struct model_layer l;

	if (!layer_begin(g, &l, MODEL_OP_ADD, name, xs, n))
		return -1;
	if (n < 2)
		return fail(g, EP_EINVAL, "%s: Add needs at least 2 inputs, got %d", l.name, n);
	for (int i = 1; i < n; i++)
		if (!model_layer_same_shape(in(g, &l, 0), in(g, &l, i)))
			return fail(g, EP_EINVAL, "%s: inputs '%s' and '%s' differ in shape", l.name,
				    in(g, &l, 0)->name, in(g, &l, i)->name);
	return add_elementwise(g, &l, n - 1);
}

int model_add_scale_sum(struct model_graph *g, const char *name, int a, int b, double scale)
{
	struct model_layer l;
	int xs[2] = { a, b };

	if (!layer_begin(g, &l, MODEL_OP_LAMBDA, name, xs, 2))
		return -1;
	if (!model_layer_same_shape(in(g, &l, 0), in(g, &l, 1)))
		return fail(g, EP_EINVAL, "%s: inputs '%s' and '%s' differ in shape", l.name,
			    in(g, &l, 0)->name, in(g, &l, 1)->name);
	l.attrs.scale_value = scale;
	return add_elementwise(g, &l, 2);
}

int model_add_multiply(struct model_graph *g, const char *name, int a, int b)
{
	struct model_layer l;
	const struct model_layer *x, *y;
	int xs[2] = { a, b };

	if (!layer_begin(g, &l, MODEL_OP_MULTIPLY, name, xs, 2))
		return -1;
	x = in(g, &l, 0);
	y = in(g, &l, 1);
	if (x->rank != y->rank)
		return fail(g, EP_EINVAL, "%s: inputs '%s' and '%s' differ in rank", l.name,
			    x->name, y->name);
	l.rank = x->rank;
	for (int i = 0; i < x->rank; i++) {
		if (x->shape[i] != y->shape[i] && x->shape[i] != 1 && y->shape[i] != 1)
			return fail(g, EP_EINVAL, "%s: inputs '%s' and '%s' do not broadcast",
				    l.name, x->name, y->name);
		l.shape[i] = x->shape[i] > y->shape[i] ? x->shape[i] : y->shape[i];
	}
	l.flops = model_layer_elements(&l);
	return layer_end(g, &l);
}

int model_add_concat(struct model_graph *g, const char *name, const int *xs, int n)
{
	struct model_layer l;
	const struct model_layer *first;

	if (!layer_begin(g, &l, MODEL_OP_CONCATENATE, name, xs, n))
		return -1;
	if (n < 2)
		return fail(g, EP_EINVAL, "%s: Concatenate needs at least 2 inputs", l.name);
	l.attrs.axis = -1;
	first = in(g, &l, 0);
	copy_shape(&l, first);
	for (int i = 1; i < n; i++) {
		const struct model_layer *x = in(g, &l, i);

		if (x->rank != first->rank)
			return fail(g, EP_EINVAL, "%s: inputs differ in rank", l.name);
		for (int d = 0; d + 1 < x->rank; d++)
			if (x->shape[d] != first->shape[d])
				return fail(g, EP_EINVAL, "%s: input '%s' differs from '%s' in "
					    "dimension %d", l.name, x->name, first->name, d);
		l.shape[l.rank - 1] += x->shape[x->rank - 1];
	}
	return layer_end(g, &l);
}

int model_add_zero_pad(struct model_graph *g, const char *name, int x, int top, int bottom,
		       int left, int right)
{
	struct model_layer l;
	const struct model_layer *xi;

	if (!layer_begin(g, &l, MODEL_OP_ZERO_PADDING2D, name, &x, 1))
		return -1;
	xi = in(g, &l, 0);
	if (xi->rank != 3 || top < 0 || bottom < 0 || left < 0 || right < 0)
		return fail(g, EP_EINVAL, "%s: needs an image input and non-negative padding",
			    l.name);
	l.attrs.pad[0] = top;
	l.attrs.pad[1] = bottom;
	l.attrs.pad[2] = left;
	l.attrs.pad[3] = right;
	copy_shape(&l, xi);
	l.shape[0] += top + bottom;
	l.shape[1] += left + right;
	return layer_end(g, &l);
}

int model_add_pool(struct model_graph *g, const char *name, enum model_op op, int x, int pool,
		   int stride, enum model_padding padding)
{
	struct model_layer l;
	const struct model_layer *xi;

	if (op != MODEL_OP_MAX_POOL2D && op != MODEL_OP_AVG_POOL2D)
		return fail(g, EP_EINVAL, "model_add_pool: op %s is not a pooling op",
			    model_op_name(op));
	if (!layer_begin(g, &l, op, name, &x, 1))
		return -1;
	l.attrs = (struct model_attrs){
		.kernel = { pool, pool },
		.strides = { stride, stride },
		.dilation = { 1, 1 },
		.padding = padding,
	};
	xi = in(g, &l, 0);
	if (!window_shape(g, &l, xi))
		return -1;
	l.shape[2] = xi->shape[2];
	l.flops = (int64_t)pool * pool * model_layer_elements(&l);
	return layer_end(g, &l);
}

int model_add_global_avg_pool(struct model_graph *g, const char *name, int x, bool keepdims)
{
	struct model_layer l;
	const struct model_layer *xi;

	if (!layer_begin(g, &l, MODEL_OP_GLOBAL_AVG_POOL2D, name, &x, 1))
		return -1;
	l.attrs.keepdims = keepdims;
	xi = in(g, &l, 0);
	if (xi->rank != 3)
		return fail(g, EP_EINVAL, "%s: needs an image input", l.name);
	if (keepdims) {
		l.rank = 3;
		l.shape[0] = l.shape[1] = 1;
		l.shape[2] = xi->shape[2];
	} else {
		l.rank = 1;
		l.shape[0] = xi->shape[2];
	}
	l.flops = model_layer_elements(xi);
	return layer_end(g, &l);
}

int model_add_flatten(struct model_graph *g, const char *name, int x)
{
	struct model_layer l;

	if (!layer_begin(g, &l, MODEL_OP_FLATTEN, name, &x, 1))
		return -1;
	l.rank = 1;
	l.shape[0] = model_layer_elements(in(g, &l, 0));
	return layer_end(g, &l);
}

int model_add_reshape(struct model_graph *g, const char *name, int x, int rank,
		      const int64_t *dims)
{
	struct model_layer l;

	if (!layer_begin(g, &l, MODEL_OP_RESHAPE, name, &x, 1))
		return -1;
	if (rank < 1 || rank > MODEL_MAX_RANK)
		return fail(g, EP_EINVAL, "%s: target rank %d", l.name, rank);
	l.rank = rank;
	l.attrs.target_rank = rank;
	for (int i = 0; i < rank; i++)
		l.shape[i] = l.attrs.target[i] = dims[i];
	if (model_layer_elements(&l) != model_layer_elements(in(g, &l, 0)))
		return fail(g, EP_EINVAL, "%s: reshape changes the element count from %" PRId64
			    " to %" PRId64, l.name, model_layer_elements(in(g, &l, 0)),
			    model_layer_elements(&l));
	return layer_end(g, &l);
}
