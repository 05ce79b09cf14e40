/*
 * emu_session_internal: the session's state, shared by its files (not a public API). As in the
 * simulator (sim/sim_internal.h), each part of the state is one struct written by one file;
 * the others call that file's functions, declared below under its name:
 *   emu_session.c   the session itself (struct emu_session: configuration, the host's network,
 *                   cgroups and nodes, the records): lifecycle, set-up and teardown, the event
 *                   loop, the report
 *   emu_dispatch.c  the dispatcher (struct emu_dispatcher, s->disp): requests, sends, answers,
 *                   probes
 *   emu_recovery.c  the deployments and model versions (struct emu_deployments, s->dpl):
 *                   spawning, failing and stopping deployments, detection, re-planning,
 *                   updates, the fault records
 *   emu_timeline.c  the fault timeline (struct timeline, s->tl): its threads apply the faults
 * Exceptions, each documented at its field: the dispatcher writes a deployment's connection
 * fields (struct deploy, "the dispatcher's connection"); the timeline's workers read the
 * deployments and nodes under tl.mu.
 *
 * Errors: a fatal error is recorded once (emu_sess_fail) with its code, which emu_session_run
 * returns (EP_ENOMEM where memory ran out, EP_EIO where the host refused ...).
 *
 * Times are CLOCK_MONOTONIC seconds (emu_now_s) inside, named *_s; the report converts them to
 * seconds from the workload's start (t0_s).
 */
#ifndef EDGEPIPE_EMU_SESSION_INTERNAL_H
#define EDGEPIPE_EMU_SESSION_INTERNAL_H

#include <gsl/gsl_rng.h>
#include <pthread.h>
#include <sys/types.h>

#include "emu_caps.h"
#include "emu_cgroup.h"
#include "emu_codec.h"
#include "emu_frame.h"
#include "emu_net.h"
#include "emu_registry.h"
#include "emu_session.h"
#include "model_graph.h"

enum phase {
	PH_START = 0, /* waiting for the heartbeats and the first deployment */
	PH_PROBE,     /* start-up probes */
	PH_RUN,       /* the workload */
	PH_DONE,
};

struct node_st {
	pid_t hb_pid;
	double last_hb_s; /* the last heartbeat received */
	bool seen;        /* a heartbeat has come */
	bool dead;        /* declared dead by the controller */
	/* ground truth, kept by the fault timeline (the controller's logic never reads it) */
	bool killed, stalled;
	struct emu_cgroup *cg;
	double share;     /* the cgroup's CPU share; 0 = uncapped */
	double share_eff; /* the share the busy work is scaled to (1 when uncapped) */
};

/* A model version: the run's model, then each update. */
struct version {
	char name[64];
	struct model_graph *graph;     /* owned when loaded from a changed file */
	struct model_profile *profile; /* owned likewise */
	struct problem p;              /* on the full cluster (updates) */
	bool p_init;
	const struct problem *pp;      /* &p, or the run's problem for version 0 */
	char *input;                   /* the synthetic input tensor */
	size_t input_bytes;
	const struct model_graph *g;   /* shapes for the codec (real compute: the model); NULL */
	/* real compute */
	struct model_weights *w;
	int n_img;
	float **img, **ref;            /* [n_img] inputs and the whole model's outputs */
	double *ref_max;               /* [n_img] max |ref| */
	int64_t out_elems;
};

enum dep_state { DEP_STARTING = 0, DEP_LIVE, DEP_DRAINING, DEP_STOPPING, DEP_STOPPED,
		 DEP_FAILED };

