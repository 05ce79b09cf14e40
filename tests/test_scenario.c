/*
 * experiments/scenario.h: the YAML scenario file. The expected keys, values and lines are read
 * off the texts below (lines counted from 1); the messages must name the file, the line and
 * the key.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scenario.h"

/* Parse `text` as "t.yaml"; on failure the message must hold `want` (NULL: success wanted). */
static struct scenario *parse(const char *text, const char *want)
{
	struct scenario *s = NULL;
	struct ep_error err;
	int rc = scenario_parse("t.yaml", text, strlen(text), &s, &err);

	if (!want) {
		if (rc)
			fprintf(stderr, "unexpected error: %s\n", err.msg);
		CHECK(rc == EP_OK && s);
		return s;
	}
	CHECK_INT(rc, EP_EINVAL);
	CHECK(s == NULL);
	if (rc && !strstr(err.msg, want)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, want);
		check_failures++;
	}
	return NULL;
}

static void test_entries(void)
{
	const char *text = "# comment\n"               /* 1 */
			   "model: resnet50\n"         /* 2 */
			   "nodes: 4\n"                /* 3 */
			   "mem: \"64MiB\"\n"          /* 4 */
			   "fault:\n"                  /* 5 */
			   "  - kill node3 at 10s\n"   /* 6 */
			   "  - 'link 1 2 down at 5s'\n" /* 7 */
			   "update: [resnet101 at 40s, vgg16 at 50s]\n" /* 8 */
			   "parallel: true\n"          /* 9 */
			   "fail: []\n";               /* 10 */
	struct scenario *s = parse(text, NULL);
	const struct scenario_entry *e;

	if (!s)
		return;
	CHECK_INT(s->n_entries, 7);
	CHECK(strcmp(s->path, "t.yaml") == 0);
	CHECK(s->text_len == strlen(text) && strcmp(s->text, text) == 0);
	CHECK(strcmp(s->entries[0].key, "model") == 0 && s->entries[0].line == 2);
	e = scenario_find(s, "nodes");
	CHECK(e && e->n_values == 1 && !e->is_list && strcmp(e->values[0], "4") == 0 &&
	      e->line == 3 && e->value_lines[0] == 3);
	e = scenario_find(s, "mem");
	CHECK(e && strcmp(e->values[0], "64MiB") == 0);
	e = scenario_find(s, "fault");
	CHECK(e && e->is_list && e->n_values == 2 && e->line == 5);
	CHECK(e && strcmp(e->values[0], "kill node3 at 10s") == 0 && e->value_lines[0] == 6);
	CHECK(e && strcmp(e->values[1], "link 1 2 down at 5s") == 0 && e->value_lines[1] == 7);
	e = scenario_find(s, "update");
	CHECK(e && e->n_values == 2 && strcmp(e->values[1], "vgg16 at 50s") == 0 &&
	      e->value_lines[1] == 8);
	e = scenario_find(s, "fail");
	CHECK(e && e->is_list && e->n_values == 0 && e->line == 10);
	CHECK(scenario_find(s, "seed") == NULL);
	scenario_destroy(s);
}

static void test_empty(void)
{
	struct scenario *s = parse("", NULL);

	CHECK(s && s->n_entries == 0);
	scenario_destroy(s);
	s = parse("# only a comment\n\n", NULL);
	CHECK(s && s->n_entries == 0);
	scenario_destroy(s);
}

static void test_errors(void)
{
	/* a mapping where a scalar belongs: line 3, where the mapping starts */
	parse("model: resnet50\nnodes:\n  a: 1\n", "t.yaml:3: nodes: a mapping");
	parse("fault:\n  - kill node1 at 1s\n  - [a, b]\n", "t.yaml:3: fault: a list where a list "
	      "element");
	parse("fault:\n  - kill node1 at 1s\n  - when: 1s\n", "t.yaml:3: fault: a mapping");
	parse("model: resnet50\nseed:\n", "t.yaml:2: seed: no value");
	parse("nodes: 4\nmem: 1MiB\nnodes: 5\n", "t.yaml:3: nodes: given twice (first on line 1)");
	parse("model: resnet50\nnodes: [4\n", "t.yaml:3: YAML syntax error");
	parse("model: resnet50\n  nodes: 4\n", "t.yaml:2: YAML syntax error");
	parse("- model\n- nodes\n", "t.yaml:1: expected 'option: value' lines");
	parse("just words\n", "t.yaml:1: expected 'option: value' lines");
	parse("model: a\n---\nmodel: b\n", "t.yaml:2: a second YAML document");
	parse("base: &b 4\nnodes: *b\n", "t.yaml:2: nodes: an alias");
	parse("[a]: 1\n", "t.yaml:1: a key must be a plain name");
}

static void test_nul(void)
{
	static const char text[] = "model: a\0b\n";
	struct scenario *s = NULL;
	struct ep_error err;

	CHECK_INT(scenario_parse("t.yaml", text, sizeof(text) - 1, &s, &err), EP_EINVAL);
	CHECK(s == NULL && strstr(err.msg, "t.yaml: a NUL byte"));
}

static void test_load(void)
{
	struct scenario *s = NULL;
	struct ep_error err;

	CHECK_INT(scenario_load("/nonexistent/s.yaml", &s, &err), EP_ENOTFOUND);
	CHECK(s == NULL && strstr(err.msg, "/nonexistent/s.yaml"));
	scenario_destroy(NULL);
}

int main(void)
{
	test_entries();
	test_empty();
	test_errors();
	test_nul();
	test_load();
	return check_exit();
}
