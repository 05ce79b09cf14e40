/*
 * emu_measure: the bandwidth matrix of real hosts, by a bulk TCP transfer between every ordered
 * pair, as SEIFER measured its cluster with iperf3, so that a plan is made for the real network
 * (`edgepipe measure`, written in the `--cluster file` format, algorithms/cluster.h).
 *
 * Each host runs an agent (`edgepipe measure --serve`, emu_measure_serve) listening on TCP. The
 * controller measures the pair (i, j) by asking agent i, on a control connection, to send to
 * agent j; agent i opens a data connection to agent j and writes as fast as TCP lets it for the
 * warm-up plus the window; agent j timestamps every read and measures the payload received in
 * the window that starts `warmup` after its first byte (covering connection set-up and slow
 * start, as emu_probe does); it reports the rate to agent i, which reports it to the controller.
 * The rate is the TCP payload rate (goodput), what a stage's transfer achieves.
 *
 * Protocol (text lines, then bulk bytes on data connections):
 *     controller -> agent i:  "send <host> <port> <warmup_ms> <window_ms>\n"
 *     agent i -> agent j:     "sink <warmup_ms> <window_ms>\n" then bulk bytes, then EOF
 *     agent j -> agent i:     "rate <bit/s> <bytes> <seconds>\n"   (after the EOF)
 *     agent i -> controller:  "rate <bit/s> <bytes> <seconds>\n" or "error <message>\n"
 * An agent serves each connection in a child process, so a host can send and receive at once.
 * Pairs are measured one at a time, so that transfers do not share links.
 *
 * Agents only answer; they never start a transfer of their own, and send only to the address
 * the controller names. Run them on hosts you own: an agent is a traffic source for anyone who
 * can reach its port.
 */
#ifndef EDGEPIPE_EMU_MEASURE_H
#define EDGEPIPE_EMU_MEASURE_H

#include <signal.h>

#include "ep_error.h"

#define EMU_MEASURE_PORT 7101 /* the agents' default TCP port */

/* A host: an IPv4 address or name, and the port of its agent. */
struct emu_measure_host {
	char addr[256];
	int port;
};

struct emu_measure_options {
	double warmup_s; /* from the receiver's first byte; 0 = 0.3 s */
	double window_s; /* the measured window; 0 = 1 s */
	double timeout_s; /* a connection or a read that takes longer fails; 0 = 10 s */
};

/*
 * Parse "ADDR[:PORT]" (PORT defaults to EMU_MEASURE_PORT). Errors: EP_EINVAL naming the text.
 */
int emu_measure_host_parse(const char *text, struct emu_measure_host *out, struct ep_error *err);

/*
 * Serve as an agent on `listen` until *stop becomes non-zero (a signal handler sets it; the
 * accept wakes at least every 0.2 s to look). Errors: EP_EIO (cannot listen: the message names
 * the address and the reason).
 */
int emu_measure_serve(const struct emu_measure_host *listen, volatile sig_atomic_t *stop,
		      struct ep_error *err);

/*
 * Measure the rate from host `from` to host `to` (both running agents) into *rate_bps.
 * Errors: EP_EIO (an agent unreachable, a transfer that failed or carried nothing; the message
 * names the pair), EP_EINVAL (options).
 */
int emu_measure_pair(const struct emu_measure_host *from, const struct emu_measure_host *to,
		     const struct emu_measure_options *opt, double *rate_bps,
		     struct ep_error *err);

/* Called after each pair with the pair and its rate, for progress. */
typedef void emu_measure_progress_fn(void *ctx, int from, int to, int done, int total,
				     double rate_bps);

/*
 * Measure every ordered pair of the n hosts into bw_bps[i * n + j] (the diagonal is 0).
 * `progress` may be NULL. Errors as emu_measure_pair; the first failure stops the matrix.
 * Complexity: n (n - 1) transfers of warmup + window each.
 */
int emu_measure_matrix(const struct emu_measure_host *hosts, int n,
		       const struct emu_measure_options *opt, double *bw_bps,
		       emu_measure_progress_fn *progress, void *ctx, struct ep_error *err);

#endif
