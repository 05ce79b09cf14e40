#include "model_file.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "text_reader_internal.h"

#define MAX_FIELDS 64

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || *s == '+' || *s == '-' || *s == ' ')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_i32(const char *s, int32_t *out)
{
	int64_t v;
	bool neg = *s == '-';

	if (!parse_i64(s + neg, &v) || v > INT32_MAX)
		return false;
	*out = (int32_t)(neg ? -v : v);
	return true;
}

/* "a<sep>b<sep>c" into at most `max` non-negative integers; returns the count or -1. */
static int parse_list(const char *s, char sep, int64_t *out, int max)
{
	char buf[128];
	int n = 0;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (char *p = buf, *q; p; p = q) {
		q = strchr(p, sep);
		if (q)
			*q++ = '\0';
		if (n == max || !parse_i64(p, &out[n]))
			return -1;
		n++;
	}
	return n;
}

static int parse_pair(const struct cursor *c, const char *key, const char *v, int32_t *out,
		      int count)
{
	int64_t xs[4];

	if (parse_list(v, ',', xs, count) != count)
		return bad(c, "attribute %s=%s: expected %d non-negative integers separated by ','",
			   key, v, count);
	for (int i = 0; i < count; i++) {
		if (xs[i] > INT32_MAX)
			return bad(c, "attribute %s=%s: value too large", key, v);
		out[i] = (int32_t)xs[i];
	}
	return EP_OK;
}

static int parse_bool(const struct cursor *c, const char *key, const char *v, bool *out)
{
	if (strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0)
		*out = false;
	else
		return bad(c, "attribute %s=%s: expected true or false", key, v);
	return EP_OK;
}

static int parse_double(const struct cursor *c, const char *key, const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	if (!*v || *end || errno || !isfinite(*out))
		return bad(c, "attribute %s=%s: expected a number", key, v);
	return EP_OK;
}

static int parse_attr(const struct cursor *c, char *kv, struct model_attrs *a, int *n_target)
{
	char *v = strchr(kv, '=');
	int32_t *ints[] = { &a->filters, &a->units, &a->groups, &a->depth_multiplier, &a->axis,
			    &a->target_rank };
	static const char *const int_keys[] = { "filters", "units", "groups", "depth_multiplier",
						"axis", "target_rank" };

	if (!v || v == kv || !v[1])
		return bad(c, "attribute '%s': expected KEY=VALUE", kv);
	*v++ = '\0';
	for (size_t i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++) {
		bool signed_ok = ints[i] == &a->axis;

		if (strcmp(kv, int_keys[i]) != 0)
			continue;
		if (!parse_i32(v, ints[i]) || (!signed_ok && *ints[i] < 0))
			return bad(c, "attribute %s=%s: expected a%s integer", kv, v,
				   signed_ok ? "n" : " non-negative");
		if (ints[i] == &a->target_rank && a->target_rank > MODEL_MAX_RANK)
			return bad(c, "attribute target_rank=%s: at most %d", v, MODEL_MAX_RANK);
		return EP_OK;
	}
	if (strcmp(kv, "kernel") == 0)
		return parse_pair(c, kv, v, a->kernel, 2);
	if (strcmp(kv, "strides") == 0)
		return parse_pair(c, kv, v, a->strides, 2);
	if (strcmp(kv, "dilation") == 0)
		return parse_pair(c, kv, v, a->dilation, 2);
	if (strcmp(kv, "pad") == 0)
		return parse_pair(c, kv, v, a->pad, 4);
	if (strcmp(kv, "target") == 0) {
		*n_target = parse_list(v, ',', a->target, MODEL_MAX_RANK);
		return *n_target > 0 ? EP_OK
				     : bad(c, "attribute target=%s: expected 1 to %d integers", v,
					   MODEL_MAX_RANK);
	}
	if (strcmp(kv, "padding") == 0) {
		if (strcmp(v, "valid") && strcmp(v, "same"))
			return bad(c, "attribute padding=%s: expected valid or same", v);
		a->padding = strcmp(v, "same") == 0 ? MODEL_PAD_SAME : MODEL_PAD_VALID;
		return EP_OK;
	}
	if (strcmp(kv, "activation") == 0) {
		int act = model_activation_from_name(v);

		if (act < 0)
			return bad(c, "attribute activation=%s: unknown activation", v);
		a->activation = (enum model_activation)act;
		return EP_OK;
	}
	if (strcmp(kv, "max_value") == 0)
		return parse_double(c, kv, v, &a->max_value);
	if (strcmp(kv, "scale_value") == 0)
		return parse_double(c, kv, v, &a->scale_value);
	if (strcmp(kv, "negative_slope") == 0)
		return parse_double(c, kv, v, &a->negative_slope);
	if (strcmp(kv, "use_bias") == 0)
		return parse_bool(c, kv, v, &a->use_bias);
	if (strcmp(kv, "center") == 0)
		return parse_bool(c, kv, v, &a->center);
	if (strcmp(kv, "scale") == 0)
		return parse_bool(c, kv, v, &a->scale);
	if (strcmp(kv, "keepdims") == 0)
		return parse_bool(c, kv, v, &a->keepdims);
	return bad(c, "unknown attribute '%s'", kv);
}

