/*
 * edgepipe deploy --k8s: Kubernetes manifests that run a plan on real devices with `edgepipe
 * stage` hosts and an `edgepipe dispatch` controller (experiments/deploy_k8s.h).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "cli.h"
#include "deploy_k8s.h"
#include "ep_units.h"
#include "ep_util.h"
#include "model_zoo.h"

static const char deploy_usage[] =
	"usage: edgepipe deploy --k8s -o DIR --node-names NAME,... --model NAME|FILE\n"
	"                       --mem SIZE [instance options] [--plan FILE] [options]\n"
	"                       [-- DISPATCH-ARGS...]\n\n"
	"Write Kubernetes manifests that run the plan of these options on real devices: node i of\n"
	"the cluster is the Kubernetes node of the i-th name. DIR (new; written whole or not at\n"
	"all) receives config.yaml (a ConfigMap with the plan, the dispatcher's arguments and the\n"
	"files they name), stages.yaml (per node a single-replica Deployment of 'edgepipe stage'\n"
	"pinned to the node, with its memory and CPU as resource limits, and a headless Service)\n"
	"and controller.yaml ('edgepipe dispatch' with its ServiceAccount, Role and RoleBinding).\n"
	"Apply with 'kubectl apply -f DIR'; README.md, 'Running a plan on k3s', has the steps.\n"
	"A new model FILE (same kind, same other options) changes the ConfigMap\n"
	"alone: apply it, and the running dispatcher rolls the new version out.\n\n"
	"deployment:\n"
	"  --k8s                      Kubernetes manifests (the only target)\n"
	"  -o, --output DIR           the directory to create\n"
	"  --node-names A,B,...       the Kubernetes node names (kubernetes.io/hostname), one per\n"
	"                             cluster node, in node order; --nodes defaults to their count\n"
	"  --plan FILE                check that the plan of 'edgepipe plan --format json' (or a\n"
	"                             ConfigMap's plan.json) is the one these options give, which\n"
	"                             the dispatcher runs; its algorithm is the default --algo\n"
	"  --name NAME                object name prefix, a DNS label (default edgepipe)\n"
	"  --namespace NS             the objects' namespace (default: kubectl's)\n"
	"  --image IMAGE              the image built from the Dockerfile (default edgepipe:latest)\n"
	"  --port P                   stage hosts' control port; data on P + 1 and P + 2\n"
	"                             (default 19990)\n"
	"  --dispatch-port P          the dispatcher's result and heartbeat port (default 19998)\n"
	"  --core-flops FLOPS         FLOP/s of one core of a device: node i's CPU limit is its\n"
	"                             --speed / FLOPS cores (default: no CPU limit)\n"
	"  --wait DURATION            the controller waits this long for the stage hosts (300s)\n"
	"  -- DISPATCH-ARGS...        passed to 'edgepipe dispatch' as they are (e.g. --requests,\n"
	"                             --compute real, --workload)\n\n";
static const char *const deploy_usage_instance[] = {
	CLI_INSTANCE_USAGE "algorithm:\n",
	cli_usage_algorithms,
	CLI_METRIC_USAGE,
	NULL,
};

/* An instance option as given, passed on to the dispatcher. */
struct passed {
	const char *opt, *value; /* value NULL: a flag */
};

struct deploy_cmd {
	struct cli_instance_opts o;
	struct deploy_k8s_spec k;
	const char *out, *plan_file, *node_names;
	bool k8s, have_algo;
	struct passed passed[128];
	char passed_names[128][32]; /* "--" + the option's name */
	int n_passed;
	char model_key[32], model_arg[64];
	struct deploy_k8s_file files[2];
};

/* The names of "A,B,C" (the string is cut in place). */
static int split_names(char *s, const char ***out)
{
	int n = 1;
	const char **v;

	for (char *p = s; *p; p++)
		n += *p == ',';
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return -1;
	n = 0;
	for (char *p = s, *q; p; p = q) {
		q = strchr(p, ',');
		if (q)
			*q++ = '\0';
		v[n++] = p;
	}
	*out = v;
	return n;
}

/* The dispatcher's arguments: the instance options as given (files renamed to their ConfigMap
 * paths), --algo from the plan file when not given, then the caller's own. */
