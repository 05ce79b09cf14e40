/*
 * text_reader_internal: what the line readers of models/ share (the model file, model_file.c,
 * and the layer profile, model_lprofile.c): a cursor that names the file and line in every
 * error ("PATH:LINE: ..."), and the split of a line into blank-separated fields after its
 * '#' comment. Private to models/.
 */
#ifndef EDGEPIPE_TEXT_READER_INTERNAL_H
#define EDGEPIPE_TEXT_READER_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ep_error.h"

struct cursor {
	const char *path;
	long line;
	struct ep_error *err;
};

static int bad(const struct cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* EP_EINVAL with "PATH:LINE: <message>". */
static inline int bad(const struct cursor *c, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ep_error_set(c->err, EP_EINVAL, "%s:%ld: %s", c->path, c->line, what);
}

/* Split `s` in place on blanks, after cutting the comment off. Returns the field count, or -1
 * when there are more than `max`. */
static inline int split(char *s, char **fields, int max)
{
	int n = 0;
	char *hash = strchr(s, '#');

	if (hash)
		*hash = '\0';
	for (char *tok = strtok(s, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
		if (n == max)
			return -1;
		fields[n++] = tok;
	}
	return n;
}

#endif
