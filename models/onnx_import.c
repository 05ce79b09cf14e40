/*
 * ONNX import (contract in model_onnx.h): decode, order the nodes, group the nodes that form
 * one Keras layer, then build each layer with model_graph.h's builders so that shapes,
 * parameters and FLOPs follow the zoo's conventions.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ep_util.h"
#include "model_onnx.h"
#include "model_weights.h"
#include "onnx_import.h"
#include "onnx_internal.h"

#define T_FLOAT ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define T_INT64 ONNX__TENSOR_PROTO__DATA_TYPE__INT64

/* A named tensor of the ONNX graph. */
struct val {
	const char *name;
	const Onnx__TensorProto *konst; /* an initializer or a Constant's value, else NULL */
	int producer;                   /* node index, -1 for graph inputs and initializers */
	int consumers;                  /* node input slots that read it */
	int layer;                      /* the layer holding it, -1 until built (or constant) */
	bool graph_output;
	/* The layer is a Flatten of an image in ONNX's C,H,W order (chw[] = C, H, W): a Gemm or
	 * MatMul reading it gets its rows permuted to Keras's H,W,C order. */
	bool chw_flat;
	int64_t chw[3];
};

struct imp {
	const char *path;
	const struct model_onnx_options *opt;
	Onnx__GraphProto *gp;
	struct model_graph *g;
	struct ep_error *err;
	int opset;
	struct val *vals;
	size_t n_vals, cap; /* open addressing, capacity a power of two */
	int *order;         /* nodes in topological order */
	int *head;          /* per node: the last node of its group (itself when alone) */
	struct onnx_import_recipe *recipes; /* per layer */
	size_t n_recipes;
	Onnx__TensorProto **folded; /* shape arithmetic computed here (fold_shape_node) */
	size_t n_folded;
};

static const Onnx__NodeProto *node_at(const struct imp *m, int i)
{
	return m->gp->node[i];
}

/* "PATH: node 'NAME' (OP): " then the message. */
static int node_fail(struct imp *m, int i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int node_fail(struct imp *m, int i, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	const Onnx__NodeProto *n = node_at(m, i);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ep_error_set(m->err, EP_EINVAL, "%s: node '%s' (%s): %s", m->path,
			    n->name && n->name[0] ? n->name : (n->n_output ? n->output[0] : "?"),
			    n->op_type, msg);
}

static struct val *val_find(const struct imp *m, const char *name)
{
	if (!m->cap)
		return NULL;
	for (size_t i = ep_fnv1a(name) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->vals[i].name)
			return NULL;
		if (strcmp(m->vals[i].name, name) == 0)
			return &m->vals[i];
	}
}

/* Add a tensor name; NULL if it exists already (a name defined twice). */
static struct val *val_add(struct imp *m, const char *name)
{
	size_t i = ep_fnv1a(name) & (m->cap - 1);

	for (; m->vals[i].name; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->vals[i].name, name) == 0)
			return NULL;
	m->vals[i] = (struct val){ .name = name, .producer = -1, .layer = -1 };
	m->n_vals++;
	return &m->vals[i];
}

/* ---- names ------------------------------------------------------------------------------ */

/* A layer name from an ONNX name: forbidden characters become '_', long names keep their
 * end (where PyTorch puts the distinguishing part) behind a hash, and a taken name gets _2,
 * _3, ... */
static void layer_name(const struct imp *m, const char *onnx, char out[MODEL_NAME_MAX])
{
	char base[MODEL_NAME_MAX];
	size_t len = strlen(onnx);

	if (len < MODEL_NAME_MAX) {
		snprintf(base, sizeof(base), "%s", onnx);
	} else {
		snprintf(base, sizeof(base), "%08x~%s", (unsigned)(ep_fnv1a(onnx) & 0xffffffffu),
			 onnx + len - (MODEL_NAME_MAX - 10));
	}
	for (char *c = base; *c; c++)
		if ((unsigned char)*c <= ' ' || strchr(",#\"\\", *c))
			*c = '_';
	snprintf(out, MODEL_NAME_MAX, "%s", base[0] ? base : "layer");
	for (int k = 2; model_graph_find(m->g, out) >= 0; k++) {
		char suffix[16];
		int sl = snprintf(suffix, sizeof(suffix), "_%d", k);
		size_t keep = strlen(base);

		if (keep + (size_t)sl >= MODEL_NAME_MAX)
			keep = MODEL_NAME_MAX - 1 - (size_t)sl;
		snprintf(out, MODEL_NAME_MAX, "%.*s%s", (int)keep, base, suffix);
	}
}

static const char *node_name(const Onnx__NodeProto *n)
{
	if (n->name && n->name[0])
		return n->name;
	return n->n_output && n->output[0][0] ? n->output[0] : n->op_type;
}

/* ---- decoding and ordering ------------------------------------------------------------- */

static int check_opset(struct imp *m, const Onnx__ModelProto *mp)
{
	m->opset = -1;
	for (size_t i = 0; i < mp->n_opset_import; i++) {
		const char *d = mp->opset_import[i]->domain;

		if (!d || !d[0] || strcmp(d, "ai.onnx") == 0)
			m->opset = (int)mp->opset_import[i]->version;
	}
	if (m->opset < 0)
		return ep_error_set(m->err, EP_EINVAL, "%s: no opset for the default ONNX domain",
				    m->path);
	if (m->opset < 1 || m->opset > 18)
		return ep_error_set(m->err, EP_EINVAL, "%s: opset %d (edgepipe reads 1 to 18)",
				    m->path, m->opset);
	return EP_OK;
}

/* Ops whose attributes meant something else before an opset (consumed_inputs, is_test,
 * paddings): refused rather than misread. */
static const struct {
	const char *op;
	int since;
} op_since[] = {
	{ "BatchNormalization", 7 }, { "Dropout", 7 }, { "Clip", 6 }, { "LeakyRelu", 6 },
	{ "HardSigmoid", 6 },	     { "Pad", 2 },     { "Reshape", 5 },
};

static bool op_is_read(const Onnx__NodeProto *n);

/* Node i's domain and op version are ones edgepipe reads, and an op it reads has an input;
 * or a node error. */
static int check_node(struct imp *m, int i)
{
	const Onnx__NodeProto *n = node_at(m, i);

	if (!n->n_input && op_is_read(n))
		return node_fail(m, i, "no input");

	if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
		return node_fail(m, i, "operator domain '%s' (edgepipe reads the default ONNX "
				 "domain only)", n->domain);
	for (size_t k = 0; k < sizeof(op_since) / sizeof(*op_since); k++)
		if (m->opset < op_since[k].since && strcmp(n->op_type, op_since[k].op) == 0)
			return node_fail(m, i, "opset %d's version of %s is not read", m->opset,
					 n->op_type);
	return EP_OK;
}

/* Node i's outputs as tensors produced by it; a Constant's value attached. */
static int index_node_outputs(struct imp *m, int i)
{
	const Onnx__NodeProto *n = node_at(m, i);
	const Onnx__AttributeProto *a;

	for (size_t k = 0; k < n->n_output; k++) {
		struct val *v;

		if (!n->output[k][0])
			continue;
		v = val_add(m, n->output[k]);
		if (!v)
			return node_fail(m, i, "output '%s' is defined twice", n->output[k]);
		v->producer = i;
	}
	if (strcmp(n->op_type, "Constant") != 0)
		return EP_OK;
	a = onnx_attr(n, "value");
	if (!a || !a->t || n->n_output != 1)
		return node_fail(m, i, "only a Constant with a 'value' tensor is read");
	val_find(m, n->output[0])->konst = a->t;
	return EP_OK;
}

/* Every input slot that reads a tensor counts as one consumer of it. */
static int count_consumers(struct imp *m)
{
	for (size_t i = 0; i < m->gp->n_node; i++) {
		const Onnx__NodeProto *n = node_at(m, (int)i);

		for (size_t k = 0; k < n->n_input; k++) {
			struct val *v;

			if (!n->input[k][0])
				continue; /* an optional input left out */
			v = val_find(m, n->input[k]);
			if (!v)
				return node_fail(m, (int)i, "input '%s' is produced by no node, "
						 "initializer or graph input", n->input[k]);
			v->consumers++;
		}
	}
	return EP_OK;
}

/* Tensors from initializers, inputs and node outputs; consumers counted; Constant nodes'
 * values attached. */
static int index_tensors(struct imp *m)
{
	Onnx__GraphProto *gp = m->gp;
	size_t total = gp->n_initializer + gp->n_input + 1;
	int rc;

	for (size_t i = 0; i < gp->n_node; i++)
		total += gp->node[i]->n_output;
	for (m->cap = 16; m->cap < 2 * total; m->cap *= 2)
		;
	m->vals = calloc(m->cap, sizeof(*m->vals));
	if (!m->vals)
		return ep_error_set(m->err, EP_ENOMEM, "out of memory reading '%s'", m->path);
	for (size_t i = 0; i < gp->n_initializer; i++) {
		struct val *v = val_add(m, gp->initializer[i]->name);

		if (!v)
			return ep_error_set(m->err, EP_EINVAL, "%s: initializer '%s' defined twice",
					    m->path, gp->initializer[i]->name);
		v->konst = gp->initializer[i];
	}
	for (size_t i = 0; i < gp->n_input; i++)
		if (!val_find(m, gp->input[i]->name))
			val_add(m, gp->input[i]->name);
	for (size_t i = 0; i < gp->n_node; i++)
		if ((rc = check_node(m, (int)i)) || (rc = index_node_outputs(m, (int)i)))
			return rc;
	if ((rc = count_consumers(m)))
		return rc;
	for (size_t i = 0; i < gp->n_output; i++) {
		struct val *v = val_find(m, gp->output[i]->name);

		if (!v)
			return ep_error_set(m->err, EP_EINVAL, "%s: graph output '%s' is produced "
					    "by no node", m->path, gp->output[i]->name);
		v->graph_output = true;
	}
	return EP_OK;
}

/* Kahn's algorithm over the nodes, in file order among the ready ones. A node left over is
 * on a cycle (or behind one). */
