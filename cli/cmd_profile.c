/*
 * edgepipe profile: run a model with the executor (model_exec.h) and measure every layer: median
 * and spread over R warm runs, FLOPs, achieved GFLOP/s; print them (and a summary per layer
 * kind) or write the layer profile file that --compute profile:FILE reads (model_lprofile.h).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ep_json.h"
#include "ep_util.h"
#include "model_lprofile.h"
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

/* Per layer kind (op): layers, FLOPs, time, and the FLOPs of the layers that took time. */
struct kind_sum {
	char op[MODEL_OP_MAX];
	int layers;
	int64_t flops, timed_flops;
	double time_s;
};

static int kind_sums(const struct model_lprofile *lp, struct kind_sum **out)
{
	struct kind_sum *k = calloc(lp->n_layers, sizeof(*k));
	int n = 0;

	*out = k;
	if (!k)
		return -1;
	for (size_t i = 0; i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];
		int j;

		for (j = 0; j < n && strcmp(k[j].op, l->op) != 0; j++)
			;
		if (j == n)
			snprintf(k[n++].op, sizeof(k[0].op), "%s", l->op);
		k[j].layers++;
		k[j].flops += l->flops;
		k[j].time_s += l->median_s;
		if (l->median_s > 0)
			k[j].timed_flops += l->flops;
	}
	return n;
}

static double kind_gflops(const struct kind_sum *k)
{
	return k->time_s > 0 ? (double)k->timed_flops / k->time_s / 1e9 : 0.0;
}

static void progress_tty(void *arg, int done, int total)
{
	fprintf(stderr, "\rprofile %s: run %d/%d", (const char *)arg, done, total);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

static void print_text(const struct model_lprofile *lp, const struct kind_sum *k, int nk,
		       double total_s)
{
	double sum = 0;
	int64_t flops = 0;

	printf("%s: %zu layers, %d thread(s), median of %d runs on %s\n", lp->model, lp->n_layers,
	       lp->threads, lp->repeat, lp->host);
	printf("%-40s %-24s %-8s %14s %11s %11s %9s\n", "layer", "op", "kernel", "flops",
	       "median_ms", "spread_ms", "GFLOP/s");
	for (size_t i = 0; i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];
		double gf = model_lprofile_layer_gflops(l);

		printf("%-40s %-24s %-8s %14" PRId64 " %11.4f %11.4f ", l->name, l->op, l->kernel,
		       l->flops, l->median_s * 1e3, l->spread_s * 1e3);
		if (gf > 0)
			printf("%9.2f\n", gf);
		else
			printf("%9s\n", "-");
		sum += l->median_s;
		flops += l->flops;
	}
	printf("\nby layer kind (GFLOP/s over the layers that took time):\n");
	printf("%-24s %7s %16s %11s %7s %9s\n", "op", "layers", "flops", "time_ms", "share",
	       "GFLOP/s");
	for (int j = 0; j < nk; j++)
		printf("%-24s %7d %16" PRId64 " %11.3f %6.1f%% %9.2f\n", k[j].op, k[j].layers,
		       k[j].flops, k[j].time_s * 1e3, sum > 0 ? 100.0 * k[j].time_s / sum : 0.0,
		       kind_gflops(&k[j]));
	printf("\nsum of layer medians %.3f ms (%.2f GFLOP/s over %" PRId64 " FLOPs); median whole "
	       "run %.3f ms\n", sum * 1e3, sum > 0 ? (double)flops / sum / 1e9 : 0.0, flops,
	       total_s * 1e3);
}

