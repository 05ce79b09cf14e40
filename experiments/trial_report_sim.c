/*
 * trial: the simulator's report (trial.h, trial_sim_write): text for a reader, one CSV row
 * (and the series), JSON through jansson (ep_json.h).
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "ep_json.h"
#include "ep_units.h"
#include "ep_util.h"
#include "trial_internal.h"

static const char *label(int node, int n, char *buf, size_t size)
{
	if (node == n)
		return "D";
	snprintf(buf, size, "%d", node);
	return buf;
}

/* %.6g, or "-" for a value that could not be measured. */
static const char *num(double v, char *buf, size_t size)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, size, "%.6g", v);
	return buf;
}

void trial_plan_line_write(FILE *f, const struct plan *plan)
{
	for (int s = 0; s < plan->n_stages; s++)
		fprintf(f, "%s%d..%d@%d", s ? " " : "", plan->stages[s].first_cut,
			plan->stages[s].end_cut, plan->stages[s].node);
}

void trial_head_write(FILE *f, const struct trial_setup *t)
{
	const struct instance_spec *spec = t->spec;
	const struct instance *inst = t->inst;
	char mem[32];

	if (t->scenario_path)
		fprintf(f, "scenario: %s\n", t->scenario_path);
	fprintf(f, "%s on %d nodes (%s cluster, seed %" PRIu64 ", trial %d), %s%s per node; %s "
		"variant, %s accounting, %s metric\n",
		inst->profile->model, inst->cluster->n, cluster_kind_name(spec->cluster.kind),
		spec->seed, spec->trial,
		ep_format_bytes(inst->cluster->mem_bytes[0], mem, sizeof(mem)),
		spec->cluster.mem_list ? " (and others)" : "",
		algo_variant_name(t->algo_options.variant),
		model_accounting_name(spec->profile.accounting), trial_metric_name(t));
}

/* Whether the plan live at the end is not the one planned first (a re-plan or an update). */
static bool final_differs(const struct trial_sim *s, const struct sim_report *r)
{
	const struct plan *plan = &s->res->plan;

	if (r->final_profile != s->t->inst->profile || r->final_plan->n_stages != plan->n_stages)
		return true;
	for (int i = 0; i < plan->n_stages; i++) {
		const struct plan_stage *a = &plan->stages[i], *b = &r->final_plan->stages[i];

		if (a->node != b->node || a->first_cut != b->first_cut || a->end_cut != b->end_cut)
			return true;
	}
	return false;
}

/* The plan's analytic modelled energy per inference (power.h), NAN when it has none. */
static double analytic_energy(const struct trial_sim *s)
{
	double total = NAN;
	struct ep_error err;

	if (!s->t->power ||
	    power_plan_energy(s->t->power, &s->t->inst->problem, &s->res->plan, NULL, &total, &err))
		return NAN;
	return total;
}

