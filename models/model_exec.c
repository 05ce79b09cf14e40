#include "model_exec.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthreadpool.h>
#include <xnnpack.h>

#include "ep_util.h"

/* ---- Counting allocator ------------------------------------------------------------------ */

/*
 * Every block XNNPACK allocates carries a header in front of it: its size and the counter it
 * was charged to (the stage being created or set up in this thread, or none), so that a free
 * from any thread credits the right counter.
 */
#define HDR 64 /* >= any alignment XNNPACK asks for (XNN_ALLOCATION_ALIGNMENT is 64 at most) */

struct block_hdr {
	size_t size;
	int64_t *owner;
};

static atomic_llong total_bytes;
static _Thread_local int64_t *charge_to;

static void *count_alloc(size_t alignment, size_t size)
{
	void *base = NULL;
	struct block_hdr *h;

	if (alignment > HDR)
		return NULL;
	if (posix_memalign(&base, HDR, HDR + size) != 0)
		return NULL;
	h = base;
	h->size = size;
	h->owner = charge_to;
	if (h->owner)
		*h->owner += (int64_t)size;
	atomic_fetch_add(&total_bytes, (long long)size);
	return (char *)base + HDR;
}

static void count_free(void *p)
{
	struct block_hdr *h;

	if (!p)
		return;
	h = (struct block_hdr *)((char *)p - HDR);
	if (h->owner)
		*h->owner -= (int64_t)h->size;
	atomic_fetch_sub(&total_bytes, (long long)h->size);
	free(h);
}

static void *xa_allocate(void *ctx, size_t size)
{
	return count_alloc(16, size);
}

static void *xa_reallocate(void *ctx, void *p, size_t size)
{
	void *q;

	if (!p)
		return count_alloc(16, size);
	q = count_alloc(16, size);
	if (!q)
		return NULL;
	{
		const struct block_hdr *h = (const struct block_hdr *)((char *)p - HDR);

		memcpy(q, p, h->size < size ? h->size : size);
	}
	count_free(p);
	return q;
}

static void xa_deallocate(void *ctx, void *p)
{
	count_free(p);
}

static void *xa_aligned_allocate(void *ctx, size_t alignment, size_t size)
{
	return count_alloc(alignment, size);
}

static const struct xnn_allocator counting_allocator = {
	.context = NULL,
	.allocate = xa_allocate,
	.reallocate = xa_reallocate,
	.deallocate = xa_deallocate,
	.aligned_allocate = xa_aligned_allocate,
	.aligned_deallocate = xa_deallocate,
};

static pthread_once_t xnn_once = PTHREAD_ONCE_INIT;
static enum xnn_status xnn_init_status;

static void xnn_init(void)
{
	xnn_init_status = xnn_initialize(&counting_allocator);
}

int64_t model_exec_allocated_bytes(void)
{
	return (int64_t)atomic_load(&total_bytes);
}

/* ---- Stage ------------------------------------------------------------------------------- */

enum plain_op {
	PLAIN_NONE = 0,
	PLAIN_SCALE_SHIFT, /* BatchNormalization, Normalization, Rescaling: x * a[c] + b[c] */
	PLAIN_SCALE_SUM,   /* Lambda: a + b * scale */
	PLAIN_CONCAT,
	PLAIN_AVG_POOL_SAME,
	PLAIN_ACT,         /* an activation layer written plainly (tanh, hard_sigmoid, ...) */
	PLAIN_LEAKY_RELU,  /* ReLU with a negative slope (and its cap, if any) */
};

struct exec_layer {
	enum model_exec_kernel kind;
	enum plain_op plain;
	enum model_activation post; /* an activation applied plainly after the kernel */
	int n_ops;
	xnn_operator_t ops[MODEL_MAX_INPUTS];
	int buf;                    /* output buffer; -1 for none */
	int tmp;                    /* SeparableConv2D's intermediate buffer; -1 for none */
	bool materialised;          /* false: a convolution holding its folded BN's output */
	float *a, *b;               /* plain parameters (per channel) */
	int64_t pad[4];             /* AveragePooling2D SAME: top, bottom, left, right */
};

struct model_stage {
	const struct model_graph *g;
	int first, last;
	struct model_exec_options opt;
	pthreadpool_t pool;
	struct exec_layer *layers; /* index: layer - first */
	int n_bufs;
	float **bufs;
	int64_t *buf_cap; /* floats */
	int64_t xnn_weight_bytes, xnn_workspace_bytes, plain_weight_bytes, act_bytes;
};

const char *model_exec_kernel_name(enum model_exec_kernel k)
{
	switch (k) {
	case MODEL_EXEC_XNNPACK:
		return "xnnpack";
	case MODEL_EXEC_PLAIN:
		return "plain";
	case MODEL_EXEC_FOLDED:
		return "folded";
	case MODEL_EXEC_ALIAS:
		return "alias";
	default:
		return "none";
	}
}

static const struct model_layer *layer_at(const struct model_graph *g, int i)
{
	return model_graph_layer(g, (size_t)i);
}

static int64_t channels(const struct model_layer *l)
{
	return l->shape[l->rank - 1];
}

static bool is_conv(enum model_op op)
{
	return op == MODEL_OP_CONV2D || op == MODEL_OP_DEPTHWISE_CONV2D ||
	       op == MODEL_OP_SEPARABLE_CONV2D;
}

static bool is_alias(const struct model_layer *l)
{
	return l->op == MODEL_OP_FLATTEN || l->op == MODEL_OP_RESHAPE ||
	       l->op == MODEL_OP_DROPOUT ||
	       (l->op == MODEL_OP_ACTIVATION && l->attrs.activation == MODEL_ACT_LINEAR);
}

static int bad(struct ep_error *err, const struct model_layer *l, const char *what)
{
	return ep_error_set(err, EP_EINVAL, "layer '%s' (%s): the executor cannot run %s",
			    l->name, l->op_name, what);
}

/* Conv2D, DepthwiseConv2D, SeparableConv2D and the poolings: a window over H x W x C. */
static int check_window(const struct model_layer *l, const struct model_layer *x,
			struct ep_error *err)
{
	const struct model_attrs *a = &l->attrs;

	if (l->rank != 3 || x->rank != 3)
		return bad(err, l, "a window over a tensor that is not H x W x C");
	if (a->kernel[0] < 1 || a->kernel[1] < 1)
		return bad(err, l, "a window without a kernel size");
	if (l->op == MODEL_OP_MAX_POOL2D && a->kernel[0] * a->kernel[1] < 2)
		return bad(err, l, "a 1x1 max pooling");
	if (l->op == MODEL_OP_SEPARABLE_CONV2D && (a->dilation[0] > 1 || a->dilation[1] > 1))
		return bad(err, l, "a dilated separable convolution");
	return EP_OK;
}

/* Add and Multiply: inputs of the output's rank that broadcast to it; a product of two, and
 * a broadcast only in a sum of two. */
static int check_elementwise(const struct model_graph *g, const struct model_layer *l,
			     struct ep_error *err)
{
	for (int i = 0; i < l->n_inputs; i++) {
		const struct model_layer *y = layer_at(g, l->inputs[i]);

		if (y->rank != l->rank)
			return bad(err, l, "inputs of different ranks");
		for (int d = 0; d < l->rank; d++)
			if (y->shape[d] != l->shape[d] && y->shape[d] != 1)
				return bad(err, l, "inputs whose shapes do not broadcast");
	}
	if (l->op == MODEL_OP_MULTIPLY && l->n_inputs != 2)
		return bad(err, l, "a product of other than two inputs");
	for (int i = 1; l->op == MODEL_OP_ADD && i < l->n_inputs; i++)
		if (model_layer_elements(layer_at(g, l->inputs[i])) != model_layer_elements(l))
			return bad(err, l, "a broadcast sum of more than two inputs");
	return EP_OK;
}

