#include "instance.h"

#include <stdlib.h>

#include "ep_util.h"
#include "model_lprofile.h"
#include "model_zoo.h"

void instance_spec_set_variant(struct instance_spec *spec, enum algo_variant variant)
{
	bool published = variant == ALGO_PUBLISHED;

	spec->profile.accounting = published ? MODEL_ACCOUNT_PUBLISHED : MODEL_ACCOUNT_EXACT;
	spec->profile.cuts = published ? MODEL_CUTS_PUBLISHED : MODEL_CUTS_EXACT;
	spec->problem = published ? PROBLEM_OPTIONS_PUBLISHED : PROBLEM_OPTIONS_FULL;
	spec->cluster.mbit_bits = published ? 1048576.0 : 1e6;
}

int instance_set_trial(struct instance *inst, const struct instance_spec *spec,
		       struct ep_error *err)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct cluster *c;
	struct problem_options opt = spec->problem;
	int rc;

	opt.compute = spec->compute_profile ? PROBLEM_COMPUTE_MEASURED : PROBLEM_COMPUTE_FLOPS;
	if (!rng)
		return ep_error_set(err, EP_ENOMEM, "out of memory for a random generator");
	inst->cluster_seed = cluster_trial_seed(spec->seed, spec->trial, spec->cluster.n);
	gsl_rng_set(rng, ep_seed32(inst->cluster_seed));
	rc = cluster_create(&spec->cluster, rng, &c, err);
	gsl_rng_free(rng);
	if (rc)
		return rc;
	problem_release(&inst->problem);
	cluster_destroy(inst->cluster);
	inst->cluster = c;
	return problem_init(&inst->problem, inst->profile, c, &opt, err);
}

static int apply_lprofile(struct instance *inst, const char *path, struct ep_error *err)
{
	struct model_lprofile *lp = NULL;
	int rc = model_lprofile_load(path, &lp, err);

	if (!rc)
		rc = model_lprofile_apply(lp, inst->graph, path, inst->profile, err);
	model_lprofile_destroy(lp);
	return rc;
}

int instance_create(const struct instance_spec *spec, struct instance **out, struct ep_error *err)
{
	struct instance *inst = calloc(1, sizeof(*inst));
	int rc;

	*out = NULL;
	if (!inst)
		return ep_error_set(err, EP_ENOMEM, "out of memory for an instance");
	rc = model_zoo_open(spec->model, &inst->graph, err);
	if (!rc)
		rc = model_profile_create(inst->graph, &spec->profile, &inst->profile, err);
	if (!rc && spec->compute_profile)
		rc = apply_lprofile(inst, spec->compute_profile, err);
	if (!rc)
		rc = instance_set_trial(inst, spec, err);
	if (rc) {
		instance_destroy(inst);
		return rc;
	}
	*out = inst;
	return EP_OK;
}

uint64_t instance_algo_seed(const struct instance_spec *spec, const char *name)
{
	return cluster_trial_seed(spec->seed ^ ep_fnv1a(name), spec->trial, spec->cluster.n);
}

void instance_destroy(struct instance *inst)
{
	if (!inst)
		return;
	problem_release(&inst->problem);
	cluster_destroy(inst->cluster);
	model_profile_destroy(inst->profile);
	model_graph_destroy(inst->graph);
	free(inst);
}

static void write_matrix(FILE *f, const struct cluster *c, const double *m)
{
	int v = c->n + 1;

	fprintf(f, "[");
	for (int i = 0; i < v; i++) {
		fprintf(f, "%s\n    [", i ? "," : "");
		for (int j = 0; j < v; j++)
			fprintf(f, "%s%.17g", j ? ", " : "", m[i * v + j]);
		fprintf(f, "]");
	}
	fprintf(f, "\n  ]");
}

