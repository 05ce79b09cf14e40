/*
 * Capability detection: try each ability in a throwaway namespace inside a forked child.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/pkt_sched.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/tc.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>

#include "emu_caps.h"
#include "emu_internal.h"

static const char *const cap_names[EMU_CAP_COUNT_] = {
	"netns", "veth", "bridge", "htb", "u32", "tbf", "netem", "iptables-statistic",
	"cgroup-cpu", "cgroup-memory",
};

const char *emu_cap_name(enum emu_cap cap)
{
	return (unsigned)cap < EMU_CAP_COUNT_ ? cap_names[cap] : "?";
}

static void set_cap(struct emu_caps *caps, enum emu_cap cap, int nlrc, const char *what)
{
	caps->have[cap] = nlrc >= 0;
	if (nlrc < 0)
		snprintf(caps->why[cap], sizeof(caps->why[cap]), "%s: %s", what,
			 emu_nl_strerror(nlrc));
}

static int ifindex_of(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *l = NULL;
	int idx;

	if (rtnl_link_get_kernel(sk, 0, name, &l) < 0)
		return 0;
	idx = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return idx;
}

/* Send a request that was built (rc 0) or report the build's failure. */
static int tc_try(struct nl_sock *sk, int rc, struct nl_msg *msg)
{
	if (rc < 0) {
		nlmsg_free(msg);
		return rc;
	}
	return emu_nl_send(sk, msg);
}

/* In the child, inside a fresh namespace: try the network abilities. */
static void probe_net(struct emu_caps *caps)
{
	struct rtnl_link *veth = NULL, *br = NULL;
	struct nl_sock *sk = NULL;
	struct nl_msg *msg = NULL;
	struct in_addr dst;
	int rc, a = 0, b = 0, bri = 0;

	if (emu_nl_open(-1, "(detection)", &sk, NULL) != EP_OK) {
		snprintf(caps->why[EMU_CAP_VETH], sizeof(caps->why[0]), "no netlink socket");
		return;
	}
	veth = rtnl_link_veth_alloc();
	if (veth) {
		struct rtnl_link *peer = rtnl_link_veth_get_peer(veth);

		rtnl_link_set_name(veth, "capa");
		rtnl_link_set_flags(veth, IFF_UP);
		rtnl_link_set_name(peer, "capb");
		rtnl_link_put(peer);
		rc = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL);
		set_cap(caps, EMU_CAP_VETH, rc, "veth pair refused");
		if (rc >= 0) {
			a = ifindex_of(sk, "capa");
			b = ifindex_of(sk, "capb");
		}
	}
	br = rtnl_link_bridge_alloc();
	if (br) {
		rtnl_link_set_name(br, "capbr");
		rtnl_link_set_flags(br, IFF_UP);
		rc = rtnl_link_add(sk, br, NLM_F_CREATE | NLM_F_EXCL);
		set_cap(caps, EMU_CAP_BRIDGE, rc, "bridge refused");
		if (rc >= 0)
			bri = ifindex_of(sk, "capbr");
	}
	if (a > 0) {
		rc = emu_tc_htb_root_msg(a, &msg);
		rc = tc_try(sk, rc, msg);
		if (rc >= 0) {
			rc = emu_tc_htb_class_msg(a, 2, 125000.0, true, &msg);
			rc = tc_try(sk, rc, msg);
		}
		set_cap(caps, EMU_CAP_HTB, rc, "htb qdisc refused");
		if (rc >= 0) {
			inet_pton(AF_INET, "198.18.0.2", &dst);
			rc = emu_tc_u32_dst_msg(a, &dst, 2, &msg);
			rc = tc_try(sk, rc, msg);
			set_cap(caps, EMU_CAP_U32, rc, "u32 filter refused");
		} else {
			snprintf(caps->why[EMU_CAP_U32], sizeof(caps->why[0]),
				 "not tried (no htb)");
		}
	}
	if (b > 0) {
		rc = emu_tc_tbf_root_msg(b, 125000.0, &msg);
		rc = tc_try(sk, rc, msg);
		set_cap(caps, EMU_CAP_TBF, rc, "tbf qdisc refused");
	}
	if (bri > 0 || a > 0) {
		/* netem as root of its own device, the simplest form the kernel must accept. */
		rc = emu_tc_netem_root_msg(bri > 0 ? bri : a, 0.001, &msg);
		rc = tc_try(sk, rc, msg);
		set_cap(caps, EMU_CAP_NETEM, rc, "netem qdisc refused");
		if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NOATTR)
			snprintf(caps->why[EMU_CAP_NETEM], sizeof(caps->why[0]),
				 "netem qdisc refused: %s (this kernel has no sch_netem)",
				 emu_nl_strerror(rc));
	}
	if (veth)
		rtnl_link_put(veth);
	if (br)
		rtnl_link_put(br);
	emu_nl_close(sk);
}

