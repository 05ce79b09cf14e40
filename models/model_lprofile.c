#include "model_lprofile.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ep_util.h"
#include "model_exec.h"
#include "text_reader_internal.h"

#define MAX_FIELDS 16
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv_bytes(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	/* The terminating NUL separates fields, so ("ab", "c") and ("a", "bc") differ. */
	return fnv_bytes(h, s, strlen(s) + 1);
}

static uint64_t fnv_i64(uint64_t h, int64_t v)
{
	unsigned char b[8];

	/* Byte by byte, little-endian: the same fingerprint on every machine. */
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (8 * i));
	return fnv_bytes(h, b, sizeof(b));
}

uint64_t model_lprofile_fingerprint(const struct model_graph *g)
{
	size_t n = model_graph_layer_count(g);
	uint64_t h = fnv_i64(FNV_OFFSET, (int64_t)n);

	for (size_t i = 0; i < n; i++) {
		const struct model_layer *l = model_graph_layer(g, i);
		const struct model_attrs *a = &l->attrs;
		const int64_t attrs[] = { a->kernel[0], a->kernel[1], a->strides[0], a->strides[1],
					  a->dilation[0], a->dilation[1], a->groups,
					  a->depth_multiplier, a->filters, a->units, a->padding,
					  a->activation };

		h = fnv_str(h, l->name);
		h = fnv_str(h, l->op_name);
		h = fnv_i64(h, l->n_inputs);
		for (int k = 0; k < l->n_inputs; k++)
			h = fnv_i64(h, l->inputs[k]);
		h = fnv_i64(h, l->rank);
		for (int k = 0; k < l->rank; k++)
			h = fnv_i64(h, l->shape[k]);
		h = fnv_i64(h, l->params_trainable);
		h = fnv_i64(h, l->params_non_trainable);
		h = fnv_i64(h, l->flops);
		for (size_t k = 0; k < sizeof(attrs) / sizeof(attrs[0]); k++)
			h = fnv_i64(h, attrs[k]);
	}
	return h;
}

static struct model_lprofile *alloc_profile(size_t n)
{
	struct model_lprofile *lp = calloc(1, sizeof(*lp));

	if (!lp)
		return NULL;
	if (n && !(lp->layers = calloc(n, sizeof(*lp->layers)))) {
		free(lp);
		return NULL;
	}
	lp->n_layers = n;
	lp->threads = 1;
	lp->repeat = 1;
	strcpy(lp->host, "-");
	return lp;
}

int model_lprofile_create(const struct model_graph *g, struct model_lprofile **out,
			  struct ep_error *err)
{
	size_t n = model_graph_layer_count(g);
	struct model_lprofile *lp = alloc_profile(n);

	*out = NULL;
	if (!lp)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the layer profile of '%s'",
				    model_graph_name(g));
	snprintf(lp->model, sizeof(lp->model), "%s", model_graph_name(g));
	lp->fingerprint = model_lprofile_fingerprint(g);
	for (size_t i = 0; i < n; i++) {
		const struct model_layer *l = model_graph_layer(g, i);
		struct model_lprofile_layer *pl = &lp->layers[i];

		snprintf(pl->name, sizeof(pl->name), "%s", l->name);
		snprintf(pl->op, sizeof(pl->op), "%s", l->op_name);
		strcpy(pl->kernel, "-");
		pl->flops = l->flops;
	}
	*out = lp;
	return EP_OK;
}

void model_lprofile_destroy(struct model_lprofile *lp)
{
	if (!lp)
		return;
	free(lp->layers);
	free(lp);
}

double model_lprofile_layer_gflops(const struct model_lprofile_layer *l)
{
	return l->flops > 0 && l->median_s > 0 ? (double)l->flops / l->median_s / 1e9 : 0.0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of sorted samples, interpolating linearly between order statistics. */
static double quantile(const double *x, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)pos;
	double frac = pos - (double)lo;

	return lo + 1 < n ? x[lo] + frac * (x[lo + 1] - x[lo]) : x[lo];
}

