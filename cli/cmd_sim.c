/*
 * edgepipe sim: plan a model with one algorithm, then simulate the running pipeline event by
 * event (sim/sim_pipeline.h), and print the analytic bottleneck beside the simulated throughput
 * and latencies, the servers' utilisation, and what crashes and updates did.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


#include "cli.h"
#include "ep_units.h"
#include "ep_util.h"
#include "model_zoo.h"
#include "sim_pipeline.h"
#include "trial.h"

#define MAX_UPDATES TRIAL_MAX_UPDATES

/* In parts: C99 compilers need only accept string literals of 4095 characters. */
static const char *const sim_usage[] = {
	"usage: edgepipe sim --model NAME|FILE --mem SIZE[,SIZE...] [--nodes N] [options]\n\n"
	"Plan the model with one algorithm, then simulate the pipeline event by event: requests\n"
	"queueing at the stages and on the links, node crashes, their detection, re-planning and\n"
	"redeployment, a model update. Prints the analytic bottleneck beside the simulated\n"
	"throughput and latencies.\n\n"
	CLI_INSTANCE_USAGE
	"algorithm (the plan, and every re-plan after a crash or an update):\n",
	cli_usage_algorithms,
	CLI_METRIC_USAGE
	CLI_COMPUTE_USAGE,
	CLI_CODEC_DEVICE_USAGE,
	CLI_RUN_WORKLOAD_USAGE
	"                             (sim: --requests 1000 by default; the window is re-sized\n"
	"                             to each plan when a new one goes live)\n"
	"  --warmup-time DURATION     and no measurement before this time (default 0)\n"
	"  --service det|exp|lognormal[:CV]   stage compute times around FLOPs / speed (default det)\n"
	"  --transfer det|exp|lognormal[:CV]  link hop times around bits / bandwidth + latency\n"
	"  --shared-medium            each node's sends and receives share one half-duplex medium;\n"
	"                             a transfer needs both ends' media; when one ends, the\n"
	"                             sender's medium starts its earliest waiting transfer first,\n"
	"                             then the receiver's\n"
	"  --latency-overlap          a link is busy for bits / bandwidth only; the latency overlaps\n"
	"                             the next transfer (default: busy for the whole hop)\n"
	"  --compute on|off           stages take their compute time (FLOPs / speed, or measured\n"
	"                             with profile:FILE) or none (default: as the metric counts it)\n"
	"  --dispatcher-hops on|off   the input and output hops take time (default: likewise)\n",
	CLI_RUN_TIMELINE_USAGE
	"  --mtbf DURATION            also crash each node after an exponential time of this mean\n"
	"                             (sim: heartbeats every 1s, timeout 3s; a request is resent,\n"
	"                             no sooner than the retry timeout after its last send, once\n"
	"                             failure detection says its attempt may be lost (a node of\n"
	"                             its plan declared dead, or its plan dropped); a slow request\n"
	"                             in a healthy pipeline is never resent; default: heartbeat\n"
	"                             timeout + period; up to 16 updates, in time order)\n"
	CLI_RUN_OUTPUT_USAGE
	"  --trace FILE               write every event of the run to FILE, one line each\n"
	"exit status: 0 done; 1 failure; 2 bad input (also a --warmup-time that leaves nothing to\n"
	"measure); 3 the run stopped because no plan fits on the surviving nodes (requests never\n"
	"completed; the report says which incident)\n",
	CLI_SCENARIO_USAGE,
	NULL,
};

static void print_usage(FILE *f)
{
	cli_usage_write(f, sim_usage, "NAME", "seifer");
}

struct sim_cmd {
	struct cli_instance_opts o;
	struct trial_sim_options so; /* the simulator's own options */
	struct cli_run_opts r;
	const char *trace_path;
	struct timeline_fault *faults; /* the timeline's (run_sim) */
	int n_faults;
	struct sim_config cfg; /* as run (trial_sim_config), for the printers */
	double bound_s; /* sim_plan_bottleneck of the first plan */
};

/* "det", "exp", "lognormal", "lognormal:0.5". */
static bool parse_dist(const char *opt, const char *s, enum sim_dist *d, double *cv)
{
	char *end;

	if (strcmp(s, "det") == 0) {
		*d = SIM_DIST_DET;
	} else if (strcmp(s, "exp") == 0) {
		*d = SIM_DIST_EXP;
	} else if (strcmp(s, "lognormal") == 0) {
		*d = SIM_DIST_LOGNORMAL;
		*cv = 1;
	} else if (strncmp(s, "lognormal:", 10) == 0) {
		*d = SIM_DIST_LOGNORMAL;
		*cv = strtod(s + 10, &end);
		if (end == s + 10 || *end || !(*cv > 0 && *cv < 1e3)) {
			cli_fail(2, "%s '%s': the coefficient of variation must be a positive number",
				 opt, s);
			return false;
		}
	} else {
		cli_fail(2, "%s '%s': expected det, exp or lognormal[:CV]", opt, s);
		return false;
	}
	return true;
}

static bool parse_on_off(const char *opt, const char *s, int *out)
{
	if (strcmp(s, "on") == 0)
		*out = 1;
	else if (strcmp(s, "off") == 0)
		*out = 0;
	else
		return cli_fail(2, "%s '%s': expected on or off", opt, s) == 0;
	return true;
}

