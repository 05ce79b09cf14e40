/*
 * The timeline's parser (timeline.h): one spec per --fault, --fail or line of a --faults file.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeline.h"
#include "ep_units.h"

#define MAX_TOKENS 12

static const char *const kind_names[] = { "kill",    "stall",   "link",  "bandwidth",
					  "loss",    "link-up", "update" };

const char *timeline_kind_name(enum timeline_kind kind)
{
	return (unsigned)kind < TIMELINE_KIND_COUNT_ ? kind_names[kind] : "?";
}

const char *timeline_target_str(const struct timeline_target *t, char *buf, int size)
{
	if (t->kind == TIMELINE_DISPATCHER)
		snprintf(buf, (size_t)size, "dispatcher");
	else
		snprintf(buf, (size_t)size, "%s%d", t->kind == TIMELINE_NODE ? "node" : "stage",
			 t->index);
	return buf;
}

struct parse {
	const char *spec; /* trimmed, for messages */
	char *tok[MAX_TOKENS];
	int n, pos, n_nodes;
	struct ep_error *err;
	char text[TIMELINE_TEXT_MAX];  /* the spec without its surrounding blanks */
	char words[TIMELINE_TEXT_MAX]; /* the same, cut into the words of tok */
};

static int fail(struct parse *ps, const char *tok, const char *why)
{
	if (tok)
		return ep_error_set(ps->err, EP_EINVAL, "fault '%s': '%s': %s", ps->spec, tok, why);
	return ep_error_set(ps->err, EP_EINVAL, "fault '%s': %s", ps->spec, why);
}

/* The next token, or NULL with an error saying what was expected. */
static const char *next(struct parse *ps, const char *what)
{
	if (ps->pos >= ps->n) {
		char why[200];

		snprintf(why, sizeof(why), "ends too early: expected %s", what);
		fail(ps, NULL, why);
		return NULL;
	}
	return ps->tok[ps->pos++];
}

/* "node3", "stage1" or (when allow_dispatcher) "dispatcher". */
static int target(struct parse *ps, const char *tok, bool allow_dispatcher, struct timeline_target *t)
{
	const char *digits;
	char *end, why[160];
	long v;

	if (strcmp(tok, "dispatcher") == 0) {
		if (!allow_dispatcher)
			return fail(ps, tok, "the dispatcher does not fail; name a node (nodeN) or a "
					     "stage (stageK)");
		t->kind = TIMELINE_DISPATCHER;
		t->index = 0;
		return EP_OK;
	}
	if (strncmp(tok, "node", 4) == 0) {
		t->kind = TIMELINE_NODE;
		digits = tok + 4;
	} else if (strncmp(tok, "stage", 5) == 0) {
		t->kind = TIMELINE_STAGE;
		digits = tok + 5;
	} else {
		return fail(ps, tok, allow_dispatcher
					     ? "expected nodeN, stageK or dispatcher"
					     : "expected nodeN or stageK");
	}
	errno = 0;
	v = strtol(digits, &end, 10);
	if (*digits < '0' || *digits > '9' || *end || errno || v < 0 || v > 1000000)
		return fail(ps, tok, "expected a number after 'node' or 'stage', e.g. node3");
	if (t->kind == TIMELINE_NODE && v >= ps->n_nodes) {
		snprintf(why, sizeof(why), "the cluster has node0 .. node%d", ps->n_nodes - 1);
		return fail(ps, tok, why);
	}
	t->index = (int)v;
	return EP_OK;
}

static int expect_word(struct parse *ps, const char *word, const char *hint)
{
	const char *tok = next(ps, hint);

	if (!tok)
		return EP_EINVAL;
	if (strcmp(tok, word) != 0) {
		char why[200];

		snprintf(why, sizeof(why), "expected %s", hint);
		return fail(ps, tok, why);
	}
	return EP_OK;
}

static int duration(struct parse *ps, const char *tok, bool zero_ok, double *out)
{
	struct ep_error e;

	if (ep_parse_duration(tok, out, &e) != EP_OK)
		return fail(ps, tok, "expected a time such as 10s or 250ms");
	if (!isfinite(*out) || *out < 0 || (!zero_ok && *out == 0) || *out > 1e7)
		return fail(ps, tok, zero_ok ? "the time must be from 0 s to 1e7 s"
					     : "the duration must be above 0 s and at most 1e7 s");
	return EP_OK;
}

