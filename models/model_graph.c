/*
 * The layer graph as a container: layers, names, validation, Keras order, totals. The builders
 * (model_add_*) are in model_build.c.
 */
#include "model_graph.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ep_util.h"
#include "model_graph_internal.h"

/* Keras class names, and the snake-case prefixes Keras derives from them for generated names. */
static const struct {
	const char *keras;
	const char *snake;
} op_names[MODEL_OP_COUNT_] = {
	[MODEL_OP_OTHER] = { "Other", "layer" },
	[MODEL_OP_INPUT] = { "InputLayer", "input" },
	[MODEL_OP_CONV2D] = { "Conv2D", "conv2d" },
	[MODEL_OP_DEPTHWISE_CONV2D] = { "DepthwiseConv2D", "depthwise_conv2d" },
	[MODEL_OP_SEPARABLE_CONV2D] = { "SeparableConv2D", "separable_conv2d" },
	[MODEL_OP_DENSE] = { "Dense", "dense" },
	[MODEL_OP_BATCH_NORM] = { "BatchNormalization", "batch_normalization" },
	[MODEL_OP_ACTIVATION] = { "Activation", "activation" },
	[MODEL_OP_RELU] = { "ReLU", "re_lu" },
	[MODEL_OP_ADD] = { "Add", "add" },
	[MODEL_OP_MULTIPLY] = { "Multiply", "multiply" },
	[MODEL_OP_CONCATENATE] = { "Concatenate", "concatenate" },
	[MODEL_OP_ZERO_PADDING2D] = { "ZeroPadding2D", "zero_padding2d" },
	[MODEL_OP_MAX_POOL2D] = { "MaxPooling2D", "max_pooling2d" },
	[MODEL_OP_AVG_POOL2D] = { "AveragePooling2D", "average_pooling2d" },
	[MODEL_OP_GLOBAL_AVG_POOL2D] = { "GlobalAveragePooling2D", "global_average_pooling2d" },
	[MODEL_OP_FLATTEN] = { "Flatten", "flatten" },
	[MODEL_OP_RESHAPE] = { "Reshape", "reshape" },
	[MODEL_OP_DROPOUT] = { "Dropout", "dropout" },
	[MODEL_OP_RESCALING] = { "Rescaling", "rescaling" },
	[MODEL_OP_NORMALIZATION] = { "Normalization", "normalization" },
	[MODEL_OP_LAMBDA] = { "Lambda", "lambda" },
};

static const char *const act_names[MODEL_ACT_COUNT_] = {
	[MODEL_ACT_LINEAR] = "linear", [MODEL_ACT_RELU] = "relu",
	[MODEL_ACT_RELU6] = "relu6",   [MODEL_ACT_SIGMOID] = "sigmoid",
	[MODEL_ACT_SWISH] = "swish",   [MODEL_ACT_TANH] = "tanh",
	[MODEL_ACT_SOFTMAX] = "softmax", [MODEL_ACT_HARD_SIGMOID] = "hard_sigmoid",
	[MODEL_ACT_HARD_SWISH] = "hard_swish",
};

static const struct {
	const char *name;
	int size;
} dtypes[MODEL_DTYPE_COUNT_] = {
	[MODEL_DTYPE_DEFAULT] = { "default", 0 }, [MODEL_DTYPE_FLOAT32] = { "float32", 4 },
	[MODEL_DTYPE_FLOAT16] = { "float16", 2 }, [MODEL_DTYPE_INT8] = { "int8", 1 },
	[MODEL_DTYPE_FLOAT64] = { "float64", 8 },
};

const char *model_op_name(enum model_op op)
{
	return (unsigned)op < MODEL_OP_COUNT_ ? op_names[op].keras : "Other";
}

const char *model_op_snake_name(enum model_op op)
{
	return (unsigned)op < MODEL_OP_COUNT_ ? op_names[op].snake : "layer";
}

