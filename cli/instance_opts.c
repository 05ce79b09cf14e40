/*
 * The instance and algorithm options shared by `edgepipe plan` and `edgepipe sim` (cli.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "emu_codec.h"
#include "ep_units.h"
#include "ep_util.h"

void cli_instance_opts_init(struct cli_instance_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->spec.profile = MODEL_PROFILE_OPTIONS_DEFAULT;
	o->spec.cluster = cluster_spec_default(10, 0);
	o->spec.cluster.bw_min_bps = 1e6;
	o->spec.cluster.bw_max_bps = 100e6;
	o->spec.cluster.classes = 4;
	o->spec.seed = 1;
	o->algo = ALGO_OPTIONS_DEFAULT;
	o->algo_name = "seifer";
}

/* A name from one of the libraries' lists (`from_name` returns -1 for none): its value, or -1
 * with "OPT 'ARG': expected EXPECTED" printed. */
static int parse_name(const char *opt, const char *arg, int (*from_name)(const char *),
		      const char *expected)
{
	int v = from_name(arg);

	if (v < 0)
		cli_fail(2, "%s '%s': expected %s", opt, arg, expected);
	return v;
}

/* A quantity with units (ep_units.h's parsers): 1, or -1 with "OPT: what is wrong" printed. */
static int parse_units(const char *opt, const char *arg,
		       int (*parse)(const char *, double *, struct ep_error *), double *out)
{
	struct ep_error err;

	if (parse(arg, out, &err))
		return cli_opt_bad("%s: %s", opt, err.msg);
	return 1;
}

int cli_compute_mode(const char *arg)
{
	if (strcmp(arg, "on") == 0 || strcmp(arg, "model") == 0)
		return CLI_COMPUTE_ON;
	if (strcmp(arg, "off") == 0 || strcmp(arg, "none") == 0)
		return CLI_COMPUTE_OFF;
	if (strcmp(arg, "real") == 0)
		return CLI_COMPUTE_REAL;
	return -1;
}

static int parse_compute(struct cli_instance_opts *c, const char *arg)
{
	if (cli_compute_mode(arg) >= 0)
		return 0; /* how a run's stages compute: the command's */
	if (strcmp(arg, "flops") == 0) {
		c->spec.compute_profile = NULL;
		return 1;
	}
	if (strncmp(arg, "profile:", 8) == 0 && arg[8]) {
		c->spec.compute_profile = arg + 8;
		return 1;
	}
	cli_fail(2, "--compute '%s': expected flops or profile:FILE", arg);
	return -1;
}

int cli_algo_option_parse(struct algo_options *o, int opt, const char *arg)
{
	const struct algo_option *list[CLI_MAX_ALGO_OPTIONS];
	int n = algo_option_list(algo_registry, list, CLI_MAX_ALGO_OPTIONS);
	struct ep_error err;

	if (opt < CLI_O_ALGO_OPTION || opt >= CLI_O_ALGO_OPTION + n ||
	    opt >= CLI_O_ALGO_OPTION + CLI_MAX_ALGO_OPTIONS)
		return 0;
	if (algo_options_parse(o, list[opt - CLI_O_ALGO_OPTION], arg, &err)) {
		cli_fail(2, "%s", err.msg);
		return -1;
	}
	return 1;
}

/* The cluster's options (and --compute's planner source): as cli_instance_opts_parse. */
static int parse_cluster(struct cli_instance_opts *c, int opt, const char *arg)
{
	struct cluster_spec *cl = &c->spec.cluster;
	struct ep_error err;
	long v = 0;
	int n = 0;

	switch (opt) {
	case CLI_O_NODES:
		if (!cli_parse_int("--nodes", arg, 1, CLUSTER_MAX_NODES, &v))
			return -1;
		cl->n = (int)v;
		c->have_nodes = true;
		return 1;
	case CLI_O_MEM:
		if (cluster_mem_list_parse("--mem", arg, c->mem_list, CLI_INSTANCE_MAX_MEM, &n,
					   &err))
			return cli_parsed(EP_EINVAL, &err);
		cl->mem_bytes = c->mem_list[0];
		cl->mem_list = n > 1 ? c->mem_list : NULL;
		cl->n_mem_list = n > 1 ? n : 0;
		c->have_mem = true;
		return 1;
	case CLI_O_CLUSTER:
		if ((v = parse_name("--cluster", arg, cluster_kind_from_name,
				    "geometric, uniform, classes or file")) < 0)
			return -1;
		cl->kind = (enum cluster_kind)v;
		return 1;
	case CLI_O_CLUSTER_FILE: cl->path = arg; return 1;
	case CLI_O_DISPATCHER_BW:
		if (ep_parse_bitrate(arg, &cl->dispatcher_bw_bps, &err) ||
		    !(cl->dispatcher_bw_bps > 0))
			return cli_opt_bad("--dispatcher-bw '%s': expected a positive rate, e.g. "
					   "1Gbit",
					   arg);
		return 1;
	case CLI_O_BW_RANGE:
		return cli_parsed(cluster_bw_range_parse("--bw-range", arg, &cl->bw_min_bps,
							 &cl->bw_max_bps, &err),
				  &err);
	case CLI_O_LINK_CLASSES:
		if (!cli_parse_int("--link-classes", arg, 1, 1000, &v))
			return -1;
		cl->classes = (int)v;
		return 1;
	case CLI_O_LATENCY: return parse_units("--latency", arg, ep_parse_duration, &cl->latency_s);
	case CLI_O_SPEED:
		if (parse_units("--speed", arg, ep_parse_flops, &cl->speed_flops) < 0)
			return -1;
		c->have_speed = true;
		return 1;
	case CLI_O_COMPUTE: return parse_compute(c, arg);
	case CLI_O_SPEED_FACTOR:
		if (cluster_speed_factor_list_parse("--speed-factor", arg, c->speed_factors,
						    CLI_INSTANCE_MAX_MEM, &n, &err))
			return cli_parsed(EP_EINVAL, &err);
		cl->speed_factor = c->speed_factors[0];
		cl->speed_factor_list = n > 1 ? c->speed_factors : NULL;
		cl->n_speed_factor_list = n > 1 ? n : 0;
		c->have_speed_factor = true;
		return 1;
	}
	return 0;
}