static bool parse_time(const char *opt, const char *s, double min_s, double *out)
{
	struct ep_error err;

	if (ep_parse_duration(s, out, &err))
		return cli_fail(2, "%s: %s", opt, err.msg) == 0;
	if (!(*out >= min_s) || *out > 1e9)
		return cli_fail(2, "%s '%s': expected a time from %g s to 1e9 s", opt, s, min_s) == 0;
	return true;
}

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

static void print_plan_line(const struct plan *plan)
{
	for (int s = 0; s < plan->n_stages; s++)
		printf("%s%d..%d@%d", s ? " " : "", plan->stages[s].first_cut,
		       plan->stages[s].end_cut, plan->stages[s].node);
}

/* Whether the plan live at the end is not the one planned first (a re-plan or an update). */
static bool final_differs(const struct algo_result *res, const struct sim_report *r,
			  const struct instance *inst)
{
	if (r->final_profile != inst->profile || r->final_plan->n_stages != res->plan.n_stages)
		return true;
	for (int s = 0; s < res->plan.n_stages; s++) {
		const struct plan_stage *a = &res->plan.stages[s], *b = &r->final_plan->stages[s];

		if (a->node != b->node || a->first_cut != b->first_cut || a->end_cut != b->end_cut)
			return true;
	}
	return false;
}

/* The plan's analytic modelled energy per inference (power.h), NAN when it has none. */
static double analytic_energy(const struct sim_cmd *c, const struct instance *inst,
			      const struct algo_result *res)
{
	double total = NAN;
	struct ep_error err;

	if (!c->o.have_power ||
	    power_plan_energy(&c->o.power, &inst->problem, &res->plan, NULL, &total, &err))
		return NAN;
	return total;
}

static void print_energy_text(const struct sim_cmd *c, const struct instance *inst,
			      const struct algo_result *res, const struct sim_report *r)
{
	const struct power_model *pm = &c->o.power;
	char x[32], y[32], z[32];

	if (!r->energy)
		return;
	printf("\nMODELLED energy (device %s: %.4g W idle, %.4g W busy, %.4g nJ/bit sent, %.4g "
	       "nJ/bit received; nothing is measured), over the measured %.6g s:\n", pm->name,
	       pm->idle_w, pm->max_w, pm->tx_j_per_bit * 1e9, pm->rx_j_per_bit * 1e9,
	       r->end_s - r->warmup_end_s);
	printf("%-6s %12s %14s %14s %16s %12s\n", "node", "cpu_busy_s", "Mbit_sent",
	       "Mbit_received", "J_per_inference", "mean_W");
	for (int i = 0; i < r->n_nodes; i++) {
		const struct sim_node_energy *e = &r->energy[i];

		if (e->active)
			printf("%-6d %12.6g %14.6g %14.6g %16s %12s\n", i, e->busy_s,
			       e->bits_sent / 1e6, e->bits_received / 1e6,
			       num(e->energy_per_inference_j, x, sizeof(x)),
			       num(e->power_w, y, sizeof(y)));
	}
	printf("total over the active nodes: %s J per inference, %s W; analytic (the plan "
	       "saturated at its bottleneck): %s J per inference\n",
	       num(r->energy_per_inference_j, x, sizeof(x)), num(r->power_w, y, sizeof(y)),
	       num(analytic_energy(c, inst, res), z, sizeof(z)));
}

