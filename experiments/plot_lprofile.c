/*
 * The figure of a measured layer profile (plot.h, plot_lprofile): time against FLOPs per
 * layer, log-log, coloured by layer kind.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_lprofile.h"
#include "plot.h"
#include "plot_internal.h"

#define LP_WIDTH 960
#define LP_HEIGHT 640

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool drawn(const struct model_lprofile_layer *l)
{
	return l->flops > 0 && l->median_s > 0;
}

/* The drawn layers (FLOPs and a time) of a profile: their kinds, sorted (one block and one
 * colour each), their count, sums and FLOPs range. */
struct lp_summary {
	const char **kinds; /* [n_layers], n_kinds used, pointing into the profile */
	size_t n_kinds, shown;
	double sum_flops, sum_s, xmin, xmax;
};

static void lp_summarize(const struct model_lprofile *lp, struct lp_summary *sm)
{
	for (size_t i = 0; i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];
		size_t j;

		if (!drawn(l))
			continue;
		sm->shown++;
		sm->sum_flops += (double)l->flops;
		sm->sum_s += l->median_s;
		if (!sm->xmin || (double)l->flops < sm->xmin)
			sm->xmin = (double)l->flops;
		if ((double)l->flops > sm->xmax)
			sm->xmax = (double)l->flops;
		for (j = 0; j < sm->n_kinds && strcmp(sm->kinds[j], l->op) != 0; j++)
			;
		if (j == sm->n_kinds)
			sm->kinds[sm->n_kinds++] = l->op;
	}
	qsort(sm->kinds, sm->n_kinds, sizeof(*sm->kinds), cmp_str);
}

/* The data: a block per kind, a line per drawn layer. */
static void lp_dat(FILE *dat, const struct model_lprofile *lp, const struct lp_summary *sm)
{
	fprintf(dat, "# edgepipe layer profile of %s: %d thread(s), median of %d runs on %s\n"
		     "# one block per layer kind; columns: FLOPs, median seconds, layer\n",
		lp->model, lp->threads, lp->repeat, lp->host);
	for (size_t j = 0; j < sm->n_kinds; j++) {
		fprintf(dat, "%s# %s\n", j ? "\n\n" : "", sm->kinds[j]);
		for (size_t i = 0; i < lp->n_layers; i++) {
			const struct model_lprofile_layer *l = &lp->layers[i];

			if (drawn(l) && strcmp(l->op, sm->kinds[j]) == 0)
				fprintf(dat, "%" PRId64 " %.9g %s\n", l->flops, l->median_s, l->name);
		}
	}
}

/* The script: log-log axes, a title with the counts and the model's rate, then per format a
 * points clause per kind and the rate's line. */
static void lp_gp(FILE *gp, const struct model_lprofile *lp, const struct lp_summary *sm,
		  const char *base, const char *model, unsigned formats)
{
	fprintf(gp,
		"# edgepipe plot: per-layer time against FLOPs of a measured layer profile\n"
		"# data: %s.dat; re-plot from this directory with: gnuplot %s.gp\n"
		"reset session\nset encoding utf8\nset grid\nset logscale xy\n"
		"set format x '%%.0e'\nset format y '%%g'\n"
		"set xlabel 'FLOPs of the layer'\nset ylabel 'median time (ms)'\n"
		"set key outside right top\n",
		base, base);
	fprintf(gp,
		"set title \"%s: per-layer time against FLOPs (%d thread(s), median of %d runs "
		"on %s)\\n%zu layers shown; %zu without FLOPs or time not shown (input, "
		"folded BN, aliases, padding)\\ndashed: the model's rate, %.2f GFLOP/s\"\n",
		model, lp->threads, lp->repeat, lp->host[0] == '-' ? "unknown host" : lp->host,
		sm->shown, lp->n_layers - sm->shown, sm->sum_flops / sm->sum_s / 1e9);
	fprintf(gp, "set xrange [%g:%g]\n", sm->xmin / 2, sm->xmax * 2);
	fprintf(gp, "rate = %.9g\n", sm->sum_flops / sm->sum_s);
	for (int f = 0; f < 2; f++) {
		if (!(formats & (f ? PLOT_SVG : PLOT_PNG)))
			continue;
		plot_terminal(gp, f, LP_WIDTH, LP_HEIGHT);
		fprintf(gp, "set output '%s.%s'\nplot \\\n", base, f ? "svg" : "png");
		for (size_t j = 0; j < sm->n_kinds; j++) {
			int count = 0;

			for (size_t i = 0; i < lp->n_layers; i++)
				count += drawn(&lp->layers[i]) &&
					 strcmp(lp->layers[i].op, sm->kinds[j]) == 0;
			fprintf(gp,
				"  '%s.dat' index %zu using 1:($2*1e3) with points pt 7 ps 0.8 "
				"lc %zu title '%s (%d)', \\\n",
				base, j, j + 1, sm->kinds[j], count);
		}
		fprintf(gp, "  x / rate * 1e3 with lines dt 2 lc rgb 'gray40' title 'model rate'\n"
			    "unset output\n");
	}
}

