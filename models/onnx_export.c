/*
 * ONNX export (contract in model_onnx.h): every layer as one node named after it, or as its
 * parts "L/..." where ONNX needs more than one node, built as protobuf-c messages in an arena
 * and packed once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_onnx.h"
#include "model_weights.h"
#include "onnx_internal.h"

/* Every message, string and array of one export: freed together. */
struct arena_block {
	struct arena_block *next;
	max_align_t data[];
};

struct ex {
	const struct model_graph *g;
	const struct model_weights *w;
	struct ep_error *err;
	struct arena_block *blocks;
	bool oom;
	Onnx__GraphProto *gp;
	size_t cap_node, cap_init, cap_vi;
};

static void *arena(struct ex *x, size_t size)
{
	struct arena_block *b = calloc(1, sizeof(*b) + size + 1);

	if (!b) {
		x->oom = true;
		return NULL;
	}
	b->next = x->blocks;
	x->blocks = b;
	return b->data;
}

static char *astr(struct ex *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *astr(struct ex *x, const char *fmt, ...)
{
	va_list ap;
	char buf[256];
	char *s;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s = arena(x, strlen(buf) + 1);
	if (s)
		strcpy(s, buf);
	return s;
}

/* Append to a protobuf-c repeated field (pointer array + count) with capacity *cap. */
static bool push(struct ex *x, void ***arr, size_t *n, size_t *cap, void *item)
{
	if (!item)
		return false;
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 256;
		void **a = arena(x, c * sizeof(void *));

		if (!a)
			return false;
		if (*n)
			memcpy(a, *arr, *n * sizeof(void *));
		*arr = a;
		*cap = c;
	}
	(*arr)[(*n)++] = item;
	return true;
}

static Onnx__TensorProto *tensor(struct ex *x, const char *name, int32_t type, int rank,
				 const int64_t *dims, const void *data, size_t bytes)
{
	Onnx__TensorProto *t = arena(x, sizeof(*t));
	void *copy = arena(x, bytes);

	if (!t || !copy)
		return NULL;
	onnx__tensor_proto__init(t);
	t->name = astr(x, "%s", name);
	t->has_data_type = 1;
	t->data_type = type;
	t->n_dims = (size_t)rank;
	t->dims = arena(x, (size_t)(rank ? rank : 1) * sizeof(int64_t));
	if (!t->dims || !t->name)
		return NULL;
	memcpy(t->dims, dims, (size_t)rank * sizeof(int64_t));
	memcpy(copy, data, bytes);
	t->has_raw_data = 1;
	t->raw_data.data = copy;
	t->raw_data.len = bytes;
	return t;
}

static bool add_init(struct ex *x, Onnx__TensorProto *t)
{
	return push(x, (void ***)&x->gp->initializer, &x->gp->n_initializer, &x->cap_init, t);
}

/* A float32 initializer `name` with `rank` dims from `data`. */
static bool init_f(struct ex *x, const char *name, int rank, const int64_t *dims,
		   const float *data)
{
	int64_t n = 1;

	for (int i = 0; i < rank; i++)
		n *= dims[i];
	return add_init(x, tensor(x, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims, data,
				  (size_t)n * sizeof(float)));
}

static bool init_i64(struct ex *x, const char *name, int n, const int64_t *values)
{
	int64_t dims[1] = { n };

	return add_init(x, tensor(x, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, dims, values,
				  (size_t)n * sizeof(int64_t)));
}

static Onnx__AttributeProto *attr_new(struct ex *x, const char *name,
				      Onnx__AttributeProto__AttributeType type)
{
	Onnx__AttributeProto *a = arena(x, sizeof(*a));

	if (!a)
		return NULL;
	onnx__attribute_proto__init(a);
	a->name = astr(x, "%s", name);
	a->has_type = 1;
	a->type = type;
	return a;
}

