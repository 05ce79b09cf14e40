/*
 * The rows of a result database in memory, for the figures and the summary (plot_internal.h).
 */
#include "plot_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <sqlite3.h>

#include "store.h"

static void names_release(struct plot_names *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->name[i]);
	free(t->name);
	t->name = NULL;
	t->n = 0;
}

/* The distinct values of one text column, sorted byte by byte (SQLite's BINARY collation). */
static int names_load(sqlite3 *db, const char *column, struct plot_names *t, struct ep_error *err)
{
	char sql[128];
	sqlite3_stmt *st;
	int rc = EP_OK, step, cap = 0;

	snprintf(sql, sizeof(sql), "SELECT DISTINCT %s FROM results ORDER BY %s", column, column);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return ep_error_set(err, EP_EIO, "reading the %s names: %s", column,
				    sqlite3_errmsg(db));
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);

		if (t->n == cap) {
			char **p = realloc(t->name, (size_t)(cap ? 2 * cap : 16) * sizeof(*p));

			if (!p) {
				rc = ep_error_set(err, EP_ENOMEM, "out of memory");
				goto out;
			}
			t->name = p;
			cap = cap ? 2 * cap : 16;
		}
		t->name[t->n] = strdup(s ? s : "");
		if (!t->name[t->n]) {
			rc = ep_error_set(err, EP_ENOMEM, "out of memory");
			goto out;
		}
		t->n++;
	}
	if (step != SQLITE_DONE)
		rc = ep_error_set(err, EP_EIO, "reading the %s names: %s", column,
				  sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	return rc;
}

static int names_find(const struct plot_names *t, const char *s)
{
	int lo = 0, hi = t->n - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2, c = strcmp(t->name[mid], s);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static enum plot_status status_of(const char *s, bool has_bottleneck)
{
	if (strcmp(s, "ok") == 0)
		return has_bottleneck ? PLOT_S_OK : PLOT_S_NO_VALUE;
	if (strcmp(s, "failed") == 0)
		return PLOT_S_FAILED;
	if (strcmp(s, "infeasible") == 0)
		return PLOT_S_INFEASIBLE;
	if (strcmp(s, "limit") == 0)
		return PLOT_S_LIMIT;
	return PLOT_S_OTHER;
}

#define CMP(a, b)                                                                                  \
	do {                                                                                       \
		if ((a) != (b))                                                                    \
			return (a) < (b) ? -1 : 1;                                                 \
	} while (0)

static int row_cmp(const void *pa, const void *pb)
{
	const struct plot_row *a = pa, *b = pb;

	CMP(a->variant, b->variant);
	CMP(a->cluster, b->cluster);
	CMP(a->model, b->model);
	CMP(a->mem_bytes, b->mem_bytes);
	CMP(a->algo, b->algo);
	CMP(a->bw_classes, b->bw_classes);
	CMP(a->nodes, b->nodes);
	CMP(a->trial, b->trial);
	CMP(a->seed, b->seed);
	return 0;
}

static int int_cmp(const void *pa, const void *pb)
{
	int a = *(const int *)pa, b = *(const int *)pb;

	return (a > b) - (a < b);
}

/* The class count to show: the one asked for, else 8, else the (lower) median present. */
static int choose_classes(sqlite3 *db, int want, int *out, struct ep_error *err)
{
	sqlite3_stmt *st;
	int present[256], n = 0, step, rc = EP_OK;
	bool found = false, has8 = false;
	char list[512];
	size_t k = 0;

	*out = 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT DISTINCT bw_classes FROM results WHERE bw_classes > 0 "
			       "ORDER BY bw_classes",
			       -1, &st, NULL) != SQLITE_OK)
		return ep_error_set(err, EP_EIO, "reading the class counts: %s",
				    sqlite3_errmsg(db));
	while ((step = sqlite3_step(st)) == SQLITE_ROW &&
	       n < (int)(sizeof(present) / sizeof(present[0])))
		present[n++] = sqlite3_column_int(st, 0);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = ep_error_set(err, EP_EIO, "reading the class counts: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (rc)
		return rc;
	qsort(present, (size_t)n, sizeof(int), int_cmp);
	for (int i = 0; i < n; i++) {
		found |= present[i] == want;
		has8 |= present[i] == 8;
		if (k < sizeof(list))
			k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%d", i ? ", " : "",
					      present[i]);
	}
	if (want > 0) {
		if (!found)
			return ep_error_set(err, EP_EINVAL,
					    "bandwidth class count %d: the database "
					    "has no row with it (present: %s)",
					    want, n ? list : "none");
		*out = want;
	} else if (n) {
		*out = has8 ? 8 : present[(n - 1) / 2];
	}
	return EP_OK;
}

/* One results row of the SELECT in rows_load into `r`: false when a name is not among those
 * loaded before (the table changed in between). */
