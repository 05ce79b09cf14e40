/*
 * The emulated network: namespaces around a private switch, HTB per ordered pair at the sender.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>

#include "emu_internal.h"
#include "emu_net.h"

#define MTU 1500

struct emu_node {
	char ns[EMU_NAME_MAX + 2];     /* namespace */
	char ifname[EMU_NAME_MAX + 2]; /* veth end inside the namespace */
	char port[EMU_NAME_MAX + 2];   /* veth end on the bridge, in the switch namespace */
	struct nl_sock *sk;            /* netlink, inside the namespace */
	int nsfd;                      /* open during bring-up only */
	int ifindex;
	struct in_addr addr;
	bool mounted;
};

struct emu_pair {
	struct emu_link_state st;
	bool netem_leaf;        /* a netem qdisc hangs under the pair's class */
	char loss_rule[24];     /* the probability of the iptables loss rule in place, or "" */
	bool down_rule;         /* the iptables DROP rule of a cut is in place */
};

struct emu_net {
	struct emu_registry *reg;
	const struct emu_caps *caps;
	struct emu_net_options opt;
	int n;                   /* nodes; index n is the dispatcher */
	struct emu_node sw;      /* the switch namespace (ifname = the bridge) */
	struct emu_node *nodes;  /* [n + 1] */
	struct emu_pair *pairs;  /* [(n + 1)^2], from * (n + 1) + to */
	enum emu_mech mech[EMU_PROP_COUNT_];
	struct emu_net_stats stats;
};

static struct emu_pair *pair(const struct emu_net *net, int from, int to)
{
	return &net->pairs[from * (net->n + 1) + to];
}

/* The HTB rate for a configured bandwidth (payload rate -> Ethernet frame rate). */
static double class_bytes_per_s(const struct emu_net *net, double bps)
{
	double scale = net->opt.wire_rate ? 1.0 : (MTU + 14.0) / (MTU - 52.0);

	return bps / 8.0 * scale;
}

static int check_pair(const struct emu_net *net, int from, int to, struct ep_error *err)
{
	if (from < 0 || from > net->n || to < 0 || to > net->n || from == to)
		return ep_error_set(err, EP_EINVAL,
				    "link %d -> %d: nodes are 0..%d (%d is the dispatcher), and "
				    "distinct",
				    from, to, net->n, net->n);
	return EP_OK;
}

static const char *node_label(const struct emu_net *net, int i, char *buf, size_t size)
{
	if (i == net->n)
		snprintf(buf, size, "dispatcher");
	else
		snprintf(buf, size, "node %d", i);
	return buf;
}

/* ---- namespaces ---- */

/*
 * /run/netns as `ip netns add` leaves it: a shared mount, so that namespace mounts propagate
 * to other mount namespaces (e.g. `ip netns exec`). As iproute2 does, the set-up holds an
 * exclusive flock on the directory: two processes doing it at once can stack bind mounts
 * without end (Debian bug 949235).
 */
static int prepare_netns_dir(struct ep_error *err)
{
	bool bound = false;
	int lock, rc = EP_OK;

	if (mkdir(EMU_NETNS_DIR, 0755) != 0 && errno != EEXIST)
		return ep_error_set(err, EP_EIO, "cannot create %s: %s", EMU_NETNS_DIR,
				    strerror(errno));
	lock = open(EMU_NETNS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock >= 0)
		while (flock(lock, LOCK_EX) != 0 && errno == EINTR)
			;
	while (mount("", EMU_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) != 0) {
		if (errno != EINVAL || bound) {
			rc = ep_error_set(err, EP_EIO, "cannot make %s a shared mount: %s",
					  EMU_NETNS_DIR, strerror(errno));
			break;
		}
		if (mount(EMU_NETNS_DIR, EMU_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) != 0) {
			rc = ep_error_set(err, EP_EIO, "cannot bind-mount %s: %s", EMU_NETNS_DIR,
					  strerror(errno));
			break;
		}
		bound = true;
	}
	if (lock >= 0)
		close(lock); /* releases the flock */
	return rc;
}

/* Create namespace nd->ns, bind-mount it, open a netlink socket and an fd in it. */
static int make_netns(struct emu_node *nd, struct ep_error *err)
{
	char path[256];
	int fd, self = -1, rc = EP_OK;
	bool entered = false;

	if (!emu_netns_path(nd->ns, path, sizeof(path)))
		return ep_error_set(err, EP_EINVAL, "namespace name '%s' too long", nd->ns);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return ep_error_set(err, EP_EIO, "namespace file %s: %s", path, strerror(errno));
	close(fd);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		rc = ep_error_set(err, EP_EIO, "cannot open this thread's namespace: %s",
				  strerror(errno));
		goto out;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		rc = ep_error_set(err, EP_EIO, "namespace %s: unshare: %s", nd->ns,
				  strerror(errno));
		goto out;
	}
	entered = true;
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) != 0) {
		rc = ep_error_set(err, EP_EIO, "namespace %s: bind mount: %s", nd->ns,
				  strerror(errno));
		goto out;
	}
	nd->mounted = true;
	/* No IPv6 inside: no router solicitations or DAD traffic on the shaped links. */
	emu_write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	emu_write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	nd->nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (nd->nsfd < 0) {
		rc = ep_error_set(err, EP_EIO, "namespace %s: %s", nd->ns, strerror(errno));
		goto out;
	}
	rc = emu_nl_open(-1, nd->ns, &nd->sk, err);
