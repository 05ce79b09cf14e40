/*
 * emu_codec: the wire codecs of tensors between stages, as the published systems compressed
 * their activations (DEFER: ZFP and LZ4), each a const table in one registry.
 *
 * A codec is named by a spec:
 *     none               the float32 bytes as they are
 *     lz4                LZ4 block compression of the bytes (liblz4)
 *     zstd[:LEVEL]       Zstandard, level 1..19, default 3 (libzstd)
 *     zfp                ZFP in its reversible (lossless) mode, over the tensor's own
 *                        dimensions (libzfp: H x W x C with C fastest, as NHWC is laid out)
 *     zfp+lz4            ZFP reversible, then LZ4 over ZFP's stream
 *     zfp:precision=P    ZFP fixed precision, P bit planes (1..32): LOSSY
 *     zfp:accuracy=TOL   ZFP fixed accuracy, absolute error at most TOL (> 0): LOSSY
 * Lossless codecs give back every bit (emu_codec_lossless). The lossy modes change the tensor:
 * the emulator measures what that does to the answers (largest difference, top-1 agreement).
 *
 * Decoding needs the tensor's shape, which the receiver knows (it is the cut tensor's shape),
 * and the encoded size. A codec object holds its library contexts and scratch; it belongs to
 * one thread. Sizes are bytes, times are the caller's to measure.
 */
#ifndef EDGEPIPE_EMU_CODEC_H
#define EDGEPIPE_EMU_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ep_error.h"

#define EMU_CODEC_MAX_RANK 4

struct emu_codec;

/*
 * Create a codec from its spec (above). *out is owned by the caller (emu_codec_destroy).
 * Errors: EP_EINVAL (an unknown name or a bad parameter; the message names it and lists the
 * codecs), EP_ENOMEM, EP_EINTERNAL (a library could not make its context).
 */
int emu_codec_create(const char *spec, struct emu_codec **out, struct ep_error *err);
void emu_codec_destroy(struct emu_codec *c); /* accepts NULL */

/* The spec as given back in canonical form ("zstd:3", "zfp:precision=16"). */
const char *emu_codec_spec(const struct emu_codec *c);
/* Check `spec` and write its canonical form into out[size] (cut to fit), without keeping a
 * codec: problem_codec_parse's spec_canon. Errors as emu_codec_create's. */
int emu_codec_spec_canon(const char *spec, char *out, size_t size, struct ep_error *err);
bool emu_codec_lossless(const struct emu_codec *c);

/* The most bytes an encoding of a tensor of this shape can take (for the output buffer);
 * 0 for a bad shape. */
size_t emu_codec_bound(const struct emu_codec *c, const int64_t *shape, int rank);

/*
 * Encode the float32 tensor x of the given shape (rank 1..EMU_CODEC_MAX_RANK, the row-major
 * NHWC dims without the batch) into out[cap]; *out_bytes gets the encoded size. Errors:
 * EP_EINVAL (rank or dims; cap below emu_codec_bound), EP_EINTERNAL (the library failed).
 * Complexity: O(elements).
 */
int emu_codec_encode(struct emu_codec *c, const float *x, const int64_t *shape, int rank,
		     void *out, size_t cap, size_t *out_bytes, struct ep_error *err);

/*
 * Decode in[in_bytes], an encoding of a tensor of the given shape, into x. Errors: EP_EINVAL
 * (the data is not an encoding of that shape: corrupt, truncated, or of another size; the
 * message says which), EP_EINTERNAL.
 */
int emu_codec_decode(struct emu_codec *c, const void *in, size_t in_bytes, const int64_t *shape,
		     int rank, float *x, struct ep_error *err);

/*
 * One codec: a const table in emu_codec.c, listed once in emu_codec_registry (adding a codec is
 * its functions, one table and one registry line; names, help and error lists come from the
 * registry). The functions see the codec object (its library contexts and scratch); `bytes` is
 * the tensor's size before coding.
 */
struct emu_codec_type {
	const char *name;    /* what a spec starts with: "zstd" */
	const char *usage;   /* the spec forms, for help and error lists: "zstd[:LEVEL]" */
	const char *summary; /* one line for help */
	/* Read the text after "name:" (NULL when there is none); NULL: the codec takes none. */
	int (*parse)(struct emu_codec *c, const char *params, struct ep_error *err);
	size_t (*bound)(const struct emu_codec *c, size_t bytes, const int64_t *shape, int rank);
	int (*encode)(struct emu_codec *c, const float *x, size_t bytes, const int64_t *shape,
		      int rank, void *out, size_t cap, size_t *out_bytes, struct ep_error *err);
	int (*decode)(struct emu_codec *c, const void *in, size_t in_bytes, const int64_t *shape,
		      int rank, float *x, size_t bytes, struct ep_error *err);
};

/* The registry, NULL-terminated; a codec's index is its id on the wire (emu_codec_id). */
extern const struct emu_codec_type *const emu_codec_registry[];

/* The codec whose name is name[0..len), or NULL. */
const struct emu_codec_type *emu_codec_find(const char *name, size_t len);

/* Every codec's usage, comma-separated, into buf (snprintf's contract: truncated, always
 * terminated when size > 0); returns the length the whole list needs. */
size_t emu_codec_usage(char *buf, size_t size);

/* The codec's index in emu_codec_registry (0 = none): what a frame header carries to name the
 * codec of its payload (emu_frame.h). */
int emu_codec_id(const struct emu_codec *c);

#endif
