/*
 * emu_session: one emulator run. A plan meets a real network stack: stage processes in the
 * nodes' namespaces and cgroups (emu_stage.h), real TCP through the shaped links (emu_net.h),
 * a dispatcher that streams a workload through the pipeline, a fault timeline (timeline.h),
 * failure detection, re-planning, redeployment and model updates, and the measurements.
 *
 * Processes and namespaces. The controller (the calling process) stays in the host's namespace;
 * it is also the dispatcher: its sockets (the connection to stage 0, the result listener, the
 * heartbeat socket) are created inside the dispatcher's namespace, so every byte the dispatcher
 * sends or receives crosses the dispatcher's emulated links. Each node runs a heartbeater for
 * the whole run; each deployment of a plan runs one stage process per stage. Every process is
 * forked with emu_net_spawn into its node's namespace and cgroup (CPU share = node speed /
 * host speed when nodes have a speed, memory cap = node memory), dies with the controller
 * (PR_SET_PDEATHSIG), and is listed in no registry: `edgepipe clean` kills it anyway, as it is
 * inside the run's namespaces and cgroups.
 *
 * Compute. The host's speed is what emu_work_run achieves on one core, measured at start
 * (2 FLOPs per multiply-add). A node of speed S gets a CPU share c = min(1, S / host) and a
 * stage of F FLOPs busy-works F / S x c seconds of host CPU: under the cap that takes F / S of
 * wall time, as the cost model says. Without a cpu controller the share is not capped and the
 * busy work is F / S seconds at full speed (same wall time while the host is not
 * oversubscribed). Nodes of speed 0 compute nothing (the published model).
 *
 * Real compute (cfg.real): the stages run their layers with the executor instead of busy work
 * (emu_stage.h). The controller generates each model version's weights once and computes the
 * whole model's output for cfg.real_inputs synthetic images; the stage processes read the
 * weights through fork and allocate their own packed copy inside their node's cgroup, so the
 * memory cap applies to what a device would hold. Every answer is compared with its image's
 * reference (EMU_REAL_TOLERANCE); the report counts answers checked and mismatches.
 *
 * Latency. Where the kernel has netem, emu_net puts it on the links. Where it has not
 * (EMU_MECH_TRANSPORT), each receiver (stage or dispatcher) holds a frame for its incoming
 * link's latency after the frame's last byte arrived: a propagation delay that does not occupy
 * the link, as netem's would not. The start-up probes measure it: PROBES round trips through the
 * pipeline with the hold and as many without, whose difference is the latency the path adds.
 *
 * Workload. Closed (a window of requests in flight) or open (Poisson or constant arrivals), as
 * in the simulator. A request's latency runs from its issue to its answer; the first answer
 * completes it; later answers (of resent attempts) are counted as duplicates, never twice. The
 * measurement interval starts after the first `warmup_requests` answers and ends with the last.
 *
 * Detection. A node is declared dead when no heartbeat came for heartbeat_timeout_s (a killed,
 * stalled or cut-off node), and alive again when heartbeats resume. A stage whose successor
 * acknowledged nothing for heartbeat_timeout_s while data waited, with TCP at three
 * retransmission timeouts in a row (emu_stage.h: about 1.4 s; loss alone does not do that),
 * reports STUCK: the link between them is marked cut for the rest of the run (the dispatcher
 * checks its own link to stage 0 the same way). A stage process that exits unexpectedly, or reports an error, fails
 * its deployment. Processes killed by the fault timeline are not noticed through the
 * management plane: only through the heartbeats and the data path, as on a real network.
 *
 * Recovery. A deployment that uses a dead node or a cut link is torn down (its stage processes
 * killed) and every request in it goes back to the front of the dispatcher's queue. The
 * controller re-plans the current model on the nodes not declared dead with the run's
 * algorithm (algo_run on the sub-cluster of those nodes; cut links get a bandwidth of 1 bit/s,
 * and if the plan still uses one, its receiving node is left out too), deploys the new plan,
 * and when every stage is connected the dispatcher resends the queued requests. With no plan
 * (too few nodes) it retries whenever a node comes back, and gives up after giveup_s. A
 * request unanswered for retry_timeout_s (doubling per resend) is also resent: a safety net,
 * as no frame is lost on TCP except with a deployment.
 *
 * Updates. A model update (update_profile at update_at_s, or a change of the watched model
 * file) is rolled out make-before-break: the new model is planned on the live nodes and
 * deployed beside the old deployment; when it is connected, new requests and resends go to it
 * and the old one drains (its requests in flight are answered by the old model) and is then
 * stopped. No request is lost.
 *
 * Faults (timeline.h). kill: the node's interface is set down (silent, like a node that lost
 * power: no TCP reset reaches its peers), then its processes are SIGKILLed; stages later
 * deployed there are killed at once. stall: SIGSTOP of every process on the node, SIGCONT at
 * the end. link: emu_link_set_up both ways. bandwidth: emu_link_shape both ways, in place.
 * loss: emu_link_set_loss (netem or iptables). Times count from the workload's start. Faults
 * fire on threads of their own (emu_timeline.c), not between the event loop's steps, so a
 * re-plan, a deployment's forks or another fault's iptables commands do not delay them; faults
 * at the same node keep their timeline order. Each is recorded with its scheduled time and the
 * time its action took effect: signals (kill, stall) within a millisecond or two, netlink
 * changes likewise, iptables rules (a cut, loss without netem) after the command returns,
 * 5-20 ms here (more on a loaded host: the two directions of a cut run at once). A fault at
 * stageK resolves K in the plan live when it fires; the caller refuses K beyond the first plan
 * (timeline_check_stages).
 *
 * Start. The heartbeats and the first deployment get 10 s + deploy_timeout_s from the end of
 * bring-up (the network for hundreds of nodes takes tens of seconds to build).
 *
 * Cleanup. Everything is created through the registry (emu_registry.h); emu_session_run removes
 * it all before it returns, whatever happened, and so do SIGINT and SIGTERM: the caller's
 * handler makes cfg.stop_fd readable, and the run stops at once, cleans up and reports
 * `interrupted`.
 *
 * Not thread-safe: a session belongs to one thread, and emu_session_run forks (and runs the
 * fault timeline's threads, joined before it returns).
 */
