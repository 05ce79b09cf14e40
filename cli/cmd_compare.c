/*
 * edgepipe compare: one plan and one fault timeline through the analytic model, the simulator
 * and the emulator (experiments/compare.h); one table, optionally stored (--db) and drawn
 * (--plot).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "cli.h"
#include "compare.h"
#include "emu_registry.h"
#include "ep_units.h"
#include "ep_util.h"
#include "model_zoo.h"

/* In parts: C99 compilers need only accept string literals of 4095 characters. */
static const char *const compare_usage[] = {
	"usage: edgepipe compare [SCENARIO] [--model NAME|FILE --mem SIZE[,...]] [options]\n\n"
	"Plan the model with one algorithm, then run that one plan and one fault\n"
	"timeline through the analytic model (plan_cost), the simulator and the\n"
	"emulator, and print one table: throughput, latency p50/p95/p99, detection\n"
	"and recovery time, requests resent, lost and duplicated. The simulator runs\n"
	"as the emulator does (its heartbeats, window, dispatcher hops, a latency\n"
	"that delays without occupying a link). The emulator runs when the process\n"
	"is root and the kernel can make namespaces; otherwise its column says why\n"
	"it was skipped and the other two are still run. SCENARIO is --scenario's\n"
	"file (below).\n\n"
	CLI_SCENARIO_USAGE
	CLI_INSTANCE_USAGE
	"algorithm (the plan, and every re-plan after a failure or an update):\n",
	cli_usage_algorithms,
	CLI_METRIC_USAGE,
	CLI_CODEC_DEVICE_USAGE,
	CLI_RUN_WORKLOAD_USAGE
	"                             (compare: --requests 200 by default)\n"
	"stages:\n"
	"  --compute model|none       model (or on): each stage takes FLOPs / node speed\n"
	"                             (default), busy work in the emulator; none (or off):\n"
	"                             stages forward at once\n",
	CLI_RUN_TIMELINE_USAGE
	"                             (compare: one update; the emulator's detection for both\n"
	"                             back ends: heartbeats every 100ms, timeout 500ms)\n"
	"  --deploy-timeout D         emulator: a deployment not connected within D is given up\n"
	"  --give-up D                emulator: end the run when no plan exists for D\n"
	CLI_RUN_OUTPUT_USAGE
	"                             (compare: --db writes the comparison's compare_* tables\n"
	"                             and the emulator's emu_* tables into one file)\n"
	"  --plot FILE.png|FILE.svg   the figure: throughput over time of the three back ends,\n"
	"                             faults and recoveries marked (FILE.dat, FILE.gp beside it)\n"
	"  --no-emu                   do not run the emulator (analytic and simulator only)\n"
	"  --progress                 the emulator's steps on stderr\n"
	"  --state-dir DIR            emulator run registries (default " EMU_STATE_DIR_DEFAULT ")\n"
	"exit status: 0 done; 1 failure (also an emulated request never answered); 2 bad input\n",
	NULL,
};

struct compare_cmd {
	struct cli_instance_opts o;
	struct cli_run_opts r;
	struct compare_options cc;
	bool progress;
	const char *plot_path;
	char command[2048];
};

static void print_usage(FILE *f)
{
	cli_usage_write(f, compare_usage, "NAME", "seifer");
}

/* ---- the run ---- */

/* Store, draw and print a finished comparison; the exit status. */
static int report(const struct compare_cmd *c, const struct compare *cmp)
{
	const struct emu_report *m = compare_get_report(cmp)->emu;
	struct ep_error err;
	int rc;

	if (c->r.db_path && (rc = compare_db_write(cmp, c->r.db_path, NULL, &err)))
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	if (c->plot_path &&
	    compare_plot(compare_get_report(cmp), c->plot_path, compare_title(cmp), &err))
		return cli_fail(cli_exit_code(err.code), "%s", err.msg);
	if ((rc = compare_write(stdout, (enum trial_format)c->r.fmt, cmp)))
		return cli_fail(1, "writing the table: %s", ep_strerror(rc));
	if (m && m->interrupted)
		return cli_fail(130, "compare: the emulator was interrupted; run %s removed",
				m->run_id);
	if (m && (m->incomplete > 0 || m->gave_up))
		return cli_fail(1, "compare: %" PRId64 " emulated request(s) never answered",
				m->incomplete);
	return 0;
}

