/*
 * trial: a simulator run's record in SQLite (trial.h, trial_sim_db_write), in the shape of the
 * emulator's (emu/emu_db.h) so that one reader takes both: the same column names where the
 * quantity is the same (runs, summary, series, energy, faults), tables prefixed sim_.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ep_util.h"
#include "trial_internal.h"

#ifndef EDGEPIPE_VERSION
#define EDGEPIPE_VERSION "unknown"
#endif

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS sim_meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS sim_runs(run_id TEXT PRIMARY KEY, started_utc TEXT,"
	"  version TEXT, command TEXT, model TEXT, nodes INTEGER, cluster TEXT, seed INTEGER,"
	"  trial INTEGER, algo TEXT, variant TEXT, metric TEXT, workload TEXT, win INTEGER,"
	"  rate REAL, requests INTEGER, warmup INTEGER, compute TEXT, dispatcher_hops INTEGER,"
	"  service TEXT, transfer TEXT, shared_medium INTEGER, heartbeat_period_s REAL,"
	"  heartbeat_timeout_s REAL, retry_timeout_s REAL, faults TEXT, update_spec TEXT,"
	"  mtbf_s REAL, codec TEXT, device TEXT);"
	"CREATE TABLE IF NOT EXISTS sim_summary(run_id TEXT PRIMARY KEY, stages INTEGER,"
	"  analytic_bottleneck_s REAL, analytic_throughput REAL, sim_throughput REAL,"
	"  latency_mean_s REAL, latency_p50_s REAL, latency_p95_s REAL, latency_p99_s REAL,"
	"  latency_max_s REAL, issued INTEGER, answered INTEGER, incomplete INTEGER,"
	"  duplicates INTEGER, resends INTEGER, requests_resent INTEGER, lost INTEGER,"
	"  measured INTEGER, warmup_end_s REAL, end_s REAL, no_plan INTEGER,"
	"  final_analytic_throughput REAL, window_end INTEGER, energy_per_inference_j REAL,"
	"  power_w REAL, events INTEGER, sim_end_s REAL, bin_s REAL);"
	"CREATE TABLE IF NOT EXISTS sim_series(run_id TEXT, bin INTEGER, start_s REAL,"
	"  answers INTEGER, throughput REAL, PRIMARY KEY(run_id, bin));"
	"CREATE TABLE IF NOT EXISTS sim_energy(run_id TEXT, node INTEGER, active INTEGER,"
	"  busy_s REAL, bits_sent REAL, bits_received REAL, energy_j REAL,"
	"  energy_per_inference_j REAL, power_w REAL, PRIMARY KEY(run_id, node));"
	"CREATE TABLE IF NOT EXISTS sim_faults(run_id TEXT, fault INTEGER, spec TEXT, kind TEXT,"
	"  node INTEGER, peer INTEGER, at_s REAL, detected_s REAL, live_s REAL, detection_s REAL,"
	"  recovery_s REAL, back_s REAL, replanned INTEGER, stages INTEGER, bottleneck_s REAL,"
	"  deploy_s REAL, model TEXT, reason TEXT, PRIMARY KEY(run_id, fault));"
	"CREATE TABLE IF NOT EXISTS sim_scenarios(run_id TEXT PRIMARY KEY, path TEXT, text TEXT);";

struct db {
	sqlite3 *h;
	const char *path;
	char run_id[16];
	struct ep_error *err;
	int rc;
};

static int fail(struct db *d, const char *what)
{
	if (d->rc == EP_OK)
		d->rc = ep_error_set(d->err, EP_EIO, "--db '%s': %s: %s", d->path, what,
				     sqlite3_errmsg(d->h));
	return d->rc;
}

static int exec(struct db *d, const char *sql, const char *what)
{
	if (d->rc == EP_OK && sqlite3_exec(d->h, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(d, what);
	return d->rc;
}

/* Bind the value of type c ('s' text or NULL, 'i' int64_t, 'n' int, 'd' double, NULL when not
 * finite) from ap to column col. */
