/*
 * The wire codecs (emu/emu_codec.h): every lossless codec gives back every bit of tensors shaped
 * like activations (ReLU-sparse feature maps with dimensions that are not multiples of ZFP's
 * block of 4, dense signed maps, vectors); the lossy ZFP modes keep the error within their
 * contract (fixed accuracy: |error| <= TOL, ZFP's documented guarantee); corrupt, truncated or
 * mis-shaped inputs and bad specs are EP_EINVAL; and every lossless codec gives back every cut
 * tensor of a real MobileNetV2 run (the executor, generated weights) bit for bit. The ratios
 * are printed, not asserted: they depend on the data (tests/bench_codec.c measures them on
 * ResNet50's and MobileNetV2's cut tensors).
 */
#include <stdlib.h>

#include "check.h"
#include "codec_tensors.h"
#include "emu_codec.h"

/* A deterministic generator (splitmix64) so the tensors are the same on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static double uniform(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

/* kind 0: ReLU output (about half zeros, smooth positives); 1: dense signed values. */
static void fill(float *x, size_t n, int kind)
{
	for (size_t i = 0; i < n; i++) {
		double v = sin((double)i * 0.013) + 0.5 * (uniform() - 0.5);

		x[i] = kind == 0 ? (v > 0 ? (float)v : 0.0f) : (float)(v * 3.0);
	}
}

static size_t count(const int64_t *shape, int rank)
{
	size_t n = 1;

	for (int i = 0; i < rank; i++)
		n *= (size_t)shape[i];
	return n;
}

static void roundtrip(const char *spec, const int64_t *shape, int rank, int kind,
		      double tolerance)
{
	struct emu_codec *c = NULL;
	struct ep_error err;
	size_t n = count(shape, rank), cap, bytes = 0;
	float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
	void *buf = NULL;
	double worst = 0;

	CHECK_INT(emu_codec_create(spec, &c, &err), EP_OK);
	if (!c || !x || !y)
		goto out;
	fill(x, n, kind);
	cap = emu_codec_bound(c, shape, rank);
	CHECK(cap > 0);
	buf = malloc(cap);
	if (!buf)
		goto out;
	CHECK_INT(emu_codec_encode(c, x, shape, rank, buf, cap, &bytes, &err), EP_OK);
	CHECK_INT(emu_codec_decode(c, buf, bytes, shape, rank, y, &err), EP_OK);
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, fabs((double)x[i] - y[i]));
	printf("%-18s %-6s %8zu values: %9zu -> %9zu bytes, ratio %5.2f, max error %g\n",
	       emu_codec_spec(c), kind ? "dense" : "relu", n, n * sizeof(float), bytes,
	       (double)(n * sizeof(float)) / (double)bytes, worst);
	if (tolerance == 0) {
		CHECK(emu_codec_lossless(c));
		CHECK(memcmp(x, y, n * sizeof(float)) == 0);
	} else {
		CHECK(!emu_codec_lossless(c));
		CHECK(worst <= tolerance);
	}
	/* A truncated encoding and one decoded as another shape are refused. */
	if (bytes > 8 && strcmp(emu_codec_spec(c), "none") != 0) {
		int64_t other[EMU_CODEC_MAX_RANK];

		CHECK_INT(emu_codec_decode(c, buf, bytes / 2, shape, rank, y, &err), EP_EINVAL);
		memcpy(other, shape, (size_t)rank * sizeof(*shape));
		other[0] -= 1; /* y holds the larger tensor: decoding a smaller one is safe */
		if (emu_codec_decode(c, buf, bytes, other, rank, y, &err) != EP_EINVAL) {
			fprintf(stderr, "%s: decoded as another shape\n", spec);
			check_failures++;
		}
	}
out:
	free(buf);
	free(x);
	free(y);
	emu_codec_destroy(c);
}

static void check_errors(void)
{
	static const char *const bad[] = { "lz5", "", "zstd:0", "zstd:20", "zstd:x",
					   "zfp:precision=0", "zfp:precision=33",
					   "zfp:precision=8.5", "zfp:accuracy=0",
					   "zfp:accuracy=-1", "zfp:rate=8", "zfp+lz4:precision=8",
					   "lz4:1", "none:x" };
	struct emu_codec *c = NULL;
	struct ep_error err;
	int64_t shape[2] = { 4, 4 }, zero[2] = { 0, 4 };
	float x[16] = { 0 };
	char out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = emu_codec_create(bad[i], &c, &err);

		if (rc != EP_EINVAL || c || !strstr(err.msg, bad[i])) {
			fprintf(stderr, "codec spec '%s': rc %d, message '%s'\n", bad[i], rc,
				err.msg);
			check_failures++;
		}
	}
	CHECK_INT(emu_codec_create("lz4", &c, &err), EP_OK);
	if (!c)
		return;
	/* An output below the bound, a zero dimension, a rank out of range. */
	CHECK_INT(emu_codec_encode(c, x, shape, 2, out, sizeof(out), &n, &err), EP_EINVAL);
	CHECK_INT(emu_codec_encode(c, x, zero, 2, out, sizeof(out), &n, &err), EP_EINVAL);
	CHECK_INT(emu_codec_encode(c, x, shape, 5, out, sizeof(out), &n, &err), EP_EINVAL);
	CHECK_INT(emu_codec_bound(c, zero, 2), 0);
	emu_codec_destroy(c);
}