struct deploy {
	int id, version;
	struct plan plan;
	struct plan_cost cost;
	enum dep_state state;
	double started_s, live_s, ended_s, stop_sent_s;
	int n;                        /* stages */
	pid_t *pid;
	int *ctl;                     /* -1 once closed */
	bool *ready, *exited;
	int *status;                  /* wait status, -1 while running */
	struct emu_stage_record *rec; /* stage records (counters filled as they come) */
	/* the dispatcher's connection to stage 0 (emu_dispatch.c writes these, through in_flight) */
	int in_fd;
	bool in_conn, in_connecting;
	double in_retry_s, in_connect_t0_s;
	struct emu_out_queue out;
	double in_written, in_acked; /* bytes, for the stuck check */
	double in_progress_s;         /* when in_acked last grew */
	int64_t in_frames;
	double in_raw, in_wire, in_encode_s;
	/* the result connection from the last stage */
	int res_fd;
	struct emu_frame_reader res;
	int64_t res_frames;
	double res_raw, res_wire, res_decode_s;
	double hold_res_s;            /* latency last stage -> dispatcher, added here */
	int64_t in_flight;            /* requests whose current attempt is here */
	char reason[200];
};

struct req {
	double issue_s, first_sent_s, sent_s, done_s, deadline_s;
	int attempts, deploy, answered_by, dups;
	bool answered;
	signed char check; /* real compute: 0 unchecked, 1 matched, 2 a mismatch */
};

struct held_result {
	double due_s;
	struct emu_frame_hdr hdr;
};

struct pending_conn {
	int fd;
	double since_s;
	struct emu_frame_reader rd;
};

#define MAX_PENDING_CONN 8

struct fault_ev {
	double t_s; /* from t0_s */
	int fault;
	bool end;
};

/* What the timeline thread did for one fault_ev, for the loop to record. */
struct fault_done {
	double t_s;       /* when the action took effect (CLOCK_MONOTONIC s) */
	int node, peer;   /* resolved targets */
	int outcome;      /* TL_APPLIED, TL_SKIPPED, TL_ERROR */
	char text[200];   /* the note, why it was skipped, or the error */
};

enum { TL_APPLIED = 0, TL_SKIPPED, TL_ERROR };

/*
 * The fault timeline runs on threads of its own (emu_timeline.c), so that a fault fires at its
 * time whatever the event loop is doing (re-planning, forking a deployment's stages, running
 * iptables for another fault). One scheduler thread sleeps until each event is due and hands it
 * to a worker thread (one per event: a node-wide loss runs iptables 2n times, and must not hold
 * up a cut scheduled just after it). Events that share a node happen in timeline order (a
 * worker waits for the earlier ones still running there); others at once.
 *
 * Shared with the loop, under `mu`: the deployments' array and each one's pid, status and plan
 * (the loop takes mu when it changes them; the workers read them to signal a node's
 * processes), the nodes' killed, stalled and hb_pid, the live plan's stage -> node map the
 * loop publishes, and `done` / `n_done`. `net_mu` makes the net's mutating calls one at a time
 * (emu_net.h: a net belongs to one thread). Everything else the workers read (cfg, fev, t0,
 * the cluster) does not change while they run.
 */
struct timeline {
	struct fault_ev *fev;       /* [n_fev] the faults' starts and ends, in time order */
	int n_fev;
	pthread_mutex_t mu, net_mu;
	pthread_cond_t cv;          /* the scheduler's sleep; signalled to stop */
	pthread_cond_t cv_done;     /* an event finished (workers wait for earlier ones) */
	bool inited, mu_init, started, stop; /* stop: stopped for good */
	pthread_t sched;
	pthread_t *worker;          /* [n_fev] */
	bool *has_worker;           /* [n_fev] */
	int wake[2];                /* worker -> loop: a fault_done is ready */
	struct fault_done *done;    /* [n_fev], indexed like fev */
	bool *is_done;              /* [n_fev] */
	bool *taken;                /* [n_fev]: handed to the loop */
	bool *pending;              /* [n_fev]: the loop's scratch for emu_timeline_take */
	int *live_node;             /* [n]: the live plan's stage -> node; live_n stages, -1 none */
	int live_n, live_dep;
	int *start_ev;              /* [n_faults]: the fev index of each fault's start */
	int *ev_node;               /* [2 n_fev]: the nodes each event acts on (-1: none) */
	bool *active;               /* [n_fev]: launched, not finished */
};

/*
 * The deployments and model versions, owned by emu_recovery.c: it spawns, fails, stops and
 * reaps deployments, re-plans and rolls updates out. The loop (emu_session.c) polls the
 * deployments' sockets and the dispatcher reads and writes a deployment's connections
 * (emu_dispatch_io); neither adds, removes nor changes a deployment's state.
 */