int model_exec_check_layer(const struct model_graph *g, size_t index, struct ep_error *err)
{
	const struct model_layer *l = model_graph_layer(g, index);
	const struct model_layer *x = l->n_inputs ? layer_at(g, l->inputs[0]) : NULL;
	const struct model_attrs *a = &l->attrs;

	if (l->op == MODEL_OP_INPUT)
		return EP_OK;
	if (!x)
		return bad(err, l, "a layer without inputs");
	switch (l->op) {
	case MODEL_OP_CONV2D:
	case MODEL_OP_DEPTHWISE_CONV2D:
	case MODEL_OP_SEPARABLE_CONV2D:
	case MODEL_OP_MAX_POOL2D:
	case MODEL_OP_AVG_POOL2D: return check_window(l, x, err);
	case MODEL_OP_DENSE:
		return EP_OK;
	case MODEL_OP_BATCH_NORM:
		if (a->axis != -1 && a->axis != l->rank)
			return bad(err, l, "a normalisation over an axis other than the channels");
		return EP_OK;
	case MODEL_OP_ACTIVATION:
	case MODEL_OP_RELU:
	case MODEL_OP_DROPOUT:
	case MODEL_OP_FLATTEN:
	case MODEL_OP_RESHAPE:
	case MODEL_OP_RESCALING:
	case MODEL_OP_NORMALIZATION:
		return EP_OK;
	case MODEL_OP_ADD:
	case MODEL_OP_MULTIPLY: return check_elementwise(g, l, err);
	case MODEL_OP_CONCATENATE:
		if (a->axis != -1 && a->axis != l->rank)
			return bad(err, l, "a concatenation on an axis other than the last");
		return EP_OK;
	case MODEL_OP_ZERO_PADDING2D:
		if (l->rank != 3 || x->rank != 3)
			return bad(err, l, "padding a tensor that is not H x W x C");
		return EP_OK;
	case MODEL_OP_GLOBAL_AVG_POOL2D:
		if (x->rank != 3)
			return bad(err, l, "pooling a tensor that is not H x W x C");
		return EP_OK;
	case MODEL_OP_LAMBDA:
		if (l->n_inputs != 2 ||
		    model_layer_elements(layer_at(g, l->inputs[0])) != model_layer_elements(l) ||
		    model_layer_elements(layer_at(g, l->inputs[1])) != model_layer_elements(l))
			return bad(err, l, "a Lambda other than the residual scale a + b * scale");
		return EP_OK;
	default:
		return ep_error_set(err, EP_EINVAL,
				    "layer '%s': the executor has no kernel for op '%s'", l->name,
				    l->op_name);
	}
}

static int xnn_fail(struct ep_error *err, const struct model_layer *l, const char *call,
		    enum xnn_status st)
{
	return ep_error_set(err, EP_EINTERNAL, "layer '%s' (%s): XNNPACK %s failed with status %d",
			    l->name, l->op_name, call, (int)st);
}

static struct exec_layer *el(struct model_stage *s, int i)
{
	return &s->layers[i - s->first];
}

static float *buf_of(const struct model_stage *s, int i)
{
	const struct exec_layer *e = &s->layers[i - s->first];

	return e->buf >= 0 ? s->bufs[e->buf] : NULL;
}

/* ---- Buffer planning --------------------------------------------------------------------- */

struct planner {
	int n, cap;
	int64_t *need;
	bool *busy;
};

/* A free buffer that fits `floats` (the smallest), else the largest free one grown, else new. */
static int plan_take(struct planner *p, int64_t floats)
{
	int best = -1, largest = -1;

	for (int i = 0; i < p->n; i++) {
		if (p->busy[i])
			continue;
		if (p->need[i] >= floats && (best < 0 || p->need[i] < p->need[best]))
			best = i;
		if (largest < 0 || p->need[i] > p->need[largest])
			largest = i;
	}
	if (best < 0 && largest >= 0) {
		best = largest;
		p->need[best] = floats;
	}
	if (best < 0) {
		if (p->n == p->cap) {
			int cap = p->cap ? 2 * p->cap : 16;
			int64_t *need = realloc(p->need, (size_t)cap * sizeof(*need));

			if (!need)
				return -1;
			p->need = need;
			bool *busy = realloc(p->busy, (size_t)cap * sizeof(*busy));

			if (!busy)
				return -1;
			p->busy = busy;
			p->cap = cap;
		}
		best = p->n++;
		p->need[best] = floats;
	}
	p->busy[best] = true;
	return best;
}

/*
 * Which layers of the stage are aliases or folded into their convolution, and for each layer
 * the root whose buffer holds its output (root, by index - first) and the last layer that
 * reads that root, directly or through an alias (last_use, by index - first).
 */
static void plan_kinds(struct model_stage *s, int *root, int *last_use)
{
	const struct model_graph *g = s->g;

	for (int i = s->first; i <= s->last; i++) {
		const struct model_layer *l = layer_at(g, i);
		struct exec_layer *e = el(s, i);

		e->buf = e->tmp = -1;
		e->materialised = true;
		root[i - s->first] = i;
		last_use[i - s->first] = i;
		if (i == s->first) {
			e->kind = MODEL_EXEC_NONE;
			continue;
		}
		if (is_alias(l)) {
			e->kind = MODEL_EXEC_ALIAS;
			root[i - s->first] = root[l->inputs[0] - s->first];
		} else if (l->op == MODEL_OP_BATCH_NORM && !s->opt.no_fold_bn &&
			   l->inputs[0] > s->first && is_conv(layer_at(g, l->inputs[0])->op) &&
			   layer_at(g, l->inputs[0])->attrs.activation == MODEL_ACT_LINEAR &&
			   model_graph_consumers(g, (size_t)l->inputs[0]) == 1) {
			e->kind = MODEL_EXEC_FOLDED;
			el(s, l->inputs[0])->materialised = false;
			root[i - s->first] = root[l->inputs[0] - s->first];
		}
		for (int k = 0; k < l->n_inputs; k++) {
			int r = root[l->inputs[k] - s->first];

			last_use[r - s->first] = i;
		}
	}
	/* Alias chains: a root lives until the last use of anything aliasing it. */
	for (int i = s->first; i <= s->last; i++) {
		int r = root[i - s->first];

		if (last_use[i - s->first] > last_use[r - s->first])
			last_use[r - s->first] = last_use[i - s->first];
	}
}

/*
 * Give every layer its buffer in the planner p, in layer order: an alias shares its root's, a
 * root takes a free one, and the buffers whose last reader a layer is go back to the pool
 * after it (unless the options keep every tensor). Returns EP_OK or EP_ENOMEM.
 */
static int plan_buffers(struct model_stage *s, const int *root, const int *last_use,
			struct planner *p)
{
	const struct model_graph *g = s->g;

	for (int i = s->first; i <= s->last; i++) {
		const struct model_layer *l = layer_at(g, i);
		struct exec_layer *e = el(s, i);
		int r = root[i - s->first];

		if (r != i) {
			e->buf = el(s, r)->buf;
		} else {
			e->buf = plan_take(p, model_layer_elements(l));
			if (e->buf < 0)
				return EP_ENOMEM;
		}
		if (l->op == MODEL_OP_SEPARABLE_CONV2D) {
			const struct model_layer *x = layer_at(g, l->inputs[0]);
			int64_t dm = l->attrs.depth_multiplier > 0 ? l->attrs.depth_multiplier : 1;

			e->tmp = plan_take(p, l->shape[0] * l->shape[1] * channels(x) * dm);
			if (e->tmp < 0)
				return EP_ENOMEM;
			p->busy[e->tmp] = false;
		}
		if (s->opt.keep_tensors || i == s->first)
			continue;
		/* Release the inputs whose last reader this is; a root nobody reads (not the
		 * output) is released at once. */
		for (int k = 0; k < l->n_inputs; k++) {
			int rin = root[l->inputs[k] - s->first];

			if (last_use[rin - s->first] == i && rin != root[s->last - s->first])
				p->busy[el(s, rin)->buf] = false;
		}
		if (r == i && last_use[i - s->first] == i && i != s->last)
			p->busy[e->buf] = false;
	}
	return EP_OK;
}

