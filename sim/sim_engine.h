/*
 * sim_engine: a discrete-event engine: one clock, a binary heap of pending events ordered by
 * (time_ns, sequence), and a pool of event records that the engine owns.
 *
 * Invariants:
 * - The clock (sim_engine_now) never goes backwards. It is the time of the event being run, or
 *   after sim_engine_run returns, the time it stopped at.
 * - Events run in increasing time; events at the same time run in the order they were
 *   scheduled (the sequence is an insertion counter, as in git's prio-queue.c). With the same
 *   inputs a run is therefore the same sequence of callbacks, on every machine.
 * - Event records come from a pool that grows by doubling when every record is in use and is
 *   never shrunk: once the pool has reached the largest number of events pending at once,
 *   scheduling does not allocate (sim_engine_create's `reserve` can pre-size it).
 * - The engine draws no random numbers and reads no wall clock.
 *
 * Times are int64_t nanoseconds from 0 (about 292 years of simulated time).
 */
#ifndef EDGEPIPE_SIM_ENGINE_H
#define EDGEPIPE_SIM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ep_error.h"

struct sim_engine;

/* A time later than any event: sim_engine_run(e, SIM_TIME_MAX) runs until no event is left. */
#define SIM_TIME_MAX INT64_MAX

/*
 * The callback of an event: `ctx` and `arg` are the values given to sim_engine_schedule. It may
 * schedule and cancel events and call sim_engine_stop; it must not call sim_engine_run or
 * sim_engine_destroy.
 */
typedef void (*sim_event_fn)(struct sim_engine *e, void *ctx, uint64_t arg);

/*
 * Names one scheduled event, for sim_engine_cancel. A zeroed ref names no event. A ref stays
 * valid (and harmless) after its event ran or was cancelled: cancelling it then does nothing.
 */
struct sim_event_ref {
	uint32_t slot; /* the event's record in the pool */
	uint64_t seq;  /* its sequence number; 0 = none */
};

/*
 * Create an engine with the clock at 0 and room for `reserve` pending events before the pool
 * first grows (0: a small default). *out is owned by the caller (sim_engine_destroy).
 * Returns EP_OK or EP_ENOMEM.
 */
int sim_engine_create(size_t reserve, struct sim_engine **out, struct ep_error *err);

/* Free the engine and its pending events (their callbacks are not called). Accepts NULL. */
void sim_engine_destroy(struct sim_engine *e);

/* The current simulated time, ns. */
int64_t sim_engine_now(const struct sim_engine *e);

/*
 * Schedule `fn(e, ctx, arg)` at `time_ns` (>= now). `ref` (may be NULL) receives the event's
 * name for sim_engine_cancel. Returns EP_OK, EP_EINVAL (time in the past; the message gives both
 * times) or EP_ENOMEM (the pool could not grow; nothing was scheduled).
 * Complexity: O(log pending), amortised O(1) allocation only while the pool grows.
 */
int sim_engine_schedule(struct sim_engine *e, int64_t time_ns, sim_event_fn fn, void *ctx,
			uint64_t arg, struct sim_event_ref *ref, struct ep_error *err);

/* As sim_engine_schedule, `delay_ns` (>= 0) after now. */
int sim_engine_after(struct sim_engine *e, int64_t delay_ns, sim_event_fn fn, void *ctx,
		     uint64_t arg, struct sim_event_ref *ref, struct ep_error *err);

/*
 * Cancel the event `ref` names if it is still pending, and zero *ref. Returns true if an event
 * was removed, false if it had already run or been cancelled (or ref is zero).
 * Complexity: O(log pending).
 */
bool sim_engine_cancel(struct sim_engine *e, struct sim_event_ref *ref);

/* Whether the event `ref` names is still pending. */
bool sim_engine_pending_ref(const struct sim_engine *e, const struct sim_event_ref *ref);

/* Why sim_engine_run returned. */
enum sim_run_end {
	SIM_RUN_EMPTY = 0,   /* no event is left (the clock stays at the last event's time) */
	SIM_RUN_UNTIL = 1,   /* the next event is after `until_ns` (the clock is advanced to it) */
	SIM_RUN_STOPPED = 2, /* a callback called sim_engine_stop (the clock is its event's time) */
};

/*
 * Run events in (time, sequence) order while the earliest is at or before `until_ns`, or until
 * a callback calls sim_engine_stop; say which ended the run. Complexity: O(log pending) per
 * event.
 */
enum sim_run_end sim_engine_run(struct sim_engine *e, int64_t until_ns);

/* Ask sim_engine_run to return after the current callback. */
void sim_engine_stop(struct sim_engine *e);

/* Events pending, and events run since creation. */
size_t sim_engine_pending(const struct sim_engine *e);
uint64_t sim_engine_events_run(const struct sim_engine *e);

/* Records in the pool (pending and free): how far the pool has grown. */
size_t sim_engine_pool_size(const struct sim_engine *e);

#endif
