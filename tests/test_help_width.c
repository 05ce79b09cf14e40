/*
 * --help texts fit 80 columns:
 * - ep_help_write (models/ep_util.h) on small texts, each expected output filled by hand word
 *   by word at the width given (the column arithmetic is in the comment beside each): a text
 *   that fits is written unchanged; an item continues under its description, or under the
 *   next line's indent when that lies left of it; a paragraph ends at a line ending in '.';
 *   a "(word:" note is not joined to the item above; a usage line continues under the word
 *   after the command; a word wider than the width stays whole.
 * - with argv[1] = the edgepipe binary: `edgepipe --help` and `edgepipe CMD --help` for every
 *   command it lists (and model show, export, import) exit 0, start with "usage:" and have no
 *   line over 80 columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ep_util.h"

/* What ep_help_write makes of `text` at `width` (free it). */
static char *laid_out(const char *text, int width)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	ep_help_write(f, text, width);
	fclose(f);
	return buf;
}

static void check_layout(const char *text, int width, const char *want)
{
	char *got = laid_out(text, width);

	CHECK_STR(got, want);
	free(got);
}

static void check_units(void)
{
	const char *fits = "usage: edgepipe x [options]\n\noptions:\n  --a N   the a\n"
			   "                                        (sim: note)\n";

	check_layout(fits, 80, fits);
	/* desc column 15; "number of nodes (default" ends at 39, " 10;" would end at 43 */
	check_layout("  --nodes N    number of nodes (default 10; from the file)\n", 40,
		     "  --nodes N    number of nodes (default\n"
		     "               10; from the file)\n");
	/* "theta." would end at 46 > 40; "short line" is a new paragraph after the '.' */
	check_layout("Alpha beta gamma delta epsilon zeta eta theta.\nshort line\n\nend\n", 40,
		     "Alpha beta gamma delta epsilon zeta eta\ntheta.\nshort line\n\nend\n");
	/* one paragraph of two lines: "five" would end at 23 > 20, "nine" at 25 */
	check_layout("one two three four five six seven eight nine\nten\n", 20,
		     "one two three four\nfive six seven eight\nnine ten\n");
	/* desc column 16, hang 12 (the next line's indent); "three" ends at 40, "four" would
	 * end at 45; the note stays a line of its own */
	check_layout("  --metric a|b  published: one two three four five six\n"
		     "            seven\n"
		     "            (sim: note)\n",
		     40,
		     "  --metric a|b  published: one two three\n"
		     "            four five six seven\n"
		     "            (sim: note)\n");
	/* continues at column 20, under "--alpha"; "--gamma" would end at 46 */
	check_layout("usage: edgepipe cmd --alpha A --beta B --gamma G --delta D\n", 40,
		     "usage: edgepipe cmd --alpha A --beta B\n"
		     "                    --gamma G --delta D\n");
	check_layout("  -x  averyveryveryverylongwordthatcannotbreak\n", 30,
		     "  -x  averyveryveryverylongwordthatcannotbreak\n");
}

/* Run `edgepipe ARGS --help`: exit 0, "usage:" first, no line over 80 columns. */
static void check_help(const char *bin, const char *cmd, char *out, size_t size)
{
	char line[1024];
	int rc, n = 0;

	snprintf(line, sizeof(line), "'%s' %s --help 2>&1", bin, cmd);
	rc = check_shell(line, out, size);
	if (rc != 0 || strncmp(out, "usage:", 6) != 0) {
		fprintf(stderr, "edgepipe %s --help: exit %d, output begins '%.40s'\n", cmd, rc, out);
		check_failures++;
	}
	for (char *s = out; *s; n++) {
		char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (len > 80) {
			fprintf(stderr, "edgepipe %s --help: line %d has %zu columns: %.*s\n", cmd,
				n + 1, len, (int)len, s);
			check_failures++;
		}
		s += len + (e != NULL);
	}
}

int main(int argc, char **argv)
{
	static char top[16384], out[1 << 17];
	char *s;
	int commands = 0;

	check_units();
	if (argc < 2)
		return check_exit();
	check_help(argv[1], "", top, sizeof(top));
	s = strstr(top, "\ncommands:\n");
	CHECK(s != NULL);
	/* Every "  NAME summary" line of the command list. */
	for (s = s ? strchr(s + 1, '\n') + 1 : NULL; s && strncmp(s, "  ", 2) == 0;) {
		char name[64];

		if (sscanf(s, " %63s", name) == 1) {
			check_help(argv[1], name, out, sizeof(out));
			commands++;
		}
		s = strchr(s, '\n');
		s = s ? s + 1 : NULL;
	}
	/* models, model, plan, sim, sweep, emu, ...: main.c lists 15 today */
	CHECK(commands >= 15);
	/* the subcommands of model */
	check_help(argv[1], "model show", out, sizeof(out));
	check_help(argv[1], "model export", out, sizeof(out));
	check_help(argv[1], "model import", out, sizeof(out));
	return check_exit();
}
