/*
 * ep_json: JSON output through jansson (ep_json.h).
 */
#include <math.h>

#include "ep_json.h"

json_t *ep_json_num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *ep_json_time(double v)
{
	return ep_json_num(v < 0 ? NAN : v);
}

json_t *ep_json_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

int ep_json_dump(FILE *f, json_t *v, struct ep_error *err)
{
	int rc;

	if (!v)
		return ep_error_set(err, EP_ENOMEM, "out of memory writing JSON");
	rc = json_dumpf(v, f, JSON_REAL_PRECISION(17));
	json_decref(v);
	if (rc != 0 || fputc('\n', f) == EOF)
		return ep_error_set(err, EP_EIO, "writing JSON failed");
	return EP_OK;
}