out:
	if (entered && setns(self, CLONE_NEWNET) != 0 && rc == EP_OK)
		rc = ep_error_set(err, EP_EIO, "cannot return from namespace %s: %s", nd->ns,
				  strerror(errno));
	if (self >= 0)
		close(self);
	if (!nd->mounted)
		unlink(path);
	return rc;
}

static void remove_netns(struct emu_node *nd)
{
	char path[256];

	emu_nl_close(nd->sk);
	nd->sk = NULL;
	if (nd->nsfd >= 0)
		close(nd->nsfd);
	nd->nsfd = -1;
	if (!nd->mounted || !emu_netns_path(nd->ns, path, sizeof(path)))
		return;
	umount2(path, MNT_DETACH);
	unlink(path);
	nd->mounted = false;
}

/* ---- links and addresses ---- */

static int link_up_by_index(struct nl_sock *sk, int ifindex)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int rc;

	if (!l)
		return -NLE_NOMEM;
	rtnl_link_set_ifindex(l, ifindex);
	rtnl_link_set_flags(l, IFF_UP);
	rc = rtnl_link_add(sk, l, 0); /* RTM_NEWLINK on an existing index: change it */
	rtnl_link_put(l);
	return rc;
}

static int ifindex_of(struct nl_sock *sk, const char *name, int *out)
{
	struct rtnl_link *l = NULL;
	int rc = rtnl_link_get_kernel(sk, 0, name, &l);

	if (rc < 0)
		return rc;
	*out = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return 0;
}

