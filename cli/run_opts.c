/*
 * The options of a run, shared by `edgepipe sim` and `edgepipe emu` (cli.h): workload,
 * timeline, detection, output.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ep_units.h"

void cli_run_opts_init(struct cli_run_opts *o, const struct cli_run_limits *lim)
{
	memset(o, 0, sizeof(*o));
	o->lim = *lim;
	o->arrival = WORKLOAD_CLOSED;
	o->window = 1;
	o->requests = lim->requests;
	o->heartbeat_period_s = lim->heartbeat_period_s;
	o->heartbeat_timeout_s = lim->heartbeat_timeout_s;
}

/* A duration option's value in [min_s, the back end's longest time]: 1, or -1 said. */
static int parse_time(const struct cli_run_opts *o, const char *opt, const char *s, double min_s,
		      double *out)
{
	if (!cli_parse_time(opt, s, min_s, o->lim.max_time_s, out))
		return -1;
	return 1;
}

/* "resnet101 at 40s": 1, or -1 said. */
static int parse_update(struct cli_run_opts *o, const char *s)
{
	char when[64];
	int used = 0, i = o->n_updates;

	if (i == o->lim.max_updates)
		return cli_opt_bad("--update '%s': more than %d update%s ('edgepipe %s')", s,
				   o->lim.max_updates, o->lim.max_updates == 1 ? "" : "s",
				   o->lim.cmd);
	if (sscanf(s, " %1023s at %63s %n", o->update_model[i], when, &used) != 2 ||
	    s[used] != '\0')
		return cli_opt_bad("--update '%s': expected \"MODEL at TIME\", e.g. \"resnet101 at "
				   "40s\"",
				   s);
	if (parse_time(o, "--update", when, 0, &o->update_at_s[i]) < 0)
		return -1;
	snprintf(o->update_spec[i], sizeof(o->update_spec[i]), "%s", s);
	o->n_updates++;
	return 1;
}

/* --fault SPEC or --fail SPEC, kept for cli_run_opts_timeline with where it was written. */
static int add_fault(struct cli_run_opts *o, int opt, const char *arg)
{
	const char *name = opt == CLI_O_FAIL ? "--fail" : "--fault";
	int i = o->n_fault_specs;

	if (i == CLI_RUN_MAX_FAULTS)
		return cli_opt_bad("%s: more than %d faults (use --faults FILE)", name,
				   CLI_RUN_MAX_FAULTS);
	o->fault_where[i] = cli_scenario_where();
	o->fault_fail[i] = opt == CLI_O_FAIL;
	o->fault_opt[i] = o->fault_where[i] ? o->fault_where[i] : name;
	o->fault_spec[i] = arg;
	o->n_fault_specs++;
	return 1;
}

/* The workload's options: as cli_run_opts_parse. */
static int parse_workload(struct cli_run_opts *o, int opt, const char *arg)
{
	const struct cli_run_limits *lim = &o->lim;
	struct ep_error err;
	double x;
	long v;

	switch (opt) {
	case CLI_O_WORKLOAD:
		if (workload_arrival_parse("--workload", arg, lim->max_window, lim->max_rate,
					   &o->arrival, &x, &err))
			return cli_parsed(EP_EINVAL, &err);
		if (o->arrival == WORKLOAD_CLOSED) {
			o->window = (int)x;
			o->have_window = true;
		} else {
			o->rate = x;
		}
		return 1;
	case CLI_O_REQUESTS:
		if (!cli_parse_int("--requests", arg, lim->min_requests, lim->max_requests, &v))
			return -1;
		o->requests = v;
		o->have_requests = true;
		return 1;
	case CLI_O_DURATION: return parse_time(o, "--duration", arg, 1e-9, &o->duration_s);
	case CLI_O_WARMUP:
		if (!cli_parse_int("--warmup", arg, 0, lim->max_requests, &v))
			return -1;
		o->warmup = v;
		o->have_warmup = true;
		return 1;
	}
	return 0;
}

