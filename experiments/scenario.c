/*
 * The scenario file (scenario.h): libyaml's event parser, one mapping of scalars and lists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "scenario.h"

struct reader {
	yaml_parser_t parser;
	yaml_event_t ev;
	int have_ev;
	const char *path;
	struct scenario *s;
	struct ep_error *err;
};

static int line_of(const yaml_event_t *ev)
{
	return (int)ev->start_mark.line + 1;
}

/* The next event into r->ev (the previous one released). */
static int next_event(struct reader *r)
{
	if (r->have_ev)
		yaml_event_delete(&r->ev);
	r->have_ev = 0;
	if (!yaml_parser_parse(&r->parser, &r->ev)) {
		const char *what = r->parser.problem ? r->parser.problem : "malformed YAML";

		if (r->parser.error == YAML_MEMORY_ERROR)
			return ep_error_set(r->err, EP_ENOMEM, "%s: out of memory", r->path);
		if (r->parser.context)
			return ep_error_set(r->err, EP_EINVAL, "%s:%zu: YAML syntax error: %s (%s, "
					    "line %zu)", r->path, r->parser.problem_mark.line + 1,
					    what, r->parser.context,
					    r->parser.context_mark.line + 1);
		return ep_error_set(r->err, EP_EINVAL, "%s:%zu: YAML syntax error: %s", r->path,
				    r->parser.problem_mark.line + 1, what);
	}
	r->have_ev = 1;
	return EP_OK;
}

static const char *event_what(yaml_event_type_t t)
{
	switch (t) {
	case YAML_MAPPING_START_EVENT: return "a mapping";
	case YAML_SEQUENCE_START_EVENT: return "a list";
	case YAML_ALIAS_EVENT: return "an alias";
	default: return "no value";
	}
}

static char *scalar_dup(const yaml_event_t *ev)
{
	char *v = malloc(ev->data.scalar.length + 1);

	if (v) {
		memcpy(v, ev->data.scalar.value, ev->data.scalar.length);
		v[ev->data.scalar.length] = '\0';
	}
	return v;
}

/* An empty plain scalar is YAML's null: `key:` with nothing after it. */
static int scalar_is_null(const yaml_event_t *ev)
{
	return ev->data.scalar.length == 0 && ev->data.scalar.plain_implicit;
}

static int add_value(struct reader *r, struct scenario_entry *e)
{
	char **v = realloc(e->values, (size_t)(e->n_values + 1) * sizeof(*v));
	int *l;

	if (!v)
		return ep_error_set(r->err, EP_ENOMEM, "%s: out of memory", r->path);
	e->values = v;
	if (!(l = realloc(e->value_lines, (size_t)(e->n_values + 1) * sizeof(*l))))
		return ep_error_set(r->err, EP_ENOMEM, "%s: out of memory", r->path);
	e->value_lines = l;
	if (!(v[e->n_values] = scalar_dup(&r->ev)))
		return ep_error_set(r->err, EP_ENOMEM, "%s: out of memory", r->path);
	l[e->n_values++] = line_of(&r->ev);
	return EP_OK;
}

static int wrong_type(struct reader *r, const struct scenario_entry *e, const char *where)
{
	return ep_error_set(r->err, EP_EINVAL, "%s:%d: %s: %s where %s belongs (the value of an "
			    "option, or a list of them)", r->path, line_of(&r->ev), e->key,
			    event_what(r->ev.type), where);
}

/* The value of entry `e`: r->ev is its first event. */
static int read_value(struct reader *r, struct scenario_entry *e)
{
	if (r->ev.type == YAML_SCALAR_EVENT) {
		if (scalar_is_null(&r->ev))
			return ep_error_set(r->err, EP_EINVAL, "%s:%d: %s: no value", r->path,
					    e->line, e->key);
		return add_value(r, e);
	}
	if (r->ev.type != YAML_SEQUENCE_START_EVENT)
		return wrong_type(r, e, "a scalar");
	e->is_list = 1;
	for (;;) {
		EP_CHECK(next_event(r));
		if (r->ev.type == YAML_SEQUENCE_END_EVENT)
			return EP_OK;
		if (r->ev.type != YAML_SCALAR_EVENT)
			return wrong_type(r, e, "a list element");
		if (scalar_is_null(&r->ev))
			return ep_error_set(r->err, EP_EINVAL, "%s:%d: %s: an empty list element",
					    r->path, line_of(&r->ev), e->key);
		EP_CHECK(add_value(r, e));
	}
}

