/*
 * edgepipe profile: run a model with the executor (model_exec.h) and measure every layer: median
 * and spread over R warm runs, FLOPs, achieved GFLOP/s; print them (and a summary per layer
 * kind) or write the layer profile file that --compute profile:FILE reads (model_lprofile.h).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ep_util.h"
#include "model_lprofile.h"
#include "model_lprofile_report.h"
#include "model_weights.h"
#include "model_zoo.h"

static const char profile_usage[] =
	"usage: edgepipe profile MODEL [--threads T] [--repeat R] [-o FILE] [options]\n\n"
	"Run MODEL (zoo name or model file) on this machine with the XNNPACK executor and measure\n"
	"every layer: the median and the spread (interquartile range) of its wall time over R warm\n"
	"runs, its FLOPs and its achieved GFLOP/s. Prints a table per layer and per layer kind, or\n"
	"with -o writes the layer profile that 'plan', 'sim' and 'sweep' read with --compute\n"
	"profile:FILE (format: models/model_lprofile.h). Progress goes to stderr on a terminal.\n\n"
	"options:\n"
	"  --threads T                executor threads (default 1)\n"
	"  --repeat R                 measured runs (default 10)\n"
	"  --warmup W                 runs before them, not measured (default 2)\n"
	"  --seed S                   seed of the generated weights and input (default 1)\n"
	"  --weights FILE             the model's weights (raw float32, models/model_weights.h);\n"
	"                             default: an ONNX model's own, else generated from --seed\n"
	"  -o, --output FILE          write the layer profile to FILE (replaced whole)\n"
	"  --by layer|kind            csv: one row per layer (default) or per layer kind\n"
	"  --format text|csv|json     (default text)\n"
	"  --host NAME                the host recorded in the profile (default: host name)\n";

static void progress_tty(void *arg, int done, int total)
{
	fprintf(stderr, "\rprofile %s: run %d/%d", (const char *)arg, done, total);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

enum { O_THREADS = 256, O_REPEAT, O_WARMUP, O_SEED, O_WEIGHTS, O_BY, O_FORMAT, O_HOST, O_HELP };

static const struct option profile_opts[] = {
	{ "threads", required_argument, NULL, O_THREADS },
	{ "repeat", required_argument, NULL, O_REPEAT },
	{ "warmup", required_argument, NULL, O_WARMUP },
	{ "seed", required_argument, NULL, O_SEED },
	{ "weights", required_argument, NULL, O_WEIGHTS },
	{ "output", required_argument, NULL, 'o' },
	{ "by", required_argument, NULL, O_BY },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "host", required_argument, NULL, O_HOST },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

struct profile_cmd {
	struct model_lprofile_run_options ro;
	const char *weights_path, *output;
	enum cli_format fmt;
	bool by_kind;
	unsigned long long seed;
};

/* An integer option into *out: -1, or 2 with the message printed. */
static int profile_int(const char *name, const char *arg, long min, long max, int *out)
{
	long v;

	if (!cli_parse_int(name, arg, min, max, &v))
		return 2;
	*out = (int)v;
	return -1;
}

/* One option: -1 taken, else the exit status (0 after --help). */
static int profile_option(struct profile_cmd *c, int opt, const char *arg)
{
	switch (opt) {
	case O_THREADS:
		return profile_int("--threads", arg, 1, MODEL_LPROFILE_MAX_THREADS, &c->ro.threads);
	case O_REPEAT: return profile_int("--repeat", arg, 1, 1000000, &c->ro.repeat);
	case O_WARMUP: return profile_int("--warmup", arg, 0, 1000000, &c->ro.warmup);
	case O_SEED: return cli_parse_u64("--seed", arg, &c->seed) ? -1 : 2;
	case O_WEIGHTS: c->weights_path = arg; return -1;
	case 'o': c->output = arg; return -1;
	case O_BY:
		if (strcmp(arg, "layer") && strcmp(arg, "kind"))
			return cli_fail(2, "--by '%s': expected layer or kind", arg);
		c->by_kind = strcmp(arg, "kind") == 0;
		return -1;
	case O_FORMAT:
		if (!cli_parse_format(arg, &c->fmt))
			return cli_fail(2, "--format '%s': expected text, csv or json", arg);
		return -1;
	case O_HOST:
		if (!*arg || strpbrk(arg, " \t\r\n#") || strlen(arg) >= MODEL_LPROFILE_HOST_MAX)
			return cli_fail(2, "--host '%s': expected a name without blanks or '#', at "
					"most %d characters", arg, MODEL_LPROFILE_HOST_MAX - 1);
		c->ro.host = arg;
		return -1;
	case O_HELP:
	case 'h':
		ep_help_write(stdout, profile_usage, CLI_HELP_WIDTH);
		return 0;
	default:
		ep_help_write(stderr, profile_usage, CLI_HELP_WIDTH);
		return 2;
	}
}

/* Measure `model`, save the profile (-o) and print the report. */
static int profile_run(struct profile_cmd *c, const char *model)
{
	char name[MODEL_NAME_MAX];
	struct model_graph *g = NULL;
	struct model_weights *w = NULL;
	struct model_lprofile *lp = NULL;
	struct ep_error err;
	double total_s = 0;
	int rc;

	c->ro.input_seed = c->seed;
	rc = model_zoo_open_weights(model, c->weights_path, c->seed, &g, &w, &err);
	if (!rc) {
		snprintf(name, sizeof(name), "%s", model_graph_name(g));
		rc = model_lprofile_measure(w, &c->ro, isatty(STDERR_FILENO) ? progress_tty : NULL,
					    name, &lp, &total_s, &err);
	}
	if (!rc && c->output)
		rc = model_lprofile_save(lp, c->output, &err);
	if (!rc && (c->fmt != CLI_TEXT || !c->output))
		rc = model_lprofile_report_write(stdout,
						 c->fmt == CLI_JSON  ? MODEL_REPORT_JSON
						 : c->fmt == CLI_CSV ? MODEL_REPORT_CSV
								     : MODEL_REPORT_TEXT,
						 lp, total_s, c->by_kind, &err);
	else if (!rc)
		printf("wrote %s: %s, %zu layers, %d thread(s), %d runs; median whole run %.3f ms\n",
		       c->output, lp->model, lp->n_layers, lp->threads, lp->repeat, total_s * 1e3);
	if (rc)
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	model_lprofile_destroy(lp);
	model_weights_destroy(w);
	model_graph_destroy(g);
	return rc;
}

int cmd_profile(int argc, char **argv)
{
	struct profile_cmd c = { .ro = { 1, 10, 2, 1, NULL }, .fmt = CLI_TEXT, .seed = 1 };
	int opt, rc = -1;

	while (rc < 0 && (opt = getopt_long(argc, argv, "ho:", profile_opts, NULL)) != -1)
		rc = profile_option(&c, opt, optarg);
	if (rc >= 0)
		return rc;
	if (optind + 1 != argc)
		return cli_fail(2, "profile: %s (see 'edgepipe profile --help')",
				optind >= argc ? "name one MODEL"
						: "unexpected argument after the model");
	return profile_run(&c, argv[optind]);
}
