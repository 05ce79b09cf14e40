/*
 * model_weights: the tensor layout adds up to every zoo model's parameter count (Keras's
 * published totals, test_zoo.c), generation is deterministic and per layer, kernels follow
 * the He-uniform bound, and the raw file round-trips, is little-endian, and is refused with a
 * message naming the file, the sizes and (when truncated) the layer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "model_file.h"
#include "model_weights.h"
#include "model_zoo.h"

static char dir[] = "/tmp/edgepipe_weights_XXXXXX";

static void test_layout_and_generation(void)
{
	struct ep_error err;
	struct model_graph *a = NULL, *b = NULL;
	struct model_weights *wa = NULL, *wb = NULL, *wc = NULL;

	for (size_t z = 0; z < model_zoo_count; z++) {
		struct model_graph *g = NULL;
		struct model_weights *w = NULL;

		CHECK(model_zoo_build(model_zoo[z].name, &g, &err) == EP_OK);
		CHECK(model_weights_create(g, &w, &err) == EP_OK);
		if (w)
			CHECK_I64(model_zoo[z].name, model_weights_elements(w), model_graph_params(g));
		model_weights_destroy(w);
		model_graph_destroy(g);
	}
	/* The same seed gives the same weights, another seed others; a layer's weights depend on
	 * its name only: resnet50 and resnet101 share 'conv1_conv' (7x7x3x64 HWIO). */
	CHECK(model_zoo_build("resnet50", &a, &err) == EP_OK);
	CHECK(model_zoo_build("resnet101", &b, &err) == EP_OK);
	CHECK(model_weights_create(a, &wa, &err) == EP_OK);
	CHECK(model_weights_create(b, &wb, &err) == EP_OK);
	CHECK(model_weights_create(a, &wc, &err) == EP_OK);
	model_weights_generate(wa, 7);
	model_weights_generate(wb, 7);
	model_weights_generate(wc, 8);
	{
		int la = model_graph_find(a, "conv1_conv"), lb = model_graph_find(b, "conv1_conv");
		int64_t dims[4];

		CHECK_INT(model_weights_tensor_dims(wa, (size_t)la, 0, dims), 4);
		CHECK_INT(dims[0], 7);
		CHECK_INT(dims[2], 3);
		CHECK_INT(dims[3], 64);
		CHECK_STR(model_weights_tensor_name(wa, (size_t)la, 1), "bias");
		CHECK(memcmp(model_weights_tensor_const(wa, (size_t)la, 0),
			     model_weights_tensor_const(wb, (size_t)lb, 0), 7 * 7 * 3 * 64 * 4) == 0);
		CHECK(memcmp(model_weights_tensor_const(wa, (size_t)la, 0),
			     model_weights_tensor_const(wc, (size_t)la, 0), 7 * 7 * 3 * 64 * 4) != 0);
	}
	/* He uniform: |k| <= sqrt(6 / fan_in); a uniform's variance is limit^2 / 3 = 2 / fan_in.
	 * conv5_block3_2_conv: 3x3x512x512, fan_in 4608, 2.4 M samples: the sample variance is
	 * within 1 % of 2 / 4608. */
	{
		int l = model_graph_find(a, "conv5_block3_2_conv");
		const float *k = model_weights_tensor_const(wa, (size_t)l, 0);
		int64_t n = model_weights_tensor_elements(wa, (size_t)l, 0);
		double limit = sqrt(6.0 / 4608), sum2 = 0, mx = 0;

		CHECK_INT(n, 3 * 3 * 512 * 512);
		for (int64_t i = 0; i < n; i++) {
			sum2 += (double)k[i] * k[i];
			mx = fmax(mx, fabs(k[i]));
		}
		CHECK(mx <= limit);
		CHECK_NEAR(sum2 / (double)n / (2.0 / 4608), 1.0, 0.01);
	}
	/* BatchNormalization near identity: gamma and moving variance in [0.9, 1.1] */
	{
		int l = model_graph_find(a, "conv1_bn");

		CHECK_STR(model_weights_tensor_name(wa, (size_t)l, 0), "gamma");
		CHECK_STR(model_weights_tensor_name(wa, (size_t)l, 3), "moving_variance");
		for (int t = 0; t < 4; t += 3)
			for (int i = 0; i < 64; i++) {
				float v = model_weights_tensor_const(wa, (size_t)l, t)[i];

				CHECK(v >= 0.9f && v <= 1.1f);
			}
	}
	model_weights_destroy(wa);
	model_weights_destroy(wb);
	model_weights_destroy(wc);
	model_graph_destroy(a);
	model_graph_destroy(b);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fwrite(p, 1, n, f) == n);
	fclose(f);
}

