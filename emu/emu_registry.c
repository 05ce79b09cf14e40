/*
 * The run registry's log: written before anything is created, read back (emu_registry_file_read)
 * by the cleaner (emu_clean.c) and by emu_registry_list.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_registry.h"
#include "emu_registry_internal.h"

#define REGISTRY_MAGIC "edgepipe-registry 1"
#define CGROUP_FS_ROOT "/sys/fs/cgroup"

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

void emu_registry_file_release(struct emu_registry_file *f)
{
	free(f->items);
	memset(f, 0, sizeof(*f));
}

static int file_push(struct emu_registry_file *f, const struct emu_item *it)
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

int emu_registry_file_read(const char *path, struct emu_registry_file *f,
			    struct ep_error *err)
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
		if (file_push(f, &it) != EP_OK) {
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
		emu_registry_file_release(f);
	return rc;
}

bool emu_registry_file_alive(const struct emu_registry_file *f)
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
		struct emu_registry_file f;
		char path[PATH_MAX];

		if (len < 5 || strcmp(de->d_name + len - 4, ".reg") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", state_dir, de->d_name);
		if (emu_registry_file_read(path, &f, NULL) != EP_OK)
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct emu_registry_info *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				emu_registry_file_release(&f);
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
		v[cnt].alive = emu_registry_file_alive(&f);
		v[cnt].n_items = f.n;
		cnt++;
		emu_registry_file_release(&f);
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
