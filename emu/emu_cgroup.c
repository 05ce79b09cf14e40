/*
 * cgroups v1 and v2 for a node's CPU share and memory.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_cgroup.h"
#include "emu_internal.h"

/* CTL_ACCT: CPU accounting (the group's CPU time), which the other two may share a directory
 * with: v2 (cpu.stat is in every v2 group), or v1 cpuacct co-mounted with cpu; on a host with
 * cpu and cpuacct as separate v1 hierarchies (this one), its own directory. */
enum { CTL_CPU = 0, CTL_MEM = 1, CTL_ACCT = 2, CTL_COUNT = 3 };

#define CPUACCT_V1_ROOT "/sys/fs/cgroup/cpuacct"

struct emu_cgroups {
	struct emu_registry *reg;
	int version[CTL_COUNT];          /* 0 = controller unavailable */
	char root[CTL_COUNT][256];
	char run_dir[CTL_COUNT][PATH_MAX]; /* root/edgepipe-<id> */
	bool made[CTL_COUNT];
};

struct emu_cgroup {
	struct emu_cgroups *cgs;
	char name[64];
	char dir[CTL_COUNT][PATH_MAX]; /* "" when the controller is unavailable */
};

/* Controller c's directory is an earlier one's (v2, or v1 co-mounted): made, joined and
 * removed once. */
static bool dup_dir(const struct emu_cgroup *cg, int c)
{
	for (int o = 0; o < c; o++)
		if (cg->dir[o][0] && strcmp(cg->dir[o], cg->dir[c]) == 0)
			return true;
	return false;
}

/*
 * Write a cgroup file, as `echo value > file` does. O_CREAT and O_TRUNC are harmless on
 * cgroupfs (its files exist once the directory does), and they let the module run against a
 * plain directory tree standing in for a hierarchy this host lacks (the v2 test on a v1 host).
 */
static int cg_write(const char *dir, const char *file, const char *value, struct ep_error *err)
{
	char path[PATH_MAX + 64];
	size_t len = strlen(value);
	ssize_t k;
	int fd, e = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ep_error_set(err, EP_EIO, "cgroup file '%s': %s", path, strerror(errno));
	k = write(fd, value, len);
	if (k < 0)
		e = errno;
	else if ((size_t)k != len)
		e = EIO;
	if (close(fd) != 0 && !e)
		e = errno;
	if (e)
		return ep_error_set(err, EP_EIO, "writing '%s' to '%s': %s", value, path,
				    strerror(e));
	return EP_OK;
}

static bool file_exists(const char *dir, const char *file)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

int emu_cgroups_create(struct emu_registry *reg, const struct emu_caps *caps,
		       struct emu_cgroups **out, struct ep_error *err)
{
	struct emu_cgroups *cgs = calloc(1, sizeof(*cgs));

	*out = NULL;
	if (!cgs)
		return ep_error_set(err, EP_ENOMEM, "out of memory for cgroups");
	cgs->reg = reg;
	cgs->version[CTL_CPU] = caps->have[EMU_CAP_CGROUP_CPU] ? caps->cgroup_cpu_version : 0;
	cgs->version[CTL_MEM] =
		caps->have[EMU_CAP_CGROUP_MEMORY] ? caps->cgroup_memory_version : 0;
	snprintf(cgs->root[CTL_CPU], sizeof(cgs->root[0]), "%s", caps->cgroup_cpu_root);
	snprintf(cgs->root[CTL_MEM], sizeof(cgs->root[0]), "%s", caps->cgroup_memory_root);
	/* CPU accounting: where the groups already are, else v1's own cpuacct hierarchy. */
	if (cgs->version[CTL_CPU] == 2 ||
	    (cgs->version[CTL_CPU] == 1 && file_exists(cgs->root[CTL_CPU], "cpuacct.usage"))) {
		cgs->version[CTL_ACCT] = cgs->version[CTL_CPU];
		snprintf(cgs->root[CTL_ACCT], sizeof(cgs->root[0]), "%s", cgs->root[CTL_CPU]);
	} else if (cgs->version[CTL_MEM] == 2) {
		cgs->version[CTL_ACCT] = 2;
		snprintf(cgs->root[CTL_ACCT], sizeof(cgs->root[0]), "%s", cgs->root[CTL_MEM]);
	} else if ((cgs->version[CTL_CPU] || cgs->version[CTL_MEM]) &&
		   file_exists(CPUACCT_V1_ROOT, "cpuacct.usage")) {
		cgs->version[CTL_ACCT] = 1;
		snprintf(cgs->root[CTL_ACCT], sizeof(cgs->root[0]), "%s", CPUACCT_V1_ROOT);
	}
	for (int c = 0; c < CTL_COUNT; c++)
		if (cgs->version[c])
			snprintf(cgs->run_dir[c], sizeof(cgs->run_dir[c]), "%s/edgepipe-%s",
				 cgs->root[c], emu_registry_run_id(reg));
	*out = cgs;
	return EP_OK;
}

