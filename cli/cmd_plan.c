/*
 * edgepipe plan: partition and place one model on one cluster with one algorithm (or all of
 * them side by side), and print the stages, the bottleneck and the solve time.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "algo.h"
#include "cli.h"
#include "ep_json.h"
#include "ep_units.h"
#include "ep_util.h"
#include "instance.h"

/* In parts: C99 compilers need only accept string literals of 4095 characters. */
static const char *const plan_usage[] = {
	"usage: edgepipe plan --model NAME|FILE --mem SIZE[,SIZE...] [--nodes N] [options]\n\n"
	"Partition the model into pipeline stages and place them on a cluster's nodes; print the\n"
	"stages, the bottleneck latency, the throughput and the solve time.\n\n"
	CLI_INSTANCE_USAGE
	"algorithm:\n",
	cli_usage_algorithms,
	CLI_METRIC_USAGE
	CLI_COMPUTE_USAGE,
	CLI_CODEC_DEVICE_USAGE
	"output:\n"
	"  --format text|csv|json     (default text)\n"
	"  --instance-out FILE        also write the instance as JSON (cut points, nodes, bandwidths)\n",
	CLI_SCENARIO_USAGE,
	NULL,
};

struct plan_cmd {
	struct cli_instance_opts o; /* spec, algorithm and its options */
	const char *instance_out;
	enum cli_format fmt;
};
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

static void print_header(const struct plan_cmd *c, const struct instance *inst)
{
	const struct cluster_spec *cs = &c->o.spec.cluster;
	char mem[32];

	cli_scenario_text_header(stdout);
	printf("%s on %d nodes (%s cluster, seed %" PRIu64 ", trial %d), %s%s per node; %s "
	       "variant, %s accounting, %s metric, compute %s%s%s\n",
	       inst->profile->model, inst->cluster->n, cluster_kind_name(cs->kind), c->o.spec.seed,
	       c->o.spec.trial, ep_format_bytes(inst->cluster->mem_bytes[0], mem, sizeof(mem)),
	       cs->mem_list ? " (and others)" : "", algo_variant_name(c->o.algo.variant),
	       model_accounting_name(c->o.spec.profile.accounting),
	       problem_metric_name(&c->o.spec.problem),
	       problem_compute_name(inst->problem.options.compute),
	       c->o.spec.compute_profile ? ":" : "",
	       c->o.spec.compute_profile ? c->o.spec.compute_profile : "");
	if (inst->problem.options.codec.ratio > 0) {
		const struct problem_codec *k = &inst->problem.options.codec;

		printf("codec %s: tensors / %g on the wire (the transfer column), coding %.6g MB/s "
		       "encoding, %.6g MB/s decoding in each stage's compute\n", k->spec, k->ratio,
		       1e-6 / k->encode_s_per_byte, 1e-6 / k->decode_s_per_byte);
	}
}

/* A plan to show: solved, or the best so far when a time limit struck. */
static bool has_plan(const struct algo_result *r)
{
	return r->plan.n_stages > 0 && (r->status == EP_OK || r->status == EP_ELIMIT);
}

static const char *status_str(const struct algo_result *r)
{
	return r->status == EP_OK ? "ok" : r->status == EP_ELIMIT && r->bound.has
						   ? "limit"
						   : ep_strerror(r->status);
}

/* What an exact algorithm proved, in one line. */
static void print_bound_text(const struct algo_result *r)
{
	const struct algo_bound *b = &r->bound;

	if (!b->has)
		return;
	if (r->status == EP_OK)
		printf("proven optimal (%s): no valid plan is below %.6f ms; %ld search nodes, "
		       "%.3f ms\n",
		       b->method, b->lower_s * 1e3, b->nodes, r->solve_s * 1e3);
	else
		printf("NOT proven optimal: time limit reached (%s): best plan %.6f ms, no valid "
		       "plan below %.6f ms (gap %.3g %%); %ld search nodes\n",
		       b->method, r->cost.bottleneck_s * 1e3, b->lower_s * 1e3,
		       b->lower_s > 0 ? 100.0 * (r->cost.bottleneck_s / b->lower_s - 1.0) : INFINITY,
		       b->nodes);
}

