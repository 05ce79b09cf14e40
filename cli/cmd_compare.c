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
	struct compare_config cc;
	bool progress;
	const char *plot_path;
	char command[2048];
	char faults_text[4096];
	char title[1024];
};

static void print_usage(FILE *f)
{
	cli_usage_write(f, compare_usage, "NAME", "seifer");
}

/* ---- the run ---- */

/* The plan of `edgepipe plan` for these options into *res (trial_plan); 0 or the exit status. */
static int make_plan(struct compare_cmd *c, const struct algo *a, const struct instance *inst,
		     struct algo_result *res)
{
	struct trial_setup t;
	struct ep_error err;

	cli_trial_setup(&c->o, inst, a, &t);
	if (trial_plan(&t, res, &err))
		return cli_fail(1, "%s", err.msg);
	if (res->status != EP_OK)
		return cli_fail(1, "%s found no plan to compare (%s): %s", a->name,
				ep_strerror(res->status), res->reason);
	return 0;
}

/* The workload sized for the plan as the emulator sizes it: window, bin, retry timeout. */
static int size_workload(struct compare_cmd *c, const struct instance *inst,
			 const struct plan *plan)
{
	struct emu_config *e = &c->cc.emu;
	struct workload_model m = { e->compute, true, true };
	struct workload_terms t;
	struct ep_error err;

	if (workload_plan_terms(&inst->problem, plan, &m, &t, &err))
		return cli_fail(1, "%s", err.msg);
	e->arrival = (enum emu_arrival)c->r.arrival;
	e->window = c->r.window;
	e->rate = c->r.rate;
	e->requests = c->r.requests;
	e->warmup_requests = cli_run_opts_warmup(&c->r);
	e->heartbeat_period_s = c->r.heartbeat_period_s;
	e->heartbeat_timeout_s = c->r.heartbeat_timeout_s;
	cli_run_opts_size(&c->r, &t, &e->window, &e->bin_s);
	e->retry_timeout_s = c->r.have_retry ? c->r.retry_timeout_s
			     : workload_retry_blind_s(&t, c->r.arrival, e->window);
	return 0;
}

/* Append to buf (of `size`, *used so far) what fmt says, cut at the end of buf. */
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*used >= size)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *used, size - *used, fmt, ap);
	va_end(ap);
	*used += k > 0 ? (size_t)k : 0;
}

/* The title line: the instance, the plan, the workload and the timeline. */
static void make_title(struct compare_cmd *c, const struct instance *inst, const struct algo *a,
		       const struct algo_result *res, const struct timeline_fault *f, int n)
{
	const struct emu_config *e = &c->cc.emu;
	size_t used = 0, tsize = sizeof(c->title), fsize = sizeof(c->faults_text);

	c->faults_text[0] = '\0';
	for (int i = 0; i < n; i++)
		append(c->faults_text, fsize, &used, "%s%s", i ? "; " : "", f[i].text);
	for (int i = 0; i < c->r.n_updates; i++)
		append(c->faults_text, fsize, &used, "%supdate %s", used ? "; " : "",
		       c->r.update_spec[i]);
	used = 0;
	append(c->title, tsize, &used, "%s on %d nodes (%s cluster, seed %" PRIu64 "), %s plan",
	       inst->profile->model, inst->cluster->n, cluster_kind_name(c->o.spec.cluster.kind),
	       c->o.spec.seed, a->name);
	for (int s = 0; s < res->plan.n_stages; s++)
		append(c->title, tsize, &used, " %d..%d@%d", res->plan.stages[s].first_cut,
		       res->plan.stages[s].end_cut, res->plan.stages[s].node);
	append(c->title, tsize, &used, "; %s %s %g, %" PRId64 " requests, compute %s",
	       workload_arrival_name((enum workload_arrival)e->arrival),
	       e->arrival == EMU_CLOSED ? "window" : "rate",
	       e->arrival == EMU_CLOSED ? (double)e->window : e->rate, e->requests,
	       !e->compute ? "none" : c->o.spec.cluster.speed_flops > 0 ? "model"
	       : "model (speed 0: none)");
	append(c->title, tsize, &used, "; faults: %s", c->faults_text[0] ? c->faults_text : "none");
}