/* The model's, the algorithm's and the cost's options: as cli_instance_opts_parse. */
static int parse_problem(struct cli_instance_opts *c, int opt, const char *arg)
{
	struct ep_error err;
	unsigned long long seed;
	long v = 0;

	switch (opt) {
	case CLI_O_MODEL: c->spec.model = arg; return 1;
	case CLI_O_SEED:
		if (!cli_parse_u64("--seed", arg, &seed))
			return -1;
		c->spec.seed = seed;
		return 1;
	case CLI_O_TRIAL:
		if (!cli_parse_int("--trial", arg, 0, 100000000, &v))
			return -1;
		c->spec.trial = (int)v;
		return 1;
	case CLI_O_ALGO: c->algo_name = arg; return 1;
	case CLI_O_VARIANT:
		if ((v = parse_name("--variant", arg, algo_variant_from_name,
				    "corrected or published")) < 0)
			return -1;
		c->algo.variant = (enum algo_variant)v;
		return 1;
	case CLI_O_ACCOUNTING: c->accounting = arg; return 1;
	case CLI_O_CUTS: c->cuts = arg; return 1;
	case CLI_O_DTYPE:
		if ((v = parse_name("--dtype", arg, model_dtype_from_name,
				    "float32, float16, int8 or float64")) < 0)
			return -1;
		c->spec.profile.dtype = (enum model_dtype)v;
		return 1;
	case CLI_O_COMPRESSION:
		if (!cli_parse_double("--compression", arg, 1, 1e12, &c->spec.profile.compression))
			return -1;
		return 1;
	case CLI_O_METRIC: c->metric = arg; return 1;
	case CLI_O_PARALLEL: c->parallel = true; return 1;
	case CLI_O_CODEC_PROFILE:
		return cli_parsed(problem_codec_parse("--codec-profile", arg, emu_codec_spec_canon,
						      &c->codec, &err),
				  &err);
	case CLI_O_DEVICE:
		if (power_model_parse(arg, &c->power, &err))
			return cli_opt_bad("--device: %s", err.msg);
		c->have_power = true;
		return 1;
	}
	return 0;
}

int cli_instance_opts_parse(struct cli_instance_opts *c, int opt, const char *arg)
{
	int rc;

	if (opt == CLI_O_SCENARIO) {
		/* applied before the options by cli_scenario_expand */
		if (!cli_scenario_path())
			return cli_opt_bad("--scenario '%s': this command does not read scenarios",
					   arg);
		return 1;
	}
	if ((rc = parse_cluster(c, opt, arg)) || (rc = parse_problem(c, opt, arg)))
		return rc;
	return cli_algo_option_parse(&c->algo, opt, arg);
}

bool cli_compute_check(const struct cli_instance_opts *c)
{
	if (c->spec.compute_profile && c->have_speed) {
		cli_fail(2, "--speed %g FLOP/s with --compute profile:%s: a node's speed is then "
			 "--speed-factor (of the profiling host)", c->spec.cluster.speed_flops,
			 c->spec.compute_profile);
		return false;
	}
	if (!c->spec.compute_profile && c->have_speed_factor && !c->real_compute) {
		cli_fail(2, "--speed-factor needs --compute profile:FILE (with FLOPs, the speed is "
			 "--speed)");
		return false;
	}
	return true;
}

