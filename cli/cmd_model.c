/*
 * edgepipe models; edgepipe model show|export|import.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ep_util.h"
#include "model_exec.h"
#include "model_file.h"
#include "model_onnx.h"
#include "model_profile.h"
#include "model_report.h"
#include "model_weights.h"
#include "model_zoo.h"

static enum model_report_format report_format(enum cli_format fmt)
{
	return fmt == CLI_JSON	? MODEL_REPORT_JSON
	       : fmt == CLI_CSV ? MODEL_REPORT_CSV
				: MODEL_REPORT_TEXT;
}

static const char models_usage[] =
	"usage: edgepipe models [--format text|csv|json]\n\n"
	"List the model zoo: each Keras application's input shape, layers, parameters, FLOPs and\n"
	"cut points under the exact and the published rule.\n";

int cmd_models(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format fmt = CLI_TEXT;
	struct ep_error err;
	int rc;

	for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
		switch (c) {
		case 'f':
			if (!cli_parse_format(optarg, &fmt))
				return cli_fail(2, "--format '%s': expected text, csv or json",
						optarg);
			break;
		case 'h':
			ep_help_write(stdout, models_usage, CLI_HELP_WIDTH);
			return 0;
		default:
			ep_help_write(stderr, models_usage, CLI_HELP_WIDTH);
			return 2;
		}
	}
	if (optind < argc)
		return cli_fail(2, "models: unexpected argument '%s'", argv[optind]);
	rc = model_report_zoo_write(stdout, report_format(fmt), &err);
	return rc ? cli_fail(cli_exit_code(rc), "%s", err.msg) : 0;
}

static const char show_usage[] =
	"usage: edgepipe model show NAME|FILE [options]\n"
	"       edgepipe model export NAME|FILE [-o FILE] [--format model|onnx]\n"
	"                             [--seed S] [--weights FILE]\n"
	"       edgepipe model import FILE.onnx [-o FILE] [--input-shape HxWxC]\n"
	"                             [--name NAME]\n\n"
	"show: print a model's layer table and its cut-point profile (per segment and cumulative\n"
	"parameters, FLOPs, memory, and the transfer size of each cut tensor).\n"
	"export: write the model in edgepipe's model file format (models/model_file.h), or with\n"
	"--format onnx as an ONNX file (opset 13, NCHW, batch 1) with its weights: read from a\n"
	"raw --weights file, else an ONNX file's own, else generated from --seed\n"
	"(models/model_weights.h).\n"
	"import: read an ONNX file (models/model_onnx.h lists the operators and how NCHW maps\n"
	"to our NHWC layers) and write it in edgepipe's model file format; on any error nothing\n"
	"is written. Every --model and NAME|FILE argument also takes a FILE.onnx directly.\n\n"
	"NAME is a zoo model ('edgepipe models' lists them); FILE is a model file or an ONNX\n"
	"file (its name ends in .onnx).\n\n"
	"options:\n"
	"  --format text|csv|json      show: output format (default text)\n"
	"  --format model|onnx         export: file format (default model)\n"
	"  --table all|layers|cuts     which tables to print (default all)\n"
	"  --cuts exact|published      cut-point rule (default exact)\n"
	"  --accounting exact|published  memory and transfer accounting (default exact)\n"
	"  --dtype default|float32|float16|int8|float64\n"
	"                              element type for the exact accounting (default: each\n"
	"                              layer's own, float32 for the zoo)\n"
	"  --compression R             divide exact transfers by R >= 1 (default 1)\n"
	"  --exec                      show: also build each cut segment as an executor stage\n"
	"                              (models/model_exec.h, XNNPACK) and show its measured\n"
	"                              resident memory (weights, activations, workspace) beside\n"
	"                              the accounting's; a layer the executor cannot run or a\n"
	"                              bad weights file is refused (exit 2) before any output\n"
	"                              (weights: --weights FILE, the model file's, or generated\n"
	"                              from --seed)\n"
	"  --threads T                 --exec: threads per stage (default 1)\n"
	"  -o, --output FILE           export, import: write to FILE instead of stdout\n"
	"  --input-shape HxWxC         import: the input's size when the file leaves it unknown\n"
	"                              (an unknown batch is always taken as 1)\n"
	"  --seed S                    export --format onnx: weights seed (default 1)\n"
	"  --weights FILE              export --format onnx: raw float32 weights file instead\n"
	"  --weights-out FILE          import: also write the file's weights as a raw float32\n"
	"                              weights file (models/model_weights.h)\n"
	"  --name NAME                 import: the model's name (default: the ONNX graph's name,\n"
	"                              else the file name without .onnx)\n";

/* "HxWxC", three positive integers. */
static bool parse_input_shape(const char *s, int64_t out[3])
{
	char tail;

	if (sscanf(s, "%" SCNd64 "x%" SCNd64 "x%" SCNd64 "%c", &out[0], &out[1], &out[2],
		   &tail) != 3 || out[0] < 1 || out[1] < 1 || out[2] < 1 || out[0] > 1 << 20 ||
	    out[1] > 1 << 20 || out[2] > 1 << 20)
		return false;
	return true;
}