static int make_bridge(struct emu_net *net, struct ep_error *err)
{
	struct rtnl_link *br = rtnl_link_bridge_alloc();
	int rc;

	if (!br)
		return ep_error_set(err, EP_ENOMEM, "out of memory for a bridge");
	rtnl_link_set_name(br, net->sw.ifname);
	rtnl_link_set_flags(br, IFF_UP);
	rc = rtnl_link_add(net->sw.sk, br, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(br);
	if (rc >= 0)
		rc = ifindex_of(net->sw.sk, net->sw.ifname, &net->sw.ifindex);
	if (rc < 0)
		return ep_error_set(err, EP_EIO, "bridge %s in namespace %s: %s", net->sw.ifname,
				    net->sw.ns, emu_nl_strerror(rc));
	return EP_OK;
}

/*
 * The veth of node i, created from inside the node's namespace: the node's end there (up,
 * with a GSO limit, see below), its peer straight into the switch namespace, where it is then
 * made a bridge port and brought up (the kernel takes no flags or master for a peer).
 *
 * GSO limit: TCP over veth otherwise hands the qdisc segments of up to 64 kB, which HTB lets
 * through whole: at 1 Mbit/s one such segment is half a second of the link, and a receiver
 * sees the rate in half-second lumps (a 1 s probe then reads 30 % too fast or too slow). At 8
 * MSS (11.6 kB) TCP's own TSO autosizing keeps low-rate transfers smooth and exact, while a
 * 1 Gbit/s link still reaches 99 % (1 MSS would cap this machine near 180 Mbit/s of CPU).
 * Unshaped nets (baselines, benchmarks) keep the kernel's 64 kB: no HTB to smooth, and 8 MSS
 * would cost a transfer at veth speed most of its rate in per-packet work.
 */
#define NODE_GSO_MAX_SEGS 8

static int make_veth(struct emu_net *net, int i, struct ep_error *err)
{
	struct emu_node *nd = &net->nodes[i];
	struct rtnl_link *veth = rtnl_link_veth_alloc(), *peer = NULL, *port = NULL;
	struct nl_msg *msg = NULL;
	const char *step = "creating";
	int rc;

	if (!veth)
		return ep_error_set(err, EP_ENOMEM, "out of memory for a veth");
	peer = rtnl_link_veth_get_peer(veth);
	rtnl_link_set_name(veth, nd->ifname);
	rtnl_link_set_flags(veth, IFF_UP);
	rtnl_link_set_mtu(veth, MTU);
	rtnl_link_set_name(peer, nd->port);
	rtnl_link_set_ns_fd(peer, net->sw.nsfd);
	rtnl_link_set_mtu(peer, MTU);
	rc = rtnl_link_build_add_request(veth, NLM_F_CREATE | NLM_F_EXCL, &msg);
	if (rc >= 0 && !net->opt.unshaped)
		rc = nla_put_u32(msg, IFLA_GSO_MAX_SEGS, NODE_GSO_MAX_SEGS);
	if (rc >= 0) {
		rc = nl_send_sync(nd->sk, msg); /* frees msg */
		msg = NULL;
	}
	if (rc >= 0) {
		step = "attaching to the bridge";
		port = rtnl_link_alloc();
		if (!port) {
			rc = -NLE_NOMEM;
		} else {
			rtnl_link_set_name(port, nd->port);
			rtnl_link_set_master(port, net->sw.ifindex);
			rtnl_link_set_flags(port, IFF_UP);
			rc = rtnl_link_add(net->sw.sk, port, 0); /* by name: change it */
		}
	}
	nlmsg_free(msg);
	if (port)
		rtnl_link_put(port);
	rtnl_link_put(peer);
	rtnl_link_put(veth);
	if (rc < 0)
		return ep_error_set(err, EP_EIO,
				    "veth %s (namespace %s) - %s (namespace %s), %s: %s",
				    nd->ifname, nd->ns, nd->port, net->sw.ns, step,
				    emu_nl_strerror(rc));
	return EP_OK;
}

static int configure_node(struct emu_net *net, int i, struct ep_error *err)
{
	struct emu_node *nd = &net->nodes[i];
	struct rtnl_addr *a = NULL;
	struct nl_addr *local = NULL;
	const char *step = "loopback up";
	int rc;

	rc = link_up_by_index(nd->sk, 1);
	if (rc >= 0) {
		step = "interface index";
		rc = ifindex_of(nd->sk, nd->ifname, &nd->ifindex);
	}
	if (rc >= 0) {
		step = "address";
		a = rtnl_addr_alloc();
		local = nl_addr_build(AF_INET, &nd->addr, sizeof(nd->addr));
		if (!a || !local) {
			rc = -NLE_NOMEM;
		} else {
			nl_addr_set_prefixlen(local, 16);
			rtnl_addr_set_ifindex(a, nd->ifindex);
			rtnl_addr_set_family(a, AF_INET);
			rc = rtnl_addr_set_local(a, local);
			if (rc >= 0)
				rc = rtnl_addr_add(nd->sk, a, NLM_F_CREATE | NLM_F_EXCL);
		}
	}
	if (a)
		rtnl_addr_put(a);
	if (local)
		nl_addr_put(local);
	if (rc < 0)
		return ep_error_set(err, EP_EIO, "namespace %s, %s: %s", nd->ns, step,
				    emu_nl_strerror(rc));
	return EP_OK;
}

/* Send a request that was built (rc 0), or report the build's failure. */
static int send_built(struct nl_sock *sk, int rc, struct nl_msg *msg)
{
	if (rc < 0) {
		nlmsg_free(msg);
		return rc;
	}
	return emu_nl_send(sk, msg);
}

/* HTB root, then one class and one filter per destination, on node i's interface, pipelined:
 * the requests' tag is 2j (class to j) or 2j + 1 (filter to j). */
static int shape_node(struct emu_net *net, int i, struct ep_error *err)
{
	struct emu_node *nd = &net->nodes[i];
	struct emu_nl_batch b;
	struct nl_msg *msg;
	char x[32], y[32];
	int rc, tag = 0, j;

	rc = emu_tc_htb_root_msg(nd->ifindex, &msg);
	rc = send_built(nd->sk, rc, msg);
	if (rc < 0)
		return ep_error_set(err, EP_EIO, "%s (namespace %s): HTB root on %s: %s",
				    node_label(net, i, x, sizeof(x)), nd->ns, nd->ifname,
				    emu_nl_strerror(rc));
	emu_nl_batch_init(&b, nd->sk);
	for (j = 0; j <= net->n && rc >= 0; j++) {
		const struct emu_pair *p = pair(net, i, j);

		if (j == i)
			continue;
		rc = emu_tc_htb_class_msg(nd->ifindex, (unsigned)j + 1,
					  class_bytes_per_s(net, p->st.bandwidth_bps), true, &msg);
		if (rc >= 0) {
			rc = emu_nl_batch_add(&b, msg, 2 * j);
			net->stats.classes++;
		}
		if (rc >= 0)
			rc = emu_tc_u32_dst_msg(nd->ifindex, &net->nodes[j].addr, (unsigned)j + 1,
						&msg);
		if (rc >= 0) {
			rc = emu_nl_batch_add(&b, msg, 2 * j + 1);
			net->stats.filters++;
		}
		tag = 2 * j + (rc < 0);
	}
	if (rc >= 0)
		rc = emu_nl_batch_finish(&b, &tag);
	else
		emu_nl_batch_finish(&b, NULL);
	if (rc < 0) {
		j = tag / 2;
		return ep_error_set(err, EP_EIO,
				    "link %s -> %s at %g bit/s: HTB %s for class 1:%x on %s: %s",
				    node_label(net, i, x, sizeof(x)),
				    node_label(net, j, y, sizeof(y)),
				    pair(net, i, j)->st.bandwidth_bps, tag % 2 ? "filter" : "class",
				    j + 1, nd->ifname, emu_nl_strerror(rc));
	}
	return EP_OK;
}

/* ---- lifecycle ---- */

static void set_names(struct emu_net *net)
{
	const char *id = emu_registry_run_id(net->reg);

	snprintf(net->sw.ns, sizeof(net->sw.ns), "%s-s", id);
	snprintf(net->sw.ifname, sizeof(net->sw.ifname), "%s-br", id);
	net->sw.nsfd = -1;
	for (int i = 0; i <= net->n; i++) {
		struct emu_node *nd = &net->nodes[i];
		uint32_t host = (uint32_t)i + 1;

		if (i == net->n) {
			snprintf(nd->ns, sizeof(nd->ns), "%s-d", id);
			snprintf(nd->ifname, sizeof(nd->ifname), "%s-ed", id);
			snprintf(nd->port, sizeof(nd->port), "%s-pd", id);
		} else {
			snprintf(nd->ns, sizeof(nd->ns), "%s-n%d", id, i);
			snprintf(nd->ifname, sizeof(nd->ifname), "%s-e%d", id, i);
			snprintf(nd->port, sizeof(nd->port), "%s-p%d", id, i);
		}
		nd->nsfd = -1;
		nd->addr.s_addr = htonl((198u << 24) | (18u << 16) | host);
	}
}

static int register_all(struct emu_net *net, struct ep_error *err)
{
	size_t n_items = 2 + 3 * (size_t)(net->n + 1), k = 0;
	struct emu_item *items = calloc(n_items, sizeof(*items));
	int rc;

	if (!items)
		return ep_error_set(err, EP_ENOMEM, "out of memory for registry items");
	emu_item_netns(&items[k++], net->sw.ns);
	emu_item_link(&items[k++], net->sw.ns, net->sw.ifname);
	for (int i = 0; i <= net->n; i++) {
		emu_item_netns(&items[k++], net->nodes[i].ns);
		emu_item_link(&items[k++], net->sw.ns, net->nodes[i].port);
		emu_item_link(&items[k++], net->nodes[i].ns, net->nodes[i].ifname);
	}
	rc = emu_registry_add(net->reg, items, k, err);
	free(items);
	return rc;
}

static int check_cluster(const struct cluster *c, struct ep_error *err)
{
	if (c->n < 1 || c->n > EMU_NET_MAX_NODES)
		return ep_error_set(err, EP_EINVAL,
				    "cluster of %d nodes: the emulator takes 1 to %d", c->n,
				    EMU_NET_MAX_NODES);
	for (int i = 0; i <= c->n; i++)
		for (int j = 0; j <= c->n; j++) {
			double bw = cluster_bw(c, i, j), lat = cluster_latency(c, i, j);

			if (i == j)
				continue;
			if (!(bw > 0) || !isfinite(bw))
				return ep_error_set(err, EP_EINVAL,
						    "link %d -> %d: bandwidth %g bit/s must be "
						    "positive and finite",
						    i, j, bw);
			if (!(lat >= 0) || !isfinite(lat))
				return ep_error_set(err, EP_EINVAL,
						    "link %d -> %d: latency %g s must be >= 0",
						    i, j, lat);
		}
	return EP_OK;
}

/* The network's description of cluster c, nothing created yet: nodes and pairs (every link up
 * at the cluster's bandwidth), the mechanism of each property, the names. */
static int net_alloc(struct emu_registry *reg, const struct emu_caps *caps, const struct cluster *c,
		     const struct emu_net_options *opt, struct emu_net **out, struct ep_error *err)
{
	struct emu_net *net = calloc(1, sizeof(*net));
	int v = c->n + 1;

	*out = net;
	if (!net)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the network");
	net->reg = reg;
	net->caps = caps;
	net->n = c->n;
	if (opt)
		net->opt = *opt;
	net->sw.nsfd = -1;
	net->nodes = calloc((size_t)v, sizeof(*net->nodes));
	for (int i = 0; net->nodes && i < v; i++)
		net->nodes[i].nsfd = -1;
	net->pairs = calloc((size_t)v * (size_t)v, sizeof(*net->pairs));
	if (!net->nodes || !net->pairs)
		return ep_error_set(err, EP_ENOMEM, "out of memory for a network of %d nodes",
				    c->n);
	for (int i = 0; i < v; i++)
		for (int j = 0; j < v; j++) {
			struct emu_pair *p = pair(net, i, j);

			p->st.bandwidth_bps = i == j ? 0 : cluster_bw(c, i, j);
			p->st.up = true;
		}
	for (int p = 0; p < EMU_PROP_COUNT_; p++)
		net->mech[p] = emu_mech_choose(caps, &net->opt, (enum emu_prop)p);
	set_names(net);
	return EP_OK;
}

/* The namespaces and their links: the switch's, then node by node (only one namespace fd open
 * at a time besides the sockets); the time each part took into net->stats. */
static int net_make_links(struct emu_net *net, struct ep_error *err)
{
	double t = emu_now_s();
	int rc = make_netns(&net->sw, err);

	net->stats.netns_s += emu_now_s() - t;
	t = emu_now_s();
	if (rc == EP_OK)
		rc = make_bridge(net, err);
	net->stats.links_s += emu_now_s() - t;
	for (int i = 0; rc == EP_OK && i <= net->n; i++) {
		t = emu_now_s();
		rc = make_netns(&net->nodes[i], err);
		net->stats.netns_s += emu_now_s() - t;
		t = emu_now_s();
		if (rc == EP_OK)
			rc = make_veth(net, i, err);
		if (net->nodes[i].nsfd >= 0)
			close(net->nodes[i].nsfd);
		net->nodes[i].nsfd = -1;
		net->stats.links_s += emu_now_s() - t;
	}
	return rc;
}

/* Addresses, shaping (unless unshaped) and the cluster's latencies on the links made. */
static int net_configure(struct emu_net *net, const struct cluster *c, struct ep_error *err)
{
	int v = net->n + 1, rc = EP_OK;
	double t = emu_now_s();

	for (int i = 0; rc == EP_OK && i < v; i++)
		rc = configure_node(net, i, err);
	net->stats.links_s += emu_now_s() - t;
	t = emu_now_s();
	for (int i = 0; rc == EP_OK && !net->opt.unshaped && i < v; i++)
		rc = shape_node(net, i, err);
	net->stats.shaping_s = emu_now_s() - t;
	for (int i = 0; rc == EP_OK && i < v; i++)
		for (int j = 0; rc == EP_OK && j < v; j++)
			if (i != j && cluster_latency(c, i, j) > 0)
				rc = emu_link_set_latency(net, i, j, cluster_latency(c, i, j), err);
	return rc;
}

int emu_net_create(struct emu_registry *reg, const struct emu_caps *caps, const struct cluster *c,
		   const struct emu_net_options *opt, struct emu_net **out, struct ep_error *err)
{
	struct emu_net *net = NULL;
	int rc;

	*out = NULL;
	rc = check_cluster(c, err);
	if (rc != EP_OK)
		return rc;
	rc = emu_caps_require_net(caps, err);
	if (rc != EP_OK)
		return rc;
	rc = net_alloc(reg, caps, c, opt, &net, err);
	/* Everything is in the registry before anything exists. */
	if (rc == EP_OK)
		rc = register_all(net, err);
	if (rc == EP_OK)
		rc = prepare_netns_dir(err);
	if (rc == EP_OK)
		rc = net_make_links(net, err);
	if (rc == EP_OK)
		rc = net_configure(net, c, err);
	if (rc != EP_OK) {
		emu_net_destroy(net);
		return rc;
	}
	*out = net;
	return EP_OK;
}

void emu_net_destroy(struct emu_net *net)
{
	if (!net)
		return;
	/* Unmounting drops the last reference we hold (the sockets went first): the kernel then
	 * destroys each namespace, with its interfaces, in the background. */
	remove_netns(&net->sw);
	if (net->nodes)
		for (int i = 0; i <= net->n; i++)
			remove_netns(&net->nodes[i]);
	free(net->nodes);
	free(net->pairs);
	free(net);
}

/* ---- accessors ---- */

int emu_net_node_count(const struct emu_net *net)
{
	return net->n;
}

const char *emu_net_ns_name(const struct emu_net *net, int i)
{
	return i >= 0 && i <= net->n ? net->nodes[i].ns : "";
}

const char *emu_net_ifname(const struct emu_net *net, int i)
{
	return i >= 0 && i <= net->n ? net->nodes[i].ifname : "";
}

struct in_addr emu_net_addr(const struct emu_net *net, int i)
{
	struct in_addr none = { 0 };

	return i >= 0 && i <= net->n ? net->nodes[i].addr : none;
}

const char *emu_net_addr_str(const struct emu_net *net, int i, char *buf, size_t size)
{
	struct in_addr a = emu_net_addr(net, i);

	if (!inet_ntop(AF_INET, &a, buf, (socklen_t)size) && size)
		buf[0] = '\0';
	return buf;
}

void emu_net_get_stats(const struct emu_net *net, struct emu_net_stats *out)
{
	*out = net->stats;
}

enum emu_mech emu_net_mech(const struct emu_net *net, enum emu_prop prop)
{
	return (unsigned)prop < EMU_PROP_COUNT_ ? net->mech[prop] : EMU_MECH_NONE;
}

int emu_link_get(const struct emu_net *net, int from, int to, struct emu_link_state *out,
		 struct ep_error *err)
{
	int rc = check_pair(net, from, to, err);

	if (rc == EP_OK)
		*out = pair(net, from, to)->st;
	return rc;
}

/* ---- changes in place ---- */

static int apply_netem(struct emu_net *net, int from, int to, double latency_s, double loss,
		       struct ep_error *err)
{
	struct emu_pair *p = pair(net, from, to);
	struct emu_node *nd = &net->nodes[from];
	struct nl_msg *msg;
	int rc;

	if (net->opt.unshaped)
		return ep_error_set(err, EP_EINVAL,
				    "link %d -> %d: netem hangs under the pair's HTB class, and "
				    "this network was built unshaped",
				    from, to);
	rc = emu_tc_netem_leaf_msg(nd->ifindex, (unsigned)to + 1, latency_s, loss,
				   class_bytes_per_s(net, p->st.bandwidth_bps), !p->netem_leaf,
				   &msg);
	rc = send_built(nd->sk, rc, msg);
	if (rc < 0)
		return ep_error_set(err, EP_EIO,
				    "link %d -> %d: netem (delay %g s, loss %g) under class 1:%x: "
				    "%s",
				    from, to, latency_s, loss, to + 1, emu_nl_strerror(rc));
	p->netem_leaf = true;
	return EP_OK;
}

/* Add or delete an iptables rule in node `at`'s namespace. */
static int iptables(struct emu_net *net, int at, const char *op, const char *src,
		    const char *prob, struct ep_error *err)
{
	char *argv[20], out[512], a[32], op_b[8], src_b[INET_ADDRSTRLEN], prob_b[24];
	int k = 0, status, rc;

	/* execvp wants writable strings. */
	emu_copy(op_b, sizeof(op_b), op);
	emu_copy(src_b, sizeof(src_b), src);
	argv[k++] = "iptables";
	argv[k++] = "-w";
	argv[k++] = op_b;
	argv[k++] = "INPUT";
	argv[k++] = "-s";
	argv[k++] = src_b;
	if (prob) {
		emu_copy(prob_b, sizeof(prob_b), prob);
		argv[k++] = "-m";
		argv[k++] = "statistic";
		argv[k++] = "--mode";
		argv[k++] = "random";
		argv[k++] = "--probability";
		argv[k++] = prob_b;
	}
	argv[k++] = "-j";
	argv[k++] = "DROP";
	argv[k] = NULL;
	rc = emu_run(net->nodes[at].ns, argv, out, sizeof(out), &status, err);
	if (rc != EP_OK)
		return rc;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *nl = strchr(out, '\n');

		if (nl)
			*nl = '\0';
		return ep_error_set(err, EP_EIO, "iptables %s INPUT -s %s%s%s in %s (%s): %s", op,
				    src, prob ? " --probability " : "", prob ? prob : "",
				    node_label(net, at, a, sizeof(a)), net->nodes[at].ns,
				    out[0] ? out : "failed");
	}
	return EP_OK;
}