static int run_compare(struct compare_cmd *c)
{
	const struct algo *a = cli_algo_find(c->o.algo_name, false);
	struct instance *inst = NULL;
	struct timeline_fault *faults = NULL;
	struct compare *cmp = NULL;
	struct trial_workload w;
	struct trial_setup t;
	struct algo_result res;
	struct ep_error err;
	int n_faults = 0, rc;

	algo_result_init(&res);
	if (!a) {
		rc = 2; /* cli_algo_find said why */
		goto out;
	}
	if ((rc = instance_create(&c->o.spec, &inst, &err))) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	if ((rc = cli_run_opts_timeline(&c->r, inst->cluster->n, &faults, &n_faults)))
		goto out;
	cli_trial_setup(&c->o, inst, a, &t);
	cli_run_opts_workload(&c->r, faults, n_faults, &w);
	c->cc.emu.command = c->command;
	c->cc.emu.cfg.progress = c->progress ? stderr : NULL;
	c->cc.emu.cfg.stop_fd = c->cc.emulate ? cli_stop_install() : -1;
	if (c->cc.emulate && c->cc.emu.cfg.stop_fd < 0) {
		rc = cli_fail(1, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((rc = compare_run(&t, &w, &c->cc, &res, &cmp, &err)))
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	else if (!cmp)
		rc = cli_fail(1, "%s found no plan to compare (%s): %s", a->name,
			      ep_strerror(res.status), res.reason);
	else
		rc = report(c, cmp);
out:
	compare_destroy(cmp);
	algo_result_release(&res);
	instance_destroy(inst);
	free(faults);
	return rc;
}

/* ---- options ---- */

enum {
	O_COMPUTE = CLI_O_RUN_END, O_DEPLOY, O_GIVEUP, O_PLOT, O_NO_EMU, O_PROGRESS,
	O_STATE_DIR, O_HELP,
};

/* compare's own options: 1 taken, -1 bad (message printed), 0 not one of them. */
static int parse_own(void *ctx, int opt, const char *arg)
{
	struct compare_cmd *c = ctx;
	struct trial_emu_options *emu = &c->cc.emu;
	bool ok = true;

	switch (opt) {
	case O_COMPUTE:
		/* on = model, off = none; flops, profile:FILE: the planner's (cli.h) */
		if (cli_compute_mode(arg) < 0 &&
		    (!strcmp(arg, "flops") || !strncmp(arg, "profile:", 8)))
			return cli_instance_opts_parse(&c->o, CLI_O_COMPUTE, arg);
		if (cli_compute_mode(arg) < 0 || cli_compute_mode(arg) == CLI_COMPUTE_REAL)
			return cli_opt_bad(
				"--compute '%s': expected model or none (or on, off; "
				"compare has no real compute: the simulator cannot run the "
				"layers)",
				arg);
		emu->compute_model = cli_compute_mode(arg) == CLI_COMPUTE_ON;
		break;
	case O_DEPLOY:
		ok = cli_parse_time("--deploy-timeout", arg, 0.01, 1e7, &emu->cfg.deploy_timeout_s);
		break;
	case O_GIVEUP: ok = cli_parse_time("--give-up", arg, 0.01, 1e7, &emu->cfg.giveup_s); break;
	case O_PLOT: c->plot_path = arg; break;
	case O_NO_EMU: c->cc.emulate = false; break;
	case O_PROGRESS: c->progress = true; break;
	case O_STATE_DIR:
		if (!arg[0])
			return cli_opt_bad("--state-dir '': expected a directory");
		emu->cfg.state_dir = arg;
		break;
	default: return 0;
	}
	return ok ? 1 : -1;
}

static void init_cmd(struct compare_cmd *c, int argc, char **argv)
{
	cli_instance_opts_init(&c->o);
	trial_emu_options_init(&c->cc.emu);
	c->cc.emulate = true;
	cli_run_opts_init(&c->r, &(struct cli_run_limits){
		.cmd = "compare", .max_time_s = 1e7, .min_heartbeat_s = 1e-3, .min_bin_s = 0.05,
		.max_window = 1e5, .max_rate = 1e6, .min_requests = 1, .max_requests = 100000000L,
		.requests = 200, .heartbeat_period_s = c->cc.emu.cfg.heartbeat_period_s,
		.heartbeat_timeout_s = c->cc.emu.cfg.heartbeat_timeout_s, .max_updates = 1,
		.duration = false, .db = true });
	cli_command_line(c->command, sizeof(c->command), argc, argv);
}

/* After the options: the checks between them. false with the message printed. */
static bool check_opts(const void *ctx)
{
	const struct compare_cmd *c = ctx;
	struct ep_error err;

	if (strcmp(c->o.algo_name, "all") == 0)
		return cli_fail(2, "--algo 'all': compare runs one algorithm's plan; name one") ==
		       0;
	if (c->o.spec.compute_profile)
		return cli_fail(2,
				"--compute profile:%s: compare runs the FLOPs model (the "
				"emulator computes a measured profile only for real)",
				c->o.spec.compute_profile) == 0;
	if (c->o.codec.ratio > 0)
		return cli_fail(2, "--codec-profile '%s': compare runs without a wire codec",
				c->o.codec.spec) == 0;
	if (c->plot_path && compare_plot_check(c->plot_path, &err))
		return cli_fail(2, "%s", err.msg) == 0;
	if (c->o.spec.cluster.n > EMU_NET_MAX_NODES && c->cc.emulate)
		return cli_fail(2, "--nodes %d: the emulator runs at most %d nodes (or --no-emu)",
				c->o.spec.cluster.n, EMU_NET_MAX_NODES) == 0;
	return true;
}

/* The command line into c (cli_run_args_parse): CLI_GO_ON, or the exit status. */
static int parse_args(struct compare_cmd *c, const struct option *opts, int argc, char **argv)
{
	const struct cli_run_args a = {
		.cmd = "compare",
		.opts = opts,
		.help_opt = O_HELP,
		.usage = print_usage,
		.inst = &c->o,
		.run = &c->r,
		.ctx = c,
		.own = parse_own,
		.check = check_opts,
	};

	return cli_run_args_parse(&a, argc, argv);
}

int cmd_compare(int argc, char **argv)
{
	static const struct option own[] = {
		CLI_INSTANCE_OPTIONS,
		CLI_RUN_OPTIONS,
		CLI_SCENARIO_OPTION,
		{ "compute", required_argument, NULL, O_COMPUTE },
		{ "deploy-timeout", required_argument, NULL, O_DEPLOY },
		{ "give-up", required_argument, NULL, O_GIVEUP },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "no-emu", no_argument, NULL, O_NO_EMU },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "state-dir", required_argument, NULL, O_STATE_DIR },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct option *opts = cli_options_with_algos(own);
	struct compare_cmd *c = calloc(1, sizeof(*c));
	char **args = NULL, *scenario_arg = NULL;
	int rc;

	if (!c || !opts) {
		free(c);
		free(opts);
		return cli_fail(1, "out of memory");
	}
	init_cmd(c, argc, argv);
	/* `edgepipe compare SCENARIO`: the file as --scenario's. */
	if (argc > 1 && argv[1][0] != '-' && (args = calloc((size_t)argc + 1, sizeof(*args)))) {
		memcpy(args, argv, (size_t)argc * sizeof(*args));
		args[1] = scenario_arg = malloc(strlen(argv[1]) + 12);
		if (scenario_arg)
			sprintf(scenario_arg, "--scenario=%s", argv[1]);
		argv = args;
	}
	rc = parse_args(c, opts, argc, argv);
	if (rc == CLI_GO_ON)
		rc = run_compare(c);
	free(c);
	free(opts);
	free(args);
	free(scenario_arg);
	return rc;
}
