/*
 * The figures of a sweep database, written as data + gnuplot scripts and drawn by one gnuplot
 * process (plot.h).
 */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ep_units.h"
#include "plot_internal.h"
#include "store.h"

#define FIG_WIDTH  960
#define FIG_HEIGHT 600

int plot_db_open(const char *path, struct sqlite3 **out, struct ep_error *err)
{
	/* read-only, also on read-only media; the schema checked (store.h) */
	return store_open_read(path, out, err);
}

void plot_db_close(struct sqlite3 *db)
{
	sqlite3_close(db);
}

int plot_gnuplot_find(char *buf, size_t size, struct ep_error *err)
{
	const char *path = getenv("PATH");
	const char *p;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		struct stat sb;
		int n;

		/* An empty PATH entry is the current directory. */
		n = len ? snprintf(buf, size, "%.*s/gnuplot", (int)len, p)
			: snprintf(buf, size, "./gnuplot");
		if (n > 0 && (size_t)n < size && stat(buf, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    access(buf, X_OK) == 0)
			return EP_OK;
		if (!end)
			break;
		p = end;
	}
	if (size)
		buf[0] = '\0';
	return ep_error_set(err, EP_ENOTFOUND,
			    "gnuplot was not found on PATH (%s); the figures "
			    "need it: install gnuplot (Debian: apt-get install gnuplot-nox)",
			    path);
}

int plot_prepare_dir(const char *dir, struct ep_error *err)
{
	char buf[PATH_MAX];
	struct stat sb;
	size_t len = strlen(dir);

	if (!len)
		return ep_error_set(err, EP_EINVAL, "output directory '': empty name");
	if (len >= sizeof(buf))
		return ep_error_set(err, EP_EINVAL, "output directory '%s': name too long", dir);
	memcpy(buf, dir, len + 1);
	/* mkdir -p: each prefix that ends before a '/', then the whole path. */
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return ep_error_set(err, EP_EINVAL,
					    "output directory '%s': cannot create "
					    "'%s': %s",
					    dir, buf, strerror(errno));
		buf[i] = dir[i];
	}
	if (stat(dir, &sb) != 0)
		return ep_error_set(err, EP_EINVAL, "output directory '%s': %s", dir,
				    strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return ep_error_set(err, EP_EINVAL, "output directory '%s' is not a directory",
				    dir);
	if (access(dir, W_OK | X_OK) != 0)
		return ep_error_set(err, EP_EINVAL, "output directory '%s' is not writable: %s",
				    dir, strerror(errno));
	return EP_OK;
}

/* ---- grids of statistics: one series per (algorithm, class count), one column per N ---- */

enum value_kind {
	V_BOTTLENECK_MS, /* the row's bottleneck, ok rows */
	V_SOLVE_S,	 /* the row's solve time, ok rows */
	V_GAP_PCT,	 /* (b - b_opt) / b_opt x 100, paired with `optimal` by trial */
};

typedef bool keep_fn(const struct plot_data *d, const struct plot_row *r, int arg);

struct grid {
	int n_series, n_nodes;
	int *s_algo, *s_bw, *nodes;
	struct plot_stats *cell; /* [series * n_nodes + node] */
};

static void grid_release(struct grid *g)
{
	free(g->s_algo);
	free(g->s_bw);
	free(g->nodes);
	free(g->cell);
	memset(g, 0, sizeof(*g));
}

static int int_cmp(const void *pa, const void *pb)
{
	int a = *(const int *)pa, b = *(const int *)pb;

	return (a > b) - (a < b);
}

static int grid_index(const int *v, int n, int x)
{
	for (int i = 0; i < n; i++)
		if (v[i] == x)
			return i;
	return -1;
}

static int series_index(const struct grid *g, int algo, int bw)
{
	for (int i = 0; i < g->n_series; i++)
		if (g->s_algo[i] == algo && g->s_bw[i] == bw)
			return i;
	return -1;
}

static void accumulate(const struct plot_data *d, const struct plot_row *r, enum value_kind kind,
		       struct plot_stats *s)
{
	const struct plot_row *ref;

	if (r->status != PLOT_S_OK) {
		plot_stats_exclude(s, (int)r->status);
		return;
	}
	switch (kind) {
	case V_BOTTLENECK_MS: plot_stats_add(s, r->bottleneck_s * 1e3); break;
	case V_SOLVE_S:
		if (isnan(r->solve_s))
			plot_stats_exclude(s, PLOT_S_NO_VALUE);
		else
			plot_stats_add(s, r->solve_s);
		break;
	case V_GAP_PCT:
		ref = plot_find(d, r, d->optimal, 0);
		if (!ref)
			plot_stats_exclude(s, PLOT_X_REF_MISSING);
		else if (ref->status != PLOT_S_OK)
			plot_stats_exclude(s, PLOT_X_REF + (int)ref->status);
		else if (!(ref->bottleneck_s > 0))
			plot_stats_exclude(s, PLOT_X_REF_ZERO);
		else
			plot_stats_add(s, (r->bottleneck_s - ref->bottleneck_s) /
						  ref->bottleneck_s * 100.0);
		break;
	}
}

/* The statistics of the rows [lo, hi) that `keep` accepts, by series and N. */
static int grid_build(const struct plot_data *d, size_t lo, size_t hi, keep_fn *keep, int arg,
		      enum value_kind kind, struct grid *g, struct ep_error *err)
{
	int cap_s = 0, cap_n = 0;

