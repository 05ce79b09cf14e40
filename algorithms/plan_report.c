/*
 * The plan report (plan_report.h): the text, CSV and JSON of 'edgepipe plan'.
 */
#include "plan_report.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ep_json.h"
#include "ep_units.h"
#include "ep_util.h"

int plan_report_solve(const struct instance *inst, const struct instance_spec *spec,
		      const struct algo_options *o, const struct algo *const *algos, int n_algos,
		      gsl_rng *rng, struct algo_result *results, struct ep_error *err)
{
	for (int i = 0; i < n_algos; i++) {
		gsl_rng_set(rng, ep_seed32(instance_algo_seed(spec, algos[i]->name)));
		EP_CHECK(algo_run(algos[i], &inst->problem, o, rng, &results[i], err));
	}
	return EP_OK;
}

/* The layers a stage computes, as "first..last" names. */
static void stage_layers(const struct instance *inst, const struct plan_stage *st, char *buf,
			 size_t size)
{
	const struct model_profile *p = inst->profile;
	int first = p->cuts[st->first_cut].layer + 1, last = p->cuts[st->end_cut].layer;

	if (st->first_cut == st->end_cut) {
		snprintf(buf, size, "(nothing)");
		return;
	}
	snprintf(buf, size, "%s..%s", model_graph_layer(inst->graph, (size_t)first)->name,
		 model_graph_layer(inst->graph, (size_t)last)->name);
}

static const char *where_str(const struct algo_result *r, const struct plan *plan, char *buf,
			     size_t size)
{
	int k = plan->n_stages, h = r->cost.index;

	if (r->cost.where == COST_TERM_COMPUTE)
		snprintf(buf, size, "compute of stage %d on node %d", h, plan->stages[h].node);
	else if (r->cost.where == COST_TERM_HOP && h == 0)
		snprintf(buf, size, "hop 0, dispatcher -> node %d", plan->stages[0].node);
	else if (r->cost.where == COST_TERM_HOP && h == k)
		snprintf(buf, size, "hop %d, node %d -> dispatcher", h, plan->stages[k - 1].node);
	else if (r->cost.where == COST_TERM_HOP)
		snprintf(buf, size, "hop %d, node %d -> node %d", h, plan->stages[h - 1].node,
			 plan->stages[h].node);
	else
		snprintf(buf, size, "nothing counted: one stage under the published metric");
	return buf;
}

static void header_write(FILE *f, const struct plan_report *rep)
{
	const struct instance *inst = rep->inst;
	const struct instance_spec *spec = rep->spec;
	char mem[32];

	if (rep->scenario_path)
		fprintf(f, "scenario: %s\n", rep->scenario_path);
	fprintf(f,
		"%s on %d nodes (%s cluster, seed %" PRIu64 ", trial %d), %s%s per node; %s "
		"variant, %s accounting, %s metric, compute %s%s%s\n",
		inst->profile->model, inst->cluster->n, cluster_kind_name(spec->cluster.kind),
		spec->seed, spec->trial,
		ep_format_bytes(inst->cluster->mem_bytes[0], mem, sizeof(mem)),
		spec->cluster.mem_list ? " (and others)" : "", algo_variant_name(rep->variant),
		model_accounting_name(spec->profile.accounting),
		problem_metric_name(&spec->problem),
		problem_compute_name(inst->problem.options.compute),
		spec->compute_profile ? ":" : "",
		spec->compute_profile ? spec->compute_profile : "");
	if (inst->problem.options.codec.ratio > 0) {
		const struct problem_codec *k = &inst->problem.options.codec;

		fprintf(f,
			"codec %s: tensors / %g on the wire (the transfer column), coding %.6g "
			"MB/s encoding, %.6g MB/s decoding in each stage's compute\n",
			k->spec, k->ratio, 1e-6 / k->encode_s_per_byte,
			1e-6 / k->decode_s_per_byte);
	}
}

/* A plan to show: solved, or the best so far when a time limit struck. */
static bool has_plan(const struct algo_result *r)
{
	return r->plan.n_stages > 0 && (r->status == EP_OK || r->status == EP_ELIMIT);
}

