/*
 * cgroups for a node's CPU share and memory: a busy loop in a group capped at a share of one
 * CPU achieves about that share of the wall clock (measured as the child's own CPU time over
 * 1 s, 20 enforcement periods; the tolerance, 0.03 CPU, covers starting at any point of a
 * period and the scheduler's tick); shares stay below 0.5 so that other load on a 2-core
 * machine cannot be what limits the loop; a limit changed in place takes effect; a process
 * that touches more memory than the cap is killed, one that stays under it is not. The same
 * module against a stand-in cgroup v2 tree (plain directories; this host has cpu and memory
 * on v1) writes cpu.max and memory.max in v2's format. Bad names and limits are refused by
 * name.
 */
#include <sys/resource.h>
#include <sys/time.h>

#include "check.h"
#include "emu_cgroup.h"
#include "emu_harness.h"

#define MIB (1024.0 * 1024.0)

/* Busy-loop for `wall` seconds; report the CPU time used through the pipe. */
static void busy_child(const struct emu_cgroup *cg, double wall, int fd)
{
	struct ep_error err;
	struct rusage ru;
	double t0, cpu;
	volatile unsigned long x = 0;

	if (emu_cgroup_attach(cg, 0, &err) != EP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		_exit(1);
	}
	t0 = emu_test_now();
	while (emu_test_now() - t0 < wall)
		for (int i = 0; i < 10000; i++)
			x += (unsigned long)i;
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
	_exit(write(fd, &cpu, sizeof(cpu)) == sizeof(cpu) ? 0 : 1);
}

/* The CPU share a busy loop achieves in `cg` over `wall` seconds; -1 on failure. If
 * `then` is not NULL, the limits change to it halfway. */
