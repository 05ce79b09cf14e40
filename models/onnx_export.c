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
	Onnx__ModelProto mp;
	Onnx__GraphProto graph, *gp; /* gp = &graph */
	Onnx__OperatorSetIdProto opset, *opsets[1];
	Onnx__ValueInfoProto *in_vi, *out_vi;
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

/* A new attribute `name` of `type` appended to node n, for the caller to give its value; NULL
 * when n is NULL (its node ran out of memory) or out of memory. The attribute array grows by
 * one each time, which is fine for a handful. */
static Onnx__AttributeProto *attr_add(struct ex *x, Onnx__NodeProto *n, const char *name,
				      Onnx__AttributeProto__AttributeType type)
{
	Onnx__AttributeProto *a = n ? arena(x, sizeof(*a)) : NULL;
	size_t cap = n ? n->n_attribute : 0;

	if (!a)
		return NULL;
	onnx__attribute_proto__init(a);
	a->name = astr(x, "%s", name);
	a->has_type = 1;
	a->type = type;
	return push(x, (void ***)&n->attribute, &n->n_attribute, &cap, a) ? a : NULL;
}

static void attr_ints(struct ex *x, Onnx__NodeProto *n, const char *name, int count,
		      const int64_t *v)
{
	Onnx__AttributeProto *a = attr_add(x, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);

	if (!a || !(a->ints = arena(x, (size_t)count * sizeof(int64_t))))
		return;
	memcpy(a->ints, v, (size_t)count * sizeof(int64_t));
	a->n_ints = (size_t)count;
}

static void attr_int(struct ex *x, Onnx__NodeProto *n, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = attr_add(x, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);

	if (!a)
		return;
	a->has_i = 1;
	a->i = v;
}

static void attr_float(struct ex *x, Onnx__NodeProto *n, const char *name, float v)
{
	Onnx__AttributeProto *a =
		attr_add(x, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);

	if (!a)
		return;
	a->has_f = 1;
	a->f = v;
}

static void attr_str(struct ex *x, Onnx__NodeProto *n, const char *name, const char *v)
{
	Onnx__AttributeProto *a =
		attr_add(x, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);

	if (!a || !(a->s.data = (uint8_t *)astr(x, "%s", v)))
		return;
	a->has_s = 1;
	a->s.len = strlen(v);
}

/* A node `op` called `name` writing tensor `name`, reading the NULL-terminated inputs; NULL when
 * out of memory. */
static Onnx__NodeProto *node(struct ex *x, const char *op, const char *name, ...)
{
	Onnx__NodeProto *n = arena(x, sizeof(*n));
	va_list ap;
	const char *in;

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
	return n;
}

static void node_add_input(struct ex *x, Onnx__NodeProto *n, const char *in)
{
	if (n && n->n_input < MODEL_MAX_INPUTS + 4)
		n->input[n->n_input++] = astr(x, "%s", in);
}