static void print_text(const struct sim_cmd *c, const struct instance *inst,
		       const struct algo *a, const struct algo_result *res,
		       const struct sim_report *r, double wall_s)
{
	const struct sim_config *cfg = &c->cfg;
	int n = inst->cluster->n;
	char mem[32], x[32], y[32], z[32], w[32];

	printf("%s on %d nodes (%s cluster, seed %" PRIu64 ", trial %d), %s%s per node; %s "
	       "variant, %s accounting, %s metric\n",
	       inst->profile->model, n, cluster_kind_name(c->o.spec.cluster.kind), c->o.spec.seed,
	       c->o.spec.trial, ep_format_bytes(inst->cluster->mem_bytes[0], mem, sizeof(mem)),
	       c->o.spec.cluster.mem_list ? " (and others)" : "",
	       algo_variant_name(c->o.algo.variant),
	       model_accounting_name(c->o.spec.profile.accounting),
	       c->o.spec.problem.count_compute || c->o.spec.problem.count_dispatcher ? "full"
										     : "published");
	printf("plan (%s, %d stages, cuts..cuts@node): ", a->name, res->plan.n_stages);
	print_plan_line(&res->plan);
	printf("\n");
	if (cfg->arrival == SIM_CLOSED && r->window_end != r->window_start)
		printf("workload: closed loop, window %d (%d for the final plan)", r->window_start,
		       r->window_end);
	else if (cfg->arrival == SIM_CLOSED)
		printf("workload: closed loop, window %d", r->window_start);
	else
		printf("workload: %s arrivals at %g /s", sim_arrival_name(cfg->arrival), cfg->rate);
	if (cfg->requests > 0)
		printf(", %" PRId64 " requests", cfg->requests);
	if (cfg->duration_s > 0)
		printf(", for %g s", cfg->duration_s);
	printf(", warm-up %" PRId64 " completions", cfg->warmup_requests);
	if (cfg->warmup_s > 0)
		printf(" and %g s", cfg->warmup_s);
	printf("\nmodel: service %s, transfers %s, %s links%s, compute %s, dispatcher hops %s\n",
	       sim_dist_name(cfg->service), sim_dist_name(cfg->transfer),
	       cfg->shared_medium ? "half-duplex shared" : "dedicated",
	       cfg->latency_pipelined ? " (latency overlapped)" : "",
	       !cfg->compute		      ? "off"
	       : c->o.spec.compute_profile    ? "on (measured profile)"
	       : c->o.spec.cluster.speed_flops > 0 ? "on"
						    : "on (but --speed 0: no time)",
	       cfg->dispatcher_hops ? "on" : "off");
	if (inst->problem.options.codec.ratio > 0)
		printf("codec %s: tensors / %g on the wire, coding in each stage's time\n",
		       inst->problem.options.codec.spec, inst->problem.options.codec.ratio);
	if (r->no_plan) {
		/* No plan is in force at the end: no analytic figure for it. */
		printf("\n%-26s %14s %14s %14s\n", "", "analytic", "final plan", "simulated");
		printf("%-26s %14.6g %14s %14s\n", "throughput (/s)", res->cost.throughput, "none",
		       num(r->throughput, x, sizeof(x)));
		printf("%-26s %14.6f %14s\n", "bottleneck (ms)", res->cost.bottleneck_s * 1e3,
		       "none");
	} else if (final_differs(res, r, inst)) {
		/* The measurement may span both plans: show both. */
		printf("\n%-26s %14s %14s %14s\n", "", "analytic", "final plan", "simulated");
		printf("%-26s %14.6g %14.6g %14s\n", "throughput (/s)", res->cost.throughput,
		       r->final_cost.throughput, num(r->throughput, x, sizeof(x)));
		printf("%-26s %14.6f %14.6f\n", "bottleneck (ms)", res->cost.bottleneck_s * 1e3,
		       r->final_cost.bottleneck_s * 1e3);
	} else {
		printf("\n%-26s %14s %14s\n", "", "analytic", "simulated");
		printf("%-26s %14.6g %14s\n", "throughput (/s)", res->cost.throughput,
		       num(r->throughput, x, sizeof(x)));
		printf("%-26s %14.6f %14s\n", "bottleneck (ms)", res->cost.bottleneck_s * 1e3, "");
	}
	if (cfg->shared_medium)
		/* The analytic figures count dedicated links; a shared medium is slower. */
		printf("%-26s %14.6g %14s  (first plan: a medium carries its node's sends and "
		       "receives)\n", "shared-medium bound (/s)",
		       c->bound_s > 0 ? 1 / c->bound_s : INFINITY, "");
	printf("%-26s %14s %14s", "latency mean (ms)", "", num(r->latency_mean_s * 1e3, x, sizeof(x)));
	/* (A deterministic run's interval is rounding noise.) */
	if (isfinite(r->latency_ci95_s) && r->latency_ci95_s > 1e-9 * r->latency_mean_s)
		printf("  +- %.6g (95 %%)", r->latency_ci95_s * 1e3);
	printf("\n%-26s %14s %14s\n", "latency p50 (ms)", "", num(r->latency_p50_s * 1e3, x, sizeof(x)));
	printf("%-26s %14s %14s\n", "latency p95 (ms)", "", num(r->latency_p95_s * 1e3, x, sizeof(x)));
	printf("%-26s %14s %14s\n", "latency p99 (ms)", "", num(r->latency_p99_s * 1e3, x, sizeof(x)));
	printf("%-26s %14s %14s\n", "latency max (ms)", "", num(r->latency_max_s * 1e3, x, sizeof(x)));
	printf("\nrequests: %" PRId64 " issued, %" PRId64 " completed (%" PRId64 " measured from "
	       "%.6g s to %.6g s), %" PRId64 " never completed; %.4g in the system on average\n",
	       r->issued, r->completed, r->measured, r->warmup_end_s, r->end_s, r->incomplete,
	       r->mean_in_system);
	printf("attempts: %" PRId64 " issued + %" PRId64 " resends = %" PRId64 " answered + %"
	       PRId64 " duplicates + %" PRId64 " lost + %" PRId64 " in flight + %" PRId64
	       " waiting at the dispatcher\n", r->issued, r->retries, r->completed, r->duplicates,
	       r->lost, r->in_flight, r->waiting);
	printf("\n%-6s %12s %12s %10s %12s\n", "node", "utilisation", "mean_queue", "max_queue",
	       "served");
	for (int i = 0; i < r->n_nodes; i++)
		if (r->nodes[i].served > 0 || r->nodes[i].max_queue > 0)
			printf("%-6d %12.4f %12.4f %10d %12" PRId64 "\n", i, r->nodes[i].utilisation,
			       r->nodes[i].mean_queue, r->nodes[i].max_queue, r->nodes[i].served);
	printf("\n%-10s %12s %12s %10s %12s\n", "link", "utilisation", "mean_queue", "max_queue",
	       "served");
	for (int i = 0; i < r->n_links; i++) {
		char name[80];

		if (r->links[i].served == 0 && r->links[i].max_queue == 0)
			continue; /* used only before the measurement */
		snprintf(name, sizeof(name), "%s->%s", label(r->links[i].from, n, x, sizeof(x)),
			 label(r->links[i].to, n, y, sizeof(y)));
		printf("%-10s %12.4f %12.4f %10d %12" PRId64 "\n", name, r->links[i].utilisation,
		       r->links[i].mean_queue, r->links[i].max_queue, r->links[i].served);
	}
	print_energy_text(c, inst, res, r);
	if (r->n_media > 0) {
		printf("\n%-10s %12s\n", "medium", "utilisation");
		for (int i = 0; i < r->n_media; i++)
			if (r->media[i].served > 0)
				printf("%-10s %12.4f\n", label(i, n, x, sizeof(x)),
				       r->media[i].utilisation);
	}
	if (r->n_incidents > 0 || cfg->mtbf_s > 0) {
		printf("\nincidents:\n");
		for (int i = 0; i < r->n_incidents; i++) {
			const struct sim_incident *in = &r->incidents[i];

			if (in->kind == SIM_INCIDENT_CRASH && in->detected_s < 0) {
				printf("  %.6g s: node %d crashed; not declared dead before the run "
				       "stopped\n", in->at_s, in->node);
				continue;
			}
			if (in->kind == SIM_INCIDENT_CRASH)
				printf("  %.6g s: node %d crashed; declared dead at %.6g s", in->at_s,
				       in->node, in->detected_s);
			else if (in->kind == SIM_INCIDENT_STALL ||
				 (in->kind == SIM_INCIDENT_CUT && in->peer == n))
				printf("  %.6g s: node %d %s; declared dead at %.6g s, heartbeats "
				       "again at %.6g s (-1: never)", in->at_s, in->node,
				       in->kind == SIM_INCIDENT_STALL ? "stalled"
								      : "cut from the dispatcher",
				       in->detected_s, in->back_s);
			else if (in->kind == SIM_INCIDENT_CUT)
				printf("  %.6g s: link %d - %d cut; found stuck at %.6g s", in->at_s,
				       in->node, in->peer, in->detected_s);
			else
				printf("  %.6g s: update to %s", in->at_s, in->model);
			if (in->reason[0])
				printf("; no plan: %s\n", in->reason);
			else if (!in->replanned)
				printf("; not in use, nothing to do\n");
			else if (in->live_s < 0)
				printf("; re-planned, never live\n");
			else
				printf("; re-planned (%d stages, bottleneck %.6g ms), weights sent in "
				       "%.6g s, live at %.6g s: %s %.6g s\n", in->stages,
				       in->bottleneck_s * 1e3, in->deploy_s, in->live_s,
				       in->kind == SIM_INCIDENT_UPDATE ? "roll-out" : "recovery",
				       in->recovery_s);
		}
		printf("  requests retried: %" PRId64 " (%" PRId64 " resends); attempts lost: %" PRId64
		       "; attempts of answered requests cancelled or discarded: %" PRId64 "\n",
		       r->requests_retried, r->retries, r->lost, r->duplicates);
		{
			int early = 0;

			for (int i = 0; i < r->n_incidents; i++)
				early += r->incidents[i].at_s < r->warmup_end_s;
			if (early > 0)
				printf("  note: %d of these came during the warm-up, before the "
				       "measurement started at %.6g s: the measured figures leave them "
				       "out (--warmup 0, or later times, measures them)\n", early,
				       r->warmup_end_s);
		}
		if (r->no_plan) {
			printf("  final plan: none; the run stopped at %.6g s with no plan on the "
			       "surviving nodes; %" PRId64 " requests never completed\n", r->sim_end_s,
			       r->incomplete);
		} else {
			printf("  final plan (%s): ", r->final_profile->model);
			print_plan_line(r->final_plan);
			printf("; analytic throughput %.6g /s\n", r->final_cost.throughput);
		}
	}
	if (c->r.n_updates > 0)
		printf("\nupdate (bins of %g s): throughput %s /s before, %s /s in the lowest bin of "
		       "the roll-out, %s /s after: a dip of %s %%\n", r->bin_s,
		       num(r->update_before, x, sizeof(x)), num(r->update_min, y, sizeof(y)),
		       num(r->update_after, z, sizeof(z)), num(100 * r->update_dip, w, sizeof(w)));
	if (c->r.series) {
		printf("\nthroughput series (/s, bins of %g s):", r->bin_s);
		for (int i = 0; i < r->n_bins; i++)
			printf("%s%.6g", i % 10 ? " " : "\n  ", (double)r->series[i] / r->bin_s);
		printf("\n");
	}
	printf("\n%" PRIu64 " events, %.6g s simulated in %.3f s\n", r->events, r->sim_end_s,
	       wall_s);
}