#ifndef EDGEPIPE_EMU_SESSION_H
#define EDGEPIPE_EMU_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "algo.h"
#include "timeline.h"
#include "emu_frame.h"
#include "emu_net.h"
#include "emu_remote.h"
#include "ep_error.h"
#include "model_profile.h"
#include "plan.h"
#include "power.h"
#include "problem.h"
#include "workload.h"

enum emu_arrival {
	EMU_CLOSED = WORKLOAD_CLOSED,     /* a window of requests in flight */
	EMU_POISSON = WORKLOAD_POISSON,   /* exponential inter-arrival times of mean 1 / rate */
	EMU_CONSTANT = WORKLOAD_CONSTANT, /* one request every 1 / rate */
};

const char *emu_arrival_name(enum emu_arrival a); /* "closed", "poisson", "constant" */

struct emu_config {
	/* workload */
	enum emu_arrival arrival;
	int window;                 /* closed: >= 1 */
	double rate;                /* open: requests per second, > 0 */
	int64_t requests;           /* >= 1 */
	int64_t warmup_requests;    /* answers left out of the measurements, < requests */
	/* stages */
	bool compute;               /* busy work for FLOPs / node speed (--compute model) */
	/* Real compute (--compute real; compute must then be false): every stage runs its
	 * layers with the executor (model_exec.h) on the real tensor and sends the real output;
	 * weights: the model's own (model_spec below), else generated from `seed`. The
	 * dispatcher feeds real_inputs distinct synthetic images (request r gets image r mod real_inputs) and
	 * checks every answer against the whole model's output for that image, computed once at
	 * the start (tolerance: EMU_REAL_TOLERANCE of the output's largest magnitude). A node's
	 * CPU share is its speed factor (cluster speed_factor, f of one core; uncapped at 1 or
	 * without factors), its memory cap the node's memory: a stage whose layers do not fit is
	 * killed there, as on a device. */
	bool real;
	int threads;                /* the executor's threads per stage, >= 1 */
	int real_inputs;            /* >= 1 */
	const struct model_graph *graph;        /* the run's model (real compute; the codec's
						   tensor shapes otherwise; may be NULL) */
	const struct model_graph *update_graph; /* update_profile's model (likewise) */
	/* The wire codec (emu_codec.h spec: none, lz4, zstd[:L], zfp, zfp+lz4, zfp:precision=P,
	 * zfp:accuracy=TOL); NULL = none. Every stage and the dispatcher encode what they send
	 * and decode what they receive with it; shapes from `graph` (and update_graph) where
	 * given, else a tensor is a vector of floats. */
	const char *codec;
	/* Modelled energy (power.h; nothing here measures watts): every node's power model
	 * (borrowed); NULL: none. See struct emu_node_energy. */
	const struct power_model *power;
	/* What graph and update_graph were opened from (model_zoo_open), NULL for a zoo model:
	 * real compute runs an ONNX file's own initializers and a model file's weights file
	 * (model_zoo_weights_open); seeded weights only where the model has none. */
	const char *model_spec, *update_spec;
	/* Real compute, not NULL: write every input image of the run's model and the whole
	 * model's output for it here (raw float32, image 0's input (H, W, C) then its output,
	 * then image 1's ...): the answers equal those outputs, see mismatches. */
	const char *tensors_path;
	/* detection and recovery */
	double heartbeat_period_s;  /* > 0 */
	double heartbeat_timeout_s; /* >= the period; also the stuck timeout */
	double retry_timeout_s;     /* 0: no timeout resends */
	double deploy_timeout_s;    /* > 0: a deployment not connected by then is given up */
	double giveup_s;            /* > 0: no plan for this long ends the run */
	const struct algo *algo;    /* re-plans */
	struct algo_options algo_options;
	uint64_t seed;              /* re-planning and open-loop arrivals */
	const struct timeline_fault *faults; /* borrowed, n_faults */
	int n_faults;
	/* updates */
	const struct model_profile *update_profile; /* borrowed; NULL: none */
	double update_at_s;
	const char *watch_path;     /* a model file whose change is rolled out; NULL: none */
	struct model_profile_options profile_options; /* for the changed file */
	/* measurements */
	double bin_s;               /* throughput series bin, > 0 */
	int probes;                 /* start-up probes with the latency hold (and as many
				       without); 0: none */
	/* Real hosts (edgepipe dispatch, emu_remote.h): node i is remote->hosts[i], stages are
	 * assigned over TCP to `edgepipe stage` hosts, nothing is emulated (no namespaces, links,
	 * cgroups, registry; no faults or updates). NULL: the emulator. */
	const struct emu_remote *remote;
	/* host */
	const char *state_dir;      /* registries; NULL: EMU_STATE_DIR_DEFAULT */
	struct emu_net_options net;
	int stop_fd;                /* readable = stop now (SIGINT, SIGTERM); -1: none */
	FILE *progress;             /* one line per step and incident; NULL: quiet */
	FILE *status;               /* a progress line every status_period_s of the workload
				       (answered, rate, time left); NULL: none */
	double status_period_s;     /* > 0 */
};