static void probe_iptables(struct emu_caps *caps)
{
	char *argv[] = { "iptables", "-w", "-A", "INPUT", "-s", "198.18.0.9", "-m", "statistic",
			 "--mode", "random", "--probability", "0.5", "-j", "DROP", NULL };
	char out[256];
	int status;

	if (emu_run(NULL, argv, out, sizeof(out), &status, NULL) != EP_OK) {
		snprintf(caps->why[EMU_CAP_IPTABLES_STATISTIC], sizeof(caps->why[0]),
			 "could not run iptables");
		return;
	}
	caps->have[EMU_CAP_IPTABLES_STATISTIC] = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!caps->have[EMU_CAP_IPTABLES_STATISTIC]) {
		char *nl = strchr(out, '\n');

		if (nl)
			*nl = '\0';
		snprintf(caps->why[EMU_CAP_IPTABLES_STATISTIC], sizeof(caps->why[0]),
			 "iptables -m statistic failed (status %d): %.100s",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1, out[0] ? out : "no output");
	}
}

static bool has_word(const char *list, const char *word, const char *seps)
{
	size_t wl = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += wl) {
		bool start = p == list || strchr(seps, p[-1]);
		bool end = p[wl] == '\0' || strchr(seps, p[wl]);

		if (start && end)
			return true;
	}
	return false;
}

/* Find the cgroup mounts and decide, per controller, v2 or v1. */
static void probe_cgroups(struct emu_caps *caps)
{
	char v2root[256] = "", v1cpu[256] = "", v1mem[256] = "", line[4096];
	bool v2cpu = false, v2mem = false;
	FILE *fp = fopen("/proc/self/mountinfo", "re");

	if (fp) {
		while (fgets(line, sizeof(line), fp)) {
			/* id parent maj:min root mountpoint options ... - fstype source opts */
			char mnt[256], fstype[64], superopts[1024];
			const char *dash = strstr(line, " - ");

			if (!dash || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 ||
			    sscanf(dash + 3, "%63s %*s %1023s", fstype, superopts) != 2)
				continue;
			if (strcmp(fstype, "cgroup2") == 0 && !v2root[0])
				snprintf(v2root, sizeof(v2root), "%s", mnt);
			else if (strcmp(fstype, "cgroup") == 0) {
				if (!v1cpu[0] && has_word(superopts, "cpu", ","))
					snprintf(v1cpu, sizeof(v1cpu), "%s", mnt);
				if (!v1mem[0] && has_word(superopts, "memory", ","))
					snprintf(v1mem, sizeof(v1mem), "%s", mnt);
			}
		}
		fclose(fp);
	}
	if (v2root[0]) {
		char path[300], ctl[512];

		snprintf(path, sizeof(path), "%s/cgroup.controllers", v2root);
		if (emu_read_file(path, ctl, sizeof(ctl)) >= 0) {
			v2cpu = has_word(ctl, "cpu", " \n");
			v2mem = has_word(ctl, "memory", " \n");
		}
	}
	if (v2cpu) {
		caps->cgroup_cpu_version = 2;
		snprintf(caps->cgroup_cpu_root, sizeof(caps->cgroup_cpu_root), "%s", v2root);
	} else if (v1cpu[0]) {
		caps->cgroup_cpu_version = 1;
		snprintf(caps->cgroup_cpu_root, sizeof(caps->cgroup_cpu_root), "%s", v1cpu);
	}
	if (v2mem) {
		caps->cgroup_memory_version = 2;
		snprintf(caps->cgroup_memory_root, sizeof(caps->cgroup_memory_root), "%s", v2root);
	} else if (v1mem[0]) {
		caps->cgroup_memory_version = 1;
		snprintf(caps->cgroup_memory_root, sizeof(caps->cgroup_memory_root), "%s", v1mem);
	}
	caps->have[EMU_CAP_CGROUP_CPU] =
		caps->cgroup_cpu_version && access(caps->cgroup_cpu_root, W_OK) == 0;
	caps->have[EMU_CAP_CGROUP_MEMORY] =
		caps->cgroup_memory_version && access(caps->cgroup_memory_root, W_OK) == 0;
	if (!caps->have[EMU_CAP_CGROUP_CPU])
		snprintf(caps->why[EMU_CAP_CGROUP_CPU], sizeof(caps->why[0]), "%s",
			 caps->cgroup_cpu_version ? "cpu hierarchy not writable"
						  : "no cgroup v2 or v1 hierarchy has the cpu "
						    "controller");
	if (!caps->have[EMU_CAP_CGROUP_MEMORY])
		snprintf(caps->why[EMU_CAP_CGROUP_MEMORY], sizeof(caps->why[0]), "%s",
			 caps->cgroup_memory_version ? "memory hierarchy not writable"
						     : "no cgroup v2 or v1 hierarchy has the "
						       "memory controller");
}

