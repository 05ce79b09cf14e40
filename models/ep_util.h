/*
 * ep_util: small helpers every library uses: hashing for seeds and names, the monotonic clock
 * for solve and run times, JSON string literals, the check of comma lists, and the layout of
 * --help texts.
 */
#ifndef EDGEPIPE_EP_UTIL_H
#define EDGEPIPE_EP_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ep_error.h"

/* splitmix64's finaliser: every input bit affects every output bit. */
uint64_t ep_mix64(uint64_t z);

/* FNV-1a of a string (names of algorithms, layers). */
uint64_t ep_fnv1a(const char *s);

/*
 * The 32 bits a GSL generator keeps of a 64-bit seed: gsl_rng_set on mt19937 uses only the low
 * 32 bits of its seed, so fold the high half in rather than drop it. Seeds that differ in any
 * bit then give different generators, except for the unavoidable collisions of 2^32 values.
 */
unsigned long ep_seed32(uint64_t seed);

/* Seconds on the monotonic clock. */
double ep_now_s(void);

/* Write `s` as a CSV field: as is, or quoted (quotes doubled) when it holds a comma, a quote
 * or a line break (RFC 4180). */
void ep_csv_field(FILE *f, const char *s);

/*
 * Check a comma-separated option value `s` before it is split: EP_OK, or EP_EINVAL naming
 * `option` and the list when it is empty or has an empty element ("a,,b", ",a", "a,"), which a
 * tokenizer would silently skip. Complexity: O(length).
 */
int ep_list_check(const char *option, const char *s, struct ep_error *err);

/*
 * The comma-separated values of option value `s` into out[0 .. max): *n, at least 1, each read
 * by `item` from its text `tok` (whose message names `option` and the whole list `s`).
 * EP_EINVAL naming `option`: a list of EP_LIST_MAX_CHARS characters or more, an empty list or
 * element (ep_list_check), more than `max` values, or the first bad element's message.
 */
#define EP_LIST_MAX_CHARS 8192
typedef int (*ep_list_item_fn)(const char *option, const char *s, const char *tok, double *v,
			       struct ep_error *err);
int ep_list_parse(const char *option, const char *s, ep_list_item_fn item, double *out, int max,
		  int *n, struct ep_error *err);

/*
 * Write a --help text to `f` with no line wider than `width` columns (wider only where one word
 * is). The text is read as blocks, and a block that already fits is written unchanged:
 * - an item: a line indented by at least one space whose text has a run of two or more spaces
 *   before its description ("  --nodes N     number of nodes"), with the lines after it that
 *   are indented to its hanging column (the indent of the next line when that lies between the
 *   item's indent and its description column, else the description column);
 * - a usage line ("usage: edgepipe CMD ..." or an indented "edgepipe CMD ..."), alone; it
 *   continues under the word after CMD;
 * - a heading (not indented, ending in ':'), alone;
 * - otherwise a paragraph: the following lines of the same indent that are none of the above.
 * A block with a line too wide has its words joined and filled again under its first line's
 * head, continuing at its hanging column; blank lines stay. Complexity: O(length of text).
 */
void ep_help_write(FILE *f, const char *text, int width);

#endif
