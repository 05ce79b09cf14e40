/*
 * Benchmark: how long building and profiling each zoo model takes (build with Keras ordering,
 * both cut-point rules, profiles under both accountings). Prints milliseconds per model, the
 * mean of several repetitions. Not a test: it prints figures and never fails on speed.
 * Usage: bench_zoo [repetitions]   (default 20)
 */
#include <igraph.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model_profile.h"
#include "model_zoo.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One full pass over a model; returns its layer count, or -1. */
static long build_and_profile(const char *name)
{
	struct model_profile_options opt = MODEL_PROFILE_OPTIONS_DEFAULT;
	struct model_graph *g;
	struct model_profile *p;
	struct ep_error err;
	long layers;

	if (model_zoo_build(name, &g, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	layers = (long)model_graph_layer_count(g);
	for (int rule = 0; rule < 2; rule++) {
		opt.cuts = (enum model_cut_rule)rule;
		opt.accounting = (enum model_accounting)rule;
		if (model_profile_create(g, &opt, &p, &err)) {
			fprintf(stderr, "%s\n", err.msg);
			layers = -1;
		}
		model_profile_destroy(p);
	}
	model_graph_destroy(g);
	return layers;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 20;
	double total = 0;

	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	if (reps < 1)
		reps = 1;
	printf("%-18s %7s %12s %14s\n", "model", "layers", "ms/model", "us/layer");
	for (size_t i = 0; i < model_zoo_count; i++) {
		double t0 = now_s(), dt;
		long layers = 0;

		for (int r = 0; r < reps; r++)
			layers = build_and_profile(model_zoo[i].name);
		if (layers < 0)
			return 1;
		dt = (now_s() - t0) / reps;
		total += dt;
		printf("%-18s %7ld %12.3f %14.3f\n", model_zoo[i].name, layers, dt * 1e3,
		       dt * 1e6 / (double)layers);
	}
	printf("%-18s %7s %12.3f   (whole zoo, mean of %d repetitions)\n", "total", "", total * 1e3,
	       reps);
	return 0;
}