enum model_op model_op_from_name(const char *name)
{
	for (int i = 1; i < MODEL_OP_COUNT_; i++)
		if (strcmp(op_names[i].keras, name) == 0)
			return (enum model_op)i;
	return MODEL_OP_OTHER;
}

const char *model_activation_name(enum model_activation act)
{
	return (unsigned)act < MODEL_ACT_COUNT_ ? act_names[act] : "?";
}

int model_activation_from_name(const char *name)
{
	for (int i = 0; i < MODEL_ACT_COUNT_; i++)
		if (strcmp(act_names[i], name) == 0)
			return i;
	return -1;
}

const char *model_dtype_name(enum model_dtype dtype)
{
	return (unsigned)dtype < MODEL_DTYPE_COUNT_ ? dtypes[dtype].name : "?";
}

int model_dtype_from_name(const char *name)
{
	for (int i = 0; i < MODEL_DTYPE_COUNT_; i++)
		if (strcmp(dtypes[i].name, name) == 0)
			return i;
	return -1;
}

int model_dtype_size(enum model_dtype dtype)
{
	return (unsigned)dtype < MODEL_DTYPE_COUNT_ ? dtypes[dtype].size : 0;
}

struct model_graph *model_graph_create(const char *name)
{
	struct model_graph *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	snprintf(g->name, sizeof(g->name), "%s", name ? name : "model");
	return g;
}

void model_graph_destroy(struct model_graph *g)
{
	if (!g)
		return;
	free(g->layers);
	free(g->consumers);
	free(g->slots);
	free(g->weights_path);
	free(g);
}

int model_graph_set_weights_path(struct model_graph *g, const char *path)
{
	char *copy = NULL;

	if (path && !(copy = strdup(path)))
		return EP_ENOMEM;
	free(g->weights_path);
	g->weights_path = copy;
	return EP_OK;
}

const char *model_graph_weights_path(const struct model_graph *g)
{
	return g->weights_path;
}

const char *model_graph_name(const struct model_graph *g)
{
	return g->name;
}

size_t model_graph_layer_count(const struct model_graph *g)
{
	return g->n;
}

const struct model_layer *model_graph_layer(const struct model_graph *g, size_t index)
{
	return index < g->n ? &g->layers[index] : NULL;
}

int model_graph_find(const struct model_graph *g, const char *name)
{
	if (!g->slot_cap)
		return -1;
	for (size_t i = ep_fnv1a(name) & (g->slot_cap - 1);; i = (i + 1) & (g->slot_cap - 1)) {
		int v = g->slots[i];

		if (!v)
			return -1;
		if (strcmp(g->layers[v - 1].name, name) == 0)
			return v - 1;
	}
}

static void slots_put(int *slots, size_t cap, const char *name, int index)
{
	size_t i = ep_fnv1a(name) & (cap - 1);

	while (slots[i])
		i = (i + 1) & (cap - 1);
	slots[i] = index + 1;
}

/* Make room for one more layer: arrays and a name table kept under half full. */
static int graph_reserve(struct model_graph *g)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 64;
		struct model_layer *layers = realloc(g->layers, cap * sizeof(*layers));
		int *consumers;

		if (!layers)
			return EP_ENOMEM;
		g->layers = layers;
		consumers = realloc(g->consumers, cap * sizeof(*consumers));
		if (!consumers)
			return EP_ENOMEM;
		g->consumers = consumers;
		g->cap = cap;
	}
	if (2 * (g->n + 1) > g->slot_cap) {
		size_t cap = g->slot_cap ? 2 * g->slot_cap : 128;
		int *slots = calloc(cap, sizeof(*slots));

		if (!slots)
			return EP_ENOMEM;
		for (size_t i = 0; i < g->n; i++)
			slots_put(slots, cap, g->layers[i].name, (int)i);
		free(g->slots);
		g->slots = slots;
		g->slot_cap = cap;
	}
	return EP_OK;
}

