/*
 * The controller of a running `edgepipe emu` dies:
 *
 * 1. SIGKILL mid-run. Its stage processes and heartbeaters die with it (PR_SET_PDEATHSIG);
 *    its namespaces, veths and cgroups stay, listed in its registry. `edgepipe clean` then
 *    removes them all, even while the killed controller is still an unreaped zombie, and the
 *    host looks as it did before (namespaces, host interfaces and qdiscs, edgepipe cgroups),
 *    while the decoys (a namespace and a cgroup named like a run's, in no registry) are
 *    untouched.
 * 2. SIGTERM, then SIGINT, mid-run: the controller cleans up at once by itself (within a
 *    second), exits 128 + the signal, and leaves nothing, not even its registry.
 *
 * Usage: test_emu_sigkill PATH_TO_EDGEPIPE
 */
#include <dirent.h>

#include "check.h"
#include "emu_cli.h"
#include "emu_harness.h"

#define DECOY_NS "epdecoy-n1"

static const char *edgepipe;
static char decoy_cg[320];

/* Start `edgepipe emu` in the background, long enough to be killed mid-run; its output goes
 * to `log`. */
static pid_t start_run(const char *state_dir, const char *log)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setpgid(0, 0); /* no terminal's Ctrl-C reaches it but ours */
		execl(edgepipe, edgepipe, "emu", "--model", "resnet50", "--nodes", "4", "--mem",
		      "128MiB", "--cluster", "uniform", "--bw-range", "100Mbit:200Mbit",
		      "--requests", "100000", "--probes", "0", "--state-dir", state_dir, "--progress",
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The run id of the only registry in state_dir, once its workload has started ("" if it did
 * not within 10 s). */
static void wait_running(const char *state_dir, const char *log, char *id, size_t size)
{
	id[0] = '\0';
	for (double t = 0; t < 10; t += 0.05) {
		char buf[16384];
		FILE *f = fopen(log, "r");
		size_t k = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		DIR *d;
		struct dirent *de;

		if (f)
			fclose(f);
		buf[k] = '\0';
		if (strstr(buf, "the workload starts") && (d = opendir(state_dir))) {
			while ((de = readdir(d)))
				if (strlen(de->d_name) == EMU_RUN_ID_LEN + 4 &&
				    strcmp(de->d_name + EMU_RUN_ID_LEN, ".reg") == 0)
					snprintf(id, size, "%.*s", EMU_RUN_ID_LEN, de->d_name);
			closedir(d);
			if (id[0])
				return;
		}
		emu_test_sleep(0.05);
	}
}

/* Processes inside one of run `id`'s namespaces (while their files are still mounted). */
static int count_in_namespaces(const char *id)
{
	char path[600], link[300], want[64];
	struct dirent *de;
	DIR *d = opendir("/proc");
	int n = 0;

	/* Its /proc/PID/ns/net is the same inode as one of the run's namespace files. */
	snprintf(want, sizeof(want), "%s-", id);
	while (d && (de = readdir(d))) {
		struct stat st_ns, st_p;
		DIR *nd;
		struct dirent *ne;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		if (stat(path, &st_p) != 0)
			continue;
		nd = opendir(EMU_NETNS_DIR);
		while (nd && (ne = readdir(nd))) {
			if (strncmp(ne->d_name, want, strlen(want)) != 0)
				continue;
			snprintf(link, sizeof(link), EMU_NETNS_DIR "/%s", ne->d_name);
			if (stat(link, &st_ns) == 0 && st_ns.st_ino == st_p.st_ino &&
			    st_ns.st_dev == st_p.st_dev)
				n++;
		}
		if (nd)
			closedir(nd);
	}
	if (d)
		closedir(d);
	return n;
}

static void check_sigkill(const char *state_dir)
{
	struct emu_host_snapshot *before = calloc(1, sizeof(*before));
	struct emu_host_snapshot *after = calloc(1, sizeof(*after));
	char log[600], id[16], path[600], out[65536], cmd[1024];
	int status, rc;
	pid_t pid;

	emu_harness_snapshot(before);
	snprintf(log, sizeof(log), "%s/sigkill.log", state_dir);
	pid = start_run(state_dir, log);
	wait_running(state_dir, log, id, sizeof(id));
	CHECK(id[0] != '\0');
	if (!id[0]) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		goto out;
	}
	emu_test_sleep(0.5); /* mid-run: requests in flight */
	CHECK_INT(kill(pid, SIGKILL), 0);
	/* Not reaped yet: the controller is a zombie while `edgepipe clean` runs. */
	emu_test_sleep(0.3);
	snprintf(path, sizeof(path), EMU_NETNS_DIR "/%s-n0", id);
	CHECK(access(path, F_OK) == 0); /* left behind, as a SIGKILL leaves it */
	printf("after SIGKILL: %d process(es) left in the run's namespaces\n",
	       count_in_namespaces(id));
	CHECK_INT(count_in_namespaces(id), 0); /* the stages died with their controller */
	snprintf(cmd, sizeof(cmd), "%s clean --state-dir %s", edgepipe, state_dir);
	rc = emu_cli_run(cmd, out, sizeof(out));
	CHECK_INT(rc, 0);
	CHECK(strstr(out, "registry removed") != NULL);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(access(path, F_OK) != 0);
	emu_harness_snapshot(after);
	CHECK_INT(emu_harness_diff("namespace", before->netns, after->netns) +
			  emu_harness_diff("host interface", before->links, after->links) +
			  emu_harness_diff("host qdisc", before->qdiscs, after->qdiscs) +
			  emu_harness_diff("cgroup", before->cgroups, after->cgroups),
		  0);
	/* Nothing else touched. */
	CHECK(access(EMU_NETNS_DIR "/" DECOY_NS, F_OK) == 0);
	CHECK(!decoy_cg[0] || access(decoy_cg, F_OK) == 0);
	rc = emu_cli_run(cmd, out, sizeof(out));
	CHECK_INT(rc, 0);
	CHECK(strstr(out, "nothing to clean") != NULL);
out:
	free(before);
	free(after);
}