bool cli_instance_opts_finish(struct cli_instance_opts *c, const char *cmd)
{
	struct ep_error err;
	long v = 0;

	if (!c->spec.model || !c->have_mem) {
		cli_fail(2, "%s: --model and --mem are required (see 'edgepipe %s --help')", cmd, cmd);
		return false;
	}
	if (c->spec.cluster.kind == CLUSTER_FILE && !c->spec.cluster.path) {
		cli_fail(2, "--cluster file needs --cluster-file CSV");
		return false;
	}
	if (c->spec.cluster.kind != CLUSTER_FILE && c->spec.cluster.dispatcher_bw_bps > 0) {
		cli_fail(2, "--dispatcher-bw: only with --cluster file (the generated clusters draw "
			 "the dispatcher's links with the others)");
		return false;
	}
	if (c->spec.cluster.kind == CLUSTER_FILE && !c->have_nodes)
		c->spec.cluster.n = 0;
	if (!cli_compute_check(c))
		return false;
	instance_spec_set_variant(&c->spec, c->algo.variant);
	if (c->accounting && (v = parse_name("--accounting", c->accounting,
					     model_accounting_from_name, "exact or published")) < 0)
		return false;
	if (c->accounting)
		c->spec.profile.accounting = (enum model_accounting)v;
	if (c->cuts && (v = parse_name("--cuts", c->cuts, model_cut_rule_from_name,
				       "exact or published")) < 0)
		return false;
	if (c->cuts)
		c->spec.profile.cuts = (enum model_cut_rule)v;
	if (c->metric && problem_metric_parse("--metric", c->metric, &c->spec.problem, &err))
		return cli_fail(2, "%s", err.msg) == 0;
	if (c->parallel && (strcmp(cmd, "sim") == 0 || strcmp(cmd, "emu") == 0)) {
		cli_fail(2, "--parallel: 'edgepipe %s' runs plans with one stage per node only", cmd);
		return false;
	}
	c->spec.problem.shared_nodes = c->parallel;
	if (c->codec.ratio > 0 && c->spec.profile.compression > 1) {
		cli_fail(2, "--compression %g with --codec-profile '%s': both shrink the transfers "
			 "(the first by a plain factor, without coding time); give one",
			 c->spec.profile.compression, c->codec.spec);
		return false;
	}
	c->spec.problem.codec = c->codec;
	return true;
}

struct option *cli_options_with_algos(const struct option *own)
{
	const struct algo_option *list[CLI_MAX_ALGO_OPTIONS];
	int n = algo_option_list(algo_registry, list, CLI_MAX_ALGO_OPTIONS), k = 0, m = 0;
	struct option *out;

	if (n > CLI_MAX_ALGO_OPTIONS)
		n = CLI_MAX_ALGO_OPTIONS;
	while (own[k].name)
		k++;
	out = calloc((size_t)(k + n + 1), sizeof(*out));
	if (!out)
		return NULL;
	memcpy(out, own, (size_t)k * sizeof(*out));
	m = k;
	for (int i = 0; i < n; i++) {
		bool mine = false;

		for (int j = 0; j < k && !mine; j++)
			mine = strcmp(own[j].name, list[i]->name) == 0;
		if (mine)
			continue;
		out[m++] = (struct option){ list[i]->name,
					    list[i]->arg ? required_argument : no_argument, NULL,
					    CLI_O_ALGO_OPTION + i };
	}
	return out;
}

const char cli_usage_algorithms[] = "(the algorithms' options)";

void cli_usage_write(FILE *f, const char *const *parts, const char *algo_arg,
		     const char *default_algo)
{
	char head[64], *text = NULL;
	size_t size = 0;
	FILE *m = open_memstream(&text, &size);

	if (!m)
		return;
	for (int i = 0; parts[i]; i++) {
		if (parts[i] != cli_usage_algorithms) {
			fputs(parts[i], m);
			continue;
		}
		snprintf(head, sizeof(head), "--algo %s", algo_arg);
		fprintf(m, "  %-26s one of the algorithms below%s\n", head,
			strstr(algo_arg, "all") ? ", or all of them" : "");
		fputs("  --variant corrected|published  the reference's defects fixed (default) or "
		      "reproduced;\n"
		      "                             published also selects the published accounting, "
		      "cut rule and\n"
		      "                             metric\n"
		      "algorithms and their options:\n", m);
		algo_usage_write(m, algo_registry, default_algo);
	}
	if (fclose(m) == 0)
		ep_help_write(f, text, CLI_HELP_WIDTH);
	free(text);
}

const struct algo *cli_algo_find(const char *name, bool all)
{
	const struct algo *a = algo_find(name);
	char names[1024];

	if (!a) {
		algo_names_format(algo_registry, NULL, names, sizeof(names));
		cli_fail(2, "--algo '%s': unknown algorithm (%s%s)", name, names,
			 all ? ", or all" : "");
	}
	return a;
}
