/*
 * compare_plot: the comparison's figure (compare.h), throughput over time with the timeline's
 * faults and the back ends' detections and go-lives marked, drawn by gnuplot.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "compare.h"
#include "plot.h"
#include "plot_internal.h"

#define CMP_WIDTH 1000
#define CMP_HEIGHT 560

/* The back ends' colours: black, blue, red. */
static const char *const colour[COMPARE_BACKEND_COUNT_] = { "#000000", "#1f5fbf", "#c0392b" };

/* Split `path` into its directory, base name without the extension, and the extension (png or
 * svg). */
static int split_path(const char *path, char *dir, size_t dsize, char *base, size_t bsize,
		      bool *svg, struct ep_error *err)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	const char *dot = strrchr(name, '.');
	struct stat st;

	if (!dot || (strcmp(dot, ".png") != 0 && strcmp(dot, ".svg") != 0) || dot == name)
		return ep_error_set(err, EP_EINVAL, "--plot '%s': the figure's name ends in .png "
				    "or .svg", path);
	*svg = strcmp(dot, ".svg") == 0;
	if (slash)
		snprintf(dir, dsize, "%.*s", (int)(slash - path) > 0 ? (int)(slash - path) : 1, path);
	else
		snprintf(dir, dsize, ".");
	snprintf(base, bsize, "%.*s", (int)(dot - name), name);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return ep_error_set(err, EP_EINVAL, "--plot '%s': directory '%s' does not exist",
				    path, dir);
	return EP_OK;
}

/* The data: one block per back end that ran (start, middle and end of each bin, throughput). */
static void write_dat(FILE *f, const struct compare_report *r, int *blocks)
{
	int k = 0;

	fprintf(f, "# edgepipe compare: throughput over time per back end (answers / bin of "
		   "%.6g s)\n# columns: bin start (s), throughput (/s)\n", r->bin_s);
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++) {
		blocks[b] = -1;
		if (!r->series[b])
			continue;
		fprintf(f, "%s# %s\n", k ? "\n\n" : "", compare_backend_name((enum compare_backend)b));
		for (int i = 0; i < r->n_bins; i++)
			if (isfinite(r->series[b][i]))
				fprintf(f, "%.9g %.9g\n", i * r->bin_s, r->series[b][i]);
		/* The last bin's end, so that a step line covers it. */
		for (int i = r->n_bins - 1; i >= 0; i--)
			if (isfinite(r->series[b][i])) {
				fprintf(f, "%.9g %.9g\n", (i + 1) * r->bin_s, r->series[b][i]);
				break;
			}
		blocks[b] = k++;
	}
}

/* A gnuplot string literal: the text without its quotes and backslashes; with `wrap`, a line
 * break after every "; " (the title's parts). */
static void gp_text(FILE *f, const char *s, bool wrap)
{
	fputc('"', f);
	for (; *s; s++) {
		if (wrap && s[0] == ';' && s[1] == ' ') {
			fputs("\\n", f);
			s++;
		} else if (*s != '"' && *s != '\\') {
			fputc(*s, f);
		}
	}
	fputc('"', f);
}

static void write_marks(FILE *f, const struct compare_report *r)
{
	for (int i = 0; i < r->n_marks; i++) {
		const struct compare_mark *m = &r->marks[i];

		if (m->backend < 0) {
			/* A fault (or its end): a labelled vertical line over the whole height. */
			fprintf(f, "set arrow from %.9g, graph 0 to %.9g, graph 1 nohead dt %d "
				   "lc rgb 'gray40'\n", m->t_s, m->t_s,
				strcmp(m->kind, "end") == 0 ? 3 : 2);
			fprintf(f, "set label ");
			gp_text(f, m->text, false);
			fprintf(f, " at %.9g, graph 0.98 rotate by 90 right font ',8' noenhanced "
				   "tc rgb 'gray30' front\n", m->t_s);
		} else {
			/* A detection (short) or a go-live (taller) in the back end's colour. */
			fprintf(f, "set arrow from %.9g, graph 0 to %.9g, graph %s nohead lw 2 "
				   "lc rgb '%s' front\n", m->t_s, m->t_s,
				strcmp(m->kind, "detect") == 0 ? "0.08" : "0.16", colour[m->backend]);
		}
	}
}

