/*
 * edgepipe plan: partition and place one model on one cluster with one algorithm (or all of
 * them side by side), and print the stages, the bottleneck and the solve time.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "algo.h"
#include "cli.h"
#include "ep_util.h"
#include "instance.h"
#include "plan_report.h"

/* In parts: C99 compilers need only accept string literals of 4095 characters. */
static const char *const plan_usage[] = {
	"usage: edgepipe plan --model NAME|FILE --mem SIZE[,SIZE...] [--nodes N] [options]\n\n"
	"Partition the model into pipeline stages and place them on a cluster's nodes; print the\n"
	"stages, the bottleneck latency, the throughput and the solve time.\n\n"
	CLI_INSTANCE_USAGE
	"algorithm:\n",
	cli_usage_algorithms,
	CLI_METRIC_USAGE
	CLI_COMPUTE_USAGE,
	CLI_CODEC_DEVICE_USAGE
	"output:\n"
	"  --format text|csv|json     (default text)\n"
	"  --instance-out FILE        also write the instance as JSON (cut points, nodes, bandwidths)\n",
	CLI_SCENARIO_USAGE,
	NULL,
};

struct plan_cmd {
	struct cli_instance_opts o; /* spec, algorithm and its options */
	const char *instance_out;
	enum cli_format fmt;
};
/* Write the instance as JSON to c->instance_out (--instance-out): 0 or the exit status. */
static int write_instance(const struct plan_cmd *c, const struct instance *inst)
{
	FILE *f = fopen(c->instance_out, "w");
	struct ep_error err;

	if (!f || instance_write_json(inst, f, &err)) {
		if (f)
			fclose(f);
		return cli_fail(1, "cannot write the instance to '%s'", c->instance_out);
	}
	fclose(f);
	return 0;
}

static int run_plan(struct plan_cmd *c)
{
	struct instance *inst = NULL;
	struct algo_result results[16];
	const struct algo *algos[16];
	int n_algos = 0, rc = 0;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct ep_error err;

	if (!rng)
		return cli_fail(1, "out of memory");
	if (strcmp(c->o.algo_name, "all") == 0) {
		for (int i = 0; algo_registry[i] && n_algos < 16; i++)
			algos[n_algos++] = algo_registry[i];
	} else if ((algos[0] = cli_algo_find(c->o.algo_name, true))) {
		n_algos = 1;
	} else {
		gsl_rng_free(rng);
		return 2;
	}
	rc = instance_create(&c->o.spec, &inst, &err);
	if (rc) {
		gsl_rng_free(rng);
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	}
	if (c->instance_out && (rc = write_instance(c, inst)))
		goto out;
	for (int i = 0; i < n_algos; i++)
		algo_result_init(&results[i]);
	rc = plan_report_solve(inst, &c->o.spec, &c->o.algo, algos, n_algos, rng, results, &err);
	if (!rc) {
		struct plan_report rep = {
			inst,
			&c->o.spec,
			c->o.algo.variant,
			c->o.have_power ? &c->o.power : NULL,
			algos,
			results,
			n_algos,
			cli_scenario_path(),
			cli_scenario_text(),
		};

		rc = plan_report_write(stdout,
				       c->fmt == CLI_JSON  ? PLAN_REPORT_JSON
				       : c->fmt == CLI_CSV ? PLAN_REPORT_CSV
							   : PLAN_REPORT_TEXT,
				       &rep, &err);
	}
	if (rc)
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	for (int i = 0; i < n_algos; i++)
		algo_result_release(&results[i]);
out:
	instance_destroy(inst);
	gsl_rng_free(rng);
	return rc;
}

int cmd_plan(int argc, char **argv)
{
	enum { O_FORMAT = CLI_O_INSTANCE_END, O_INSTANCE_OUT, O_HELP };
	static const struct option own[] = {
		CLI_INSTANCE_OPTIONS,
		CLI_COMPUTE_OPTIONS,
		CLI_SCENARIO_OPTION,
		{ "format", required_argument, NULL, O_FORMAT },
		{ "instance-out", required_argument, NULL, O_INSTANCE_OUT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct option *opts = cli_options_with_algos(own);
	struct plan_cmd *c = calloc(1, sizeof(*c));
	int opt, rc = 2;

	if (!c || !opts) {
		free(c);
		free(opts);
		return cli_fail(1, "out of memory");
	}
	cli_instance_opts_init(&c->o);
	if ((opt = cli_scenario_expand("plan", opts, &argc, &argv)) != 0) {
		rc = opt;
		goto out;
	}
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (cli_instance_opts_parse(&c->o, opt, optarg)) {
		case 1: continue;
		case -1: goto out;
		}
		switch (opt) {
		case O_FORMAT:
			if (!cli_parse_format(optarg, &c->fmt)) {
				cli_fail(2, "--format '%s': expected text, csv or json", optarg);
				goto out;
			}
			break;
		case CLI_O_COMPUTE: /* how a run's stages compute (cli.h) */
			if (cli_scenario_where())
				break; /* the scenario's, for sim, emu and compare */
			cli_fail(2, "--compute '%s': expected flops or profile:FILE", optarg);
			goto out;
		case O_INSTANCE_OUT: c->instance_out = optarg; break;
		case 'h':
		case O_HELP:
			cli_usage_write(stdout, plan_usage, "NAME|all", "seifer");
			rc = 0;
			goto out;
		default:
			cli_usage_write(stderr, plan_usage, "NAME|all", "seifer");
			goto out;
		}
	}
	if (optind < argc) {
		cli_fail(2, "plan: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!cli_instance_opts_finish(&c->o, "plan"))
		goto out;
	rc = run_plan(c);
out:
	free(c);
	free(opts);
	return rc;
}