/* Run the script in `dir` and check that every format's image is there and not empty. */
static int lp_render(const char *gnuplot, const char *dir, const char *base, unsigned formats,
		     struct ep_error *err)
{
	char path[PATH_MAX + 128];
	int rc;

	snprintf(path, sizeof(path), "%s.gp", base);
	rc = plot_run_gnuplot(gnuplot, dir, path, err);
	for (int f = 0; !rc && f < 2; f++) {
		struct stat sb;

		if (!(formats & (f ? PLOT_SVG : PLOT_PNG)))
			continue;
		snprintf(path, sizeof(path), "%s/%s.%s", dir, base, f ? "svg" : "png");
		if (stat(path, &sb) != 0 || sb.st_size == 0)
			rc = ep_error_set(err, EP_EIO, "gnuplot left '%s' missing or empty", path);
	}
	return rc;
}

int plot_lprofile(const struct model_lprofile *lp, const char *dir, const struct plot_options *opt,
		  char *base_out, size_t base_size, struct ep_error *err)
{
	unsigned formats = opt && opt->formats ? opt->formats : PLOT_PNG | PLOT_SVG;
	struct lp_summary sm = {0};
	char gnuplot[PATH_MAX], base[96], model[72];
	struct plot_file datf = {NULL}, gpf = {NULL};
	int rc;

	sm.kinds = calloc(lp->n_layers ? lp->n_layers : 1, sizeof(*sm.kinds));
	if (!sm.kinds)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	rc = plot_gnuplot_find(gnuplot, sizeof(gnuplot), err);
	if (!rc)
		rc = plot_prepare_dir(dir, err);
	if (rc)
		goto out;
	lp_summarize(lp, &sm);
	if (!sm.shown) {
		rc = ep_error_set(err, EP_EINVAL,
				  "layer profile of '%s': no layer has both FLOPs "
				  "and a measured time to draw",
				  lp->model);
		goto out;
	}
	plot_safe_name(lp->model, model, sizeof(model));
	snprintf(base, sizeof(base), "lprofile-%s", model);
	if (base_out && base_size)
		snprintf(base_out, base_size, "%s", base);
	EP_CHECK_GOTO(plot_file_open(&datf, dir, base, "dat", err), rc, out);
	lp_dat(datf.f, lp, &sm);
	EP_CHECK_GOTO(plot_file_commit(&datf, err), rc, out);
	EP_CHECK_GOTO(plot_file_open(&gpf, dir, base, "gp", err), rc, out);
	lp_gp(gpf.f, lp, &sm, base, model, formats);
	EP_CHECK_GOTO(plot_file_commit(&gpf, err), rc, out);
	rc = lp_render(gnuplot, dir, base, formats, err);
out:
	plot_file_abort(&datf);
	plot_file_abort(&gpf);
	free(sm.kinds);
	return rc;
}
