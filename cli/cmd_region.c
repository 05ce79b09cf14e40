/*
 * edgepipe region: Feltin et al.'s acceleration region (experiments/region.h): over a grid of
 * bandwidths and device speeds, where partitioning over N identical nodes beats the best single
 * device, and the speed-up; a heat map and a CSV.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "cli.h"
#include "ep_util.h"
#include "region.h"

static const char *const region_usage[] = {
	"usage: edgepipe region --model NAME|FILE [--nodes N] [options]\n\n"
	"Where does partitioning a model over N identical nodes beat the best single device (Feltin\n"
	"et al.'s acceleration region)? Every point of a grid of link bandwidths and device speeds\n"
	"is solved under Feltin's metric (compute and inter-stage hops; no latency; memory does not\n"
	"limit), beside the closed forms of experiments/region.h: one device takes W / s; a cut k\n"
	"pays if and only if its transfer b_k / B is below W / s, so the region is B / s > b* / W.\n\n"
	"  --model NAME|FILE          zoo model ('edgepipe models') or model file\n"
	"  --nodes N                  identical nodes (default 4)\n"
	"  --bw-range MIN:MAX         bandwidth axis, log-spaced (default 1Mbit:10Gbit)\n"
	"  --speed-range MIN:MAX      device speed axis, log-spaced (default 1GFLOPS:1TFLOPS)\n"
	"  --grid G                   points per axis (default 21)\n"
	"  --parallel                 nodes may hold several stages (Feltin et al.'s parallel)\n"
	"  --dtype T                  the tensors' element type (as in model show)\n"
	"  --compression R            their compression (as in model show)\n"
	"output:\n"
	"  --format text|csv|json     (default text: summary and the speed-up table)\n"
	"  --out DIR                  also write the heat map (region-MODEL-NnN.png/.svg/.gp/.dat)\n"
	"                             and the CSV (region-MODEL-NnN.csv) into DIR\n"
	"the solver (feltin by default; optimal for the exact optimum); --max-split S\n"
	"bounds the stages to min(N, S + 1) also for the closed forms:\n",
	cli_usage_algorithms,
	NULL,
};

struct region_cmd {
	const char *model, *out_dir;
	struct region_spec spec;
	struct model_profile_options prof_opts;
	enum cli_format fmt;
	const char *algo_name;
};

/* --bw-range, --speed-range: -1, or 2 with the message printed. */
static int region_axis_option(const char *opt, const char *s, bool flops, double *lo, double *hi)
{
	struct ep_error err;

	return region_axis_parse(opt, s, flops, lo, hi, &err) ? cli_fail(2, "%s", err.msg) : -1;
}

static int run_region(const struct region_cmd *c)
{
	struct region_map *m = NULL;
	struct ep_error err;
	char base[160];
	int rc = region_map_create(c->model, &c->prof_opts, &c->spec, &m, &err);

	if (!rc)
		rc = region_map_write(stdout,
				      c->fmt == CLI_CSV	   ? REGION_CSV
				      : c->fmt == CLI_JSON ? REGION_JSON
							   : REGION_TEXT,
				      m, &err);
	if (!rc && c->out_dir &&
	    !(rc = region_map_save(m, c->out_dir, NULL, base, sizeof(base), &err)))
		fprintf(stderr, "wrote %s/%s.{png,svg,gp,dat,csv}\n", c->out_dir, base);
	if (rc)
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	region_map_destroy(m);
	return rc;
}

enum {
	O_MODEL = 256, O_NODES, O_BW, O_SPEED, O_GRID, O_ALGO, O_VARIANT, O_PARALLEL,
	O_DTYPE, O_COMPRESSION, O_FORMAT, O_OUT, O_HELP,
};

static const struct option region_own[] = {
	{ "model", required_argument, NULL, O_MODEL },
	{ "nodes", required_argument, NULL, O_NODES },
	{ "bw-range", required_argument, NULL, O_BW },
	{ "speed-range", required_argument, NULL, O_SPEED },
	{ "grid", required_argument, NULL, O_GRID },
	{ "algo", required_argument, NULL, O_ALGO },
	{ "variant", required_argument, NULL, O_VARIANT },
	{ "parallel", no_argument, NULL, O_PARALLEL },
	{ "dtype", required_argument, NULL, O_DTYPE },
	{ "compression", required_argument, NULL, O_COMPRESSION },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "out", required_argument, NULL, O_OUT },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* --variant and --dtype: -1, or 2 with the message printed. */