static void print_csv(const struct model_lprofile *lp, const struct kind_sum *k, int nk,
		      bool by_kind)
{
	if (by_kind) {
		printf("model,op,layers,flops,time_s,gflops\n");
		for (int j = 0; j < nk; j++) {
			cli_csv_field(stdout, lp->model);
			printf(",");
			cli_csv_field(stdout, k[j].op);
			printf(",%d,%" PRId64 ",%.9g,%.6g\n", k[j].layers, k[j].flops, k[j].time_s,
			       kind_gflops(&k[j]));
		}
		return;
	}
	printf("model,index,layer,op,kernel,flops,median_s,spread_s,gflops,threads,repeat\n");
	for (size_t i = 0; i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];

		cli_csv_field(stdout, lp->model);
		printf(",%zu,", i);
		cli_csv_field(stdout, l->name);
		printf(",");
		cli_csv_field(stdout, l->op);
		printf(",%s,%" PRId64 ",%.9g,%.9g,%.6g,%d,%d\n", l->kernel, l->flops, l->median_s,
		       l->spread_s, model_lprofile_layer_gflops(l), lp->threads, lp->repeat);
	}
}

static void print_json(const struct model_lprofile *lp, const struct kind_sum *k, int nk,
		       double total_s)
{
	json_t *layers = json_array(), *kinds = json_array(), *o;
	struct ep_error err;
	char fp[17];

	for (size_t i = 0; layers && i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];

		json_array_append_new(
			layers, json_pack("{s:o, s:o, s:s, s:I, s:o, s:o, s:o}", "layer",
					  ep_json_str(l->name), "op", ep_json_str(l->op), "kernel",
					  l->kernel, "flops", (json_int_t)l->flops, "median_s",
					  ep_json_num(l->median_s), "spread_s", ep_json_num(l->spread_s),
					  "gflops", ep_json_num(model_lprofile_layer_gflops(l))));
	}
	for (int j = 0; kinds && j < nk; j++)
		json_array_append_new(
			kinds, json_pack("{s:o, s:i, s:I, s:o, s:o}", "op", ep_json_str(k[j].op),
					 "layers", k[j].layers, "flops", (json_int_t)k[j].flops,
					 "time_s", ep_json_num(k[j].time_s), "gflops",
					 ep_json_num(kind_gflops(&k[j]))));
	snprintf(fp, sizeof(fp), "%016" PRIx64, lp->fingerprint);
	o = json_pack("{s:o, s:s, s:i, s:i, s:o, s:o, s:o, s:o}", "model", ep_json_str(lp->model),
		      "fingerprint", fp, "threads", lp->threads, "repeat", lp->repeat, "host",
		      ep_json_str(lp->host), "whole_run_median_s", ep_json_num(total_s), "layers",
		      layers ? layers : json_null(), "kinds", kinds ? kinds : json_null());
	if (ep_json_dump(stdout, o, &err))
		cli_fail(1, "%s", err.msg);
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
	struct kind_sum *kinds = NULL;
	struct ep_error err;
	double total_s = 0;
	int nk, rc;

	c->ro.input_seed = c->seed;
	rc = model_zoo_open_weights(model, c->weights_path, c->seed, &g, &w, &err);
	if (!rc) {
		snprintf(name, sizeof(name), "%s", model_graph_name(g));
		rc = model_lprofile_measure(w, &c->ro, isatty(STDERR_FILENO) ? progress_tty : NULL,
					    name, &lp, &total_s, &err);
	}
	if (rc) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	nk = kind_sums(lp, &kinds);
	if (nk < 0) {
		rc = cli_fail(1, "out of memory");
		goto out;
	}
	if (c->output) {
		rc = model_lprofile_save(lp, c->output, &err);
		if (rc) {
			rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
			goto out;
		}
	}
	if (c->fmt == CLI_CSV)
		print_csv(lp, kinds, nk, c->by_kind);
	else if (c->fmt == CLI_JSON)
		print_json(lp, kinds, nk, total_s);
	else if (!c->output)
		print_text(lp, kinds, nk, total_s);
	else
		printf("wrote %s: %s, %zu layers, %d thread(s), %d runs; median whole run %.3f ms\n",
		       c->output, lp->model, lp->n_layers, lp->threads, lp->repeat, total_s * 1e3);
out:
	free(kinds);
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
