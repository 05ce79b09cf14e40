/*
 * The executor against ONNX's own single-operator test cases (Debian libonnx-testdata,
 * /usr/share/libonnx-testdata/data/node/test_*): written by others, with expected outputs
 * computed by ONNX's reference implementation, so they check our importer and executor
 * independently. Each case directory holds model.onnx and test_data_set_0/input_K.pb,
 * output_0.pb (TensorProtos).
 *
 * Per case: graph inputs after the first are the operator's parameters (weights, bias, BN
 * statistics, Clip bounds, pads, shapes); their .pb tensors become initializers, as an
 * exported network would hold them. The model is then imported (model_onnx.h), its weights
 * converted, the whole model run by model_exec on input_0 (NCHW converted to NHWC) and the
 * output (NHWC back to NCHW) compared with output_0: |got - want| <= 1e-4 + 1e-3 |want|
 * (ONNX's backend tests use rtol 1e-3; XNNPACK's kernels sum in another order than numpy).
 *
 * A batch of N runs as N inferences (our graphs are batch 1). A case the importer refuses
 * (tensors that are not images or vectors, two data
 * inputs, an op or attribute edgepipe does not have) is listed as skipped with the refusal;
 * a case that imports must match. The cases in `must_run` must run and pass, so that a
 * regression that makes everything skip still fails. Skipped (77) without the package.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_exec.h"
#include "model_weights.h"
#include "onnx_import.h"
#include "onnx_internal.h"

#define DATA_DIR "/usr/share/libonnx-testdata/data/node"

/* Operator families we import; the cases of each family are found by name prefix. */
static const char *const families[] = {
	"test_conv_", "test_basic_conv_", "test_averagepool_2d", "test_maxpool_2d",
	"test_globalaveragepool", "test_batchnorm_", "test_gemm_", "test_matmul_2d", "test_relu",
	"test_sigmoid", "test_tanh", "test_softmax_", "test_add", "test_mul", "test_sum_",
	"test_concat_", "test_constant_pad", "test_edge_pad", "test_reflect_pad", "test_clip",
	"test_flatten_", "test_reshape_", "test_dropout_", "test_identity", "test_squeeze",
	"test_unsqueeze_", "test_hardsigmoid", "test_hardswish", "test_leakyrelu",
};

/* Cases that must run and pass (ONNX's examples of the layer kinds the zoo uses). */
static const char *const must_run[] = {
	"test_basic_conv_with_padding", "test_basic_conv_without_padding",
	"test_conv_with_strides_padding", "test_conv_with_strides_no_padding",
	"test_conv_with_strides_and_asymmetric_padding", "test_conv_with_autopad_same",
	"test_maxpool_2d_default", "test_maxpool_2d_same_upper",
	"test_maxpool_2d_strides", "test_averagepool_2d_default",
	"test_averagepool_2d_same_upper", "test_averagepool_2d_pads_count_include_pad",
	"test_averagepool_2d_strides", "test_globalaveragepool", "test_batchnorm_example",
	"test_batchnorm_epsilon", "test_gemm_default_vector_bias", "test_gemm_transposeB",
	"test_matmul_2d", "test_softmax_large_number",
};

static Onnx__TensorProto *read_tensor(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;
	Onnx__TensorProto *t = NULL;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (size = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc((size_t)size + 1)) && fread(buf, 1, (size_t)size, f) == (size_t)size)
		t = onnx__tensor_proto__unpack(NULL, (size_t)size, buf);
	free(buf);
	fclose(f);
	return t;
}

/* NCHW (n = C*H*W) <-> NHWC for an image layer (H, W, C); vectors are equal. */
static void to_nhwc(const struct model_layer *l, const float *src, float *dst)
{
	int64_t h = l->shape[0], w = l->shape[1], c = l->shape[2];

	for (int64_t y = 0; y < h; y++)
		for (int64_t x = 0; x < w; x++)
			for (int64_t k = 0; k < c; k++)
				dst[(y * w + x) * c + k] = src[(k * h + y) * w + x];
}

