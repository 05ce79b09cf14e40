/*
 * emu_harness: what every emulator test shares (STYLE.md 14: tests make their own namespaces
 * and never touch the host network).
 *
 * emu_test_main() skips with 77 where namespaces cannot be made (not root, or the kernel
 * refuses), gives the test body a private state directory, and runs the body in a forked child,
 * so that whatever happens to it (a failed check, a crash, a timeout) the parent still cleans
 * every registry in that directory afterwards. It then checks that the host looks as it did
 * before: the same namespaces in /run/netns, the same host interfaces and qdiscs, and no
 * cgroup with "edgepipe" in its name that was not there before. A leftover fails the test.
 *
 * Emulator tests of every build on the machine (two ctest runs, a benchmark) take turns: each
 * holds an exclusive flock on EMU_TEST_LOCK while it runs, since each compares the host's
 * namespaces before and after, and measures rates that a second run would disturb. (Not on
 * /run/netns itself: `ip netns add` takes that one.)
 */
#ifndef EDGEPIPE_TEST_EMU_HARNESS_H
#define EDGEPIPE_TEST_EMU_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "emu_caps.h"
#include "emu_registry.h"

/* CLOCK_MONOTONIC in seconds (the probe's clock), and a plain sleep. */
static inline double emu_test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void emu_test_sleep(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

#define EMU_TEST_LOCK "/run/lock/edgepipe-emu-tests.lock"

typedef int (*emu_test_body_fn)(const char *state_dir, const struct emu_caps *caps);

/* A sorted, newline-separated snapshot of the host state the emulator must not change. */
struct emu_host_snapshot {
	char netns[16384];
	char links[16384];
	char qdiscs[16384];
	char cgroups[16384];
};

static int emu_harness_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Append the names of `dir`'s entries, sorted, one per line. */
static void emu_harness_list_dir(const char *dir, char *out, size_t size)
{
	char *names[2048];
	size_t n = 0, used = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	out[0] = '\0';
	if (!d)
		return;
	while (n < 2048 && (de = readdir(d)))
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), emu_harness_cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (used < size)
			used += (size_t)snprintf(out + used, size - used, "%s\n", names[i]);
		free(names[i]);
	}
}

static char *emu_harness_cg_out;
static size_t emu_harness_cg_used, emu_harness_cg_size;

static int emu_harness_cg_visit(const char *path, const struct stat *st, int type,
				struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_D && strstr(path + strlen("/sys/fs/cgroup"), "edgepipe") &&
	    emu_harness_cg_used < emu_harness_cg_size)
		emu_harness_cg_used +=
			(size_t)snprintf(emu_harness_cg_out + emu_harness_cg_used,
					 emu_harness_cg_size - emu_harness_cg_used, "%s\n", path);
	return 0;
}

static void emu_harness_snapshot(struct emu_host_snapshot *s)
{
	struct if_nameindex *ifs = if_nameindex();
	size_t used = 1;
	FILE *fp;

	memset(s, 0, sizeof(*s));
	/* Every list starts with a newline, so that "\nline\n" finds any line. */
	s->netns[0] = '\n';
	emu_harness_list_dir(EMU_NETNS_DIR, s->netns + 1, sizeof(s->netns) - 1);
	s->links[0] = '\n';
	for (struct if_nameindex *p = ifs; p && p->if_index; p++)
		if (used < sizeof(s->links))
			used += (size_t)snprintf(s->links + used, sizeof(s->links) - used,
						 "%u %s\n", p->if_index, p->if_name);
	if (ifs)
		if_freenameindex(ifs);
	s->qdiscs[0] = '\n';
	fp = popen("tc qdisc show 2>&1", "r");
	if (fp) {
		size_t k = fread(s->qdiscs + 1, 1, sizeof(s->qdiscs) - 2, fp);

		s->qdiscs[1 + k] = '\0';
		pclose(fp);
	}
	s->cgroups[0] = '\n';
	emu_harness_cg_out = s->cgroups + 1;
	emu_harness_cg_used = 0;
	emu_harness_cg_size = sizeof(s->cgroups) - 1;
	nftw("/sys/fs/cgroup", emu_harness_cg_visit, 32, FTW_PHYS);
}

/* Print the lines of `after` that are not in `before`, and the reverse. Returns the count. */
static int emu_harness_diff(const char *what, const char *before, const char *after)
{
	int diffs = 0;

	for (int pass = 0; pass < 2; pass++) {
		const char *a = pass ? before : after, *b = pass ? after : before;

		for (const char *p = a + 1; *p;) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			char needle[520];

			if (len && len + 3 < sizeof(needle)) {
				snprintf(needle, sizeof(needle), "\n%.*s\n", (int)len, p);
				if (!strstr(b, needle)) {
					fprintf(stderr, "leftover check: %s %s: %.*s\n", what,
						pass ? "gone" : "new", (int)len, p);
					diffs++;
				}
			}
			p += len + (nl != NULL);
		}
	}
	return diffs;
}

