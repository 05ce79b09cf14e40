/*
 * sim_pipeline: a discrete-event simulation of one plan running as a pipeline on its cluster,
 * on top of sim_engine: requests queue at the stages and on the links, links may share a
 * half-duplex medium, nodes crash and the pipeline is re-planned and redeployed, the model is
 * updated while it runs.
 *
 * The model, as the rest of edgepipe defines it (DESIGN.md; problem.h, plan.h):
 * - Dispatcher. Issues requests, closed loop (a window of W requests in flight: each completion
 *   issues the next) or open loop (Poisson or constant rate), until `requests` have been issued
 *   or `duration_s` has passed. A request's latency runs from its first issue to its answer.
 * - Stages. Each node is one FIFO server; a request at stage s of a plan occupies stage s's node
 *   for (stage FLOPs / node speed) x a draw of `service` (mean 1). When a node hosts stages of
 *   two deployments at once (during an update), they share its FIFO.
 * - Links. Store and forward: the cut tensor is sent whole after its stage, at the pair's
 *   bandwidth plus its latency: the hop time of problem_hop_s, times a draw of `transfer`. By
 *   default a link carries one tensor at a time and is busy for the whole hop time (bandwidth
 *   term and latency), which is what plan_cost assumes; `latency_pipelined` keeps a link busy for
 *   the bandwidth term only and lets the latency overlap the next tensor. Each ordered pair is its
 *   own FIFO link, unless `shared_medium`: then each node (and the dispatcher) has one
 *   half-duplex medium that its sends and its receives share; a transfer needs both of its
 *   endpoints' media free: it starts at once if they are, else it waits, and when a medium frees,
 *   the earliest waiting transfer through it whose other medium is free starts. Service order:
 *   when a transfer ends, its sender's medium chooses first, then its receiver's; when a crash
 *   or a dropped deployment frees media, they choose in node order, the dispatcher's last.
 *   The order is part of the model (another one gives other throughputs). A medium's
 *   mean_queue and max_queue count the transfers waiting for it or under way on it. Hops that carry
 *   0 bits take no time and no link. The dispatcher hops (input to stage 0, output back) take
 *   time only when `dispatcher_hops`.
 * - A saturated deterministic pipeline under the default link model therefore runs at exactly
 *   plan_cost's throughput (tests/test_sim_saturated.c).
 *
 * Failures and recovery:
 * - A node crashes at a given time or after an exponential time of mean `mtbf_s` (drawn for every
 *   node at the start; a node does not come back). Everything at a dead node is lost: its queue,
 *   the request in service, the transfers from or to it; a request sent to it is lost. The
 *   dispatcher does not fail.
 * - Nodes send a heartbeat every `heartbeat_period_s`; the dispatcher declares a node dead
 *   `heartbeat_timeout_s` after its last heartbeat (the last multiple of the period at or before
 *   the crash). If the running (or the pending) deployment uses the node, the dispatcher stops
 *   sending, re-plans the current model on the nodes not declared dead with the run's algorithm
 *   (algo_run on the problem restricted to those nodes), and redeploys: the new deployment goes
 *   live when the weights of its stages (parameters x element size, whatever the accounting)
 *   have reached their nodes from the dispatcher, sent in parallel over the dispatcher's links
 *   (one after the other with `shared_medium`); a node that keeps the same stage of the same
 *   model needs no weights. The old deployment is dropped when the new one goes live: the
 *   requests still in it are lost (and retried). The algorithm's wall time is not simulated.
 *   Nodes whose heartbeats stop in the same period are declared dead at the same instant, and
 *   one re-plan excludes them all. A node of the new plan that has crashed by the time the
 *   plan would go live (its weights were not taken, or its go-live not acknowledged) is
 *   declared dead then, and the dispatcher re-plans at once instead of going live.
 * - The dispatcher resends only what failure detection tells it may be lost: an attempt whose
 *   deployment has been dropped, or that runs through a node declared dead. A request not
 *   answered `retry_timeout_s` after its last send is checked once: resent if its attempt is
 *   known lost, else left alone (it is only slow, queueing in a healthy deployment). When
 *   detection later declares a node dead, or a deployment is dropped, the requests whose
 *   attempts are now known lost are resent, each no sooner than retry_timeout_s after its last
 *   send. So resends never add load to a healthy pipeline, whatever the timeout, and cost at
 *   most one check event per send. The default (4 s: heartbeat timeout + one period) is about
 *   when a crash can first have been declared. While the pipeline is down, new requests and resends wait at the dispatcher
 *   (once each) until it is live again. The first answer completes the request; the
 *   dispatcher then cancels its other attempts: a stage or link drops them when they reach it
 *   (or reach the head of its queue) instead of serving them, and an answer that still
 *   arrives is discarded; both count as duplicates. So every request completes exactly once,
 *   unless no plan exists on the surviving nodes: then the run stops (or, after a stall or a
 *   cut, waits for a node to come back: below) and reports the requests that never completed.
 * - Accounting: every send of a request is an attempt (issued + retries of them), and at the
 *   end each attempt has been answered (completed), cancelled or discarded (duplicates), lost,
 *   or is still moving (in_flight) or waiting at the dispatcher (waiting):
 *   issued + retries = completed + duplicates + lost + in_flight + waiting.
 * - A model update at its `at_s` re-plans its model on the live nodes and rolls it out
 *   make-before-break: the old deployment serves until the new one is live, then drains.
 *   Updates apply in time order; one that comes while another is being deployed supersedes
 *   it. With `window_per_plan`, a closed loop's window follows the plan that is live
 *   (sim_plan_window), so that each plan is measured at the load that keeps it busy.
 *
 * Faults of the timeline (algorithms/timeline.h; `faults`), with the emulator's semantics:
 * - kill TARGET: a crash as above; a stage target is the node of that stage of the plan live
 *   when the fault fires (none live, or no such stage: skipped, in the trace).
 * - stall TARGET for D: the node holds its work: the request in service is D late, and service
 *   does not start before the stall ends; its queue waits, transfers to and from it go on
 *   (they are the kernel's), nothing is lost; and it sends no heartbeat (the emulator stops
 *   its heartbeater too).
 * - link A B down for D (D = 0: no end; a later 'link A B up' gives it one): both directions
 *   of the pair stop. A transfer under way, or one that starts during the cut, goes on at
 *   TCP's first retransmission after the link is back: retransmissions come
 *   SIM_TCP_MIN_RTO_S, then 2x, 4x... later (exponential backoff) after the segment was sent.
 *   A cut between a node and the dispatcher also stops that node's heartbeats.
 * - Detection, as the emulator's (emu_recovery.c, emu_stage.h). A node whose heartbeats stop
 *   (a stall, a cut from the dispatcher) is declared dead heartbeat_timeout_s after its last
 *   heartbeat (the last multiple of the period at or before the fault) if none has come by
 *   then: so a stall shorter than the timeout is declared too when it outlasts the time left
 *   to the check. Heartbeats come again at a stall's end (the heartbeater, resumed, sends at
 *   once) or with the first heartbeat (a multiple of the period) at or after a cut's end.
 *   A cut between two nodes is found by its sender: STUCK when a transfer has waited behind
 *   it for max(heartbeat_timeout_s, the SIM_TCP_STUCK_RTOS retransmission timeouts
 *   0.2 + 0.4 + 0.8 s) from the cut (a transfer under way) or from the transfer's start; a
 *   cut that carries nothing, or ends before, is never found (the dispatcher's own links are
 *   left to the heartbeats, which declare the node first).
 * - What the dispatcher does then, as the emulator: it tears down every deployment that uses
 *   the node declared dead, or sends over the pair found cut (their attempts are lost where
 *   they are, and resent as above), and, if the running or the pending one was among them,
 *   re-plans at once on the nodes not declared dead, the pairs found cut at CUT_BPS (1 bit/s)
 *   in the re-plan's cluster; a plan that still crosses a cut pair leaves out the hop's
 *   receiving node (its sender for the hop into the dispatcher) and the algorithm runs
 *   again. A pair found cut stays cut for the rest of the run (the emulator never clears
 *   its mark), even after 'link A B up'. A node declared dead that heartbeats again is alive
 *   for the next re-plan; the running plan is not changed for it, unless no plan was left
 *   without it: then the dispatcher waits (instead of ending the run) while a node declared
 *   dead is to come back, and re-plans when it does. A node keeps the weights of a stage it
 *   ran in a torn-down deployment. The incidents (kinds stall and cut) record the detection,
 *   the return, the re-plan and the recovery; their at_s is the fault's time.
 *   Not modelled: a stall of a node of a deployment being started (the emulator's stage
 *   then answers late; here the deployment goes live and the stall is found by heartbeats),
 *   the weights' own transfer over a cut link.
 * - bandwidth A B RATE [for D]: the transfers that start from then on (to the end) take the
 *   new rate instead of the cluster's; one under way keeps its own.
 * - loss TARGET|A B P [for D]: transfers that start in the meantime go as TCP does at random
 *   loss p, an approximation: the rate is at most MSS x 8 / (RTT sqrt(2p/3)) bit/s (Mathis et
 *   al., "The macroscopic behavior of the TCP congestion avoidance algorithm", 1997; MSS =
 *   SIM_TCP_MSS_BYTES, RTT = the pair's two latencies, at least SIM_TCP_MIN_RTT_S), and the
 *   last segment is lost with probability p and then waits a retransmission timeout
 *   (SIM_TCP_MIN_RTO_S): the mean hop time is bits / min(bandwidth, that rate) + latency +
 *   p x SIM_TCP_MIN_RTO_S, and a random draw of `transfer` scales by the same ratio. No request
 *   is lost (TCP retransmits), as in the emulator.
 * Link faults are refused with `shared_medium`. Dispatcher ends are the dispatcher's links.
 *
 * Measurements exclude the warm-up: it ends at the later of `warmup_s` and the completion of the
 * `warmup_requests`-th request; the time averages, the served counts and the latency samples
 * restart then (the counts of requests, retries, losses and duplicates cover the whole run). The
 * measurement interval ends with the last completion (or when the run stops without a plan).
 * Throughput = completions in the interval / its length; latency statistics are over the
 * requests completed in the interval; percentiles are nearest rank, from a histogram of fixed
 * size (sim_histogram.h: exact up to 4096 samples, else within 0.195 %), so that memory does
 * not grow with the number of requests; the mean and the maximum are exact; the confidence
 * interval of the mean latency is by batch means (20 to 39 batches of equal size in completion
 * order, Student t, 95 %). The throughput series counts
 * every completion, warm-up included.
 *
 * Modelled energy (with cfg.power; power.h: nothing here measures watts): over the measurement
 * interval of length T, a node's CPU was busy busy_s = its server's busy time (a node is one
 * server: its stage times are the whole device's, so u = busy_s / T is its utilisation) and it
 * sent and received the bits of the transfers its links completed in the interval (wire bits,
 * after the codec; the dispatcher hops only when they take time). Its energy is
 * power_model_energy(T, busy_s, sent, received), where a node that crashed counts only up to
 * its crash (it draws nothing after); per inference, that over the requests measured; its mean
 * power, that over T. The totals are over the active nodes, those that computed or
 * carried a tensor in the interval: a node the plans never used is taken to be off. The
 * dispatcher is not a device of the model and draws nothing.
 *
 * Randomness: every random stream (arrivals, service, transfers, failures, re-planning) is its
 * own gsl_rng (mt19937) seeded from `seed`. With the same inputs and seed a run, and its trace,
 * is the same, byte for byte.
 */
