/*
 * edgepipe: one executable with subcommands, in the manner of git and ip.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <igraph.h>

#include "cli.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "models", cmd_models, "list the model zoo with sizes and cut points" },
	{ "model", cmd_model, "show a model's layers and cut-point profile, or export it" },
	{ "profile", cmd_profile, "measure a model's layers on this machine (the executor)" },
	{ "plan", cmd_plan, "partition and place a model on a cluster with one or all algorithms" },
	{ "sim", cmd_sim, "simulate a plan's pipeline: queues, contention, crashes, updates" },
	{ "sweep", cmd_sweep, "run a grid of configurations into an SQLite file" },
	{ "merge", cmd_merge, "union sweep databases (shards) into one" },
	{ "region", cmd_region, "where partitioning beats one device: the acceleration region" },
	{ "plot", cmd_plot, "draw a sweep database's figures (gnuplot) and its summary table" },
	{ "emu", cmd_emu, "run a plan in emulated nodes: real processes, TCP, faults, recovery" },
	{ "compare", cmd_compare, "one plan and timeline: analytic, simulated, emulated side by side" },
	{ "stage", cmd_stage, "run a stage host on a real device (for edgepipe dispatch)" },
	{ "dispatch", cmd_dispatch, "run a plan on real stage hosts: dispatch, detect, re-plan" },
	{ "measure", cmd_measure, "measure the bandwidth matrix of real hosts (--cluster file)" },
	{ "deploy", cmd_deploy, "write Kubernetes manifests that run a plan on real devices" },
	{ "clean", cmd_clean, "remove what emulator runs registered (namespaces, links, cgroups)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: edgepipe [--version] [--help] <command> [<args>]\n\n"
		   "Partition a DNN into a pipeline over edge devices and measure it.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'edgepipe <command> --help' describes a command.\n");
}

/*
 * A report is written through stdio and may sit in its buffer until exit, where a failed write
 * (a full disk, a closed pipe) would go unnoticed: flush here and make it the exit status.
 * A command that failed keeps its own status and message.
 */
static int finish_stdout(int status)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return status;
	if (status == 0)
		fprintf(stderr, "edgepipe: cannot write the output: %s\n",
			errno ? strerror(errno) : "write error");
	return status ? status : 1;
}

int main(int argc, char **argv)
{
	/* igraph aborts on errors by default; we check every return code instead. */
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	/* GSL aborts on errors by default; its functions' return codes are checked instead. */
	gsl_set_error_handler_off();

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return finish_stdout(0);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("edgepipe %s\n", EDGEPIPE_VERSION);
		return finish_stdout(0);
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return finish_stdout(subcommands[i].run(argc - 1, argv + 1));
	fprintf(stderr, "edgepipe: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
