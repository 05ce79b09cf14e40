/*
 * ep_json: JSON output through jansson (Debian libjansson-dev), shared by every command that
 * prints JSON. Build a value with jansson (json_pack("{s:s, s:o}", ..., ep_json_num(x)),
 * json_object_set_new, json_array_append_new) and write it with ep_json_dump.
 *
 * The format: one line, members separated by ", " and keys by ": " (jansson's default without
 * JSON_COMPACT), keys in insertion order, reals with 17 significant digits (JSON_REAL_PRECISION
 * (17): a double reads back exactly; a whole real prints as 5.0, not 5), strings UTF-8 as given.
 */
#ifndef EDGEPIPE_EP_JSON_H
#define EDGEPIPE_EP_JSON_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "ep_error.h"

/* A real, or null when v is not finite (JSON has no NaN or infinity). NULL only when out of
 * memory (json_pack's "o" then fails as a whole). */
json_t *ep_json_num(double v);

/* A time that is negative when it did not happen: null then, else the real. */
json_t *ep_json_time(double v);

/* An unsigned 64-bit integer, exact: jansson's integers are signed, so a value above INT64_MAX
 * (a seed) is carried as a marked string that ep_json_dump writes back as the bare number. */
json_t *ep_json_u64(uint64_t v);

/* A string, or null for NULL. */
json_t *ep_json_str(const char *s);

/*
 * Write `v` (its reference is taken: it is released) to `f` as described above, then a
 * newline. v == NULL (a builder ran out of memory) gives EP_ENOMEM; a failed write EP_EIO.
 */
int ep_json_dump(FILE *f, json_t *v, struct ep_error *err);

#endif
