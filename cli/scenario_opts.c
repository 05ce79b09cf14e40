/*
 * --scenario FILE (cli.h): the file's entries become options placed before the command line's,
 * so that they go through the command's own option parsing and a flag overrides them.
 *
 * The scenario read by this process is the CLI's one piece of global state (beside getopt's):
 * cli_fail asks it where the option being parsed came from, and the commands' writers ask for
 * its text. It lives until exit (freed by an atexit handler).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ep_util.h"
#include "scenario.h"

/* The long options of plan, sim, emu and compare that are not in the shared tables
 * (CLI_INSTANCE_OPTIONS, CLI_RUN_OPTIONS, CLI_COMPUTE_OPTIONS, the algorithms'): a scenario
 * key among them is another command's, so a command without it ignores it. Keep in step with
 * the commands' tables (tests/scenario_cli.sh gives each command a scenario of every key). */
static const char *const other_keys[] = {
	"instance-out",                                                   /* plan */
	"warmup-time", "service", "transfer", "shared-medium", "latency-overlap",
	"dispatcher-hops", "mtbf", "trace",                               /* sim */
	"compress", "threads", "save-tensors", "deploy-timeout", "give-up", "probes",
	"progress", "state-dir",                                          /* emu */
	"plot", "no-emu",                                                 /* compare */
	NULL,
};

/* Options that may be given several times; any other takes one value. */
static const char *const repeatable[] = { "fault", "fail", "update", "compute", NULL };
/* (compute: a run's mode and the planner's source, e.g. [real, "profile:F"] for emu) */

static struct {
	struct scenario *sc;
	char **argv;          /* the expanded argument vector */
	char **where;         /* where[i]: "FILE:LINE: KEY" of argv[i], NULL for the command line's */
	int argc, n_synth;    /* argv[1 .. n_synth] came from the file */
} scen;

static void scenario_free(void)
{
	for (int i = 0; i < scen.argc; i++) {
		if (i >= 1 && i <= scen.n_synth)
			free(scen.argv[i]);
		free(scen.where ? scen.where[i] : NULL);
	}
	free(scen.argv);
	free(scen.where);
	scenario_destroy(scen.sc);
	memset(&scen, 0, sizeof(scen));
}

static bool in_list(const char *const *list, const char *key)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

/* The option `name` of the table; with `prefix`, as getopt_long also takes an unambiguous
 * abbreviation. NULL when none (or ambiguous). */
static const struct option *find_option(const struct option *opts, const char *name,
					bool prefix)
{
	const struct option *hit = NULL;
	size_t n = strlen(name);
	int hits = 0;

	for (const struct option *o = opts; o->name; o++) {
		if (strcmp(o->name, name) == 0)
			return o;
		if (prefix && strncmp(o->name, name, n) == 0) {
			hit = o;
			hits++;
		}
	}
	return hits == 1 ? hit : NULL;
}

/* A key of plan, sim, emu or compare (any of them). */
static bool known_key(const char *key)
{
	static const struct option shared[] = { CLI_INSTANCE_OPTIONS, CLI_RUN_OPTIONS,
						CLI_COMPUTE_OPTIONS, { NULL, 0, NULL, 0 } };
	const struct algo_option *list[CLI_MAX_ALGO_OPTIONS];
	int n = algo_option_list(algo_registry, list, CLI_MAX_ALGO_OPTIONS);

	if (find_option(shared, key, false) || in_list(other_keys, key))
		return true;
	for (int i = 0; i < n && i < CLI_MAX_ALGO_OPTIONS; i++)
		if (strcmp(list[i]->name, key) == 0)
			return true;
	return false;
}

/* The file named by --scenario in argv (NULL when none; *bad when given twice or without a
 * value). getopt_long's rules: "--scenario F", "--scenario=F", an unambiguous prefix, options'
 * separate arguments skipped, nothing after "--". */
static const char *find_path(const struct option *opts, int argc, char **argv, bool *bad)
{
	const char *path = NULL;

	*bad = false;
	for (int i = 1; i < argc; i++) {
		char name[64];
		const char *a = argv[i], *eq;
		const struct option *o;
		size_t n;

		if (strcmp(a, "--") == 0)
			break;
		if (strncmp(a, "--", 2) != 0 || !a[2])
			continue;
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (n >= sizeof(name))
			continue;
		memcpy(name, a + 2, n);
		name[n] = '\0';
		if (!(o = find_option(opts, name, true)))
			continue;
		if (strcmp(o->name, "scenario") != 0) {
			if (!eq && o->has_arg == required_argument)
				i++;
			continue;
		}
		if (path) {
			cli_fail(2, "--scenario '%s': one scenario per run (also '%s')", path,
				 eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : "");
			*bad = true;
			return NULL;
		}
		if (!eq && i + 1 >= argc) {
			cli_fail(2, "--scenario: expected a FILE");
			*bad = true;
			return NULL;
		}
		path = eq ? eq + 1 : argv[++i];
	}
	return path;
}