/* The header: instance, plan, workload, the simulator's model, the codec. */
static void text_head(FILE *f, const struct trial_sim *s, const struct sim_report *r)
{
	const struct sim_config *cfg = &s->cfg;
	const struct instance_spec *spec = s->t->spec;
	const struct problem_codec *codec = &s->t->inst->problem.options.codec;

	trial_head_write(f, s->t);
	fprintf(f, "plan (%s, %d stages, cuts..cuts@node): ", s->t->algo->name,
		s->res->plan.n_stages);
	trial_plan_line_write(f, &s->res->plan);
	fprintf(f, "\n");
	if (cfg->arrival == SIM_CLOSED && r->window_end != r->window_start)
		fprintf(f, "workload: closed loop, window %d (%d for the final plan)",
			r->window_start, r->window_end);
	else if (cfg->arrival == SIM_CLOSED)
		fprintf(f, "workload: closed loop, window %d", r->window_start);
	else
		fprintf(f, "workload: %s arrivals at %g /s", sim_arrival_name(cfg->arrival),
			cfg->rate);
	if (cfg->requests > 0)
		fprintf(f, ", %" PRId64 " requests", cfg->requests);
	if (cfg->duration_s > 0)
		fprintf(f, ", for %g s", cfg->duration_s);
	fprintf(f, ", warm-up %" PRId64 " completions", cfg->warmup_requests);
	if (cfg->warmup_s > 0)
		fprintf(f, " and %g s", cfg->warmup_s);
	fprintf(f, "\nmodel: service %s, transfers %s, %s links%s, compute %s, dispatcher hops %s\n",
		sim_dist_name(cfg->service), sim_dist_name(cfg->transfer),
		cfg->shared_medium ? "half-duplex shared" : "dedicated",
		cfg->latency_pipelined ? " (latency overlapped)" : "",
		!cfg->compute			 ? "off"
		: spec->compute_profile		 ? "on (measured profile)"
		: spec->cluster.speed_flops > 0 ? "on"
						 : "on (but --speed 0: no time)",
		cfg->dispatcher_hops ? "on" : "off");
	if (codec->ratio > 0)
		fprintf(f, "codec %s: tensors / %g on the wire, coding in each stage's time\n",
			codec->spec, codec->ratio);
}

/* Analytic beside simulated: throughput, bottleneck, latencies. */
static void text_table(FILE *f, const struct trial_sim *s, const struct sim_report *r)
{
	const struct algo_result *res = s->res;
	char x[32];

	if (r->no_plan) {
		/* No plan is in force at the end: no analytic figure for it. */
		fprintf(f, "\n%-26s %14s %14s %14s\n", "", "analytic", "final plan", "simulated");
		fprintf(f, "%-26s %14.6g %14s %14s\n", "throughput (/s)", res->cost.throughput,
			"none", num(r->throughput, x, sizeof(x)));
		fprintf(f, "%-26s %14.6f %14s\n", "bottleneck (ms)", res->cost.bottleneck_s * 1e3,
			"none");
	} else if (final_differs(s, r)) {
		/* The measurement may span both plans: show both. */
		fprintf(f, "\n%-26s %14s %14s %14s\n", "", "analytic", "final plan", "simulated");
		fprintf(f, "%-26s %14.6g %14.6g %14s\n", "throughput (/s)", res->cost.throughput,
			r->final_cost.throughput, num(r->throughput, x, sizeof(x)));
		fprintf(f, "%-26s %14.6f %14.6f\n", "bottleneck (ms)", res->cost.bottleneck_s * 1e3,
			r->final_cost.bottleneck_s * 1e3);
	} else {
		fprintf(f, "\n%-26s %14s %14s\n", "", "analytic", "simulated");
		fprintf(f, "%-26s %14.6g %14s\n", "throughput (/s)", res->cost.throughput,
			num(r->throughput, x, sizeof(x)));
		fprintf(f, "%-26s %14.6f %14s\n", "bottleneck (ms)", res->cost.bottleneck_s * 1e3,
			"");
	}
	if (s->cfg.shared_medium)
		/* The analytic figures count dedicated links; a shared medium is slower. */
		fprintf(f, "%-26s %14.6g %14s  (first plan: a medium carries its node's sends and "
			"receives)\n", "shared-medium bound (/s)",
			s->bound_s > 0 ? 1 / s->bound_s : INFINITY, "");
	fprintf(f, "%-26s %14s %14s", "latency mean (ms)", "",
		num(r->latency_mean_s * 1e3, x, sizeof(x)));
	/* (A deterministic run's interval is rounding noise.) */
	if (isfinite(r->latency_ci95_s) && r->latency_ci95_s > 1e-9 * r->latency_mean_s)
		fprintf(f, "  +- %.6g (95 %%)", r->latency_ci95_s * 1e3);
	fprintf(f, "\n%-26s %14s %14s\n", "latency p50 (ms)", "",
		num(r->latency_p50_s * 1e3, x, sizeof(x)));
	fprintf(f, "%-26s %14s %14s\n", "latency p95 (ms)", "",
		num(r->latency_p95_s * 1e3, x, sizeof(x)));
	fprintf(f, "%-26s %14s %14s\n", "latency p99 (ms)", "",
		num(r->latency_p99_s * 1e3, x, sizeof(x)));
	fprintf(f, "%-26s %14s %14s\n", "latency max (ms)", "",
		num(r->latency_max_s * 1e3, x, sizeof(x)));
}

