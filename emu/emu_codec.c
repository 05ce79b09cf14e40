/*
 * The wire codecs (emu_codec.h): one const table per codec, listed once in `codecs`.
 */
#include "emu_codec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <zfp.h>
#include <zstd.h>

enum zfp_mode { ZFP_REVERSIBLE = 0, ZFP_PRECISION, ZFP_ACCURACY };

struct emu_codec {
	const struct emu_codec_type *ops;
	char spec[64];
	int zstd_level;
	enum zfp_mode zfp_mode;
	double zfp_param;
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
	void *scratch; /* zfp+lz4: ZFP's stream before LZ4 */
	size_t scratch_cap;
};


/* ZFP's API takes writable pointers for what it only reads when compressing (the field) or
 * decompressing (the stream). */
static inline void *unconst(const void *p)
{
	return (void *)(uintptr_t)p;
}

static size_t elements(const int64_t *shape, int rank)
{
	size_t n = 1;

	for (int i = 0; i < rank; i++)
		n *= (size_t)shape[i];
	return n;
}

/* ---- none ---- */

static size_t none_bound(const struct emu_codec *c, size_t bytes, const int64_t *s, int r)
{
	(void)c, (void)s, (void)r;
	return bytes;
}

static int none_encode(struct emu_codec *c, const float *x, size_t bytes, const int64_t *s,
		       int r, void *out, size_t cap, size_t *out_bytes, struct ep_error *err)
{
	(void)c, (void)s, (void)r, (void)cap, (void)err;
	memcpy(out, x, bytes);
	*out_bytes = bytes;
	return EP_OK;
}

static int none_decode(struct emu_codec *c, const void *in, size_t in_bytes, const int64_t *s,
		       int r, float *x, size_t bytes, struct ep_error *err)
{
	(void)c, (void)s, (void)r;
	if (in_bytes != bytes)
		return ep_error_set(err, EP_EINVAL, "none: %zu bytes for a tensor of %zu",
				    in_bytes, bytes);
	memcpy(x, in, bytes);
	return EP_OK;
}

/* ---- lz4 ---- */

static size_t lz4_bound(const struct emu_codec *c, size_t bytes, const int64_t *s, int r)
{
	(void)c, (void)s, (void)r;
	return bytes > LZ4_MAX_INPUT_SIZE ? 0 : (size_t)LZ4_compressBound((int)bytes);
}

static int lz4_encode(struct emu_codec *c, const float *x, size_t bytes, const int64_t *s,
		      int r, void *out, size_t cap, size_t *out_bytes, struct ep_error *err)
{
	int n;

	(void)c, (void)s, (void)r;
	n = LZ4_compress_default((const char *)x, out, (int)bytes, cap > INT_MAX ? INT_MAX
								       : (int)cap);
	if (n <= 0)
		return ep_error_set(err, EP_EINTERNAL, "lz4: cannot compress %zu bytes", bytes);
	*out_bytes = (size_t)n;
	return EP_OK;
}

static int lz4_decode(struct emu_codec *c, const void *in, size_t in_bytes, const int64_t *s,
		      int r, float *x, size_t bytes, struct ep_error *err)
{
	int n;

	(void)c, (void)s, (void)r;
	if (in_bytes > INT_MAX)
		return ep_error_set(err, EP_EINVAL, "lz4: %zu bytes is too long", in_bytes);
	n = LZ4_decompress_safe(in, (char *)x, (int)in_bytes, (int)bytes);
	if (n < 0 || (size_t)n != bytes)
		return ep_error_set(err, EP_EINVAL,
				    "lz4: %zu bytes do not decode to the %zu of the tensor (%d)",
				    in_bytes, bytes, n);
	return EP_OK;
}

/* ---- zstd ---- */

static int zstd_parse(struct emu_codec *c, const char *params, struct ep_error *err)
{
	char *end;
	long v;

	c->zstd_level = 3;
	if (params) {
		errno = 0;
		v = strtol(params, &end, 10);
		if (errno || end == params || *end || v < 1 || v > 19)
			return ep_error_set(err, EP_EINVAL,
					    "codec 'zstd:%s': the level must be 1 to 19", params);
		c->zstd_level = (int)v;
	}
	snprintf(c->spec, sizeof(c->spec), "zstd:%d", c->zstd_level);
	c->zc = ZSTD_createCCtx();
	c->zd = ZSTD_createDCtx();
	if (!c->zc || !c->zd)
		return ep_error_set(err, EP_ENOMEM, "zstd: cannot create its contexts");
	return EP_OK;
}