	memset(g, 0, sizeof(*g));
	for (size_t i = lo; i < hi; i++) {
		const struct plot_row *r = &d->rows[i];

		if (!keep(d, r, arg))
			continue;
		if (series_index(g, r->algo, r->bw_classes) < 0) {
			if (g->n_series == cap_s) {
				int nc = cap_s ? 2 * cap_s : 8;
				int *a = realloc(g->s_algo, (size_t)nc * sizeof(int));

				if (a)
					g->s_algo = a;
				a = a ? realloc(g->s_bw, (size_t)nc * sizeof(int)) : NULL;
				if (!a)
					goto nomem;
				g->s_bw = a;
				cap_s = nc;
			}
			g->s_algo[g->n_series] = r->algo;
			g->s_bw[g->n_series++] = r->bw_classes;
		}
		if (grid_index(g->nodes, g->n_nodes, r->nodes) < 0) {
			if (g->n_nodes == cap_n) {
				int nc = cap_n ? 2 * cap_n : 8;
				int *a = realloc(g->nodes, (size_t)nc * sizeof(int));

				if (!a)
					goto nomem;
				g->nodes = a;
				cap_n = nc;
			}
			g->nodes[g->n_nodes++] = r->nodes;
		}
	}
	if (!g->n_series)
		return EP_OK;
	/* Rows come sorted by algorithm then class count within each memory size; sort the
	 * series the same way once they are collected from every size. */
	for (int i = 1; i < g->n_series; i++)
		for (int j = i;
		     j > 0 && (g->s_algo[j - 1] > g->s_algo[j] ||
			       (g->s_algo[j - 1] == g->s_algo[j] && g->s_bw[j - 1] > g->s_bw[j]));
		     j--) {
			int ta = g->s_algo[j], tb = g->s_bw[j];

			g->s_algo[j] = g->s_algo[j - 1];
			g->s_bw[j] = g->s_bw[j - 1];
			g->s_algo[j - 1] = ta;
			g->s_bw[j - 1] = tb;
		}
	qsort(g->nodes, (size_t)g->n_nodes, sizeof(int), int_cmp);
	g->cell = calloc((size_t)g->n_series * (size_t)g->n_nodes, sizeof(*g->cell));
	if (!g->cell)
		goto nomem;
	for (size_t i = lo; i < hi; i++) {
		const struct plot_row *r = &d->rows[i];
		int s, k;

		if (!keep(d, r, arg))
			continue;
		s = series_index(g, r->algo, r->bw_classes);
		k = grid_index(g->nodes, g->n_nodes, r->nodes);
		accumulate(d, r, kind, &g->cell[s * g->n_nodes + k]);
	}
	return EP_OK;
nomem:
	grid_release(g);
	return ep_error_set(err, EP_ENOMEM, "out of memory");
}

static struct plot_stats *cell(const struct grid *g, int s, int k)
{
	return &g->cell[s * g->n_nodes + k];
}

static void grid_series_total(const struct grid *g, int s, struct plot_stats *t)
{
	memset(t, 0, sizeof(*t));
	for (int k = 0; k < g->n_nodes; k++)
		plot_stats_merge(t, cell(g, s, k));
}

static void grid_total(const struct grid *g, struct plot_stats *t)
{
	memset(t, 0, sizeof(*t));
	for (int s = 0; s < g->n_series; s++)
		for (int k = 0; k < g->n_nodes; k++)
			plot_stats_merge(t, cell(g, s, k));
}

static bool keep_in_view(const struct plot_data *d, const struct plot_row *r, int arg)
{
	return plot_in_view(d, r);
}

static bool keep_gap(const struct plot_data *d, const struct plot_row *r, int arg)
{
	return plot_in_view(d, r) && r->algo != d->optimal;
}

static bool keep_classes_of(const struct plot_data *d, const struct plot_row *r, int algo)
{
	return r->algo == algo && r->bw_classes > 0;
}

/* ---- files ---- */

struct fig_ctx {
	const char *dir;
	unsigned formats;
	const struct plot_data *d;
	FILE *master; /* figures.gp */
	char **bases; /* the figures written, to check them and to refuse a name twice */
	int n_bases, cap_bases;
};

/* A name as it may appear in a file name: [A-Za-z0-9._+-], everything else '_'. */
static void file_part(const char *s, char *buf, size_t size)
{
	size_t k = 0;

	for (; *s && k + 1 < size; s++) {
		unsigned char ch = (unsigned char)*s;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '+' ||
			  ch == '-';

		buf[k++] = ok ? (char)ch : '_';
	}
	buf[k] = '\0';
}

/* "64MiB" */
static void mem_part(double bytes, char *buf, size_t size)
{
	char tmp[64];
	size_t k = 0;

	ep_format_bytes(bytes, tmp, sizeof(tmp));
	for (const char *s = tmp; *s && k + 1 < size; s++)
		if (*s != ' ')
			buf[k++] = *s;
	buf[k] = '\0';
}

static int path_of(const struct fig_ctx *c, const char *base, const char *ext, char *buf,
		   size_t size, struct ep_error *err)
{
	int n = snprintf(buf, size, "%s/%s.%s", c->dir, base, ext);

	if (n < 0 || (size_t)n >= size)
		return ep_error_set(err, EP_EINVAL, "output path '%s/%s.%s' is too long", c->dir,
				    base, ext);
	return EP_OK;
}

static int open_out(const struct fig_ctx *c, const char *base, const char *ext, FILE **f,
		    struct ep_error *err)
{
	char path[PATH_MAX];
	int rc = path_of(c, base, ext, path, sizeof(path), err);

	*f = NULL;
	if (rc)
		return rc;
	*f = fopen(path, "w");
	if (!*f)
		return ep_error_set(err, EP_EIO, "cannot write '%s': %s", path, strerror(errno));
	return EP_OK;
}

static int close_out(const struct fig_ctx *c, const char *base, const char *ext, FILE *f,
		     struct ep_error *err)
{
	char path[PATH_MAX];
	bool bad = ferror(f) != 0;

	bad |= fclose(f) != 0;
	if (!bad)
		return EP_OK;
	path_of(c, base, ext, path, sizeof(path), NULL);
	return ep_error_set(err, EP_EIO, "cannot write '%s': %s", path, strerror(errno));
}

/* Register a figure: refuse a file name twice, and clear the images of a previous run so
 * that a figure gnuplot failed to draw cannot pass for drawn. */
static int add_figure(struct fig_ctx *c, const char *base, struct ep_error *err)
{
	char path[PATH_MAX];
	int rc;

	for (int i = 0; i < c->n_bases; i++)
		if (strcmp(c->bases[i], base) == 0)
			return ep_error_set(err, EP_EINVAL,
					    "two groups of results reduce to the "
					    "file name '%s' (names are reduced to "
					    "[A-Za-z0-9._+-]); rename one",
					    base);
	if (c->n_bases == c->cap_bases) {
		int nc = c->cap_bases ? 2 * c->cap_bases : 32;
		char **p = realloc(c->bases, (size_t)nc * sizeof(*p));

		if (!p)
			return ep_error_set(err, EP_ENOMEM, "out of memory");
		c->bases = p;
		c->cap_bases = nc;
	}
	c->bases[c->n_bases] = strdup(base);
	if (!c->bases[c->n_bases])
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	c->n_bases++;
	for (int i = 0; i < 2; i++) {
		rc = path_of(c, base, i ? "svg" : "png", path, sizeof(path), err);
		if (rc)
			return rc;
		if (unlink(path) != 0 && errno != ENOENT)
			return ep_error_set(err, EP_EIO, "cannot replace '%s': %s", path,
					    strerror(errno));
	}
	fprintf(c->master, "load '%s.gp'\n", base);
	return EP_OK;
}

