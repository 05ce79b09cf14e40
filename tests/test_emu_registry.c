/*
 * The run registry: run ids and names; what it refuses to list; liveness and stale runs;
 * cleaning removes exactly what is listed (a namespace, a cgroup, the processes inside them)
 * and tolerates what was listed but never created or is already gone; a decoy with a similar
 * name survives; a dry run changes nothing; a live run is refused unless forced; a line cut
 * short is ignored and a tampered file is refused whole; a second clean finds nothing.
 */
#include <signal.h>

#include "check.h"
#include "emu_harness.h"

#define DECOY "epdecoy-n0"

struct tally {
	int n[4];
	char last_gone[4096];
};

static void note(void *arg, enum emu_clean_action a, const struct emu_item *it, pid_t pid,
		 const char *why)
{
	struct tally *t = arg;

	(void)pid;
	(void)why;
	t->n[a]++;
	if (a == EMU_CLEAN_GONE)
		snprintf(t->last_gone, sizeof(t->last_gone), "%s", it->name);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int run(const char *fmt, const char *arg)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), fmt, arg);
	return system(cmd);
}

/* A process that sleeps inside namespace `ns` (via ip netns exec). */
static pid_t sleeper_in_ns(const char *ns)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("ip", "ip", "netns", "exec", ns, "sleep", "60", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* A process that sleeps inside cgroup directory `dir`. */
static pid_t sleeper_in_cgroup(const char *dir)
{
	pid_t pid = fork();

	if (pid == 0) {
		char path[1024];
		FILE *f;

		if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
			_exit(1);
		f = fopen(path, "w");
		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
			_exit(1);
		pause();
		_exit(0);
	}
	return pid;
}

static bool killed(pid_t pid)
{
	int status;

	return waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGKILL;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void check_names(struct emu_registry *reg)
{
	const char *id = emu_registry_run_id(reg);
	struct emu_item it;
	struct ep_error err;
	char name[64];

	CHECK_INT(strlen(id), EMU_RUN_ID_LEN);
	CHECK(strncmp(id, "ep", 2) == 0 &&
	      strspn(id + 2, "0123456789abcdefghijklmnopqrstuvwxyz") == 5);
	CHECK_INT(emu_registry_add(reg, emu_item_netns(&it, "foo"), 1, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "'foo'");
	snprintf(name, sizeof(name), "%s-n12345678", id); /* 18 characters */
	CHECK_INT(emu_registry_add(reg, emu_item_netns(&it, name), 1, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, name);
	snprintf(name, sizeof(name), "%s-a b", id);
	CHECK_INT(emu_registry_add(reg, emu_item_link(&it, NULL, name), 1, &err), EP_EINVAL);
	CHECK_INT(emu_registry_add(reg, emu_item_cgroup(&it, "/sys/fs/cgroup/cpu/other"), 1, &err),
		  EP_EINVAL);
	snprintf(name, sizeof(name), "/sys/fs/cgroup/cpu/edgepipe-%sx/n0", id);
	CHECK_INT(emu_registry_add(reg, emu_item_cgroup(&it, name), 1, &err), EP_EINVAL);
	snprintf(name, sizeof(name), "/sys/fs/cgroup/cpu/edgepipe-%s/../x", id);
	CHECK_INT(emu_registry_add(reg, emu_item_cgroup(&it, name), 1, &err), EP_EINVAL);
}

static void check_stale(const char *state_dir)
{
	struct emu_registry_info *v = NULL;
	struct ep_error err;
	char note_text[1024], child_id[EMU_RUN_ID_LEN + 1] = "";
	int fds[2], status, live_child;
	size_t n = 0;
	pid_t pid;

	CHECK_INT(emu_registry_note_stale(state_dir, note_text, sizeof(note_text), &err), 0);
	CHECK_INT(pipe(fds), 0);
	/* A controller that registers a namespace it never creates, and dies. */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct emu_registry *r;
		struct emu_item it;
		char name[32];

		if (emu_registry_create(state_dir, &r, NULL) != EP_OK)
			_exit(1);
		snprintf(name, sizeof(name), "%s-n0", emu_registry_run_id(r));
		emu_registry_add(r, emu_item_netns(&it, name), 1, NULL);
		if (write(fds[1], emu_registry_run_id(r), EMU_RUN_ID_LEN) != EMU_RUN_ID_LEN)
			_exit(1);
		_exit(0);
	}
	CHECK_INT(read(fds[0], child_id, EMU_RUN_ID_LEN), EMU_RUN_ID_LEN);
	waitpid(pid, &status, 0);
	CHECK_INT(emu_registry_list(state_dir, &v, &n, &err), EP_OK);
	CHECK_INT(n, 2);
	live_child = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].run_id, child_id) == 0) {
			CHECK(!v[i].alive);
			CHECK_INT(v[i].n_items, 1);
		} else {
			CHECK(v[i].alive);
			CHECK_INT(v[i].controller_pid, getpid());
			live_child++;
		}
	CHECK_INT(live_child, 1);
	free(v);
	CHECK_INT(emu_registry_note_stale(state_dir, note_text, sizeof(note_text), &err), 1);
	printf("stale note: %s\n", note_text);
	CHECK_CONTAINS(note_text, child_id);
	CHECK_CONTAINS(note_text, "edgepipe clean");
	/* Its clean finds the never-created namespace gone and removes the file. */
	{
		char path[1024];
		struct tally t = { 0 };

		snprintf(path, sizeof(path), "%s/%s.reg", state_dir, child_id);
		CHECK_INT(emu_registry_clean_path(path, 0, note, &t, NULL, &err), EP_OK);
		CHECK_INT(t.n[EMU_CLEAN_GONE], 1);
		CHECK(!exists(path));
		CHECK_INT(emu_registry_clean_path(path, 0, note, &t, NULL, &err), EP_ENOTFOUND);
	}
	close(fds[0]);
	close(fds[1]);
}