#ifndef EDGEPIPE_SIM_PIPELINE_H
#define EDGEPIPE_SIM_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "algo.h"
#include "ep_error.h"
#include "model_profile.h"
#include "plan.h"
#include "power.h"
#include "problem.h"
#include "timeline.h"
#include "workload.h"

struct sim_pipeline;

enum sim_arrival {
	SIM_CLOSED = WORKLOAD_CLOSED,     /* a window of requests in flight */
	SIM_POISSON = WORKLOAD_POISSON,   /* exponential inter-arrival times of mean 1 / rate */
	SIM_CONSTANT = WORKLOAD_CONSTANT, /* one request every 1 / rate */
};

enum sim_dist {
	SIM_DIST_DET = 0,   /* always the mean */
	SIM_DIST_EXP,       /* exponential of that mean */
	SIM_DIST_LOGNORMAL, /* lognormal of that mean and the given coefficient of variation */
};

const char *sim_dist_name(enum sim_dist d);    /* "det", "exp", "lognormal" */
/* A distribution as users type it, `option`'s value: "det", "exp", "lognormal" (*cv = 1) or
 * "lognormal:CV" (0 < CV < 1000); *cv is left alone for det and exp. EP_EINVAL naming `option`
 * and the value. */
int sim_dist_parse(const char *option, const char *s, enum sim_dist *d, double *cv,
		   struct ep_error *err);
