/*
 * problem: one instance to solve = a model profile + a cluster + accounting options + the
 * source of compute times. It also holds, per cut point, the arrays the algorithms read in their
 * inner loops.
 *
 * Compute sources (DESIGN.md, "Compute"): PROBLEM_COMPUTE_FLOPS, the published assumption and
 * the default: a stage's time is its FLOPs / the node's speed_flops (0 when the speed is 0:
 * compute not modelled). PROBLEM_COMPUTE_MEASURED: a stage's time is the sum of its layers'
 * measured median times on the profiling host (model_profile's cum_measured_s, from a layer
 * profile, model_lprofile.h) / the node's speed_factor. Both are one expression,
 * problem_stage_s = (cum_compute[b] - cum_compute[a]) / node_rate[node], so every algorithm and
 * plan_cost see either source through the same function.
 *
 * Stages and cuts: the profile's cut points are 0 .. m-1 (0 the input layer, m-1 the output).
 * A stage that starts after cut a and ends with cut b (0 <= a < b <= m-1) computes the layers
 * after a through b. The input layer (cut 0) belongs to the dispatcher, which sends its tensor
 * transfer_bits[0] to the first stage; the last stage sends transfer_bits[m-1] back.
 *
 * A wire codec (problem_codec, DEFER's LZ4 and ZFP): the cost model takes it as plain numbers,
 * measured elsewhere (tests/bench_codec prints them; its names are emu_codec.h's grammar, which
 * the command line checks: this layer does not depend on emu/). With a codec, a hop sends
 * wire_bits[k] = transfer_bits[k] / ratio, and a stage's time adds the decoding of its input
 * tensor and the encoding of its output tensor (both of their raw, uncompressed bytes: that is
 * how the codec speeds are measured), divided by the node's speed factor (1 unless given, as
 * the codec was timed on the profiling host like a layer profile), whatever the compute source.
 * The dispatcher's own coding (the input's encoding, the answer's decoding) is not a stage and
 * is not counted. Every stage codes, also the first (its input comes encoded from the
 * dispatcher) and the last (it sends its answer encoded), as the emulator does.
 */
#ifndef EDGEPIPE_PROBLEM_H
#define EDGEPIPE_PROBLEM_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster.h"
#include "ep_error.h"
#include "model_profile.h"

enum problem_compute {
	PROBLEM_COMPUTE_FLOPS = 0, /* FLOPs / speed_flops (default) */
	PROBLEM_COMPUTE_MEASURED,  /* measured seconds on the profiling host / speed_factor */
};

const char *problem_compute_name(enum problem_compute c); /* "flops", "profile" */

/* A wire codec as the cost model sees it. ratio 0 (the zero value) means no codec. */
struct problem_codec {
	char spec[48];            /* its name, emu_codec.h's grammar ("lz4", "zstd:3"); a label */
	double ratio;             /* raw bytes / encoded bytes, > 0; 0: no codec */
	double encode_s_per_byte; /* per raw byte, on the profiling host, >= 0 */
	double decode_s_per_byte; /* per raw byte, >= 0 */
};

struct problem_options {
	/* The cost counts each stage's compute time (FLOPs / node speed). */
	bool count_compute;
	/* The cost counts the hops dispatcher -> first stage and last stage -> dispatcher. */
	bool count_dispatcher;
	/* Memory test: stage memory < capacity (the notebooks' strict test) instead of <=. */
	bool strict_memory;
	/*
	 * Nodes are shared resources (Feltin et al.'s model, `--parallel`): a node may hold several
	 * stages, not necessarily consecutive ones; their compute times add up on it, the hops sent
	 * over one directed link add up on that link, a hop between two stages of one node costs 0,
	 * and the stages of a node must fit its memory together. Off (the default), every stage has
	 * its own node, and plan_check rejects a node used twice.
	 */
	bool shared_nodes;
	/* Where stage compute times come from (whether or not the metric counts them). */
	enum problem_compute compute;
	/* The wire codec (above); zero: none. Not part of the metric: the presets have none. */
	struct problem_codec codec;
};

/* The published metric: inter-stage hops only, strict memory test; FLOPs compute. */
#define PROBLEM_OPTIONS_PUBLISHED                                                              \
	((struct problem_options){ .count_compute = false, .count_dispatcher = false,          \
				   .strict_memory = true })
/* The full metric: compute and dispatcher hops count; FLOPs compute. */
#define PROBLEM_OPTIONS_FULL                                                                   \
	((struct problem_options){ .count_compute = true, .count_dispatcher = true,            \
				   .strict_memory = false })
/* Feltin et al.'s metric (IEEE Access 2023): compute and the hops between stages count, the
 * dispatcher hops do not (their model has no dispatcher); nodes are not shared unless
 * shared_nodes is set too (--parallel). FLOPs compute. */
#define PROBLEM_OPTIONS_FELTIN                                                                 \
	((struct problem_options){ .count_compute = true, .count_dispatcher = false,           \
				   .strict_memory = false })

/* The name of a metric: "published", "full" or "feltin" as the presets above (whatever
 * shared_nodes says), "custom" otherwise. */
const char *problem_metric_name(const struct problem_options *o);
/* The preset of a metric's name ("published", "full", "feltin") into *o, replacing it whole;
 * EP_EINVAL naming `option` and the name otherwise. */
int problem_metric_parse(const char *option, const char *name, struct problem_options *o,
			 struct ep_error *err);

