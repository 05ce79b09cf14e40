/*
 * emu_remote: the emulator's stage process and dispatcher on real hosts, with addresses
 * instead of namespaces (`edgepipe stage`, `edgepipe dispatch`).
 *
 * Stage host (emu_stage_host_run). A long-running process on one device. It listens on a
 * control port (TCP) and waits for a dispatcher. Two kinds of control connection come in,
 * each opened by the dispatcher with one struct emu_remote_msg:
 *
 *   HELLO  the node session: "you are node i; heartbeat to me every period on UDP port P".
 *          The host sends struct emu_heartbeat_msg datagrams to the address the connection
 *          came from, port P, while the connection is open (one dispatcher at a time is the
 *          normal case; each open session gets its heartbeats).
 *   STAGE  a stage assignment: the emu_stage_spec fields (deployment, index, next hop as a
 *          host name or address and port, tensor size, busy work as FLOPs and the node's
 *          speed, codec, real compute's model, layers, seed and threads). The host resolves
 *          the next hop (getaddrinfo: a Kubernetes Service name works; "" = the dispatcher,
 *          at the address this connection came from), loads the model when real compute is
 *          asked (cfg.model_spec: a zoo name, or a file the host has at that path) with the
 *          weights the dispatcher checks against (model_zoo_weights_open: an ONNX file's own,
 *          a model file's weights file, or generated from the run's seed), kept for the next
 *          assignments (the last EMU_REMOTE_MODEL_CACHE models), stops the stage it runs on
 *          the same data port, if any, and forks the stage process: emu_stage_main, the
 *          emulator's own, with a socketpair as its control socket. The host relays that socket's messages (READY,
 *          COUNTERS, STUCK, ERROR one way; STOP the other) to and from the TCP connection as
 *          fixed-size struct emu_ctl_msg records. When the stage exits the host closes the
 *          connection; when the dispatcher closes it the host stops the stage (SIGKILL).
 *
 * Data ports and updates. A host has EMU_REMOTE_DATA_SLOTS data ports: the data port (the
 * control port + 1 unless configured) and the ones after it. A plan puts one stage per node,
 * but a model update, as in the emulator, deploys the new version beside the old one
 * (make-before-break): the new deployment is connected, new requests go to it, and the old one
 * drains what it holds and is stopped. So the dispatcher gives each (deployment, node) a slot
 * that no other running deployment holds on that node, and the host runs one stage per data
 * port: a new assignment replaces only the stage on its own port. With every slot of a node
 * taken (a third deployment while two still run there) the oldest deployment's slot is given,
 * its stage replaced and that deployment failed, its requests sent again (none lost).
 *
 * Model versions on the hosts. The assignment names the deployment's version of the model
 * (the run's --model, the --update model, or the watched model file: the path, which the host
 * must have) and its structure fingerprint (model_lprofile_fingerprint). A host whose file at
 * that path is another model (a watched file changed on the dispatcher's machine before this
 * host's copy did: a Kubernetes ConfigMap reaches the nodes' kubelets up to a minute apart)
 * does not start the stage but loads it again every EMU_REMOTE_MODEL_RETRY_S until the
 * fingerprint matches or the dispatcher gives up (--deploy-timeout fails that deployment;
 * the running one keeps serving and the dispatcher tries again). A model with the same layers
 * but other weights (an ONNX file's) has the same fingerprint: with real compute its answers
 * then differ from the dispatcher's reference and are counted as mismatches.
 *
 * The data path is the emulator's: frames of emu_frame.h over TCP, stage k's data port =
 * the host's data port of its slot, the last stage to the dispatcher's result
 * listener. Records are in host byte order like the emulator's frames: every host of a run
 * must share the byte order (x86-64, ARM64 and RISC-V Linux are all little-endian).
 *
 * Dispatcher (struct emu_remote in emu_config.remote, emu_session.h). The session runs as in
 * the emulator (the same dispatcher, detection, re-planning, report) with three differences:
 * no namespaces, links, cgroups or registry are made (the hosts and their network are real,
 * and so are their faults: cfg.faults are refused; updates are rolled out as above); node i of
 * the cluster is
 * hosts[i], reached on its addresses; deployments are assignments over TCP instead of forks.
 * A host whose heartbeats stop is declared dead after heartbeat_timeout_s, and a deployment
 * whose control connection to a host closes, or whose stage reports an error, fails; the
 * current model is then re-planned on the hosts not declared dead, exactly as in the emulator.
 * A node session that closes (the host stopped, or restarted: a Kubernetes pod comes back) is
 * opened again every EMU_REMOTE_SESSION_RETRY_S, without blocking the dispatcher; when the
 * host heartbeats again it is alive again ("node-back") and later re-plans may use it, as in
 * the emulator (a stalled node's heartbeats resuming there): a host's return triggers no
 * re-plan by itself; the plan that runs keeps running, and the next re-plan (the next failure
 * or update) plans over every host alive then, the returned one included. Every host must be
 * reachable when the run starts.
 */