/* Allocate the planned buffers, each with XNNPACK's extra bytes at the end. */
static int alloc_buffers(struct model_stage *s, const struct planner *p, struct ep_error *err)
{
	s->n_bufs = p->n;
	s->bufs = calloc((size_t)p->n, sizeof(*s->bufs));
	s->buf_cap = calloc((size_t)p->n, sizeof(*s->buf_cap));
	if (!s->bufs || !s->buf_cap)
		return ep_error_set(err, EP_ENOMEM, "out of memory planning a stage");
	for (int b = 0; b < p->n; b++) {
		size_t bytes = (size_t)p->need[b] * sizeof(float) + XNN_EXTRA_BYTES;

		s->bufs[b] = calloc(1, bytes);
		if (!s->bufs[b])
			return ep_error_set(err, EP_ENOMEM,
					    "out of memory for %zu activation bytes", bytes);
		s->buf_cap[b] = p->need[b];
		s->act_bytes += (int64_t)bytes;
	}
	return EP_OK;
}

/* Decide kinds, folding and buffers for the layers first..last. */
static int plan_stage(struct model_stage *s, struct ep_error *err)
{
	int n = s->last - s->first + 1;
	int *root = malloc((size_t)n * sizeof(*root));
	int *last_use = malloc((size_t)n * sizeof(*last_use));
	struct planner p = {0};
	int rc;

	if (!root || !last_use) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory planning a stage");
		goto out;
	}
	plan_kinds(s, root, last_use);
	rc = plan_buffers(s, root, last_use, &p);
	if (rc) {
		rc = ep_error_set(err, rc, "out of memory planning a stage");
		goto out;
	}
	rc = alloc_buffers(s, &p, err);
out:
	free(p.need);
	free(p.busy);
	free(root);
	free(last_use);
	return rc;
}

/* ---- Operator creation ------------------------------------------------------------------- */

static void out_range(enum model_activation act, double max_value, float *lo, float *hi)
{
	*lo = -INFINITY;
	*hi = INFINITY;
	if (act == MODEL_ACT_RELU) {
		*lo = 0.0f;
		if (max_value > 0)
			*hi = (float)max_value;
	} else if (act == MODEL_ACT_RELU6) {
		*lo = 0.0f;
		*hi = 6.0f;
	}
}

/* TensorFlow's padding of one spatial axis: total max((out-1)*s + (k-1)*d + 1 - in, 0),
 * the smaller half first. */
static void tf_pad(const struct model_layer *l, int64_t in, int64_t out, int axis, int64_t *lo,
		   int64_t *hi)
{
	int64_t k = l->attrs.kernel[axis];
	int64_t st = l->attrs.strides[axis] > 0 ? l->attrs.strides[axis] : 1;
	int64_t d = l->attrs.dilation[axis] > 0 ? l->attrs.dilation[axis] : 1;
	int64_t total = (out - 1) * st + (k - 1) * d + 1 - in;

	if (l->attrs.padding != MODEL_PAD_SAME || total < 0)
		total = 0;
	*lo = total / 2;
	*hi = total - *lo;
}

/*
 * BatchNormalization layer l (index j) as a per-channel scale a and shift b, x * a + b:
 * a = gamma / sqrt(var + MODEL_BN_EPSILON), b = beta - mean * a (gamma 1 and beta 0 when the
 * layer has none). Both when it is folded into a convolution and when it runs plainly.
 */
static void bn_scale_shift(const struct model_weights *w, const struct model_layer *l, int j,
			   float *a, float *b)
{
	int t = 0;
	const float *gamma = l->attrs.scale ? model_weights_tensor_const(w, (size_t)j, t++) : NULL;
	const float *beta = l->attrs.center ? model_weights_tensor_const(w, (size_t)j, t++) : NULL;
	const float *mean = model_weights_tensor_const(w, (size_t)j, t++);
	const float *var = model_weights_tensor_const(w, (size_t)j, t++);

	for (int64_t k = 0; k < channels(l); k++) {
		float f = (gamma ? gamma[k] : 1.0f) / sqrtf(var[k] + MODEL_BN_EPSILON);

		a[k] = f;
		b[k] = (beta ? beta[k] : 0.0f) - mean[k] * f;
	}
}

/* The folded BatchNormalization after convolution `i`, if any: per output channel scale and
 * shift into sc/sh (allocated, caller frees); else both NULL. */
static int fold_params(struct model_stage *s, const struct model_weights *w, int i, float **sc,
		       float **sh)
{
	const struct model_graph *g = s->g;
	int n = (int)model_graph_layer_count(g);

	*sc = *sh = NULL;
	for (int j = i + 1; j <= s->last && j < n; j++) {
		const struct model_layer *b = layer_at(g, j);

		if (b->op != MODEL_OP_BATCH_NORM || b->inputs[0] != i ||
		    el(s, j)->kind != MODEL_EXEC_FOLDED)
			continue;
		*sc = malloc((size_t)channels(b) * sizeof(float));
		*sh = malloc((size_t)channels(b) * sizeof(float));
		if (!*sc || !*sh)
			return EP_ENOMEM;
		bn_scale_shift(w, b, j, *sc, *sh);
		return EP_OK;
	}
	return EP_OK;
}

/* bias'[f] = bias[f] * sc[f] + sh[f], kernel rows scaled by the caller. */
static void fold_bias(float *bias, const float *sc, const float *sh, int64_t n)
{
	for (int64_t f = 0; f < n; f++)
		bias[f] = bias[f] * sc[f] + sh[f];
}

struct conv_geom {
	uint32_t pt, pr, pb, pl, kh, kw, sh, sw, dh, dw;
};

static void conv_geom(const struct model_layer *l, const struct model_layer *x,
		      struct conv_geom *c)
{
	int64_t t, b, le, r;

	tf_pad(l, x->shape[0], l->shape[0], 0, &t, &b);
	tf_pad(l, x->shape[1], l->shape[1], 1, &le, &r);
	c->pt = (uint32_t)t;
	c->pb = (uint32_t)b;
	c->pl = (uint32_t)le;
	c->pr = (uint32_t)r;
	c->kh = (uint32_t)l->attrs.kernel[0];
	c->kw = (uint32_t)l->attrs.kernel[1];
	c->sh = (uint32_t)(l->attrs.strides[0] > 0 ? l->attrs.strides[0] : 1);
	c->sw = (uint32_t)(l->attrs.strides[1] > 0 ? l->attrs.strides[1] : 1);
	c->dh = (uint32_t)(l->attrs.dilation[0] > 0 ? l->attrs.dilation[0] : 1);
	c->dw = (uint32_t)(l->attrs.dilation[1] > 0 ? l->attrs.dilation[1] : 1);
}

/* What the parts of a convolution share while they are created. */
struct conv_parts {
	const struct model_layer *l, *x;
	struct conv_geom cg;
	int64_t c, f, kh, kw; /* input and output channels, kernel size */
	const float *sc, *sh; /* the folded BatchNormalization's scale and shift, or NULL */
	float *bias;	      /* f floats, zero without use_bias */
	float lo, hi;	      /* the fused activation's output range */
};

