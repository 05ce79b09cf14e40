/*
 * edgepipe dispatch: edgepipe emu's dispatcher, detection and re-planning on real stage
 * hosts (`edgepipe stage`) instead of emulated nodes (emu/emu_remote.h). The options are
 * emu's (cli_emu_run) plus --hosts, --listen and --plan.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "deploy_k8s.h"
#include "emu_remote.h"
#include "plan.h"

static const char dispatch_usage[] =
	"usage: edgepipe dispatch --hosts NAME=HOST:PORT,... --model NAME|FILE --mem SIZE[,...]\n"
	"                         [--listen ADDR[:PORT]] [edgepipe emu's options]\n\n"
	"Run a plan on real stage hosts ('edgepipe stage --listen HOST:PORT' on each): plan the\n"
	"model for the hosts' cluster (node i = the i-th host; give the measured network with\n"
	"'--cluster file --cluster-file' from 'edgepipe measure'), assign every stage to its host,\n"
	"stream the requests through the pipeline, collect the answers, detect a dead host\n"
	"(heartbeats, its control connection, a stuck link) and re-plan on the hosts left, as the\n"
	"emulator does, then report as 'edgepipe emu' does (text, csv, json, --db). With\n"
	"--compute real every answer is checked against the whole model run here. The data path\n"
	"is the emulator's: its frames, codecs and heartbeats, on real addresses. No root needed.\n\n"
	"A model update (--update MODEL at T, or a change of the --model file) is rolled out as\n"
	"the emulator does: the new version's stages start beside the old ones (each host has two\n"
	"data ports, PORT + 1 and PORT + 2), new requests go to them once they are connected, and\n"
	"the old stages drain and stop. A host must have the model file at the same path.\n\n"
	"options (besides edgepipe emu's, except --fault, --faults and --state-dir):\n"
	"  --hosts NAME=HOST:PORT,...  the stage hosts, in node order; HOST a name or an IPv4\n"
	"                             address; stage data ports are PORT + 1 and + 2\n"
	"  --listen ADDR[:PORT]       where this dispatcher takes results (TCP) and heartbeats\n"
	"                             (UDP), reachable from the hosts (default 0.0.0.0:0, an\n"
	"                             ephemeral port); the hosts send to the address they see it\n"
	"                             at\n"
	"  --plan FILE                run this plan instead of planning: the JSON of 'edgepipe\n"
	"                             plan --format json' (one algorithm's) or a ConfigMap's\n"
	"                             plan.json (edgepipe deploy --k8s); checked against the\n"
	"                             instance (exit 2). Re-plans after a failure or an update\n"
	"                             use --algo, by default the plan file's algorithm\n"
	"  --nodes N                  must equal the number of hosts (the default)\n\n"
	"See 'edgepipe emu --help' for the instance, algorithm, workload and output options.\n";

/* The command line as emu takes it, and what dispatch takes out of it. */
struct dispatch_cmd {
	char **av; /* emu's arguments: argv without dispatch's own, plus --nodes and --algo */
	int ac;
	char *hosts_text, *listen_text, *nodes_text, *plan_text;
	bool have_algo, cluster_file;
	struct emu_remote_host *hosts;
	struct emu_remote r;
	char listen_host[EMU_REMOTE_HOST_MAX], nodes_buf[16], plan_algo[64];
	struct plan given_plan;
};

/* Whether `a` is option `name`, alone or as name=VALUE. */
static bool is_option(const char *a, const char *name)
{
	size_t len = strlen(name);

	return strncmp(a, name, len) == 0 && (!a[len] || a[len] == '=');
}

/* Emu's options that make no sense on real hosts: 2 with the message, else -1. */
static int refuse(const char *a)
{
	static const char *const refused[] = {"--fault", "--faults", "--state-dir"};

	for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++)
		if (is_option(a, refused[k]))
			return cli_fail(
				2,
				"dispatch: %s: real hosts fail for real (no emulated faults "
				"or registry)",
				refused[k]);
	return -1;
}

/* Where argument `a` goes, if it is one of dispatch's own (--nodes is also emu's). */
static char **own_slot(struct dispatch_cmd *c, const char *a)
{
	if (is_option(a, "--hosts"))
		return &c->hosts_text;
	if (is_option(a, "--listen"))
		return &c->listen_text;
	if (is_option(a, "--nodes"))
		return &c->nodes_text;
	if (is_option(a, "--plan"))
		return &c->plan_text;
	return NULL;
}

/* Take dispatch's own options out of argv (up to "--"), the rest into c->av: -1, or the exit
 * status (0 after --help). */
