#include "ep_util.h"

#include <stdlib.h>
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

int ep_list_parse(const char *option, const char *s, ep_list_item_fn item, double *out, int max,
		  int *n, struct ep_error *err)
{
	char buf[EP_LIST_MAX_CHARS], *tok, *save;

	*n = 0;
	if (strlen(s) >= sizeof(buf))
		return ep_error_set(err, EP_EINVAL, "%s: list too long", option);
	EP_CHECK(ep_list_check(option, s, err));
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n == max)
			return ep_error_set(err, EP_EINVAL, "%s: more than %d values", option, max);
		EP_CHECK(item(option, s, tok, &out[(*n)++], err));
	}
	return EP_OK;
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

/* One line of a --help text, without its newline. */
struct help_line {
	const char *s;
	int len, indent;
	int desc;   /* an item's description column, or -1 */
	int usage;  /* a usage line's hanging column, or -1 */
	bool blank, heading;
};

static bool help_starts(const char *s, int len, const char *word)
{
	int n = (int)strlen(word);

	return len >= n && memcmp(s, word, (size_t)n) == 0;
}

static void help_line_scan(struct help_line *l, const char *s, int len)
{
	int i = 0, k;

	*l = (struct help_line){ .s = s, .len = len, .desc = -1, .usage = -1 };
	while (i < len && s[i] == ' ')
		i++;
	l->indent = i;
	l->blank = i == len;
	l->heading = i == 0 && len > 0 && s[len - 1] == ':';
	k = i;
	if (help_starts(s + i, len - i, "usage: "))
		k += 7;
	if ((k > i || i > 0) && help_starts(s + k, len - k, "edgepipe ")) {
		k += 9;
		while (k < len && s[k] != ' ')
			k++;
		if (k < len)
			l->usage = k + 1;
		return;
	}
	if (i == 0)
		return;
	for (int j = i; j + 2 < len; j++) {
		if (s[j] == ' ' && s[j + 1] == ' ') {
			for (k = j; k < len && s[k] == ' '; k++)
				;
			l->desc = k < len ? k : -1;
			return;
		}
	}
}

/* Fill words of `l[0..n)` after the head l[0].s[0..start) under column `hang`. */
static void help_fill(FILE *f, const struct help_line *l, int n, int start, int hang,
		      int width)
{
	int col = start, words = 0;

	fwrite(l[0].s, 1, (size_t)start, f);
	for (int i = 0; i < n; i++) {
		const char *p = l[i].s + (i == 0 ? start : l[i].indent), *end = l[i].s + l[i].len;

		while (p < end) {
			const char *w = p;

			while (p < end && *p != ' ')
				p++;
			if (p > w) {
				int wl = (int)(p - w);

				if (words && col + 1 + wl > width) {
					fprintf(f, "\n%*s", hang, "");
					col = hang;
					words = 0;
				}
				if (words++)
					col += fputc(' ', f) != EOF;
				col += (int)fwrite(w, 1, (size_t)wl, f);
			}
			while (p < end && *p == ' ')
				p++;
		}
	}
	fputc('\n', f);
}

/* A line that opens a labelled note, "(sim: ...": a paragraph of its own, not part of the item
 * above it. */
static bool help_note(const struct help_line *l)
{
	int i = l->indent + 1;

	if (l->len <= i || l->s[l->indent] != '(')
		return false;
	while (i < l->len && l->s[i] >= 'a' && l->s[i] <= 'z')
		i++;
	return i > l->indent + 1 && i < l->len && l->s[i] == ':';
}

/* The lines of the block that starts at l[0]: their number, its head and hanging column. */
static int help_block(const struct help_line *l, int n, int *start, int *hang)
{
	int k = 1;

	*start = l[0].indent;
	*hang = l[0].indent;
	if (l[0].usage >= 0) {
		*start = *hang = l[0].usage;
		return 1;
	}
	if (l[0].heading || l[0].blank)
		return 1;
	if (l[0].desc >= 0) {
		*start = *hang = l[0].desc;
		if (n > 1 && !l[1].blank && l[1].desc < 0 && l[1].indent > l[0].indent &&
		    l[1].indent < l[0].desc)
			*hang = l[1].indent;
		while (k < n && !l[k].blank && l[k].indent == *hang && !help_note(&l[k]))
			k++;
		return k;
	}
	/* A line ending a sentence ends the paragraph: the next may start a new one. */
	while (k < n && !l[k].blank && l[k].indent == l[0].indent && l[k].desc < 0 &&
	       l[k].usage < 0 && !l[k].heading && l[k - 1].s[l[k - 1].len - 1] != '.')
		k++;
	return k;
}

void ep_help_write(FILE *f, const char *text, int width)
{
	struct help_line *l;
	int n = 0, cap = 1;

	for (const char *c = text; *c; c++)
		cap += *c == '\n';
	l = malloc((size_t)cap * sizeof(*l));
	if (!l) { /* the text as it is, rather than nothing */
		fputs(text, f);
		return;
	}
	for (const char *c = text; *c;) {
		const char *e = strchr(c, '\n');
		int len = e ? (int)(e - c) : (int)strlen(c);

		help_line_scan(&l[n++], c, len);
		c += len + (e != NULL);
	}
	for (int i = 0; i < n;) {
		int start, hang, k = help_block(&l[i], n - i, &start, &hang);
		bool fits = true;

		for (int j = i; j < i + k; j++)
			fits = fits && l[j].len <= width;
		if (fits) {
			for (int j = i; j < i + k; j++)
				fprintf(f, "%.*s\n", l[j].len, l[j].s);
		} else {
			help_fill(f, &l[i], k, start, hang, width);
		}
		i += k;
	}
	free(l);
}