static bool row_read(const struct plot_data *d, sqlite3_stmt *st, struct plot_row *r)
{
	const char *status = (const char *)sqlite3_column_text(st, 9);

	r->variant = names_find(&d->variants, (const char *)sqlite3_column_text(st, 0));
	r->cluster = names_find(&d->clusters, (const char *)sqlite3_column_text(st, 1));
	r->model = names_find(&d->models, (const char *)sqlite3_column_text(st, 2));
	r->mem_bytes = sqlite3_column_double(st, 3);
	r->algo = names_find(&d->algos, (const char *)sqlite3_column_text(st, 4));
	r->bw_classes = sqlite3_column_int(st, 5);
	r->nodes = sqlite3_column_int(st, 6);
	r->trial = sqlite3_column_int(st, 7);
	r->seed = sqlite3_column_int64(st, 8);
	r->status = status_of(status ? status : "", sqlite3_column_type(st, 10) != SQLITE_NULL);
	r->bottleneck_s = r->status == PLOT_S_OK ? sqlite3_column_double(st, 10) : NAN;
	r->solve_s =
		sqlite3_column_type(st, 11) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 11);
	return r->variant >= 0 && r->cluster >= 0 && r->model >= 0 && r->algo >= 0;
}

/* Every results row into d->rows (grown as needed), unsorted. */
static int rows_load(sqlite3 *db, struct plot_data *d, struct ep_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc = EP_OK, step;

	if (sqlite3_prepare_v2(
		    db,
		    "SELECT variant, cluster, model, mem_bytes, algo, bw_classes, nodes, "
		    "trial, seed, status, bottleneck_s, solve_s FROM results",
		    -1, &st, NULL) != SQLITE_OK)
		return ep_error_set(err, EP_EIO, "reading the results: %s", sqlite3_errmsg(db));
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (d->n == cap) {
			size_t ncap = cap ? 2 * cap : 1024;
			struct plot_row *p = realloc(d->rows, ncap * sizeof(*p));

			if (!p) {
				rc = ep_error_set(err, EP_ENOMEM, "out of memory");
				goto out;
			}
			d->rows = p;
			cap = ncap;
		}
		if (!row_read(d, st, &d->rows[d->n++])) {
			rc = ep_error_set(err, EP_EIO, "the results changed while being read");
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = ep_error_set(err, EP_EIO, "reading the results: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	return rc;
}

int plot_load(sqlite3 *db, int classes, struct plot_data *out, struct ep_error *err)
{
	struct plot_data d;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = store_check_schema(db, "the database", err);
	if (!rc)
		rc = names_load(db, "variant", &d.variants, err);
	if (!rc)
		rc = names_load(db, "cluster", &d.clusters, err);
	if (!rc)
		rc = names_load(db, "model", &d.models, err);
	if (!rc)
		rc = names_load(db, "algo", &d.algos, err);
	if (!rc)
		rc = choose_classes(db, classes, &d.classes, err);
	if (!rc)
		rc = rows_load(db, &d, err);
	if (rc) {
		plot_release(&d);
		return rc;
	}
	if (d.n)
		qsort(d.rows, d.n, sizeof(*d.rows), row_cmp);
	d.optimal = names_find(&d.algos, "optimal");
	d.seifer = names_find(&d.algos, "seifer");
	d.random = names_find(&d.algos, "random");
	d.greedy = names_find(&d.algos, "greedy");
	*out = d;
	return EP_OK;
}

void plot_release(struct plot_data *d)
{
	if (!d)
		return;
	free(d->rows);
	names_release(&d->variants);
	names_release(&d->clusters);
	names_release(&d->models);
	names_release(&d->algos);
	memset(d, 0, sizeof(*d));
}

bool plot_in_view(const struct plot_data *d, const struct plot_row *r)
{
	return r->bw_classes == 0 || r->bw_classes == d->classes;
}

const struct plot_row *plot_find(const struct plot_data *d, const struct plot_row *like, int algo,
				 int bw)
{
	struct plot_row key = *like;

	if (algo < 0 || !d->n)
		return NULL;
	key.algo = algo;
	key.bw_classes = bw;
	return bsearch(&key, d->rows, d->n, sizeof(*d->rows), row_cmp);
}

const char *plot_series_name(const struct plot_data *d, int algo, int bw, char *buf, size_t size)
{
	if (bw > 0)
		snprintf(buf, size, "%s C=%d", d->algos.name[algo], bw);
	else
		snprintf(buf, size, "%s", d->algos.name[algo]);
	return buf;
}

void plot_stats_add(struct plot_stats *s, double x)
{
	double delta = x - s->mean;

	s->n++;
	s->mean += delta / (double)s->n;
	s->m2 += delta * (x - s->mean);
}

void plot_stats_exclude(struct plot_stats *s, int reason)
{
	s->excluded[reason]++;
}

void plot_stats_merge(struct plot_stats *a, const struct plot_stats *b)
{
	long n = a->n + b->n;

	for (int i = 0; i < PLOT_X_COUNT_; i++)
		a->excluded[i] += b->excluded[i];
	if (!b->n)
		return;
	if (n) {
		double delta = b->mean - a->mean;

		a->m2 += b->m2 + delta * delta * (double)a->n * (double)b->n / (double)n;
		a->mean += delta * (double)b->n / (double)n;
	}
	a->n = n;
}

long plot_stats_excluded(const struct plot_stats *s)
{
	long t = 0;

	for (int i = 0; i < PLOT_X_COUNT_; i++)
		t += s->excluded[i];
	return t;
}

double plot_stats_sd(const struct plot_stats *s)
{
	return s->n < 2 ? 0.0 : sqrt(s->m2 / (double)(s->n - 1));
}

double plot_stats_ci95(const struct plot_stats *s)
{
	if (s->n < 2)
		return 0.0;
	return gsl_cdf_tdist_Pinv(0.975, (double)(s->n - 1)) * plot_stats_sd(s) /
	       sqrt((double)s->n);
}

static const char *const status_words[PLOT_S_EXCLUDED_COUNT] = {
	[PLOT_S_FAILED] = "failed",
	[PLOT_S_INFEASIBLE] = "infeasible",
	[PLOT_S_LIMIT] = "limit",
	[PLOT_S_NO_VALUE] = "ok without a bottleneck",
	[PLOT_S_OTHER] = "of an unknown status",
};

static size_t append(char *buf, size_t size, size_t k, const char *fmt, long v, const char *w)
{
	if (k < size)
		k += (size_t)snprintf(buf + k, size - k, fmt, v, w);
	return k;
}

const char *plot_excluded_text(const long x[PLOT_X_COUNT_], const char *ref, char *buf, size_t size)
{
	size_t k = 0;
	bool any = false, ref_any = false;

	buf[0] = '\0';
	for (int i = 0; i < PLOT_S_EXCLUDED_COUNT; i++) {
		if (!x[i])
			continue;
		k = append(buf, size, k, any ? ", %ld %s" : "%ld %s", x[i], status_words[i]);
		any = true;
	}
	for (int i = PLOT_X_REF; i < PLOT_X_COUNT_; i++) {
		const char *w = i == PLOT_X_REF_MISSING ? "without a row"
				: i == PLOT_X_REF_ZERO	? "with bottleneck 0"
							: status_words[i - PLOT_X_REF];

		if (!x[i])
			continue;
		if (!ref_any && k < size)
			k += (size_t)snprintf(buf + k, size - k, "%s%s ", any ? "; " : "",
					      ref ? ref : "reference");
		k = append(buf, size, k, ref_any ? ", %ld %s" : "%ld %s", x[i], w);
		ref_any = any = true;
	}
	if (!any)
		snprintf(buf, size, "none");
	return buf;
}

void plot_safe_name(const char *in, char *out, size_t size)
{
	size_t i = 0;

	for (; *in && i + 1 < size; in++)
		out[i++] = ((*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') ||
			    (*in >= '0' && *in <= '9') || strchr("._+-", *in))
				   ? *in
				   : '_';
	out[i] = '\0';
}

int plot_file_open(struct plot_file *pf, const char *dir, const char *base, const char *ext,
		   struct ep_error *err)
{
	snprintf(pf->path, sizeof(pf->path), "%s/%s.%s", dir, base, ext);
	snprintf(pf->tmp, sizeof(pf->tmp), "%s.tmp", pf->path);
	pf->f = fopen(pf->tmp, "w");
	if (!pf->f)
		return ep_error_set(err, EP_EIO, "cannot write '%s': %s", pf->path,
				    strerror(errno));
	return EP_OK;
}

int plot_file_commit(struct plot_file *pf, struct ep_error *err)
{
	int bad = ferror(pf->f) | fclose(pf->f);

	pf->f = NULL;
	if (bad || rename(pf->tmp, pf->path) != 0) {
		remove(pf->tmp);
		return ep_error_set(err, EP_EIO, "cannot write '%s'", pf->path);
	}
	return EP_OK;
}

void plot_file_abort(struct plot_file *pf)
{
	if (pf->f) {
		fclose(pf->f);
		pf->f = NULL;
		remove(pf->tmp);
	}
}

void plot_terminal(FILE *gp, bool svg, int width, int height)
{
	if (svg)
		fprintf(gp, "set terminal svg size %d,%d noenhanced font \"Sans,10\"\n", width,
			height);
	else
		fprintf(gp, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
			    "\tset terminal pngcairo size %d,%d noenhanced font \"Sans,10\"\n"
			    "} else {\n\tset terminal png size %d,%d noenhanced\n}\n",
			width, height, width, height);
}
