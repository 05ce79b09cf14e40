/*
 * The wire codecs on real cut tensors (prints, does not fail): ResNet50's and MobileNetV2's
 * cut-point outputs from one run of the executor (generated weights, a synthetic image), each
 * codec's ratio (all bytes in over all bytes out), encoding and decoding speed in MB/s of raw
 * tensor, and for the lossy modes the largest absolute difference. Each codec codes the whole
 * set of tensors repeatedly for at least 0.3 s.
 */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "codec_tensors.h"
#include "emu_codec.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct coded {
	double raw, wire, enc_s, dec_s, max_err;
};

/* Code every tensor once; false on a codec error (printed). */
static bool code_all(struct emu_codec *c, const struct codec_tensors *t, void *buf, float *y,
		     struct coded *r)
{
	struct ep_error err;

	for (size_t i = 0; i < t->n_cuts; i++) {
		int64_t shape[EMU_CODEC_MAX_RANK];
		int rank;
		const float *x = codec_tensors_get(t, i, shape, &rank);
		size_t n = 1, bytes = 0;
		double t0, t1, t2;

		if (!x)
			continue;
		for (int d = 0; d < rank; d++)
			n *= (size_t)shape[d];
		t0 = now_s();
		if (emu_codec_encode(c, x, shape, rank, buf, emu_codec_bound(c, shape, rank),
				     &bytes, &err)) {
			fprintf(stderr, "%s: %s\n", emu_codec_spec(c), err.msg);
			return false;
		}
		t1 = now_s();
		if (emu_codec_decode(c, buf, bytes, shape, rank, y, &err)) {
			fprintf(stderr, "%s: %s\n", emu_codec_spec(c), err.msg);
			return false;
		}
		t2 = now_s();
		r->raw += (double)(n * sizeof(float));
		r->wire += (double)bytes;
		r->enc_s += t1 - t0;
		r->dec_s += t2 - t1;
		for (size_t k = 0; k < n; k++)
			r->max_err = fmax(r->max_err, fabs((double)x[k] - y[k]));
	}
	return true;
}

int main(void)
{
	static const char *const models[] = { "resnet50", "mobilenetv2" };
	static const char *const specs[] = { "none", "lz4", "zstd:1", "zstd", "zfp", "zfp+lz4",
					     "zfp:precision=16", "zfp:accuracy=0.01" };

	printf("%-12s %-18s %7s %10s %10s %10s\n", "model", "codec", "ratio", "enc MB/s",
	       "dec MB/s", "max error");
	for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++) {
		struct codec_tensors t;
		struct ep_error err;
		size_t largest = 0;

		if (codec_tensors_init(&t, models[m], &err)) {
			fprintf(stderr, "%s: %s\n", models[m], err.msg);
			return 1;
		}
		for (size_t i = 0; i < t.n_cuts; i++)
			largest = fmax(largest, (size_t)model_layer_elements(
							model_graph_layer(t.g, (size_t)t.cuts[i])));
		for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
			struct emu_codec *c = NULL;
			struct coded r = { 0 };
			void *buf = NULL;
			size_t cap = 0;
			float *y = malloc(largest * sizeof(float));
			double t0 = now_s();
			int passes = 0;

			if (emu_codec_create(specs[k], &c, &err) || !y) {
				fprintf(stderr, "%s: %s\n", specs[k], err.msg);
				return 1;
			}
			/* One output buffer for all: the largest bound of any cut tensor. */
			for (size_t i = 0; i < t.n_cuts; i++) {
				int64_t shape[EMU_CODEC_MAX_RANK];
				int rank;

				codec_tensors_get(&t, i, shape, &rank);
				cap = fmax(cap, emu_codec_bound(c, shape, rank));
			}
			buf = malloc(cap);
			while (buf && (passes == 0 || now_s() - t0 < 0.3)) {
				struct coded once = { 0 };

				if (!code_all(c, &t, buf, y, &once))
					return 1;
				r.raw += once.raw;
				r.wire += once.wire;
				r.enc_s += once.enc_s;
				r.dec_s += once.dec_s;
				r.max_err = fmax(r.max_err, once.max_err);
				passes++;
			}
			printf("%-12s %-18s %7.3f %10.0f %10.0f %10.3g\n", models[m],
			       emu_codec_spec(c), r.raw / r.wire, r.raw / 1e6 / r.enc_s,
			       r.raw / 1e6 / r.dec_s, r.max_err);
			free(buf);
			free(y);
			emu_codec_destroy(c);
		}
		codec_tensors_release(&t);
	}
	return 0;
}