static void json_num(double v)
{
	if (isfinite(v))
		printf("%.17g", v);
	else
		printf("null");
}

static void print_json(const struct sim_cmd *c, const struct instance *inst,
		       const struct algo *a, const struct algo_result *res,
		       const struct sim_report *r)
{
	const struct sim_config *cfg = &c->cfg;
	/* "node_stats": "nodes" is the cluster's node count above. */
	static const char *const stat_names[] = { "node_stats", "links", "media" };
	const struct sim_server_stats *stats[] = { r->nodes, r->links, r->media };
	int counts[] = { r->n_nodes, r->n_links, r->n_media };

	printf("{\"model\": ");
	ep_json_string(stdout, inst->profile->model);
	printf(", \"algo\": \"%s\", \"variant\": \"%s\", \"nodes\": %d, \"seed\": %" PRIu64
	       ", \"trial\": %d,\n", a->name, algo_variant_name(c->o.algo.variant),
	       inst->cluster->n, c->o.spec.seed, c->o.spec.trial);
	printf(" \"workload\": \"%s\", \"window\": %d, \"window_end\": %d, \"rate\": ",
	       sim_arrival_name(cfg->arrival), r->window_start, r->window_end);
	json_num(cfg->arrival == SIM_CLOSED ? NAN : cfg->rate);
	printf(", \"requests\": %" PRId64 ", \"warmup\": %" PRId64 ", \"service\": \"%s\", "
	       "\"transfer\": \"%s\", \"shared_medium\": %s,\n", cfg->requests, cfg->warmup_requests,
	       sim_dist_name(cfg->service), sim_dist_name(cfg->transfer),
	       cfg->shared_medium ? "true" : "false");
	printf(" \"plan\": [");
	for (int s = 0; s < res->plan.n_stages; s++)
		printf("%s{\"node\": %d, \"first_cut\": %d, \"end_cut\": %d}", s ? ", " : "",
		       res->plan.stages[s].node, res->plan.stages[s].first_cut,
		       res->plan.stages[s].end_cut);
	printf("],\n \"analytic_bottleneck_s\": ");
	json_num(res->cost.bottleneck_s);
	printf(", \"analytic_throughput\": ");
	json_num(res->cost.throughput);
	printf(",\n \"final_model\": ");
	ep_json_string(stdout, r->final_profile->model);
	printf(", \"final_plan\": [");
	for (int s = 0; s < r->final_plan->n_stages; s++)
		printf("%s{\"node\": %d, \"first_cut\": %d, \"end_cut\": %d}", s ? ", " : "",
		       r->final_plan->stages[s].node, r->final_plan->stages[s].first_cut,
		       r->final_plan->stages[s].end_cut);
	printf("], \"no_plan\": %s, \"final_analytic_bottleneck_s\": ",
	       r->no_plan ? "true" : "false");
	json_num(r->no_plan ? NAN : r->final_cost.bottleneck_s);
	printf(", \"final_analytic_throughput\": ");
	json_num(r->no_plan ? NAN : r->final_cost.throughput);
	printf(", \"model_bound_throughput\": ");
	json_num(c->bound_s > 0 ? 1 / c->bound_s : NAN);
	printf(", \"throughput\": ");
	json_num(r->throughput);
	printf(",\n \"latency_mean_s\": ");
	json_num(r->latency_mean_s);
	printf(", \"latency_ci95_s\": ");
	json_num(r->latency_ci95_s);
	printf(", \"latency_p50_s\": ");
	json_num(r->latency_p50_s);
	printf(", \"latency_p95_s\": ");
	json_num(r->latency_p95_s);
	printf(", \"latency_p99_s\": ");
	json_num(r->latency_p99_s);
	printf(", \"latency_max_s\": ");
	json_num(r->latency_max_s);
	printf(",\n \"issued\": %" PRId64 ", \"completed\": %" PRId64 ", \"measured\": %" PRId64
	       ", \"incomplete\": %" PRId64 ", \"warmup_end_s\": %.17g, \"end_s\": %.17g, "
	       "\"mean_in_system\": %.17g,\n", r->issued, r->completed, r->measured, r->incomplete,
	       r->warmup_end_s, r->end_s, r->mean_in_system);
	printf(" \"retries\": %" PRId64 ", \"requests_retried\": %" PRId64 ", \"lost\": %" PRId64
	       ", \"duplicates\": %" PRId64 ", \"in_flight\": %" PRId64 ", \"waiting\": %" PRId64
	       ", \"retry_timeout_s\": ", r->retries, r->requests_retried, r->lost, r->duplicates,
	       r->in_flight, r->waiting);
	json_num(cfg->retry_timeout_s);
	printf(",\n");
	for (int k = 0; k < 3; k++) {
		printf(" \"%s\": [", stat_names[k]);
		for (int i = 0; i < counts[k]; i++)
			printf("%s{\"from\": %d, \"to\": %d, \"utilisation\": %.17g, \"mean_queue\": "
			       "%.17g, \"max_queue\": %d, \"served\": %" PRId64 "}", i ? ", " : "",
			       stats[k][i].from, stats[k][i].to, stats[k][i].utilisation,
			       stats[k][i].mean_queue, stats[k][i].max_queue, stats[k][i].served);
		printf("],\n");
	}
	printf(" \"codec\": ");
	if (inst->problem.options.codec.ratio > 0) {
		const struct problem_codec *k = &inst->problem.options.codec;

		printf("{\"spec\": ");
		ep_json_string(stdout, k->spec);
		printf(", \"ratio\": %.17g, \"encode_s_per_byte\": %.17g, \"decode_s_per_byte\": "
		       "%.17g}", k->ratio, k->encode_s_per_byte, k->decode_s_per_byte);
	} else {
		printf("null");
	}
	printf(",\n \"modelled_energy\": ");
	if (r->energy) {
		const struct power_model *pm = &c->o.power;

		printf("{\"device\": ");
		ep_json_string(stdout, pm->name);
		printf(", \"idle_w\": %.17g, \"max_w\": %.17g, \"tx_j_per_bit\": %.17g, "
		       "\"rx_j_per_bit\": %.17g, \"energy_j\": ", pm->idle_w, pm->max_w,
		       pm->tx_j_per_bit, pm->rx_j_per_bit);
		json_num(r->energy_j);
		printf(", \"energy_per_inference_j\": ");
		json_num(r->energy_per_inference_j);
		printf(", \"power_w\": ");
		json_num(r->power_w);
		printf(", \"analytic_energy_per_inference_j\": ");
		json_num(analytic_energy(c, inst, res));
		printf(",\n  \"per_node\": [");
		for (int i = 0; i < r->n_nodes; i++) {
			const struct sim_node_energy *e = &r->energy[i];

			printf("%s{\"node\": %d, \"active\": %s, \"cpu_busy_s\": %.17g, "
			       "\"bits_sent\": %.17g, \"bits_received\": %.17g, \"energy_j\": %.17g, "
			       "\"energy_per_inference_j\": ", i ? ", " : "", e->node,
			       e->active ? "true" : "false", e->busy_s, e->bits_sent,
			       e->bits_received, e->energy_j);
			json_num(e->energy_per_inference_j);
			printf(", \"power_w\": ");
			json_num(e->power_w);
			printf("}");
		}
		printf("]}");
	} else {
		printf("null");
	}
	printf(",\n \"incidents\": [");
	for (int i = 0; i < r->n_incidents; i++) {
		const struct sim_incident *in = &r->incidents[i];

		printf("%s{\"kind\": \"%s\", \"node\": %d, \"at_s\": %.17g, \"detected_s\": ",
		       i ? ", " : "", sim_incident_kind_name(in->kind), in->node, in->at_s);
		json_num(in->detected_s >= 0 ? in->detected_s : NAN);
		if (in->kind == SIM_INCIDENT_STALL || in->kind == SIM_INCIDENT_CUT) {
			printf(", \"peer\": %d, \"detection_s\": ", in->peer);
			json_num(in->detection_s >= 0 ? in->detection_s : NAN);
			printf(", \"back_s\": ");
			json_num(in->back_s >= 0 ? in->back_s : NAN);
		}
		printf(", \"replanned\": %s, \"live_s\": ", in->replanned ? "true" : "false");
		json_num(in->live_s >= 0 ? in->live_s : NAN);
		printf(", \"recovery_s\": ");
		json_num(in->recovery_s >= 0 ? in->recovery_s : NAN);
		printf(", \"deploy_s\": ");
		json_num(in->deploy_s >= 0 ? in->deploy_s : NAN);
		printf(", \"bottleneck_s\": ");
		json_num(in->bottleneck_s >= 0 ? in->bottleneck_s : NAN);
		printf(", \"reason\": ");
		ep_json_string(stdout, in->reason);
		printf("}");
	}
	printf("],\n \"update_before\": ");
	json_num(r->update_before);
	printf(", \"update_min\": ");
	json_num(r->update_min);
	printf(", \"update_after\": ");
	json_num(r->update_after);
	printf(", \"update_dip\": ");
	json_num(r->update_dip);
	printf(",\n \"bin_s\": %.17g, \"series\": [", r->bin_s);
	for (int i = 0; i < r->n_bins; i++)
		printf("%s%" PRId64, i ? ", " : "", r->series[i]);
	printf("],\n \"events\": %" PRIu64 ", \"sim_end_s\": %.17g}\n", r->events, r->sim_end_s);
}

