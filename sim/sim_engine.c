#include "sim_engine.h"

#include <inttypes.h>
#include <stdlib.h>

#define DEFAULT_RESERVE 256
#define NO_SLOT UINT32_MAX

/* The heap holds the ordering key next to the slot, so that sifting reads only the heap. */
struct heap_entry {
	int64_t time;
	uint64_t seq;
	uint32_t slot;
};

struct event_rec {
	sim_event_fn fn;
	void *ctx;
	uint64_t arg;
	uint64_t seq;      /* 0 while the record is free */
	uint32_t next_free;
};

struct sim_engine {
	int64_t now;
	uint64_t next_seq;
	uint64_t events_run;
	bool stop;
	struct heap_entry *heap;
	size_t n_heap;
	struct event_rec *pool;
	uint32_t *pos;     /* [n_pool] a pending event's index in the heap (for cancel); kept
			      apart from the records so that sifting touches less memory */
	size_t n_pool;
	uint32_t free_head;
};

static inline bool before(const struct heap_entry *a, const struct heap_entry *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

/* Add records n_pool .. cap-1 to the free list and make the heap as large as the pool. */
static int pool_grow(struct sim_engine *e, size_t cap)
{
	struct event_rec *pool;
	struct heap_entry *heap;
	uint32_t *pos;

	if (cap > NO_SLOT)
		return EP_ENOMEM;
	pool = realloc(e->pool, cap * sizeof(*pool));
	if (!pool)
		return EP_ENOMEM;
	e->pool = pool;
	pos = realloc(e->pos, cap * sizeof(*pos));
	if (!pos)
		return EP_ENOMEM;
	e->pos = pos;
	heap = realloc(e->heap, cap * sizeof(*heap));
	if (!heap)
		return EP_ENOMEM;
	e->heap = heap;
	/* Free records are handed out lowest index first, so that a run's slots are the same
	 * whatever the reserve. */
	for (size_t i = cap; i-- > e->n_pool;) {
		pool[i].seq = 0;
		pool[i].next_free = e->free_head;
		e->free_head = (uint32_t)i;
	}
	e->n_pool = cap;
	return EP_OK;
}

int sim_engine_create(size_t reserve, struct sim_engine **out, struct ep_error *err)
{
	struct sim_engine *e = calloc(1, sizeof(*e));

	*out = NULL;
	if (!e)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the event engine");
	e->next_seq = 1;
	e->free_head = NO_SLOT;
	if (pool_grow(e, reserve ? reserve : DEFAULT_RESERVE)) {
		sim_engine_destroy(e);
		return ep_error_set(err, EP_ENOMEM, "out of memory for %zu events",
				    reserve ? reserve : (size_t)DEFAULT_RESERVE);
	}
	*out = e;
	return EP_OK;
}

void sim_engine_destroy(struct sim_engine *e)
{
	if (!e)
		return;
	free(e->heap);
	free(e->pool);
	free(e->pos);
	free(e);
}

int64_t sim_engine_now(const struct sim_engine *e)
{
	return e->now;
}

static void sift_up(struct sim_engine *e, size_t i, struct heap_entry x)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(&x, &e->heap[parent]))
			break;
		e->heap[i] = e->heap[parent];
		e->pos[e->heap[i].slot] = (uint32_t)i;
		i = parent;
	}
	e->heap[i] = x;
	e->pos[x.slot] = (uint32_t)i;
}

/*
 * Remove the root: its hole goes down to a leaf along the earlier child (one comparison per
 * level), then the last entry is sifted up from there (Floyd's bottom-up pop; the last entry
 * usually belongs near the bottom, so this does about half the comparisons of sift_down).
 */
static void pop_root(struct sim_engine *e)
{
	size_t n = --e->n_heap, i = 0;

	if (n == 0)
		return;
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && before(&e->heap[c + 1], &e->heap[c]))
			c++;
		e->heap[i] = e->heap[c];
		e->pos[e->heap[i].slot] = (uint32_t)i;
		i = c;
	}
	sift_up(e, i, e->heap[n]);
}

static void sift_down(struct sim_engine *e, size_t i, struct heap_entry x)
{
	size_t n = e->n_heap;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && before(&e->heap[c + 1], &e->heap[c]))
			c++;
		if (!before(&e->heap[c], &x))
			break;
		e->heap[i] = e->heap[c];
		e->pos[e->heap[i].slot] = (uint32_t)i;
		i = c;
	}
	e->heap[i] = x;
	e->pos[x.slot] = (uint32_t)i;
}

