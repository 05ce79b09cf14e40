/*
 * edgepipe emu: plan a model with one algorithm, run the plan in the emulator (emu/
 * emu_session.h) through the fault timeline, and print the analytic bottleneck, the simulated
 * throughput of the same plan and workload (sim/, without faults) and the emulated throughput
 * side by side, with the latencies, faults and recoveries. --db records everything in SQLite.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "cli.h"
#include "ep_util.h"
#include "emu_codec.h"
#include "timeline.h"
#include "emu_registry.h"
#include "emu_session.h"
#include "ep_units.h"
#include "model_zoo.h"
#include "sim_pipeline.h"


/* Where emu_usage's --compress item goes, filled by print_usage. */
static const char emu_usage_codecs[] = "--compress";

/* In parts: C99 compilers need only accept string literals of 4095 characters. */
static const char *const emu_usage[] = {
	"usage: edgepipe emu --model NAME|FILE --mem SIZE[,SIZE...] [--nodes N] [options]\n\n"
	"Plan the model with one algorithm and run the plan in the emulator: a network namespace\n"
	"per node and one for the dispatcher, every ordered pair's bandwidth shaped with HTB, a\n"
	"stage process per plan stage in its node's namespace and cgroup, real TCP between them.\n"
	"Faults are injected on a timeline; dead or cut-off stages are detected by heartbeats, the\n"
	"plan is re-planned on the surviving nodes and redeployed, and unanswered requests are sent\n"
	"again, so every request is answered exactly once. Prints the analytic bottleneck, the\n"
	"simulated throughput of the same plan and workload (no faults) and the emulated one side\n"
	"by side. Needs root. Everything the run creates is removed at its end, on SIGINT and\n"
	"SIGTERM; after a SIGKILL, 'edgepipe clean' removes it.\n\n"
	CLI_INSTANCE_USAGE
	"algorithm (the plan, and every re-plan after a failure or an update):\n",
	cli_usage_algorithms,
	CLI_METRIC_USAGE,
	CLI_CODEC_DEVICE_USAGE,
	CLI_RUN_WORKLOAD_USAGE
	"                             (emu: --requests 200 by default)\n"
	"stages:\n"
	"  --compute model|real|none  model: each stage busy-works FLOPs / node speed (default;\n"
	"                             with --speed, the node's cgroup gets CPU share = speed / host\n"
	"                             speed); real: each stage holds its layers' weights (an ONNX\n"
	"                             file's initializers, a model file's weights file, else seeded)\n"
	"                             inside its node's memory cap and runs them on the real tensor\n"
	"                             (XNNPACK); the dispatcher checks every answer against the\n"
	"                             whole model's output; a node gets its --speed-factor of one\n"
	"                             core; none: stages forward at once\n"
	"                             (sim's on and off: model and none)\n"
	"  --compute flops|profile:FILE  with real compute, what the planner counts as a stage's\n"
	"                             compute time: FLOPs / --speed (default), or its layers'\n"
	"                             measured times in FILE ('edgepipe profile') / the node's\n"
	"                             --speed-factor (give both --compute options)\n"
	"  --speed-factor F[,F...]    real compute: each node's CPU share of one core, one for\n"
	"                             every node or one per node (default 1: no cap); with a\n"
	"                             profile also the planner's node speed\n"
	"  --threads T                real compute: executor threads per stage (default 1)\n"
	"  --save-tensors FILE        real compute: write each input image (H, W, C) and the whole\n"
	"                             model's output for it, raw float32, image after image\n",
	emu_usage_codecs, /* --compress, its codecs from the registry (print_usage) */
	CLI_RUN_TIMELINE_USAGE
	"                             (emu: one update; when --model is a file, a change of\n"
	"                             that file is rolled out too; heartbeats every 100ms, timeout\n"
	"                             500ms; a request unanswered after the retry timeout is resent,\n"
	"                             the timeout doubling; default: ten times the expected\n"
	"                             latency, at least 30s)\n"
	"  --deploy-timeout D         a deployment not connected within D is given up (default 10s);\n"
	"                             at the start, heartbeats get 10 s more after bring-up\n"
	"  --give-up D                end the run when no plan exists for D (default 10s)\n"
	CLI_RUN_OUTPUT_USAGE
	"                             (emu: --series also prints every event)\n"
	"  --probes N                 start-up probes measuring the path latency (default 5)\n"
	"  --progress                 one line per step and incident on stderr (default when\n"
	"                             stderr is a terminal)\n"
	"  --state-dir DIR            run registries (default " EMU_STATE_DIR_DEFAULT ")\n",
	CLI_SCENARIO_USAGE,
	NULL,
};