struct emu_deployments {
	struct version *vers;        /* [n_vers]: version 0 is the run's model, then each update */
	int n_vers, cap_vers, cur_ver;
	struct deploy *deps;         /* [n_deps], in spawn order; an index is a deployment's id */
	int n_deps, cap_deps;
	double noplan_since_s;       /* re-planning has failed since then; 0: it has not */
	double next_plan_try_s;
	int node_gen, noplan_gen;    /* node-state changes; the one the last failed plan saw */
	gsl_rng *rng_plan;
	/* updates */
	bool update_done;
	double next_watch_s;         /* the next look at the watched model file */
	struct timespec watch_mtime;
	off_t watch_size;
};

/*
 * The dispatcher, owned by emu_dispatch.c: requests, their queue, the answers held for the
 * return link's latency, result connections being identified, and the start-up probes.
 * Others read its counters (the loop's end test, the report); emu_recovery.c hands requests
 * back to it with emu_dispatch_queue.
 */
struct emu_dispatcher {
	struct req *reqs;           /* [cfg.requests] */
	struct emu_codec *codec;    /* the dispatcher's (cfg.codec); NULL: raw bytes */
	char *dec;                  /* decoded results of synthetic runs, dec_cap bytes */
	size_t dec_cap;
	int64_t issued, answered;
	int64_t checked, mismatches; /* real compute */
	double max_diff, max_abs_diff;
	int64_t top1_agree;
	int64_t *pend;              /* deque of requests waiting to be sent */
	int64_t pend_head, pend_count;
	struct held_result *hr;     /* ring of answers held for the return link's latency */
	int hr_head, hr_count, hr_cap;
	struct pending_conn pc[MAX_PENDING_CONN];
	int n_pc;
	double next_arrival_s, next_retry_scan_s;
	gsl_rng *rng_arrival;
	/* probes */
	int probe_k;                /* probes done */
	bool probe_out;
	double probe_sent_s;
	double *probe_rtt;          /* [2 x probes]: even = held, odd = not */
};

struct emu_session {
	struct emu_config cfg;
	const struct problem *p0;
	struct plan plan0;
	const struct cluster *cl;
	int n; /* nodes; n = the dispatcher */
	/* the host */
	struct emu_registry *reg;
	struct emu_caps caps;
	struct emu_net *net;
	struct emu_cgroups *cgs;
	int self_ns, d_ns;  /* namespace files: ours, the dispatcher's */
	int hb_fd, res_ls;  /* in the dispatcher's namespace */
	double work_rate;   /* multiply-adds per second, one core */
	pid_t self;
	int old_slack;      /* the controller's timer slack before the run */
	struct node_st *nodes;
	bool *cut;          /* [(n+1)^2] links found cut */
	/* the deployments and model versions: emu_recovery.c's */
	struct emu_deployments dpl;
	/* the dispatcher: emu_dispatch.c's */
	struct emu_dispatcher disp;
	/* time */
	enum phase phase;
	double *cpu_a, *cpu_b;      /* [n] cgroup CPU seconds at the energy interval's ends */
	double t_cpu_a_s, t_cpu_b_s; /* when they were read; 0: not yet */
	struct emu_node_energy *energy;
	double t_begin_s, t_up_s, t0_s, t_end_s; /* t_up_s: bring-up done, the first deployment spawned */
	double next_hb_check_s, next_status_s;
	/* the fault timeline: emu_timeline.c's */
	struct timeline tl;
	/* records */
	struct emu_report rep;
	struct emu_event *events;
	int n_events, cap_events;
	struct timeline_fault_record *frec;
	bool *f_skipped, *f_redeploy; /* [n_faults] */
	struct emu_update_record *urec;
	int n_urec, cap_urec;
	int64_t *series;
	int n_bins, cap_bins;
	struct emu_request_record *rreq;
	struct emu_stage_record *rstage;
	struct emu_link_record *rlink;
	struct emu_deploy_record *rdep;
	struct emu_remote_state *remote; /* cfg.remote's sockets and addresses (emu_remote.c) */
	bool ran;
	struct ep_error fatal;      /* the first fatal error of the run (code 0: none), emu_sess_fail */
};

