/*
 * trial: the emulator's report (trial.h, trial_emu_write): text for a reader, one CSV row, JSON
 * through jansson (ep_json.h).
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "ep_json.h"
#include "ep_units.h"
#include "ep_util.h"
#include "trial_internal.h"

static const char *codec_name(const struct emu_config *cfg)
{
	return cfg->codec ? cfg->codec : "none";
}

static const char *num(double v, const char *fmt, char *buf, size_t size)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, size, fmt, v);
	return buf;
}

static const char *opt_time(double v, char *buf, size_t size)
{
	return v < 0 ? "-" : num(v, "%.3f", buf, size);
}

static const char *node_name(int node, int n, char *buf, size_t size)
{
	if (node < 0)
		return "-";
	if (node == n)
		return "D";
	snprintf(buf, size, "%d", node);
	return buf;
}

static const char *cg_name(int v)
{
	return v == 2 ? "cgroup v2" : v == 1 ? "cgroup v1" : "none";
}

/* Modelled energy: per active node and in total, beside the simulator's. */
static void text_energy(FILE *f, const struct trial_emu *e, const struct emu_report *r)
{
	const struct power_model *pm = e->t->power;
	char x[32], y[32], z[32];

	if (!pm)
		return;
	if (!r->energy) {
		fprintf(f, "\nMODELLED energy: not available (no cgroup CPU accounting on this host, or "
		       "no measured interval)\n");
		return;
	}
	fprintf(f, "\nMODELLED energy (device %s: %.4g W idle, %.4g W busy, %.4g nJ/bit sent, %.4g "
	       "nJ/bit received; nothing is measured: u from each node's cgroup CPU time / its "
	       "share), over %.6g s:\n", pm->name, pm->idle_w, pm->max_w, pm->tx_j_per_bit * 1e9,
	       pm->rx_j_per_bit * 1e9, r->energy_interval_s);
	fprintf(f, "%-6s %10s %8s %12s %8s %14s %14s %16s %10s\n", "node", "cpu_s", "share",
	       "busy_s", "u", "Mbit_sent", "Mbit_received", "J_per_inference", "mean_W");
	for (int i = 0; i < r->n_energy; i++) {
		const struct emu_node_energy *en = &r->energy[i];

		if (en->active)
			fprintf(f, "%-6d %10.4f %8.3f %12.4f %8.3f %14.6g %14.6g %16s %10s\n", i,
			       en->cpu_s, en->share, en->busy_s, en->utilisation, en->bits_sent / 1e6,
			       en->bits_received / 1e6,
			       num(en->energy_per_inference_j, "%.6g", x, sizeof(x)),
			       num(en->power_w, "%.4g", y, sizeof(y)));
	}
	fprintf(f, "total over the active nodes: %s J per inference, %s W; simulated: %s J per "
	       "inference\n", num(r->energy_per_inference_j, "%.6g", x, sizeof(x)),
	       num(r->power_w, "%.4g", y, sizeof(y)),
	       num(e->sim.energy_per_inference_j, "%.6g", z, sizeof(z)));
}

