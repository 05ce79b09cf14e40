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

/* Tensors from initializers, inputs and node outputs; consumers counted; Constant nodes'
 * values attached. */
static int index_tensors(struct imp *m)
{
	Onnx__GraphProto *gp = m->gp;
	size_t total = gp->n_initializer + gp->n_input + 1;

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
	for (size_t i = 0; i < gp->n_node; i++) {
		const Onnx__NodeProto *n = gp->node[i];

		if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
			return node_fail(m, (int)i, "operator domain '%s' (edgepipe reads the "
					 "default ONNX domain only)", n->domain);
		/* Versions whose attributes meant something else (consumed_inputs, is_test,
		 * paddings): refused rather than misread. */
		if ((m->opset < 7 && (strcmp(n->op_type, "BatchNormalization") == 0 ||
				      strcmp(n->op_type, "Dropout") == 0)) ||
		    (m->opset < 6 && (strcmp(n->op_type, "Clip") == 0 ||
				      strcmp(n->op_type, "LeakyRelu") == 0 ||
				      strcmp(n->op_type, "HardSigmoid") == 0)) ||
		    (m->opset < 2 && strcmp(n->op_type, "Pad") == 0) ||
		    (m->opset < 5 && strcmp(n->op_type, "Reshape") == 0))
			return node_fail(m, (int)i, "opset %d's version of %s is not read", m->opset,
					 n->op_type);
		for (size_t k = 0; k < n->n_output; k++) {
			struct val *v;

			if (!n->output[k][0])
				continue;
			v = val_add(m, n->output[k]);
			if (!v)
				return node_fail(m, (int)i, "output '%s' is defined twice",
						 n->output[k]);
			v->producer = (int)i;
		}
		if (strcmp(n->op_type, "Constant") == 0) {
			const Onnx__AttributeProto *a = onnx_attr(n, "value");

			if (!a || !a->t || n->n_output != 1)
				return node_fail(m, (int)i, "only a Constant with a 'value' tensor "
						 "is read");
			val_find(m, n->output[0])->konst = a->t;
		}
	}
	for (size_t i = 0; i < gp->n_node; i++) {
		const Onnx__NodeProto *n = gp->node[i];

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

static const Onnx__TensorProto *const_input(struct imp *m, const Onnx__NodeProto *n, size_t k)
{
	const struct val *v = k < n->n_input && n->input[k][0] ? val_find(m, n->input[k]) : NULL;

	return v ? v->konst : NULL;
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
 * The padding of a windowed node on image layer x: *padding, and in pad[4] (top, bottom,
 * left, right) what must be padded explicitly before a valid window when neither Keras mode
 * fits. Returns EP_OK or a node error.
 */
static int window_padding(struct imp *m, int node, const struct model_layer *x, const int k[2],
			  const int s[2], const int d[2], enum model_padding *padding,
			  int pad[4])
{
	const Onnx__NodeProto *n = node_at(m, node);
	char buf[32];
	const char *mode = onnx_attr_string(n, "auto_pad", "NOTSET", buf, sizeof(buf));
	int64_t sb[2], sa[2], p[4] = { 0, 0, 0, 0 }; /* ONNX order: h_begin, w_begin, h_end, w_end */
	size_t np;
	const int64_t *pads = onnx_attr_ints(n, "pads", &np);
	bool zero = true, same = true;

	memset(pad, 0, 4 * sizeof(int));
	for (int i = 0; i < 2; i++)
		same_pads(x->shape[i], k[i], s[i], d[i], &sb[i], &sa[i]);
	if (strcmp(mode, "SAME_UPPER") == 0) {
		*padding = MODEL_PAD_SAME;
		return EP_OK;
	}
	if (strcmp(mode, "VALID") == 0) {
		*padding = MODEL_PAD_VALID;
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
	*padding = zero || !same ? MODEL_PAD_VALID : MODEL_PAD_SAME;
	if (!zero && !same) {
		pad[0] = (int)p[0];
		pad[1] = (int)p[2];
		pad[2] = (int)p[1];
		pad[3] = (int)p[3];
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

/* kernel, strides, dilations of a 2-D window node; EP_OK or a node error. */
static int window_attrs(struct imp *m, int node, const int64_t *kdims, int k[2], int s[2],
			int d[2])
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
		k[i] = (int)ks[i];
		s[i] = ss ? (int)ss[i] : 1;
		d[i] = ds ? (int)ds[i] : 1;
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

/* The activation of one activation node (Relu, Clip, Sigmoid, Tanh, Softmax, HardSigmoid,
 * HardSwish, LeakyRelu); -1 if the node
 * is none, or a node error (code < -1 is impossible: errors are EP_EINVAL = -1; so the caller
 * checks the bool). */
static bool activation_of(struct imp *m, int node, const struct model_layer *x, struct act *a,
			  int *rc)
{
	const Onnx__NodeProto *n = node_at(m, node);

	*rc = EP_OK;
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
		*rc = hard_sigmoid_check(m, node);
	} else if (op_is(n, "HardSwish")) {
		a->act = MODEL_ACT_HARD_SWISH;
	} else if (op_is(n, "LeakyRelu")) {
		a->act = MODEL_ACT_RELU;
		a->negative_slope = float_decimal((float)onnx_attr_float(n, "alpha", 0.01));
		a->is_leaky = true;
	} else if (op_is(n, "Softmax")) {
		int64_t axis = onnx_attr_int(n, "axis", m->opset >= 13 ? -1 : 1);
		int rank = x ? x->rank + 1 : 2;

		if (axis < 0)
			axis += rank;
		/* The channel axis (1): for a vector it is also the last one. Before opset 13,
		 * Softmax flattened from `axis` on, the same thing for a vector. */
		if (axis != 1 || (rank != 2 && m->opset < 13))
			*rc = node_fail(m, node, "softmax over axis %" PRId64 " of a rank-%d tensor "
					"(edgepipe has softmax over channels)", axis, rank);
		a->act = MODEL_ACT_SOFTMAX;
	} else if (op_is(n, "Clip")) {
		const Onnx__TensorProto *lo = const_input(m, n, 1), *hi = const_input(m, n, 2);
		double vlo = onnx_attr_float(n, "min", -INFINITY);
		double vhi = onnx_attr_float(n, "max", INFINITY);

		if ((n->n_input > 1 && n->input[1][0] && !lo) ||
		    (n->n_input > 2 && n->input[2][0] && !hi))
			*rc = node_fail(m, node, "min and max must be constants");
		if (!*rc && lo)
			*rc = tcheck(m, node, lo, T_FLOAT);
		if (!*rc && hi)
			*rc = tcheck(m, node, hi, T_FLOAT);
		if (!*rc && lo && onnx_tensor_elements(lo) == 1)
			vlo = onnx_tensor_float(lo, 0);
		if (!*rc && hi && onnx_tensor_elements(hi) == 1)
			vhi = onnx_tensor_float(hi, 0);
		if (!*rc && (vlo != 0.0 || !(vhi > 0)))
			*rc = node_fail(m, node, "Clip(%g, %g): only Clip(0, max > 0) is a ReLU",
					vlo, vhi);
		a->act = vhi == 6.0 ? MODEL_ACT_RELU6 : MODEL_ACT_RELU;
		a->max_value = isinf(vhi) ? 0 : vhi;
		a->is_clip = true;
	} else {
		return false;
	}
	return true;
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

/* Conv (optionally the depthwise part of a separable pair in `dw`), with an activation. */
static int build_conv(struct imp *m, int node, int dw_node, const struct act *act,
		      const char *name, int *out)
{
	const Onnx__NodeProto *n = node_at(m, node), *dn = dw_node >= 0 ? node_at(m, dw_node) : n;
	const Onnx__TensorProto *w = const_input(m, dn, 1), *b = const_input(m, n, 2);
	const Onnx__TensorProto *pw = dw_node >= 0 ? const_input(m, n, 1) : NULL;
	int x, k[2], s[2], d[2], pad[4], rc, node_in = dw_node >= 0 ? dw_node : node;
	enum model_padding padding;
	const struct model_layer *xl;
	int64_t cin, cout, group = onnx_attr_int(dn, "group", 1);

	if ((rc = input_layer(m, node_in, dn->input[0], &x)))
		return rc;
	xl = L(m, x);
	if (!w)
		return node_fail(m, node_in, "the weights W must be an initializer or constant");
	if ((rc = tcheck(m, node, w, T_FLOAT)))
		return rc;
	if (xl->rank != 3 || w->n_dims != 4)
		return node_fail(m, node_in, "a 2-D convolution of an image [N, C, H, W] is "
				 "needed (input rank %d, W rank %zu)", xl->rank + 1, w->n_dims);
	cin = xl->shape[2];
	cout = w->dims[0];
	if (group < 1 || cin % group || cout % group || w->dims[1] != cin / group)
		return node_fail(m, node_in, "W is [%" PRId64 ", %" PRId64 ", ...] for %" PRId64
				 " input channels in %" PRId64 " groups", w->dims[0], w->dims[1],
				 cin, group);
	if ((rc = window_attrs(m, node_in, w->dims + 2, k, s, d)))
		return rc;
	if (k[0] != w->dims[2] || k[1] != w->dims[3])
		return node_fail(m, node_in, "kernel_shape %dx%d disagrees with W's %" PRId64
				 "x%" PRId64, k[0], k[1], w->dims[2], w->dims[3]);
	if ((rc = window_padding(m, node_in, xl, k, s, d, &padding, pad)))
		return rc;
	if (b && ((rc = tcheck(m, node, b, T_FLOAT)) ||
		  onnx_tensor_elements(b) != (pw ? pw->dims[0] : cout)))
		return rc ? rc : node_fail(m, node, "bias B has %" PRId64 " elements for %" PRId64
					   " output channels", onnx_tensor_elements(b),
					   pw ? pw->dims[0] : cout);
	if (n->n_input > 2 && n->input[2][0] && !b)
		return node_fail(m, node, "the bias B must be an initializer or constant");
	if ((rc = pad_before(m, node_in, name, pad, &x)))
		return rc;
	if (dw_node >= 0) {
		/* SeparableConv2D: depthwise (multiplier 1, no bias) then pointwise 1x1. */
		if ((rc = tcheck(m, node, pw, T_FLOAT)))
			return rc;
		if (group != cin || cout != cin || const_input(m, dn, 2) || s[0] != s[1] ||
		    d[0] != 1 || d[1] != 1 || pw->n_dims != 4 || pw->dims[1] != cin ||
		    pw->dims[2] != 1 || pw->dims[3] != 1 || onnx_attr_int(n, "group", 1) != 1)
			return node_fail(m, node, "not a separable convolution (depthwise without "
					 "bias, then a 1x1 convolution)");
		*out = model_add_separable(m->g, name, x, (int)pw->dims[0], k[0], k[1], s[0],
					   padding, b != NULL);
		if (!(rc = built(m, node, *out)))
			recipe(m, *out, ONNX_RECIPE_SEPARABLE, dn, n);
		return rc;
	}
	if (group == cin && group > 1 && s[0] == s[1] && d[0] == 1 && d[1] == 1 && !act->act) {
		*out = model_add_depthwise(m->g, name, x, k[0], k[1], s[0], padding,
					   (int)(cout / cin), b != NULL);
		if (!(rc = built(m, node, *out)))
			recipe(m, *out, ONNX_RECIPE_DEPTHWISE, n, NULL);
		return rc;
	}
	{
		struct model_attrs a = {
			.filters = (int32_t)cout,
			.kernel = { k[0], k[1] },
			.strides = { s[0], s[1] },
			.dilation = { d[0], d[1] },
			.groups = (int32_t)group,
			.padding = padding,
			.activation = act->act,
			.use_bias = b != NULL,
		};

		*out = model_add_conv2d_ex(m->g, name, x, &a);
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
	const Onnx__TensorProto *w = const_input(m, n, 1), *b;
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
		if (n->n_input > 2 && n->input[2][0] && !b)
			return node_fail(m, node, "the bias C must be an initializer or constant");
	} else {
		b = an ? const_input(m, an, is_const(m, an->input[0]) ? 0 : 1) : NULL;
	}
	if (!w)
		return node_fail(m, node, "the weights B must be an initializer or constant");
	if ((rc = tcheck(m, node, w, T_FLOAT)))
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

static int build_batch_norm(struct imp *m, int node, const struct hint *h, const char *name,
			    int *out)
{
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
		t[i] = const_input(m, n, (size_t)i + 1);
		if (!t[i])
			return node_fail(m, node, "input %d must be an initializer or constant",
					 i + 1);
		if ((rc = tcheck(m, node, t[i], T_FLOAT)))
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

/* MaxPool / AveragePool. */
static int build_pool(struct imp *m, int node, const char *name, int *out)
{
	const Onnx__NodeProto *n = node_at(m, node);
	bool max = op_is(n, "MaxPool");
	int x, k[2], s[2], d[2], pad[4], rc;
	enum model_padding padding;
	const struct model_layer *xl;

	if ((rc = input_layer(m, node, n->input[0], &x)))
		return rc;
	xl = L(m, x);
	if (xl->rank != 3)
		return node_fail(m, node, "a 2-D pool of an image [N, C, H, W] is needed");
	if ((rc = window_attrs(m, node, NULL, k, s, d)))
		return rc;
	if (d[0] != 1 || d[1] != 1 || onnx_attr_int(n, "storage_order", 0) ||
	    (n->n_output > 1 && n->output[1][0]))
		return node_fail(m, node, "dilations, storage_order and the Indices output are "
				 "not read");
	if ((rc = window_padding(m, node, xl, k, s, d, &padding, pad)))
		return rc;
	if (onnx_attr_int(n, "ceil_mode", 0)) {
		/* Ceil mode only matters when a last partial window would start inside the
		 * padded input; refuse it then. */
		for (int i = 0; i < 2; i++) {
			int64_t padded = xl->shape[i] + (i ? pad[2] + pad[3] : pad[0] + pad[1]);

			if (padding == MODEL_PAD_VALID && (padded - k[i]) % s[i])
				return node_fail(m, node, "ceil_mode 1 adds a partial window here");
		}
	}
	if (!max && onnx_attr_int(n, "count_include_pad", 0) && padding == MODEL_PAD_SAME) {
		int64_t b, a;

		/* Counting the padding is ZeroPadding2D then a valid average. */
		padding = MODEL_PAD_VALID;
		same_pads(xl->shape[0], k[0], s[0], 1, &b, &a);
		pad[0] = (int)b;
		pad[1] = (int)a;
		same_pads(xl->shape[1], k[1], s[1], 1, &b, &a);
		pad[2] = (int)b;
		pad[3] = (int)a;
	}
	if (pad[0] || pad[1] || pad[2] || pad[3]) {
		bool nonneg = (xl->op == MODEL_OP_RELU && xl->attrs.negative_slope == 0) ||
			      (xl->op == MODEL_OP_ACTIVATION &&
			       (xl->attrs.activation == MODEL_ACT_RELU ||
				xl->attrs.activation == MODEL_ACT_RELU6 ||
				xl->attrs.activation == MODEL_ACT_SIGMOID ||
				xl->attrs.activation == MODEL_ACT_HARD_SIGMOID));

		if (max && !nonneg)
			return node_fail(m, node, "explicit pads that are not Keras's 'same' on an "
					 "input that may be negative (padding with zeros would "
					 "change the maximum)");
		if (!max && !onnx_attr_int(n, "count_include_pad", 0))
			return node_fail(m, node, "explicit pads that are not Keras's 'same' with "
					 "count_include_pad 0");
		if ((rc = pad_before(m, node, name, pad, &x)))
			return rc;
		xl = L(m, x);
	}
	if (k[0] == k[1] && s[0] == s[1]) {
		*out = model_add_pool(m->g, name, max ? MODEL_OP_MAX_POOL2D : MODEL_OP_AVG_POOL2D, x,
				      k[0], s[0], padding);
		return built(m, node, *out);
	}
	{
		/* Unequal window or strides: the builder takes one size, so the layer is
		 * written here with the same conventions (k_h x k_w FLOPs per output). */
		struct model_layer l = { 0 };
		struct ep_error e;
		int64_t eff;

		snprintf(l.name, sizeof(l.name), "%s", name);
		snprintf(l.op_name, sizeof(l.op_name), "%s",
			 model_op_name(max ? MODEL_OP_MAX_POOL2D : MODEL_OP_AVG_POOL2D));
		l.n_inputs = 1;
		l.inputs[0] = x;
		l.rank = 3;
		l.dtype = MODEL_DTYPE_FLOAT32;
		l.attrs.padding = padding;
		for (int i = 0; i < 2; i++) {
			l.attrs.kernel[i] = k[i];
			l.attrs.strides[i] = s[i];
			l.attrs.dilation[i] = 1;
			eff = k[i];
			l.shape[i] = padding == MODEL_PAD_SAME ? (xl->shape[i] + s[i] - 1) / s[i]
				     : xl->shape[i] >= eff ? (xl->shape[i] - eff) / s[i] + 1 : 0;
		}
		l.shape[2] = xl->shape[2];
		l.flops = (int64_t)k[0] * k[1] * model_layer_elements(&l);
		*out = model_graph_add_layer(m->g, &l, &e);
		if (*out < 0)
			return node_fail(m, node, "%s", e.msg);
	}
	return EP_OK;
}

/* Pad: constant zeros on the two spatial dimensions only. */
static int build_pad(struct imp *m, int node, const char *name, int *out)
{
	const Onnx__NodeProto *n = node_at(m, node);
	char buf[32];
	const char *mode = onnx_attr_string(n, "mode", "constant", buf, sizeof(buf));
	int64_t p[8];
	size_t np = 0;
	int x, rc;
	const Onnx__TensorProto *pt = const_input(m, n, 1), *cv = const_input(m, n, 2);

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
		if (!pt)
			return node_fail(m, node, "pads must be an initializer or constant");
		if ((rc = tcheck(m, node, pt, T_INT64)))
			return rc;
		np = (size_t)onnx_tensor_elements(pt);
		for (size_t i = 0; i < np && i < 8; i++)
			p[i] = onnx_tensor_int64(pt, (int64_t)i);
		if (n->n_input > 3 && n->input[3][0])
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
	const Onnx__TensorProto *t = const_input(m, n, 1);
	int64_t in[MODEL_MAX_RANK + 1], known = 1, total = model_layer_elements(x);
	int unknown = -1, rc;

	in[0] = 1;
	if (x->rank == 3) {
		in[1] = x->shape[2];
		in[2] = x->shape[0];
		in[3] = x->shape[1];
	} else {
		for (int i = 0; i < x->rank; i++)
			in[i + 1] = x->shape[i];
	}
	if (!t)
		return node_fail(m, node, "the shape must be an initializer or constant");
	if ((rc = tcheck(m, node, t, T_INT64)))
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
static int build_binary(struct imp *m, int node, const struct hint *h, const char *name,
			int *out)
{
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

static int build_concat(struct imp *m, int node, const char *name, int *out)
{
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

/* The one (non-constant) graph input as the input layer. */
static int build_input(struct imp *m)
{
	const Onnx__ValueInfoProto *in = NULL;
	const Onnx__TensorShapeProto *sh;
	int64_t d[4] = { 0 }, hwc[3];
	char name[MODEL_NAME_MAX];
	size_t rank;
	int x;

	for (size_t i = 0; i < m->gp->n_input; i++) {
		const struct val *v = val_find(m, m->gp->input[i]->name);

		if (v->konst)
			continue;
		if (in)
			return ep_error_set(m->err, EP_EINVAL, "%s: graph inputs '%s' and '%s': "
					    "edgepipe models have one input", m->path, in->name,
					    m->gp->input[i]->name);
		in = m->gp->input[i];
	}
	if (!in)
		return ep_error_set(m->err, EP_EINVAL, "%s: the graph has no input", m->path);
	if (!in->type || in->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
	    !in->type->tensor_type->shape)
		return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' is not a tensor of "
				    "known rank", m->path, in->name);
	if (in->type->tensor_type->elem_type != T_FLOAT)
		return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' has element type %d "
				    "(float32 is read)", m->path, in->name,
				    in->type->tensor_type->elem_type);
	sh = in->type->tensor_type->shape;
	rank = sh->n_dim;
	if (rank != 4 && rank != 2)
		return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' has rank %zu "
				    "([N, C, H, W] images and [N, C] vectors are read)", m->path,
				    in->name, rank);
	for (size_t i = 1; i < rank; i++) {
		const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];

		d[i] = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
			       ? dm->dim_value : 0;
	}
	if (rank == 4) {
		hwc[0] = d[2];
		hwc[1] = d[3];
		hwc[2] = d[1];
	} else {
		hwc[0] = d[1];
	}
	/* A given input shape fills the unknown dimensions and must agree with the known ones
	 * (it was silently ignored when the file knew them all). */
	if (m->opt->input_shape[0] > 0) {
		static const char *const axis[3] = { "height", "width", "channels" };
		const int64_t *is = m->opt->input_shape;

		if (rank != 4)
			return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' is a vector; "
					    "an input shape %" PRId64 "x%" PRId64 "x%" PRId64 " is "
					    "for images", m->path, in->name, is[0], is[1], is[2]);
		for (int i = 0; i < 3; i++)
			if (hwc[i] > 0 && hwc[i] != is[i])
				return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' has "
						    "%s %" PRId64 ", the input shape %" PRId64
						    "x%" PRId64 "x%" PRId64 " says %" PRId64,
						    m->path, in->name, axis[i], hwc[i], is[0],
						    is[1], is[2], is[i]);
		memcpy(hwc, is, sizeof(hwc));
	}
	for (size_t i = 0; i + 1 < rank; i++)
		if (hwc[i] <= 0)
			return ep_error_set(m->err, EP_EINVAL, "%s: graph input '%s' has an "
					    "unknown dimension %zu (only the batch may be unknown; "
					    "give the input shape)", m->path, in->name,
					    rank == 4 ? (i + 2) % 3 + 1 : 1);
	layer_name(m, in->name, name);
	x = rank == 4 ? model_add_input(m->g, name, hwc[0], hwc[1], hwc[2])
		      : model_add_input(m->g, name, hwc[0], 1, 1);
	if (x >= 0 && rank == 2) {
		/* model_add_input makes images; a vector input is the same layer with rank 1. */
		struct model_layer l = *L(m, x);
		struct model_graph *g2 = model_graph_create(model_graph_name(m->g));
		struct ep_error e;

		if (!g2)
			return ep_error_set(m->err, EP_ENOMEM, "out of memory");
		l.rank = 1;
		l.shape[1] = l.shape[2] = 0;
		x = model_graph_add_layer(g2, &l, &e);
		model_graph_destroy(m->g);
		m->g = g2;
	}
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
	int rank = l->rank + 1;

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
	want[0] = 1;
	if (l->rank == 3) {
		want[1] = l->shape[2];
		want[2] = l->shape[0];
		want[3] = l->shape[1];
	} else {
		for (int i = 0; i < l->rank; i++)
			want[i + 1] = l->shape[i];
	}
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

/*
 * Shape arithmetic as PyTorch writes x.view(x.size(0), -1): Shape of a tensor, then Gather,
 * Unsqueeze, Squeeze and Concat of int64 constants. Every shape is known here, so each such
 * node's output is a constant (kept in m->folded) and no layer. Returns 1 when node `i` is
 * not shape arithmetic on constants (built as usual), else EP_OK or a node error.
 */
static int fold_shape_node(struct imp *m, int i)
{
	const Onnx__NodeProto *n = node_at(m, i);
	int64_t vals[2 * MODEL_MAX_RANK + 2];
	size_t nv = 0, nd = 1;
	bool shape = op_is(n, "Shape");
	Onnx__TensorProto *t, **grown;

	if (!shape && !op_is(n, "Gather") && !op_is(n, "Unsqueeze") && !op_is(n, "Squeeze") &&
	    !op_is(n, "Concat"))
		return 1;
	for (size_t k = shape ? 1 : 0; k < n->n_input; k++)
		if (n->input[k][0] && !is_const(m, n->input[k]))
			return 1; /* an op on computed tensors: a layer */
	if (n->n_input < 1 || n->n_output != 1)
		return node_fail(m, i, "expected one data input and one output");
	if (shape) {
		const struct val *v = val_find(m, n->input[0]);
		const struct model_layer *l;

		if (onnx_attr(n, "start") || onnx_attr(n, "end"))
			return node_fail(m, i, "start and end are not read");
		if (!v || v->layer < 0)
			return node_fail(m, i, "the shape of a constant is not read");
		l = L(m, v->layer);
		vals[nv++] = 1; /* the batch */
		if (v->chw_flat || l->rank != 3) {
			for (int d = 0; d < l->rank; d++)
				vals[nv++] = l->shape[d];
		} else { /* the image (H, W, C) is [N, C, H, W] */
			vals[nv++] = l->shape[2];
			vals[nv++] = l->shape[0];
			vals[nv++] = l->shape[1];
		}
		if (v->chw_flat) {
			vals[1] = v->chw[0] * v->chw[1] * v->chw[2];
			nv = 2;
		}
	} else {
		for (size_t k = 0; k < n->n_input; k++) {
			const Onnx__TensorProto *c = const_input(m, n, k);
			int64_t e;
			int rc;

			if (!c)
				continue;
			if ((rc = tcheck(m, i, c, T_INT64)))
				return rc;
			e = onnx_tensor_elements(c);
			if (c->n_dims > 1 || e > (int64_t)(sizeof(vals) / sizeof(*vals) - nv))
				return node_fail(m, i, "shape arithmetic on a tensor of rank %zu and "
						 "%" PRId64 " elements", c->n_dims, e);
			if (k > 0 && !op_is(n, "Concat"))
				break; /* indices or axes: read below */
			for (int64_t j = 0; j < e; j++)
				vals[nv++] = onnx_tensor_int64(c, j);
			nd = c->n_dims;
		}
		if (op_is(n, "Concat") && onnx_attr_int(n, "axis", 0) != 0 &&
		    onnx_attr_int(n, "axis", 0) != -1)
			return node_fail(m, i, "a Concat of sizes on axis %" PRId64,
					 onnx_attr_int(n, "axis", 0));
		if (op_is(n, "Gather")) {
			const Onnx__TensorProto *ix = const_input(m, n, 1);
			int64_t e = ix ? onnx_tensor_elements(ix) : -1, out[MODEL_MAX_RANK + 1];

			if (!ix || nd != 1 || onnx_attr_int(n, "axis", 0) != 0 || ix->n_dims > 1 ||
			    e < 1 || e > MODEL_MAX_RANK + 1 || tcheck(m, i, ix, T_INT64))
				return node_fail(m, i, "only a Gather on axis 0 of a vector of sizes, "
						 "with at most %d indices, is read", MODEL_MAX_RANK + 1);
			for (int64_t j = 0; j < e; j++) {
				int64_t q = onnx_tensor_int64(ix, j);

				if (q < 0)
					q += (int64_t)nv;
				if (q < 0 || q >= (int64_t)nv)
					return node_fail(m, i, "index %" PRId64 " of %zu sizes",
							 onnx_tensor_int64(ix, j), nv);
				out[j] = vals[q];
			}
			memcpy(vals, out, (size_t)e * sizeof(int64_t));
			nv = (size_t)e;
			nd = ix->n_dims;
		} else if (op_is(n, "Unsqueeze")) {
			if (nd != 0)
				return node_fail(m, i, "only a scalar size is unsqueezed");
			nd = 1; /* a scalar becomes [1] whatever the axis (0 or -1) */
		} else if (op_is(n, "Squeeze")) {
			if (nd != 1 || nv != 1)
				return node_fail(m, i, "only a single size is squeezed");
			nd = 0;
		}
	}
	t = calloc(1, sizeof(*t));
	if (t) {
		onnx__tensor_proto__init(t);
		t->data_type = T_INT64;
		t->n_dims = nd;
		t->dims = malloc(sizeof(int64_t));
		t->n_int64_data = nv;
		t->int64_data = malloc((nv ? nv : 1) * sizeof(int64_t));
	}
	grown = realloc(m->folded, (m->n_folded + 1) * sizeof(*grown));
	if (grown)
		m->folded = grown;
	if (!t || !t->dims || !t->int64_data || !grown) {
		folded_free(t);
		return ep_error_set(m->err, EP_ENOMEM, "out of memory");
	}
	t->dims[0] = (int64_t)nv;
	memcpy(t->int64_data, vals, nv * sizeof(int64_t));
	m->folded[m->n_folded++] = t;
	val_find(m, n->output[0])->konst = t;
	return EP_OK;
}

/* One group: nodes g[0..k-1], the head last; builds its layer(s) and binds the head's output. */
static int build_group(struct imp *m, const int *grp, int k)
{
	int h = grp[k - 1], out = -1, rc = EP_OK, main_n = k, x;
	const Onnx__NodeProto *hn = node_at(m, h), *first = node_at(m, grp[0]);
	struct act act = { 0 };
	struct hint hint;
	char name[MODEL_NAME_MAX];

	hint_of(hn, &hint);
	/* Identity: an alias, no layer. */
	if (k == 1 && op_is(hn, "Identity")) {
		struct val *src = val_find(m, hn->input[0]), *dst = val_find(m, hn->output[0]);

		if ((rc = input_layer(m, h, hn->input[0], &x)))
			return rc;
		dst->layer = x;
		dst->chw_flat = src->chw_flat;
		memcpy(dst->chw, src->chw, sizeof(dst->chw));
		return EP_OK;
	}
	if (k == 1 && op_is(hn, "Constant"))
		return EP_OK;
	if (k == 1 && (rc = fold_shape_node(m, h)) != 1)
		return rc;
	rc = EP_OK;
	layer_name(m, node_name(hn), name);

	/* The activation tail: [.., act], [.., Sigmoid, Mul] (swish) or [.., HardSigmoid, Mul]
	 * (hard_swish, as PyTorch writes Hardswish before opset 14 and we write it in 13). */
	if (k >= 2 && op_is(hn, "Mul") && op_is(node_at(m, grp[k - 2]), "Sigmoid")) {
		act.act = MODEL_ACT_SWISH;
		main_n = k - 2;
	} else if (k >= 2 && op_is(hn, "Mul") && op_is(node_at(m, grp[k - 2]), "HardSigmoid")) {
		if ((rc = hard_sigmoid_check(m, grp[k - 2])))
			return rc;
		act.act = MODEL_ACT_HARD_SWISH;
		main_n = k - 2;
	} else if (is_act_op(hn)) {
		const struct val *iv = val_find(m, hn->input[0]);
		const struct model_layer *xl = iv && iv->layer >= 0 ? L(m, iv->layer) : NULL;

		if (!activation_of(m, h, xl, &act, &rc) || rc)
			return rc;
		main_n = k - 1;
	}
	if (main_n == 0) {
		/* An activation layer on its own. */
		if ((rc = input_layer(m, h, first->input[0], &x)))
			return rc;
		if (act.is_leaky)
			out = model_add_leaky_relu(m->g, name, x, act.negative_slope);
		else if (act.is_clip && strcmp(hint.op, "Activation") != 0)
			out = model_add_relu(m->g, name, x, act.max_value);
		else if (act.is_relu && strcmp(hint.op, "ReLU") == 0)
			out = model_add_relu(m->g, name, x, 0);
		else if (act.is_clip && act.max_value != 6.0 && act.max_value != 0)
			return node_fail(m, h, "Clip(0, %g) as an Activation", act.max_value);
		else
			out = model_add_activation(m->g, name, x, act.act);
		if ((rc = built(m, h, out)))
			return rc;
		goto bind;
	}
	{
		const Onnx__NodeProto *mn = node_at(m, grp[main_n - 1]);
		const char *op = mn->op_type;

		if (act.is_leaky)
			return node_fail(m, h, "a LeakyRelu fused into a %s", op);
		if (act.act && !op_is(mn, "Conv") && !op_is(mn, "Gemm") && !op_is(mn, "MatMul") &&
		    !(op_is(mn, "Add") && main_n >= 2 && op_is(node_at(m, grp[main_n - 2]),
								 "MatMul")))
			return node_fail(m, h, "an activation fused into a %s", op);
		if (op_is(mn, "Conv") && main_n == 2 && op_is(node_at(m, grp[0]), "Conv"))
			rc = build_conv(m, grp[1], grp[0], &act, name, &out);
		else if (op_is(mn, "Conv") && main_n == 1)
			rc = build_conv(m, grp[0], -1, &act, name, &out);
		else if ((op_is(mn, "Gemm") || op_is(mn, "MatMul")) && main_n == 1)
			rc = build_dense(m, grp[0], -1, &act, name, &out);
		else if (op_is(mn, "Add") && main_n == 2 && op_is(node_at(m, grp[0]), "MatMul"))
			rc = build_dense(m, grp[0], grp[1], &act, name, &out);
		else if (op_is(mn, "Add") && main_n == 2 && op_is(node_at(m, grp[0]), "Mul")) {
			/* InceptionResNetV2's Lambda: a + b * scale. */
			const Onnx__NodeProto *mul = node_at(m, grp[0]);
			int c = is_const(m, mul->input[0]) ? 0 : 1, a, b;
			const Onnx__TensorProto *t = const_input(m, mul, (size_t)c);
			int other = strcmp(mn->input[0], mul->output[0]) == 0 ? 1 : 0;

			if (!t || tcheck(m, h, t, T_FLOAT) ||
			    onnx_tensor_elements(t) != 1)
				return node_fail(m, h, "a scaled sum needs a scalar constant");
			if ((rc = input_layer(m, grp[0], mul->input[1 - c], &b)) ||
			    (rc = input_layer(m, h, mn->input[other], &a)))
				return rc;
			out = model_add_scale_sum(m->g, name, a, b,
						  hinted_scale(&hint, onnx_tensor_float(t, 0)));
			rc = built(m, h, out);
		} else if (main_n == 2 && op_is(node_at(m, grp[0]), "Transpose"))
			rc = build_reshape(m, grp[1], node_at(m, grp[0]), name, &out);
		else if (main_n == 2 && op_is(node_at(m, grp[0]), "GlobalAveragePool")) {
			if ((rc = input_layer(m, grp[0], first->input[0], &x)))
				return rc;
			out = model_add_global_avg_pool(m->g, name, x, false);
			rc = built(m, h, out);
		} else if (main_n != 1)
			return node_fail(m, h, "its parts (%d nodes, first '%s' %s) form no layer "
					 "edgepipe knows", main_n, node_name(first), first->op_type);
		else if (op_is(mn, "BatchNormalization"))
			rc = build_batch_norm(m, h, &hint, name, &out);
		else if (op_is(mn, "MaxPool") || op_is(mn, "AveragePool"))
			rc = build_pool(m, h, name, &out);
		else if (op_is(mn, "GlobalAveragePool")) {
			if ((rc = input_layer(m, h, mn->input[0], &x)))
				return rc;
			if (L(m, x)->rank != 3)
				return node_fail(m, h, "a pool of an image [N, C, H, W] is needed");
			out = model_add_global_avg_pool(m->g, name, x, true);
			rc = built(m, h, out);
		} else if (op_is(mn, "Pad"))
			rc = build_pad(m, h, name, &out);
		else if (op_is(mn, "Flatten") || op_is(mn, "Reshape") || op_is(mn, "Squeeze") ||
			 op_is(mn, "Unsqueeze"))
			rc = build_reshape(m, h, NULL, name, &out);
		else if (op_is(mn, "Add") || op_is(mn, "Sum") || op_is(mn, "Mul"))
			rc = build_binary(m, h, &hint, name, &out);
		else if (op_is(mn, "Concat"))
			rc = build_concat(m, h, name, &out);
		else if (op_is(mn, "Dropout")) {
			if ((rc = input_layer(m, h, mn->input[0], &x)))
				return rc;
			if (mn->n_output > 1 && mn->output[1][0] && val_find(m, mn->output[1]) &&
			    val_find(m, mn->output[1])->consumers)
				return node_fail(m, h, "the mask output is read by another node");
			out = model_add_dropout(m->g, name, x);
			rc = built(m, h, out);
		} else
			return node_fail(m, h, "operator %s is not supported by edgepipe's importer "
					 "(model_onnx.h lists those that are)", op);
	}
	if (rc)
		return rc;
bind:
	if ((rc = check_declared(m, h, hn->output[0], out)))
		return rc;
	val_find(m, hn->output[0])->layer = out;
	/* Flatten's element order travels with its tensor (see build_reshape). */
	if (k >= 1 && op_is(hn, "Dropout") && val_find(m, hn->input[0])->chw_flat) {
		struct val *v = val_find(m, hn->output[0]);

		v->chw_flat = true;
		memcpy(v->chw, val_find(m, hn->input[0])->chw, sizeof(v->chw));
	}
	return EP_OK;
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

int onnx_import_model(Onnx__ModelProto *model, const char *path,
		      const struct model_onnx_options *opt, struct onnx_import **out,
		      struct ep_error *err)
{
	struct model_onnx_options defaults = MODEL_ONNX_OPTIONS_DEFAULT;
	struct imp m = { .path = path, .opt = opt ? opt : &defaults, .err = err };
	struct onnx_import *res = calloc(1, sizeof(*res));
	char name[MODEL_NAME_MAX];
	int *grp = NULL, rc;
	size_t n;

	*out = NULL;
	if (!res) {
		onnx__model_proto__free_unpacked(model, NULL);
		return ep_error_set(err, EP_ENOMEM, "out of memory reading '%s'", path);
	}
	res->model = model;
	m.gp = res->model->graph;
	n = m.gp->n_node;
	if ((rc = check_opset(&m, res->model)))
		goto fail;
	if (m.opt->name)
		snprintf(name, sizeof(name), "%s", m.opt->name);
	else
		default_name(path, m.gp, name, sizeof(name));
	m.g = model_graph_create(name);
	m.head = malloc((n ? n : 1) * sizeof(int));
	grp = malloc((n ? n : 1) * sizeof(int));
	m.n_recipes = 2 * n + 2;
	m.recipes = calloc(m.n_recipes, sizeof(*m.recipes));
	if (!m.g || !m.head || !grp || !m.recipes) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory reading '%s'", path);
		goto fail;
	}
	if (m.gp->n_output != 1) {
		rc = ep_error_set(err, EP_EINVAL, "%s: the graph has %zu outputs%s%s%s (edgepipe "
				  "models have one)", path, m.gp->n_output,
				  m.gp->n_output ? " ('" : "",
				  m.gp->n_output ? m.gp->output[0]->name : "",
				  m.gp->n_output ? "', ...)" : "");
		goto fail;
	}
	if ((rc = index_tensors(&m)) || (rc = order_nodes(&m)))
		goto fail;
	group_nodes(&m);
	if ((rc = build_input(&m)))
		goto fail;
	for (size_t r = 0; r < n; r++) {
		int i = m.order[r], k;

		if (m.head[i] != i)
			continue;
		k = group_members(&m, i, grp, (int)n);
		if ((rc = build_group(&m, grp, k)))
			goto fail;
	}
	{
		const struct val *o = val_find(&m, m.gp->output[0]->name);
		size_t last = model_graph_layer_count(m.g) - 1;

		if (o && o->chw_flat) {
			rc = ep_error_set(err, EP_EINVAL, "%s: node '%s' (%s): graph output '%s' is "
					  "an image flattened in ONNX's C,H,W order, which edgepipe's "
					  "H,W,C layers do not produce", path,
					  node_name(node_at(&m, o->producer)),
					  node_at(&m, o->producer)->op_type, o->name);
			goto fail;
		}
		if (!o || o->layer < 0 || (size_t)o->layer != last) {
			rc = ep_error_set(err, EP_EINVAL, "%s: graph output '%s' is not the last "
					  "layer computed", path, m.gp->output[0]->name);
			goto fail;
		}
	}
	if ((rc = model_graph_validate(m.g, err)))
		goto fail;
	res->graph = m.g;
	res->recipes = m.recipes;
	m.g = NULL;
	m.recipes = NULL;
	*out = res;
	res = NULL;
fail:
	onnx_import_destroy(res);
	model_graph_destroy(m.g);
	free(m.recipes);
	free(m.vals);
	free(m.order);
	free(m.head);
	for (size_t i = 0; i < m.n_folded; i++)
		folded_free(m.folded[i]);
	free(m.folded);
	free(grp);
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

/* Fill layer `i`'s tensors from its recipe (the tensors were checked while building). */
static int fill_layer(const struct onnx_import *imp, struct model_weights *w, size_t i,
		      struct ep_error *err)
{
	const struct onnx_import_recipe *r = &imp->recipes[i];
	const struct model_layer *l = model_graph_layer(imp->graph, i);
	const struct model_layer *in =
		l->n_inputs ? model_graph_layer(imp->graph, (size_t)l->inputs[0]) : NULL;
	const Onnx__GraphProto *gp = imp->model->graph;
	const Onnx__TensorProto *t[5] = { NULL };
	const Onnx__NodeProto *n = r->node;

	if (r->kind == ONNX_RECIPE_NONE)
		return EP_OK;
	/* The node's constant inputs, by name. */
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
	switch (r->kind) {
	case ONNX_RECIPE_CONV: {
		int64_t kh = l->attrs.kernel[0], kw = l->attrs.kernel[1];
		int64_t g = l->attrs.groups > 1 ? l->attrs.groups : 1;
		int64_t ci = in->shape[2] / g, co = l->shape[2];
		float *k = model_weights_tensor(w, i, 0);

		for (int64_t y = 0; y < kh; y++)
			for (int64_t z = 0; z < kw; z++)
				for (int64_t c = 0; c < ci; c++)
					for (int64_t o = 0; o < co; o++)
						k[((y * kw + z) * ci + c) * co + o] = onnx_tensor_float(
							t[1], ((o * ci + c) * kh + y) * kw + z);
		if (l->attrs.use_bias)
			for (int64_t o = 0; o < co; o++)
				model_weights_tensor(w, i, 1)[o] = onnx_tensor_float(t[2], o);
		break;
	}
	case ONNX_RECIPE_DEPTHWISE:
	case ONNX_RECIPE_SEPARABLE: {
		int64_t kh = l->attrs.kernel[0], kw = l->attrs.kernel[1], c = in->shape[2];
		int64_t m = r->kind == ONNX_RECIPE_DEPTHWISE ? l->shape[2] / c : 1;
		float *k = model_weights_tensor(w, i, 0);

		for (int64_t y = 0; y < kh; y++)
			for (int64_t z = 0; z < kw; z++)
				for (int64_t ch = 0; ch < c; ch++)
					for (int64_t j = 0; j < m; j++)
						k[((y * kw + z) * c + ch) * m + j] = onnx_tensor_float(
							t[1], ((ch * m + j) * kh + y) * kw + z);
		if (r->kind == ONNX_RECIPE_DEPTHWISE) {
			if (l->attrs.use_bias)
				for (int64_t o = 0; o < c * m; o++)
					model_weights_tensor(w, i, 1)[o] = onnx_tensor_float(t[2], o);
			break;
		}
		{
			/* The pointwise half: node2's W [F][C][1][1] and bias. */
			const Onnx__NodeProto *p = r->node2;
			const Onnx__TensorProto *pw = NULL, *pb = NULL;
			int64_t f = l->shape[2];
			float *pk = model_weights_tensor(w, i, 1);

			for (size_t j = 0; j < gp->n_initializer; j++) {
				if (strcmp(gp->initializer[j]->name, p->input[1]) == 0)
					pw = gp->initializer[j];
				if (p->n_input > 2 && strcmp(gp->initializer[j]->name, p->input[2]) == 0)
					pb = gp->initializer[j];
			}
			if (!pw || (l->attrs.use_bias && !pb))
				return ep_error_set(err, EP_EINVAL, "layer '%s': the pointwise weights "
						    "are not initializers", l->name);
			for (int64_t ch = 0; ch < c; ch++)
				for (int64_t o = 0; o < f; o++)
					pk[ch * f + o] = onnx_tensor_float(pw, o * c + ch);
			if (l->attrs.use_bias)
				for (int64_t o = 0; o < f; o++)
					model_weights_tensor(w, i, 2)[o] = onnx_tensor_float(pb, o);
		}
		break;
	}
	case ONNX_RECIPE_DENSE: {
		int64_t kin = in->shape[0], units = l->shape[0];
		float *k = model_weights_tensor(w, i, 0);

		for (int64_t row = 0; row < kin; row++) {
			/* Keras row (h, w, c) in H,W,C order; the file's row in C,H,W order when
			 * a plain ONNX Flatten came before. */
			int64_t src = row;

			if (r->chw_rows) {
				int64_t c = row % r->chw[0], hw = row / r->chw[0];

				src = c * r->chw[1] * r->chw[2] + hw;
			}
			for (int64_t u = 0; u < units; u++)
				k[row * units + u] = onnx_tensor_float(
					t[1], r->trans_b ? u * kin + src : src * units + u);
		}
		if (l->attrs.use_bias)
			for (int64_t u = 0; u < units; u++)
				model_weights_tensor(w, i, 1)[u] = onnx_tensor_float(r->bias, u);
		break;
	}
	case ONNX_RECIPE_BATCH_NORM:
	case ONNX_RECIPE_NORMALIZATION: {
		int64_t c = l->shape[l->rank - 1];
		float eps = onnx_attr_float(n, "epsilon", 1e-5f);
		int k = 0;

		if (r->kind == ONNX_RECIPE_NORMALIZATION) {
			for (int64_t ch = 0; ch < c; ch++) {
				model_weights_tensor(w, i, 0)[ch] = onnx_tensor_float(t[3], ch);
				model_weights_tensor(w, i, 1)[ch] = onnx_tensor_float(t[4], ch) + eps;
			}
			model_weights_tensor(w, i, 2)[0] = 0.0f;
			break;
		}
		if (l->attrs.scale)
			for (int64_t ch = 0; ch < c; ch++)
				model_weights_tensor(w, i, k)[ch] = onnx_tensor_float(t[1], ch);
		k += l->attrs.scale;
		if (l->attrs.center)
			for (int64_t ch = 0; ch < c; ch++)
				model_weights_tensor(w, i, k)[ch] = onnx_tensor_float(t[2], ch);
		k += l->attrs.center;
		for (int64_t ch = 0; ch < c; ch++) {
			float v = onnx_tensor_float(t[4], ch);

			/* Another epsilon moves into the variance; ours leaves it exact. */
			model_weights_tensor(w, i, k)[ch] = onnx_tensor_float(t[3], ch);
			model_weights_tensor(w, i, k + 1)[ch] =
				eps == MODEL_BN_EPSILON ? v : v + (eps - MODEL_BN_EPSILON);
		}
		break;
	}
	default:
		break;
	}
	return EP_OK;
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