/* A live controller's run is refused without FORCE. */
static void check_live_refused(const char *state_dir)
{
	char id[EMU_RUN_ID_LEN + 1] = "", path[1024];
	struct ep_error err;
	int fds[2], status, skipped = -1;
	pid_t pid;

	CHECK_INT(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct emu_registry *r;

		if (emu_registry_create(state_dir, &r, NULL) != EP_OK)
			_exit(1);
		if (write(fds[1], emu_registry_run_id(r), EMU_RUN_ID_LEN) != EMU_RUN_ID_LEN)
			_exit(1);
		pause();
		_exit(0);
	}
	CHECK_INT(read(fds[0], id, EMU_RUN_ID_LEN), EMU_RUN_ID_LEN);
	snprintf(path, sizeof(path), "%s/%s.reg", state_dir, id);
	/* Cleaning everything skips both live runs: the child's and this one. */
	CHECK_INT(emu_registry_clean_all(state_dir, 0, NULL, NULL, NULL, &skipped, &err), EP_OK);
	CHECK_INT(skipped, 2);
	CHECK(exists(path));
	CHECK_INT(emu_registry_clean_path(path, 0, NULL, NULL, NULL, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "live");
	CHECK(exists(path));
	CHECK_INT(emu_registry_clean_path(path, EMU_CLEAN_FORCE, NULL, NULL, NULL, &err), EP_OK);
	CHECK(!exists(path));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fds[0]);
	close(fds[1]);
}

/* Real things: a namespace and a cgroup with a process each, a listed-only namespace, a
 * decoy; a dry run first, then the clean. */
