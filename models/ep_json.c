/*
 * ep_json: JSON output through jansson (ep_json.h).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ep_json.h"

json_t *ep_json_num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *ep_json_time(double v)
{
	return ep_json_num(v < 0 ? NAN : v);
}

/* The mark of a u64 above INT64_MAX: a control character no real string of ours holds, then
 * the digits; written by jansson as "\u0001u64:DIGITS". */
#define U64_MARK "\001u64:"
#define U64_MARK_DUMPED "\"\\u0001u64:"

json_t *ep_json_u64(uint64_t v)
{
	char buf[32];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), U64_MARK "%" PRIu64, v);
	return json_string(buf);
}

/* Write text to f with every marked u64 string replaced by its bare digits. */
static int write_unmarked(FILE *f, const char *text)
{
	const char *p = text, *m;
	size_t mark = strlen(U64_MARK_DUMPED);

	while ((m = strstr(p, U64_MARK_DUMPED)) != NULL) {
		const char *d = m + mark, *e = d;

		while (*e >= '0' && *e <= '9')
			e++;
		if (*e != '"' || e == d) { /* not ours: keep it as it is */
			e = m + 1;
			if (fwrite(p, 1, (size_t)(e - p), f) != (size_t)(e - p))
				return -1;
			p = e;
			continue;
		}
		if (fwrite(p, 1, (size_t)(m - p), f) != (size_t)(m - p) ||
		    fwrite(d, 1, (size_t)(e - d), f) != (size_t)(e - d))
			return -1;
		p = e + 1;
	}
	return fputs(p, f) == EOF ? -1 : 0;
}

json_t *ep_json_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

int ep_json_dump(FILE *f, json_t *v, struct ep_error *err)
{
	char *text;
	int rc;

	if (!v)
		return ep_error_set(err, EP_ENOMEM, "out of memory writing JSON");
	text = json_dumps(v, JSON_REAL_PRECISION(17));
	json_decref(v);
	if (!text)
		return ep_error_set(err, EP_ENOMEM, "out of memory writing JSON");
	rc = write_unmarked(f, text);
	free(text);
	if (rc != 0 || fputc('\n', f) == EOF)
		return ep_error_set(err, EP_EIO, "writing JSON failed");
	return EP_OK;
}
