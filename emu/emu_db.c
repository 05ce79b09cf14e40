/*
 * An emulator run into SQLite (emu_db.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "emu_db.h"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS emu_meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS emu_runs(run_id TEXT PRIMARY KEY, started_utc TEXT,"
	"  version TEXT, command TEXT, model TEXT, nodes INTEGER, cluster TEXT, seed INTEGER,"
	"  trial INTEGER, algo TEXT, variant TEXT, metric TEXT, workload TEXT, win INTEGER,"
	"  rate REAL, requests INTEGER, warmup INTEGER, compute TEXT, compress TEXT,"
	"  heartbeat_period_s REAL, heartbeat_timeout_s REAL, retry_timeout_s REAL, faults TEXT,"
	"  update_spec TEXT, host_flops REAL, setup_s REAL, teardown_s REAL, interrupted INTEGER,"
	"  gave_up INTEGER, stale_note TEXT, threads INTEGER);"
	"CREATE TABLE IF NOT EXISTS emu_mechanisms(run_id TEXT, property TEXT, mechanism TEXT,"
	"  detail TEXT, PRIMARY KEY(run_id, property));"
	"CREATE TABLE IF NOT EXISTS emu_requests(run_id TEXT, request INTEGER, issue_s REAL,"
	"  first_sent_s REAL, sent_s REAL, done_s REAL, latency_s REAL, attempts INTEGER,"
	"  deployment INTEGER, duplicates INTEGER, mismatch INTEGER, PRIMARY KEY(run_id, request));"
	"CREATE TABLE IF NOT EXISTS emu_deployments(run_id TEXT, deployment INTEGER,"
	"  version INTEGER, model TEXT, stages INTEGER, plan TEXT, bottleneck_s REAL,"
	"  started_s REAL, live_s REAL, ended_s REAL, state TEXT, reason TEXT,"
	"  PRIMARY KEY(run_id, deployment));"
	"CREATE TABLE IF NOT EXISTS emu_stages(run_id TEXT, deployment INTEGER, stage INTEGER,"
	"  node INTEGER, first_cut INTEGER, end_cut INTEGER, flops REAL, cpu_share REAL,"
	"  work_iters REAL, hold_s REAL, frames_in INTEGER, frames_out INTEGER, probes INTEGER,"
	"  bytes_in_raw REAL, bytes_in_wire REAL, bytes_out_raw REAL, bytes_out_wire REAL,"
	"  compute_s REAL, hold_total_s REAL, encode_s REAL, decode_s REAL, max_backlog INTEGER,"
	"  PRIMARY KEY(run_id, deployment, stage));"
	"CREATE TABLE IF NOT EXISTS emu_links(run_id TEXT, deployment INTEGER, hop INTEGER,"
	"  from_node INTEGER, to_node INTEGER, frames INTEGER, raw_bytes REAL, wire_bytes REAL,"
	"  encode_s REAL, decode_s REAL,"
	"  PRIMARY KEY(run_id, deployment, hop));"
	"CREATE TABLE IF NOT EXISTS emu_events(run_id TEXT, seq INTEGER, t_s REAL, kind TEXT,"
	"  node INTEGER, peer INTEGER, deployment INTEGER, text TEXT, PRIMARY KEY(run_id, seq));"
	"CREATE TABLE IF NOT EXISTS emu_faults(run_id TEXT, fault INTEGER, spec TEXT, kind TEXT,"
	"  node INTEGER, peer INTEGER, scheduled_s REAL, at_s REAL, slip_s REAL,"
	"  end_scheduled_s REAL, end_s REAL, end_slip_s REAL, detected_s REAL, live_s REAL,"
	"  detection_s REAL, recovery_s REAL, resent INTEGER, note TEXT,"
	"  PRIMARY KEY(run_id, fault));"
	"CREATE TABLE IF NOT EXISTS emu_updates(run_id TEXT, version INTEGER, model TEXT,"
	"  at_s REAL, live_s REAL, drained_s REAL, rollout_s REAL, PRIMARY KEY(run_id, version));"
	"CREATE TABLE IF NOT EXISTS emu_series(run_id TEXT, bin INTEGER, start_s REAL,"
	"  answers INTEGER, throughput REAL, PRIMARY KEY(run_id, bin));"
	"CREATE TABLE IF NOT EXISTS emu_summary(run_id TEXT PRIMARY KEY, stages INTEGER,"
	"  analytic_bottleneck_s REAL, analytic_throughput REAL, sim_throughput REAL,"
	"  emu_throughput REAL, emu_vs_sim REAL, emu_vs_analytic REAL, latency_mean_s REAL,"
	"  latency_p50_s REAL, latency_p95_s REAL, latency_p99_s REAL, latency_max_s REAL,"
	"  sim_latency_mean_s REAL, issued INTEGER, answered INTEGER, incomplete INTEGER,"
	"  duplicates INTEGER, resends INTEGER, requests_resent INTEGER, raw_bytes REAL,"
	"  wire_bytes REAL, probes INTEGER, path_latency_configured_s REAL,"
	"  path_latency_measured_s REAL, checked INTEGER, mismatches INTEGER, max_diff REAL,"
	"  encode_s REAL, decode_s REAL, power_model TEXT, energy_interval_s REAL, energy_j REAL,"
	"  energy_per_inference_j REAL, power_w REAL, sim_energy_per_inference_j REAL,"
	"  sim_power_w REAL, max_abs_diff REAL, top1_agreement REAL);"
	"CREATE TABLE IF NOT EXISTS emu_energy(run_id TEXT, node INTEGER, active INTEGER,"
	"  cpu_s REAL, share REAL, busy_s REAL, utilisation REAL, bits_sent REAL,"
	"  bits_received REAL, energy_j REAL, energy_per_inference_j REAL, power_w REAL,"
	"  PRIMARY KEY(run_id, node));"
	"CREATE TABLE IF NOT EXISTS emu_scenarios(run_id TEXT PRIMARY KEY, path TEXT, text TEXT);";

static int fail(struct emu_db_writer *w, const char *what)
{
	if (w->rc == EP_OK)
		w->rc = ep_error_set(w->err, EP_EIO, "--db '%s': %s: %s", w->path, what,
				     sqlite3_errmsg(w->h));
	return w->rc;
}

int emu_db_exec(struct emu_db_writer *w, const char *sql, const char *what)
{
	if (w->rc == EP_OK && sqlite3_exec(w->h, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(w, what);
	return w->rc;
}

/* Bind the value of type c (emu_db_row's letters) from ap to column col. */
static void bind_value(sqlite3_stmt *st, int col, char c, va_list *ap)
{
	switch (c) {
	case 's': {
		const char *v = va_arg(*ap, const char *);

		if (v)
			sqlite3_bind_text(st, col, v, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, col);
		break;
	}
	case 'i': sqlite3_bind_int64(st, col, va_arg(*ap, int64_t)); break;
	case 'I': {
		int64_t v = va_arg(*ap, int64_t);

		if (v >= 0)
			sqlite3_bind_int64(st, col, v);
		else
			sqlite3_bind_null(st, col);
		break;
	}
	case 'n': sqlite3_bind_int(st, col, va_arg(*ap, int)); break;
	case 'N': {
		int v = va_arg(*ap, int);

		if (v >= 0)
			sqlite3_bind_int(st, col, v);
		else
			sqlite3_bind_null(st, col);
		break;
	}
	case 'u': sqlite3_bind_int64(st, col, (sqlite3_int64)va_arg(*ap, uint64_t)); break;
	default: {
		double v = va_arg(*ap, double);

		if (isfinite(v))
			sqlite3_bind_double(st, col, v);
		else
			sqlite3_bind_null(st, col);
		break;
	}
	}
}

