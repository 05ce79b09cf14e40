/*
 * codec_tensors: the real cut tensors of a zoo model, for the codec test and benchmark. The
 * model runs once on the executor (generated weights, seed 1; a synthetic image, seed 1) with
 * every tensor kept, and each cut point's output is one tensor, with its shape.
 */
#ifndef EDGEPIPE_TEST_CODEC_TENSORS_H
#define EDGEPIPE_TEST_CODEC_TENSORS_H

#include <stdlib.h>

#include "model_cut.h"
#include "model_exec.h"
#include "model_zoo.h"

struct codec_tensors {
	struct model_graph *g;
	struct model_weights *w;
	struct model_stage *s;
	float *in, *out;
	int *cuts;
	size_t n_cuts;
};

static void codec_tensors_release(struct codec_tensors *t)
{
	model_stage_destroy(t->s);
	model_weights_destroy(t->w);
	model_graph_destroy(t->g);
	free(t->in);
	free(t->out);
	free(t->cuts);
}

/* Run `model` whole; EP_OK with *t filled, or the error (message in err). */
static int codec_tensors_init(struct codec_tensors *t, const char *model, struct ep_error *err)
{
	struct model_exec_options opt = MODEL_EXEC_OPTIONS_DEFAULT;
	int rc;

	*t = (struct codec_tensors){ 0 };
	opt.keep_tensors = true;
	rc = model_zoo_build(model, &t->g, err);
	if (!rc)
		rc = model_cut_points(t->g, MODEL_CUTS_EXACT, &t->cuts, &t->n_cuts, err);
	if (!rc)
		rc = model_weights_create(t->g, &t->w, err);
	if (!rc) {
		model_weights_generate(t->w, 1);
		rc = model_stage_create(t->w, 0, (int)model_graph_layer_count(t->g) - 1, &opt,
					&t->s, err);
	}
	if (!rc) {
		t->in = malloc((size_t)model_stage_input_elements(t->s) * sizeof(float));
		t->out = malloc((size_t)model_stage_output_elements(t->s) * sizeof(float));
		if (!t->in || !t->out)
			rc = ep_error_set(err, EP_ENOMEM, "out of memory");
	}
	if (!rc) {
		model_exec_synthetic_input(t->in, (size_t)model_stage_input_elements(t->s), 1);
		rc = model_stage_run(t->s, t->in, t->out, err);
	}
	if (rc)
		codec_tensors_release(t);
	return rc;
}

/* Cut point k's tensor and its shape; NULL where the executor did not materialise it. */
static const float *codec_tensors_get(const struct codec_tensors *t, size_t k, int64_t *shape,
				      int *rank)
{
	const struct model_layer *l = model_graph_layer(t->g, (size_t)t->cuts[k]);

	*rank = l->rank;
	for (int i = 0; i < l->rank; i++)
		shape[i] = l->shape[i];
	return model_stage_tensor(t->s, (size_t)t->cuts[k]);
}

#endif