/* The timeline's, detection's and output's options: as cli_run_opts_parse. */
static int parse_timeline_output(struct cli_run_opts *o, int opt, const char *arg)
{
	double min_hb = o->lim.min_heartbeat_s;

	switch (opt) {
	case CLI_O_UPDATE: return parse_update(o, arg);
	case CLI_O_FAULT:
	case CLI_O_FAIL: return add_fault(o, opt, arg);
	case CLI_O_FAULTS: o->faults_file = arg; return 1;
	case CLI_O_HEARTBEAT:
		return parse_time(o, "--heartbeat", arg, min_hb, &o->heartbeat_period_s);
	case CLI_O_HB_TIMEOUT:
		return parse_time(o, "--heartbeat-timeout", arg, min_hb, &o->heartbeat_timeout_s);
	case CLI_O_RETRY:
		o->have_retry = true;
		if (strcmp(arg, "off") == 0) {
			o->retry_timeout_s = 0;
			return 1;
		}
		if (parse_time(o, "--retry-timeout", arg, 0, &o->retry_timeout_s) < 0)
			return -1;
		if (o->retry_timeout_s <= 0)
			return cli_opt_bad(
				"--retry-timeout '%s': a request cannot be checked after "
				"no time; use 'off' to never resend on a timeout",
				arg);
		return 1;
	case CLI_O_FORMAT:
		if (!cli_parse_format(arg, &o->fmt))
			return cli_opt_bad("--format '%s': expected text, csv or json", arg);
		return 1;
	case CLI_O_DB: o->db_path = arg; return 1;
	case CLI_O_BIN:
		o->have_bin = true;
		return parse_time(o, "--bin", arg, o->lim.min_bin_s, &o->bin_s);
	case CLI_O_SERIES: o->series = true; return 1;
	}
	return 0;
}

int cli_run_opts_parse(struct cli_run_opts *o, int opt, const char *arg)
{
	int rc = parse_workload(o, opt, arg);

	return rc ? rc : parse_timeline_output(o, opt, arg);
}