static int order_nodes(struct imp *m)
{
	size_t n = m->gp->n_node, done = 0;
	int *missing = calloc(n ? n : 1, sizeof(int));
	int **users = NULL;
	size_t *n_users = calloc(n ? n : 1, sizeof(size_t));
	int *queue = malloc((n ? n : 1) * sizeof(int));
	size_t qh = 0, qt = 0;
	int rc = EP_OK;

	users = calloc(n ? n : 1, sizeof(*users));
	m->order = malloc((n ? n : 1) * sizeof(int));
	if (!missing || !n_users || !queue || !users || !m->order) {
		rc = ep_error_set(m->err, EP_ENOMEM, "out of memory ordering '%s'", m->path);
		goto out;
	}
	/* Edges producer -> consumer, one per input slot (duplicates are harmless). */
	for (size_t i = 0; i < n; i++) {
		const Onnx__NodeProto *nd = m->gp->node[i];

		for (size_t k = 0; k < nd->n_input; k++) {
			const struct val *v = nd->input[k][0] ? val_find(m, nd->input[k]) : NULL;

			if (v && v->producer >= 0) {
				int p = v->producer;
				int *u = realloc(users[p], (n_users[p] + 1) * sizeof(int));

				if (!u) {
					rc = ep_error_set(m->err, EP_ENOMEM, "out of memory");
					goto out;
				}
				users[p] = u;
				u[n_users[p]++] = (int)i;
				missing[i]++;
			}
		}
	}
	/* A file already in topological order (as ONNX requires) keeps its order. */
	{
		bool sorted = true;

		for (size_t i = 0; i < n && sorted; i++)
			for (size_t k = 0; k < n_users[i] && sorted; k++)
				sorted = (size_t)users[i][k] > i;
		if (sorted) {
			for (size_t i = 0; i < n; i++)
				m->order[i] = (int)i;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!missing[i])
			queue[qt++] = (int)i;
	while (qh < qt) {
		int i = queue[qh++];

		m->order[done++] = i;
		for (size_t k = 0; k < n_users[i]; k++)
			if (--missing[users[i][k]] == 0)
				queue[qt++] = users[i][k];
	}
	if (done < n) {
		for (size_t i = 0; i < n; i++)
			if (missing[i]) {
				rc = node_fail(m, (int)i, "the graph has a cycle through this node "
					       "(it waits on its own output)");
				break;
			}
	}
out:
	if (users)
		for (size_t i = 0; i < n; i++)
			free(users[i]);
	free(users);
	free(missing);
	free(n_users);
	free(queue);
	return rc;
}

/* ---- grouping ---------------------------------------------------------------------------- */

static bool op_is(const Onnx__NodeProto *n, const char *op)
{
	return strcmp(n->op_type, op) == 0;
}

/* The node reading n's outputs when exactly one input slot of one node reads them and none is
 * a graph output; else -1. */
static int sole_consumer(const struct imp *m, int i)
{
	const Onnx__NodeProto *n = node_at(m, i);
	int found = -1;

	for (size_t k = 0; k < n->n_output; k++) {
		const struct val *v = n->output[k][0] ? val_find(m, n->output[k]) : NULL;

		if (!v || !v->consumers)
			continue;
		if (v->graph_output || v->consumers != 1 || found >= 0)
			return -1;
		for (size_t j = 0; j < m->gp->n_node && found < 0; j++) {
			const Onnx__NodeProto *c = m->gp->node[j];

			for (size_t q = 0; q < c->n_input; q++)
				if (strcmp(c->input[q], n->output[k]) == 0)
					found = (int)j;
		}
	}
	return found;
}

static bool is_const(const struct imp *m, const char *name)
{
	const struct val *v = name[0] ? val_find(m, name) : NULL;

	return v && v->konst;
}

/* True for a Flatten(axis 1), Squeeze or Reshape that turns [N, C, ...] into [N, X]. */
static bool flattens(const struct imp *m, const Onnx__NodeProto *c)
{
	if (op_is(c, "Flatten"))
		return onnx_attr_int(c, "axis", 1) == 1;
	if (op_is(c, "Squeeze"))
		return true;
	if (op_is(c, "Reshape") && c->n_input == 2 && is_const(m, c->input[1])) {
		const Onnx__TensorProto *t = val_find(m, c->input[1])->konst;

		return t->n_dims == 1 && t->dims[0] == 2;
	}
	return false;
}

static bool name_in_group(const char *member, const char *head)
{
	size_t n = strlen(head);

	return head[0] && strncmp(member, head, n) == 0 && member[n] == '/';
}

/*
 * Decide each node's group (head[i]). Walk backwards so that a node's consumer already knows
 * its head: a node joins its consumer's group when the pair is one of the recognised patterns
 * or when its name says it is a part ("L/..." of the group whose last node is named "L") and
 * every reader of its outputs is in that group.
 */
static void group_nodes(struct imp *m)
{
	size_t n = m->gp->n_node;

	for (size_t i = 0; i < n; i++)
		m->head[i] = (int)i;
	for (size_t r = n; r-- > 0;) {
		int i = m->order[r], c;
		const Onnx__NodeProto *nd = node_at(m, i), *cn, *hn;
		bool join = false;

		/* Named parts: every reader of every output must be in the candidate group. */
		if (nd->name && strchr(nd->name, '/')) {
			int h = -1;
			bool ok = true;

			for (size_t k = 0; k < nd->n_output && ok; k++) {
				const struct val *v =
					nd->output[k][0] ? val_find(m, nd->output[k]) : NULL;

				if (!v || !v->consumers)
					continue;
				if (v->graph_output)
					ok = false;
				for (size_t j = 0; j < n && ok; j++) {
					const Onnx__NodeProto *u = m->gp->node[j];

					for (size_t q = 0; q < u->n_input && ok; q++) {
						if (strcmp(u->input[q], nd->output[k]) != 0)
							continue;
						if (h < 0)
							h = m->head[j];
						ok = m->head[j] == h;
					}
				}
			}
			if (ok && h >= 0) {
				hn = node_at(m, h);
				if (hn->name && name_in_group(nd->name, hn->name)) {
					m->head[i] = h;
					continue;
				}
			}
		}
		c = sole_consumer(m, i);
		if (c < 0)
			continue;
		cn = node_at(m, c);
		if (op_is(nd, "Transpose")) {
			size_t np;
			const int64_t *perm = onnx_attr_ints(nd, "perm", &np);

			join = np == 4 && perm[0] == 0 && perm[1] == 2 && perm[2] == 3 &&
			       perm[3] == 1 && flattens(m, cn) && !op_is(cn, "Squeeze");
		} else if (op_is(nd, "GlobalAveragePool")) {
			join = flattens(m, cn);
		} else if (op_is(nd, "Sigmoid") || op_is(nd, "HardSigmoid")) {
			join = op_is(cn, "Mul") && cn->n_input == 2 &&
			       (strcmp(cn->input[0], nd->input[0]) == 0 ||
				strcmp(cn->input[1], nd->input[0]) == 0);
		} else if (op_is(nd, "MatMul")) {
			join = op_is(cn, "Add") && cn->n_input == 2 &&
			       (is_const(m, cn->input[0]) || is_const(m, cn->input[1]));
		}
		if (join)
			m->head[i] = m->head[c];
	}
}

/* ---- building layers -------------------------------------------------------------------- */

/* onnx_tensor_check with the file and node in the message. */
static int tcheck(struct imp *m, int node, const Onnx__TensorProto *t, int32_t type)
{
	char what[300];
	const Onnx__NodeProto *n = node_at(m, node);

	snprintf(what, sizeof(what), "%s: node '%s' (%s)", m->path, node_name(n), n->op_type);
	return onnx_tensor_check(t, type, what, m->err);
}

/* The layer index holding tensor `name`, or a node error. */
static int input_layer(struct imp *m, int node, const char *name, int *layer)
{
	const struct val *v = name[0] ? val_find(m, name) : NULL;

	if (!v || v->konst || v->layer < 0)
		return node_fail(m, node, "input '%s' is %s, a tensor computed by the graph is "
				 "needed", name, v && v->konst ? "a constant" : "not available");
	if (v->chw_flat && !op_is(node_at(m, node), "Gemm") &&
	    !op_is(node_at(m, node), "MatMul") && !op_is(node_at(m, node), "Dropout") &&
	    !op_is(node_at(m, node), "Identity"))
		return node_fail(m, node, "input '%s' is an image flattened in ONNX's C,H,W order; "
				 "edgepipe's layers are H,W,C, so only a Gemm or MatMul may read "
				 "it (its rows are reordered)", name);
	*layer = v->layer;
	return EP_OK;
}

/* Whether node n's optional input k is given (present and not empty). */
static bool has_input(const Onnx__NodeProto *n, size_t k)
{
	return k < n->n_input && n->input[k][0];
}

/* Input k's constant value; NULL when it is not given or computed. */
static const Onnx__TensorProto *const_input(struct imp *m, const Onnx__NodeProto *n, size_t k)
{
	const struct val *v = has_input(n, k) ? val_find(m, n->input[k]) : NULL;

	return v ? v->konst : NULL;
}

/* Input k of node `node` as a checked constant of `type` in *t, or a node error calling the
 * input `what`. */
static int const_arg(struct imp *m, int node, size_t k, int32_t type, const char *what,
		     const Onnx__TensorProto **t)
{
	*t = const_input(m, node_at(m, node), k);
	if (!*t)
		return node_fail(m, node, "%s must be an initializer or constant", what);
	return tcheck(m, node, *t, type);
}

/* Check a builder's result; its message gains the node. */
static int built(struct imp *m, int node, int layer)
{
	if (layer >= 0)
		return EP_OK;
	return node_fail(m, node, "%s", model_graph_error(m->g) ? model_graph_error(m->g)
								 : "layer refused");
}

static const struct model_layer *L(const struct imp *m, int layer)
{
	return model_graph_layer(m->g, (size_t)layer);
}

/* A 2-D window of a Conv or a pool: kernel, strides and dilations (window_attrs), then the
 * padding (window_padding). */
struct window {
	int k[2], s[2], d[2];
	enum model_padding padding;
	int pad[4]; /* top, bottom, left, right: padded explicitly before a valid window */
};

/* Keras "same" padding of one dimension: before, after. */
static void same_pads(int64_t n, int k, int s, int d, int64_t *before, int64_t *after)
{
	int64_t eff = (int64_t)(k - 1) * d + 1, out = (n + s - 1) / s;
	int64_t total = (out - 1) * s + eff - n;

	if (total < 0)
		total = 0;
	*before = total / 2;
	*after = total - *before;
}

/*
 * The padding of window w of a node on image layer x: w->padding, and in w->pad what must be
 * padded explicitly before a valid window when neither Keras mode fits. Returns EP_OK or a
 * node error.
 */
static int window_padding(struct imp *m, int node, const struct model_layer *x, struct window *w)
{
	const Onnx__NodeProto *n = node_at(m, node);
	char buf[32];
	const char *mode = onnx_attr_string(n, "auto_pad", "NOTSET", buf, sizeof(buf));
	int64_t sb[2], sa[2], p[4] = { 0, 0, 0, 0 }; /* ONNX order: h_begin, w_begin, h_end, w_end */
	size_t np;
	const int64_t *pads = onnx_attr_ints(n, "pads", &np);
	bool zero = true, same = true;

	memset(w->pad, 0, sizeof(w->pad));
	for (int i = 0; i < 2; i++)
		same_pads(x->shape[i], w->k[i], w->s[i], w->d[i], &sb[i], &sa[i]);
	if (strcmp(mode, "SAME_UPPER") == 0) {
		w->padding = MODEL_PAD_SAME;
		return EP_OK;
	}
	if (strcmp(mode, "VALID") == 0) {
		w->padding = MODEL_PAD_VALID;
		return EP_OK;
	}
	if (strcmp(mode, "SAME_LOWER") == 0) {
		for (int i = 0; i < 2; i++) {
			p[i] = sa[i];
			p[i + 2] = sb[i];
		}
	} else if (strcmp(mode, "NOTSET") == 0) {
		if (pads && np != 4)
			return node_fail(m, node, "%zu pads for a 2-D window (4 expected)", np);
		for (size_t i = 0; pads && i < 4; i++) {
			if (pads[i] < 0 || pads[i] > 1 << 20)
				return node_fail(m, node, "pad %" PRId64 " out of range", pads[i]);
			p[i] = pads[i];
		}
	} else {
		return node_fail(m, node, "auto_pad '%s'", mode);
	}
	for (int i = 0; i < 2; i++) {
		zero &= p[i] == 0 && p[i + 2] == 0;
		same &= p[i] == sb[i] && p[i + 2] == sa[i];
	}
	w->padding = zero || !same ? MODEL_PAD_VALID : MODEL_PAD_SAME;
	if (!zero && !same) {
		w->pad[0] = (int)p[0];
		w->pad[1] = (int)p[2];
		w->pad[2] = (int)p[1];
		w->pad[3] = (int)p[3];
	}
	return EP_OK;
}

/* A ZeroPadding2D layer "<name>_pad" (as Keras names conv1_pad) before a window when pad[]
 * is not zero; *x becomes it. */
static int pad_before(struct imp *m, int node, const char *name, const int pad[4], int *x)
{
	char pname[MODEL_NAME_MAX + 8], lname[MODEL_NAME_MAX];

	if (!pad[0] && !pad[1] && !pad[2] && !pad[3])
		return EP_OK;
	snprintf(pname, sizeof(pname), "%s_pad", name);
	layer_name(m, pname, lname);
	*x = model_add_zero_pad(m->g, lname, *x, pad[0], pad[1], pad[2], pad[3]);
	return built(m, node, *x);
}

/* kernel, strides, dilations of a 2-D window node (the kernel from kdims when the node does
 * not say); EP_OK or a node error. */
static int window_attrs(struct imp *m, int node, const int64_t *kdims, struct window *w)
{
	const Onnx__NodeProto *n = node_at(m, node);
	size_t nk, ns, nd;
	const int64_t *ks = onnx_attr_ints(n, "kernel_shape", &nk);
	const int64_t *ss = onnx_attr_ints(n, "strides", &ns);
	const int64_t *ds = onnx_attr_ints(n, "dilations", &nd);

	if (!ks && kdims) {
		ks = kdims;
		nk = 2;
	}
	if (nk != 2 || (ns && ns != 2) || (nd && nd != 2))
		return node_fail(m, node, "a 2-D window is needed (kernel_shape, strides and "
				 "dilations of 2 values)");
	for (int i = 0; i < 2; i++) {
		w->k[i] = (int)ks[i];
		w->s[i] = ss ? (int)ss[i] : 1;
		w->d[i] = ds ? (int)ds[i] : 1;
		if (ks[i] < 1 || ks[i] > 4096 || (ss && (ss[i] < 1 || ss[i] > 4096)) ||
		    (ds && (ds[i] < 1 || ds[i] > 4096)))
			return node_fail(m, node, "kernel, strides and dilations must be in 1..4096");
	}
	return EP_OK;
}

struct act {
	enum model_activation act;
	double max_value;      /* Clip's max: ReLU(max_value) */
	double negative_slope; /* LeakyRelu's alpha: ReLU(negative_slope) */
	bool is_clip, is_relu, is_leaky;
};

/* The shortest decimal that rounds to float f (0.01, not 0.0099999997764825821), so that a
 * model file's slope survives export (a float attribute) and import unchanged. */
static double float_decimal(float f)
{
	char buf[32];

	for (int p = 1; p < 9; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, (double)f);
		if ((float)strtod(buf, NULL) == f)
			return strtod(buf, NULL);
	}
	return f;
}

/* HardSigmoid's alpha and beta are edgepipe's hard_sigmoid's (relu6(x + 3) / 6), or a node
 * error. */