const char *sim_arrival_name(enum sim_arrival a); /* "closed", "poisson", "constant" */

/* A model update: from at_s on, the dispatcher wants `profile`'s model running. */
struct sim_update {
	const struct model_profile *profile; /* borrowed */
	double at_s;                         /* >= 0 */
};

/* A node crash at a given time. */
struct sim_failure {
	int node;    /* 0 <= node < cluster n */
	double at_s; /* >= 0 */
};

/*
 * A request has completed (exactly once per request): its number (0, 1, ... in issue order),
 * first issue and completion times.
 */
typedef void (*sim_complete_fn)(void *ctx, int64_t request, int64_t issue_ns, int64_t done_ns);

/* TCP as the loss and cut model sees it: Linux's segment size on a 1500-byte MTU, its minimum
 * retransmission timeout, and the smallest round trip (a namespace's veth, measured by the
 * emulator's probes at about 0.1 ms, rounded up). */
#define SIM_TCP_MSS_BYTES 1448.0
#define SIM_TCP_MIN_RTO_S 0.2
#define SIM_TCP_MIN_RTT_S 1e-4
/* A sender finds its link STUCK (a cut) after this many retransmission timeouts in a row
 * (and the heartbeat timeout without progress): the emulator's EMU_STUCK_RTOS. */