#ifndef EDGEPIPE_EMU_REMOTE_H
#define EDGEPIPE_EMU_REMOTE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "emu_codec.h"
#include "ep_error.h"

#define EMU_REMOTE_MAGIC 0x32415045u /* "EPA2" (data slots, model fingerprints) */
#define EMU_REMOTE_HOST_MAX 256      /* a host name or address */
#define EMU_REMOTE_MODEL_MAX 512     /* a zoo name or a model file's path */
#define EMU_REMOTE_CONNECT_S 3.0     /* a control connection not made by then fails */
#define EMU_REMOTE_SESSION_RETRY_S 0.5 /* a closed node session is opened again this often */
#define EMU_REMOTE_DATA_SLOTS 2        /* data ports per host: data port + 0 .. SLOTS - 1 */
#define EMU_REMOTE_MODEL_CACHE 2       /* models a host keeps loaded (old and new version) */
#define EMU_REMOTE_MODEL_RETRY_S 0.5   /* a host whose model file is not yet the dispatcher's */

enum emu_remote_kind { EMU_REMOTE_HELLO = 1, EMU_REMOTE_STAGE = 2 };

/* What the dispatcher sends first on a control connection (fixed size, host byte order). */
struct emu_remote_msg {
	uint32_t magic, kind;
	int32_t node;           /* HELLO and STAGE: the node this host is */
	int32_t deployment, index, n_stages, next_node;
	uint32_t hb_port;       /* HELLO: the dispatcher's heartbeat port (UDP) */
	uint32_t data_port;     /* STAGE: this host's data port for it (its slot's) */
	uint32_t next_port;     /* STAGE: the successor's data port or the result port */
	double hb_period_s;
	double out_bytes, flops, speed_flops; /* busy work = flops / speed (0: none) */
	double report_period_s, stuck_timeout_s;
	uint64_t seed;          /* synthetic tensors; real compute: the weights' seed */
	uint64_t fingerprint;   /* real compute: the model's (model_lprofile_fingerprint); 0: any */
	int32_t real, dense_output, first_layer, last_layer, threads;
	char codec[64];         /* the wire codec (emu_codec.h spec; "": none) */
	int64_t in_shape[EMU_CODEC_MAX_RANK], out_shape[EMU_CODEC_MAX_RANK];
	int32_t in_rank, out_rank;
	char next_host[EMU_REMOTE_HOST_MAX]; /* "" = the dispatcher (this connection's peer) */
	char model[EMU_REMOTE_MODEL_MAX];    /* real compute */
};

/* One host of a dispatch run: its name (for messages), its address and control port. */
struct emu_remote_host {
	char name[64];
	char host[EMU_REMOTE_HOST_MAX];
	uint16_t port;      /* control */
	uint16_t data_port; /* 0: port + 1; the slots' ports follow it */
};

/* The dispatcher's side (emu_config.remote). */
struct emu_remote {
	const struct emu_remote_host *hosts; /* node i = hosts[i] */
	int n;
	const char *listen_host; /* results (TCP) and heartbeats (UDP) bind here; NULL: any */
	uint16_t listen_port;    /* 0: an ephemeral port (the same number for both) */
};

/*
 * Parse "NAME=HOST:PORT[,NAME=HOST:PORT...]" (NAME= may be left out: node<i>) into a new
 * array. IPv6 literals go in brackets. Errors: EP_EINVAL naming the bad item, EP_ENOMEM.
 */
int emu_remote_hosts_parse(const char *s, struct emu_remote_host **out, int *n,
			   struct ep_error *err);

/* "HOST:PORT" (PORT may be 0 where allow_zero); host into host[size]. */
int emu_remote_addr_parse(const char *s, char *host, size_t size, uint16_t *port,
			  bool allow_zero, struct ep_error *err);

struct emu_stage_host_config {
	const char *listen_host; /* NULL or "": any address */
	uint16_t port;           /* control */
	uint16_t data_port;      /* 0: port + 1; EMU_REMOTE_DATA_SLOTS ports from there */
	const char *name;        /* for messages */
	int threads;             /* real compute: executor threads, >= 1 (0: as assigned) */
	int stop_fd;             /* readable = stop (SIGINT, SIGTERM); -1: none */
	FILE *log;               /* one line per connection and stage; NULL: quiet */
	int max_stages;          /* > 0: return after this many stages ended (tests); 0: never */
};

/*
 * Run a stage host until stop_fd is readable (or max_stages stages have run). Returns EP_OK,
 * or EP_EIO when it cannot listen (the address and port named), EP_ENOMEM.
 */
int emu_stage_host_run(const struct emu_stage_host_config *cfg, struct ep_error *err);

#endif