int64_t model_layer_elements(const struct model_layer *layer)
{
	int64_t e = 1;

	for (int i = 0; i < layer->rank && i < MODEL_MAX_RANK; i++)
		if (layer->shape[i] < 0 || __builtin_mul_overflow(e, layer->shape[i], &e))
			return INT64_MAX;
	return e;
}

static const char *shape_str(const struct model_layer *l, char *buf, size_t size)
{
	size_t k = 0;

	buf[0] = '\0';
	for (int i = 0; i < l->rank && i < MODEL_MAX_RANK && k < size; i++) {
		int n = snprintf(buf + k, size - k, "%s%" PRId64, i ? "x" : "", l->shape[i]);

		k += n > 0 ? (size_t)n : 0;
	}
	return buf;
}

/* Add, Multiply: the inputs broadcast (numpy's rule, right-aligned) to the output's shape. */
static int check_broadcast(const struct model_graph *g, const struct model_layer *l,
			   struct ep_error *err)
{
	int64_t bc[MODEL_MAX_RANK]; /* the broadcast shape, right-aligned */
	char a[96], b[96];
	int rank = 0;

	for (int d = 0; d < MODEL_MAX_RANK; d++)
		bc[d] = 1;
	for (int i = 0; i < l->n_inputs; i++) {
		const struct model_layer *x = &g->layers[l->inputs[i]];

		if (x->rank > rank)
			rank = x->rank;
		for (int d = 0; d < x->rank; d++) {
			int64_t *v = &bc[MODEL_MAX_RANK - x->rank + d];

			if (*v == 1)
				*v = x->shape[d];
			else if (x->shape[d] != 1 && x->shape[d] != *v)
				return ep_error_set(
					err, EP_EINVAL,
					"layer '%s' (%s): input '%s' of "
					"shape %s does not broadcast with input '%s' of "
					"shape %s",
					l->name, l->op_name, x->name, shape_str(x, a, sizeof(a)),
					g->layers[l->inputs[0]].name,
					shape_str(&g->layers[l->inputs[0]], b, sizeof(b)));
		}
	}
	if (l->rank != rank ||
	    memcmp(l->shape, bc + MODEL_MAX_RANK - rank, (size_t)rank * sizeof(bc[0])) != 0) {
		struct model_layer want = {.rank = rank};

		memcpy(want.shape, bc + MODEL_MAX_RANK - rank, (size_t)rank * sizeof(bc[0]));
		return ep_error_set(err, EP_EINVAL,
				    "layer '%s' (%s): output shape %s, but its "
				    "inputs give %s",
				    l->name, l->op_name, shape_str(l, a, sizeof(a)),
				    shape_str(&want, b, sizeof(b)));
	}
	return EP_OK;
}

/* Concatenate: inputs of the output's rank that differ from it on one axis at most (the
 * attribute's when they differ on none), their sizes on it adding up to the output's. */
static int check_concat(const struct model_graph *g, const struct model_layer *l,
			struct ep_error *err)
{
	char a[96], b[96];
	int axis = -1;
	int64_t sum = 0;