/* Requests and attempts, then the servers: nodes, links. */
static void text_servers(FILE *f, const struct sim_report *r, int n)
{
	char x[32], y[32];

	fprintf(f, "\nrequests: %" PRId64 " issued, %" PRId64 " completed (%" PRId64 " measured "
		"from %.6g s to %.6g s), %" PRId64 " never completed; %.4g in the system on "
		"average\n", r->issued, r->completed, r->measured, r->warmup_end_s, r->end_s,
		r->incomplete, r->mean_in_system);
	fprintf(f, "attempts: %" PRId64 " issued + %" PRId64 " resends = %" PRId64 " answered + %"
		PRId64 " duplicates + %" PRId64 " lost + %" PRId64 " in flight + %" PRId64
		" waiting at the dispatcher\n", r->issued, r->retries, r->completed, r->duplicates,
		r->lost, r->in_flight, r->waiting);
	fprintf(f, "\n%-6s %12s %12s %10s %12s\n", "node", "utilisation", "mean_queue",
		"max_queue", "served");
	for (int i = 0; i < r->n_nodes; i++)
		if (r->nodes[i].served > 0 || r->nodes[i].max_queue > 0)
			fprintf(f, "%-6d %12.4f %12.4f %10d %12" PRId64 "\n", i,
				r->nodes[i].utilisation, r->nodes[i].mean_queue,
				r->nodes[i].max_queue, r->nodes[i].served);
	fprintf(f, "\n%-10s %12s %12s %10s %12s\n", "link", "utilisation", "mean_queue",
		"max_queue", "served");
	for (int i = 0; i < r->n_links; i++) {
		char name[80];

		if (r->links[i].served == 0 && r->links[i].max_queue == 0)
			continue; /* used only before the measurement */
		snprintf(name, sizeof(name), "%s->%s", label(r->links[i].from, n, x, sizeof(x)),
			 label(r->links[i].to, n, y, sizeof(y)));
		fprintf(f, "%-10s %12.4f %12.4f %10d %12" PRId64 "\n", name,
			r->links[i].utilisation, r->links[i].mean_queue, r->links[i].max_queue,
			r->links[i].served);
	}
}

static void text_energy(FILE *f, const struct trial_sim *s, const struct sim_report *r)
{
	const struct power_model *pm = s->t->power;
	char x[32], y[32], z[32];

	if (!r->energy || !pm)
		return;
	fprintf(f, "\nMODELLED energy (device %s: %.4g W idle, %.4g W busy, %.4g nJ/bit sent, "
		"%.4g nJ/bit received; nothing is measured), over the measured %.6g s:\n",
		pm->name, pm->idle_w, pm->max_w, pm->tx_j_per_bit * 1e9, pm->rx_j_per_bit * 1e9,
		r->end_s - r->warmup_end_s);
	fprintf(f, "%-6s %12s %14s %14s %16s %12s\n", "node", "cpu_busy_s", "Mbit_sent",
		"Mbit_received", "J_per_inference", "mean_W");
	for (int i = 0; i < r->n_nodes; i++) {
		const struct sim_node_energy *e = &r->energy[i];

		if (e->active)
			fprintf(f, "%-6d %12.6g %14.6g %14.6g %16s %12s\n", i, e->busy_s,
				e->bits_sent / 1e6, e->bits_received / 1e6,
				num(e->energy_per_inference_j, x, sizeof(x)),
				num(e->power_w, y, sizeof(y)));
	}
	fprintf(f, "total over the active nodes: %s J per inference, %s W; analytic (the plan "
		"saturated at its bottleneck): %s J per inference\n",
		num(r->energy_per_inference_j, x, sizeof(x)), num(r->power_w, y, sizeof(y)),
		num(analytic_energy(s), z, sizeof(z)));
}