static void check_clean(struct emu_registry *reg, const struct emu_caps *caps)
{
	const char *id = emu_registry_run_id(reg);
	struct emu_item items[4];
	struct tally t = { 0 };
	struct ep_error err;
	char ns[32], never[32], nspath[64], cg_run[512], cg_leaf[600];
	pid_t p_ns, p_cg = -1;
	bool cg = caps->cgroup_cpu_version == 1;

	snprintf(ns, sizeof(ns), "%s-n0", id);
	snprintf(never, sizeof(never), "%s-n1", id);
	snprintf(nspath, sizeof(nspath), EMU_NETNS_DIR "/%s", ns);
	snprintf(cg_run, sizeof(cg_run), "%s/edgepipe-%s", caps->cgroup_cpu_root, id);
	snprintf(cg_leaf, sizeof(cg_leaf), "%s/n0", cg_run);
	emu_item_netns(&items[0], ns);
	emu_item_netns(&items[1], never);
	emu_item_cgroup(&items[2], cg_run);
	emu_item_cgroup(&items[3], cg_leaf);
	CHECK_INT(emu_registry_add(reg, items, cg ? 4 : 2, &err), EP_OK);
	CHECK_INT(run("ip netns add %s", ns), 0);
	CHECK_INT(run("ip netns add %s", DECOY), 0);
	p_ns = sleeper_in_ns(ns);
	if (cg) {
		CHECK_INT(mkdir(cg_run, 0755), 0);
		CHECK_INT(mkdir(cg_leaf, 0755), 0);
		p_cg = sleeper_in_cgroup(cg_leaf);
	}
	emu_test_sleep(0.2); /* let `ip netns exec` reach its namespace */

	CHECK_INT(emu_registry_clean(reg, EMU_CLEAN_DRY_RUN, note, &t, NULL, &err), EP_OK);
	CHECK_INT(t.n[EMU_CLEAN_REMOVED], cg ? 3 : 1);
	CHECK_INT(t.n[EMU_CLEAN_GONE], 1);
	CHECK_INT(t.n[EMU_CLEAN_KILLED], cg ? 2 : 1);
	CHECK(exists(nspath) && exists(emu_registry_path(reg)));
	CHECK_INT(kill(p_ns, 0), 0);

	memset(&t, 0, sizeof(t));
	CHECK_INT(emu_registry_clean(reg, 0, note, &t, NULL, &err), EP_OK);
	printf("clean: removed %d, gone %d (last: %s), killed %d, failed %d\n",
	       t.n[EMU_CLEAN_REMOVED], t.n[EMU_CLEAN_GONE], t.last_gone, t.n[EMU_CLEAN_KILLED],
	       t.n[EMU_CLEAN_FAILED]);
	CHECK_INT(t.n[EMU_CLEAN_REMOVED], cg ? 3 : 1);
	CHECK_INT(t.n[EMU_CLEAN_FAILED], 0);
	CHECK_STR(t.last_gone, never);
	CHECK(!exists(nspath));
	CHECK(!exists(cg_leaf) && !exists(cg_run));
	CHECK(!exists(emu_registry_path(reg)));
	CHECK(killed(p_ns));
	if (cg)
		CHECK(killed(p_cg));
	CHECK(exists(EMU_NETNS_DIR "/" DECOY)); /* not listed: untouched */
	CHECK_INT(run("ip netns del %s", DECOY), 0);
	CHECK_INT(emu_registry_clean(reg, 0, note, &t, NULL, &err), EP_ENOTFOUND);
}

/* Hand-written files: a cut-short last line is ignored; a foreign name refuses the file. */
static void check_files(const char *state_dir)
{
	char path[1024], text[512];
	struct tally t = { 0 };
	struct ep_error err;

	snprintf(path, sizeof(path), "%s/ep00000.reg", state_dir);
	write_file(path, "edgepipe-registry 1\nrun ep00000\ncontroller 1 1\n"
			 "netns ep00000-n0\nnetns ep00000-n");
	CHECK_INT(emu_registry_clean_path(path, EMU_CLEAN_DRY_RUN, note, &t, NULL, &err), EP_OK);
	CHECK_INT(t.n[EMU_CLEAN_GONE], 1); /* n0 only; "ep00000-n" was cut short */
	CHECK_INT(emu_registry_clean_path(path, 0, NULL, NULL, NULL, &err), EP_OK);
	CHECK(!exists(path));

	snprintf(text, sizeof(text), "edgepipe-registry 1\nrun ep00001\ncontroller 1 1\n"
				     "netns %s\n", DECOY);
	snprintf(path, sizeof(path), "%s/ep00001.reg", state_dir);
	write_file(path, text);
	CHECK_INT(emu_registry_clean_path(path, EMU_CLEAN_FORCE, NULL, NULL, NULL, &err),
		  EP_EINVAL);
	CHECK_CONTAINS(err.msg, DECOY);
	CHECK(exists(path));
	unlink(path);

	snprintf(path, sizeof(path), "%s/ep00002.reg", state_dir);
	write_file(path, "not a registry\n");
	CHECK_INT(emu_registry_clean_path(path, 0, NULL, NULL, NULL, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "not an edgepipe registry");
	unlink(path);
}

static int body(const char *state_dir, const struct emu_caps *caps)
{
	struct emu_registry *reg = NULL;
	struct ep_error err;
	int rc;

	rc = emu_registry_create(state_dir, &reg, &err);
	CHECK_INT(rc, EP_OK);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		return check_exit();
	}
	CHECK_CONTAINS(emu_registry_path(reg), state_dir);
	check_names(reg);
	check_stale(state_dir);
	check_live_refused(state_dir);
	check_clean(reg, caps);
	check_files(state_dir);
	emu_registry_destroy(reg);
	return check_exit();
}

int main(void)
{
	int rc = emu_test_main("test_emu_registry", body, 30);
	emu_test_lock("test_emu_registry");

	/* The decoy is made inside the body; remove it whatever happened there. */
	if (access(EMU_NETNS_DIR "/" DECOY, F_OK) == 0 &&
	    system("ip netns del " DECOY " 2>/dev/null") != 0)
		rc = 1;
	emu_test_unlock();
	return rc;
}