static double measure_share(struct emu_cgroup *cg, double wall,
			    const struct emu_cgroup_limits *then, double *second_half)
{
	struct ep_error err;
	double cpu = -1, cpu2 = -1;
	int fds[2], status;
	pid_t pid;

	if (pipe(fds) != 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		busy_child(cg, wall, fds[1]);
	if (then && pid > 0) {
		/* A second child for the second half, started as the limits change. */
		pid_t pid2;

		emu_test_sleep(wall);
		CHECK_INT(emu_cgroup_set_limits(cg, then, &err), EP_OK);
		fflush(NULL);
		pid2 = fork();
		if (pid2 == 0)
			busy_child(cg, wall, fds[1]);
		if (read(fds[0], &cpu, sizeof(cpu)) != sizeof(cpu) ||
		    read(fds[0], &cpu2, sizeof(cpu2)) != sizeof(cpu2))
			cpu = cpu2 = -1;
		waitpid(pid2, &status, 0);
		*second_half = cpu2 / wall;
	} else if (read(fds[0], &cpu, sizeof(cpu)) != sizeof(cpu)) {
		cpu = -1;
	}
	waitpid(pid, &status, 0);
	close(fds[0]);
	close(fds[1]);
	return cpu < 0 ? -1 : cpu / wall;
}

/* Touch `bytes` of memory inside `cg`: returns the child's wait status. */
static int touch_memory(const struct emu_cgroup *cg, double bytes)
{
	struct ep_error err;
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		size_t n = (size_t)bytes;
		char *p;

		if (emu_cgroup_attach(cg, 0, &err) != EP_OK)
			_exit(2);
		p = malloc(n);
		if (!p)
			_exit(3);
		for (size_t i = 0; i < n; i += 4096)
			p[i] = (char)i;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return status;
}

static void read_text(const char *dir, const char *file, char *buf, size_t size)
{
	char path[1024];
	FILE *f;
	size_t k = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (f) {
		k = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[k] = '\0';
	if (k && buf[k - 1] == '\n')
		buf[k - 1] = '\0';
}

/* The v2 code path, against plain directories standing in for a cgroup2 mount. */
static void check_v2_format(struct emu_registry *reg, const char *state_dir)
{
	struct emu_caps fake;
	struct emu_cgroups *cgs = NULL;
	struct emu_cgroup *cg = NULL;
	struct emu_cgroup_limits lim = { .cpu_share = 0.25, .mem_bytes = 64 * MIB };
	struct ep_error err;
	char root[200], path[600], buf[256];
	FILE *f;

	snprintf(root, sizeof(root), "%s/fake-cgroup2", state_dir);
	mkdir(root, 0755);
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	f = fopen(path, "w");
	if (f) {
		fputs("cpuset cpu io memory pids\n", f);
		fclose(f);
	}
	memset(&fake, 0, sizeof(fake));
	fake.have[EMU_CAP_CGROUP_CPU] = fake.have[EMU_CAP_CGROUP_MEMORY] = true;
	fake.cgroup_cpu_version = fake.cgroup_memory_version = 2;
	snprintf(fake.cgroup_cpu_root, sizeof(fake.cgroup_cpu_root), "%s", root);
	snprintf(fake.cgroup_memory_root, sizeof(fake.cgroup_memory_root), "%s", root);
	CHECK_INT(emu_cgroups_create(reg, &fake, &cgs, &err), EP_OK);
	if (!cgs)
		return;
	CHECK_INT(emu_cgroup_create(cgs, "n0", &lim, &cg, &err), EP_OK);
	if (cg) {
		CHECK_INT(emu_cgroup_cpu_version(cg), 2);
		CHECK_STR(emu_cgroup_cpu_dir(cg), emu_cgroup_memory_dir(cg)); /* one directory */
		read_text(emu_cgroup_cpu_dir(cg), "cpu.max", buf, sizeof(buf));
		CHECK_STR(buf, "12500 50000"); /* 0.25 x the 50 ms period */
		read_text(emu_cgroup_cpu_dir(cg), "memory.max", buf, sizeof(buf));
		CHECK_STR(buf, "67108864");
		snprintf(path, sizeof(path), "%s/edgepipe-%s", root, emu_registry_run_id(reg));
		read_text(path, "cgroup.subtree_control", buf, sizeof(buf));
		CHECK_STR(buf, "+cpu +memory");
		lim.cpu_share = 0;
		lim.mem_bytes = 0;
		CHECK_INT(emu_cgroup_set_limits(cg, &lim, &err), EP_OK);
		read_text(emu_cgroup_cpu_dir(cg), "cpu.max", buf, sizeof(buf));
		CHECK_STR(buf, "max 50000");
		read_text(emu_cgroup_cpu_dir(cg), "memory.max", buf, sizeof(buf));
		CHECK_STR(buf, "max");
		CHECK_INT(emu_cgroup_attach(cg, 4242, &err), EP_OK);
		read_text(emu_cgroup_cpu_dir(cg), "cgroup.procs", buf, sizeof(buf));
		CHECK_STR(buf, "4242");
	}
	/* Plain directories keep their files, so rmdir cannot work here: remove the tree by
	 * hand (the registry clean then finds the entries gone). The free()s still happen. */
	nftw(root, emu_harness_rm, 16, FTW_DEPTH | FTW_PHYS);
	emu_cgroup_destroy(cg);
	emu_cgroups_destroy(cgs);
}

static int body(const char *state_dir, const struct emu_caps *caps)
{
	struct emu_registry *reg = NULL;
	struct emu_cgroups *cgs = NULL;
	struct emu_cgroup *cg = NULL, *mem = NULL, *bad = NULL;
	struct emu_cgroup_limits lim = { .cpu_share = 0.25 };
	struct ep_error err;
	double share, share2, cpu0 = NAN, cpu1 = NAN;
	int rc, status;

	if (!caps->have[EMU_CAP_CGROUP_CPU] || !caps->have[EMU_CAP_CGROUP_MEMORY]) {
		printf("skipped: %s; %s\n", caps->why[EMU_CAP_CGROUP_CPU],
		       caps->why[EMU_CAP_CGROUP_MEMORY]);
		return 77;
	}
	rc = emu_registry_create(state_dir, &reg, &err);
	CHECK_INT(rc, EP_OK);
	if (rc == EP_OK)
		rc = emu_cgroups_create(reg, caps, &cgs, &err);
	if (rc == EP_OK)
		rc = emu_cgroup_create(cgs, "n0", &lim, &cg, &err);
	CHECK_INT(rc, EP_OK);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	printf("group n0: cpu v%d %s, memory v%d %s\n", emu_cgroup_cpu_version(cg),
	       emu_cgroup_cpu_dir(cg), emu_cgroup_memory_version(cg), emu_cgroup_memory_dir(cg));

	CHECK_INT(emu_cgroup_cpu_seconds(cg, &cpu0, &err), EP_OK);
	share = measure_share(cg, 1.0, NULL, NULL);
	printf("CPU share 0.25: a busy loop got %.3f\n", share);
	CHECK(fabs(share - 0.25) <= 0.03);
	/* The group's CPU accounting (the modelled energy's source) is the scheduler's, as the
	 * child's own CPU clock is: the busy loop's seconds, plus its fork and exit (< 10 ms),
	 * whatever else the host runs. */
	CHECK_INT(emu_cgroup_cpu_seconds(cg, &cpu1, &err), EP_OK);
	printf("the group's CPU time over it: %.4f s (the child's own clock: %.4f s)\n",
	       cpu1 - cpu0, share * 1.0);
	CHECK(fabs((cpu1 - cpu0) - share * 1.0) <= 0.01);
	lim.cpu_share = 0.45;
	CHECK_INT(emu_cgroup_set_limits(cg, &lim, &err), EP_OK);
	lim.cpu_share = 0.1;
	share = measure_share(cg, 1.0, &lim, &share2);
	printf("CPU share changed in place 0.45 -> 0.1: %.3f, then %.3f\n", share, share2);
	CHECK(fabs(share - 0.45) <= 0.03);
	CHECK(fabs(share2 - 0.1) <= 0.03);

	lim.cpu_share = 0;
	lim.mem_bytes = 64 * MIB;
	rc = emu_cgroup_create(cgs, "mem", &lim, &mem, &err);
	CHECK_INT(rc, EP_OK);
	if (mem) {
		status = touch_memory(mem, 32 * MIB);
		printf("memory cap 64 MiB: touching 32 MiB -> %s\n",
		       WIFEXITED(status) ? "exited" : "killed");
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		status = touch_memory(mem, 256 * MIB);
		printf("memory cap 64 MiB: touching 256 MiB -> %s (signal %d)\n",
		       WIFEXITED(status) ? "exited" : "killed",
		       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}

	/* Bad input, named. */
	CHECK_INT(emu_cgroup_create(cgs, "a/b", NULL, &bad, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "a/b");
	lim.cpu_share = -1;
	CHECK_INT(emu_cgroup_create(cgs, "neg", &lim, &bad, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "-1");
	lim.cpu_share = 0.5;
	lim.cpu_period_us = 10;
	CHECK_INT(emu_cgroup_set_limits(cg, &lim, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "10 us");
	CHECK(bad == NULL);

	check_v2_format(reg, state_dir);
out:
	emu_cgroup_destroy(cg);
	emu_cgroup_destroy(mem);
	emu_cgroups_destroy(cgs);
	if (reg && emu_registry_clean(reg, 0, NULL, NULL, NULL, &err) != EP_OK) {
		fprintf(stderr, "clean: %s\n", err.msg);
		check_failures++;
	}
	emu_registry_destroy(reg);
	return check_exit();
}

int main(void)
{
	return emu_test_main("test_emu_cgroup", body, 30);
}
