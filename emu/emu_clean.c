/*
 * The run registry's cleaner: removes what a registry file lists (emu_registry.h, "The
 * cleaner"), reading the file through emu_registry_internal.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "emu_internal.h"
#include "emu_registry.h"
#include "emu_registry_internal.h"


struct ns_id {
	dev_t dev;
	ino_t ino;
};

struct cleaner {
	const struct emu_registry_file *f;
	unsigned flags;
	emu_clean_note_fn note;
	void *arg;
	struct emu_clean_report rep;
	struct ns_id *ns; /* the run's live namespaces, for finding their processes */
	size_t n_ns;
	char first_failure[256];
};

static void say(struct cleaner *c, enum emu_clean_action a, const struct emu_item *it, pid_t pid,
		const char *why)
{
	switch (a) {
	case EMU_CLEAN_REMOVED: c->rep.removed++; break;
	case EMU_CLEAN_GONE: c->rep.gone++; break;
	case EMU_CLEAN_FAILED:
		c->rep.failed++;
		if (!c->first_failure[0] &&
		    snprintf(c->first_failure, sizeof(c->first_failure), "%s '%s': %s",
			     emu_item_kind_name(it->kind), it->name, why ? why : "?") < 0)
			c->first_failure[0] = '\0';
		break;
	case EMU_CLEAN_KILLED: c->rep.killed++; break;
	}
	if (c->note)
		c->note(c->arg, a, it, pid, why);
}

static bool registry_has_netns(const struct emu_registry_file *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->items[i].kind == EMU_ITEM_NETNS && strcmp(f->items[i].name, name) == 0)
			return true;
	return false;
}

/* Remember the identity of the run's namespaces that are still mounted. */
static int collect_ns(struct cleaner *c)
{
	c->ns = calloc(c->f->n + 1, sizeof(*c->ns));
	if (!c->ns)
		return EP_ENOMEM;
	for (size_t i = 0; i < c->f->n; i++) {
		const struct emu_item *it = &c->f->items[i];
		char path[256];
		struct stat st;

		if (it->kind != EMU_ITEM_NETNS || !emu_netns_path(it->name, path, sizeof(path)))
			continue;
		if (!emu_is_nsfs(path) || stat(path, &st) != 0)
			continue;
		c->ns[c->n_ns].dev = st.st_dev;
		c->ns[c->n_ns].ino = st.st_ino;
		c->n_ns++;
	}
	return EP_OK;
}

static bool pid_in_run_ns(const struct cleaner *c, pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &st) != 0)
		return false;
	for (size_t i = 0; i < c->n_ns; i++)
		if (c->ns[i].dev == st.st_dev && c->ns[i].ino == st.st_ino)
			return true;
	return false;
}

struct victim {
	pid_t pid;
	const struct emu_item *via; /* the cgroup it is in, or NULL for a namespace */
};

static bool has_victim(const struct victim *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].pid == pid)
			return true;
	return false;
}

static void add_victim(struct victim **v, size_t *n, size_t *cap, pid_t pid,
		       const struct emu_item *via)
{
	if (has_victim(*v, *n, pid))
		return;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		struct victim *nv = realloc(*v, ncap * sizeof(*nv));

		if (!nv)
			return; /* the next round finds it again */
		*v = nv;
		*cap = ncap;
	}
	(*v)[*n].pid = pid;
	(*v)[*n].via = via;
	(*n)++;
}

/* Kill (or, in a dry run, list) the processes inside the run, each once. Returns how many
 * were found. */
static int kill_round(struct cleaner *c, bool report)
{
	struct victim *v = NULL;
	size_t n = 0, cap = 0;
	pid_t self = getpid();
	struct dirent *de;
	DIR *d;

	if (c->n_ns > 0 && (d = opendir("/proc"))) {
		while ((de = readdir(d))) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);

			if (*end || pid <= 0 || (pid_t)pid == self)
				continue;
			if (pid_in_run_ns(c, (pid_t)pid))
				add_victim(&v, &n, &cap, (pid_t)pid, NULL);
		}
		closedir(d);
	}
	for (size_t i = 0; i < c->f->n; i++) {
		const struct emu_item *it = &c->f->items[i];
		char path[PATH_MAX + 32], buf[65536], *p, *end;

		if (it->kind != EMU_ITEM_CGROUP)
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.procs", it->name);
		if (emu_read_file(path, buf, sizeof(buf)) <= 0)
			continue;
		for (p = buf;; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0 && (pid_t)pid != self)
				add_victim(&v, &n, &cap, (pid_t)pid, it);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct emu_item ns_item;

		if (!(c->flags & EMU_CLEAN_DRY_RUN))
			kill(v[i].pid, SIGKILL);
		if (report)
			say(c, EMU_CLEAN_KILLED, v[i].via ? v[i].via : emu_item_netns(&ns_item, ""),
			    v[i].pid,
			    v[i].via ? "inside the run's cgroup"
				     : "inside one of the run's namespaces");
	}
	free(v);
	return (int)n;
}

