#include "ep_util.h"

#include <string.h>
#include <time.h>

uint64_t ep_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t ep_fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

unsigned long ep_seed32(uint64_t seed)
{
	return (unsigned long)((seed ^ (seed >> 32)) & 0xffffffffULL);
}

double ep_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void ep_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int ep_list_check(const char *option, const char *s, struct ep_error *err)
{
	int element = 1;

	if (!*s)
		return ep_error_set(err, EP_EINVAL, "%s '': empty list", option);
	for (const char *c = s;; c++) {
		if ((*c == ',' || !*c) && (c == s || c[-1] == ','))
			return ep_error_set(err, EP_EINVAL, "%s '%s': element %d is empty", option, s,
					    element);
		if (!*c)
			return EP_OK;
		if (*c == ',')
			element++;
	}
}

void ep_csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}