static void print_csv(const struct sim_cmd *c, const struct instance *inst,
		      const struct algo *a, const struct algo_result *res,
		      const struct sim_report *r)
{
	const struct sim_config *cfg = &c->cfg;
	double recovery = NAN;

	for (int i = 0; i < r->n_incidents; i++)
		if (r->incidents[i].kind != SIM_INCIDENT_UPDATE && r->incidents[i].recovery_s >= 0) {
			recovery = r->incidents[i].recovery_s;
			break;
		}
	printf("model,algo,variant,nodes,seed,trial,workload,window,rate,requests,warmup,service,"
	       "transfer,shared_medium,stages,analytic_bottleneck_s,analytic_throughput,throughput,"
	       "latency_mean_s,latency_ci95_s,latency_p50_s,latency_p95_s,latency_p99_s,"
	       "latency_max_s,mean_in_system,issued,completed,incomplete,retries,requests_retried,"
	       "lost,duplicates,incidents,first_recovery_s,update_dip,events,sim_end_s,in_flight,"
	       "waiting,codec,codec_ratio,device,energy_per_inference_j,power_w,"
	       "analytic_energy_per_inference_j\n");
	cli_csv_field(stdout, inst->profile->model);
	printf(",%s,%s,%d,%" PRIu64 ",%d,%s,%d,%.17g,%" PRId64 ",%" PRId64 ",%s,%s,%d,%d,%.17g,"
	       "%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%" PRId64 ",%" PRId64
	       ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%d,%.17g,%.17g,%" PRIu64
	       ",%.17g,%" PRId64 ",%" PRId64, a->name, algo_variant_name(c->o.algo.variant), inst->cluster->n,
	       c->o.spec.seed, c->o.spec.trial, sim_arrival_name(cfg->arrival), r->window_start,
	       cfg->arrival == SIM_CLOSED ? 0 : cfg->rate, cfg->requests, cfg->warmup_requests,
	       sim_dist_name(cfg->service), sim_dist_name(cfg->transfer), cfg->shared_medium,
	       res->plan.n_stages, res->cost.bottleneck_s, res->cost.throughput, r->throughput,
	       r->latency_mean_s, r->latency_ci95_s, r->latency_p50_s, r->latency_p95_s,
	       r->latency_p99_s, r->latency_max_s, r->mean_in_system, r->issued, r->completed,
	       r->incomplete, r->retries, r->requests_retried, r->lost, r->duplicates,
	       r->n_incidents, recovery, r->update_dip, r->events, r->sim_end_s,
	       r->in_flight, r->waiting);
	/* The codec and the modelled energy: empty when not asked for. */
	if (inst->problem.options.codec.ratio > 0) {
		printf(",");
		cli_csv_field(stdout, inst->problem.options.codec.spec);
		printf(",%.17g", inst->problem.options.codec.ratio);
	} else {
		printf(",,");
	}
	if (r->energy) {
		printf(",");
		cli_csv_field(stdout, c->o.power.name);
		printf(",%.17g,%.17g,%.17g", r->energy_per_inference_j, r->power_w,
		       analytic_energy(c, inst, res));
	} else {
		printf(",,,,");
	}
	printf("\n");
	if (c->r.series) {
		printf("\nbin,start_s,completions,throughput\n");
		for (int i = 0; i < r->n_bins; i++)
			printf("%d,%.17g,%" PRId64 ",%.17g\n", i, i * r->bin_s, r->series[i],
			       (double)r->series[i] / r->bin_s);
	}
}

