/*
 * scenario: one experiment described in a YAML file (read with libyaml), for the commands that
 * plan and run (plan, sim, emu, compare). This module only reads the file; it knows nothing of
 * the commands: the command line applies the entries through its own option parsing
 * (cli/scenario_opts.c), so that a scenario key means exactly what the option of that name
 * means.
 *
 * Format: one YAML document whose top level is a mapping. Each key is a long option name
 * without its dashes; each value is either a scalar (the option's argument, taken as written:
 * `seed: 3`, `mem: 64MiB`, `fault: "kill node3 at 10s"`) or a list of scalars, flow or block
 * (the option given once per element, in order):
 *
 *   model: resnet50
 *   nodes: 4
 *   mem: 64MiB
 *   fault:
 *     - kill node3 at 10s
 *     - link 1 2 down at 5s
 *
 * Refused with EP_EINVAL and "PATH:LINE: ..." (LINE counted from 1): YAML syntax errors; a top
 * level that is not a mapping; several documents; a key that is not a scalar, or given twice (a
 * list repeats an option); a mapping, a nested list or an alias where a scalar belongs; a key
 * with no value. An empty file is an empty scenario.
 *
 * The text is kept whole (scenario.text), so that outputs and databases can record exactly the
 * experiment that was run.
 */
#ifndef EDGEPIPE_SCENARIO_H
#define EDGEPIPE_SCENARIO_H

#include <stddef.h>

#include "ep_error.h"

/* The largest scenario file read (bytes): a description, not data. */
#define SCENARIO_MAX_BYTES (1 << 20)

struct scenario_entry {
	char *key;          /* as written, without dashes */
	char **values;      /* n_values scalars, in the file's order */
	int *value_lines;   /* the line of each value */
	int n_values;       /* 1 for a scalar; 0 or more for a list */
	int is_list;        /* written as a list */
	int line;           /* the key's line */
};

struct scenario {
	char *path;         /* as given to scenario_load */
	char *text;         /* the file's bytes, NUL-terminated */
	size_t text_len;
	struct scenario_entry *entries; /* in the file's order */
	int n_entries;
};

/*
 * Parse `len` bytes of `text` (need not be NUL-terminated); `path` names it in messages and is
 * copied into the scenario. On success *out is a new scenario owned by the caller
 * (scenario_destroy). Errors: EP_EINVAL ("PATH:LINE: ..."), EP_ENOMEM.
 * Complexity: O(len).
 */
int scenario_parse(const char *path, const char *text, size_t len, struct scenario **out,
		   struct ep_error *err);
/* Read the file at `path` and parse it. EP_ENOTFOUND when it does not exist, EP_EIO when it
 * cannot be read, EP_EINVAL when larger than SCENARIO_MAX_BYTES or malformed. */
int scenario_load(const char *path, struct scenario **out, struct ep_error *err);
/* Free `s` and everything it owns; NULL is accepted. */
void scenario_destroy(struct scenario *s);

/* The entry with key `key`, or NULL. */
const struct scenario_entry *scenario_find(const struct scenario *s, const char *key);

#endif
