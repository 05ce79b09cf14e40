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

int plot_lprofile(const struct model_lprofile *lp, const char *dir,
		  const struct plot_options *opt, char *base_out, size_t base_size,
		  struct ep_error *err)
{
	unsigned formats = opt && opt->formats ? opt->formats : PLOT_PNG | PLOT_SVG;
	const char **kinds = calloc(lp->n_layers ? lp->n_layers : 1, sizeof(*kinds));
	char gnuplot[PATH_MAX], base[96], model[72], path[PATH_MAX + 128];
	struct plot_file datf = { NULL }, gpf = { NULL };
	FILE *dat, *gp;
	size_t n_kinds = 0, shown = 0;
	double sum_flops = 0, sum_s = 0, xmin = 0, xmax = 0;
	int rc;

	if (!kinds)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	rc = plot_gnuplot_find(gnuplot, sizeof(gnuplot), err);
	if (!rc)
		rc = plot_prepare_dir(dir, err);
	if (rc)
		goto out;
	/* The kinds present among the drawn layers, sorted: one block and one colour each. */
	for (size_t i = 0; i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];
		size_t j;

		if (!drawn(l))
			continue;
		shown++;
		sum_flops += (double)l->flops;
		sum_s += l->median_s;
		if (!xmin || (double)l->flops < xmin)
			xmin = (double)l->flops;
		if ((double)l->flops > xmax)
			xmax = (double)l->flops;
		for (j = 0; j < n_kinds && strcmp(kinds[j], l->op) != 0; j++)
			;
		if (j == n_kinds)
			kinds[n_kinds++] = l->op;
	}
	if (!shown) {
		rc = ep_error_set(err, EP_EINVAL, "layer profile of '%s': no layer has both FLOPs "
				  "and a measured time to draw", lp->model);
		goto out;
	}
	qsort(kinds, n_kinds, sizeof(*kinds), cmp_str);
	plot_safe_name(lp->model, model, sizeof(model));
	snprintf(base, sizeof(base), "lprofile-%s", model);
	if (base_out && base_size)
		snprintf(base_out, base_size, "%s", base);

	EP_CHECK_GOTO(plot_file_open(&datf, dir, base, "dat", err), rc, out);
	dat = datf.f;
	fprintf(dat, "# edgepipe layer profile of %s: %d thread(s), median of %d runs on %s\n"
		     "# one block per layer kind; columns: FLOPs, median seconds, layer\n",
		lp->model, lp->threads, lp->repeat, lp->host);
	for (size_t j = 0; j < n_kinds; j++) {
		fprintf(dat, "%s# %s\n", j ? "\n\n" : "", kinds[j]);
		for (size_t i = 0; i < lp->n_layers; i++) {
			const struct model_lprofile_layer *l = &lp->layers[i];

			if (drawn(l) && strcmp(l->op, kinds[j]) == 0)
				fprintf(dat, "%" PRId64 " %.9g %s\n", l->flops, l->median_s, l->name);
		}
	}
	EP_CHECK_GOTO(plot_file_commit(&datf, err), rc, out);

	EP_CHECK_GOTO(plot_file_open(&gpf, dir, base, "gp", err), rc, out);
	gp = gpf.f;
	fprintf(gp, "# edgepipe plot: per-layer time against FLOPs of a measured layer profile\n"
		    "# data: %s.dat; re-plot from this directory with: gnuplot %s.gp\n"
		    "reset session\nset encoding utf8\nset grid\nset logscale xy\n"
		    "set format x '%%.0e'\nset format y '%%g'\n"
		    "set xlabel 'FLOPs of the layer'\nset ylabel 'median time (ms)'\n"
		    "set key outside right top\n",
		    base, base);
	fprintf(gp, "set title \"%s: per-layer time against FLOPs (%d thread(s), median of %d runs "
		    "on %s)\\n%zu layers shown; %zu without FLOPs or time not shown (input, "
		    "folded BN, aliases, padding)\\ndashed: the model's rate, %.2f GFLOP/s\"\n",
		model, lp->threads, lp->repeat, lp->host[0] == '-' ? "unknown host" : lp->host,
		shown, lp->n_layers - shown, sum_flops / sum_s / 1e9);
	fprintf(gp, "set xrange [%g:%g]\n", xmin / 2, xmax * 2);
	fprintf(gp, "rate = %.9g\n", sum_flops / sum_s);
	for (int f = 0; f < 2; f++) {
		if (!(formats & (f ? PLOT_SVG : PLOT_PNG)))
			continue;
		plot_terminal(gp, f, LP_WIDTH, LP_HEIGHT);
		fprintf(gp, "set output '%s.%s'\nplot \\\n", base, f ? "svg" : "png");
		for (size_t j = 0; j < n_kinds; j++) {
			int count = 0;

			for (size_t i = 0; i < lp->n_layers; i++)
				count += drawn(&lp->layers[i]) && strcmp(lp->layers[i].op,
									 kinds[j]) == 0;
			fprintf(gp, "  '%s.dat' index %zu using 1:($2*1e3) with points pt 7 ps 0.8 "
				    "lc %zu title '%s (%d)', \\\n",
				base, j, j + 1, kinds[j], count);
		}
		fprintf(gp, "  x / rate * 1e3 with lines dt 2 lc rgb 'gray40' title 'model rate'\n"
			    "unset output\n");
	}
	EP_CHECK_GOTO(plot_file_commit(&gpf, err), rc, out);
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
out:
	plot_file_abort(&datf);
	plot_file_abort(&gpf);
	free(kinds);
	return rc;
}
