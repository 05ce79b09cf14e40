/*
 * edgepipe emu: plan a model with one algorithm, run the plan in the emulator (emu/
 * emu_session.h) through the fault timeline, and print the analytic bottleneck, the simulated
 * throughput of the same plan and workload (sim/, without faults) and the emulated throughput
 * side by side, with the latencies, faults and recoveries. --db records everything in SQLite.
 */
#include <errno.h>
#include <fcntl.h>
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
	"  --compute flops|profile:FILE  with real compute, what the planner counts as a stage's\n"
	"                             compute time: FLOPs / --speed (default), or its layers'\n"
	"                             measured times in FILE ('edgepipe profile') / the node's\n"
	"                             --speed-factor (give both --compute options)\n"
	"  --speed-factor F[,F...]    real compute: each node's CPU share of one core, one for\n"
	"                             every node or one per node (default 1: no cap); with a\n"
	"                             profile also the planner's node speed\n"
	"  --threads T                real compute: executor threads per stage (default 1)\n"
	"  --save-tensors FILE        real compute: write each input image (H, W, C) and the whole\n"
	"                             model's output for it, raw float32, image after image\n"
	"  --compress CODEC           code tensors on the wire, every sender encoding and every\n"
	"                             receiver decoding (default none): none, lz4, zstd[:LEVEL],\n"
	"                             zfp (reversible), zfp+lz4, and the lossy zfp:precision=P,\n"
	"                             zfp:accuracy=TOL\n",
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

static void print_usage(FILE *f)
{
	cli_usage_write(f, emu_usage, "NAME", "seifer");
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
	const struct cli_emu_plan *given; /* dispatch --plan FILE; NULL: plan */
};

static const char *codec_name(const struct emu_cmd *c)
{
	return c->cfg.codec ? c->cfg.codec : "none";
}

/* ---- parsing ---- */

static bool parse_time(const char *opt, const char *s, double min_s, double *out)
{
	struct ep_error err;

	if (ep_parse_duration(s, out, &err))
		return cli_fail(2, "%s: %s", opt, err.msg) == 0;
	if (!(*out >= min_s) || *out > 1e7)
		return cli_fail(2, "%s '%s': expected a time from %g s to 1e7 s", opt, s, min_s) == 0;
	return true;
}

/* ---- signals: SIGINT and SIGTERM make the stop pipe readable ---- */

static int stop_pipe[2] = { -1, -1 };
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	int e = errno;
	char b = 1;

	stop_signal = sig;
	if (write(stop_pipe[1], &b, 1) < 0) {
		/* full already: the run stops anyway */
	}
	errno = e;
}

static bool install_stop(void)
{
	struct sigaction sa;

	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return true;
}

/* ---- the run ---- */

/* The plan, or the message saying why none (with what memory would do). */
static int plan_emu(const struct emu_cmd *c, const struct trial_setup *t,
		    struct algo_result *res)
{
	struct ep_error err;
	char remedy[512];

	if (c->given) {
		/* A given plan (dispatch --plan): run it as it is, if it is one for this instance. */
		if (plan_check(&t->inst->problem, c->given->plan, &res->defects, &err))
			return cli_fail(2, "--plan '%s': %s", c->given->path, err.msg);
		if (plan_copy(&res->plan, c->given->plan))
			return cli_fail(1, "out of memory");
		plan_cost(&t->inst->problem, &res->plan, &res->cost, NULL, NULL);
		res->status = EP_OK;
		return 0;
	}
	if (trial_plan(t, res, &err))
		return cli_fail(1, "%s", err.msg);
	if (res->status == EP_OK)
		return 0;
	trial_memory_remedy(&t->inst->problem, remedy, sizeof(remedy));
	return cli_fail(1, "%s found no plan to emulate (%s): %s%s%s", t->algo->name,
			ep_strerror(res->status), res->reason, remedy[0] ? "\n  remedy: " : "",
			remedy);
}