int cli_run_args_parse(const struct cli_run_args *a, int argc, char **argv)
{
	int opt, rc;

	if (a->command)
		cli_command_line(a->command, a->command_size, argc, argv);
	optind = 1;
	if ((rc = cli_scenario_expand(a->cmd, a->opts, &argc, &argv)) != 0)
		return rc;
	while ((opt = getopt_long(argc, argv, "h", a->opts, NULL)) != -1) {
		if ((rc = cli_instance_opts_parse(a->inst, opt, optarg)) == 0 &&
		    (rc = cli_run_opts_parse(a->run, opt, optarg)) == 0)
			rc = a->own(a->ctx, opt, optarg);
		if (rc == 1)
			continue;
		if (rc == -1)
			return 2;
		bool help = opt == a->help_opt || opt == 'h';
		a->usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	if (optind < argc)
		return cli_fail(2, "%s: unexpected argument '%s'", a->cmd, argv[optind]);
	if (!cli_instance_opts_finish(a->inst, a->cmd) || !cli_run_opts_finish(a->run) ||
	    (a->check && !a->check(a->ctx)))
		return 2;
	return CLI_GO_ON;
}

/* The database's directory must exist and be writable: found out before anything runs. */
static bool check_db_path(const char *path)
{
	char buf[4096];
	struct stat st;

	if (!path[0])
		return cli_fail(2, "--db '': expected a file name") == 0;
	if (strlen(path) >= sizeof(buf))
		return cli_fail(2, "--db: path too long") == 0;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return cli_fail(2, "--db '%s': not a regular file", path) == 0;
	strcpy(buf, path);
	if (access(dirname(buf), W_OK) != 0)
		return cli_fail(2, "--db '%s': cannot write in its directory (%s)", path,
				strerror(errno)) == 0;
	return true;
}

bool cli_run_opts_finish(struct cli_run_opts *o)
{
	const char *cmd = o->lim.cmd;

	if (o->duration_s > 0 && !o->lim.duration)
		return cli_fail(2, "--duration %g s: 'edgepipe %s' runs a number of requests "
				"(--requests)", o->duration_s, cmd) == 0;
	if (o->db_path && !o->lim.db)
		return cli_fail(2, "--db '%s': 'edgepipe %s' writes no database yet", o->db_path,
				cmd) == 0;
	if (o->heartbeat_timeout_s < o->heartbeat_period_s)
		return cli_fail(2, "--heartbeat-timeout %g s is shorter than the heartbeat period "
				"%g s", o->heartbeat_timeout_s, o->heartbeat_period_s) == 0;
	if (!o->have_requests && o->duration_s > 0)
		o->requests = 0; /* as many as the duration takes */
	if (o->have_requests && o->requests == 0 && o->duration_s == 0)
		return cli_fail(2, "--requests 0 needs --duration") == 0;
	if (o->have_warmup && o->requests > 0 && o->warmup >= o->requests)
		return cli_fail(2, "--warmup %lld: must be below --requests %lld",
				(long long)o->warmup, (long long)o->requests) == 0;
	if (o->db_path && !check_db_path(o->db_path))
		return false;
	return true;
}

/* A scenario lists its faults (and fails) in time order: v[n], parsed from spec i, is not
 * before the one of the same key written above it. 0, or 2 with the message printed. */
static int check_order(const struct cli_run_opts *o, const struct timeline_fault *v, int n,
		       int i)
{
	if (!o->fault_where[i])
		return 0;
	for (int j = i - 1, k = n - 1; j >= 0; j--, k--) {
		if (!o->fault_where[j] || o->fault_fail[j] != o->fault_fail[i])
			continue;
		if (v[k].at_s > v[n].at_s)
			return cli_fail(2, "%s: '%s' at %g s is listed after '%s' at %g s: list "
					"the scenario's faults in time order", o->fault_where[i],
					v[n].text, v[n].at_s, v[k].text, v[k].at_s);
		return 0;
	}
	return 0;
}

int cli_run_opts_timeline(struct cli_run_opts *o, int n_nodes, struct timeline_fault **faults,
			  int *n_faults)
{
	struct timeline_fault *v = NULL, upd[CLI_RUN_MAX_UPDATES];
	int n = 0, n_upd = 0, rc = 0;
	struct ep_error err;

	if (o->n_fault_specs > 0 && !(v = calloc((size_t)o->n_fault_specs, sizeof(*v)))) {
		rc = cli_fail(1, "out of memory");
		goto out;
	}
	for (int i = 0; i < o->n_fault_specs; i++) {
		if (timeline_fault_parse(o->fault_spec[i], n_nodes, &v[n], &err)) {
			rc = cli_fail(2, "%s: %s", o->fault_opt[i], err.msg);
			goto out;
		}
		v[n].where = o->fault_where[i];
		if ((rc = check_order(o, v, n, i)))
			goto out;
		n++;
	}
	if (o->faults_file && (rc = timeline_read_file(o->faults_file, n_nodes, &v, &n, &err))) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	if (timeline_resolve(v, &n, upd, o->lim.max_updates - o->n_updates, &n_upd, &err)) {
		rc = cli_fail(2, "%s (with %d --update; 'edgepipe %s' takes %d)", err.msg,
			      o->n_updates, o->lim.cmd, o->lim.max_updates);
		goto out;
	}
	for (int i = 0; i < n_upd; i++, o->n_updates++) {
		snprintf(o->update_model[o->n_updates], sizeof(o->update_model[0]), "%s",
			 upd[i].model);
		o->update_at_s[o->n_updates] = upd[i].at_s;
		snprintf(o->update_spec[o->n_updates], sizeof(o->update_spec[0]), "%s",
			 upd[i].text);
	}
out:
	if (rc) {
		free(v);
		v = NULL;
		n = 0;
	}
	*faults = v;
	*n_faults = n;
	return rc;
}

int64_t cli_run_opts_warmup(const struct cli_run_opts *o)
{
	return o->have_warmup ? o->warmup : o->requests / 10;
}