static int emu_harness_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Clean every registry in state_dir (forced: the controller is dead or is us). */
static int emu_harness_clean_all(const char *state_dir)
{
	struct ep_error err;

	if (emu_registry_clean_all(state_dir, EMU_CLEAN_FORCE, NULL, NULL, NULL, NULL, &err) !=
	    EP_OK) {
		fprintf(stderr, "harness: cleaning %s: %s\n", state_dir, err.msg);
		return 1;
	}
	return 0;
}

/* A cluster of n nodes, every link (dispatcher's included) at bw_bps, no latency; free with
 * cluster_destroy. NULL when out of memory. */
static inline struct cluster *emu_test_cluster(int n, double bw_bps)
{
	struct cluster *c = calloc(1, sizeof(*c));
	int v = n + 1;

	if (!c)
		return NULL;
	c->n = n;
	c->mem_bytes = calloc((size_t)n, sizeof(double));
	c->speed_flops = calloc((size_t)n, sizeof(double));
	c->bw_bps = calloc((size_t)(v * v), sizeof(double));
	c->latency_s = calloc((size_t)(v * v), sizeof(double));
	if (!c->mem_bytes || !c->speed_flops || !c->bw_bps || !c->latency_s) {
		cluster_destroy(c);
		return NULL;
	}
	for (int i = 0; i < v; i++)
		for (int j = 0; j < v; j++)
			c->bw_bps[i * v + j] = i == j ? 0 : bw_bps;
	return c;
}

/*
 * Take the machine-wide turn of emulator tests (see above); nests within one process. Waits
 * while another test holds it. emu_test_unlock() gives it back.
 */
static int emu_harness_lock_fd = -1, emu_harness_lock_depth;

static void emu_test_lock(const char *name)
{
	if (emu_harness_lock_depth++ > 0)
		return;
	emu_harness_lock_fd = open(EMU_TEST_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (emu_harness_lock_fd < 0)
		return;
	if (flock(emu_harness_lock_fd, LOCK_EX | LOCK_NB) != 0) {
		printf("%s: waiting for another emulator test to finish\n", name);
		fflush(stdout);
		while (flock(emu_harness_lock_fd, LOCK_EX) != 0 && errno == EINTR)
			;
	}
}

static void emu_test_unlock(void)
{
	if (--emu_harness_lock_depth > 0)
		return;
	if (emu_harness_lock_fd >= 0)
		close(emu_harness_lock_fd);
	emu_harness_lock_fd = -1;
}

static int emu_test_main(const char *name, emu_test_body_fn body, double timeout_s)
{
	struct emu_host_snapshot *before = calloc(1, sizeof(*before));
	struct emu_host_snapshot *after = calloc(1, sizeof(*after));
	struct emu_caps caps;
	struct ep_error err;
	char state_dir[] = "/tmp/edgepipe-test.XXXXXX";
	int status = 0, rc = 1, leftovers;
	bool locked = false;
	double waited = 0;
	pid_t pid;

	if (geteuid() != 0) {
		printf("%s: skipped: needs root to make network namespaces\n", name);
		rc = 77;
		goto out;
	}
	if (emu_caps_detect(&caps, &err) != EP_OK || emu_caps_require_net(&caps, &err) != EP_OK) {
		printf("%s: skipped: %s\n", name, err.msg);
		rc = 77;
		goto out;
	}
	if (!mkdtemp(state_dir)) {
		perror("mkdtemp");
		goto out;
	}
	emu_test_lock(name);
	locked = true;
	emu_harness_snapshot(before);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		goto out;
	}
	if (pid == 0) {
		int r;

		setpgid(0, 0);
		r = body(state_dir, &caps);
		fflush(NULL);
		_exit(r);
	}
	setpgid(pid, pid); /* also here: whichever of parent and child runs first */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (waited > timeout_s) {
			fprintf(stderr, "%s: timed out after %g s: killing the test body\n", name,
				timeout_s);
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			status = -1;
			break;
		}
		usleep(20000);
		waited += 0.02;
	}
	/* Whatever the body started and left running (a command it was waiting for when it
	 * died) must not create anything after the clean below. */
	kill(-pid, SIGKILL);
	/* Whatever the body left (it may have died anywhere): clean it, then compare. */
	rc = status == -1 ? 1
	     : WIFEXITED(status) ? WEXITSTATUS(status)
				 : (fprintf(stderr, "%s: test body killed by signal %d\n", name,
					    WTERMSIG(status)),
				    1);
	if (emu_harness_clean_all(state_dir))
		rc = rc == 77 ? 1 : (rc ? rc : 1);
	nftw(state_dir, emu_harness_rm, 16, FTW_DEPTH | FTW_PHYS);
	emu_harness_snapshot(after);
	leftovers = emu_harness_diff("namespace", before->netns, after->netns) +
		    emu_harness_diff("host interface", before->links, after->links) +
		    emu_harness_diff("host qdisc", before->qdiscs, after->qdiscs) +
		    emu_harness_diff("cgroup", before->cgroups, after->cgroups);
	if (leftovers) {
		fprintf(stderr, "%s: %d leftover(s) on the host\n", name, leftovers);
		if (rc == 0 || rc == 77)
			rc = 1;
	}
out:
	if (locked)
		emu_test_unlock();
	free(before);
	free(after);
	return rc;
}

#endif