/* "at TIME" and, if allowed, "for DURATION"; required_for says whether "for" must be there. */
static int when(struct parse *ps, struct timeline_fault *f, bool allow_for, bool require_for)
{
	const char *tok;
	int rc = expect_word(ps, "at", "'at TIME'");

	if (rc)
		return rc;
	if (!(tok = next(ps, "a time after 'at'")))
		return EP_EINVAL;
	if ((rc = duration(ps, tok, true, &f->at_s)))
		return rc;
	f->for_s = 0;
	if (ps->pos < ps->n) {
		tok = ps->tok[ps->pos++];
		if (strcmp(tok, "for") != 0 || !allow_for)
			return fail(ps, tok, allow_for ? "expected 'for DURATION' or the end"
						       : "unexpected after the time (a kill lasts)");
		if (!(tok = next(ps, "a duration after 'for'")))
			return EP_EINVAL;
		if ((rc = duration(ps, tok, false, &f->for_s)))
			return rc;
	} else if (require_for) {
		return fail(ps, NULL, "a stall needs 'for DURATION' (e.g. 'stall node2 at 50s for "
				      "3s')");
	}
	if (ps->pos < ps->n)
		return fail(ps, ps->tok[ps->pos], "unexpected after the duration");
	return EP_OK;
}

static int two_ends(struct parse *ps, struct timeline_fault *f)
{
	const char *t1 = next(ps, "two ends (nodeN, stageK or dispatcher)"), *t2;
	int rc;

	if (!t1 || (rc = target(ps, t1, true, &f->a)))
		return EP_EINVAL;
	if (!(t2 = next(ps, "a second end (nodeN, stageK or dispatcher)")) ||
	    (rc = target(ps, t2, true, &f->b)))
		return EP_EINVAL;
	if (f->a.kind == f->b.kind && f->a.index == f->b.index)
		return fail(ps, t2, "both ends are the same");
	f->pair = true;
	return EP_OK;
}

static int percent(struct parse *ps, const char *tok, double *out)
{
	size_t len = strlen(tok);
	char buf[64], *end;
	double v;

	if (len < 2 || len >= sizeof(buf) || tok[len - 1] != '%')
		return fail(ps, tok, "expected a loss in percent, e.g. 5%");
	memcpy(buf, tok, len - 1);
	buf[len - 1] = '\0';
	v = strtod(buf, &end);
	if (end == buf || *end || !(v >= 0 && v < 100))
		return fail(ps, tok, "the loss must be from 0% to below 100%");
	*out = v / 100;
	return EP_OK;
}

/* Is tok a node/stage/dispatcher name (used to tell "loss A B 5%" from "loss A 5%")? */
static bool looks_like_end(const char *tok)
{
	return strncmp(tok, "node", 4) == 0 || strncmp(tok, "stage", 5) == 0 ||
	       strcmp(tok, "dispatcher") == 0;
}

