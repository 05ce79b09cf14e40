/*
 * The figures and the summary of a hand-made result database (experiments/plot.h, summary.h).
 *
 * The database holds a model ("TestNet", 64 MiB, geometric cluster, seed 1) with two node
 * counts and three trials, and two models whose figures have a line, or everything, without an
 * ok trial. Every expected number below is a hand calculation from the bottlenecks in
 * the table `rows`, with Student's t quantiles from a printed table (t(0.975, 1) = 12.706205,
 * t(0.975, 2) = 4.302653, t(0.975, 4) = 2.776445, t(0.975, 5) = 2.570582).
 *
 * Skipped (77) when gnuplot is not installed.
 */
#include <errno.h>
#include <ftw.h>
#include <gsl/gsl_errno.h>
#include <igraph.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "plot.h"
#include "store.h"
#include "summary.h"

#define MIB 1048576.0

/* Bottleneck in seconds; < 0 marks the row's status instead. */
#define FAILED -1.0
#define INFEAS -2.0
#define LIMIT  -3.0

struct hand_row {
	const char *model, *variant, *algo;
	int bw, nodes;
	double b[3]; /* trials 0, 1, 2 */
};

static const struct hand_row rows[] = {
	{"TestNet", "corrected", "optimal", 0, 5, {0.100, 0.200, 0.400}},
	{"TestNet", "corrected", "seifer", 8, 5, {0.110, 0.220, 0.500}},
	{"TestNet", "corrected", "seifer", 2, 5, {0.120, 0.240, 0.480}},
	{"TestNet", "corrected", "greedy", 0, 5, {0.150, 0.300, 0.600}},
	{"TestNet", "corrected", "random", 0, 5, {1.000, 2.000, FAILED}},
	{"TestNet", "corrected", "optimal", 0, 10, {0.080, 0.100, LIMIT}},
	{"TestNet", "corrected", "seifer", 8, 10, {0.088, INFEAS, 0.120}},
	{"TestNet", "corrected", "seifer", 2, 10, {0.090, 0.110, 0.130}},
	{"TestNet", "corrected", "greedy", 0, 10, {0.100, 0.200, 0.300}},
	{"TestNet", "corrected", "random", 0, 10, {0.500, 0.900, 1.300}},
	{"TestNet", "published", "random", 0, 5, {1.000, 1.500, 2.000}},
	{"TestNet", "published", "seifer", 8, 5, {0.200, 0.300, 0.400}},
	/* Figures with nothing, or one line with nothing, to draw. */
	{"TinyNet", "corrected", "optimal", 0, 50, {LIMIT, LIMIT, LIMIT}},
	{"TinyNet", "corrected", "seifer", 8, 50, {0.050, 0.060, 0.070}},
	{"TinyNet", "corrected", "seifer", 2, 50, {INFEAS, INFEAS, INFEAS}},
	{"DeadNet", "corrected", "random", 0, 5, {FAILED, FAILED, FAILED}},
	/* Lines that coincide (joint = optimal), a heat map that does not vary with C, and node
	 * counts that span a factor 5 (a log N axis). */
	{"TwinNet", "corrected", "optimal", 0, 5, {0.100, 0.200, 0.300}},
	{"TwinNet", "corrected", "joint", 0, 5, {0.100, 0.200, 0.300}},
	{"TwinNet", "corrected", "seifer", 8, 5, {0.200, 0.200, 0.200}},
	{"TwinNet", "corrected", "seifer", 2, 5, {0.200, 0.200, 0.200}},
	{"TwinNet", "corrected", "optimal", 0, 25, {0.100, 0.100, 0.100}},
	{"TwinNet", "corrected", "joint", 0, 25, {0.100, 0.100, 0.100}},
	{"TwinNet", "corrected", "seifer", 8, 25, {0.300, 0.300, 0.300}},
	{"TwinNet", "corrected", "seifer", 2, 25, {0.300, 0.300, 0.300}},
};

static char tmp[256];

