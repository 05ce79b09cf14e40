/*
 * edgepipe plot: the figures of a sweep database and its summary table.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "model_lprofile.h"
#include "plot.h"
#include "summary.h"

static const char plot_usage[] =
	"usage: edgepipe plot --db FILE --out DIR [--classes C] [--format png,svg]\n"
	"       edgepipe plot --profile FILE --out DIR [--format png,svg]\n\n"
	"With --profile: the figure of a layer profile ('edgepipe profile -o FILE'), every layer's\n"
	"median time against its FLOPs on log-log axes, coloured by layer kind (lprofile-MODEL.*).\n\n"
	"Draw the figures of a sweep database with gnuplot and write DIR/summary.md:\n"
	"  bottleneck-*  bottleneck latency against N per algorithm, 95 % confidence intervals,\n"
	"                per model, memory size, variant and cluster\n"
	"  heatmap-*     seifer's mean bottleneck by bandwidth classes C and nodes N (the paper's\n"
	"                heat map)\n"
	"  gap-*         the per-trial gap to the exact optimum against N, per model and variant\n"
	"  solve-*       solve time against N per algorithm (log scale), per variant\n"
	"  summary.md    mean bottleneck per algorithm and the paper's claims (10x random, 35 %\n"
	"                greedy, 9.2 % optimal) beside ours, paired by trial\n"
	"Trials that failed, were infeasible or hit a limit are excluded from every mean and\n"
	"counted in each figure's title, never averaged in as 0. Beside each image are its data\n"
	"(.dat) and script (.gp); 'gnuplot figures.gp' in DIR re-plots them all.\n\n"
	"options:\n"
	"  --db FILE        the SQLite file written by 'edgepipe sweep'\n"
	"  --profile FILE   a layer profile instead (models/model_lprofile.h)\n"
	"  --out DIR        output directory (created if missing)\n"
	"  --classes C      seifer's bandwidth-class count in the per-algorithm figures and the\n"
	"                   summary (default 8 if the sweep has it, else the median present)\n"
	"  --format LIST    image formats: png, svg or png,svg (default png,svg)\n";

static bool parse_formats(const char *s, unsigned *out)
{
	char buf[64], *save;

	*out = 0;
	if (strlen(s) >= sizeof(buf) || !*s || strstr(s, ",,") || *s == ',' ||
	    s[strlen(s) - 1] == ',')
		goto bad;
	strcpy(buf, s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "png") == 0)
			*out |= PLOT_PNG;
		else if (strcmp(t, "svg") == 0)
			*out |= PLOT_SVG;
		else
			goto bad;
	}
	if (*out)
		return true;
bad:
	cli_fail(2, "--format '%s': expected png, svg or png,svg", s);
	return false;
}

/* edgepipe plot --profile FILE: the layer profile's figure. */
static int plot_profile(const char *path, const char *dir, const struct plot_options *o)
{
	struct model_lprofile *lp = NULL;
	struct ep_error err;
	char base[128];
	int rc = model_lprofile_load(path, &lp, &err);

	if (!rc)
		rc = plot_lprofile(lp, dir, o, base, sizeof(base), &err);
	model_lprofile_destroy(lp);
	if (rc)
		/* A missing gnuplot is the machine's, not the user's input: exit 1. */
		return cli_fail(rc == EP_ENOTFOUND && !strstr(err.msg, path) ? 1
										: cli_exit_code(rc),
				"%s", err.msg);
	printf("%s/%s.%s\n", dir, base,
	       (o->formats & PLOT_PNG) && (o->formats & PLOT_SVG) ? "{png,svg,gp,dat}"
	       : o->formats & PLOT_PNG				  ? "png"
								  : "svg");
	return 0;
}

/* The figures and summary.md of the sweep database `db_path` into `dir`: 0 or the exit
 * status, with the message printed. */
static int plot_sweep(const char *db_path, const char *dir, const struct plot_options *o)
{
	struct sqlite3 *db = NULL;
	struct ep_error err;
	char gnuplot[PATH_MAX], path[PATH_MAX];
	FILE *md = NULL;
	int rc, figures = 0, status = 0;

	ep_error_clear(&err);
	rc = plot_db_open(db_path, &db, &err);
	if (rc)
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	rc = plot_prepare_dir(dir, &err);
	if (rc) {
		status = cli_fail(2, "%s", err.msg);
		goto out;
	}
	/* A missing gnuplot is the machine's, not the user's input: exit 1. */
	if (plot_gnuplot_find(gnuplot, sizeof(gnuplot), &err)) {
		status = cli_fail(1, "%s", err.msg);
		goto out;
	}
	rc = plot_figures(db, dir, o, &figures, &err);
	if (rc) {
		status = cli_fail(rc == EP_EINVAL ? 2 : 1, "plot: database '%s': %s", db_path,
				  err.msg);
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/summary.md", dir) >= (int)sizeof(path)) {
		status = cli_fail(2, "--out '%s': path too long", dir);
		goto out;
	}
	md = fopen(path, "w");
	if (!md) {
		status = cli_fail(1, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = summary_write_markdown(db, o->bw_classes, md, &err);
	if (fclose(md) != 0 && !rc) {
		status = cli_fail(1, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	if (rc) {
		status = cli_fail(cli_exit_code(rc), "plot: '%s': %s", path, err.msg);
		goto out;
	}
	printf("%d figures (%s%s%s) and summary.md in %s\n", figures,
	       o->formats & PLOT_PNG ? "png" : "",
	       (o->formats & PLOT_PNG) && (o->formats & PLOT_SVG) ? ", " : "",
	       o->formats & PLOT_SVG ? "svg" : "", dir);
out:
	plot_db_close(db);
	return status;
}

int cmd_plot(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},	   {"out", required_argument, NULL, 'o'},
		{"classes", required_argument, NULL, 'c'}, {"format", required_argument, NULL, 'f'},
		{"profile", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},	   {NULL, 0, NULL, 0},
	};
	struct plot_options o = PLOT_OPTIONS_DEFAULT;
	const char *db_path = NULL, *dir = NULL, *profile_path = NULL;
	long classes;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db_path = optarg; break;
		case 'p': profile_path = optarg; break;
		case 'o': dir = optarg; break;
		case 'c':
			if (!cli_parse_int("--classes", optarg, 1, 1000, &classes))
				return 2;
			o.bw_classes = (int)classes;
			break;
		case 'f':
			if (!parse_formats(optarg, &o.formats))
				return 2;
			break;
		case 'h': ep_help_write(stdout, plot_usage, CLI_HELP_WIDTH); return 0;
		default: ep_help_write(stderr, plot_usage, CLI_HELP_WIDTH); return 2;
		}
	}
	if (optind < argc)
		return cli_fail(2, "plot: unexpected argument '%s'", argv[optind]);
	if (!db_path == !profile_path)
		return cli_fail(2, "plot: give --db FILE or --profile FILE (one of them)");
	if (!dir)
		return cli_fail(2, "plot: --out DIR is required");
	if (profile_path)
		return plot_profile(profile_path, dir, &o);
	return plot_sweep(db_path, dir, &o);
}
