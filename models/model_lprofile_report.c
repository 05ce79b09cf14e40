/*
 * The layer profile's report (model_lprofile_report.h): text, CSV and JSON.
 */
#include "model_lprofile_report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ep_json.h"
#include "ep_util.h"

/* Per layer kind (op): layers, FLOPs, time, and the FLOPs of the layers that took time. */
struct kind_sum {
	char op[MODEL_OP_MAX];
	int layers;
	int64_t flops, timed_flops;
	double time_s;
};

/* The kinds in order of first appearance into *out (malloc'ed): their count, or -1 when out
 * of memory. */
static int kind_sums(const struct model_lprofile *lp, struct kind_sum **out)
{
	struct kind_sum *k = calloc(lp->n_layers, sizeof(*k));
	int n = 0;

	*out = k;
	if (!k)
		return -1;
	for (size_t i = 0; i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];
		int j;

		for (j = 0; j < n && strcmp(k[j].op, l->op) != 0; j++)
			;
		if (j == n)
			snprintf(k[n++].op, sizeof(k[0].op), "%s", l->op);
		k[j].layers++;
		k[j].flops += l->flops;
		k[j].time_s += l->median_s;
		if (l->median_s > 0)
			k[j].timed_flops += l->flops;
	}
	return n;
}

static double kind_gflops(const struct kind_sum *k)
{
	return k->time_s > 0 ? (double)k->timed_flops / k->time_s / 1e9 : 0.0;
}

/* The text's layer table; the sum of the medians and of the FLOPs into *sum_s, *flops. */
static void layers_text_write(FILE *f, const struct model_lprofile *lp, double *sum_s,
			      int64_t *flops)
{
	fprintf(f, "%-40s %-24s %-8s %14s %11s %11s %9s\n", "layer", "op", "kernel", "flops",
		"median_ms", "spread_ms", "GFLOP/s");
	for (size_t i = 0; i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];
		double gf = model_lprofile_layer_gflops(l);

		fprintf(f, "%-40s %-24s %-8s %14" PRId64 " %11.4f %11.4f ", l->name, l->op,
			l->kernel, l->flops, l->median_s * 1e3, l->spread_s * 1e3);
		if (gf > 0)
			fprintf(f, "%9.2f\n", gf);
		else
			fprintf(f, "%9s\n", "-");
		*sum_s += l->median_s;
		*flops += l->flops;
	}
}

static void report_text(FILE *f, const struct model_lprofile *lp, const struct kind_sum *k, int nk,
			double total_s)
{
	double sum = 0;
	int64_t flops = 0;

	fprintf(f, "%s: %zu layers, %d thread(s), median of %d runs on %s\n", lp->model,
		lp->n_layers, lp->threads, lp->repeat, lp->host);
	layers_text_write(f, lp, &sum, &flops);
	fprintf(f, "\nby layer kind (GFLOP/s over the layers that took time):\n");
	fprintf(f, "%-24s %7s %16s %11s %7s %9s\n", "op", "layers", "flops", "time_ms", "share",
		"GFLOP/s");
	for (int j = 0; j < nk; j++)
		fprintf(f, "%-24s %7d %16" PRId64 " %11.3f %6.1f%% %9.2f\n", k[j].op, k[j].layers,
			k[j].flops, k[j].time_s * 1e3, sum > 0 ? 100.0 * k[j].time_s / sum : 0.0,
			kind_gflops(&k[j]));
	fprintf(f,
		"\nsum of layer medians %.3f ms (%.2f GFLOP/s over %" PRId64 " FLOPs); median "
		"whole run %.3f ms\n",
		sum * 1e3, sum > 0 ? (double)flops / sum / 1e9 : 0.0, flops, total_s * 1e3);
}

static void report_csv(FILE *f, const struct model_lprofile *lp, const struct kind_sum *k, int nk,
		       bool by_kind)
{
	if (by_kind) {
		fprintf(f, "model,op,layers,flops,time_s,gflops\n");
		for (int j = 0; j < nk; j++) {
			ep_csv_field(f, lp->model);
			fprintf(f, ",");
			ep_csv_field(f, k[j].op);
			fprintf(f, ",%d,%" PRId64 ",%.9g,%.6g\n", k[j].layers, k[j].flops,
				k[j].time_s, kind_gflops(&k[j]));
		}
		return;
	}
	fprintf(f, "model,index,layer,op,kernel,flops,median_s,spread_s,gflops,threads,repeat\n");
	for (size_t i = 0; i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];

		ep_csv_field(f, lp->model);
		fprintf(f, ",%zu,", i);
		ep_csv_field(f, l->name);
		fprintf(f, ",");
		ep_csv_field(f, l->op);
		fprintf(f, ",%s,%" PRId64 ",%.9g,%.9g,%.6g,%d,%d\n", l->kernel, l->flops,
			l->median_s, l->spread_s, model_lprofile_layer_gflops(l), lp->threads,
			lp->repeat);
	}
}

static int report_json(FILE *f, const struct model_lprofile *lp, const struct kind_sum *k, int nk,
		       double total_s, struct ep_error *err)
{
	json_t *layers = json_array(), *kinds = json_array();
	char fp[17];

	for (size_t i = 0; layers && i < lp->n_layers; i++) {
		const struct model_lprofile_layer *l = &lp->layers[i];

		json_array_append_new(layers,
				      json_pack("{s:o, s:o, s:s, s:I, s:o, s:o, s:o}", "layer",
						ep_json_str(l->name), "op", ep_json_str(l->op),
						"kernel", l->kernel, "flops", (json_int_t)l->flops,
						"median_s", ep_json_num(l->median_s), "spread_s",
						ep_json_num(l->spread_s), "gflops",
						ep_json_num(model_lprofile_layer_gflops(l))));
	}
	for (int j = 0; kinds && j < nk; j++)
		json_array_append_new(kinds, json_pack("{s:o, s:i, s:I, s:o, s:o}", "op",
						       ep_json_str(k[j].op), "layers", k[j].layers,
						       "flops", (json_int_t)k[j].flops, "time_s",
						       ep_json_num(k[j].time_s), "gflops",
						       ep_json_num(kind_gflops(&k[j]))));
	snprintf(fp, sizeof(fp), "%016" PRIx64, lp->fingerprint);
	return ep_json_dump(f,
			    json_pack("{s:o, s:s, s:i, s:i, s:o, s:o, s:o, s:o}", "model",
				      ep_json_str(lp->model), "fingerprint", fp, "threads",
				      lp->threads, "repeat", lp->repeat, "host",
				      ep_json_str(lp->host), "whole_run_median_s",
				      ep_json_num(total_s), "layers", layers ? layers : json_null(),
				      "kinds", kinds ? kinds : json_null()),
			    err);
}

int model_lprofile_report_write(FILE *f, enum model_report_format fmt,
				const struct model_lprofile *lp, double whole_median_s,
				bool by_kind, struct ep_error *err)
{
	struct kind_sum *kinds;
	int nk = kind_sums(lp, &kinds), rc = EP_OK;

	if (nk < 0)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	if (fmt == MODEL_REPORT_JSON)
		rc = report_json(f, lp, kinds, nk, whole_median_s, err);
	else if (fmt == MODEL_REPORT_CSV)
		report_csv(f, lp, kinds, nk, by_kind);
	else
		report_text(f, lp, kinds, nk, whole_median_s);
	free(kinds);
	if (!rc && ferror(f))
		rc = ep_error_set(err, EP_EIO, "cannot write the layer profile report");
	return rc;
}