static int htb_apply(struct emu_net *net, int from, int to, enum emu_prop prop,
		     const struct emu_link_state *want, struct ep_error *err)
{
	struct emu_node *nd = &net->nodes[from];
	struct nl_msg *msg;
	char a[32], b[32];
	int rc;

	(void)prop; /* bandwidth only */
	rc = emu_tc_htb_class_msg(nd->ifindex, (unsigned)to + 1,
				  class_bytes_per_s(net, want->bandwidth_bps), false, &msg);
	rc = send_built(nd->sk, rc, msg);
	if (rc < 0)
		return ep_error_set(err, EP_EIO,
				    "link %s -> %s: changing HTB class 1:%x to %g bit/s: %s",
				    node_label(net, from, a, sizeof(a)),
				    node_label(net, to, b, sizeof(b)), to + 1, want->bandwidth_bps,
				    emu_nl_strerror(rc));
	return EP_OK;
}

static int netem_apply(struct emu_net *net, int from, int to, enum emu_prop prop,
		       const struct emu_link_state *want, struct ep_error *err)
{
	(void)prop; /* latency and loss: one netem leaf carries both */
	return apply_netem(net, from, to, want->latency_s, want->loss, err);
}

static int iptables_apply(struct emu_net *net, int from, int to, enum emu_prop prop,
			  const struct emu_link_state *want, struct ep_error *err)
{
	struct emu_pair *p = pair(net, from, to);
	char src[INET_ADDRSTRLEN], prob[24];
	int rc = EP_OK;

	emu_net_addr_str(net, from, src, sizeof(src));
	if (prop == EMU_PROP_DOWN) {
		if (p->down_rule == !want->up)
			return EP_OK;
		/* Inserted first in the chain, so a cut link drops everything regardless of loss
		 * rules. */
		rc = iptables(net, to, want->up ? "-D" : "-I", src, NULL, err);
		if (rc == EP_OK)
			p->down_rule = !want->up;
		return rc;
	}
	/* EMU_PROP_LOSS: a statistic rule. */
	snprintf(prob, sizeof(prob), "%.6f", want->loss);
	if (p->loss_rule[0] && strcmp(p->loss_rule, prob) == 0)
		return EP_OK;
	/* The new rule before the old one goes, so the loss never lapses. */
	if (want->loss > 0)
		rc = iptables(net, to, "-A", src, prob, err);
	if (rc == EP_OK && p->loss_rule[0])
		rc = iptables(net, to, "-D", src, p->loss_rule, err);
	if (rc == EP_OK)
		snprintf(p->loss_rule, sizeof(p->loss_rule), "%s", want->loss > 0 ? prob : "");
	return rc;
}

