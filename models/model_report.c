/*
 * model_report: what 'edgepipe model show' prints of a model: its layer table and its
 * cut-point profile (per segment and cumulative), as text, CSV or JSON, and the executor's
 * measured resident memory per segment beside the accounting's (--exec).
 */
#include "model_report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ep_json.h"
#include "ep_util.h"
#include "model_cut.h"
#include "model_weights.h"
#include "model_zoo.h"

#define MIB (1024.0 * 1024.0)

void model_report_shape(const struct model_layer *l, char *buf, size_t size)
{
	size_t k = 0;

	buf[0] = '\0';
	for (int d = 0; d < l->rank && k < size; d++)
		k += (size_t)snprintf(buf + k, size - k, "%s%" PRId64, d ? "x" : "", l->shape[d]);
}

static void print_inputs(FILE *f, const struct model_graph *g, const struct model_layer *l,
			 char sep)
{
	if (!l->n_inputs)
		fputc('-', f);
	for (int k = 0; k < l->n_inputs; k++)
		fprintf(f, "%s%s", k ? (char[]){ sep, 0 } : "", model_graph_layer(g, l->inputs[k])->name);
}

static void show_layers(FILE *f, const struct model_graph *g, enum model_report_format fmt)
{
	size_t n = model_graph_layer_count(g);
	char shape[64];

	if (fmt == MODEL_REPORT_TEXT)
		fprintf(f, "%5s  %-28s %-24s %-14s %12s %14s  %s\n", "index", "layer", "op", "shape",
		       "params", "flops", "inputs");
	else if (fmt == MODEL_REPORT_CSV)
		fprintf(f, "index,layer,op,shape,params_trainable,params_non_trainable,flops,dtype,"
		       "inputs\n");
	for (size_t i = 0; i < n; i++) {
		const struct model_layer *l = model_graph_layer(g, i);

		model_report_shape(l, shape, sizeof(shape));
		if (fmt == MODEL_REPORT_TEXT) {
			fprintf(f, "%5zu  %-28s %-24s %-14s %12" PRId64 " %14" PRId64 "  ", i, l->name,
			       l->op_name, shape, l->params_trainable + l->params_non_trainable,
			       l->flops);
			print_inputs(f, g, l, ',');
			fputc('\n', f);
		} else if (fmt == MODEL_REPORT_CSV) {
			fprintf(f, "%zu,", i);
			ep_csv_field(f, l->name);
			fprintf(f, ",%s,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%s,", l->op_name, shape,
			       l->params_trainable, l->params_non_trainable, l->flops,
			       model_dtype_name(l->dtype));
			/* ';' inside the field keeps the CSV columns aligned. */
			print_inputs(f, g, l, ';');
			fputc('\n', f);
		}
	}
}

/* exec_mem: NULL, or per cut the measured resident bytes of the executor's stage holding
 * that cut's segment (model_exec.h; 0 for the input). */
static void show_cuts(FILE *f, const struct model_graph *g, const struct model_profile *p,
		      const int64_t *exec_mem, enum model_report_format fmt)
{
	char shape[64];

	if (fmt == MODEL_REPORT_TEXT)
		fprintf(f, "%4s  %-28s %-14s %4s %12s %10s %10s %11s %11s %13s%s\n", "cut", "layer",
		       "shape", "fan", "seg_params", "seg_GFLOPs", "cum_GFLOPs", "seg_mem_MiB",
		       "cum_mem_MiB", "transfer_KiB", exec_mem ? "  exec_mem_MiB" : "");
	else if (fmt == MODEL_REPORT_CSV)
		fprintf(f, "cut,layer,index,shape,consumers,seg_params,seg_flops,cum_flops,"
		       "seg_param_bytes,seg_act_bytes,seg_mem_bytes,cum_mem_bytes,transfer_bytes%s\n",
		       exec_mem ? ",exec_mem_bytes" : "");
	for (size_t m = 0; m < p->n_cuts; m++) {
		const struct model_cut_profile *c = &p->cuts[m];
		const struct model_layer *l = model_graph_layer(g, (size_t)c->layer);

		model_report_shape(l, shape, sizeof(shape));
		if (fmt == MODEL_REPORT_TEXT) {
			fprintf(f, "%4zu  %-28s %-14s %4d %12" PRId64 " %10.4f %10.4f %11.3f %11.3f "
			       "%13.2f",
			       m, l->name, shape, c->consumers, c->seg_params, c->seg_flops / 1e9,
			       c->cum_flops / 1e9, c->seg_mem_bytes / MIB, c->cum_mem_bytes / MIB,
			       c->transfer_bytes / 1024.0);
			if (exec_mem)
				fprintf(f, "  %12.3f", (double)exec_mem[m] / MIB);
			fputc('\n', f);
		} else if (fmt == MODEL_REPORT_CSV) {
			fprintf(f, "%zu,", m);
			ep_csv_field(f, l->name);
			fprintf(f, ",%d,%s,%d,%" PRId64 ",%" PRId64 ",%" PRId64 ",%.17g,%.17g,%.17g,%.17g,"
			       "%.17g",
			       c->layer, shape, c->consumers, c->seg_params, c->seg_flops,
			       c->cum_flops, c->seg_param_bytes, c->seg_act_bytes, c->seg_mem_bytes,
			       c->cum_mem_bytes, c->transfer_bytes);
			if (exec_mem)
				fprintf(f, ",%" PRId64, exec_mem[m]);
			fputc('\n', f);
		}
	}
}