static void kill_all(struct cleaner *c)
{
	double deadline = emu_now_s() + 2.0;

	if (kill_round(c, true) == 0 || (c->flags & EMU_CLEAN_DRY_RUN))
		return;
	while (emu_now_s() < deadline) {
		emu_sleep_s(0.01);
		if (kill_round(c, false) == 0)
			return;
	}
}

static void clean_link(struct cleaner *c, const struct emu_item *it)
{
	struct rtnl_link *link = NULL;
	struct nl_sock *sk = NULL;
	int nsfd = -1, nlrc;
	char why[256];

	if (it->ns[0] && registry_has_netns(c->f, it->ns)) {
		char path[256];

		/* Deleting the namespace deletes it, with its peer, in one batch. */
		if (emu_netns_path(it->ns, path, sizeof(path)) && emu_is_nsfs(path))
			say(c, EMU_CLEAN_REMOVED, it, 0, "with its namespace");
		else
			say(c, EMU_CLEAN_GONE, it, 0, NULL);
		return;
	}
	if (it->ns[0]) {
		nsfd = emu_netns_open(it->ns);
		if (nsfd < 0) {
			say(c, EMU_CLEAN_GONE, it, 0, "its namespace is gone");
			return;
		}
	}
	if (emu_nl_open(nsfd, it->ns[0] ? it->ns : "(host)", &sk, NULL) != EP_OK) {
		say(c, EMU_CLEAN_FAILED, it, 0, "no netlink socket");
		goto out;
	}
	nlrc = rtnl_link_get_kernel(sk, 0, it->name, &link);
	if (nlrc < 0) {
		say(c, EMU_CLEAN_GONE, it, 0, NULL);
		goto out;
	}
	if (c->flags & EMU_CLEAN_DRY_RUN) {
		say(c, EMU_CLEAN_REMOVED, it, 0, "would be removed");
		goto out;
	}
	nlrc = rtnl_link_delete(sk, link);
	if (nlrc < 0 && nlrc != -NLE_NODEV && nlrc != -NLE_OBJ_NOTFOUND) {
		snprintf(why, sizeof(why), "%s", emu_nl_strerror(nlrc));
		say(c, EMU_CLEAN_FAILED, it, 0, why);
	} else {
		say(c, EMU_CLEAN_REMOVED, it, 0, NULL);
	}
out:
	if (link)
		rtnl_link_put(link);
	emu_nl_close(sk);
	if (nsfd >= 0)
		close(nsfd);
}

static void clean_netns(struct cleaner *c, const struct emu_item *it)
{
	char path[256], why[320];
	struct stat st;

	if (!emu_netns_path(it->name, path, sizeof(path)) || lstat(path, &st) != 0) {
		say(c, EMU_CLEAN_GONE, it, 0, NULL);
		return;
	}
	if (c->flags & EMU_CLEAN_DRY_RUN) {
		say(c, EMU_CLEAN_REMOVED, it, 0, "would be removed");
		return;
	}
	/* As `ip netns delete`: detach the bind mount (EINVAL: not mounted), then the file. */
	if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
		snprintf(why, sizeof(why), "umount %s: %s", path, strerror(errno));
		say(c, EMU_CLEAN_FAILED, it, 0, why);
		return;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(why, sizeof(why), "unlink %s: %s", path, strerror(errno));
		say(c, EMU_CLEAN_FAILED, it, 0, why);
		return;
	}
	say(c, EMU_CLEAN_REMOVED, it, 0, NULL);
}

static void clean_cgroup(struct cleaner *c, const struct emu_item *it)
{
	double deadline = emu_now_s() + 1.0;
	char why[256];
	struct stat st;

	if (stat(it->name, &st) != 0 || !S_ISDIR(st.st_mode)) {
		say(c, EMU_CLEAN_GONE, it, 0, NULL);
		return;
	}
	if (c->flags & EMU_CLEAN_DRY_RUN) {
		say(c, EMU_CLEAN_REMOVED, it, 0, "would be removed");
		return;
	}
	/* A cgroup whose last process was just killed can stay busy for a moment. */
	while (rmdir(it->name) != 0) {
		if (errno == ENOENT)
			break;
		if (errno != EBUSY || emu_now_s() > deadline) {
			snprintf(why, sizeof(why), "rmdir: %s", strerror(errno));
			say(c, EMU_CLEAN_FAILED, it, 0, why);
			return;
		}
		kill_round(c, false);
		emu_sleep_s(0.01);
	}
	say(c, EMU_CLEAN_REMOVED, it, 0, NULL);
}

static size_t depth(const char *path)
{
	size_t d = 0;

	for (; *path; path++)
		d += *path == '/';
	return d;
}