static void attr_ints(struct ex *x, Onnx__NodeProto *n, const char *name, int count,
		      const int64_t *v)
{
	Onnx__AttributeProto *a = attr_new(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
	size_t cap = n->n_attribute;

	if (!a || !(a->ints = arena(x, (size_t)count * sizeof(int64_t))))
		return;
	memcpy(a->ints, v, (size_t)count * sizeof(int64_t));
	a->n_ints = (size_t)count;
	push(x, (void ***)&n->attribute, &n->n_attribute, &cap, a);
}

static void attr_int(struct ex *x, Onnx__NodeProto *n, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = attr_new(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
	size_t cap = n->n_attribute;

	if (!a)
		return;
	a->has_i = 1;
	a->i = v;
	push(x, (void ***)&n->attribute, &n->n_attribute, &cap, a);
}

static void attr_float(struct ex *x, Onnx__NodeProto *n, const char *name, float v)
{
	Onnx__AttributeProto *a = attr_new(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
	size_t cap = n->n_attribute;

	if (!a)
		return;
	a->has_f = 1;
	a->f = v;
	push(x, (void ***)&n->attribute, &n->n_attribute, &cap, a);
}

static void attr_str(struct ex *x, Onnx__NodeProto *n, const char *name, const char *v)
{
	Onnx__AttributeProto *a = attr_new(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
	size_t cap = n->n_attribute;

	if (!a || !(a->s.data = (uint8_t *)astr(x, "%s", v)))
		return;
	a->has_s = 1;
	a->s.len = strlen(v);
	push(x, (void ***)&n->attribute, &n->n_attribute, &cap, a);
}

/* A node `op` called `name` writing tensor `name`, reading the NULL-terminated inputs. The
 * attribute arrays grow by one each time (attr_*), which is fine for a handful. */
static Onnx__NodeProto *node(struct ex *x, const char *op, const char *name, ...)
{
	Onnx__NodeProto *n = arena(x, sizeof(*n));
	va_list ap;
	const char *in;
	size_t cap = 0;

	if (!n)
		return NULL;
	onnx__node_proto__init(n);
	n->op_type = astr(x, "%s", op);
	n->name = astr(x, "%s", name);
	n->n_output = 1;
	n->output = arena(x, sizeof(char *));
	if (n->output)
		n->output[0] = n->name;
	n->input = arena(x, MODEL_MAX_INPUTS * sizeof(char *) + 4 * sizeof(char *));
	if (!n->input)
		return NULL;
	va_start(ap, name);
	while ((in = va_arg(ap, const char *)) != NULL)
		n->input[n->n_input++] = astr(x, "%s", in);
	va_end(ap);
	push(x, (void ***)&x->gp->node, &x->gp->n_node, &x->cap_node, n);
	(void)cap;
	return n;
}

static void node_add_input(struct ex *x, Onnx__NodeProto *n, const char *in)
{
	if (n && n->n_input < MODEL_MAX_INPUTS + 4)
		n->input[n->n_input++] = astr(x, "%s", in);
}

/* ONNX dims of a layer's output: [1, C, H, W] or [1, ...]. */
static int onnx_dims(const struct model_layer *l, int64_t d[MODEL_MAX_RANK + 1])
{
	d[0] = 1;
	if (l->rank == 3) {
		d[1] = l->shape[2];
		d[2] = l->shape[0];
		d[3] = l->shape[1];
	} else {
		for (int i = 0; i < l->rank; i++)
			d[i + 1] = l->shape[i];
	}
	return l->rank + 1;
}

static Onnx__ValueInfoProto *value_info(struct ex *x, const struct model_layer *l)
{
	Onnx__ValueInfoProto *v = arena(x, sizeof(*v));
	Onnx__TypeProto *t = arena(x, sizeof(*t));
	Onnx__TypeProto__Tensor *tt = arena(x, sizeof(*tt));
	Onnx__TensorShapeProto *sh = arena(x, sizeof(*sh));
	int64_t d[MODEL_MAX_RANK + 1];
	int rank = onnx_dims(l, d);

	if (!v || !t || !tt || !sh)
		return NULL;
	onnx__value_info_proto__init(v);
	onnx__type_proto__init(t);
	onnx__type_proto__tensor__init(tt);
	onnx__tensor_shape_proto__init(sh);
	v->name = astr(x, "%s", l->name);
	v->type = t;
	t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	t->tensor_type = tt;
	tt->has_elem_type = 1;
	tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	tt->shape = sh;
	sh->dim = arena(x, (size_t)rank * sizeof(*sh->dim));
	if (!sh->dim)
		return NULL;
	for (int i = 0; i < rank; i++) {
		Onnx__TensorShapeProto__Dimension *dm = arena(x, sizeof(*dm));

		if (!dm)
			return NULL;
		onnx__tensor_shape_proto__dimension__init(dm);
		dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
		dm->dim_value = d[i];
		sh->dim[sh->n_dim++] = dm;
	}
	return v;
}

static const char *in_name(const struct ex *x, const struct model_layer *l, int k)
{
	return model_graph_layer(x->g, (size_t)l->inputs[k])->name;
}

static const float *wt(const struct ex *x, size_t layer, int t)
{
	return model_weights_tensor_const(x->w, layer, t);
}

/* Conv weights: Keras HWIO [kh][kw][I][O] to ONNX OIHW [O][I][kh][kw] (also depthwise with
 * I = C, O = m after the group split: see below). */
static float *hwio_to_oihw(struct ex *x, const float *k, int64_t kh, int64_t kw, int64_t ci,
			   int64_t co)
{
	float *o = arena(x, (size_t)(kh * kw * ci * co) * sizeof(float));

	if (!o)
		return NULL;
	for (int64_t y = 0; y < kh; y++)
		for (int64_t z = 0; z < kw; z++)
			for (int64_t i = 0; i < ci; i++)
				for (int64_t oc = 0; oc < co; oc++)
					o[((oc * ci + i) * kh + y) * kw + z] =
						k[((y * kw + z) * ci + i) * co + oc];
	return o;
}

/* Depthwise [kh][kw][C][m] to ONNX [C*m][1][kh][kw] (output channel c*m + j reads c). */
static float *dw_to_onnx(struct ex *x, const float *k, int64_t kh, int64_t kw, int64_t c,
			 int64_t m)
{
	float *o = arena(x, (size_t)(kh * kw * c * m) * sizeof(float));

	if (!o)
		return NULL;
	for (int64_t y = 0; y < kh; y++)
		for (int64_t z = 0; z < kw; z++)
			for (int64_t i = 0; i < c; i++)
				for (int64_t j = 0; j < m; j++)
					o[((i * m + j) * kh + y) * kw + z] =
						k[((y * kw + z) * c + i) * m + j];
	return o;
}

static void window(struct ex *x, Onnx__NodeProto *n, const struct model_attrs *a, bool dil)
{
	int64_t k[2] = { a->kernel[0], a->kernel[1] }, s[2] = { a->strides[0], a->strides[1] };
	int64_t d[2] = { a->dilation[0] ? a->dilation[0] : 1, a->dilation[1] ? a->dilation[1] : 1 };

	attr_ints(x, n, "kernel_shape", 2, k);
	attr_ints(x, n, "strides", 2, s);
	if (dil)
		attr_ints(x, n, "dilations", 2, d);
	attr_str(x, n, "auto_pad", a->padding == MODEL_PAD_SAME ? "SAME_UPPER" : "VALID");
}

/* The activation node(s) writing `out` from `in`; relu6 as Clip(0, 6). */
static int act_nodes(struct ex *x, enum model_activation act, const char *in, const char *out,
		     const struct model_layer *l)
{
	Onnx__NodeProto *n = NULL;
	char part[MODEL_NAME_MAX + 16];

	switch (act) {
	case MODEL_ACT_RELU:
		n = node(x, "Relu", out, in, NULL);
		break;
	case MODEL_ACT_RELU6:
		n = node(x, "Clip", out, in, "edgepipe/zero", "edgepipe/six", NULL);
		break;
	case MODEL_ACT_SIGMOID:
		n = node(x, "Sigmoid", out, in, NULL);
		break;
	case MODEL_ACT_TANH:
		n = node(x, "Tanh", out, in, NULL);
		break;
	case MODEL_ACT_SOFTMAX:
		n = node(x, "Softmax", out, in, NULL);
		attr_int(x, n, "axis", 1); /* the channel axis, in NCHW and for a vector */
		break;
	case MODEL_ACT_SWISH:
		snprintf(part, sizeof(part), "%s/sigmoid", l->name);
		node(x, "Sigmoid", part, in, NULL);
		n = node(x, "Mul", out, in, part, NULL);
		break;
	case MODEL_ACT_HARD_SIGMOID:
		n = node(x, "HardSigmoid", out, in, NULL);
		if (n) {
			attr_float(x, n, "alpha", 1.0f / 6.0f);
			attr_float(x, n, "beta", 0.5f);
		}
		break;
	case MODEL_ACT_HARD_SWISH: /* HardSwish is opset 14; we write 13 */
		snprintf(part, sizeof(part), "%s/hard_sigmoid", l->name);
		n = node(x, "HardSigmoid", part, in, NULL);
		if (n) {
			attr_float(x, n, "alpha", 1.0f / 6.0f);
			attr_float(x, n, "beta", 0.5f);
		}
		n = n ? node(x, "Mul", out, in, part, NULL) : NULL;
		break;
	default:
		return ep_error_set(x->err, EP_EINVAL, "layer '%s' (%s): activation '%s' has no "
				    "ONNX export", l->name, l->op_name, model_activation_name(act));
	}
	return n ? EP_OK : EP_ENOMEM;
}

static int layer_fail(struct ex *x, const struct model_layer *l, const char *why)
{
	return ep_error_set(x->err, EP_EINVAL, "layer '%s' (%s): %s", l->name, l->op_name, why);
}

static int export_layer(struct ex *x, size_t i)
{
	const struct model_layer *l = model_graph_layer(x->g, i);
	const struct model_attrs *a = &l->attrs;
	const struct model_layer *in = l->n_inputs ? model_graph_layer(x->g, (size_t)l->inputs[0])
						   : NULL;
	char part[MODEL_NAME_MAX + 16], tname[MODEL_NAME_MAX + 32], bname[MODEL_NAME_MAX + 32];
	Onnx__NodeProto *n = NULL;
	int64_t d[MODEL_MAX_RANK + 1];
	int rc = EP_OK;

	switch (l->op) {
	case MODEL_OP_CONV2D:
	case MODEL_OP_DEPTHWISE_CONV2D: {
		bool dw = l->op == MODEL_OP_DEPTHWISE_CONV2D;
		int64_t kh = a->kernel[0], kw = a->kernel[1], c = in->shape[2];
		int64_t g = dw ? c : (a->groups > 1 ? a->groups : 1), co = l->shape[2];
		float *k = dw ? dw_to_onnx(x, wt(x, i, 0), kh, kw, c, co / c)
			      : hwio_to_oihw(x, wt(x, i, 0), kh, kw, c / g, co);
		const char *cname = l->name;

		if (in->rank != 3)
			return layer_fail(x, l, "a convolution of a non-image");
		d[0] = co;
		d[1] = c / g;
		d[2] = kh;
		d[3] = kw;
		snprintf(tname, sizeof(tname), "%s/kernel", l->name);
		snprintf(bname, sizeof(bname), "%s/bias", l->name);
		if (!k || !init_f(x, tname, 4, d, k))
			return EP_ENOMEM;
		if (a->activation != MODEL_ACT_LINEAR) {
			snprintf(part, sizeof(part), "%s/conv", l->name);
			cname = part;
		}
		n = node(x, "Conv", cname, in->name, tname, NULL);
		if (a->use_bias) {
			d[0] = co;
			if (!init_f(x, bname, 1, d, wt(x, i, 1)))
				return EP_ENOMEM;
			node_add_input(x, n, bname);
		}
		window(x, n, a, true);
		attr_int(x, n, "group", g);
		if (a->activation != MODEL_ACT_LINEAR)
			rc = act_nodes(x, a->activation, cname, l->name, l);
		break;
	}
	case MODEL_OP_SEPARABLE_CONV2D: {
		int64_t kh = a->kernel[0], kw = a->kernel[1], c = in->shape[2], f = l->shape[2];
		float *k = dw_to_onnx(x, wt(x, i, 0), kh, kw, c, 1);
		float *p = hwio_to_oihw(x, wt(x, i, 1), 1, 1, c, f);

		if (a->depth_multiplier > 1)
			return layer_fail(x, l, "depth_multiplier > 1 has no export");
		snprintf(part, sizeof(part), "%s/depthwise", l->name);
		snprintf(tname, sizeof(tname), "%s/depthwise_kernel", l->name);
		d[0] = c;
		d[1] = 1;
		d[2] = kh;
		d[3] = kw;
		if (!k || !p || !init_f(x, tname, 4, d, k))
			return EP_ENOMEM;
		n = node(x, "Conv", part, in->name, tname, NULL);
		window(x, n, a, true);
		attr_int(x, n, "group", c);
		snprintf(tname, sizeof(tname), "%s/pointwise_kernel", l->name);
		d[0] = f;
		d[1] = c;
		d[2] = d[3] = 1;
		if (!init_f(x, tname, 4, d, p))
			return EP_ENOMEM;
		n = node(x, "Conv", l->name, part, tname, NULL);
		if (a->use_bias) {
			snprintf(bname, sizeof(bname), "%s/bias", l->name);
			d[0] = f;
			if (!init_f(x, bname, 1, d, wt(x, i, 2)))
				return EP_ENOMEM;
			node_add_input(x, n, bname);
		}
		attr_ints(x, n, "kernel_shape", 2, (int64_t[]){ 1, 1 });
		break;
	}
	case MODEL_OP_DENSE: {
		const char *gname = l->name;

		if (in->rank != 1)
			return layer_fail(x, l, "a Dense on a tensor of rank > 1 has no export");
		d[0] = in->shape[0];
		d[1] = l->shape[0];
		snprintf(tname, sizeof(tname), "%s/kernel", l->name);
		if (!init_f(x, tname, 2, d, wt(x, i, 0)))
			return EP_ENOMEM;
		if (a->activation != MODEL_ACT_LINEAR) {
			snprintf(part, sizeof(part), "%s/gemm", l->name);
			gname = part;
		}
		n = node(x, "Gemm", gname, in->name, tname, NULL);
		if (a->use_bias) {
			snprintf(bname, sizeof(bname), "%s/bias", l->name);
			d[0] = l->shape[0];
			if (!init_f(x, bname, 1, d, wt(x, i, 1)))
				return EP_ENOMEM;
			node_add_input(x, n, bname);
		}
		if (a->activation != MODEL_ACT_LINEAR)
			rc = act_nodes(x, a->activation, gname, l->name, l);
		break;
	}
	case MODEL_OP_BATCH_NORM:
	case MODEL_OP_NORMALIZATION: {
		int64_t c = l->shape[l->rank - 1];
		float *one = arena(x, (size_t)c * sizeof(float)), *zero = arena(x, (size_t)c * 4);
		float *var = arena(x, (size_t)c * sizeof(float));
		const float *gamma = one, *beta = zero, *mean, *v;
		bool norm = l->op == MODEL_OP_NORMALIZATION;
		int t = 0;
		static const char *const names[4] = { "gamma", "beta", "moving_mean",
						      "moving_variance" };
		char tn[4][MODEL_NAME_MAX + 32];

		if (!one || !zero || !var)
			return EP_ENOMEM;
		for (int64_t k = 0; k < c; k++)
			one[k] = 1.0f;
		if (!norm && a->scale)
			gamma = wt(x, i, t++);
		if (!norm && a->center)
			beta = wt(x, i, t++);
		mean = wt(x, i, t++);
		v = wt(x, i, t++);
		/* Keras Normalization divides by max(sqrt(var), 1e-7): epsilon 0 and the floor
		 * applied here. */
		for (int64_t k = 0; k < c; k++)
			var[k] = norm && v[k] < 1e-14f ? 1e-14f : v[k];
		d[0] = c;
		for (int k = 0; k < 4; k++) {
			snprintf(tn[k], sizeof(tn[k]), "%s/%s", l->name, names[k]);
			if (!init_f(x, tn[k], 1, d, k == 0 ? gamma : k == 1 ? beta : k == 2 ? mean
											      : var))
				return EP_ENOMEM;
		}
		n = node(x, "BatchNormalization", l->name, in->name, tn[0], tn[1], tn[2], tn[3],
			 NULL);
		attr_float(x, n, "epsilon", norm ? 0.0f : MODEL_BN_EPSILON);
		if (n && norm)
			n->doc_string = astr(x, "keras:Normalization");
		else if (n && (!a->center || !a->scale))
			n->doc_string = astr(x, "keras:BatchNormalization center=%s scale=%s",
					     a->center ? "true" : "false",
					     a->scale ? "true" : "false");
		break;
	}
	case MODEL_OP_ACTIVATION:
		if (a->activation == MODEL_ACT_LINEAR)
			return layer_fail(x, l, "a linear Activation has no export");
		rc = act_nodes(x, a->activation, in->name, l->name, l);
		if (!rc && a->activation == MODEL_ACT_RELU6)
			x->gp->node[x->gp->n_node - 1]->doc_string = astr(x, "keras:Activation");
		break;
	case MODEL_OP_RELU:
		if (a->negative_slope != 0 && a->max_value > 0) {
			return layer_fail(x, l, "a ReLU with both a cap and a negative slope has no "
					  "export");
		} else if (a->negative_slope != 0) {
			n = node(x, "LeakyRelu", l->name, in->name, NULL);
			if (n)
				attr_float(x, n, "alpha", (float)a->negative_slope);
		} else if (a->max_value > 0) {
			float mx = (float)a->max_value;

			snprintf(tname, sizeof(tname), "%s/max_value", l->name);
			if (!init_f(x, tname, 0, d, &mx))
				return EP_ENOMEM;
			n = node(x, "Clip", l->name, in->name, "edgepipe/zero", tname, NULL);
		} else {
			n = node(x, "Relu", l->name, in->name, NULL);
			if (n)
				n->doc_string = astr(x, "keras:ReLU");
		}
		break;
	case MODEL_OP_ADD:
		n = node(x, l->n_inputs == 2 ? "Add" : "Sum", l->name, NULL);
		for (int k = 0; k < l->n_inputs; k++)
			node_add_input(x, n, in_name(x, l, k));
		break;
	case MODEL_OP_MULTIPLY:
		n = node(x, "Mul", l->name, in_name(x, l, 0), in_name(x, l, 1), NULL);
		break;
	case MODEL_OP_CONCATENATE:
		n = node(x, "Concat", l->name, NULL);
		for (int k = 0; k < l->n_inputs; k++)
			node_add_input(x, n, in_name(x, l, k));
		attr_int(x, n, "axis", 1);
		break;
	case MODEL_OP_ZERO_PADDING2D: {
		int64_t p[8] = { 0, 0, a->pad[0], a->pad[2], 0, 0, a->pad[1], a->pad[3] };

		snprintf(tname, sizeof(tname), "%s/pads", l->name);
		if (!init_i64(x, tname, 8, p))
			return EP_ENOMEM;
		n = node(x, "Pad", l->name, in->name, tname, NULL);
		attr_str(x, n, "mode", "constant");
		break;
	}
	case MODEL_OP_MAX_POOL2D:
	case MODEL_OP_AVG_POOL2D:
		n = node(x, l->op == MODEL_OP_MAX_POOL2D ? "MaxPool" : "AveragePool", l->name,
			 in->name, NULL);
		window(x, n, a, false);
		break;
	case MODEL_OP_GLOBAL_AVG_POOL2D:
		if (a->keepdims) {
			n = node(x, "GlobalAveragePool", l->name, in->name, NULL);
			break;
		}
		snprintf(part, sizeof(part), "%s/pool", l->name);
		node(x, "GlobalAveragePool", part, in->name, NULL);
		n = node(x, "Flatten", l->name, part, NULL);
		break;
	case MODEL_OP_FLATTEN:
		if (in->rank == 3 && in->shape[0] * in->shape[1] > 1 && in->shape[2] > 1) {
			/* Keras flattens H, W, C: transpose NCHW to NHWC first (as keras2onnx). */
			snprintf(part, sizeof(part), "%s/transpose", l->name);
			n = node(x, "Transpose", part, in->name, NULL);
			attr_ints(x, n, "perm", 4, (int64_t[]){ 0, 2, 3, 1 });
			n = node(x, "Flatten", l->name, part, NULL);
		} else {
			n = node(x, "Flatten", l->name, in->name, NULL);
		}
		break;
	case MODEL_OP_RESHAPE: {
		int rank = onnx_dims(l, d);
		bool same_order = (in->rank != 3 || in->shape[0] * in->shape[1] == 1 ||
				   in->shape[2] == 1) &&
				  (l->rank != 3 || l->shape[0] * l->shape[1] == 1 || l->shape[2] == 1);

		if (!same_order || (l->rank != 1 && l->rank != 3))
			return layer_fail(x, l, "this reshape reorders elements between NHWC and "
					  "NCHW; it has no export");
		snprintf(tname, sizeof(tname), "%s/shape", l->name);
		if (!init_i64(x, tname, rank, d))
			return EP_ENOMEM;
		n = node(x, "Reshape", l->name, in->name, tname, NULL);
		break;
	}
	case MODEL_OP_DROPOUT:
		n = node(x, "Dropout", l->name, in->name, NULL);
		break;
	case MODEL_OP_RESCALING: {
		float s = (float)a->scale_value;

		snprintf(tname, sizeof(tname), "%s/scale", l->name);
		if (!init_f(x, tname, 0, d, &s))
			return EP_ENOMEM;
		n = node(x, "Mul", l->name, in->name, tname, NULL);
		if (n)
			n->doc_string = astr(x, "keras:Rescaling scale_value=%.17g", a->scale_value);
		break;
	}
	case MODEL_OP_LAMBDA: {
		float s = (float)a->scale_value;

		snprintf(tname, sizeof(tname), "%s/scale_value", l->name);
		snprintf(part, sizeof(part), "%s/scale", l->name);
		if (l->n_inputs != 2 || !init_f(x, tname, 0, d, &s))
			return l->n_inputs != 2 ? layer_fail(x, l, "not the scale sum a + b * s")
						: EP_ENOMEM;
		node(x, "Mul", part, in_name(x, l, 1), tname, NULL);
		n = node(x, "Add", l->name, in->name, part, NULL);
		if (n)
			n->doc_string = astr(x, "keras:Lambda scale_value=%.17g", a->scale_value);
		break;
	}
	default:
		return layer_fail(x, l, "no ONNX export for this op");
	}
	if (rc)
		return rc;
	if (x->oom)
		return EP_ENOMEM;
	if (i + 1 < model_graph_layer_count(x->g) &&
	    !push(x, (void ***)&x->gp->value_info, &x->gp->n_value_info, &x->cap_vi,
		  value_info(x, l)))
		return EP_ENOMEM;
	return EP_OK;
}

/* Part names "L/..." must not be layer names of the graph (they would be defined twice). */
static int check_part_names(struct ex *x)
{
	static const char *const parts[] = { "conv", "gemm", "sigmoid", "depthwise", "pool",
					     "transpose", "scale" };

	for (size_t i = 0; i < model_graph_layer_count(x->g); i++) {
		const struct model_layer *l = model_graph_layer(x->g, i);
		char name[MODEL_NAME_MAX + 16];

		for (size_t k = 0; k < sizeof(parts) / sizeof(*parts); k++) {
			snprintf(name, sizeof(name), "%s/%s", l->name, parts[k]);
			if (model_graph_find(x->g, name) >= 0)
				return ep_error_set(x->err, EP_EINVAL, "layer '%s': its name is also "
						    "the ONNX part name of layer '%s'; rename one",
						    name, l->name);
		}
	}
	return EP_OK;
}

/* protobuf-c's output sink, writing to a file. */
struct file_buffer {
	ProtobufCBuffer base;
	FILE *f;
	bool failed;
};

static void file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	struct file_buffer *fb = (struct file_buffer *)b;

	if (!fb->failed && fwrite(data, 1, len, fb->f) != len)
		fb->failed = true;
}

int model_onnx_save(const struct model_weights *w, const char *path, struct ep_error *err)
{
	struct ex x = { .g = model_weights_graph(w), .w = w, .err = err };
	Onnx__ModelProto mp;
	Onnx__GraphProto gp;
	Onnx__OperatorSetIdProto opset;
	Onnx__OperatorSetIdProto *opsets[1] = { &opset };
	const struct model_layer *first = model_graph_layer(x.g, 0);
	const struct model_layer *last =
		model_graph_layer(x.g, model_graph_layer_count(x.g) - 1);
	Onnx__ValueInfoProto *in_vi, *out_vi;
	char tmp[4096];
	bool ok;
	FILE *f = NULL;
	int rc = EP_OK;
	float zero = 0.0f, six = 6.0f;
	int64_t nodims[1] = { 0 };

	onnx__model_proto__init(&mp);
	onnx__graph_proto__init(&gp);
	onnx__operator_set_id_proto__init(&opset);
	x.gp = &gp;
	if ((rc = model_graph_validate(x.g, err)) || (rc = check_part_names(&x)))
		return rc;
	mp.has_ir_version = 1;
	mp.ir_version = 7;
	mp.producer_name = (char *)"edgepipe";
	mp.producer_version = (char *)EDGEPIPE_VERSION;
	mp.n_opset_import = 1;
	mp.opset_import = opsets;
	opset.domain = (char *)"";
	opset.has_version = 1;
	opset.version = MODEL_ONNX_OPSET;
	mp.graph = &gp;
	gp.name = astr(&x, "%s", model_graph_name(x.g));
	gp.doc_string = (char *)"written by edgepipe (models/model_onnx.h): NCHW, batch 1";
	in_vi = value_info(&x, first);
	out_vi = value_info(&x, last);
	gp.n_input = gp.n_output = 1;
	gp.input = &in_vi;
	gp.output = &out_vi;
	if (!in_vi || !out_vi || !init_f(&x, "edgepipe/zero", 0, nodims, &zero) ||
	    !init_f(&x, "edgepipe/six", 0, nodims, &six)) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory exporting '%s'",
				  model_graph_name(x.g));
		goto out;
	}
	for (size_t i = 1; i < model_graph_layer_count(x.g); i++)
		if ((rc = export_layer(&x, i))) {
			if (rc == EP_ENOMEM)
				ep_error_set(err, rc, "out of memory exporting '%s'",
					     model_graph_name(x.g));
			goto out;
		}
	/* Packed straight into a temporary file renamed at the end: no second copy of the
	 * weights in memory, and nothing half-written. */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	f = fopen(tmp, "wb");
	if (!f) {
		rc = ep_error_set(err, EP_EIO, "cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	{
		struct file_buffer fb = { .base = { file_append }, .f = f };

		onnx__model_proto__pack_to_buffer(&mp, &fb.base);
		ok = !fb.failed;
	}
	if (fclose(f) || !ok) {
		f = NULL;
		unlink(tmp);
		rc = ep_error_set(err, EP_EIO, "writing '%s' failed: %s", path, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path)) {
		unlink(tmp);
		rc = ep_error_set(err, EP_EIO, "cannot rename '%s' to '%s': %s", tmp, path,
				  strerror(errno));
	}
out:
	if (f)
		fclose(f);
	while (x.blocks) {
		struct arena_block *b = x.blocks->next;

		free(x.blocks);
		x.blocks = b;
	}
	return rc;
}