static int transport_apply(struct emu_net *net, int from, int to, enum emu_prop prop,
			   const struct emu_link_state *want, struct ep_error *err)
{
	/* Latency only: the transport reads it back with emu_link_get. */
	(void)net, (void)from, (void)to, (void)prop, (void)want, (void)err;
	return EP_OK;
}

/* No mechanism: say why the property cannot be had on this host or net. */
static int none_apply(struct emu_net *net, int from, int to, enum emu_prop prop,
		      const struct emu_link_state *want, struct ep_error *err)
{
	if (prop == EMU_PROP_BANDWIDTH)
		return ep_error_set(err, EP_EINVAL,
				    "link %d -> %d: this network was built unshaped", from, to);
	if (prop == EMU_PROP_DOWN)
		return ep_error_set(err, EP_EIO, "link %d -> %d: link %s needs iptables (%s)",
				    from, to, want->up ? "up" : "down",
				    net->caps->why[EMU_CAP_IPTABLES_STATISTIC]);
	return ep_error_set(err, EP_EIO,
			    "link %d -> %d: loss %g cannot be emulated: %s and %s are both "
			    "missing",
			    from, to, want->loss, emu_cap_name(EMU_CAP_NETEM),
			    emu_cap_name(EMU_CAP_IPTABLES_STATISTIC));
}