/* The help, with --compress's codecs listed from the codec registry (emu_codec_usage), so that
 * the list and the codecs cannot disagree; cli_usage_write fills the long line to the width. */
static void print_usage(FILE *f)
{
	enum { N = sizeof(emu_usage) / sizeof(emu_usage[0]) };
	const char *parts[N];
	char codecs[512], item[768];

	emu_codec_usage(codecs, sizeof(codecs));
	snprintf(item, sizeof(item), "  --compress CODEC           code tensors on the wire, every "
		 "sender encoding and every receiver decoding (default none): %s\n", codecs);
	for (int i = 0; i < N; i++)
		parts[i] = emu_usage[i] == emu_usage_codecs ? item : emu_usage[i];
	cli_usage_write(f, parts, "NAME", "seifer");
}

struct emu_cmd {
	struct cli_instance_opts o;
	struct emu_config cfg;
	struct cli_run_opts r;
	bool progress;
	bool compute_model;        /* busy work, or (with cfg.real) the cost model's compute */
	const char *state_dir;
	char command[2048];
	char codec[64];            /* --compress, canonical */
	const struct trial_plan_given *given; /* dispatch --plan FILE; NULL: plan */
};

static const char *codec_name(const struct emu_cmd *c)
{
	return c->cfg.codec ? c->cfg.codec : "none";
}

/* ---- the run ---- */

/* Record, print, and the exit status of a finished run. */
static int report_emu(const struct emu_cmd *c, const struct trial_emu *e)
{
	const struct emu_report *r = trial_emu_report(e);
	struct ep_error err;
	int rc;

	if (r->interrupted) {
		fprintf(stderr, "edgepipe: emu: interrupted by %s: every namespace, link and "
			"cgroup of run %s removed\n", cli_stop_signal() == SIGTERM ? "SIGTERM" : "SIGINT",
			r->run_id);
		return 128 + (cli_stop_signal() ? cli_stop_signal() : SIGINT);
	}
	if (c->r.db_path && trial_emu_db_write(e, c->r.db_path, &err))
		return cli_fail(1, "%s", err.msg);
	if (trial_emu_write(stdout, (enum trial_format)c->r.fmt, e, c->r.series, &err))
		return cli_fail(1, "%s", err.msg);
	rc = r->incomplete > 0 || r->gave_up || r->mismatches > 0 ? 1 : 0;
	if (r->incomplete > 0 || r->gave_up)
		cli_fail(1, "emu: %" PRId64 " request(s) never answered", r->incomplete);
	if (r->mismatches > 0)
		cli_fail(1, "emu: %" PRId64 " answer(s) differ from the whole model's output",
			 r->mismatches);
	return rc;
}

/* No plan: the message, with what memory would do; the exit status. */
static int no_plan(const struct trial_setup *t, const struct algo_result *res)
{
	char remedy[512];

	trial_memory_remedy(&t->inst->problem, remedy, sizeof(remedy));
	return cli_fail(1, "%s found no plan to emulate (%s): %s%s%s", t->algo->name,
			ep_strerror(res->status), res->reason, remedy[0] ? "\n  remedy: " : "",
			remedy);
}