/* One key and its value: r->ev is the key's event. */
static int read_entry(struct reader *r)
{
	struct scenario *s = r->s;
	struct scenario_entry *e, *grown;

	if (r->ev.type != YAML_SCALAR_EVENT)
		return ep_error_set(r->err, EP_EINVAL, "%s:%d: a key must be a plain name (found "
				    "%s)", r->path, line_of(&r->ev), event_what(r->ev.type));
	grown = realloc(s->entries, (size_t)(s->n_entries + 1) * sizeof(*grown));
	if (!grown)
		return ep_error_set(r->err, EP_ENOMEM, "%s: out of memory", r->path);
	s->entries = grown;
	e = &s->entries[s->n_entries];
	memset(e, 0, sizeof(*e));
	if (!(e->key = scalar_dup(&r->ev)))
		return ep_error_set(r->err, EP_ENOMEM, "%s: out of memory", r->path);
	s->n_entries++;
	e->line = line_of(&r->ev);
	if (!e->key[0])
		return ep_error_set(r->err, EP_EINVAL, "%s:%d: an empty key", r->path, e->line);
	for (int i = 0; i < s->n_entries - 1; i++)
		if (strcmp(s->entries[i].key, e->key) == 0)
			return ep_error_set(r->err, EP_EINVAL, "%s:%d: %s: given twice (first on "
					    "line %d); a list repeats an option", r->path,
					    e->line, e->key, s->entries[i].line);
	EP_CHECK(next_event(r));
	return read_value(r, e);
}

/* The whole stream: nothing, or one document holding one mapping. */
static int read_stream(struct reader *r)
{
	EP_CHECK(next_event(r)); /* stream start */
	EP_CHECK(next_event(r));
	if (r->ev.type == YAML_STREAM_END_EVENT)
		return EP_OK;
	EP_CHECK(next_event(r)); /* after the document start */
	if (r->ev.type == YAML_SCALAR_EVENT && scalar_is_null(&r->ev)) {
		EP_CHECK(next_event(r)); /* a document of comments only */
	} else if (r->ev.type != YAML_MAPPING_START_EVENT) {
		return ep_error_set(r->err, EP_EINVAL, "%s:%d: expected 'option: value' lines (the "
				    "top level must be a mapping; found %s)", r->path,
				    line_of(&r->ev),
				    r->ev.type == YAML_SCALAR_EVENT ? "a scalar"
								    : event_what(r->ev.type));
	} else {
		for (;;) {
			EP_CHECK(next_event(r));
			if (r->ev.type == YAML_MAPPING_END_EVENT)
				break;
			EP_CHECK(read_entry(r));
		}
		EP_CHECK(next_event(r));
	}
	/* r->ev: the document end */
	EP_CHECK(next_event(r));
	if (r->ev.type != YAML_STREAM_END_EVENT)
		return ep_error_set(r->err, EP_EINVAL, "%s:%d: a second YAML document: a scenario "
				    "is one", r->path, line_of(&r->ev));
	return EP_OK;
}

int scenario_parse(const char *path, const char *text, size_t len, struct scenario **out,
		   struct ep_error *err)
{
	struct reader r = { .path = path, .err = err };
	int rc = EP_OK;

	*out = NULL;
	if (!(r.s = calloc(1, sizeof(*r.s))) || !(r.s->path = strdup(path)) ||
	    !(r.s->text = malloc(len + 1))) {
		scenario_destroy(r.s);
		return ep_error_set(err, EP_ENOMEM, "%s: out of memory", path);
	}
	memcpy(r.s->text, text, len);
	r.s->text[len] = '\0';
	r.s->text_len = len;
	if (memchr(text, '\0', len)) {
		rc = ep_error_set(err, EP_EINVAL, "%s: a NUL byte: not a text file", path);
		goto out;
	}
	if (!yaml_parser_initialize(&r.parser)) {
		rc = ep_error_set(err, EP_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)r.s->text, len);
	rc = read_stream(&r);
	if (r.have_ev)
		yaml_event_delete(&r.ev);
	yaml_parser_delete(&r.parser);
out:
	if (rc) {
		scenario_destroy(r.s);
		return rc;
	}
	*out = r.s;
	return EP_OK;
}

int scenario_load(const char *path, struct scenario **out, struct ep_error *err)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t n;
	int rc;

	*out = NULL;
	if (!(f = fopen(path, "rb")))
		return ep_error_set(err, errno == ENOENT ? EP_ENOTFOUND : EP_EIO,
				    "scenario '%s': %s", path, strerror(errno));
	if (!(buf = malloc(SCENARIO_MAX_BYTES + 1))) {
		rc = ep_error_set(err, EP_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, SCENARIO_MAX_BYTES + 1, f);
	if (ferror(f)) {
		rc = ep_error_set(err, EP_EIO, "scenario '%s': cannot read it (%s)", path,
				  strerror(errno));
		goto out;
	}
	if (n > SCENARIO_MAX_BYTES) {
		rc = ep_error_set(err, EP_EINVAL, "scenario '%s': larger than %d bytes", path,
				  SCENARIO_MAX_BYTES);
		goto out;
	}
	rc = scenario_parse(path, buf, n, out, err);
out:
	free(buf);
	fclose(f);
	return rc;
}

void scenario_destroy(struct scenario *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n_entries; i++) {
		for (int j = 0; j < s->entries[i].n_values; j++)
			free(s->entries[i].values[j]);
		free(s->entries[i].values);
		free(s->entries[i].value_lines);
		free(s->entries[i].key);
	}
	free(s->entries);
	free(s->text);
	free(s->path);
	free(s);
}

const struct scenario_entry *scenario_find(const struct scenario *s, const char *key)
{
	for (int i = 0; s && i < s->n_entries; i++)
		if (strcmp(s->entries[i].key, key) == 0)
			return &s->entries[i];
	return NULL;
}