/*
 * Measure, per cut segment, the resident memory of the executor's stage holding it, and the
 * whole model's. Everything that can refuse the model (a layer the executor lacks, a weights
 * file of the wrong size) is found here, before anything is printed.
 */
int model_report_exec_memory(const struct model_graph *g, const struct model_profile *p,
			     uint64_t seed, int threads, const char *weights, int64_t *exec_mem,
			     struct model_stage_memory *whole, struct ep_error *err)
{
	struct model_exec_options o = MODEL_EXEC_OPTIONS_DEFAULT;
	struct model_weights *w = NULL;
	struct model_stage *s = NULL;
	size_t n = model_graph_layer_count(g);
	int rc = EP_OK;

	o.threads = threads;
	for (size_t i = 0; i < n; i++) {
		rc = model_exec_check_layer(g, i, err);
		if (rc)
			return rc;
	}
	if (weights) {
		rc = model_weights_create(g, &w, err);
		if (rc == EP_OK)
			rc = model_weights_load(w, weights, err);
	} else {
		rc = model_weights_open(g, seed, &w, err);
	}
	if (rc) {
		model_weights_destroy(w);
		return rc;
	}
	exec_mem[0] = 0;
	for (size_t m = 1; m < p->n_cuts && rc == EP_OK; m++) {
		struct model_stage_memory mem;

		rc = model_stage_create(w, p->cuts[m - 1].layer, p->cuts[m].layer, &o, &s, err);
		if (rc)
			break;
		model_stage_memory(s, &mem);
		exec_mem[m] = mem.total_bytes;
		model_stage_destroy(s);
		s = NULL;
	}
	if (rc == EP_OK)
		rc = model_stage_create(w, 0, (int)n - 1, &o, &s, err);
	if (rc == EP_OK)
		model_stage_memory(s, whole);
	model_stage_destroy(s);
	model_weights_destroy(w);
	return rc;
}

/* JSON: a layer of the table. */
static json_t *layer_json(const struct model_graph *g, size_t i)
{
	const struct model_layer *l = model_graph_layer(g, i);
	json_t *shape = json_array(), *inputs = json_array();

	for (int d = 0; shape && d < l->rank; d++)
		json_array_append_new(shape, json_integer(l->shape[d]));
	for (int k = 0; inputs && k < l->n_inputs; k++)
		json_array_append_new(inputs, ep_json_str(model_graph_layer(g, l->inputs[k])->name));
	return json_pack("{s:I, s:o, s:s, s:o, s:I, s:I, s:I, s:s, s:o}", "index", (json_int_t)i, "layer",
			 ep_json_str(l->name), "op", l->op_name, "shape",
			 shape ? shape : json_null(), "params_trainable",
			 (json_int_t)l->params_trainable, "params_non_trainable",
			 (json_int_t)l->params_non_trainable, "flops", (json_int_t)l->flops, "dtype",
			 model_dtype_name(l->dtype), "inputs", inputs ? inputs : json_null());
}

/* JSON: a cut point of the profile; exec_mem as show_cuts takes it. */
static json_t *cut_json(const struct model_graph *g, const struct model_profile *p, size_t m,
			const int64_t *exec_mem)
{
	const struct model_cut_profile *c = &p->cuts[m];
	json_t *o = json_pack(
		"{s:I, s:o, s:i, s:i, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "cut",
		(json_int_t)m, "layer", ep_json_str(model_graph_layer(g, (size_t)c->layer)->name),
		"index", c->layer, "consumers", c->consumers, "seg_params", (json_int_t)c->seg_params,
		"seg_flops", (json_int_t)c->seg_flops, "cum_flops", (json_int_t)c->cum_flops,
		"seg_param_bytes", ep_json_num(c->seg_param_bytes), "seg_act_bytes",
		ep_json_num(c->seg_act_bytes), "seg_mem_bytes", ep_json_num(c->seg_mem_bytes),
		"cum_mem_bytes", ep_json_num(c->cum_mem_bytes), "transfer_bytes",
		ep_json_num(c->transfer_bytes));

	if (o && exec_mem)
		json_object_set_new(o, "exec_mem_bytes", json_integer(exec_mem[m]));
	return o;
}