static void text_incident(FILE *f, const struct sim_incident *in, int n)
{
	if (in->kind == SIM_INCIDENT_CRASH && in->detected_s < 0) {
		fprintf(f, "  %.6g s: node %d crashed; not declared dead before the run stopped\n",
			in->at_s, in->node);
		return;
	}
	if (in->kind == SIM_INCIDENT_CRASH)
		fprintf(f, "  %.6g s: node %d crashed; declared dead at %.6g s", in->at_s, in->node,
			in->detected_s);
	else if (in->kind == SIM_INCIDENT_STALL ||
		 (in->kind == SIM_INCIDENT_CUT && in->peer == n))
		fprintf(f, "  %.6g s: node %d %s; declared dead at %.6g s, heartbeats again at "
			"%.6g s (-1: never)", in->at_s, in->node,
			in->kind == SIM_INCIDENT_STALL ? "stalled" : "cut from the dispatcher",
			in->detected_s, in->back_s);
	else if (in->kind == SIM_INCIDENT_CUT)
		fprintf(f, "  %.6g s: link %d - %d cut; found stuck at %.6g s", in->at_s, in->node,
			in->peer, in->detected_s);
	else
		fprintf(f, "  %.6g s: update to %s", in->at_s, in->model);
	if (in->reason[0])
		fprintf(f, "; no plan: %s\n", in->reason);
	else if (!in->replanned)
		fprintf(f, "; not in use, nothing to do\n");
	else if (in->live_s < 0)
		fprintf(f, "; re-planned, never live\n");
	else
		fprintf(f, "; re-planned (%d stages, bottleneck %.6g ms), weights sent in %.6g s, "
			"live at %.6g s: %s %.6g s\n", in->stages, in->bottleneck_s * 1e3,
			in->deploy_s, in->live_s,
			in->kind == SIM_INCIDENT_UPDATE ? "roll-out" : "recovery", in->recovery_s);
}

static void text_incidents(FILE *f, const struct trial_sim *s, const struct sim_report *r)
{
	int early = 0;

	if (r->n_incidents == 0 && !(s->cfg.mtbf_s > 0))
		return;
	fprintf(f, "\nincidents:\n");
	for (int i = 0; i < r->n_incidents; i++)
		text_incident(f, &r->incidents[i], s->t->inst->cluster->n);
	fprintf(f, "  requests retried: %" PRId64 " (%" PRId64 " resends); attempts lost: %" PRId64
		"; attempts of answered requests cancelled or discarded: %" PRId64 "\n",
		r->requests_retried, r->retries, r->lost, r->duplicates);
	for (int i = 0; i < r->n_incidents; i++)
		early += r->incidents[i].at_s < r->warmup_end_s;
	if (early > 0)
		fprintf(f, "  note: %d of these came during the warm-up, before the measurement "
			"started at %.6g s: the measured figures leave them out (--warmup 0, or later "
			"times, measures them)\n", early, r->warmup_end_s);
	if (r->no_plan) {
		fprintf(f, "  final plan: none; the run stopped at %.6g s with no plan on the "
			"surviving nodes; %" PRId64 " requests never completed\n", r->sim_end_s,
			r->incomplete);
	} else {
		fprintf(f, "  final plan (%s): ", r->final_profile->model);
		trial_plan_line_write(f, r->final_plan);
		fprintf(f, "; analytic throughput %.6g /s\n", r->final_cost.throughput);
	}
}