/* The header: instance, mechanisms, plan, workload. */
static void text_head(FILE *f, const struct trial_emu *e, const struct emu_report *r)
{
	const struct emu_config *cfg = &e->cfg;

	trial_head_write(f, e->t);
	if (cfg->remote) {
		/* edgepipe dispatch: nothing emulated; node i is the i-th host. */
		fprintf(f, "run %s on real hosts:", r->run_id);
		for (int i = 0; i < cfg->remote->n; i++)
			fprintf(f, " node%d=%s(%s:%u)", i, cfg->remote->hosts[i].name,
			       cfg->remote->hosts[i].host, cfg->remote->hosts[i].port);
		fprintf(f, "; dispatcher %.3g GFLOP/s per core (busy loop)\n", r->host_flops / 1e9);
	} else {
		fprintf(f, "run %s: bandwidth %s, latency %s, loss %s, link down %s; cpu %s, memory %s; "
		       "host %.3g GFLOP/s per core (busy loop)\n", r->run_id,
		       emu_mech_name(r->mech[EMU_PROP_BANDWIDTH]),
		       emu_mech_name(r->mech[EMU_PROP_LATENCY]),
		       emu_mech_name(r->mech[EMU_PROP_LOSS]), emu_mech_name(r->mech[EMU_PROP_DOWN]),
		       cg_name(r->cgroup_cpu_version), cg_name(r->cgroup_memory_version),
		       r->host_flops / 1e9);
	}
	if (r->missing[0]) {
		const char *p = r->missing;

		while (*p) {
			const char *nl = strchr(p, '\n');
			int len = nl ? (int)(nl - p) : (int)strlen(p);

			fprintf(f, "  %.*s\n", len, p);
			p += len + (nl != NULL);
		}
	}
	fprintf(f, "plan (%s, %d stages, cuts..cuts@node): ", e->t->algo->name,
		e->res->plan.n_stages);
	trial_plan_line_write(f, &e->res->plan);
	if (cfg->arrival == EMU_CLOSED)
		fprintf(f, "\nworkload: closed loop, window %d", cfg->window);
	else
		fprintf(f, "\nworkload: %s arrivals at %g /s", emu_arrival_name(cfg->arrival),
		       cfg->rate);
	fprintf(f, ", %" PRId64 " requests, warm-up %" PRId64 " answers; compute %s; compress %s; "
	       "heartbeats %g ms, timeout %g ms\n", cfg->requests, cfg->warmup_requests,
	       e->compute_name, codec_name(cfg),
	       cfg->heartbeat_period_s * 1e3, cfg->heartbeat_timeout_s * 1e3);
}

/* Analytic, simulated and emulated side by side; the path latency. */
static void text_table(FILE *f, const struct trial_emu *e, const struct emu_report *r)
{
	char x[32], y[32], z[32];

	fprintf(f, "\n%-22s %12s %12s %12s\n", "", "analytic", "simulated", "emulated");
	fprintf(f, "%-22s %12.6g %12s %12s", "throughput (/s)", e->res->cost.throughput,
	       num(e->sim.throughput, "%.6g", x, sizeof(x)), num(r->throughput, "%.6g", y, sizeof(y)));
	if (isfinite(e->sim.throughput) && isfinite(r->throughput))
		fprintf(f, "   emulated %+.1f %% vs simulated", 100 * (r->throughput / e->sim.throughput - 1));
	fprintf(f, "\n%-22s %12.6f\n", "bottleneck (ms)", e->res->cost.bottleneck_s * 1e3);
	fprintf(f, "%-22s %12s %12s %12s\n", "latency mean (ms)", "",
	       num(e->sim.latency_mean_s * 1e3, "%.6g", x, sizeof(x)),
	       num(r->latency_mean_s * 1e3, "%.6g", y, sizeof(y)));
	fprintf(f, "%-22s %12s %12s %12s\n", "latency p50 (ms)", "", "",
	       num(r->latency_p50_s * 1e3, "%.6g", x, sizeof(x)));
	fprintf(f, "%-22s %12s %12s %12s\n", "latency p95 (ms)", "", "",
	       num(r->latency_p95_s * 1e3, "%.6g", x, sizeof(x)));
	fprintf(f, "%-22s %12s %12s %12s\n", "latency p99 (ms)", "", "",
	       num(r->latency_p99_s * 1e3, "%.6g", x, sizeof(x)));
	fprintf(f, "%-22s %12s %12s %12s\n", "latency max (ms)", "", "",
	       num(r->latency_max_s * 1e3, "%.6g", x, sizeof(x)));
	if (r->probes > 0)
		fprintf(f, "path latency: configured %.3f ms, added %s ms (median of %d probe round "
		       "trips with the %s latency, %s ms, minus %d without, %s ms)\n",
		       r->path_latency_configured_s * 1e3,
		       num(r->path_latency_measured_s * 1e3, "%.3f", x, sizeof(x)), r->probes,
		       emu_mech_name(r->mech[EMU_PROP_LATENCY]),
		       num(r->probe_rtt_hold_s * 1e3, "%.3f", y, sizeof(y)), r->probes,
		       num(r->probe_rtt_nohold_s * 1e3, "%.3f", z, sizeof(z)));
	if (r->path_latency_clamped)
		fprintf(f, "  (the difference was %.3f ms: below the probes' jitter, and a hold never "
		       "shortens a path, so it is shown as 0)\n", r->path_latency_raw_s * 1e3);
}