static int parse_layer(const struct cursor *c, const struct model_graph *g, char **f, int n,
		       struct model_layer *l)
{
	int64_t dims[MODEL_MAX_RANK + 1];
	char *plus;
	int rank, dtype, rc, n_target = 0;

	memset(l, 0, sizeof(*l));
	if (n < 7)
		return bad(c, "%d field(s); a layer needs NAME OP INPUTS SHAPE PARAMS FLOPS DTYPE",
			   n);
	if (strlen(f[0]) >= MODEL_NAME_MAX)
		return bad(c, "layer name '%.40s...' is longer than %d characters", f[0],
			   MODEL_NAME_MAX - 1);
	strcpy(l->name, f[0]);
	if (strlen(f[1]) >= MODEL_OP_MAX)
		return bad(c, "op '%s' is longer than %d characters", f[1], MODEL_OP_MAX - 1);
	strcpy(l->op_name, f[1]);
	if (strcmp(f[2], "-") != 0) {
		for (char *p = f[2], *q; p; p = q) {
			int idx;

			q = strchr(p, ',');
			if (q)
				*q++ = '\0';
			if (l->n_inputs == MODEL_MAX_INPUTS)
				return bad(c, "layer '%s' has more than %d inputs", l->name,
					   MODEL_MAX_INPUTS);
			idx = model_graph_find(g, p);
			if (idx < 0)
				return bad(c, "layer '%s': input '%s' is not an earlier layer",
					   l->name, p);
			l->inputs[l->n_inputs++] = idx;
		}
	}
	rank = parse_list(f[3], 'x', dims, MODEL_MAX_RANK + 1);
	if (rank < 1 || rank > MODEL_MAX_RANK)
		return bad(c, "layer '%s': shape '%s' is not 1 to %d positive integers joined by "
			   "'x'", l->name, f[3], MODEL_MAX_RANK);
	l->rank = rank;
	for (int i = 0; i < rank; i++) {
		if (dims[i] < 1)
			return bad(c, "layer '%s': shape '%s' has a zero dimension", l->name, f[3]);
		l->shape[i] = dims[i];
	}
	plus = strchr(f[4], '+');
	if (plus)
		*plus++ = '\0';
	if (!parse_i64(f[4], &l->params_trainable) ||
	    (plus && !parse_i64(plus, &l->params_non_trainable)))
		return bad(c, "layer '%s': parameters '%s%s%s' are not N or N+M with non-negative "
			   "integers", l->name, f[4], plus ? "+" : "", plus ? plus : "");
	if (!parse_i64(f[5], &l->flops))
		return bad(c, "layer '%s': FLOPs '%s' is not a non-negative integer", l->name,
			   f[5]);
	dtype = model_dtype_from_name(f[6]);
	if (dtype <= MODEL_DTYPE_DEFAULT)
		return bad(c, "layer '%s': unknown dtype '%s' (float32, float16, int8, float64)",
			   l->name, f[6]);
	l->dtype = (enum model_dtype)dtype;
	for (int i = 7; i < n; i++) {
		rc = parse_attr(c, f[i], &l->attrs, &n_target);
		if (rc)
			return rc;
	}
	/* target_rank says how many target values there are; it defaults to their count. */
	if (n_target && !l->attrs.target_rank)
		l->attrs.target_rank = n_target;
	if (l->attrs.target_rank != n_target)
		return bad(c, "layer '%s': target_rank=%d but %d target value(s)", l->name,
			   l->attrs.target_rank, n_target);
	return EP_OK;
}

/*
 * The file line of the layer that model_graph_validate rejects (a second input layer, or a
 * layer feeding nothing before the last), or 0 when no single line is at fault.
 */
static long structural_line(const struct model_graph *g, const long *lines)
{
	size_t n = model_graph_layer_count(g);

	for (size_t i = 0; i < n && n >= 2; i++) {
		const struct model_layer *l = model_graph_layer(g, i);

		if ((i > 0 && l->n_inputs == 0) || (i == 0 && l->n_inputs != 0) ||
		    (i + 1 < n && model_graph_consumers(g, i) == 0))
			return lines[i];
	}
	return 0;
}

/* The file's base name without its suffix, as the default model name. */
static void default_name(const char *path, char *out, size_t size)
{
	const char *base = strrchr(path, '/');
	char *dot;

	snprintf(out, size, "%s", base ? base + 1 : path);
	dot = strrchr(out, '.');
	if (dot && dot != out)
		*dot = '\0';
}

