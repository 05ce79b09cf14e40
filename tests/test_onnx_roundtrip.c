/*
 * ONNX round trip of every zoo model: exported with generated weights (model_onnx_save) and
 * imported back (model_onnx_load_weights), the model has the same layers (names, ops,
 * inputs, attributes), shapes, parameters, FLOPs and cut points under both rules
 * (model_graph_equal and model_cut_points on the builder's graph: the expected values are the
 * zoo's own, which test_zoo checks against Keras), and every weight tensor comes back bit for
 * bit (the layout conversions NHWC <-> NCHW are exact permutations). For MobileNetV2 the
 * executor then runs both on the same synthetic input and the outputs must be equal bit for
 * bit (same kernels, same weights). Export refusals (a layer with no export) are checked too.
 *
 * Arguments: the zoo models to check, or "all". Without arguments (the ctest entry) the five
 * largest (VGG16/19, ResNet101/152, InceptionResNetV2: 440 M of the zoo's 580 M parameters,
 * about 15 s and 1.7 GB for VGG alone) are left to `test_onnx_roundtrip all`, which passed
 * when this test was written; their layer kinds all occur in the ten checked here, except
 * VGG's Flatten of a 7x7 map (Transpose + Flatten in ONNX, rows of fc1 in H,W,C order), which a
 * small VGG-shaped model below checks instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "model_cut.h"
#include "model_exec.h"
#include "model_onnx.h"
#include "model_weights.h"
#include "model_zoo.h"

static bool same_cuts(const struct model_graph *a, const struct model_graph *b,
		      enum model_cut_rule rule)
{
	int *ca = NULL, *cb = NULL;
	size_t na = 0, nb = 0;
	bool same = !model_cut_points(a, rule, &ca, &na, NULL) &&
		    !model_cut_points(b, rule, &cb, &nb, NULL) && na == nb && na > 0 &&
		    memcmp(ca, cb, na * sizeof(int)) == 0;

	free(ca);
	free(cb);
	return same;
}

static bool same_weights(const struct model_weights *a, const struct model_weights *b)
{
	const struct model_graph *g = model_weights_graph(a);

	if (model_weights_elements(a) != model_weights_elements(b))
		return false;
	for (size_t i = 0; i < model_graph_layer_count(g); i++) {
		if (model_weights_tensor_count(a, i) != model_weights_tensor_count(b, i))
			return false;
		for (int t = 0; t < model_weights_tensor_count(a, i); t++) {
			int64_t n = model_weights_tensor_elements(a, i, t);

			/* Keras Normalization's sample count is not used and has no place in
			 * ONNX: it comes back 0 (model_onnx.h). */
			if (model_graph_layer(g, i)->op == MODEL_OP_NORMALIZATION && t == 2)
				continue;
			if (n != model_weights_tensor_elements(b, i, t) ||
			    memcmp(model_weights_tensor_const(a, i, t),
				   model_weights_tensor_const(b, i, t), (size_t)n * sizeof(float))) {
				fprintf(stderr, "  weights differ: layer '%s' tensor %s\n",
					model_graph_layer(g, i)->name,
					model_weights_tensor_name(a, i, t));
				return false;
			}
		}
	}
	return true;
}

/* Run the whole model on the seeded synthetic input; a malloc'ed output or NULL. */
static float *run(const struct model_weights *w, int64_t *n)
{
	const struct model_graph *g = model_weights_graph(w);
	struct model_stage *s = NULL;
	struct ep_error err;
	float *in = NULL, *out = NULL;

	if (model_stage_create(w, 0, (int)model_graph_layer_count(g) - 1, NULL, &s, &err)) {
		fprintf(stderr, "  stage: %s\n", err.msg);
		return NULL;
	}
	in = malloc((size_t)model_stage_input_elements(s) * sizeof(float));
	*n = model_stage_output_elements(s);
	out = malloc((size_t)*n * sizeof(float));
	if (in && out) {
		model_exec_synthetic_input(in, (size_t)model_stage_input_elements(s), 11);
		if (model_stage_run(s, in, out, &err)) {
			fprintf(stderr, "  run: %s\n", err.msg);
			free(out);
			out = NULL;
		}
	}
	free(in);
	model_stage_destroy(s);
	return out;
}