	for (int i = 0; i < l->n_inputs; i++) {
		const struct model_layer *x = &g->layers[l->inputs[i]];

		if (x->rank != l->rank)
			return ep_error_set(err, EP_EINVAL,
					    "layer '%s' (%s): input '%s' has rank "
					    "%d, the output %d",
					    l->name, l->op_name, x->name, x->rank, l->rank);
		for (int d = 0; d < l->rank; d++)
			if (x->shape[d] != l->shape[d] && axis != d) {
				if (axis >= 0)
					return ep_error_set(
						err, EP_EINVAL,
						"layer '%s' (%s): input '%s' of "
						"shape %s differs from the output %s in more than "
						"the concatenation axis",
						l->name, l->op_name, x->name,
						shape_str(x, a, sizeof(a)),
						shape_str(l, b, sizeof(b)));
				axis = d;
			}
	}
	if (axis < 0) /* all equal: the attribute's axis (-1: the last) */
		axis = l->attrs.axis < 0 ? l->rank + l->attrs.axis : l->attrs.axis;
	if (axis < 0 || axis >= l->rank)
		return ep_error_set(err, EP_EINVAL,
				    "layer '%s' (%s): axis %d outside a shape of "
				    "rank %d",
				    l->name, l->op_name, l->attrs.axis, l->rank);
	/* an axis on which the inputs differ from the output must still be the same for every
	 * input but axis: checked above; now the sizes along it */
	for (int i = 0; i < l->n_inputs; i++)
		sum += g->layers[l->inputs[i]].shape[axis];
	if (sum != l->shape[axis])
		return ep_error_set(err, EP_EINVAL,
				    "layer '%s' (%s): the inputs' sizes on axis %d "
				    "add up to %" PRId64 ", the output's is %" PRId64,
				    l->name, l->op_name, axis, sum, l->shape[axis]);
	return EP_OK;
}

/* BatchNormalization, Activation, ReLU, Dropout, Rescaling, Normalization: one input, whose
 * shape the output keeps. */
static int check_keeps_shape(const struct model_graph *g, const struct model_layer *l,
			     struct ep_error *err)
{
	const struct model_layer *x = &g->layers[l->inputs[0]];
	char a[96], b[96];

	if (l->n_inputs != 1 || !model_layer_same_shape(x, l))
		return ep_error_set(err, EP_EINVAL,
				    "layer '%s' (%s): %d input(s); it keeps one "
				    "input's shape, but '%s' is %s and the output %s",
				    l->name, l->op_name, l->n_inputs, x->name,
				    shape_str(x, a, sizeof(a)), shape_str(l, b, sizeof(b)));
	return EP_OK;
}

/* Flatten, Reshape: one input, whose element count the output keeps. */
static int check_keeps_elements(const struct model_graph *g, const struct model_layer *l,
				struct ep_error *err)
{
	const struct model_layer *x = &g->layers[l->inputs[0]];
	char a[96], b[96];

	if (l->n_inputs != 1 || model_layer_elements(x) != model_layer_elements(l))
		return ep_error_set(err, EP_EINVAL,
				    "layer '%s' (%s): %d input(s); it keeps one "
				    "input's elements, but '%s' has %" PRId64 " (%s) and the "
				    "output %" PRId64 " (%s)",
				    l->name, l->op_name, l->n_inputs, x->name,
				    model_layer_elements(x), shape_str(x, a, sizeof(a)),
				    model_layer_elements(l), shape_str(l, b, sizeof(b)));
	return EP_OK;
}

/*
 * The shapes of a known op against its inputs' (model_graph.h, model_graph_add_layer), one
 * checker per rule that model_graph.h states; ops without a rule pass. The message names the
 * layer, the op and the shapes.
 */
static int check_op_shapes(const struct model_graph *g, const struct model_layer *l,
			   struct ep_error *err)
{
	if (l->n_inputs < 1)
		return EP_OK;
	switch (model_op_from_name(l->op_name)) {
	case MODEL_OP_ADD:
	case MODEL_OP_MULTIPLY: return check_broadcast(g, l, err);
	case MODEL_OP_CONCATENATE: return check_concat(g, l, err);
	case MODEL_OP_BATCH_NORM:
	case MODEL_OP_ACTIVATION:
	case MODEL_OP_RELU:
	case MODEL_OP_DROPOUT:
	case MODEL_OP_RESCALING:
	case MODEL_OP_NORMALIZATION: return check_keeps_shape(g, l, err);
	case MODEL_OP_FLATTEN:
	case MODEL_OP_RESHAPE: return check_keeps_elements(g, l, err);
	default:
		return EP_OK;
	}
}

