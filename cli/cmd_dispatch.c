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

int cmd_dispatch(int argc, char **argv)
{
	static const char *const refused[] = { "--fault", "--faults", "--state-dir" };
	char *hosts_text = NULL, *listen_text = NULL, *nodes_text = NULL, *plan_text = NULL;
	struct plan given_plan;
	struct cli_emu_plan given = { &given_plan, NULL };
	char plan_algo[64] = "";
	bool have_algo = false;
	struct emu_remote_host *hosts = NULL;
	struct emu_remote r = { 0 };
	char listen_host[EMU_REMOTE_HOST_MAX], nodes_buf[16];
	bool cluster_file = false;
	struct ep_error err;
	char **av = calloc((size_t)argc + 5, sizeof(char *));
	int ac = 0, rc = 2, n = 0;

	plan_init(&given_plan);
	if (!av)
		return cli_fail(1, "out of memory");
	av[ac++] = argv[0];
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		char **slot = NULL;
		size_t len;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			ep_help_write(stdout, dispatch_usage, CLI_HELP_WIDTH);
			rc = 0;
			goto out;
		}
		if (strcmp(a, "--") == 0)
			break;
		for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
			len = strlen(refused[k]);
			if (strncmp(a, refused[k], len) == 0 && (!a[len] || a[len] == '=')) {
				cli_fail(2, "dispatch: %s: real hosts fail for real (no emulated faults "
					 "or registry)", refused[k]);
				goto out;
			}
		}
		if (strncmp(a, "--hosts", 7) == 0 && (!a[7] || a[7] == '='))
			slot = &hosts_text;
		else if (strncmp(a, "--listen", 8) == 0 && (!a[8] || a[8] == '='))
			slot = &listen_text;
		else if (strncmp(a, "--nodes", 7) == 0 && (!a[7] || a[7] == '='))
			slot = &nodes_text;
		else if (strncmp(a, "--plan", 6) == 0 && (!a[6] || a[6] == '='))
			slot = &plan_text;
		if (strncmp(a, "--algo", 6) == 0 && (!a[6] || a[6] == '='))
			have_algo = true;
		if (strcmp(a, "--cluster=file") == 0 ||
		    (strcmp(a, "--cluster") == 0 && i + 1 < argc && strcmp(argv[i + 1], "file") == 0))
			cluster_file = true;
		if (!slot) {
			av[ac++] = argv[i];
			continue;
		}
		len = strchr(a, '=') ? 0 : 1;
		if (len && i + 1 >= argc) {
			cli_fail(2, "dispatch: %s needs a value", a);
			goto out;
		}
		*slot = len ? argv[++i] : strchr(a, '=') + 1;
		if (slot == &nodes_text) {
			av[ac++] = (char *)"--nodes";
			av[ac++] = nodes_text;
		}
	}
	if (!hosts_text) {
		cli_fail(2, "dispatch: --hosts NAME=HOST:PORT,... is required");
		goto out;
	}
	if (emu_remote_hosts_parse(hosts_text, &hosts, &n, &err)) {
		rc = cli_fail(cli_exit_code(err.code), "%s", err.msg);
		goto out;
	}
	if (nodes_text && strtol(nodes_text, NULL, 10) != n) {
		cli_fail(2, "--nodes %s: there are %d host(s) in --hosts", nodes_text, n);
		goto out;
	}
	if (!nodes_text && !cluster_file) {
		snprintf(nodes_buf, sizeof(nodes_buf), "%d", n);
		av[ac++] = (char *)"--nodes";
		av[ac++] = nodes_buf;
	}
	if (plan_text) {
		if (deploy_k8s_plan_read(plan_text, &given_plan, plan_algo, sizeof(plan_algo),
					 &err)) {
			cli_fail(2, "--plan: %s", err.msg);
			goto out;
		}
		given.path = plan_text;
		/* Re-plans use the plan's algorithm unless --algo names another. */
		if (!have_algo && plan_algo[0]) {
			av[ac++] = (char *)"--algo";
			av[ac++] = plan_algo;
		}
	}
	r.hosts = hosts;
	r.n = n;
	if (listen_text) {
		char with_port[EMU_REMOTE_HOST_MAX + 8];

		/* ADDR alone: an ephemeral port. */
		snprintf(with_port, sizeof(with_port), "%s%s", listen_text,
			 strchr(listen_text, ':') ? "" : ":0");
		if (emu_remote_addr_parse(with_port, listen_host, sizeof(listen_host),
					  &r.listen_port, true, &err)) {
			cli_fail(2, "--listen %s", err.msg);
			goto out;
		}
		r.listen_host = listen_host;
	}
	for (int i = ac; i < argc + 5; i++)
		av[i] = NULL;
	rc = cli_emu_run(ac, av, &r, plan_text ? &given : NULL);
out:
	plan_release(&given_plan);
	free(hosts);
	free(av);
	return rc;
}