/*
 * A codec's costing as users type it, `option`'s value: SPEC:RATIO:ENC_MBPS:DEC_MBPS, the
 * ratio and the encoding and decoding speeds (MB/s of raw bytes, as tests/bench_codec prints
 * them) positive numbers below 1e12. SPEC may hold colons itself (zstd:3): the numbers are
 * taken from the right. `spec_canon`, when not NULL, checks SPEC and gives its canonical form
 * (the emulator's emu_codec_spec_canon: this layer does not know the codecs); without it SPEC
 * is kept as given. *out is set only on success. EP_EINVAL naming `option` and the text.
 */
typedef int (*problem_codec_spec_fn)(const char *spec, char *out, size_t size,
				     struct ep_error *err);
int problem_codec_parse(const char *option, const char *text, problem_codec_spec_fn spec_canon,
			struct problem_codec *out, struct ep_error *err);

struct problem {
	const struct model_profile *profile; /* borrowed */
	const struct cluster *cluster;       /* borrowed */
	struct problem_options options;
	int m;                /* cut points */
	double *cum_mem;      /* [m] bytes from the input through cut k (profile's cum_mem_bytes) */
	double *cum_flops;    /* [m] */
	double *transfer_bits; /* [m] bits of the tensor after cut k, raw */
	double *wire_bits;     /* [m] bits a hop sends after cut k: transfer_bits / codec ratio */
	/* The compute source's work through cut k and each node's rate: FLOPs and speed_flops,
	 * or measured seconds and speed_factor (borrowed from the cluster). */
	double *cum_compute;      /* [m] */
	const double *node_rate;  /* [cluster n] */
	/* The codec's seconds per raw byte of a stage's input and output on each node: 0 without
	 * a codec (the speed factor applied, problem_codec above). */
	double *decode_s_per_byte; /* [cluster n] */
	double *encode_s_per_byte; /* [cluster n] */
};

/* Fill `p` for the given profile and cluster (both borrowed: they must outlive p). Returns
 * EP_OK, EP_EINVAL (fewer than 2 cut points, no nodes; measured compute with a profile that has
 * no measured times or a cluster without speed factors; a codec whose ratio is not positive and
 * finite or whose speeds are negative) or EP_ENOMEM. */
int problem_init(struct problem *p, const struct model_profile *profile,
		 const struct cluster *cluster, const struct problem_options *options,
		 struct ep_error *err);
void problem_release(struct problem *p);

/* Memory of a stage after cut a through cut b, in bytes. */
static inline double problem_stage_mem(const struct problem *p, int a, int b)
{
	return p->cum_mem[b] - p->cum_mem[a];
}

/* Whether that stage fits on `node`. */
static inline bool problem_fits(const struct problem *p, int a, int b, int node)
{
	double mem = problem_stage_mem(p, a, b), cap = p->cluster->mem_bytes[node];

	return p->options.strict_memory ? mem < cap : mem <= cap;
}

/* The coding time of a stage after cut a through cut b on `node`: decoding cut a's tensor and
 * encoding cut b's (problem_codec above); 0 without a codec. Not monotone in b (a later cut's
 * tensor may be smaller): bounds that need monotonicity use problem_stage_floor_s. */
static inline double problem_coding_s(const struct problem *p, int a, int b, int node)
{
	return (p->decode_s_per_byte[node] * p->transfer_bits[a] +
		p->encode_s_per_byte[node] * p->transfer_bits[b]) / 8.0;
}

/* Compute time of the stage on `node`, by the compute source: FLOPs / the node's speed, or
 * measured seconds / the node's speed factor (0 when the node's rate is 0: compute not
 * modelled), plus its coding time with a codec; whether or not the metric counts compute. */
static inline double problem_stage_s(const struct problem *p, int a, int b, int node)
{
	double rate = p->node_rate[node];

	return (rate > 0 ? (p->cum_compute[b] - p->cum_compute[a]) / rate : 0.0) +
	       problem_coding_s(p, a, b, node);
}

/* problem_stage_s without the encoding of the stage's output: a lower bound on it that never
 * decreases as b grows with a and node fixed (the layers' part only adds, the decoding of cut
 * a's tensor does not depend on b). */
static inline double problem_stage_floor_s(const struct problem *p, int a, int b, int node)
{
	double rate = p->node_rate[node];

	return (rate > 0 ? (p->cum_compute[b] - p->cum_compute[a]) / rate : 0.0) +
	       p->decode_s_per_byte[node] * p->transfer_bits[a] / 8.0;
}

/* The compute time as the metric counts it: problem_stage_s, or 0 when compute does not count.
 * The algorithms' inner loops use this one. */
static inline double problem_compute_s(const struct problem *p, int a, int b, int node)
{
	return p->options.count_compute ? problem_stage_s(p, a, b, node) : 0.0;
}

/* problem_compute_s's floor (problem_stage_floor_s), for the same bounds. */
static inline double problem_compute_floor_s(const struct problem *p, int a, int b, int node)
{
	return p->options.count_compute ? problem_stage_floor_s(p, a, b, node) : 0.0;
}

/* Time to send cut k's tensor from `from` to `to` (either may be the dispatcher): its wire bits
 * (after the codec) over bandwidth plus latency; 0 when nothing is sent or from == to. */
static inline double problem_hop_s(const struct problem *p, int k, int from, int to)
{
	double bits = p->wire_bits[k];

	if (bits <= 0 || from == to) /* from == to: two stages on one node (shared_nodes) */
		return 0.0;
	return bits / cluster_bw(p->cluster, from, to) + cluster_latency(p->cluster, from, to);
}

/* The largest stage end b >= a+1 such that (a, b] fits on `node`, or a if none does.
 * Complexity: O(log m). */
int problem_max_end(const struct problem *p, int a, int node);

#endif