static int check_layer(const struct model_graph *g, const struct model_layer *l,
		       struct ep_error *err)
{
	if (!l->name[0] || !memchr(l->name, '\0', sizeof(l->name)))
		return ep_error_set(err, EP_EINVAL, "layer %zu: empty or too long name", g->n);
	for (const char *c = l->name; *c; c++)
		if ((unsigned char)*c <= ' ' || strchr(",#\"\\", *c))
			return ep_error_set(err, EP_EINVAL,
					    "layer '%s': names may not contain blanks, control "
					    "characters, ',', '#', '\"' or '\\'", l->name);
	if (model_graph_find(g, l->name) >= 0)
		return ep_error_set(err, EP_EINVAL, "layer '%s': duplicate name", l->name);
	if (!l->op_name[0] || !memchr(l->op_name, '\0', sizeof(l->op_name)))
		return ep_error_set(err, EP_EINVAL, "layer '%s': empty or too long op", l->name);
	if (l->n_inputs < 0 || l->n_inputs > MODEL_MAX_INPUTS)
		return ep_error_set(err, EP_EINVAL, "layer '%s': %d inputs (at most %d)", l->name,
				    l->n_inputs, MODEL_MAX_INPUTS);
	for (int i = 0; i < l->n_inputs; i++)
		if (l->inputs[i] < 0 || (size_t)l->inputs[i] >= g->n)
			return ep_error_set(err, EP_EINVAL,
					    "layer '%s': input %d is not an earlier layer",
					    l->name, i);
	if (l->rank < 1 || l->rank > MODEL_MAX_RANK)
		return ep_error_set(err, EP_EINVAL, "layer '%s': rank %d (1 to %d)", l->name,
				    l->rank, MODEL_MAX_RANK);
	for (int i = 0; i < l->rank; i++)
		if (l->shape[i] <= 0)
			return ep_error_set(err, EP_EINVAL,
					    "layer '%s': dimension %d is %" PRId64
					    " (must be positive)",
					    l->name, i, l->shape[i]);
	if (model_layer_elements(l) > MODEL_MAX_COUNT) {
		char s[96];

		return ep_error_set(err, EP_EINVAL, "layer '%s': shape %s has more than 2^53 "
				    "elements", l->name, shape_str(l, s, sizeof(s)));
	}
	if (l->params_trainable < 0 || l->params_non_trainable < 0 || l->flops < 0)
		return ep_error_set(err, EP_EINVAL, "layer '%s': negative count", l->name);
	if (l->params_trainable > MODEL_MAX_COUNT || l->params_non_trainable > MODEL_MAX_COUNT ||
	    l->params_trainable + l->params_non_trainable > MODEL_MAX_COUNT ||
	    g->params > MODEL_MAX_COUNT - (l->params_trainable + l->params_non_trainable))
		return ep_error_set(err, EP_EINVAL, "layer '%s': %" PRId64 "+%" PRId64 " parameters "
				    "take the model past 2^53", l->name, l->params_trainable,
				    l->params_non_trainable);
	if (l->flops > MODEL_MAX_COUNT || g->flops > MODEL_MAX_COUNT - l->flops)
		return ep_error_set(err, EP_EINVAL, "layer '%s': %" PRId64 " FLOPs take the model "
				    "past 2^53", l->name, l->flops);
	if (l->attrs.target_rank < 0 || l->attrs.target_rank > MODEL_MAX_RANK)
		return ep_error_set(err, EP_EINVAL, "layer '%s': target_rank %d (0 to %d)", l->name,
				    l->attrs.target_rank, MODEL_MAX_RANK);
	if (l->dtype <= MODEL_DTYPE_DEFAULT || l->dtype >= MODEL_DTYPE_COUNT_)
		return ep_error_set(err, EP_EINVAL, "layer '%s': no dtype", l->name);
	return check_op_shapes(g, l, err);
}

int model_graph_add_layer(struct model_graph *g, const struct model_layer *layer,
			  struct ep_error *err)
{
	struct model_layer *l;
	int rc = check_layer(g, layer, err);