static int dispatch_scan(struct dispatch_cmd *c, int argc, char **argv)
{
	c->av[c->ac++] = argv[0];
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], **slot;
		bool separate = !strchr(a, '=');

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			ep_help_write(stdout, dispatch_usage, CLI_HELP_WIDTH);
			return 0;
		}
		if (strcmp(a, "--") == 0)
			break;
		if (refuse(a) >= 0)
			return 2;
		slot = own_slot(c, a);
		c->have_algo |= is_option(a, "--algo");
		if (strcmp(a, "--cluster=file") == 0 ||
		    (strcmp(a, "--cluster") == 0 && i + 1 < argc && strcmp(argv[i + 1], "file") == 0))
			c->cluster_file = true;
		if (!slot) {
			c->av[c->ac++] = argv[i];
			continue;
		}
		if (separate && i + 1 >= argc)
			return cli_fail(2, "dispatch: %s needs a value", a);
		*slot = separate ? argv[++i] : strchr(a, '=') + 1;
		if (slot == &c->nodes_text) {
			c->av[c->ac++] = (char *)"--nodes";
			c->av[c->ac++] = c->nodes_text;
		}
	}
	return -1;
}

/* --hosts, and the node count that goes with it: -1 or the exit status. */
static int dispatch_hosts(struct dispatch_cmd *c)
{
	struct ep_error err;
	int n;

	if (!c->hosts_text)
		return cli_fail(2, "dispatch: --hosts NAME=HOST:PORT,... is required");
	if (emu_remote_hosts_parse(c->hosts_text, &c->hosts, &n, &err))
		return cli_fail(cli_exit_code(err.code), "%s", err.msg);
	if (c->nodes_text && strtol(c->nodes_text, NULL, 10) != n)
		return cli_fail(2, "--nodes %s: there are %d host(s) in --hosts", c->nodes_text, n);
	if (!c->nodes_text && !c->cluster_file) {
		snprintf(c->nodes_buf, sizeof(c->nodes_buf), "%d", n);
		c->av[c->ac++] = (char *)"--nodes";
		c->av[c->ac++] = c->nodes_buf;
	}
	c->r.hosts = c->hosts;
	c->r.n = n;
	return -1;
}

/* --plan FILE: read it; re-plans use the plan's algorithm unless --algo names another. */
static int dispatch_plan(struct dispatch_cmd *c)
{
	struct ep_error err;

	if (!c->plan_text)
		return -1;
	if (deploy_k8s_plan_read(c->plan_text, &c->given_plan, c->plan_algo, sizeof(c->plan_algo),
				 &err))
		return cli_fail(2, "--plan: %s", err.msg);
	if (!c->have_algo && c->plan_algo[0]) {
		c->av[c->ac++] = (char *)"--algo";
		c->av[c->ac++] = c->plan_algo;
	}
	return -1;
}

/* --listen ADDR[:PORT] (ADDR alone: an ephemeral port): -1 or 2. */
static int dispatch_listen(struct dispatch_cmd *c)
{
	char with_port[EMU_REMOTE_HOST_MAX + 8];
	struct ep_error err;

	if (!c->listen_text)
		return -1;
	snprintf(with_port, sizeof(with_port), "%s%s", c->listen_text,
		 strchr(c->listen_text, ':') ? "" : ":0");
	if (emu_remote_addr_parse(with_port, c->listen_host, sizeof(c->listen_host),
				  &c->r.listen_port, true, &err))
		return cli_fail(2, "--listen %s", err.msg);
	c->r.listen_host = c->listen_host;
	return -1;
}

int cmd_dispatch(int argc, char **argv)
{
	struct dispatch_cmd *c = calloc(1, sizeof(*c));
	struct trial_plan_given given;
	int rc;

	if (!c)
		return cli_fail(1, "out of memory");
	plan_init(&c->given_plan);
	/* argv's arguments, and at most --nodes N and --algo NAME more, then NULL. */
	c->av = calloc((size_t)argc + 5, sizeof(char *));
	if (!c->av) {
		rc = cli_fail(1, "out of memory");
		goto out;
	}
	rc = dispatch_scan(c, argc, argv);
	if (rc < 0)
		rc = dispatch_hosts(c);
	if (rc < 0)
		rc = dispatch_plan(c);
	if (rc < 0)
		rc = dispatch_listen(c);
	if (rc >= 0)
		goto out;
	given = (struct trial_plan_given){&c->given_plan, c->plan_text};
	rc = cli_emu_run(c->ac, c->av, &c->r, c->plan_text ? &given : NULL);
out:
	plan_release(&c->given_plan);
	free(c->hosts);
	free(c->av);
	free(c);
	return rc;
}