static int run_sim(struct sim_cmd *c)
{
	const struct algo *a = cli_algo_find(c->o.algo_name, false);
	struct instance *inst = NULL;
	struct trial_sim *ts = NULL;
	const struct sim_report *r;
	struct trial_workload w;
	struct trial_setup t;
	struct algo_result res;
	FILE *trace = NULL;
	struct ep_error err;
	int rc;

	algo_result_init(&res);
	if (!a) {
		rc = 2; /* cli_algo_find said why */
		goto out;
	}
	rc = instance_create(&c->o.spec, &inst, &err);
	if (rc) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	if ((rc = cli_run_opts_timeline(&c->r, inst->cluster->n, &c->faults, &c->n_faults)))
		goto out;
	cli_trial_setup(&c->o, inst, a, &t);
	cli_run_opts_workload(&c->r, c->faults, c->n_faults, &w);
	rc = trial_plan(&t, &res, &err);
	if (rc) {
		rc = cli_fail(1, "%s", err.msg);
		goto out;
	}
	if (res.status != EP_OK) {
		rc = cli_fail(1, "%s found no plan to simulate (%s): %s", a->name,
			      ep_strerror(res.status), res.reason);
		goto out;
	}
	if (c->trace_path && !(trace = fopen(c->trace_path, "w"))) {
		rc = cli_fail(2, "--trace '%s': cannot open for writing", c->trace_path);
		goto out;
	}
	c->so.trace = trace;
	rc = trial_sim_run(&t, &res, &w, &c->so, &ts, &err);
	if (rc) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	if (trial_sim_warning(ts)[0])
		fprintf(stderr, "edgepipe sim: warning: %s\n", trial_sim_warning(ts));
	r = trial_sim_report(ts);
	c->cfg = *trial_sim_config(ts);
	c->bound_s = trial_sim_bound_s(ts);
	if (c->r.fmt == CLI_TEXT)
		print_text(c, inst, a, &res, r, trial_sim_wall_s(ts));
	else if (c->r.fmt == CLI_JSON)
		print_json(c, inst, a, &res, r);
	else
		print_csv(c, inst, a, &res, r);
	rc = 0;
	if (r->no_plan) {
		fflush(stdout);
		rc = cli_fail(3, "the run stopped at %g s: no plan fits on the surviving nodes; %"
			      PRId64 " requests never completed", r->sim_end_s, r->incomplete);
	}
out:
	trial_sim_destroy(ts);
	if (trace && fclose(trace) && rc == 0)
		rc = cli_fail(1, "--trace '%s': write failed", c->trace_path);
	algo_result_release(&res);
	instance_destroy(inst);
	free(c->faults);
	return rc;
}