static size_t zstd_bound(const struct emu_codec *c, size_t bytes, const int64_t *s, int r)
{
	(void)c, (void)s, (void)r;
	return ZSTD_compressBound(bytes);
}

static int zstd_encode(struct emu_codec *c, const float *x, size_t bytes, const int64_t *s,
		       int r, void *out, size_t cap, size_t *out_bytes, struct ep_error *err)
{
	size_t n = ZSTD_compressCCtx(c->zc, out, cap, x, bytes, c->zstd_level);

	(void)s, (void)r;
	if (ZSTD_isError(n))
		return ep_error_set(err, EP_EINTERNAL, "zstd: %s", ZSTD_getErrorName(n));
	*out_bytes = n;
	return EP_OK;
}

static int zstd_decode(struct emu_codec *c, const void *in, size_t in_bytes, const int64_t *s,
		       int r, float *x, size_t bytes, struct ep_error *err)
{
	size_t n = ZSTD_decompressDCtx(c->zd, x, bytes, in, in_bytes);

	(void)s, (void)r;
	if (ZSTD_isError(n) || n != bytes)
		return ep_error_set(err, EP_EINVAL, "zstd: %zu bytes do not decode to the %zu of "
				    "the tensor (%s)", in_bytes, bytes,
				    ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size");
	return EP_OK;
}

/* ---- zfp ---- */

static int zfp_parse(struct emu_codec *c, const char *params, struct ep_error *err)
{
	char *end;
	double v;

	c->zfp_mode = ZFP_REVERSIBLE;
	snprintf(c->spec, sizeof(c->spec), "%s", c->ops->name);
	if (!params)
		return EP_OK;
	if (strcmp(c->ops->name, "zfp") != 0)
		return ep_error_set(err, EP_EINVAL, "codec '%s:%s' takes no parameters",
				    c->ops->name, params);
	if (strncmp(params, "precision=", 10) == 0) {
		errno = 0;
		v = strtod(params + 10, &end);
		if (errno || end == params + 10 || *end || v < 1 || v > 32 || v != (int)v)
			return ep_error_set(err, EP_EINVAL, "codec 'zfp:%s': the precision must "
					    "be a whole number of bit planes, 1 to 32", params);
		c->zfp_mode = ZFP_PRECISION;
	} else if (strncmp(params, "accuracy=", 9) == 0) {
		errno = 0;
		v = strtod(params + 9, &end);
		if (errno || end == params + 9 || *end || !(v > 0) || v > 1e30)
			return ep_error_set(err, EP_EINVAL, "codec 'zfp:%s': the accuracy must be "
					    "a positive tolerance", params);
		c->zfp_mode = ZFP_ACCURACY;
	} else {
		return ep_error_set(err, EP_EINVAL, "codec 'zfp:%s': expected precision=P or "
				    "accuracy=TOL", params);
	}
	c->zfp_param = v;
	snprintf(c->spec, sizeof(c->spec), "zfp:%s=%g",
		 c->zfp_mode == ZFP_PRECISION ? "precision" : "accuracy", v);
	return EP_OK;
}

/*
 * ZFP's stream does not record the array's shape, and shapes that pad to the same blocks give
 * streams of the same length: a receiver with the wrong shape would decode garbage without
 * noticing. Each ZFP stream therefore starts with the shape it encodes (rank and dims as
 * uint32, 20 bytes), which decoding checks.
 */
#define ZFP_HEADER_BYTES (4 * (1 + EMU_CODEC_MAX_RANK))

/* ZFP's field over x: dims reversed, since ZFP's x varies fastest and NHWC's last dim does. */
static zfp_field *zfp_field_for(float *x, const int64_t *s, int r)
{
	switch (r) {
	case 1: return zfp_field_1d(x, zfp_type_float, (size_t)s[0]);
	case 2: return zfp_field_2d(x, zfp_type_float, (size_t)s[1], (size_t)s[0]);
	case 3: return zfp_field_3d(x, zfp_type_float, (size_t)s[2], (size_t)s[1], (size_t)s[0]);
	default:
		return zfp_field_4d(x, zfp_type_float, (size_t)s[3], (size_t)s[2], (size_t)s[1],
				    (size_t)s[0]);
	}
}

static zfp_stream *zfp_stream_for(const struct emu_codec *c, const zfp_field *f)
{
	zfp_stream *zs = zfp_stream_open(NULL);

	if (!zs)
		return NULL;
	switch (c->zfp_mode) {
	case ZFP_REVERSIBLE: zfp_stream_set_reversible(zs); break;
	case ZFP_PRECISION: zfp_stream_set_precision(zs, (unsigned)c->zfp_param); break;
	case ZFP_ACCURACY: zfp_stream_set_accuracy(zs, c->zfp_param); break;
	}
	(void)f;
	return zs;
}

static size_t zfp_only_bound(const struct emu_codec *c, size_t bytes, const int64_t *s, int r)
{
	zfp_field *f = zfp_field_for(NULL, s, r);
	zfp_stream *zs = f ? zfp_stream_for(c, f) : NULL;
	size_t n = zs ? zfp_stream_maximum_size(zs, f) + ZFP_HEADER_BYTES : 0;

	(void)bytes;
	zfp_stream_close(zs);
	zfp_field_free(f);
	return n;
}

static void zfp_header_write(void *buf, const int64_t *s, int r)
{
	uint32_t h[1 + EMU_CODEC_MAX_RANK] = { (uint32_t)r };

	for (int i = 0; i < r; i++)
		h[1 + i] = (uint32_t)s[i];
	memcpy(buf, h, sizeof(h));
}

static bool zfp_header_matches(const void *buf, size_t bytes, const int64_t *s, int r)
{
	uint32_t h[1 + EMU_CODEC_MAX_RANK], want[1 + EMU_CODEC_MAX_RANK] = { (uint32_t)r };

	if (bytes < sizeof(h))
		return false;
	memcpy(h, buf, sizeof(h));
	for (int i = 0; i < r; i++)
		want[1 + i] = (uint32_t)s[i];
	return memcmp(h, want, sizeof(h)) == 0;
}

static int zfp_run(const struct emu_codec *c, bool encode, float *x, const int64_t *s, int r,
		   void *buf, size_t cap, size_t *bytes, struct ep_error *err)
{
	zfp_field *f = zfp_field_for(x, s, r);
	zfp_stream *zs = f ? zfp_stream_for(c, f) : NULL;
	bitstream *bs = NULL;
	size_t n = 0;
	int rc = EP_OK;

	if (!encode && !zfp_header_matches(buf, *bytes, s, r)) {
		rc = ep_error_set(err, EP_EINVAL, "zfp: the stream is not of a tensor of this "
				  "shape (%zu values), or is corrupt", elements(s, r));
		goto out;
	}
	if (zs && cap > ZFP_HEADER_BYTES)
		bs = stream_open((char *)buf + ZFP_HEADER_BYTES, cap - ZFP_HEADER_BYTES);
	if (!bs) {
		rc = ep_error_set(err, EP_ENOMEM, "zfp: cannot set up a stream");
		goto out;
	}
	zfp_stream_set_bit_stream(zs, bs);
	zfp_stream_rewind(zs);
	n = encode ? zfp_compress(zs, f) : zfp_decompress(zs, f);
	if (n == 0)
		rc = ep_error_set(err, encode ? EP_EINTERNAL : EP_EINVAL,
				  "zfp: cannot %s a tensor of %zu values",
				  encode ? "compress" : "decompress", elements(s, r));
	else if (!encode && n + ZFP_HEADER_BYTES != *bytes)
		/* The stream must be exactly what the tensor's encoding takes. */
		rc = ep_error_set(err, EP_EINVAL, "zfp: %zu bytes given, the tensor's encoding "
				  "takes %zu", *bytes, n + ZFP_HEADER_BYTES);
	else if (encode) {
		zfp_header_write(buf, s, r);
		*bytes = n + ZFP_HEADER_BYTES;
	}
out:
	stream_close(bs);
	zfp_stream_close(zs);
	zfp_field_free(f);
	return rc;
}

static size_t zfp_bound(const struct emu_codec *c, size_t bytes, const int64_t *s, int r)
{
	size_t z = zfp_only_bound(c, bytes, s, r);

	if (strcmp(c->ops->name, "zfp") == 0)
		return z;
	return z > LZ4_MAX_INPUT_SIZE ? 0 : (size_t)LZ4_compressBound((int)z);
}

static bool scratch_reserve(struct emu_codec *c, size_t n)
{
	void *p;

	if (c->scratch_cap >= n)
		return true;
	p = realloc(c->scratch, n);
	if (!p)
		return false;
	c->scratch = p;
	c->scratch_cap = n;
	return true;
}

static int zfp_encode(struct emu_codec *c, const float *x, size_t bytes, const int64_t *s,
		      int r, void *out, size_t cap, size_t *out_bytes, struct ep_error *err)
{
	size_t zb = zfp_only_bound(c, bytes, s, r), n = 0;
	int rc;

	if (strcmp(c->ops->name, "zfp") == 0) {
		rc = zfp_run(c, true, unconst(x), s, r, out, cap, &n, err);
		*out_bytes = n;
		return rc;
	}
	if (!scratch_reserve(c, zb))
		return ep_error_set(err, EP_ENOMEM, "zfp+lz4: out of memory for %zu bytes", zb);
	rc = zfp_run(c, true, unconst(x), s, r, c->scratch, zb, &n, err);
	if (rc)
		return rc;
	return lz4_encode(c, c->scratch, n, s, r, out, cap, out_bytes, err);
}

static int zfp_decode(struct emu_codec *c, const void *in, size_t in_bytes, const int64_t *s,
		      int r, float *x, size_t bytes, struct ep_error *err)
{
	size_t zb = zfp_only_bound(c, bytes, s, r), n = in_bytes;
	int got;

	if (strcmp(c->ops->name, "zfp") == 0)
		return zfp_run(c, false, x, s, r, unconst(in), in_bytes, &n, err);
	if (!scratch_reserve(c, zb))
		return ep_error_set(err, EP_ENOMEM, "zfp+lz4: out of memory for %zu bytes", zb);
	if (in_bytes > INT_MAX)
		return ep_error_set(err, EP_EINVAL, "zfp+lz4: %zu bytes is too long", in_bytes);
	/* LZ4 does not record the size of what it compressed: decode up to the bound. */
	got = LZ4_decompress_safe(in, c->scratch, (int)in_bytes, zb > INT_MAX ? INT_MAX : (int)zb);
	if (got <= 0)
		return ep_error_set(err, EP_EINVAL, "zfp+lz4: %zu bytes are not an LZ4 block",
				    in_bytes);
	n = (size_t)got;
	return zfp_run(c, false, x, s, r, c->scratch, n, &n, err);
}

/* ---- the registry ---- */

static const struct emu_codec_type codec_none = {
	.name = "none",
	.usage = "none",
	.summary = "the float32 bytes as they are",
	.bound = none_bound,
	.encode = none_encode,
	.decode = none_decode,
};

static const struct emu_codec_type codec_lz4 = {
	.name = "lz4",
	.usage = "lz4",
	.summary = "LZ4 block compression of the bytes",
	.bound = lz4_bound,
	.encode = lz4_encode,
	.decode = lz4_decode,
};

static const struct emu_codec_type codec_zstd = {
	.name = "zstd",
	.usage = "zstd[:LEVEL]",
	.summary = "Zstandard, LEVEL 1..19 (default 3)",
	.parse = zstd_parse,
	.bound = zstd_bound,
	.encode = zstd_encode,
	.decode = zstd_decode,
};

static const struct emu_codec_type codec_zfp = {
	.name = "zfp",
	.usage = "zfp, zfp:precision=P, zfp:accuracy=TOL",
	.summary = "ZFP over the tensor's dimensions: reversible, or the lossy P bit planes "
		   "(1..32) or absolute error TOL (> 0)",
	.parse = zfp_parse,
	.bound = zfp_bound,
	.encode = zfp_encode,
	.decode = zfp_decode,
};

static const struct emu_codec_type codec_zfp_lz4 = {
	.name = "zfp+lz4",
	.usage = "zfp+lz4",
	.summary = "ZFP reversible, then LZ4 over ZFP's stream",
	.parse = zfp_parse,
	.bound = zfp_bound,
	.encode = zfp_encode,
	.decode = zfp_decode,
};

/* A codec's index here is its id on the wire (emu_frame.h): append, never reorder. */
const struct emu_codec_type *const emu_codec_registry[] = {
	&codec_none, &codec_lz4, &codec_zstd, &codec_zfp, &codec_zfp_lz4, NULL,
};

const struct emu_codec_type *emu_codec_find(const char *name, size_t len)
{
	for (int i = 0; emu_codec_registry[i]; i++)
		if (strlen(emu_codec_registry[i]->name) == len &&
		    strncmp(emu_codec_registry[i]->name, name, len) == 0)
			return emu_codec_registry[i];
	return NULL;
}

size_t emu_codec_usage(char *buf, size_t size)
{
	size_t k = 0;

	if (size)
		buf[0] = '\0';
	for (int i = 0; emu_codec_registry[i]; i++) {
		int n = snprintf(buf + (k < size ? k : size), k < size ? size - k : 0, "%s%s",
				 i ? ", " : "", emu_codec_registry[i]->usage);

		k += n > 0 ? (size_t)n : 0;
	}
	return k;
}

int emu_codec_create(const char *spec, struct emu_codec **out, struct ep_error *err)
{
	const char *colon = strchr(spec, ':');
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
	struct emu_codec *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return ep_error_set(err, EP_ENOMEM, "out of memory for codec '%s'", spec);
	c->ops = emu_codec_find(spec, len);
	if (!c->ops) {
		char list[256];

		free(c);
		emu_codec_usage(list, sizeof(list));
		return ep_error_set(err, EP_EINVAL, "unknown codec '%s' (codecs: %s)", spec, list);
	}
	snprintf(c->spec, sizeof(c->spec), "%s", c->ops->name);
	if (c->ops->parse)
		rc = c->ops->parse(c, colon ? colon + 1 : NULL, err);
	else
		rc = colon ? ep_error_set(err, EP_EINVAL, "codec '%s' takes no parameters", spec)
			   : EP_OK;
	if (rc) {
		emu_codec_destroy(c);
		return rc;
	}
	*out = c;
	return EP_OK;
}

void emu_codec_destroy(struct emu_codec *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->zc);
	ZSTD_freeDCtx(c->zd);
	free(c->scratch);
	free(c);
}

