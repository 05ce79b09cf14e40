#include "model_weights.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ep_util.h"

struct weight_tensor {
	const char *name;
	int rank;
	int64_t dims[4];
	int64_t elements;
	int64_t offset; /* in floats, into model_weights.data */
};

struct layer_tensors {
	int n;
	struct weight_tensor t[MODEL_WEIGHTS_MAX_TENSORS];
};

struct model_weights {
	const struct model_graph *g;
	struct layer_tensors *layers; /* one per graph layer */
	int64_t elements;
	float *data;
};

static void add_tensor(struct layer_tensors *lt, const char *name, int rank, const int64_t *dims)
{
	struct weight_tensor *t = &lt->t[lt->n++];

	t->name = name;
	t->rank = rank;
	t->elements = 1;
	for (int i = 0; i < rank; i++) {
		t->dims[i] = dims[i];
		t->elements *= dims[i];
	}
}

/* The tensors of layer `l` (model_weights.h's table). */
static int layer_spec(const struct model_graph *g, const struct model_layer *l,
		      struct layer_tensors *lt, struct ep_error *err)
{
	const struct model_attrs *a = &l->attrs;
	const struct model_layer *x = l->n_inputs > 0 ? model_graph_layer(g, l->inputs[0]) : NULL;
	int64_t c = x ? x->shape[x->rank - 1] : 0;
	int64_t kh = a->kernel[0], kw = a->kernel[1];
	int64_t cout = l->shape[l->rank - 1];
	int64_t total = 0;

	memset(lt, 0, sizeof(*lt));
	switch (l->op) {
	case MODEL_OP_CONV2D: {
		int64_t groups = a->groups > 1 ? a->groups : 1;

		if (c % groups)
			return ep_error_set(err, EP_EINVAL,
					    "layer '%s' (Conv2D): %" PRId64 " input channels, %" PRId64
					    " groups", l->name, c, groups);
		add_tensor(lt, "kernel", 4, (int64_t[]){ kh, kw, c / groups, a->filters });
		if (a->use_bias)
			add_tensor(lt, "bias", 1, (int64_t[]){ a->filters });
		break;
	}
	case MODEL_OP_DEPTHWISE_CONV2D: {
		int64_t dm = a->depth_multiplier > 0 ? a->depth_multiplier : 1;

		add_tensor(lt, "depthwise_kernel", 4, (int64_t[]){ kh, kw, c, dm });
		if (a->use_bias)
			add_tensor(lt, "bias", 1, (int64_t[]){ c * dm });
		break;
	}
	case MODEL_OP_SEPARABLE_CONV2D: {
		int64_t dm = a->depth_multiplier > 0 ? a->depth_multiplier : 1;

		add_tensor(lt, "depthwise_kernel", 4, (int64_t[]){ kh, kw, c, dm });
		add_tensor(lt, "pointwise_kernel", 4, (int64_t[]){ 1, 1, c * dm, a->filters });
		if (a->use_bias)
			add_tensor(lt, "bias", 1, (int64_t[]){ a->filters });
		break;
	}
	case MODEL_OP_DENSE:
		add_tensor(lt, "kernel", 2, (int64_t[]){ c, a->units });
		if (a->use_bias)
			add_tensor(lt, "bias", 1, (int64_t[]){ a->units });
		break;
	case MODEL_OP_BATCH_NORM:
		if (a->scale)
			add_tensor(lt, "gamma", 1, &cout);
		if (a->center)
			add_tensor(lt, "beta", 1, &cout);
		add_tensor(lt, "moving_mean", 1, &cout);
		add_tensor(lt, "moving_variance", 1, &cout);
		break;
	case MODEL_OP_NORMALIZATION:
		add_tensor(lt, "mean", 1, &cout);
		add_tensor(lt, "variance", 1, &cout);
		add_tensor(lt, "count", 1, (int64_t[]){ 1 });
		break;
	default:
		break;
	}
	for (int i = 0; i < lt->n; i++) {
		if (lt->t[i].elements <= 0)
			return ep_error_set(err, EP_EINVAL, "layer '%s' (%s): tensor '%s' is empty",
					    l->name, l->op_name, lt->t[i].name);
		total += lt->t[i].elements;
	}
	if (total != l->params_trainable + l->params_non_trainable)
		return ep_error_set(err, EP_EINVAL,
				    "layer '%s' (%s): its weight tensors hold %" PRId64
				    " values but the layer declares %" PRId64 " parameters",
				    l->name, l->op_name, total,
				    l->params_trainable + l->params_non_trainable);
	return EP_OK;
}

int model_weights_create(const struct model_graph *g, struct model_weights **out,
			 struct ep_error *err)
{
	struct model_weights *w = NULL;
	size_t n = model_graph_layer_count(g);
	int rc;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return ep_error_set(err, EP_ENOMEM, "out of memory for weights");
	w->g = g;
	w->layers = calloc(n ? n : 1, sizeof(*w->layers));
	if (!w->layers) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for weights");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		struct layer_tensors *lt = &w->layers[i];