#define PROP(p) (1u << (p))

static const struct emu_mech_type mech_none = {
	.id = EMU_MECH_NONE,
	.name = "none",
	.summary = "unavailable on this host (or bandwidth on an unshaped net)",
	.cap = -1,
	.apply = none_apply,
};

static const struct emu_mech_type mech_htb = {
	.id = EMU_MECH_HTB,
	.name = "htb",
	.summary = "bandwidth: an HTB class per ordered pair at the sender",
	.props = PROP(EMU_PROP_BANDWIDTH),
	.cap = -1, /* the net's tree itself: bring-up fails without HTB */
	.shaped = true,
	.apply = htb_apply,
};

static const struct emu_mech_type mech_netem = {
	.id = EMU_MECH_NETEM,
	.name = "netem",
	.summary = "latency and loss: a netem leaf under the pair's HTB class",
	.props = PROP(EMU_PROP_LATENCY) | PROP(EMU_PROP_LOSS),
	.cap = EMU_CAP_NETEM,
	.apply = netem_apply,
};

static const struct emu_mech_type mech_iptables = {
	.id = EMU_MECH_IPTABLES,
	.name = "iptables",
	.summary = "loss (a statistic rule) and link down (a DROP rule) at the receiver",
	.props = PROP(EMU_PROP_LOSS) | PROP(EMU_PROP_DOWN),
	.cap = EMU_CAP_IPTABLES_STATISTIC,
	.apply = iptables_apply,
};

