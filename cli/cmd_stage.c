/*
 * edgepipe stage: a stage host on a real device (emu/emu_remote.h), driven by
 * `edgepipe dispatch`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "emu_remote.h"

static const char stage_usage[] =
	"usage: edgepipe stage --listen ADDR:PORT [--name NODE] [--threads T] [--data-port P]\n\n"
	"Run a stage host: the emulator's stage process on a real device, for 'edgepipe\n"
	"dispatch'. The host listens on ADDR:PORT (TCP) for the dispatcher. The dispatcher opens a\n"
	"node session (the host then heartbeats to it over UDP) and assigns stages: the layers to\n"
	"run, the next hop (a host name, such as a Kubernetes Service, or an address) and the codec.\n"
	"For real compute the host loads the model itself (a zoo name, or a model file it must\n"
	"have at the same path) with the run's seeded weights. A stage receives and sends the\n"
	"emulator's frames on a data port: DATA or DATA + 1 (DATA = PORT + 1 unless --data-port\n"
	"is given), the second for a model update's new stage beside the old one; a new\n"
	"assignment replaces the stage on its port. Runs until SIGINT or SIGTERM.\n\n"
	"options:\n"
	"  --listen ADDR:PORT    the control address (ADDR 0.0.0.0: every address)\n"
	"  --data-port P         the stages' first data port (default PORT + 1; P + 1 too)\n"
	"  --name NODE           a name for the log lines\n"
	"  --threads T           real compute: executor threads (default: as the dispatcher asks)\n"
	"  --max-stages N        exit after N stages have ended (tests; default: never)\n"
	"  --quiet               no log lines on stderr\n";

/* The host on --listen's address until SIGINT or SIGTERM: the exit status. */
static int stage_run(struct emu_stage_host_config *cfg, const char *listen_text)
{
	char host[EMU_REMOTE_HOST_MAX];
	struct ep_error err;
	int rc;

	if (!listen_text)
		return cli_fail(2, "stage: --listen ADDR:PORT is required");
	if (emu_remote_addr_parse(listen_text, host, sizeof(host), &cfg->port, false, &err))
		return cli_fail(2, "--listen %s", err.msg);
	if (!cfg->data_port && cfg->port > 65535 - EMU_REMOTE_DATA_SLOTS)
		return cli_fail(2,
				"--listen '%s': the data ports PORT + 1 .. PORT + %d are past "
				"65535 (give --data-port)",
				listen_text, EMU_REMOTE_DATA_SLOTS);
	cfg->listen_host = strcmp(host, "0.0.0.0") == 0 ? NULL : host;
	cfg->stop_fd = cli_stop_install();
	if (cfg->stop_fd < 0)
		return cli_fail(1, "pipe: %s", strerror(errno));
	rc = emu_stage_host_run(cfg, &err);
	if (rc)
		return cli_fail(cli_exit_code(rc), "stage: %s", err.msg);
	return 0;
}

int cmd_stage(int argc, char **argv)
{
	enum { O_LISTEN = 256, O_DATA_PORT, O_NAME, O_THREADS, O_MAX_STAGES, O_QUIET, O_HELP };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "data-port", required_argument, NULL, O_DATA_PORT },
		{ "name", required_argument, NULL, O_NAME },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "max-stages", required_argument, NULL, O_MAX_STAGES },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct emu_stage_host_config cfg = {.stop_fd = -1, .log = stderr};
	const char *listen_text = NULL;
	long v;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case O_LISTEN: listen_text = optarg; break;
		case O_DATA_PORT:
			if (!cli_parse_int("--data-port", optarg, 1,
					   65536 - EMU_REMOTE_DATA_SLOTS, &v))
				return 2;
			cfg.data_port = (uint16_t)v;
			break;
		case O_NAME:
			if (!optarg[0] || strlen(optarg) > 63)
				return cli_fail(2, "--name '%s': 1 to 63 characters", optarg);
			cfg.name = optarg;
			break;
		case O_THREADS:
			if (!cli_parse_int("--threads", optarg, 1, 256, &v))
				return 2;
			cfg.threads = (int)v;
			break;
		case O_MAX_STAGES:
			if (!cli_parse_int("--max-stages", optarg, 1, 1000000, &v))
				return 2;
			cfg.max_stages = (int)v;
			break;
		case O_QUIET: cfg.log = NULL; break;
		case 'h':
		case O_HELP: ep_help_write(stdout, stage_usage, CLI_HELP_WIDTH); return 0;
		default: ep_help_write(stderr, stage_usage, CLI_HELP_WIDTH); return 2;
		}
	}
	if (optind < argc)
		return cli_fail(2, "stage: unexpected argument '%s'", argv[optind]);
	return stage_run(&cfg, listen_text);
}
