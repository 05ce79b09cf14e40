#include "cluster.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "ep_units.h"
#include "ep_util.h"

/* The published bandwidth model: B = log2(1 + GEOMETRIC_SNR / d^2) Mbit/s. */
#define GEOMETRIC_SNR 283230.0

static const char *const kind_names[CLUSTER_KIND_COUNT_] = {
	[CLUSTER_GEOMETRIC] = "geometric",
	[CLUSTER_UNIFORM] = "uniform",
	[CLUSTER_CLASSES] = "classes",
	[CLUSTER_FILE] = "file",
};

const char *cluster_kind_name(enum cluster_kind kind)
{
	return (unsigned)kind < CLUSTER_KIND_COUNT_ ? kind_names[kind] : "?";
}

int cluster_kind_from_name(const char *name)
{
	for (int i = 0; i < CLUSTER_KIND_COUNT_; i++)
		if (strcmp(kind_names[i], name) == 0)
			return i;
	return -1;
}

struct cluster_spec cluster_spec_default(int n, double mem_bytes)
{
	struct cluster_spec s;

	memset(&s, 0, sizeof(s));
	s.kind = CLUSTER_GEOMETRIC;
	s.n = n;
	s.mem_bytes = mem_bytes;
	s.side = 150.0;
	s.mbit_bits = 1e6;
	s.symmetric = true;
	return s;
}

uint64_t cluster_trial_seed(uint64_t seed, int trial, int n)
{
	uint64_t h = ep_mix64(seed + 0x9e3779b97f4a7c15ULL);

	h = ep_mix64(h ^ ((uint64_t)(uint32_t)trial + 0x9e3779b97f4a7c15ULL));
	return ep_mix64(h ^ ((uint64_t)(uint32_t)n + 0x632be59bd9b4e019ULL));
}

static struct cluster *cluster_alloc(int n, bool positions)
{
	struct cluster *c = calloc(1, sizeof(*c));
	size_t links = (size_t)(n + 1) * (size_t)(n + 1);

	if (!c)
		return NULL;
	c->n = n;
	c->mem_bytes = calloc((size_t)n, sizeof(double));
	c->speed_flops = calloc((size_t)n, sizeof(double));
	c->speed_factor = calloc((size_t)n, sizeof(double));
	c->bw_bps = calloc(links, sizeof(double));
	c->latency_s = calloc(links, sizeof(double));
	if (positions) {
		c->x = calloc((size_t)n + 1, sizeof(double));
		c->y = calloc((size_t)n + 1, sizeof(double));
	}
	if (!c->mem_bytes || !c->speed_flops || !c->speed_factor || !c->bw_bps || !c->latency_s ||
	    (positions && (!c->x || !c->y))) {
		cluster_destroy(c);
		return NULL;
	}
	return c;
}

void cluster_destroy(struct cluster *c)
{
	if (!c)
		return;
	free(c->mem_bytes);
	free(c->speed_flops);
	free(c->speed_factor);
	free(c->bw_bps);
	free(c->latency_s);
	free(c->x);
	free(c->y);
	free(c);
}

int cluster_subset(const struct cluster *c, const int *nodes, int m, struct cluster **out,
		   struct ep_error *err)
{
	struct cluster *sub;
	int v = m + 1;

	*out = NULL;
	if (m < 1 || m > c->n)
		return ep_error_set(err, EP_EINVAL, "a subset of %d nodes of a cluster of %d: "
				    "expected 1 to %d", m, c->n, c->n);
	for (int i = 0; i < m; i++) {
		if (nodes[i] < 0 || nodes[i] >= c->n)
			return ep_error_set(err, EP_EINVAL, "node %d of the subset: the cluster has "
					    "nodes 0 to %d", nodes[i], c->n - 1);
		for (int j = 0; j < i; j++)
			if (nodes[j] == nodes[i])
				return ep_error_set(err, EP_EINVAL, "node %d is listed twice in the "
						    "subset", nodes[i]);
	}
	sub = cluster_alloc(m, c->x && c->y);
	if (!sub)
		return ep_error_set(err, EP_ENOMEM, "out of memory for a cluster of %d nodes", m);
	for (int i = 0; i < v; i++) {
		int from = i < m ? nodes[i] : CLUSTER_DISPATCHER(c);

		if (i < m) {
			sub->mem_bytes[i] = c->mem_bytes[from];
			sub->speed_flops[i] = c->speed_flops[from];
			sub->speed_factor[i] = c->speed_factor ? c->speed_factor[from] : 1.0;
		}
		if (sub->x) {
			sub->x[i] = c->x[from];
			sub->y[i] = c->y[from];
		}
		for (int j = 0; j < v; j++) {
			int to = j < m ? nodes[j] : CLUSTER_DISPATCHER(c);

			sub->bw_bps[i * v + j] = cluster_bw(c, from, to);
			sub->latency_s[i * v + j] = cluster_latency(c, from, to);
		}
	}
	*out = sub;
	return EP_OK;
}