int emu_caps_detect(struct emu_caps *caps, struct ep_error *err)
{
	struct emu_caps child_caps;
	int pipefd[2], status;
	size_t got = 0;
	pid_t pid;

	memset(caps, 0, sizeof(*caps));
	probe_cgroups(caps);
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return ep_error_set(err, EP_EIO, "capability detection: pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return ep_error_set(err, EP_EIO, "capability detection: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		memset(&child_caps, 0, sizeof(child_caps));
		close(pipefd[0]);
		if (unshare(CLONE_NEWNET) != 0) {
			snprintf(child_caps.why[EMU_CAP_NETNS], sizeof(child_caps.why[0]),
				 "unshare(CLONE_NEWNET): %s", strerror(errno));
		} else {
			child_caps.have[EMU_CAP_NETNS] = true;
			probe_net(&child_caps);
			probe_iptables(&child_caps);
		}
		if (write(pipefd[1], &child_caps, sizeof(child_caps)) !=
		    (ssize_t)sizeof(child_caps))
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	while (got < sizeof(child_caps)) {
		ssize_t k = read(pipefd[0], (char *)&child_caps + got, sizeof(child_caps) - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof(child_caps)) {
		snprintf(caps->why[EMU_CAP_NETNS], sizeof(caps->why[0]),
			 "the detection child died (status %d)", status);
		return EP_OK;
	}
	for (int c = EMU_CAP_NETNS; c <= EMU_CAP_IPTABLES_STATISTIC; c++) {
		caps->have[c] = child_caps.have[c];
		memcpy(caps->why[c], child_caps.why[c], sizeof(caps->why[c]));
	}
	for (int c = EMU_CAP_VETH; c <= EMU_CAP_IPTABLES_STATISTIC; c++)
		if (!caps->have[c] && !caps->why[c][0])
			snprintf(caps->why[c], sizeof(caps->why[c]), "not tried (%s)",
				 caps->have[EMU_CAP_NETNS] ? "an earlier step failed"
							   : "no network namespace");
	return EP_OK;
}

static const char *fallback(enum emu_cap cap, const struct emu_caps *caps)
{
	switch (cap) {
	case EMU_CAP_NETEM:
		return caps->have[EMU_CAP_IPTABLES_STATISTIC]
			       ? "latency added by the stage transport, loss by an iptables "
				 "statistic rule"
			       : "latency added by the stage transport; loss cannot be emulated";
	case EMU_CAP_IPTABLES_STATISTIC:
		return caps->have[EMU_CAP_NETEM] ? "loss by netem; link down/up unavailable"
						 : "loss and link down/up unavailable";
	case EMU_CAP_TBF: return "not needed (HTB shapes every link)";
	case EMU_CAP_CGROUP_CPU: return "CPU caps unavailable";
	case EMU_CAP_CGROUP_MEMORY: return "memory caps unavailable";
	default: return "no emulated network";
	}
}

int emu_caps_describe(const struct emu_caps *caps, char *buf, size_t size)
{
	size_t used = 0;
	int missing = 0;

	if (size)
		buf[0] = '\0';
	for (int c = 0; c < EMU_CAP_COUNT_; c++) {
		if (caps->have[c])
			continue;
		missing++;
		if (used < size)
			used += (size_t)snprintf(buf + used, size - used, "%s missing (%s): %s\n",
						 emu_cap_name(c), caps->why[c],
						 fallback((enum emu_cap)c, caps));
	}
	return missing;
}

int emu_caps_require_net(const struct emu_caps *caps, struct ep_error *err)
{
	static const enum emu_cap need[] = { EMU_CAP_NETNS, EMU_CAP_VETH, EMU_CAP_BRIDGE,
					     EMU_CAP_HTB, EMU_CAP_U32 };

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!caps->have[need[i]])
			return ep_error_set(err, EP_EIO,
					    "cannot emulate a network: %s missing (%s)",
					    emu_cap_name(need[i]), caps->why[need[i]]);
	return EP_OK;
}