static int hard_sigmoid_check(struct imp *m, int node)
{
	const Onnx__NodeProto *n = node_at(m, node);
	double alpha = onnx_attr_float(n, "alpha", 0.2), beta = onnx_attr_float(n, "beta", 0.5);

	if (fabs(alpha - 1.0 / 6.0) > 1e-6 || beta != 0.5)
		return node_fail(m, node, "HardSigmoid with alpha %g, beta %g: edgepipe's "
				 "hard_sigmoid has alpha 1/6, beta 1/2 (PyTorch's Hardsigmoid, "
				 "Keras 3's hard_sigmoid)", alpha, beta);
	return EP_OK;
}

/* Softmax over the channel axis (1): for a vector it is also the last one. Before opset 13,
 * Softmax flattened from `axis` on, the same thing for a vector. x: its input layer, if
 * known. */
static int softmax_check(struct imp *m, int node, const struct model_layer *x)
{
	const Onnx__NodeProto *n = node_at(m, node);
	int64_t axis = onnx_attr_int(n, "axis", m->opset >= 13 ? -1 : 1);
	int rank = x ? x->rank + 1 : 2;

	if (axis < 0)
		axis += rank;
	if (axis != 1 || (rank != 2 && m->opset < 13))
		return node_fail(m, node, "softmax over axis %" PRId64 " of a rank-%d tensor "
				 "(edgepipe has softmax over channels)", axis, rank);
	return EP_OK;
}

/* Clip(0, max) as a ReLU with max_value (relu6 for 6); the bounds are attributes (before
 * opset 11) or constant inputs. */
static int clip_of(struct imp *m, int node, struct act *a)
{
	const Onnx__NodeProto *n = node_at(m, node);
	const Onnx__TensorProto *lo = const_input(m, n, 1), *hi = const_input(m, n, 2);
	double vlo = onnx_attr_float(n, "min", -INFINITY);
	double vhi = onnx_attr_float(n, "max", INFINITY);
	int rc = EP_OK;

	if ((has_input(n, 1) && !lo) || (has_input(n, 2) && !hi))
		rc = node_fail(m, node, "min and max must be constants");
	if (!rc && lo)
		rc = tcheck(m, node, lo, T_FLOAT);
	if (!rc && hi)
		rc = tcheck(m, node, hi, T_FLOAT);
	if (!rc && lo && onnx_tensor_elements(lo) == 1)
		vlo = onnx_tensor_float(lo, 0);
	if (!rc && hi && onnx_tensor_elements(hi) == 1)
		vhi = onnx_tensor_float(hi, 0);
	if (!rc && (vlo != 0.0 || !(vhi > 0)))
		rc = node_fail(m, node, "Clip(%g, %g): only Clip(0, max > 0) is a ReLU", vlo, vhi);
	a->act = vhi == 6.0 ? MODEL_ACT_RELU6 : MODEL_ACT_RELU;
	a->max_value = isinf(vhi) ? 0 : vhi;
	a->is_clip = true;
	return rc;
}

/* The activation of one activation node (is_act_op: Relu, Clip, Sigmoid, Tanh, Softmax,
 * HardSigmoid, HardSwish, LeakyRelu) in *a, x its input layer if known; EP_OK or a node
 * error. */
static int activation_of(struct imp *m, int node, const struct model_layer *x, struct act *a)
{
	const Onnx__NodeProto *n = node_at(m, node);

	memset(a, 0, sizeof(*a));
	if (op_is(n, "Relu")) {
		a->act = MODEL_ACT_RELU;
		a->is_relu = true;
	} else if (op_is(n, "Sigmoid")) {
		a->act = MODEL_ACT_SIGMOID;
	} else if (op_is(n, "Tanh")) {
		a->act = MODEL_ACT_TANH;
	} else if (op_is(n, "HardSigmoid")) {
		a->act = MODEL_ACT_HARD_SIGMOID;
		return hard_sigmoid_check(m, node);
	} else if (op_is(n, "HardSwish")) {
		a->act = MODEL_ACT_HARD_SWISH;
	} else if (op_is(n, "LeakyRelu")) {
		a->act = MODEL_ACT_RELU;
		a->negative_slope = float_decimal((float)onnx_attr_float(n, "alpha", 0.01));
		a->is_leaky = true;
	} else if (op_is(n, "Softmax")) {
		a->act = MODEL_ACT_SOFTMAX;
		return softmax_check(m, node, x);
	} else if (op_is(n, "Clip")) {
		return clip_of(m, node, a);
	}
	return EP_OK;
}

/* The Keras hint of a node's doc_string: "keras:OP [key=value ...]". */
struct hint {
	char op[MODEL_OP_MAX];
	int center, scale; /* -1 unset, else 0/1 */
	bool has_scale_value;
	double scale_value; /* Rescaling, Lambda: the double the float32 constant rounds */
};

/* The hint's scale value when it is the double that `f` rounds, else f. */
static double hinted_scale(const struct hint *h, float f)
{
	return h->has_scale_value && (float)h->scale_value == f ? h->scale_value : f;
}

static void hint_of(const Onnx__NodeProto *n, struct hint *h)
{
	const char *s = n->doc_string;
	char key[16], value[40];
	int used;

	memset(h, 0, sizeof(*h));
	h->center = h->scale = -1;
	if (!s || strncmp(s, "keras:", 6) != 0)
		return;
	s += 6;
	if (sscanf(s, "%31s%n", h->op, &used) != 1)
		return;
	for (s += used; sscanf(s, " %15[^= ]=%39s%n", key, value, &used) == 2; s += used) {
		int b = strcmp(value, "true") == 0 ? 1 : strcmp(value, "false") == 0 ? 0 : -1;

		if (strcmp(key, "center") == 0)
			h->center = b;
		else if (strcmp(key, "scale") == 0)
			h->scale = b;
		else if (strcmp(key, "scale_value") == 0)
			h->has_scale_value = sscanf(value, "%lf", &h->scale_value) == 1;
	}
}

/* One group of nodes built as one layer (build_group). */
struct group {
	const int *grp;	  /* its nodes in topological order, the head last */
	int k;		  /* how many */
	int h;		  /* the head, grp[k - 1]: the layer is named after it */
	int main_n;	  /* the nodes before the activation tail */
	struct act act;	  /* the activation tail's (act.act 0 without one) */
	struct hint hint; /* the head's doc_string */
	const char *name; /* the layer's name */
};

typedef int group_builder_fn(struct imp *m, const struct group *g, int *out);

/* The members of group `h` in topological order (the head last). */
static int group_members(const struct imp *m, int h, int *out, int max)
{
	int k = 0;

	for (size_t r = 0; r < m->gp->n_node; r++) {
		int i = m->order[r];

		if (m->head[i] == h) {
			if (k == max)
				return -1;
			out[k++] = i;
		}
	}
	return k;
}

static void recipe(struct imp *m, int layer, enum onnx_recipe_kind kind, const Onnx__NodeProto *a,
		   const Onnx__NodeProto *b)
{
	struct onnx_import_recipe *r;

	if ((size_t)layer >= m->n_recipes)
		return;
	r = &m->recipes[layer];
	r->kind = kind;
	r->node = a;
	r->node2 = b;
}

/* A Conv node read and checked by conv_read. */
struct conv {
	int x; /* the input layer (the ZeroPadding2D of explicit pads, if any) */
	const Onnx__TensorProto *w, *b, *pw; /* W, the bias, a separable pair's pointwise W */
	int64_t cin, cout, group;
	struct window win;
};

/* W [cout][cin / group][kh][kw] of a Conv on image layer xl, checked. */
static int conv_weights(struct imp *m, int node, int node_in, const struct model_layer *xl,
			struct conv *c)
{
	int rc;

	if (!c->w)
		return node_fail(m, node_in, "the weights W must be an initializer or constant");
	if ((rc = tcheck(m, node, c->w, T_FLOAT)))
		return rc;
	if (xl->rank != 3 || c->w->n_dims != 4)
		return node_fail(m, node_in, "a 2-D convolution of an image [N, C, H, W] is "
				 "needed (input rank %d, W rank %zu)", xl->rank + 1, c->w->n_dims);
	c->cin = xl->shape[2];
	c->cout = c->w->dims[0];
	if (c->group < 1 || c->cin % c->group || c->cout % c->group ||
	    c->w->dims[1] != c->cin / c->group)
		return node_fail(m, node_in, "W is [%" PRId64 ", %" PRId64 ", ...] for %" PRId64
				 " input channels in %" PRId64 " groups", c->w->dims[0],
				 c->w->dims[1], c->cin, c->group);
	return EP_OK;
}

/*
 * Conv `node` read and checked: its input, W, group, window and bias B. With dw_node >= 0,
 * `node` is the pointwise Conv of a separable pair and dw_node the depthwise one, which has
 * the input, W and window (and the bias is the pointwise one's). Explicit pads that are not
 * Keras's become a ZeroPadding2D "<name>_pad" before it (c->x).
 */
static int conv_read(struct imp *m, int node, int dw_node, const char *name, struct conv *c)
{
	const Onnx__NodeProto *n = node_at(m, node), *dn = dw_node >= 0 ? node_at(m, dw_node) : n;
	int node_in = dw_node >= 0 ? dw_node : node, rc;
	const struct model_layer *xl;
	int64_t bias_n;

	c->w = const_input(m, dn, 1);
	c->b = const_input(m, n, 2);
	c->pw = dw_node >= 0 ? const_input(m, n, 1) : NULL;
	c->group = onnx_attr_int(dn, "group", 1);
	if ((rc = input_layer(m, node_in, dn->input[0], &c->x)))
		return rc;
	xl = L(m, c->x);
	if ((rc = conv_weights(m, node, node_in, xl, c)) ||
	    (rc = window_attrs(m, node_in, c->w->dims + 2, &c->win)))
		return rc;
	if (c->win.k[0] != c->w->dims[2] || c->win.k[1] != c->w->dims[3])
		return node_fail(m, node_in, "kernel_shape %dx%d disagrees with W's %" PRId64
				 "x%" PRId64, c->win.k[0], c->win.k[1], c->w->dims[2],
				 c->w->dims[3]);
	if ((rc = window_padding(m, node_in, xl, &c->win)))
		return rc;
	/* A pointwise W that is not [F][C][1][1] is refused by add_separable. */
	bias_n = c->pw && c->pw->n_dims ? c->pw->dims[0] : c->cout;
	if (c->b && ((rc = tcheck(m, node, c->b, T_FLOAT)) ||
		     onnx_tensor_elements(c->b) != bias_n))
		return rc ? rc : node_fail(m, node, "bias B has %" PRId64 " elements for %" PRId64
					   " output channels", onnx_tensor_elements(c->b), bias_n);
	if (has_input(n, 2) && !c->b)
		return node_fail(m, node, "the bias B must be an initializer or constant");
	return pad_before(m, node_in, name, c->win.pad, &c->x);
}

/* SeparableConv2D from a depthwise Conv dw_node (multiplier 1, no bias) and the 1x1 Conv
 * `node`. */
static int add_separable(struct imp *m, int node, int dw_node, const struct conv *c,
			 const char *name, int *out)
{
	const Onnx__NodeProto *n = node_at(m, node), *dn = node_at(m, dw_node);
	const Onnx__TensorProto *pw;
	const struct window *w = &c->win;
	int rc;

	if ((rc = const_arg(m, node, 1, T_FLOAT, "the weights W", &pw)))
		return rc;
	if (c->group != c->cin || c->cout != c->cin || const_input(m, dn, 2) ||
	    w->s[0] != w->s[1] || w->d[0] != 1 || w->d[1] != 1 || pw->n_dims != 4 ||
	    pw->dims[1] != c->cin || pw->dims[2] != 1 || pw->dims[3] != 1 ||
	    onnx_attr_int(n, "group", 1) != 1)
		return node_fail(m, node, "not a separable convolution (depthwise without bias, "
				 "then a 1x1 convolution)");
	*out = model_add_separable(m->g, name, c->x, (int)pw->dims[0], w->k[0], w->k[1], w->s[0],
				   w->padding, c->b != NULL);
	if (!(rc = built(m, node, *out)))
		recipe(m, *out, ONNX_RECIPE_SEPARABLE, dn, n);
	return rc;
}

/* Conv (optionally the depthwise part of a separable pair in `dw_node`), with an activation:
 * SeparableConv2D, DepthwiseConv2D (group = channels, no activation) or Conv2D. */
static int build_conv(struct imp *m, int node, int dw_node, const struct act *act,
		      const char *name, int *out)
{
	const Onnx__NodeProto *n = node_at(m, node);
	const struct window *w;
	struct conv c;
	int rc;

	if ((rc = conv_read(m, node, dw_node, name, &c)))
		return rc;
	if (dw_node >= 0)
		return add_separable(m, node, dw_node, &c, name, out);
	w = &c.win;
	if (c.group == c.cin && c.group > 1 && w->s[0] == w->s[1] && w->d[0] == 1 &&
	    w->d[1] == 1 && !act->act) {
		*out = model_add_depthwise(m->g, name, c.x, w->k[0], w->k[1], w->s[0], w->padding,
					   (int)(c.cout / c.cin), c.b != NULL);
		if (!(rc = built(m, node, *out)))
			recipe(m, *out, ONNX_RECIPE_DEPTHWISE, n, NULL);
		return rc;
	}
	{
		struct model_attrs a = {
			.filters = (int32_t)c.cout,
			.kernel = { w->k[0], w->k[1] },
			.strides = { w->s[0], w->s[1] },
			.dilation = { w->d[0], w->d[1] },
			.groups = (int32_t)c.group,
			.padding = w->padding,
			.activation = act->act,
			.use_bias = c.b != NULL,
		};

		*out = model_add_conv2d_ex(m->g, name, c.x, &a);
	}
	if (!(rc = built(m, node, *out)))
		recipe(m, *out, ONNX_RECIPE_CONV, n, NULL);
	return rc;
}