static void set_link(struct cluster *c, int from, int to, double bw)
{
	c->bw_bps[(size_t)from * (size_t)(c->n + 1) + (size_t)to] = bw;
}

/* Nodes first, in order, then the dispatcher: node i's position never depends on anything
 * drawn after it, so a trial's first nodes are the same whatever else a run draws later. */
static void gen_geometric(struct cluster *c, const struct cluster_spec *s, gsl_rng *rng)
{
	int v = c->n + 1;

	for (int i = 0; i < v; i++) {
		c->x[i] = 1.0 + (s->side - 1.0) * gsl_rng_uniform(rng);
		c->y[i] = 1.0 + (s->side - 1.0) * gsl_rng_uniform(rng);
	}
	for (int i = 0; i < v; i++)
		for (int j = 0; j < v; j++) {
			double dx = c->x[i] - c->x[j], dy = c->y[i] - c->y[j], d2 = dx * dx + dy * dy;

			if (i == j)
				continue;
			/* Two nodes drawn at the same point would get an infinite bandwidth; the
			 * notebooks have no cap, we clamp the distance to 1e-9 of the side. */
			if (d2 < 1e-18 * s->side * s->side)
				d2 = 1e-18 * s->side * s->side;
			set_link(c, i, j, log2(1.0 + GEOMETRIC_SNR / d2) * s->mbit_bits);
		}
}

static double draw_bw(const struct cluster_spec *s, gsl_rng *rng)
{
	if (s->kind == CLUSTER_CLASSES) {
		unsigned long k = gsl_rng_uniform_int(rng, (unsigned long)s->classes);

		if (s->classes == 1)
			return s->bw_max_bps;
		return s->bw_min_bps + (s->bw_max_bps - s->bw_min_bps) * (double)k /
					       (double)(s->classes - 1);
	}
	return s->bw_min_bps + (s->bw_max_bps - s->bw_min_bps) * gsl_rng_uniform(rng);
}

static void gen_random_links(struct cluster *c, const struct cluster_spec *s, gsl_rng *rng)
{
	int v = c->n + 1;

	/* Row by row over the upper triangle, then the other direction: a fixed order. */
	for (int i = 0; i < v; i++)
		for (int j = i + 1; j < v; j++) {
			double b = draw_bw(s, rng);

			set_link(c, i, j, b);
			set_link(c, j, i, s->symmetric ? b : draw_bw(s, rng));
		}
}

/* Parse one CSV line of numbers into row[]; returns the count or -1 on a bad field. */
static int parse_csv_row(char *line, double *row, int max)
{
	int n = 0;

	for (char *p = line, *q; p; p = q) {
		char *end;

		q = strchr(p, ',');
		if (q)
			*q++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (n == max)
			return -1;
		errno = 0;
		row[n] = strtod(p, &end);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (end == p || *end || errno || !isfinite(row[n]))
			return -1;
		n++;
	}
	return n;
}

/*
 * The square matrix of bandwidths in Mbit/s of the CSV file f (s->path in messages): *m holds
 * n x n values, row by row (the caller frees it). A first line that is not numbers is a header
 * of node names; blank lines and '#' lines are skipped.
 */
static int read_matrix(FILE *f, const struct cluster_spec *s, double **m, int *n_out,
		       struct ep_error *err)
{
	char *line = NULL;
	size_t cap = 0;
	double *row = malloc(CLUSTER_MAX_NODES * sizeof(*row));
	int n = -1, rows = 0, rc = EP_OK;
	long lineno = 0;