static const struct emu_mech_type mech_transport = {
	.id = EMU_MECH_TRANSPORT,
	.name = "transport",
	.summary = "latency: each receiver holds a frame for the link's latency",
	.props = PROP(EMU_PROP_LATENCY),
	.cap = -1,
	.apply = transport_apply,
};

const struct emu_mech_type *const emu_mech_registry[] = {
	&mech_htb, &mech_netem, &mech_iptables, &mech_transport, NULL,
};

static const struct emu_mech_type *mech_type(enum emu_mech id)
{
	for (int i = 0; emu_mech_registry[i]; i++)
		if (emu_mech_registry[i]->id == id)
			return emu_mech_registry[i];
	return &mech_none;
}

const char *emu_mech_name(enum emu_mech mech)
{
	const struct emu_mech_type *m = mech_type(mech);

	return m->id == mech ? m->name : "?";
}

enum emu_mech emu_mech_choose(const struct emu_caps *caps, const struct emu_net_options *opt,
			      enum emu_prop prop)
{
	for (int i = 0; emu_mech_registry[i]; i++) {
		const struct emu_mech_type *m = emu_mech_registry[i];

		if (!(m->props & PROP(prop)) || (m->cap >= 0 && !caps->have[m->cap]) ||
		    (m->shaped && opt && opt->unshaped))
			continue;
		return m->id;
	}
	return EMU_MECH_NONE;
}

/* Give from -> to the state `want` for `prop` through the net's mechanism for it, and record
 * it. */
static int mech_apply(struct emu_net *net, int from, int to, enum emu_prop prop,
		      const struct emu_link_state *want, struct ep_error *err)
{
	int rc = mech_type(net->mech[prop])->apply(net, from, to, prop, want, err);

	if (rc == EP_OK)
		pair(net, from, to)->st = *want;
	return rc;
}

int emu_link_shape(struct emu_net *net, int from, int to, double bps, struct ep_error *err)
{
	struct emu_link_state want;
	int rc = check_pair(net, from, to, err);

	if (rc != EP_OK)
		return rc;
	if (!(bps > 0) || !isfinite(bps))
		return ep_error_set(err, EP_EINVAL,
				    "link %d -> %d: bandwidth %g bit/s must be positive and finite",
				    from, to, bps);
	want = pair(net, from, to)->st;
	want.bandwidth_bps = bps;
	return mech_apply(net, from, to, EMU_PROP_BANDWIDTH, &want, err);
}

