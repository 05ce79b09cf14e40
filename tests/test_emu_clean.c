/*
 * `edgepipe clean` after the controller was killed with SIGKILL, and the registry-then-create
 * order under SIGKILL at any instant.
 *
 * 1. A child builds a 3-node network (plus dispatcher), a cgroup per node and a sleeping
 *    process per node in its namespace and cgroup, then is SIGKILLed. Its namespaces, veths,
 *    cgroups and processes outlive it. `edgepipe clean --dry-run` lists them and changes
 *    nothing; `edgepipe clean` removes them all (processes killed); the host then looks as it
 *    did before (namespaces, host interfaces and qdiscs, edgepipe cgroups), and the decoys
 *    (a namespace and a cgroup named like a run's but listed nowhere) are still there. A second
 *    clean finds nothing; bad options exit 2.
 * 2. Children building the same network are SIGKILLed after 0, 4, 8, ... ms: every namespace
 *    and cgroup of theirs that exists at that moment must already be in their registry; then
 *    `edgepipe clean` leaves the host as before.
 *
 * Usage: test_emu_clean PATH_TO_EDGEPIPE
 */
#include <signal.h>

#include "check.h"
#include "emu_cgroup.h"
#include "emu_harness.h"
#include "emu_net.h"

#define DECOY_NS "epdecoy-n0"
#define ROUNDS   10

static const char *edgepipe;
static char decoy_cg[300];

/* Run `edgepipe clean ARGS`; its stdout into out; returns the exit status (-1: did not run). */
static int clean_cmd(const char *state_dir, const char *args, char *out, size_t size)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s clean --state-dir %s %s 2>&1", edgepipe, state_dir, args);
	return check_shell(cmd, out, size);
}

static int sleeper(void *arg)
{
	(void)arg;
	pause();
	return 0;
}

/* The controller: build, report the run id (and the sleepers' pids), wait to be killed. */
static void controller(const char *state_dir, const struct emu_caps *caps, int fd, bool hold)
{
	struct emu_registry *reg;
	struct cluster *c = emu_test_cluster(3, 20e6);
	struct emu_cgroups *cgs;
	struct emu_net *net;
	struct emu_cgroup_limits lim = { .cpu_share = 0.5, .mem_bytes = 256.0 * 1024 * 1024 };
	pid_t pids[4];

	if (!c || emu_registry_create(state_dir, &reg, NULL) != EP_OK)
		_exit(1);
	if (write(fd, emu_registry_run_id(reg), EMU_RUN_ID_LEN) != EMU_RUN_ID_LEN)
		_exit(1);
	if (emu_net_create(reg, caps, c, NULL, &net, NULL) != EP_OK)
		_exit(1);
	if (emu_cgroups_create(reg, caps, &cgs, NULL) != EP_OK)
		_exit(1);
	for (int i = 0; i <= 3; i++) {
		struct emu_cgroup *cg;
		char name[8];

		snprintf(name, sizeof(name), "n%d", i);
		if (emu_cgroup_create(cgs, name, &lim, &cg, NULL) != EP_OK ||
		    emu_net_spawn(net, i, cg, sleeper, NULL, &pids[i], NULL) != EP_OK)
			_exit(1);
	}
	if (hold && write(fd, pids, sizeof(pids)) != sizeof(pids))
		_exit(1);
	pause();
	_exit(0);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool gone_within(pid_t pid, double s)
{
	for (double t = 0; t < s; t += 0.01) {
		if (kill(pid, 0) != 0)
			return true;
		emu_test_sleep(0.01);
	}
	return false;
}

/* Is `line` ("netns NAME" or "cgroup PATH") in run `id`'s registry file? */
static bool registered(const char *state_dir, const char *id, const char *line)
{
	char path[1024], buf[65536], needle[1300];
	FILE *f;
	size_t k;

	snprintf(path, sizeof(path), "%s/%s.reg", state_dir, id);
	f = fopen(path, "r");
	if (!f)
		return false;
	k = fread(buf, 1, sizeof(buf) - 1, f);
	buf[k] = '\0';
	fclose(f);
	snprintf(needle, sizeof(needle), "\n%s\n", line);
	return strstr(buf, needle) != NULL;
}

/* Everything of run `id` that exists is registered. Returns how many things exist. */
static int check_registered_first(const char *state_dir, const char *id, const char *cg_roots[2])
{
	char line[1200], dir[600];
	struct dirent *de;
	int found = 0;
	DIR *d = opendir(EMU_NETNS_DIR);

	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, id, EMU_RUN_ID_LEN) != 0)
			continue;
		found++;
		snprintf(line, sizeof(line), "netns %s", de->d_name);
		if (!registered(state_dir, id, line)) {
			fprintf(stderr, "exists but not registered: %s\n", line);
			check_failures++;
		}
	}
	if (d)
		closedir(d);
	for (int r = 0; r < 2; r++) {
		snprintf(dir, sizeof(dir), "%s/edgepipe-%s", cg_roots[r], id);
		if (!exists(dir))
			continue;
		found++;
		snprintf(line, sizeof(line), "cgroup %s", dir);
		if (!registered(state_dir, id, line)) {
			fprintf(stderr, "exists but not registered: %s\n", line);
			check_failures++;
		}
		d = opendir(dir);
		while (d && (de = readdir(d))) {
			char sub[1000];
			struct stat st;

			snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
			if (de->d_name[0] == '.' || stat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
				continue;
			found++;
			snprintf(line, sizeof(line), "cgroup %s", sub);
			if (!registered(state_dir, id, line)) {
				fprintf(stderr, "exists but not registered: %s\n", line);
				check_failures++;
			}
		}
		if (d)
			closedir(d);
	}
	return found;
}

