/*
 * emu_registry: the run registry, the emulator's promise never to leave anything behind.
 *
 * Every network namespace, interface and cgroup the emulator creates is first written to a
 * registry file, and the file is fsync'ed, BEFORE the thing itself is created. A controller that
 * dies at any instant (even by SIGKILL) therefore leaves a file that lists a superset of what it
 * created, and emu_registry_clean_path() (behind `edgepipe clean`) removes exactly that: nothing
 * that is not listed, and everything that is, tolerating items that were never created or are
 * already gone. Cleaning is idempotent.
 *
 * A run is named by a run-unique id, "ep" + 5 base-36 characters ("ep3k9zq"). Every name the run
 * creates starts with it: namespaces "<id>-n3" (node 3), "<id>-d" (dispatcher), "<id>-s" (the
 * private switch), interfaces "<id>-p3" / "<id>-e3", cgroups "edgepipe-<id>/<leaf>". Namespace
 * and interface names are shorter than 15 characters (IFNAMSIZ leaves 15).
 *
 * File format (text, one item per line, appended with O_APPEND and fsync'ed per batch):
 *
 *     edgepipe-registry 1
 *     run ep3k9zq
 *     controller <pid> <start time in clock ticks since boot, /proc/<pid>/stat field 22>
 *     netns ep3k9zq-s
 *     link ep3k9zq-s ep3k9zq-p0        (namespace, or "-" for the host's, then interface)
 *     cgroup /sys/fs/cgroup/cpu/edgepipe-ep3k9zq
 *
 * A last line without its newline (a write cut short) is ignored: its item was not created,
 * since creation waits for the write and the fsync. A registry is "stale" when its controller
 * (pid and start time) no longer runs; a new run that finds one says so (emu_registry_note_stale).
 *
 * Invariants the cleaner enforces, whatever the file says: a namespace or interface is touched
 * only if its name starts with the registry's run id; a cgroup only if a component of its path
 * is "edgepipe-<run id>"; a process is killed only if it is inside one of the registry's
 * namespaces or cgroups, and never the cleaner itself.
 *
 * Not thread-safe: one registry handle belongs to one thread of the controller.
 *
 * Two files: emu_registry.c writes the log (create, add, list, note_stale); emu_clean.c is the
 * cleaner (the clean functions, in their own section below). They share emu_registry_internal.h.
 */
#ifndef EDGEPIPE_EMU_REGISTRY_H
#define EDGEPIPE_EMU_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ep_error.h"

#define EMU_STATE_DIR_DEFAULT "/run/edgepipe"
#define EMU_NETNS_DIR         "/run/netns" /* where `ip netns` looks */
#define EMU_RUN_ID_LEN        7            /* "ep" + 5 base-36 characters */
#define EMU_NAME_MAX          14           /* namespace and interface names: < 15 characters */

enum emu_item_kind {
	EMU_ITEM_NETNS = 0, /* a named namespace, bind-mounted at EMU_NETNS_DIR/<name> */
	EMU_ITEM_LINK,      /* a network interface <name> inside namespace <ns> ("" = the host's) */
	EMU_ITEM_CGROUP,    /* a cgroup directory, by absolute path */
	EMU_ITEM_KIND_COUNT_
};

/* ---- The log (emu_registry.c) ---- */

/* One thing a run creates. `ns` is used by links only. */
struct emu_item {
	enum emu_item_kind kind;
	char ns[EMU_NAME_MAX + 2];
	char name[4096];
};

struct emu_registry;

/*
 * Create a registry for a new run in state_dir (NULL: EMU_STATE_DIR_DEFAULT; created 0700 if
 * missing). Picks a run id that no registry in state_dir, no namespace in EMU_NETNS_DIR and no
 * "edgepipe-<id>" cgroup uses, and creates <state_dir>/<id>.reg exclusively, with this process
 * as the controller. *out is owned by the caller (emu_registry_destroy).
 * Errors: EP_EIO (the directory or file cannot be created; the message names the path),
 * EP_ENOMEM.
 */
int emu_registry_create(const char *state_dir, struct emu_registry **out, struct ep_error *err);

/* Close the handle. The file stays: it is removed by emu_registry_clean. Accepts NULL. */
void emu_registry_destroy(struct emu_registry *reg);

const char *emu_registry_run_id(const struct emu_registry *reg);
const char *emu_registry_path(const struct emu_registry *reg);

/*
 * Append `n` items and fsync, in one write: call it before creating any of them. Names are
 * checked: namespaces and interfaces must start with the run id, be shorter than 15 characters
 * and hold only [A-Za-z0-9_.-]; cgroup paths must be absolute, contain a component
 * "edgepipe-<run id>" and no whitespace. Errors: EP_EINVAL (names the item), EP_EIO.
 */