static int build_args(struct deploy_cmd *c, char **extra, int n_extra, const char *plan_algo,
		      const char ***out)
{
	const char **a = calloc((size_t)(2 * c->n_passed + n_extra + 2), sizeof(*a));
	int n = 0;

	if (!a)
		return -1;
	for (int i = 0; i < c->n_passed; i++) {
		const struct passed *p = &c->passed[i];

		a[n++] = p->opt;
		if (!p->value)
			continue;
		if (strcmp(p->opt, "--model") == 0 && c->model_key[0])
			a[n++] = c->model_arg;
		else if (strcmp(p->opt, "--cluster-file") == 0)
			a[n++] = "/config/cluster.csv";
		else
			a[n++] = p->value;
	}
	if (!c->have_algo && plan_algo && *plan_algo) {
		a[n++] = "--algo";
		a[n++] = plan_algo;
	}
	for (int i = 0; i < n_extra; i++)
		a[n++] = extra[i];
	*out = a;
	return n;
}

/* The plan the dispatcher will make: the same options, the same seed as 'plan'. 0 or the
 * exit status, with the message printed. */
static int deploy_plan(const struct deploy_cmd *c, const struct instance *inst,
		       const struct algo *algo, struct algo_result *r)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct ep_error err;
	int rc;

	if (!rng)
		return cli_fail(1, "out of memory");
	gsl_rng_set(rng, ep_seed32(instance_algo_seed(&c->o.spec, algo->name)));
	rc = algo_run(algo, &inst->problem, &c->o.algo, rng, r, &err);
	gsl_rng_free(rng);
	if (rc)
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	if (r->status != EP_OK || r->plan.n_stages < 1)
		return cli_fail(2, "%s finds no plan for these options (%s): %s", algo->name,
				ep_strerror(r->status), r->reason);
	return 0;
}

/* --plan FILE's plan is the one these options make: 0, or 2 naming the first stage that
 * differs. */
static int plans_agree(const struct deploy_cmd *c, const struct plan *file_plan,
		       const struct plan *plan, const struct algo *algo)
{
	for (int s = 0; s < file_plan->n_stages || s < plan->n_stages; s++) {
		const struct plan_stage *a = s < file_plan->n_stages ? &file_plan->stages[s] : NULL;
		const struct plan_stage *b = s < plan->n_stages ? &plan->stages[s] : NULL;

		if (a && b && a->node == b->node && a->first_cut == b->first_cut &&
		    a->end_cut == b->end_cut)
			continue;
		return cli_fail(2,
				"plan file '%s': stage %d is %s, but %s with these options "
				"makes %s; the dispatcher plans with the options, so give "
				"those that made the file's plan",
				c->plan_file, s, a ? "on another node or cut" : "missing",
				algo->name, b ? "another" : "fewer stages");
	}
	return 0;
}

static int run_deploy(struct deploy_cmd *c, char **extra, int n_extra)
{
	struct instance *inst = NULL;
	struct algo_result r;
	struct plan file_plan;
	const struct algo *algo;
	const char **names = NULL, **args = NULL;
	char *names_buf = NULL, plan_algo[64] = "";
	struct ep_error err;
	int rc = 2, n;

	algo_result_init(&r);
	plan_init(&file_plan);
	if (c->plan_file) {
		rc = deploy_k8s_plan_read(c->plan_file, &file_plan, plan_algo, sizeof(plan_algo),
					  &err);
		if (rc) {
			rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
			goto out;
		}
		if (!c->have_algo && plan_algo[0])
			c->o.algo_name = plan_algo;
	}
	if (!(algo = cli_algo_find(c->o.algo_name, false))) {
		rc = 2;
		goto out;
	}
	rc = instance_create(&c->o.spec, &inst, &err);
	if (rc) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	if (!(names_buf = strdup(c->node_names)) || (n = split_names(names_buf, &names)) < 0) {
		rc = cli_fail(1, "out of memory");
		goto out;
	}
	c->k.node_names = names;
	c->k.n_nodes = n;
	c->k.algo = algo->name;
	if ((rc = deploy_plan(c, inst, algo, &r)))
		goto out;
	if (c->plan_file) {
		rc = deploy_k8s_check(&c->k, inst, &file_plan, &err);
		if (rc) {
			rc = cli_fail(cli_exit_code(rc), "plan file '%s': %s", c->plan_file, err.msg);
			goto out;
		}
		if ((rc = plans_agree(c, &file_plan, &r.plan, algo)))
			goto out;
	}
	if ((n = build_args(c, extra, n_extra, plan_algo, &args)) < 0) {
		rc = cli_fail(1, "out of memory");
		goto out;
	}
	c->k.args = args;
	c->k.n_args = n;
	rc = deploy_k8s_write(&c->k, inst, &r.plan, c->out, &err);
	if (rc) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	printf("%s: %d stage(s) of %s on %d node(s) (%s), manifests for %d stage host(s) and the "
	       "controller\n",
	       c->out, r.plan.n_stages, inst->profile->model, inst->cluster->n, algo->name,
	       inst->cluster->n);
	rc = 0;
out:
	free(args);
	free(names);
	free(names_buf);
	plan_release(&file_plan);
	algo_result_release(&r);
	instance_destroy(inst);
	return rc;
}