static int run_emu(struct emu_cmd *c)
{
	const struct algo *a = cli_algo_find(c->o.algo_name, false);
	struct instance *inst = NULL;
	struct trial_emu *e = NULL;
	struct timeline_fault *faults = NULL;
	struct trial_emu_options eo;
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
	rc = instance_create(&c->o.spec, &inst, &err);
	if (rc) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	/* Every fault against this cluster, before anything is created. */
	if ((rc = cli_run_opts_timeline(&c->r, inst->cluster->n, &faults, &n_faults)))
		goto out;
	cli_trial_setup(&c->o, inst, a, &t);
	cli_run_opts_workload(&c->r, faults, n_faults, &w);
	trial_emu_options_init(&eo);
	eo.cfg = c->cfg;
	eo.compute_model = c->compute_model;
	eo.command = c->command;
	eo.cfg.state_dir = c->state_dir;
	eo.cfg.progress = c->progress || isatty(STDERR_FILENO) ? stderr : NULL;
	if ((eo.cfg.stop_fd = cli_stop_install()) < 0) {
		rc = cli_fail(1, "pipe: %s", strerror(errno));
		goto out;
	}
	/* Say what the run will take, and report progress now and then whatever stderr is. */
	eo.cfg.status = stderr;
	rc = trial_emu_plan_run(&t, c->given, &w, &eo, &res, &e, &err);
	if (rc)
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	else
		rc = e ? report_emu(c, e) : no_plan(&t, &res);
out:
	trial_emu_destroy(e);
	algo_result_release(&res);
	instance_destroy(inst);
	free(faults);
	return rc;
}

enum {
	O_COMPUTE = CLI_O_RUN_END, O_COMPRESS, O_DEPLOY, O_GIVEUP, O_PROBES, O_PROGRESS,
	O_STATE_DIR, O_THREADS, O_SAVE_TENSORS, O_HELP,
};

static const struct option emu_options[] = {
	CLI_INSTANCE_OPTIONS,
	CLI_RUN_OPTIONS,
	{ "compute", required_argument, NULL, O_COMPUTE },
	{ "compress", required_argument, NULL, O_COMPRESS },
	{ "speed-factor", required_argument, NULL, CLI_O_SPEED_FACTOR },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "save-tensors", required_argument, NULL, O_SAVE_TENSORS },
	{ "deploy-timeout", required_argument, NULL, O_DEPLOY },
	{ "give-up", required_argument, NULL, O_GIVEUP },
	{ "probes", required_argument, NULL, O_PROBES },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "state-dir", required_argument, NULL, O_STATE_DIR },
	CLI_SCENARIO_OPTION,
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* --compute: how the stages compute (model, real, none), or the planner's source (flops,
 * profile:FILE). false with the message printed. */
static bool parse_compute(struct emu_cmd *c, const char *arg)
{
	if (cli_compute_mode(arg) >= 0) { /* on = model, off = none: cli.h */
		c->compute_model = cli_compute_mode(arg) != CLI_COMPUTE_OFF;
		c->cfg.real = cli_compute_mode(arg) == CLI_COMPUTE_REAL;
		/* With real compute a speed factor is each node's CPU share, with or without a
		 * profile (cli_instance_opts_finish). */
		c->o.real_compute = c->cfg.real;
		return true;
	}
	/* The planner's compute source, beside how the stages compute. */
	if (strcmp(arg, "flops") == 0 || strncmp(arg, "profile:", 8) == 0)
		return cli_instance_opts_parse(&c->o, CLI_O_COMPUTE, arg) == 1;
	return cli_fail(2, "--compute '%s': expected model, real or none (how the stages "
			"compute), or flops or profile:FILE (the planner's)", arg) == 0;
}

/* --compress: the codec's canonical spec. false with the message printed. */
static bool parse_compress(struct emu_cmd *c, const char *arg)
{
	struct ep_error e;

	if (emu_codec_spec_canon(arg, c->codec, sizeof(c->codec), &e) != EP_OK)
		return cli_fail(2, "--compress: %s", e.msg) == 0;
	c->cfg.codec = c->codec;
	return true;
}