void emu_cgroups_destroy(struct emu_cgroups *cgs)
{
	if (!cgs)
		return;
	for (int c = 0; c < CTL_COUNT; c++) {
		if (!cgs->made[c])
			continue;
		bool dup = false;

		for (int o = 0; o < c; o++)
			dup = dup || (cgs->made[o] && strcmp(cgs->run_dir[o], cgs->run_dir[c]) == 0);
		if (!dup)
			rmdir(cgs->run_dir[c]);
	}
	free(cgs);
}

/* Make sure the run directory of controller c exists (registered first). */
static int ensure_run_dir(struct emu_cgroups *cgs, int c, struct ep_error *err)
{
	struct emu_item it;
	int rc;

	if (cgs->made[c])
		return EP_OK;
	/* On v2 both controllers share one directory: make it once. */
	for (int o = 0; o < CTL_COUNT; o++)
		if (o != c && cgs->made[o] && strcmp(cgs->run_dir[o], cgs->run_dir[c]) == 0) {
			cgs->made[c] = true;
			return EP_OK;
		}
	rc = emu_registry_add(cgs->reg, emu_item_cgroup(&it, cgs->run_dir[c]), 1, err);
	if (rc != EP_OK)
		return rc;
	if (mkdir(cgs->run_dir[c], 0755) != 0 && errno != EEXIST)
		return ep_error_set(err, EP_EIO, "cgroup '%s': %s", cgs->run_dir[c],
				    strerror(errno));
	cgs->made[c] = true;
	if (cgs->version[c] == 2) {
		/* Delegate the controllers down to the run's groups. */
		char ctl[256];
		bool cpu2 = cgs->version[CTL_CPU] == 2, mem2 = cgs->version[CTL_MEM] == 2;
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", cgs->root[c]);
		if (emu_read_file(path, ctl, sizeof(ctl)) < 0)
			ctl[0] = '\0';
		if (cpu2 && !strstr(ctl, "cpu")) {
			rc = cg_write(cgs->root[c], "cgroup.subtree_control", "+cpu", err);
			if (rc != EP_OK)
				return rc;
		}
		if (mem2 && !strstr(ctl, "memory")) {
			rc = cg_write(cgs->root[c], "cgroup.subtree_control", "+memory", err);
			if (rc != EP_OK)
				return rc;
		}
		rc = cg_write(cgs->run_dir[c], "cgroup.subtree_control",
			      cpu2 && mem2 ? "+cpu +memory" : cpu2 ? "+cpu" : "+memory", err);
		if (rc != EP_OK)
			return rc;
	}
	return EP_OK;
}

static int check_limits(const struct emu_cgroup *cg, const struct emu_cgroup_limits *lim,
			struct ep_error *err)
{
	if (!lim)
		return EP_OK;
	if (!(lim->cpu_share >= 0) || !isfinite(lim->cpu_share) || lim->cpu_share > 4096)
		return ep_error_set(err, EP_EINVAL, "cgroup '%s': CPU share %g is not in [0, 4096]",
				    cg->name, lim->cpu_share);
	if (!(lim->mem_bytes >= 0) || !isfinite(lim->mem_bytes) || lim->mem_bytes > 9.0e18)
		return ep_error_set(err, EP_EINVAL, "cgroup '%s': memory %g bytes is not valid",
				    cg->name, lim->mem_bytes);
	if (lim->cpu_period_us && (lim->cpu_period_us < 1000 || lim->cpu_period_us > 1000000))
		return ep_error_set(err, EP_EINVAL,
				    "cgroup '%s': CPU period %d us is not in [1000, 1000000]",
				    cg->name, lim->cpu_period_us);
	if (lim->cpu_share > 0 && !cg->dir[CTL_CPU][0])
		return ep_error_set(err, EP_EIO,
				    "cgroup '%s': CPU share %g needs the cpu controller, which is "
				    "missing on this host",
				    cg->name, lim->cpu_share);
	if (lim->mem_bytes > 0 && !cg->dir[CTL_MEM][0])
		return ep_error_set(err, EP_EIO,
				    "cgroup '%s': a memory cap needs the memory controller, which "
				    "is missing on this host",
				    cg->name);
	return EP_OK;
}

