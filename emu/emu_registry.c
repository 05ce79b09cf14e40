/*
 * The run registry: written before anything is created, read back by the cleaner.
 */
#include <ctype.h>
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

#define REGISTRY_MAGIC "edgepipe-registry 1"
#define CGROUP_FS_ROOT "/sys/fs/cgroup"

struct emu_registry {
	char run_id[EMU_RUN_ID_LEN + 1];
	char dir[PATH_MAX];
	char path[PATH_MAX];
	int fd;
};

/* A parsed registry file. */
struct reg_file {
	char run_id[EMU_RUN_ID_LEN + 1];
	pid_t pid;
	unsigned long long start;
	struct emu_item *items;
	size_t n, cap;
};

static const char *const kind_names[EMU_ITEM_KIND_COUNT_] = { "netns", "link", "cgroup" };

const char *emu_item_kind_name(enum emu_item_kind kind)
{
	return (unsigned)kind < EMU_ITEM_KIND_COUNT_ ? kind_names[kind] : "?";
}

struct emu_item *emu_item_netns(struct emu_item *it, const char *name)
{
	memset(it, 0, sizeof(*it));
	it->kind = EMU_ITEM_NETNS;
	emu_copy(it->name, sizeof(it->name), name);
	return it;
}

struct emu_item *emu_item_link(struct emu_item *it, const char *ns, const char *name)
{
	memset(it, 0, sizeof(*it));
	it->kind = EMU_ITEM_LINK;
	emu_copy(it->ns, sizeof(it->ns), ns ? ns : "");
	emu_copy(it->name, sizeof(it->name), name);
	return it;
}

struct emu_item *emu_item_cgroup(struct emu_item *it, const char *path)
{
	memset(it, 0, sizeof(*it));
	it->kind = EMU_ITEM_CGROUP;
	emu_copy(it->name, sizeof(it->name), path);
	return it;
}

/* A namespace or interface name of this run: "<id>..." , < 15 characters, [A-Za-z0-9_.-]. */
static bool run_name_ok(const char *run_id, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > EMU_NAME_MAX || strncmp(name, run_id, EMU_RUN_ID_LEN) != 0)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

/* A cgroup path of this run: absolute, no whitespace or "..", a component "edgepipe-<id>". */
static bool run_cgroup_ok(const char *run_id, const char *path)
{
	char comp[EMU_RUN_ID_LEN + 16];
	const char *p;
	size_t clen;

	if (path[0] != '/' || strstr(path, "/../") || strstr(path, "/./"))
		return false;
	for (p = path; *p; p++)
		if (isspace((unsigned char)*p))
			return false;
	clen = (size_t)snprintf(comp, sizeof(comp), "/edgepipe-%s", run_id);
	for (p = strstr(path, comp); p; p = strstr(p + 1, comp))
		if (p[clen] == '/' || p[clen] == '\0')
			return true;
	return false;
}