static void text_tail(FILE *f, const struct trial_sim *s, const struct sim_report *r,
		      bool series)
{
	char x[32], y[32], z[32], w[32];

	if (s->n_updates > 0)
		fprintf(f, "\nupdate (bins of %g s): throughput %s /s before, %s /s in the lowest bin "
			"of the roll-out, %s /s after: a dip of %s %%\n", r->bin_s,
			num(r->update_before, x, sizeof(x)), num(r->update_min, y, sizeof(y)),
			num(r->update_after, z, sizeof(z)), num(100 * r->update_dip, w, sizeof(w)));
	if (series) {
		fprintf(f, "\nthroughput series (/s, bins of %g s):", r->bin_s);
		for (int i = 0; i < r->n_bins; i++)
			fprintf(f, "%s%.6g", i % 10 ? " " : "\n  ", (double)r->series[i] / r->bin_s);
		fprintf(f, "\n");
	}
	fprintf(f, "\n%" PRIu64 " events, %.6g s simulated in %.3f s\n", r->events, r->sim_end_s,
		s->wall_s);
}

static void write_text(FILE *f, const struct trial_sim *s, bool series)
{
	const struct sim_report *r = trial_sim_report(s);

	text_head(f, s, r);
	text_table(f, s, r);
	text_servers(f, r, s->t->inst->cluster->n);
	text_energy(f, s, r);
	if (r->n_media > 0) {
		char x[32];

		fprintf(f, "\n%-10s %12s\n", "medium", "utilisation");
		for (int i = 0; i < r->n_media; i++)
			if (r->media[i].served > 0)
				fprintf(f, "%-10s %12.4f\n", label(i, s->t->inst->cluster->n, x,
								   sizeof(x)),
					r->media[i].utilisation);
	}
	text_incidents(f, s, r);
	text_tail(f, s, r, series);
}

/* ---- JSON ---- */

