/*
 * Stages of three plans of a zoo model, run in turn, equal the whole model (model_exec.h).
 *
 * One whole run with every tensor kept (folding off) captures the cut tensors; every stage of
 * each plan then runs from the captured tensor at its first cut and must reproduce the
 * captured tensor at its last cut bit for bit (the same XNNPACK operators with the same shapes
 * and weights). Plans, over the exact cut points p_0..p_{n-1}: two stages split at the middle
 * cut; four stages at cuts drawn from a seeded stream; one stage per segment (every cut).
 * With folding on, the two-stage plan chained from the input must equal the folded whole
 * model within the tolerance the header states (1e-4 of the output's largest magnitude), and
 * its second stage on 2 threads must equal it on 1 thread bit for bit.
 *
 * Usage: test_exec_stages MODEL (ctest runs one entry per zoo model, so they run in parallel).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ep_util.h"
#include "model_cut.h"
#include "model_exec.h"
#include "model_weights.h"
#include "model_zoo.h"

static const struct model_graph *G;
static struct model_weights *Wt;
static struct model_stage *whole;

/* Run the stage [a, b] (layer indices) from the captured tensor at a; compare with b's. */
static void check_stage(int a, int b, const char *plan)
{
	struct model_exec_options o = MODEL_EXEC_OPTIONS_DEFAULT;
	struct model_stage *s = NULL;
	struct ep_error err;
	float *out = NULL;

	o.no_fold_bn = true;
	if (model_stage_create(Wt, a, b, &o, &s, &err)) {
		fprintf(stderr, "%s: stage %d..%d: %s\n", plan, a, b, err.msg);
		check_failures++;
		return;
	}
	out = malloc((size_t)model_stage_output_elements(s) * sizeof(float));
	CHECK(model_stage_run(s, model_stage_tensor(whole, (size_t)a), out, &err) == EP_OK);
	if (memcmp(out, model_stage_tensor(whole, (size_t)b),
		   (size_t)model_stage_output_elements(s) * sizeof(float)) != 0) {
		fprintf(stderr, "%s %s: stage '%s'..'%s' differs from the whole model\n",
			model_graph_name(G), plan, model_graph_layer(G, (size_t)a)->name,
			model_graph_layer(G, (size_t)b)->name);
		check_failures++;
	}
	free(out);
	model_stage_destroy(s);
}