/* The plan's modelled energy per inference with --device (power.h): the total and, when
 * node_j is given, each node's; false without --device or when the plan has none. */
static bool plan_energy(const struct plan_cmd *c, const struct instance *inst,
			const struct algo_result *r, double *node_j, double *total_j)
{
	struct ep_error err;

	*total_j = NAN;
	return c->o.have_power && power_plan_energy(&c->o.power, &inst->problem, &r->plan, node_j,
						    total_j, &err) == EP_OK;
}

static void print_energy_text(const struct plan_cmd *c, const struct instance *inst,
			      const struct algo_result *r)
{
	double *node_j = calloc((size_t)inst->cluster->n, sizeof(double)), total;

	if (!c->o.have_power || !node_j) {
		free(node_j);
		return;
	}
	if (!plan_energy(c, inst, r, node_j, &total)) {
		printf("MODELLED energy (device %s): none: nothing takes time under this metric\n",
		       c->o.power.name);
		free(node_j);
		return;
	}
	printf("MODELLED energy (device %s, the plan saturated at its bottleneck, u = stage time "
	       "/ bottleneck): %.6g J per inference, %.6g W;", c->o.power.name, total,
	       total / r->cost.bottleneck_s);
	for (int s = 0; s < r->plan.n_stages; s++)
		printf(" node %d %.6g J", r->plan.stages[s].node, node_j[r->plan.stages[s].node]);
	printf("\n");
	free(node_j);
}