static int report_json(FILE *f, const struct model_report *d, struct ep_error *err)
{
	const struct model_graph *g = d->graph;
	json_t *o = json_pack(
		"{s:o, s:I, s:I, s:I, s:s, s:s, s:s, s:o}", "model", ep_json_str(model_graph_name(g)),
		"layers_count", (json_int_t)model_graph_layer_count(g), "params",
		(json_int_t)model_graph_params(g), "flops", (json_int_t)model_graph_flops(g),
		"cut_rule", model_cut_rule_name(d->options->cuts), "accounting",
		model_accounting_name(d->options->accounting), "dtype",
		model_dtype_name(d->options->dtype), "compression",
		ep_json_num(d->profile->options.compression));

	if (o && d->exec_mem)
		json_object_set_new(o, "exec_mem",
				    json_pack("{s:I, s:I, s:I, s:I}", "weight_bytes",
					      (json_int_t)d->exec_whole->weight_bytes,
					      "activation_bytes",
					      (json_int_t)d->exec_whole->activation_bytes,
					      "workspace_bytes",
					      (json_int_t)d->exec_whole->workspace_bytes,
					      "total_bytes", (json_int_t)d->exec_whole->total_bytes));
	if (o && d->layers) {
		json_t *a = json_array();

		for (size_t i = 0; a && i < model_graph_layer_count(g); i++)
			json_array_append_new(a, layer_json(g, i));
		json_object_set_new(o, "layers", a ? a : json_null());
	}
	if (o && d->cuts) {
		json_t *a = json_array();

		for (size_t m = 0; a && m < d->profile->n_cuts; m++)
			json_array_append_new(a, cut_json(g, d->profile, m, d->exec_mem));
		json_object_set_new(o, "cut_points", a ? a : json_null());
	}
	return ep_json_dump(f, o, err);
}

/* Text or CSV: the tables, and in text a summary line before them. */
static void report_table(FILE *f, const struct model_report *d, enum model_report_format fmt)
{
	const struct model_graph *g = d->graph;
	const struct model_profile *p = d->profile;
	const struct model_stage_memory *w = d->exec_whole;

	if (fmt == MODEL_REPORT_TEXT)
		fprintf(f, "model %s: %zu layers, %" PRId64 " parameters (%" PRId64
		       " trainable), %.3f GFLOPs, %zu cut points (%s rule)\n",
		       model_graph_name(g), model_graph_layer_count(g), model_graph_params(g),
		       model_graph_params_trainable(g), model_graph_flops(g) / 1e9, p->n_cuts,
		       model_cut_rule_name(d->options->cuts));
	if (fmt == MODEL_REPORT_TEXT && d->exec_mem)
		fprintf(f, "executor (measured, %d thread%s): whole model %.3f MiB resident "
		       "(weights %.3f, activations %.3f, workspace %.3f); the accounting "
		       "estimates %.3f MiB\n",
		       d->exec_threads, d->exec_threads > 1 ? "s" : "", w->total_bytes / MIB,
		       w->weight_bytes / MIB, w->activation_bytes / MIB, w->workspace_bytes / MIB,
		       p->cuts[p->n_cuts - 1].cum_mem_bytes / MIB);
	if (d->layers) {
		if (fmt == MODEL_REPORT_TEXT)
			fprintf(f, "\nlayers:\n");
		show_layers(f, g, fmt);
	}
	if (d->layers && d->cuts)
		fputc('\n', f);
	if (d->cuts) {
		if (fmt == MODEL_REPORT_TEXT)
			fprintf(f, "cut points (%s accounting, dtype %s, compression %g):\n",
			       model_accounting_name(d->options->accounting),
			       model_dtype_name(d->options->dtype), p->options.compression);
		show_cuts(f, g, p, d->exec_mem, fmt);
	}
}


int model_report_write(FILE *f, enum model_report_format fmt, const struct model_report *r,
		       struct ep_error *err)
{
	if (fmt == MODEL_REPORT_JSON)
		return report_json(f, r, err);
	report_table(f, r, fmt);
	if (ferror(f))
		return ep_error_set(err, EP_EIO, "cannot write the model report");
	return EP_OK;
}