static const char *status_str(const struct algo_result *r)
{
	return r->status == EP_OK			? "ok"
	       : r->status == EP_ELIMIT && r->bound.has ? "limit"
							: ep_strerror(r->status);
}

/* What an exact algorithm proved, in one line. */
static void bound_text_write(FILE *f, const struct algo_result *r)
{
	const struct algo_bound *b = &r->bound;

	if (!b->has)
		return;
	if (r->status == EP_OK)
		fprintf(f,
			"proven optimal (%s): no valid plan is below %.6f ms; %ld search nodes, "
			"%.3f ms\n",
			b->method, b->lower_s * 1e3, b->nodes, r->solve_s * 1e3);
	else
		fprintf(f,
			"NOT proven optimal: time limit reached (%s): best plan %.6f ms, no valid "
			"plan below %.6f ms (gap %.3g %%); %ld search nodes\n",
			b->method, r->cost.bottleneck_s * 1e3, b->lower_s * 1e3,
			b->lower_s > 0 ? 100.0 * (r->cost.bottleneck_s / b->lower_s - 1.0)
				       : INFINITY,
			b->nodes);
}

/* The plan's modelled energy per inference with a power model (power.h): the total and, when
 * node_j is given, each node's; false without one or when the plan has none. */
static bool plan_energy(const struct plan_report *rep, const struct algo_result *r, double *node_j,
			double *total_j)
{
	struct ep_error err;

	*total_j = NAN;
	return rep->power && power_plan_energy(rep->power, &rep->inst->problem, &r->plan, node_j,
					       total_j, &err) == EP_OK;
}

static void energy_text_write(FILE *f, const struct plan_report *rep, const struct algo_result *r)
{
	double *node_j = calloc((size_t)rep->inst->cluster->n, sizeof(double)), total;

	if (!rep->power || !node_j) {
		free(node_j);
		return;
	}
	if (!plan_energy(rep, r, node_j, &total)) {
		fprintf(f,
			"MODELLED energy (device %s): none: nothing takes time under this "
			"metric\n",
			rep->power->name);
		free(node_j);
		return;
	}
	fprintf(f,
		"MODELLED energy (device %s, the plan saturated at its bottleneck, u = stage "
		"time / bottleneck): %.6g J per inference, %.6g W;",
		rep->power->name, total, total / r->cost.bottleneck_s);
	for (int s = 0; s < r->plan.n_stages; s++)
		fprintf(f, " node %d %.6g J", r->plan.stages[s].node,
			node_j[r->plan.stages[s].node]);
	fprintf(f, "\n");
	free(node_j);
}

/* The stage table of a plan, a line per stage (stage_s and hop_s from plan_cost). */
static void stages_text_write(FILE *f, const struct instance *inst, const struct plan *plan,
			      const double *stage_s, const double *hop_s)
{
	char buf[160], mem[32], tx[32];

	fprintf(f, "%5s %5s %9s %-50s %12s %11s %12s %10s\n", "stage", "node", "cuts", "layers",
		"memory", "compute_ms", "transfer", "hop_ms");
	for (int s = 0; s < plan->n_stages; s++) {
		const struct plan_stage *st = &plan->stages[s];
		char cuts[24];

		snprintf(cuts, sizeof(cuts), "%d..%d", st->first_cut, st->end_cut);
		stage_layers(inst, st, buf, sizeof(buf));
		fprintf(f, "%5d %5d %9s %-50s %12s %11.3f %12s %10.3f\n", s, st->node, cuts, buf,
			ep_format_bytes(
				problem_stage_mem(&inst->problem, st->first_cut, st->end_cut), mem,
				sizeof(mem)),
			stage_s[s] * 1e3,
			ep_format_bytes(inst->problem.wire_bits[st->end_cut] / 8, tx, sizeof(tx)),
			hop_s[s + 1] * 1e3);
	}
}

