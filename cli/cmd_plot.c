/*
 * edgepipe plot: the figures of a sweep database and its summary table.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "plot.h"

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

/* --profile FILE's figure, or --db FILE's figures and summary, then the report line: the exit
 * status. */
static int plot_run(const char *profile_path, const char *db_path, const char *dir,
		    const struct plot_options *o)
{
	struct ep_error err;
	char base[128];
	int figures = 0, rc;

	if (profile_path)
		rc = plot_lprofile_file(profile_path, dir, o, base, sizeof(base), &err);
	else
		rc = plot_sweep_write(db_path, dir, o, &figures, &err);
	if (rc)
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	if (profile_path)
		plot_lprofile_report_write(stdout, dir, base, o->formats);
	else
		plot_report_write(stdout, dir, figures, o->formats);
	return 0;
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
	struct ep_error err;
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
			if (plot_formats_parse(optarg, &o.formats, &err))
				return cli_fail(2, "%s", err.msg);
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
	return plot_run(profile_path, db_path, dir, &o);
}