int model_report_show(FILE *f, enum model_report_format fmt, const struct model_graph *g,
		      const struct model_profile_options *opt, bool layers, bool cuts,
		      const struct model_report_exec *ex, struct ep_error *err)
{
	int64_t *exec_mem = NULL;
	struct model_stage_memory whole = {0};
	struct model_profile *p;
	int rc = EP_OK;

	EP_CHECK(model_profile_create(g, opt, &p, err));
	if (ex->on) {
		exec_mem = calloc(p->n_cuts, sizeof(*exec_mem));
		rc = exec_mem ? model_report_exec_memory(g, p, ex->seed, ex->threads, ex->weights,
							 exec_mem, &whole, err)
			      : ep_error_set(err, EP_ENOMEM, "out of memory");
	}
	if (rc == EP_OK) {
		struct model_report r = {g, opt, p, layers, cuts, exec_mem, &whole, ex->threads};

		rc = model_report_write(f, fmt, &r, err);
	}
	model_profile_destroy(p);
	free(exec_mem);
	return rc;
}

/* ---- the zoo ---- */

/* What 'edgepipe models' shows of one zoo model. */
struct zoo_row {
	const struct model_zoo_entry *entry;
	const struct model_graph *g;
	size_t cuts_exact, cuts_published;
	char input[64];
};

static int count_cuts(const struct model_graph *g, enum model_cut_rule rule, size_t *n,
		      struct ep_error *err)
{
	int *cuts;
	int rc = model_cut_points(g, rule, &cuts, n, err);

	free(cuts);
	return rc;
}

static void zoo_row_write(FILE *f, enum model_report_format fmt, const struct zoo_row *r)
{
	const struct model_graph *g = r->g;

	if (fmt == MODEL_REPORT_TEXT)
		fprintf(f, "%-18s %-12s %6zu %12" PRId64 " %9.3f %11zu %15zu\n", r->entry->name,
			r->input, model_graph_layer_count(g), model_graph_params(g),
			model_graph_flops(g) / 1e9, r->cuts_exact, r->cuts_published);
	else
		fprintf(f, "%s,%s,%s,%zu,%" PRId64 ",%" PRId64 ",%" PRId64 ",%zu,%zu\n",
			r->entry->name, r->entry->keras_name, r->input, model_graph_layer_count(g),
			model_graph_params(g), model_graph_params_trainable(g),
			model_graph_flops(g), r->cuts_exact, r->cuts_published);
}

static json_t *zoo_row_json(const struct zoo_row *r)
{
	const struct model_graph *g = r->g;

	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "model", r->entry->name,
			 "keras_name", r->entry->keras_name, "input", r->input, "layers",
			 (json_int_t)model_graph_layer_count(g), "params",
			 (json_int_t)model_graph_params(g), "params_trainable",
			 (json_int_t)model_graph_params_trainable(g), "flops",
			 (json_int_t)model_graph_flops(g), "cuts_exact", (json_int_t)r->cuts_exact,
			 "cuts_published", (json_int_t)r->cuts_published);
}

/* Build zoo model i and write its row (or append it to arr). */
static int zoo_model_write(FILE *f, enum model_report_format fmt, size_t i, json_t *arr,
			   struct ep_error *err)
{
	struct model_graph *g = NULL;
	struct zoo_row r = {&model_zoo[i], NULL, 0, 0, ""};
	int rc;

	EP_CHECK_GOTO(model_zoo_build(model_zoo[i].name, &g, err), rc, out);
	EP_CHECK_GOTO(count_cuts(g, MODEL_CUTS_EXACT, &r.cuts_exact, err), rc, out);
	EP_CHECK_GOTO(count_cuts(g, MODEL_CUTS_PUBLISHED, &r.cuts_published, err), rc, out);
	r.g = g;
	model_report_shape(model_graph_layer(g, 0), r.input, sizeof(r.input));
	if (fmt == MODEL_REPORT_JSON)
		json_array_append_new(arr, zoo_row_json(&r));
	else
		zoo_row_write(f, fmt, &r);
out:
	model_graph_destroy(g);
	return rc;
}

int model_report_zoo_write(FILE *f, enum model_report_format fmt, struct ep_error *err)
{
	json_t *arr = NULL;

	if (fmt == MODEL_REPORT_TEXT)
		fprintf(f, "%-18s %-12s %6s %12s %9s %11s %15s\n", "model", "input", "layers",
			"params", "GFLOPs", "cuts_exact", "cuts_published");
	else if (fmt == MODEL_REPORT_CSV)
		fprintf(f, "model,keras_name,input,layers,params,params_trainable,flops,cuts_exact,"
			   "cuts_published\n");
	else if (!(arr = json_array()))
		return ep_error_set(err, EP_ENOMEM, "out of memory writing JSON");
	for (size_t i = 0; i < model_zoo_count; i++) {
		int rc = zoo_model_write(f, fmt, i, arr, err);

		if (rc) {
			json_decref(arr);
			return rc;
		}
	}
	if (arr)
		EP_CHECK(ep_json_dump(f, arr, err));
	if (ferror(f))
		return ep_error_set(err, EP_EIO, "cannot write the model list");
	return EP_OK;
}
