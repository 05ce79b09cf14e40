/*
 * edgepipe measure: the bandwidth matrix of real hosts (emu/emu_measure.h), written in the
 * `--cluster file` format; and the agent that runs on each host (--serve).
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cluster.h"
#include "emu_measure.h"
#include "ep_units.h"

static const char measure_usage[] =
	"usage: edgepipe measure [options] HOST[:PORT] HOST[:PORT]...\n"
	"       edgepipe measure --serve [--listen ADDR[:PORT]]\n\n"
	"Measure the TCP bandwidth between every ordered pair of real hosts, as SEIFER measured\n"
	"its cluster with iperf3, and write the matrix in the format of '--cluster file'\n"
	"(Mbit/s, row = sender), so that 'edgepipe plan --cluster file --cluster-file FILE'\n"
	"plans for the real network. Every host first runs the agent, 'edgepipe measure\n"
	"--serve'; pairs are measured one at a time (N (N - 1) transfers). The rate is the TCP\n"
	"payload received in a window that starts after a warm-up (connection set-up, slow\n"
	"start). The default port is 7101.\n\n"
	"options:\n"
	"  -o, --output FILE     write the matrix to FILE (default: print it)\n"
	"  --warmup DURATION     warm-up before the window (default 300ms)\n"
	"  --window DURATION     the measured window per pair (default 1s)\n"
	"  --timeout DURATION    give up on a host that does not answer (default 10s)\n"
	"  --serve               run the agent until interrupted (SIGINT, SIGTERM)\n"
	"  --listen ADDR[:PORT]  the agent's address (default 0.0.0.0:7101)\n"
	"  --progress / --no-progress  a line per pair on stderr (default: when a terminal)\n";

static volatile sig_atomic_t stop_serving;

static void on_signal(int sig)
{
	(void)sig;
	stop_serving = 1;
}

static int serve(const char *listen_text)
{
	struct emu_measure_host h;
	struct ep_error err;
	struct sigaction sa = { .sa_handler = on_signal };

	if (emu_measure_host_parse(listen_text ? listen_text : "0.0.0.0", &h, &err))
		return cli_fail(2, "--listen: %s", err.msg);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "measure: agent listening on %s:%d\n", h.addr, h.port);
	if (emu_measure_serve(&h, &stop_serving, &err))
		return cli_fail(cli_exit_code(err.code), "%s", err.msg);
	return 0;
}

static void show_progress(void *ctx, int from, int to, int done, int total, double rate_bps)
{
	const struct emu_measure_host *hosts = ctx;

	fprintf(stderr, "measure: [%d/%d] %s -> %s: %.2f Mbit/s\n", done, total, hosts[from].addr,
		hosts[to].addr, rate_bps / 1e6);
}

static bool parse_duration_opt(const char *opt, const char *s, double *out)
{
	struct ep_error err;

	if (ep_parse_duration(s, out, &err) || !(*out > 0) || *out > 3600) {
		cli_fail(2, "%s '%s': expected a duration from 1ms to 1h", opt, s);
		return false;
	}
	return true;
}

/* Measure the matrix of the `n` hosts `args` ("HOST[:PORT]") and write it to `output` (NULL:
 * stdout): 0 or the exit status, with the message printed. */
static int measure_hosts(char **args, int n, const struct emu_measure_options *mo,
			 bool progress, const char *output)
{
	struct emu_measure_host *hosts = calloc((size_t)n, sizeof(*hosts));
	double *bw = calloc((size_t)n * (size_t)n, sizeof(*bw));
	char *comment = calloc((size_t)n, 300);
	struct ep_error err;
	int rc = 2;

	if (!hosts || !bw || !comment) {
		rc = cli_fail(1, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (emu_measure_host_parse(args[i], &hosts[i], &err)) {
			cli_fail(2, "%s", err.msg);
			goto out;
		}
	rc = emu_measure_matrix(hosts, n, mo, bw, progress ? show_progress : NULL, hosts, &err);
	if (rc) {
		rc = cli_fail(cli_exit_code(rc), "measure: %s", err.msg);
		goto out;
	}
	/* Node i of the matrix is the i-th host given: say which in the file. */
	strcpy(comment, "edgepipe measure: TCP payload rate in Mbit/s, row = sender; nodes:");
	for (int i = 0; i < n; i++)
		sprintf(comment + strlen(comment), " %d=%s:%d", i, hosts[i].addr, hosts[i].port);
	rc = output ? cluster_file_write(output, n, bw, comment, &err)
		    : cluster_file_print(stdout, n, bw, comment, &err);
	if (rc)
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
out:
	free(comment);
	free(bw);
	free(hosts);
	return rc;
}

int cmd_measure(int argc, char **argv)
{
	enum { O_WARMUP = 256, O_WINDOW, O_TIMEOUT, O_SERVE, O_LISTEN, O_PROGRESS, O_NO_PROGRESS };
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "serve", no_argument, NULL, O_SERVE },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct emu_measure_options mo = { 0 };
	const char *output = NULL, *listen_text = NULL;
	bool serving = false, progress = isatty(STDERR_FILENO);
	int opt, n;

	while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': output = optarg; break;
		case O_WARMUP:
			if (!parse_duration_opt("--warmup", optarg, &mo.warmup_s))
				return 2;
			break;
		case O_WINDOW:
			if (!parse_duration_opt("--window", optarg, &mo.window_s))
				return 2;
			break;
		case O_TIMEOUT:
			if (!parse_duration_opt("--timeout", optarg, &mo.timeout_s))
				return 2;
			break;
		case O_SERVE: serving = true; break;
		case O_LISTEN: listen_text = optarg; break;
		case O_PROGRESS: progress = true; break;
		case O_NO_PROGRESS: progress = false; break;
		case 'h': ep_help_write(stdout, measure_usage, CLI_HELP_WIDTH); return 0;
		default: ep_help_write(stderr, measure_usage, CLI_HELP_WIDTH); return 2;
		}
	}
	n = argc - optind;
	if (serving) {
		if (n > 0)
			return cli_fail(2, "measure --serve: unexpected host '%s'", argv[optind]);
		return serve(listen_text);
	}
	if (listen_text)
		return cli_fail(2, "measure: --listen goes with --serve");
	if (n < 2)
		return cli_fail(2, "measure: expected at least 2 hosts, got %d (see 'edgepipe "
				   "measure --help')", n);
	return measure_hosts(argv + optind, n, &mo, progress, output);
}