	if (rc)
		return rc;
	if (graph_reserve(g))
		return ep_error_set(err, EP_ENOMEM, "out of memory adding layer '%s'", layer->name);
	l = &g->layers[g->n];
	*l = *layer;
	l->op = model_op_from_name(l->op_name);
	g->consumers[g->n] = 0;
	for (int i = 0; i < l->n_inputs; i++) {
		bool seen = false;

		for (int j = 0; j < i; j++)
			seen |= l->inputs[j] == l->inputs[i];
		if (!seen)
			g->consumers[l->inputs[i]]++;
	}
	slots_put(g->slots, g->slot_cap, l->name, (int)g->n);
	g->params += l->params_trainable + l->params_non_trainable;
	g->flops += l->flops;
	return (int)g->n++;
}

int model_graph_consumers(const struct model_graph *g, size_t index)
{
	return index < g->n ? g->consumers[index] : 0;
}

int64_t model_graph_params(const struct model_graph *g)
{
	int64_t s = 0;

	for (size_t i = 0; i < g->n; i++)
		s += g->layers[i].params_trainable + g->layers[i].params_non_trainable;
	return s;
}

int64_t model_graph_params_trainable(const struct model_graph *g)
{
	int64_t s = 0;

	for (size_t i = 0; i < g->n; i++)
		s += g->layers[i].params_trainable;
	return s;
}

int64_t model_graph_flops(const struct model_graph *g)
{
	int64_t s = 0;

	for (size_t i = 0; i < g->n; i++)
		s += g->layers[i].flops;
	return s;
}

const char *model_graph_error(const struct model_graph *g)
{
	return g->err.code ? g->err.msg : NULL;
}

int model_graph_error_code(const struct model_graph *g)
{
	return g->err.code;
}

int model_graph_validate(const struct model_graph *g, struct ep_error *err)
{
	if (g->err.code)
		return ep_error_set(err, g->err.code, "%s", g->err.msg);
	if (g->n < 2)
		return ep_error_set(err, EP_EINVAL, "model '%s' has %zu layer(s); at least an input "
				    "and an output are needed", g->name, g->n);
	for (size_t i = 0; i < g->n; i++) {
		const struct model_layer *l = &g->layers[i];

		if (i > 0 && l->n_inputs == 0)
			return ep_error_set(err, EP_EINVAL,
					    "layer '%s' has no inputs, but only the first layer "
					    "may be an input", l->name);
		if (i == 0 && l->n_inputs != 0)
			return ep_error_set(err, EP_EINVAL, "first layer '%s' has inputs", l->name);
		if (i + 1 < g->n && g->consumers[i] == 0)
			return ep_error_set(err, EP_EINVAL,
					    "layer '%s' feeds no other layer, but only the last "
					    "layer may be an output", l->name);
	}
	return EP_OK;
}

struct keras_rank {
	int dist;  /* longest path to the output */
	int visit; /* preorder position of the walk from the output */
	int layer;
};

static int keras_rank_cmp(const void *pa, const void *pb)
{
	const struct keras_rank *a = pa, *b = pb;

	if (a->dist != b->dist)
		return a->dist > b->dist ? -1 : 1;
	return (a->visit > b->visit) - (a->visit < b->visit);
}