static int store(struct compare_cmd *c, const struct instance *inst, const struct algo *a,
		 const struct algo_result *res, const struct compare_report *r)
{
	const struct emu_config *e = &c->cc.emu;
	struct emu_db_run dr = {
		.command = c->command, .model = inst->profile->model,
		.cluster = cluster_kind_name(c->o.spec.cluster.kind), .algo = a->name,
		.variant = algo_variant_name(c->o.algo.variant),
		.metric = c->o.spec.problem.count_compute || c->o.spec.problem.count_dispatcher
				  ? "full" : "published",
		.nodes = inst->cluster->n, .trial = c->o.spec.trial, .seed = c->o.spec.seed,
		.workload = emu_arrival_name(e->arrival), .window = e->window, .rate = e->rate,
		.requests = e->requests, .warmup = e->warmup_requests,
		.compute = e->compute ? "model" : "none", .threads = -1, .compress = "none",
		.heartbeat_period_s = e->heartbeat_period_s,
		.heartbeat_timeout_s = e->heartbeat_timeout_s,
		.retry_timeout_s = e->retry_timeout_s, .faults = e->faults, .n_faults = e->n_faults,
		.update_spec = c->r.n_updates > 0 ? c->r.update_spec[0] : NULL,
		.stages = res->plan.n_stages, .analytic_bottleneck_s = res->cost.bottleneck_s,
		.analytic_throughput = res->cost.throughput,
		.sim_throughput = r->rows[COMPARE_SIM].throughput,
		.sim_latency_mean_s = r->sim ? r->sim->latency_mean_s : NAN,
		.sim_energy_per_inference_j = NAN, .sim_power_w = NAN,
		.scenario_path = cli_scenario_path(), .scenario_text = cli_scenario_text(),
	};
	struct compare_db_info info = {
		.command = c->command, .scenario_path = cli_scenario_path(),
		.scenario_text = cli_scenario_text(), .model = inst->profile->model, .algo = a->name,
		.workload = emu_arrival_name(e->arrival), .faults = c->faults_text,
		.nodes = inst->cluster->n, .seed = c->o.spec.seed, .requests = e->requests,
		.emu_run = &dr,
	};
	struct ep_error err;

	if (compare_db_write(c->r.db_path, r, &info, NULL, &err))
		return cli_fail(cli_exit_code(err.code), "%s", err.msg);
	return 0;
}

static int report(struct compare_cmd *c, const struct instance *inst, const struct algo *a,
		  const struct algo_result *res, const struct compare_report *r)
{
	const struct emu_report *m = r->emu;
	struct ep_error err;
	int rc;

	if (c->r.db_path && (rc = store(c, inst, a, res, r)))
		return rc;
	if (c->plot_path && compare_plot(r, c->plot_path, c->title, &err))
		return cli_fail(cli_exit_code(err.code), "%s", err.msg);
	if (c->r.fmt == CLI_TEXT)
		cli_scenario_text_header(stdout);
	rc = c->r.fmt == CLI_TEXT  ? compare_write_text(stdout, r, c->title)
	     : c->r.fmt == CLI_CSV ? compare_write_csv(stdout, r)
				   : compare_write_json(stdout, r, c->title, cli_scenario_path(),
							cli_scenario_text());
	if (rc)
		return cli_fail(1, "writing the table: %s", ep_strerror(rc));
	if (m && m->interrupted)
		return cli_fail(130, "compare: the emulator was interrupted; run %s removed",
				m->run_id);
	if (m && (m->incomplete > 0 || m->gave_up))
		return cli_fail(1, "compare: %" PRId64 " emulated request(s) never answered",
				m->incomplete);
	return 0;
}

/* Open the update's model into *g and *prof; 0 or the exit status. */
static int open_update(struct compare_cmd *c, struct model_graph **g, struct model_profile **prof)
{
	struct ep_error err;
	int rc;

	if (c->r.n_updates == 0)
		return 0;
	rc = model_zoo_open(c->r.update_model[0], g, &err);
	if (!rc)
		rc = model_profile_create(*g, &c->o.spec.profile, prof, &err);
	if (rc)
		return cli_fail(cli_exit_code(rc), "--update: %s", err.msg);
	c->cc.emu.update_graph = *g;
	c->cc.emu.update_profile = *prof;
	c->cc.emu.update_at_s = c->r.update_at_s[0];
	return 0;
}