#define SIM_TCP_STUCK_RTOS 3

/* The largest retry timeout, in seconds (well within the 1e9 s every configured time is
 * limited to). */
#define SIM_RETRY_TIMEOUT_MAX_S (1e9 / 64)

/* What to simulate; sim_config_default() fills it, then set what applies. */
struct sim_config {
	/* workload */
	enum sim_arrival arrival;
	int window;              /* closed: requests in flight, >= 1 (unless window_per_plan) */
	bool window_per_plan;    /* closed: the window is each live plan's sim_plan_window,
				    re-sized when a new plan goes live; `window` is ignored */
	double rate;             /* open: requests per second, > 0 */
	int64_t requests;        /* requests to issue; 0: no limit (duration_s must be set) */
	double duration_s;       /* no request is issued at or after this time; 0: no limit */
	int64_t warmup_requests; /* completions before the measurement starts */
	double warmup_s;         /* and no measurement before this time */
	/* service */
	enum sim_dist service;   /* stage compute times */
	double service_cv;       /* lognormal only: coefficient of variation, > 0 */
	enum sim_dist transfer;  /* link hop times */
	double transfer_cv;
	bool compute;            /* stages take FLOPs / speed (nodes of speed 0 take no time) */
	bool dispatcher_hops;    /* the input and output hops take time */
	bool shared_medium;      /* one half-duplex medium per node, for its sends and receives */
	bool latency_pipelined;  /* a link is busy for the bandwidth term only */
	/* failures, recovery, update */
	const struct sim_failure *failures; /* borrowed, n_failures entries */
	int n_failures;
	double mtbf_s;              /* per node; 0: no random failures */
	double heartbeat_period_s;  /* > 0 */
	double heartbeat_timeout_s; /* >= the period */
	double retry_timeout_s;     /* first check of an unanswered request (above);
				       0: never resent; at most SIM_RETRY_TIMEOUT_MAX_S */
	/* A new deployment's stages already hold their weights (the emulator's stages are forked
	 * with them, or compute without any): it goes live when it is deployed, instead of when
	 * its weights have crossed the dispatcher's links (false, the default). */
	bool local_weights;
	const struct algo *algo;    /* re-plans; NULL: a crash of a used node ends the run */
	struct algo_options algo_options;
	const struct sim_update *updates; /* borrowed, n_updates entries, in any order */
	int n_updates;
	const struct timeline_fault *faults; /* borrowed, n_faults (resolved: no link-up, no
						update entries; above) */
	int n_faults;
	/* output */
	double bin_s;            /* width of a throughput series bin, > 0 */
	FILE *trace;             /* borrowed; one line per event, NULL: none */
	sim_complete_fn on_complete; /* NULL: none */
	void *on_complete_ctx;
	uint64_t seed;
	/* modelled energy: every node's power model (borrowed); NULL: none */
	const struct power_model *power;
};

/*
 * Defaults for problem `p`: closed loop with a window of 1 (not per plan), 1000 requests, no warm-up,
 * deterministic service and transfers, compute and dispatcher hops as p's options count them
 * (so that the simulation measures what plan_cost computes), dedicated links, no failures,
 * heartbeats every 1 s with a 3 s timeout, retry checks after 4 s, no update, 1 s bins, seed 1.
 */