static int region_enum_option(struct region_cmd *c, int opt, const char *arg)
{
	int v;

	if (opt == O_VARIANT) {
		if ((v = algo_variant_from_name(arg)) < 0)
			return cli_fail(2, "--variant '%s': expected corrected or published", arg);
		c->spec.algo_options.variant = (enum algo_variant)v;
		return -1;
	}
	if ((v = model_dtype_from_name(arg)) < 0)
		return cli_fail(2, "--dtype '%s': expected float32, float16, int8 or float64", arg);
	c->prof_opts.dtype = (enum model_dtype)v;
	return -1;
}

/* One option: -1 taken, else the exit status (0 after --help). */
static int region_option(struct region_cmd *c, int opt, const char *arg)
{
	struct region_spec *sp = &c->spec;
	long v;

	switch (opt) {
	case O_MODEL: c->model = arg; return -1;
	case O_NODES:
		if (!cli_parse_int("--nodes", arg, 1, 1000, &v))
			return 2;
		sp->nodes = (int)v;
		return -1;
	case O_BW:
		return region_axis_option("--bw-range", arg, false, &sp->bw_min_bps,
					  &sp->bw_max_bps);
	case O_SPEED:
		return region_axis_option("--speed-range", arg, true, &sp->speed_min_flops,
					  &sp->speed_max_flops);
	case O_GRID:
		if (!cli_parse_int("--grid", arg, 1, 200, &v))
			return 2;
		sp->n_bw = sp->n_speed = (int)v;
		return -1;
	case O_ALGO:
		if (!cli_algo_find(arg, false))
			return 2;
		c->algo_name = arg;
		return -1;
	case O_VARIANT: case O_DTYPE: return region_enum_option(c, opt, arg);
	case O_PARALLEL: sp->parallel = true; return -1;
	case O_COMPRESSION:
		return cli_parse_double("--compression", arg, 1, 1e12, &c->prof_opts.compression)
			       ? -1 : 2;
	case O_FORMAT:
		if (!cli_parse_format(arg, &c->fmt))
			return cli_fail(2, "--format '%s': expected text, csv or json", arg);
		return -1;
	case O_OUT: c->out_dir = arg; return -1;
	case 'h':
	case O_HELP:
		cli_usage_write(stdout, region_usage, "NAME", "feltin");
		return 0;
	default:
		cli_usage_write(stderr, region_usage, "NAME", "feltin");
		return 2;
	}
}

int cmd_region(int argc, char **argv)
{
	struct option *opts = cli_options_with_algos(region_own);
	struct region_cmd c;
	int opt, rc = -1;

	memset(&c, 0, sizeof(c));
	c.spec.nodes = 4;
	c.spec.algo_options = ALGO_OPTIONS_DEFAULT;
	c.spec.bw_min_bps = 1e6;
	c.spec.bw_max_bps = 10e9;
	c.spec.speed_min_flops = 1e9;
	c.spec.speed_max_flops = 1e12;
	c.spec.n_bw = c.spec.n_speed = 21;
	c.prof_opts = MODEL_PROFILE_OPTIONS_DEFAULT;
	c.algo_name = "feltin";
	optind = 1;
	if (!opts)
		return cli_fail(1, "out of memory");
	while (rc < 0 && (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int taken = cli_algo_option_parse(&c.spec.algo_options, opt, optarg);

		rc = taken < 0 ? 2 : taken > 0 ? -1 : region_option(&c, opt, optarg);
	}
	free(opts);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return cli_fail(2, "region: unexpected argument '%s'", argv[optind]);
	if (!c.model)
		return cli_fail(2, "region: --model is required (see 'edgepipe region --help')");
	c.spec.algo = algo_find(c.algo_name);
	return run_region(&c);
}