/* Record an instance option for the dispatcher; the model file and the cluster file go into
 * the ConfigMap. */
static bool pass_option(struct deploy_cmd *c, const struct option *opts, int opt,
			const char *arg)
{
	const char *name = NULL;

	for (const struct option *o = opts; o->name; o++)
		if (o->val == opt)
			name = o->name;
	if (!name || c->n_passed == (int)(sizeof(c->passed) / sizeof(c->passed[0]))) {
		cli_fail(2, "too many options");
		return false;
	}
	if (opt == CLI_O_ALGO)
		c->have_algo = true;
	if ((opt == CLI_O_MODEL || opt == CLI_O_CLUSTER_FILE) && c->k.n_files == 2) {
		cli_fail(2, "--%s given twice", name);
		return false;
	}
	if (opt == CLI_O_MODEL && !model_zoo_find(arg)) {
		const char *dot = strrchr(arg, '.'), *slash = strrchr(arg, '/');
		const char *ext = dot && (!slash || dot > slash) && strlen(dot) < 16 ? dot : "";

		snprintf(c->model_key, sizeof(c->model_key), "model%s", ext);
		snprintf(c->model_arg, sizeof(c->model_arg), "/config/%s", c->model_key);
		c->files[c->k.n_files++] = (struct deploy_k8s_file){ c->model_key, arg };
	}
	if (opt == CLI_O_CLUSTER_FILE)
		c->files[c->k.n_files++] = (struct deploy_k8s_file){ "cluster.csv", arg };
	snprintf(c->passed_names[c->n_passed], sizeof(c->passed_names[0]), "--%s", name);
	c->passed[c->n_passed].opt = c->passed_names[c->n_passed];
	c->passed[c->n_passed].value = arg;
	c->n_passed++;
	return true;
}

enum {
	O_K8S = CLI_O_INSTANCE_END, O_OUTPUT, O_NODE_NAMES, O_PLAN, O_NAME, O_NAMESPACE,
	O_IMAGE, O_PORT, O_DISPATCH_PORT, O_CORE_FLOPS, O_WAIT, O_HELP,
};