int emu_registry_add(struct emu_registry *reg, const struct emu_item *items, size_t n,
		     struct ep_error *err);

/* Fill an item; the helpers return `it` so calls nest. `ns` may be NULL (the host's). */
struct emu_item *emu_item_netns(struct emu_item *it, const char *name);
struct emu_item *emu_item_link(struct emu_item *it, const char *ns, const char *name);
struct emu_item *emu_item_cgroup(struct emu_item *it, const char *path);

/* What a registry file says about its run (emu_registry_list). */
struct emu_registry_info {
	char run_id[EMU_RUN_ID_LEN + 1];
	char path[4096];
	pid_t controller_pid;
	bool alive;        /* the controller (same pid, same start time) still runs */
	size_t n_items;
};

/*
 * List the registries in state_dir (NULL: the default), sorted by run id. *out (malloc'ed, free
 * with free()) may be NULL when *n is 0; a missing state_dir is an empty list. Files that do not
 * parse as registries are skipped. Errors: EP_EIO, EP_ENOMEM.
 */
int emu_registry_list(const char *state_dir, struct emu_registry_info **out, size_t *n,
		      struct ep_error *err);

/*
 * Count the stale registries in state_dir; when there is at least one, write into `note` (if not
 * NULL) one sentence naming them and saying how to remove them ("stale registry ep3k9zq
 * (controller pid 4242 is gone): run 'edgepipe clean --state-dir /run/edgepipe'"). Returns the
 * count, or a negative EP_E* code.
 */
int emu_registry_note_stale(const char *state_dir, char *note, size_t size,
			    struct ep_error *err);

/* ---- The cleaner (emu_clean.c): removes what a registry file lists ---- */

enum {
	EMU_CLEAN_DRY_RUN = 1 << 0, /* say what would be removed; change nothing */
	EMU_CLEAN_FORCE = 1 << 1,   /* clean even though the controller is still alive */
};

/* What one clean did, item by item (for `edgepipe clean` to print). */
enum emu_clean_action {
	EMU_CLEAN_REMOVED = 0, /* removed (or, in a dry run, would be) */
	EMU_CLEAN_GONE,        /* already gone, or removed with its namespace */
	EMU_CLEAN_FAILED,      /* still there; the message says why */
	EMU_CLEAN_KILLED,      /* a process inside one of the run's namespaces or cgroups */
};

typedef void (*emu_clean_note_fn)(void *arg, enum emu_clean_action action,
				  const struct emu_item *item, pid_t pid, const char *why);

struct emu_clean_report {
	int removed, gone, failed, killed;
};

/*
 * Remove what the registry file at `path` lists and then the file itself: first every process
 * inside the run's namespaces or cgroups (SIGKILL, waiting up to 2 s for them to go), then
 * interfaces that live outside the run's own namespaces (those inside go with their namespace),
 * then namespaces (unmounted and unlinked like `ip netns delete`), then cgroups (deepest first).
 * `note` (may be NULL) hears about every item; `rep` (may be NULL) gets the counts.
 * Refuses a live run unless EMU_CLEAN_FORCE. Idempotent; a missing file is EP_ENOTFOUND.
 * Errors: EP_ENOTFOUND, EP_EINVAL (not a registry, or a live run without FORCE; names the path
 * and pid), EP_EIO (something could not be removed: the message names the first such item and
 * the file is kept so that a later clean can retry).
 */
int emu_registry_clean_path(const char *path, unsigned flags, emu_clean_note_fn note, void *arg,
			    struct emu_clean_report *rep, struct ep_error *err);

/*
 * Clean every registry in state_dir (NULL: the default) as emu_registry_clean_path does, one
 * after the other; live runs are skipped (and counted in *skipped_live, if not NULL) unless
 * EMU_CLEAN_FORCE. `rep` gets the sums. Returns EP_OK or the first failure (the others are
 * still attempted).
 */
int emu_registry_clean_all(const char *state_dir, unsigned flags, emu_clean_note_fn note,
			   void *arg, struct emu_clean_report *rep, int *skipped_live,
			   struct ep_error *err);

/* Clean this handle's own run (always forced: the caller is the controller). The handle stays
 * valid for emu_registry_destroy only. */
int emu_registry_clean(struct emu_registry *reg, unsigned flags, emu_clean_note_fn note,
		       void *arg, struct emu_clean_report *rep, struct ep_error *err);

const char *emu_item_kind_name(enum emu_item_kind kind); /* "netns", "link", "cgroup" */

#endif