/* Requests, answers checked, bytes on the links, energy, how the run ended. */
static void text_requests(FILE *f, const struct trial_emu *e, const struct emu_report *r)
{
	const struct emu_config *cfg = &e->cfg;
	char x[32], y[32];

	fprintf(f, "\nrequests: %" PRId64 " issued, %" PRId64 " answered (each once), %" PRId64
	       " never answered; %" PRId64 " sent again (%" PRId64 " resends), %" PRId64
	       " duplicate answers discarded; measured %" PRId64 " from %.3f s to %.3f s\n",
	       r->issued, r->answered, r->incomplete, r->requests_resent, r->resends,
	       r->duplicates, r->measured, r->warmup_end_s, r->end_s);
	if (cfg->real)
		fprintf(f, "answers checked against the whole model's output: %" PRId64 ", mismatches "
		       "%" PRId64 " (largest difference %.3g of the output's magnitude, tolerance "
		       "%g)\n", r->checked, r->mismatches, r->max_diff, EMU_REAL_TOLERANCE);
	if (cfg->real && r->checked > 0)
		fprintf(f, "the codec's effect (%s%s): largest absolute output difference %.6g, top-1 "
		       "class as the whole model's in %" PRId64 " of %" PRId64 " answers (%.1f %%)\n",
		       r->codec, r->codec_lossy ? ", lossy: a mismatch is another top-1 "
		       "class" : "", r->max_abs_diff, r->top1_agree, r->checked,
		       100.0 * (double)r->top1_agree / (double)r->checked);
	fprintf(f, "tensor bytes on the links: %s before coding, %s on the wire (codec %s, ratio "
	       "%.3f); coding %.3f s, decoding %.3f s in all\n",
	       ep_format_bytes(r->raw_bytes, x, sizeof(x)),
	       ep_format_bytes(r->wire_bytes, y, sizeof(y)), r->codec,
	       r->wire_bytes > 0 ? r->raw_bytes / r->wire_bytes : 1.0, r->encode_s, r->decode_s);
	text_energy(f, e, r);
	if (r->interrupted)
		fprintf(f, "INTERRUPTED: the run was stopped and everything it created removed\n");
	if (r->gave_up)
		fprintf(f, "GAVE UP: no plan on the surviving nodes\n");
}

/* Deployments, their stages, their links. */
static void text_deployments(FILE *f, const struct emu_report *r, int n)
{
	char x[32], y[32], w[32];

	fprintf(f, "\n%-4s %-16s %-9s %9s %9s %9s %12s  %s\n", "dep", "model", "state", "started",
	       "live", "ended", "bottleneck", "plan (cuts..cuts@node)");
	for (int i = 0; i < r->n_deploys; i++) {
		const struct emu_deploy_record *d = &r->deploys[i];

		fprintf(f, "%-4d %-16s %-9s %9.3f %9s %9s %9.3f ms  %s%s%s\n", d->id, d->model, d->state,
		       d->started_s, num(d->live_s, "%.3f", x, sizeof(x)),
		       num(d->ended_s, "%.3f", y, sizeof(y)), d->bottleneck_s * 1e3, d->plan,
		       d->reason[0] ? "  -- " : "", d->reason);
	}
	fprintf(f, "\n%-4s %-5s %-4s %-7s %9s %9s %10s %10s %10s %8s %8s\n", "dep", "stage", "node",
	       "cuts", "frames_in", "frames_out", "compute_s", "MiB_out", "MiB_wire", "cpu",
	       "hold_ms");
	for (int i = 0; i < r->n_stages; i++) {
		const struct emu_stage_record *s = &r->stages[i];
		char cuts[24];

		snprintf(cuts, sizeof(cuts), "%d..%d", s->first_cut, s->end_cut);
		fprintf(f, "%-4d %-5d %-4d %-7s %9" PRId64 " %9" PRId64 " %10.3f %10.2f %10.2f %8s %8.3f\n",
		       s->deployment, s->stage, s->node, cuts, s->c.frames_in, s->c.frames_out,
		       s->c.compute_s, s->c.bytes_out_raw / 1048576, s->c.bytes_out_wire / 1048576,
		       s->cpu_share > 0 ? num(s->cpu_share, "%.3f", w, sizeof(w)) : "-",
		       s->hold_s * 1e3);
	}
	fprintf(f, "\n%-4s %-4s %-10s %8s %12s %12s %10s %10s\n", "dep", "hop", "link", "frames",
	       "MiB_raw", "MiB_wire", "encode_ms", "decode_ms");
	for (int i = 0; i < r->n_links; i++) {
		const struct emu_link_record *l = &r->links[i];
		char name[72];

		snprintf(name, sizeof(name), "%s->%s", node_name(l->from, n, x, sizeof(x)),
			 node_name(l->to, n, y, sizeof(y)));
		fprintf(f, "%-4d %-4d %-10s %8" PRId64 " %12.3f %12.3f %10.3f %10.3f\n", l->deployment,
		       l->hop, name, l->frames, l->raw_bytes / 1048576, l->wire_bytes / 1048576,
		       l->encode_s * 1e3, l->decode_s * 1e3);
	}
}

