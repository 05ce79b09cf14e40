/*
 * The ep_* base on its own (the ep_base target, linked here without models or igraph: this
 * test linking at all is the check that the base needs neither): units parsed as
 * ep_units.h states them, ep_error_set's message and code, and EP_CHECK / EP_CHECK_GOTO
 * (ep_error.h) passing a failing call's code and message up unchanged and evaluating their
 * expression once. Expected values: the unit definitions (1 MiB = 2^20 bytes, 1 ms = 1e-3 s).
 */
#include <string.h>

#include "check.h"
#include "ep_error.h"
#include "ep_units.h"

static int calls;

/* A callee: fails with EP_EINVAL and a message naming `s` unless it parses as a size. */
static int parse_size(const char *s, double *out, struct ep_error *err)
{
	calls++;
	return ep_parse_bytes(s, out, err);
}

/* Returns the first failure of two parses through EP_CHECK, or EP_OK. */
static int two_sizes(const char *a, const char *b, double *out, struct ep_error *err)
{
	EP_CHECK(parse_size(a, &out[0], err));
	EP_CHECK(parse_size(b, &out[1], err));
	return EP_OK;
}

/* The same through EP_CHECK_GOTO; `*cleaned` tells that the cleanup ran. */
static int two_sizes_goto(const char *a, const char *b, double *out, int *cleaned,
			  struct ep_error *err)
{
	int rc;

	EP_CHECK_GOTO(parse_size(a, &out[0], err), rc, out);
	EP_CHECK_GOTO(parse_size(b, &out[1], err), rc, out);
out:
	(*cleaned)++;
	return rc;
}

int main(void)
{
	struct ep_error err;
	double v[2] = { 0, 0 }, d;
	int cleaned = 0;

	CHECK_INT(ep_parse_bytes("64MiB", &d, &err), EP_OK);
	CHECK(d == 64.0 * 1024 * 1024);
	CHECK_INT(ep_parse_duration("150ms", &d, &err), EP_OK);
	CHECK_NEAR(d, 0.150, 1e-15);
	CHECK_INT(ep_error_set(&err, EP_EIO, "disk '%s' is gone", "sda"), EP_EIO);
	CHECK_INT(err.code, EP_EIO);
	CHECK_STR(err.msg, "disk 'sda' is gone");

	/* success: both parsed, each call once */
	calls = 0;
	CHECK_INT(two_sizes("1KiB", "2KiB", v, &err), EP_OK);
	CHECK_INT(calls, 2);
	CHECK(v[0] == 1024 && v[1] == 2048);
	/* the first failure stops there, with the callee's code and message */
	calls = 0;
	CHECK_INT(two_sizes("12XB", "2KiB", v, &err), EP_EINVAL);
	CHECK_INT(calls, 1);
	CHECK_CONTAINS(err.msg, "12XB");
	calls = 0;
	CHECK_INT(two_sizes("1KiB", "7QB", v, &err), EP_EINVAL);
	CHECK_INT(calls, 2);
	CHECK_CONTAINS(err.msg, "7QB");
	/* the goto form: the code in rc, the cleanup run once either way */
	calls = 0;
	CHECK_INT(two_sizes_goto("1KiB", "2KiB", v, &cleaned, &err), EP_OK);
	CHECK_INT(cleaned, 1);
	CHECK_INT(two_sizes_goto("x", "2KiB", v, &cleaned, &err), EP_EINVAL);
	CHECK_INT(cleaned, 2);
	CHECK_INT(calls, 3);
	CHECK_CONTAINS(err.msg, "'x'");
	return check_exit();
}