/* A gnuplot double-quoted string: `s` with " and \ escaped; a newline stays a line break. */
static void gp_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
	fputc('"', f);
}

static void gp_begin(FILE *gp, const char *base, const char *what)
{
	fprintf(gp, "# edgepipe plot: %s\n", what);
	fprintf(gp, "# data: %s.dat; re-plot from this directory with: gnuplot %s.gp\n", base,
		base);
	/* `reset` keeps out_suffix: edgepipe sets it (plot_run_gnuplot) to write each image as
	 * NAME.part and rename it once complete; a user's re-plot writes NAME directly. */
	fputs("reset\nif (!exists(\"out_suffix\")) out_suffix = \"\"\n"
	      "set encoding utf8\nset grid\n", gp);
}

/* Select the first output's terminal; the plot command follows. */
static void gp_first_output(FILE *gp, const struct fig_ctx *c, const char *base)
{
	if (c->formats & PLOT_PNG) {
		fprintf(gp,
			"if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
			"\tset terminal pngcairo size %d,%d noenhanced font \"Sans,10\"\n"
			"} else {\n"
			"\tset terminal png size %d,%d noenhanced\n"
			"}\n"
			"set output '%s.png'.out_suffix\n",
			FIG_WIDTH, FIG_HEIGHT, FIG_WIDTH, FIG_HEIGHT, base);
	} else {
		fprintf(gp,
			"set terminal svg size %d,%d noenhanced font \"Sans,10\"\n"
			"set output '%s.svg'.out_suffix\n",
			FIG_WIDTH, FIG_HEIGHT, base);
	}
}

/* After the plot command: the other format, then close the file. */
static void gp_end_output(FILE *gp, const struct fig_ctx *c, const char *base)
{
	if ((c->formats & PLOT_PNG) && (c->formats & PLOT_SVG))
		fprintf(gp,
			"set terminal svg size %d,%d noenhanced font \"Sans,10\"\n"
			"set output '%s.svg'.out_suffix\nreplot\n",
			FIG_WIDTH, FIG_HEIGHT, base);
	fputs("unset output\n", gp);
}

/* xtics at the node counts present, and an x range with a margin around them. */
static bool nodes_log(const struct grid *g);

static void gp_nodes_axis(FILE *gp, const struct grid *g)
{
	int lo = g->nodes[0], hi = g->nodes[g->n_nodes - 1];
	double pad = fmax(1.0, 0.05 * (hi - lo));

	fprintf(gp, "set xlabel \"nodes N%s\"\nset xtics (", nodes_log(g) ? " (log scale)" : "");
	for (int k = 0; k < g->n_nodes; k++)
		fprintf(gp, "%s%d", k ? ", " : "", g->nodes[k]);
	if (nodes_log(g))
		fprintf(gp, ")\nset logscale x\nset mxtics 1\nset xrange [%g:%g]\n", lo / 1.15,
			hi * 1.15);
	else
		fprintf(gp, ")\nset xrange [%g:%g]\n", lo - pad, hi + pad);
}

static void fmt_value(double v, char *buf, size_t size)
{
	snprintf(buf, size, "%.9g", v);
}

/* ---- line figures: bottleneck, gap, solve time ---- */

struct line_fig {
	const char *base;
	const char *what;    /* "bottleneck latency against N" */
	const char *context; /* "model X, memory Y, variant V, cluster C" */
	const char *title;   /* first title line */
	const char *method;  /* second title line, before the exclusions */
	const char *ylabel;
	const char *columns; /* the .dat column names */
	const char *count;   /* "ok" or "pairs" */
	const char *ref;     /* reference algorithm of paired values, or NULL */
	bool logy;	     /* log scale: only positive means are drawn */
	bool signed_values;  /* may be negative (else the y axis starts at 0) */
	bool errorbars;
	/* y on a signed log scale, sign(y) log10(1 + |y|): 0 to 10 (%) take a third of an axis
	 * that reaches 1000, and 0 and negative values stay drawable */
	bool symlogy;
};

/* Whether two series have the same drawn means at every N (lines that would hide each other). */
static bool same_line(const struct grid *g, int s, int t)
{
	for (int k = 0; k < g->n_nodes; k++) {
		const struct plot_stats *a = cell(g, s, k), *b = cell(g, t, k);

		if ((a->n > 0) != (b->n > 0))
			return false;
		if (a->n > 0 && !(fabs(a->mean - b->mean) <= 1e-9 * fmax(1.0, fabs(a->mean))))
			return false;
	}
	return true;
}

/* The x axis over N: logarithmic when N spans a factor 5 or more (5 .. 50 would otherwise
 * crowd the small counts into a corner), with a tic at every N present. */
static bool nodes_log(const struct grid *g)
{
	return g->nodes[0] > 0 && g->nodes[g->n_nodes - 1] >= 5 * g->nodes[0];
}

/* The signed log scale's tics: 0 and 1, 2, 5 x 10^k up to past `hi` (and down to `lo`). */
static void gp_symlog_axis(FILE *gp, double lo, double hi)
{
	static const double steps[] = {1, 2, 5};
	int k = 0;

	fputs("f_sl(y) = y >= 0 ? log10(1 + y) : -log10(1 - y)\n"
	      "g_sl(y) = y >= 0 ? 10**y - 1 : 1 - 10**(-y)\n"
	      "set nonlinear y via f_sl(y) inverse g_sl(y)\n"
	      "set ytics (\"0\" 0",
	      gp);
	for (double mag = 1; mag < 1e6; mag *= 10)
		for (int i = 0; i < 3; i++) {
			double v = steps[i] * mag;

			if (v <= fmax(hi, 1) * 2.5 || k < 2) {
				fprintf(gp, ", \"%g\" %g", v, v);
				k++;
			}
			if (-v >= fmin(lo, 0) * 2.5 && lo < 0)
				fprintf(gp, ", \"%g\" %g", -v, -v);
		}
	fputs(")\n", gp);
	/* gnuplot's autoscale on a nonlinear axis stops at the last point: leave a margin. */
	fprintf(gp, "set yrange [%g:%g]\n", lo < 0 ? -pow(1 - lo, 1.08) + 1 : 0,
		pow(1 + fmax(hi, 1), 1.08) - 1);
}

static bool drawable(const struct line_fig *f, const struct plot_stats *s)
{
	return s->n > 0 && (!f->logy || s->mean > 0);
}

/* What the series of a line figure look like before anything is written. */
struct line_shape {
	int *same_as;	 /* [n_series]: an earlier series with the same means at every N, or -1 */
	bool coincide;	 /* some series has such a twin */
	int drawn;	 /* series with a drawable point */
	double ylo, yhi; /* the y extent of the drawn means (and CIs) */
};