	if (!row) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory reading '%s'", s->path);
		goto out;
	}
	while (getline(&line, &cap, f) >= 0) {
		int k;

		lineno++;
		if (line[strspn(line, " \t\r\n")] == '\0' || line[0] == '#')
			continue;
		k = parse_csv_row(line, row, CLUSTER_MAX_NODES);
		if (k < 0) {
			if (rows == 0 && n < 0) { /* a header of node names */
				n = 0;
				continue;
			}
			rc = ep_error_set(err, EP_EINVAL, "%s:%ld: expected numbers separated by ','",
					  s->path, lineno);
			goto out;
		}
		if (rows == 0) {
			n = k;
			*m = malloc((size_t)k * (size_t)k * sizeof(**m));
			if (!*m) {
				rc = ep_error_set(err, EP_ENOMEM, "out of memory reading '%s'",
						  s->path);
				goto out;
			}
		}
		if (k != n || rows == n) {
			rc = ep_error_set(err, EP_EINVAL, "%s:%ld: %s (the matrix is %d x %d)",
					  s->path, lineno,
					  rows == n ? "more rows than columns" : "wrong number of columns",
					  n, n);
			goto out;
		}
		for (int j = 0; j < n; j++) {
			if (j != rows && !(row[j] > 0)) {
				rc = ep_error_set(err, EP_EINVAL,
						  "%s:%ld: bandwidth %g Mbit/s from node %d to %d "
						  "must be positive", s->path, lineno, row[j], rows, j);
				goto out;
			}
			(*m)[rows * n + j] = row[j];
		}
		rows++;
	}
	if (rows < 1 || rows != n)
		rc = ep_error_set(err, EP_EINVAL, "%s: %d rows for %d columns: a square matrix is "
				  "needed", s->path, rows, n < 0 ? 0 : n);
	*n_out = n;
out:
	free(line);
	free(row);
	return rc;
}

/* The cluster of the n x n matrix m in Mbit/s; the dispatcher's links at s->dispatcher_bw_bps,
 * or the mean of the matrix's (1 Gbit/s for one node). */
static struct cluster *cluster_of_matrix(const struct cluster_spec *s, const double *m, int n)
{
	struct cluster *c = cluster_alloc(n, false);
	double sum = 0, disp;

	if (!c)
		return NULL;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			if (i != j) {
				set_link(c, i, j, m[i * n + j] * 1e6);
				sum += m[i * n + j] * 1e6;
			}
	disp = s->dispatcher_bw_bps > 0 ? s->dispatcher_bw_bps
	       : n > 1			? sum / ((double)n * (n - 1))
					: 1e9;
	for (int i = 0; i < n; i++) {
		set_link(c, i, n, disp);
		set_link(c, n, i, disp);
	}
	return c;
}

static int gen_file(const struct cluster_spec *s, struct cluster **out, struct ep_error *err)
{
	FILE *f = fopen(s->path, "r");
	double *m = NULL;
	int n = 0, rc;

	if (!f)
		return ep_error_set(err, errno == ENOENT ? EP_ENOTFOUND : EP_EIO,
				    "cannot open bandwidth matrix '%s': %s", s->path,
				    strerror(errno));
	rc = read_matrix(f, s, &m, &n, err);
	if (rc)
		goto out;
	if (s->n > 0 && s->n != n) {
		rc = ep_error_set(err, EP_EINVAL, "%s has %d nodes but %d were asked for", s->path,
				  n, s->n);
		goto out;
	}
	*out = cluster_of_matrix(s, m, n);
	if (!*out)
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for %d nodes", n);
out:
	free(m);
	fclose(f);
	return rc;
}

/* The off-diagonal bandwidths must be positive for the reader to take the file back. */
static int check_matrix(int n, const double *bw_bps, struct ep_error *err)
{
	if (n < 1)
		return ep_error_set(err, EP_EINVAL, "a bandwidth matrix needs a node, got %d", n);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			if (i != j && !(bw_bps[i * n + j] > 0))
				return ep_error_set(err, EP_EINVAL,
						    "bandwidth from node %d to %d is %g bit/s: "
						    "must be positive", i, j, bw_bps[i * n + j]);
	return EP_OK;
}