		rc = layer_spec(g, model_graph_layer(g, i), lt, err);
		if (rc)
			goto fail;
		for (int t = 0; t < lt->n; t++) {
			lt->t[t].offset = w->elements;
			w->elements += lt->t[t].elements;
		}
	}
	w->data = calloc(w->elements ? (size_t)w->elements : 1, sizeof(float));
	if (!w->data) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for %" PRId64 " weights of '%s'",
				  w->elements, model_graph_name(g));
		goto fail;
	}
	*out = w;
	return EP_OK;
fail:
	model_weights_destroy(w);
	return rc;
}

void model_weights_destroy(struct model_weights *w)
{
	if (!w)
		return;
	free(w->data);
	free(w->layers);
	free(w);
}

const struct model_graph *model_weights_graph(const struct model_weights *w)
{
	return w->g;
}

static const struct weight_tensor *tensor(const struct model_weights *w, size_t layer, int t)
{
	if (layer >= model_graph_layer_count(w->g) || t < 0 || t >= w->layers[layer].n)
		return NULL;
	return &w->layers[layer].t[t];
}

int model_weights_tensor_count(const struct model_weights *w, size_t layer)
{
	return layer < model_graph_layer_count(w->g) ? w->layers[layer].n : 0;
}

const char *model_weights_tensor_name(const struct model_weights *w, size_t layer, int t)
{
	const struct weight_tensor *wt = tensor(w, layer, t);

	return wt ? wt->name : NULL;
}

int64_t model_weights_tensor_elements(const struct model_weights *w, size_t layer, int t)
{
	const struct weight_tensor *wt = tensor(w, layer, t);

	return wt ? wt->elements : 0;
}

int model_weights_tensor_dims(const struct model_weights *w, size_t layer, int t,
			      int64_t dims[4])
{
	const struct weight_tensor *wt = tensor(w, layer, t);

	if (!wt)
		return 0;
	memcpy(dims, wt->dims, sizeof(wt->dims));
	return wt->rank;
}

float *model_weights_tensor(struct model_weights *w, size_t layer, int t)
{
	const struct weight_tensor *wt = tensor(w, layer, t);

	return wt ? w->data + wt->offset : NULL;
}

const float *model_weights_tensor_const(const struct model_weights *w, size_t layer, int t)
{
	const struct weight_tensor *wt = tensor(w, layer, t);

	return wt ? w->data + wt->offset : NULL;
}

int64_t model_weights_elements(const struct model_weights *w)
{
	return w->elements;
}

int64_t model_weights_bytes(const struct model_weights *w)
{
	return w->elements * 4;
}

/* splitmix64 stream: uniform in [lo, hi). */
static float uniform(uint64_t *state, float lo, float hi)
{
	uint64_t z = ep_mix64(*state += 0x9e3779b97f4a7c15ULL);

	return lo + (hi - lo) * (float)((double)(z >> 11) * 0x1.0p-53);
}

static void fill(uint64_t *state, float *x, int64_t n, float lo, float hi)
{
	for (int64_t i = 0; i < n; i++)
		x[i] = uniform(state, lo, hi);
}

void model_weights_generate(struct model_weights *w, uint64_t seed)
{
	size_t n = model_graph_layer_count(w->g);

	for (size_t i = 0; i < n; i++) {
		const struct layer_tensors *lt = &w->layers[i];
		uint64_t state = ep_mix64(seed ^ ep_fnv1a(model_graph_layer(w->g, i)->name));

		for (int t = 0; t < lt->n; t++) {
			const struct weight_tensor *wt = &lt->t[t];
			float *x = w->data + wt->offset;
			const char *name = wt->name;

			if (strstr(name, "kernel")) {
				/* fan_in: every kernel dimension but the last (HWIO, [C][units]);
				 * a depthwise kernel's fan-in is its window, kh x kw */
				int64_t fan_in = 1;
				int keep = strcmp(name, "depthwise_kernel") == 0 ? 2 : wt->rank - 1;

				for (int d = 0; d < keep; d++)
					fan_in *= wt->dims[d];
				float limit = sqrtf(6.0f / (float)fan_in);

				fill(&state, x, wt->elements, -limit, limit);
			} else if (strcmp(name, "gamma") == 0 || strcmp(name, "moving_variance") == 0 ||
				   strcmp(name, "variance") == 0) {
				fill(&state, x, wt->elements, 0.9f, 1.1f);
			} else if (strcmp(name, "count") == 0) {
				x[0] = 1.0f;
			} else {
				/* bias, beta, moving_mean, mean */
				fill(&state, x, wt->elements, -0.05f, 0.05f);
			}
		}
	}
}

int model_weights_open(const struct model_graph *g, uint64_t seed, struct model_weights **out,
		       struct ep_error *err)
{
	struct model_weights *w = NULL;
	int rc = model_weights_create(g, &w, err);