static bool series_drawable(const struct line_fig *f, const struct grid *g, int s)
{
	bool any = false;

	for (int k = 0; k < g->n_nodes; k++)
		any |= drawable(f, cell(g, s, k));
	return any;
}

/* Lines that coincide with an earlier one: said in the key, and every line is offset a little
 * along N so that none hides another. */
static void line_shape_find(const struct grid *g, const struct line_fig *f, struct line_shape *sh)
{
	for (int s = 0; s < g->n_series; s++) {
		bool any = false;

		sh->same_as[s] = -1;
		for (int k = 0; k < g->n_nodes; k++) {
			const struct plot_stats *st = cell(g, s, k);

			if (!drawable(f, st))
				continue;
			any = true;
			sh->ylo =
				fmin(sh->ylo, st->mean - (f->errorbars ? plot_stats_ci95(st) : 0));
			sh->yhi =
				fmax(sh->yhi, st->mean + (f->errorbars ? plot_stats_ci95(st) : 0));
		}
		if (!any)
			continue;
		sh->drawn++;
		for (int t = 0; t < s && sh->same_as[s] < 0; t++)
			if (series_drawable(f, g, t) && same_line(g, s, t))
				sh->same_as[s] = t;
		sh->coincide |= sh->same_as[s] >= 0;
	}
}

/* The .dat file's header: what it holds and what was excluded (`excl`, over all series). */
static void line_dat_header(FILE *dat, const struct line_fig *f, const struct line_shape *sh,
			    const char *excl)
{
	fprintf(dat, "# edgepipe plot: %s\n# %s\n", f->what, f->context);
	fprintf(dat,
		"# %s.\n# The CI half-width uses Student's t with n - 1 degrees of freedom "
		"(0 when n = 1).\n",
		f->method);
	fprintf(dat, "# Excluded trials are counted, never averaged in as 0: %s.\n", excl);
	fprintf(dat, "# One block per series (gnuplot index 0, 1, ...); columns:\n# %s\n",
		f->columns);
	if (sh->coincide)
		fputs("# Series that coincide with an earlier one at every N say so in their index "
		      "line; each series is drawn offset slightly along N.\n",
		      dat);
}

/* The script up to the plot command: title, axes, scales. */
static void line_gp_header(FILE *gp, const struct grid *g, const struct line_fig *f,
			   const struct line_shape *sh, const char *excl)
{
	char title[1024];

	gp_begin(gp, f->base, f->what);
	fputs("set title ", gp);
	snprintf(title, sizeof(title), "%s\n%s\nexcluded, not averaged: %s%s", f->title, f->method,
		 excl,
		 sh->coincide ? "\nlines offset slightly along N; \"= X\" in the key: the same "
				"means as X at every N"
			      : "");
	gp_string(gp, title);
	fputs(" noenhanced\n", gp);
	gp_nodes_axis(gp, g);
	fputs("set ylabel ", gp);
	gp_string(gp, f->ylabel);
	fputs("\nset key below noenhanced height 1 samplen 2\n", gp);
	if (f->logy)
		fputs("set logscale y\nset format y \"%g\"\n", gp);
	else if (f->symlogy)
		gp_symlog_axis(gp, sh->ylo, sh->yhi);
	if (f->logy || f->symlogy)
		; /* gnuplot misplaces a zero axis on a nonlinear one; the tic at 0 has its grid line */
	else if (f->signed_values)
		fputs("set xzeroaxis lt -1\n", gp);
	else
		fputs("set yrange [0:*]\n", gp);
}

/* One series' points at every N (or why there is none) into the .dat file. */
static void line_dat_points(FILE *dat, const struct grid *g, const struct line_fig *f, int s)
{
	char excl[512], v1[32], v2[32], v3[32];

	for (int k = 0; k < g->n_nodes; k++) {
		const struct plot_stats *st = cell(g, s, k);

		plot_excluded_text(st->excluded, f->ref, excl, sizeof(excl));
		if (!st->n) {
			fprintf(dat, "# N = %d: no value (excluded: %s)\n", g->nodes[k], excl);
			continue;
		}
		if (!drawable(f, st)) {
			fprintf(dat,
				"# N = %d: mean <= 0, not drawn on the log scale (%s %ld; "
				"excluded: %s)\n",
				g->nodes[k], f->count, st->n, excl);
			continue;
		}
		fmt_value(st->mean, v1, sizeof(v1));
		fmt_value(plot_stats_ci95(st), v2, sizeof(v2));
		fmt_value(plot_stats_sd(st), v3, sizeof(v3));
		fprintf(dat, "%d %s %s %ld %ld %s\n", g->nodes[k], v1, v2, st->n,
			plot_stats_excluded(st), v3);
	}
}

/* The data blocks, one per drawable series, in the order of the plot clauses; the count. */
static int line_dat_blocks(FILE *dat, const struct plot_data *d, const struct grid *g,
			   const struct line_fig *f, const struct line_shape *sh)
{
	char name[160], other[160];
	int index = 0;

	for (int s = 0; s < g->n_series; s++) {
		struct plot_stats t;

		grid_series_total(g, s, &t);
		plot_series_name(d, g->s_algo[s], g->s_bw[s], name, sizeof(name));
		if (!series_drawable(f, g, s))
			continue;
		fprintf(dat, "\n%s# index %d: %s (%s %ld, excluded %ld)", index ? "\n" : "", index,
			name, f->count, t.n, plot_stats_excluded(&t));
		if (sh->same_as[s] >= 0)
			fprintf(dat, ", the same means as %s",
				plot_series_name(d, g->s_algo[sh->same_as[s]],
						 g->s_bw[sh->same_as[s]], other, sizeof(other)));
		fputc('\n', dat);
		line_dat_points(dat, g, f, s);
		index++;
	}
	return index;
}

/* Series s's key: its name, counts and twin, or why it has no point. */
static void line_key(const struct plot_data *d, const struct grid *g, const struct line_fig *f,
		     const struct line_shape *sh, int s, char *key, size_t size)
{
	char name[160], other[160], excl[512];
	struct plot_stats t;

	grid_series_total(g, s, &t);
	plot_series_name(d, g->s_algo[s], g->s_bw[s], name, sizeof(name));
	if (t.n && sh->same_as[s] >= 0)
		snprintf(key, size, "%s (%s %ld, excluded %ld) = %s", name, f->count, t.n,
			 plot_stats_excluded(&t),
			 plot_series_name(d, g->s_algo[sh->same_as[s]], g->s_bw[sh->same_as[s]],
					  other, sizeof(other)));
	else if (t.n)
		snprintf(key, size, "%s (%s %ld, excluded %ld)", name, f->count, t.n,
			 plot_stats_excluded(&t));
	else
		snprintf(key, size, "%s: none (%s)", name,
			 plot_excluded_text(t.excluded, f->ref, excl, sizeof(excl)));
}

