#include "model_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The published notebooks' constants (shared/reference/seifer-2022.md). */
#define PUBLISHED_ACT_BYTES 4         /* float32 activations */
#define PUBLISHED_WIRE_BYTES 8        /* float64 assumed on the wire */
#define PUBLISHED_COMPRESSION 1.44    /* assumed fixed compression ratio */

const char *model_accounting_name(enum model_accounting a)
{
	return a == MODEL_ACCOUNT_PUBLISHED ? "published" : "exact";
}

int model_accounting_from_name(const char *name)
{
	if (strcmp(name, "exact") == 0)
		return MODEL_ACCOUNT_EXACT;
	if (strcmp(name, "published") == 0)
		return MODEL_ACCOUNT_PUBLISHED;
	return -1;
}

static int elem_size(const struct model_profile_options *o, const struct model_layer *l)
{
	return model_dtype_size(o->dtype == MODEL_DTYPE_DEFAULT ? l->dtype : o->dtype);
}

static double layer_param_bytes(const struct model_profile_options *o,
				const struct model_layer *l)
{
	int64_t params = l->params_trainable + l->params_non_trainable;

	if (o->accounting == MODEL_ACCOUNT_PUBLISHED)
		return (double)params;
	return (double)params * elem_size(o, l);
}

static double layer_act_bytes(const struct model_profile_options *o, const struct model_layer *l)
{
	int size = o->accounting == MODEL_ACCOUNT_PUBLISHED ? PUBLISHED_ACT_BYTES : elem_size(o, l);

	return (double)model_layer_elements(l) * size;
}

static double transfer_bytes(const struct model_profile_options *o, const struct model_graph *g,
			     size_t index)
{
	const struct model_layer *l = model_graph_layer(g, index);
	double elements = (double)model_layer_elements(l);

	if (o->accounting == MODEL_ACCOUNT_PUBLISHED) {
		if (index + 1 == model_graph_layer_count(g))
			return 0.0;
		return model_graph_consumers(g, index) * elements * PUBLISHED_WIRE_BYTES /
		       PUBLISHED_COMPRESSION;
	}
	return elements * elem_size(o, l) / o->compression;
}

int model_profile_create(const struct model_graph *g, const struct model_profile_options *opt,
			 struct model_profile **out, struct ep_error *err)
{
	struct model_profile *p = NULL;
	int *cut = NULL;
	size_t n = 0, layer = 0;
	int rc;
	struct model_cut_profile acc = { 0 };

	*out = NULL;
	if (opt->compression != 0 && !(opt->compression >= 1.0))
		return ep_error_set(err, EP_EINVAL, "compression ratio %g: must be at least 1",
				    opt->compression);
	if ((unsigned)opt->dtype >= MODEL_DTYPE_COUNT_)
		return ep_error_set(err, EP_EINVAL, "unknown dtype %d", (int)opt->dtype);
	rc = model_cut_points(g, opt->cuts, &cut, &n, err);
	if (rc)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->cuts = calloc(n, sizeof(*p->cuts)))) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory profiling '%s'",
				  model_graph_name(g));
		goto fail;
	}
	snprintf(p->model, sizeof(p->model), "%s", model_graph_name(g));
	p->options = *opt;
	if (p->options.compression == 0)
		p->options.compression = 1.0;
	p->n_cuts = n;
	for (size_t m = 0; m < n; m++) {
		struct model_cut_profile *c = &p->cuts[m];

		c->layer = cut[m];
		c->first_layer = (int)layer;
		for (; layer <= (size_t)cut[m]; layer++) {
			const struct model_layer *l = model_graph_layer(g, layer);

			c->seg_params += l->params_trainable + l->params_non_trainable;
			c->seg_flops += l->flops;
			c->seg_param_bytes += layer_param_bytes(&p->options, l);
			c->seg_act_bytes += layer_act_bytes(&p->options, l);
		}
		c->seg_mem_bytes = c->seg_param_bytes + c->seg_act_bytes;
		acc.cum_flops += c->seg_flops;
		acc.cum_param_bytes += c->seg_param_bytes;
		acc.cum_act_bytes += c->seg_act_bytes;
		acc.cum_mem_bytes += c->seg_mem_bytes;
		c->cum_flops = acc.cum_flops;
		c->cum_param_bytes = acc.cum_param_bytes;
		c->cum_act_bytes = acc.cum_act_bytes;
		c->cum_mem_bytes = acc.cum_mem_bytes;
		c->consumers = model_graph_consumers(g, (size_t)cut[m]);
		c->out_elements = model_layer_elements(model_graph_layer(g, (size_t)cut[m]));
		c->transfer_bytes = transfer_bytes(&p->options, g, (size_t)cut[m]);
	}
	free(cut);
	*out = p;
	return EP_OK;
fail:
	free(cut);
	model_profile_destroy(p);
	return rc;
}

void model_profile_destroy(struct model_profile *p)
{
	if (!p)
		return;
	free(p->cuts);
	free(p);
}
