/*
 * Traffic control through libnl: HTB root and classes, u32 destination filters, netem leaves,
 * TBF. Only the few shapes the emulator needs, each one netlink request; and a pipeline to
 * send many of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/pkt_sched.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

#include "emu_internal.h"

#define ETH_FRAME_MAX (1500 + 14) /* one full Ethernet frame without FCS, as HTB counts it */

/*
 * Burst: two full frames, or 10 ms of the rate if more. The bucket must hold at least one frame
 * or the class stalls. Beyond that it is a trade: a small bucket keeps short transfers exact
 * (an idle link lets at most one bucket through at once, 1 % of a one-second transfer), a
 * large one absorbs the moments when the sender is not scheduled, which HTB otherwise loses.
 * Measured on this 2-core machine with both cores busy, 100 Mbit/s probes: a 2 ms bucket gave
 * 93.6-99.5 Mbit/s, 10 ms 97.2-100.0, 20 ms 99.99-100.05.
 */
unsigned emu_tc_burst_bytes(double bytes_per_s)
{
	double b = fmax(2.0 * ETH_FRAME_MAX, bytes_per_s * 0.010);

	return b > (double)UINT32_MAX / 2 ? UINT32_MAX / 2 : (unsigned)b;
}

/*
 * Quantum: what the class may send per round when classes share spare bandwidth; HTB wants it
 * between one frame and 200 kB. Our classes never borrow (rate = ceil), so it matters little;
 * setting it explicitly, as 100 ms of the rate clamped to that range, keeps the kernel from
 * warning about quanta derived from r2q.
 */
unsigned emu_tc_quantum_bytes(double bytes_per_s)
{
	double q = bytes_per_s / 10.0;

	if (q < ETH_FRAME_MAX)
		q = ETH_FRAME_MAX;
	if (q > 200000)
		q = 200000;
	return (unsigned)q;
}

int emu_tc_htb_root_msg(int ifindex, struct nl_msg **out)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int rc;

	*out = NULL;
	if (!q)
		return -NLE_NOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), TC_HANDLE(1, 0));
	rc = rtnl_tc_set_kind(TC_CAST(q), "htb");
	if (rc == 0)
		rc = rtnl_htb_set_defcls(q, 0);
	if (rc == 0)
		rc = rtnl_qdisc_build_add_request(q, NLM_F_CREATE | NLM_F_REPLACE, out);
	rtnl_qdisc_put(q);
	return rc;
}

int emu_tc_htb_class_msg(int ifindex, unsigned minor, double bytes_per_s, bool create,
			 struct nl_msg **out)
{
	struct rtnl_class *cl = rtnl_class_alloc();
	uint64_t rate = (uint64_t)llround(bytes_per_s);
	unsigned burst = emu_tc_burst_bytes(bytes_per_s);
	int rc;

	*out = NULL;
	if (!cl)
		return -NLE_NOMEM;
	if (rate < 1)
		rate = 1;
	rtnl_tc_set_ifindex(TC_CAST(cl), ifindex);
	rtnl_tc_set_parent(TC_CAST(cl), TC_HANDLE(1, 0));
	rtnl_tc_set_handle(TC_CAST(cl), TC_HANDLE(1, minor));
	rtnl_tc_set_mtu(TC_CAST(cl), 1500);
	rc = rtnl_tc_set_kind(TC_CAST(cl), "htb");
	if (rc == 0)
		rc = rtnl_htb_set_rate64(cl, rate);
	if (rc == 0)
		rc = rtnl_htb_set_ceil64(cl, rate);
	if (rc == 0)
		rc = rtnl_htb_set_rbuffer(cl, burst);
	if (rc == 0)
		rc = rtnl_htb_set_cbuffer(cl, burst);
	if (rc == 0)
		rc = rtnl_htb_set_quantum(cl, emu_tc_quantum_bytes(bytes_per_s));
	/* Without NLM_F_EXCL an existing class is changed in place (`tc class change`): its
	 * queue and the flows in it carry on at the new rate. */
	if (rc == 0)
		rc = rtnl_class_build_add_request(cl, create ? NLM_F_CREATE | NLM_F_EXCL : 0, out);
	rtnl_class_put(cl);
	return rc;
}

int emu_tc_u32_dst_msg(int ifindex, const struct in_addr *dst, unsigned minor,
		       struct nl_msg **out)
{
	struct rtnl_cls *cls = rtnl_cls_alloc();
	int rc;

	*out = NULL;
	if (!cls)
		return -NLE_NOMEM;
	rtnl_tc_set_ifindex(TC_CAST(cls), ifindex);
	rtnl_tc_set_parent(TC_CAST(cls), TC_HANDLE(1, 0));
	rc = rtnl_tc_set_kind(TC_CAST(cls), "u32");
	rtnl_cls_set_prio(cls, 1);
	rtnl_cls_set_protocol(cls, ETH_P_IP);
	/* The IPv4 destination is at offset 16 of the network header. */
	if (rc == 0)
		rc = rtnl_u32_add_key_uint32(cls, ntohl(dst->s_addr), 0xffffffffu, 16, 0);
	if (rc == 0)
		rc = rtnl_u32_set_classid(cls, TC_HANDLE(1, minor));
	if (rc == 0)
		rc = rtnl_u32_set_cls_terminal(cls);
	if (rc == 0)
		rc = rtnl_cls_build_add_request(cls, NLM_F_CREATE | NLM_F_EXCL, out);
	rtnl_cls_put(cls);
	return rc;
}

