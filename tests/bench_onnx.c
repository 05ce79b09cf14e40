/*
 * ONNX import speed and memory (prints, does not fail): a ResNet50-sized file written by our
 * own exporter (25.6 M parameters, 102 MB), imported as a graph only (model_onnx_load, what
 * --model FILE.onnx costs every command) and with its weights (model_onnx_load_weights, what
 * the executor needs). The export runs in a child process, so that the peak resident memory
 * reported (getrusage ru_maxrss) is the import's alone; each import is timed over 5 runs
 * (median), in wall time and in CPU time (user + system; on a shared machine the wall time
 * mostly measures the other processes). Target: well under a second.
 *
 * Usage: bench_onnx [MODEL]   (default resnet50)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ep_util.h"
#include "model_onnx.h"
#include "model_weights.h"
#include "model_zoo.h"

static int export_in_child(const char *model, const char *path)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct model_graph *g;
		struct model_weights *w;
		struct ep_error err;
		int rc = model_zoo_open_weights(model, NULL, 1, &g, &w, &err);

		if (!rc)
			rc = model_onnx_save(w, path, &err);
		if (rc)
			fprintf(stderr, "bench_onnx: %s\n", err.msg);
		_exit(rc ? 1 : 0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			       WEXITSTATUS(status) == 0
		       ? 0
		       : -1;
}

/* CPU seconds (user + system) of this process so far: the figure that does not depend on
 * how many other processes share the cores. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *model = argc > 1 ? argv[1] : "resnet50";
	char path[128];
	struct stat st;
	double graph_s[5], weights_s[5], graph_cpu[5], weights_cpu[5];
	struct rusage ru;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/bench_onnx_%ld.onnx",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
	if (export_in_child(model, path) || stat(path, &st)) {
		fprintf(stderr, "bench_onnx: export of %s failed\n", model);
		return 1;
	}
	for (int r = 0; r < 5 && !rc; r++) {
		struct model_graph *g = NULL;
		struct model_weights *w = NULL;
		struct ep_error err;
		double t0 = ep_now_s(), c0 = cpu_s(), t1, t2, c1, c2;

		rc = model_onnx_load(path, NULL, &g, &err);
		t1 = ep_now_s();
		c1 = cpu_s();
		model_graph_destroy(g);
		g = NULL;
		if (!rc)
			rc = model_onnx_load_weights(path, NULL, &g, &w, &err);
		t2 = ep_now_s();
		c2 = cpu_s();
		graph_cpu[r] = c1 - c0;
		weights_cpu[r] = c2 - c1;
		if (rc)
			fprintf(stderr, "bench_onnx: %s\n", err.msg);
		graph_s[r] = t1 - t0;
		weights_s[r] = t2 - t1;
		model_weights_destroy(w);
		model_graph_destroy(g);
	}
	unlink(path);
	if (rc)
		return 1;
	getrusage(RUSAGE_SELF, &ru);
	qsort(graph_s, 5, sizeof(double), cmp_double);
	qsort(weights_s, 5, sizeof(double), cmp_double);
	qsort(graph_cpu, 5, sizeof(double), cmp_double);
	qsort(weights_cpu, 5, sizeof(double), cmp_double);
	printf("bench_onnx: %s, file %.1f MB\n", model, st.st_size / 1e6);
	printf("  import, graph only      median %.3f s wall (min %.3f, max %.3f), %.3f s CPU\n",
	       graph_s[2], graph_s[0], graph_s[4], graph_cpu[2]);
	printf("  import, graph + weights median %.3f s wall (min %.3f, max %.3f), %.3f s CPU\n",
	       weights_s[2], weights_s[0], weights_s[4], weights_cpu[2]);
	printf("  peak resident memory of the imports: %.1f MB (file %.1f MB)\n",
	       ru.ru_maxrss / 1024.0, st.st_size / 1e6);
	return 0;
}
