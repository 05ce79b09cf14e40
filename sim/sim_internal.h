/*
 * sim_internal: the pipeline simulation's state, shared by its files:
 * sim_pipeline.c (configuration, the dispatcher, requests moving through stages and links),
 * sim_recovery.c (crashes, detection, re-planning, deployments, the update) and sim_stats.c
 * (measurements and the report).
 *
 * Ownership: the pipeline owns everything here. Requests and tokens come from chunked pools
 * (their addresses never move, so events carry pointers to them) and go back to free lists;
 * nothing is freed before sim_pipeline_destroy.
 *
 * A request is what the client asked for; a token is one attempt of it moving through one
 * deployment. A request has at most one live retry timer; it may have several tokens (a slow
 * attempt and its retry). A token names its request by pointer and id: a request completed and
 * reused has another id, so a late token of it is recognised as a duplicate.
 */
#ifndef EDGEPIPE_SIM_INTERNAL_H
#define EDGEPIPE_SIM_INTERNAL_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "sim_engine.h"
#include "sim_histogram.h"
#include "sim_pipeline.h"

#define SIM_BATCHES 20 /* at least this many batch means for the confidence interval */

#define NS_PER_S 1e9

/* A time that never comes (a cut without an end); sums of two stay below INT64_MAX. */
#define SIM_NEVER_NS (INT64_MAX / 4)

/* Seconds to the engine's int64 nanoseconds, rounded to the nearest. The configured times are
 * checked (at most 1e9 s) before they are converted. */
static inline int64_t sim_to_ns(double s)
{
	return (int64_t)llround(s * NS_PER_S);
}

struct sim_deploy;

struct sim_req {
	int64_t id;              /* -1 while free */
	int64_t issue_ns;        /* first issue */
	int attempts;            /* sends so far (decided; a held one counts) */
	int64_t sent_ns;         /* the last send */
	bool held;               /* waiting in the dispatcher's backlog */
	struct sim_deploy *dep;  /* the deployment the last attempt went into */
	struct sim_event_ref timer; /* the retry timer of the last send, or of a resend */
	struct sim_req *next_free;
	struct sim_req *prev, *next; /* in the list of outstanding requests */
};

struct sim_token {
	struct sim_req *req;
	int64_t req_id;
	struct sim_deploy *dep;
	int step;                /* -1 before hop 0; even 2h: hop h; odd 2s+1: stage s */
	struct sim_token *next;  /* in a server's FIFO, or the free list */
	/* shared medium: waiting in the sender's (side 0) and the receiver's (side 1) list */
	struct sim_token *wprev[2], *wnext[2];
	struct sim_event_ref ev; /* a transfer on a medium, or a propagation delay */
};

/* Time integrals since the measurement started; n and busy are the state being integrated. */
struct sim_acc {
	int64_t last_ns;
	double busy_ns;
	double area;   /* of n, in ns */
	int max;
	int64_t served;
	double bits;   /* links: the bits of the transfers completed */
};

/* A FIFO server: a node's processor, or one ordered pair's link. In shared-medium mode a link
 * only keeps statistics (n: transfers waiting or under way; busy: one under way). */
struct sim_server {
	struct sim_pipeline *sp;
	bool is_link;
	int from, to;            /* node, node for a processor */
	struct sim_token *head, *tail; /* head is in service when busy */
	int n;
	bool busy;
	struct sim_event_ref done;
	int64_t done_ns;         /* when `done` fires */
	struct sim_acc acc;
};

/* A node's (or the dispatcher's) half-duplex medium. */
struct sim_medium {
	int n;                           /* transfers waiting for it or under way */
	bool busy;
	struct sim_token *current;       /* the transfer under way */
	struct sim_token *whead, *wtail; /* transfers waiting for this medium */
	struct sim_acc acc;
};

struct sim_hop {
	int from, to;
	int64_t busy_ns;  /* what a transfer occupies the link for (mean) */
	int64_t lat_ns;   /* then the propagation delay (latency_pipelined only) */
	double bits;      /* what it sends: the cut's wire bits */
	struct sim_server *link; /* NULL: the hop takes no time */
};

struct sim_deploy {
	int epoch;
	const struct problem *problem; /* its model on the full cluster */
	struct plan plan;              /* nodes of the full cluster */
	struct plan_cost cost;
	int k;
	int64_t *stage_ns;             /* [k] mean compute time */
	struct sim_hop *hops;          /* [k+1] */
	bool drop_previous;            /* when it goes live (recovery, not update) */
	int incident;                  /* the incident it answers */
	bool dropped;
	int64_t first_answer_ns;       /* -1 until a request sent to it completes */
};

