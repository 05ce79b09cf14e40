/*
 * edgepipe sweep: run a grid of configurations into SQLite; edgepipe merge: union shard files.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "algo.h"
#include "cli.h"
#include "ep_units.h"
#include "ep_util.h"
#include "store.h"
#include "sweep.h"
#include "sweep_shard.h"

static const char *const sweep_usage[] = {
	"usage: edgepipe sweep --db FILE --model LIST --mem LIST --nodes LIST [options]\n\n"
	"Run every configuration of a grid and store one row per (configuration, algorithm,\n"
	"trial) in an SQLite file (schema: experiments/store.h). Run the same command again to\n"
	"finish a sweep that was interrupted: stored rows are kept and not recomputed. The file\n"
	"records the options that change numbers without being axes (--latency, --speed,\n"
	"--bw-range, --link-classes, the --cluster-file's content, every algorithm option below,\n"
	"--parallel, --sim, --sim-requests, --compute profiles): a sweep with other\n"
	"values into it is refused, as is a second sweep while one writes it. A file on a\n"
	"read-only medium is read: a finished sweep reports so, a missing row is refused.\n\n"
	"axes (lists a,b,c; integer axes also take ranges START:END[:STEP]):\n"
	"  --model LIST               zoo models or model files\n"
	"  --mem LIST                 node memory sizes, e.g. 64MiB,128MiB\n"
	"  --nodes LIST               node counts, e.g. 5,10,15,20,50\n"
	"  --bw-classes LIST          seifer's bandwidth classes, e.g. 2:20:3 (default 8)\n"
	"  --variant LIST             corrected, published or both (default corrected)\n"
	"  --cluster LIST             geometric (default), uniform, classes, file\n"
	"  --trials N                 trials per configuration (default 1)\n"
	"  --seed S                   run seed (default 1); trial t's cluster depends on (S, t, N)\n"
	"cluster details (as in 'edgepipe plan'):\n"
	"  --bw-range MIN:MAX  --link-classes C  --latency DURATION  --speed FLOPS\n"
	"  --cluster-file CSV\n"
	"  --parallel                 nodes may hold several stages, compute and hops add up\n"
	"                             (Feltin et al.'s model)\n"
	"compute source:\n"
	"  --compute flops|profile:FILE[,FILE...]  FLOPs / --speed (default), or measured layer\n"
	"                             times ('edgepipe profile -o FILE'): one profile per model\n"
	"                             of the grid, matched by model name; rows record it\n"
	"  --speed-factor F[,F...]    with profiles: node speed as a factor of the profiling host\n"
	"simulation:\n"
	"  --sim                      also simulate every plan (sim_* columns): a saturated closed\n"
	"                             loop, deterministic times, the first tenth as warm-up\n"
	"  --sim-requests N           requests per simulation (default 1000; implies --sim)\n"
	"running:\n"
	"  --db FILE                  the SQLite file (created if missing)\n"
	"  -j, --jobs N               worker processes (default 1)\n"
	"  --shard I/N                run only cells I, I+N, I+2N ... (0 <= I < N); each shard\n"
	"                             writes its own file; 'edgepipe merge' unions them.\n"
	"                             Without it, the shard comes from a Slurm job array\n"
	"                             (SLURM_ARRAY_TASK_ID ...), a Kubernetes Indexed Job\n"
	"                             (JOB_COMPLETION_INDEX) or GNU parallel (PARALLEL_SEQ);\n"
	"                             the rules are in experiments/sweep_shard.h\n"
	"  --shard-count N            the number of shards, for schedulers that do not say it\n"
	"                             (or EDGEPIPE_SHARD_COUNT); the task number is the shard\n"
	"                             number then\n"
	"  --[no-]progress            progress on stderr (default: when stderr is a terminal)\n"
	"algorithms (an axis: a list, default all) and their options (one value each; the\n"
	"--bw-classes axis above is seifer's):\n",
	cli_usage_algorithms,
	NULL,
};

static const char *env_get(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

/* The command line as one string, for the runs table. */
static char *join_args(int argc, char **argv)
{
	size_t len = 16;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	strcpy(s, "edgepipe");
	for (int i = 0; i < argc; i++) {
		strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* The axes are lists and parsed here; the single-valued cluster and algorithm details are
 * the instance options of plan and sim (cli_instance_opts_parse). */
enum {
	O_MODEL = CLI_O_INSTANCE_END, O_MEM, O_NODES, O_BW_CLASSES, O_ALGO, O_VARIANT,
	O_CLUSTER, O_TRIALS, O_DB, O_SHARD, O_SHARD_COUNT, O_PROGRESS, O_NO_PROGRESS, O_SIM,
	O_SIM_REQUESTS, O_HELP,
};

static const struct option sweep_own[] = {
	{ "model", required_argument, NULL, O_MODEL },
	{ "mem", required_argument, NULL, O_MEM },
	{ "nodes", required_argument, NULL, O_NODES },
	{ "bw-classes", required_argument, NULL, O_BW_CLASSES },
	{ "algo", required_argument, NULL, O_ALGO },
	{ "variant", required_argument, NULL, O_VARIANT },
	{ "cluster", required_argument, NULL, O_CLUSTER },
	{ "trials", required_argument, NULL, O_TRIALS },
	{ "seed", required_argument, NULL, CLI_O_SEED },
	{ "bw-range", required_argument, NULL, CLI_O_BW_RANGE },
	{ "link-classes", required_argument, NULL, CLI_O_LINK_CLASSES },
	{ "latency", required_argument, NULL, CLI_O_LATENCY },
	{ "speed", required_argument, NULL, CLI_O_SPEED },
	CLI_COMPUTE_OPTIONS,
	{ "cluster-file", required_argument, NULL, CLI_O_CLUSTER_FILE },
	{ "parallel", no_argument, NULL, CLI_O_PARALLEL },
	{ "db", required_argument, NULL, O_DB },
	{ "jobs", required_argument, NULL, 'j' },
	{ "shard", required_argument, NULL, O_SHARD },
	{ "shard-count", required_argument, NULL, O_SHARD_COUNT },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
	{ "sim", no_argument, NULL, O_SIM },
	{ "sim-requests", required_argument, NULL, O_SIM_REQUESTS },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

struct sweep_cmd {
	struct sweep_grid g;
	struct cli_instance_opts io;
	char *models, *profiles;        /* the --model and --compute lists (g points into them) */
	const char *profile_paths[SWEEP_MAX_AXIS];
	int n_profiles;
	const char *db, *shard_flag;
	int shard_count;
	struct sweep_shard shard;
};

/* A list axis of integers or sizes into `out`: its count, or -1 with the message printed. */
static int sweep_axis(int n, const struct ep_error *err, int *count)
{
	if (n < 0) {
		cli_fail(2, "%s", err->msg);
		return -1;
	}
	*count = n;
	return 0;
}

/* Take --model's list (the grid points into its copy). */
static int sweep_models(struct sweep_cmd *c, const char *arg)
{
	struct ep_error err;

	free(c->models);
	c->models = strdup(arg);
	if (!c->models)
		return cli_fail(1, "out of memory");
	if (sweep_grid_parse_models(&c->g, c->models, &err))
		return cli_fail(cli_exit_code(err.code), "%s", err.msg);
	return -1;
}

/* A list axis parsed by the grid: -1, or the exit status with the message printed. */
static int sweep_list_axis(int rc, const struct ep_error *err)
{
	return rc ? cli_fail(cli_exit_code(rc), "%s", err->msg) : -1;
}

/* One of the sweep's own options: -1 taken, else the exit status (0 after --help). */
static int sweep_option(struct sweep_cmd *c, int opt, char *arg)
{
	struct sweep_grid *g = &c->g;
	struct ep_error err;
	long v;

	switch (opt) {
	case O_MODEL: return sweep_models(c, arg);
	case O_MEM:
		return sweep_axis(sweep_parse_sizes("--mem", arg, g->mems, &err), &err,
				  &g->n_mems) ? 2 : -1;
	case O_NODES:
		return sweep_axis(sweep_parse_ints("--nodes", arg, 1, CLUSTER_MAX_NODES, g->nodes,
						   &err), &err, &g->n_nodes) ? 2 : -1;
	case O_BW_CLASSES:
		return sweep_axis(sweep_parse_ints("--bw-classes", arg, 1, 1000, g->bw_classes,
						   &err), &err, &g->n_bw_classes) ? 2 : -1;
	case O_ALGO: return sweep_list_axis(sweep_grid_parse_algos(g, arg, &err), &err);
	case O_VARIANT: return sweep_list_axis(sweep_grid_parse_variants(g, arg, &err), &err);
	case O_CLUSTER: return sweep_list_axis(sweep_grid_parse_clusters(g, arg, &err), &err);
	case O_TRIALS:
		if (!cli_parse_int("--trials", arg, 1, 10000000, &v))
			return 2;
		g->trials = (int)v;
		return -1;
	case CLI_O_COMPUTE: /* on|off, which only sim takes */
		return cli_fail(2, "--compute '%s': expected flops or profile:FILE[,FILE...]", arg);
	case O_DB: c->db = arg; return -1;
	case 'j':
		if (!cli_parse_int("--jobs", arg, 1, 256, &v))
			return 2;
		g->jobs = (int)v;
		return -1;
	case O_SHARD: c->shard_flag = arg; return -1;
	case O_SHARD_COUNT:
		if (!cli_parse_int("--shard-count", arg, 1, 1000000, &v))
			return 2;
		c->shard_count = (int)v;
		return -1;
	case O_PROGRESS: g->progress = true; return -1;
	case O_NO_PROGRESS: g->progress = false; return -1;
	case O_SIM: g->sim = true; return -1;
	case O_SIM_REQUESTS:
		if (!cli_parse_int("--sim-requests", arg, 10, 100000000, &v))
			return 2;
		g->sim_requests = v;
		g->sim = true;
		return -1;
	case 'h':
	case O_HELP:
		cli_usage_write(stdout, sweep_usage, "LIST|all", NULL);
		return 0;
	default:
		cli_usage_write(stderr, sweep_usage, "LIST|all", NULL);
		return 2;
	}
}

/* The options: -1 when the sweep is to run, else the exit status. */
static int sweep_parse(struct sweep_cmd *c, int argc, char **argv)
{
	struct option *opts = cli_options_with_algos(sweep_own);
	int opt, rc = -1;

	if (!opts)
		return cli_fail(1, "out of memory");
	while (rc < 0 && (opt = getopt_long(argc, argv, "hj:", opts, NULL)) != -1) {
		int taken = opt < CLI_O_INSTANCE_END || opt >= CLI_O_ALGO_OPTION
				    ? cli_instance_opts_parse(&c->io, opt, optarg)
				    : 0;

		rc = taken < 0 ? 2 : taken > 0 ? -1 : sweep_option(c, opt, optarg);
	}
	free(opts);
	if (rc < 0 && optind < argc)
		rc = cli_fail(2, "sweep: unexpected argument '%s'", argv[optind]);
	return rc;
}

/* The checks between options, the shard and the grid's models: -1 or the exit status. */
static int sweep_finish(struct sweep_cmd *c)
{
	struct sweep_grid *g = &c->g;
	struct ep_error err;
	int rc;

	if (sweep_shard_resolve(c->shard_flag, c->shard_count, env_get, NULL, &c->shard, &err))
		return cli_fail(2, "%s", err.msg);
	g->shard_index = c->shard.index;
	g->shard_count = c->shard.count;
	if (c->shard.source > SWEEP_SHARD_FLAG)
		fprintf(stderr, "sweep: shard %d/%d from %s\n", c->shard.index, c->shard.count,
			c->shard.detail);
	/* The details every cell shares; kind, nodes and memory are the cells' own. */
	g->cluster_base = c->io.spec.cluster;
	g->cluster_base.mem_list = NULL;
	g->cluster_base.n_mem_list = 0;
	g->algo_base = c->io.algo;
	g->parallel = c->io.parallel;
	g->seed = c->io.spec.seed;
	if (!c->db || !g->n_models || !g->n_mems || !g->n_nodes)
		return cli_fail(2, "sweep: --db, --model, --mem and --nodes are required (see "
			       "'edgepipe sweep --help')");
	for (int i = 0; i < g->n_clusters; i++)
		if (g->clusters[i] == CLUSTER_FILE && !g->cluster_base.path)
			return cli_fail(2, "--cluster file needs --cluster-file CSV");
	if (!cli_compute_check(&c->io))
		return 2;
	if (c->io.spec.compute_profile) {
		c->profiles = strdup(c->io.spec.compute_profile);
		if (!c->profiles)
			return cli_fail(1, "out of memory");
		c->n_profiles = sweep_parse_list("--compute", c->profiles, c->profile_paths,
						 SWEEP_MAX_AXIS, &err);
		if (c->n_profiles < 0)
			return cli_fail(cli_exit_code(c->n_profiles), "%s", err.msg);
		if (c->n_profiles == 0)
			return cli_fail(2, "--compute 'profile:%s': expected a list of files",
					c->io.spec.compute_profile);
	}
	/* Every model checked before the first row is computed, so a typo fails at once. */
	rc = sweep_grid_set_models(g, c->profile_paths, c->n_profiles, &err);
	if (rc)
		return cli_fail(cli_exit_code(rc), "--%s: %s", c->n_profiles ? "compute" : "model",
				err.msg);
	return -1;
}

int cmd_sweep(int argc, char **argv)
{
	struct sweep_cmd *c = calloc(1, sizeof(*c));
	char *command = NULL, shard_text[192];
	struct ep_error err;
	long done = 0, rows = 0;
	bool read_only = false;
	int rc;

	if (!c)
		return cli_fail(1, "out of memory");
	sweep_grid_init(&c->g);
	cli_instance_opts_init(&c->io);
	c->g.progress = isatty(STDERR_FILENO);
	sweep_grid_parse_algos(&c->g, "all", NULL);
	/* Before the parsing, which splits the lists of argv in place. */
	command = join_args(argc, argv);
	rc = sweep_parse(c, argc, argv);
	if (rc < 0)
		rc = sweep_finish(c);
	if (rc >= 0)
		goto out;
	/* The run records the shard and where it came from ("3/16 slurm ..."). */
	snprintf(shard_text, sizeof(shard_text), "%d/%d %s", c->shard.index, c->shard.count,
		 c->shard.detail);
	rc = sweep_run_file(&c->g, c->db, command ? command : "edgepipe sweep", shard_text,
			    &done, &rows, &read_only, &err);
	if (rc)
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	else if (read_only)
		fprintf(stderr, "sweep: 0 rows computed, %ld rows in %s (read-only; no row "
			"is missing)\n", rows, c->db);
	else
		fprintf(stderr, "sweep: %ld rows computed, %ld rows in %s\n", done, rows, c->db);
out:
	free(command);
	free(c->models);
	free(c->profiles);
	free(c);
	return rc;
}

static const char merge_usage[] =
	"usage: edgepipe merge OUT IN...\n\n"
	"Union the result databases IN... (for example the shards of one sweep) into OUT,\n"
	"created if missing. A row present in several inputs is kept once. Refused, with\n"
	"nothing merged: inputs swept with other options (--latency, --speed ...) than OUT's\n"
	"rows, and a row whose key is stored with other values. Inputs are only read (they may\n"
	"be on read-only media).\n";

int cmd_merge(int argc, char **argv)
{
	struct store *store = NULL;
	struct ep_error err;
	long added = 0;
	int rc;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		ep_help_write(stdout, merge_usage, CLI_HELP_WIDTH);
		return 0;
	}
	if (argc < 3) {
		ep_help_write(stderr, merge_usage, CLI_HELP_WIDTH);
		return cli_fail(2, "merge: expected OUT and at least one IN");
	}
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], argv[1]) == 0)
			return cli_fail(2, "merge: '%s' is both the output and an input", argv[1]);
	/* Every input readable and of our schema before the output is created. */
	for (int i = 2; i < argc; i++) {
		struct sqlite3 *in = NULL;

		rc = store_open_read(argv[i], &in, &err);
		store_db_close(in);
		if (rc)
			return cli_fail(cli_exit_code(rc), "merge: %s", err.msg);
	}
	rc = store_open(argv[1], &store, &err);
	if (!rc)
		rc = store_merge(store, (const char *const *)argv + 2, argc - 2, &added, &err);
	if (rc) {
		store_close(store);
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	}
	fprintf(stderr, "merge: %ld rows added, %ld rows in %s\n", added, store_count(store),
		argv[1]);
	store_close(store);
	return 0;
}