/* The plot command: a clause per series, drawn ones offset along N, the others in the key. */
static void line_gp_plot(FILE *gp, const struct plot_data *d, const struct grid *g,
			 const struct line_fig *f, const struct line_shape *sh)
{
	char key[1024];
	int index = 0;

	fputs("plot ", gp);
	for (int s = 0; s < g->n_series; s++) {
		line_key(d, g, f, sh, s, key, sizeof(key));
		fputs(s ? ", \\\n     " : "", gp);
		if (series_drawable(f, g, s)) {
			/* The offset: a fraction of the axis per drawn line, centred on N. */
			double step = sh->drawn > 1 ? (index - (sh->drawn - 1) / 2.0) : 0;
			char x[96];

			if (nodes_log(g))
				snprintf(x, sizeof(x), "($1*%.6g)", pow(1.012, step));
			else
				snprintf(x, sizeof(x), "($1+%.6g)",
					 step * 0.006 * (g->nodes[g->n_nodes - 1] - g->nodes[0] + 1));
			fprintf(gp, "'%s.dat' index %d using %s:2%s with %s lw 1.5 pt %d ps 1.2 title ",
				f->base, index++, x, f->errorbars ? ":3" : "",
				f->errorbars ? "yerrorlines" : "linespoints", 1 + s % 13);
		} else
			fputs("NaN with linespoints title ", gp);
		gp_string(gp, key);
	}
	fputc('\n', gp);
}

static int write_line_figure(struct fig_ctx *c, const struct grid *g, const struct line_fig *f,
			     struct ep_error *err)
{
	struct line_shape sh = {0};
	FILE *dat = NULL, *gp = NULL;
	struct plot_stats total;
	char excl[512];
	int rc;

	sh.same_as = malloc((size_t)(g->n_series > 0 ? g->n_series : 1) * sizeof(int));
	if (!sh.same_as)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	line_shape_find(g, f, &sh);
	rc = add_figure(c, f->base, err);
	if (!rc)
		rc = open_out(c, f->base, "dat", &dat, err);
	if (!rc)
		rc = open_out(c, f->base, "gp", &gp, err);
	if (rc)
		goto out;
	grid_total(g, &total);
	plot_excluded_text(total.excluded, f->ref, excl, sizeof(excl));
	line_dat_header(dat, f, &sh, excl);
	line_gp_header(gp, g, f, &sh, excl);
	if (!line_dat_blocks(dat, c->d, g, f, &sh)) {
		/* Nothing to draw: say so on a plain frame rather than fail. */
		fprintf(gp,
			"unset logscale y\nset xrange [0:1]\nset yrange [0:1]\nunset xtics\n"
			"unset ytics\nset label 1 \"%s\" at graph 0.5, 0.5 center\n",
			f->ref ? "no pair of trials usable" : "no trial ended ok");
	}
	gp_first_output(gp, c, f->base);
	line_gp_plot(gp, c->d, g, f, &sh);
	gp_end_output(gp, c, f->base);
out:
	if (dat) {
		int r2 = close_out(c, f->base, "dat", dat, err);

		rc = rc ? rc : r2;
	}
	if (gp) {
		int r2 = close_out(c, f->base, "gp", gp, err);

		rc = rc ? rc : r2;
	}
	free(sh.same_as);
	return rc;
}

/* The names of a (variant, cluster, model[, memory]) group for titles and files. */
struct group_names {
	const char *variant, *cluster, *model;
	char mem[64];	   /* "64 MiB" */
	char file[400];	   /* "MODEL-MEM-VARIANT-CLUSTER" or without MEM */
	char context[512]; /* "model M, memory 64 MiB, variant V, cluster C" */
	char title[512];   /* "M, 64 MiB, V variant, C cluster" */
};

static void group_names(const struct plot_data *d, const struct plot_row *r, bool with_mem,
			struct group_names *n)
{
	char fm[96], fv[96], fc[96], fmem[64];

	n->variant = d->variants.name[r->variant];
	n->cluster = d->clusters.name[r->cluster];
	n->model = d->models.name[r->model];
	ep_format_bytes(r->mem_bytes, n->mem, sizeof(n->mem));
	file_part(n->model, fm, sizeof(fm));
	file_part(n->variant, fv, sizeof(fv));
	file_part(n->cluster, fc, sizeof(fc));
	mem_part(r->mem_bytes, fmem, sizeof(fmem));
	if (with_mem) {
		snprintf(n->file, sizeof(n->file), "%s-%s-%s-%s", fm, fmem, fv, fc);
		snprintf(n->context, sizeof(n->context),
			 "model %s, memory %s, variant %s, "
			 "cluster %s",
			 n->model, n->mem, n->variant, n->cluster);
		snprintf(n->title, sizeof(n->title), "%s, %s, %s variant, %s cluster", n->model,
			 n->mem, n->variant, n->cluster);
	} else {
		snprintf(n->file, sizeof(n->file), "%s-%s-%s", fm, fv, fc);
		snprintf(n->context, sizeof(n->context),
			 "model %s, variant %s, cluster %s, "
			 "pooled over memory sizes",
			 n->model, n->variant, n->cluster);
		snprintf(n->title, sizeof(n->title),
			 "%s, %s variant, %s cluster, all memory "
			 "sizes",
			 n->model, n->variant, n->cluster);
	}
}

static int fig_bottleneck(struct fig_ctx *c, size_t lo, size_t hi, struct ep_error *err)
{
	struct group_names n;
	struct grid g;
	struct line_fig f;
	char base[450], title[700];
	double lo_ms = INFINITY, hi_ms = -INFINITY;
	bool logy;
	int rc;

	rc = grid_build(c->d, lo, hi, keep_in_view, 0, V_BOTTLENECK_MS, &g, err);
	if (rc || !g.n_series)
		return rc;
	group_names(c->d, &c->d->rows[lo], true, &n);
	snprintf(base, sizeof(base), "bottleneck-%s", n.file);
	/* Means that span more than a factor 10 (random beside the others) read better on a log
	 * scale, which needs every mean positive (the published metric gives 0 to one stage). */
	for (int i = 0; i < g.n_series * g.n_nodes; i++) {
		if (!g.cell[i].n)
			continue;
		lo_ms = fmin(lo_ms, g.cell[i].mean);
		hi_ms = fmax(hi_ms, g.cell[i].mean);
	}
	logy = lo_ms > 0 && hi_ms > 10 * lo_ms;
	snprintf(title, sizeof(title), "Bottleneck latency against N: %s", n.title);
	f = (struct line_fig){
		.base = base,
		.what = "bottleneck latency against N",
		.context = n.context,
		.title = title,
		.method = "mean and 95% CI over the trials with status ok",
		.ylabel = logy ? "bottleneck latency (ms, log scale)" : "bottleneck latency (ms)",
		.columns = "nodes mean_ms ci95_ms ok excluded sd_ms",
		.count = "ok",
		.logy = logy,
		.errorbars = true,
	};
	rc = write_line_figure(c, &g, &f, err);
	grid_release(&g);
	return rc;
}