struct sim_node {
	bool dead;       /* crashed */
	bool away;       /* declared dead while alive (a stall, a cut from the dispatcher): its
			    deployments were torn down; it comes back when it heartbeats again */
	int64_t back_ns; /* away: when its heartbeats come again, SIM_NEVER_NS: not foreseen */
	bool known_dead; /* the dispatcher has declared it dead */
	int64_t detect_ns; /* when heartbeats declare it dead (crashed nodes) */
	int incident;      /* its crash's incident (crashed nodes) */
};

enum sim_state { SIM_UP = 0, SIM_DOWN, SIM_FAILED };

struct sim_backlog_entry {
	struct sim_req *req;
	int64_t id;
};

struct sim_pipeline {
	const struct problem *base;   /* borrowed */
	struct problem *update_problems; /* [cfg.n_updates]: each update's model on the cluster */
	int n_update_problems;           /* initialised so far */
	int dip_update;                  /* the update the dip measures (sim_pipeline.h), -1 */
	int window;                      /* closed loop: requests in flight wanted now */
	const struct problem *target; /* the model the dispatcher wants running */
	struct sim_config cfg;
	struct sim_engine *eng;
	gsl_rng *rng_arrival, *rng_service, *rng_transfer, *rng_failure, *rng_plan;
	int n;                         /* nodes; n is also the dispatcher's index */
	struct sim_node *nodes;        /* [n] */
	struct sim_server *cpu;        /* [n] */
	struct sim_server **links;     /* every link used so far, in order of first use */
	int n_links, cap_links;
	struct sim_medium *media;      /* [n + 1] with shared_medium */
	struct sim_deploy **deploys;   /* every deployment, epoch = index */
	int n_deploys, cap_deploys;
	struct sim_deploy *live, *pending;
	enum sim_state state;
	int64_t period_ns, timeout_ns, retry_ns, bin_ns;
	int64_t duration_ns;           /* cfg.duration_s in ns (which is 0 for no limit) */
	/* pools */
	void **chunks;
	int n_chunks, cap_chunks;
	struct sim_req *free_reqs;
	struct sim_token *free_tokens;
	/* dispatcher */
	int64_t next_id, outstanding;
	int64_t tokens_live;               /* attempts moving through a deployment */
	struct sim_req *out_head, *out_tail; /* outstanding requests, oldest first */
	bool issuing_done, in_issue, ran;
	struct sim_backlog_entry *backlog; /* ring */
	size_t bl_head, bl_len, bl_cap;
	struct sim_acc sys_acc;            /* of outstanding */
	/* measurements */
	bool warm;
	int64_t warm_ns;
	struct sim_hist *lat;              /* measured latencies, ns */
	double lat_sum_s;                  /* their sum, in completion order */
	/* Batch means of the measured latencies, in completion order: batches of batch_n
	 * samples; when 2 x SIM_BATCHES are full, pairs merge and batch_n doubles. */
	double batch_sum[2 * SIM_BATCHES], cur_sum;
	int n_batches;
	int64_t batch_n, cur_n;
	int64_t first_answer_ns;           /* -1 until the first completion */
	int64_t answers_at_update;         /* completions when the update came */
	int64_t *series;
	int n_bins, cap_bins;
	struct sim_incident *incidents;
	int n_incidents, cap_incidents;
	int update_incident;               /* the dip update's incident, -1 */
	struct sim_deploy *update_deploy;  /* the first deployment of the dip update's model to
					      go live */
	struct sim_report report;
	struct sim_server_stats *node_stats, *link_stats, *media_stats;
	struct sim_node_energy *energy;    /* [n] with cfg.power */
	/* the timeline's faults (sim_faults.c); all NULL without faults */
	int64_t *stall_until_ns;           /* [n] a stalled node holds its work until then */
	double *pair_bw, *pair_loss;       /* [(n+1)^2] 0: the cluster's bandwidth, no loss */
	int64_t *pair_down_until_ns;       /* [(n+1)^2] a cut pair holds transfers until then */
	int *fault_node;                   /* [2 n_faults] the nodes a fault acted on */
	bool *pair_cut;                    /* [(n+1)^2] found cut (STUCK): for the rest of the
					      run, as the emulator keeps it */
	int *pair_fault;                   /* [(n+1)^2] the link-down fault that cut it last */
	int64_t *stuck_ns;                 /* [(n+1)^2] the pending STUCK check, -1 none */
	int wait_incident;                 /* no plan, waiting for a node to come back: the
					      incident to answer, else -1 */
	/* the first error raised inside an event; the run stops on it */
	int err_code;
	struct ep_error err;
};