static void bind_value(sqlite3_stmt *st, int col, char c, va_list *ap)
{
	if (c == 's') {
		const char *v = va_arg(*ap, const char *);

		if (v)
			sqlite3_bind_text(st, col, v, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, col);
	} else if (c == 'i') {
		sqlite3_bind_int64(st, col, va_arg(*ap, int64_t));
	} else if (c == 'n') {
		sqlite3_bind_int(st, col, va_arg(*ap, int));
	} else {
		double v = va_arg(*ap, double);

		if (isfinite(v))
			sqlite3_bind_double(st, col, v);
		else
			sqlite3_bind_null(st, col);
	}
}

/* INSERT a row into `table`: the run id, then one value per character of `types` (bind_value). */
static int row(struct db *d, const char *table, const char *types, ...)
{
	char sql[512];
	size_t used;
	sqlite3_stmt *st = NULL;
	va_list ap;
	int n = (int)strlen(types);

	if (d->rc)
		return d->rc;
	used = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES(?", table);
	for (int i = 0; i < n && used < sizeof(sql); i++)
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, ",?");
	snprintf(sql + used, sizeof(sql) - used, ")");
	if (sqlite3_prepare_v2(d->h, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(d, table);
	sqlite3_bind_text(st, 1, d->run_id, -1, SQLITE_TRANSIENT);
	va_start(ap, types);
	for (int i = 0; i < n; i++)
		bind_value(st, i + 2, types[i], &ap);
	va_end(ap);
	if (sqlite3_step(st) != SQLITE_DONE)
		fail(d, table);
	sqlite3_finalize(st);
	return d->rc;
}

static int check_schema(struct db *d)
{
	sqlite3_stmt *st;
	char sql[96];

	if (exec(d, schema, "creating the tables"))
		return d->rc;
	if (sqlite3_prepare_v2(d->h, "SELECT value FROM sim_meta WHERE key = 'schema'", -1, &st,
			       NULL) != SQLITE_OK)
		return fail(d, "reading the schema version");
	if (sqlite3_step(st) == SQLITE_ROW) {
		int v = sqlite3_column_int(st, 0);

		sqlite3_finalize(st);
		if (v != TRIAL_SIM_DB_SCHEMA_VERSION)
			d->rc = ep_error_set(d->err, EP_EINVAL,
					     "--db '%s': simulator schema version %d; this edgepipe "
					     "writes version %d", d->path, v,
					     TRIAL_SIM_DB_SCHEMA_VERSION);
		return d->rc;
	}
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "INSERT INTO sim_meta VALUES('schema', '%d')",
		 TRIAL_SIM_DB_SCHEMA_VERSION);
	return exec(d, sql, "writing the schema version");
}

/* A run id unique in practice: "s" and 6 base-36 digits of the clock and the process id. */
static void make_run_id(char *buf, size_t size)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	struct timespec ts;
	uint64_t x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = ep_mix64((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^
	    ep_mix64((uint64_t)getpid());
	snprintf(buf, size, "s");
	for (int i = 1; i <= 6 && (size_t)i + 1 < size; i++, x /= 36) {
		buf[i] = digits[x % 36];
		buf[i + 1] = '\0';
	}
}

static void write_run(struct db *d, const struct trial_sim *s, const char *command)
{
	const struct trial_setup *t = s->t;
	const struct sim_config *cfg = &s->cfg;
	const struct problem_codec *k = &t->inst->problem.options.codec;
	char started[32], faults[4096], updates[2048];
	time_t now = time(NULL);
	struct tm tm;
	size_t used = 0, uused = 0;

	gmtime_r(&now, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	faults[0] = updates[0] = '\0';
	for (int i = 0; i < cfg->n_faults && used < sizeof(faults); i++)
		used += (size_t)snprintf(faults + used, sizeof(faults) - used, "%s%s", i ? "; " : "",
					 cfg->faults[i].text);
	for (int i = 0; i < s->n_updates && uused < sizeof(updates); i++)
		uused += (size_t)snprintf(updates + uused, sizeof(updates) - uused, "%s%s at %.17g",
					  i ? "; " : "", s->up[i]->model, s->updates[i].at_s);
	row(d, "sim_runs", "ssssnsinssssndiisnssndddssdss", started, EDGEPIPE_VERSION, command,
	    t->inst->profile->model, t->inst->cluster->n, cluster_kind_name(t->spec->cluster.kind),
	    (int64_t)t->spec->seed, t->spec->trial, t->algo->name,
	    algo_variant_name(t->algo_options.variant), trial_metric_name(t),
	    sim_arrival_name(cfg->arrival), trial_sim_report(s)->window_start,
	    cfg->arrival == SIM_CLOSED ? NAN : cfg->rate, cfg->requests, cfg->warmup_requests,
	    cfg->compute ? "on" : "off", (int)cfg->dispatcher_hops, sim_dist_name(cfg->service),
	    sim_dist_name(cfg->transfer), (int)cfg->shared_medium, cfg->heartbeat_period_s,
	    cfg->heartbeat_timeout_s, cfg->retry_timeout_s, faults,
	    s->n_updates > 0 ? updates : NULL, cfg->mtbf_s, k->ratio > 0 ? k->spec : NULL,
	    t->power ? t->power->name : NULL);
	if (t->scenario_path || t->scenario_text)
		row(d, "sim_scenarios", "ss", t->scenario_path, t->scenario_text);
}

static double opt(double v)
{
	return v < 0 ? NAN : v;
}

static void write_records(struct db *d, const struct sim_config *cfg,
			  const struct sim_report *r)
{
	for (int i = 0; i < r->n_bins && !d->rc; i++)
		row(d, "sim_series", "ndid", i, i * r->bin_s, r->series[i],
		    (double)r->series[i] / r->bin_s);
	for (int i = 0; r->energy && i < r->n_nodes && !d->rc; i++) {
		const struct sim_node_energy *e = &r->energy[i];

		row(d, "sim_energy", "nndddddd", e->node, (int)e->active, e->busy_s, e->bits_sent,
		    e->bits_received, e->energy_j, e->energy_per_inference_j, e->power_w);
	}
	for (int i = 0; i < r->n_incidents && !d->rc; i++) {
		const struct sim_incident *in = &r->incidents[i];

		/* fault: the incident's index; spec: the timeline's fault behind it, if any. */
		row(d, "sim_faults", "nssnnddddd" "dnndd" "ss", i,
		    in->fault >= 0 && in->fault < cfg->n_faults ? cfg->faults[in->fault].text : NULL,
		    sim_incident_kind_name(in->kind), in->node, in->peer, in->at_s,
		    opt(in->detected_s), opt(in->live_s),
		    in->detected_s >= 0 ? in->detected_s - in->at_s : NAN, opt(in->recovery_s),
		    opt(in->back_s), (int)in->replanned, in->stages, opt(in->bottleneck_s),
		    opt(in->deploy_s), in->model, in->reason[0] ? in->reason : NULL);
	}
}

int trial_sim_db_write(const struct trial_sim *s, const char *path, const char *command,
		       struct ep_error *err)
{
	const struct sim_report *r = trial_sim_report(s);
	const struct algo_result *res = s->res;
	struct db d = { .path = path, .err = err };

	make_run_id(d.run_id, sizeof(d.run_id));
	if (sqlite3_open_v2(path, &d.h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		int rc = ep_error_set(err, EP_EIO, "--db '%s': %s", path,
				      d.h ? sqlite3_errmsg(d.h) : "out of memory");

		sqlite3_close(d.h);
		return rc;
	}
	sqlite3_busy_timeout(d.h, 10000);
	exec(&d, "BEGIN IMMEDIATE", "starting a transaction");
	check_schema(&d);
	write_run(&d, s, command);
	write_records(&d, &s->cfg, r);
	row(&d, "sim_summary", "nddddddddiiiiiiiiddndnddidd", res->plan.n_stages,
	    res->cost.bottleneck_s, res->cost.throughput, r->throughput, r->latency_mean_s,
	    r->latency_p50_s, r->latency_p95_s, r->latency_p99_s, r->latency_max_s, r->issued,
	    r->completed, r->incomplete, r->duplicates, r->retries, r->requests_retried, r->lost,
	    r->measured, r->warmup_end_s, r->end_s, (int)r->no_plan,
	    r->no_plan ? NAN : r->final_cost.throughput, r->window_end,
	    r->energy ? r->energy_per_inference_j : NAN, r->energy ? r->power_w : NAN,
	    (int64_t)r->events, r->sim_end_s, r->bin_s);
	if (d.rc == EP_OK)
		exec(&d, "COMMIT", "committing");
	else
		sqlite3_exec(d.h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(d.h);
	return d.rc;
}