/* One algorithm's plan in text. */
static void plan_text_write(FILE *f, const struct plan_report *rep, const struct algo *a,
			    const struct algo_result *r)
{
	const struct instance *inst = rep->inst;
	const struct plan *plan = &r->plan;
	double *stage_s, *hop_s;
	char buf[160];
	struct plan_cost cost;

	if (!has_plan(r)) {
		fprintf(f, "%s: no plan (%s): %s\n", a->name, ep_strerror(r->status), r->reason);
		return;
	}
	stage_s = calloc((size_t)plan->n_stages, sizeof(double));
	hop_s = calloc((size_t)plan->n_stages + 1, sizeof(double));
	if (!stage_s || !hop_s) {
		free(stage_s);
		free(hop_s);
		return;
	}
	plan_cost(&inst->problem, plan, &cost, stage_s, hop_s);
	fprintf(f, "%s: %d stage(s), solved in %.3f ms\n", a->name, plan->n_stages,
		r->solve_s * 1e3);
	stages_text_write(f, inst, plan, stage_s, hop_s);
	if (r->defects.gaps || r->defects.empty_stages || r->defects.over_memory ||
	    r->defects.repeated_nodes || r->defects.overlaps)
		fprintf(f,
			"published-variant defects in this plan: %d uncovered segment(s), %d "
			"empty stage(s), %d stage(s) over memory, %d repeated node(s)\n",
			r->defects.gaps, r->defects.empty_stages, r->defects.over_memory,
			r->defects.repeated_nodes);
	fprintf(f, "bottleneck %.6f ms (%s); throughput %.4g inferences/s\n",
		r->cost.bottleneck_s * 1e3, where_str(r, plan, buf, sizeof(buf)),
		r->cost.throughput);
	bound_text_write(f, r);
	energy_text_write(f, rep, r);
	free(stage_s);
	free(hop_s);
}

/* CSV: a line per stage (one without a plan); the header before the first algorithm's. */
static void plan_csv_write(FILE *f, const struct plan_report *rep, const struct algo *a,
			   const struct algo_result *r, bool first, double energy,
			   const double *node_j)
{
	const struct instance *inst = rep->inst;
	const struct plan *plan = &r->plan;
	const char *compute = problem_compute_name(inst->problem.options.compute);

	if (first)
		fprintf(f, "model,algo,variant,nodes,seed,trial,status,stage,node,first_cut,"
			   "end_cut,mem_bytes,transfer_bits,bottleneck_s,throughput,solve_s,"
			   "compute,compute_s,wire_bits,energy_j,node_energy_j\n");
	for (int s = 0; s < (has_plan(r) ? plan->n_stages : 1); s++) {
		const struct plan_stage *st = has_plan(r) ? &plan->stages[s] : NULL;

		fprintf(f, "%s,%s,%s,%d,%" PRIu64 ",%d,%s,", inst->profile->model, a->name,
			algo_variant_name(rep->variant), inst->cluster->n, rep->spec->seed,
			rep->spec->trial, status_str(r));
		if (st)
			fprintf(f, "%d,%d,%d,%d,%.17g,%.17g,%.17g,%.17g,%.9g,%s,%.17g,%.17g", s,
				st->node, st->first_cut, st->end_cut,
				problem_stage_mem(&inst->problem, st->first_cut, st->end_cut),
				inst->problem.transfer_bits[st->end_cut], r->cost.bottleneck_s,
				r->cost.throughput, r->solve_s, compute,
				problem_stage_s(&inst->problem, st->first_cut, st->end_cut,
						st->node),
				inst->problem.wire_bits[st->end_cut]);
		else
			fprintf(f, ",,,,,,,,%.9g,%s,,", r->solve_s, compute);
		/* The modelled energy per inference (a power model): empty without it. */
		if (st && isfinite(energy))
			fprintf(f, ",%.17g,%.17g\n", energy, node_j[st->node]);
		else
			fprintf(f, ",,\n");
	}
}