static bool item_ok(const char *run_id, const struct emu_item *it)
{
	switch (it->kind) {
	case EMU_ITEM_NETNS:
		return run_name_ok(run_id, it->name);
	case EMU_ITEM_LINK:
		return run_name_ok(run_id, it->name) &&
		       (it->ns[0] == '\0' || run_name_ok(run_id, it->ns) ||
			/* a namespace of another owner is allowed, by a plain name */
			strspn(it->ns, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789_.-") == strlen(it->ns));
	case EMU_ITEM_CGROUP:
		return run_cgroup_ok(run_id, it->name);
	default:
		return false;
	}
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, buf, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

static bool id_in_use(const char *dir, const char *id)
{
	char path[PATH_MAX];
	struct stat st;
	DIR *d;
	struct dirent *de;
	bool used = false;

	snprintf(path, sizeof(path), "%s/%s.reg", dir, id);
	if (stat(path, &st) == 0)
		return true;
	d = opendir(EMU_NETNS_DIR);
	if (d) {
		while (!used && (de = readdir(d)))
			used = strncmp(de->d_name, id, EMU_RUN_ID_LEN) == 0;
		closedir(d);
	}
	if (used)
		return true;
	snprintf(path, sizeof(path), CGROUP_FS_ROOT "/edgepipe-%s", id);
	if (stat(path, &st) == 0)
		return true;
	d = opendir(CGROUP_FS_ROOT);
	if (d) {
		while (!used && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), CGROUP_FS_ROOT "/%s/edgepipe-%s", de->d_name,
				 id);
			used = stat(path, &st) == 0;
		}
		closedir(d);
	}
	return used;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int emu_registry_create(const char *state_dir, struct emu_registry **out, struct ep_error *err)
{
	struct emu_registry *reg = NULL;
	unsigned long long start = 0;
	char head[256];
	int rc = EP_OK, e, dirfd = -1;

	*out = NULL;
	if (!state_dir)
		state_dir = EMU_STATE_DIR_DEFAULT;
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return ep_error_set(err, EP_ENOMEM, "out of memory for a run registry");
	reg->fd = -1;
	if (strlen(state_dir) + 16 >= sizeof(reg->dir)) {
		rc = ep_error_set(err, EP_EINVAL, "state directory '%s': path too long", state_dir);
		goto out;
	}
	snprintf(reg->dir, sizeof(reg->dir), "%s", state_dir);
	e = mkdir_p(reg->dir, 0700);
	if (e < 0) {
		rc = ep_error_set(err, EP_EIO, "state directory '%s': %s", reg->dir, strerror(-e));
		goto out;
	}
	for (int attempt = 0; attempt < 100 && reg->fd < 0; attempt++) {
		memcpy(reg->run_id, "ep", 2);
		emu_random_base36(reg->run_id + 2, EMU_RUN_ID_LEN - 2);
		if (id_in_use(reg->dir, reg->run_id))
			continue;
		if (snprintf(reg->path, sizeof(reg->path), "%s/%s.reg", reg->dir, reg->run_id) >=
		    (int)sizeof(reg->path))
			continue; /* cannot happen: dir was checked to leave room */
		reg->fd = open(reg->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
		if (reg->fd < 0 && errno != EEXIST) {
			rc = ep_error_set(err, EP_EIO, "registry '%s': %s", reg->path,
					  strerror(errno));
			goto out;
		}
	}
	if (reg->fd < 0) {
		rc = ep_error_set(err, EP_EIO, "no free run id in '%s' after 100 attempts",
				  reg->dir);
		goto out;
	}
	emu_proc_starttime(getpid(), &start);
	snprintf(head, sizeof(head), REGISTRY_MAGIC "\nrun %s\ncontroller %d %llu\n", reg->run_id,
		 (int)getpid(), start);
	e = write_all(reg->fd, head, strlen(head));
	if (e == 0 && fsync(reg->fd) != 0)
		e = -errno;
	/* The file's name must survive a crash too: fsync the directory. */
	dirfd = open(reg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e == 0 && (dirfd < 0 || fsync(dirfd) != 0))
		e = -errno;
	if (e < 0) {
		rc = ep_error_set(err, EP_EIO, "registry '%s': %s", reg->path, strerror(-e));
		unlink(reg->path);
		goto out;
	}
	*out = reg;
	reg = NULL;
out:
	if (dirfd >= 0)
		close(dirfd);
	emu_registry_destroy(reg);
	return rc;
}

void emu_registry_destroy(struct emu_registry *reg)
{
	if (!reg)
		return;
	if (reg->fd >= 0)
		close(reg->fd);
	free(reg);
}

const char *emu_registry_run_id(const struct emu_registry *reg)
{
	return reg->run_id;
}

const char *emu_registry_path(const struct emu_registry *reg)
{
	return reg->path;
}

int emu_registry_add(struct emu_registry *reg, const struct emu_item *items, size_t n,
		     struct ep_error *err)
{
	char *buf = NULL;
	size_t cap = 0, len = 0;
	int rc = EP_OK, e;

	if (n == 0)
		return EP_OK;
	if (reg->fd < 0)
		return ep_error_set(err, EP_EINVAL, "registry %s is closed", reg->run_id);
	for (size_t i = 0; i < n; i++) {
		const struct emu_item *it = &items[i];
		size_t need = strlen(it->name) + strlen(it->ns) + 16;

		if (!item_ok(reg->run_id, it)) {
			rc = ep_error_set(err, EP_EINVAL,
					  "registry %s: refusing %s '%s'%s%s: names must start "
					  "with the run id, stay under 15 characters, and cgroups "
					  "must lie under 'edgepipe-%s'",
					  reg->run_id, emu_item_kind_name(it->kind), it->name,
					  it->ns[0] ? " in namespace " : "", it->ns, reg->run_id);
			goto out;
		}
		if (len + need > cap) {
			size_t ncap = (cap + need) * 2;
			char *nb = realloc(buf, ncap);

			if (!nb) {
				rc = ep_error_set(err, EP_ENOMEM,
						  "out of memory for registry lines");
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		if (it->kind == EMU_ITEM_LINK)
			len += (size_t)sprintf(buf + len, "link %s %s\n", it->ns[0] ? it->ns : "-",
					       it->name);
		else
			len += (size_t)sprintf(buf + len, "%s %s\n", emu_item_kind_name(it->kind),
					       it->name);
	}
	e = write_all(reg->fd, buf, len);
	if (e == 0 && fdatasync(reg->fd) != 0)
		e = -errno;
	if (e < 0)
		rc = ep_error_set(err, EP_EIO, "registry '%s': %s", reg->path, strerror(-e));
out:
	free(buf);
	return rc;
}

/* ---- reading ---- */

static void reg_file_release(struct reg_file *f)
{
	free(f->items);
	memset(f, 0, sizeof(*f));
}

static int reg_file_push(struct reg_file *f, const struct emu_item *it)
{
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 64;
		struct emu_item *ni = realloc(f->items, ncap * sizeof(*ni));

		if (!ni)
			return EP_ENOMEM;
		f->items = ni;
		f->cap = ncap;
	}
	f->items[f->n++] = *it;
	return EP_OK;
}

/* Parse a registry file. EP_ENOTFOUND if missing, EP_EINVAL if not a registry. */
static int reg_file_read(const char *path, struct reg_file *f, struct ep_error *err)
{
	FILE *fp = NULL;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	int rc = EP_OK, lineno = 0;

	memset(f, 0, sizeof(*f));
	fp = fopen(path, "re");
	if (!fp) {
		if (errno == ENOENT)
			return ep_error_set(err, EP_ENOTFOUND, "registry '%s' does not exist",
					    path);
		return ep_error_set(err, EP_EIO, "registry '%s': %s", path, strerror(errno));
	}
	while ((len = getline(&line, &lcap, fp)) > 0) {
		struct emu_item it;
		char a[4096], b[4096];
		int pid;

		lineno++;
		if (line[len - 1] != '\n')
			break; /* a write cut short: that item was never created */
		line[len - 1] = '\0';
		if (lineno == 1) {
			if (strcmp(line, REGISTRY_MAGIC) != 0) {
				rc = ep_error_set(err, EP_EINVAL,
						  "'%s' is not an edgepipe registry (first line "
						  "'%s')",
						  path, line);
				goto out;
			}
			continue;
		}
		if (sscanf(line, "run %7s", f->run_id) == 1)
			continue;
		if (sscanf(line, "controller %d %llu", &pid, &f->start) == 2) {
			f->pid = (pid_t)pid;
			continue;
		}
		memset(&it, 0, sizeof(it));
		if (sscanf(line, "netns %4095s", a) == 1) {
			emu_item_netns(&it, a);
		} else if (sscanf(line, "link %15s %4095s", b, a) == 2) {
			emu_item_link(&it, strcmp(b, "-") == 0 ? NULL : b, a);
		} else if (sscanf(line, "cgroup %4095s", a) == 1) {
			emu_item_cgroup(&it, a);
		} else {
			rc = ep_error_set(err, EP_EINVAL,
					  "registry '%s', line %d: cannot read '%s'", path, lineno,
					  line);
			goto out;
		}
		if (!f->run_id[0] || !item_ok(f->run_id, &it)) {
			rc = ep_error_set(err, EP_EINVAL,
					  "registry '%s', line %d: '%s' is not a name of run '%s'",
					  path, lineno, line, f->run_id);
			goto out;
		}
		if (reg_file_push(f, &it) != EP_OK) {
			rc = ep_error_set(err, EP_ENOMEM, "out of memory reading '%s'", path);
			goto out;
		}
	}
	if (lineno == 0 || strlen(f->run_id) != EMU_RUN_ID_LEN)
		rc = ep_error_set(err, EP_EINVAL, "'%s' is not an edgepipe registry (no run id)",
				  path);
out:
	free(line);
	fclose(fp);
	if (rc != EP_OK)
		reg_file_release(f);
	return rc;
}

static bool controller_alive(const struct reg_file *f)
{
	unsigned long long start;

	if (f->pid <= 0)
		return false;
	if (!emu_proc_starttime(f->pid, &start))
		return false;
	return start == f->start;
}

static int cmp_info(const void *a, const void *b)
{
	const struct emu_registry_info *x = a, *y = b;

	return strcmp(x->run_id, y->run_id);
}

int emu_registry_list(const char *state_dir, struct emu_registry_info **out, size_t *n,
		      struct ep_error *err)
{
	struct emu_registry_info *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = EP_OK;

	*out = NULL;
	*n = 0;
	if (!state_dir)
		state_dir = EMU_STATE_DIR_DEFAULT;
	d = opendir(state_dir);
	if (!d) {
		if (errno == ENOENT)
			return EP_OK;
		return ep_error_set(err, EP_EIO, "state directory '%s': %s", state_dir,
				    strerror(errno));
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct reg_file f;
		char path[PATH_MAX];

		if (len < 5 || strcmp(de->d_name + len - 4, ".reg") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", state_dir, de->d_name);
		if (reg_file_read(path, &f, NULL) != EP_OK)
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct emu_registry_info *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				reg_file_release(&f);
				rc = ep_error_set(err, EP_ENOMEM, "out of memory listing '%s'",
						  state_dir);
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		memset(&v[cnt], 0, sizeof(v[cnt]));
		snprintf(v[cnt].run_id, sizeof(v[cnt].run_id), "%s", f.run_id);
		snprintf(v[cnt].path, sizeof(v[cnt].path), "%s", path);
		v[cnt].controller_pid = f.pid;
		v[cnt].alive = controller_alive(&f);
		v[cnt].n_items = f.n;
		cnt++;
		reg_file_release(&f);
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_info);
	*out = v;
	*n = cnt;
	v = NULL;
out:
	closedir(d);
	free(v);
	return rc;
}

int emu_registry_note_stale(const char *state_dir, char *note, size_t size,
			    struct ep_error *err)
{
	struct emu_registry_info *v;
	size_t n, used = 0;
	int rc, stale = 0;

	rc = emu_registry_list(state_dir, &v, &n, err);
	if (rc != EP_OK)
		return rc;
	if (note && size)
		note[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (v[i].alive)
			continue;
		stale++;
		if (note && used < size)
			used += (size_t)snprintf(note + used, size - used,
						 "%sstale registry %s (controller pid %d is gone, "
						 "%zu items)",
						 stale > 1 ? "; " : "", v[i].run_id,
						 (int)v[i].controller_pid, v[i].n_items);
	}
	if (stale && note && used < size)
		snprintf(note + used, size - used, ": run 'edgepipe clean --state-dir %s'",
			 state_dir ? state_dir : EMU_STATE_DIR_DEFAULT);
	free(v);
	return stale;
}

/* ---- cleaning ---- */

struct ns_id {
	dev_t dev;
	ino_t ino;
};

struct cleaner {
	const struct reg_file *f;
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

static bool registry_has_netns(const struct reg_file *f, const char *name)
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

static int clean_file(const char *path, const struct reg_file *f, unsigned flags,
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
	struct reg_file f;
	int rc;

	if (rep)
		memset(rep, 0, sizeof(*rep));
	rc = reg_file_read(path, &f, err);
	if (rc != EP_OK)
		return rc;
	if (!(flags & EMU_CLEAN_FORCE) && controller_alive(&f) && f.pid != getpid()) {
		rc = ep_error_set(err, EP_EINVAL,
				  "run %s is live (controller pid %d still runs): not cleaned; "
				  "stop it first or force",
				  f.run_id, (int)f.pid);
		goto out;
	}
	rc = clean_file(path, &f, flags, note, arg, rep, err);
out:
	reg_file_release(&f);
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