static void check_after_sigkill(const char *state_dir, const struct emu_caps *caps)
{
	struct emu_host_snapshot *before = calloc(1, sizeof(*before));
	struct emu_host_snapshot *after = calloc(1, sizeof(*after));
	char id[EMU_RUN_ID_LEN + 1] = "", out[16384], path[512], want[128];
	int fds[2], status;
	pid_t pid, pids[4];

	emu_harness_snapshot(before);
	CHECK_INT(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		controller(state_dir, caps, fds[1], true);
	CHECK_INT(read(fds[0], id, EMU_RUN_ID_LEN), EMU_RUN_ID_LEN);
	CHECK_INT(read(fds[0], pids, sizeof(pids)), sizeof(pids));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fds[0]);
	close(fds[1]);

	/* What the controller left behind. */
	snprintf(path, sizeof(path), EMU_NETNS_DIR "/%s-n0", id);
	CHECK(exists(path));
	snprintf(path, sizeof(path), "%s/edgepipe-%s/n0", caps->cgroup_cpu_root, id);
	CHECK(exists(path));
	for (int i = 0; i < 4; i++)
		CHECK_INT(kill(pids[i], 0), 0);

	CHECK_INT(clean_cmd(state_dir, "--dry-run", out, sizeof(out)), 0);
	printf("--- edgepipe clean --dry-run\n%s", out);
	snprintf(want, sizeof(want), "would remove  netns %s-n0", id);
	CHECK_CONTAINS(out, want);
	CHECK_CONTAINS(out, "would kill");
	snprintf(path, sizeof(path), EMU_NETNS_DIR "/%s-n0", id);
	CHECK(exists(path));

	CHECK_INT(clean_cmd(state_dir, "", out, sizeof(out)), 0);
	printf("--- edgepipe clean\n%s", out);
	snprintf(want, sizeof(want), "removed       netns %s-n0", id);
	CHECK_CONTAINS(out, want);
	snprintf(want, sizeof(want), "run %s: removed", id);
	CHECK_CONTAINS(out, want);
	CHECK(!exists(path));
	for (int i = 0; i < 4; i++)
		CHECK(gone_within(pids[i], 2.0));
	emu_harness_snapshot(after);
	CHECK_INT(emu_harness_diff("namespace", before->netns, after->netns) +
			  emu_harness_diff("host interface", before->links, after->links) +
			  emu_harness_diff("host qdisc", before->qdiscs, after->qdiscs) +
			  emu_harness_diff("cgroup", before->cgroups, after->cgroups),
		  0);
	CHECK(exists(EMU_NETNS_DIR "/" DECOY_NS));
	CHECK(exists(decoy_cg));

	CHECK_INT(clean_cmd(state_dir, "", out, sizeof(out)), 0);
	CHECK_CONTAINS(out, "nothing to clean");
	CHECK_INT(clean_cmd(state_dir, "--run epzzzzz", out, sizeof(out)), 2);
	CHECK_CONTAINS(out, "epzzzzz");
	CHECK_INT(clean_cmd(state_dir, "--run 'bad id'", out, sizeof(out)), 2);
	CHECK_CONTAINS(out, "bad id");
	CHECK_INT(clean_cmd(state_dir, "--bogus", out, sizeof(out)), 2);
	free(before);
	free(after);
}