/* The bias tensor `t` of layer i (if it has one) with the folded normalisation applied. */
static void conv_bias(const struct model_weights *w, int i, int t, struct conv_parts *p)
{
	if (p->l->attrs.use_bias)
		memcpy(p->bias, model_weights_tensor_const(w, (size_t)i, t),
		       (size_t)p->f * sizeof(float));
	if (p->sc)
		fold_bias(p->bias, p->sc, p->sh, p->f);
}

/* Conv2D, grouped or not, as one XNNPACK convolution. */
static int create_conv2d(struct model_stage *s, const struct model_weights *w, int i,
			 struct conv_parts *p, struct ep_error *err)
{
	const struct conv_geom *cg = &p->cg;
	int64_t groups = p->l->attrs.groups > 1 ? p->l->attrs.groups : 1;
	int64_t cg_in = p->c / groups, f = p->f, kh = p->kh, kw = p->kw;
	const float *kk = model_weights_tensor_const(w, (size_t)i, 0);
	float *kernel = malloc((size_t)(f * kh * kw * cg_in) * sizeof(float));
	enum xnn_status st;

	if (!kernel)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	/* Keras HWIO [kh][kw][C/g][F] to XNNPACK's [g][F/g][kh][kw][C/g] = [F][kh][kw][C/g] */
	for (int64_t y = 0; y < kh; y++)
		for (int64_t xx = 0; xx < kw; xx++)
			for (int64_t c0 = 0; c0 < cg_in; c0 += 32)
				for (int64_t o0 = 0; o0 < f; o0 += 32)
					for (int64_t o = o0; o < o0 + 32 && o < f; o++)
						for (int64_t ci = c0; ci < c0 + 32 && ci < cg_in;
						     ci++)
							kernel[((o * kh + y) * kw + xx) * cg_in +
							       ci] = kk[((y * kw + xx) * cg_in +
									 ci) * f +
									o] *
								     (p->sc ? p->sc[o] : 1.0f);
	conv_bias(w, i, 1, p);
	st = xnn_create_convolution2d_nhwc_f32(
		cg->pt, cg->pr, cg->pb, cg->pl, cg->kh, cg->kw, cg->sh, cg->sw, cg->dh, cg->dw,
		(uint32_t)groups, (size_t)cg_in, (size_t)(f / groups), (size_t)p->c, (size_t)f,
		kernel, p->bias, p->lo, p->hi, 0, &el(s, i)->ops[0]);
	free(kernel);
	if (st != xnn_status_success)
		return xnn_fail(err, p->l, "create convolution", st);
	el(s, i)->n_ops = 1;
	return EP_OK;
}

/*
 * DepthwiseConv2D, or the depthwise half of a SeparableConv2D (then without bias, activation
 * or folding, which belong to the pointwise half).
 */
static int create_depthwise(struct model_stage *s, const struct model_weights *w, int i,
			    struct conv_parts *p, struct ep_error *err)
{
	const struct conv_geom *cg = &p->cg;
	int64_t dm = p->l->attrs.depth_multiplier > 0 ? p->l->attrs.depth_multiplier : 1;
	bool sep = p->l->op == MODEL_OP_SEPARABLE_CONV2D;
	const float *kk = model_weights_tensor_const(w, (size_t)i, 0);
	int64_t c = p->c, nk = p->kh * p->kw * c * dm;
	float *kernel = malloc((size_t)nk * sizeof(float));
	enum xnn_status st;

	if (!kernel)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	/* Keras [kh][kw][C][dm] is XNNPACK's depthwise [kh][kw][C*dm]. */
	for (int64_t k = 0; k < nk; k++)
		kernel[k] = kk[k] * (!sep && p->sc ? p->sc[k % (c * dm)] : 1.0f);
	if (!sep)
		conv_bias(w, i, 1, p);
	st = xnn_create_convolution2d_nhwc_f32(
		cg->pt, cg->pr, cg->pb, cg->pl, cg->kh, cg->kw, cg->sh, cg->sw, cg->dh, cg->dw,
		(uint32_t)c, 1, (size_t)dm, (size_t)c, (size_t)(c * dm), kernel,
		sep ? NULL : p->bias, sep ? -INFINITY : p->lo, sep ? INFINITY : p->hi,
		XNN_FLAG_DEPTHWISE_CONVOLUTION, &el(s, i)->ops[0]);
	free(kernel);
	if (st != xnn_status_success)
		return xnn_fail(err, p->l, "create depthwise convolution", st);
	el(s, i)->n_ops = 1;
	return EP_OK;
}

/* The pointwise half of a SeparableConv2D: a 1x1 convolution after the depthwise one. */
static int create_pointwise(struct model_stage *s, const struct model_weights *w, int i,
			    struct conv_parts *p, struct ep_error *err)
{
	int64_t dm = p->l->attrs.depth_multiplier > 0 ? p->l->attrs.depth_multiplier : 1;
	const float *pk = model_weights_tensor_const(w, (size_t)i, 1);
	int64_t m = p->c * dm, f = p->f;
	float *pkt = malloc((size_t)(m * f) * sizeof(float));
	enum xnn_status st;

	if (!pkt)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	/* [1][1][C*dm][F] to [F][C*dm] */
	for (int64_t ci = 0; ci < m; ci++)
		for (int64_t o = 0; o < f; o++)
			pkt[o * m + ci] = pk[ci * f + o] * (p->sc ? p->sc[o] : 1.0f);
	conv_bias(w, i, 2, p);
	st = xnn_create_convolution2d_nhwc_f32(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, (size_t)m,
					       (size_t)f, (size_t)m, (size_t)f, pkt, p->bias, p->lo,
					       p->hi, 0, &el(s, i)->ops[1]);
	free(pkt);
	if (st != xnn_status_success)
		return xnn_fail(err, p->l, "create pointwise convolution", st);
	el(s, i)->n_ops = 2;
	return EP_OK;
}

/* Bind the convolution's operators to the stage's buffers (a separable one through its
 * intermediate buffer). */
static int setup_conv(struct model_stage *s, int i, const struct conv_parts *p,
		      struct ep_error *err)
{
	const struct model_layer *l = p->l, *x = p->x;
	struct exec_layer *e = el(s, i);
	float *in = buf_of(s, l->inputs[0]), *out = buf_of(s, i);
	float *mid = l->op == MODEL_OP_SEPARABLE_CONV2D ? s->bufs[e->tmp] : out;
	enum xnn_status st;

	st = xnn_setup_convolution2d_nhwc_f32(e->ops[0], 1, (size_t)x->shape[0],
					      (size_t)x->shape[1], in, mid, s->pool);
	if (st == xnn_status_success && e->n_ops == 2)
		st = xnn_setup_convolution2d_nhwc_f32(e->ops[1], 1, (size_t)l->shape[0],
						      (size_t)l->shape[1], mid, out, s->pool);
	if (st != xnn_status_success)
		return xnn_fail(err, l, "setup convolution", st);
	return EP_OK;
}

/* Conv2D, DepthwiseConv2D or SeparableConv2D, with the BatchNormalization folded into it. */
static int create_conv(struct model_stage *s, const struct model_weights *w, int i,
		       struct ep_error *err)
{
	struct conv_parts p = {.l = layer_at(s->g, i)};
	float *sc = NULL, *sh = NULL;
	int rc;