/* Stages and the whole model agree to float rounding where a cut separates a convolution
 * from the BatchNormalization folded into it in the whole model (model_exec.h: relative 1e-4
 * of the output's largest magnitude); bit for bit elsewhere. */
#define EMU_REAL_TOLERANCE 1e-4

/* Defaults: closed loop, window 1, 100 requests, compute on (busy work), 1 thread, 4 images, no compression, heartbeats every
 * 0.1 s with a 0.5 s timeout, retry after 30 s, deploy timeout 10 s, give up after 10 s,
 * 1 s bins, 5 probes, no faults, no update, no status lines (every 10 s when a FILE is set). */
struct emu_config emu_config_default(void);

/* ---- the report ---- */

struct emu_request_record {
	double issue_s;      /* first issue (from the workload's start) */
	double first_sent_s; /* the first attempt was handed to the socket; -1: never */
	double sent_s;       /* the last attempt */
	double done_s;       /* answered; -1: never */
	int attempts;
	int deployment;      /* that answered it; -1 */
	int duplicates;      /* answers after the first */
	int mismatch;        /* real compute: 1 if an answer differed from the reference, 0 if
				every answer matched, -1 not checked */
};

struct emu_stage_record {
	int deployment, stage, node, first_cut, end_cut;
	double flops;        /* of the stage */
	double cpu_share;    /* of the node's cgroup; 0 = uncapped */
	double work_iters;   /* busy work per request */
	double hold_s;       /* the incoming link's latency added by the transport */
	struct emu_stage_counters c; /* the last counters the stage reported */
};

