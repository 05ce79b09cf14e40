/*
 * edgepipe sim: plan a model with one algorithm, then simulate the running pipeline event by
 * event (sim/sim_pipeline.h), and print the analytic bottleneck beside the simulated throughput
 * and latencies, the servers' utilisation, and what crashes and updates did.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


#include "cli.h"
#include "ep_units.h"
#include "ep_util.h"
#include "model_zoo.h"
#include "sim_pipeline.h"
#include "trial.h"

#define MAX_UPDATES TRIAL_MAX_UPDATES

/* In parts: C99 compilers need only accept string literals of 4095 characters. */
static const char *const sim_usage[] = {
	"usage: edgepipe sim --model NAME|FILE --mem SIZE[,SIZE...] [--nodes N] [options]\n\n"
	"Plan the model with one algorithm, then simulate the pipeline event by event: requests\n"
	"queueing at the stages and on the links, node crashes, their detection, re-planning and\n"
	"redeployment, a model update. Prints the analytic bottleneck beside the simulated\n"
	"throughput and latencies.\n\n"
	CLI_INSTANCE_USAGE
	"algorithm (the plan, and every re-plan after a crash or an update):\n",
	cli_usage_algorithms,
	CLI_METRIC_USAGE
	CLI_COMPUTE_USAGE,
	CLI_CODEC_DEVICE_USAGE,
	CLI_RUN_WORKLOAD_USAGE
	"                             (sim: --requests 1000 by default; the window is re-sized\n"
	"                             to each plan when a new one goes live)\n"
	"  --warmup-time DURATION     and no measurement before this time (default 0)\n"
	"  --service det|exp|lognormal[:CV]   stage compute times around FLOPs / speed (default det)\n"
	"  --transfer det|exp|lognormal[:CV]  link hop times around bits / bandwidth + latency\n"
	"  --shared-medium            each node's sends and receives share one half-duplex medium;\n"
	"                             a transfer needs both ends' media; when one ends, the\n"
	"                             sender's medium starts its earliest waiting transfer first,\n"
	"                             then the receiver's\n"
	"  --latency-overlap          a link is busy for bits / bandwidth only; the latency overlaps\n"
	"                             the next transfer (default: busy for the whole hop)\n"
	"  --compute on|off           stages take their compute time (FLOPs / speed, or measured\n"
	"                             with profile:FILE) or none (default: as the metric counts it);\n"
	"                             emu's model and real mean on, none off\n"
	"  --dispatcher-hops on|off   the input and output hops take time (default: likewise)\n",
	CLI_RUN_TIMELINE_USAGE
	"  --mtbf DURATION            also crash each node after an exponential time of this mean\n"
	"                             (sim: heartbeats every 1s, timeout 3s; a request is resent,\n"
	"                             no sooner than the retry timeout after its last send, once\n"
	"                             failure detection says its attempt may be lost (a node of\n"
	"                             its plan declared dead, or its plan dropped); a slow request\n"
	"                             in a healthy pipeline is never resent; default: heartbeat\n"
	"                             timeout + period; up to 16 updates, in time order)\n"
	CLI_RUN_OUTPUT_USAGE
	"  --trace FILE               write every event of the run to FILE, one line each\n"
	"exit status: 0 done; 1 failure; 2 bad input (also a --warmup-time that leaves nothing to\n"
	"measure); 3 the run stopped because no plan fits on the surviving nodes (requests never\n"
	"completed; the report says which incident)\n",
	CLI_SCENARIO_USAGE,
	NULL,
};

static void print_usage(FILE *f)
{
	cli_usage_write(f, sim_usage, "NAME", "seifer");
}

struct sim_cmd {
	struct cli_instance_opts o;
	struct trial_sim_options so; /* the simulator's own options */
	struct cli_run_opts r;
	const char *trace_path;
	char command[2048];         /* the command line, for --db */
	struct timeline_fault *faults; /* the timeline's (run_sim) */
	int n_faults;
};

/* --service, --transfer (sim_dist_parse): false with the message printed. */
static bool parse_dist(const char *opt, const char *s, enum sim_dist *d, double *cv)
{
	struct ep_error err;

	return cli_parsed(sim_dist_parse(opt, s, d, cv, &err), &err) > 0;
}