static void check_signal(const char *state_dir, int sig)
{
	struct emu_host_snapshot *before = calloc(1, sizeof(*before));
	struct emu_host_snapshot *after = calloc(1, sizeof(*after));
	char log[600], id[16], path[600];
	int status = 0;
	double t0, took = -1;
	pid_t pid;

	emu_harness_snapshot(before);
	snprintf(log, sizeof(log), "%s/sig%d.log", state_dir, sig);
	pid = start_run(state_dir, log);
	wait_running(state_dir, log, id, sizeof(id));
	CHECK(id[0] != '\0');
	emu_test_sleep(0.3);
	t0 = emu_test_now();
	kill(pid, sig);
	for (double t = 0; t < 10; t += 0.005) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			took = emu_test_now() - t0;
			break;
		}
		emu_test_sleep(0.005);
	}
	if (took < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	printf("%s: the controller cleaned up and exited in %.3f s, status %d\n", strsignal(sig),
	       took, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	CHECK(took >= 0 && took < 1.0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 128 + sig);
	snprintf(path, sizeof(path), "%s/%s.reg", state_dir, id);
	CHECK(access(path, F_OK) != 0); /* its registry went with everything else */
	CHECK_INT(count_in_namespaces(id), 0);
	emu_harness_snapshot(after);
	CHECK_INT(emu_harness_diff("namespace", before->netns, after->netns) +
			  emu_harness_diff("host interface", before->links, after->links) +
			  emu_harness_diff("host qdisc", before->qdiscs, after->qdiscs) +
			  emu_harness_diff("cgroup", before->cgroups, after->cgroups),
		  0);
	free(before);
	free(after);
}

static int body(const char *state_dir, const struct emu_caps *caps)
{
	(void)caps;
	check_sigkill(state_dir);
	check_signal(state_dir, SIGTERM);
	check_signal(state_dir, SIGINT);
	return check_exit();
}

int main(int argc, char **argv)
{
	struct emu_caps caps;
	int rc;

	if (argc != 2 || access(argv[1], X_OK) != 0) {
		fprintf(stderr, "usage: test_emu_sigkill PATH_TO_EDGEPIPE\n");
		return 2;
	}
	edgepipe = argv[1];
	if (geteuid() != 0 || emu_caps_detect(&caps, NULL) != EP_OK ||
	    emu_caps_require_net(&caps, NULL) != EP_OK) {
		printf("test_emu_sigkill: skipped: needs root and network namespaces\n");
		return 77;
	}
	/* Decoys named like a run's, in no registry: every clean must leave them. Made inside the
	 * emulator tests' turn, so that no other test sees them appear. */
	emu_test_lock("test_emu_sigkill");
	if (caps.cgroup_cpu_version)
		snprintf(decoy_cg, sizeof(decoy_cg), "%s/edgepipe-epdecoy", caps.cgroup_cpu_root);
	if (system("ip netns add " DECOY_NS) != 0 || (decoy_cg[0] && mkdir(decoy_cg, 0755) != 0)) {
		fprintf(stderr, "cannot create the decoys\n");
		rc = 1;
	} else {
		rc = emu_test_main("test_emu_sigkill", body, 60);
	}
	if (system("ip netns del " DECOY_NS " 2>/dev/null") != 0)
		rc = 1;
	if (decoy_cg[0] && rmdir(decoy_cg) != 0)
		rc = 1;
	emu_test_unlock();
	return rc;
}