json_t *trial_plan_json(const struct plan *plan)
{
	json_t *a = json_array();

	for (int s = 0; a && s < plan->n_stages; s++)
		if (json_array_append_new(a, json_pack("{s:i, s:i, s:i}", "node",
						       plan->stages[s].node, "first_cut",
						       plan->stages[s].first_cut, "end_cut",
						       plan->stages[s].end_cut))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Set o[key] = v, taking v; false (and o released) when either is NULL or out of memory. */
static bool put(json_t **o, const char *key, json_t *v)
{
	if (*o && v && json_object_set_new(*o, key, v) == 0)
		return true;
	json_decref(v);
	json_decref(*o);
	*o = NULL;
	return false;
}

json_t *trial_scenario_json(const struct trial_setup *t)
{
	if (!t->scenario_path && !t->scenario_text)
		return NULL;
	return json_pack("{s:o, s:o}", "path", ep_json_str(t->scenario_path), "text",
			 ep_json_str(t->scenario_text));
}

static json_t *json_servers(const struct sim_server_stats *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_pack("{s:i, s:i, s:o, s:o, s:i, s:I}", "from",
						       v[i].from, "to", v[i].to, "utilisation",
						       ep_json_num(v[i].utilisation), "mean_queue",
						       ep_json_num(v[i].mean_queue), "max_queue",
						       v[i].max_queue, "served",
						       (json_int_t)v[i].served))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *json_energy(const struct trial_sim *s, const struct sim_report *r)
{
	const struct power_model *pm = s->t->power;
	json_t *o, *a = json_array();

	if (!r->energy || !pm) {
		json_decref(a);
		return json_null();
	}
	for (int i = 0; a && i < r->n_nodes; i++) {
		const struct sim_node_energy *e = &r->energy[i];

		if (json_array_append_new(a, json_pack(
			"{s:i, s:b, s:o, s:o, s:o, s:o, s:o, s:o}", "node", e->node, "active",
			e->active, "cpu_busy_s", ep_json_num(e->busy_s), "bits_sent",
			ep_json_num(e->bits_sent), "bits_received", ep_json_num(e->bits_received),
			"energy_j", ep_json_num(e->energy_j), "energy_per_inference_j",
			ep_json_num(e->energy_per_inference_j), "power_w", ep_json_num(e->power_w)))) {
			json_decref(a);
			a = NULL;
		}
	}
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "device", pm->name,
		      "idle_w", ep_json_num(pm->idle_w), "max_w", ep_json_num(pm->max_w),
		      "tx_j_per_bit", ep_json_num(pm->tx_j_per_bit), "rx_j_per_bit",
		      ep_json_num(pm->rx_j_per_bit), "energy_j", ep_json_num(r->energy_j),
		      "energy_per_inference_j", ep_json_num(r->energy_per_inference_j), "power_w",
		      ep_json_num(r->power_w), "analytic_energy_per_inference_j",
		      ep_json_num(analytic_energy(s)));
	put(&o, "per_node", a);
	return o;
}

static json_t *json_incident(const struct sim_incident *in)
{
	json_t *o = json_pack("{s:s, s:i, s:o, s:o}", "kind", sim_incident_kind_name(in->kind),
			      "node", in->node, "at_s", ep_json_num(in->at_s), "detected_s",
			      ep_json_time(in->detected_s));

	if (in->kind == SIM_INCIDENT_STALL || in->kind == SIM_INCIDENT_CUT) {
		put(&o, "peer", json_integer(in->peer));
		put(&o, "detection_s", ep_json_time(in->detection_s));
		put(&o, "back_s", ep_json_time(in->back_s));
		put(&o, "resent", json_integer((json_int_t)in->resent));
	}
	put(&o, "replanned", json_boolean(in->replanned));
	put(&o, "live_s", ep_json_time(in->live_s));
	put(&o, "recovery_s", ep_json_time(in->recovery_s));
	put(&o, "deploy_s", ep_json_time(in->deploy_s));
	put(&o, "bottleneck_s", ep_json_time(in->bottleneck_s));
	put(&o, "reason", json_string(in->reason));
	return o;
}

static json_t *json_incidents(const struct sim_report *r)
{
	json_t *a = json_array();

	for (int i = 0; a && i < r->n_incidents; i++)
		if (json_array_append_new(a, json_incident(&r->incidents[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *trial_series_json(const int64_t *series, int n)
{
	json_t *a = json_array();

	for (int i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_integer((json_int_t)series[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The run's description: instance, workload, plans and analytic figures. */
static json_t *json_head(const struct trial_sim *s, const struct sim_report *r)
{
	const struct sim_config *cfg = &s->cfg;
	const struct trial_setup *t = s->t;
	const struct algo_result *res = s->res;
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:o, s:i, s:s, s:i, s:i, s:o, s:I, s:I, "
			      "s:s, s:s, s:b}",
			      "model", t->inst->profile->model, "algo", t->algo->name, "variant",
			      algo_variant_name(t->algo_options.variant), "nodes",
			      t->inst->cluster->n, "seed", ep_json_u64(t->spec->seed), "trial",
			      t->spec->trial, "workload", sim_arrival_name(cfg->arrival), "window",
			      r->window_start, "window_end", r->window_end, "rate",
			      ep_json_num(cfg->arrival == SIM_CLOSED ? NAN : cfg->rate),
			      "requests", (json_int_t)cfg->requests, "warmup",
			      (json_int_t)cfg->warmup_requests, "service",
			      sim_dist_name(cfg->service), "transfer", sim_dist_name(cfg->transfer),
			      "shared_medium", cfg->shared_medium);

	put(&o, "plan", trial_plan_json(&res->plan));
	put(&o, "analytic_bottleneck_s", ep_json_num(res->cost.bottleneck_s));
	put(&o, "analytic_throughput", ep_json_num(res->cost.throughput));
	put(&o, "final_model", json_string(r->final_profile->model));
	put(&o, "final_plan", trial_plan_json(r->final_plan));
	put(&o, "no_plan", json_boolean(r->no_plan));
	put(&o, "final_analytic_bottleneck_s",
	    ep_json_num(r->no_plan ? NAN : r->final_cost.bottleneck_s));
	put(&o, "final_analytic_throughput",
	    ep_json_num(r->no_plan ? NAN : r->final_cost.throughput));
	put(&o, "model_bound_throughput", ep_json_num(s->bound_s > 0 ? 1 / s->bound_s : NAN));
	return o;
}

/* The measurements. */
static json_t *json_measured(const struct trial_sim *s, const struct sim_report *r)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:o, s:o, "
			 "s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
			 "throughput", ep_json_num(r->throughput), "latency_mean_s",
			 ep_json_num(r->latency_mean_s), "latency_ci95_s",
			 ep_json_num(r->latency_ci95_s), "latency_p50_s",
			 ep_json_num(r->latency_p50_s), "latency_p95_s",
			 ep_json_num(r->latency_p95_s), "latency_p99_s",
			 ep_json_num(r->latency_p99_s), "latency_max_s",
			 ep_json_num(r->latency_max_s), "issued", (json_int_t)r->issued,
			 "completed", (json_int_t)r->completed, "measured",
			 (json_int_t)r->measured, "incomplete", (json_int_t)r->incomplete,
			 "warmup_end_s", ep_json_num(r->warmup_end_s), "end_s",
			 ep_json_num(r->end_s), "mean_in_system", ep_json_num(r->mean_in_system),
			 "retries", (json_int_t)r->retries, "requests_retried",
			 (json_int_t)r->requests_retried, "lost", (json_int_t)r->lost,
			 "duplicates", (json_int_t)r->duplicates, "in_flight",
			 (json_int_t)r->in_flight, "waiting", (json_int_t)r->waiting,
			 "retry_timeout_s", ep_json_num(s->cfg.retry_timeout_s));
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

static json_t *write_json(const struct trial_sim *s)
{
	const struct sim_report *r = trial_sim_report(s);
	const struct problem_codec *k = &s->t->inst->problem.options.codec;
	json_t *scenario = trial_scenario_json(s->t);
	json_t *o = json_head(s, r);

	merge(&o, json_measured(s, r));
	/* "node_stats": "nodes" is the cluster's node count above. */
	put(&o, "node_stats", json_servers(r->nodes, r->n_nodes));
	put(&o, "links", json_servers(r->links, r->n_links));
	put(&o, "media", json_servers(r->media, r->n_media));
	put(&o, "codec", k->ratio > 0 ? json_pack("{s:s, s:o, s:o, s:o}", "spec", k->spec,
						 "ratio", ep_json_num(k->ratio),
						 "encode_s_per_byte",
						 ep_json_num(k->encode_s_per_byte),
						 "decode_s_per_byte",
						 ep_json_num(k->decode_s_per_byte))
				      : json_null());
	put(&o, "modelled_energy", json_energy(s, r));
	put(&o, "incidents", json_incidents(r));
	put(&o, "update_before", ep_json_num(r->update_before));
	put(&o, "update_min", ep_json_num(r->update_min));
	put(&o, "update_after", ep_json_num(r->update_after));
	put(&o, "update_dip", ep_json_num(r->update_dip));
	put(&o, "bin_s", ep_json_num(r->bin_s));
	put(&o, "series", trial_series_json(r->series, r->n_bins));
	put(&o, "events", json_integer((json_int_t)r->events));
	put(&o, "sim_end_s", ep_json_num(r->sim_end_s));
	if (scenario)
		put(&o, "scenario", scenario);
	return o;
}

/* ---- CSV ---- */

static void write_csv(FILE *f, const struct trial_sim *s, bool series)
{
	const struct sim_report *r = trial_sim_report(s);
	const struct sim_config *cfg = &s->cfg;
	const struct trial_setup *t = s->t;
	const struct algo_result *res = s->res;
	const struct problem_codec *codec = &t->inst->problem.options.codec;
	double recovery = NAN;

	for (int i = 0; i < r->n_incidents; i++)
		if (r->incidents[i].kind != SIM_INCIDENT_UPDATE && r->incidents[i].recovery_s >= 0) {
			recovery = r->incidents[i].recovery_s;
			break;
		}
	fprintf(f, "model,algo,variant,nodes,seed,trial,workload,window,rate,requests,warmup,"
		"service,transfer,shared_medium,stages,analytic_bottleneck_s,analytic_throughput,"
		"throughput,latency_mean_s,latency_ci95_s,latency_p50_s,latency_p95_s,"
		"latency_p99_s,latency_max_s,mean_in_system,issued,completed,incomplete,retries,"
		"requests_retried,lost,duplicates,incidents,first_recovery_s,update_dip,events,"
		"sim_end_s,in_flight,waiting,codec,codec_ratio,device,energy_per_inference_j,"
		"power_w,analytic_energy_per_inference_j\n");
	ep_csv_field(f, t->inst->profile->model);
	fprintf(f, ",%s,%s,%d,%" PRIu64 ",%d,%s,%d,%.17g,%" PRId64 ",%" PRId64 ",%s,%s,%d,%d,"
		"%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%" PRId64 ",%" PRId64
		",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%d,%.17g,%.17g,%"
		PRIu64 ",%.17g,%" PRId64 ",%" PRId64, t->algo->name,
		algo_variant_name(t->algo_options.variant), t->inst->cluster->n, t->spec->seed,
		t->spec->trial, sim_arrival_name(cfg->arrival), r->window_start,
		cfg->arrival == SIM_CLOSED ? 0 : cfg->rate, cfg->requests, cfg->warmup_requests,
		sim_dist_name(cfg->service), sim_dist_name(cfg->transfer), cfg->shared_medium,
		res->plan.n_stages, res->cost.bottleneck_s, res->cost.throughput, r->throughput,
		r->latency_mean_s, r->latency_ci95_s, r->latency_p50_s, r->latency_p95_s,
		r->latency_p99_s, r->latency_max_s, r->mean_in_system, r->issued, r->completed,
		r->incomplete, r->retries, r->requests_retried, r->lost, r->duplicates,
		r->n_incidents, recovery, r->update_dip, r->events, r->sim_end_s, r->in_flight,
		r->waiting);
	/* The codec and the modelled energy: empty when not asked for. */
	if (codec->ratio > 0) {
		fprintf(f, ",");
		ep_csv_field(f, codec->spec);
		fprintf(f, ",%.17g", codec->ratio);
	} else {
		fprintf(f, ",,");
	}
	if (r->energy && t->power) {
		fprintf(f, ",");
		ep_csv_field(f, t->power->name);
		fprintf(f, ",%.17g,%.17g,%.17g", r->energy_per_inference_j, r->power_w,
			analytic_energy(s));
	} else {
		fprintf(f, ",,,,");
	}
	fprintf(f, "\n");
	if (series) {
		fprintf(f, "\nbin,start_s,completions,throughput\n");
		for (int i = 0; i < r->n_bins; i++)
			fprintf(f, "%d,%.17g,%" PRId64 ",%.17g\n", i, i * r->bin_s, r->series[i],
				(double)r->series[i] / r->bin_s);
	}
}

int trial_sim_write(FILE *f, enum trial_format fmt, const struct trial_sim *s, bool series,
		    struct ep_error *err)
{
	if (fmt == TRIAL_JSON)
		return ep_json_dump(f, write_json(s), err);
	if (fmt == TRIAL_CSV)
		write_csv(f, s, series);
	else
		write_text(f, s, series);
	if (ferror(f))
		return ep_error_set(err, EP_EIO, "writing the report failed");
	return EP_OK;
}