	p.x = layer_at(s->g, p.l->inputs[0]);
	p.c = channels(p.x);
	p.f = channels(p.l);
	p.kh = p.l->attrs.kernel[0];
	p.kw = p.l->attrs.kernel[1];
	conv_geom(p.l, p.x, &p.cg);
	out_range(p.l->attrs.activation, 0, &p.lo, &p.hi);
	if (fold_params(s, w, i, &sc, &sh) != EP_OK) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory");
		goto out;
	}
	p.sc = sc;
	p.sh = sh;
	p.bias = calloc((size_t)p.f, sizeof(float));
	if (!p.bias) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory");
		goto out;
	}
	charge_to = &s->xnn_weight_bytes;
	if (p.l->op == MODEL_OP_CONV2D) {
		rc = create_conv2d(s, w, i, &p, err);
	} else {
		rc = create_depthwise(s, w, i, &p, err);
		if (rc == EP_OK && p.l->op == MODEL_OP_SEPARABLE_CONV2D)
			rc = create_pointwise(s, w, i, &p, err);
	}
	if (rc)
		goto out;
	charge_to = &s->xnn_workspace_bytes;
	rc = setup_conv(s, i, &p, err);
out:
	charge_to = NULL;
	free(p.bias);
	free(sc);
	free(sh);
	return rc;
}

static bool plain_act(enum model_activation act)
{
	return act == MODEL_ACT_SWISH || act == MODEL_ACT_SIGMOID || act == MODEL_ACT_TANH ||
	       act == MODEL_ACT_SOFTMAX || act == MODEL_ACT_HARD_SIGMOID ||
	       act == MODEL_ACT_HARD_SWISH;
}

static int create_dense(struct model_stage *s, const struct model_weights *w, int i,
			struct ep_error *err)
{
	const struct model_layer *l = layer_at(s->g, i);
	const struct model_layer *x = layer_at(s->g, l->inputs[0]);
	struct exec_layer *e = el(s, i);
	int64_t c = channels(x), u = l->attrs.units;
	float lo, hi;
	enum xnn_status st;

	const float *kk = model_weights_tensor_const(w, (size_t)i, 0);
	float *kt = malloc((size_t)(c * u) * sizeof(float));

	if (!kt)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	/* Keras [C][units] to XNNPACK's [units][C], in cache-sized blocks (XNNPACK's own
	 * transposing packer reads with a stride and takes seconds on VGG's fc1). */
	for (int64_t r0 = 0; r0 < c; r0 += 64)
		for (int64_t c0 = 0; c0 < u; c0 += 64)
			for (int64_t k = c0; k < c0 + 64 && k < u; k++)
				for (int64_t r = r0; r < r0 + 64 && r < c; r++)
					kt[k * c + r] = kk[r * u + k];
	out_range(l->attrs.activation, 0, &lo, &hi);
	charge_to = &s->xnn_weight_bytes;
	st = xnn_create_fully_connected_nc_f32((size_t)c, (size_t)u, (size_t)c, (size_t)u, kt,
					       l->attrs.use_bias
						       ? model_weights_tensor_const(w, (size_t)i, 1)
						       : NULL,
					       lo, hi, 0, &e->ops[0]);
	charge_to = NULL;
	free(kt);
	if (st != xnn_status_success)
		return xnn_fail(err, l, "create fully connected", st);
	e->n_ops = 1;
	charge_to = &s->xnn_workspace_bytes;
	st = xnn_setup_fully_connected_nc_f32(e->ops[0], (size_t)(model_layer_elements(x) / c),
					      buf_of(s, l->inputs[0]), buf_of(s, i), s->pool);
	charge_to = NULL;
	if (st != xnn_status_success)
		return xnn_fail(err, l, "setup fully connected", st);
	if (plain_act(l->attrs.activation))
		e->post = l->attrs.activation;
	return EP_OK;
}

static void nd_shape(const struct model_layer *l, size_t *shape)
{
	for (int d = 0; d < l->rank; d++)
		shape[d] = (size_t)l->shape[d];
}

static int create_elementwise(struct model_stage *s, int i, struct ep_error *err)
{
	const struct model_layer *l = layer_at(s->g, i);
	struct exec_layer *e = el(s, i);
	size_t sa[MODEL_MAX_RANK], sb[MODEL_MAX_RANK];
	enum xnn_status st = xnn_status_success;
	float *out = buf_of(s, i);

	for (int k = 1; k < l->n_inputs; k++) {
		const struct model_layer *a = k == 1 ? layer_at(s->g, l->inputs[0]) : l;
		const struct model_layer *b = layer_at(s->g, l->inputs[k]);
		const float *pa = k == 1 ? buf_of(s, l->inputs[0]) : out;

		nd_shape(a, sa);
		nd_shape(b, sb);
		charge_to = &s->xnn_weight_bytes;
		if (l->op == MODEL_OP_ADD)
			st = xnn_create_add_nd_f32(-INFINITY, INFINITY, 0, &e->ops[k - 1]);
		else
			st = xnn_create_multiply_nd_f32(-INFINITY, INFINITY, 0, &e->ops[k - 1]);
		charge_to = NULL;
		if (st != xnn_status_success)
			return xnn_fail(err, l, "create binary operator", st);
		e->n_ops = k;
		charge_to = &s->xnn_workspace_bytes;
		if (l->op == MODEL_OP_ADD)
			st = xnn_setup_add_nd_f32(e->ops[k - 1], (size_t)a->rank, sa, (size_t)b->rank,
						  sb, pa, buf_of(s, l->inputs[k]), out, s->pool);
		else
			st = xnn_setup_multiply_nd_f32(e->ops[k - 1], (size_t)a->rank, sa,
						       (size_t)b->rank, sb, pa,
						       buf_of(s, l->inputs[k]), out, s->pool);
		charge_to = NULL;
		if (st != xnn_status_success)
			return xnn_fail(err, l, "setup binary operator", st);
	}
	return EP_OK;
}

/* relu/relu6/capped ReLU as a clamp, sigmoid, softmax (and swish's sigmoid) on XNNPACK. */
static int create_activation(struct model_stage *s, int i, enum model_activation act,
			     double max_value, struct ep_error *err)
{
	const struct model_layer *l = layer_at(s->g, i);
	struct exec_layer *e = el(s, i);
	size_t c = (size_t)channels(l), batch = (size_t)model_layer_elements(l) / c;
	const float *in = buf_of(s, l->inputs[0]);
	float *out = buf_of(s, i);
	enum xnn_status st;
	float lo, hi;

	if (act == MODEL_ACT_TANH || act == MODEL_ACT_HARD_SIGMOID || act == MODEL_ACT_HARD_SWISH) {
		e->kind = MODEL_EXEC_PLAIN;
		e->plain = PLAIN_ACT;
		e->post = act;
		return EP_OK;
	}
	charge_to = &s->xnn_weight_bytes;
	if (act == MODEL_ACT_SIGMOID || act == MODEL_ACT_SWISH) {
		st = xnn_create_sigmoid_nc_f32(c, c, c, 0, &e->ops[0]);
	} else if (act == MODEL_ACT_SOFTMAX) {
		st = xnn_create_softmax_nc_f32(c, c, c, 0, &e->ops[0]);
	} else {
		out_range(act, max_value, &lo, &hi);
		st = xnn_create_clamp_nc_f32(c, c, c, lo, hi, 0, &e->ops[0]);
	}
	charge_to = NULL;
	if (st != xnn_status_success)
		return xnn_fail(err, l, "create activation", st);
	e->n_ops = 1;
	charge_to = &s->xnn_workspace_bytes;
	if (act == MODEL_ACT_SIGMOID || act == MODEL_ACT_SWISH)
		st = xnn_setup_sigmoid_nc_f32(e->ops[0], batch, in, out, s->pool);
	else if (act == MODEL_ACT_SOFTMAX)
		st = xnn_setup_softmax_nc_f32(e->ops[0], batch, in, out, s->pool);
	else
		st = xnn_setup_clamp_nc_f32(e->ops[0], batch, in, out, s->pool);
	charge_to = NULL;
	if (st != xnn_status_success)
		return xnn_fail(err, l, "setup activation", st);
	if (act == MODEL_ACT_SWISH)
		e->post = MODEL_ACT_SWISH; /* out = in * out after the sigmoid */
	return EP_OK;
}