/* Every cut tensor of a real MobileNetV2 run, through every lossless codec, bit for bit. */
static void check_real(const char *const *specs, size_t n_specs)
{
	struct codec_tensors t;
	struct ep_error err;

	if (codec_tensors_init(&t, "mobilenetv2", &err)) {
		fprintf(stderr, "mobilenetv2: %s\n", err.msg);
		check_failures++;
		return;
	}
	for (size_t k = 0; k < n_specs; k++) {
		struct emu_codec *c = NULL;
		double raw = 0, wire = 0;
		int exact = 0, tensors = 0;

		CHECK_INT(emu_codec_create(specs[k], &c, &err), EP_OK);
		for (size_t i = 0; c && i < t.n_cuts; i++) {
			int64_t shape[EMU_CODEC_MAX_RANK];
			int rank;
			const float *x = codec_tensors_get(&t, i, shape, &rank);
			size_t n = 1, cap, bytes = 0;
			void *buf;
			float *y;

			if (!x)
				continue;
			for (int d = 0; d < rank; d++)
				n *= (size_t)shape[d];
			cap = emu_codec_bound(c, shape, rank);
			buf = malloc(cap);
			y = malloc(n * sizeof(float));
			tensors++;
			if (buf && y && !emu_codec_encode(c, x, shape, rank, buf, cap, &bytes, &err) &&
			    !emu_codec_decode(c, buf, bytes, shape, rank, y, &err) &&
			    memcmp(x, y, n * sizeof(float)) == 0)
				exact++;
			raw += (double)(n * sizeof(float));
			wire += (double)bytes;
			free(buf);
			free(y);
		}
		printf("mobilenetv2 %-8s %d of %d cut tensors exact, %.1f MB -> %.1f MB (ratio %.2f)\n",
		       specs[k], exact, tensors, raw / 1e6, wire / 1e6, raw / wire);
		CHECK(tensors > 0);
		CHECK_INT(exact, tensors);
		emu_codec_destroy(c);
	}
	codec_tensors_release(&t);
}

/* The registry is the one list: every entry is found by its name, creates a codec whose id is
 * its index (the wire's codec id), and its usage appears in the list an unknown name prints;
 * the usage list is generated from the entries (checked against their own strings). */
static void check_registry(void)
{
	struct emu_codec *c = NULL;
	struct ep_error err;
	char list[512], want[512] = "";
	size_t need, k = 0;
	int n = 0;

	for (int i = 0; emu_codec_registry[i]; i++, n++) {
		const struct emu_codec_type *ty = emu_codec_registry[i];

		k += (size_t)snprintf(want + k, sizeof(want) - k, "%s%s", i ? ", " : "", ty->usage);
		CHECK(emu_codec_find(ty->name, strlen(ty->name)) == ty);
		CHECK(ty->summary && ty->summary[0] && ty->bound && ty->encode && ty->decode);
		CHECK_INT(emu_codec_create(ty->name, &c, &err), EP_OK);
		if (c)
			CHECK_INT(emu_codec_id(c), i);
		emu_codec_destroy(c);
		c = NULL;
	}
	/* The five codecs of emu_codec.h's grammar, in their wire order. */
	CHECK_INT(n, 5);
	need = emu_codec_usage(list, sizeof(list));
	CHECK_INT((long long)need, (long long)strlen(want));
	CHECK_STR(list, want);
	CHECK(strstr(list, "zstd[:LEVEL]") && strstr(list, "zfp:accuracy=TOL"));
	/* Truncation keeps the string terminated and still reports the whole length. */
	CHECK_INT((long long)emu_codec_usage(list, 8), (long long)strlen(want));
	CHECK_INT((long long)strlen(list), 7);
	CHECK(emu_codec_find("zfp", 2) == NULL);
	CHECK_INT(emu_codec_create("lz5", &c, &err), EP_EINVAL);
	CHECK(strstr(err.msg, want) != NULL);
}

int main(void)
{
	/* A feature map of 28 x 28 x 19 (no dimension a multiple of 4), a 7 x 7 x 2048 one as
	 * ResNet50's last block gives, a vector of 1000 logits, a rank-4 block. */
	static const int64_t fmap[3] = { 28, 28, 19 }, last[3] = { 7, 7, 2048 }, vec[1] = { 1000 },
			     r4[4] = { 3, 5, 6, 7 };
	static const char *const lossless[] = { "none", "lz4", "zstd", "zstd:19", "zfp",
						"zfp+lz4" };

	for (size_t i = 0; i < sizeof(lossless) / sizeof(lossless[0]); i++) {
		roundtrip(lossless[i], fmap, 3, 0, 0);
		roundtrip(lossless[i], last, 3, 0, 0);
		roundtrip(lossless[i], fmap, 3, 1, 0);
		roundtrip(lossless[i], vec, 1, 1, 0);
		roundtrip(lossless[i], r4, 4, 1, 0);
	}
	/* Fixed accuracy: ZFP guarantees |error| <= TOL. */
	roundtrip("zfp:accuracy=0.001", fmap, 3, 0, 1e-3);
	roundtrip("zfp:accuracy=0.1", last, 3, 1, 0.1);
	/* Fixed precision P keeps about P bit planes of each block relative to its largest value:
	 * with values below 3.75 in magnitude, 16 planes leave an error far below 0.01. */
	roundtrip("zfp:precision=16", fmap, 3, 1, 0.01);
	check_errors();
	check_registry();
	/* zstd:19 is left out here: it takes seconds on MobileNetV2's 39 MB (bench_codec). */
	{
		static const char *const real[] = { "none", "lz4", "zstd", "zfp", "zfp+lz4" };

		check_real(real, sizeof(real) / sizeof(real[0]));
	}
	return check_exit();
}