int cluster_file_print(FILE *f, int n, const double *bw_bps, const char *comment,
		       struct ep_error *err)
{
	int rc = check_matrix(n, bw_bps, err);

	if (rc)
		return rc;
	for (const char *c = comment; c && *c;) {
		size_t len = strcspn(c, "\n");

		fprintf(f, "# %.*s\n", (int)len, c);
		c += len + (c[len] == '\n');
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			fprintf(f, "%.6g%s", i == j ? 0 : bw_bps[i * n + j] / 1e6,
				j + 1 < n ? "," : "\n");
	return EP_OK;
}

int cluster_file_write(const char *path, int n, const double *bw_bps, const char *comment,
		       struct ep_error *err)
{
	char tmp[4096];
	FILE *f;
	int rc = check_matrix(n, bw_bps, err);
	bool ok;

	if (rc)
		return rc;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return ep_error_set(err, EP_EINVAL, "path too long: '%s'", path);
	f = fopen(tmp, "w");
	if (!f)
		return ep_error_set(err, EP_EIO, "cannot write '%s': %s", path, strerror(errno));
	cluster_file_print(f, n, bw_bps, comment, NULL);
	ok = !ferror(f);
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		return ep_error_set(err, EP_EIO, "cannot write '%s': %s", path, strerror(e));
	}
	return EP_OK;
}

static int check_spec(const struct cluster_spec *s, struct ep_error *err)
{
	if ((unsigned)s->kind >= CLUSTER_KIND_COUNT_)
		return ep_error_set(err, EP_EINVAL, "unknown cluster kind %d", (int)s->kind);
	if (s->kind != CLUSTER_FILE && (s->n < 1 || s->n > CLUSTER_MAX_NODES))
		return ep_error_set(err, EP_EINVAL, "node count %d: must be 1 to %d", s->n,
				    CLUSTER_MAX_NODES);
	if (s->kind == CLUSTER_FILE && !s->path)
		return ep_error_set(err, EP_EINVAL, "the file cluster needs a path");
	if (!s->mem_list && !(s->mem_bytes > 0))
		return ep_error_set(err, EP_EINVAL, "node memory %g bytes: must be positive",
				    s->mem_bytes);
	if (s->mem_list && s->n_mem_list < 1)
		return ep_error_set(err, EP_EINVAL, "empty memory list");
	for (int i = 0; s->mem_list && i < s->n_mem_list; i++)
		if (!(s->mem_list[i] > 0))
			return ep_error_set(err, EP_EINVAL, "node memory %g bytes: must be positive",
					    s->mem_list[i]);
	if (!(s->speed_flops >= 0) || !(s->latency_s >= 0))
		return ep_error_set(err, EP_EINVAL, "speed and latency must be non-negative");
	if (!(s->speed_factor >= 0) || !isfinite(s->speed_factor))
		return ep_error_set(err, EP_EINVAL, "speed factor %g: must be positive",
				    s->speed_factor);
	if (s->speed_factor_list && s->n_speed_factor_list < 1)
		return ep_error_set(err, EP_EINVAL, "empty speed factor list");
	for (int i = 0; s->speed_factor_list && i < s->n_speed_factor_list; i++)
		if (!(s->speed_factor_list[i] > 0) || !isfinite(s->speed_factor_list[i]))
			return ep_error_set(err, EP_EINVAL, "speed factor %g (node %d): must be "
					    "positive", s->speed_factor_list[i], i);
	if (s->kind == CLUSTER_GEOMETRIC && (!(s->side > 1) || !(s->mbit_bits > 0)))
		return ep_error_set(err, EP_EINVAL, "geometric cluster: side %g must exceed 1 and "
				    "the Mbit size %g be positive", s->side, s->mbit_bits);
	if ((s->kind == CLUSTER_UNIFORM || s->kind == CLUSTER_CLASSES) &&
	    !(s->bw_min_bps > 0 && s->bw_max_bps >= s->bw_min_bps))
		return ep_error_set(err, EP_EINVAL, "bandwidth range [%g, %g] bit/s: need 0 < min "
				    "<= max", s->bw_min_bps, s->bw_max_bps);
	if (s->kind == CLUSTER_CLASSES && s->classes < 1)
		return ep_error_set(err, EP_EINVAL, "%d bandwidth classes: need at least 1",
				    s->classes);
	return EP_OK;
}