/* sim_pipeline.c */
void sim_fail(struct sim_pipeline *sp, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* One line of the event trace, prefixed with the time in ns. Call through SIM_TRACE, which
 * evaluates the arguments only when there is a trace. */
void sim_trace(struct sim_pipeline *sp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define SIM_TRACE(sp, ...)                                                                     \
	do {                                                                                   \
		if ((sp)->cfg.trace)                                                           \
			sim_trace((sp), __VA_ARGS__);                                          \
	} while (0)
int64_t sim_now(const struct sim_pipeline *sp);
void sim_schedule(struct sim_pipeline *sp, int64_t time_ns, sim_event_fn fn, void *ctx,
		  uint64_t arg, struct sim_event_ref *ref);
void sim_lose(struct sim_pipeline *sp, struct sim_token *t, const char *why);
void sim_send_request(struct sim_pipeline *sp, struct sim_req *req);
/* Closed loop: issue requests until `window` are in flight. */
void sim_issue_closed(struct sim_pipeline *sp);
/* The closed-loop window for deployment `d` (sim_plan_window's rule). */
int sim_deploy_window(const struct sim_pipeline *sp, const struct sim_deploy *d);
void sim_server_purge(struct sim_pipeline *sp, struct sim_server *srv,
		      const struct sim_deploy *dep);
/* Lose the transfers through medium `node` (of `dep` only, unless NULL); then, once every
 * purge is done, sim_media_restart starts what can start. */
void sim_media_purge(struct sim_pipeline *sp, int node, const struct sim_deploy *dep);
void sim_media_restart(struct sim_pipeline *sp);
struct sim_server *sim_link_get(struct sim_pipeline *sp, int from, int to);

void sim_server_done_ev(struct sim_engine *e, void *ctx, uint64_t arg);
/* sim_faults.c: a server's draw `d` (ns) for the work it starts now, with the faults in force:
 * a stalled node's start waits for the stall's end, a cut pair's for TCP's first
 * retransmission after the link is back, a changed bandwidth or a loss changes the mean. */
int64_t sim_faults_delay(struct sim_pipeline *sp, const struct sim_server *srv,
			 const struct sim_hop *h, int64_t d);
int sim_faults_start(struct sim_pipeline *sp, struct ep_error *err);
/* Until when `node`'s heartbeats do not reach the dispatcher: a stall's end (its heartbeater
 * sends at once when it resumes), or the first heartbeat (a multiple of the period) at or
 * after the end of a cut between it and the dispatcher; now when neither holds; SIM_NEVER_NS
 * for a cut without an end. */
int64_t sim_faults_silent_until(const struct sim_pipeline *sp, int node);
int sim_faults_check(const struct problem *p, const struct sim_config *c, struct ep_error *err);
/* sim_recovery.c */
/* A node crashes now (a timeline kill, --mtbf). */
void sim_crash(struct sim_pipeline *sp, int node);
/* The dispatcher declares `node` dead now, because of timeline fault `fault` (a stall, or a
 * cut from the dispatcher: `kind`), although it is alive: as the emulator, it tears down the
 * deployments that use it, re-plans without it, and takes it back when it heartbeats again
 * (sim_faults_silent_until). */
void sim_node_away(struct sim_pipeline *sp, int node, enum sim_incident_kind kind, int fault);
/* The sender `from` found its link to `to` STUCK (fault `fault` cut it): the pair is marked
 * cut both ways for the rest of the run, the deployments that send over it are torn down,
 * and the dispatcher re-plans around it. */
void sim_link_found_cut(struct sim_pipeline *sp, int from, int to, int fault);
int sim_deploy_build(struct sim_pipeline *sp, const struct problem *p, const struct plan *plan,
		     struct sim_deploy **out, struct ep_error *err);
void sim_deploy_destroy(struct sim_deploy *d);
int sim_recovery_start(struct sim_pipeline *sp, struct ep_error *err);
void sim_backlog_flush(struct sim_pipeline *sp);
/* Failure detection has learnt something (a node declared dead, a deployment dropped): resend
 * the outstanding requests whose attempts it now knows may be lost. */
void sim_resend_known_lost(struct sim_pipeline *sp);
/* Requests waiting in the backlog that have not completed meanwhile. */
int64_t sim_backlog_waiting(const struct sim_pipeline *sp);

/* sim_stats.c */
static inline void sim_acc_touch(struct sim_acc *a, int64_t now, int n, bool busy)
{
	double dt = (double)(now - a->last_ns);

	a->area += dt * n;
	if (busy)
		a->busy_ns += dt;
	a->last_ns = now;
}

static inline void sim_acc_max(struct sim_acc *a, int n)
{
	if (n > a->max)
		a->max = n;
}

/* sim_energy.c: the report's modelled energy (sim_pipeline.h) from its node and link
 * statistics over an interval of interval_s; nothing without cfg.power. EP_OK or EP_ENOMEM. */
int sim_energy_report(struct sim_pipeline *sp, double interval_s, struct ep_error *err);

void sim_stats_start(struct sim_pipeline *sp);
void sim_stats_complete(struct sim_pipeline *sp, struct sim_req *req);
int sim_stats_report(struct sim_pipeline *sp, struct ep_error *err);

#endif