static void write_gp(FILE *f, const struct compare_report *r, const char *base, bool svg,
		     const char *title, const int *blocks)
{
	bool first = true;

	fprintf(f, "# edgepipe compare: throughput over time, analytic, simulated and emulated\n"
		   "# data: %s.dat; re-plot from this directory with: gnuplot %s.gp\n"
		   "reset\nif (!exists(\"out_suffix\")) out_suffix = \"\"\n"
		   "set encoding utf8\nset grid\nset key below\n"
		   "set xlabel 'time from the first request (s)'\n"
		   "set ylabel 'throughput (answers / s)'\nset yrange [0:*]\n", base, base);
	fprintf(f, "set title ");
	gp_text(f, title ? title : "edgepipe compare", true);
	fprintf(f, " noenhanced font ',10'\n");
	write_marks(f, r);
	plot_terminal(f, svg, CMP_WIDTH, CMP_HEIGHT);
	fprintf(f, "set output '%s.%s'.out_suffix\nplot \\\n", base, svg ? "svg" : "png");
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++) {
		if (blocks[b] < 0)
			continue;
		fprintf(f, "%s  '%s.dat' index %d using 1:2 with steps lw %d lc rgb '%s' title '%s'",
			first ? "" : ", \\\n", base, blocks[b], b == COMPARE_ANALYTIC ? 1 : 2,
			colour[b], compare_backend_name((enum compare_backend)b));
		first = false;
	}
	/* Keys for the marks: detections short, go-lives tall, faults dashed. */
	fprintf(f, "%s  NaN with lines dt 2 lc rgb 'gray40' title 'fault (dotted: its end); "
		   "marks: detection (short), new plan live (tall)'\nunset output\n",
		first ? "" : ", \\\n");
}

int compare_plot_check(const char *path, struct ep_error *err)
{
	char dir[PATH_MAX], base[256];
	bool svg;

	return split_path(path, dir, sizeof(dir), base, sizeof(base), &svg, err);
}

int compare_plot(const struct compare_report *r, const char *path, const char *title,
		 struct ep_error *err)
{
	struct plot_file datf = { 0 }, gpf = { 0 };
	char dir[PATH_MAX], base[256], gnuplot[PATH_MAX], script[300], part[PATH_MAX + 300];
	int blocks[COMPARE_BACKEND_COUNT_], rc;
	bool svg = false;

	EP_CHECK(split_path(path, dir, sizeof(dir), base, sizeof(base), &svg, err));
	EP_CHECK(plot_gnuplot_find(gnuplot, sizeof(gnuplot), err));
	EP_CHECK_GOTO(plot_file_open(&datf, dir, base, "dat", err), rc, out);
	write_dat(datf.f, r, blocks);
	EP_CHECK_GOTO(plot_file_commit(&datf, err), rc, out);
	EP_CHECK_GOTO(plot_file_open(&gpf, dir, base, "gp", err), rc, out);
	write_gp(gpf.f, r, base, svg, title, blocks);
	EP_CHECK_GOTO(plot_file_commit(&gpf, err), rc, out);
	snprintf(script, sizeof(script), "%s.gp", base);
	EP_CHECK_GOTO(plot_run_gnuplot(gnuplot, dir, script, err), rc, out);
	/* gnuplot wrote BASE.EXT.part: the whole image replaces the old one at once. */
	snprintf(part, sizeof(part), "%s/%s.%s.part", dir, base, svg ? "svg" : "png");
	if (rename(part, path) != 0)
		rc = ep_error_set(err, EP_EIO, "--plot '%s': gnuplot left no image (%s: %s)", path,
				  part, strerror(errno));
out:
	plot_file_abort(&datf);
	plot_file_abort(&gpf);
	return rc;
}