static int fig_gap(struct fig_ctx *c, size_t lo, size_t hi, struct ep_error *err)
{
	const struct plot_data *d = c->d;
	struct group_names n;
	struct grid g;
	struct line_fig f;
	char base[450], title[700];
	bool has_optimal = false;
	int rc;

	for (size_t i = lo; i < hi && !has_optimal; i++)
		has_optimal = d->rows[i].algo == d->optimal;
	if (!has_optimal)
		return EP_OK;
	rc = grid_build(d, lo, hi, keep_gap, 0, V_GAP_PCT, &g, err);
	if (rc || !g.n_series)
		return rc;
	group_names(d, &d->rows[lo], false, &n);
	snprintf(base, sizeof(base), "gap-%s", n.file);
	snprintf(title, sizeof(title), "Gap to the proven optimum against N: %s", n.title);
	f = (struct line_fig){
		.base = base,
		.what = "gap (b - b_opt) / b_opt to optimal against N, paired by trial",
		.context = n.context,
		.title = title,
		.method = "mean per-trial (b - b_opt)/b_opt and 95% CI over the trials where both "
			  "are ok and b_opt > 0",
		.ylabel = "gap to the proven optimum (%, signed log scale)",
		.columns = "nodes mean_gap_pct ci95_pct pairs excluded sd_pct",
		.count = "pairs",
		.ref = "optimal",
		.signed_values = true,
		.errorbars = true,
		.symlogy = true,
	};
	rc = write_line_figure(c, &g, &f, err);
	grid_release(&g);
	return rc;
}

static int fig_solve(struct fig_ctx *c, size_t lo, size_t hi, struct ep_error *err)
{
	const struct plot_data *d = c->d;
	struct grid g;
	struct line_fig f;
	char base[160], fv[96], title[300], context[300];
	const char *variant = d->variants.name[d->rows[lo].variant];
	int rc;

	rc = grid_build(d, lo, hi, keep_in_view, 0, V_SOLVE_S, &g, err);
	if (rc || !g.n_series)
		return rc;
	file_part(variant, fv, sizeof(fv));
	snprintf(base, sizeof(base), "solve-%s", fv);
	snprintf(title, sizeof(title),
		 "Solve time against N: %s variant, all models, memory "
		 "sizes and clusters",
		 variant);
	snprintf(context, sizeof(context),
		 "variant %s, pooled over models, memory sizes and "
		 "clusters",
		 variant);
	f = (struct line_fig){
		.base = base,
		.what = "solve time against N",
		.context = context,
		.title = title,
		.method = "mean wall-clock solve time over the trials with status ok",
		.ylabel = "solve time (s)",
		.columns = "nodes mean_s ci95_s ok excluded sd_s",
		.count = "ok",
		.logy = true,
	};
	rc = write_line_figure(c, &g, &f, err);
	grid_release(&g);
	return rc;
}

/* ---- the heat map: mean bottleneck per (class count, N) of one algorithm ---- */

/* The heat map's cells: the ok ones, then those without an ok trial (label n/a), each a
 * block of the .dat file when there is one; *ok_block and *na_block receive their indexes or
 * -1. */
static void heat_dat_blocks(FILE *dat, const struct grid *g, int *ok_block, int *na_block)
{
	bool any_ok = false, any_na = false;
	char text[32], v[32];
	int blocks = 0;

	for (int s = 0; s < g->n_series; s++)
		for (int k = 0; k < g->n_nodes; k++) {
			const struct plot_stats *st = cell(g, s, k);

			any_ok |= st->n > 0;
			any_na |= st->n == 0 && plot_stats_excluded(st) > 0;
		}
	*ok_block = *na_block = -1;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0 ? !any_ok : !any_na)
			continue;
		fprintf(dat, "\n%s# index %d: cells %s\n", blocks ? "\n" : "", blocks,
			pass == 0 ? "with ok trials" : "without an ok trial");
		*(pass == 0 ? ok_block : na_block) = blocks++;
		for (int s = 0; s < g->n_series; s++)
			for (int k = 0; k < g->n_nodes; k++) {
				const struct plot_stats *st = cell(g, s, k);

				if (pass == 0 && st->n > 0) {
					fmt_value(st->mean, v, sizeof(v));
					snprintf(text, sizeof(text), "%.4g", st->mean);
				} else if (pass == 1 && st->n == 0 && plot_stats_excluded(st) > 0) {
					snprintf(v, sizeof(v), "nan");
					snprintf(text, sizeof(text), "n/a");
				} else {
					continue;
				}
				fprintf(dat, "%d %d %d %d %s %ld %ld %s\n", k, s, g->nodes[k],
					g->s_bw[s], v, st->n, plot_stats_excluded(st), text);
			}
	}
}

/* Whether the ok means of column k (nodes[k]) are the same at every C; *cells counts them. */
static bool heat_column_flat(const struct grid *g, int k, int *cells)
{
	bool same = true;
	double first = 0;

	*cells = 0;
	for (int s = 0; s < g->n_series; s++) {
		const struct plot_stats *st = cell(g, s, k);

		if (!st->n)
			continue;
		if (!(*cells)++)
			first = st->mean;
		else if (!(fabs(st->mean - first) <= 1e-9 * fmax(1.0, fabs(first))))
			same = false;
	}
	return same;
}

/* A map whose columns do not change with C says so: it reads like a broken figure otherwise.
 * `out` receives "\n" and the sentence, or "" when every column with two cells varies. */
static void heat_invariant(const struct grid *g, char *out, size_t size)
{
	int flat = 0, columns = 0;
	char list[256] = "";
	size_t at = 0;

	out[0] = '\0';
	for (int k = 0; k < g->n_nodes; k++) {
		int cells, w;
		bool same = heat_column_flat(g, k, &cells);

		if (cells < 2)
			continue;
		columns++;
		if (!same)
			continue;
		w = snprintf(list + at, sizeof(list) - at, "%s%d", flat ? ", " : "", g->nodes[k]);
		at += w > 0 && (size_t)w < sizeof(list) - at ? (size_t)w : 0;
		flat++;
	}
	if (columns && flat == columns)
		snprintf(out, size,
			 "\nthe mean does not vary with C at any N: the plans here do not "
			 "depend on the class count");
	else if (flat)
		snprintf(out, size, "\nthe mean does not vary with C at N = %s", list);
}