int emu_link_set_latency(struct emu_net *net, int from, int to, double latency_s,
			 struct ep_error *err)
{
	struct emu_link_state want;
	int rc = check_pair(net, from, to, err);

	if (rc != EP_OK)
		return rc;
	if (!(latency_s >= 0) || !isfinite(latency_s))
		return ep_error_set(err, EP_EINVAL, "link %d -> %d: latency %g s must be >= 0",
				    from, to, latency_s);
	want = pair(net, from, to)->st;
	want.latency_s = latency_s;
	return mech_apply(net, from, to, EMU_PROP_LATENCY, &want, err);
}

int emu_link_set_loss(struct emu_net *net, int from, int to, double loss, struct ep_error *err)
{
	struct emu_link_state want;
	int rc = check_pair(net, from, to, err);

	if (rc != EP_OK)
		return rc;
	if (!(loss >= 0 && loss < 1))
		return ep_error_set(err, EP_EINVAL, "link %d -> %d: loss %g must be in [0, 1)",
				    from, to, loss);
	want = pair(net, from, to)->st;
	want.loss = loss;
	return mech_apply(net, from, to, EMU_PROP_LOSS, &want, err);
}

int emu_link_set_up(struct emu_net *net, int from, int to, bool up, struct ep_error *err)
{
	struct emu_link_state want;
	int rc = check_pair(net, from, to, err);

	if (rc != EP_OK)
		return rc;
	want = pair(net, from, to)->st;
	want.up = up;
	return mech_apply(net, from, to, EMU_PROP_DOWN, &want, err);
}

int emu_node_set_up(struct emu_net *net, int i, bool up, struct ep_error *err)
{
	struct emu_node *nd;
	struct rtnl_link *l;
	char a[32];
	int rc;

	if (i < 0 || i > net->n)
		return ep_error_set(err, EP_EINVAL, "node %d: nodes are 0..%d", i, net->n);
	nd = &net->nodes[i];
	l = rtnl_link_alloc();
	if (!l)
		return ep_error_set(err, EP_ENOMEM, "out of memory for a link change");
	rtnl_link_set_ifindex(l, nd->ifindex);
	if (up)
		rtnl_link_set_flags(l, IFF_UP);
	else
		rtnl_link_unset_flags(l, IFF_UP);
	rc = rtnl_link_add(nd->sk, l, 0); /* RTM_NEWLINK on an existing index: change it */
	rtnl_link_put(l);
	if (rc < 0)
		return ep_error_set(err, EP_EIO, "%s: setting %s %s in %s: %s",
				    node_label(net, i, a, sizeof(a)), nd->ifname, up ? "up" : "down",
				    nd->ns, emu_nl_strerror(rc));
	return EP_OK;
}

/* ---- processes ---- */

int emu_net_enter(const struct emu_net *net, int i, struct ep_error *err)
{
	int fd, rc = EP_OK;

	if (i < 0 || i > net->n)
		return ep_error_set(err, EP_EINVAL, "node %d: nodes are 0..%d", i, net->n);
	fd = emu_netns_open(net->nodes[i].ns);
	if (fd < 0)
		return ep_error_set(err, EP_EIO, "namespace %s: %s", net->nodes[i].ns,
				    strerror(-fd));
	if (setns(fd, CLONE_NEWNET) != 0)
		rc = ep_error_set(err, EP_EIO, "entering namespace %s: %s", net->nodes[i].ns,
				  strerror(errno));
	close(fd);
	return rc;
}

int emu_net_spawn(const struct emu_net *net, int i, const struct emu_cgroup *cg,
		  emu_child_fn fn, void *arg, pid_t *pid, struct ep_error *err)
{
	pid_t p;

	if (i < 0 || i > net->n)
		return ep_error_set(err, EP_EINVAL, "node %d: nodes are 0..%d", i, net->n);
	/* Nothing buffered may be written twice, by parent and child. */
	fflush(NULL);
	p = fork();
	if (p < 0)
		return ep_error_set(err, EP_EIO, "fork for node %d: %s", i, strerror(errno));
	if (p == 0) {
		struct ep_error e;
		int rc;

		if (cg && emu_cgroup_attach(cg, 0, &e) != EP_OK) {
			fprintf(stderr, "edgepipe: %s\n", e.msg);
			_exit(125);
		}
		if (emu_net_enter(net, i, &e) != EP_OK) {
			fprintf(stderr, "edgepipe: %s\n", e.msg);
			_exit(126);
		}
		rc = fn(arg);
		fflush(NULL);
		_exit(rc & 0xff);
	}
	*pid = p;
	return EP_OK;
}

int emu_net_run(const struct emu_net *net, int i, char *const argv[], char *out,
		size_t out_size, int *status, struct ep_error *err)
{
	if (i < 0 || i > net->n)
		return ep_error_set(err, EP_EINVAL, "node %d: nodes are 0..%d", i, net->n);
	return emu_run(net->nodes[i].ns, argv, out, out_size, status, err);
}