int cluster_create(const struct cluster_spec *spec, gsl_rng *rng, struct cluster **out,
		   struct ep_error *err)
{
	struct cluster *c = NULL;
	int rc = check_spec(spec, err);

	*out = NULL;
	if (rc)
		return rc;
	if (spec->kind == CLUSTER_FILE) {
		rc = gen_file(spec, &c, err);
		if (rc)
			return rc;
	} else {
		c = cluster_alloc(spec->n, spec->kind == CLUSTER_GEOMETRIC);
		if (!c)
			return ep_error_set(err, EP_ENOMEM, "out of memory for %d nodes", spec->n);
		if (spec->kind == CLUSTER_GEOMETRIC)
			gen_geometric(c, spec, rng);
		else
			gen_random_links(c, spec, rng);
	}
	if (spec->speed_factor_list && spec->n_speed_factor_list != c->n) {
		int given = spec->n_speed_factor_list, nodes = c->n;

		cluster_destroy(c);
		return ep_error_set(err, EP_EINVAL, "speed factor list of %d value%s for %d nodes: "
				    "give one factor, or one per node", given, given == 1 ? "" : "s",
				    nodes);
	}
	for (int i = 0; i < c->n; i++) {
		c->mem_bytes[i] = spec->mem_list ? spec->mem_list[i % spec->n_mem_list]
						 : spec->mem_bytes;
		c->speed_flops[i] = spec->speed_flops;
		c->speed_factor[i] = spec->speed_factor_list ? spec->speed_factor_list[i]
				     : spec->speed_factor > 0 ? spec->speed_factor : 1.0;
	}
	for (int i = 0; i <= c->n; i++)
		for (int j = 0; j <= c->n; j++)
			c->latency_s[(size_t)i * (size_t)(c->n + 1) + (size_t)j] =
				i == j ? 0.0 : spec->latency_s;
	*out = c;
	return EP_OK;
}

/* ---- the grammars of a cluster's values ---- */

static int mem_item(const char *option, const char *list, const char *tok, double *v,
		    struct ep_error *err)
{
	struct ep_error e;

	if (ep_parse_bytes(tok, v, &e))
		return ep_error_set(err, EP_EINVAL, "%s '%s': %s", option, list, e.msg);
	if (!(*v > 0))
		return ep_error_set(err, EP_EINVAL, "%s '%s': memory must be positive", option,
				    list);
	return EP_OK;
}

static int factor_item(const char *option, const char *list, const char *tok, double *v,
		       struct ep_error *err)
{
	char *end;

	*v = strtod(tok, &end);
	if (end == tok || *end || !(*v > 0) || !(*v < 1e12))
		return ep_error_set(err, EP_EINVAL, "%s '%s': '%s' is not a positive number",
				    option, list, tok);
	return EP_OK;
}

int cluster_mem_list_parse(const char *option, const char *s, double *out, int max, int *n,
			   struct ep_error *err)
{
	return ep_list_parse(option, s, mem_item, out, max, n, err);
}

int cluster_speed_factor_list_parse(const char *option, const char *s, double *out, int max, int *n,
				    struct ep_error *err)
{
	return ep_list_parse(option, s, factor_item, out, max, n, err);
}

int cluster_bw_range_parse(const char *option, const char *s, double *min_bps, double *max_bps,
			   struct ep_error *err)
{
	char buf[128], *colon;
	struct ep_error e;

	if (strlen(s) >= sizeof(buf) || !(colon = strchr(strcpy(buf, s), ':')))
		return ep_error_set(err, EP_EINVAL,
				    "%s '%s': expected MIN:MAX, e.g. "
				    "1Mbit:100Mbit",
				    option, s);
	*colon = '\0';
	if (ep_parse_bitrate(buf, min_bps, &e) || ep_parse_bitrate(colon + 1, max_bps, &e))
		return ep_error_set(err, EP_EINVAL, "%s: %s", option, e.msg);
	if (!(*min_bps > 0) || *max_bps < *min_bps)
		return ep_error_set(err, EP_EINVAL, "%s '%s': need 0 < MIN <= MAX", option, s);
	return EP_OK;
}
