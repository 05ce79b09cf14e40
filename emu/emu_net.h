/*
 * emu_net: the emulated network. One network namespace per node and one for the dispatcher,
 * every ordered pair of them with its own bandwidth, latency, loss and up/down state.
 *
 * Design: a star around a private switch, shaped at each sender.
 *
 *     ns <id>-n0          ns <id>-s (switch)                 ns <id>-n1
 *     lo, <id>-e0 ===veth=== <id>-p0 \                  / <id>-p1 ===veth=== <id>-e1, lo
 *     198.18.0.1/16          bridge <id>-br (no address)    198.18.0.2/16
 *     HTB root 1:                  ...  <id>-pN ===veth=== <id>-eN in ns <id>-d (dispatcher)
 *       class 1:(j+1) rate = ceil = B(i,j), one per destination j
 *       u32 filter: ip dst = address of j -> 1:(j+1)
 *
 * Each namespace (node i, or the dispatcher at index n, as in struct cluster) has one veth to
 * a bridge that lives in a switch namespace of its own. Its egress carries an HTB root with
 * one class per destination, rate = ceil = the pair's bandwidth (so classes never borrow and
 * pairs are independent, as in the cluster model, where every ordered pair is its own link),
 * and one u32 filter per destination address. Latency and loss, where netem exists, are a
 * netem qdisc as the leaf of the pair's class.
 *
 * Why this and not a veth pair per node pair: the per-pair state is the same (N(N+1) rates
 * either way: a class here, a qdisc per veth end there), but the mesh needs N(N+1)/2 veth
 * pairs, where the star needs N+1. At 100 nodes that is 5050 pairs. Measured on this machine:
 * creating 1000 veth pairs takes 0.76 s and deleting them one by one 16.5 s (an RCU grace
 * period each), so the mesh would spend about 4 s creating interfaces alone, plus an address
 * and a route per end, where the star's whole bring-up takes 1.1 s. The star also keeps one
 * address per node, one ARP domain and no routing. What it does not model: a node's receiving
 * side is unlimited (the sum of what everybody sends it), exactly as the cluster model's
 * independent pairs assume; the ACKs of a transfer i -> j travel in j's class towards i, using
 * a little of the reverse link, as on a real one.
 *
 * Rates: bandwidths are what the application's TCP payload achieves (the cost model's
 * transfer time is tensor bytes x 8 / bandwidth). HTB counts Ethernet frames, so by default the
 * class rate is the bandwidth scaled by (mtu + 14) / (mtu - 52): the headers of a full TCP/IPv4
 * segment with timestamps (1514 / 1448 at mtu 1500). `wire_rate` turns the scaling off.
 * Burst and quantum follow the rate (emu_tc.c): burst = max(2 frames, 10 ms of the rate),
 * quantum = 100 ms of the rate clamped to [1 frame, 200 kB]. The node's interface limits GSO
 * to 8 segments (emu_net.c, make_veth): HTB releases a GSO packet whole, and 64 kB ones made
 * a 1 Mbit/s link deliver in half-second lumps. emu_link_shape changes a class in place while
 * traffic flows; queued packets and open connections carry on. Measured with emu_probe
 * (tests/test_emu_net.c): 1, 10 and 100 Mbit/s configured, 1.000, 10.00 and 99.7-100.0 achieved.
 *
 * Latency and loss: with netem (EMU_MECH_NETEM) in the kernel. Without it (this machine),
 * latency is recorded for the stage transport to add (EMU_MECH_TRANSPORT; emu_link_get gives
 * it), and loss is an iptables `statistic` rule in the receiver's namespace that drops packets
 * from the sender's address at random (EMU_MECH_IPTABLES). The rule sits at the receiver, on
 * INPUT, rather than on the sender's OUTPUT, because a drop in OUTPUT is reported to the
 * sending socket as a local error (EPERM), which TCP does not treat as loss on the wire. Link
 * down is a plain DROP rule for the sender's address, first in the receiver's INPUT chain: a
 * silent drop, as a cut cable; TCP retransmits until the link is up again. The mechanisms
 * used are recorded: emu_net_mech.
 *
 * Addresses: 198.18.0.0/16 (RFC 2544's benchmarking range, not routed on the Internet), node i
 * at host number i + 1, the dispatcher at n + 1. They exist only inside the run's namespaces:
 * no namespace has a default route, nothing is attached to a host interface, no NAT.
 * Namespaces of different runs are disjoint, so concurrent runs may use the same addresses.
 *
 * Registry: every namespace and interface is registered (one fsync for the whole batch)
 * before the first is created. emu_net_destroy removes the namespaces (the veths and
 * everything in them go with them); processes still inside are the caller's to stop first.
 *
 * Cost: bring-up is O(n^2) netlink requests, (n+1)n classes and as many filters, sent
 * pipelined (up to 64 in flight per namespace). The kernel's cost per HTB class grows with the
 * number of classes already in the system (every class owns a filter block, which the kernel
 * appears to register on a system-wide list), so shaping grows faster than n^2: measured
 * (tests/bench_emu.c) 10 / 50 / 100 nodes come up in 0.06 / 0.22 / 1.1 s (shaping 0.003 /
 * 0.09 / 0.87 s) and go down in 0.01 s; reshaping every pair in place takes 0.16 s at 100.
 *
 * Threads: a net belongs to one thread, except that the read-only accessors (names,
 * addresses, emu_net_spawn) may be called from children it forks.
 */