static int model_export(struct model_graph *g, const char *path);

/* model import: the ONNX file converted, then written whole (nothing on error). */
static int model_import(const char *path, const struct model_onnx_options *opt,
			const char *output, const char *weights_out)
{
	struct model_graph *g;
	struct model_weights *w = NULL;
	struct ep_error err;
	int rc = weights_out ? model_onnx_load_weights(path, opt, &g, &w, &err)
			     : model_onnx_load(path, opt, &g, &err);

	if (rc)
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	if (weights_out && (rc = model_weights_save(w, weights_out, &err)))
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	if (!rc)
		rc = model_export(g, output);
	model_weights_destroy(w);
	model_graph_destroy(g);
	return rc;
}

/* model export --format onnx: the model with generated (or loaded) weights. */
static int model_export_onnx(const char *spec, const char *output, unsigned long long seed,
			     const char *weights_in)
{
	struct model_graph *g;
	struct model_weights *w = NULL;
	struct ep_error err;
	int rc;

	if (!output)
		return cli_fail(2, "model export --format onnx: -o FILE is required (ONNX is "
				"binary)");
	if ((rc = model_zoo_open_weights(spec, weights_in, seed, &g, &w, &err)))
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	rc = model_onnx_save(w, output, &err);
	if (rc)
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	model_weights_destroy(w);
	model_graph_destroy(g);
	return rc;
}

static int parse_positive_double(const char *opt, const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	if (!*s || *end || !(*out >= 1.0) || *out > 1e12)
		return cli_fail(2, "%s '%s': expected a number >= 1", opt, s);
	return 0;
}

static int model_export(struct model_graph *g, const char *path)
{
	struct ep_error err;
	int rc = path ? model_file_save(g, path, &err) : model_file_write(g, stdout, &err);

	return rc ? cli_fail(cli_exit_code(rc), "%s", err.msg) : 0;
}

/* model show, export and import's options. */
struct model_cmd {
	const char *action;
	struct model_profile_options opt;
	struct model_onnx_options onnx;
	enum cli_format fmt;
	struct model_report_exec ex;
	const char *table, *output, *weights_in, *weights_out;
	unsigned long long seed;
	bool onnx_out;
};