/* The heat map's script: title, axes and palette, then the ok cells as boxes with their
 * values and the others as gray labels. */
static void heat_gp(FILE *gp, const struct fig_ctx *c, const struct grid *g, const char *base,
		    const char *title, int ok_block, int na_block)
{
	gp_begin(gp, base, "mean bottleneck latency by bandwidth classes C and nodes N");
	fputs("set title ", gp);
	gp_string(gp, title);
	fputs(" noenhanced\nunset grid\nunset key\nset tics scale 0\n"
	      "set xlabel \"nodes N\"\nset ylabel \"bandwidth classes C\"\n"
	      "set cblabel \"mean bottleneck latency (ms)\"\n"
	      "set palette defined (0 \"#ffffcc\", 1 \"#feb24c\", 2 \"#f03b20\")\nset xtics (",
	      gp);
	for (int k = 0; k < g->n_nodes; k++)
		fprintf(gp, "%s\"%d\" %d", k ? ", " : "", g->nodes[k], k);
	fputs(")\nset ytics (", gp);
	for (int s = 0; s < g->n_series; s++)
		fprintf(gp, "%s\"%d\" %d", s ? ", " : "", g->s_bw[s], s);
	fprintf(gp, ")\nset xrange [-0.5:%g]\nset yrange [-0.5:%g]\n", g->n_nodes - 0.5,
		g->n_series - 0.5);
	gp_first_output(gp, c, base);
	fputs("plot ", gp);
	if (ok_block >= 0)
		fprintf(gp,
			"'%s.dat' index %d using 1:2:(0.5):(0.5):5 with boxxyerror "
			"fillcolor palette fillstyle solid 1.0 border lc rgb \"white\", \\\n"
			"     '%s.dat' index %d using 1:2:(stringcolumn(8)) with labels",
			base, ok_block, base, ok_block);
	if (na_block >= 0)
		fprintf(gp,
			"%s'%s.dat' index %d using 1:2:(stringcolumn(8)) with labels "
			"textcolor rgb \"gray40\"",
			ok_block >= 0 ? ", \\\n     " : "", base, na_block);
	if (ok_block < 0 && na_block < 0)
		fputs("NaN notitle", gp);
	fputc('\n', gp);
	gp_end_output(gp, c, base);
}

static int write_heatmap(struct fig_ctx *c, const struct grid *g, const struct group_names *n,
			 const char *algo, struct ep_error *err)
{
	FILE *dat = NULL, *gp = NULL;
	struct plot_stats total;
	char base[700], fa[96], excl[512], title[1700], invariant[300];
	int rc, ok_block, na_block;

	file_part(algo, fa, sizeof(fa));
	snprintf(base, sizeof(base), "heatmap-%s-%s", fa, n->file);
	rc = add_figure(c, base, err);
	if (!rc)
		rc = open_out(c, base, "dat", &dat, err);
	if (!rc)
		rc = open_out(c, base, "gp", &gp, err);
	if (rc)
		goto out;
	grid_total(g, &total);
	plot_excluded_text(total.excluded, NULL, excl, sizeof(excl));
	fprintf(dat,
		"# edgepipe plot: %s mean bottleneck latency by bandwidth classes C and "
		"nodes N\n# %s\n",
		algo, n->context);
	fprintf(dat,
		"# Mean over the trials with status ok; excluded trials are counted, never "
		"averaged in as 0: %s.\n",
		excl);
	fputs("# Blocks: cells with ok trials, then cells without (label n/a); columns:\n"
	      "# x_index y_index nodes classes mean_ms ok excluded label\n",
	      dat);
	heat_dat_blocks(dat, g, &ok_block, &na_block);
	heat_invariant(g, invariant, sizeof(invariant));
	if (invariant[0])
		fprintf(dat, "# %s\n", invariant + 1);
	snprintf(title, sizeof(title),
		 "%s mean bottleneck latency (ms) by classes C and nodes N\n%s\n"
		 "mean over the trials with status ok; excluded, not averaged: %s%s",
		 algo, n->title, excl, invariant);
	heat_gp(gp, c, g, base, title, ok_block, na_block);
out:
	if (dat) {
		int r2 = close_out(c, base, "dat", dat, err);

		rc = rc ? rc : r2;
	}
	if (gp) {
		int r2 = close_out(c, base, "gp", gp, err);

		rc = rc ? rc : r2;
	}
	return rc;
}

static int fig_heatmaps(struct fig_ctx *c, size_t lo, size_t hi, struct ep_error *err)
{
	const struct plot_data *d = c->d;
	struct group_names n;
	int rc = EP_OK;

	group_names(d, &d->rows[lo], true, &n);
	/* Rows are sorted by algorithm: each one with class counts gets its map. */
	for (size_t i = lo; i < hi && !rc;) {
		int algo = d->rows[i].algo;
		bool classes = false;
		size_t j;

		for (j = i; j < hi && d->rows[j].algo == algo; j++)
			classes |= d->rows[j].bw_classes > 0;
		if (classes) {
			struct grid g;

			rc = grid_build(d, i, j, keep_classes_of, algo, V_BOTTLENECK_MS, &g, err);
			if (!rc && g.n_series)
				rc = write_heatmap(c, &g, &n, d->algos.name[algo], err);
			grid_release(&g);
		}
		i = j;
	}
	return rc;
}

/* ---- running gnuplot ---- */