/* What model_file_read keeps from line to line. */
struct file_reader {
	struct cursor c;
	struct model_graph *g; /* created at the first layer line */
	long *lines;	       /* the file line of each layer, for structural errors */
	size_t n_lines, lines_cap;
	char name[MODEL_NAME_MAX];
	char *weights; /* the 'weights' line, resolved against the file's directory */
};

static int reader_nomem(const struct file_reader *r)
{
	return ep_error_set(r->c.err, EP_ENOMEM, "out of memory reading '%s'", r->c.path);
}

/* 'weights FILE': FILE, resolved against the model file's directory unless absolute. */
static int read_weights_line(struct file_reader *r, const char *file)
{
	const char *path = r->c.path;

	free(r->weights);
	r->weights = NULL;
	if (file[0] == '/' || !strchr(path, '/')) {
		r->weights = strdup(file);
	} else if (asprintf(&r->weights, "%.*s/%s", (int)(strrchr(path, '/') - path), path, file) <
		   0) {
		r->weights = NULL;
	}
	return r->weights ? EP_OK : reader_nomem(r);
}

/* A layer line: the layer added to the graph (created at the first), its file line noted. */
static int read_layer_line(struct file_reader *r, char **fields, int n)
{
	struct model_layer l;
	struct ep_error e;
	int rc;

	if (!r->g && !(r->g = model_graph_create(r->name)))
		return reader_nomem(r);
	rc = parse_layer(&r->c, r->g, fields, n, &l);
	if (rc)
		return rc;
	rc = model_graph_add_layer(r->g, &l, &e);
	if (rc < 0)
		return e.code == EP_EINVAL ? bad(&r->c, "%s", e.msg)
					   : ep_error_set(r->c.err, e.code, "%s", e.msg);
	if (r->n_lines == r->lines_cap) {
		size_t cap = r->lines_cap ? 2 * r->lines_cap : 64;
		long *more = realloc(r->lines, cap * sizeof(*more));

		if (!more)
			return reader_nomem(r);
		r->lines = more;
		r->lines_cap = cap;
	}
	r->lines[r->n_lines++] = r->c.line;
	return EP_OK;
}

/* A line after the header: 'model NAME' or 'weights FILE' before the first layer, else a
 * layer. */
static int read_line(struct file_reader *r, char **fields, int n)
{
	if (strcmp(fields[0], "model") == 0 && n == 2 && !r->g) {
		if (strlen(fields[1]) >= MODEL_NAME_MAX)
			return bad(&r->c, "model name is longer than %d characters",
				   MODEL_NAME_MAX - 1);
		strcpy(r->name, fields[1]);
		return EP_OK;
	}
	if (strcmp(fields[0], "weights") == 0 && n == 2 && !r->g)
		return read_weights_line(r, fields[1]);
	return read_layer_line(r, fields, n);
}

/* After the last line: a header and layers were read, the graph is whole (a structural error
 * names the line at fault where one is), and it has its weights path. */
static int read_finish(struct file_reader *r, FILE *f, bool have_version)
{
	const char *path = r->c.path;
	struct ep_error e;
	int rc;

	if (ferror(f))
		return ep_error_set(r->c.err, EP_EIO, "%s: read error", path);
	if (!have_version)
		return ep_error_set(r->c.err, EP_EINVAL,
				    "%s: empty file (expected 'edgepipe-model %d')", path,
				    MODEL_FILE_VERSION);
	if (!r->g)
		return ep_error_set(r->c.err, EP_EINVAL, "%s: no layers", path);
	rc = model_graph_validate(r->g, &e);
	if (rc) {
		r->c.line = structural_line(r->g, r->lines);
		return r->c.line ? bad(&r->c, "%s", e.msg)
				 : ep_error_set(r->c.err, rc, "%s: %s", path, e.msg);
	}
	if (r->weights && model_graph_set_weights_path(r->g, r->weights) != EP_OK)
		return reader_nomem(r);
	return EP_OK;
}

int model_file_read(FILE *f, const char *path, struct model_graph **out, struct ep_error *err)
{
	struct file_reader r = {.c = {path, 0, err}};
	char *line = NULL, *fields[MAX_FIELDS];
	size_t cap = 0;
	bool have_version = false;
	int n, rc = EP_OK;

	*out = NULL;
	default_name(path, r.name, sizeof(r.name));
	while (rc == EP_OK &&
	       (n = text_next_fields(f, &r.c, &line, &cap, fields, MAX_FIELDS)) > 0) {
		if (have_version) {
			rc = read_line(&r, fields, n);
		} else {
			rc = text_check_header(&r.c, fields, n, "edgepipe-model",
					       MODEL_FILE_VERSION);
			have_version = true;
		}
	}
	if (rc == EP_OK)
		rc = n < 0 ? n : read_finish(&r, f, have_version);
	free(r.weights);
	free(line);
	free(r.lines);
	if (rc) {
		model_graph_destroy(r.g);
		return rc;
	}
	*out = r.g;
	return EP_OK;
}