static Onnx__ValueInfoProto *value_info(struct ex *x, const struct model_layer *l)
{
	Onnx__ValueInfoProto *v = arena(x, sizeof(*v));
	Onnx__TypeProto *t = arena(x, sizeof(*t));
	Onnx__TypeProto__Tensor *tt = arena(x, sizeof(*tt));
	Onnx__TensorShapeProto *sh = arena(x, sizeof(*sh));
	int64_t d[MODEL_MAX_RANK + 1];
	int rank = onnx_layer_dims(l, d);

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

/* The node's doc_string, the Keras hint the importer reads back ("keras:OP ..."). */
static void node_doc(struct ex *x, Onnx__NodeProto *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void node_doc(struct ex *x, Onnx__NodeProto *n, const char *fmt, ...)
{
	va_list ap;
	char buf[256];

	if (!n)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n->doc_string = astr(x, "%s", buf);
}

/* edgepipe's hard_sigmoid, relu6(x + 3) / 6, as ONNX's HardSigmoid. */
static Onnx__NodeProto *hard_sigmoid_node(struct ex *x, const char *out, const char *in)
{
	Onnx__NodeProto *n = node(x, "HardSigmoid", out, in, NULL);

	attr_float(x, n, "alpha", 1.0f / 6.0f);
	attr_float(x, n, "beta", 0.5f);
	return n;
}

/* The activation node(s) writing `out` from `in`; relu6 as Clip(0, 6). */
static int act_nodes(struct ex *x, enum model_activation act, const char *in, const char *out,
		     const struct model_layer *l)
{
	Onnx__NodeProto *n = NULL;
	char part[MODEL_NAME_MAX + 16];

	switch (act) {
	case MODEL_ACT_RELU: n = node(x, "Relu", out, in, NULL); break;
	case MODEL_ACT_RELU6:
		n = node(x, "Clip", out, in, "edgepipe/zero", "edgepipe/six", NULL);
		break;
	case MODEL_ACT_SIGMOID: n = node(x, "Sigmoid", out, in, NULL); break;
	case MODEL_ACT_TANH: n = node(x, "Tanh", out, in, NULL); break;
	case MODEL_ACT_SOFTMAX:
		n = node(x, "Softmax", out, in, NULL);
		attr_int(x, n, "axis", 1); /* the channel axis, in NCHW and for a vector */
		break;
	case MODEL_ACT_SWISH:
		snprintf(part, sizeof(part), "%s/sigmoid", l->name);
		node(x, "Sigmoid", part, in, NULL);
		n = node(x, "Mul", out, in, part, NULL);
		break;
	case MODEL_ACT_HARD_SIGMOID: n = hard_sigmoid_node(x, out, in); break;
	case MODEL_ACT_HARD_SWISH: /* HardSwish is opset 14; we write 13 */
		snprintf(part, sizeof(part), "%s/hard_sigmoid", l->name);
		n = hard_sigmoid_node(x, part, in);
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

/* ---- one writer per layer kind -------------------------------------------------------------
 * Each writes layer i (l, reading `in`, its first input) as its node(s) and initializers, in
 * the order the file lists them. EP_OK, EP_ENOMEM (the message is set by the caller) or
 * EP_EINVAL naming the layer. */

typedef int layer_writer_fn(struct ex *x, size_t i, const struct model_layer *l,
			    const struct model_layer *in);

/* "L/suffix": a part or an initializer of layer l (in the arena; NULL when out of memory). */
static const char *part_name(struct ex *x, const struct model_layer *l, const char *suffix)
{
	return astr(x, "%s/%s", l->name, suffix);
}

/* A float32 initializer "L/suffix" with `rank` dims; its name, or NULL when out of memory. */
static const char *layer_init(struct ex *x, const struct model_layer *l, const char *suffix,
			      int rank, const int64_t *dims, const float *data)
{
	const char *name = part_name(x, l, suffix);

	return name && init_f(x, name, rank, dims, data) ? name : NULL;
}

/* A float32 scalar initializer "L/suffix" of value v. */
static const char *layer_scalar(struct ex *x, const struct model_layer *l, const char *suffix,
				double v)
{
	float f = (float)v;
	int64_t nodims[1] = { 0 };

	return layer_init(x, l, suffix, 0, nodims, &f);
}

/* Layer l's bias "L/bias" (weight tensor t, `count` values) as node n's next input, when the
 * layer has one; false when out of memory. */
static bool bias_input(struct ex *x, Onnx__NodeProto *n, size_t i, const struct model_layer *l,
		       int t, int64_t count)
{
	const char *name;

	if (!l->attrs.use_bias)
		return true;
	if (!(name = layer_init(x, l, "bias", 1, &count, wt(x, i, t))))
		return false;
	node_add_input(x, n, name);
	return true;
}

/* The name of the node computing layer l before its fused activation: "L/part", or L itself
 * when the activation is linear. */
static const char *pre_act_name(struct ex *x, const struct model_layer *l, const char *part)
{
	return l->attrs.activation == MODEL_ACT_LINEAR ? l->name : part_name(x, l, part);
}

/* The fused activation of layer l, from node `from` to the layer's output. */
static int fused_act(struct ex *x, const struct model_layer *l, const char *from)
{
	if (l->attrs.activation == MODEL_ACT_LINEAR)
		return EP_OK;
	return act_nodes(x, l->attrs.activation, from, l->name, l);
}

/* Conv2D and DepthwiseConv2D: one Conv (group = channels for depthwise), then the fused
 * activation. */
static int write_conv(struct ex *x, size_t i, const struct model_layer *l,
		      const struct model_layer *in)
{
	const struct model_attrs *a = &l->attrs;
	bool dw = l->op == MODEL_OP_DEPTHWISE_CONV2D;
	int64_t kh = a->kernel[0], kw = a->kernel[1], c = in->shape[2], co = l->shape[2];
	int64_t g = dw ? c : (a->groups > 1 ? a->groups : 1), d[4];
	const char *kname, *cname;
	Onnx__NodeProto *n;
	float *k;

	if (in->rank != 3)
		return layer_fail(x, l, "a convolution of a non-image");
	d[0] = co;
	d[1] = c / g;
	d[2] = kh;
	d[3] = kw;
	k = dw ? dw_to_onnx(x, wt(x, i, 0), kh, kw, c, co / c)
	       : hwio_to_oihw(x, wt(x, i, 0), kh, kw, c / g, co);
	if (!k || !(kname = layer_init(x, l, "kernel", 4, d, k)))
		return EP_ENOMEM;
	cname = pre_act_name(x, l, "conv");
	n = node(x, "Conv", cname, in->name, kname, NULL);
	if (!bias_input(x, n, i, l, 1, co))
		return EP_ENOMEM;
	window(x, n, a, true);
	attr_int(x, n, "group", g);
	return fused_act(x, l, cname);
}

/* SeparableConv2D: "L/depthwise" Conv (group = channels), then the 1x1 Conv L. */
static int write_separable(struct ex *x, size_t i, const struct model_layer *l,
			   const struct model_layer *in)
{
	const struct model_attrs *a = &l->attrs;
	int64_t kh = a->kernel[0], kw = a->kernel[1], c = in->shape[2], f = l->shape[2];
	int64_t dd[4] = { c, 1, kh, kw }, pd[4] = { f, c, 1, 1 };
	const char *dname, *pname, *part;
	Onnx__NodeProto *n;
	float *k, *p;

	if (a->depth_multiplier > 1)
		return layer_fail(x, l, "depth_multiplier > 1 has no export");
	k = dw_to_onnx(x, wt(x, i, 0), kh, kw, c, 1);
	p = hwio_to_oihw(x, wt(x, i, 1), 1, 1, c, f);
	part = part_name(x, l, "depthwise");
	if (!k || !p || !part || !(dname = layer_init(x, l, "depthwise_kernel", 4, dd, k)))
		return EP_ENOMEM;
	n = node(x, "Conv", part, in->name, dname, NULL);
	window(x, n, a, true);
	attr_int(x, n, "group", c);
	if (!(pname = layer_init(x, l, "pointwise_kernel", 4, pd, p)))
		return EP_ENOMEM;
	n = node(x, "Conv", l->name, part, pname, NULL);
	if (!bias_input(x, n, i, l, 2, f))
		return EP_ENOMEM;
	attr_ints(x, n, "kernel_shape", 2, (int64_t[]){ 1, 1 });
	return EP_OK;
}

/* Dense: Gemm of the vector by the kernel [K][N], then the fused activation. */
static int write_dense(struct ex *x, size_t i, const struct model_layer *l,
		       const struct model_layer *in)
{
	int64_t d[2] = { in->shape[0], l->shape[0] };
	const char *kname, *gname;
	Onnx__NodeProto *n;

	if (in->rank != 1)
		return layer_fail(x, l, "a Dense on a tensor of rank > 1 has no export");
	if (!(kname = layer_init(x, l, "kernel", 2, d, wt(x, i, 0))))
		return EP_ENOMEM;
	gname = pre_act_name(x, l, "gemm");
	n = node(x, "Gemm", gname, in->name, kname, NULL);
	if (!bias_input(x, n, i, l, 1, l->shape[0]))
		return EP_ENOMEM;
	return fused_act(x, l, gname);
}

/* BatchNormalization's four inputs (gamma, beta, mean, variance) of a BatchNormalization or
 * Normalization layer: ones and zeros where Keras has no scale or center. Keras
 * Normalization divides by max(sqrt(var), 1e-7): its epsilon is 0 and the floor is applied to
 * the variance here. */
static int bn_tensors(struct ex *x, size_t i, const struct model_layer *l, int64_t c,
		      const float *v[4])
{
	float *one = arena(x, (size_t)c * sizeof(float)), *zero = arena(x, (size_t)c * 4);
	float *var = arena(x, (size_t)c * sizeof(float));
	bool norm = l->op == MODEL_OP_NORMALIZATION;
	const float *var_in;
	int t = 0;

	if (!one || !zero || !var)
		return EP_ENOMEM;
	for (int64_t k = 0; k < c; k++)
		one[k] = 1.0f;
	v[0] = !norm && l->attrs.scale ? wt(x, i, t++) : one;
	v[1] = !norm && l->attrs.center ? wt(x, i, t++) : zero;
	v[2] = wt(x, i, t++);
	var_in = wt(x, i, t++);
	for (int64_t k = 0; k < c; k++)
		var[k] = norm && var_in[k] < 1e-14f ? 1e-14f : var_in[k];
	v[3] = var;
	return EP_OK;
}

/* BatchNormalization and Normalization: one BatchNormalization, its Keras kind and the
 * missing scale or center in its doc_string. */
static int write_batch_norm(struct ex *x, size_t i, const struct model_layer *l,
			    const struct model_layer *in)
{
	static const char *const names[4] = { "gamma", "beta", "moving_mean", "moving_variance" };
	const struct model_attrs *a = &l->attrs;
	int64_t c = l->shape[l->rank - 1];
	bool norm = l->op == MODEL_OP_NORMALIZATION;
	const float *v[4];
	const char *tn[4];
	Onnx__NodeProto *n;

	if (bn_tensors(x, i, l, c, v))
		return EP_ENOMEM;
	for (int k = 0; k < 4; k++)
		if (!(tn[k] = layer_init(x, l, names[k], 1, &c, v[k])))
			return EP_ENOMEM;
	n = node(x, "BatchNormalization", l->name, in->name, tn[0], tn[1], tn[2], tn[3], NULL);
	attr_float(x, n, "epsilon", norm ? 0.0f : MODEL_BN_EPSILON);
	if (norm)
		node_doc(x, n, "keras:Normalization");
	else if (!a->center || !a->scale)
		node_doc(x, n, "keras:BatchNormalization center=%s scale=%s",
			 a->center ? "true" : "false", a->scale ? "true" : "false");
	return EP_OK;
}

/* Activation: its activation node(s); a relu6 Clip says it is an Activation, not a ReLU. */
static int write_activation(struct ex *x, size_t i, const struct model_layer *l,
			    const struct model_layer *in)
{
	int rc;

	(void)i;
	if (l->attrs.activation == MODEL_ACT_LINEAR)
		return layer_fail(x, l, "a linear Activation has no export");
	rc = act_nodes(x, l->attrs.activation, in->name, l->name, l);
	if (!rc && l->attrs.activation == MODEL_ACT_RELU6)
		node_doc(x, x->gp->node[x->gp->n_node - 1], "keras:Activation");
	return rc;
}

/* ReLU: LeakyRelu with a negative slope, Clip(0, max) with a cap, else a Relu that says it is
 * a ReLU layer. */
static int write_relu(struct ex *x, size_t i, const struct model_layer *l,
		      const struct model_layer *in)
{
	const struct model_attrs *a = &l->attrs;
	const char *mname;
	Onnx__NodeProto *n;

	(void)i;
	if (a->negative_slope != 0 && a->max_value > 0)
		return layer_fail(x, l, "a ReLU with both a cap and a negative slope has no "
				  "export");
	if (a->negative_slope != 0) {
		n = node(x, "LeakyRelu", l->name, in->name, NULL);
		attr_float(x, n, "alpha", (float)a->negative_slope);
	} else if (a->max_value > 0) {
		if (!(mname = layer_scalar(x, l, "max_value", a->max_value)))
			return EP_ENOMEM;
		node(x, "Clip", l->name, in->name, "edgepipe/zero", mname, NULL);
	} else {
		node_doc(x, node(x, "Relu", l->name, in->name, NULL), "keras:ReLU");
	}
	return EP_OK;
}

/* A node `op` L reading every input of layer l. */
static Onnx__NodeProto *node_of_inputs(struct ex *x, const char *op, const struct model_layer *l)
{
	Onnx__NodeProto *n = node(x, op, l->name, NULL);

	for (int k = 0; k < l->n_inputs; k++)
		node_add_input(x, n, in_name(x, l, k));
	return n;
}

static int write_add(struct ex *x, size_t i, const struct model_layer *l,
		     const struct model_layer *in)
{
	(void)i;
	(void)in;
	node_of_inputs(x, l->n_inputs == 2 ? "Add" : "Sum", l);
	return EP_OK;
}

static int write_multiply(struct ex *x, size_t i, const struct model_layer *l,
			  const struct model_layer *in)
{
	(void)i;
	(void)in;
	node(x, "Mul", l->name, in_name(x, l, 0), in_name(x, l, 1), NULL);
	return EP_OK;
}

static int write_concat(struct ex *x, size_t i, const struct model_layer *l,
			const struct model_layer *in)
{
	(void)i;
	(void)in;
	attr_int(x, node_of_inputs(x, "Concat", l), "axis", 1);
	return EP_OK;
}

/* ZeroPadding2D: Pad with the pads as an int64 initializer "L/pads" (NCHW begins, ends). */
static int write_zero_pad(struct ex *x, size_t i, const struct model_layer *l,
			  const struct model_layer *in)
{
	const struct model_attrs *a = &l->attrs;
	int64_t p[8] = { 0, 0, a->pad[0], a->pad[2], 0, 0, a->pad[1], a->pad[3] };
	const char *pname = part_name(x, l, "pads");

	(void)i;
	if (!pname || !init_i64(x, pname, 8, p))
		return EP_ENOMEM;
	attr_str(x, node(x, "Pad", l->name, in->name, pname, NULL), "mode", "constant");
	return EP_OK;
}

static int write_pool(struct ex *x, size_t i, const struct model_layer *l,
		      const struct model_layer *in)
{
	const char *op = l->op == MODEL_OP_MAX_POOL2D ? "MaxPool" : "AveragePool";

	(void)i;
	window(x, node(x, op, l->name, in->name, NULL), &l->attrs, false);
	return EP_OK;
}

/* GlobalAveragePooling2D: GlobalAveragePool, then "L" Flatten unless it keeps the dims. */
static int write_global_pool(struct ex *x, size_t i, const struct model_layer *l,
			     const struct model_layer *in)
{
	const char *part;

	(void)i;
	if (l->attrs.keepdims) {
		node(x, "GlobalAveragePool", l->name, in->name, NULL);
		return EP_OK;
	}
	part = part_name(x, l, "pool");
	node(x, "GlobalAveragePool", part, in->name, NULL);
	node(x, "Flatten", l->name, part, NULL);
	return EP_OK;
}

static int write_flatten(struct ex *x, size_t i, const struct model_layer *l,
			 const struct model_layer *in)
{
	const char *part;

	(void)i;
	if (in->rank != 3 || in->shape[0] * in->shape[1] <= 1 || in->shape[2] <= 1) {
		node(x, "Flatten", l->name, in->name, NULL);
		return EP_OK;
	}
	/* Keras flattens H, W, C: transpose NCHW to NHWC first (as keras2onnx). */
	part = part_name(x, l, "transpose");
	attr_ints(x, node(x, "Transpose", part, in->name, NULL), "perm", 4,
		  (int64_t[]){ 0, 2, 3, 1 });
	node(x, "Flatten", l->name, part, NULL);
	return EP_OK;
}

/* Reshape to [1, ...] with the target an int64 initializer "L/shape": only where NCHW and
 * NHWC order the elements alike. */
static int write_reshape(struct ex *x, size_t i, const struct model_layer *l,
			 const struct model_layer *in)
{
	int64_t d[MODEL_MAX_RANK + 1];
	int rank = onnx_layer_dims(l, d);
	bool same_order = (in->rank != 3 || in->shape[0] * in->shape[1] == 1 ||
			   in->shape[2] == 1) &&
			  (l->rank != 3 || l->shape[0] * l->shape[1] == 1 || l->shape[2] == 1);
	const char *sname;

	(void)i;
	if (!same_order || (l->rank != 1 && l->rank != 3))
		return layer_fail(x, l, "this reshape reorders elements between NHWC and "
				  "NCHW; it has no export");
	if (!(sname = part_name(x, l, "shape")) || !init_i64(x, sname, rank, d))
		return EP_ENOMEM;
	node(x, "Reshape", l->name, in->name, sname, NULL);
	return EP_OK;
}

static int write_dropout(struct ex *x, size_t i, const struct model_layer *l,
			 const struct model_layer *in)
{
	(void)i;
	node(x, "Dropout", l->name, in->name, NULL);
	return EP_OK;
}

/* Rescaling: Mul by the scalar "L/scale"; the double it rounds in the doc_string. */
static int write_rescaling(struct ex *x, size_t i, const struct model_layer *l,
			   const struct model_layer *in)
{
	const char *sname = layer_scalar(x, l, "scale", l->attrs.scale_value);

	(void)i;
	if (!sname)
		return EP_ENOMEM;
	node_doc(x, node(x, "Mul", l->name, in->name, sname, NULL),
		 "keras:Rescaling scale_value=%.17g", l->attrs.scale_value);
	return EP_OK;
}

/* InceptionResNetV2's Lambda a + b * s: "L/scale" Mul b by "L/scale_value", then Add L. */
static int write_lambda(struct ex *x, size_t i, const struct model_layer *l,
			const struct model_layer *in)
{
	const char *sname, *part;

	(void)i;
	if (l->n_inputs != 2)
		return layer_fail(x, l, "not the scale sum a + b * s");
	sname = layer_scalar(x, l, "scale_value", l->attrs.scale_value);
	part = part_name(x, l, "scale");
	if (!sname || !part)
		return EP_ENOMEM;
	node(x, "Mul", part, in_name(x, l, 1), sname, NULL);
	node_doc(x, node(x, "Add", l->name, in->name, part, NULL),
		 "keras:Lambda scale_value=%.17g", l->attrs.scale_value);
	return EP_OK;
}

/* The writer of each layer kind; NULL: no export (the input is the graph input). */
static layer_writer_fn *const layer_writers[MODEL_OP_COUNT_] = {
	[MODEL_OP_CONV2D] = write_conv,
	[MODEL_OP_DEPTHWISE_CONV2D] = write_conv,
	[MODEL_OP_SEPARABLE_CONV2D] = write_separable,
	[MODEL_OP_DENSE] = write_dense,
	[MODEL_OP_BATCH_NORM] = write_batch_norm,
	[MODEL_OP_NORMALIZATION] = write_batch_norm,
	[MODEL_OP_ACTIVATION] = write_activation,
	[MODEL_OP_RELU] = write_relu,
	[MODEL_OP_ADD] = write_add,
	[MODEL_OP_MULTIPLY] = write_multiply,
	[MODEL_OP_CONCATENATE] = write_concat,
	[MODEL_OP_ZERO_PADDING2D] = write_zero_pad,
	[MODEL_OP_MAX_POOL2D] = write_pool,
	[MODEL_OP_AVG_POOL2D] = write_pool,
	[MODEL_OP_GLOBAL_AVG_POOL2D] = write_global_pool,
	[MODEL_OP_FLATTEN] = write_flatten,
	[MODEL_OP_RESHAPE] = write_reshape,
	[MODEL_OP_DROPOUT] = write_dropout,
	[MODEL_OP_RESCALING] = write_rescaling,
	[MODEL_OP_LAMBDA] = write_lambda,
};

/* Layer i (not the input) by its kind's writer, then the value_info of its output unless it
 * is the graph output. */
static int export_layer(struct ex *x, size_t i)
{
	const struct model_layer *l = model_graph_layer(x->g, i);
	const struct model_layer *in = l->n_inputs ? model_graph_layer(x->g, (size_t)l->inputs[0])
						   : NULL;
	layer_writer_fn *write = (unsigned)l->op < MODEL_OP_COUNT_ ? layer_writers[l->op] : NULL;
	int rc;

	if (!write)
		return layer_fail(x, l, "no ONNX export for this op");
	if ((rc = write(x, i, l, in)))
		return rc;
	if (x->oom)
		return EP_ENOMEM;
	if (i + 1 < model_graph_layer_count(x->g) &&
	    !push(x, (void ***)&x->gp->value_info, &x->gp->n_value_info, &x->cap_vi,
		  value_info(x, l)))
		return EP_ENOMEM;
	return EP_OK;
}

/* Part names "L/..." (nodes and initializers) and the shared constants must not be layer
 * names of the graph (they would be defined twice). */
static int check_part_names(struct ex *x)
{
	static const char *const parts[] = {
		"conv",	       "gemm",	    "sigmoid",	       "hard_sigmoid",	   "depthwise",
		"pool",	       "transpose", "scale",	       "kernel",	   "bias",
		"gamma",       "beta",	    "moving_mean",     "moving_variance",  "pads",
		"shape",       "max_value", "scale_value",     "depthwise_kernel",
		"pointwise_kernel",
	};
	static const char *const shared[] = { "edgepipe/zero", "edgepipe/six" };

	for (size_t k = 0; k < sizeof(shared) / sizeof(*shared); k++)
		if (model_graph_find(x->g, shared[k]) >= 0)
			return ep_error_set(x->err, EP_EINVAL, "layer '%s': its name is also the "
					    "name of a constant the ONNX export writes; rename it",
					    shared[k]);
	for (size_t i = 0; i < model_graph_layer_count(x->g); i++) {
		const struct model_layer *l = model_graph_layer(x->g, i);
		char name[MODEL_NAME_MAX + 32];

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

/* The model and graph headers, the graph's input and output, the constants every export
 * shares (edgepipe/zero, edgepipe/six), then every layer. */
static int export_graph(struct ex *x)
{
	static const float zero = 0.0f, six = 6.0f;
	const int64_t nodims[1] = { 0 };
	size_t n = model_graph_layer_count(x->g);
	int rc = EP_OK;

	onnx__model_proto__init(&x->mp);
	onnx__graph_proto__init(&x->graph);
	onnx__operator_set_id_proto__init(&x->opset);
	x->mp.has_ir_version = 1;
	x->mp.ir_version = 7;
	x->mp.producer_name = (char *)"edgepipe";
	x->mp.producer_version = (char *)EDGEPIPE_VERSION;
	x->opsets[0] = &x->opset;
	x->mp.n_opset_import = 1;
	x->mp.opset_import = x->opsets;
	x->opset.domain = (char *)"";
	x->opset.has_version = 1;
	x->opset.version = MODEL_ONNX_OPSET;
	x->mp.graph = x->gp;
	x->gp->name = astr(x, "%s", model_graph_name(x->g));
	x->gp->doc_string = (char *)"written by edgepipe (models/model_onnx.h): NCHW, batch 1";
	x->in_vi = value_info(x, model_graph_layer(x->g, 0));
	x->out_vi = value_info(x, model_graph_layer(x->g, n - 1));
	x->gp->n_input = x->gp->n_output = 1;
	x->gp->input = &x->in_vi;
	x->gp->output = &x->out_vi;
	if (!x->in_vi || !x->out_vi || !init_f(x, "edgepipe/zero", 0, nodims, &zero) ||
	    !init_f(x, "edgepipe/six", 0, nodims, &six))
		rc = EP_ENOMEM;
	for (size_t i = 1; i < n && !rc; i++)
		rc = export_layer(x, i);
	if (rc == EP_ENOMEM)
		ep_error_set(x->err, rc, "out of memory exporting '%s'", model_graph_name(x->g));
	return rc;
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

/* Packed straight into a temporary file renamed at the end: no second copy of the weights in
 * memory, and nothing half-written. */
static int model_write(const Onnx__ModelProto *mp, const char *path, struct ep_error *err)
{
	char tmp[4096];
	struct file_buffer fb = { .base = { file_append } };
	bool closed;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	fb.f = fopen(tmp, "wb");
	if (!fb.f)
		return ep_error_set(err, EP_EIO, "cannot write '%s': %s", tmp, strerror(errno));
	onnx__model_proto__pack_to_buffer(mp, &fb.base);
	closed = fclose(fb.f) == 0;
	if (!closed || fb.failed) {
		unlink(tmp);
		return ep_error_set(err, EP_EIO, "writing '%s' failed: %s", path, strerror(errno));
	}
	if (rename(tmp, path)) {
		unlink(tmp);
		return ep_error_set(err, EP_EIO, "cannot rename '%s' to '%s': %s", tmp, path,
				    strerror(errno));
	}
	return EP_OK;
}

int model_onnx_save(const struct model_weights *w, const char *path, struct ep_error *err)
{
	struct ex x = { .g = model_weights_graph(w), .w = w, .err = err };
	int rc;

	x.gp = &x.graph;
	if ((rc = model_graph_validate(x.g, err)) || (rc = check_part_names(&x)))
		return rc;
	rc = export_graph(&x);
	if (!rc)
		rc = model_write(&x.mp, path, err);
	while (x.blocks) {
		struct arena_block *b = x.blocks->next;

		free(x.blocks);
		x.blocks = b;
	}
	return rc;
}
