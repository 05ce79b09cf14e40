/*
 * Benchmark: real inference with the executor (model_exec.h), batch 1, on 1 thread (or the
 * count given).
 *
 * - The physical limit of this code path: XNNPACK's fully-connected operator (through the
 *   executor: a Dense layer over a 32 x 32 x 1024 input is a 1024 x 1024 x 1024 GEMM, 2.1
 *   GFLOP) in GFLOP/s, measured in the same run.
 * - ResNet50 and MobileNetV2: inferences/s (median of the timed runs after 2 warm-ups) and
 *   achieved GFLOP/s (model FLOPs, model_graph.h's convention, over the median time), and the
 *   ratio to the GEMM figure.
 * - Resident memory of a whole-model run: the executor's counted bytes (weights packed by
 *   XNNPACK, activations, workspace) and the RSS growth from before stage creation to after
 *   the runs, against the estimate weights + the two largest activations.
 * Prints figures; never fails on speed.
 * Usage: bench_exec [seconds per model (default 3)] [threads (default 1)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ep_util.h"
#include "model_exec.h"
#include "model_weights.h"
#include "model_zoo.h"

static int64_t rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return (int64_t)rss * 4096;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double median_s, gflops;
	int runs;
};

/* Median time of runs of `s` for about `budget` seconds (at least 5 runs). */
static int time_stage(struct model_stage *s, double budget, struct result *r)
{
	struct ep_error err;
	int64_t ni = model_stage_input_elements(s), no = model_stage_output_elements(s);
	float *in = malloc((size_t)ni * sizeof(float)), *out = malloc((size_t)no * sizeof(float));
	double times[1000], start;
	int n = 0, rc = 0;

	model_exec_synthetic_input(in, (size_t)ni, 1);
	for (int w = 0; w < 2 && rc == 0; w++)
		rc = model_stage_run(s, in, out, &err);
	start = ep_now_s();
	while (rc == 0 && n < 1000 && (n < 5 || ep_now_s() - start < budget)) {
		double t0 = ep_now_s();

		rc = model_stage_run(s, in, out, &err);
		times[n++] = ep_now_s() - t0;
	}
	if (rc)
		fprintf(stderr, "bench_exec: %s\n", err.msg);
	qsort(times, (size_t)n, sizeof(double), cmp_double);
	r->median_s = n ? times[n / 2] : 0;
	r->runs = n;
	free(in);
	free(out);
	return rc;
}

static double gemm_gflops(const struct model_exec_options *o, double budget)
{
	struct model_graph *g = model_graph_create("gemm");
	struct model_weights *w = NULL;
	struct model_stage *s = NULL;
	struct ep_error err;
	struct result r = { 0 };
	int x = model_add_input(g, "in", 32, 32, 1024);

	model_add_dense(g, "fc", x, 1024, false, MODEL_ACT_LINEAR);
	if (model_weights_create(g, &w, &err) == EP_OK) {
		model_weights_generate(w, 1);
		if (model_stage_create(w, 0, 1, o, &s, &err) == EP_OK)
			time_stage(s, budget, &r);
		else
			fprintf(stderr, "bench_exec: %s\n", err.msg);
	}
	model_stage_destroy(s);
	model_weights_destroy(w);
	model_graph_destroy(g);
	/* 2 x 1024^3 multiply-accumulates */
	return r.median_s > 0 ? 2.0 * 1024 * 1024 * 1024 / r.median_s / 1e9 : 0;
}

int main(int argc, char **argv)
{
	double budget = argc > 1 ? atof(argv[1]) : 3.0;
	struct model_exec_options o = MODEL_EXEC_OPTIONS_DEFAULT;
	static const char *const models[] = { "resnet50", "mobilenetv2" };
	double peak;

	o.threads = argc > 2 ? atoi(argv[2]) : 1;
	peak = gemm_gflops(&o, budget);
	printf("bench_exec: %d thread(s), batch 1\n", o.threads);
	printf("GEMM (XNNPACK fully connected, 1024x1024x1024): %.1f GFLOP/s\n", peak);
	printf("%-12s %9s %9s %8s %9s %6s | %9s %9s %9s %9s %9s\n", "model", "ms", "infer/s",
	       "GFLOP/s", "of GEMM", "runs", "counted", "RSS+", "weights", "2 acts", "estimate");
	for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++) {
		struct model_graph *g = NULL;
		struct model_weights *w = NULL;
		struct model_stage *s = NULL;
		struct model_stage_memory mem;
		struct ep_error err;
		struct result r = { 0 };
		int64_t rss0, rss1, a1 = 0, a2 = 0;
		int n;

		if (model_zoo_build(models[m], &g, &err) || model_weights_create(g, &w, &err)) {
			fprintf(stderr, "bench_exec: %s\n", err.msg);
			return 1;
		}
		model_weights_generate(w, 1);
		n = (int)model_graph_layer_count(g);
		for (int i = 0; i < n; i++) {
			int64_t b = 4 * model_layer_elements(model_graph_layer(g, (size_t)i));

			if (b > a1) {
				a2 = a1;
				a1 = b;
			} else if (b > a2) {
				a2 = b;
			}
		}
		rss0 = rss_bytes();
		if (model_stage_create(w, 0, n - 1, &o, &s, &err)) {
			fprintf(stderr, "bench_exec: %s\n", err.msg);
			return 1;
		}
		time_stage(s, budget, &r);
		rss1 = rss_bytes();
		model_stage_memory(s, &mem);
		printf("%-12s %9.2f %9.2f %8.2f %8.0f %% %6d | %8.1fM %8.1fM %8.1fM %8.1fM %8.1fM\n",
		       models[m], r.median_s * 1e3, 1.0 / r.median_s,
		       (double)model_graph_flops(g) / r.median_s / 1e9,
		       100.0 * (double)model_graph_flops(g) / r.median_s / 1e9 / peak, r.runs,
		       (double)mem.total_bytes / 1e6, (double)(rss1 - rss0) / 1e6,
		       (double)model_weights_bytes(w) / 1e6, (double)(a1 + a2) / 1e6,
		       (double)(model_weights_bytes(w) + a1 + a2) / 1e6);
		printf("%-12s counted: weights %.1fM, activations %.1fM, workspace %.1fM\n", "",
		       (double)mem.weight_bytes / 1e6, (double)mem.activation_bytes / 1e6,
		       (double)mem.workspace_bytes / 1e6);
		model_stage_destroy(s);
		model_weights_destroy(w);
		model_graph_destroy(g);
	}
	return 0;
}