/* Faults and recoveries, updates. */
static void text_faults(FILE *f, const struct trial_emu *e, const struct emu_report *r)
{
	char x[32], y[32], z[32], w[32];

	if (r->n_faults > 0) {
		fprintf(f, "\nfaults and recoveries (seconds from the first request; applied = when the "
		       "action took effect, + its delay after the scheduled time):\n");
		for (int i = 0; i < r->n_faults; i++) {
			const struct timeline_fault_record *fr = &r->faults[i];

			fprintf(f, "  '%s': applied %s", e->w->faults[fr->fault].text,
			       opt_time(fr->at_s, x, sizeof(x)));
			if (fr->at_s >= 0)
				fprintf(f, " (+%.1f ms)", (fr->at_s - fr->scheduled_s) * 1e3);
			if (fr->end_s >= 0)
				fprintf(f, ", undone %s (+%.1f ms)", opt_time(fr->end_s, y, sizeof(y)),
				       (fr->end_s - fr->end_scheduled_s) * 1e3);
			if (fr->detected_s >= 0)
				fprintf(f, "; detected %s (+%.3f s)", opt_time(fr->detected_s, z, sizeof(z)),
				       fr->detection_s);
			if (fr->live_s >= 0)
				fprintf(f, "; redeployed, live %s: recovery %.3f s; %" PRId64
				       " request(s) sent again",
				       opt_time(fr->live_s, w, sizeof(w)), fr->recovery_s, fr->resent);
			if (fr->note[0])
				fprintf(f, " [%s]", fr->note);
			fprintf(f, "\n");
		}
	}
	if (r->n_updates > 0) {
		fprintf(f, "\nupdates:\n");
		for (int i = 0; i < r->n_updates; i++) {
			const struct emu_update_record *u = &r->updates[i];

			fprintf(f, "  to %s at %.3f s: live %s (roll-out %s s), old deployment drained "
			       "%s\n", u->model, u->at_s, opt_time(u->live_s, x, sizeof(x)),
			       opt_time(u->rollout_s, y, sizeof(y)),
			       opt_time(u->drained_s, z, sizeof(z)));
		}
	}
}

static void write_text(FILE *f, const struct trial_emu *e, bool series)
{
	const struct emu_report *r = trial_emu_report(e);

	text_head(f, e, r);
	text_table(f, e, r);
	text_requests(f, e, r);
	text_deployments(f, r, e->t->inst->cluster->n);
	text_faults(f, e, r);
	if (series) {
		fprintf(f, "\nthroughput series (/s, bins of %g s):", r->bin_s);
		for (int i = 0; i < r->n_bins; i++)
			fprintf(f, "%s%.6g", i % 10 ? " " : "\n  ", (double)r->series[i] / r->bin_s);
		fprintf(f, "\n\nevents:\n");
		for (int i = 0; i < r->n_events; i++)
			fprintf(f, "  %9.3f s  %-9s %s\n", r->events[i].t_s, r->events[i].kind,
			       r->events[i].text);
	}
	fprintf(f, "\nset-up %.3f s, teardown %.3f s\n", r->setup_s, r->teardown_s);
}

/* ---- CSV ---- */