/* emu_session.c */
/* Record a fatal error: the run stops at the end of the loop's pass and emu_session_run returns
 * `code` (EP_ENOMEM, EP_EIO ...) with this message. Only the first is kept: later ones are
 * consequences. */
void emu_sess_fail(struct emu_session *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void emu_sess_event(struct emu_session *s, const char *kind, int node, int peer, int deploy,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The same, at time t (CLOCK_MONOTONIC s) rather than now. */
void emu_sess_event_at(struct emu_session *s, double t, const char *kind, int node, int peer,
		       int deploy, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* A socket (SOCK_* type, non-blocking, close-on-exec) in the dispatcher's namespace. */
int emu_sess_socket_d(struct emu_session *s, int type);

/* emu_dispatch.c */
/* The dispatcher's codec from cfg.codec (at creation: a bad spec is EP_EINVAL there). */
int emu_dispatch_codec_create(struct emu_session *s, struct ep_error *err);
int emu_dispatch_init(struct emu_session *s, struct ep_error *err);
/* Everything the dispatcher holds; accepts a dispatcher never initialised. */
void emu_dispatch_release(struct emu_session *s);
/* Close the result connections not yet identified (teardown). */
void emu_dispatch_close(struct emu_session *s);
/* The workload starts now: the first arrival and retry scan are due. */
void emu_dispatch_start(struct emu_session *s, double now);
/* After a poll round: forget the pending connections identified (closed or handed over). */
void emu_dispatch_pending_tidy(struct emu_session *s);
/* Deployment `deploy` failed: its unanswered requests go back to the front of the queue,
 * oldest first. Returns how many. */
int64_t emu_dispatch_requeue(struct emu_session *s, int deploy);
/* Request r's frame was taken back unsent (a draining deployment): that attempt does not
 * count and the request goes back to the front of the queue. false: r is no request. */
bool emu_dispatch_unsend(struct emu_session *s, uint64_t r);
/* Issue what the workload allows, then hand queued requests to the live deployment. */
void emu_dispatch_step(struct emu_session *s, double now);
/* Put request r at the front (resend) or the back of the queue. */
void emu_dispatch_queue(struct emu_session *s, int64_t r, bool front);
/* Frames on deployment d's connections (connect, write, read). */
void emu_dispatch_io(struct emu_session *s, struct deploy *d, short in_revents, short res_revents,
		     double now);
/* Accept and identify result connections. */
void emu_dispatch_accept(struct emu_session *s, double now);
void emu_dispatch_pending_io(struct emu_session *s, int i, double now);
/* Deliver answers whose hold is over; resend what timed out. */
void emu_dispatch_answers(struct emu_session *s, double now);
/* The next time dispatch needs to run (arrivals, holds, retries, reconnects). */
double emu_dispatch_next_time(const struct emu_session *s, double now);
/* Build and send the next probe, or record one that came back. */
void emu_probe_step(struct emu_session *s, double now);

/* emu_recovery.c */
/* The shape the codec gives cut `cut`'s tensor of version v (rank 0: none) and the tensor's
 * bytes before coding. */
void emu_version_cut_shape(const struct emu_session *s, const struct version *v, int cut,
			   int64_t *shape, int *rank, double *bytes);

int emu_recovery_init(struct emu_session *s, struct ep_error *err);
void emu_recovery_release(struct emu_session *s);
/* Plan version v on the nodes not declared dead and deploy it. */
void emu_recovery_replan(struct emu_session *s, double now);
/* Spawn the stage processes of a plan; returns the deployment index or -1 (fatal set). */
int emu_deploy_spawn(struct emu_session *s, const struct plan *plan, int version, double now);
/* Tear a deployment down after a failure, queueing its requests again. Returns how many
 * requests were queued again. */
int64_t emu_deploy_fail(struct emu_session *s, struct deploy *d, double now, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Ask a deployment's stages to stop (after draining, at the end). */
void emu_deploy_stop(struct emu_session *s, struct deploy *d, double now);
/* Kill every stage process of d that still runs and close its sockets. */
void emu_deploy_kill(struct emu_session *s, struct deploy *d);
/* The newest live deployment, or NULL. */
struct deploy *emu_deploy_target(struct emu_session *s);
/* Control messages of deployment d's stage i. */
void emu_deploy_ctl(struct emu_session *s, struct deploy *d, int i, double now);
/* Draining deployments whose last request came back: recorded as drained and stopped. The loop
 * calls it after answers are delivered too, so that a drain finished by the run's last answer
 * is recorded before the run ends. */
void emu_deploy_drains(struct emu_session *s, double now);
/* Reap exited processes; readiness, timeouts, draining. */
void emu_deploy_step(struct emu_session *s, double now);
/* Heartbeats in, nodes declared dead or back. */
void emu_heartbeat_read(struct emu_session *s, double now);
void emu_heartbeat_check(struct emu_session *s, double now);
/* The dispatcher's own link to stage 0 made no progress: mark it cut, fail. */
void emu_detect_link(struct emu_session *s, struct deploy *d, int from, int to, double stuck_s,
		     double now);
/* Record the faults the timeline applied; the update; the watched file. */
void emu_timeline_step(struct emu_session *s, double now);
double emu_timeline_next_time(const struct emu_session *s);
/* Which node kills or stalls (the ground truth, under tl.mu). */
bool emu_node_killed(struct emu_session *s, int node);
bool emu_node_stalled(struct emu_session *s, int node);

/* emu_remote.c (cfg.remote: real hosts) */
struct sockaddr_in;
struct emu_stage_spec;
/* What an assignment carries beyond the stage spec: busy work as FLOPs and node speed (the
 * host scales it to its own speed). */
struct emu_remote_assign_extra {
	double flops, speed_flops;
};
/* Resolve the hosts, bind the result listener and heartbeat socket, open every node session.
 * Errors: EP_EIO naming the host, EP_EINVAL, EP_ENOMEM. */
int emu_remote_setup(struct emu_session *s, struct ep_error *err);
void emu_remote_teardown(struct emu_session *s);
/* Where the dispatcher sends stage 0's frames of deployment `dep` when it is on `node`. */
void emu_remote_data_addr(const struct emu_session *s, int dep, int node, struct sockaddr_in *sa);
/* Assign stage sp to its node's host: the control connection (non-blocking), or -1 with why. */
int emu_remote_assign(struct emu_session *s, const struct emu_stage_spec *sp,
		      const struct emu_remote_assign_extra *x, char *why, size_t why_size);
/* Node sessions that closed (a host that stopped or restarted) are opened again, without
 * blocking: a host that comes back heartbeats again. Acts every EMU_REMOTE_SESSION_RETRY_S. */
void emu_remote_step(struct emu_session *s, double now);
/* One whole control record from a host's TCP connection: 1, 0 (not yet), -1 (closed). */
int emu_remote_ctl_recv(int fd, struct emu_ctl_msg *m);

/* emu_timeline.c */
int emu_timeline_init(struct emu_session *s, struct ep_error *err);
/* Start the scheduler (at the workload's start; t0 set). false: fatal set. */
bool emu_timeline_start(struct emu_session *s);
/* Stop the scheduler and wait for every worker: after it, the loop owns everything again. */
void emu_timeline_stop(struct emu_session *s);
void emu_timeline_release(struct emu_session *s);
/* Publish the live plan's stage -> node map for the workers (stageK targets). */
void emu_timeline_publish(struct emu_session *s);
/* The events whose fault_done became ready since the last call: pending[i] (n_fev) is set for
 * each, and tl.done[i] may be read. false: none. */
bool emu_timeline_take(struct emu_session *s, bool *pending);
/* Wake every process (SIGCONT) and kill them all: the end of a run. */
void emu_recovery_kill_all(struct emu_session *s);
/* Attribute a detection at nodes a, b (-1: none) to the fault that most likely caused it. */
int emu_fault_attribute(struct emu_session *s, int a, int b, double now);

#endif
