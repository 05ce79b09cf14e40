/*
 * edgepipe deploy --k8s: Kubernetes manifests that run a plan on real devices with `edgepipe
 * stage` hosts and an `edgepipe dispatch` controller (experiments/deploy_k8s.h).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "deploy_k8s.h"
#include "ep_units.h"
#include "ep_util.h"

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

struct deploy_cmd {
	struct cli_instance_opts o;
	struct deploy_k8s_request req; /* req.k: the manifests' own options */
	bool k8s;
	struct deploy_k8s_arg passed[128];
	char passed_names[128][32]; /* "--" + the option's name */
};

/* Record an instance option for the dispatcher. */
static bool pass_option(struct deploy_cmd *c, const struct option *opts, int opt,
			const char *arg)
{
	const char *name = NULL;
	int n = c->req.n_given;

	for (const struct option *o = opts; o->name; o++)
		if (o->val == opt)
			name = o->name;
	if (!name || n == (int)(sizeof(c->passed) / sizeof(c->passed[0]))) {
		cli_fail(2, "too many options");
		return false;
	}
	if (opt == CLI_O_ALGO)
		c->req.algo_given = true;
	snprintf(c->passed_names[n], sizeof(c->passed_names[0]), "--%s", name);
	c->passed[n].opt = c->passed_names[n];
	c->passed[n].value = arg;
	c->req.n_given++;
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
	case O_OUTPUT: c->req.dir = arg; return -1;
	case O_NODE_NAMES: c->req.node_names = arg; return -1;
	case O_PLAN: c->req.plan_file = arg; return -1;
	case O_NAME: c->req.k.name = arg; return -1;
	case O_NAMESPACE: c->req.k.namespace_ = arg; return -1;
	case O_IMAGE: c->req.k.image = arg; return -1;
	case O_PORT:
	case O_DISPATCH_PORT:
		if (!cli_parse_int(opt == O_PORT ? "--port" : "--dispatch-port", arg, 1,
				   opt == O_PORT ? 65534 : 65535, &v))
			return 2;
		*(opt == O_PORT ? &c->req.k.port : &c->req.k.dispatch_port) = (uint16_t)v;
		return -1;
	case O_CORE_FLOPS:
		if (ep_parse_flops(arg, &c->req.k.core_flops, &err) || c->req.k.core_flops <= 0)
			return cli_fail(2, "--core-flops '%s': expected a positive speed, e.g. "
					   "2GFLOPS", arg);
		return -1;
	case O_WAIT:
		if (ep_parse_duration(arg, &c->req.k.wait_s, &err) || c->req.k.wait_s < 1)
			return cli_fail(2, "--wait '%s': expected a duration of 1s or more", arg);
		return -1;
	case 'h':
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
	if (!c->req.dir)
		return cli_fail(2, "deploy: give the output directory (-o DIR)");
	if (!c->req.node_names)
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
		for (const char *p = c->req.node_names; *p; p++)
			c->o.spec.cluster.n += *p == ',';
	}
	if (!cli_instance_opts_finish(&c->o, "deploy"))
		return 2;
	c->req.instance = &c->o.spec;
	c->req.algo = c->o.algo_name;
	c->req.algo_options = c->o.algo;
	c->req.given = c->passed;
	/* What follows "--" goes to the dispatcher as it is. */
	c->req.extra = argv + optind;
	c->req.n_extra = argc - optind;
	return -1;
}

/* Write the manifests and say what they run: the exit status. */
static int run_deploy(const struct deploy_cmd *c)
{
	struct deploy_k8s_result res;
	struct ep_error err;
	int rc = deploy_k8s_run(&c->req, &res, &err);

	if (rc)
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	deploy_k8s_result_write(stdout, &res);
	return 0;
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
	c->req.k.name = "edgepipe";
	c->req.k.image = "edgepipe:latest";
	c->req.k.port = 19990;
	c->req.k.dispatch_port = 19998;
	c->req.k.wait_s = 300;
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
		rc = run_deploy(c);
	free(c);
	free(opts);
	return rc;
}