static int create_pool(struct model_stage *s, int i, struct ep_error *err)
{
	const struct model_layer *l = layer_at(s->g, i);
	const struct model_layer *x = layer_at(s->g, l->inputs[0]);
	struct exec_layer *e = el(s, i);
	struct conv_geom cg;
	size_t c = (size_t)channels(x);
	enum xnn_status st;

	conv_geom(l, x, &cg);
	if (l->attrs.strides[0] < 1) {
		cg.sh = cg.kh;
		cg.sw = cg.kw;
	}
	cg.dh = cg.dw = 1;
	if (l->op == MODEL_OP_AVG_POOL2D && cg.pt + cg.pb + cg.pl + cg.pr > 0) {
		e->kind = MODEL_EXEC_PLAIN;
		e->plain = PLAIN_AVG_POOL_SAME;
		e->pad[0] = cg.pt;
		e->pad[1] = cg.pb;
		e->pad[2] = cg.pl;
		e->pad[3] = cg.pr;
		return EP_OK;
	}
	charge_to = &s->xnn_weight_bytes;
	if (l->op == MODEL_OP_MAX_POOL2D)
		st = xnn_create_max_pooling2d_nhwc_f32(cg.pt, cg.pr, cg.pb, cg.pl, cg.kh, cg.kw,
						       cg.sh, cg.sw, 1, 1, c, c, c, -INFINITY,
						       INFINITY, 0, &e->ops[0]);
	else
		st = xnn_create_average_pooling2d_nhwc_f32(0, 0, 0, 0, cg.kh, cg.kw, cg.sh, cg.sw,
							   c, c, c, -INFINITY, INFINITY, 0,
							   &e->ops[0]);
	charge_to = NULL;
	if (st != xnn_status_success)
		return xnn_fail(err, l, "create pooling", st);
	e->n_ops = 1;
	charge_to = &s->xnn_workspace_bytes;
	if (l->op == MODEL_OP_MAX_POOL2D)
		st = xnn_setup_max_pooling2d_nhwc_f32(e->ops[0], 1, (size_t)x->shape[0],
						      (size_t)x->shape[1], buf_of(s, l->inputs[0]),
						      buf_of(s, i), s->pool);
	else
		st = xnn_setup_average_pooling2d_nhwc_f32(e->ops[0], 1, (size_t)x->shape[0],
							  (size_t)x->shape[1],
							  buf_of(s, l->inputs[0]), buf_of(s, i),
							  s->pool);
	charge_to = NULL;
	if (st != xnn_status_success)
		return xnn_fail(err, l, "setup pooling", st);
	return EP_OK;
}

static int create_gap(struct model_stage *s, int i, struct ep_error *err)
{
	const struct model_layer *l = layer_at(s->g, i);
	const struct model_layer *x = layer_at(s->g, l->inputs[0]);
	struct exec_layer *e = el(s, i);
	size_t c = (size_t)channels(x);
	enum xnn_status st;

	charge_to = &s->xnn_weight_bytes;
	st = xnn_create_global_average_pooling_nwc_f32(c, c, c, -INFINITY, INFINITY, 0,
						       &e->ops[0]);
	charge_to = NULL;
	if (st != xnn_status_success)
		return xnn_fail(err, l, "create global average pooling", st);
	e->n_ops = 1;
	charge_to = &s->xnn_workspace_bytes;
	st = xnn_setup_global_average_pooling_nwc_f32(e->ops[0], 1,
						      (size_t)(x->shape[0] * x->shape[1]),
						      buf_of(s, l->inputs[0]), buf_of(s, i),
						      s->pool);
	charge_to = NULL;
	if (st != xnn_status_success)
		return xnn_fail(err, l, "setup global average pooling", st);
	return EP_OK;
}

static int create_pad(struct model_stage *s, int i, struct ep_error *err)
{
	const struct model_layer *l = layer_at(s->g, i);
	const struct model_layer *x = layer_at(s->g, l->inputs[0]);
	struct exec_layer *e = el(s, i);
	const uint32_t zero = 0;
	size_t shape[3], pre[3], post[3];
	enum xnn_status st;

	nd_shape(x, shape);
	pre[0] = (size_t)l->attrs.pad[0];
	post[0] = (size_t)l->attrs.pad[1];
	pre[1] = (size_t)l->attrs.pad[2];
	post[1] = (size_t)l->attrs.pad[3];
	pre[2] = post[2] = 0;
	charge_to = &s->xnn_weight_bytes;
	st = xnn_create_constant_pad_nd_x32(&zero, 0, &e->ops[0]);
	charge_to = NULL;
	if (st != xnn_status_success)
		return xnn_fail(err, l, "create constant pad", st);
	e->n_ops = 1;
	charge_to = &s->xnn_workspace_bytes;
	st = xnn_setup_constant_pad_nd_x32(e->ops[0], 3, shape, pre, post,
					   buf_of(s, l->inputs[0]), buf_of(s, i), s->pool);
	charge_to = NULL;
	if (st != xnn_status_success)
		return xnn_fail(err, l, "setup constant pad", st);
	return EP_OK;
}

/* Plain per-channel scale and shift: BatchNormalization, Normalization, Rescaling. */
static int create_scale_shift(struct model_stage *s, const struct model_weights *w, int i,
			      struct ep_error *err)
{
	const struct model_layer *l = layer_at(s->g, i);
	struct exec_layer *e = el(s, i);
	int64_t c = channels(l);

	e->kind = MODEL_EXEC_PLAIN;
	e->plain = PLAIN_SCALE_SHIFT;
	e->a = malloc((size_t)c * sizeof(float));
	e->b = malloc((size_t)c * sizeof(float));
	if (!e->a || !e->b)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	s->plain_weight_bytes += 2 * c * (int64_t)sizeof(float);
	if (l->op == MODEL_OP_BATCH_NORM) {
		bn_scale_shift(w, l, i, e->a, e->b);
		return EP_OK;
	}
	for (int64_t k = 0; k < c; k++) {
		if (l->op == MODEL_OP_NORMALIZATION) {
			const float *mean = model_weights_tensor_const(w, (size_t)i, 0);
			const float *var = model_weights_tensor_const(w, (size_t)i, 1);
			float sd = sqrtf(var[k]);

			/* Keras: (x - mean) / max(sqrt(var), 1e-7) */
			e->a[k] = 1.0f / (sd > 1e-7f ? sd : 1e-7f);
			e->b[k] = -mean[k] * e->a[k];
		} else {
			e->a[k] = (float)l->attrs.scale_value;
			e->b[k] = 0.0f;
		}
	}
	return EP_OK;
}

static int create_layer(struct model_stage *s, const struct model_weights *w, int i,
			struct ep_error *err)
{
	const struct model_layer *l = layer_at(s->g, i);
	struct exec_layer *e = el(s, i);