/* The spec without its surrounding blanks into ps->text, and its words into ps->tok. */
static int tokenize(struct parse *ps, const char *spec)
{
	char *save = NULL, *t;
	size_t len;

	while (*spec == ' ' || *spec == '\t')
		spec++;
	len = strlen(spec);
	while (len > 0 && (spec[len - 1] == ' ' || spec[len - 1] == '\t' || spec[len - 1] == '\n' ||
			   spec[len - 1] == '\r'))
		len--;
	if (len >= sizeof(ps->text))
		return ep_error_set(ps->err, EP_EINVAL,
				    "fault '%.60s...': longer than %d characters", spec,
				    (int)sizeof(ps->text) - 1);
	memcpy(ps->text, spec, len);
	ps->text[len] = '\0';
	ps->spec = ps->text;
	memcpy(ps->words, ps->text, len + 1);
	for (t = strtok_r(ps->words, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (ps->n == MAX_TOKENS)
			return fail(ps, t, "too many words");
		ps->tok[ps->n++] = t;
	}
	if (ps->n == 0)
		return ep_error_set(ps->err, EP_EINVAL,
				    "fault '': empty; expected e.g. 'kill node3 at 10s'");
	return EP_OK;
}

/* "kill TARGET at TIME", "stall TARGET at TIME for DURATION". */
static int parse_kill(struct parse *ps, const char *word, struct timeline_fault *f)
{
	const char *tok;

	f->kind = word[0] == 'k' ? TIMELINE_KILL : TIMELINE_STALL;
	if (!(tok = next(ps, "a node (nodeN) or stage (stageK)")) ||
	    target(ps, tok, false, &f->a) ||
	    when(ps, f, f->kind == TIMELINE_STALL, f->kind == TIMELINE_STALL))
		return EP_EINVAL;
	return EP_OK;
}

/* The older spelling "node N at TIME" (sim --fail). */
static int parse_node(struct parse *ps, const char *word, struct timeline_fault *f)
{
	const char *tok;
	char name[32];

	(void)word;
	f->kind = TIMELINE_KILL;
	if (!(tok = next(ps, "a node number")))
		return EP_EINVAL;
	if (*tok < '0' || *tok > '9' ||
	    snprintf(name, sizeof(name), "node%s", tok) >= (int)sizeof(name))
		return fail(ps, tok,
			    "expected a node number, as in 'node N at TIME' (e.g. "
			    "'node 3 at 20s'), or 'kill nodeN at TIME'");
	if (target(ps, name, false, &f->a) || when(ps, f, false, false))
		return EP_EINVAL;
	return EP_OK;
}

/* "link A B down at TIME [for DURATION]", "link A B up at TIME". */
static int parse_link(struct parse *ps, const char *word, struct timeline_fault *f)
{
	(void)word;
	f->kind = TIMELINE_LINK_DOWN;
	if (two_ends(ps, f))
		return EP_EINVAL;
	if (ps->pos < ps->n && strcmp(ps->tok[ps->pos], "up") == 0) {
		ps->pos++;
		f->kind = TIMELINE_LINK_UP;
		if (when(ps, f, false, false))
			return EP_EINVAL;
	} else if (expect_word(ps, "down", "'down' or 'up' after the two ends") ||
		   when(ps, f, true, false)) {
		return EP_EINVAL;
	}
	return EP_OK;
}

/* "update MODEL at TIME". */
static int parse_update(struct parse *ps, const char *word, struct timeline_fault *f)
{
	const char *tok;

	(void)word;
	f->kind = TIMELINE_UPDATE;
	if (!(tok = next(ps, "a model (zoo name or file)")))
		return EP_EINVAL;
	if (strcmp(tok, "at") == 0)
		return fail(ps, tok, "expected a model (zoo name or file) before 'at'");
	snprintf(f->model, sizeof(f->model), "%s", tok);
	if (when(ps, f, false, false))
		return EP_EINVAL;
	return EP_OK;
}

/* "bandwidth A B RATE at TIME [for DURATION]". */
static int parse_bandwidth(struct parse *ps, const char *word, struct timeline_fault *f)
{
	const char *tok;
	struct ep_error e;

	(void)word;
	f->kind = TIMELINE_BANDWIDTH;
	if (two_ends(ps, f) || !(tok = next(ps, "a rate such as 2Mbit")))
		return EP_EINVAL;
	if (ep_parse_bitrate(tok, &f->value, &e) != EP_OK || !(f->value > 0) ||
	    !isfinite(f->value) || f->value > 1e12)
		return fail(ps, tok, "expected a positive rate such as 2Mbit");
	if (when(ps, f, true, false))
		return EP_EINVAL;
	return EP_OK;
}

/* "loss A [B] PERCENT at TIME [for DURATION]". */
static int parse_loss(struct parse *ps, const char *word, struct timeline_fault *f)
{
	const char *tok;

	(void)word;
	f->kind = TIMELINE_LOSS;
	if (ps->pos + 1 < ps->n && looks_like_end(ps->tok[ps->pos + 1])) {
		if (two_ends(ps, f))
			return EP_EINVAL;
	} else if (!(tok = next(ps, "a node (nodeN) or stage (stageK)")) ||
		   target(ps, tok, false, &f->a)) {
		return EP_EINVAL;
	}
	if (!(tok = next(ps, "a loss in percent, e.g. 5%")) || percent(ps, tok, &f->value) ||
	    when(ps, f, true, false))
		return EP_EINVAL;
	return EP_OK;
}

/* The grammar's first words, each with the parser of the rest of its spec. */
static const struct {
	const char *word;
	int (*parse)(struct parse *ps, const char *word, struct timeline_fault *f);
} kind_parsers[] = {
	{"kill", parse_kill}, {"stall", parse_kill},	{"node", parse_node},
	{"link", parse_link}, {"update", parse_update}, {"bandwidth", parse_bandwidth},
	{"loss", parse_loss},
};

int timeline_fault_parse(const char *spec, int n_nodes, struct timeline_fault *out,
			 struct ep_error *err)
{
	struct parse ps = {.n_nodes = n_nodes, .err = err};
	struct timeline_fault f;
	const char *tok;
	int rc = tokenize(&ps, spec);

	if (rc)
		return rc;
	memset(&f, 0, sizeof(f));
	memcpy(f.text, ps.text, strlen(ps.text) + 1);
	tok = next(&ps, "a kind");
	for (size_t i = 0; i < sizeof(kind_parsers) / sizeof(kind_parsers[0]); i++)
		if (strcmp(tok, kind_parsers[i].word) == 0) {
			if (kind_parsers[i].parse(&ps, tok, &f))
				return EP_EINVAL;
			*out = f;
			return EP_OK;
		}
	return fail(&ps, tok, "expected kill, stall, link, bandwidth, loss or update");
}

int timeline_read_file(const char *path, int n_nodes, struct timeline_fault **v, int *n,
			struct ep_error *err)
{
	FILE *fp = fopen(path, "r");
	struct timeline_fault *acc = NULL;
	char line[1024];
	int count = 0, cap = 0, lineno = 0, rc = EP_OK;

	if (!fp)
		return ep_error_set(err, errno == ENOENT ? EP_ENOTFOUND : EP_EIO,
				    "--faults '%s': %s", path, strerror(errno));
	while (fgets(line, sizeof(line), fp)) {
		struct timeline_fault f;
		struct ep_error e;
		char *hash = strchr(line, '#'), *p = line;

		lineno++;
		if (!strchr(line, '\n') && !feof(fp)) {
			rc = ep_error_set(err, EP_EINVAL, "%s:%d: line longer than %d characters",
					  path, lineno, (int)sizeof(line) - 2);
			goto out;
		}
		if (hash)
			*hash = '\0';
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			continue;
		if (timeline_fault_parse(p, n_nodes, &f, &e) != EP_OK) {
			rc = ep_error_set(err, EP_EINVAL, "%s:%d: %s", path, lineno, e.msg);
			goto out;
		}
		if (count == cap) {
			struct timeline_fault *nv;

			cap = cap ? 2 * cap : 8;
			nv = realloc(acc, (size_t)cap * sizeof(*nv));
			if (!nv) {
				rc = ep_error_set(err, EP_ENOMEM, "out of memory reading '%s'", path);
				goto out;
			}
			acc = nv;
		}
		acc[count++] = f;
	}
	if (ferror(fp)) {
		rc = ep_error_set(err, EP_EIO, "--faults '%s': read error", path);
		goto out;
	}
	if (count > 0) {
		struct timeline_fault *nv = realloc(*v, ((size_t)*n + (size_t)count) * sizeof(*nv));

		if (!nv) {
			rc = ep_error_set(err, EP_ENOMEM, "out of memory reading '%s'", path);
			goto out;
		}
		memcpy(nv + *n, acc, (size_t)count * sizeof(*nv));
		*v = nv;
		*n += count;
	}
out:
	free(acc);
	fclose(fp);
	return rc;
}

/* The two "%s%s" arguments that begin a message with where the spec was written. */
#define WHERE(f) (f)->where ? (f)->where : "", (f)->where ? ": " : ""

int timeline_check_stages(const struct timeline_fault *v, int n, int n_stages, struct ep_error *err)
{
	for (int i = 0; i < n; i++) {
		const struct timeline_target *t[2] = { &v[i].a, v[i].pair ? &v[i].b : NULL };

		for (int k = 0; k < 2; k++) {
			char name[32];

			if (!t[k] || t[k]->kind != TIMELINE_STAGE || t[k]->index < n_stages)
				continue;
			timeline_target_str(t[k], name, sizeof(name));
			return ep_error_set(err, EP_EINVAL, "%s%sfault '%s': '%s': the plan has %d "
					    "stage%s (stage0 .. stage%d), so it would never fire",
					    WHERE(&v[i]), v[i].text, name, n_stages, n_stages == 1 ? "" : "s",
					    n_stages - 1);
		}
	}
	return EP_OK;
}

static bool same_pair(const struct timeline_fault *x, const struct timeline_fault *y)
{
	const struct timeline_target *a = &x->a, *b = &x->b, *c = &y->a, *d = &y->b;

	return (a->kind == c->kind && a->index == c->index && b->kind == d->kind &&
		b->index == d->index) ||
	       (a->kind == d->kind && a->index == d->index && b->kind == c->kind &&
		b->index == c->index);
}

int timeline_resolve(struct timeline_fault *v, int *n, struct timeline_fault *upd, int max_upd,
		     int *n_upd, struct ep_error *err)
{
	int kept = 0;

	*n_upd = 0;
	for (int i = 0; i < *n; i++) {
		struct timeline_fault *f = &v[i];

		if (f->kind == TIMELINE_UPDATE) {
			if (*n_upd == max_upd)
				return ep_error_set(err, EP_EINVAL, "%s%sfault '%s': more than %d "
						    "update%s", WHERE(f), f->text, max_upd,
						    max_upd == 1 ? "" : "s");
			upd[(*n_upd)++] = *f;
			continue;
		}
		if (f->kind == TIMELINE_LINK_UP) {
			struct timeline_fault *cut = NULL;

			/* The latest open cut of the pair that started before the 'up'. */
			for (int j = 0; j < kept; j++)
				if (v[j].kind == TIMELINE_LINK_DOWN && v[j].for_s == 0 &&
				    v[j].at_s < f->at_s && same_pair(&v[j], f) &&
				    (!cut || v[j].at_s >= cut->at_s))
					cut = &v[j];
			if (!cut)
				return ep_error_set(err, EP_EINVAL, "%s%sfault '%s': no 'link ... "
						    "down' of that pair without 'for' before %g s",
						    WHERE(f), f->text, f->at_s);
			cut->for_s = f->at_s - cut->at_s;
			continue;
		}
		v[kept++] = *f;
	}
	*n = kept;
	return EP_OK;
}
