/*
 * workload: the load a back end (sim/, emu/) puts on a plan, and the sizes that depend on the
 * plan: the closed-loop window, the throughput series' bin and the retry timeout. They are
 * computed here, once, from the one cost function (plan_cost), so that the simulator and the
 * emulator size the same experiment alike (DESIGN.md: one cost function, never two copies).
 *
 * The per-request times of a plan under a back end's model (which terms take time and whether a
 * link's latency occupies it):
 * - round trip: an unloaded request's stage and hop times, summed (the latency of every hop
 *   counted, whether or not it occupies the link);
 * - busy: the largest time one server (a node's stage, a link's hop) is busy per request: the
 *   hop's bandwidth term only when the latency is pipelined (it delays without occupying).
 * A deterministic pipeline keeps its busiest server busy with ceil(round trip / busy) requests
 * in flight.
 */
#ifndef EDGEPIPE_WORKLOAD_H
#define EDGEPIPE_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "ep_error.h"
#include "plan.h"
#include "problem.h"

enum workload_arrival {
	WORKLOAD_CLOSED = 0, /* a window of requests in flight */
	WORKLOAD_POISSON,    /* exponential inter-arrival times of mean 1 / rate */
	WORKLOAD_CONSTANT,   /* one request every 1 / rate */
};

/* "closed", "poisson", "constant". */
const char *workload_arrival_name(enum workload_arrival a);
/*
 * The workload as users type it, `option`'s value (named in the message): "closed:W" (a whole
 * number of requests in flight, W <= max_window), "poisson:RATE" or "constant:RATE[/s]"
 * (requests per second, RATE < max_rate): *kind and *value (W or RATE). EP_EINVAL naming it.
 */
int workload_arrival_parse(const char *option, const char *s, double max_window, double max_rate,
			   enum workload_arrival *kind, double *value, struct ep_error *err);

/* Which terms take time in a back end's model of the running pipeline. */
struct workload_model {
	bool compute;           /* stages take plan_cost's compute time */
	bool dispatcher_hops;   /* the input and output hops take time */
	bool latency_pipelined; /* a link is busy for the bandwidth term only */
};

/* The per-request times of a plan (above), in seconds; both 0 when nothing takes time. */
struct workload_terms {
	double round_trip_s;
	double busy_s;
};

/*
 * The per-request times of `plan` (valid for `p`) under model `m`, from plan_cost. Hops that
 * carry no bits take no time. Returns EP_OK or EP_ENOMEM.
 * Complexity: O(stages).
 */
int workload_plan_terms(const struct problem *p, const struct plan *plan,
			const struct workload_model *m, struct workload_terms *out,
			struct ep_error *err);

/* The closed-loop window that keeps the busiest server busy: ceil(round trip / busy) + 1 (one
 * more absorbs some variation of random times), at most max_window; 1 when nothing takes time. */
int workload_window(const struct workload_terms *t, int max_window);

/*
 * The expected length of a run in seconds: closed loop, requests x busy (the saturated rate);
 * open loop, requests / rate; bounded by duration_s when that is set (> 0). 0 when neither
 * requests nor a duration bounds it.
 */
double workload_run_s(enum workload_arrival arrival, double rate, int64_t requests,
		      double duration_s, const struct workload_terms *t);

/*
 * The throughput series' bin: about ten answers per bin at the plan's rate (10 x busy), fine
 * enough to show a recovery, but at least run_s / 10000 so that the series does not grow with
 * the request count, and at least min_bin_s (a back end's timer resolution); at most 1e8 s.
 * With nothing taking time: run_s / 50, or 1 s.
 */
double workload_bin_s(const struct workload_terms *t, double run_s, double min_bin_s);

/*
 * The retry timeouts of the two resend rules:
 * - detected (the simulator): a request is resent only when failure detection says its attempt
 *   may be lost; a crash is declared at most a heartbeat timeout after it, and one period later
 *   the dispatcher knows which attempts it may have lost: timeout + period, at most max_s.
 * - blind (the emulator): a request unanswered for long is resent whatever detection says, so
 *   the timeout must be well above any healthy latency: ten times the longer of the round trip
 *   and a closed window's turn (window x busy), and at least 30 s.
 */
double workload_retry_detected_s(double heartbeat_period_s, double heartbeat_timeout_s,
				 double max_s);
double workload_retry_blind_s(const struct workload_terms *t, enum workload_arrival arrival,
			      int window);

#endif
