/*
 * emu_probe: a bulk TCP transfer between two emulated nodes that measures the achieved rate.
 *
 * A receiver process in the destination's namespace listens on an ephemeral port; a sender in
 * the source's namespace connects and writes as fast as the link lets it. The receiver
 * timestamps every read (CLOCK_MONOTONIC): the rate is the TCP payload received after a
 * warm-up (which covers connection set-up and slow start) over the measured window, so it is
 * directly comparable with an emu_net bandwidth (a payload rate by default). It also keeps
 * the bytes of every `interval_s` bin since the first byte, so a test can see a rate change
 * in the middle of a transfer. The receiver then closes, which stops the sender.
 *
 * The probe is two forked processes (emu_net_spawn); emu_probe_start returns at once, so the
 * caller may reshape links while the transfer runs, and emu_probe_finish waits for it.
 */
#ifndef EDGEPIPE_EMU_PROBE_H
#define EDGEPIPE_EMU_PROBE_H

#include "emu_net.h"
#include "ep_error.h"

#define EMU_PROBE_MAX_BINS 512

struct emu_probe_options {
	double warmup_s;   /* from the first byte; 0 = 0.3 s */
	double duration_s; /* measured window after warm-up; 0 = 1 s */
	double interval_s; /* bin width; 0 = 0.1 s. (warmup + duration) / interval <= MAX_BINS */
	double timeout_s;  /* give up when no byte arrives for this long; 0 = 5 s */
};

struct emu_probe_result {
	double bytes;        /* payload bytes in the measured window */
	double seconds;      /* the window, first read after its start to last read in it */
	double rate_bps;     /* bytes x 8 / seconds */
	double start_mono_s; /* CLOCK_MONOTONIC of the first byte (emu_probe bins start here) */
	double total_bytes;  /* everything received, warm-up included */
	int n_bins;
	double bin_bytes[EMU_PROBE_MAX_BINS]; /* bytes received in [k, k+1) x interval_s */
};

struct emu_probe;

/*
 * Start a transfer from node `from` to node `to` (indices as in emu_net; the dispatcher is n).
 * `opt` may be NULL. *out is owned by the caller until emu_probe_finish.
 * Errors: EP_EINVAL (indices, options), EP_EIO (fork, pipe, or the receiver could not listen).
 */
int emu_probe_start(const struct emu_net *net, int from, int to,
		    const struct emu_probe_options *opt, struct emu_probe **out,
		    struct ep_error *err);

/*
 * Wait for the transfer to end and free the probe; fill *res. Errors: EP_EIO when no byte
 * arrived (a link down, say) or a process failed; the message says which. The probe is freed
 * in every case.
 */
int emu_probe_finish(struct emu_probe *probe, struct emu_probe_result *res,
		     struct ep_error *err);

/* Start and finish in one call. */
int emu_probe_run(const struct emu_net *net, int from, int to,
		  const struct emu_probe_options *opt, struct emu_probe_result *res,
		  struct ep_error *err);

#endif