/* Gemm or MatMul (+ Add of a constant bias in `add`), with an activation. */
static int build_dense(struct imp *m, int node, int add, const struct act *act, const char *name,
		       int *out)
{
	const Onnx__NodeProto *n = node_at(m, node), *an = add >= 0 ? node_at(m, add) : NULL;
	const Onnx__TensorProto *w, *b;
	const struct val *xv = val_find(m, n->input[0]);
	int x, rc;
	bool trans_b = false;
	int64_t k, units;

	if ((rc = input_layer(m, node, n->input[0], &x)))
		return rc;
	if (op_is(n, "Gemm")) {
		b = const_input(m, n, 2);
		trans_b = onnx_attr_int(n, "transB", 0) != 0;
		if (onnx_attr_int(n, "transA", 0) || onnx_attr_float(n, "alpha", 1) != 1.0f ||
		    (b && onnx_attr_float(n, "beta", 1) != 1.0f))
			return node_fail(m, node, "only transA 0, alpha 1 and beta 1 are read");
		if (has_input(n, 2) && !b)
			return node_fail(m, node, "the bias C must be an initializer or constant");
	} else {
		b = an ? const_input(m, an, is_const(m, an->input[0]) ? 0 : 1) : NULL;
	}
	if ((rc = const_arg(m, node, 1, T_FLOAT, "the weights B", &w)))
		return rc;
	if (L(m, x)->rank != 1 || w->n_dims != 2)
		return node_fail(m, node, "a matrix product of a vector [N, K] and a constant "
				 "[K, N] is needed (input rank %d, B rank %zu)", L(m, x)->rank + 1,
				 w->n_dims);
	k = trans_b ? w->dims[1] : w->dims[0];
	units = trans_b ? w->dims[0] : w->dims[1];
	if (k != L(m, x)->shape[0] || units < 1 || units > INT32_MAX)
		return node_fail(m, node, "B is [%" PRId64 ", %" PRId64 "]%s for %" PRId64
				 " inputs", w->dims[0], w->dims[1], trans_b ? " (transposed)" : "",
				 L(m, x)->shape[0]);
	if (b && ((rc = tcheck(m, node, b, T_FLOAT)) ||
		  onnx_tensor_elements(b) != units))
		return rc ? rc : node_fail(m, add >= 0 ? add : node,
					   "bias has %" PRId64 " elements for %" PRId64 " units",
					   onnx_tensor_elements(b), units);
	*out = model_add_dense(m->g, name, x, (int)units, b != NULL, act->act);
	if ((rc = built(m, node, *out)))
		return rc;
	recipe(m, *out, ONNX_RECIPE_DENSE, n, an);
	if ((size_t)*out < m->n_recipes) {
		struct onnx_import_recipe *r = &m->recipes[*out];

		r->bias = b;
		r->trans_b = trans_b;
		if (xv && xv->chw_flat) {
			r->chw_rows = true;
			memcpy(r->chw, xv->chw, sizeof(r->chw));
		}
	}
	return EP_OK;
}

static int build_batch_norm(struct imp *m, const struct group *g, int *out)
{
	int node = g->h;
	const struct hint *h = &g->hint;
	const char *name = g->name;
	const Onnx__NodeProto *n = node_at(m, node);
	const Onnx__TensorProto *t[4];
	int x, rc;
	int64_t c;
	bool center = h->center != 0, scale = h->scale != 0;

	if ((rc = input_layer(m, node, n->input[0], &x)))
		return rc;
	c = L(m, x)->rank == 3 ? L(m, x)->shape[2] : L(m, x)->shape[0];
	if (n->n_input != 5 || onnx_attr_int(n, "training_mode", 0) ||
	    onnx_attr_int(n, "spatial", 1) != 1 || n->n_output > 1)
		return node_fail(m, node, "only inference (5 inputs, one output, spatial) is read");
	for (int i = 0; i < 4; i++) {
		char what[16];

		snprintf(what, sizeof(what), "input %d", i + 1);
		if ((rc = const_arg(m, node, (size_t)i + 1, T_FLOAT, what, &t[i])))
			return rc;
		if (onnx_tensor_elements(t[i]) != c)
			return node_fail(m, node, "'%s' has %" PRId64 " elements for %" PRId64
					 " channels", t[i]->name, onnx_tensor_elements(t[i]), c);
	}
	/* Keras's scale=False / center=False keep gamma 1 / beta 0: the hint must say the same
	 * as the file. */
	for (int64_t i = 0; i < c; i++)
		if ((!scale && onnx_tensor_float(t[0], i) != 1.0f) ||
		    (!center && onnx_tensor_float(t[1], i) != 0.0f))
			return node_fail(m, node, "the hint says %s, but the tensor is not all %s",
					 !scale ? "scale=false" : "center=false",
					 !scale ? "ones" : "zeros");
	if (strcmp(h->op, "Normalization") == 0) {
		*out = model_add_normalization(m->g, name, x);
		if (!(rc = built(m, node, *out)))
			recipe(m, *out, ONNX_RECIPE_NORMALIZATION, n, NULL);
		return rc;
	}
	*out = model_add_batch_norm(m->g, name, x, center, scale);
	if (!(rc = built(m, node, *out)))
		recipe(m, *out, ONNX_RECIPE_BATCH_NORM, n, NULL);
	return rc;
}

/* Whether layer l's outputs are never negative: after a ReLU or a sigmoid. */
static bool nonneg_layer(const struct model_layer *l)
{
	enum model_activation a = l->attrs.activation;

	return (l->op == MODEL_OP_RELU && l->attrs.negative_slope == 0) ||
	       (l->op == MODEL_OP_ACTIVATION &&
		(a == MODEL_ACT_RELU || a == MODEL_ACT_RELU6 || a == MODEL_ACT_SIGMOID ||
		 a == MODEL_ACT_HARD_SIGMOID));
}

/*
 * The padding of a pool on image layer xl beyond window_padding: ceil_mode is refused where
 * it adds a partial window; count_include_pad with 'same' padding is explicit zero padding
 * then a valid average; explicit pads are read only where zeros change nothing (a MaxPool of
 * a layer that is never negative, an AveragePool that counts the padding).
 */
static int pool_padding(struct imp *m, int node, const struct model_layer *xl, bool max,
			struct window *w)
{
	const Onnx__NodeProto *n = node_at(m, node);
	bool count_pad = onnx_attr_int(n, "count_include_pad", 0) != 0;

	if (onnx_attr_int(n, "ceil_mode", 0)) {
		/* Ceil mode only matters when a last partial window would start inside the
		 * padded input; refuse it then. */
		for (int i = 0; i < 2; i++) {
			int64_t padded = xl->shape[i] + (i ? w->pad[2] + w->pad[3]
							   : w->pad[0] + w->pad[1]);

			if (w->padding == MODEL_PAD_VALID && (padded - w->k[i]) % w->s[i])
				return node_fail(m, node, "ceil_mode 1 adds a partial window here");
		}
	}
	if (!max && count_pad && w->padding == MODEL_PAD_SAME) {
		int64_t b, a;

		/* Counting the padding is ZeroPadding2D then a valid average. */
		w->padding = MODEL_PAD_VALID;
		for (int i = 0; i < 2; i++) {
			same_pads(xl->shape[i], w->k[i], w->s[i], 1, &b, &a);
			w->pad[2 * i] = (int)b;
			w->pad[2 * i + 1] = (int)a;
		}
	}
	if (!w->pad[0] && !w->pad[1] && !w->pad[2] && !w->pad[3])
		return EP_OK;
	if (max && !nonneg_layer(xl))
		return node_fail(m, node, "explicit pads that are not Keras's 'same' on an input "
				 "that may be negative (padding with zeros would change the "
				 "maximum)");
	if (!max && !count_pad)
		return node_fail(m, node, "explicit pads that are not Keras's 'same' with "
				 "count_include_pad 0");
	return EP_OK;
}

/* A pool with an unequal window or strides: the builder takes one size, so the layer is
 * written here with the same conventions (k_h x k_w FLOPs per output). */
static int add_pool_rect(struct imp *m, int node, const char *name, enum model_op op, int x,
			 const struct window *w, int *out)
{
	const struct model_layer *xl = L(m, x);
	struct model_layer l = { 0 };
	struct ep_error e;

	snprintf(l.name, sizeof(l.name), "%s", name);
	snprintf(l.op_name, sizeof(l.op_name), "%s", model_op_name(op));
	l.n_inputs = 1;
	l.inputs[0] = x;
	l.rank = 3;
	l.dtype = MODEL_DTYPE_FLOAT32;
	l.attrs.padding = w->padding;
	for (int i = 0; i < 2; i++) {
		int64_t eff = w->k[i];

		l.attrs.kernel[i] = w->k[i];
		l.attrs.strides[i] = w->s[i];
		l.attrs.dilation[i] = 1;
		l.shape[i] = w->padding == MODEL_PAD_SAME ? (xl->shape[i] + w->s[i] - 1) / w->s[i]
			     : xl->shape[i] >= eff	  ? (xl->shape[i] - eff) / w->s[i] + 1
							  : 0;
	}
	l.shape[2] = xl->shape[2];
	l.flops = (int64_t)w->k[0] * w->k[1] * model_layer_elements(&l);
	*out = model_graph_add_layer(m->g, &l, &e);
	if (*out < 0)
		return node_fail(m, node, "%s", e.msg);
	return EP_OK;
}

/* MaxPool / AveragePool. */
static int build_pool(struct imp *m, const struct group *g, int *out)
{
	int node = g->h;
	const char *name = g->name;
	const Onnx__NodeProto *n = node_at(m, node);
	bool max = op_is(n, "MaxPool");
	enum model_op op = max ? MODEL_OP_MAX_POOL2D : MODEL_OP_AVG_POOL2D;
	const struct model_layer *xl;
	struct window w;
	int x, rc;

	if ((rc = input_layer(m, node, n->input[0], &x)))
		return rc;
	xl = L(m, x);
	if (xl->rank != 3)
		return node_fail(m, node, "a 2-D pool of an image [N, C, H, W] is needed");
	if ((rc = window_attrs(m, node, NULL, &w)))
		return rc;
	if (w.d[0] != 1 || w.d[1] != 1 || onnx_attr_int(n, "storage_order", 0) ||
	    (n->n_output > 1 && n->output[1][0]))
		return node_fail(m, node, "dilations, storage_order and the Indices output are "
				 "not read");
	if ((rc = window_padding(m, node, xl, &w)) || (rc = pool_padding(m, node, xl, max, &w)) ||
	    (rc = pad_before(m, node, name, w.pad, &x)))
		return rc;
	if (w.k[0] != w.k[1] || w.s[0] != w.s[1])
		return add_pool_rect(m, node, name, op, x, &w, out);
	*out = model_add_pool(m->g, name, op, x, w.k[0], w.s[0], w.padding);
	return built(m, node, *out);
}

/* Pad: constant zeros on the two spatial dimensions only. */
static int build_pad(struct imp *m, const struct group *g, int *out)
{
	int node = g->h;
	const char *name = g->name;
	const Onnx__NodeProto *n = node_at(m, node);
	char buf[32];
	const char *mode = onnx_attr_string(n, "mode", "constant", buf, sizeof(buf));
	int64_t p[8];
	size_t np = 0;
	int x, rc;
	const Onnx__TensorProto *pt, *cv = const_input(m, n, 2);

	if ((rc = input_layer(m, node, n->input[0], &x)))
		return rc;
	if (strcmp(mode, "constant") != 0)
		return node_fail(m, node, "mode '%s' (only constant zero padding is read)", mode);
	if (m->opset < 11) {
		const int64_t *a = onnx_attr_ints(n, "pads", &np);

		if (onnx_attr_float(n, "value", 0) != 0.0f)
			return node_fail(m, node, "a pad value other than 0");
		for (size_t i = 0; i < np && i < 8; i++)
			p[i] = a[i];
	} else {
		if ((rc = const_arg(m, node, 1, T_INT64, "pads", &pt)))
			return rc;
		np = (size_t)onnx_tensor_elements(pt);
		for (size_t i = 0; i < np && i < 8; i++)
			p[i] = onnx_tensor_int64(pt, (int64_t)i);
		if (has_input(n, 3))
			return node_fail(m, node, "the axes input is not read");
		if (cv && (tcheck(m, node, cv, T_FLOAT) ||
			   onnx_tensor_elements(cv) != 1 || onnx_tensor_float(cv, 0) != 0.0f))
			return node_fail(m, node, "a pad value other than 0");
	}
	if (L(m, x)->rank != 3 || np != 8 || p[0] || p[1] || p[4] || p[5])
		return node_fail(m, node, "only padding of the spatial dimensions of an image "
				 "[N, C, H, W] is read");
	for (int i = 0; i < 8; i++)
		if (p[i] < 0 || p[i] > 1 << 20)
			return node_fail(m, node, "pad %" PRId64 " out of range", p[i]);
	*out = model_add_zero_pad(m->g, name, x, (int)p[2], (int)p[6], (int)p[3], (int)p[7]);
	return built(m, node, *out);
}