void model_lprofile_stats(double *samples, size_t n, double *median, double *spread)
{
	qsort(samples, n, sizeof(*samples), cmp_double);
	*median = quantile(samples, n, 0.5);
	*spread = quantile(samples, n, 0.75) - quantile(samples, n, 0.25);
}

/* ---- reading ---- */

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* A finite number >= 0. */
static bool parse_time(const char *s, double *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !errno && !*end && isfinite(*out) && *out >= 0;
}

static bool copy_name(char *dst, size_t size, const char *src)
{
	if (strlen(src) >= size)
		return false;
	strcpy(dst, src);
	return true;
}

/* Header lines seen so far, by bit. */
enum { H_MODEL = 1, H_FP = 2, H_THREADS = 4, H_REPEAT = 8, H_HOST = 16, H_ALL = 31 };

static int parse_header(const struct cursor *c, char **f, int n, struct model_lprofile *lp,
			unsigned *seen)
{
	static const char *const keys[] = { "model", "fingerprint", "threads", "repeat", "host" };
	unsigned bit = 0;
	int64_t v;

	for (int i = 0; i < 5; i++)
		if (strcmp(f[0], keys[i]) == 0)
			bit = 1u << i;
	if (!bit)
		return bad(c, "unknown line '%s' (expected model, fingerprint, threads, repeat, "
			   "host or layer)", f[0]);
	if (*seen & bit)
		return bad(c, "'%s' given twice", f[0]);
	if (n != 2)
		return bad(c, "'%s' takes one value, not %d", f[0], n - 1);
	*seen |= bit;
	switch (bit) {
	case H_MODEL:
		if (!copy_name(lp->model, sizeof(lp->model), f[1]))
			return bad(c, "model name is longer than %d characters", MODEL_NAME_MAX - 1);
		break;
	case H_FP: {
		char *end;

		errno = 0;
		lp->fingerprint = strtoull(f[1], &end, 16);
		if (strlen(f[1]) != 16 || errno || *end || f[1][0] == '-' || f[1][0] == '+')
			return bad(c, "fingerprint '%s': expected 16 hex digits", f[1]);
		break;
	}
	case H_THREADS:
		if (!parse_i64(f[1], &v) || v < 1 || v > MODEL_LPROFILE_MAX_THREADS)
			return bad(c, "threads '%s': expected an integer from 1 to %d", f[1],
				   MODEL_LPROFILE_MAX_THREADS);
		lp->threads = (int)v;
		break;
	case H_REPEAT:
		if (!parse_i64(f[1], &v) || v < 1 || v > 1000000000)
			return bad(c, "repeat '%s': expected a positive integer", f[1]);
		lp->repeat = (int)v;
		break;
	default:
		if (!copy_name(lp->host, sizeof(lp->host), f[1]))
			return bad(c, "host name is longer than %d characters",
				   MODEL_LPROFILE_HOST_MAX - 1);
		break;
	}
	return EP_OK;
}