static void print_plan_text(const struct plan_cmd *c, const struct instance *inst,
			    const struct algo *a, const struct algo_result *r)
{
	const struct plan *plan = &r->plan;
	double *stage_s, *hop_s;
	char buf[160], mem[32], tx[32];
	struct plan_cost cost;

	if (!has_plan(r)) {
		printf("%s: no plan (%s): %s\n", a->name, ep_strerror(r->status), r->reason);
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
	printf("%s: %d stage(s), solved in %.3f ms\n", a->name, plan->n_stages, r->solve_s * 1e3);
	printf("%5s %5s %9s %-50s %12s %11s %12s %10s\n", "stage", "node", "cuts", "layers",
	       "memory", "compute_ms", "transfer", "hop_ms");
	for (int s = 0; s < plan->n_stages; s++) {
		const struct plan_stage *st = &plan->stages[s];
		char cuts[24];

		snprintf(cuts, sizeof(cuts), "%d..%d", st->first_cut, st->end_cut);
		stage_layers(inst, st, buf, sizeof(buf));
		printf("%5d %5d %9s %-50s %12s %11.3f %12s %10.3f\n", s, st->node, cuts, buf,
		       ep_format_bytes(problem_stage_mem(&inst->problem, st->first_cut, st->end_cut),
				       mem, sizeof(mem)),
		       stage_s[s] * 1e3,
		       ep_format_bytes(inst->problem.wire_bits[st->end_cut] / 8, tx, sizeof(tx)),
		       hop_s[s + 1] * 1e3);
	}
	if (r->defects.gaps || r->defects.empty_stages || r->defects.over_memory ||
	    r->defects.repeated_nodes || r->defects.overlaps)
		printf("published-variant defects in this plan: %d uncovered segment(s), %d empty "
		       "stage(s), %d stage(s) over memory, %d repeated node(s)\n",
		       r->defects.gaps, r->defects.empty_stages, r->defects.over_memory,
		       r->defects.repeated_nodes);
	printf("bottleneck %.6f ms (%s); throughput %.4g inferences/s\n",
	       r->cost.bottleneck_s * 1e3, where_str(r, plan, buf, sizeof(buf)),
	       r->cost.throughput);
	print_bound_text(r);
	print_energy_text(c, inst, r);
	free(stage_s);
	free(hop_s);
}

/* CSV: a line per stage (one without a plan). */
static void print_plan_csv(const struct plan_cmd *c, const struct instance *inst,
			   const struct algo *a, const struct algo_result *r, bool first,
			   double energy, const double *node_j)
{
	const struct plan *plan = &r->plan;
	const char *compute = problem_compute_name(inst->problem.options.compute);

	if (first)
		printf("model,algo,variant,nodes,seed,trial,status,stage,node,first_cut,"
		       "end_cut,mem_bytes,transfer_bits,bottleneck_s,throughput,solve_s,"
		       "compute,compute_s,wire_bits,energy_j,node_energy_j\n");
	for (int s = 0; s < (has_plan(r) ? plan->n_stages : 1); s++) {
		const struct plan_stage *st = has_plan(r) ? &plan->stages[s] : NULL;

		printf("%s,%s,%s,%d,%" PRIu64 ",%d,%s,", inst->profile->model, a->name,
		       algo_variant_name(c->o.algo.variant), inst->cluster->n, c->o.spec.seed,
		       c->o.spec.trial, status_str(r));
		if (st)
			printf("%d,%d,%d,%d,%.17g,%.17g,%.17g,%.17g,%.9g,%s,%.17g,%.17g", s,
			       st->node, st->first_cut, st->end_cut,
			       problem_stage_mem(&inst->problem, st->first_cut, st->end_cut),
			       inst->problem.transfer_bits[st->end_cut], r->cost.bottleneck_s,
			       r->cost.throughput, r->solve_s, compute,
			       problem_stage_s(&inst->problem, st->first_cut, st->end_cut,
					       st->node),
			       inst->problem.wire_bits[st->end_cut]);
		else
			printf(",,,,,,,,%.9g,%s,,", r->solve_s, compute);
		/* The modelled energy per inference (--device): empty without it. */
		if (st && isfinite(energy))
			printf(",%.17g,%.17g\n", energy, node_j[st->node]);
		else
			printf(",,\n");
	}
}

/* JSON: the plan's stages, its bottleneck, energy and codec (a plan was found), into o. */
static void plan_json_plan(const struct plan_cmd *c, const struct instance *inst,
			   const struct algo_result *r, double energy, const double *node_j,
			   json_t *o)
{
	const struct problem *p = &inst->problem;
	const struct plan *plan = &r->plan;
	json_t *stages = json_array();

	json_object_set_new(o, "bottleneck_s", ep_json_num(r->cost.bottleneck_s));
	json_object_set_new(o, "throughput", ep_json_num(r->cost.throughput));
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
	json_object_set_new(o, "stages", stages);
	json_object_set_new(o, "bottleneck",
			    json_string(r->cost.where == COST_TERM_COMPUTE ? "compute"
					: r->cost.where == COST_TERM_HOP   ? "hop"
									   : "none"));
	json_object_set_new(o, "bottleneck_index", json_integer(r->cost.index));
	json_object_set_new(o, "gaps", json_integer(r->defects.gaps));
	if (c->o.have_power) {
		json_t *nodes = json_array();

		for (int s = 0; nodes && isfinite(energy) && s < plan->n_stages; s++)
			json_array_append_new(nodes, ep_json_num(node_j[plan->stages[s].node]));
		json_object_set_new(
			o, "modelled_energy",
			json_pack("{s:o, s:o, s:o, s:o}", "device", ep_json_str(c->o.power.name),
				  "energy_per_inference_j", ep_json_num(energy), "power_w",
				  ep_json_num(energy / r->cost.bottleneck_s), "node_energy_j",
				  nodes ? nodes : json_null()));
	}
	if (p->options.codec.ratio > 0) {
		json_object_set_new(o, "codec", ep_json_str(p->options.codec.spec));
		json_object_set_new(o, "codec_ratio", ep_json_num(p->options.codec.ratio));
	}
}

/* One algorithm's result as CSV rows (printed) or as a JSON object (appended to arr). */
static void print_plan_data(const struct plan_cmd *c, const struct instance *inst,
			    const struct algo *a, const struct algo_result *r, bool first,
			    json_t *arr)
{
	double *node_j = calloc((size_t)inst->cluster->n, sizeof(double)), energy = NAN;
	json_t *o;

	if (has_plan(r) && node_j && !plan_energy(c, inst, r, node_j, &energy))
		energy = NAN;
	if (c->fmt == CLI_CSV) {
		print_plan_csv(c, inst, a, r, first, energy, node_j);
		free(node_j);
		return;
	}
	o = json_pack("{s:s, s:s, s:s, s:s}", "algo", a->name, "variant",
		      algo_variant_name(c->o.algo.variant), "compute",
		      problem_compute_name(inst->problem.options.compute), "status", status_str(r));
	if (o && r->status != EP_OK)
		json_object_set_new(o, "reason", ep_json_str(r->reason));
	if (o && r->bound.has) {
		json_object_set_new(o, "proven", json_boolean(r->status == EP_OK));
		json_object_set_new(o, "lower_bound_s", ep_json_num(r->bound.lower_s));
		json_object_set_new(o, "search_nodes", json_integer(r->bound.nodes));
		json_object_set_new(o, "method", ep_json_str(r->bound.method));
	}
	if (o && has_plan(r))
		plan_json_plan(c, inst, r, energy, node_j, o);
	free(node_j);
	if (o) {
		json_t *scenario = cli_scenario_json();

		json_object_set_new(o, "solve_s", ep_json_num(r->solve_s));
		if (scenario)
			json_object_set_new(o, "scenario", scenario);
	}
	/* Out of memory: a null in the array, and ep_json_dump finds the array whole. */
	json_array_append_new(arr, o ? o : json_null());
}

/* --algo all in text: a line per algorithm with its gap to the proven optimum. */
static void print_plan_table(const struct algo *const *algos, const struct algo_result *results,
			     int n_algos, int opt_index)
{
	printf("%-9s %-10s %6s %15s %14s %12s %10s\n", "algo", "status", "stages",
	       "bottleneck_ms", "throughput/s", "gap_to_opt", "solve_ms");
	for (int i = 0; i < n_algos; i++) {
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
			printf("%-9s %-10s %6d %15.6f %14.4g %12s %10.3f%s%s\n", algos[i]->name,
			       status_str(r), r->plan.n_stages, r->cost.bottleneck_s * 1e3,
			       r->cost.throughput, gap, r->solve_s * 1e3,
			       r->status == EP_OK ? "" : "  ", r->status == EP_OK ? "" : r->reason);
		else
			printf("%-9s %-10s %6s %15s %14s %12s %10.3f  %s\n", algos[i]->name,
			       r->status == EP_EINFEASIBLE ? "infeasible"
			       : r->status == EP_ELIMIT	   ? "limit"
							   : "failed",
			       "-", "-", "-", gap, r->solve_s * 1e3, r->reason);
	}
	if (opt_index < 0)
		printf("(no gap to optimal: optimal did not solve this instance)\n");
	else
		print_bound_text(&results[opt_index]);
}

/* Write the instance as JSON to c->instance_out (--instance-out): 0 or the exit status. */
static int write_instance(const struct plan_cmd *c, const struct instance *inst)
{
	FILE *f = fopen(c->instance_out, "w");
	struct ep_error err;

	if (!f || instance_write_json(inst, f, &err)) {
		if (f)
			fclose(f);
		return cli_fail(1, "cannot write the instance to '%s'", c->instance_out);
	}
	fclose(f);
	return 0;
}

/* The results in c->fmt. */
static void print_results(const struct plan_cmd *c, const struct instance *inst,
			  const struct algo *const *algos, const struct algo_result *results,
			  int n_algos, int opt_index)
{
	json_t *arr = c->fmt == CLI_JSON ? json_array() : NULL;
	struct ep_error err;

	if (c->fmt == CLI_TEXT)
		print_header(c, inst);

	for (int i = 0; i < n_algos; i++) {
		if (c->fmt != CLI_TEXT) {
			print_plan_data(c, inst, algos[i], &results[i], i == 0, arr);
			continue;
		}
		if (n_algos == 1)
			print_plan_text(c, inst, algos[i], &results[i]);
	}
	if (c->fmt == CLI_JSON && ep_json_dump(stdout, arr, &err))
		cli_fail(1, "%s", err.msg);
	if (c->fmt == CLI_TEXT && n_algos > 1)
		print_plan_table(algos, results, n_algos, opt_index);
}

static int run_plan(struct plan_cmd *c)
{
	struct instance *inst = NULL;
	struct algo_result results[16];
	const struct algo *algos[16];
	int n_algos = 0, rc = 0, opt_index = -1;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct ep_error err;

	if (!rng)
		return cli_fail(1, "out of memory");
	if (strcmp(c->o.algo_name, "all") == 0) {
		for (int i = 0; algo_registry[i] && n_algos < 16; i++)
			algos[n_algos++] = algo_registry[i];
	} else if ((algos[0] = cli_algo_find(c->o.algo_name, true))) {
		n_algos = 1;
	} else {
		gsl_rng_free(rng);
		return 2;
	}
	rc = instance_create(&c->o.spec, &inst, &err);
	if (rc) {
		gsl_rng_free(rng);
		return cli_fail(cli_exit_code(rc), "%s", err.msg);
	}
	if (c->instance_out && (rc = write_instance(c, inst)))
		goto out;
	for (int i = 0; i < n_algos; i++)
		algo_result_init(&results[i]);
	for (int i = 0; i < n_algos; i++) {
		/* The same plan whether run alone or with --algo all. */
		gsl_rng_set(rng, ep_seed32(instance_algo_seed(&c->o.spec, algos[i]->name)));
		rc = algo_run(algos[i], &inst->problem, &c->o.algo, rng, &results[i], &err);
		if (rc) {
			rc = cli_fail(1, "%s", err.msg);
			goto out_results;
		}
		if (strcmp(algos[i]->name, "optimal") == 0 && results[i].status == EP_OK)
			opt_index = i;
	}
	print_results(c, inst, algos, results, n_algos, opt_index);
	rc = 0;
out_results:
	for (int i = 0; i < n_algos; i++)
		algo_result_release(&results[i]);
out:
	instance_destroy(inst);
	gsl_rng_free(rng);
	return rc;
}

int cmd_plan(int argc, char **argv)
{
	enum { O_FORMAT = CLI_O_INSTANCE_END, O_INSTANCE_OUT, O_HELP };
	static const struct option own[] = {
		CLI_INSTANCE_OPTIONS,
		CLI_COMPUTE_OPTIONS,
		CLI_SCENARIO_OPTION,
		{ "format", required_argument, NULL, O_FORMAT },
		{ "instance-out", required_argument, NULL, O_INSTANCE_OUT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct option *opts = cli_options_with_algos(own);
	struct plan_cmd *c = calloc(1, sizeof(*c));
	int opt, rc = 2;

	if (!c || !opts) {
		free(c);
		free(opts);
		return cli_fail(1, "out of memory");
	}
	cli_instance_opts_init(&c->o);
	if ((opt = cli_scenario_expand("plan", opts, &argc, &argv)) != 0) {
		rc = opt;
		goto out;
	}
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (cli_instance_opts_parse(&c->o, opt, optarg)) {
		case 1: continue;
		case -1: goto out;
		}
		switch (opt) {
		case O_FORMAT:
			if (!cli_parse_format(optarg, &c->fmt)) {
				cli_fail(2, "--format '%s': expected text, csv or json", optarg);
				goto out;
			}
			break;
		case CLI_O_COMPUTE: /* how a run's stages compute (cli.h) */
			if (cli_scenario_where())
				break; /* the scenario's, for sim, emu and compare */
			cli_fail(2, "--compute '%s': expected flops or profile:FILE", optarg);
			goto out;
		case O_INSTANCE_OUT: c->instance_out = optarg; break;
		case O_HELP:
			cli_usage_write(stdout, plan_usage, "NAME|all", "seifer");
			rc = 0;
			goto out;
		default:
			cli_usage_write(stderr, plan_usage, "NAME|all", "seifer");
			goto out;
		}
	}
	if (optind < argc) {
		cli_fail(2, "plan: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!cli_instance_opts_finish(&c->o, "plan"))
		goto out;
	rc = run_plan(c);
out:
	free(c);
	free(opts);
	return rc;
}