struct emu_link_record {
	int deployment, hop;  /* hop h goes into stage h; hop n_stages back to the dispatcher */
	int from, to;         /* nodes; n = the dispatcher */
	int64_t frames;
	double raw_bytes, wire_bytes; /* tensor payloads before and after coding */
	double encode_s, decode_s;    /* the sender's coding, the receiver's decoding (wall) */
};

struct emu_deploy_record {
	int id, version, n_stages;
	char model[64];
	char plan[512];       /* "0..6@1 6..15@2 ..." */
	double bottleneck_s;  /* plan_cost on the full cluster */
	double started_s, live_s, ended_s; /* NAN: never (negative: before the workload) */
	char state[16];       /* how it ended: "stopped", "failed", "live" */
	char reason[200];     /* why it failed */
};

struct emu_event {
	double t_s;           /* from the workload's start (negative before it) */
	char kind[24];        /* "fault", "restore", "detect", "node-back", "replan", "live",
				 "drained", "noplan", "update", "error", ... */
	int node, peer, deployment; /* -1 when not applicable */
	char text[240];
};

struct timeline_fault_record {
	int fault;            /* index in cfg.faults */
	int node, peer;       /* resolved targets; -1 unused; n = the dispatcher */
	double scheduled_s, end_scheduled_s; /* the timeline's times (-1: no end) */
	double at_s, end_s;   /* applied, undone: when the action took effect (-1 never) */
	double detected_s;    /* the first detection it caused; -1 none */
	double live_s;        /* the redeployment it caused went live; -1 */
	double detection_s, recovery_s; /* detected - at, live - at; -1 */
	int64_t resent;       /* requests sent again because of it */
	char note[200];
};

struct emu_update_record {
	int version;
	char model[64];
	double at_s, live_s, drained_s; /* -1: never */
	double rollout_s;     /* live - at */
};

/*
 * A node's modelled energy over the energy interval: from the workload's start, or the last
 * warm-up answer, to the last answer (the measured interval, as the simulator's), its cgroup's
 * CPU time cpu_s is read at both ends (emu_cgroup_cpu_seconds: v2 cpu.stat, v1 cpuacct), and
 * the device it stands for was busy busy_s = cpu_s / its CPU share (a node capped to a quarter
 * of a core that used a quarter of a core was a device fully busy; uncapped: share 1). Its
 * bits are the wire bytes of its links in the measured answers' share (measured / answered)
 * of the run. Then energy_j = power_model_energy(interval, busy_s, sent, received), per
 * inference over the measured answers, mean power over the interval. A node is active when it
 * ran a stage; the report's totals are over the active nodes.
 */
struct emu_node_energy {
	int node;
	bool active;
	double cpu_s;        /* the cgroup's CPU time over the interval; NAN: not measured */
	double share;        /* the CPU share busy_s is scaled by (1: uncapped) */
	double busy_s, utilisation; /* busy_s / interval */
	double bits_sent, bits_received;
	double energy_j, energy_per_inference_j, power_w;
};