	if (i == s->first || e->kind == MODEL_EXEC_ALIAS || e->kind == MODEL_EXEC_FOLDED)
		return EP_OK;
	e->kind = MODEL_EXEC_XNNPACK;
	switch (l->op) {
	case MODEL_OP_CONV2D:
	case MODEL_OP_DEPTHWISE_CONV2D:
	case MODEL_OP_SEPARABLE_CONV2D: {
		int rc = create_conv(s, w, i, err);

		if (rc == EP_OK && plain_act(l->attrs.activation))
			e->post = l->attrs.activation;
		return rc;
	}
	case MODEL_OP_DENSE:
		return create_dense(s, w, i, err);
	case MODEL_OP_ADD:
	case MODEL_OP_MULTIPLY:
		return create_elementwise(s, i, err);
	case MODEL_OP_ACTIVATION:
		return create_activation(s, i, l->attrs.activation, 0, err);
	case MODEL_OP_RELU:
		if (l->attrs.negative_slope != 0) {
			e->kind = MODEL_EXEC_PLAIN;
			e->plain = PLAIN_LEAKY_RELU;
			return EP_OK;
		}
		return create_activation(s, i, MODEL_ACT_RELU, l->attrs.max_value, err);
	case MODEL_OP_MAX_POOL2D:
	case MODEL_OP_AVG_POOL2D:
		return create_pool(s, i, err);
	case MODEL_OP_GLOBAL_AVG_POOL2D:
		return create_gap(s, i, err);
	case MODEL_OP_ZERO_PADDING2D:
		return create_pad(s, i, err);
	case MODEL_OP_BATCH_NORM:
	case MODEL_OP_NORMALIZATION:
	case MODEL_OP_RESCALING:
		return create_scale_shift(s, w, i, err);
	case MODEL_OP_LAMBDA:
		e->kind = MODEL_EXEC_PLAIN;
		e->plain = PLAIN_SCALE_SUM;
		return EP_OK;
	case MODEL_OP_CONCATENATE:
		e->kind = MODEL_EXEC_PLAIN;
		e->plain = PLAIN_CONCAT;
		return EP_OK;
	default:
		return model_exec_check_layer(s->g, (size_t)i, err);
	}
}

int model_stage_create(const struct model_weights *w, int first_layer, int last_layer,
		       const struct model_exec_options *opt, struct model_stage **out,
		       struct ep_error *err)
{
	const struct model_graph *g = model_weights_graph(w);
	int n = (int)model_graph_layer_count(g);
	struct model_stage *s = NULL;
	int rc;

	*out = NULL;
	if (first_layer < 0 || last_layer >= n || first_layer >= last_layer)
		return ep_error_set(err, EP_EINVAL,
				    "stage from layer %d to layer %d of '%s' (%d layers): the first "
				    "must come before the last", first_layer, last_layer,
				    model_graph_name(g), n);
	if (opt && (opt->threads < 0 || opt->threads > MODEL_EXEC_MAX_THREADS))
		return ep_error_set(err, EP_EINVAL, "threads %d: must be in 1..%d", opt->threads,
				    MODEL_EXEC_MAX_THREADS);
	for (int i = first_layer + 1; i <= last_layer; i++) {
		const struct model_layer *l = layer_at(g, i);

		rc = model_exec_check_layer(g, (size_t)i, err);
		if (rc)
			return rc;
		for (int k = 0; k < l->n_inputs; k++)
			if (l->inputs[k] < first_layer)
				return ep_error_set(err, EP_EINVAL,
						    "stage after layer '%s': layer '%s' reads '%s', "
						    "before the stage (the first layer is not a cut "
						    "point)", layer_at(g, first_layer)->name, l->name,
						    layer_at(g, l->inputs[k])->name);
	}
	pthread_once(&xnn_once, xnn_init);
	if (xnn_init_status != xnn_status_success)
		return ep_error_set(err, EP_EINTERNAL, "XNNPACK initialisation failed (status %d)",
				    (int)xnn_init_status);
	s = calloc(1, sizeof(*s));
	if (!s)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	s->g = g;
	s->first = first_layer;
	s->last = last_layer;
	s->opt = opt ? *opt : MODEL_EXEC_OPTIONS_DEFAULT;
	if (s->opt.threads < 1)
		s->opt.threads = 1;
	s->layers = calloc((size_t)(last_layer - first_layer + 1), sizeof(*s->layers));
	if (!s->layers) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory");
		goto fail;
	}
	if (s->opt.threads > 1) {
		s->pool = pthreadpool_create((size_t)s->opt.threads);
		if (!s->pool) {
			rc = ep_error_set(err, EP_ENOMEM, "cannot create a pool of %d threads",
					  s->opt.threads);
			goto fail;
		}
	}
	rc = plan_stage(s, err);
	if (rc)
		goto fail;
	for (int i = first_layer + 1; i <= last_layer; i++) {
		rc = create_layer(s, w, i, err);
		if (rc)
			goto fail;
	}
	*out = s;
	return EP_OK;
fail:
	model_stage_destroy(s);
	return rc;
}

void model_stage_destroy(struct model_stage *s)
{
	if (!s)
		return;
	if (s->layers) {
		for (int i = s->first; i <= s->last; i++) {
			struct exec_layer *e = el(s, i);

			for (int k = 0; k < e->n_ops; k++)
				xnn_delete_operator(e->ops[k]);
			free(e->a);
			free(e->b);
		}
	}
	for (int b = 0; b < s->n_bufs && s->bufs; b++)
		free(s->bufs[b]);
	free(s->bufs);
	free(s->buf_cap);
	free(s->layers);
	if (s->pool)
		pthreadpool_destroy(s->pool);
	free(s);
}

int model_stage_first_layer(const struct model_stage *s)
{
	return s->first;
}

int model_stage_last_layer(const struct model_stage *s)
{
	return s->last;
}

int64_t model_stage_input_elements(const struct model_stage *s)
{
	return model_layer_elements(layer_at(s->g, s->first));
}

int64_t model_stage_output_elements(const struct model_stage *s)
{
	return model_layer_elements(layer_at(s->g, s->last));
}

/* ---- Plain kernels ----------------------------------------------------------------------- */

static void act_inplace(enum model_activation act, const float *in, float *x, int64_t n,
			int64_t c)
{
	switch (act) {
	case MODEL_ACT_SWISH:
		if (in) { /* x holds sigmoid(in) already */
			for (int64_t i = 0; i < n; i++)
				x[i] *= in[i];
		} else {
			for (int64_t i = 0; i < n; i++)
				x[i] = x[i] / (1.0f + expf(-x[i]));
		}
		break;
	case MODEL_ACT_SIGMOID:
		for (int64_t i = 0; i < n; i++)
			x[i] = 1.0f / (1.0f + expf(-x[i]));
		break;
	case MODEL_ACT_TANH:
		for (int64_t i = 0; i < n; i++)
			x[i] = tanhf(x[i]);
		break;
	case MODEL_ACT_HARD_SIGMOID:
	case MODEL_ACT_HARD_SWISH:
		for (int64_t i = 0; i < n; i++) {
			float h = fminf(fmaxf(x[i] + 3.0f, 0.0f), 6.0f) / 6.0f;

			x[i] = act == MODEL_ACT_HARD_SWISH ? x[i] * h : h;
		}
		break;
	case MODEL_ACT_SOFTMAX:
		for (int64_t r = 0; r < n; r += c) {
			float m = x[r], sum = 0.0f;

			for (int64_t k = 1; k < c; k++)
				m = x[r + k] > m ? x[r + k] : m;
			for (int64_t k = 0; k < c; k++) {
				x[r + k] = expf(x[r + k] - m);
				sum += x[r + k];
			}
			for (int64_t k = 0; k < c; k++)
				x[r + k] /= sum;
		}
		break;
	default:
		break;
	}
}

/* A plainly written kernel: layer i of stage s, its exec_layer e, its first input's buffer and
 * its output's. */
typedef void plain_kernel_fn(const struct model_stage *s, int i, const struct exec_layer *e,
			     const float *in, float *out);

static void run_scale_shift(const struct model_stage *s, int i, const struct exec_layer *e,
			    const float *in, float *out)
{
	const struct model_layer *l = layer_at(s->g, i);
	int64_t n = model_layer_elements(l), c = channels(l);

	for (int64_t p = 0; p < n; p += c)
		for (int64_t k = 0; k < c; k++)
			out[p + k] = in[p + k] * e->a[k] + e->b[k];
}

