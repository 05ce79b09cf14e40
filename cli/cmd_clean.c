/*
 * edgepipe clean: remove exactly what the emulator's run registries list.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "emu_registry.h"

static const char clean_usage[] =
	"usage: edgepipe clean [--state-dir DIR] [--run ID] [--dry-run] [--force]\n\n"
	"Remove the network namespaces, interfaces and cgroups that emulator runs registered in\n"
	"DIR (default " EMU_STATE_DIR_DEFAULT "), and nothing else: every process still inside\n"
	"them is killed first. Runs whose controller is still alive are skipped unless --force.\n"
	"Safe to repeat: what is already gone is reported as such.\n\n"
	"  --state-dir DIR  where the registries are\n"
	"  --run ID         only this run (e.g. ep3k9zq)\n"
	"  --dry-run        say what would be removed; change nothing\n"
	"  --force          clean live runs too\n";

struct note_ctx {
	bool dry;
};

static void print_note(void *arg, enum emu_clean_action a, const struct emu_item *it, pid_t pid,
		       const char *why)
{
	const struct note_ctx *ctx = arg;
	const char *verb;

	if (a == EMU_CLEAN_KILLED) {
		printf("  %-13s pid %d (%s)\n", ctx->dry ? "would kill" : "killed", (int)pid,
		       why ? why : "inside the run");
		return;
	}
	switch (a) {
	case EMU_CLEAN_REMOVED: verb = ctx->dry ? "would remove" : "removed"; break;
	case EMU_CLEAN_GONE: verb = "already gone"; break;
	default: verb = "FAILED"; break;
	}
	printf("  %-13s %s %s", verb, emu_item_kind_name(it->kind), it->name);
	if (it->kind == EMU_ITEM_LINK)
		printf(" in %s", it->ns[0] ? it->ns : "the host namespace");
	if (why && strcmp(why, "would be removed") != 0)
		printf(" (%s)", why);
	putchar('\n');
}

static bool run_id_ok(const char *id)
{
	if (strlen(id) != EMU_RUN_ID_LEN || strncmp(id, "ep", 2) != 0)
		return false;
	for (const char *p = id + 2; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
			return false;
	return true;
}

/* Clean every registered run of `state_dir` (or the one `run`): the exit status. */
static int clean_runs(const char *state_dir, const char *run, unsigned flags,
		      struct note_ctx *ctx)
{
	struct emu_registry_info *v = NULL;
	struct ep_error err;
	int status = 0, cleaned = 0, rc;
	size_t n = 0;

	rc = emu_registry_list(state_dir, &v, &n, &err);
	if (rc != EP_OK)
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		struct emu_clean_report rep;

		if (run && strcmp(v[i].run_id, run) != 0)
			continue;
		cleaned++;
		if (v[i].alive && !(flags & EMU_CLEAN_FORCE)) {
			printf("run %s: controller pid %d is alive: skipped (stop it, or "
			       "--force)\n",
			       v[i].run_id, (int)v[i].controller_pid);
			if (run)
				status = 1;
			continue;
		}
		printf("run %s (controller pid %d, %s):\n", v[i].run_id, (int)v[i].controller_pid,
		       v[i].alive ? "alive" : "gone");
		rc = emu_registry_clean_path(v[i].path, flags, print_note, ctx, &rep, &err);
		printf("run %s: %s %d, already gone %d, %s %d, failed %d%s\n", v[i].run_id,
		       ctx->dry ? "would remove" : "removed", rep.removed, rep.gone,
		       ctx->dry ? "would kill" : "killed", rep.killed, rep.failed,
		       rc == EP_OK && !ctx->dry ? "; registry removed" : "");
		if (rc != EP_OK) {
			fprintf(stderr, "edgepipe: %s\n", err.msg);
			status = 1;
		}
	}
	free(v);
	if (run && cleaned == 0)
		return cli_fail(2, "--run '%s': no registry of that run in '%s'", run, state_dir);
	if (cleaned == 0)
		printf("nothing to clean in %s\n", state_dir);
	return status;
}

int cmd_clean(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "run", required_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state_dir = EMU_STATE_DIR_DEFAULT, *run = NULL;
	unsigned flags = 0;
	struct note_ctx ctx = { false };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!optarg[0])
				return cli_fail(2, "--state-dir '': expected a directory");
			state_dir = optarg;
			break;
		case 'r':
			if (!run_id_ok(optarg))
				return cli_fail(2,
						"--run '%s': a run id is 'ep' and 5 characters "
						"of [0-9a-z]",
						optarg);
			run = optarg;
			break;
		case 'n':
			flags |= EMU_CLEAN_DRY_RUN;
			ctx.dry = true;
			break;
		case 'f': flags |= EMU_CLEAN_FORCE; break;
		case 'h': ep_help_write(stdout, clean_usage, CLI_HELP_WIDTH); return 0;
		default: ep_help_write(stderr, clean_usage, CLI_HELP_WIDTH); return 2;
		}
	}
	if (optind < argc)
		return cli_fail(2, "clean: unexpected argument '%s'", argv[optind]);
	return clean_runs(state_dir, run, flags, &ctx);
}