int cmd_sim(int argc, char **argv)
{
	enum {
		O_WARMUP_TIME = CLI_O_RUN_END, O_SERVICE, O_TRANSFER, O_SHARED, O_OVERLAP,
		O_DISPATCHER, O_MTBF, O_TRACE, O_HELP,
	};
	static const struct option own[] = {
		CLI_INSTANCE_OPTIONS,
		CLI_RUN_OPTIONS,
		{ "warmup-time", required_argument, NULL, O_WARMUP_TIME },
		{ "service", required_argument, NULL, O_SERVICE },
		{ "transfer", required_argument, NULL, O_TRANSFER },
		{ "shared-medium", no_argument, NULL, O_SHARED },
		{ "latency-overlap", no_argument, NULL, O_OVERLAP },
		CLI_COMPUTE_OPTIONS, /* --compute on|off comes back as CLI_O_COMPUTE */
		{ "dispatcher-hops", required_argument, NULL, O_DISPATCHER },
		{ "mtbf", required_argument, NULL, O_MTBF },
		{ "trace", required_argument, NULL, O_TRACE },
		CLI_SCENARIO_OPTION,
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct option *opts = cli_options_with_algos(own);
	struct sim_cmd *c = calloc(1, sizeof(*c));
	int opt, rc = 2;

	if (!c || !opts) {
		free(c);
		free(opts);
		return cli_fail(1, "out of memory");
	}
	cli_instance_opts_init(&c->o);
	/* Compute and dispatcher hops follow the metric, known once the problem exists (run_sim),
	 * unless --compute or --dispatcher-hops say otherwise: -1 until then. */
	c->so = trial_sim_options_default();
	c->cfg = sim_config_default_terms(false, false);
	cli_run_opts_init(&c->r, &(struct cli_run_limits){
		.cmd = "sim", .max_time_s = 1e9, .min_heartbeat_s = 1e-9, .min_bin_s = 1e-9,
		.max_window = 1e6, .max_rate = 1e9, .min_requests = 0, .max_requests = 1000000000L,
		.requests = c->cfg.requests, .heartbeat_period_s = c->cfg.heartbeat_period_s,
		.heartbeat_timeout_s = c->cfg.heartbeat_timeout_s, .max_updates = MAX_UPDATES,
		.duration = true, .db = false });
	if ((opt = cli_scenario_expand("sim", opts, &argc, &argv)) != 0) {
		rc = opt;
		goto out;
	}
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (cli_instance_opts_parse(&c->o, opt, optarg)) {
		case 1: continue;
		case -1: goto out;
		}
		switch (cli_run_opts_parse(&c->r, opt, optarg)) {
		case 1: continue;
		case -1: goto out;
		}
		switch (opt) {
		case O_WARMUP_TIME:
			if (!parse_time("--warmup-time", optarg, 0, &c->so.warmup_s))
				goto out;
			break;
		case O_SERVICE:
			if (!parse_dist("--service", optarg, &c->so.service, &c->so.service_cv))
				goto out;
			break;
		case O_TRANSFER:
			if (!parse_dist("--transfer", optarg, &c->so.transfer, &c->so.transfer_cv))
				goto out;
			break;
		case O_SHARED: c->so.shared_medium = true; break;
		case O_OVERLAP: c->so.latency_pipelined = true; break;
		case CLI_O_COMPUTE:
			if (!parse_on_off("--compute", optarg, &c->so.compute))
				goto out;
			break;
		case O_DISPATCHER:
			if (!parse_on_off("--dispatcher-hops", optarg, &c->so.dispatcher_hops))
				goto out;
			break;
		case O_MTBF:
			if (!parse_time("--mtbf", optarg, 1e-9, &c->so.mtbf_s))
				goto out;
			break;
		case O_TRACE: c->trace_path = optarg; break;
		case O_HELP:
			print_usage(stdout);
			rc = 0;
			goto out;
		default:
			print_usage(stderr);
			goto out;
		}
	}
	if (optind < argc) {
		cli_fail(2, "sim: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!cli_instance_opts_finish(&c->o, "sim") || !cli_run_opts_finish(&c->r))
		goto out;
	if (c->r.have_retry && c->r.retry_timeout_s > SIM_RETRY_TIMEOUT_MAX_S) {
		cli_fail(2, "--retry-timeout %g s: at most %g s", c->r.retry_timeout_s,
			 SIM_RETRY_TIMEOUT_MAX_S);
		goto out;
	}
	if (strcmp(c->o.algo_name, "all") == 0) {
		cli_fail(2, "--algo 'all': sim simulates one algorithm's plan; name one");
		goto out;
	}
	if (c->so.compute == 1 && !c->o.spec.compute_profile && !(c->o.spec.cluster.speed_flops > 0)) {
		cli_fail(2, "--compute on with a node speed of %g FLOP/s: the stages would take no "
			 "time; give --speed (e.g. --speed 5GFLOPS) or --compute profile:FILE",
			 c->o.spec.cluster.speed_flops);
		goto out;
	}
	if (c->r.n_updates > 0 && c->o.spec.compute_profile) {
		cli_fail(2, "--update '%s' with --compute profile:%s: the profile measures one model "
			 "only", c->r.update_spec[0], c->o.spec.compute_profile);
		goto out;
	}
	rc = run_sim(c);
out:
	free(c);
	free(opts);
	return rc;
}