int instance_write_json(const struct instance *inst, FILE *f, struct ep_error *err)
{
	const struct model_profile *p = inst->profile;
	const struct cluster *c = inst->cluster;
	const struct problem_options *o = &inst->problem.options;

	fprintf(f, "{\n  \"model\": ");
	ep_json_string(f, p->model);
	fprintf(f, ",\n");
	fprintf(f, "  \"cut_rule\": \"%s\", \"accounting\": \"%s\", \"dtype\": \"%s\", "
		   "\"compression\": %.17g,\n",
		model_cut_rule_name(p->options.cuts), model_accounting_name(p->options.accounting),
		model_dtype_name(p->options.dtype), p->options.compression);
	fprintf(f, "  \"count_compute\": %s, \"count_dispatcher\": %s, \"strict_memory\": %s,\n",
		o->count_compute ? "true" : "false", o->count_dispatcher ? "true" : "false",
		o->strict_memory ? "true" : "false");
	fprintf(f, "  \"compute\": \"%s\",\n", problem_compute_name(o->compute));
	if (o->codec.ratio > 0) {
		fprintf(f, "  \"codec\": {\"spec\": ");
		ep_json_string(f, o->codec.spec);
		fprintf(f, ", \"ratio\": %.17g, \"encode_s_per_byte\": %.17g, "
			   "\"decode_s_per_byte\": %.17g, \"rule\": \"a hop sends transfer_bits / "
			   "ratio; a stage after cut a through cut b on node v adds (decode_s_per_byte "
			   "x transfer_bits[a] + encode_s_per_byte x transfer_bits[b]) / 8 / "
			   "speed_factor[v] to its compute time\"},\n",
			o->codec.ratio, o->codec.encode_s_per_byte, o->codec.decode_s_per_byte);
	}
	fprintf(f, "  \"cluster_seed\": %llu,\n", (unsigned long long)inst->cluster_seed);
	fprintf(f, "  \"stage_rule\": \"a stage after cut a through cut b holds cum_mem_bytes[b] - "
		   "cum_mem_bytes[a] bytes and cum_flops[b] - cum_flops[a] FLOPs, and sends "
		   "transfer_bits[b]; cut 0 (the input) is the dispatcher's; its compute time "
		   "on node v is (cum_flops[b] - cum_flops[a]) / speed_flops[v] (compute flops) "
		   "or (cum_measured_s[b] - cum_measured_s[a]) / speed_factor[v] (compute "
		   "profile)\",\n");
	fprintf(f, "  \"cuts\": [");
	for (size_t k = 0; k < p->n_cuts; k++) {
		const struct model_cut_profile *cp = &p->cuts[k];

		fprintf(f, "%s\n    {\"cut\": %zu, \"layer\": \"%s\", \"cum_mem_bytes\": %.17g, "
			   "\"seg_mem_bytes\": %.17g, \"cum_flops\": %lld, \"cum_measured_s\": "
			   "%.17g, \"transfer_bits\": %.17g}",
			k ? "," : "", k, model_graph_layer(inst->graph, (size_t)cp->layer)->name,
			cp->cum_mem_bytes, cp->seg_mem_bytes, (long long)cp->cum_flops,
			cp->cum_measured_s, inst->problem.transfer_bits[k]);
	}
	fprintf(f, "\n  ],\n  \"nodes\": [");
	for (int i = 0; i < c->n; i++)
		fprintf(f, "%s\n    {\"node\": %d, \"mem_bytes\": %.17g, \"speed_flops\": %.17g, "
			   "\"speed_factor\": %.17g}",
			i ? "," : "", i, c->mem_bytes[i], c->speed_flops[i], c->speed_factor[i]);
	fprintf(f, "\n  ],\n  \"dispatcher\": %d,\n  \"bandwidth_bps\": ", c->n);
	write_matrix(f, c, c->bw_bps);
	fprintf(f, ",\n  \"latency_s\": ");
	write_matrix(f, c, c->latency_s);
	fprintf(f, "\n}\n");
	if (fflush(f) || ferror(f))
		return ep_error_set(err, EP_EIO, "writing the instance failed");
	return EP_OK;
}
