#include "instance.h"

#include <stdlib.h>

#include "ep_json.h"
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

/* A (n + 1) x (n + 1) matrix of the cluster (the dispatcher last) as an array of rows. */
static json_t *matrix_json(const struct cluster *c, const double *m)
{
	int v = c->n + 1;
	json_t *rows = json_array();

	for (int i = 0; rows && i < v; i++) {
		json_t *row = json_array();

		for (int j = 0; row && j < v; j++)
			json_array_append_new(row, ep_json_num(m[i * v + j]));
		json_array_append_new(rows, row ? row : json_null());
	}
	return rows ? rows : json_null();
}

static const char codec_rule[] =
	"a hop sends transfer_bits / ratio; a stage after cut a through cut b on node v adds "
	"(decode_s_per_byte x transfer_bits[a] + encode_s_per_byte x transfer_bits[b]) / 8 / "
	"speed_factor[v] to its compute time";
static const char stage_rule[] =
	"a stage after cut a through cut b holds cum_mem_bytes[b] - cum_mem_bytes[a] bytes and "
	"cum_flops[b] - cum_flops[a] FLOPs, and sends transfer_bits[b]; cut 0 (the input) is the "
	"dispatcher's; its compute time on node v is (cum_flops[b] - cum_flops[a]) / "
	"speed_flops[v] (compute flops) or (cum_measured_s[b] - cum_measured_s[a]) / "
	"speed_factor[v] (compute profile)";

int instance_write_json(const struct instance *inst, FILE *f, struct ep_error *err)
{
	const struct model_profile *p = inst->profile;
	const struct cluster *c = inst->cluster;
	const struct problem_options *o = &inst->problem.options;
	json_t *cuts = json_array(), *nodes = json_array(), *j;

	for (size_t k = 0; cuts && k < p->n_cuts; k++) {
		const struct model_cut_profile *cp = &p->cuts[k];

		json_array_append_new(
			cuts,
			json_pack("{s:I, s:o, s:o, s:o, s:I, s:o, s:o}", "cut", (json_int_t)k, "layer",
				  ep_json_str(model_graph_layer(inst->graph, (size_t)cp->layer)->name),
				  "cum_mem_bytes", ep_json_num(cp->cum_mem_bytes), "seg_mem_bytes",
				  ep_json_num(cp->seg_mem_bytes), "cum_flops", (json_int_t)cp->cum_flops,
				  "cum_measured_s", ep_json_num(cp->cum_measured_s), "transfer_bits",
				  ep_json_num(inst->problem.transfer_bits[k])));
	}
	for (int i = 0; nodes && i < c->n; i++)
		json_array_append_new(nodes, json_pack("{s:i, s:o, s:o, s:o}", "node", i, "mem_bytes",
						       ep_json_num(c->mem_bytes[i]), "speed_flops",
						       ep_json_num(c->speed_flops[i]), "speed_factor",
						       ep_json_num(c->speed_factor[i])));
	j = json_pack("{s:o, s:s, s:s, s:s, s:o, s:b, s:b, s:b, s:s}", "model", ep_json_str(p->model),
		      "cut_rule", model_cut_rule_name(p->options.cuts), "accounting",
		      model_accounting_name(p->options.accounting), "dtype",
		      model_dtype_name(p->options.dtype), "compression",
		      ep_json_num(p->options.compression), "count_compute", o->count_compute,
		      "count_dispatcher", o->count_dispatcher, "strict_memory", o->strict_memory,
		      "compute", problem_compute_name(o->compute));
	if (j && o->codec.ratio > 0)
		json_object_set_new(j, "codec",
				    json_pack("{s:o, s:o, s:o, s:o, s:s}", "spec",
					      ep_json_str(o->codec.spec), "ratio",
					      ep_json_num(o->codec.ratio), "encode_s_per_byte",
					      ep_json_num(o->codec.encode_s_per_byte),
					      "decode_s_per_byte",
					      ep_json_num(o->codec.decode_s_per_byte), "rule",
					      codec_rule));
	if (j) {
		json_object_set_new(j, "cluster_seed", ep_json_u64(inst->cluster_seed));
		json_object_set_new(j, "stage_rule", json_string(stage_rule));
		json_object_set_new(j, "cuts", cuts ? cuts : json_null());
		json_object_set_new(j, "nodes", nodes ? nodes : json_null());
		json_object_set_new(j, "dispatcher", json_integer(c->n));
		json_object_set_new(j, "bandwidth_bps", matrix_json(c, c->bw_bps));
		json_object_set_new(j, "latency_s", matrix_json(c, c->latency_s));
	} else {
		json_decref(cuts);
		json_decref(nodes);
	}
	if (ep_json_dump(f, j, err))
		return err->code;
	if (fflush(f) || ferror(f))
		return ep_error_set(err, EP_EIO, "writing the instance failed");
	return EP_OK;
}