/* JSON: the plan's stages, as an array. */
static json_t *stages_json(const struct problem *p, const struct plan *plan)
{
	json_t *stages = json_array();

	for (int s = 0; stages && s < plan->n_stages; s++) {
		const struct plan_stage *st = &plan->stages[s];

		json_array_append_new(
			stages,
			json_pack("{s:i, s:i, s:i, s:o, s:o, s:o, s:o}", "node", st->node,
				  "first_cut", st->first_cut, "end_cut", st->end_cut, "mem_bytes",
				  ep_json_num(problem_stage_mem(p, st->first_cut, st->end_cut)),
				  "transfer_bits", ep_json_num(p->transfer_bits[st->end_cut]),
				  "wire_bits", ep_json_num(p->wire_bits[st->end_cut]), "compute_s",
				  ep_json_num(problem_stage_s(p, st->first_cut, st->end_cut,
							      st->node))));
	}
	return stages;
}

/* JSON: the plan's stages, its bottleneck, energy and codec (a plan was found), into o. */
static void plan_json_plan(const struct plan_report *rep, const struct algo_result *r,
			   double energy, const double *node_j, json_t *o)
{
	const struct problem *p = &rep->inst->problem;
	const struct plan *plan = &r->plan;

	json_object_set_new(o, "bottleneck_s", ep_json_num(r->cost.bottleneck_s));
	json_object_set_new(o, "throughput", ep_json_num(r->cost.throughput));
	json_object_set_new(o, "stages", stages_json(p, plan));
	json_object_set_new(o, "bottleneck",
			    json_string(r->cost.where == COST_TERM_COMPUTE ? "compute"
					: r->cost.where == COST_TERM_HOP   ? "hop"
									   : "none"));
	json_object_set_new(o, "bottleneck_index", json_integer(r->cost.index));
	json_object_set_new(o, "gaps", json_integer(r->defects.gaps));
	if (rep->power) {
		json_t *nodes = json_array();

		for (int s = 0; nodes && isfinite(energy) && s < plan->n_stages; s++)
			json_array_append_new(nodes, ep_json_num(node_j[plan->stages[s].node]));
		json_object_set_new(o, "modelled_energy",
				    json_pack("{s:o, s:o, s:o, s:o}", "device",
					      ep_json_str(rep->power->name),
					      "energy_per_inference_j", ep_json_num(energy),
					      "power_w", ep_json_num(energy / r->cost.bottleneck_s),
					      "node_energy_j", nodes ? nodes : json_null()));
	}
	if (p->options.codec.ratio > 0) {
		json_object_set_new(o, "codec", ep_json_str(p->options.codec.spec));
		json_object_set_new(o, "codec_ratio", ep_json_num(p->options.codec.ratio));
	}
}

/* JSON: one algorithm's result as an object (NULL when out of memory). */
static json_t *plan_json(const struct plan_report *rep, const struct algo *a,
			 const struct algo_result *r, double energy, const double *node_j)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "algo", a->name, "variant",
			      algo_variant_name(rep->variant), "compute",
			      problem_compute_name(rep->inst->problem.options.compute), "status",
			      status_str(r));

	if (!o)
		return NULL;
	if (r->status != EP_OK)
		json_object_set_new(o, "reason", ep_json_str(r->reason));
	if (r->bound.has) {
		json_object_set_new(o, "proven", json_boolean(r->status == EP_OK));
		json_object_set_new(o, "lower_bound_s", ep_json_num(r->bound.lower_s));
		json_object_set_new(o, "search_nodes", json_integer(r->bound.nodes));
		json_object_set_new(o, "method", ep_json_str(r->bound.method));
	}
	if (has_plan(r))
		plan_json_plan(rep, r, energy, node_j, o);
	json_object_set_new(o, "solve_s", ep_json_num(r->solve_s));
	if (rep->scenario_path || rep->scenario_text) {
		json_t *scenario = json_pack("{s:o, s:o}", "path", ep_json_str(rep->scenario_path),
					     "text", ep_json_str(rep->scenario_text));

		if (scenario)
			json_object_set_new(o, "scenario", scenario);
	}
	return o;
}

