/*
 * emu_registry_internal: what the registry's log (emu_registry.c) and its cleaner (emu_clean.c)
 * share: the handle and a registry file read back. Not a public API.
 */
#ifndef EDGEPIPE_EMU_REGISTRY_INTERNAL_H
#define EDGEPIPE_EMU_REGISTRY_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "emu_registry.h"

struct emu_registry {
	char run_id[EMU_RUN_ID_LEN + 1];
	char dir[PATH_MAX];
	char path[PATH_MAX];
	int fd; /* the file, O_APPEND; -1 once the cleaner closed it */
};

/* A registry file read back. */
struct emu_registry_file {
	char run_id[EMU_RUN_ID_LEN + 1];
	pid_t pid;                /* the controller */
	unsigned long long start; /* its start time, clock ticks since boot */
	struct emu_item *items;   /* [n], in the file's order */
	size_t n, cap;
};

/* Parse the registry file at `path` into *f (released on error). A last line without its newline
 * is ignored. Errors: EP_ENOTFOUND (missing), EP_EINVAL (not a registry, or an item that is not
 * a name of its run; names the path and line), EP_EIO, EP_ENOMEM. */
int emu_registry_file_read(const char *path, struct emu_registry_file *f, struct ep_error *err);
void emu_registry_file_release(struct emu_registry_file *f);
/* Whether f's controller (pid and start time) still runs. */
bool emu_registry_file_alive(const struct emu_registry_file *f);

#endif