int emu_db_row(struct emu_db_writer *w, const char *table, const char *types, ...)
{
	char sql[512];
	size_t used;
	sqlite3_stmt *st = NULL;
	va_list ap;
	int n = (int)strlen(types);

	if (w->rc)
		return w->rc;
	used = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES(?", table);
	for (int i = 0; i < n && used < sizeof(sql); i++)
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, ",?");
	snprintf(sql + used, sizeof(sql) - used, ")");
	if (sqlite3_prepare_v2(w->h, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(w, table);
	sqlite3_bind_text(st, 1, w->id, -1, SQLITE_TRANSIENT);
	va_start(ap, types);
	for (int i = 0; i < n; i++)
		bind_value(st, i + 2, types[i], &ap);
	va_end(ap);
	if (sqlite3_step(st) != SQLITE_DONE)
		fail(w, table);
	sqlite3_finalize(st);
	return w->rc;
}

static int check_schema(struct emu_db_writer *w, const char *tables, const char *meta_table,
			const char *whose, int version)
{
	sqlite3_stmt *st;
	char sql[128];

	if (emu_db_exec(w, tables, "creating the tables"))
		return w->rc;
	snprintf(sql, sizeof(sql), "SELECT value FROM %s WHERE key = 'schema'", meta_table);
	if (sqlite3_prepare_v2(w->h, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(w, "reading the schema version");
	if (sqlite3_step(st) == SQLITE_ROW) {
		int v = sqlite3_column_int(st, 0);

		sqlite3_finalize(st);
		if (v != version)
			w->rc = ep_error_set(w->err, EP_EINVAL,
					     "--db '%s': %s schema version %d; this edgepipe "
					     "writes version %d",
					     w->path, whose, v, version);
		return w->rc;
	}
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES('schema', '%d')", meta_table, version);
	return emu_db_exec(w, sql, "writing the schema version");
}

int emu_db_open(struct emu_db_writer *w, const char *path, const char *id, const char *tables,
		const char *meta_table, const char *whose, int version, struct ep_error *err)
{
	*w = (struct emu_db_writer){.path = path, .id = id, .err = err};
	if (sqlite3_open_v2(path, &w->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		w->rc = ep_error_set(err, EP_EIO, "--db '%s': %s", path,
				     w->h ? sqlite3_errmsg(w->h) : "out of memory");
		return w->rc;
	}
	sqlite3_busy_timeout(w->h, 10000);
	emu_db_exec(w, "BEGIN IMMEDIATE", "starting a transaction");
	return check_schema(w, tables, meta_table, whose, version);
}

int emu_db_close(struct emu_db_writer *w)
{
	if (w->rc == EP_OK)
		emu_db_exec(w, "COMMIT", "committing");
	else if (w->h)
		sqlite3_exec(w->h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(w->h);
	w->h = NULL;
	return w->rc;
}

/* "never" (-1) and unmeasured (NAN) values are NULL. */
static double opt(double v)
{
	return v < 0 ? NAN : v;
}

static const char *cg_name(int version)
{
	return version == 2 ? "cgroup-v2" : version == 1 ? "cgroup-v1" : "none";
}

static void write_run(struct emu_db_writer *d, const struct emu_db_run *run,
		      const struct emu_report *rep)
{
	char started[32], faults[4096];
	time_t now = time(NULL);
	struct tm tm;
	size_t used = 0;

	gmtime_r(&now, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	faults[0] = '\0';
	for (int i = 0; i < run->n_faults && used < sizeof(faults); i++)
		used += (size_t)snprintf(faults + used, sizeof(faults) - used, "%s%s", i ? "; " : "",
					 run->faults[i].text);
	emu_db_row(d, "emu_runs", "ssssNsiNssssNdiissdddssdddNNsN", started, EDGEPIPE_VERSION,
		   run->command, run->model, run->nodes, run->cluster, (int64_t)run->seed,
		   run->trial, run->algo, run->variant, run->metric, run->workload, run->window,
		   run->rate, run->requests, run->warmup, run->compute, run->compress,
		   run->heartbeat_period_s, run->heartbeat_timeout_s, run->retry_timeout_s, faults,
		   run->update_spec, rep->host_flops, rep->setup_s, rep->teardown_s,
		   (int)rep->interrupted, (int)rep->gave_up,
		   rep->stale_note[0] ? rep->stale_note : NULL, run->threads);
	emu_db_row(d, "emu_mechanisms", "sss", "bandwidth",
		   emu_mech_name(rep->mech[EMU_PROP_BANDWIDTH]),
		   "an HTB class and a u32 filter per ordered pair, at the sender");
	emu_db_row(
		d, "emu_mechanisms", "sss", "latency", emu_mech_name(rep->mech[EMU_PROP_LATENCY]),
		rep->mech[EMU_PROP_LATENCY] == EMU_MECH_TRANSPORT
			? "each receiver holds a frame for its link's latency after its last byte"
			: "a netem leaf under the pair's class");
	emu_db_row(d, "emu_mechanisms", "sss", "loss", emu_mech_name(rep->mech[EMU_PROP_LOSS]),
		   rep->mech[EMU_PROP_LOSS] == EMU_MECH_IPTABLES
			   ? "an iptables statistic rule at the receiver"
			   : NULL);
	emu_db_row(d, "emu_mechanisms", "sss", "link-down", emu_mech_name(rep->mech[EMU_PROP_DOWN]),
		   "an iptables DROP rule at the receiver; a killed node's interface is set down");
	emu_db_row(d, "emu_mechanisms", "sss", "cpu", cg_name(rep->cgroup_cpu_version),
		   run->compute && strcmp(run->compute, "real") == 0
			   ? "CPU share = the node's speed factor, of one core"
			   : "CPU share = node speed / host speed (busy loop on one core)");
	emu_db_row(d, "emu_mechanisms", "sss", "memory", cg_name(rep->cgroup_memory_version),
		   "memory cap = node memory");
	emu_db_row(d, "emu_mechanisms", "sss", "missing", "-",
		   rep->missing[0] ? rep->missing : NULL);
}

static void write_records(struct emu_db_writer *d, const struct emu_db_run *run,
			  const struct emu_report *rep)
{
	for (int64_t i = 0; i < rep->n_requests && !d->rc; i++) {
		const struct emu_request_record *q = &rep->requests[i];

		emu_db_row(d, "emu_requests",
			   "iddddd"
			   "NNNN",
			   i, q->issue_s, q->attempts > 0 ? q->first_sent_s : NAN,
			   q->attempts > 0 ? q->sent_s : NAN, opt(q->done_s),
			   q->done_s >= 0 ? q->done_s - q->issue_s : NAN, q->attempts,
			   q->deployment, q->duplicates, q->mismatch);
	}
	for (int i = 0; i < rep->n_deploys && !d->rc; i++) {
		const struct emu_deploy_record *x = &rep->deploys[i];

		emu_db_row(d, "emu_deployments", "NNsNsddddss", x->id, x->version, x->model,
			   x->n_stages, x->plan, x->bottleneck_s, x->started_s, x->live_s,
			   x->ended_s, x->state, x->reason[0] ? x->reason : NULL);
	}
	for (int i = 0; i < rep->n_stages && !d->rc; i++) {
		const struct emu_stage_record *x = &rep->stages[i];

		emu_db_row(d, "emu_stages", "NNNNNddddiiiddddddddN", x->deployment, x->stage,
			   x->node, x->first_cut, x->end_cut, x->flops, x->cpu_share, x->work_iters,
			   x->hold_s, x->c.frames_in, x->c.frames_out, x->c.probes,
			   x->c.bytes_in_raw, x->c.bytes_in_wire, x->c.bytes_out_raw,
			   x->c.bytes_out_wire, x->c.compute_s, x->c.hold_s, x->c.encode_s,
			   x->c.decode_s, x->c.max_backlog);
	}
	for (int i = 0; i < rep->n_links && !d->rc; i++) {
		const struct emu_link_record *x = &rep->links[i];

		emu_db_row(d, "emu_links", "NNNNidddd", x->deployment, x->hop, x->from, x->to,
			   x->frames, x->raw_bytes, x->wire_bytes, x->encode_s, x->decode_s);
	}
	for (int i = 0; i < rep->n_energy && !d->rc; i++) {
		const struct emu_node_energy *x = &rep->energy[i];

		emu_db_row(d, "emu_energy", "NNddddddddd", x->node, (int)x->active, x->cpu_s,
			   x->share, x->busy_s, x->utilisation, x->bits_sent, x->bits_received,
			   x->energy_j, x->energy_per_inference_j, x->power_w);
	}
	for (int i = 0; i < rep->n_events && !d->rc; i++) {
		const struct emu_event *x = &rep->events[i];

		emu_db_row(d, "emu_events", "NdsNNNs", i, x->t_s, x->kind, x->node, x->peer,
			   x->deployment, x->text);
	}
	for (int i = 0; i < rep->n_faults && !d->rc; i++) {
		const struct timeline_fault_record *x = &rep->faults[i];
		const struct timeline_fault *f = x->fault < run->n_faults ? &run->faults[x->fault] : NULL;

		emu_db_row(d, "emu_faults",
			   "NssNNdddddddddd"
			   "is",
			   x->fault, f ? f->text : NULL, f ? timeline_kind_name(f->kind) : NULL,
			   x->node, x->peer, x->scheduled_s, opt(x->at_s),
			   x->at_s >= 0 ? x->at_s - x->scheduled_s : NAN, opt(x->end_scheduled_s),
			   opt(x->end_s),
			   x->end_s >= 0 && x->end_scheduled_s >= 0 ? x->end_s - x->end_scheduled_s
								    : NAN,
			   opt(x->detected_s), opt(x->live_s), opt(x->detection_s),
			   opt(x->recovery_s), x->resent, x->note[0] ? x->note : NULL);
	}
	for (int i = 0; i < rep->n_updates && !d->rc; i++) {
		const struct emu_update_record *x = &rep->updates[i];

		emu_db_row(d, "emu_updates", "Nsdddd", x->version, x->model, x->at_s,
			   opt(x->live_s), opt(x->drained_s), opt(x->rollout_s));
	}
	for (int i = 0; i < rep->n_bins && !d->rc; i++)
		emu_db_row(d, "emu_series", "Ndid", i, i * rep->bin_s, rep->series[i],
			   (double)rep->series[i] / rep->bin_s);
}

int emu_db_write(const char *path, const struct emu_db_run *run, const struct emu_report *rep,
		 struct ep_error *err)
{
	struct emu_db_writer d;
	double emu_tp = rep->throughput;

	/* After a failed open every write does nothing, and close returns the error. */
	emu_db_open(&d, path, rep->run_id, schema, "emu_meta", "emulator", EMU_DB_SCHEMA_VERSION,
		    err);
	write_run(&d, run, rep);
	if (run->scenario_text)
		emu_db_row(&d, "emu_scenarios", "ss", run->scenario_path, run->scenario_text);
	write_records(&d, run, rep);
	emu_db_row(&d, "emu_summary",
		   "Ndddddddddddd"
		   "iiiiiiddNdd"
		   "iid"
		   "dd"
		   "sdddddd"
		   "dd",
		   run->stages, run->analytic_bottleneck_s, run->analytic_throughput,
		   run->sim_throughput, emu_tp, emu_tp / run->sim_throughput - 1,
		   emu_tp / run->analytic_throughput - 1, rep->latency_mean_s, rep->latency_p50_s,
		   rep->latency_p95_s, rep->latency_p99_s, rep->latency_max_s,
		   run->sim_latency_mean_s, rep->issued, rep->answered, rep->incomplete,
		   rep->duplicates, rep->resends, rep->requests_resent, rep->raw_bytes,
		   rep->wire_bytes, rep->probes, rep->path_latency_configured_s,
		   rep->path_latency_measured_s, rep->checked, rep->mismatches,
		   rep->checked > 0 ? rep->max_diff : NAN, rep->encode_s, rep->decode_s,
		   rep->power_model[0] ? rep->power_model : NULL, rep->energy_interval_s,
		   rep->energy_j, rep->energy_per_inference_j, rep->power_w,
		   run->sim_energy_per_inference_j, run->sim_power_w,
		   rep->checked > 0 ? rep->max_abs_diff : NAN,
		   rep->checked > 0 ? (double)rep->top1_agree / (double)rep->checked : NAN);
	return emu_db_close(&d);
}