int sim_engine_schedule(struct sim_engine *e, int64_t time_ns, sim_event_fn fn, void *ctx,
			uint64_t arg, struct sim_event_ref *ref, struct ep_error *err)
{
	struct event_rec *r;
	uint32_t slot;

	if (time_ns < e->now)
		return ep_error_set(err, EP_EINVAL, "event at %" PRId64 " ns is before the clock "
				    "(%" PRId64 " ns)", time_ns, e->now);
	if (e->free_head == NO_SLOT && pool_grow(e, 2 * e->n_pool))
		return ep_error_set(err, EP_ENOMEM, "out of memory for %zu pending events",
				    2 * e->n_pool);
	slot = e->free_head;
	r = &e->pool[slot];
	e->free_head = r->next_free;
	r->fn = fn;
	r->ctx = ctx;
	r->arg = arg;
	r->seq = e->next_seq++;
	sift_up(e, e->n_heap++, (struct heap_entry){ time_ns, r->seq, slot });
	if (ref)
		*ref = (struct sim_event_ref){ slot, r->seq };
	return EP_OK;
}

int sim_engine_after(struct sim_engine *e, int64_t delay_ns, sim_event_fn fn, void *ctx,
		     uint64_t arg, struct sim_event_ref *ref, struct ep_error *err)
{
	if (delay_ns < 0 || delay_ns > SIM_TIME_MAX - e->now)
		return ep_error_set(err, EP_EINVAL, "event delay %" PRId64 " ns out of range",
				    delay_ns);
	return sim_engine_schedule(e, e->now + delay_ns, fn, ctx, arg, ref, err);
}

static void release_slot(struct sim_engine *e, uint32_t slot)
{
	e->pool[slot].seq = 0;
	e->pool[slot].next_free = e->free_head;
	e->free_head = slot;
}

bool sim_engine_pending_ref(const struct sim_engine *e, const struct sim_event_ref *ref)
{
	return ref->seq != 0 && ref->slot < e->n_pool && e->pool[ref->slot].seq == ref->seq;
}

bool sim_engine_cancel(struct sim_engine *e, struct sim_event_ref *ref)
{
	size_t pos;
	struct heap_entry last;

	if (!sim_engine_pending_ref(e, ref)) {
		*ref = (struct sim_event_ref){ 0, 0 };
		return false;
	}
	pos = e->pos[ref->slot];
	release_slot(e, ref->slot);
	*ref = (struct sim_event_ref){ 0, 0 };
	last = e->heap[--e->n_heap];
	if (pos == e->n_heap)
		return true;
	/* The last entry fills the hole; it may belong above or below it. */
	if (pos > 0 && before(&last, &e->heap[(pos - 1) / 2]))
		sift_up(e, pos, last);
	else
		sift_down(e, pos, last);
	return true;
}

enum sim_run_end sim_engine_run(struct sim_engine *e, int64_t until_ns)
{
	e->stop = false;
	while (e->n_heap > 0) {
		struct heap_entry top = e->heap[0];
		struct event_rec *r;
		sim_event_fn fn;
		void *ctx;
		uint64_t arg;

		if (top.time > until_ns) {
			if (until_ns > e->now)
				e->now = until_ns;
			return SIM_RUN_UNTIL;
		}
		pop_root(e);
		r = &e->pool[top.slot];
		fn = r->fn;
		ctx = r->ctx;
		arg = r->arg;
		/* Free the record before the callback, which may schedule into it. */
		release_slot(e, top.slot);
		e->now = top.time;
		e->events_run++;
		fn(e, ctx, arg);
		if (e->stop)
			return SIM_RUN_STOPPED;
	}
	return SIM_RUN_EMPTY;
}

void sim_engine_stop(struct sim_engine *e)
{
	e->stop = true;
}

size_t sim_engine_pending(const struct sim_engine *e)
{
	return e->n_heap;
}

uint64_t sim_engine_events_run(const struct sim_engine *e)
{
	return e->events_run;
}

size_t sim_engine_pool_size(const struct sim_engine *e)
{
	return e->n_pool;
}
