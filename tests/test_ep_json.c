/*
 * ep_json (models/ep_json.h): what JSON the helpers write. Expected strings by hand from
 * jansson's documented format (", " and ": " separators without JSON_COMPACT, keys in insertion
 * order) and C's "%.17g" (JSON_REAL_PRECISION(17)), with ".0" added to a whole real.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ep_json.h"

static char *dump(json_t *v, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct ep_error err;

	*rc = ep_json_dump(f, v, &err);
	fclose(f);
	return buf;
}

int main(void)
{
	char *s;
	int rc;

	s = dump(json_pack("{s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:o}", "a", ep_json_num(0.1),
			   "b", ep_json_num(NAN), "c", ep_json_num(INFINITY), "d", ep_json_num(5),
			   "e", ep_json_time(-1), "f", (json_int_t)1234567890123LL, "g", 1,
			   "h", ep_json_str(NULL)), &rc);
	CHECK(rc == EP_OK);
	/* 0.1 to 17 digits is 0.10000000000000001; non-finite and "did not happen" are null. */
	CHECK(s && strcmp(s, "{\"a\": 0.10000000000000001, \"b\": null, \"c\": null, \"d\": 5.0, "
			  "\"e\": null, \"f\": 1234567890123, \"g\": true, \"h\": null}\n") == 0);
	free(s);
	/* Strings are escaped; a builder that failed (NULL) is out of memory. */
	s = dump(json_pack("{s:o}", "k", ep_json_str("a\"b\n")), &rc);
	CHECK(rc == EP_OK && s && strcmp(s, "{\"k\": \"a\\\"b\\n\"}\n") == 0);
	free(s);
	/* A u64 above INT64_MAX (a seed) is written exactly, as a bare number; one that fits is an
	 * integer; a string that only looks like the mark stays a string. */
	s = dump(json_pack("[o, o, o, s]", ep_json_u64(UINT64_MAX), ep_json_u64(7),
			   ep_json_u64((uint64_t)INT64_MAX + 1), "\001u64:x"), &rc);
	CHECK(rc == EP_OK && s && strcmp(s, "[18446744073709551615, 7, 9223372036854775808, "
				  "\"\\u0001u64:x\"]\n") == 0);
	free(s);
	s = dump(NULL, &rc);
	CHECK(rc == EP_ENOMEM);
	free(s);
	return check_exit();
}