static void test_file(void)
{
	struct ep_error err;
	struct model_graph *g = NULL;
	struct model_weights *w = NULL, *r = NULL;
	char path[256], bad[256];
	unsigned char *bytes = NULL;
	int64_t nbytes;

	CHECK(model_zoo_build("mobilenetv2", &g, &err) == EP_OK);
	CHECK(model_weights_create(g, &w, &err) == EP_OK);
	CHECK(model_weights_create(g, &r, &err) == EP_OK);
	model_weights_generate(w, 3);
	nbytes = model_weights_bytes(w);
	CHECK_INT(nbytes, 4 * model_graph_params(g)); /* 4 x 3538984 (Keras's total) */
	snprintf(path, sizeof(path), "%s/m.weights", dir);
	CHECK(model_weights_save(w, path, &err) == EP_OK);
	CHECK(model_weights_load(r, path, &err) == EP_OK);
	CHECK(memcmp(model_weights_tensor_const(w, 1, 0), model_weights_tensor_const(r, 1, 0),
		     (size_t)model_weights_bytes(w)) == 0);
	/* little-endian IEEE-754: the file's first 4 bytes, assembled by hand, are the bits of
	 * the first kernel value (layer 1, Conv1, tensor 0) */
	bytes = malloc((size_t)nbytes + 8);
	{
		FILE *f = fopen(path, "rb");
		uint32_t u, bits;
		float v = model_weights_tensor_const(w, 1, 0)[0];

		CHECK(f && fread(bytes, 1, (size_t)nbytes + 8, f) == (size_t)nbytes);
		if (f)
			fclose(f);
		u = (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
		    (uint32_t)bytes[3] << 24;
		memcpy(&bits, &v, 4);
		CHECK(u == bits);
	}
	/* One float too many: refused, naming the file and both sizes; r is unchanged. */
	snprintf(bad, sizeof(bad), "%s/long.weights", dir);
	memset(bytes + nbytes, 0, 4);
	write_bytes(bad, bytes, (size_t)nbytes + 4);
	model_weights_tensor(r, 1, 0)[0] = 123.0f;
	CHECK_INT(model_weights_load(r, bad, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "long.weights");
	CHECK_CONTAINS(err.msg, "14155940 bytes");
	CHECK_CONTAINS(err.msg, "needs 14155936");
	CHECK(model_weights_tensor_const(r, 1, 0)[0] == 123.0f);
	/* Truncated inside block_1_expand's kernel (1x1x16x96): the message names the layer
	 * and the tensor with its size. */
	{
		int l = model_graph_find(g, "block_1_expand");
		int64_t off = model_weights_tensor_const(w, (size_t)l, 0) -
			      model_weights_tensor_const(w, 1, 0);

		snprintf(bad, sizeof(bad), "%s/short.weights", dir);
		write_bytes(bad, bytes, (size_t)(off + 10) * 4);
		CHECK_INT(model_weights_load(r, bad, &err), EP_EINVAL);
		CHECK_CONTAINS(err.msg, "short.weights");
		CHECK_CONTAINS(err.msg, "truncated");
		CHECK_CONTAINS(err.msg, "block_1_expand");
		CHECK_CONTAINS(err.msg, "tensor 'kernel' of 1536 floats");
		/* cut exactly at a tensor boundary: the next tensor is named */
		write_bytes(bad, bytes, (size_t)off * 4);
		CHECK_INT(model_weights_load(r, bad, &err), EP_EINVAL);
		CHECK_CONTAINS(err.msg, "block_1_expand");
		unlink(bad);
	}
	snprintf(bad, sizeof(bad), "%s/none.weights", dir);
	CHECK_INT(model_weights_load(r, bad, &err), EP_ENOTFOUND);
	CHECK_CONTAINS(err.msg, "none.weights");
	/* Saving into a missing directory fails and leaves nothing. */
	snprintf(bad, sizeof(bad), "%s/missing/x.weights", dir);
	CHECK_INT(model_weights_save(w, bad, &err), EP_EIO);
	CHECK(access(bad, F_OK) != 0);
	unlink(path);
	snprintf(bad, sizeof(bad), "%s/long.weights", dir);
	unlink(bad);
	free(bytes);
	model_weights_destroy(w);
	model_weights_destroy(r);
	model_graph_destroy(g);
}

/* A model file's 'weights' line, relative to the file's directory: model_weights_open loads
 * that file (not generated weights), and the line is written back. */
static void test_model_file_line(void)
{
	struct ep_error err;
	struct model_graph *g = NULL, *r = NULL;
	struct model_weights *w = NULL, *o = NULL;
	char mpath[256], wpath[256], want[300];
	FILE *f;

	CHECK(model_zoo_build("mobilenet", &g, &err) == EP_OK);
	CHECK(model_weights_create(g, &w, &err) == EP_OK);
	model_weights_generate(w, 99);
	snprintf(wpath, sizeof(wpath), "%s/mn.bin", dir);
	CHECK(model_weights_save(w, wpath, &err) == EP_OK);
	snprintf(mpath, sizeof(mpath), "%s/mn.model", dir);
	f = fopen(mpath, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fprintf(f, "edgepipe-model 1\nweights mn.bin\n");
	CHECK(model_graph_set_weights_path(g, NULL) == EP_OK);
	{
		/* the layers of the zoo model, without its header lines */
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);

		CHECK(model_file_write(g, m, &err) == EP_OK);
		fclose(m);
		fputs(strstr(buf, "\nmodel ") + 1, f);
		free(buf);
	}
	fclose(f);
	CHECK(model_file_load(mpath, &r, &err) == EP_OK);
	snprintf(want, sizeof(want), "%s/mn.bin", dir);
	if (r) {
		CHECK_STR(model_graph_weights_path(r), want);
		CHECK(model_weights_open(r, 1, &o, &err) == EP_OK);
		if (o)
			CHECK(memcmp(model_weights_tensor_const(o, 1, 0),
				     model_weights_tensor_const(w, 1, 0),
				     (size_t)model_weights_bytes(w)) == 0);
		{
			char *buf = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&buf, &len);

			CHECK(model_file_write(r, m, &err) == EP_OK);
			fclose(m);
			snprintf(want, sizeof(want), "\nweights %s/mn.bin\n", dir);
			CHECK_CONTAINS(buf, want);
			free(buf);
		}
		/* a weights file of the wrong model: refused by name */
		model_weights_destroy(o);
		o = NULL;
		f = fopen(wpath, "w");
		if (f) {
			fputs("short", f);
			fclose(f);
		}
		CHECK_INT(model_weights_open(r, 1, &o, &err), EP_EINVAL);
		CHECK(o == NULL);
		CHECK_CONTAINS(err.msg, "mn.bin");
	}
	unlink(wpath);
	unlink(mpath);
	model_weights_destroy(w);
	model_weights_destroy(o);
	model_graph_destroy(g);
	model_graph_destroy(r);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 77;
	test_layout_and_generation();
	test_file();
	test_model_file_line();
	rmdir(dir);
	return check_exit();
}