/* The ctest selection: every zoo model but the five largest. */
static bool model_graph_params_estimate_small(const char *name)
{
	static const char *const large[] = { "vgg16", "vgg19", "resnet101", "resnet152",
					     "inceptionresnetv2" };

	for (size_t i = 0; i < sizeof(large) / sizeof(*large); i++)
		if (strcmp(name, large[i]) == 0)
			return false;
	return true;
}

/* Export and import `g` with weights from `seed`; graph and weights must come back equal. */
static void round_trip(struct model_graph *g, const char *path)
{
	struct model_graph *g2 = NULL;
	struct model_weights *w = NULL, *w2 = NULL;
	struct ep_error err;
	int rc = model_weights_create(g, &w, &err);

	if (!rc) {
		model_weights_generate(w, 3);
		rc = model_onnx_save(w, path, &err);
	}
	if (!rc)
		rc = model_onnx_load_weights(path, NULL, &g2, &w2, &err);
	if (rc)
		fprintf(stderr, "%s: %s\n", model_graph_name(g), err.msg);
	CHECK(rc == EP_OK);
	if (!rc) {
		int64_t n1 = 0, n2 = 0;
		float *o1 = run(w, &n1), *o2 = run(w2, &n2);

		CHECK(model_graph_equal(g, g2));
		CHECK(same_weights(w, w2));
		{
			/* Into weights of the graph the caller already holds. */
			struct model_weights *w3 = NULL;

			CHECK(model_weights_create(g, &w3, &err) == EP_OK);
			CHECK(w3 && model_onnx_read_weights(path, w3, &err) == EP_OK);
			CHECK(w3 && same_weights(w, w3));
			model_weights_destroy(w3);
		}
		CHECK(o1 && o2 && n1 == n2 && memcmp(o1, o2, (size_t)n1 * sizeof(float)) == 0);
		free(o1);
		free(o2);
	}
	model_weights_destroy(w2);
	model_graph_destroy(g2);
	model_weights_destroy(w);
	unlink(path);
}