static int parse_layer(const struct cursor *c, char **f, int n, struct model_lprofile_layer *l)
{
	double gflops, want;

	memset(l, 0, sizeof(*l));
	if (n != 8)
		return bad(c, "%d field(s); a layer line is 'layer NAME OP KERNEL FLOPS MEDIAN_S "
			   "SPREAD_S GFLOPS'", n);
	if (!copy_name(l->name, sizeof(l->name), f[1]))
		return bad(c, "layer name '%.40s...' is longer than %d characters", f[1],
			   MODEL_NAME_MAX - 1);
	if (!copy_name(l->op, sizeof(l->op), f[2]))
		return bad(c, "layer '%s': op '%s' is longer than %d characters", l->name, f[2],
			   MODEL_OP_MAX - 1);
	if (!copy_name(l->kernel, sizeof(l->kernel), f[3]))
		return bad(c, "layer '%s': kernel '%s' is longer than %d characters", l->name, f[3],
			   MODEL_LPROFILE_KERNEL_MAX - 1);
	if (!parse_i64(f[4], &l->flops))
		return bad(c, "layer '%s': FLOPs '%s' is not a non-negative integer", l->name, f[4]);
	if (!parse_time(f[5], &l->median_s))
		return bad(c, "layer '%s': median '%s' is not a time in seconds >= 0", l->name,
			   f[5]);
	if (!parse_time(f[6], &l->spread_s))
		return bad(c, "layer '%s': spread '%s' is not a time in seconds >= 0", l->name,
			   f[6]);
	want = model_lprofile_layer_gflops(l);
	if (strcmp(f[7], "-") == 0) {
		if (want > 0)
			return bad(c, "layer '%s': GFLOP/s is '-' but FLOPs / median = %.6g", l->name,
				   want);
		return EP_OK;
	}
	if (!parse_time(f[7], &gflops))
		return bad(c, "layer '%s': GFLOP/s '%s' is not a number >= 0 or '-'", l->name, f[7]);
	if (!(fabs(gflops - want) <= 1e-4 * want))
		return bad(c, "layer '%s': GFLOP/s %s disagrees with FLOPs / median = %.6g", l->name,
			   f[7], want);
	return EP_OK;
}

static int push_layer(struct model_lprofile *lp, size_t *cap, const struct model_lprofile_layer *l)
{
	if (lp->n_layers == *cap) {
		size_t ncap = *cap ? 2 * *cap : 64;
		struct model_lprofile_layer *more = realloc(lp->layers, ncap * sizeof(*more));

		if (!more)
			return EP_ENOMEM;
		lp->layers = more;
		*cap = ncap;
	}
	lp->layers[lp->n_layers++] = *l;
	return EP_OK;
}

static const char *const header_names[] = { "model", "fingerprint", "threads", "repeat",
					    "host" };

/* The first header line not given yet (in header_names' order), or NULL. */
static const char *missing_header(unsigned seen)
{
	for (int i = 0; i < 5; i++)
		if (!(seen & (1u << i)))
			return header_names[i];
	return NULL;
}

/* A line after the version: a layer once every header line was given, else a header line
 * before the first layer. */
static int read_line(const struct cursor *c, char **fields, int n, struct model_lprofile *lp,
		     size_t *layers_cap, unsigned *seen)
{
	if (strcmp(fields[0], "layer") == 0) {
		const char *missing = missing_header(*seen);
		struct model_lprofile_layer l;
		int rc;

		if (missing)
			return bad(c, "layer before the '%s' line", missing);
		rc = parse_layer(c, fields, n, &l);
		if (rc)
			return rc;
		if (push_layer(lp, layers_cap, &l))
			return ep_error_set(c->err, EP_ENOMEM, "out of memory reading '%s'",
					    c->path);
		return EP_OK;
	}
	if (lp->n_layers)
		return bad(c, "'%s' after the first layer line", fields[0]);
	return parse_header(c, fields, n, lp, seen);
}

/* After the last line: the version, every header line and a layer were read. */
static int read_finish(struct cursor *c, FILE *f, bool have_version, unsigned seen,
		       const struct model_lprofile *lp)
{
	const char *missing = missing_header(seen);

	if (ferror(f))
		return ep_error_set(c->err, EP_EIO, "%s: read error", c->path);
	c->line = 0;
	if (!have_version)
		return bad(c, "empty file (expected 'edgepipe-lprofile %d')",
			   MODEL_LPROFILE_VERSION);
	if (missing)
		return bad(c, "no '%s' line", missing);
	if (!lp->n_layers)
		return bad(c, "no layers");
	return EP_OK;
}

int model_lprofile_read(FILE *f, const char *path, struct model_lprofile **out,
			struct ep_error *err)
{
	struct cursor c = { path, 0, err };
	struct model_lprofile *lp = alloc_profile(0);
	char *line = NULL, *fields[MAX_FIELDS];
	size_t cap = 0, layers_cap = 0;
	bool have_version = false;
	unsigned seen = 0;
	int n, rc = EP_OK;

