/*
 * The algorithm registry carries each algorithm's options (algo.h), and the CLI's algorithm
 * lists and help are generated from it:
 * - every registered algorithm and every option of each appears in the generated name list
 *   and usage block, and options of one name in several algorithms agree (grammar, parser,
 *   format, default), since the command line takes them once;
 * - an algorithm registered only here, with one option, shows up in both, and its option
 *   parses, keeps its default when not given and refuses a bad value naming it; it runs
 *   through algo_run and reads its option's value (the plan's stage count is the option);
 * - with argv[1] = the edgepipe binary: the --help of plan, sweep, sim, emu, region and deploy lists
 *   every registered algorithm and option, `plan --max-split 0` reaches feltin (one stage in
 *   the CSV, which has a line per stage), and an unknown
 *   --algo is refused (exit 2) naming the value and listing every algorithm.
 * Expected values: the registry itself (algo_registry) and the test algorithm defined below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <gsl/gsl_rng.h>

#include "algo.h"
#include "check.h"
#include "tiny_instance.h"

/* The test algorithm: one stage per --test-stages (default 1), nodes 0, 1, ... in order. */
static const struct algo_option test_options[] = {
	{ "test-stages", "K", "stages, in order on nodes 0 .. K-1 (default 1)",
	  algo_option_parse_int, algo_option_format_int, { .i = 1 }, 1, 64 },
	{ NULL },
};

static int test_solve(const struct problem *p, const struct algo_options *o, gsl_rng *rng,
		      struct plan *out, struct ep_error *err)
{
	int k = (int)algo_options_int(o, &test_options[0]), segs = p->m - 1;

	(void)rng;
	if (k > segs || k > p->cluster->n)
		return ep_error_set(err, EP_EINFEASIBLE, "%d stages for %d segments", k, segs);
	for (int s = 0; s < k; s++)
		if (plan_push(out, s * segs / k, (s + 1) * segs / k, s))
			return ep_error_set(err, EP_ENOMEM, "out of memory");
	return EP_OK;
}

static const struct algo algo_test = {
	.name = "testalgo",
	.summary = "a test's own algorithm: K stages in order",
	.solve = test_solve,
	.options = test_options,
};

/* The text `f` received (NUL-terminated; free it). */
static char *usage_text(const struct algo *const *reg, const char *def)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	algo_usage_write(f, reg, def);
	fclose(f);
	return buf;
}

/* Every algorithm of `reg` and each of its options appear in `text` (names and usage). */
static void check_all_listed(const struct algo *const *reg, const char *text, const char *what)
{
	for (int i = 0; reg[i]; i++) {
		char needle[80];

		snprintf(needle, sizeof(needle), "  %s", reg[i]->name);
		if (!strstr(text, needle)) {
			fprintf(stderr, "%s: algorithm %s missing\n", what, reg[i]->name);
			CHECK(false);
		}
		for (const struct algo_option *x = reg[i]->options; x && x->name; x++) {
			snprintf(needle, sizeof(needle), "--%s", x->name);
			if (!strstr(text, needle)) {
				fprintf(stderr, "%s: %s's option %s missing\n", what, reg[i]->name,
					needle);
				CHECK(false);
			}
		}
	}
}

static void test_registry_generated(void)
{
	char names[1024];
	char *text = usage_text(algo_registry, "seifer");
	const struct algo_option *list[64];
	int n = algo_option_list(algo_registry, list, 64);

	CHECK(text != NULL);
	check_all_listed(algo_registry, text, "usage");
	CHECK(strstr(text, "seifer (default)") != NULL);
	free(text);
	algo_names_format(algo_registry, "seifer", names, sizeof(names));
	for (int i = 0; algo_registry[i]; i++)
		CHECK(strstr(names, algo_registry[i]->name) != NULL);
	CHECK(strstr(names, "seifer (default)") != NULL);
	/* The options the registry had when options moved into it (issue 17). */
	CHECK(n >= 6 && n <= 64);
	for (const char *const *x = (const char *const[]){ "bw-classes", "failure-prob", "force",
							   "stages", "time-limit", "max-split",
							   NULL };
	     *x; x++)
		CHECK(algo_option_find(algo_registry, *x) != NULL);
	/* One option per name, and algorithms that share a name share its meaning. */
	for (int i = 0; i < n && i < 64; i++)
		for (int a = 0; algo_registry[a]; a++) {
			const struct algo_option *y = algo_option_of(algo_registry[a], list[i]->name);

			if (!y)
				continue;
			CHECK((y->arg == NULL) == (list[i]->arg == NULL));
			CHECK(y->parse == list[i]->parse && y->format == list[i]->format);
			CHECK(memcmp(&y->def, &list[i]->def, sizeof(y->def)) == 0);
			CHECK(y->usage && y->usage[0]);
			for (int j = 0; j < i; j++)
				CHECK(strcmp(list[j]->name, list[i]->name) != 0);
		}
}