int emu_cgroup_set_limits(struct emu_cgroup *cg, const struct emu_cgroup_limits *lim,
			  struct ep_error *err)
{
	struct emu_cgroup_limits none = { 0 };
	struct emu_cgroups *cgs = cg->cgs;
	char v[96];
	int rc;

	if (!lim)
		lim = &none;
	rc = check_limits(cg, lim, err);
	if (rc != EP_OK)
		return rc;
	if (cg->dir[CTL_CPU][0]) {
		long period =
			lim->cpu_period_us ? lim->cpu_period_us : EMU_CGROUP_PERIOD_US_DEFAULT;
		long quota = (long)llround(lim->cpu_share * (double)period);

		if (lim->cpu_share > 0 && quota < 1000)
			quota = 1000; /* the kernel's minimum quota */
		if (cgs->version[CTL_CPU] == 2) {
			if (lim->cpu_share > 0)
				snprintf(v, sizeof(v), "%ld %ld", quota, period);
			else
				snprintf(v, sizeof(v), "max %ld", period);
			rc = cg_write(cg->dir[CTL_CPU], "cpu.max", v, err);
		} else {
			/* Lift the quota first so that a period shorter than the old quota is
			 * accepted, then set the period, then the quota. */
			rc = cg_write(cg->dir[CTL_CPU], "cpu.cfs_quota_us", "-1", err);
			snprintf(v, sizeof(v), "%ld", period);
			if (rc == EP_OK)
				rc = cg_write(cg->dir[CTL_CPU], "cpu.cfs_period_us", v, err);
			snprintf(v, sizeof(v), "%ld", lim->cpu_share > 0 ? quota : -1L);
			if (rc == EP_OK && lim->cpu_share > 0)
				rc = cg_write(cg->dir[CTL_CPU], "cpu.cfs_quota_us", v, err);
		}
		if (rc != EP_OK)
			return rc;
	}
	if (cg->dir[CTL_MEM][0]) {
		long long bytes = (long long)lim->mem_bytes;

		if (cgs->version[CTL_MEM] == 2) {
			if (lim->mem_bytes > 0)
				snprintf(v, sizeof(v), "%lld", bytes);
			else
				snprintf(v, sizeof(v), "max");
			rc = cg_write(cg->dir[CTL_MEM], "memory.max", v, err);
			/* Without swap limits a capped group would page out instead of failing. */
			if (rc == EP_OK && file_exists(cg->dir[CTL_MEM], "memory.swap.max"))
				rc = cg_write(cg->dir[CTL_MEM], "memory.swap.max",
					      lim->mem_bytes > 0 ? "0" : "max", err);
		} else {
			snprintf(v, sizeof(v), "%lld", lim->mem_bytes > 0 ? bytes : -1LL);
			rc = cg_write(cg->dir[CTL_MEM], "memory.limit_in_bytes", v, err);
		}
		if (rc != EP_OK)
			return rc;
	}
	return EP_OK;
}

static bool name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 63 || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

int emu_cgroup_create(struct emu_cgroups *cgs, const char *name,
		      const struct emu_cgroup_limits *lim, struct emu_cgroup **out,
		      struct ep_error *err)
{
	struct emu_cgroup *cg = NULL;
	struct emu_item items[CTL_COUNT];
	size_t n_items = 0;
	int rc = EP_OK;

	*out = NULL;
	if (!name_ok(name))
		return ep_error_set(err, EP_EINVAL,
				    "cgroup name '%s': use 1 to 63 of [A-Za-z0-9_.-], not starting "
				    "with '.'",
				    name);
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return ep_error_set(err, EP_ENOMEM, "out of memory for cgroup '%s'", name);
	cg->cgs = cgs;
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	for (int c = 0; c < CTL_COUNT; c++)
		if (cgs->version[c] && snprintf(cg->dir[c], sizeof(cg->dir[c]), "%s/%s",
						cgs->run_dir[c], name) >= (int)sizeof(cg->dir[c])) {
			rc = ep_error_set(err, EP_EINVAL, "cgroup '%s/%s': path too long",
					  cgs->run_dir[c], name);
			goto out;
		}
	rc = check_limits(cg, lim, err);
	if (rc != EP_OK)
		goto out;
	for (int c = 0; c < CTL_COUNT; c++) {
		if (!cg->dir[c][0] || dup_dir(cg, c))
			continue;
		rc = ensure_run_dir(cgs, c, err);
		if (rc != EP_OK)
			goto out;
		emu_item_cgroup(&items[n_items++], cg->dir[c]);
	}
	rc = emu_registry_add(cgs->reg, items, n_items, err);
	if (rc != EP_OK)
		goto out;
	for (size_t i = 0; i < n_items; i++) {
		if (mkdir(items[i].name, 0755) != 0) {
			rc = ep_error_set(err, EP_EIO, "cgroup '%s': %s", items[i].name,
					  strerror(errno));
			goto out;
		}
	}
	rc = emu_cgroup_set_limits(cg, lim, err);
	if (rc != EP_OK)
		goto out;
	*out = cg;
	cg = NULL;
out:
	emu_cgroup_destroy(cg);
	return rc;
}