static int run_compare(struct compare_cmd *c)
{
	const struct algo *a = cli_algo_find(c->o.algo_name, false);
	struct instance *inst = NULL;
	struct model_graph *ug = NULL;
	struct model_profile *up = NULL;
	struct timeline_fault *faults = NULL;
	struct compare *cmp = NULL;
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
	if ((rc = cli_run_opts_timeline(&c->r, inst->cluster->n, &faults, &n_faults)) ||
	    (rc = open_update(c, &ug, &up)) || (rc = make_plan(c, a, inst, &res)))
		goto out;
	if (c->r.n_updates == 0 &&
	    timeline_check_stages(faults, n_faults, res.plan.n_stages, &err)) {
		rc = cli_fail(2, "%s", err.msg);
		goto out;
	}
	if ((rc = size_workload(c, inst, &res.plan)))
		goto out;
	c->cc.emu.algo = a;
	c->cc.emu.algo_options = c->o.algo;
	c->cc.emu.seed = c->o.spec.seed;
	c->cc.emu.graph = inst->graph;
	c->cc.emu.power = c->o.have_power ? &c->o.power : NULL;
	c->cc.emu.faults = faults;
	c->cc.emu.n_faults = n_faults;
	c->cc.emu.profile_options = c->o.spec.profile;
	c->cc.emu.progress = c->progress ? stderr : NULL;
	make_title(c, inst, a, &res, faults, n_faults);
	c->cc.emu.stop_fd = c->cc.emulate ? cli_stop_install() : -1;
	if (c->cc.emulate && c->cc.emu.stop_fd < 0) {
		rc = cli_fail(1, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((rc = compare_run(&inst->problem, &res.plan, &c->cc, &cmp, &err))) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	rc = report(c, inst, a, &res, compare_get_report(cmp));
out:
	compare_destroy(cmp);
	algo_result_release(&res);
	model_profile_destroy(up);
	model_graph_destroy(ug);
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
static int parse_own(struct compare_cmd *c, int opt, const char *arg)
{
	switch (opt) {
	case O_COMPUTE:
		/* on = model, off = none; flops, profile:FILE: the planner's (cli.h) */
		if (cli_compute_mode(arg) < 0 &&
		    (!strcmp(arg, "flops") || !strncmp(arg, "profile:", 8)))
			return cli_instance_opts_parse(&c->o, CLI_O_COMPUTE, arg);
		if (cli_compute_mode(arg) < 0 || cli_compute_mode(arg) == CLI_COMPUTE_REAL)
			return cli_fail(2, "--compute '%s': expected model or none (or on, off; "
					"compare has no real compute: the simulator cannot run the "
					"layers)", arg) ? -1 : 0;
		c->cc.emu.compute = cli_compute_mode(arg) == CLI_COMPUTE_ON;
		return 1;
	case O_DEPLOY: return cli_parse_time("--deploy-timeout", arg, 0.01, 1e7, &c->cc.emu.deploy_timeout_s) ? 1 : -1;
	case O_GIVEUP: return cli_parse_time("--give-up", arg, 0.01, 1e7, &c->cc.emu.giveup_s) ? 1 : -1;
	case O_PLOT: c->plot_path = arg; return 1;
	case O_NO_EMU: c->cc.emulate = false; return 1;
	case O_PROGRESS: c->progress = true; return 1;
	case O_STATE_DIR:
		if (!arg[0])
			return cli_fail(2, "--state-dir '': expected a directory") ? -1 : 0;
		c->cc.emu.state_dir = arg;
		return 1;
	}
	return 0;
}

static void init_cmd(struct compare_cmd *c, int argc, char **argv)
{
	cli_instance_opts_init(&c->o);
	c->cc.emu = emu_config_default();
	c->cc.emulate = true;
	cli_run_opts_init(&c->r, &(struct cli_run_limits){
		.cmd = "compare", .max_time_s = 1e7, .min_heartbeat_s = 1e-3, .min_bin_s = 0.05,
		.max_window = 1e5, .max_rate = 1e6, .min_requests = 1, .max_requests = 100000000L,
		.requests = 200, .heartbeat_period_s = c->cc.emu.heartbeat_period_s,
		.heartbeat_timeout_s = c->cc.emu.heartbeat_timeout_s, .max_updates = 1,
		.duration = false, .db = true });
	cli_command_line(c->command, sizeof(c->command), argc, argv);
}

/* Parse argv; 0 to run, -1 done (--help), or the exit status. */
static int parse_args(struct compare_cmd *c, int argc, char **argv, const struct option *opts)
{
	struct ep_error err;
	int opt, k;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if ((k = cli_instance_opts_parse(&c->o, opt, optarg)) ||
		    (k = cli_run_opts_parse(&c->r, opt, optarg)) || (k = parse_own(c, opt, optarg))) {
			if (k < 0)
				return 2;
			continue;
		}
		if (opt == O_HELP) {
			print_usage(stdout);
			return -1;
		}
		print_usage(stderr);
		return 2;
	}
	if (optind < argc)
		return cli_fail(2, "compare: unexpected argument '%s'", argv[optind]);
	if (!cli_instance_opts_finish(&c->o, "compare") || !cli_run_opts_finish(&c->r))
		return 2;
	if (strcmp(c->o.algo_name, "all") == 0)
		return cli_fail(2, "--algo 'all': compare runs one algorithm's plan; name one");
	if (c->o.spec.compute_profile)
		return cli_fail(2, "--compute profile:%s: compare runs the FLOPs model (the "
				"emulator computes a measured profile only for real)",
				c->o.spec.compute_profile);
	if (c->o.codec.ratio > 0)
		return cli_fail(2, "--codec-profile '%s': compare runs without a wire codec",
				c->o.codec.spec);
	if (c->plot_path && compare_plot_check(c->plot_path, &err))
		return cli_fail(2, "%s", err.msg);
	if (c->o.spec.cluster.n > EMU_NET_MAX_NODES && c->cc.emulate)
		return cli_fail(2, "--nodes %d: the emulator runs at most %d nodes (or --no-emu)",
				c->o.spec.cluster.n, EMU_NET_MAX_NODES);
	return 0;
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
	if ((rc = cli_scenario_expand("compare", opts, &argc, &argv)) == 0)
		rc = parse_args(c, argc, argv, opts);
	if (rc == 0)
		rc = run_compare(c);
	else if (rc < 0)
		rc = 0;
	free(c);
	free(opts);
	free(args);
	free(scenario_arg);
	return rc;
}