static void check_kill_anywhere(const char *state_dir, const struct emu_caps *caps)
{
	struct emu_host_snapshot *before = calloc(1, sizeof(*before));
	struct emu_host_snapshot *after = calloc(1, sizeof(*after));
	const char *roots[2] = { caps->cgroup_cpu_root, caps->cgroup_memory_root };
	char out[16384];
	int seen = 0;

	emu_harness_snapshot(before);
	for (int r = 0; r < ROUNDS; r++) {
		char id[EMU_RUN_ID_LEN + 1] = "";
		int fds[2], status;
		pid_t pid;

		CHECK_INT(pipe(fds), 0);
		fflush(NULL);
		pid = fork();
		if (pid == 0)
			controller(state_dir, caps, fds[1], false);
		CHECK_INT(read(fds[0], id, EMU_RUN_ID_LEN), EMU_RUN_ID_LEN);
		emu_test_sleep(r * 0.004);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		close(fds[0]);
		close(fds[1]);
		seen += check_registered_first(state_dir, id, roots);
	}
	printf("SIGKILL after 0..%d ms: %d namespaces and cgroups existed, all registered first\n",
	       (ROUNDS - 1) * 4, seen);
	CHECK(seen > 0);
	CHECK_INT(clean_cmd(state_dir, "", out, sizeof(out)), 0);
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
	if (!caps->have[EMU_CAP_CGROUP_CPU] || !caps->have[EMU_CAP_CGROUP_MEMORY]) {
		printf("skipped: needs the cpu and memory cgroup controllers\n");
		return 77;
	}
	check_after_sigkill(state_dir, caps);
	check_kill_anywhere(state_dir, caps);
	return check_exit();
}

int main(int argc, char **argv)
{
	struct emu_caps caps;
	int rc;

	if (argc != 2 || access(argv[1], X_OK) != 0) {
		fprintf(stderr, "usage: test_emu_clean PATH_TO_EDGEPIPE\n");
		return 2;
	}
	edgepipe = argv[1];
	if (geteuid() != 0 || emu_caps_detect(&caps, NULL) != EP_OK ||
	    emu_caps_require_net(&caps, NULL) != EP_OK) {
		printf("test_emu_clean: skipped: needs root and network namespaces\n");
		return 77;
	}
	/* Decoys: named like a run's, listed in no registry; they must survive every clean.
	 * Made inside the emulator tests' turn, so that no other test sees them appear. */
	emu_test_lock("test_emu_clean");
	snprintf(decoy_cg, sizeof(decoy_cg), "%s/edgepipe-epdecoy", caps.cgroup_cpu_root);
	if (system("ip netns add " DECOY_NS) != 0 || (caps.cgroup_cpu_version &&
						      mkdir(decoy_cg, 0755) != 0)) {
		fprintf(stderr, "cannot create the decoys\n");
		rc = 1;
	} else {
		rc = emu_test_main("test_emu_clean", body, 60);
	}
	if (system("ip netns del " DECOY_NS " 2>/dev/null") != 0)
		rc = 1;
	if (caps.cgroup_cpu_version && rmdir(decoy_cg) != 0)
		rc = 1;
	emu_test_unlock();
	return rc;
}