static void write_csv(FILE *f, const struct trial_emu *e)
{
	const struct emu_report *r = trial_emu_report(e);
	const struct emu_config *cfg = &e->cfg;
	const struct trial_setup *t = e->t;
	double recovery = NAN;

	for (int i = 0; i < r->n_faults; i++)
		if (r->faults[i].recovery_s >= 0) {
			recovery = r->faults[i].recovery_s;
			break;
		}
	fprintf(f, "run_id,model,algo,variant,nodes,seed,trial,workload,window,rate,requests,warmup,"
	       "compute,compress,stages,analytic_bottleneck_s,analytic_throughput,sim_throughput,"
	       "throughput,latency_mean_s,latency_p50_s,latency_p95_s,latency_p99_s,latency_max_s,"
	       "issued,answered,incomplete,duplicates,requests_resent,path_latency_configured_s,"
	       "path_latency_measured_s,first_recovery_s,raw_bytes,wire_bytes,encode_s,decode_s,"
	       "power_model,energy_per_inference_j,power_w,sim_energy_per_inference_j,"
	       "max_abs_diff,top1_agreement\n");
	fprintf(f, "%s,", r->run_id);
	ep_csv_field(f, t->inst->profile->model);
	fprintf(f, ",%s,%s,%d,%" PRIu64 ",%d,%s,%d,%.17g,%" PRId64 ",%" PRId64 ",%s,%s,%d,%.17g,%.17g,"
	       "%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%" PRId64 ",%" PRId64 ",%" PRId64
	       ",%" PRId64 ",%" PRId64 ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%s,%.17g,%.17g,"
	       "%.17g,%.17g,%.17g\n", t->algo->name,
	       algo_variant_name(t->algo_options.variant), t->inst->cluster->n, t->spec->seed,
	       t->spec->trial, emu_arrival_name(cfg->arrival), cfg->window,
	       cfg->arrival == EMU_CLOSED ? 0 : cfg->rate, cfg->requests,
	       cfg->warmup_requests, e->compute_name,
	       codec_name(cfg), e->res->plan.n_stages, e->res->cost.bottleneck_s,
	       e->res->cost.throughput, e->sim.throughput, r->throughput, r->latency_mean_s,
	       r->latency_p50_s, r->latency_p95_s, r->latency_p99_s, r->latency_max_s, r->issued,
	       r->answered, r->incomplete, r->duplicates, r->requests_resent,
	       r->path_latency_configured_s, r->path_latency_measured_s, recovery, r->raw_bytes,
	       r->wire_bytes, r->encode_s, r->decode_s, r->power_model, r->energy_per_inference_j,
	       r->power_w, e->sim.energy_per_inference_j, r->checked > 0 ? r->max_abs_diff : NAN,
	       r->checked > 0 ? (double)r->top1_agree / (double)r->checked : NAN);
}


/* ---- JSON ---- */

/* Set o[key] = v, taking v; *o released and NULL when either is NULL or out of memory. */
static void put(json_t **o, const char *key, json_t *v)
{
	if (*o && v && json_object_set_new(*o, key, v) == 0)
		return;
	json_decref(v);
	json_decref(*o);
	*o = NULL;
}

/* Append v (taken) to *a; *a released and NULL on failure. */
static void append(json_t **a, json_t *v)
{
	if (*a && v && json_array_append_new(*a, v) == 0)
		return;
	json_decref(v);
	json_decref(*a);
	*a = NULL;
}

static json_t *json_energy(const struct emu_report *r)
{
	json_t *a = json_array();

	for (int i = 0; a && i < r->n_energy; i++) {
		const struct emu_node_energy *en = &r->energy[i];

		append(&a, json_pack("{s:i, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "node",
				     en->node, "active", en->active, "cpu_s", ep_json_num(en->cpu_s),
				     "share", ep_json_num(en->share), "busy_s",
				     ep_json_num(en->busy_s), "bits_sent", ep_json_num(en->bits_sent),
				     "bits_received", ep_json_num(en->bits_received), "energy_j",
				     ep_json_num(en->energy_j), "energy_per_inference_j",
				     ep_json_num(en->energy_per_inference_j), "power_w",
				     ep_json_num(en->power_w)));
	}
	return a;
}

static json_t *json_links(const struct emu_report *r)
{
	json_t *a = json_array();

	for (int i = 0; a && i < r->n_links; i++) {
		const struct emu_link_record *l = &r->links[i];

		append(&a, json_pack("{s:i, s:i, s:i, s:i, s:I, s:o, s:o, s:o, s:o}", "deployment",
				     l->deployment, "hop", l->hop, "from", l->from, "to", l->to,
				     "frames", (json_int_t)l->frames, "raw_bytes",
				     ep_json_num(l->raw_bytes), "wire_bytes",
				     ep_json_num(l->wire_bytes), "encode_s", ep_json_num(l->encode_s),
				     "decode_s", ep_json_num(l->decode_s)));
	}
	return a;
}