static const struct option deploy_own[] = {
	CLI_INSTANCE_OPTIONS,
	{ "k8s", no_argument, NULL, O_K8S },
	{ "output", required_argument, NULL, O_OUTPUT },
	{ "node-names", required_argument, NULL, O_NODE_NAMES },
	{ "plan", required_argument, NULL, O_PLAN },
	{ "name", required_argument, NULL, O_NAME },
	{ "namespace", required_argument, NULL, O_NAMESPACE },
	{ "image", required_argument, NULL, O_IMAGE },
	{ "port", required_argument, NULL, O_PORT },
	{ "dispatch-port", required_argument, NULL, O_DISPATCH_PORT },
	{ "core-flops", required_argument, NULL, O_CORE_FLOPS },
	{ "wait", required_argument, NULL, O_WAIT },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static void deploy_usage_write(FILE *f)
{
	ep_help_write(f, deploy_usage, CLI_HELP_WIDTH);
	cli_usage_write(f, deploy_usage_instance, "NAME", "seifer");
}

/* One of deploy's own options: -1 taken, else the exit status (0 after --help). */
static int deploy_option(struct deploy_cmd *c, int opt, const char *arg)
{
	struct ep_error err;
	long v;

	switch (opt) {
	case O_K8S: c->k8s = true; return -1;
	case 'o':
	case O_OUTPUT: c->out = arg; return -1;
	case O_NODE_NAMES: c->node_names = arg; return -1;
	case O_PLAN: c->plan_file = arg; return -1;
	case O_NAME: c->k.name = arg; return -1;
	case O_NAMESPACE: c->k.namespace_ = arg; return -1;
	case O_IMAGE: c->k.image = arg; return -1;
	case O_PORT:
	case O_DISPATCH_PORT:
		if (!cli_parse_int(opt == O_PORT ? "--port" : "--dispatch-port", arg, 1,
				   opt == O_PORT ? 65534 : 65535, &v))
			return 2;
		*(opt == O_PORT ? &c->k.port : &c->k.dispatch_port) = (uint16_t)v;
		return -1;
	case O_CORE_FLOPS:
		if (ep_parse_flops(arg, &c->k.core_flops, &err) || c->k.core_flops <= 0)
			return cli_fail(2, "--core-flops '%s': expected a positive speed, e.g. "
					   "2GFLOPS", arg);
		return -1;
	case O_WAIT:
		if (ep_parse_duration(arg, &c->k.wait_s, &err) || c->k.wait_s < 1)
			return cli_fail(2, "--wait '%s': expected a duration of 1s or more", arg);
		return -1;
	case O_HELP:
		deploy_usage_write(stdout);
		return 0;
	default:
		deploy_usage_write(stderr);
		return 2;
	}
}

/* After the options: what deploy needs, and the node count from the names. -1 or 2. */
static int deploy_finish(struct deploy_cmd *c, int argc, char **argv)
{
	if (!c->k8s)
		return cli_fail(2, "deploy: give --k8s (Kubernetes manifests, the only target)");
	if (!c->out)
		return cli_fail(2, "deploy: give the output directory (-o DIR)");
	if (!c->node_names)
		return cli_fail(2, "deploy: give the Kubernetes node names (--node-names A,B,...), "
				   "one per cluster node");
	/* What follows "--" goes to the dispatcher; anything else is a mistake. */
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		return cli_fail(2, "deploy: unexpected argument '%s' (the dispatcher's own go "
				   "after '--')", argv[optind]);
	/* As 'edgepipe dispatch': the cluster has as many nodes as there are hosts, unless a
	 * bandwidth file or --nodes says otherwise (then the counts must agree). */
	if (!c->o.have_nodes && c->o.spec.cluster.kind != CLUSTER_FILE) {
		c->o.spec.cluster.n = 1;
		for (const char *p = c->node_names; *p; p++)
			c->o.spec.cluster.n += *p == ',';
	}
	return cli_instance_opts_finish(&c->o, "deploy") ? -1 : 2;
}

int cmd_deploy(int argc, char **argv)
{
	struct option *opts = cli_options_with_algos(deploy_own);
	struct deploy_cmd *c = calloc(1, sizeof(*c));
	int opt, rc = -1;

	if (!c || !opts) {
		free(c);
		free(opts);
		return cli_fail(1, "out of memory");
	}
	cli_instance_opts_init(&c->o);
	c->k.name = "edgepipe";
	c->k.image = "edgepipe:latest";
	c->k.port = 19990;
	c->k.dispatch_port = 19998;
	c->k.wait_s = 300;
	c->k.files = c->files;
	while (rc < 0 && (opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (cli_instance_opts_parse(&c->o, opt, optarg)) {
		case 1: rc = pass_option(c, opts, opt, optarg) ? -1 : 2; break;
		case -1: rc = 2; break;
		default: rc = deploy_option(c, opt, optarg); break;
		}
	}
	if (rc < 0)
		rc = deploy_finish(c, argc, argv);
	if (rc < 0)
		rc = run_deploy(c, argv + optind, argc - optind);
	free(c);
	free(opts);
	return rc;
}