int plot_run_gnuplot(const char *gnuplot, const char *dir, const char *script, struct ep_error *err)
{
	char out[1024];
	size_t k = 0;
	int fd[2], status = 0;
	pid_t pid;

	if (pipe2(fd, O_CLOEXEC) != 0)
		return ep_error_set(err, EP_EIO, "cannot run gnuplot: pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(fd[0]);
		close(fd[1]);
		return ep_error_set(err, EP_EIO, "cannot run gnuplot: fork: %s", strerror(e));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/* The child only execs: its figures' paths are relative to `dir`. */
		if (null < 0 || dup2(null, 0) < 0 || dup2(fd[1], 1) < 0 || dup2(fd[1], 2) < 0 ||
		    chdir(dir) != 0)
			_exit(126);
		execl(gnuplot, "gnuplot", "-e", "out_suffix='.part'", script, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		char buf[512];
		ssize_t r = read(fd[0], buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r && k + 1 < sizeof(out); i++)
			out[k++] = buf[i] == '\n' ? ' ' : buf[i];
	}
	out[k] = '\0';
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return ep_error_set(err, EP_EIO, "waiting for gnuplot: %s",
					    strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return EP_OK;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return ep_error_set(err, EP_EIO, "cannot execute '%s'", gnuplot);
	if (WIFEXITED(status))
		return ep_error_set(err, EP_EIO,
				    "gnuplot failed on '%s/%s' (exit status %d): %.300s", dir,
				    script, WEXITSTATUS(status), out);
	return ep_error_set(err, EP_EIO, "gnuplot was killed by signal %d on '%s/%s'",
			    WIFSIGNALED(status) ? WTERMSIG(status) : 0, dir, script);
}

/* Whether an image gnuplot wrote is whole: a PNG ends with its IEND chunk, an SVG with
 * "</svg>" (a full disk leaves them cut short). */
static bool image_complete(const char *path, bool svg)
{
	static const unsigned char iend[12] = { 0, 0, 0, 0, 'I', 'E', 'N', 'D',
						0xae, 0x42, 0x60, 0x82 };
	unsigned char tail[64];
	FILE *f = fopen(path, "rb");
	long size;
	size_t got;
	bool ok = false;

	if (!f)
		return false;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 &&
	    fseek(f, size > (long)sizeof(tail) ? size - (long)sizeof(tail) : 0, SEEK_SET) == 0) {
		got = fread(tail, 1, sizeof(tail), f);
		if (svg) {
			for (size_t i = 0; i + 6 <= got && !ok; i++)
				ok = memcmp(tail + i, "</svg>", 6) == 0;
		} else {
			ok = got >= sizeof(iend) && memcmp(tail + got - sizeof(iend), iend,
							    sizeof(iend)) == 0;
		}
	}
	fclose(f);
	return ok;
}

/*
 * The images are written as NAME.part: once gnuplot has succeeded and every one is whole,
 * rename them over the old figures (atomic, one by one); otherwise remove them all and keep
 * the old figures. `ok` says whether gnuplot succeeded.
 */
static int finish_images(const struct fig_ctx *c, bool ok, struct ep_error *err)
{
	char path[PATH_MAX], part[PATH_MAX + 8];
	int rc = EP_OK;

	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < c->n_bases; i++)
			for (int f = 0; f < 2; f++) {
				if (!(c->formats & (f ? PLOT_SVG : PLOT_PNG)))
					continue;
				if (path_of(c, c->bases[i], f ? "svg" : "png", path, sizeof(path),
					    NULL))
					continue;
				snprintf(part, sizeof(part), "%s.part", path);
				if (pass == 0) {
					/* check every image before replacing any */
					if (ok && !rc && !image_complete(part, f))
						rc = ep_error_set(err, EP_EIO, "gnuplot left '%s' "
								  "missing or cut short (is the "
								  "disk full?); the figures there "
								  "are unchanged", part);
				} else if (ok && !rc) {
					if (rename(part, path) != 0)
						rc = ep_error_set(err, EP_EIO, "cannot rename '%s': "
								  "%s", part, strerror(errno));
				} else {
					unlink(part);
				}
			}
	return rc;
}

/* The end of the group of rows starting at `lo` that share the first `level` key fields
 * (1 variant, 2 + cluster, 3 + model, 4 + memory). */
static size_t group_end(const struct plot_data *d, size_t lo, int level)
{
	const struct plot_row *a = &d->rows[lo];
	size_t i;

	for (i = lo + 1; i < d->n; i++) {
		const struct plot_row *b = &d->rows[i];

		if (b->variant != a->variant || (level >= 2 && b->cluster != a->cluster) ||
		    (level >= 3 && b->model != a->model) ||
		    (level >= 4 && b->mem_bytes != a->mem_bytes))
			break;
	}
	return i;
}

int plot_figures(struct sqlite3 *db, const char *dir, const struct plot_options *opt,
		 int *n_figures, struct ep_error *err)
{
	struct plot_options o = opt ? *opt : PLOT_OPTIONS_DEFAULT;
	struct fig_ctx c = {.dir = dir};
	struct plot_data d;
	char gnuplot[PATH_MAX];
	bool loaded = false;
	int rc;

	if (n_figures)
		*n_figures = 0;
	c.formats = o.formats & (PLOT_PNG | PLOT_SVG) ? o.formats & (PLOT_PNG | PLOT_SVG)
						      : PLOT_PNG | PLOT_SVG;
	rc = plot_gnuplot_find(gnuplot, sizeof(gnuplot), err);
	if (!rc)
		rc = plot_prepare_dir(dir, err);
	if (!rc)
		rc = plot_load(db, o.bw_classes, &d, err);
	if (rc)
		return rc;
	loaded = true;
	c.d = &d;
	if (!d.n) {
		rc = ep_error_set(err, EP_EINVAL, "the database has no result rows");
		goto out;
	}
	rc = open_out(&c, "figures", "gp", &c.master, err);
	if (rc)
		goto out;
	fputs("# edgepipe plot: every figure of this directory. Re-plot them all, from this\n"
	      "# directory, with: gnuplot figures.gp\n",
	      c.master);

	for (size_t lo = 0; lo < d.n && !rc;) {
		size_t hi = group_end(&d, lo, 4);

		rc = fig_bottleneck(&c, lo, hi, err);
		if (!rc)
			rc = fig_heatmaps(&c, lo, hi, err);
		lo = hi;
	}
	for (size_t lo = 0; lo < d.n && !rc && d.optimal >= 0;) {
		size_t hi = group_end(&d, lo, 3);

		rc = fig_gap(&c, lo, hi, err);
		lo = hi;
	}
	for (size_t lo = 0; lo < d.n && !rc;) {
		size_t hi = group_end(&d, lo, 1);

		rc = fig_solve(&c, lo, hi, err);
		lo = hi;
	}
	{
		int r2 = close_out(&c, "figures", "gp", c.master, err);

		c.master = NULL;
		rc = rc ? rc : r2;
	}
	if (!rc) {
		rc = plot_run_gnuplot(gnuplot, dir, "figures.gp", err);
		rc = finish_images(&c, rc == EP_OK, rc ? NULL : err) ? EP_EIO : rc;
	}
	if (!rc && n_figures)
		*n_figures = c.n_bases;
out:
	if (c.master)
		fclose(c.master);
	for (int i = 0; i < c.n_bases; i++)
		free(c.bases[i]);
	free(c.bases);
	if (loaded)
		plot_release(&d);
	return rc;
}