static bool parse_on_off(const char *opt, const char *s, int *out)
{
	if (strcmp(s, "on") == 0)
		*out = 1;
	else if (strcmp(s, "off") == 0)
		*out = 0;
	else
		return cli_fail(2, "%s '%s': expected on or off", opt, s) == 0;
	return true;
}

/* Record and print a finished simulation; the exit status. */
static int report_sim(const struct sim_cmd *c, const struct trial_sim *ts)
{
	const struct sim_report *r = trial_sim_report(ts);
	struct ep_error err;
	int rc;

	if (trial_sim_warning(ts)[0])
		fprintf(stderr, "edgepipe sim: warning: %s\n", trial_sim_warning(ts));
	if (c->r.db_path && (rc = trial_sim_db_write(ts, c->r.db_path, c->command, &err)))
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	if (trial_sim_write(stdout, (enum trial_format)c->r.fmt, ts, c->r.series, &err))
		return cli_fail(1, "%s", err.msg);
	if (!r->no_plan)
		return 0;
	fflush(stdout);
	return cli_fail(3, "the run stopped at %g s: no plan fits on the surviving nodes; %" PRId64
			" requests never completed", r->sim_end_s, r->incomplete);
}

static int run_sim(struct sim_cmd *c)
{
	const struct algo *a = cli_algo_find(c->o.algo_name, false);
	struct instance *inst = NULL;
	struct trial_sim *ts = NULL;
	struct trial_workload w;
	struct trial_setup t;
	struct algo_result res;
	struct ep_error err;
	int rc;

	algo_result_init(&res);
	if (!a) {
		rc = 2; /* cli_algo_find said why */
		goto out;
	}
	if ((rc = instance_create(&c->o.spec, &inst, &err))) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	if ((rc = cli_run_opts_timeline(&c->r, inst->cluster->n, &c->faults, &c->n_faults)))
		goto out;
	cli_trial_setup(&c->o, inst, a, &t);
	cli_run_opts_workload(&c->r, c->faults, c->n_faults, &w);
	c->so.trace_path = c->trace_path;
	if ((rc = trial_sim_plan_run(&t, &w, &c->so, &res, &ts, &err)))
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	else if (!ts)
		rc = cli_fail(1, "%s found no plan to simulate (%s): %s", a->name,
			      ep_strerror(res.status), res.reason);
	else
		rc = report_sim(c, ts);
	if (ts && trial_sim_trace_close(ts, &err) && rc == 0)
		rc = cli_fail(1, "%s", err.msg);
out:
	trial_sim_destroy(ts);
	algo_result_release(&res);
	instance_destroy(inst);
	free(c->faults);
	return rc;
}

enum {
	O_WARMUP_TIME = CLI_O_RUN_END, O_SERVICE, O_TRANSFER, O_SHARED, O_OVERLAP, O_DISPATCHER,
	O_MTBF, O_TRACE, O_HELP,
};