	*out = NULL;
	if (!lp)
		return ep_error_set(err, EP_ENOMEM, "out of memory reading '%s'", path);
	while (rc == EP_OK && (n = text_next_fields(f, &c, &line, &cap, fields, MAX_FIELDS)) > 0) {
		if (have_version) {
			rc = read_line(&c, fields, n, lp, &layers_cap, &seen);
		} else {
			rc = text_check_header(&c, fields, n, "edgepipe-lprofile",
					       MODEL_LPROFILE_VERSION);
			have_version = true;
		}
	}
	if (rc == EP_OK)
		rc = n < 0 ? n : read_finish(&c, f, have_version, seen, lp);
	free(line);
	if (rc) {
		model_lprofile_destroy(lp);
		return rc;
	}
	*out = lp;
	return EP_OK;
}

int model_lprofile_load(const char *path, struct model_lprofile **out, struct ep_error *err)
{
	FILE *f = fopen(path, "r");
	int rc;

	*out = NULL;
	if (!f)
		return ep_error_set(err, errno == ENOENT ? EP_ENOTFOUND : EP_EIO,
				    "layer profile '%s': %s", path, strerror(errno));
	rc = model_lprofile_read(f, path, out, err);
	fclose(f);
	return rc;
}

/* ---- writing ---- */

static bool has_blank(const char *s)
{
	return !*s || strpbrk(s, " \t\r\n#") != NULL;
}

int model_lprofile_write(const struct model_lprofile *lp, FILE *f, struct ep_error *err)
{
	if (has_blank(lp->model) || has_blank(lp->host))
		return ep_error_set(err, EP_EINVAL, "layer profile: model '%s' or host '%s' is empty "
				    "or has a blank or '#'", lp->model, lp->host);
	for (size_t i = 0; i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];

		if (has_blank(l->name) || has_blank(l->op) || has_blank(l->kernel))
			return ep_error_set(err, EP_EINVAL, "layer profile: layer '%s' (op '%s', "
					    "kernel '%s'): empty or has a blank or '#'", l->name,
					    l->op, l->kernel);
	}
	fprintf(f, "edgepipe-lprofile %d\n", MODEL_LPROFILE_VERSION);
	fprintf(f, "# Measured layer profile (models/model_lprofile.h). Times in seconds: median "
		   "and interquartile\n# range over the warm runs.\n");
	fprintf(f, "model %s\nfingerprint %016" PRIx64 "\nthreads %d\nrepeat %d\nhost %s\n",
		lp->model, lp->fingerprint, lp->threads, lp->repeat, lp->host);
	fprintf(f, "# layer NAME OP KERNEL FLOPS MEDIAN_S SPREAD_S GFLOPS\n");
	for (size_t i = 0; i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];
		double gf = model_lprofile_layer_gflops(l);

		fprintf(f, "layer %s %s %s %" PRId64 " %.17g %.17g ", l->name, l->op, l->kernel,
			l->flops, l->median_s, l->spread_s);
		if (gf > 0)
			fprintf(f, "%.9g\n", gf);
		else
			fprintf(f, "-\n");
	}
	if (ferror(f))
		return ep_error_set(err, EP_EIO, "layer profile: write error");
	return EP_OK;
}

