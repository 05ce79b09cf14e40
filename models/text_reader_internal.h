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
#include <sys/types.h>

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

/*
 * The next line of `f` that has fields, read into *line (getline's buffer, *cap its size) and
 * split into `fields` (at most `max`); c->line counts every line read. Returns the field count
 * (> 0); 0 at the end of the file or on a read error (ferror(f) tells which); EP_EINVAL
 * (PATH:LINE:) for a line with a NUL byte or more than `max` fields.
 */
static inline int text_next_fields(FILE *f, struct cursor *c, char **line, size_t *cap,
				   char **fields, int max)
{
	ssize_t len;

	while ((len = getline(line, cap, f)) >= 0) {
		int n;

		c->line++;
		if ((ssize_t)strlen(*line) != len)
			return bad(c, "contains a NUL byte");
		n = split(*line, fields, max);
		if (n < 0)
			return bad(c, "more than %d fields", max);
		if (n > 0)
			return n;
	}
	return 0;
}

/* The fields of a file's first line are the header "MAGIC VERSION" with this reader's version.
 * Returns EP_OK or EP_EINVAL (PATH:LINE:) naming the header expected or the version found. */
static inline int text_check_header(const struct cursor *c, char **fields, int n, const char *magic,
				    int version)
{
	char want[16];

	snprintf(want, sizeof(want), "%d", version);
	if (n != 2 || strcmp(fields[0], magic) != 0)
		return bad(c, "expected the header '%s %d'", magic, version);
	if (strcmp(fields[1], want) != 0)
		return bad(c,
			   "format version '%s' is not supported (this edgepipe reads version %d)",
			   fields[1], version);
	return EP_OK;
}

#endif
