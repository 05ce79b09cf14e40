/*
 * model_cut: the cut points of a model graph, under two rules.
 *
 * - MODEL_CUTS_EXACT, DESIGN.md's definition: a layer whose output is the only tensor flowing
 *   from the layers before it to the layers after it, i.e. every path from the input to the
 *   output passes through the layer. These are the dominators of the output layer in the flow
 *   graph rooted at the input, computed with igraph's Lengauer-Tarjan dominator tree.
 * - MODEL_CUTS_PUBLISHED, the SEIFER notebooks' rule (shared/reference/seifer-2022.md): levels
 *   are longest-path distances from the input; the candidates are the layers alone at their
 *   level, in level order; a candidate d is accepted when no path leaving the previous accepted
 *   point reaches a layer deeper than d without passing through d.
 *
 * On a valid graph (model_graph_validate: every layer lies on an input-to-output path) the two
 * rules give the same set: a dominator of the output is alone at its level (every other layer is
 * its ancestor or its descendant), and a candidate that is not a dominator is bypassed by a path
 * that goes on to the deeper output. tests/test_cut_points.c checks this on the whole zoo.
 *
 * Both lists are ascending layer indices; the first is the input (0), the last the output.
 */
#ifndef EDGEPIPE_MODEL_CUT_H
#define EDGEPIPE_MODEL_CUT_H

#include <stddef.h>

#include "ep_error.h"
#include "model_graph.h"

enum model_cut_rule { MODEL_CUTS_EXACT = 0, MODEL_CUTS_PUBLISHED };

const char *model_cut_rule_name(enum model_cut_rule rule); /* "exact", "published" */
int model_cut_rule_from_name(const char *name);             /* -1 if unknown */

/*
 * Compute the cut points of the valid graph `g` under `rule`. On success *out is a malloc'ed
 * array of *n layer indices (the caller frees it). Returns EP_OK, EP_EINVAL for an invalid graph,
 * EP_ENOMEM, or EP_EINTERNAL if igraph fails.
 * Complexity: exact O((V + E) alpha(V)); published O(V + E) per candidate, O(V (V + E)) at worst.
 */
int model_cut_points(const struct model_graph *g, enum model_cut_rule rule, int **out, size_t *n,
		     struct ep_error *err);

#endif