static void run_scale_sum(const struct model_stage *s, int i, const struct exec_layer *e,
			  const float *in, float *out)
{
	const struct model_layer *l = layer_at(s->g, i);
	const float *b = buf_of(s, l->inputs[1]);
	float scale = (float)l->attrs.scale_value;
	int64_t n = model_layer_elements(l);

	for (int64_t k = 0; k < n; k++)
		out[k] = in[k] + b[k] * scale;
}

static void run_concat(const struct model_stage *s, int i, const struct exec_layer *e,
		       const float *in, float *out)
{
	const struct model_layer *l = layer_at(s->g, i);
	int64_t c = channels(l), pixels = model_layer_elements(l) / c, off = 0;

	for (int k = 0; k < l->n_inputs; k++) {
		const struct model_layer *x = layer_at(s->g, l->inputs[k]);
		const float *src = buf_of(s, l->inputs[k]);
		int64_t ck = channels(x);

		for (int64_t p = 0; p < pixels; p++)
			memcpy(out + p * c + off, src + p * ck, (size_t)ck * sizeof(float));
		off += ck;
	}
}

/* Keras's AveragePooling2D with SAME padding: the mean over the window's pixels inside the
 * image. */
static void run_avg_pool_same(const struct model_stage *s, int i, const struct exec_layer *e,
			      const float *in, float *out)
{
	const struct model_layer *l = layer_at(s->g, i);
	const struct model_layer *x = layer_at(s->g, l->inputs[0]);
	int64_t c = channels(l), h = x->shape[0], w = x->shape[1];
	int64_t kh = l->attrs.kernel[0], kw = l->attrs.kernel[1];
	int64_t sh = l->attrs.strides[0] > 0 ? l->attrs.strides[0] : kh;
	int64_t sw = l->attrs.strides[1] > 0 ? l->attrs.strides[1] : kw;

	for (int64_t oy = 0; oy < l->shape[0]; oy++)
		for (int64_t ox = 0; ox < l->shape[1]; ox++) {
			float *o = out + (oy * l->shape[1] + ox) * c;
			int64_t y0 = oy * sh - e->pad[0], x0 = ox * sw - e->pad[2];
			int count = 0;

			memset(o, 0, (size_t)c * sizeof(float));
			for (int64_t y = y0; y < y0 + kh; y++)
				for (int64_t xx = x0; xx < x0 + kw; xx++) {
					if (y < 0 || y >= h || xx < 0 || xx >= w)
						continue;
					const float *src = in + (y * w + xx) * c;

					for (int64_t k = 0; k < c; k++)
						o[k] += src[k];
					count++;
				}
			for (int64_t k = 0; k < c; k++)
				o[k] /= (float)count;
		}
}

static void run_act(const struct model_stage *s, int i, const struct exec_layer *e, const float *in,
		    float *out)
{
	const struct model_layer *l = layer_at(s->g, i);
	int64_t n = model_layer_elements(l);

	memcpy(out, in, (size_t)n * sizeof(float));
	act_inplace(e->post, NULL, out, n, channels(l));
}

static void run_leaky_relu(const struct model_stage *s, int i, const struct exec_layer *e,
			   const float *in, float *out)
{
	const struct model_layer *l = layer_at(s->g, i);
	float slope = (float)l->attrs.negative_slope;
	float cap = l->attrs.max_value > 0 ? (float)l->attrs.max_value : INFINITY;
	int64_t n = model_layer_elements(l);

	for (int64_t k = 0; k < n; k++)
		out[k] = in[k] >= 0.0f ? fminf(in[k], cap) : in[k] * slope;
}

static plain_kernel_fn *const plain_kernels[] = {
	[PLAIN_SCALE_SHIFT] = run_scale_shift,
	[PLAIN_SCALE_SUM] = run_scale_sum,
	[PLAIN_CONCAT] = run_concat,
	[PLAIN_AVG_POOL_SAME] = run_avg_pool_same,
	[PLAIN_ACT] = run_act,
	[PLAIN_LEAKY_RELU] = run_leaky_relu,
};

static void run_plain(struct model_stage *s, int i)
{
	const struct exec_layer *e = el(s, i);
	plain_kernel_fn *fn = plain_kernels[e->plain];

	if (fn)
		fn(s, i, e, buf_of(s, layer_at(s->g, i)->inputs[0]), buf_of(s, i));
}

static int run_layer(struct model_stage *s, int i, struct ep_error *err)
{
	const struct model_layer *l = layer_at(s->g, i);
	struct exec_layer *e = el(s, i);

	if (e->kind == MODEL_EXEC_PLAIN) {
		run_plain(s, i);
		return EP_OK;
	}
	if (e->kind != MODEL_EXEC_XNNPACK)
		return EP_OK;
	for (int k = 0; k < e->n_ops; k++) {
		enum xnn_status st = xnn_run_operator(e->ops[k], s->pool);

		if (st != xnn_status_success)
			return xnn_fail(err, l, "run", st);
	}
	if (e->post != MODEL_ACT_LINEAR) {
		const float *in = e->post == MODEL_ACT_SWISH && l->op == MODEL_OP_ACTIVATION
					  ? buf_of(s, l->inputs[0])
					  : NULL;

		act_inplace(e->post, in, buf_of(s, i), model_layer_elements(l), channels(l));
	}
	return EP_OK;
}

static int run(struct model_stage *s, const float *input, float *output, double *seconds,
	       struct ep_error *err)
{
	memcpy(buf_of(s, s->first), input,
	       (size_t)model_stage_input_elements(s) * sizeof(float));
	for (int i = s->first + 1; i <= s->last; i++) {
		double t0 = seconds ? ep_now_s() : 0.0;
		int rc = run_layer(s, i, err);

		if (rc)
			return rc;
		if (seconds)
			seconds[i] = el(s, i)->kind == MODEL_EXEC_XNNPACK ||
					     el(s, i)->kind == MODEL_EXEC_PLAIN
				     ? ep_now_s() - t0
				     : 0.0;
	}
	memcpy(output, buf_of(s, s->last), (size_t)model_stage_output_elements(s) * sizeof(float));
	return EP_OK;
}

int model_stage_run(struct model_stage *s, const float *input, float *output,
		    struct ep_error *err)
{
	return run(s, input, output, NULL, err);
}

int model_stage_run_timed(struct model_stage *s, const float *input, float *output,
			  double *layer_seconds, struct ep_error *err)
{
	return run(s, input, output, layer_seconds, err);
}

const float *model_stage_tensor(const struct model_stage *s, size_t layer)
{
	const struct exec_layer *e;

	if ((int)layer < s->first || (int)layer > s->last)
		return NULL;
	e = &s->layers[(int)layer - s->first];
	if (!e->materialised)
		return NULL;
	if (!s->opt.keep_tensors && (int)layer != s->last)
		return NULL;
	return buf_of(s, (int)layer);
}

enum model_exec_kernel model_stage_layer_kernel(const struct model_stage *s, size_t layer)
{
	if ((int)layer <= s->first || (int)layer > s->last)
		return MODEL_EXEC_NONE;
	return s->layers[(int)layer - s->first].kind;
}

void model_stage_memory(const struct model_stage *s, struct model_stage_memory *m)
{
	m->weight_bytes = s->xnn_weight_bytes + s->plain_weight_bytes;
	m->activation_bytes = s->act_bytes;
	m->workspace_bytes = s->xnn_workspace_bytes;
	m->total_bytes = m->weight_bytes + m->activation_bytes + m->workspace_bytes;
}

void model_exec_synthetic_input(float *x, size_t n, uint64_t seed)
{
	uint64_t state = ep_mix64(seed);

	for (size_t i = 0; i < n; i++) {
		uint64_t z = ep_mix64(state += 0x9e3779b97f4a7c15ULL);

		x[i] = (float)((double)(z >> 40) * 0x1.0p-24);
	}
}
