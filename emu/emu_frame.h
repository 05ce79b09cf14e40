/*
 * emu_frame: what the emulator's stages, dispatcher and controller say to each other.
 *
 * Data path (TCP, through the emulated links): a stream of frames, each a fixed 64-byte header
 * followed by `wire_bytes` of payload. The header carries the request id, the attempt (the
 * dispatcher's send number for that request), the deployment, the dispatcher's issue and send
 * times, and the tensor's size before and after compression. Fields are in host byte order:
 * every process of a run is on one host. Times are CLOCK_MONOTONIC nanoseconds, which network
 * namespaces share, so a time written in one namespace is comparable in another.
 *
 *     HELLO  the first frame on every connection: who is sending (deployment, stage)
 *     DATA   a request's tensor: the input from the dispatcher, a cut tensor between stages,
 *            the prediction back to the dispatcher
 *     PROBE  no payload; forwarded by every stage without compute (readiness and path latency)
 *
 * Payloads are float32 tensors: computed ones (real compute) or synthetic ones
 * (emu_tensor_fill) of the cut tensor's real size, coded on the wire by the run's codec
 * (emu_codec.h, as DEFER compressed its activations with ZFP and LZ4): the header's `codec` is
 * the codec's id (emu_codec_id; 0 = the raw bytes), raw_bytes the tensor, wire_bytes its
 * encoding. Every sender encodes what it sends and every receiver decodes what it takes, so
 * coding costs what it would cost; a receiver refuses a codec other than its own.
 *
 * Control path (AF_UNIX SOCK_SEQPACKET, one socketpair per stage process, outside the emulated
 * network: the emulation's management plane): struct emu_ctl_msg.
 *
 * Heartbeats (UDP through the emulated links, node -> dispatcher's namespace): struct
 * emu_heartbeat_msg.
 */
#ifndef EDGEPIPE_EMU_FRAME_H
#define EDGEPIPE_EMU_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EMU_FRAME_MAGIC     0x31465045u /* "EPF1" */
#define EMU_FRAME_MAX_BYTES (1024.0 * 1024 * 1024) /* payload limit, 1 GiB */

enum emu_frame_type { EMU_FRAME_HELLO = 1, EMU_FRAME_DATA = 2, EMU_FRAME_PROBE = 3 };

enum {
	EMU_FRAME_NOHOLD = 1 << 1, /* probes: no transport latency (the baseline probe) */
};

struct emu_frame_hdr {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;
	uint32_t deployment;
	uint32_t attempt;    /* 1 for a request's first send */
	uint64_t request;
	uint64_t issue_ns;   /* the dispatcher issued the request */
	uint64_t sent_ns;    /* the dispatcher sent this attempt */
	uint64_t raw_bytes;  /* the tensor before compression */
	uint64_t wire_bytes; /* the payload that follows */
	int32_t stage;       /* who sent the frame: a stage, or -1 for the dispatcher */
	uint16_t codec;      /* the payload's codec (emu_codec_id); 0 = raw float32 bytes */
	uint16_t reserved;
};

_Static_assert(sizeof(struct emu_frame_hdr) == 64, "the frame header is 64 bytes");

/*
 * An incremental reader for a non-blocking socket. Zero-initialise; free with release.
 * With `discard` set, a raw payload (codec 0) is taken off the socket without being copied
 * to user space (recv with MSG_TRUNC, which TCP implements as "consume"): for receivers that
 * never look at the contents (synthetic tensors, no codec), where that copy was half of
 * a relay's per-byte work. buf then holds nothing of the frame. Coded payloads are always
 * read (they are decoded).
 */
struct emu_frame_reader {
	struct emu_frame_hdr hdr;
	size_t got;       /* bytes of the current frame so far, header included */
	char *buf;        /* the payload */
	size_t cap;
	bool discard;
};

/*
 * Read what `fd` has. Returns 1 when a whole frame is in r->hdr and r->buf (call
 * emu_frame_reader_next before reading on), 0 when the socket has nothing more for now, -1 on
 * end of stream or an error (errno set; 0 for a clean end), -2 for a malformed frame (bad
 * magic or size) or no memory. *bytes (may be NULL) is incremented by what was read.
 */
