/*
 * emu_stage: the processes that run inside the emulated nodes.
 *
 * Stage process (one per plan stage and deployment, forked by emu_net_spawn into its node's
 * namespace and cgroup). It listens on its node's address, port EMU_STAGE_PORT_BASE +
 * deployment (two deployments may share a node during an update), and connects to its
 * successor (the next stage, or the dispatcher's result port for the last stage), retrying
 * until the successor listens. One thread, one event loop (ppoll, nanosecond timeouts):
 *
 *   receive  frames from the predecessor (non-blocking); a coded payload is decoded with
 *            the run's codec (emu_codec.h; its size checked); the frame is then held for the incoming link's latency when the
 *            transport adds it (EMU_MECH_TRANSPORT: hold_s > 0), i.e. it is delivered hold_s
 *            after its last byte arrived, as if it had crossed a link with that propagation
 *            delay. Frames flagged NOHOLD (baseline probes) are not held.
 *   compute  one frame at a time, FIFO: with real compute, the stage's layers run on the
 *            received tensor (one blocking call: the kernel's socket buffers keep both links
 *            moving meanwhile); otherwise busy work of `work_iters` multiply-adds (the stage's
 *            FLOPs / node speed, scaled to this host and to the cgroup's CPU share by the
 *            controller), in slices of about 0.5 ms with the sockets serviced in between, so
 *            that sending the previous output and receiving the next input overlap the
 *            compute, as a node's NIC and CPU do.
 *   send     the output tensor (out_bytes, the cut tensor's real size; computed or
 *            synthetic contents), encoded per frame with the run's codec, to the successor,
 *            FIFO.
 *   report   to the controller over the control socket: READY once connected to the
 *            successor, COUNTERS every report period and last before exiting, STUCK when the
 *            link to the successor looks cut (below), ERROR on a fatal error.
 *
 * Backpressure: while `EMU_STAGE_MAX_BACKLOG` frames are waiting for compute or to be sent,
 * the stage stops reading its predecessor (TCP then pushes back up the pipeline).
 *
 * The stage exits on STOP (after reporting its counters), when the controller's end of the
 * control socket closes, or when the controller dies (PR_SET_PDEATHSIG): nothing outlives the
 * run. It ignores SIGINT (the controller handles Ctrl-C and stops everything).
 *
 * Heartbeater (one per node for the whole run): a UDP datagram to the dispatcher's namespace
 * every period, through the node's emulated link, so that a dead, stalled or cut-off node
 * falls silent.
 */
#ifndef EDGEPIPE_EMU_STAGE_H
#define EDGEPIPE_EMU_STAGE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "emu_codec.h"
#include "emu_frame.h"
#include "model_weights.h"

#define EMU_STAGE_PORT_BASE   20000 /* + deployment id (mod EMU_STAGE_PORT_SPAN) */
#define EMU_STAGE_PORT_SPAN   20000
#define EMU_RESULT_PORT       19998 /* the dispatcher's result listener */
#define EMU_HEARTBEAT_PORT    19999 /* the controller's heartbeat socket */
#define EMU_STAGE_MAX_BACKLOG 16

/*
 * A link is found cut (STUCK) when its sender's data has waited for the stuck timeout with
 * nothing acknowledged AND TCP itself has timed out EMU_STUCK_RTOS times in a row with nothing
 * answered (TCP_INFO's retransmits, or its probes when the window was closed): about 0.2 + 0.4 +
 * 0.8 = 1.4 s at Linux's 200 ms minimum RTO. Time alone is not enough: 5 % loss stalls TCP for
 * one or two retransmission timeouts now and then (a lost retransmission), which must not pass
 * for a cut; three in a row happen to a lossy link with probability loss^2 per timeout. A
 * receiver that is alive but does not read (stalled by SIGSTOP, or computing its backlog)
 * closes its window: its kernel answers the window probes, so however long the window stays
 * closed the link is not cut (TCP_INFO's backoff, which the persist timer raises for answered
 * probes too, is not counted), and the heartbeats report a stalled node. A connect is found
 * stuck after EMU_CONNECT_STUCK_S (one SYN retransmission, at 1 s, may be lost).
 */
#define EMU_STUCK_RTOS      3
#define EMU_CONNECT_STUCK_S 1.5

struct emu_stage_spec {
	int deployment, index, n_stages;
	int node, next_node;            /* next_node = n for the dispatcher */
	struct in_addr listen_addr;
	uint16_t listen_port;
	struct in_addr next_addr;
	uint16_t next_port;
	double out_bytes;               /* the output tensor's size before compression */
	double work_iters;              /* busy work per DATA frame; 0 = forward at once */
	/* Busy work under a CPU quota: a DATA frame's compute ends no earlier than this after it
	 * started (its FLOPs / node speed). The quota stretches work_iters to that only when it
	 * binds from the start: a stage that sat idle finds its period's quota unused and runs up
	 * to (1 - share) x the period at full speed. 0 = no floor. */
	double min_compute_s;
	double work_rate;               /* the host's multiply-adds per second (for slicing) */
	double hold_s;                  /* the incoming link's latency, added here; 0 = none */
	/* The wire codec (an emu_codec.h spec; "" or "none": raw bytes) and the shapes of the
	 * tensors it codes, batch excluded: the input the stage receives and the output it sends
	 * (rank 0: no tensor). With a codec, out_bytes = 4 x the elements of out_shape. */
	char codec[64];
	int64_t in_shape[EMU_CODEC_MAX_RANK], out_shape[EMU_CODEC_MAX_RANK];
	int in_rank, out_rank;
	bool dense_output;              /* the prediction (last stage): no ReLU zeros */
	double report_period_s;         /* COUNTERS and the stuck check */
	double stuck_timeout_s;
	uint64_t seed;                  /* tensor contents */
	/* Real compute (--compute real): the stage runs layers first_layer+1 .. last_layer of
	 * `weights`' graph with the executor (model_exec.h) on the tensor it receives, and sends
	 * the output it computes. `weights` is the controller's, seen through the fork
	 * (copy-on-write, never written): what the stage allocates (its packed weights,
	 * activations, workspace) is charged to its node's cgroup, so a stage that does not fit
	 * the node's memory is killed by the kernel there. NULL: synthetic tensors. */
	const struct model_weights *weights;
	int first_layer, last_layer;
	int threads;                    /* the executor's threads, >= 1 */
	int ctl_fd;                     /* the child's end of the control socketpair */
	pid_t controller;               /* exits at once if its parent is no longer this */
};

/* The stage process's body (an emu_child_fn; arg is a struct emu_stage_spec *). Returns the
 * exit status: 0 after STOP or the controller's going, 1 on an error (reported first). */
int emu_stage_main(void *arg);

struct emu_heartbeat_spec {
	int node;
	struct in_addr to;   /* the dispatcher's address */
	uint16_t port;
	double period_s;
	pid_t controller;
};

/* The heartbeater's body (an emu_child_fn; arg is a struct emu_heartbeat_spec *). Runs until
 * killed or its controller dies. */
int emu_heartbeat_main(void *arg);

/* The timeouts in a row with nothing answered a TCP socket is at now (TCP_INFO: unanswered
 * retransmissions or window probes), for the stuck check. */
int emu_tcp_timeouts(int fd);

/* Close every descriptor above 2 except `keep` (-1: none), make the process die with its
 * parent `controller`, ignore SIGINT. For the children the controller forks. false if the
 * controller is already gone. */
bool emu_child_setup(int keep, pid_t controller);

#endif