#ifndef EDGEPIPE_EMU_NET_H
#define EDGEPIPE_EMU_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cluster.h"
#include "emu_caps.h"
#include "emu_cgroup.h"
#include "emu_registry.h"
#include "ep_error.h"

/* Nodes, besides the dispatcher. Each namespace keeps one netlink socket open, and processes
 * start with 1024 descriptors. */
#define EMU_NET_MAX_NODES 500
#define EMU_NET_SUBNET    "198.18.0.0/16"

/* How a link property is realised. */
enum emu_mech {
	EMU_MECH_NONE = 0,   /* unavailable on this host (or bandwidth with `unshaped`) */
	EMU_MECH_HTB,        /* bandwidth: an HTB class per ordered pair */
	EMU_MECH_NETEM,      /* latency or loss by a netem leaf qdisc */
	EMU_MECH_IPTABLES,   /* loss or link down by an iptables statistic/DROP rule */
	EMU_MECH_TRANSPORT,  /* latency to be added by the stage transport (emu_link_get) */
};

const char *emu_mech_name(enum emu_mech mech); /* "none", "htb", "netem", ... */

/* The properties of a link, for emu_net_mech. */
enum emu_prop {
	EMU_PROP_BANDWIDTH = 0,
	EMU_PROP_LATENCY,
	EMU_PROP_LOSS,
	EMU_PROP_DOWN, /* link down/up */
	EMU_PROP_COUNT_
};

struct emu_net_options {
	bool wire_rate;  /* false (default): bandwidth = TCP payload rate; true: Ethernet frames */
	bool unshaped;   /* no HTB at all: links run at veth speed (baselines, benchmarks) */
};

struct emu_net;
struct emu_link_state;

/*
 * A link mechanism: a const table in emu_net.c, listed once in emu_mech_registry in order of
 * preference. Each property of a net is realised by the first mechanism that can realise it
 * and that the host has (emu_mech_choose), else by EMU_MECH_NONE; names and the choice come
 * from the registry, and adding a mechanism is its apply function, one table, one line.
 */
struct emu_mech_type {
	enum emu_mech id;
	const char *name;    /* "netem" */
	const char *summary; /* one line: what it does, for help and the run record */
	unsigned props;      /* the properties it can realise: bits 1 << EMU_PROP_* */
	int cap;             /* the host ability it needs (EMU_CAP_*), -1: none */
	bool shaped;         /* needs the HTB tree: never chosen with emu_net_options.unshaped */
	/*
	 * Give pair from -> to property `prop`'s value in `want` (the pair's state with that one
	 * property changed; indices and values already checked). Errors: EP_EIO (the kernel or
	 * a command refused; named), EP_EINVAL.
	 */
	int (*apply)(struct emu_net *net, int from, int to, enum emu_prop prop,
		     const struct emu_link_state *want, struct ep_error *err);
};

/* The registry, NULL-terminated, in order of preference. */
extern const struct emu_mech_type *const emu_mech_registry[];

/* The mechanism that realises `prop` on a host with `caps` and a net built with `opt` (NULL:
 * defaults): the first of emu_mech_registry that can, else EMU_MECH_NONE. */
enum emu_mech emu_mech_choose(const struct emu_caps *caps, const struct emu_net_options *opt,
			      enum emu_prop prop);

/* A pair's current state. */
struct emu_link_state {
	double bandwidth_bps; /* as configured (payload or wire, per the options) */
	double latency_s;     /* as configured; applied by netem or left to the transport */
	double loss;          /* probability in [0, 1) */
	bool up;
};

struct emu_net;

/*
 * Build the network for cluster `c`: n = c->n nodes plus the dispatcher, every ordered pair
 * shaped to cluster_bw(c, i, j) with cluster_latency(c, i, j). `opt` may be NULL (defaults).
 * The registry and caps are borrowed and must outlive the net. *out is owned by the caller
 * (emu_net_destroy). On failure everything created so far is removed.
 * Errors: EP_EINVAL (n outside [1, EMU_NET_MAX_NODES], a bandwidth <= 0 or not finite, a
 * latency < 0; names the pair), EP_EIO (a missing ability, a kernel refusal; names the
 * namespace, interface or pair), EP_ENOMEM.
 */