int emu_cgroup_attach(const struct emu_cgroup *cg, pid_t pid, struct ep_error *err)
{
	char v[32];
	int rc;

	snprintf(v, sizeof(v), "%d", (int)(pid ? pid : getpid()));
	for (int c = 0; c < CTL_COUNT; c++) {
		if (!cg->dir[c][0] || dup_dir(cg, c))
			continue;
		rc = cg_write(cg->dir[c], "cgroup.procs", v, err);
		if (rc != EP_OK)
			return rc;
	}
	return EP_OK;
}

/* SIGKILL the members; returns how many were still there. */
static int kill_members(const struct emu_cgroup *cg)
{
	pid_t self = getpid();
	int found = 0;

	for (int c = 0; c < CTL_COUNT; c++) {
		char path[PATH_MAX + 32], buf[65536], *p, *end;

		if (!cg->dir[c][0])
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[c]);
		if (emu_read_file(path, buf, sizeof(buf)) <= 0)
			continue;
		for (p = buf;; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0 && (pid_t)pid != self) {
				kill((pid_t)pid, SIGKILL);
				found++;
			}
		}
	}
	return found;
}

int emu_cgroup_kill(struct emu_cgroup *cg)
{
	double deadline = emu_now_s() + 2.0;
	int killed = kill_members(cg);

	while (killed && emu_now_s() < deadline && kill_members(cg) > 0)
		emu_sleep_s(0.005);
	return killed;
}

void emu_cgroup_destroy(struct emu_cgroup *cg)
{
	if (!cg)
		return;
	emu_cgroup_kill(cg);
	for (int c = 0; c < CTL_COUNT; c++) {
		double deadline = emu_now_s() + 1.0;

		if (!cg->dir[c][0] || dup_dir(cg, c))
			continue;
		while (rmdir(cg->dir[c]) != 0 && errno == EBUSY && emu_now_s() < deadline)
			emu_sleep_s(0.005);
	}
	free(cg);
}

const char *emu_cgroup_cpu_dir(const struct emu_cgroup *cg)
{
	return cg->dir[CTL_CPU];
}

const char *emu_cgroup_memory_dir(const struct emu_cgroup *cg)
{
	return cg->dir[CTL_MEM];
}

int emu_cgroup_cpu_version(const struct emu_cgroup *cg)
{
	return cg->dir[CTL_CPU][0] ? cg->cgs->version[CTL_CPU] : 0;
}

int emu_cgroup_memory_version(const struct emu_cgroup *cg)
{
	return cg->dir[CTL_MEM][0] ? cg->cgs->version[CTL_MEM] : 0;
}

bool emu_cgroup_parse_cpu_usage(int version, const char *text, double *seconds)
{
	char *end;

	if (version == 1) {
		unsigned long long ns = strtoull(text, &end, 10);

		if (end == text || (*end && !isspace((unsigned char)*end)))
			return false;
		*seconds = (double)ns * 1e-9;
		return true;
	}
	if (version == 2) {
		for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
			if (strncmp(p, "usage_usec ", 11) == 0) {
				unsigned long long us = strtoull(p + 11, &end, 10);

				if (end == p + 11)
					return false;
				*seconds = (double)us * 1e-6;
				return true;
			}
		}
	}
	return false;
}

int emu_cgroup_cpu_seconds(const struct emu_cgroup *cg, double *seconds, struct ep_error *err)
{
	int v = cg->cgs->version[CTL_ACCT];
	char path[PATH_MAX + 32], buf[4096];

	*seconds = NAN;
	if (!v || !cg->dir[CTL_ACCT][0])
		return ep_error_set(err, EP_EIO, "cgroup '%s': no CPU accounting on this host "
				    "(neither cgroup v2 nor v1 cpuacct)", cg->name);
	snprintf(path, sizeof(path), "%s/%s", cg->dir[CTL_ACCT],
		 v == 2 ? "cpu.stat" : "cpuacct.usage");
	if (emu_read_file(path, buf, sizeof(buf)) <= 0 ||
	    !emu_cgroup_parse_cpu_usage(v, buf, seconds))
		return ep_error_set(err, EP_EIO, "cgroup file '%s': no CPU usage in it", path);
	return EP_OK;
}
