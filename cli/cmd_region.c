/*
 * edgepipe region: Feltin et al.'s acceleration region (experiments/region.h): over a grid of
 * bandwidths and device speeds, where partitioning over N identical nodes beats the best single
 * device, and the speed-up; a heat map and a CSV.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "cli.h"
#include "ep_units.h"
#include "ep_util.h"
#include "instance.h"
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

static bool parse_range(const char *opt, const char *s, bool flops, double *lo, double *hi)
{
	char buf[128], *colon;
	struct ep_error err;

	if (strlen(s) >= sizeof(buf) || !(colon = strchr(strcpy(buf, s), ':'))) {
		cli_fail(2, "%s '%s': expected MIN:MAX", opt, s);
		return false;
	}
	*colon = '\0';
	if ((flops ? ep_parse_flops(buf, lo, &err) || ep_parse_flops(colon + 1, hi, &err)
		   : ep_parse_bitrate(buf, lo, &err) || ep_parse_bitrate(colon + 1, hi, &err))) {
		cli_fail(2, "%s '%s': %s", opt, s, err.msg);
		return false;
	}
	if (!(*lo > 0 && *lo <= *hi)) {
		cli_fail(2, "%s '%s': need 0 < MIN <= MAX", opt, s);
		return false;
	}
	return true;
}

static void print_text(const struct region_cmd *c, const struct model_profile *prof,
		       const struct region_point *pts)
{
	const struct region_spec *s = &c->spec;
	int total = s->n_speed * s->n_bw, pays = 0, agree = 0, cut, best = -1;
	double bstar = region_min_cut_bits(prof, &cut), w;

	w = (double)(prof->cuts[prof->n_cuts - 1].cum_flops - prof->cuts[0].cum_flops);
	for (int i = 0; i < total; i++) {
		pays += pts[i].pays;
		agree += pts[i].pays == pts[i].pays_closed;
		if (pts[i].status == EP_OK && (best < 0 || pts[i].speedup > pts[best].speedup))
			best = i;
	}
	printf("%s on %d identical nodes, %s (%s), at most %d cut(s)%s; W = %.4g GFLOP\n",
	       prof->model, s->nodes, c->algo_name, algo_variant_name(s->algo_options.variant),
	       region_max_split(s), s->parallel ? ", parallel" : "", w / 1e9);
	if (isfinite(bstar))
		printf("closed form: partitioning pays iff B / s > b* / W = %.6g bit/FLOP (b* = %.6g "
		       "Mbit, the tensor after cut %d)\n", bstar / w, bstar / 1e6, cut);
	else
		printf("closed form: no interior cut with work on both sides: partitioning never "
		       "pays\n");
	printf("partitioning pays on %d of %d points; solver and closed form agree on %d\n", pays,
	       total, agree);
	if (best >= 0)
		printf("largest speed-up %.4f (%d stages) at %.4g Mbit/s, %.4g GFLOP/s\n",
		       pts[best].speedup, pts[best].stages, pts[best].bw_bps / 1e6,
		       pts[best].speed_flops / 1e9);
	printf("\nspeed-up T1 / T* (rows: device speed GFLOP/s; columns: bandwidth Mbit/s; '-' "
	       "no plan)\n%10s", "");
	for (int j = 0; j < s->n_bw; j++)
		printf(" %7.4g", pts[j].bw_bps / 1e6);
	printf("\n");
	for (int i = s->n_speed - 1; i >= 0; i--) {
		printf("%10.4g", pts[i * s->n_bw].speed_flops / 1e9);
		for (int j = 0; j < s->n_bw; j++) {
			const struct region_point *pt = &pts[i * s->n_bw + j];

			if (pt->status == EP_OK)
				printf(" %7.3f", pt->speedup);
			else
				printf(" %7s", "-");
		}
		printf("\n");
	}
}

static void print_json(const struct region_cmd *c, const struct model_profile *prof,
		       const struct region_point *pts)
{
	const struct region_spec *s = &c->spec;
	int cut;
	double bstar = region_min_cut_bits(prof, &cut);

	printf("{\n  \"model\": ");
	ep_json_string(stdout, prof->model);
	printf(",\n  \"nodes\": %d,\n  \"algo\": ", s->nodes);
	ep_json_string(stdout, c->algo_name);
	printf(",\n  \"variant\": \"%s\",\n  \"max_split\": %d,\n  \"parallel\": %s,\n",
	       algo_variant_name(s->algo_options.variant), region_max_split(s),
	       s->parallel ? "true" : "false");
	if (isfinite(bstar))
		printf("  \"min_cut_bits\": %.9g,\n  \"min_cut\": %d,\n", bstar, cut);
	else
		printf("  \"min_cut_bits\": null,\n  \"min_cut\": null,\n");
	printf("  \"points\": [\n");
	for (int i = 0; i < s->n_speed * s->n_bw; i++) {
		const struct region_point *pt = &pts[i];

		printf("    {\"bw_bps\": %.9g, \"speed_flops\": %.9g, \"status\": \"%s\", "
		       "\"single_s\": %.9g, ", pt->bw_bps, pt->speed_flops,
		       pt->status == EP_OK ? "ok" : ep_strerror(pt->status), pt->single_s);
		if (pt->status == EP_OK)
			printf("\"best_s\": %.9g, \"speedup\": %.9g, \"stages\": %d, ", pt->best_s,
			       pt->speedup, pt->stages);
		else
			printf("\"best_s\": null, \"speedup\": null, \"stages\": null, ");
		printf("\"pays\": %s, \"pays_closed\": %s, \"two_node_s\": %.9g, "
		       "\"speedup_bound\": %.9g}%s\n", pt->pays ? "true" : "false",
		       pt->pays_closed ? "true" : "false", pt->two_node_s, pt->speedup_bound,
		       i + 1 < s->n_speed * s->n_bw ? "," : "");
	}
	printf("  ]\n}\n");
}

static int run_region(struct region_cmd *c)
{
	struct instance_spec is = { .model = c->model };
	struct instance *inst = NULL;
	struct region_point *pts = NULL;
	struct ep_error err;
	int rc;

	is.profile = c->prof_opts;
	is.cluster = cluster_spec_default(c->spec.nodes, 1);
	is.problem = PROBLEM_OPTIONS_FELTIN;
	is.seed = 1;
	rc = instance_create(&is, &inst, &err);
	if (rc)
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	pts = calloc((size_t)c->spec.n_speed * (size_t)c->spec.n_bw, sizeof(*pts));
	if (!pts) {
		rc = cli_fail(1, "out of memory");
		goto out;
	}
	rc = region_compute(inst->profile, &c->spec, pts, &err);
	if (rc) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	if (c->fmt == CLI_CSV)
		rc = region_write_csv(stdout, inst->profile, &c->spec, pts, &err);
	else if (c->fmt == CLI_JSON)
		print_json(c, inst->profile, pts);
	else
		print_text(c, inst->profile, pts);
	if (rc) {
		rc = cli_fail(1, "%s", err.msg);
		goto out;
	}
	if (c->out_dir) {
		char base[160], path[4096];
		FILE *f;

		rc = region_plot(inst->profile, &c->spec, pts, c->out_dir, NULL, base, sizeof(base),
				 &err);
		if (rc) {
			rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s.csv", c->out_dir, base);
		f = fopen(path, "w");
		if (!f || region_write_csv(f, inst->profile, &c->spec, pts, &err) || fclose(f)) {
			rc = cli_fail(1, "cannot write '%s'", path);
			goto out;
		}
		fprintf(stderr, "wrote %s/%s.{png,svg,gp,dat,csv}\n", c->out_dir, base);
	}
	rc = 0;
out:
	free(pts);
	instance_destroy(inst);
	return rc;
}

int cmd_region(int argc, char **argv)
{
	enum {
		O_MODEL = 256, O_NODES, O_BW, O_SPEED, O_GRID, O_ALGO, O_VARIANT, O_PARALLEL,
		O_DTYPE, O_COMPRESSION, O_FORMAT, O_OUT, O_HELP,
	};
	static const struct option own[] = {
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
	struct option *opts = cli_options_with_algos(own);
	struct region_cmd c;
	long v;
	int opt, rc = 2;

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
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (cli_algo_option_parse(&c.spec.algo_options, opt, optarg)) {
		case 1: continue;
		case -1: goto out;
		}
		switch (opt) {
		case O_MODEL: c.model = optarg; break;
		case O_NODES:
			if (!cli_parse_int("--nodes", optarg, 1, 1000, &v))
				goto out;
			c.spec.nodes = (int)v;
			break;
		case O_BW:
			if (!parse_range("--bw-range", optarg, false, &c.spec.bw_min_bps,
					 &c.spec.bw_max_bps))
				goto out;
			break;
		case O_SPEED:
			if (!parse_range("--speed-range", optarg, true, &c.spec.speed_min_flops,
					 &c.spec.speed_max_flops))
				goto out;
			break;
		case O_GRID:
			if (!cli_parse_int("--grid", optarg, 1, 200, &v))
				goto out;
			c.spec.n_bw = c.spec.n_speed = (int)v;
			break;
		case O_ALGO:
			if (!cli_algo_find(optarg, false))
				goto out;
			c.algo_name = optarg;
			break;
		case O_VARIANT:
			if ((v = algo_variant_from_name(optarg)) < 0) {
				cli_fail(2, "--variant '%s': expected corrected or published",
					 optarg);
				goto out;
			}
			c.spec.algo_options.variant = (enum algo_variant)v;
			break;
		case O_PARALLEL: c.spec.parallel = true; break;
		case O_DTYPE:
			if ((v = model_dtype_from_name(optarg)) < 0) {
				cli_fail(2, "--dtype '%s': expected float32, float16, int8 or "
					 "float64", optarg);
				goto out;
			}
			c.prof_opts.dtype = (enum model_dtype)v;
			break;
		case O_COMPRESSION:
			if (!cli_parse_double("--compression", optarg, 1, 1e12,
					      &c.prof_opts.compression))
				goto out;
			break;
		case O_FORMAT:
			if (!cli_parse_format(optarg, &c.fmt)) {
				cli_fail(2, "--format '%s': expected text, csv or json", optarg);
				goto out;
			}
			break;
		case O_OUT: c.out_dir = optarg; break;
		case O_HELP:
			cli_usage_write(stdout, region_usage, "NAME", "feltin");
			rc = 0;
			goto out;
		default: cli_usage_write(stderr, region_usage, "NAME", "feltin"); goto out;
		}
	}
	if (optind < argc) {
		rc = cli_fail(2, "region: unexpected argument '%s'", argv[optind]);
	} else if (!c.model) {
		rc = cli_fail(2, "region: --model is required (see 'edgepipe region --help')");
	} else {
		c.spec.algo = algo_find(c.algo_name);
		rc = run_region(&c);
	}
out:
	free(opts);
	return rc;
}