int model_file_load(const char *path, struct model_graph **out, struct ep_error *err)
{
	FILE *f = fopen(path, "r");
	int rc;

	*out = NULL;
	if (!f)
		return ep_error_set(err, errno == ENOENT ? EP_ENOTFOUND : EP_EIO,
				    "cannot open model file '%s': %s", path, strerror(errno));
	rc = model_file_read(f, path, out, err);
	fclose(f);
	return rc;
}

static void write_ints(FILE *f, const char *key, const int32_t *v, int n)
{
	bool any = false;

	for (int i = 0; i < n; i++)
		any |= v[i] != 0;
	if (!any)
		return;
	fprintf(f, " %s=", key);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%d", i ? "," : "", v[i]);
}

static void write_attrs(FILE *f, const struct model_attrs *a)
{
	if (a->filters)
		fprintf(f, " filters=%d", a->filters);
	if (a->units)
		fprintf(f, " units=%d", a->units);
	write_ints(f, "kernel", a->kernel, 2);
	write_ints(f, "strides", a->strides, 2);
	write_ints(f, "dilation", a->dilation, 2);
	if (a->groups)
		fprintf(f, " groups=%d", a->groups);
	if (a->depth_multiplier)
		fprintf(f, " depth_multiplier=%d", a->depth_multiplier);
	write_ints(f, "pad", a->pad, 4);
	if (a->axis)
		fprintf(f, " axis=%d", a->axis);
	if (a->padding == MODEL_PAD_SAME)
		fprintf(f, " padding=same");
	if (a->activation)
		fprintf(f, " activation=%s", model_activation_name(a->activation));
	if (a->max_value != 0)
		fprintf(f, " max_value=%.17g", a->max_value);
	if (a->scale_value != 0)
		fprintf(f, " scale_value=%.17g", a->scale_value);
	if (a->negative_slope != 0)
		fprintf(f, " negative_slope=%.17g", a->negative_slope);
	if (a->use_bias)
		fprintf(f, " use_bias=true");
	if (a->center)
		fprintf(f, " center=true");
	if (a->scale)
		fprintf(f, " scale=true");
	if (a->keepdims)
		fprintf(f, " keepdims=true");
	if (a->target_rank) {
		fprintf(f, " target_rank=%d target=", a->target_rank);
		for (int i = 0; i < a->target_rank; i++)
			fprintf(f, "%s%" PRId64, i ? "," : "", a->target[i]);
	}
}

int model_file_write(const struct model_graph *g, FILE *f, struct ep_error *err)
{
	size_t n = model_graph_layer_count(g);

	fprintf(f, "edgepipe-model %d\n", MODEL_FILE_VERSION);
	fprintf(f, "# %zu layers, %" PRId64 " parameters, %" PRId64 " FLOPs\n", n,
		model_graph_params(g), model_graph_flops(g));
	fprintf(f, "model %s\n", model_graph_name(g));
	if (model_graph_weights_path(g))
		fprintf(f, "weights %s\n", model_graph_weights_path(g));
	fprintf(f, "# name op inputs shape params(trainable+non_trainable) flops dtype [attributes]\n");
	for (size_t i = 0; i < n; i++) {
		const struct model_layer *l = model_graph_layer(g, i);

		fprintf(f, "%s %s ", l->name, l->op_name);
		if (!l->n_inputs)
			fputc('-', f);
		for (int k = 0; k < l->n_inputs; k++)
			fprintf(f, "%s%s", k ? "," : "", model_graph_layer(g, l->inputs[k])->name);
		fputc(' ', f);
		for (int d = 0; d < l->rank; d++)
			fprintf(f, "%s%" PRId64, d ? "x" : "", l->shape[d]);
		fprintf(f, " %" PRId64, l->params_trainable);
		if (l->params_non_trainable)
			fprintf(f, "+%" PRId64, l->params_non_trainable);
		fprintf(f, " %" PRId64 " %s", l->flops, model_dtype_name(l->dtype));
		write_attrs(f, &l->attrs);
		fputc('\n', f);
	}
	if (fflush(f) || ferror(f))
		return ep_error_set(err, EP_EIO, "writing model '%s' failed", model_graph_name(g));
	return EP_OK;
}

int model_file_save(const struct model_graph *g, const char *path, struct ep_error *err)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return ep_error_set(err, EP_EIO, "cannot write '%s': %s", path, strerror(errno));
	rc = model_file_write(g, f, err);
	if (fclose(f) && !rc)
		rc = ep_error_set(err, EP_EIO, "writing '%s' failed: %s", path, strerror(errno));
	return rc;
}