static json_t *json_deployments(const struct emu_report *r)
{
	json_t *a = json_array();

	for (int i = 0; a && i < r->n_deploys; i++) {
		const struct emu_deploy_record *d = &r->deploys[i];

		append(&a, json_pack("{s:i, s:s, s:s, s:s, s:o, s:o, s:s}", "id", d->id, "model",
				     d->model, "plan", d->plan, "state", d->state, "bottleneck_s",
				     ep_json_num(d->bottleneck_s), "live_s", ep_json_num(d->live_s),
				     "reason", d->reason));
	}
	return a;
}

static json_t *json_faults(const struct trial_emu *e, const struct emu_report *r)
{
	json_t *a = json_array();

	for (int i = 0; a && i < r->n_faults; i++) {
		const struct timeline_fault_record *fr = &r->faults[i];

		append(&a, json_pack("{s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, "
				     "s:s}", "spec", e->w->faults[fr->fault].text, "node",
				     fr->node, "peer", fr->peer, "scheduled_s",
				     ep_json_time(fr->scheduled_s), "at_s", ep_json_time(fr->at_s),
				     "end_scheduled_s", ep_json_time(fr->end_scheduled_s), "end_s",
				     ep_json_time(fr->end_s), "detected_s",
				     ep_json_time(fr->detected_s), "live_s", ep_json_time(fr->live_s),
				     "detection_s", ep_json_time(fr->detection_s), "recovery_s",
				     ep_json_time(fr->recovery_s), "resent", (json_int_t)fr->resent,
				     "note", fr->note));
	}
	return a;
}

static json_t *json_updates(const struct emu_report *r)
{
	json_t *a = json_array();

	for (int i = 0; a && i < r->n_updates; i++) {
		const struct emu_update_record *u = &r->updates[i];

		append(&a, json_pack("{s:s, s:o, s:o, s:o, s:o}", "model", u->model, "at_s",
				     ep_json_num(u->at_s), "live_s", ep_json_time(u->live_s),
				     "drained_s", ep_json_time(u->drained_s), "rollout_s",
				     ep_json_time(u->rollout_s)));
	}
	return a;
}

/* The run's description: instance, workload, mechanisms, plan. */
static json_t *json_head(const struct trial_emu *e, const struct emu_report *r)
{
	const struct emu_config *cfg = &e->cfg;
	const struct trial_setup *t = e->t;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:i, s:s, s:i, s:o, s:I, s:I, "
			      "s:s, s:s}", "run_id", r->run_id, "model", t->inst->profile->model,
			      "algo", t->algo->name, "variant",
			      algo_variant_name(t->algo_options.variant), "nodes",
			      t->inst->cluster->n, "seed", ep_json_u64(t->spec->seed), "trial",
			      t->spec->trial, "workload", emu_arrival_name(cfg->arrival), "window",
			      cfg->window, "rate",
			      ep_json_num(cfg->arrival == EMU_CLOSED ? NAN : cfg->rate), "requests",
			      (json_int_t)cfg->requests, "warmup", (json_int_t)cfg->warmup_requests,
			      "compute", e->compute_name, "compress", codec_name(cfg));

	put(&o, "mechanisms", json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "bandwidth",
					emu_mech_name(r->mech[EMU_PROP_BANDWIDTH]), "latency",
					emu_mech_name(r->mech[EMU_PROP_LATENCY]), "loss",
					emu_mech_name(r->mech[EMU_PROP_LOSS]), "link_down",
					emu_mech_name(r->mech[EMU_PROP_DOWN]), "cgroup_cpu",
					r->cgroup_cpu_version, "cgroup_memory",
					r->cgroup_memory_version));
	put(&o, "host_flops", ep_json_num(r->host_flops));
	put(&o, "plan", trial_plan_json(&e->res->plan));
	return o;
}

/* Merge b's members into *o (b released); *o NULL when either is. */
static void merge(json_t **o, json_t *b)
{
	if (*o && b && json_object_update(*o, b) == 0) {
		json_decref(b);
		return;
	}
	json_decref(b);
	json_decref(*o);
	*o = NULL;
}

