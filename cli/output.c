#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ep_units.h"
#include "ep_util.h"

int cli_exit_code(int code)
{
	if (code == EP_OK)
		return 0;
	return code == EP_EINVAL || code == EP_ENOTFOUND ? 2 : 1;
}

static void say(const char *fmt, va_list ap)
{
	const char *where = cli_scenario_where();

	fputs("edgepipe: ", stderr);
	if (where) /* the option being parsed came from --scenario's file */
		fprintf(stderr, "%s: ", where);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_fail(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	return status;
}

int cli_opt_bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	return -1;
}

bool cli_parse_format(const char *s, enum cli_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = CLI_TEXT;
	else if (strcmp(s, "csv") == 0)
		*out = CLI_CSV;
	else if (strcmp(s, "json") == 0)
		*out = CLI_JSON;
	else
		return false;
	return true;
}

void cli_command_line(char *buf, size_t size, int argc, char **argv)
{
	size_t used = (size_t)snprintf(buf, size, "edgepipe");

	for (int i = 0; i < argc && used < size; i++) {
		bool quote = strpbrk(argv[i], " \t\"'") != NULL;

		used += (size_t)snprintf(buf + used, size - used, quote ? " '%s'" : " %s", argv[i]);
	}
}

int cli_parsed(int rc, const struct ep_error *err)
{
	if (rc == EP_OK)
		return 1;
	cli_fail(2, "%s", err->msg);
	return -1;
}

bool cli_parse_time(const char *opt, const char *s, double min_s, double max_s, double *out)
{
	struct ep_error err;

	return cli_parsed(ep_parse_duration_in(opt, s, min_s, max_s, out, &err), &err) > 0;
}

bool cli_parse_int(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max) {
		cli_fail(2, "%s '%s': expected an integer from %ld to %ld", opt, s, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool cli_parse_u64(const char *opt, const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (!*s || *s == '-' || *end || errno) {
		cli_fail(2, "%s '%s': expected a non-negative integer", opt, s);
		return false;
	}
	return true;
}

bool cli_parse_double(const char *opt, const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(*out) || *out < min || *out > max) {
		cli_fail(2, "%s '%s': expected a number from %g to %g", opt, s, min, max);
		return false;
	}
	return true;
}