/* Record, print, and the exit status of a finished run. */
static int report_emu(const struct emu_cmd *c, const struct trial_emu *e)
{
	const struct emu_report *r = trial_emu_report(e);
	struct ep_error err;
	int rc;

	if (r->interrupted) {
		fprintf(stderr, "edgepipe: emu: interrupted by %s: every namespace, link and "
			"cgroup of run %s removed\n", stop_signal == SIGTERM ? "SIGTERM" : "SIGINT",
			r->run_id);
		return 128 + (stop_signal ? stop_signal : SIGINT);
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
	if ((rc = plan_emu(c, &t, &res)))
		goto out;
	if (!install_stop()) {
		rc = cli_fail(1, "pipe: %s", strerror(errno));
		goto out;
	}
	trial_emu_options_init(&eo);
	eo.cfg = c->cfg;
	eo.compute_model = c->compute_model;
	eo.command = c->command;
	eo.cfg.state_dir = c->state_dir;
	eo.cfg.stop_fd = stop_pipe[0];
	eo.cfg.progress = c->progress || isatty(STDERR_FILENO) ? stderr : NULL;
	/* Say what the run will take, and report progress now and then whatever stderr is. */
	eo.cfg.status = stderr;
	rc = trial_emu_run(&t, &res, &w, &eo, &e, &err);
	if (rc)
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	else
		rc = report_emu(c, e);
out:
	trial_emu_destroy(e);
	algo_result_release(&res);
	instance_destroy(inst);
	free(faults);
	return rc;
}

int cmd_emu(int argc, char **argv)
{
	return cli_emu_run(argc, argv, NULL, NULL);
}

int cli_emu_run(int argc, char **argv, const struct emu_remote *remote,
		const struct cli_emu_plan *given)
{
	enum {
		O_COMPUTE = CLI_O_RUN_END, O_COMPRESS, O_DEPLOY, O_GIVEUP,
		O_PROBES, O_PROGRESS, O_STATE_DIR, O_THREADS, O_SAVE_TENSORS, O_HELP,
	};
	static const struct option own[] = {
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
	struct option *opts = cli_options_with_algos(own);
	struct emu_cmd *c = calloc(1, sizeof(*c));
	long v;
	int opt, rc = 2;

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
	cli_command_line(c->command, sizeof(c->command), argc, argv);
	optind = 1;
	if ((opt = cli_scenario_expand("emu", opts, &argc, &argv)) != 0) {
		rc = opt;
		goto out;
	}
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (cli_instance_opts_parse(&c->o, opt, optarg)) {
		case 1: continue;
		case -1: goto out;
		}
		switch (cli_run_opts_parse(&c->r, opt, optarg)) {
		case 1: continue;
		case -1: goto out;
		}
		switch (opt) {
		case O_COMPUTE:
			if (strcmp(optarg, "model") == 0 || strcmp(optarg, "none") == 0 ||
			    strcmp(optarg, "real") == 0) {
				c->compute_model = optarg[0] != 'n';
				c->cfg.real = optarg[0] == 'r';
			} else if (strcmp(optarg, "flops") == 0 || strncmp(optarg, "profile:", 8) == 0) {
				/* The planner's compute source, beside how the stages compute. */
				if (cli_instance_opts_parse(&c->o, CLI_O_COMPUTE, optarg) != 1)
					goto out;
			} else {
				cli_fail(2, "--compute '%s': expected model, real or none (how the "
					 "stages compute), or flops or profile:FILE (the planner's)",
					 optarg);
				goto out;
			}
			break;
		case O_THREADS:
			if (!cli_parse_int("--threads", optarg, 1, 256, &v))
				goto out;
			c->cfg.threads = (int)v;
			break;
		case O_SAVE_TENSORS: c->cfg.tensors_path = optarg; break;
		case O_COMPRESS:
		{
			struct emu_codec *codec;
			struct ep_error e;

			if (emu_codec_create(optarg, &codec, &e) != EP_OK) {
				cli_fail(2, "--compress: %s", e.msg);
				goto out;
			}
			snprintf(c->codec, sizeof(c->codec), "%s", emu_codec_spec(codec));
			c->cfg.codec = c->codec;
			emu_codec_destroy(codec);
			break;
		}
		case O_DEPLOY:
			if (!parse_time("--deploy-timeout", optarg, 0.01, &c->cfg.deploy_timeout_s))
				goto out;
			break;
		case O_GIVEUP:
			if (!parse_time("--give-up", optarg, 0.01, &c->cfg.giveup_s))
				goto out;
			break;
		case O_PROBES:
			if (!cli_parse_int("--probes", optarg, 0, 1000, &v))
				goto out;
			c->cfg.probes = (int)v;
			break;
		case O_PROGRESS: c->progress = true; break;
		case O_STATE_DIR:
			if (!optarg[0]) {
				cli_fail(2, "--state-dir '': expected a directory");
				goto out;
			}
			c->state_dir = optarg;
			break;
		case O_HELP:
			print_usage(stdout);
			rc = 0;
			goto out;
		default:
			print_usage(stderr);
			goto out;
		}
	}
	if (optind < argc) {
		cli_fail(2, "emu: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	/* With real compute a speed factor is each node's CPU share, with or without a profile. */
	c->o.real_compute = c->cfg.real;
	if (!cli_instance_opts_finish(&c->o, "emu") || !cli_run_opts_finish(&c->r))
		goto out;
	if (c->o.spec.compute_profile && !c->cfg.real) {
		cli_fail(2, "--compute profile:%s: a measured profile plans stages that run for real; "
			 "add --compute real", c->o.spec.compute_profile);
		goto out;
	}
	if (c->o.spec.compute_profile && c->r.n_updates > 0) {
		cli_fail(2, "--update '%s' with --compute profile:%s: the profile measures one model",
			 c->r.update_spec[0], c->o.spec.compute_profile);
		goto out;
	}
	if (strcmp(c->o.algo_name, "all") == 0) {
		cli_fail(2, "--algo 'all': emu runs one algorithm's plan; name one");
		goto out;
	}
	if (c->cfg.tensors_path && !c->cfg.real) {
		cli_fail(2, "--save-tensors '%s': needs --compute real", c->cfg.tensors_path);
		goto out;
	}
	/* The planner's codec is the one on the wire, or the plan is chosen for another. */
	if (c->o.codec.ratio > 0 && strcmp(c->o.codec.spec, codec_name(c)) != 0) {
		cli_fail(2, "--codec-profile '%s': the emulator codes with --compress %s; give the "
			 "profile of that codec (or --compress %s)", c->o.codec.spec, codec_name(c),
			 c->o.codec.spec);
		goto out;
	}
	c->cfg.arrival = (enum emu_arrival)c->r.arrival;
	c->cfg.window = c->r.window;
	c->cfg.rate = c->r.rate;
	c->cfg.requests = c->r.requests;
	c->cfg.warmup_requests = cli_run_opts_warmup(&c->r);
	c->cfg.heartbeat_period_s = c->r.heartbeat_period_s;
	c->cfg.heartbeat_timeout_s = c->r.heartbeat_timeout_s;
	if (c->o.spec.cluster.n > EMU_NET_MAX_NODES) {
		cli_fail(2, "--nodes %d: the emulator runs at most %d nodes", c->o.spec.cluster.n,
			 EMU_NET_MAX_NODES);
		goto out;
	}
	rc = run_emu(c);
out:
	free(c);
	free(opts);
	return rc;
}