/* Analytic, simulated and emulated figures; requests; real compute's check. */
static json_t *json_measured(const struct trial_emu *e, const struct emu_report *r)
{
	const struct algo_result *res = e->res;
	bool checked = r->checked > 0;

	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
			 "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, "
			 "s:i, s:I, s:I, s:o, s:o, s:o}",
			 "analytic_bottleneck_s", ep_json_num(res->cost.bottleneck_s),
			 "analytic_throughput", ep_json_num(res->cost.throughput),
			 "sim_throughput", ep_json_num(e->sim.throughput),
			 "throughput", ep_json_num(r->throughput),
			 "sim_latency_mean_s", ep_json_num(e->sim.latency_mean_s),
			 "latency_mean_s", ep_json_num(r->latency_mean_s),
			 "latency_p50_s", ep_json_num(r->latency_p50_s),
			 "latency_p95_s", ep_json_num(r->latency_p95_s),
			 "latency_p99_s", ep_json_num(r->latency_p99_s),
			 "latency_max_s", ep_json_num(r->latency_max_s),
			 "path_latency_configured_s", ep_json_num(r->path_latency_configured_s),
			 "path_latency_measured_s", ep_json_num(r->path_latency_measured_s),
			 "issued", (json_int_t)r->issued,
			 "answered", (json_int_t)r->answered,
			 "incomplete", (json_int_t)r->incomplete,
			 "duplicates", (json_int_t)r->duplicates,
			 "resends", (json_int_t)r->resends,
			 "requests_resent", (json_int_t)r->requests_resent,
			 "measured", (json_int_t)r->measured,
			 "warmup_end_s", ep_json_num(r->warmup_end_s),
			 "end_s", ep_json_num(r->end_s),
			 "threads", e->cfg.real ? e->cfg.threads : 0,
			 "checked", (json_int_t)r->checked,
			 "mismatches", (json_int_t)r->mismatches,
			 "max_diff", ep_json_num(checked ? r->max_diff : NAN),
			 "max_abs_diff", ep_json_num(checked ? r->max_abs_diff : NAN),
			 "top1_agreement",
			 ep_json_num(checked ? (double)r->top1_agree / (double)r->checked : NAN));
}

/* Bytes, how the run ended, the modelled energy. */
static json_t *json_bytes_energy(const struct trial_emu *e, const struct emu_report *r)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:b, s:b, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "raw_bytes", ep_json_num(r->raw_bytes),
			 "wire_bytes", ep_json_num(r->wire_bytes),
			 "encode_s", ep_json_num(r->encode_s),
			 "decode_s", ep_json_num(r->decode_s),
			 "interrupted", r->interrupted, "gave_up", r->gave_up,
			 "power_model", r->power_model,
			 "energy_interval_s", ep_json_num(r->energy_interval_s),
			 "energy_j", ep_json_num(r->energy_j),
			 "energy_per_inference_j", ep_json_num(r->energy_per_inference_j),
			 "power_w", ep_json_num(r->power_w),
			 "sim_energy_per_inference_j", ep_json_num(e->sim.energy_per_inference_j),
			 "sim_power_w", ep_json_num(e->sim.power_w));
}

static json_t *write_json(const struct trial_emu *e)
{
	const struct emu_report *r = trial_emu_report(e);
	json_t *scenario = trial_scenario_json(e->t);
	json_t *o = json_head(e, r);

	merge(&o, json_measured(e, r));
	merge(&o, json_bytes_energy(e, r));
	put(&o, "energy", json_energy(r));
	put(&o, "links", json_links(r));
	put(&o, "deployments", json_deployments(r));
	put(&o, "faults", json_faults(e, r));
	put(&o, "updates", json_updates(r));
	put(&o, "bin_s", ep_json_num(r->bin_s));
	put(&o, "series", trial_series_json(r->series, r->n_bins));
	if (scenario)
		put(&o, "scenario", scenario);
	return o;
}

int trial_emu_write(FILE *f, enum trial_format fmt, const struct trial_emu *e, bool series,
		    struct ep_error *err)
{
	if (fmt == TRIAL_JSON)
		return ep_json_dump(f, write_json(e), err);
	if (fmt == TRIAL_CSV)
		write_csv(f, e);
	else
		write_text(f, e, series);
	if (ferror(f))
		return ep_error_set(err, EP_EIO, "writing the report failed");
	return EP_OK;
}