int emu_frame_read(struct emu_frame_reader *r, int fd, double *bytes);
void emu_frame_reader_next(struct emu_frame_reader *r);
void emu_frame_reader_release(struct emu_frame_reader *r);

/* One frame to send: the header, then `len` payload bytes from `payload` (borrowed, or owned
 * when `owned`: freed once sent or dropped). */
struct emu_out_frame {
	struct emu_frame_hdr hdr;
	const char *payload;
	char *owned;
	size_t off; /* bytes of header + payload already written */
};

/* A FIFO of frames to send on one socket. Zero-initialise; free with release. */
struct emu_out_queue {
	struct emu_out_frame *v;
	int head, count, cap;
};

/* Append; EP_OK or EP_ENOMEM (an owned payload is freed on failure too). */
int emu_out_push(struct emu_out_queue *q, const struct emu_frame_hdr *hdr, const char *payload,
		 char *owned);
/* The i-th queued frame (0 = the one being written). */
struct emu_out_frame *emu_out_at(struct emu_out_queue *q, int i);
/* Remove the last queued frame (which must not have started) into *out; its owned payload
 * passes to the caller. false if the queue is empty or the last frame has started. */
bool emu_out_pop_back(struct emu_out_queue *q, struct emu_out_frame *out);
/*
 * Write as much as `fd` takes (non-blocking, MSG_NOSIGNAL). Returns the number of frames
 * completed (>= 0), or -1 on a socket error (errno set). *bytes (may be NULL) is incremented
 * by the bytes written.
 */
int emu_out_flush(struct emu_out_queue *q, int fd, double *bytes);
void emu_out_release(struct emu_out_queue *q);

/*
 * Fill `bytes` bytes with float32 values shaped like the activations after a ReLU, so that
 * compression sees what it would see: rows of 56 values (a feature-map row), a quarter of them
 * all zero (inactive channels), the others a random walk cut at zero (about half zeros, in
 * runs), nonzero values with full random mantissas. dense = true instead gives softmax-like
 * positive values with no zeros (a prediction). Deterministic for a seed. A trailing partial
 * value is zero.
 */
void emu_tensor_fill(void *buf, size_t bytes, uint64_t seed, bool dense);

/*
 * Busy work: `iters` dependent multiply-adds (2 FLOPs each) in four chains, so the compiler
 * can neither vectorise nor remove them. Returns a value the caller must keep (sum it into a
 * volatile) so the loop stays.
 */
double emu_work_run(double iters);
/* Multiply-adds per second on one core, the best of three runs of about seconds / 3 each. */
double emu_work_calibrate(double seconds);

/* ---- control messages (stage <-> controller) ---- */

enum emu_ctl_type {
	EMU_CTL_READY = 1, /* stage: connected to its successor */
	EMU_CTL_STUCK,     /* stage: its successor has taken nothing for the stuck timeout */
	EMU_CTL_COUNTERS,  /* stage: its counters (periodically, and last before it exits) */
	EMU_CTL_ERROR,     /* stage: a fatal error (text) */
	EMU_CTL_STOP,      /* controller: send final counters and exit */
};

struct emu_stage_counters {
	int64_t frames_in, frames_out, probes;
	double bytes_in_wire, bytes_in_raw;   /* received from the predecessor */
	double bytes_out_raw, bytes_out_wire; /* sent to the successor */
	double compute_s; /* wall time in busy work */
	double hold_s;    /* latency added by the transport, summed over frames */
	double encode_s;  /* coding what it sent (wall time) */
	double decode_s;  /* decoding what it received (wall time) */
	int max_backlog;  /* frames received and not yet sent, at most */
};

struct emu_ctl_msg {
	uint32_t type;
	int32_t peer;    /* STUCK: the successor's node (n = the dispatcher) */
	double value;    /* STUCK: seconds without progress */
	struct emu_stage_counters c;
	char text[200];  /* ERROR */
};

/* ---- heartbeats (node -> dispatcher, UDP) ---- */

#define EMU_HEARTBEAT_MAGIC 0x31425045u /* "EPB1" */

struct emu_heartbeat_msg {
	uint32_t magic;
	int32_t node;
	uint64_t seq;
	uint64_t sent_ns;
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t emu_now_ns(void);

#endif