struct sim_config sim_config_default(const struct problem *p);
/* The same defaults with compute and dispatcher hops as given, for a caller that sets up the
 * configuration before its problem exists: sim_config_default(p) is
 * sim_config_default_terms(p->options.count_compute, p->options.count_dispatcher). */
struct sim_config sim_config_default_terms(bool compute, bool dispatcher_hops);

/* One server's measurements over the measurement interval. */
struct sim_server_stats {
	int from, to;        /* a node: from = to = node; a link: sender and receiver (n =
				dispatcher); a medium: from = to = its node */
	double utilisation;  /* busy time / interval */
	double mean_queue;   /* time-average requests there, waiting or in service */
	int max_queue;
	int64_t served;
	double bits;         /* a link: the bits of the transfers it completed (wire bits) */
};

/* A node's modelled energy over the measurement interval (above). */
struct sim_node_energy {
	int node;
	bool active;          /* it computed or carried a tensor in the interval */
	double busy_s;        /* CPU busy time */
	double bits_sent, bits_received;
	double energy_j;      /* over the interval */
	double energy_per_inference_j; /* energy_j / measured requests; NAN with none */
	double power_w;       /* mean: energy_j / the interval; NAN for an empty interval */
};

/*
 * What an incident is: a crash; an update; a node declared dead because its heartbeats
 * stopped while it was stalled (STALL) or cut off from the dispatcher (CUT with peer = the
 * dispatcher), which comes back; a link between two nodes found cut (CUT, node = the sender
 * that found it STUCK, peer = the receiver). Stalls and cuts the dispatcher never detects are
 * no incidents.
 */
enum sim_incident_kind {
	SIM_INCIDENT_CRASH = 0,
	SIM_INCIDENT_UPDATE,
	SIM_INCIDENT_STALL,
	SIM_INCIDENT_CUT,
};

/* "crash", "update", "stall", "cut" */
const char *sim_incident_kind_name(enum sim_incident_kind k);

/* A crash, an update, a detected stall or cut, and what the dispatcher did about it. Times in
 * seconds; -1 = never. */
struct sim_incident {
	enum sim_incident_kind kind;
	int node;            /* crash, stall, cut: the node (cut: the sender) */
	int peer;            /* cut: the other end (n = the dispatcher); else -1 */
	int fault;           /* the timeline fault (index in cfg.faults) behind it; -1 none */
	bool replanned;      /* crash of a used node, or update */
	double at_s;         /* the crash, the update, the stall or cut's start */
	double detected_s;   /* crash, stall, cut: declared dead, or the link marked cut */
	double detection_s;  /* detected - at; -1 */
	double back_s;       /* stall, cut to the dispatcher: the node heartbeats again */
	int64_t resent;      /* crash, stall, cut: requests it made known lost when detected
				(their attempt ran in a deployment using the node or the pair),
				sent again; as the emulator's per-fault `resent` */
	double live_s;       /* the new deployment went live */
	double recovery_s;   /* live - at */
	double deploy_s;     /* weight transfer time of the new deployment */
	double bottleneck_s; /* plan_cost of the new plan (full cluster, its model) */
	int stages;          /* of the new plan */
	const char *model;   /* update: the new model's name (its profile's) */
	char reason[512];    /* when no plan was found */
};