static int make_db(const char *path, bool with_rows)
{
	struct store *s;
	struct ep_error err;
	int rc = store_open(path, &s, &err);

	if (rc) {
		fprintf(stderr, "store_open: %s\n", err.msg);
		return rc;
	}
	rc = store_begin_run(s, "test_plot", "", &err);
	for (size_t i = 0; with_rows && !rc && i < sizeof(rows) / sizeof(rows[0]); i++)
		for (int t = 0; t < 3 && !rc; t++) {
			struct store_row r;
			double b = rows[i].b[t];

			memset(&r, 0, sizeof(r));
			snprintf(r.model, sizeof(r.model), "%s", rows[i].model);
			r.mem_bytes = 64 * MIB;
			r.nodes = rows[i].nodes;
			snprintf(r.cluster, sizeof(r.cluster), "geometric");
			snprintf(r.algo, sizeof(r.algo), "%s", rows[i].algo);
			snprintf(r.variant, sizeof(r.variant), "%s", rows[i].variant);
			r.bw_classes = rows[i].bw;
			r.trial = t;
			r.seed = 1;
			r.cluster_seed = 1000 + (uint64_t)t;
			snprintf(r.status, sizeof(r.status), "%s",
				 b >= 0	       ? "ok"
				 : b == FAILED ? "failed"
				 : b == INFEAS ? "infeasible"
					       : "limit");
			if (b < 0)
				snprintf(r.reason, sizeof(r.reason), "hand-made %s row", r.status);
			r.stages = 2;
			snprintf(r.plan, sizeof(r.plan), "0:0-3 1:3-7");
			r.bottleneck_s = b;
			r.throughput = b > 0 ? 1.0 / b : INFINITY;
			r.sum_transfer_bits = 1e6;
			r.solve_s = 1e-4 * (double)(1 + t) * (double)rows[i].nodes;
			rc = store_insert(s, &r, &err);
		}
	if (!rc)
		rc = store_end_run(s, &err);
	if (rc)
		fprintf(stderr, "make_db: %s\n", err.msg);
	store_close(s);
	return rc;
}

/* The whole file into a NUL-terminated buffer (caller frees), or NULL. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[PATH_MAX];
	FILE *f;
	char *buf = NULL;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* The figure's images are there, non-empty and well-formed; its .dat and .gp too. */
static void check_figure(const char *dir, const char *base, bool png, bool svg)
{
	char name[512];
	size_t len = 0;
	char *b;

	snprintf(name, sizeof(name), "%s.png", base);
	b = slurp(dir, name, &len);
	if (png) {
		CHECK(b && len > 100);
		if (b && len > 100) {
			CHECK(memcmp(b, png_magic, 8) == 0);
			CHECK(memcmp(b + len - 8, "IEND", 4) == 0);
		} else {
			fprintf(stderr, "  missing or empty: %s\n", name);
		}
	} else {
		CHECK(b == NULL);
	}
	free(b);

	snprintf(name, sizeof(name), "%s.svg", base);
	b = slurp(dir, name, &len);
	if (svg) {
		CHECK(b && len > 100);
		if (b && len > 100) {
			while (len &&
			       (b[len - 1] == '\n' || b[len - 1] == ' ' || b[len - 1] == '\r'))
				b[--len] = '\0';
			CHECK(strncmp(b, "<?xml", 5) == 0 || strncmp(b, "<svg", 4) == 0);
			CHECK(len > 6 && strcmp(b + len - 6, "</svg>") == 0);
		} else {
			fprintf(stderr, "  missing or empty: %s\n", name);
		}
	} else {
		CHECK(b == NULL);
	}
	free(b);

	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s.%s", base, i ? "gp" : "dat");
		b = slurp(dir, name, &len);
		CHECK(b && len > 0);
		if (!b)
			fprintf(stderr, "  missing: %s\n", name);
		free(b);
	}
}

/* The title of a figure states its exclusions, in its script and in its SVG. */
static void check_caption(const char *dir, const char *base, const char *excluded)
{
	char name[512];
	char *b;

	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s.%s", base, i ? "svg" : "gp");
		b = slurp(dir, name, NULL);
		CHECK(b != NULL);
		if (b)
			CHECK_CONTAINS(b, excluded);
		free(b);
	}
}

/*
 * The numbers of the data line for N = `nodes` in the block of `series` of a .dat file:
 * columns after N into cols[]; returns how many, 0 when not found.
 */