	*out = NULL;
	if (rc)
		return rc;
	if (model_graph_weights_path(g)) {
		rc = model_weights_load(w, model_graph_weights_path(g), err);
		if (rc) {
			model_weights_destroy(w);
			return rc;
		}
	} else {
		model_weights_generate(w, seed);
	}
	*out = w;
	return EP_OK;
}

/* The layer and tensor that hold float number `index`. */
static void locate(const struct model_weights *w, int64_t index, size_t *layer, int *t)
{
	size_t n = model_graph_layer_count(w->g);

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < w->layers[i].n; k++) {
			const struct weight_tensor *wt = &w->layers[i].t[k];

			if (index < wt->offset + wt->elements) {
				*layer = i;
				*t = k;
				return;
			}
		}
	*layer = n;
	*t = 0;
}

static void swap_le(float *x, int64_t n)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (int64_t i = 0; i < n; i++) {
		uint32_t u;

		memcpy(&u, &x[i], 4);
		u = __builtin_bswap32(u);
		memcpy(&x[i], &u, 4);
	}
#else
	(void)x;
	(void)n;
#endif
}

int model_weights_load(struct model_weights *w, const char *path, struct ep_error *err)
{
	FILE *f = NULL;
	float *data = NULL;
	struct stat st;
	int64_t need = w->elements * 4;
	int rc = EP_OK;

	f = fopen(path, "rb");
	if (!f)
		return ep_error_set(err, errno == ENOENT ? EP_ENOTFOUND : EP_EIO,
				    "weights file '%s': %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = ep_error_set(err, EP_EINVAL, "weights file '%s' is not a regular file", path);
		goto out;
	}
	if ((int64_t)st.st_size < need) {
		size_t layer;
		int t;

		locate(w, (int64_t)st.st_size / 4, &layer, &t);
		const struct model_layer *l = model_graph_layer(w->g, layer);

		rc = ep_error_set(err, EP_EINVAL,
				  "weights file '%s' is truncated: %" PRId64 " bytes, model '%s' needs "
				  "%" PRId64 "; it ends in layer '%s' (%s), tensor '%s' of %" PRId64
				  " floats", path, (int64_t)st.st_size, model_graph_name(w->g), need,
				  l->name, l->op_name, w->layers[layer].t[t].name,
				  w->layers[layer].t[t].elements);
		goto out;
	}
	if ((int64_t)st.st_size > need) {
		rc = ep_error_set(err, EP_EINVAL,
				  "weights file '%s' has %" PRId64 " bytes, model '%s' needs %" PRId64
				  " (%" PRId64 " float32 values)", path, (int64_t)st.st_size,
				  model_graph_name(w->g), need, w->elements);
		goto out;
	}
	data = malloc(need ? (size_t)need : 1);
	if (!data) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory reading weights file '%s'", path);
		goto out;
	}
	if (need && fread(data, 1, (size_t)need, f) != (size_t)need) {
		rc = ep_error_set(err, EP_EIO, "weights file '%s': read failed", path);
		goto out;
	}
	swap_le(data, w->elements);
	free(w->data);
	w->data = data;
	data = NULL;
out:
	free(data);
	fclose(f);
	return rc;
}

int model_weights_save(const struct model_weights *w, const char *path, struct ep_error *err)
{
	char *tmp = NULL;
	FILE *f = NULL;
	int fd = -1, rc = EP_OK;
	const int64_t chunk = 1 << 16;
	float *buf = NULL;

	if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0) {
		tmp = NULL;
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = ep_error_set(err, EP_EIO, "weights file '%s': %s", path, strerror(errno));
		goto out;
	}
	f = fdopen(fd, "wb");
	if (!f) {
		rc = ep_error_set(err, EP_EIO, "weights file '%s': %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	buf = malloc((size_t)chunk * sizeof(float));
	if (!buf) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory");
		goto out_unlink;
	}
	for (int64_t i = 0; i < w->elements; i += chunk) {
		int64_t m = w->elements - i < chunk ? w->elements - i : chunk;

		memcpy(buf, w->data + i, (size_t)m * sizeof(float));
		swap_le(buf, m);
		if (fwrite(buf, sizeof(float), (size_t)m, f) != (size_t)m) {
			rc = ep_error_set(err, EP_EIO, "weights file '%s': write failed", path);
			goto out_unlink;
		}
	}
	if (fclose(f) != 0) {
		f = NULL;
		rc = ep_error_set(err, EP_EIO, "weights file '%s': write failed", path);
		goto out_unlink;
	}
	f = NULL;
	if (rename(tmp, path) != 0) {
		rc = ep_error_set(err, EP_EIO, "weights file '%s': %s", path, strerror(errno));
		goto out_unlink;
	}
	goto out;
out_unlink:
	if (f)
		fclose(f);
	f = NULL;
	unlink(tmp);
out:
	free(buf);
	free(tmp);
	return rc;
}