static int netem_msg(int ifindex, uint32_t parent, uint32_t handle, double delay_s, double loss,
		     int limit, int flags, struct nl_msg **out)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int rc;

	*out = NULL;
	if (!q)
		return -NLE_NOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), parent);
	rtnl_tc_set_handle(TC_CAST(q), handle);
	rc = rtnl_tc_set_kind(TC_CAST(q), "netem");
	if (rc == 0) {
		rtnl_netem_set_delay(q, (int)llround(delay_s * 1e6));
		/* netem's probabilities are fractions of 2^32 - 1; libnl takes them as int. */
		rtnl_netem_set_loss(q, (int)(uint32_t)llround(loss * (double)UINT32_MAX));
		rtnl_netem_set_limit(q, limit);
		rc = rtnl_qdisc_build_add_request(q, flags, out);
	}
	rtnl_qdisc_put(q);
	return rc;
}

int emu_tc_netem_leaf_msg(int ifindex, unsigned minor, double delay_s, double loss,
			  double bytes_per_s, bool create, struct nl_msg **out)
{
	/* Enough packets to hold the bandwidth-delay product twice over, at least 1000. */
	double bdp_pkts = bytes_per_s * delay_s / 1500.0 * 2.0;

	return netem_msg(ifindex, TC_HANDLE(1, minor), TC_HANDLE(minor + 1, 0), delay_s, loss,
			 bdp_pkts > 1000 ? (int)fmin(bdp_pkts, 1e7) : 1000,
			 create ? NLM_F_CREATE | NLM_F_EXCL : NLM_F_CREATE | NLM_F_REPLACE, out);
}

int emu_tc_netem_root_msg(int ifindex, double delay_s, struct nl_msg **out)
{
	return netem_msg(ifindex, TC_H_ROOT, TC_HANDLE(3, 0), delay_s, 0, 1000,
			 NLM_F_CREATE | NLM_F_REPLACE, out);
}

int emu_tc_tbf_root_msg(int ifindex, double bytes_per_s, struct nl_msg **out)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int rc;

	*out = NULL;
	if (!q)
		return -NLE_NOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), TC_HANDLE(2, 0));
	rc = rtnl_tc_set_kind(TC_CAST(q), "tbf");
	if (rc == 0) {
		rtnl_qdisc_tbf_set_limit(q, 10 * ETH_FRAME_MAX);
		rtnl_qdisc_tbf_set_rate(q, (int)bytes_per_s, (int)emu_tc_burst_bytes(bytes_per_s),
					0);
		rc = rtnl_qdisc_build_add_request(q, NLM_F_CREATE | NLM_F_REPLACE, out);
	}
	rtnl_qdisc_put(q);
	return rc;
}

int emu_nl_send(struct nl_sock *sk, struct nl_msg *msg)
{
	return nl_send_sync(sk, msg); /* frees msg */
}

/* ---- the pipeline ---- */

void emu_nl_batch_init(struct emu_nl_batch *b, struct nl_sock *sk)
{
	memset(b, 0, sizeof(*b));
	b->sk = sk;
	/* Answers are read here, not by libnl: it must not insist on one sequence number. */
	nl_socket_disable_seq_check(sk);
}

/*
 * Read one answer and retire the request it answers (and any before it, which the kernel
 * then answered with nothing: cannot happen with NLM_F_ACK, but keeps the queue honest).
 */
static int batch_read_one(struct emu_nl_batch *b)
{
	char buf[8192];
	int fd = nl_socket_get_fd(b->sk);
	ssize_t k;

	for (;;) {
		k = recv(fd, buf, sizeof(buf), 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -nl_syserr2nlerr(errno);
		break;
	}
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)k);
	     h = NLMSG_NEXT(h, k)) {
		int error = 0;

		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			error = e->error;
		} else if (h->nlmsg_type != NLMSG_DONE) {
			continue; /* not an answer (a notification): ignore */
		}
		while (b->count > 0) {
			unsigned seq = b->seq[b->head];
			int tag = b->tag[b->head];

			b->head = (b->head + 1) % EMU_NL_WINDOW;
			b->count--;
			if (seq == h->nlmsg_seq) {
				if (error < 0 && b->err == 0) {
					b->err = -nl_syserr2nlerr(-error);
					b->err_tag = tag;
				}
				break;
			}
		}
	}
	return 0;
}

int emu_nl_batch_add(struct emu_nl_batch *b, struct nl_msg *msg, int tag)
{
	int rc, slot;

	while (b->count == EMU_NL_WINDOW) {
		rc = batch_read_one(b);
		if (rc < 0) {
			nlmsg_free(msg);
			if (b->err == 0) {
				b->err = rc;
				b->err_tag = tag;
			}
			return b->err;
		}
	}
	rc = nl_send_auto(b->sk, msg);
	if (rc >= 0) {
		slot = (b->head + b->count) % EMU_NL_WINDOW;
		b->seq[slot] = nlmsg_hdr(msg)->nlmsg_seq;
		b->tag[slot] = tag;
		b->count++;
	} else if (b->err == 0) {
		b->err = rc;
		b->err_tag = tag;
	}
	nlmsg_free(msg);
	return b->err;
}

int emu_nl_batch_finish(struct emu_nl_batch *b, int *tag)
{
	while (b->count > 0) {
		int rc = batch_read_one(b);

		if (rc < 0) {
			if (b->err == 0) {
				b->err = rc;
				b->err_tag = b->tag[b->head];
			}
			b->count = 0;
		}
	}
	if (tag)
		*tag = b->err_tag;
	return b->err;
}