int emu_codec_id(const struct emu_codec *c)
{
	for (int i = 0; emu_codec_registry[i]; i++)
		if (emu_codec_registry[i] == c->ops)
			return i;
	return -1;
}

const char *emu_codec_spec(const struct emu_codec *c)
{
	return c->spec;
}

int emu_codec_spec_canon(const char *spec, char *out, size_t size, struct ep_error *err)
{
	struct emu_codec *c;

	EP_CHECK(emu_codec_create(spec, &c, err));
	snprintf(out, size, "%s", c->spec);
	emu_codec_destroy(c);
	return EP_OK;
}

bool emu_codec_lossless(const struct emu_codec *c)
{
	return c->zfp_mode == ZFP_REVERSIBLE;
}

static int check_shape(const int64_t *shape, int rank, size_t *bytes, struct ep_error *err)
{
	size_t n = 1;

	if (rank < 1 || rank > EMU_CODEC_MAX_RANK)
		return ep_error_set(err, EP_EINVAL, "codec: rank %d, expected 1 to %d", rank,
				    EMU_CODEC_MAX_RANK);
	for (int i = 0; i < rank; i++) {
		if (shape[i] < 1 || (uint64_t)shape[i] > SIZE_MAX / sizeof(float) / n)
			return ep_error_set(err, EP_EINVAL, "codec: dimension %d is %lld", i,
					    (long long)shape[i]);
		n *= (size_t)shape[i];
	}
	*bytes = n * sizeof(float);
	return EP_OK;
}