/* The target of a Reshape in ONNX dims (batch first), with 0 and -1 resolved against the
 * input's ONNX dims. */
static int reshape_target(struct imp *m, int node, const struct model_layer *x, int64_t *dims,
			  int *rank)
{
	const Onnx__NodeProto *n = node_at(m, node);
	const Onnx__TensorProto *t;
	int64_t in[MODEL_MAX_RANK + 1], known = 1, total = model_layer_elements(x);
	int unknown = -1, rc;

	onnx_layer_dims(x, in);
	if ((rc = const_arg(m, node, 1, T_INT64, "the shape", &t)))
		return rc;
	*rank = (int)onnx_tensor_elements(t);
	if (*rank < 2 || *rank > 4 || *rank == 3)
		return node_fail(m, node, "a target of rank %d (edgepipe reshapes to [N, C] or "
				 "[N, C, H, W])", *rank);
	for (int i = 0; i < *rank; i++) {
		dims[i] = onnx_tensor_int64(t, i);
		if (dims[i] == 0 && !onnx_attr_int(n, "allowzero", 0))
			dims[i] = i <= x->rank ? in[i] : 0;
		if (dims[i] == -1 && unknown < 0)
			unknown = i;
		else if (dims[i] < 1)
			return node_fail(m, node, "target dimension %" PRId64, dims[i]);
		else
			known *= dims[i];
	}
	if (unknown >= 0) {
		if (total % known)
			return node_fail(m, node, "cannot infer -1 from %" PRId64 " elements",
					 total);
		dims[unknown] = total / known;
	}
	if (dims[0] != 1)
		return node_fail(m, node, "the target's batch dimension is %" PRId64 " (1 needed)",
				 dims[0]);
	return EP_OK;
}

/*
 * Flatten, Reshape, Squeeze, Unsqueeze. `transpose`: the Transpose(0,2,3,1) that came first
 * (whose input is read), so the flattening is in Keras's H,W,C order already; or NULL.
 */
static int build_reshape(struct imp *m, int node, const Onnx__NodeProto *transpose,
			 const char *name, int *out)
{
	const Onnx__NodeProto *n = node_at(m, node);
	const struct model_layer *xl;
	int x, rc, rank = 0;
	int64_t dims[MODEL_MAX_RANK + 1];
	bool transposed = transpose != NULL;

	if ((rc = input_layer(m, node, transposed ? transpose->input[0] : n->input[0], &x)))
		return rc;
	xl = L(m, x);
	if (op_is(n, "Flatten")) {
		if (onnx_attr_int(n, "axis", 1) != 1)
			return node_fail(m, node, "axis %" PRId64 " (1 keeps the batch apart)",
					 onnx_attr_int(n, "axis", 1));
		rank = 2;
		dims[1] = model_layer_elements(xl);
	} else if (op_is(n, "Reshape")) {
		if ((rc = reshape_target(m, node, xl, dims, &rank)))
			return rc;
	} else {
		/* Squeeze and Unsqueeze: only the size-1 dimensions move; the result is the
		 * input's non-1 dimensions, as an image when they fit and a vector otherwise. */
		int64_t e = model_layer_elements(xl);

		rank = 2;
		dims[1] = e;
		if (op_is(n, "Unsqueeze") && xl->rank == 1) {
			rank = 4;
			dims[1] = xl->shape[0];
			dims[2] = dims[3] = 1;
		}
	}
	if (rank == 2) {
		bool spatial = xl->rank == 3 && xl->shape[0] * xl->shape[1] > 1 && xl->shape[2] > 1;

		/* An image of more than one position and channel flattened: Keras's Flatten
		 * (a Reshape layer would not export, and the order is tracked below). */
		if (op_is(n, "Flatten") || spatial || transposed) {
			*out = model_add_flatten(m->g, name, x);
			if ((rc = built(m, node, *out)))
				return rc;
		} else {
			*out = model_add_reshape(m->g, name, x, 1, &dims[1]);
			if ((rc = built(m, node, *out)))
				return rc;
		}
		if (spatial && !transposed) {
			struct val *v = val_find(m, n->output[0]);

			v->chw_flat = true;
			v->chw[0] = xl->shape[2];
			v->chw[1] = xl->shape[0];
			v->chw[2] = xl->shape[1];
		}
		return EP_OK;
	}
	/* rank 4: [1, C, H, W] is the image (H, W, C). Equal element orders need H*W == 1 on
	 * both sides or a single channel on both sides. */
	{
		int64_t t[3] = { dims[2], dims[3], dims[1] };
		bool in_ok = xl->rank == 1 || (xl->rank == 3 && (xl->shape[0] * xl->shape[1] == 1 ||
								  xl->shape[2] == 1));
		bool out_ok = dims[2] * dims[3] == 1 || dims[1] == 1;

		if (!in_ok || !out_ok || (xl->rank == 3 && xl->shape[2] == 1) != (dims[1] == 1))
			return node_fail(m, node, "this reshape reorders elements between NCHW and "
					 "NHWC (only reshapes that keep a 1x1 image or a single "
					 "channel are read)");
		*out = model_add_reshape(m->g, name, x, 3, t);
		return built(m, node, *out);
	}
}

/* Add/Sum of tensors, Mul of two tensors or by a constant scalar. */
static int build_binary(struct imp *m, const struct group *g, int *out)
{
	int node = g->h;
	const struct hint *h = &g->hint;
	const char *name = g->name;
	const Onnx__NodeProto *n = node_at(m, node);
	int xs[MODEL_MAX_INPUTS], rc;

	if (n->n_input < 1 || n->n_input > MODEL_MAX_INPUTS)
		return node_fail(m, node, "%zu inputs", n->n_input);
	if (op_is(n, "Mul") && n->n_input == 2 &&
	    (is_const(m, n->input[0]) || is_const(m, n->input[1]))) {
		int c = is_const(m, n->input[0]) ? 0 : 1;
		const Onnx__TensorProto *t = const_input(m, n, (size_t)c);

		if ((rc = tcheck(m, node, t, T_FLOAT)))
			return rc;
		if (onnx_tensor_elements(t) != 1)
			return node_fail(m, node, "a product with a constant of %" PRId64 " elements "
					 "(a scalar is read, as Keras Rescaling)",
					 onnx_tensor_elements(t));
		if ((rc = input_layer(m, node, n->input[1 - c], &xs[0])))
			return rc;
		*out = model_add_rescaling(m->g, name, xs[0], hinted_scale(h, onnx_tensor_float(t, 0)));
		return built(m, node, *out);
	}
	for (size_t k = 0; k < n->n_input; k++)
		if ((rc = input_layer(m, node, n->input[k], &xs[k])))
			return rc;
	if (op_is(n, "Mul")) {
		if (n->n_input != 2)
			return node_fail(m, node, "Mul of %zu inputs", n->n_input);
		*out = model_add_multiply(m->g, name, xs[0], xs[1]);
	} else {
		if (n->n_input == 1)
			return node_fail(m, node, "a sum of one input");
		*out = model_add_add(m->g, name, xs, (int)n->n_input);
	}
	return built(m, node, *out);
}

static int build_concat(struct imp *m, const struct group *g, int *out)
{
	int node = g->h;
	const char *name = g->name;
	const Onnx__NodeProto *n = node_at(m, node);
	int xs[MODEL_MAX_INPUTS], rc;
	int64_t axis = onnx_attr_int(n, "axis", 1);

	if (n->n_input < 2 || n->n_input > MODEL_MAX_INPUTS)
		return node_fail(m, node, "%zu inputs (2 to %d)", n->n_input, MODEL_MAX_INPUTS);
	for (size_t k = 0; k < n->n_input; k++)
		if ((rc = input_layer(m, node, n->input[k], &xs[k])))
			return rc;
	if (axis < 0)
		axis += L(m, xs[0])->rank + 1;
	if (axis != 1)
		return node_fail(m, node, "axis %" PRId64 " (edgepipe concatenates channels)",
				 onnx_attr_int(n, "axis", 1));
	*out = model_add_concat(m->g, name, xs, (int)n->n_input);
	return built(m, node, *out);
}

/* The one graph input that is not an initializer (*in), or an error. */
static int find_graph_input(struct imp *m, const Onnx__ValueInfoProto **in)
{
	*in = NULL;
	for (size_t i = 0; i < m->gp->n_input; i++) {
		const struct val *v = val_find(m, m->gp->input[i]->name);

		if (v->konst)
			continue;
		if (*in)
			return ep_error_set(m->err, EP_EINVAL, "%s: graph inputs '%s' and '%s': "
					    "edgepipe models have one input", m->path, (*in)->name,
					    m->gp->input[i]->name);
		*in = m->gp->input[i];
	}
	if (!*in)
		return ep_error_set(m->err, EP_EINVAL, "%s: the graph has no input", m->path);
	return EP_OK;
}

/* The graph input's float32 shape as a layer's (H, W, C) or (C) in hwc[], its ONNX rank (4 or
 * 2) in *rank; an unknown dimension is 0. */
static int input_shape_of(struct imp *m, const Onnx__ValueInfoProto *in, int64_t hwc[3],
			  size_t *rank)
{
	const Onnx__TensorShapeProto *sh;
	int64_t d[4] = { 0 };

	if (!in->type || in->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
	    !in->type->tensor_type->shape)
		return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' is not a tensor of "
				    "known rank", m->path, in->name);
	if (in->type->tensor_type->elem_type != T_FLOAT)
		return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' has element type %d "
				    "(float32 is read)", m->path, in->name,
				    in->type->tensor_type->elem_type);
	sh = in->type->tensor_type->shape;
	*rank = sh->n_dim;
	if (*rank != 4 && *rank != 2)
		return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' has rank %zu "
				    "([N, C, H, W] images and [N, C] vectors are read)", m->path,
				    in->name, *rank);
	for (size_t i = 1; i < *rank; i++) {
		const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];

		d[i] = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
			       ? dm->dim_value : 0;
	}
	hwc[0] = *rank == 4 ? d[2] : d[1];
	hwc[1] = *rank == 4 ? d[3] : 0;
	hwc[2] = *rank == 4 ? d[1] : 0;
	return EP_OK;
}

/* A given input shape fills the unknown dimensions and must agree with the known ones (it was
 * silently ignored when the file knew them all). */
static int apply_input_shape(struct imp *m, const Onnx__ValueInfoProto *in, size_t rank,
			     int64_t hwc[3])
{
	static const char *const axis[3] = { "height", "width", "channels" };
	const int64_t *is = m->opt->input_shape;

	if (is[0] <= 0)
		return EP_OK;
	if (rank != 4)
		return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' is a vector; an "
				    "input shape %" PRId64 "x%" PRId64 "x%" PRId64 " is for images",
				    m->path, in->name, is[0], is[1], is[2]);
	for (int i = 0; i < 3; i++)
		if (hwc[i] > 0 && hwc[i] != is[i])
			return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' has %s "
					    "%" PRId64 ", the input shape %" PRId64 "x%" PRId64
					    "x%" PRId64 " says %" PRId64, m->path, in->name,
					    axis[i], hwc[i], is[0], is[1], is[2], is[i]);
	memcpy(hwc, is, 3 * sizeof(*hwc));
	return EP_OK;
}

/* The input layer: an image (H, W, C), or a vector (C), which model_add_input does not make:
 * the graph is made again with the input layer of rank 1. */
static int add_input_layer(struct imp *m, const char *name, size_t rank, const int64_t hwc[3],
			   int *x)
{
	struct model_layer l;
	struct model_graph *g2;
	struct ep_error e;

	*x = rank == 4 ? model_add_input(m->g, name, hwc[0], hwc[1], hwc[2])
		       : model_add_input(m->g, name, hwc[0], 1, 1);
	if (*x < 0 || rank != 2)
		return EP_OK;
	l = *L(m, *x);
	g2 = model_graph_create(model_graph_name(m->g));
	if (!g2)
		return ep_error_set(m->err, EP_ENOMEM, "out of memory");
	l.rank = 1;
	l.shape[1] = l.shape[2] = 0;
	*x = model_graph_add_layer(g2, &l, &e);
	model_graph_destroy(m->g);
	m->g = g2;
	return EP_OK;
}