int model_graph_sort_keras(struct model_graph *g, struct ep_error *err)
{
	size_t n = g->n;
	struct keras_rank *rank = calloc(n, sizeof(*rank));
	struct model_layer *layers = malloc(n * sizeof(*layers));
	int *where = malloc(n * sizeof(*where)); /* old index -> new index */
	int *stack = malloc(n * sizeof(*stack)), *next = calloc(n, sizeof(*next));
	int visits = 0, top = 0, rc = model_graph_validate(g, err);

	if (rc)
		goto out;
	if (!rank || !layers || !where || !stack || !next) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory ordering '%s'", g->name);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rank[i].layer = (int)i;
		rank[i].visit = -1;
	}
	/* Consumers come after their inputs, so a backward pass settles every distance. */
	for (size_t i = n; i-- > 0;)
		for (int k = 0; k < g->layers[i].n_inputs; k++) {
			struct keras_rank *r = &rank[g->layers[i].inputs[k]];

			if (r->dist < rank[i].dist + 1)
				r->dist = rank[i].dist + 1;
		}
	/* Preorder depth-first walk from the output, inputs in order; next[] is each layer's
	 * next input to visit, so the stack holds at most one entry per layer. */
	stack[top++] = (int)n - 1;
	rank[n - 1].visit = visits++;
	while (top) {
		const struct model_layer *l = &g->layers[stack[top - 1]];
		int *k = &next[stack[top - 1]];

		if (*k == l->n_inputs) {
			top--;
			continue;
		}
		if (rank[l->inputs[*k]].visit < 0) {
			rank[l->inputs[*k]].visit = visits++;
			stack[top++] = l->inputs[*k];
		}
		(*k)++;
	}
	qsort(rank, n, sizeof(*rank), keras_rank_cmp);
	for (size_t i = 0; i < n; i++)
		where[rank[i].layer] = (int)i;
	for (size_t i = 0; i < n; i++) {
		layers[i] = g->layers[rank[i].layer];
		for (int k = 0; k < layers[i].n_inputs; k++)
			layers[i].inputs[k] = where[layers[i].inputs[k]];
		next[i] = g->consumers[rank[i].layer];
	}
	memcpy(g->layers, layers, n * sizeof(*layers));
	memcpy(g->consumers, next, n * sizeof(*next));
	memset(g->slots, 0, g->slot_cap * sizeof(*g->slots));
	for (size_t i = 0; i < n; i++)
		slots_put(g->slots, g->slot_cap, g->layers[i].name, (int)i);
out:
	free(rank);
	free(layers);
	free(where);
	free(stack);
	free(next);
	return rc;
}

static bool attrs_equal(const struct model_attrs *a, const struct model_attrs *b)
{
	if (a->filters != b->filters || a->units != b->units || a->groups != b->groups ||
	    a->depth_multiplier != b->depth_multiplier || a->axis != b->axis ||
	    a->padding != b->padding || a->activation != b->activation ||
	    a->max_value != b->max_value || a->scale_value != b->scale_value ||
	    a->negative_slope != b->negative_slope ||
	    a->use_bias != b->use_bias || a->center != b->center || a->scale != b->scale ||
	    a->keepdims != b->keepdims || a->target_rank != b->target_rank)
		return false;
	for (int i = 0; i < 2; i++)
		if (a->kernel[i] != b->kernel[i] || a->strides[i] != b->strides[i] ||
		    a->dilation[i] != b->dilation[i])
			return false;
	for (int i = 0; i < 4; i++)
		if (a->pad[i] != b->pad[i] || a->target[i] != b->target[i])
			return false;
	return true;
}

static bool layer_equal(const struct model_layer *a, const struct model_layer *b)
{
	if (strcmp(a->name, b->name) || strcmp(a->op_name, b->op_name) || a->op != b->op ||
	    a->n_inputs != b->n_inputs || a->rank != b->rank ||
	    a->params_trainable != b->params_trainable ||
	    a->params_non_trainable != b->params_non_trainable || a->flops != b->flops ||
	    a->dtype != b->dtype)
		return false;
	for (int i = 0; i < a->n_inputs; i++)
		if (a->inputs[i] != b->inputs[i])
			return false;
	for (int i = 0; i < a->rank; i++)
		if (a->shape[i] != b->shape[i])
			return false;
	return attrs_equal(&a->attrs, &b->attrs);
}

bool model_graph_equal(const struct model_graph *a, const struct model_graph *b)
{
	if (strcmp(a->name, b->name) || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!layer_equal(&a->layers[i], &b->layers[i]))
			return false;
	return true;
}