size_t emu_codec_bound(const struct emu_codec *c, const int64_t *shape, int rank)
{
	size_t bytes;

	if (check_shape(shape, rank, &bytes, NULL))
		return 0;
	return c->ops->bound(c, bytes, shape, rank);
}

int emu_codec_encode(struct emu_codec *c, const float *x, const int64_t *shape, int rank,
		     void *out, size_t cap, size_t *out_bytes, struct ep_error *err)
{
	size_t bytes;
	int rc = check_shape(shape, rank, &bytes, err);

	if (rc)
		return rc;
	if (cap < c->ops->bound(c, bytes, shape, rank))
		return ep_error_set(err, EP_EINVAL, "codec %s: an output of %zu bytes is below "
				    "the bound %zu", c->spec, cap,
				    c->ops->bound(c, bytes, shape, rank));
	return c->ops->encode(c, x, bytes, shape, rank, out, cap, out_bytes, err);
}

int emu_codec_decode(struct emu_codec *c, const void *in, size_t in_bytes, const int64_t *shape,
		     int rank, float *x, struct ep_error *err)
{
	size_t bytes;
	int rc = check_shape(shape, rank, &bytes, err);

	if (rc)
		return rc;
	return c->ops->decode(c, in, in_bytes, shape, rank, x, bytes, err);
}