int emu_net_create(struct emu_registry *reg, const struct emu_caps *caps,
		   const struct cluster *c, const struct emu_net_options *opt,
		   struct emu_net **out, struct ep_error *err);

/* Unmount the namespaces (the kernel then destroys them, veths included) and free. Accepts
 * NULL. A process still inside a namespace keeps it alive after its name is gone: stop the
 * run's processes first (or let emu_registry_clean kill them). */
void emu_net_destroy(struct emu_net *net);

int emu_net_node_count(const struct emu_net *net); /* n; the dispatcher is index n */

/* Node i's namespace name ("<id>-n3"; "<id>-d" for i = n) and address. i in [0, n]. */
const char *emu_net_ns_name(const struct emu_net *net, int i);
struct in_addr emu_net_addr(const struct emu_net *net, int i);
/* Dotted form into buf (at least INET_ADDRSTRLEN). Returns buf. */
const char *emu_net_addr_str(const struct emu_net *net, int i, char *buf, size_t size);
/* The interface inside node i's namespace ("<id>-e3"). */
const char *emu_net_ifname(const struct emu_net *net, int i);

/* What bring-up took (for benchmarks and the run record). */
struct emu_net_stats {
	double netns_s;   /* creating and mounting the namespaces */
	double links_s;   /* bridge, veths, addresses */
	double shaping_s; /* HTB roots, classes and filters */
	int classes, filters;
};

void emu_net_get_stats(const struct emu_net *net, struct emu_net_stats *out);

/* The mechanism that realises a property in this net, chosen at creation from the caps. */
enum emu_mech emu_net_mech(const struct emu_net *net, enum emu_prop prop);

/*
 * Set the bandwidth of from -> to, in place, while traffic flows. Errors: EP_EINVAL (indices,
 * from == to, bps <= 0 or not finite; named), EP_EIO (kernel refusal, named).
 * Complexity: one netlink request.
 */
int emu_link_shape(struct emu_net *net, int from, int to, double bps, struct ep_error *err);

/* Set the latency of from -> to (seconds, >= 0): netem where available, else recorded for the
 * transport. Errors as emu_link_shape. */
int emu_link_set_latency(struct emu_net *net, int from, int to, double latency_s,
			 struct ep_error *err);

/* Set the loss probability of from -> to, in [0, 1): netem where available, else an iptables
 * statistic rule in to's namespace. EP_EIO when neither exists. */
int emu_link_set_loss(struct emu_net *net, int from, int to, double loss, struct ep_error *err);

/* Cut (up = false) or restore from -> to. Packets are dropped silently at the receiver. A
 * bidirectional cut is two calls. EP_EIO without iptables. */
int emu_link_set_up(struct emu_net *net, int from, int to, bool up, struct ep_error *err);

/*
 * Set node i's interface down (up = false: the node falls silent, as one that lost power:
 * nothing leaves or reaches it, and its sockets' resets and FINs go nowhere) or up again.
 * Errors: EP_EINVAL (index), EP_EIO (kernel refusal, named). Complexity: one netlink request.
 */
int emu_node_set_up(struct emu_net *net, int i, bool up, struct ep_error *err);

/* The pair's state as configured. EP_EINVAL for bad indices. */
int emu_link_get(const struct emu_net *net, int from, int to, struct emu_link_state *out,
		 struct ep_error *err);

/* The child function of emu_net_spawn; its return value is the child's exit status. */
typedef int (*emu_child_fn)(void *arg);

/*
 * Fork a process that joins cgroup `cg` (NULL: none) and then node i's namespace, and runs
 * fn(arg), then _exit()s with its return value (0..255). *pid gets the child's pid; the
 * caller waits for it. The child joins both before fn runs, so nothing it does happens
 * outside them (a failure to join exits with 125 or 126 and a message on stderr). It is a
 * fork: it sees the caller's memory, but must not call the emu_* functions that change the
 * net (they would use the parent's netlink sockets). This is how the stage processes, the
 * dispatcher and the probe run. Errors: EP_EINVAL (bad index), EP_EIO (fork failed).
 */
int emu_net_spawn(const struct emu_net *net, int i, const struct emu_cgroup *cg,
		  emu_child_fn fn, void *arg, pid_t *pid, struct ep_error *err);

/* Move the calling thread into node i's namespace (for a forked child of one's own). */
int emu_net_enter(const struct emu_net *net, int i, struct ep_error *err);

/*
 * Run a command inside node i's namespace and wait for it; its output (stdout and stderr,
 * truncated) goes to out (may be NULL). *status is the wait status. Errors: EP_EINVAL (bad
 * index), EP_EIO (could not start it).
 */
int emu_net_run(const struct emu_net *net, int i, char *const argv[], char *out,
		size_t out_size, int *status, struct ep_error *err);

#endif