/* The one (non-constant) graph input as the input layer. */
static int build_input(struct imp *m)
{
	const Onnx__ValueInfoProto *in;
	int64_t hwc[3];
	char name[MODEL_NAME_MAX];
	size_t rank = 0;
	int x, rc;

	if ((rc = find_graph_input(m, &in)) || (rc = input_shape_of(m, in, hwc, &rank)) ||
	    (rc = apply_input_shape(m, in, rank, hwc)))
		return rc;
	for (size_t i = 0; i + 1 < rank; i++)
		if (hwc[i] <= 0)
			return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' has an "
					    "unknown dimension %zu (only the batch may be unknown; "
					    "give the input shape)", m->path, in->name,
					    rank == 4 ? (i + 2) % 3 + 1 : 1);
	layer_name(m, in->name, name);
	if ((rc = add_input_layer(m, name, rank, hwc, &x)))
		return rc;
	if (x < 0)
		return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s': %s", m->path,
				    in->name, model_graph_error(m->g) ? model_graph_error(m->g) : "");
	val_find(m, in->name)->layer = x;
	return EP_OK;
}

/* Compare a built layer's shape with what the file declares for tensor `name`, if anything. */
static int check_declared(struct imp *m, int node, const char *tensor, int layer)
{
	const Onnx__GraphProto *gp = m->gp;
	const Onnx__ValueInfoProto *vi = NULL;
	const struct model_layer *l = L(m, layer);
	const Onnx__TensorShapeProto *sh;
	int64_t want[MODEL_MAX_RANK + 1];
	int rank = onnx_layer_dims(l, want);

	for (size_t i = 0; i < gp->n_value_info && !vi; i++)
		if (strcmp(gp->value_info[i]->name, tensor) == 0)
			vi = gp->value_info[i];
	for (size_t i = 0; i < gp->n_output && !vi; i++)
		if (strcmp(gp->output[i]->name, tensor) == 0)
			vi = gp->output[i];
	if (!vi || !vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
	    !vi->type->tensor_type->shape)
		return EP_OK;
	sh = vi->type->tensor_type->shape;
	if ((int)sh->n_dim != rank)
		return node_fail(m, node, "output '%s' has rank %zu in the file, %d by edgepipe's "
				 "shape propagation", tensor, sh->n_dim, rank);
	for (int i = 1; i < rank; i++) {
		const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];

		if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
		    dm->dim_value != want[i])
			return node_fail(m, node, "output '%s' dimension %d is %" PRId64 " in the "
					 "file, %" PRId64 " by edgepipe's shape propagation (NCHW)",
					 tensor, i, dm->dim_value, want[i]);
	}
	return EP_OK;
}

static const char *const act_ops[] = { "Relu",	  "Clip",      "Sigmoid",  "Tanh",
				       "Softmax", "HardSigmoid", "HardSwish", "LeakyRelu" };

static bool is_act_op(const Onnx__NodeProto *n)
{
	for (size_t i = 0; i < sizeof(act_ops) / sizeof(*act_ops); i++)
		if (op_is(n, act_ops[i]))
			return true;
	return false;
}

static void folded_free(Onnx__TensorProto *t)
{
	if (t) {
		free(t->dims);
		free(t->int64_data);
	}
	free(t);
}

/* The int64 values of a folded shape computation: a scalar (rank 0) or a vector. */
struct sizes {
	int64_t v[2 * MODEL_MAX_RANK + 2];
	size_t n, rank;
};

/* Shape: the ONNX dims of a computed tensor (batch 1; a Flatten in C,H,W order is [1, C*H*W]). */
static int fold_shape(struct imp *m, int i, struct sizes *z)
{
	const Onnx__NodeProto *n = node_at(m, i);
	const struct val *v = val_find(m, n->input[0]);
	const struct model_layer *l;

	if (onnx_attr(n, "start") || onnx_attr(n, "end"))
		return node_fail(m, i, "start and end are not read");
	if (!v || v->layer < 0)
		return node_fail(m, i, "the shape of a constant is not read");
	l = L(m, v->layer);
	if (v->chw_flat) {
		z->v[0] = 1;
		z->v[1] = v->chw[0] * v->chw[1] * v->chw[2];
		z->n = 2;
	} else {
		z->n = (size_t)onnx_layer_dims(l, z->v);
	}
	z->rank = 1;
	return EP_OK;
}

/* Gather on axis 0 of the sizes by the constant indices of input 1. */
static int fold_gather(struct imp *m, int i, struct sizes *z)
{
	const Onnx__NodeProto *n = node_at(m, i);
	const Onnx__TensorProto *ix = const_input(m, n, 1);
	int64_t e = ix ? onnx_tensor_elements(ix) : -1, out[MODEL_MAX_RANK + 1];

	if (!ix || z->rank != 1 || onnx_attr_int(n, "axis", 0) != 0 || ix->n_dims > 1 || e < 1 ||
	    e > MODEL_MAX_RANK + 1 || tcheck(m, i, ix, T_INT64))
		return node_fail(m, i, "only a Gather on axis 0 of a vector of sizes, with at most "
				 "%d indices, is read", MODEL_MAX_RANK + 1);
	for (int64_t j = 0; j < e; j++) {
		int64_t q = onnx_tensor_int64(ix, j);

		if (q < 0)
			q += (int64_t)z->n;
		if (q < 0 || q >= (int64_t)z->n)
			return node_fail(m, i, "index %" PRId64 " of %zu sizes",
					 onnx_tensor_int64(ix, j), z->n);
		out[j] = z->v[q];
	}
	memcpy(z->v, out, (size_t)e * sizeof(int64_t));
	z->n = (size_t)e;
	z->rank = ix->n_dims;
	return EP_OK;
}

/* Gather, Unsqueeze, Squeeze or Concat of int64 constants: the sizes of the data input (all
 * inputs for Concat), then the op. */
static int fold_sizes_op(struct imp *m, int i, struct sizes *z)
{
	const Onnx__NodeProto *n = node_at(m, i);
	int rc;

	z->rank = 1;
	for (size_t k = 0; k < n->n_input; k++) {
		const Onnx__TensorProto *c = const_input(m, n, k);
		int64_t e;

		if (!c)
			continue;
		if ((rc = tcheck(m, i, c, T_INT64)))
			return rc;
		e = onnx_tensor_elements(c);
		if (c->n_dims > 1 || e > (int64_t)(sizeof(z->v) / sizeof(*z->v) - z->n))
			return node_fail(m, i, "shape arithmetic on a tensor of rank %zu and "
					 "%" PRId64 " elements", c->n_dims, e);
		if (k > 0 && !op_is(n, "Concat"))
			break; /* indices or axes: read below */
		for (int64_t j = 0; j < e; j++)
			z->v[z->n++] = onnx_tensor_int64(c, j);
		z->rank = c->n_dims;
	}
	if (op_is(n, "Concat") && onnx_attr_int(n, "axis", 0) != 0 &&
	    onnx_attr_int(n, "axis", 0) != -1)
		return node_fail(m, i, "a Concat of sizes on axis %" PRId64,
				 onnx_attr_int(n, "axis", 0));
	if (op_is(n, "Gather"))
		return fold_gather(m, i, z);
	if (op_is(n, "Unsqueeze")) {
		if (z->rank != 0)
			return node_fail(m, i, "only a scalar size is unsqueezed");
		z->rank = 1; /* a scalar becomes [1] whatever the axis (0 or -1) */
	} else if (op_is(n, "Squeeze")) {
		if (z->rank != 1 || z->n != 1)
			return node_fail(m, i, "only a single size is squeezed");
		z->rank = 0;
	}
	return EP_OK;
}

/* The sizes as node i's output, an int64 constant kept in m->folded. */
static int fold_store(struct imp *m, int i, const struct sizes *z)
{
	Onnx__TensorProto *t = calloc(1, sizeof(*t)), **grown;

	if (t) {
		onnx__tensor_proto__init(t);
		t->data_type = T_INT64;
		t->n_dims = z->rank;
		t->dims = malloc(sizeof(int64_t));
		t->n_int64_data = z->n;
		t->int64_data = malloc((z->n ? z->n : 1) * sizeof(int64_t));
	}
	grown = realloc(m->folded, (m->n_folded + 1) * sizeof(*grown));
	if (grown)
		m->folded = grown;
	if (!t || !t->dims || !t->int64_data || !grown) {
		folded_free(t);
		return ep_error_set(m->err, EP_ENOMEM, "out of memory");
	}
	t->dims[0] = (int64_t)z->n;
	memcpy(t->int64_data, z->v, z->n * sizeof(int64_t));
	m->folded[m->n_folded++] = t;
	val_find(m, node_at(m, i)->output[0])->konst = t;
	return EP_OK;
}

/*
 * Shape arithmetic as PyTorch writes x.view(x.size(0), -1): Shape of a tensor, then Gather,
 * Unsqueeze, Squeeze and Concat of int64 constants. Every shape is known here, so each such
 * node's output is a constant (kept in m->folded) and no layer. Returns 1 when node `i` is
 * not shape arithmetic on constants (built as usual), else EP_OK or a node error.
 */
static int fold_shape_node(struct imp *m, int i)
{
	const Onnx__NodeProto *n = node_at(m, i);
	bool shape = op_is(n, "Shape");
	struct sizes z = { .n = 0 };
	int rc;

	if (!shape && !op_is(n, "Gather") && !op_is(n, "Unsqueeze") && !op_is(n, "Squeeze") &&
	    !op_is(n, "Concat"))
		return 1;
	for (size_t k = shape ? 1 : 0; k < n->n_input; k++)
		if (n->input[k][0] && !is_const(m, n->input[k]))
			return 1; /* an op on computed tensors: a layer */
	if (n->n_input < 1 || n->n_output != 1)
		return node_fail(m, i, "expected one data input and one output");
	rc = shape ? fold_shape(m, i, &z) : fold_sizes_op(m, i, &z);
	return rc ? rc : fold_store(m, i, &z);
}

/* ---- groups ---------------------------------------------------------------------------- */

/* Identity: an alias of its input, no layer. */
static int bind_alias(struct imp *m, int h)
{
	const Onnx__NodeProto *hn = node_at(m, h);
	struct val *src = val_find(m, hn->input[0]), *dst = val_find(m, hn->output[0]);
	int x, rc;

	if ((rc = input_layer(m, h, hn->input[0], &x)))
		return rc;
	dst->layer = x;
	dst->chw_flat = src->chw_flat;
	memcpy(dst->chw, src->chw, sizeof(dst->chw));
	return EP_OK;
}

/* The activation tail of group g: [.., act], [.., Sigmoid, Mul] (swish) or [.., HardSigmoid,
 * Mul] (hard_swish, as PyTorch writes Hardswish before opset 14 and we write it in 13); sets
 * g->act and g->main_n. */
static int group_activation(struct imp *m, struct group *g)
{
	const Onnx__NodeProto *hn = node_at(m, g->h);
	const Onnx__NodeProto *prev = g->k >= 2 ? node_at(m, g->grp[g->k - 2]) : NULL;
	int rc = EP_OK;

	if (prev && op_is(hn, "Mul") && op_is(prev, "Sigmoid")) {
		g->act.act = MODEL_ACT_SWISH;
		g->main_n = g->k - 2;
	} else if (prev && op_is(hn, "Mul") && op_is(prev, "HardSigmoid")) {
		if ((rc = hard_sigmoid_check(m, g->grp[g->k - 2])))
			return rc;
		g->act.act = MODEL_ACT_HARD_SWISH;
		g->main_n = g->k - 2;
	} else if (is_act_op(hn)) {
		const struct val *iv = val_find(m, hn->input[0]);
		const struct model_layer *xl = iv && iv->layer >= 0 ? L(m, iv->layer) : NULL;

		rc = activation_of(m, g->h, xl, &g->act);
		g->main_n = g->k - 1;
	}
	return rc;
}

/* A group that is only an activation: ReLU (LeakyRelu, a Clip unless hinted as an
 * Activation, a Relu hinted as a ReLU) or Activation. */
static int build_activation(struct imp *m, const struct group *g, int *out)
{
	const struct act *act = &g->act;
	const char *hop = g->hint.op;
	int x, rc;

	if ((rc = input_layer(m, g->h, node_at(m, g->grp[0])->input[0], &x)))
		return rc;
	if (act->is_leaky)
		*out = model_add_leaky_relu(m->g, g->name, x, act->negative_slope);
	else if (act->is_clip && strcmp(hop, "Activation") != 0)
		*out = model_add_relu(m->g, g->name, x, act->max_value);
	else if (act->is_relu && strcmp(hop, "ReLU") == 0)
		*out = model_add_relu(m->g, g->name, x, 0);
	else if (act->is_clip && act->max_value != 6.0 && act->max_value != 0)
		return node_fail(m, g->h, "Clip(0, %g) as an Activation", act->max_value);
	else
		*out = model_add_activation(m->g, g->name, x, act->act);
	return built(m, g->h, *out);
}

static int build_conv1(struct imp *m, const struct group *g, int *out)
{
	return build_conv(m, g->grp[0], -1, &g->act, g->name, out);
}

static int build_dense1(struct imp *m, const struct group *g, int *out)
{
	return build_dense(m, g->grp[0], -1, &g->act, g->name, out);
}

static int build_reshape1(struct imp *m, const struct group *g, int *out)
{
	return build_reshape(m, g->h, NULL, g->name, out);
}

