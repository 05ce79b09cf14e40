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

#include "emu_db.h"
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

static void write_run(struct emu_db_writer *d, const struct trial_sim *s, const char *command)
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
	emu_db_row(d, "sim_runs", "ssssnsinssssndiisnssndddssdss", started, EDGEPIPE_VERSION,
		   command, t->inst->profile->model, t->inst->cluster->n,
		   cluster_kind_name(t->spec->cluster.kind), (int64_t)t->spec->seed, t->spec->trial,
		   t->algo->name, algo_variant_name(t->algo_options.variant), trial_metric_name(t),
		   sim_arrival_name(cfg->arrival), trial_sim_report(s)->window_start,
		   cfg->arrival == SIM_CLOSED ? NAN : cfg->rate, cfg->requests,
		   cfg->warmup_requests, cfg->compute ? "on" : "off", (int)cfg->dispatcher_hops,
		   sim_dist_name(cfg->service), sim_dist_name(cfg->transfer),
		   (int)cfg->shared_medium, cfg->heartbeat_period_s, cfg->heartbeat_timeout_s,
		   cfg->retry_timeout_s, faults, s->n_updates > 0 ? updates : NULL, cfg->mtbf_s,
		   k->ratio > 0 ? k->spec : NULL, t->power ? t->power->name : NULL);
	if (t->scenario_path || t->scenario_text)
		emu_db_row(d, "sim_scenarios", "ss", t->scenario_path, t->scenario_text);
}

static double opt(double v)
{
	return v < 0 ? NAN : v;
}

static void write_records(struct emu_db_writer *d, const struct sim_config *cfg,
			  const struct sim_report *r)
{
	for (int i = 0; i < r->n_bins && !d->rc; i++)
		emu_db_row(d, "sim_series", "ndid", i, i * r->bin_s, r->series[i],
			   (double)r->series[i] / r->bin_s);
	for (int i = 0; r->energy && i < r->n_nodes && !d->rc; i++) {
		const struct sim_node_energy *e = &r->energy[i];

		emu_db_row(d, "sim_energy", "nndddddd", e->node, (int)e->active, e->busy_s,
			   e->bits_sent, e->bits_received, e->energy_j, e->energy_per_inference_j,
			   e->power_w);
	}
	for (int i = 0; i < r->n_incidents && !d->rc; i++) {
		const struct sim_incident *in = &r->incidents[i];

		/* fault: the incident's index; spec: the timeline's fault behind it, if any. */
		emu_db_row(d, "sim_faults",
			   "nssnnddddd"
			   "dnndd"
			   "ss",
			   i,
			   in->fault >= 0 && in->fault < cfg->n_faults ? cfg->faults[in->fault].text
								       : NULL,
			   sim_incident_kind_name(in->kind), in->node, in->peer, in->at_s,
			   opt(in->detected_s), opt(in->live_s),
			   in->detected_s >= 0 ? in->detected_s - in->at_s : NAN,
			   opt(in->recovery_s), opt(in->back_s), (int)in->replanned, in->stages,
			   opt(in->bottleneck_s), opt(in->deploy_s), in->model,
			   in->reason[0] ? in->reason : NULL);
	}
}

int trial_sim_db_write(const struct trial_sim *s, const char *path, const char *command,
		       struct ep_error *err)
{
	const struct sim_report *r = trial_sim_report(s);
	const struct algo_result *res = s->res;
	struct emu_db_writer d;
	char run_id[16];

	make_run_id(run_id, sizeof(run_id));
	/* After a failed open every write does nothing, and close returns the error. */
	emu_db_open(&d, path, run_id, schema, "sim_meta", "simulator", TRIAL_SIM_DB_SCHEMA_VERSION,
		    err);
	write_run(&d, s, command);
	write_records(&d, &s->cfg, r);
	emu_db_row(&d, "sim_summary", "nddddddddiiiiiiiiddndnddidd", res->plan.n_stages,
		   res->cost.bottleneck_s, res->cost.throughput, r->throughput, r->latency_mean_s,
		   r->latency_p50_s, r->latency_p95_s, r->latency_p99_s, r->latency_max_s,
		   r->issued, r->completed, r->incomplete, r->duplicates, r->retries,
		   r->requests_retried, r->lost, r->measured, r->warmup_end_s, r->end_s,
		   (int)r->no_plan, r->no_plan ? NAN : r->final_cost.throughput, r->window_end,
		   r->energy ? r->energy_per_inference_j : NAN, r->energy ? r->power_w : NAN,
		   (int64_t)r->events, r->sim_end_s, r->bin_s);
	return emu_db_close(&d);
}