static void check_plan(const int *cuts, size_t n_cuts, const int *bounds, int n_bounds,
		       const char *plan)
{
	/* bounds: indices into cuts, ascending, first 0, last n_cuts - 1 */
	(void)n_cuts;
	for (int k = 0; k + 1 < n_bounds; k++)
		check_stage(cuts[bounds[k]], cuts[bounds[k + 1]], plan);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "mobilenetv2";
	struct model_graph *g = NULL;
	struct ep_error err;
	struct model_exec_options o = MODEL_EXEC_OPTIONS_DEFAULT;
	int *cuts = NULL;
	size_t n_cuts = 0;
	int n;
	float *in = NULL, *out = NULL, *out2 = NULL;

	if (model_zoo_build(name, &g, &err) || model_cut_points(g, MODEL_CUTS_EXACT, &cuts,
								&n_cuts, &err) ||
	    model_weights_create(g, &Wt, &err)) {
		fprintf(stderr, "%s: %s\n", name, err.msg);
		return 1;
	}
	G = g;
	n = (int)model_graph_layer_count(g);
	model_weights_generate(Wt, 42);
	o.no_fold_bn = true;
	o.keep_tensors = true;
	if (model_stage_create(Wt, 0, n - 1, &o, &whole, &err)) {
		fprintf(stderr, "%s: %s\n", name, err.msg);
		return 1;
	}
	in = malloc((size_t)model_stage_input_elements(whole) * sizeof(float));
	out = malloc((size_t)model_stage_output_elements(whole) * sizeof(float));
	out2 = malloc((size_t)model_stage_output_elements(whole) * sizeof(float));
	model_exec_synthetic_input(in, (size_t)model_stage_input_elements(whole), 1);
	CHECK(model_stage_run(whole, in, out, &err) == EP_OK);
	CHECK(n_cuts >= 3);

	/* Plan 1: two stages at the middle cut. */
	{
		int b[3] = { 0, (int)n_cuts / 2, (int)n_cuts - 1 };

		check_plan(cuts, n_cuts, b, 3, "middle");
	}
	/* Plan 2: four stages at cuts drawn from a seeded stream (distinct, sorted). */
	if (n_cuts >= 5) {
		int b[5] = { 0, 0, 0, 0, (int)n_cuts - 1 };
		uint64_t st = ep_mix64(ep_fnv1a(name));

		for (int k = 1; k <= 3; k++) {
			bool dup;

			do {
				st = ep_mix64(st + 1);
				b[k] = 1 + (int)(st % (n_cuts - 2));
				dup = false;
				for (int j = 1; j < k; j++)
					dup = dup || b[j] == b[k];
			} while (dup);
		}
		qsort(b + 1, 3, sizeof(int), cmp_int);
		check_plan(cuts, n_cuts, b, 5, "random4");
	}
	/* Plan 3: one stage per segment. */
	{
		int *b = malloc(n_cuts * sizeof(int));

		for (size_t k = 0; k < n_cuts; k++)
			b[k] = (int)k;
		check_plan(cuts, n_cuts, b, (int)n_cuts, "every-cut");
		free(b);
	}
	model_stage_destroy(whole);
	whole = NULL;

	/* Folding on (for models with a BatchNormalization; without one, folding changes
	 * nothing): the middle plan chained from the input, against the folded whole model. Then
	 * the second stage on 2 threads against 1 thread, bit for bit. */
	{
		struct model_stage *w1 = NULL, *s1 = NULL, *s2 = NULL, *s2t = NULL;
		int mid = cuts[n_cuts / 2];
		bool has_bn = false;
		float *t = NULL, *o1 = NULL, *o2 = NULL;
		double mx = 0, diff = 0;
		int64_t no = model_layer_elements(model_graph_layer(g, (size_t)n - 1));

		for (int i = 0; i < n; i++)
			has_bn = has_bn || model_graph_layer(g, (size_t)i)->op == MODEL_OP_BATCH_NORM;
		CHECK(model_stage_create(Wt, 0, mid, NULL, &s1, &err) == EP_OK);
		CHECK(model_stage_create(Wt, mid, n - 1, NULL, &s2, &err) == EP_OK);
		o = MODEL_EXEC_OPTIONS_DEFAULT;
		o.threads = 2;
		CHECK(model_stage_create(Wt, mid, n - 1, &o, &s2t, &err) == EP_OK);
		if (has_bn)
			CHECK(model_stage_create(Wt, 0, n - 1, NULL, &w1, &err) == EP_OK);
		if (s1 && s2 && s2t && (w1 || !has_bn)) {
			t = malloc((size_t)model_stage_output_elements(s1) * sizeof(float));
			o1 = malloc((size_t)no * sizeof(float));
			o2 = malloc((size_t)no * sizeof(float));
			CHECK(model_stage_run(s1, in, t, &err) == EP_OK);
			CHECK(model_stage_run(s2, t, out2, &err) == EP_OK);
			if (w1) {
				CHECK(model_stage_run(w1, in, out, &err) == EP_OK);
				for (int64_t i = 0; i < no; i++) {
					mx = fmax(mx, fabs(out[i]));
					diff = fmax(diff, fabs((double)out[i] - out2[i]));
				}
				if (!(diff <= 1e-4 * mx)) {
					fprintf(stderr, "%s: folded stages differ by %g (max |out| %g)\n",
						name, diff, mx);
					check_failures++;
				}
			}
			CHECK(model_stage_run(s2t, t, o1, &err) == EP_OK);
			CHECK(memcmp(o1, out2, (size_t)no * sizeof(float)) == 0);
			free(t);
			free(o1);
			free(o2);
		}
		model_stage_destroy(s1);
		model_stage_destroy(s2);
		model_stage_destroy(s2t);
		model_stage_destroy(w1);
	}
	free(in);
	free(out);
	free(out2);
	free(cuts);
	model_weights_destroy(Wt);
	model_graph_destroy(g);
	return check_exit();
}