/* The emulator's own options: 1 taken, 0 not one of them, -1 a bad value (said). */
static int parse_own(void *ctx, int opt, const char *arg)
{
	struct emu_cmd *c = ctx;
	struct emu_config *cfg = &c->cfg;
	bool ok = true;
	long v = 0;

	switch (opt) {
	case O_COMPUTE: ok = parse_compute(c, arg); break;
	case O_THREADS:
		ok = cli_parse_int("--threads", arg, 1, 256, &v);
		cfg->threads = ok ? (int)v : cfg->threads;
		break;
	case O_SAVE_TENSORS: cfg->tensors_path = arg; break;
	case O_COMPRESS: ok = parse_compress(c, arg); break;
	case O_DEPLOY:
		ok = cli_parse_time("--deploy-timeout", arg, 0.01, 1e7, &cfg->deploy_timeout_s);
		break;
	case O_GIVEUP: ok = cli_parse_time("--give-up", arg, 0.01, 1e7, &cfg->giveup_s); break;
	case O_PROBES:
		ok = cli_parse_int("--probes", arg, 0, 1000, &v);
		cfg->probes = ok ? (int)v : cfg->probes;
		break;
	case O_PROGRESS: c->progress = true; break;
	case O_STATE_DIR:
		if (!arg[0])
			ok = cli_fail(2, "--state-dir '': expected a directory") == 0;
		c->state_dir = arg;
		break;
	default: return 0;
	}
	return ok ? 1 : -1;
}

/* After the options: the checks between them. false with the message printed. */
static bool check_opts(const void *ctx)
{
	const struct emu_cmd *c = ctx;
	const char *profile = c->o.spec.compute_profile;

	if (profile && !c->cfg.real)
		return cli_fail(2, "--compute profile:%s: a measured profile plans stages that run "
				"for real; add --compute real", profile) == 0;
	if (profile && c->r.n_updates > 0)
		return cli_fail(2, "--update '%s' with --compute profile:%s: the profile measures "
				"one model", c->r.update_spec[0], profile) == 0;
	if (strcmp(c->o.algo_name, "all") == 0)
		return cli_fail(2, "--algo 'all': emu runs one algorithm's plan; name one") == 0;
	if (c->cfg.tensors_path && !c->cfg.real)
		return cli_fail(2, "--save-tensors '%s': needs --compute real",
				c->cfg.tensors_path) == 0;
	/* The planner's codec is the one on the wire, or the plan is chosen for another. */
	if (c->o.codec.ratio > 0 && strcmp(c->o.codec.spec, codec_name(c)) != 0)
		return cli_fail(2, "--codec-profile '%s': the emulator codes with --compress %s; "
				"give the profile of that codec (or --compress %s)", c->o.codec.spec,
				codec_name(c), c->o.codec.spec) == 0;
	if (c->o.spec.cluster.n > EMU_NET_MAX_NODES)
		return cli_fail(2, "--nodes %d: the emulator runs at most %d nodes",
				c->o.spec.cluster.n, EMU_NET_MAX_NODES) == 0;
	return true;
}

/* The command line into c (cli_run_args_parse): CLI_GO_ON, or the exit status. */
static int parse_args(struct emu_cmd *c, const struct option *opts, int argc, char **argv)
{
	const struct cli_run_args a = {
		.cmd = "emu",
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

int cmd_emu(int argc, char **argv)
{
	return cli_emu_run(argc, argv, NULL, NULL);
}

int cli_emu_run(int argc, char **argv, const struct emu_remote *remote,
		const struct trial_plan_given *given)
{
	struct option *opts = cli_options_with_algos(emu_options);
	struct emu_cmd *c = calloc(1, sizeof(*c));
	int rc;

	if (!c || !opts) {
		free(c);
		free(opts);
		return cli_fail(1, "out of memory");
	}
	cli_instance_opts_init(&c->o);
	c->cfg = emu_config_default();
	cli_run_opts_init(&c->r, &(struct cli_run_limits){
		.cmd = "emu", .max_time_s = 1e7, .min_heartbeat_s = 1e-3, .min_bin_s = 0.05,
		.max_window = 1e5, .max_rate = 1e6, .min_requests = 1, .max_requests = 100000000L,
		.requests = 200, .heartbeat_period_s = c->cfg.heartbeat_period_s,
		.heartbeat_timeout_s = c->cfg.heartbeat_timeout_s, .max_updates = 1,
		.duration = false, .db = true });
	c->cfg.remote = remote;
	c->given = given;
	c->compute_model = true;
	rc = parse_args(c, opts, argc, argv);
	if (rc == CLI_GO_ON)
		rc = run_emu(c);
	free(c);
	free(opts);
	return rc;
}