static int clean_file(const char *path, const struct emu_registry_file *f, unsigned flags,
		      emu_clean_note_fn note, void *arg, struct emu_clean_report *rep,
		      struct ep_error *err)
{
	struct cleaner c;
	size_t maxd = 0;
	int rc = EP_OK;

	memset(&c, 0, sizeof(c));
	c.f = f;
	c.flags = flags;
	c.note = note;
	c.arg = arg;
	if (collect_ns(&c) != EP_OK) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory cleaning '%s'", path);
		goto out;
	}
	kill_all(&c);
	for (size_t i = 0; i < f->n; i++)
		if (f->items[i].kind == EMU_ITEM_LINK)
			clean_link(&c, &f->items[i]);
	/* Namespaces in reverse order of creation: the switch (first) goes last. Its bridge
	 * ports' peers are inside the node namespaces, so each veth pair goes with its node. */
	for (size_t i = f->n; i-- > 0;)
		if (f->items[i].kind == EMU_ITEM_NETNS)
			clean_netns(&c, &f->items[i]);
	for (size_t i = 0; i < f->n; i++)
		if (f->items[i].kind == EMU_ITEM_CGROUP && depth(f->items[i].name) > maxd)
			maxd = depth(f->items[i].name);
	for (size_t d = maxd + 1; d-- > 0;)
		for (size_t i = f->n; i-- > 0;)
			if (f->items[i].kind == EMU_ITEM_CGROUP && depth(f->items[i].name) == d)
				clean_cgroup(&c, &f->items[i]);
	if (c.rep.failed) {
		rc = ep_error_set(err, EP_EIO, "run %s: %d item(s) could not be removed, first %s; "
					       "registry '%s' kept",
				  f->run_id, c.rep.failed, c.first_failure, path);
		goto out;
	}
	if (!(flags & EMU_CLEAN_DRY_RUN) && unlink(path) != 0 && errno != ENOENT)
		rc = ep_error_set(err, EP_EIO, "registry '%s': %s", path, strerror(errno));
out:
	if (rep)
		*rep = c.rep;
	free(c.ns);
	return rc;
}

int emu_registry_clean_path(const char *path, unsigned flags, emu_clean_note_fn note, void *arg,
			    struct emu_clean_report *rep, struct ep_error *err)
{
	struct emu_registry_file f;
	int rc;

	if (rep)
		memset(rep, 0, sizeof(*rep));
	rc = emu_registry_file_read(path, &f, err);
	if (rc != EP_OK)
		return rc;
	if (!(flags & EMU_CLEAN_FORCE) && emu_registry_file_alive(&f) && f.pid != getpid()) {
		rc = ep_error_set(err, EP_EINVAL,
				  "run %s is live (controller pid %d still runs): not cleaned; "
				  "stop it first or force",
				  f.run_id, (int)f.pid);
		goto out;
	}
	rc = clean_file(path, &f, flags, note, arg, rep, err);
out:
	emu_registry_file_release(&f);
	return rc;
}

int emu_registry_clean_all(const char *state_dir, unsigned flags, emu_clean_note_fn note,
			   void *arg, struct emu_clean_report *rep, int *skipped_live,
			   struct ep_error *err)
{
	struct emu_registry_info *v = NULL;
	size_t n = 0;
	int rc, first = EP_OK, skipped = 0;

	if (rep)
		memset(rep, 0, sizeof(*rep));
	rc = emu_registry_list(state_dir, &v, &n, err);
	if (rc != EP_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct emu_clean_report one;
		struct ep_error e;

		if (v[i].alive && !(flags & EMU_CLEAN_FORCE)) {
			skipped++;
			continue;
		}
		rc = emu_registry_clean_path(v[i].path, flags, note, arg, &one, &e);
		if (rc != EP_OK && first == EP_OK) {
			first = rc;
			if (err)
				*err = e;
		}
		if (rep) {
			rep->removed += one.removed;
			rep->gone += one.gone;
			rep->failed += one.failed;
			rep->killed += one.killed;
		}
	}
	if (skipped_live)
		*skipped_live = skipped;
	free(v);
	return first;
}

int emu_registry_clean(struct emu_registry *reg, unsigned flags, emu_clean_note_fn note,
		       void *arg, struct emu_clean_report *rep, struct ep_error *err)
{
	int rc;

	/* Closing first: the handle must not append after its file is gone. */
	if (reg->fd >= 0 && !(flags & EMU_CLEAN_DRY_RUN)) {
		close(reg->fd);
		reg->fd = -1;
	}
	rc = emu_registry_clean_path(reg->path, flags | EMU_CLEAN_FORCE, note, arg, rep, err);
	if (rc != EP_OK && !(flags & EMU_CLEAN_DRY_RUN))
		reg->fd = open(reg->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	return rc;
}
