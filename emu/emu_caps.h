/*
 * emu_caps: what this kernel and host let the emulator do, detected once at start.
 *
 * Detection is by trying, not by reading version numbers: a forked child enters a throwaway
 * network namespace (unnamed, never bind-mounted, so it vanishes with the child whatever
 * happens and needs no registry entry), creates a veth pair and a bridge, and puts HTB with a
 * class and a u32 filter, TBF and netem qdiscs on them; it then runs `iptables` with the
 * `statistic` match there. Cgroups are read from /proc/self/mountinfo: for the cpu and memory
 * controllers, cgroup v2 is used where the unified hierarchy offers the controller, else the v1
 * hierarchy that has it mounted (hybrid hosts, like Debian's with systemd in legacy mode, have
 * v2 mounted at /sys/fs/cgroup/unified with no controllers in it).
 *
 * What the emulator does when something is missing (emu_caps_describe says it in words):
 *   netem              latency is added by the stage transport (EMU_MECH_TRANSPORT) and loss
 *                      by an iptables `statistic` rule (EMU_MECH_IPTABLES);
 *   iptables statistic loss needs netem, else it is refused (emu_link_set_loss fails);
 *                      link down/up is refused too;
 *   cgroup cpu/memory  caps on that resource are refused (EP_EIO naming the controller);
 *   netns, veth, bridge, htb, u32: no emulated network at all (emu_caps_require_net fails).
 */
#ifndef EDGEPIPE_EMU_CAPS_H
#define EDGEPIPE_EMU_CAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "ep_error.h"

enum emu_cap {
	EMU_CAP_NETNS = 0,            /* unshare(CLONE_NEWNET) as this user */
	EMU_CAP_VETH,                 /* veth pairs */
	EMU_CAP_BRIDGE,               /* Linux bridges */
	EMU_CAP_HTB,                  /* the HTB qdisc and its classes */
	EMU_CAP_U32,                  /* the u32 classifier */
	EMU_CAP_TBF,                  /* the TBF qdisc */
	EMU_CAP_NETEM,                /* the netem qdisc (delay, loss) */
	EMU_CAP_IPTABLES_STATISTIC,   /* `iptables -m statistic --mode random` */
	EMU_CAP_CGROUP_CPU,           /* a writable cpu controller (v1 or v2) */
	EMU_CAP_CGROUP_MEMORY,        /* a writable memory controller (v1 or v2) */
	EMU_CAP_COUNT_
};

struct emu_caps {
	bool have[EMU_CAP_COUNT_];
	char why[EMU_CAP_COUNT_][160]; /* for what is missing: the refusal, in words */
	/* cgroups: version (1 or 2, 0 when missing) and the directory under which a run's
	 * cgroups go, per controller. On v2 both roots are the same unified mount. */
	int cgroup_cpu_version, cgroup_memory_version;
	char cgroup_cpu_root[256], cgroup_memory_root[256];
};

/* "netns", "veth", ..., "cgroup-memory". */
const char *emu_cap_name(enum emu_cap cap);

/*
 * Detect. Never fails for a missing ability (that is recorded in caps); returns EP_EIO only when
 * detection itself cannot run (fork or pipe failed), naming the call. Takes well under a
 * second (it runs iptables once). It forks: call it before the program starts threads.
 */
int emu_caps_detect(struct emu_caps *caps, struct ep_error *err);

/*
 * Describe what is missing and what the emulator does instead, one line per missing ability
 * ("netem missing (Object not found): latency added by the stage transport, loss by an iptables
 * statistic rule"). Returns the number of missing abilities; buf gets "" when none.
 */
int emu_caps_describe(const struct emu_caps *caps, char *buf, size_t size);

/* EP_OK if an emulated network can be built (netns, veth, bridge, htb, u32), else EP_EIO with
 * the first missing ability and its refusal. */
int emu_caps_require_net(const struct emu_caps *caps, struct ep_error *err);

#endif