int main(int argc, char **argv)
{
	char path[64];

	/* In memory where there is a tmpfs: the 15 files are 1.7 GB. */
	snprintf(path, sizeof(path), "%s/edgepipe_rt_%ld.onnx",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
	for (size_t z = 0; z < model_zoo_count; z++) {
		const char *name = model_zoo[z].name;
		struct model_graph *g = NULL, *g2 = NULL;
		bool wanted = argc >= 2 && strcmp(argv[1], "all") == 0;
		struct model_weights *w = NULL, *w2 = NULL;
		struct ep_error err;
		int rc;

		/* Arguments: the zoo models to check (default all). */
		for (int a = 1; a < argc; a++)
			wanted |= strcmp(argv[a], name) == 0;
		if (argc < 2)
			wanted = model_graph_params_estimate_small(name);
		if (!wanted)
			continue;
		rc = model_zoo_build(name, &g, &err);
		if (!rc)
			rc = model_weights_create(g, &w, &err);
		if (!rc) {
			model_weights_generate(w, 7);
			rc = model_onnx_save(w, path, &err);
		}
		if (!rc)
			rc = model_onnx_load_weights(path, NULL, &g2, &w2, &err);
		if (rc) {
			fprintf(stderr, "%s: %s\n", name, err.msg);
			CHECK(rc == EP_OK);
		} else {
			bool eq = model_graph_equal(g, g2);

			if (!eq)
				fprintf(stderr, "%s: the imported graph differs\n", name);
			CHECK(eq);
			CHECK_I64(name, model_graph_params(g2), model_graph_params(g));
			CHECK_I64(name, model_graph_flops(g2), model_graph_flops(g));
			CHECK(same_cuts(g, g2, MODEL_CUTS_EXACT));
			CHECK(same_cuts(g, g2, MODEL_CUTS_PUBLISHED));
			CHECK(same_weights(w, w2));
			if (strcmp(name, "mobilenetv2") == 0) {
				int64_t n1 = 0, n2 = 0;
				float *o1 = run(w, &n1), *o2 = run(w2, &n2);

				CHECK(o1 && o2 && n1 == 1000 && n2 == n1 &&
				      memcmp(o1, o2, (size_t)n1 * sizeof(float)) == 0);
				free(o1);
				free(o2);
			}
			printf("%-18s %4zu layers, %10" PRId64 " params: round trip %s\n", name,
			       model_graph_layer_count(g2), model_graph_params(g2),
			       eq ? "equal" : "DIFFERS");
		}
		model_weights_destroy(w2);
		model_graph_destroy(g2);
		model_weights_destroy(w);
		model_graph_destroy(g);
		unlink(path);
	}
	{
		/* VGG's head in small: a 3x3 map of 4 channels flattened (Keras order H,W,C; in
		 * ONNX Transpose + Flatten), then Dense with softmax, then the edge cases of the
		 * exporter's part names: a swish Activation, a ReLU layer, relu6 as Activation. */
		struct model_graph *g = model_graph_create("small_vgg");
		int x = model_add_input(g, "image", 6, 6, 3);

		x = model_add_conv2d(g, "conv", x, 4, 3, 3, 1, MODEL_PAD_SAME, true, MODEL_ACT_RELU);
		x = model_add_pool(g, "pool", MODEL_OP_MAX_POOL2D, x, 2, 2, MODEL_PAD_VALID);
		x = model_add_activation(g, "swish", x, MODEL_ACT_SWISH);
		x = model_add_relu(g, "relu", x, 0);
		x = model_add_activation(g, "relu6", x, MODEL_ACT_RELU6);
		x = model_add_flatten(g, "flatten", x);
		x = model_add_dense(g, "fc", x, 5, true, MODEL_ACT_SOFTMAX);
		CHECK(x >= 0 && model_graph_validate(g, NULL) == EP_OK);
		round_trip(g, path);
		model_graph_destroy(g);
	}
	{
		/* A Reshape that reorders elements between NHWC and NCHW has no export: refused
		 * naming the layer, and nothing is written. */
		struct model_graph *g = model_graph_create("reorder");
		struct model_weights *w = NULL;
		struct ep_error err;
		int64_t dims[3] = { 2, 8, 2 };
		int x = model_add_input(g, NULL, 4, 4, 2);

		x = model_add_reshape(g, "bad_reshape", x, 3, dims);
		CHECK(x >= 0);
		CHECK(model_weights_create(g, &w, &err) == EP_OK);
		CHECK(model_onnx_save(w, path, &err) == EP_EINVAL);
		CHECK(strstr(err.msg, "'bad_reshape'") != NULL);
		CHECK(access(path, F_OK) != 0);
		model_weights_destroy(w);
		model_graph_destroy(g);
	}
	{
		/* A layer named as another layer's part ("L/hard_sigmoid", the HardSigmoid node
		 * of a hard_swish; "L/kernel", an initializer) or as a shared constant
		 * ("edgepipe/zero") would be a second definition of that name in the file: refused
		 * naming it, nothing written. The exporter checked its node parts other than
		 * "hard_sigmoid" only, and wrote files the importer refused ("output ... is
		 * defined twice"). */
		static const struct {
			const char *first, *second;
			enum model_activation act;
		} clash[] = {
			{ "hs", "hs/hard_sigmoid", MODEL_ACT_HARD_SWISH },
			{ "act", "act/kernel", MODEL_ACT_RELU },
			{ "act", "edgepipe/zero", MODEL_ACT_RELU },
		};

		for (size_t c = 0; c < sizeof(clash) / sizeof(*clash); c++) {
			struct model_graph *g = model_graph_create("clash");
			struct model_weights *w = NULL;
			struct ep_error err;
			int x = model_add_input(g, NULL, 4, 4, 2);

			x = model_add_activation(g, clash[c].first, x, clash[c].act);
			x = model_add_activation(g, clash[c].second, x, MODEL_ACT_SIGMOID);
			CHECK(x >= 0);
			CHECK(model_weights_create(g, &w, &err) == EP_OK);
			CHECK(model_onnx_save(w, path, &err) == EP_EINVAL);
			CHECK(strstr(err.msg, clash[c].second) != NULL);
			CHECK(access(path, F_OK) != 0);
			model_weights_destroy(w);
			model_graph_destroy(g);
		}
	}
	return check_exit();
}
