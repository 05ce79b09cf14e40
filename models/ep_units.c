#include "ep_units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit {
	const char *suffix;
	double factor;
};

/* Parse a non-negative finite number followed by one of `units` (or nothing when `bare_ok`). */
static int parse_with(const char *s, const struct unit *units, size_t n, double *out,
		      const char *what, struct ep_error *err)
{
	char *end;
	double v;

	if (!s || !*s)
		return ep_error_set(err, EP_EINVAL, "empty %s", what);
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return ep_error_set(err, EP_EINVAL, "%s '%s': expected a non-negative number with "
				    "a unit", what, s);
	for (size_t i = 0; i < n; i++)
		if (strcmp(end, units[i].suffix) == 0) {
			*out = v * units[i].factor;
			return EP_OK;
		}
	return ep_error_set(err, EP_EINVAL, "%s '%s': unknown unit '%s'", what, s, end);
}

int ep_parse_bytes(const char *s, double *bytes, struct ep_error *err)
{
	static const struct unit u[] = {
		{ "", 1 },	   { "B", 1 },	       { "kB", 1e3 },	  { "KB", 1e3 },
		{ "MB", 1e6 },	   { "GB", 1e9 },      { "TB", 1e12 },	  { "KiB", 1024.0 },
		{ "MiB", 1048576.0 }, { "GiB", 1073741824.0 }, { "TiB", 1099511627776.0 },
	};

	return parse_with(s, u, sizeof(u) / sizeof(u[0]), bytes, "size", err);
}

int ep_parse_bitrate(const char *s, double *bps, struct ep_error *err)
{
	static const struct unit u[] = {
		{ "", 1 },	       { "bit", 1 },	      { "bit/s", 1 },	     { "bps", 1 },
		{ "kbit", 1e3 },       { "kbit/s", 1e3 },     { "kbps", 1e3 },	     { "Kbit", 1e3 },
		{ "Mbit", 1e6 },       { "Mbit/s", 1e6 },     { "Mbps", 1e6 },	     { "Gbit", 1e9 },
		{ "Gbit/s", 1e9 },     { "Gbps", 1e9 },	      { "Kibit", 1024.0 },   { "Mibit", 1048576.0 },
	};

	return parse_with(s, u, sizeof(u) / sizeof(u[0]), bps, "bit rate", err);
}

int ep_parse_duration(const char *s, double *seconds, struct ep_error *err)
{
	static const struct unit u[] = {
		{ "", 1 },   { "s", 1 },   { "ms", 1e-3 }, { "us", 1e-6 },
		{ "ns", 1e-9 }, { "min", 60 }, { "h", 3600 },
	};

	return parse_with(s, u, sizeof(u) / sizeof(u[0]), seconds, "duration", err);
}

/* %g without the exponent's sign and leading zeros: 1e7, as the messages write it. */
static const char *short_g(double v, char *buf, size_t size)
{
	char *e, *d;

	snprintf(buf, size, "%g", v);
	e = strchr(buf, 'e');
	if (!e)
		return buf;
	d = e + 1;
	if (*d == '+')
		memmove(d, d + 1, strlen(d));
	if (*d == '-')
		d++;
	while (d[0] == '0' && d[1])
		memmove(d, d + 1, strlen(d));
	return buf;
}

int ep_parse_duration_in(const char *option, const char *s, double min_s, double max_s,
			 double *seconds, struct ep_error *err)
{
	struct ep_error e;
	char mx[32];

	if (ep_parse_duration(s, seconds, &e))
		return ep_error_set(err, EP_EINVAL, "%s: %s", option, e.msg);
	if (!(*seconds >= min_s) || *seconds > max_s)
		return ep_error_set(err, EP_EINVAL, "%s '%s': expected a time from %g s to %s s",
				    option, s, min_s, short_g(max_s, mx, sizeof(mx)));
	return EP_OK;
}

int ep_parse_flops(const char *s, double *flops, struct ep_error *err)
{
	static const struct unit u[] = {
		{ "", 1 },	     { "FLOPS", 1 },	 { "kFLOPS", 1e3 },  { "MFLOPS", 1e6 },
		{ "GFLOPS", 1e9 }, { "TFLOPS", 1e12 },
	};

	return parse_with(s, u, sizeof(u) / sizeof(u[0]), flops, "speed", err);
}

const char *ep_format_bytes(double bytes, char *buf, size_t size)
{
	static const char *const prefix[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int k = 0;

	while (bytes >= 1024.0 && k < 4) {
		bytes /= 1024.0;
		k++;
	}
	if (k == 0)
		snprintf(buf, size, "%.0f B", bytes);
	else
		snprintf(buf, size, "%.*f %s", bytes == floor(bytes) ? 0 : 2, bytes, prefix[k]);
	return buf;
}
