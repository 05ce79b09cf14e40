/*
 * model_report: what 'edgepipe model show' prints of a model: its layer table and its
 * cut-point profile (per segment and cumulative), as text, CSV or JSON, and the executor's
 * measured resident memory per segment beside the accounting's (--exec).
 */
#include "model_report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ep_util.h"
#include "model_weights.h"

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
		} else {
			fprintf(f, "    {\"index\": %zu, \"layer\": ", i);
			ep_json_string(f, l->name);
			fprintf(f, ", \"op\": \"%s\", \"shape\": [", l->op_name);
			for (int d = 0; d < l->rank; d++)
				fprintf(f, "%s%" PRId64, d ? ", " : "", l->shape[d]);
			fprintf(f, "], \"params_trainable\": %" PRId64 ", \"params_non_trainable\": %" PRId64
			       ", \"flops\": %" PRId64 ", \"dtype\": \"%s\", \"inputs\": [",
			       l->params_trainable, l->params_non_trainable, l->flops,
			       model_dtype_name(l->dtype));
			for (int k = 0; k < l->n_inputs; k++) {
				fprintf(f, "%s", k ? ", " : "");
				ep_json_string(f, model_graph_layer(g, l->inputs[k])->name);
			}
			fprintf(f, "]}%s\n", i + 1 < n ? "," : "");
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
		} else {
			fprintf(f, "    {\"cut\": %zu, \"layer\": ", m);
			ep_json_string(f, l->name);
			fprintf(f, ", \"index\": %d, \"consumers\": %d, \"seg_params\": %" PRId64
			       ", \"seg_flops\": %" PRId64 ", \"cum_flops\": %" PRId64
			       ", \"seg_param_bytes\": %.17g, \"seg_act_bytes\": %.17g, "
			       "\"seg_mem_bytes\": %.17g, \"cum_mem_bytes\": %.17g, "
			       "\"transfer_bytes\": %.17g",
			       c->layer, c->consumers, c->seg_params, c->seg_flops, c->cum_flops,
			       c->seg_param_bytes, c->seg_act_bytes, c->seg_mem_bytes,
			       c->cum_mem_bytes, c->transfer_bytes);
			if (exec_mem)
				fprintf(f, ", \"exec_mem_bytes\": %" PRId64, exec_mem[m]);
			fprintf(f, "}%s\n", m + 1 < p->n_cuts ? "," : "");
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

static void report_json(FILE *f, const struct model_report *d)
{
	const struct model_graph *g = d->graph;

	fprintf(f, "{\n  \"model\": ");
	ep_json_string(f, model_graph_name(g));
	fprintf(f, ",\n  \"layers_count\": %zu, \"params\": %" PRId64 ", \"flops\": %" PRId64
	       ",\n  \"cut_rule\": \"%s\", \"accounting\": \"%s\", \"dtype\": \"%s\", "
	       "\"compression\": %.17g",
	       model_graph_layer_count(g), model_graph_params(g), model_graph_flops(g),
	       model_cut_rule_name(d->options->cuts), model_accounting_name(d->options->accounting),
	       model_dtype_name(d->options->dtype), d->profile->options.compression);
	if (d->exec_mem)
		fprintf(f, ",\n  \"exec_mem\": {\"weight_bytes\": %" PRId64
		       ", \"activation_bytes\": %" PRId64 ", \"workspace_bytes\": %" PRId64
		       ", \"total_bytes\": %" PRId64 "}",
		       d->exec_whole->weight_bytes, d->exec_whole->activation_bytes,
		       d->exec_whole->workspace_bytes, d->exec_whole->total_bytes);
	if (d->layers) {
		fprintf(f, ",\n  \"layers\": [\n");
		show_layers(f, g, MODEL_REPORT_JSON);
		fprintf(f, "  ]");
	}
	if (d->cuts) {
		fprintf(f, ",\n  \"cut_points\": [\n");
		show_cuts(f, g, d->profile, d->exec_mem, MODEL_REPORT_JSON);
		fprintf(f, "  ]");
	}
	fprintf(f, "\n}\n");
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


void model_report_write(FILE *f, enum model_report_format fmt, const struct model_report *r)
{
	if (fmt == MODEL_REPORT_JSON)
		report_json(f, r);
	else
		report_table(f, r, fmt);
}