static const struct option sim_options[] = {
	CLI_INSTANCE_OPTIONS,
	CLI_RUN_OPTIONS,
	{ "warmup-time", required_argument, NULL, O_WARMUP_TIME },
	{ "service", required_argument, NULL, O_SERVICE },
	{ "transfer", required_argument, NULL, O_TRANSFER },
	{ "shared-medium", no_argument, NULL, O_SHARED },
	{ "latency-overlap", no_argument, NULL, O_OVERLAP },
	CLI_COMPUTE_OPTIONS, /* --compute on|off comes back as CLI_O_COMPUTE */
	{ "dispatcher-hops", required_argument, NULL, O_DISPATCHER },
	{ "mtbf", required_argument, NULL, O_MTBF },
	{ "trace", required_argument, NULL, O_TRACE },
	CLI_SCENARIO_OPTION,
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* The simulator's own options: 1 taken, 0 not one of them, -1 a bad value (said). */
static int parse_own(void *ctx, int opt, const char *arg)
{
	struct sim_cmd *c = ctx;
	struct trial_sim_options *so = &c->so;
	bool ok = true;

	switch (opt) {
	case O_WARMUP_TIME: ok = cli_parse_time("--warmup-time", arg, 0, 1e9, &so->warmup_s); break;
	case O_SERVICE: ok = parse_dist("--service", arg, &so->service, &so->service_cv); break;
	case O_TRANSFER:
		ok = parse_dist("--transfer", arg, &so->transfer, &so->transfer_cv);
		break;
	case O_SHARED: so->shared_medium = true; break;
	case O_OVERLAP: so->latency_pipelined = true; break;
	case CLI_O_COMPUTE: /* on|model|real or off|none: cli.h */
		if (!(ok = cli_compute_mode(arg) >= 0))
			cli_fail(2, "--compute '%s': expected on or off (or model, real, none), "
				 "flops or profile:FILE", arg);
		else
			so->compute = cli_compute_mode(arg) != CLI_COMPUTE_OFF;
		break;
	case O_DISPATCHER:
		ok = parse_on_off("--dispatcher-hops", arg, &so->dispatcher_hops);
		break;
	case O_MTBF: ok = cli_parse_time("--mtbf", arg, 1e-9, 1e9, &so->mtbf_s); break;
	case O_TRACE: c->trace_path = arg; break;
	default: return 0;
	}
	return ok ? 1 : -1;
}

/* After the options: the checks between them. false with the message printed. */
static bool check_opts(const void *ctx)
{
	const struct sim_cmd *c = ctx;
	const struct instance_spec *spec = &c->o.spec;

	if (c->r.have_retry && c->r.retry_timeout_s > SIM_RETRY_TIMEOUT_MAX_S)
		return cli_fail(2, "--retry-timeout %g s: at most %g s", c->r.retry_timeout_s,
				SIM_RETRY_TIMEOUT_MAX_S) == 0;
	if (strcmp(c->o.algo_name, "all") == 0)
		return cli_fail(2, "--algo 'all': sim simulates one algorithm's plan; name one") == 0;
	if (c->so.compute == 1 && !spec->compute_profile && !(spec->cluster.speed_flops > 0))
		return cli_fail(2, "--compute on with a node speed of %g FLOP/s: the stages would "
				"take no time; give --speed (e.g. --speed 5GFLOPS) or --compute "
				"profile:FILE", spec->cluster.speed_flops) == 0;
	if (c->r.n_updates > 0 && spec->compute_profile)
		return cli_fail(2, "--update '%s' with --compute profile:%s: the profile measures "
				"one model only", c->r.update_spec[0], spec->compute_profile) == 0;
	return true;
}

/* The command line into c (cli_run_args_parse): CLI_GO_ON, or the exit status. */
static int parse_args(struct sim_cmd *c, const struct option *opts, int argc, char **argv)
{
	const struct cli_run_args a = {
		.cmd = "sim",
		.opts = opts,
		.help_opt = O_HELP,
		.usage = print_usage,
		.inst = &c->o,
		.run = &c->r,
		.ctx = c,
		.own = parse_own,
		.check = check_opts,
		.command = c->command,
		.command_size = sizeof(c->command),
	};

	return cli_run_args_parse(&a, argc, argv);
}

int cmd_sim(int argc, char **argv)
{
	struct option *opts = cli_options_with_algos(sim_options);
	struct sim_cmd *c = calloc(1, sizeof(*c));
	/* The simulator's defaults (those that do not depend on the problem). */
	const struct sim_config d = sim_config_default_terms(false, false);
	int rc;

	if (!c || !opts) {
		free(c);
		free(opts);
		return cli_fail(1, "out of memory");
	}
	cli_instance_opts_init(&c->o);
	/* Compute and dispatcher hops follow the metric, known once the problem exists (run_sim),
	 * unless --compute or --dispatcher-hops say otherwise: -1 until then. */
	c->so = trial_sim_options_default();
	cli_run_opts_init(&c->r, &(struct cli_run_limits){
		.cmd = "sim", .max_time_s = 1e9, .min_heartbeat_s = 1e-9, .min_bin_s = 1e-9,
		.max_window = 1e6, .max_rate = 1e9, .min_requests = 0, .max_requests = 1000000000L,
		.requests = d.requests, .heartbeat_period_s = d.heartbeat_period_s,
		.heartbeat_timeout_s = d.heartbeat_timeout_s, .max_updates = MAX_UPDATES,
		.duration = true, .db = true });
	rc = parse_args(c, opts, argc, argv);
	if (rc == CLI_GO_ON)
		rc = run_sim(c);
	free(c);
	free(opts);
	return rc;
}
