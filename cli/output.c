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

int cli_fail(int status, const char *fmt, ...)
{
	const char *where = cli_scenario_where();
	va_list ap;

	fputs("edgepipe: ", stderr);
	if (where) /* the option being parsed came from --scenario's file */
		fprintf(stderr, "%s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
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

void cli_csv_field(FILE *f, const char *s)
{
	ep_csv_field(f, s);
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

bool cli_parse_bw_range(const char *s, double *min_bps, double *max_bps)
{
	char buf[128], *colon;
	struct ep_error err;

	if (strlen(s) >= sizeof(buf) || !(colon = strchr(strcpy(buf, s), ':'))) {
		cli_fail(2, "--bw-range '%s': expected MIN:MAX, e.g. 1Mbit:100Mbit", s);
		return false;
	}
	*colon = '\0';
	if (ep_parse_bitrate(buf, min_bps, &err) || ep_parse_bitrate(colon + 1, max_bps, &err)) {
		cli_fail(2, "--bw-range: %s", err.msg);
		return false;
	}
	if (!(*min_bps > 0) || *max_bps < *min_bps) {
		cli_fail(2, "--bw-range '%s': need 0 < MIN <= MAX", s);
		return false;
	}
	return true;
}

bool cli_parse_workload(const char *s, double max_window, double max_rate,
			enum workload_arrival *kind, double *value)
{
	const char *colon = strchr(s, ':');
	char *end;
	double v;

	if (!colon)
		goto bad;
	v = strtod(colon + 1, &end);
	if (end == colon + 1 || (*end && strcmp(end, "/s") != 0) || !isfinite(v) || v <= 0)
		goto bad;
	if (strncmp(s, "closed:", 7) == 0) {
		if (v != floor(v) || v > max_window)
			goto bad;
		*kind = WORKLOAD_CLOSED;
	} else if (strncmp(s, "poisson:", 8) == 0 || strncmp(s, "constant:", 9) == 0) {
		if (v >= max_rate)
			goto bad;
		*kind = s[0] == 'p' ? WORKLOAD_POISSON : WORKLOAD_CONSTANT;
	} else {
		goto bad;
	}
	*value = v;
	return true;
bad:
	cli_fail(2, "--workload '%s': expected closed:W (a whole number of requests in flight), "
		 "poisson:RATE or constant:RATE (requests per second)", s);
	return false;
}