static int dat_row(const char *dir, const char *base, const char *series, int nodes, double *cols,
		   int max)
{
	char name[512], head[160];
	char *b, *p, *save;
	bool in = false;
	int n = 0;

	snprintf(name, sizeof(name), "%s.dat", base);
	snprintf(head, sizeof(head), ": %s (", series);
	b = slurp(dir, name, NULL);
	if (!b)
		return 0;
	for (p = strtok_r(b, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		if (strncmp(p, "# index", 7) == 0) {
			in = strstr(p, head) != NULL;
			continue;
		}
		if (!in || *p == '#' || atoi(p) != nodes)
			continue;
		strtod(p, &p); /* N */
		while (n < max) {
			char *end;
			double v = strtod(p, &end);

			if (end == p)
				break;
			cols[n++] = v;
			p = end;
		}
		break;
	}
	free(b);
	return n;
}

/*
 * The cells of the summary's table row that starts with "| first |" in the section whose
 * heading is `section`: numbers parsed after skipping "± " (n/a gives NAN); returns how many.
 */
static int summary_row(const char *md, const char *section, const char *first, double *cells,
		       int max)
{
	const char *s = strstr(md, section), *end, *line;
	char key[128];
	int n = 0;

	if (!s)
		return 0;
	end = strstr(s + 1, "\n## ");
	snprintf(key, sizeof(key), "\n| %s |", first);
	line = strstr(s, key);
	if (!line || (end && line > end))
		return 0;
	line += strlen(key);
	while (n < max && *line && *line != '\n') {
		const char *bar = strchr(line, '|');
		char *e;

		if (!bar)
			break;
		while (*line == ' ')
			line++;
		if (strncmp(line, "± ", strlen("± ")) == 0)
			line += strlen("± ");
		cells[n] = strtod(line, &e);
		if (e == line)
			cells[n] = NAN;
		n++;
		line = bar + 1;
	}
	return n;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static bool same_file(const char *d1, const char *d2, const char *name)
{
	size_t l1 = 0, l2 = 0;
	char *a = slurp(d1, name, &l1), *b = slurp(d2, name, &l2);
	bool same = a && b && l1 == l2 && memcmp(a, b, l1) == 0;

	if (!same)
		fprintf(stderr, "  differs between runs: %s\n", name);
	free(a);
	free(b);
	return same;
}

static const char *const figures[] = {
	"bottleneck-TestNet-64MiB-corrected-geometric",
	"bottleneck-TestNet-64MiB-published-geometric",
	"heatmap-seifer-TestNet-64MiB-corrected-geometric",
	"heatmap-seifer-TestNet-64MiB-published-geometric",
	"gap-TestNet-corrected-geometric",
	"solve-corrected",
	"solve-published",
	"bottleneck-DeadNet-64MiB-corrected-geometric",
	"bottleneck-TinyNet-64MiB-corrected-geometric",
	"heatmap-seifer-TinyNet-64MiB-corrected-geometric",
	"gap-TinyNet-corrected-geometric",
	"bottleneck-TwinNet-64MiB-corrected-geometric",
	"heatmap-seifer-TwinNet-64MiB-corrected-geometric",
	"gap-TwinNet-corrected-geometric",
};
#define N_FIGURES ((int)(sizeof(figures) / sizeof(figures[0])))

static void test_figures(sqlite3 *db, const char *out, const char *out2)
{
	struct plot_options o = PLOT_OPTIONS_DEFAULT;
	struct ep_error err;
	double c[8];
	int n = -1, rc;

	rc = plot_figures(db, out, &o, &n, &err);
	if (rc)
		fprintf(stderr, "plot_figures: %s\n", err.msg);
	CHECK_INT(rc, EP_OK);
	/* No gap figure for the published variant: it has no optimal rows. */
	CHECK_INT(n, N_FIGURES);
	for (int i = 0; i < N_FIGURES; i++)
		check_figure(out, figures[i], true, true);
	{
		char *master = slurp(out, "figures.gp", NULL);

		CHECK(master != NULL);
		for (int i = 0; master && i < N_FIGURES; i++)
			CHECK_CONTAINS(master, figures[i]);
		free(master);
	}

	/*
	 * Exclusions in the titles. Bottleneck (seifer at C = 8): random's failed trial,
	 * seifer's infeasible one, optimal's limit. The heat map covers seifer only (its C = 2
	 * rows are all ok). The gap pairs lose, besides their own failed and infeasible rows,
	 * the three N = 10 trial-2 rows whose optimal hit its limit.
	 */
	check_caption(out, figures[0], "excluded, not averaged: 1 failed, 1 infeasible, 1 limit");
	check_caption(out, figures[1], "excluded, not averaged: none");
	check_caption(out, figures[2], "excluded, not averaged: 1 infeasible");
	check_caption(out, figures[4],
		      "excluded, not averaged: 1 failed, 1 infeasible; "
		      "optimal 3 limit");
	/* Solve time pools the models: DeadNet's 3 failed and TinyNet's 3 limit join in. */
	check_caption(out, figures[5], "excluded, not averaged: 4 failed, 1 infeasible, 4 limit");
	/* Nothing ok: a plain frame that says so. One line without ok trials: its key says why. */
	check_caption(out, figures[7], "excluded, not averaged: 3 failed");
	check_caption(out, figures[7], "no trial ended ok");
	check_caption(out, figures[8], "optimal: none (3 limit)");
	check_caption(out, figures[9], "excluded, not averaged: 3 infeasible");
	check_caption(out, figures[10], "seifer C=8: none (optimal 3 limit)");
	{
		char *hm = slurp(out, "heatmap-seifer-TinyNet-64MiB-corrected-geometric.dat", NULL);

		CHECK(hm != NULL);
		if (hm) /* C = 2 at N = 50: all 3 infeasible */
			CHECK_CONTAINS(hm, "0 0 50 2 nan 0 3 n/a\n");
		free(hm);
	}
	check_caption(out, figures[0], "random (ok 5, excluded 1)");
	check_caption(out, figures[0], "seifer C=8 (ok 5, excluded 1)");
	check_caption(out, figures[4], "seifer C=8 (pairs 4, excluded 2)");

	/* greedy, N = 5: 150, 300, 600 ms: mean 350; s^2 = (200^2 + 50^2 + 250^2) / 2 = 52500;
	 * half-width 4.302653 sqrt(52500 / 3) = 569.1872. */
	CHECK_INT(dat_row(out, figures[0], "greedy", 5, c, 5), 5);
	CHECK_NEAR(c[0], 350.0, 1e-9);
	CHECK_NEAR(c[1], 4.302653 * sqrt(52500.0 / 3.0), 1e-6);
	CHECK_INT(c[2], 3);
	CHECK_INT(c[3], 0);
	/* random, N = 5: 1000, 2000 ms (trial 2 failed, not a 0): mean 1500, s = 707.107,
	 * half-width 12.706205 x 707.107 / sqrt(2) = 12.706205 x 500. */
	CHECK_INT(dat_row(out, figures[0], "random", 5, c, 5), 5);
	CHECK_NEAR(c[0], 1500.0, 1e-9);
	CHECK_NEAR(c[1], 12.706205 * 500.0, 1e-6);
	CHECK_INT(c[2], 2);
	CHECK_INT(c[3], 1);
	/* seifer at C = 8, N = 10: 88, 120 ms (trial 1 infeasible): mean 104. */
	CHECK_INT(dat_row(out, figures[0], "seifer C=8", 10, c, 5), 5);
	CHECK_NEAR(c[0], 104.0, 1e-9);
	CHECK_NEAR(c[1], 12.706205 * 16.0, 1e-6);
	/* The published variant: no greedy line. */
	CHECK_INT(dat_row(out, figures[1], "greedy", 5, c, 5), 0);
	/* Gap of seifer C = 8 to optimal, N = 5: 110/100, 220/200, 500/400 - 1 = 10, 10, 25 %:
	 * mean 15; s^2 = (25 + 25 + 100) / 2 = 75; half-width 4.302653 sqrt(75 / 3) = 21.513265.
	 * N = 10: only trial 0 pairs (88 / 80 - 1 = 10 %). */
	CHECK_INT(dat_row(out, figures[4], "seifer C=8", 5, c, 5), 5);
	CHECK_NEAR(c[0], 15.0, 1e-9);
	CHECK_NEAR(c[1], 4.302653 * 5.0, 1e-6);
	CHECK_INT(c[2], 3);
	CHECK_INT(dat_row(out, figures[4], "seifer C=8", 10, c, 5), 5);
	CHECK_NEAR(c[0], 10.0, 1e-9);
	CHECK_NEAR(c[1], 0.0, 1e-12);
	CHECK_INT(c[2], 1);
	CHECK_INT(c[3], 2);
	/* greedy's gap, N = 10: 100/80 - 1 = 25 %, 200/100 - 1 = 100 %: mean 62.5. */
	CHECK_INT(dat_row(out, figures[4], "greedy", 10, c, 5), 5);
	CHECK_NEAR(c[0], 62.5, 1e-9);
	/* optimal has no line of its own in its gap figure. */
	CHECK_INT(dat_row(out, figures[4], "optimal", 5, c, 5), 0);

	/* Coinciding lines: optimal has joint's means at N = 5 and 25, so its key says so, the
	 * caption explains, and the lines are offset. TestNet's lines all differ. */
	check_caption(out, figures[11], "optimal (ok 6, excluded 0) = joint");
	check_caption(out, figures[11], "lines offset slightly along N");
	{
		char *gp = slurp(out, "bottleneck-TestNet-64MiB-corrected-geometric.gp", NULL);

		CHECK(gp != NULL);
		if (gp) {
			CHECK(strstr(gp, "lines offset") == NULL);
			CHECK(strstr(gp, "set logscale x") == NULL); /* 5 and 10: linear */
		}
		free(gp);
		gp = slurp(out, "bottleneck-TwinNet-64MiB-corrected-geometric.gp", NULL);
		CHECK(gp != NULL);
		if (gp) /* 5 and 25 span a factor 5 */
			CHECK_CONTAINS(gp, "set logscale x");
		free(gp);
		gp = slurp(out, "gap-TwinNet-corrected-geometric.gp", NULL);
		CHECK(gp != NULL);
		if (gp) /* the gap's signed log scale */
			CHECK_CONTAINS(gp, "set nonlinear y via f_sl(y) inverse g_sl(y)");
		free(gp);
	}
	/* The heat map that does not vary with C says so; TestNet's (C = 2 and 8 differ) not. */
	check_caption(out, figures[12], "the mean does not vary with C at any N");
	{
		char *gp = slurp(out, "heatmap-seifer-TestNet-64MiB-corrected-geometric.gp", NULL);

		CHECK(gp != NULL);
		if (gp)
			CHECK(strstr(gp, "does not vary with C") == NULL);
		free(gp);
	}
	/* TwinNet's gaps: joint 0 % at both N; seifer at N = 5: 200/100, 200/200, 200/300 - 1 =
	 * 100, 0, -33.33 %: mean 22.222 %; at N = 25: 200 % each. */
	CHECK_INT(dat_row(out, figures[13], "joint", 5, c, 5), 5);
	CHECK_NEAR(c[0], 0.0, 1e-12);
	CHECK_INT(dat_row(out, figures[13], "seifer C=8", 5, c, 5), 5);
	CHECK_NEAR(c[0], (100.0 + 0.0 - 100.0 / 3.0) / 3.0, 1e-9);
	CHECK_INT(dat_row(out, figures[13], "seifer C=8", 25, c, 5), 5);
	CHECK_NEAR(c[0], 200.0, 1e-9);

	/* The same database gives the same files. */
	rc = plot_figures(db, out2, &o, NULL, &err);
	CHECK_INT(rc, EP_OK);
	CHECK(same_file(out, out2, "figures.gp"));
	for (int i = 0; i < N_FIGURES; i++) {
		char name[512];
		static const char *const ext[] = {"dat", "gp", "svg"};

		for (int e = 0; e < 3; e++) {
			snprintf(name, sizeof(name), "%s.%s", figures[i], ext[e]);
			CHECK(same_file(out, out2, name));
		}
	}
}

static void test_svg_only(sqlite3 *db, const char *out)
{
	struct plot_options o = {.bw_classes = 2, .formats = PLOT_SVG};
	struct ep_error err;
	double c[8];
	int rc = plot_figures(db, out, &o, NULL, &err);

	CHECK_INT(rc, EP_OK);
	for (int i = 0; i < N_FIGURES; i++)
		check_figure(out, figures[i], false, true);
	/* At C = 2 the bottleneck figure shows seifer's C = 2 rows: N = 5: 120, 240, 480 ms. */
	CHECK_INT(dat_row(out, figures[0], "seifer C=2", 5, c, 5), 5);
	CHECK_NEAR(c[0], 280.0, 1e-9);
	check_caption(out, figures[0], "excluded, not averaged: 1 failed, 1 limit");
}

static void test_summary(sqlite3 *db, const char *dir)
{
	struct ep_error err;
	char path[1024];
	double c[8];
	char *md;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/summary.md", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	rc = summary_write_markdown(db, 0, f, &err);
	fclose(f);
	CHECK_INT(rc, EP_OK);
	md = slurp(dir, "summary.md", NULL);
	CHECK(md != NULL);
	if (!md)
		return;
	CHECK_CONTAINS(md, "shown at\nC = 8");
	/* Every row of the database: 4 failed, 1 + 3 infeasible (seifer C = 2 too), 1 + 3 limit. */
	CHECK_CONTAINS(md, "excluded from every mean: 4 failed, 4 infeasible, 4 limit");
	CHECK_CONTAINS(md, "## corrected variant, DeadNet\n");
	CHECK_CONTAINS(md, "| random | n/a | n/a | 0 | 3 (3 failed) |");

	/* corrected, greedy: 150 300 600 100 200 300 ms: mean 1650 / 6 = 275; squares of the
	 * deviations 15625 + 625 + 105625 + 30625 + 5625 + 625 = 158750, s^2 = 31750;
	 * half-width 2.570582 sqrt(31750 / 6) = 186.9940. */
	CHECK_INT(summary_row(md, "## corrected variant, TestNet", "greedy", c, 4), 4);
	CHECK_NEAR(c[0], 275.0, 1e-9);
	CHECK_NEAR(c[1], 2.570582 * sqrt(31750.0 / 6.0), 1e-3 / 187.0);
	CHECK_INT(c[2], 6);
	CHECK_INT(c[3], 0);
	/* optimal: 100 200 400 80 100 (one limit): mean 176; squares 5776 + 576 + 50176 + 9216 +
	 * 5776 = 71520, s^2 = 17880; half-width 2.776445 sqrt(17880 / 5) = 166.0287. */
	CHECK_INT(summary_row(md, "## corrected variant, TestNet", "optimal", c, 4), 4);
	CHECK_NEAR(c[0], 176.0, 1e-9);
	CHECK_NEAR(c[1], 2.776445 * sqrt(17880.0 / 5.0), 1e-3 / 166.0);
	CHECK_INT(c[2], 5);
	CHECK_INT(c[3], 1);
	/* random: 1000 2000 500 900 1300 (one failed, not a 0): mean 1140. */
	CHECK_INT(summary_row(md, "## corrected variant, TestNet", "random", c, 4), 4);
	CHECK_NEAR(c[0], 1140.0, 1e-9);
	CHECK_INT(c[3], 1);
	CHECK_CONTAINS(md, "| random | 1140.000 |");
	CHECK_CONTAINS(md, "| 5 | 1 (1 failed) |");
	/* seifer at C = 8: 110 220 500 88 120 (one infeasible): mean 1038 / 5 = 207.6. */
	CHECK_INT(summary_row(md, "## corrected variant, TestNet", "seifer C=8", c, 4), 4);
	CHECK_NEAR(c[0], 207.6, 1e-9);
	CHECK_INT(c[2], 5);
	CHECK_CONTAINS(md, "| 5 | 1 (1 infeasible) |");

	/*
	 * The claims, paired by trial (both ok). random / seifer: 1/0.11, 2/0.22, 0.5/0.088,
	 * 1.3/0.12 = (100/11 + 100/11 + 500/88 + 130/12) / 4 = 8.674242 over 4 pairs.
	 * Below greedy's: 1 - s/g = 4/15, 4/15, 1/6, 0.12, 0.6: mean 28.40 % over 5; at N = 10
	 * (0.12 + 0.6) / 2 = 36.00 % over 2. Above the optimum: 10, 10, 25, 10 %: 13.75 % over 4.
	 */
	CHECK_INT(summary_row(md, "## corrected variant, TestNet", "random / seifer bottleneck", c,
			      2),
		  2);
	CHECK_NEAR(c[0], (100.0 / 11 + 100.0 / 11 + 500.0 / 88 + 130.0 / 12) / 4, 1e-3 / 8.7);
	CHECK_INT(c[1], 4);
	CHECK_INT(summary_row(md, "## corrected variant, TestNet",
			      "seifer's bottleneck below greedy's", c, 2),
		  2);
	CHECK_NEAR(c[0], 28.40, 1e-4);
	CHECK_INT(c[1], 5);
	CHECK_INT(summary_row(md, "## corrected variant, TestNet",
			      "the same at N = 10, the largest N here", c, 2),
		  2);
	CHECK_NEAR(c[0], 36.00, 1e-4);
	CHECK_INT(c[1], 2);
	CHECK_INT(summary_row(md, "## corrected variant, TestNet",
			      "seifer's bottleneck above the exact optimum", c, 2),
		  2);
	CHECK_NEAR(c[0], 13.75, 1e-4);
	CHECK_INT(c[1], 4);
	CHECK_CONTAINS(md, "| seifer's bottleneck above the exact optimum | 13.75 % | 4 | "
			   "within 9.2 % (of a lower bound) |");
	/* ... and at the largest N, 10: trial 0 only, 88 / 80 - 1 = 10 %. */
	CHECK_CONTAINS(md, "| the same at N = 10, the largest N here | 10.00 % | 1 | within 9.2 % "
			   "(stated for N = 50) |");
	/* By N. greedy: N = 5: 150 300 600 ms, mean 350; N = 10: 100 200 300, mean 200. */
	CHECK_CONTAINS(md, "| greedy | 350.000 (3) | 200.000 (3) |\n");
	/* optimal at N = 10: 80 100 (one limit): mean 90. */
	CHECK_CONTAINS(md, "| optimal | 233.333 (3) | 90.000 (2) |\n");
	/* Gaps by N (figure's numbers above): seifer C=8 15 % over 3 pairs, 10 % over 1, largest
	 * 25 %; greedy 50 % (150/100, 300/200, 600/400), 62.5 % (100/80, 200/100), largest
	 * 100 %. optimal has no gap row. */
	CHECK_CONTAINS(md, "| seifer C=8 | +15.00 % (3) | +10.00 % (1) | +25.00 % |\n");
	CHECK_CONTAINS(md, "| greedy | +50.00 % (3) | +62.50 % (2) | +100.00 % |\n");
	CHECK(strstr(md, "| optimal | +") == NULL);

	/* published: random 1000 1500 2000 ms, mean 1500, half-width 4.302653 x 500 / sqrt(3);
	 * random / seifer 5, 5, 5; no greedy, no optimal: n/a. */
	CHECK_INT(summary_row(md, "## published variant, TestNet", "random", c, 4), 4);
	CHECK_NEAR(c[0], 1500.0, 1e-9);
	CHECK_NEAR(c[1], 4.302653 * 500.0 / sqrt(3.0), 1e-3 / 1242.0);
	CHECK_INT(summary_row(md, "## published variant, TestNet", "random / seifer bottleneck", c,
			      2),
		  2);
	CHECK_NEAR(c[0], 5.0, 1e-9);
	CHECK_INT(c[1], 3);
	CHECK_CONTAINS(strstr(md, "## published variant"),
		       "| seifer's bottleneck below greedy's | n/a | 0 | 35 % |");
	CHECK_CONTAINS(strstr(md, "## published variant"),
		       "| seifer's bottleneck above the exact optimum | n/a | 0 |");
	CHECK(strstr(md, "## published variant, TestNet") > strstr(md, "## corrected variant"));
	free(md);
}

static void test_errors(sqlite3 *db, const char *dir)
{
	struct ep_error err;
	sqlite3 *other = NULL;
	char path[1024], sub[1024], buf[PATH_MAX];
	const char *saved;
	char *saved_path;
	FILE *f;
	int rc;

	/* A missing database names itself. */
	snprintf(path, sizeof(path), "%s/missing.db", dir);
	rc = plot_db_open(path, &other, &err);
	CHECK_INT(rc, EP_ENOTFOUND);
	CHECK(other == NULL);
	CHECK_CONTAINS(err.msg, path);
	/* A text file, and an SQLite file of another schema, are not result databases. */
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("not a database, but long enough to be read as one....................\n"
		      "................................................................\n",
		      f);
		fclose(f);
	}
	rc = plot_db_open(path, &other, &err);
	CHECK_INT(rc, EP_EINVAL);
	CHECK_CONTAINS(err.msg, path);
	CHECK_CONTAINS(err.msg, "not an edgepipe result database");
	snprintf(path, sizeof(path), "%s/other.db", dir);
	if (sqlite3_open(path, &other) == SQLITE_OK)
		sqlite3_exec(other, "CREATE TABLE t(x); INSERT INTO t VALUES(1);", NULL, NULL,
			     NULL);
	sqlite3_close(other);
	other = NULL;
	rc = plot_db_open(path, &other, &err);
	CHECK_INT(rc, EP_EINVAL);
	CHECK_CONTAINS(err.msg, "other.db");

	/* An output directory below a regular file cannot be made. */
	snprintf(sub, sizeof(sub), "%s/notes.txt/figures", dir);
	rc = plot_prepare_dir(sub, &err);
	CHECK_INT(rc, EP_EINVAL);
	CHECK_CONTAINS(err.msg, sub);
	rc = plot_figures(db, sub, NULL, NULL, &err);
	CHECK_INT(rc, EP_EINVAL);
	CHECK_CONTAINS(err.msg, sub);

	/* A class count the sweep did not run. */
	snprintf(sub, sizeof(sub), "%s/c7", dir);
	rc = plot_figures(db, sub, &(struct plot_options){7, 0}, NULL, &err);
	CHECK_INT(rc, EP_EINVAL);
	CHECK_CONTAINS(err.msg, "class count 7");
	CHECK_CONTAINS(err.msg, "present: 2, 8");
	f = tmpfile();
	if (f) {
		rc = summary_write_markdown(db, 7, f, &err);
		CHECK_INT(rc, EP_EINVAL);
		fclose(f);
	}

	/* A database without rows has no figures. */
	snprintf(path, sizeof(path), "%s/empty.db", dir);
	CHECK_INT(make_db(path, false), EP_OK);
	rc = plot_db_open(path, &other, &err);
	CHECK_INT(rc, EP_OK);
	if (!rc) {
		rc = plot_figures(other, sub, NULL, NULL, &err);
		CHECK_INT(rc, EP_EINVAL);
		CHECK_CONTAINS(err.msg, "no result rows");
		plot_db_close(other);
	}

	/* No gnuplot on PATH. */
	saved = getenv("PATH");
	saved_path = strdup(saved ? saved : "/usr/bin:/bin");
	setenv("PATH", dir, 1);
	rc = plot_gnuplot_find(buf, sizeof(buf), &err);
	CHECK_INT(rc, EP_ENOTFOUND);
	CHECK_CONTAINS(err.msg, "gnuplot");
	rc = plot_figures(db, sub, NULL, NULL, &err);
	CHECK_INT(rc, EP_ENOTFOUND);
	if (saved_path)
		setenv("PATH", saved_path, 1);
	free(saved_path);
}

int main(void)
{
	char db_path[512], out[512], out2[512], out3[512], gnuplot[PATH_MAX];
	struct ep_error err;
	sqlite3 *db = NULL;
	int rc;

	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();

	if (plot_gnuplot_find(gnuplot, sizeof(gnuplot), &err) != EP_OK) {
		fprintf(stderr, "skipped: %s\n", err.msg);
		return 77;
	}
	snprintf(tmp, sizeof(tmp), "%s/test_plot.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db_path, sizeof(db_path), "%s/sweep.db", tmp);
	snprintf(out, sizeof(out), "%s/figures/a", tmp); /* parents are created */
	snprintf(out2, sizeof(out2), "%s/figures2", tmp);
	snprintf(out3, sizeof(out3), "%s/svg-only", tmp);
	CHECK_INT(make_db(db_path, true), EP_OK);
	rc = plot_db_open(db_path, &db, &err);
	if (rc)
		fprintf(stderr, "plot_db_open: %s\n", err.msg);
	CHECK_INT(rc, EP_OK);
	if (!rc) {
		test_figures(db, out, out2);
		test_svg_only(db, out3);
		test_summary(db, out);
		test_errors(db, tmp);
		plot_db_close(db);
	}
	/* Failures, or TEST_PLOT_KEEP=1, keep the files to look at. */
	if (check_failures || getenv("TEST_PLOT_KEEP"))
		fprintf(stderr, "files kept in %s\n", tmp);
	else
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_exit();
}