static char *where_dup(const struct scenario_entry *e, int j)
{
	size_t n = strlen(scen.sc->path) + strlen(e->key) + 32;
	char *w = malloc(n);

	if (w)
		snprintf(w, n, "%s:%d: %s", scen.sc->path, e->n_values ? e->value_lines[j] : e->line,
			 e->key);
	return w;
}

/* The argument for entry e's value j: "--key=value", or "--key" for a switch set true; NULL
 * (*out NULL) for a switch set false. 2 on a bad value (message printed), 1 out of memory. */
static int entry_arg(const struct scenario_entry *e, int j, const struct option *o, char **out)
{
	const char *v = e->values[j];
	size_t n = strlen(e->key) + strlen(v) + 4;

	*out = NULL;
	if (o->has_arg == no_argument) {
		if (strcmp(v, "false") == 0)
			return 0;
		if (strcmp(v, "true") != 0)
			return cli_fail(2, "%s:%d: %s: '%s': expected true or false (--%s is a "
					"switch)", scen.sc->path, e->value_lines[j], e->key, v,
					e->key);
		v = NULL;
	}
	if (!(*out = malloc(n)))
		return cli_fail(1, "out of memory");
	if (v)
		snprintf(*out, n, "--%s=%s", e->key, v);
	else
		snprintf(*out, n, "--%s", e->key);
	return 0;
}

/* The entries the command takes, checked: 0, or the exit status with the message printed. */
static int check_entry(const char *cmd, const struct option *opts, const struct scenario_entry *e,
		       const struct option **taken)
{
	const char *path = scen.sc->path;

	*taken = NULL;
	if (strcmp(e->key, "scenario") == 0 || strcmp(e->key, "help") == 0)
		return cli_fail(2, "%s:%d: %s: not a scenario key (a command-line option only)",
				path, e->line, e->key);
	if (!(*taken = find_option(opts, e->key, false))) {
		if (known_key(e->key))
			return 0; /* another command's: a scenario is the whole experiment */
		return cli_fail(2, "%s:%d: %s: unknown key (no option --%s of plan, sim, emu or "
				"compare)", path, e->line, e->key, e->key);
	}
	if (e->n_values > 1 && !in_list(repeatable, e->key))
		return cli_fail(2, "%s:%d: %s: a list of %d values, but 'edgepipe %s --%s' takes "
				"one (only fault, fail, update and compute repeat)", path, e->line, e->key,
				e->n_values, cmd, e->key);
	return 0;
}

static int build_argv(const char *cmd, const struct option *opts, int argc, char **argv)
{
	int n = 0, rc;

	for (int i = 0; i < scen.sc->n_entries; i++)
		n += scen.sc->entries[i].n_values;
	scen.argc = argc + n;
	scen.argv = calloc((size_t)scen.argc + 1, sizeof(*scen.argv));
	scen.where = calloc((size_t)scen.argc + 1, sizeof(*scen.where));
	if (!scen.argv || !scen.where)
		return cli_fail(1, "out of memory");
	scen.argv[0] = argv[0];
	n = 1;
	for (int i = 0; i < scen.sc->n_entries; i++) {
		const struct scenario_entry *e = &scen.sc->entries[i];
		const struct option *o;

		if ((rc = check_entry(cmd, opts, e, &o)))
			return rc;
		for (int j = 0; o && j < e->n_values; j++) {
			if ((rc = entry_arg(e, j, o, &scen.argv[n])))
				return rc;
			if (!scen.argv[n])
				continue;
			if (!(scen.where[n] = where_dup(e, j)))
				return cli_fail(1, "out of memory");
			scen.n_synth = n++;
		}
	}
	for (int i = 1; i < argc; i++)
		scen.argv[n++] = argv[i];
	scen.argc = n;
	return 0;
}

int cli_scenario_expand(const char *cmd, const struct option *opts, int *argc, char ***argv)
{
	static bool registered;
	struct ep_error err;
	const char *path;
	bool bad;
	int rc;

	if (!(path = find_path(opts, *argc, *argv, &bad)))
		return bad ? 2 : 0;
	if (scen.sc)
		return cli_fail(2, "--scenario '%s': a scenario was already applied", path);
	if (!registered && atexit(scenario_free) != 0)
		return cli_fail(1, "cannot register the scenario's clean-up");
	registered = true;
	if ((rc = scenario_load(path, &scen.sc, &err)))
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	if ((rc = build_argv(cmd, opts, *argc, *argv)))
		return rc;
	*argc = scen.argc;
	*argv = scen.argv;
	return 0;
}

const char *cli_scenario_where(void)
{
	/* getopt_long has just consumed argv[optind - 1]: the file's arguments come first and
	 * are each one word, so the index is exact while they are parsed. */
	if (!scen.sc || optind - 1 < 1 || optind - 1 > scen.n_synth)
		return NULL;
	return scen.where[optind - 1];
}

const char *cli_scenario_text(void)
{
	return scen.sc ? scen.sc->text : NULL;
}

const char *cli_scenario_path(void)
{
	return scen.sc ? scen.sc->path : NULL;
}