/* One algorithm's result as CSV rows (written) or as a JSON object (appended to arr). */
static void plan_data_write(FILE *f, enum plan_report_format fmt, const struct plan_report *rep,
			    int i, json_t *arr)
{
	const struct algo_result *r = &rep->results[i];
	double *node_j = calloc((size_t)rep->inst->cluster->n, sizeof(double)), energy = NAN;
	json_t *o;

	if (has_plan(r) && node_j && !plan_energy(rep, r, node_j, &energy))
		energy = NAN;
	if (fmt == PLAN_REPORT_CSV) {
		plan_csv_write(f, rep, rep->algos[i], r, i == 0, energy, node_j);
		free(node_j);
		return;
	}
	o = plan_json(rep, rep->algos[i], r, energy, node_j);
	free(node_j);
	/* Out of memory: a null in the array, and ep_json_dump finds the array whole. */
	json_array_append_new(arr, o ? o : json_null());
}

/* The optimal algorithm's result when it solved the instance: its index, else -1. */
static int optimal_index(const struct plan_report *rep)
{
	int opt = -1;

	for (int i = 0; i < rep->n_algos; i++)
		if (strcmp(rep->algos[i]->name, "optimal") == 0 && rep->results[i].status == EP_OK)
			opt = i;
	return opt;
}

/* Several algorithms in text: a line per algorithm with its gap to the proven optimum. */
static void table_text_write(FILE *f, const struct plan_report *rep)
{
	const struct algo_result *results = rep->results;
	int opt_index = optimal_index(rep);

	fprintf(f, "%-9s %-10s %6s %15s %14s %12s %10s\n", "algo", "status", "stages",
		"bottleneck_ms", "throughput/s", "gap_to_opt", "solve_ms");
	for (int i = 0; i < rep->n_algos; i++) {
		const struct algo_result *r = &results[i];
		char gap[32] = "-";

		if (r->status == EP_OK && opt_index >= 0) {
			double b = results[opt_index].cost.bottleneck_s;

			if (b > 0)
				snprintf(gap, sizeof(gap), "%+.2f%%",
					 100.0 * (r->cost.bottleneck_s - b) / b);
			else
				snprintf(gap, sizeof(gap), "%s",
					 r->cost.bottleneck_s > 0 ? "inf" : "0%");
		}
		if (has_plan(r))
			fprintf(f, "%-9s %-10s %6d %15.6f %14.4g %12s %10.3f%s%s\n",
				rep->algos[i]->name, status_str(r), r->plan.n_stages,
				r->cost.bottleneck_s * 1e3, r->cost.throughput, gap,
				r->solve_s * 1e3, r->status == EP_OK ? "" : "  ",
				r->status == EP_OK ? "" : r->reason);
		else
			fprintf(f, "%-9s %-10s %6s %15s %14s %12s %10.3f  %s\n",
				rep->algos[i]->name,
				r->status == EP_EINFEASIBLE ? "infeasible"
				: r->status == EP_ELIMIT    ? "limit"
							    : "failed",
				"-", "-", "-", gap, r->solve_s * 1e3, r->reason);
	}
	if (opt_index < 0)
		fprintf(f, "(no gap to optimal: optimal did not solve this instance)\n");
	else
		bound_text_write(f, &results[opt_index]);
}

int plan_report_write(FILE *f, enum plan_report_format fmt, const struct plan_report *r,
		      struct ep_error *err)
{
	json_t *arr = NULL;

	if (fmt == PLAN_REPORT_TEXT) {
		header_write(f, r);
		if (r->n_algos == 1)
			plan_text_write(f, r, r->algos[0], &r->results[0]);
		else
			table_text_write(f, r);
	} else {
		if (fmt == PLAN_REPORT_JSON && !(arr = json_array()))
			return ep_error_set(err, EP_ENOMEM, "out of memory writing JSON");
		for (int i = 0; i < r->n_algos; i++)
			plan_data_write(f, fmt, r, i, arr);
		if (arr)
			EP_CHECK(ep_json_dump(f, arr, err));
	}
	if (ferror(f))
		return ep_error_set(err, EP_EIO, "cannot write the plan report");
	return EP_OK;
}