struct sim_report {
	/* workload */
	int64_t issued, completed, measured; /* measured: completed in the interval */
	int64_t incomplete;                  /* issued but never completed (no plan left) */
	double warmup_end_s, end_s;          /* the measurement interval */
	double throughput;                   /* measured / interval, per second */
	double latency_mean_s, latency_ci95_s; /* half-width; NAN with fewer than 40 samples */
	double latency_p50_s, latency_p95_s, latency_p99_s, latency_max_s;
	double mean_in_system;               /* time-average requests issued, not completed */
	/* failures */
	int64_t retries;          /* sends beyond a request's first */
	int64_t requests_retried; /* requests sent more than once */
	int64_t lost;             /* attempts lost at dead nodes or dropped deployments */
	int64_t duplicates;       /* attempts of completed requests, cancelled or discarded */
	int64_t in_flight;        /* attempts still moving through a deployment at the end */
	int64_t waiting;          /* requests waiting at the dispatcher at the end */
	const struct sim_incident *incidents;
	int n_incidents;
	int window_start, window_end; /* closed loop: the window at the start and at the end */
	/*
	 * The first update (the earliest; of two at one time, the first listed), from the
	 * throughput series (per second; NAN when no bin qualifies):
	 * before = the answers after the first one up to the update, over that time;
	 * min = the lowest bin from the update's to the one after the new deployment's first
	 * answer; after = the mean of the whole bins after that; dip = 1 - min / before.
	 */
	double update_before, update_min, update_after, update_dip;
	/* servers */
	const struct sim_server_stats *nodes;  /* [n_nodes], by node */
	int n_nodes;
	const struct sim_server_stats *links;  /* the links ever used, in order of first use */
	int n_links;
	const struct sim_server_stats *media;  /* shared_medium: [n_nodes + 1], dispatcher last */
	int n_media;
	/* modelled energy (cfg.power set; else energy is NULL and the totals NAN) */
	const struct sim_node_energy *energy;  /* [n_nodes], by node */
	double energy_j, energy_per_inference_j, power_w; /* totals over the active nodes */
	/* throughput series: counts[i] completions in [i, i+1) x bin_s */
	double bin_s;
	const int64_t *series;
	int n_bins;
	/* the engine */
	uint64_t events;
	double sim_end_s;                   /* the clock when the run stopped */
	bool no_plan;                       /* the run stopped: no plan on the surviving nodes
					       (final_plan is the last one live, broken) */
	const struct plan *final_plan;      /* the plan live at the end (nodes of the full
					       cluster) */
	const struct model_profile *final_profile;
	struct plan_cost final_cost;
};

/*
 * Prepare a simulation of `plan` (valid for `p`; copied) under `cfg` (copied; its borrowed
 * pointers must outlive the pipeline, as must p and its profile and cluster). *out is owned by
 * the caller (sim_pipeline_destroy). Returns EP_OK, EP_EINVAL (the message names the field and
 * value, or the plan's problem) or EP_ENOMEM.
 */
int sim_pipeline_create(const struct problem *p, const struct plan *plan,
			const struct sim_config *cfg, struct sim_pipeline **out,
			struct ep_error *err);
void sim_pipeline_destroy(struct sim_pipeline *sp);

/*
 * Run the simulation to its end: every request issued and completed, or no plan left after a
 * crash. Call once. Returns EP_OK (a run that ends without a plan is a result, in the report),
 * EP_EINVAL (the throughput series would need more than 2^30 bins: bin_s is too small for the
 * run's length), EP_ENOMEM, EP_EIO (the trace could not be written) or an error of the
 * re-planning algorithm.
 * Complexity: O(log pending events) per event; each request costs O(stages) events.
 */
int sim_pipeline_run(struct sim_pipeline *sp, struct ep_error *err);

/*
 * The closed-loop window for `plan` of `p` under `cfg`'s model (which terms take time, the
 * link model): ceil(round trip / bottleneck) + 1, where the round trip is the sum of an
 * unloaded request's stage and hop times and the bottleneck is the largest time a server is
 * busy per request. A deterministic pipeline needs ceil(round trip / bottleneck) requests in
 * flight to keep its bottleneck busy (then W / round trip >= 1 / bottleneck); one more absorbs
 * some of the variation of random times. At most 1e6; 1 when nothing takes time. -1 when out
 * of memory.
 */
int sim_plan_window(const struct problem *p, const struct plan *plan,
		    const struct sim_config *cfg);

/*
 * The largest time one server is busy per request for `plan` of `p` under `cfg`'s model, in
 * seconds: a node's stage, a link's hop (its bandwidth term only with latency_pipelined), or,
 * with shared_medium, a medium's share: the sum of the hops into and out of its node (the
 * dispatcher's: the first and the last). 1 / it bounds the throughput from above. With
 * dedicated links it is plan_cost's bottleneck when the configuration counts what the metric
 * counts, and a saturated deterministic pipeline reaches it; with a shared medium it may not
 * (a transfer waits for two free media). NAN when out of memory.
 */
double sim_plan_bottleneck(const struct problem *p, const struct plan *plan,
			   const struct sim_config *cfg);

/* The measurements of a finished run; owned by the pipeline. */
const struct sim_report *sim_pipeline_report(const struct sim_pipeline *sp);

#endif