/* GlobalAveragePool keeping the dims. */
static int build_global_pool(struct imp *m, const struct group *g, int *out)
{
	int x, rc;

	if ((rc = input_layer(m, g->h, node_at(m, g->h)->input[0], &x)))
		return rc;
	if (L(m, x)->rank != 3)
		return node_fail(m, g->h, "a pool of an image [N, C, H, W] is needed");
	*out = model_add_global_avg_pool(m->g, g->name, x, true);
	return built(m, g->h, *out);
}

/* Dropout, whose mask output no other node may read. */
static int build_dropout(struct imp *m, const struct group *g, int *out)
{
	const Onnx__NodeProto *n = node_at(m, g->h);
	const struct val *mask = n->n_output > 1 && n->output[1][0] ? val_find(m, n->output[1])
								     : NULL;
	int x, rc;

	if ((rc = input_layer(m, g->h, n->input[0], &x)))
		return rc;
	if (mask && mask->consumers)
		return node_fail(m, g->h, "the mask output is read by another node");
	*out = model_add_dropout(m->g, g->name, x);
	return built(m, g->h, *out);
}

/* Depthwise Conv + 1x1 Conv: SeparableConv2D. */
static int build_separable2(struct imp *m, const struct group *g, int *out)
{
	return build_conv(m, g->grp[1], g->grp[0], &g->act, g->name, out);
}

/* MatMul + Add of a constant: Dense with a bias. */
static int build_dense2(struct imp *m, const struct group *g, int *out)
{
	return build_dense(m, g->grp[0], g->grp[1], &g->act, g->name, out);
}

/* Mul by a constant + Add: InceptionResNetV2's Lambda, a + b * scale. */
static int build_scale_sum(struct imp *m, const struct group *g, int *out)
{
	const Onnx__NodeProto *mul = node_at(m, g->grp[0]), *add = node_at(m, g->grp[1]);
	int c = is_const(m, mul->input[0]) ? 0 : 1, a, b, rc;
	const Onnx__TensorProto *t = const_input(m, mul, (size_t)c);
	int other = strcmp(add->input[0], mul->output[0]) == 0 ? 1 : 0;

	if (!t || tcheck(m, g->h, t, T_FLOAT) || onnx_tensor_elements(t) != 1)
		return node_fail(m, g->h, "a scaled sum needs a scalar constant");
	if ((rc = input_layer(m, g->grp[0], mul->input[1 - c], &b)) ||
	    (rc = input_layer(m, g->h, add->input[other], &a)))
		return rc;
	*out = model_add_scale_sum(m->g, g->name, a, b,
				   hinted_scale(&g->hint, onnx_tensor_float(t, 0)));
	return built(m, g->h, *out);
}

/* Transpose(0, 2, 3, 1) + a flattening: Keras's Flatten in H,W,C order. */
static int build_flatten2(struct imp *m, const struct group *g, int *out)
{
	return build_reshape(m, g->grp[1], node_at(m, g->grp[0]), g->name, out);
}

/* GlobalAveragePool + a flattening: GlobalAveragePooling2D without keepdims. */
static int build_global_pool2(struct imp *m, const struct group *g, int *out)
{
	int x, rc;

	if ((rc = input_layer(m, g->grp[0], node_at(m, g->grp[0])->input[0], &x)))
		return rc;
	*out = model_add_global_avg_pool(m->g, g->name, x, false);
	return built(m, g->h, *out);
}

/* Two nodes (before any activation) that form one layer: the first's op, the second's (NULL:
 * any), the builder; the first match wins. */
static const struct {
	const char *first, *second;
	group_builder_fn *build;
} pair_builders[] = {
	{ "Conv", "Conv", build_separable2 },
	{ "MatMul", "Add", build_dense2 },
	{ "Mul", "Add", build_scale_sum },
	{ "Transpose", NULL, build_flatten2 },
	{ "GlobalAveragePool", NULL, build_global_pool2 },
};

/* One node (before any activation) as one layer, by its op. */
static const struct {
	const char *op;
	group_builder_fn *build;
} node_builders[] = {
	{ "Conv", build_conv1 },
	{ "Gemm", build_dense1 },
	{ "MatMul", build_dense1 },
	{ "BatchNormalization", build_batch_norm },
	{ "MaxPool", build_pool },
	{ "AveragePool", build_pool },
	{ "GlobalAveragePool", build_global_pool },
	{ "Pad", build_pad },
	{ "Flatten", build_reshape1 },
	{ "Reshape", build_reshape1 },
	{ "Squeeze", build_reshape1 },
	{ "Unsqueeze", build_reshape1 },
	{ "Add", build_binary },
	{ "Sum", build_binary },
	{ "Mul", build_binary },
	{ "Concat", build_concat },
	{ "Dropout", build_dropout },
};

/* Whether the importer reads node n's op: as a layer, a part of one, an alias or shape
 * arithmetic (Constant aside). */
static bool op_is_read(const Onnx__NodeProto *n)
{
	static const char *const others[] = { "Identity", "Transpose", "Shape", "Gather" };

	for (size_t i = 0; i < sizeof(node_builders) / sizeof(*node_builders); i++)
		if (op_is(n, node_builders[i].op))
			return true;
	for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++)
		if (op_is(n, others[i]))
			return true;
	return is_act_op(n);
}

/* The layer of group g's main nodes (those before the activation tail), with the tail's
 * activation fused where the layer has one (Conv2D, Dense). */
static int build_main(struct imp *m, const struct group *g, int *out)
{
	const Onnx__NodeProto *mn = node_at(m, g->grp[g->main_n - 1]);
	const Onnx__NodeProto *first = node_at(m, g->grp[0]);

	if (g->act.is_leaky)
		return node_fail(m, g->h, "a LeakyRelu fused into a %s", mn->op_type);
	if (g->act.act && !op_is(mn, "Conv") && !op_is(mn, "Gemm") && !op_is(mn, "MatMul") &&
	    !(op_is(mn, "Add") && g->main_n >= 2 &&
	      op_is(node_at(m, g->grp[g->main_n - 2]), "MatMul")))
		return node_fail(m, g->h, "an activation fused into a %s", mn->op_type);
	if (g->main_n == 2)
		for (size_t i = 0; i < sizeof(pair_builders) / sizeof(*pair_builders); i++)
			if (op_is(first, pair_builders[i].first) &&
			    (!pair_builders[i].second || op_is(mn, pair_builders[i].second)))
				return pair_builders[i].build(m, g, out);
	if (g->main_n != 1)
		return node_fail(m, g->h, "its parts (%d nodes, first '%s' %s) form no layer "
				 "edgepipe knows", g->main_n, node_name(first), first->op_type);
	for (size_t i = 0; i < sizeof(node_builders) / sizeof(*node_builders); i++)
		if (op_is(mn, node_builders[i].op))
			return node_builders[i].build(m, g, out);
	return node_fail(m, g->h, "operator %s is not supported by edgepipe's importer "
			 "(model_onnx.h lists those that are)", mn->op_type);
}

/* The head's output is layer `out`, as the file declares it; a Flatten's element order
 * travels through a Dropout (see build_reshape). */
static int bind_output(struct imp *m, int h, int out)
{
	const Onnx__NodeProto *hn = node_at(m, h);
	struct val *v = val_find(m, hn->output[0]);
	const struct val *in;
	int rc;

	if ((rc = check_declared(m, h, hn->output[0], out)))
		return rc;
	v->layer = out;
	if (op_is(hn, "Dropout") && (in = val_find(m, hn->input[0]))->chw_flat) {
		v->chw_flat = true;
		memcpy(v->chw, in->chw, sizeof(v->chw));
	}
	return EP_OK;
}

/* One group: nodes grp[0..k-1], the head last; builds its layer(s) and binds the head's
 * output. */
static int build_group(struct imp *m, const int *grp, int k)
{
	struct group g = { .grp = grp, .k = k, .h = grp[k - 1], .main_n = k };
	const Onnx__NodeProto *hn = node_at(m, g.h);
	char name[MODEL_NAME_MAX];
	int out = -1, rc;

	hint_of(hn, &g.hint);
	if (k == 1 && op_is(hn, "Identity"))
		return bind_alias(m, g.h);
	if (k == 1 && op_is(hn, "Constant"))
		return EP_OK;
	if (k == 1 && (rc = fold_shape_node(m, g.h)) != 1)
		return rc;
	layer_name(m, node_name(hn), name);
	g.name = name;
	if ((rc = group_activation(m, &g)))
		return rc;
	rc = g.main_n == 0 ? build_activation(m, &g, &out) : build_main(m, &g, &out);
	return rc ? rc : bind_output(m, g.h, out);
}

void onnx_import_destroy(struct onnx_import *imp)
{
	if (!imp)
		return;
	if (imp->model)
		onnx__model_proto__free_unpacked(imp->model, NULL);
	model_graph_destroy(imp->graph);
	free(imp->recipes);
	free(imp);
}

/* The default model name: the file name without directory and ".onnx". */
static void default_name(const char *path, const Onnx__GraphProto *gp, char *out, size_t size)
{
	const char *base = strrchr(path, '/');
	size_t len;

	if (gp->name && gp->name[0] && strlen(gp->name) < size &&
	    !strpbrk(gp->name, " \t\n,#\"\\")) {
		snprintf(out, size, "%s", gp->name);
		return;
	}
	base = base ? base + 1 : path;
	len = strlen(base);
	if (model_onnx_is_path(base))
		len -= 5;
	snprintf(out, size, "%.*s", (int)len, base);
}

int onnx_import_run(const char *path, const struct model_onnx_options *opt,
		    struct onnx_import **out, struct ep_error *err)
{
	Onnx__ModelProto *model;
	int rc = onnx_model_read(path, &model, err);

	*out = NULL;
	return rc ? rc : onnx_import_model(model, path, opt, out, err);
}

/* The import's working state for `model`: opset checked, the graph created and named, the
 * per-node and per-layer arrays allocated; one graph output. */
static int imp_init(struct imp *m, const Onnx__ModelProto *model)
{
	size_t n = m->gp->n_node;
	char name[MODEL_NAME_MAX];
	int rc;

	if ((rc = check_opset(m, model)))
		return rc;
	if (m->opt->name)
		snprintf(name, sizeof(name), "%s", m->opt->name);
	else
		default_name(m->path, m->gp, name, sizeof(name));
	m->g = model_graph_create(name);
	m->head = malloc((n ? n : 1) * sizeof(int));
	m->n_recipes = 2 * n + 2;
	m->recipes = calloc(m->n_recipes, sizeof(*m->recipes));
	if (!m->g || !m->head || !m->recipes)
		return ep_error_set(m->err, EP_ENOMEM, "out of memory reading '%s'", m->path);
	if (m->gp->n_output != 1)
		return ep_error_set(m->err, EP_EINVAL, "%s: the graph has %zu outputs%s%s%s "
				    "(edgepipe models have one)", m->path, m->gp->n_output,
				    m->gp->n_output ? " ('" : "",
				    m->gp->n_output ? m->gp->output[0]->name : "",
				    m->gp->n_output ? "', ...)" : "");
	return EP_OK;
}

/* Every group as its layer(s), in topological order. */
static int build_groups(struct imp *m)
{
	size_t n = m->gp->n_node;
	int *grp = malloc((n ? n : 1) * sizeof(int)), rc = EP_OK;

	if (!grp)
		return ep_error_set(m->err, EP_ENOMEM, "out of memory reading '%s'", m->path);
	for (size_t r = 0; r < n && !rc; r++) {
		int i = m->order[r];

		if (m->head[i] == i)
			rc = build_group(m, grp, group_members(m, i, grp, (int)n));
	}
	free(grp);
	return rc;
}

/* The graph output is the last layer computed, in edgepipe's layout. */
static int check_graph_output(struct imp *m)
{
	const struct val *o = val_find(m, m->gp->output[0]->name);
	size_t last = model_graph_layer_count(m->g) - 1;

	if (o && o->chw_flat)
		return ep_error_set(m->err, EP_EINVAL, "%s: node '%s' (%s): graph output '%s' is "
				    "an image flattened in ONNX's C,H,W order, which edgepipe's "
				    "H,W,C layers do not produce", m->path,
				    node_name(node_at(m, o->producer)),
				    node_at(m, o->producer)->op_type, o->name);
	if (!o || o->layer < 0 || (size_t)o->layer != last)
		return ep_error_set(m->err, EP_EINVAL, "%s: graph output '%s' is not the last "
				    "layer computed", m->path, m->gp->output[0]->name);
	return EP_OK;
}

/* What imp_init and the steps after it allocated. */
static void imp_release(struct imp *m)
{
	model_graph_destroy(m->g);
	free(m->recipes);
	free(m->vals);
	free(m->order);
	free(m->head);
	for (size_t i = 0; i < m->n_folded; i++)
		folded_free(m->folded[i]);
	free(m->folded);
}

