#include "model_cut.h"

#include <stdlib.h>
#include <string.h>

#include <igraph.h>

const char *model_cut_rule_name(enum model_cut_rule rule)
{
	return rule == MODEL_CUTS_PUBLISHED ? "published" : "exact";
}

int model_cut_rule_from_name(const char *name)
{
	if (strcmp(name, "exact") == 0)
		return MODEL_CUTS_EXACT;
	if (strcmp(name, "published") == 0)
		return MODEL_CUTS_PUBLISHED;
	return -1;
}

/* The layer graph as an igraph directed graph: one edge input -> consumer per input slot. */
static int to_igraph(const struct model_graph *g, igraph_t *ig)
{
	size_t n = model_graph_layer_count(g), m = 0;
	igraph_vector_int_t edges;

	for (size_t i = 0; i < n; i++)
		m += (size_t)model_graph_layer(g, i)->n_inputs;
	if (igraph_vector_int_init(&edges, (igraph_integer_t)(2 * m)))
		return EP_ENOMEM;
	m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct model_layer *l = model_graph_layer(g, i);

		for (int k = 0; k < l->n_inputs; k++) {
			VECTOR(edges)[m++] = l->inputs[k];
			VECTOR(edges)[m++] = (igraph_integer_t)i;
		}
	}
	if (igraph_create(ig, &edges, (igraph_integer_t)n, IGRAPH_DIRECTED)) {
		igraph_vector_int_destroy(&edges);
		return EP_EINTERNAL;
	}
	igraph_vector_int_destroy(&edges);
	return EP_OK;
}

/* Dominators of the output, walked up the dominator tree and returned in ascending order. */
static int exact_cuts(const igraph_t *ig, size_t n, int *cuts, size_t *count)
{
	igraph_vector_int_t dom;
	igraph_integer_t v = (igraph_integer_t)n - 1;
	size_t k = 0;
	int rc = EP_OK;

	if (igraph_vector_int_init(&dom, 0))
		return EP_ENOMEM;
	if (igraph_dominator_tree(ig, 0, &dom, NULL, NULL, IGRAPH_OUT)) {
		rc = EP_EINTERNAL;
		goto out;
	}
	for (;;) {
		cuts[k++] = (int)v;
		if (v == 0)
			break;
		v = VECTOR(dom)[v];
		/* A valid graph reaches every layer from the input; anything else is a bug. */
		if (v < 0 || (size_t)v >= n || k >= n) {
			rc = EP_EINTERNAL;
			goto out;
		}
	}
	for (size_t i = 0; i < k / 2; i++) {
		int t = cuts[i];

		cuts[i] = cuts[k - 1 - i];
		cuts[k - 1 - i] = t;
	}
	*count = k;
out:
	igraph_vector_int_destroy(&dom);
	return rc;
}

/*
 * True when some path leaving `prev` reaches a layer deeper than `d` without passing through
 * `d`. The search stops at `d` and at the first layer deeper than it.
 */
static bool bypassed(const igraph_adjlist_t *succ, const int *level, int prev, int d,
		     int *stack, char *seen, size_t n)
{
	size_t top = 0;
	bool found = false;

	memset(seen, 0, n);
	stack[top++] = prev;
	seen[prev] = 1;
	while (top && !found) {
		igraph_vector_int_t *out = igraph_adjlist_get(succ, stack[--top]);

		for (igraph_integer_t i = 0; i < igraph_vector_int_size(out); i++) {
			int w = (int)VECTOR(*out)[i];

			if (w == d || seen[w])
				continue;
			if (level[w] > level[d]) {
				found = true;
				break;
			}
			seen[w] = 1;
			stack[top++] = w;
		}
	}
	return found;
}

static int published_cuts(const struct model_graph *g, const igraph_t *ig, size_t n, int *cuts,
			  size_t *count)
{
	igraph_adjlist_t succ;
	int *level = calloc(n, sizeof(*level));
	int *at_level = calloc(n, sizeof(*at_level)); /* how many layers share each level */
	int *lone = calloc(n, sizeof(*lone));         /* a layer at each level */
	int *stack = malloc(n * sizeof(*stack));
	char *seen = malloc(n);
	size_t k = 0;
	int rc = EP_OK, prev = 0, max_level = 0;

	if (!level || !at_level || !lone || !stack || !seen) {
		rc = EP_ENOMEM;
		goto out_free;
	}
	if (igraph_adjlist_init(ig, &succ, IGRAPH_OUT, IGRAPH_LOOPS_ONCE, IGRAPH_MULTIPLE)) {
		rc = EP_EINTERNAL;
		goto out_free;
	}
	/* Layers are in topological order, so one pass gives longest-path levels. */
	for (size_t i = 0; i < n; i++) {
		const struct model_layer *l = model_graph_layer(g, i);

		for (int j = 0; j < l->n_inputs; j++)
			if (level[l->inputs[j]] + 1 > level[i])
				level[i] = level[l->inputs[j]] + 1;
		at_level[level[i]]++;
		lone[level[i]] = (int)i;
		if (level[i] > max_level)
			max_level = level[i];
	}
	cuts[k++] = 0;
	/* Candidates in level order: a lone layer at each level, scanned from the input on. */
	for (int lv = 1; lv <= max_level; lv++) {
		int d = lone[lv];

		if (at_level[lv] != 1)
			continue;
		if (!bypassed(&succ, level, prev, d, stack, seen, n)) {
			cuts[k++] = d;
			prev = d;
		}
	}
	*count = k;
	igraph_adjlist_destroy(&succ);
out_free:
	free(level);
	free(at_level);
	free(lone);
	free(stack);
	free(seen);
	return rc;
}

int model_cut_points(const struct model_graph *g, enum model_cut_rule rule, int **out, size_t *n,
		     struct ep_error *err)
{
	size_t layers = model_graph_layer_count(g);
	igraph_t ig;
	int *cuts = NULL;
	int rc = model_graph_validate(g, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	cuts = malloc(layers * sizeof(*cuts));
	if (!cuts)
		return ep_error_set(err, EP_ENOMEM, "out of memory computing cut points");
	rc = to_igraph(g, &ig);
	if (rc) {
		free(cuts);
		return ep_error_set(err, rc, "model '%s': building the igraph graph failed",
				    model_graph_name(g));
	}
	if (rule == MODEL_CUTS_PUBLISHED)
		rc = published_cuts(g, &ig, layers, cuts, n);
	else
		rc = exact_cuts(&ig, layers, cuts, n);
	igraph_destroy(&ig);
	if (rc) {
		free(cuts);
		*n = 0;
		return ep_error_set(err, rc, "model '%s': computing %s cut points failed",
				    model_graph_name(g), model_cut_rule_name(rule));
	}
	*out = cuts;
	return EP_OK;
}