static void test_own_algorithm(void)
{
	const struct algo *reg[16];
	int n = 0;
	char names[1024];
	char *text;
	const struct algo_option *k;
	struct algo_options o = ALGO_OPTIONS_DEFAULT;
	struct ep_error err;
	struct tiny t;
	struct problem_options po = PROBLEM_OPTIONS_FULL;
	struct algo_result r;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

	for (; algo_registry[n] && n < 14; n++)
		reg[n] = algo_registry[n];
	reg[n++] = &algo_test;
	reg[n] = NULL;
	text = usage_text(reg, NULL);
	CHECK(text != NULL);
	check_all_listed(reg, text, "usage with a test algorithm");
	CHECK(strstr(text, "--test-stages K") != NULL);
	CHECK(strstr(text, algo_test.summary) != NULL);
	free(text);
	algo_names_format(reg, NULL, names, sizeof(names));
	CHECK(strstr(names, ", testalgo") != NULL);
	CHECK(algo_find_in(reg, "testalgo") == &algo_test);
	CHECK(algo_find("testalgo") == NULL); /* only registered here */
	k = algo_option_find(reg, "test-stages");
	CHECK(k == &test_options[0]);
	CHECK(algo_option_find(algo_registry, "test-stages") == NULL);

	/* parse, default, a bad value named */
	CHECK_INT(algo_options_int(&o, k), 1);
	CHECK_INT(algo_options_parse(&o, k, "70", &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "--test-stages '70'");
	CHECK_INT(algo_options_parse(&o, k, "3", &err), EP_OK);
	CHECK_INT(algo_options_int(&o, k), 3);

	/* the algorithm reads it: 3 stages on 5 cut points (4 segments) and 3 nodes of ample
	 * memory and links */
	tiny_clear(&t, 5, 3);
	for (int c = 0; c < 5; c++) {
		t.cuts[c].cum_mem_bytes = c;
		t.cuts[c].transfer_bytes = 1;
	}
	for (int i = 0; i < 3; i++)
		t.mem[i] = 100;
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			t.bw[i * 4 + j] = i == j ? 0 : 1e6;
	CHECK_INT(tiny_ready(&t, &po), EP_OK);
	algo_result_init(&r);
	CHECK_INT(algo_run(&algo_test, &t.p, &o, rng, &r, &err), EP_OK);
	CHECK_INT(r.status, EP_OK);
	CHECK_INT(r.plan.n_stages, 3);
	algo_result_release(&r);
	problem_release(&t.p);
	gsl_rng_free(rng);
}

static void test_cli(const char *edgepipe)
{
	static char out[1 << 17];
	const char *cmds[] = { "plan", "sweep", "sim", "emu", "region", "deploy" };
	char cmd[4096];

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(cmd, sizeof(cmd), "'%s' %s --help 2>&1", edgepipe, cmds[i]);
		CHECK_INT(check_shell(cmd, out, sizeof(out)), 0);
		check_all_listed(algo_registry, out, cmds[i]);
	}
	/* an unknown algorithm: exit 2, the value named, every algorithm listed */
	snprintf(cmd, sizeof(cmd), "'%s' plan --model resnet50 --mem 64MiB --algo nosuch 2>&1",
		 edgepipe);
	CHECK_INT(check_shell(cmd, out, sizeof(out)), 2);
	CHECK_CONTAINS(out, "'nosuch'");
	for (int i = 0; algo_registry[i]; i++)
		CHECK(strstr(out, algo_registry[i]->name) != NULL);
	/* a registry option reaches its algorithm: feltin with --max-split 0 plans one stage
	 * (corrected: "at most S cuts") */
	snprintf(cmd, sizeof(cmd),
		 "'%s' plan --model resnet50 --mem 1GiB --nodes 4 --algo feltin --max-split 0 "
		 "--format csv 2>&1", edgepipe);
	CHECK_INT(check_shell(cmd, out, sizeof(out)), 0);
	CHECK_CONTAINS(out, "resnet50,feltin,corrected,4,1,0,ok,0,");
	CHECK(strstr(out, "resnet50,feltin,corrected,4,1,0,ok,1,") == NULL); /* no stage 1 */
	snprintf(cmd, sizeof(cmd),
		 "'%s' plan --model resnet50 --mem 64MiB --max-split x 2>&1", edgepipe);
	CHECK_INT(check_shell(cmd, out, sizeof(out)), 2);
	CHECK_CONTAINS(out, "--max-split 'x'");
}

int main(int argc, char **argv)
{
	test_registry_generated();
	test_own_algorithm();
	if (argc > 1)
		test_cli(argv[1]);
	return check_exit();
}