int onnx_import_model(Onnx__ModelProto *model, const char *path,
		      const struct model_onnx_options *opt, struct onnx_import **out,
		      struct ep_error *err)
{
	struct model_onnx_options defaults = MODEL_ONNX_OPTIONS_DEFAULT;
	struct imp m = { .path = path, .opt = opt ? opt : &defaults, .err = err };
	struct onnx_import *res = calloc(1, sizeof(*res));
	int rc;

	*out = NULL;
	if (!res) {
		onnx__model_proto__free_unpacked(model, NULL);
		return ep_error_set(err, EP_ENOMEM, "out of memory reading '%s'", path);
	}
	res->model = model;
	m.gp = model->graph;
	if ((rc = imp_init(&m, model)) || (rc = index_tensors(&m)) || (rc = order_nodes(&m)))
		goto fail;
	group_nodes(&m);
	if ((rc = build_input(&m)) || (rc = build_groups(&m)) || (rc = check_graph_output(&m)) ||
	    (rc = model_graph_validate(m.g, err)))
		goto fail;
	res->graph = m.g;
	res->recipes = m.recipes;
	m.g = NULL;
	m.recipes = NULL;
	*out = res;
	res = NULL;
fail:
	onnx_import_destroy(res);
	imp_release(&m);
	return rc;
}

int model_onnx_load(const char *path, const struct model_onnx_options *opt,
		    struct model_graph **out, struct ep_error *err)
{
	struct onnx_import *imp;
	int rc = onnx_import_run(path, opt, &imp, err);

	*out = NULL;
	if (rc)
		return rc;
	*out = imp->graph;
	imp->graph = NULL;
	onnx_import_destroy(imp);
	return EP_OK;
}

/* ---- weights ---------------------------------------------------------------------------- */

/* Layer i of an import as its weights are filled: the layer, its first input, its recipe and
 * the constant inputs of the recipe's node by slot (t[1] W, t[2] B, ...). */
struct fill {
	struct model_weights *w;
	size_t i;
	const struct model_layer *l, *in;
	const struct onnx_import_recipe *r;
	const Onnx__TensorProto *t[5];
};

typedef int recipe_fill_fn(const struct onnx_import *imp, const struct fill *f,
			   struct ep_error *err);

/* The constant inputs 1..4 of node n by name: initializers, then Constant nodes' values. */
static void node_constants(const Onnx__GraphProto *gp, const Onnx__NodeProto *n,
			   const Onnx__TensorProto *t[5])
{
	for (size_t k = 1; k < n->n_input && k < 5; k++)
		for (size_t j = 0; j < gp->n_initializer && !t[k]; j++)
			if (strcmp(gp->initializer[j]->name, n->input[k]) == 0)
				t[k] = gp->initializer[j];
	for (size_t k = 1; k < n->n_input && k < 5; k++)
		for (size_t j = 0; j < gp->n_node && !t[k]; j++) {
			const Onnx__NodeProto *c = gp->node[j];

			if (strcmp(c->op_type, "Constant") == 0 &&
			    strcmp(c->output[0], n->input[k]) == 0)
				t[k] = onnx_attr(c, "value")->t;
		}
}

/* The first `count` elements of float32 tensor t into weight tensor `k` of the layer. */
static void fill_vector(const struct fill *f, int k, const Onnx__TensorProto *t, int64_t count)
{
	float *dst = model_weights_tensor(f->w, f->i, k);

	for (int64_t o = 0; o < count; o++)
		dst[o] = onnx_tensor_float(t, o);
}

/* Conv2D: W [O][I/g][kh][kw] to the kernel [kh][kw][I/g][O]; the bias. */
static int fill_conv(const struct onnx_import *imp, const struct fill *f, struct ep_error *err)
{
	const struct model_layer *l = f->l;
	int64_t kh = l->attrs.kernel[0], kw = l->attrs.kernel[1];
	int64_t g = l->attrs.groups > 1 ? l->attrs.groups : 1;
	int64_t ci = f->in->shape[2] / g, co = l->shape[2];
	float *k = model_weights_tensor(f->w, f->i, 0);

	(void)imp;
	(void)err;
	for (int64_t y = 0; y < kh; y++)
		for (int64_t z = 0; z < kw; z++)
			for (int64_t c = 0; c < ci; c++)
				for (int64_t o = 0; o < co; o++)
					k[((y * kw + z) * ci + c) * co + o] = onnx_tensor_float(
						f->t[1], ((o * ci + c) * kh + y) * kw + z);
	if (l->attrs.use_bias)
		fill_vector(f, 1, f->t[2], co);
	return EP_OK;
}

/* A depthwise W [C*m][1][kh][kw] to the kernel [kh][kw][C][m] (tensor 0). */
static void fill_depthwise_kernel(const struct fill *f, int64_t m)
{
	const struct model_layer *l = f->l;
	int64_t kh = l->attrs.kernel[0], kw = l->attrs.kernel[1], c = f->in->shape[2];
	float *k = model_weights_tensor(f->w, f->i, 0);

	for (int64_t y = 0; y < kh; y++)
		for (int64_t z = 0; z < kw; z++)
			for (int64_t ch = 0; ch < c; ch++)
				for (int64_t j = 0; j < m; j++)
					k[((y * kw + z) * c + ch) * m + j] = onnx_tensor_float(
						f->t[1], ((ch * m + j) * kh + y) * kw + z);
}

/* DepthwiseConv2D: the kernel (multiplier m = output / input channels) and the bias. */
static int fill_depthwise(const struct onnx_import *imp, const struct fill *f,
			  struct ep_error *err)
{
	int64_t c = f->in->shape[2], m = f->l->shape[2] / c;

	(void)imp;
	(void)err;
	fill_depthwise_kernel(f, m);
	if (f->l->attrs.use_bias)
		fill_vector(f, 1, f->t[2], c * m);
	return EP_OK;
}

/* SeparableConv2D: the depthwise kernel from the recipe's node, the pointwise kernel
 * [C][F] and bias from node2's W [F][C][1][1] and B (initializers or Constant nodes, as the
 * importer read them). */
static int fill_separable(const struct onnx_import *imp, const struct fill *f,
			  struct ep_error *err)
{
	const Onnx__TensorProto *pt[5] = { NULL };
	const struct model_layer *l = f->l;
	int64_t c = f->in->shape[2], nf = l->shape[2];
	float *pk = model_weights_tensor(f->w, f->i, 1);

	(void)err;
	fill_depthwise_kernel(f, 1);
	node_constants(imp->model->graph, f->r->node2, pt);
	for (int64_t ch = 0; ch < c; ch++)
		for (int64_t o = 0; o < nf; o++)
			pk[ch * nf + o] = onnx_tensor_float(pt[1], o * c + ch);
	if (l->attrs.use_bias)
		fill_vector(f, 2, pt[2], nf);
	return EP_OK;
}

/* Dense: B [K][N] (or [N][K] with transB) to the kernel [K][N], rows reordered from C,H,W to
 * H,W,C when a plain ONNX Flatten came before; the bias. */
static int fill_dense(const struct onnx_import *imp, const struct fill *f, struct ep_error *err)
{
	const struct onnx_import_recipe *r = f->r;
	int64_t kin = f->in->shape[0], units = f->l->shape[0];
	float *k = model_weights_tensor(f->w, f->i, 0);

	(void)imp;
	(void)err;
	for (int64_t row = 0; row < kin; row++) {
		/* Keras row (h, w, c) in H,W,C order; the file's row in C,H,W order when a plain
		 * ONNX Flatten came before. */
		int64_t src = row;

		if (r->chw_rows) {
			int64_t c = row % r->chw[0], hw = row / r->chw[0];

			src = c * r->chw[1] * r->chw[2] + hw;
		}
		for (int64_t u = 0; u < units; u++)
			k[row * units + u] = onnx_tensor_float(
				f->t[1], r->trans_b ? u * kin + src : src * units + u);
	}
	if (f->l->attrs.use_bias)
		fill_vector(f, 1, r->bias, units);
	return EP_OK;
}

/* BatchNormalization: gamma and beta where the layer has them, the mean, and the variance
 * (another epsilon than ours moves into it; ours leaves it exact). */
static int fill_batch_norm(const struct onnx_import *imp, const struct fill *f,
			   struct ep_error *err)
{
	const struct model_layer *l = f->l;
	int64_t c = l->shape[l->rank - 1];
	float eps = onnx_attr_float(f->r->node, "epsilon", 1e-5f);
	int k = 0;
	float *var;

	(void)imp;
	(void)err;
	if (l->attrs.scale)
		fill_vector(f, k++, f->t[1], c);
	if (l->attrs.center)
		fill_vector(f, k++, f->t[2], c);
	fill_vector(f, k, f->t[3], c);
	var = model_weights_tensor(f->w, f->i, k + 1);
	for (int64_t ch = 0; ch < c; ch++) {
		float v = onnx_tensor_float(f->t[4], ch);

		var[ch] = eps == MODEL_BN_EPSILON ? v : v + (eps - MODEL_BN_EPSILON);
	}
	return EP_OK;
}

/* Normalization: the mean, the variance with the node's epsilon added, and the count 0. */
static int fill_normalization(const struct onnx_import *imp, const struct fill *f,
			      struct ep_error *err)
{
	int64_t c = f->l->shape[f->l->rank - 1];
	float eps = onnx_attr_float(f->r->node, "epsilon", 1e-5f);
	float *mean = model_weights_tensor(f->w, f->i, 0);
	float *var = model_weights_tensor(f->w, f->i, 1);

	(void)imp;
	(void)err;
	for (int64_t ch = 0; ch < c; ch++) {
		mean[ch] = onnx_tensor_float(f->t[3], ch);
		var[ch] = onnx_tensor_float(f->t[4], ch) + eps;
	}
	model_weights_tensor(f->w, f->i, 2)[0] = 0.0f;
	return EP_OK;
}

/* The filler of each recipe kind; NULL: no weights. */
static recipe_fill_fn *const recipe_fillers[] = {
	[ONNX_RECIPE_CONV] = fill_conv,
	[ONNX_RECIPE_DEPTHWISE] = fill_depthwise,
	[ONNX_RECIPE_SEPARABLE] = fill_separable,
	[ONNX_RECIPE_DENSE] = fill_dense,
	[ONNX_RECIPE_BATCH_NORM] = fill_batch_norm,
	[ONNX_RECIPE_NORMALIZATION] = fill_normalization,
};

/* Fill layer `i`'s tensors from its recipe (the tensors were checked while building). */
static int fill_layer(const struct onnx_import *imp, struct model_weights *w, size_t i,
		      struct ep_error *err)
{
	const struct onnx_import_recipe *r = &imp->recipes[i];
	const struct model_layer *l = model_graph_layer(imp->graph, i);
	struct fill f = { .w = w, .i = i, .l = l, .r = r };
	recipe_fill_fn *fill = (size_t)r->kind < sizeof(recipe_fillers) / sizeof(*recipe_fillers)
				       ? recipe_fillers[r->kind]
				       : NULL;

	if (!fill)
		return EP_OK;
	f.in = l->n_inputs ? model_graph_layer(imp->graph, (size_t)l->inputs[0]) : NULL;
	node_constants(imp->model->graph, r->node, f.t);
	return fill(imp, &f, err);
}

int model_onnx_load_weights(const char *path, const struct model_onnx_options *opt,
			    struct model_graph **graph, struct model_weights **weights,
			    struct ep_error *err)
{
	struct onnx_import *imp;
	int rc = onnx_import_run(path, opt, &imp, err);

	*graph = NULL;
	*weights = NULL;
	if (rc)
		return rc;
	rc = onnx_import_weights(imp, weights, err);
	if (!rc) {
		*graph = imp->graph;
		imp->graph = NULL;
	}
	onnx_import_destroy(imp);
	return rc;
}

int onnx_import_weights(const struct onnx_import *imp, struct model_weights **out,
			struct ep_error *err)
{
	struct model_weights *w = NULL;
	int rc = model_weights_create(imp->graph, &w, err);

	*out = NULL;
	for (size_t i = 0; i < model_graph_layer_count(imp->graph) && !rc; i++)
		rc = fill_layer(imp, w, i, err);
	if (rc) {
		model_weights_destroy(w);
		return rc;
	}
	*out = w;
	return EP_OK;
}

int model_onnx_read_weights(const char *path, struct model_weights *w, struct ep_error *err)
{
	const struct model_graph *g = model_weights_graph(w);
	struct model_graph *g2 = NULL;
	struct model_weights *w2 = NULL;
	int rc = model_onnx_load_weights(path, NULL, &g2, &w2, err);

	if (rc)
		return rc;
	if (!model_graph_equal(g, g2)) {
		rc = ep_error_set(err, EP_EINVAL, "%s: its graph is not the model '%s' the weights "
				  "are for", path, model_graph_name(g));
	} else {
		for (size_t i = 0; i < model_graph_layer_count(g); i++)
			for (int t = 0; t < model_weights_tensor_count(w, i); t++)
				memcpy(model_weights_tensor(w, i, t),
				       model_weights_tensor_const(w2, i, t),
				       (size_t)model_weights_tensor_elements(w, i, t) *
					       sizeof(float));
	}
	model_weights_destroy(w2);
	model_graph_destroy(g2);
	return rc;
}