struct emu_report {
	char run_id[16];
	bool interrupted;     /* stopped by stop_fd */
	bool gave_up;         /* no plan for giveup_s */
	/* host */
	double host_flops;    /* one core, busy loop */
	enum emu_mech mech[EMU_PROP_COUNT_];
	int cgroup_cpu_version, cgroup_memory_version; /* 0: not capped */
	char missing[1024];   /* emu_caps_describe */
	char stale_note[512]; /* emu_registry_note_stale, or "" */
	double setup_s, teardown_s;
	/* workload */
	int64_t issued, answered, incomplete, duplicates;
	int64_t resends;      /* sends beyond a request's first */
	int64_t requests_resent;
	double warmup_end_s, end_s; /* the measurement interval */
	int64_t measured;
	double throughput;    /* measured / interval, per second */
	double latency_mean_s, latency_p50_s, latency_p95_s, latency_p99_s, latency_max_s;
	/* latency added by the path (probes) */
	int probes;
	double path_latency_configured_s; /* sum of the first plan's hop latencies */
	double probe_rtt_hold_s, probe_rtt_nohold_s; /* medians */
	double path_latency_measured_s;   /* their difference (or the held RTT with netem), never
					     negative: see emu_path_latency_added */
	double path_latency_raw_s;        /* the difference before clamping */
	bool path_latency_clamped;        /* raw < 0: within the probes' noise, reported as 0 */
	/* real compute: answers (duplicates included) checked against the whole model */
	int64_t checked, mismatches;
	double max_diff;      /* the largest |answer - reference| / max |reference| */
	/* The effect of the codec (a lossy one above all; the same for the others): the
	 * largest |answer - reference| of any output, and the answers whose top-1 class (the
	 * largest output) is the reference's. With a lossy codec an answer is a mismatch when
	 * its top-1 class differs, not when it leaves the tolerance. */
	double max_abs_diff;
	int64_t top1_agree;
	/* bytes on the wire (tensor payloads, all links) and the time spent coding them */
	char codec[64];       /* the codec's canonical spec ("none") */
	bool codec_lossy;     /* zfp:precision, zfp:accuracy */
	double raw_bytes, wire_bytes;
	double encode_s, decode_s;
	/* modelled energy (cfg.power set and CPU accounting available; else energy is NULL and
	 * the totals NAN) */
	char power_model[32];    /* cfg.power's name; "" without */
	double energy_interval_s;
	const struct emu_node_energy *energy; int n_energy; /* by node */
	double energy_j, energy_per_inference_j, power_w;   /* totals over the active nodes */
	/* records */
	const struct emu_request_record *requests; int64_t n_requests;
	const struct emu_stage_record *stages; int n_stages;
	const struct emu_link_record *links; int n_links;
	const struct emu_deploy_record *deploys; int n_deploys;
	const struct emu_event *events; int n_events;
	const struct timeline_fault_record *faults; int n_faults;
	const struct emu_update_record *updates; int n_updates;
	double bin_s;
	const int64_t *series; int n_bins; /* answers per bin from the workload's start */
};

/*
 * The latency the path adds, from the probes' round trips: with the transport adding it
 * (transport = true), the median held RTT minus the median RTT without the hold; with netem,
 * the held RTT itself. Medians of different samples can cross when the configured latency is
 * far below the RTT's jitter (0 configured: the two are the same distribution), which gave
 * -0.018 ms: a hold never shortens a path, so a negative difference is noise and is reported
 * as 0, with *raw (may be NULL) the difference and *clamped (may be NULL) set. NAN when a
 * sample set is empty. The arrays are sorted in place.
 */
double emu_path_latency_added(double *held, int n_held, double *nohold, int n_nohold,
			      bool transport, double *raw, bool *clamped);

struct emu_session;

/*
 * Prepare a run of `plan` (valid for `p`) on p's cluster under `cfg`. Nothing is created on the
 * host. p, its profile and cluster, and cfg's borrowed pointers must outlive the session.
 * Errors: EP_EINVAL (a bad field, named; a fault naming a node outside the cluster; an
 * invalid plan), EP_ENOMEM.
 */
int emu_session_create(const struct problem *p, const struct plan *plan,
		       const struct emu_config *cfg, struct emu_session **out,
		       struct ep_error *err);
void emu_session_destroy(struct emu_session *s);

/*
 * Run: detect the host's abilities, build the network and cgroups, start the heartbeaters and
 * the first deployment, probe, stream the workload through the fault timeline, and remove
 * everything. Call once. Returns EP_OK when the run happened (interrupted, given up or with
 * requests unanswered included: see the report), EP_EIO when the host refused (a missing
 * ability, a fault the host cannot emulate: named) or a stage failed before the workload
 * began, EP_ENOMEM. The host is clean when it returns, in every case.
 */
int emu_session_run(struct emu_session *s, struct ep_error *err);

/* The report of a run (also of a failed one, as far as it got); owned by the session. */
const struct emu_report *emu_session_report(const struct emu_session *s);

#endif