static void to_nchw(const struct model_layer *l, const float *src, float *dst)
{
	int64_t h = l->shape[0], w = l->shape[1], c = l->shape[2];

	for (int64_t y = 0; y < h; y++)
		for (int64_t x = 0; x < w; x++)
			for (int64_t k = 0; k < c; k++)
				dst[(k * h + y) * w + x] = src[(y * w + x) * c + k];
}

enum outcome { RAN, SKIPPED, FAILED };

/* Run one case; *why says why it was skipped or failed. */
static enum outcome run_case(const char *dir, char *why, size_t why_size, double *max_err)
{
	char path[512];
	Onnx__ModelProto *model = NULL;
	Onnx__TensorProto *in0 = NULL, *want = NULL;
	struct onnx_import *imp = NULL;
	struct model_weights *w = NULL;
	struct model_stage *s = NULL;
	struct ep_error err;
	enum outcome res = SKIPPED;
	float *x = NULL, *y = NULL, *tmp = NULL, *got = NULL;
	int64_t n_in, n_out, batch;
	const struct model_graph *g;

	*max_err = 0;
	snprintf(path, sizeof(path), "%.400s/model.onnx", dir);
	if (onnx_model_read(path, &model, &err)) {
		snprintf(why, why_size, "%s", err.msg);
		return SKIPPED;
	}
	/* Parameters given as graph inputs become initializers. */
	for (size_t k = 1; k < model->graph->n_input; k++) {
		Onnx__TensorProto *t, **grown;

		snprintf(path, sizeof(path), "%.400s/test_data_set_0/input_%zu.pb", dir, k);
		t = read_tensor(path);
		grown = realloc(model->graph->initializer,
				(model->graph->n_initializer + 1) * sizeof(*grown));
		if (!t || !grown) {
			if (t)
				onnx__tensor_proto__free_unpacked(t, NULL);
			snprintf(why, why_size, "cannot read %s", path);
			onnx__model_proto__free_unpacked(model, NULL);
			return FAILED;
		}
		free(t->name);
		t->name = strdup(model->graph->input[k]->name);
		model->graph->initializer = grown;
		model->graph->initializer[model->graph->n_initializer++] = t;
	}
	snprintf(path, sizeof(path), "%.400s/test_data_set_0/input_0.pb", dir);
	in0 = read_tensor(path);
	snprintf(path, sizeof(path), "%.400s/test_data_set_0/output_0.pb", dir);
	want = read_tensor(path);
	if (!in0 || !want) {
		snprintf(why, why_size, "cannot read the test data");
		onnx__model_proto__free_unpacked(model, NULL);
		res = FAILED;
		goto out;
	}
	if (onnx_import_model(model, "model.onnx", NULL, &imp, &err)) {
		snprintf(why, why_size, "%s", err.msg);
		goto out;
	}
	g = imp->graph;
	if (in0->n_dims < 1 || in0->dims[0] < 1) {
		snprintf(why, why_size, "input_0 has no batch dimension");
		goto out;
	}
	if (onnx_tensor_check(in0, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "input_0", &err) ||
	    onnx_tensor_check(want, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "output_0", &err)) {
		snprintf(why, why_size, "%s", err.msg);
		goto out;
	}
	if (onnx_import_weights(imp, &w, &err) ||
	    model_stage_create(w, 0, (int)model_graph_layer_count(g) - 1, NULL, &s, &err)) {
		snprintf(why, why_size, "%s", err.msg);
		res = FAILED;
		goto out;
	}
	/* Our graphs are batch 1: a batch of N runs as N inferences, one sample after the
	 * other, and the outputs are concatenated. */
	batch = in0->dims[0];
	n_in = model_stage_input_elements(s);
	n_out = model_stage_output_elements(s);
	if (n_in * batch != onnx_tensor_elements(in0) || n_out * batch != onnx_tensor_elements(want)) {
		snprintf(why, why_size, "%lld inputs and %lld outputs per sample, the data has "
			 "%lld and %lld for batch %lld", (long long)n_in, (long long)n_out,
			 (long long)onnx_tensor_elements(in0), (long long)onnx_tensor_elements(want),
			 (long long)batch);
		res = FAILED;
		goto out;
	}
	x = malloc((size_t)n_in * sizeof(float));
	y = malloc((size_t)n_out * sizeof(float));
	tmp = malloc((size_t)(n_in > n_out ? n_in : n_out) * sizeof(float));
	got = malloc((size_t)(n_out * batch) * sizeof(float));
	if (!x || !y || !tmp || !got) {
		res = FAILED;
		goto out;
	}
	for (int64_t b = 0; b < batch; b++) {
		const struct model_layer *last =
			model_graph_layer(g, model_graph_layer_count(g) - 1);

		for (int64_t i = 0; i < n_in; i++)
			tmp[i] = onnx_tensor_float(in0, b * n_in + i);
		if (model_graph_layer(g, 0)->rank == 3)
			to_nhwc(model_graph_layer(g, 0), tmp, x);
		else
			memcpy(x, tmp, (size_t)n_in * sizeof(float));
		if (model_stage_run(s, x, y, &err)) {
			snprintf(why, why_size, "%s", err.msg);
			res = FAILED;
			goto out;
		}
		if (last->rank == 3)
			to_nchw(last, y, got + b * n_out);
		else
			memcpy(got + b * n_out, y, (size_t)n_out * sizeof(float));
	}
	res = RAN;
	for (int64_t i = 0; i < n_out * batch; i++) {
		double wv = onnx_tensor_float(want, i), e = fabs(got[i] - wv);

		if (e > *max_err)
			*max_err = e;
		if (!(e <= 1e-4 + 1e-3 * fabs(wv))) {
			snprintf(why, why_size, "element %lld is %.9g, expected %.9g", (long long)i,
				 got[i], wv);
			res = FAILED;
			break;
		}
	}
out:
	free(got);
	free(x);
	free(y);
	free(tmp);
	model_stage_destroy(s);
	model_weights_destroy(w);
	onnx_import_destroy(imp);
	if (in0)
		onnx__tensor_proto__free_unpacked(in0, NULL);
	if (want)
		onnx__tensor_proto__free_unpacked(want, NULL);
	return res;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(void)
{
	DIR *d = opendir(DATA_DIR);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, ran = 0, skipped = 0, failed = 0;
	bool *must_ok = calloc(sizeof(must_run) / sizeof(*must_run), sizeof(bool));

	if (!d) {
		printf("skipped: %s: %s (Debian package libonnx-testdata)\n", DATA_DIR,
		       strerror(errno));
		free(must_ok);
		return 77;
	}
	while ((e = readdir(d)) != NULL) {
		bool match = false;
		char **grown;

		for (size_t f = 0; f < sizeof(families) / sizeof(*families); f++)
			match |= strncmp(e->d_name, families[f], strlen(families[f])) == 0;
		if (!match || strstr(e->d_name, "_expanded"))
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown)
			break;
		names = grown;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char dir[512], why[600] = "";
		double max_err;
		enum outcome o;

		snprintf(dir, sizeof(dir), "%s/%s", DATA_DIR, names[i]);
		o = run_case(dir, why, sizeof(why), &max_err);
		if (o == RAN) {
			ran++;
			printf("ran     %-48s max |error| %.3g\n", names[i], max_err);
			for (size_t m = 0; m < sizeof(must_run) / sizeof(*must_run); m++)
				if (strcmp(must_run[m], names[i]) == 0)
					must_ok[m] = true;
		} else if (o == SKIPPED) {
			skipped++;
			printf("skipped %-48s %s\n", names[i], why);
		} else {
			failed++;
			printf("FAILED  %-48s %s\n", names[i], why);
			CHECK(o != FAILED);
		}
		free(names[i]);
	}
	for (size_t m = 0; m < sizeof(must_run) / sizeof(*must_run); m++)
		if (!must_ok[m]) {
			fprintf(stderr, "case %s did not run and pass\n", must_run[m]);
			CHECK(must_ok[m]);
		}
	printf("%zu cases: %zu ran and matched, %zu skipped, %zu failed\n", n, ran, skipped,
	       failed);
	free(names);
	free(must_ok);
	return check_exit();
}