int model_lprofile_save(const struct model_lprofile *lp, const char *path, struct ep_error *err)
{
	size_t n = strlen(path) + 32;
	char *tmp = malloc(n);
	FILE *f = NULL;
	int rc;

	if (!tmp)
		return ep_error_set(err, EP_ENOMEM, "out of memory writing '%s'", path);
	snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		rc = ep_error_set(err, EP_EIO, "cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	rc = model_lprofile_write(lp, f, err);
	if (fclose(f) && !rc)
		rc = ep_error_set(err, EP_EIO, "cannot write '%s': %s", tmp, strerror(errno));
	if (!rc && rename(tmp, path))
		rc = ep_error_set(err, EP_EIO, "cannot rename '%s' to '%s': %s", tmp, path,
				  strerror(errno));
	if (rc)
		remove(tmp);
out:
	free(tmp);
	return rc;
}

/* ---- against a graph ---- */

int model_lprofile_check(const struct model_lprofile *lp, const struct model_graph *g,
			 const char *path, struct ep_error *err)
{
	uint64_t fp = model_lprofile_fingerprint(g);
	size_t n = model_graph_layer_count(g);

	if (!path)
		path = "(layer profile)";
	if (strcmp(lp->model, model_graph_name(g)) != 0 || lp->fingerprint != fp)
		return ep_error_set(err, EP_EINVAL, "layer profile '%s' is of model '%s' "
				    "(fingerprint %016" PRIx64 "), not of model '%s' (fingerprint "
				    "%016" PRIx64 ")", path, lp->model, lp->fingerprint,
				    model_graph_name(g), fp);
	if (lp->n_layers != n)
		return ep_error_set(err, EP_EINVAL, "layer profile '%s' has %zu layers, model '%s' "
				    "has %zu", path, lp->n_layers, model_graph_name(g), n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(lp->layers[i].name, model_graph_layer(g, i)->name) != 0)
			return ep_error_set(err, EP_EINVAL, "layer profile '%s': layer %zu is '%s', "
					    "model '%s' has '%s' there", path, i,
					    lp->layers[i].name, model_graph_name(g),
					    model_graph_layer(g, i)->name);
	return EP_OK;
}

int model_lprofile_apply(const struct model_lprofile *lp, const struct model_graph *g,
			 const char *path, struct model_profile *prof, struct ep_error *err)
{
	double acc = 0;
	size_t layer = 0;
	int rc = model_lprofile_check(lp, g, path, err);

	if (rc)
		return rc;
	if (strcmp(prof->model, lp->model) != 0)
		return ep_error_set(err, EP_EINVAL, "layer profile of '%s' applied to the cut "
				    "points of '%s'", lp->model, prof->model);
	for (size_t k = 0; k < prof->n_cuts; k++) {
		for (; layer <= (size_t)prof->cuts[k].layer; layer++)
			acc += lp->layers[layer].median_s;
		prof->cuts[k].cum_measured_s = acc;
	}
	prof->has_measured = true;
	return EP_OK;
}

/* ---- measuring ---- */

static const char *kernel_name(enum model_exec_kernel k, size_t layer)
{
	return layer == 0 ? "none" : model_exec_kernel_name(k);
}

/* The host recorded in the profile: `host`, else this machine's name, with blanks and '#'
 * replaced, since the file format keeps names without them; "-" when empty or unknown. */
static void set_host(struct model_lprofile *lp, const char *host)
{
	if (host) {
		snprintf(lp->host, sizeof(lp->host), "%s", host);
	} else if (gethostname(lp->host, sizeof(lp->host)) != 0) {
		strcpy(lp->host, "-");
	}
	lp->host[sizeof(lp->host) - 1] = '\0';
	for (char *c = lp->host; *c; c++)
		if (*c == ' ' || *c == '\t' || *c == '#')
			*c = '_';
	if (!lp->host[0])
		strcpy(lp->host, "-");
}

/* Buffers of one measurement: every layer's samples (layer-major, so that each layer's are
 * contiguous for the stats), one run's layer times, the whole runs' times, input and output. */
struct measure_bufs {
	double *samples, *run_s, *whole;
	float *in, *out;
};

/*
 * Run the stage warmup + repeat times on the input in b->in, keeping the measured runs' layer
 * times in b->samples and their wall times in b->whole; progress after every run.
 */
static int measure_runs(struct model_stage *stage, size_t n,
			const struct model_lprofile_run_options *opt,
			model_lprofile_progress_fn progress, void *arg, struct measure_bufs *b,
			struct ep_error *err)
{
	int total = opt->warmup + opt->repeat;

	for (int r = 0; r < total; r++) {
		double t0;
		int rc;

		memset(b->run_s, 0, n * sizeof(double));
		t0 = ep_now_s();
		rc = model_stage_run_timed(stage, b->in, b->out, b->run_s, err);
		if (rc)
			return rc;
		if (r >= opt->warmup) {
			int k = r - opt->warmup;

			b->whole[k] = ep_now_s() - t0;
			for (size_t i = 0; i < n; i++)
				b->samples[i * (size_t)opt->repeat + (size_t)k] = b->run_s[i];
		}
		if (progress)
			progress(arg, r + 1, total);
	}
	return EP_OK;
}

static int measure_bufs_alloc(struct measure_bufs *b, const struct model_stage *stage, size_t n,
			      int repeat)
{
	b->samples = malloc(n * (size_t)repeat * sizeof(double));
	b->run_s = malloc(n * sizeof(double));
	b->whole = malloc((size_t)repeat * sizeof(double));
	b->in = malloc((size_t)model_stage_input_elements(stage) * sizeof(float));
	b->out = malloc((size_t)model_stage_output_elements(stage) * sizeof(float));
	return b->samples && b->run_s && b->whole && b->in && b->out ? EP_OK : EP_ENOMEM;
}

static void measure_bufs_release(struct measure_bufs *b)
{
	free(b->samples);
	free(b->run_s);
	free(b->whole);
	free(b->in);
	free(b->out);
}

int model_lprofile_measure(const struct model_weights *w,
			   const struct model_lprofile_run_options *opt,
			   model_lprofile_progress_fn progress, void *arg,
			   struct model_lprofile **out, double *total_median_s,
			   struct ep_error *err)
{
	const struct model_graph *g = model_weights_graph(w);
	size_t n = model_graph_layer_count(g);
	int threads = opt->threads ? opt->threads : 1;
	struct model_exec_options eo = MODEL_EXEC_OPTIONS_DEFAULT;
	struct model_stage *stage = NULL;
	struct model_lprofile *lp = NULL;
	struct measure_bufs b = {0};
	double med, spread;
	int rc;

	*out = NULL;
	if (threads < 1 || threads > MODEL_LPROFILE_MAX_THREADS)
		return ep_error_set(err, EP_EINVAL, "%d threads: expected 1 to %d", threads,
				    MODEL_LPROFILE_MAX_THREADS);
	if (opt->repeat < 1 || opt->warmup < 0 || opt->repeat > 1000000 || opt->warmup > 1000000)
		return ep_error_set(err, EP_EINVAL, "repeat %d, warm-up %d: need repeat >= 1 and "
				    "warm-up >= 0", opt->repeat, opt->warmup);
	if (n < 2)
		return ep_error_set(err, EP_EINVAL, "model '%s' has %zu layer(s)",
				    model_graph_name(g), n);
	eo.threads = threads;
	rc = model_stage_create(w, 0, (int)n - 1, &eo, &stage, err);
	if (rc)
		goto out;
	rc = model_lprofile_create(g, &lp, err);
	if (rc)
		goto out;
	if (measure_bufs_alloc(&b, stage, n, opt->repeat) != EP_OK) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory profiling '%s'",
				  model_graph_name(g));
		goto out;
	}
	model_exec_synthetic_input(b.in, (size_t)model_stage_input_elements(stage),
				   opt->input_seed);
	rc = measure_runs(stage, n, opt, progress, arg, &b, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct model_lprofile_layer *l = &lp->layers[i];

		model_lprofile_stats(&b.samples[i * (size_t)opt->repeat], (size_t)opt->repeat,
				     &l->median_s, &l->spread_s);
		snprintf(l->kernel, sizeof(l->kernel), "%s",
			 kernel_name(model_stage_layer_kernel(stage, i), i));
	}
	model_lprofile_stats(b.whole, (size_t)opt->repeat, &med, &spread);
	if (total_median_s)
		*total_median_s = med;
	lp->threads = threads;
	lp->repeat = opt->repeat;
	set_host(lp, opt->host);
	*out = lp;
	lp = NULL;
out:
	model_lprofile_destroy(lp);
	model_stage_destroy(stage);
	measure_bufs_release(&b);
	return rc;
}