static const struct option model_opts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "table", required_argument, NULL, 't' },
	{ "cuts", required_argument, NULL, 'c' },
	{ "accounting", required_argument, NULL, 'a' },
	{ "dtype", required_argument, NULL, 'd' },
	{ "compression", required_argument, NULL, 'r' },
	{ "output", required_argument, NULL, 'o' },
	{ "input-shape", required_argument, NULL, 'i' },
	{ "name", required_argument, NULL, 'n' },
	{ "seed", required_argument, NULL, 's' },
	{ "weights", required_argument, NULL, 'w' },
	{ "exec", no_argument, NULL, 'x' },
	{ "threads", required_argument, NULL, 'T' },
	{ "weights-out", required_argument, NULL, 'W' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* --format: export's file format, or show's output format. */
static int model_format(struct model_cmd *c, const char *arg)
{
	if (strcmp(c->action, "export") == 0) {
		if (strcmp(arg, "onnx") && strcmp(arg, "model"))
			return cli_fail(2, "--format '%s': export writes model or onnx", arg);
		c->onnx_out = strcmp(arg, "onnx") == 0;
	} else if (!cli_parse_format(arg, &c->fmt)) {
		return cli_fail(2, "--format '%s': expected text, csv or json", arg);
	}
	return -1;
}

/* --cuts, --accounting, --dtype and --threads. */
static int model_enum_option(struct model_cmd *c, int opt, const char *arg)
{
	char *end;
	long t;
	int v;

	switch (opt) {
	case 'c':
		if ((v = model_cut_rule_from_name(arg)) < 0)
			return cli_fail(2, "--cuts '%s': expected exact or published", arg);
		c->opt.cuts = (enum model_cut_rule)v;
		return -1;
	case 'a':
		if ((v = model_accounting_from_name(arg)) < 0)
			return cli_fail(2, "--accounting '%s': expected exact or published", arg);
		c->opt.accounting = (enum model_accounting)v;
		return -1;
	case 'd':
		if ((v = model_dtype_from_name(arg)) < 0)
			return cli_fail(2, "--dtype '%s': expected default, float32, float16, "
					"int8 or float64", arg);
		c->opt.dtype = (enum model_dtype)v;
		return -1;
	default: /* 'T' */
		t = strtol(arg, &end, 10);
		if (!*arg || *end || t < 1 || t > MODEL_EXEC_MAX_THREADS)
			return cli_fail(2, "--threads '%s': expected an integer in 1..%d", arg,
					MODEL_EXEC_MAX_THREADS);
		c->ex.threads = (int)t;
		return -1;
	}
}

/* One option: -1 taken, else the exit status (0 after --help). */
static int model_option(struct model_cmd *c, int opt, const char *arg)
{
	switch (opt) {
	case 'f': return model_format(c, arg);
	case 's': return cli_parse_u64("--seed", arg, &c->seed) ? -1 : 2;
	case 'w': c->weights_in = arg; return -1;
	case 'W': c->weights_out = arg; return -1;
	case 't':
		if (strcmp(arg, "all") && strcmp(arg, "layers") && strcmp(arg, "cuts"))
			return cli_fail(2, "--table '%s': expected all, layers or cuts", arg);
		c->table = arg;
		return -1;
	case 'c': case 'a': case 'd': case 'T': return model_enum_option(c, opt, arg);
	case 'r':
		return parse_positive_double("--compression", arg, &c->opt.compression) ? 2 : -1;
	case 'o': c->output = arg; return -1;
	case 'i':
		if (!parse_input_shape(arg, c->onnx.input_shape))
			return cli_fail(2, "--input-shape '%s': expected HxWxC, three positive "
					"integers such as 224x224x3", arg);
		return -1;
	case 'n': c->onnx.name = arg; return -1;
	case 'x': c->ex.on = true; return -1;
	case 'h':
		ep_help_write(stdout, show_usage, CLI_HELP_WIDTH);
		return 0;
	default:
		ep_help_write(stderr, show_usage, CLI_HELP_WIDTH);
		return 2;
	}
}

/* The action on the model NAME|FILE `name`. */
static int model_act(struct model_cmd *c, const char *name)
{
	const char *action = c->action;
	struct model_graph *g;
	struct ep_error err;
	int rc;

	/* Import's options would be ignored elsewhere: say so rather than run without them. */
	if (strcmp(action, "import") != 0 &&
	    (c->onnx.input_shape[0] || c->onnx.name || c->weights_out))
		return cli_fail(2, "model %s: %s is an option of 'model import' (import the ONNX "
				"file, then use the model file)", action,
				c->onnx.input_shape[0] ? "--input-shape"
				: c->onnx.name	       ? "--name"
						       : "--weights-out");
	if (strcmp(action, "import") == 0) {
		if (!model_onnx_is_path(name))
			return cli_fail(2, "model import: '%s' is not an ONNX file name (FILE.onnx)",
					name);
		return model_import(name, &c->onnx, c->output, c->weights_out);
	}
	if (strcmp(action, "export") == 0 && c->onnx_out)
		return model_export_onnx(name, c->output, c->seed, c->weights_in);
	rc = model_zoo_open(name, &g, &err);
	if (rc)
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	if (strcmp(action, "export") == 0) {
		rc = model_export(g, c->output);
	} else {
		c->ex.seed = c->seed;
		c->ex.weights = c->weights_in;
		rc = model_report_show(stdout, report_format(c->fmt), g, &c->opt,
				       strcmp(c->table, "cuts") != 0,
				       strcmp(c->table, "layers") != 0, &c->ex, &err);
		if (rc)
			rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	}
	model_graph_destroy(g);
	return rc;
}

int cmd_model(int argc, char **argv)
{
	struct model_cmd c = {
		.opt = MODEL_PROFILE_OPTIONS_DEFAULT, .onnx = MODEL_ONNX_OPTIONS_DEFAULT,
		.fmt = CLI_TEXT, .ex = { false, 1, 1, NULL }, .table = "all", .seed = 1,
	};
	int opt, rc = -1;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ep_help_write(argc < 2 ? stderr : stdout, show_usage, CLI_HELP_WIDTH);
		return argc < 2 ? 2 : 0;
	}
	c.action = argv[1];
	if (strcmp(c.action, "show") != 0 && strcmp(c.action, "export") != 0 &&
	    strcmp(c.action, "import") != 0)
		return cli_fail(2, "model: unknown action '%s' (show, export or import)", c.action);
	argc--;
	argv++;
	while (rc < 0 && (opt = getopt_long(argc, argv, "ho:", model_opts, NULL)) != -1)
		rc = model_option(&c, opt, optarg);
	if (rc >= 0)
		return rc;
	if (optind == argc)
		return cli_fail(2, "model %s: expected a model NAME or FILE", c.action);
	if (optind < argc - 1)
		return cli_fail(2, "model %s: unexpected argument '%s' after '%s'", c.action,
				argv[optind + 1], argv[optind]);
	return model_act(&c, argv[optind]);
}
