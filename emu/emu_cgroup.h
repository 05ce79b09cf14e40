/*
 * emu_cgroup: cgroups that cap a node's stage process to the node's CPU share and memory.
 *
 * A run's cgroups live under one directory per hierarchy, "edgepipe-<run id>", with one leaf
 * per node (or any name the caller picks). For each controller the hierarchy is the one
 * emu_caps chose: cgroup v2 where the unified hierarchy has the controller (cpu.max,
 * memory.max), else v1 (cpu.cfs_quota_us / cpu.cfs_period_us, memory.limit_in_bytes). On a
 * hybrid host such as this one, cpu and memory are v1 while v2 is mounted empty; on a pure v2
 * host both are v2 and one directory carries both limits.
 *
 * Every directory is written to the run registry (and fsync'ed) before mkdir, so
 * `edgepipe clean` finds it after a crash. On v2 the run directory enables +cpu +memory for its
 * children; if the hierarchy's root does not delegate them yet, it is asked to (that is the
 * only change outside the run's own directories, and the one every cgroup v2 manager makes).
 *
 * CPU share is in CPUs: 0.25 lets the group run a quarter of one CPU's time, 2.0 two CPUs'.
 * The enforcement period defaults to 50 ms, half the kernel's 100 ms, so that a stage computing
 * for tens of milliseconds is slowed fairly evenly. Shorter periods are not reliable: CFS
 * bandwidth is charged at scheduler ticks (4 ms at this kernel's HZ=250) and handed out in
 * 5 ms slices, so at a 10 ms period a share of 0.6 measured 0.48 and 0.9 measured 0.58,
 * whereas at 50 ms, 0.1 / 0.25 / 0.6 / 0.9 measured 0.104 / 0.256 / 0.601 / 0.904 (busy loop,
 * 2 s each).
 */
#ifndef EDGEPIPE_EMU_CGROUP_H
#define EDGEPIPE_EMU_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "emu_caps.h"
#include "emu_registry.h"
#include "ep_error.h"

#define EMU_CGROUP_PERIOD_US_DEFAULT 50000

/* Limits of one group. Zero-initialised means "no cap". */
struct emu_cgroup_limits {
	double cpu_share;  /* CPUs, > 0; 0 = uncapped. Quota = share x period, at least 1 ms. */
	double mem_bytes;  /* > 0; 0 = uncapped. Rounded down to a page by the kernel. */
	int cpu_period_us; /* 1000 .. 1000000; 0 = EMU_CGROUP_PERIOD_US_DEFAULT */
};

struct emu_cgroups; /* the run's parent directories */
struct emu_cgroup;  /* one group (leaf) */

/*
 * Prepare the run's cgroup parents for the controllers `caps` found (directories are created
 * lazily, with the first group that needs them). *out owned by the caller
 * (emu_cgroups_destroy). The registry is borrowed and must outlive *out. Errors: EP_ENOMEM.
 */
int emu_cgroups_create(struct emu_registry *reg, const struct emu_caps *caps,
		       struct emu_cgroups **out, struct ep_error *err);

/* Remove the run's parent directories (after every group was destroyed). Accepts NULL. */
void emu_cgroups_destroy(struct emu_cgroups *cgs);

/*
 * Create group `name` ([A-Za-z0-9_.-], at most 63 characters) with `lim` (NULL: no caps) and
 * return it in *out (owned by the caller: emu_cgroup_destroy). Directories are registered,
 * then created, then limited. Errors: EP_EINVAL (a bad name or limit, named), EP_EIO (a
 * controller a limit needs is missing, or the kernel refused a write; the message names the
 * file and the value), EP_ENOMEM.
 */
int emu_cgroup_create(struct emu_cgroups *cgs, const char *name,
		      const struct emu_cgroup_limits *lim, struct emu_cgroup **out,
		      struct ep_error *err);

/* Change the limits in place (also while processes run in the group). Errors as above. */
int emu_cgroup_set_limits(struct emu_cgroup *cg, const struct emu_cgroup_limits *lim,
			  struct ep_error *err);

/* Move process `pid` (0: the caller) into the group, in every hierarchy it spans. Safe to call
 * in a forked child. Errors: EP_EIO naming the file and pid. */
int emu_cgroup_attach(const struct emu_cgroup *cg, pid_t pid, struct ep_error *err);

/* SIGKILL every process in the group and wait (up to 2 s) until it is empty. Returns how many
 * were killed. */
int emu_cgroup_kill(struct emu_cgroup *cg);

/* Kill what is left in the group and remove its directories. Accepts NULL; cannot fail (what
 * cannot be removed stays listed in the registry for `edgepipe clean`). */
void emu_cgroup_destroy(struct emu_cgroup *cg);

/* The group's directory for the cpu (or memory) controller; "" when that controller is not
 * in use. For tests and for recording the run's mechanisms. */
const char *emu_cgroup_cpu_dir(const struct emu_cgroup *cg);
const char *emu_cgroup_memory_dir(const struct emu_cgroup *cg);
int emu_cgroup_cpu_version(const struct emu_cgroup *cg);    /* 1, 2, or 0 when unused */

/*
 * The CPU time the group's processes have used since it was made, in seconds (all CPUs
 * summed): cgroup v2 cpu.stat's usage_usec, or v1 cpuacct.usage (nanoseconds), from the cpu
 * hierarchy when cpuacct is mounted with it, else from the cpuacct hierarchy, where every
 * group also has a directory (made, joined and removed with the others). Errors: EP_EIO (the
 * host has no CPU accounting, or the file says nothing: named).
 */
int emu_cgroup_cpu_seconds(const struct emu_cgroup *cg, double *seconds, struct ep_error *err);
/* What such a file says, in seconds: version 1 cpuacct.usage text, version 2 cpu.stat text.
 * false if it does not say it. */
bool emu_cgroup_parse_cpu_usage(int version, const char *text, double *seconds);
int emu_cgroup_memory_version(const struct emu_cgroup *cg); /* 1, 2, or 0 when unused */

#endif
