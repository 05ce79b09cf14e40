#include "algo.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "algo_internal.h"
#include "ep_units.h"
#include "ep_util.h"

const struct algo *const algo_registry[] = {
	&algo_random, &algo_greedy, &algo_seifer, &algo_joint, &algo_defer, &algo_optimal,
	&algo_feltin, NULL,
};

const char *algo_variant_name(enum algo_variant v)
{
	return v == ALGO_PUBLISHED ? "published" : "corrected";
}

int algo_variant_from_name(const char *name)
{
	if (strcmp(name, "corrected") == 0)
		return ALGO_CORRECTED;
	if (strcmp(name, "published") == 0)
		return ALGO_PUBLISHED;
	return -1;
}

const struct algo *algo_find_in(const struct algo *const *registry, const char *name)
{
	for (int i = 0; registry[i]; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

const struct algo *algo_find(const char *name)
{
	return algo_find_in(algo_registry, name);
}

/* ---- options ---- */

int algo_option_parse_int(const struct algo_option *self, const char *arg, union algo_value *out,
			  struct ep_error *err)
{
	long min = (long)self->min, max = (long)self->max, v;
	char *end;

	errno = 0;
	v = arg ? strtol(arg, &end, 10) : 0;
	if (!arg || !*arg || *end || errno || v < min || v > max)
		return ep_error_set(err, EP_EINVAL, "--%s '%s': expected an integer from %ld to %ld",
				    self->name, arg ? arg : "", min, max);
	out->i = v;
	return EP_OK;
}

int algo_option_parse_real(const struct algo_option *self, const char *arg,
			   union algo_value *out, struct ep_error *err)
{
	char *end;
	double v;

	errno = 0;
	v = arg ? strtod(arg, &end) : 0;
	if (!arg || !*arg || *end || errno || !isfinite(v) || v < self->min || v > self->max)
		return ep_error_set(err, EP_EINVAL, "--%s '%s': expected a number from %g to %g",
				    self->name, arg ? arg : "", self->min, self->max);
	out->d = v;
	return EP_OK;
}

int algo_option_parse_duration(const struct algo_option *self, const char *arg,
			       union algo_value *out, struct ep_error *err)
{
	struct ep_error e;
	double v = 0;

	if (!arg || ep_parse_duration(arg, &v, &e) || !(v > 0))
		return ep_error_set(err, EP_EINVAL,
				    "--%s '%s': expected a positive duration such as 2s", self->name,
				    arg ? arg : "");
	out->d = v;
	return EP_OK;
}

int algo_option_parse_flag(const struct algo_option *self, const char *arg,
			   union algo_value *out, struct ep_error *err)
{
	if (arg)
		return ep_error_set(err, EP_EINVAL, "--%s takes no value ('%s')", self->name, arg);
	out->i = 1;
	return EP_OK;
}

void algo_option_format_int(const struct algo_option *self, union algo_value v, char *buf,
			    size_t size)
{
	(void)self;
	snprintf(buf, size, "%ld", v.i);
}

/* The shortest of %.15g and %.17g that reads back as the value: "0.005", not 0.0050000000000000001. */
void algo_option_format_real(const struct algo_option *self, union algo_value v, char *buf,
			     size_t size)
{
	(void)self;
	snprintf(buf, size, "%.15g", v.d);
	if (strtod(buf, NULL) != v.d)
		snprintf(buf, size, "%.17g", v.d);
}

void algo_option_format_duration(const struct algo_option *self, union algo_value v, char *buf,
				 size_t size)
{
	size_t k;

	algo_option_format_real(self, v, buf, size);
	k = strlen(buf);
	snprintf(buf + k, size - k, " s");
}

void algo_option_format_flag(const struct algo_option *self, union algo_value v, char *buf,
			     size_t size)
{
	(void)self;
	snprintf(buf, size, "%s", v.i ? "on" : "off");
}

union algo_value algo_options_get(const struct algo_options *o, const struct algo_option *opt)
{
	for (int i = 0; i < o->n_values; i++)
		if (strcmp(o->values[i].name, opt->name) == 0)
			return o->values[i].v;
	return opt->def;
}

long algo_options_int(const struct algo_options *o, const struct algo_option *opt)
{
	return algo_options_get(o, opt).i;
}

double algo_options_real(const struct algo_options *o, const struct algo_option *opt)
{
	return algo_options_get(o, opt).d;
}

int algo_options_set(struct algo_options *o, const char *name, union algo_value v)
{
	for (int i = 0; i < o->n_values; i++)
		if (strcmp(o->values[i].name, name) == 0) {
			o->values[i].v = v;
			return EP_OK;
		}
	if (o->n_values == ALGO_OPTIONS_MAX)
		return EP_ELIMIT;
	o->values[o->n_values].name = name;
	o->values[o->n_values++].v = v;
	return EP_OK;
}

int algo_options_set_int(struct algo_options *o, const char *name, long v)
{
	return algo_options_set(o, name, (union algo_value){ .i = v });
}

int algo_options_set_real(struct algo_options *o, const char *name, double v)
{
	return algo_options_set(o, name, (union algo_value){ .d = v });
}

int algo_options_parse(struct algo_options *o, const struct algo_option *opt, const char *arg,
		       struct ep_error *err)
{
	union algo_value v;
	int rc = opt->parse(opt, arg, &v, err);

	if (rc)
		return rc;
	if (algo_options_set(o, opt->name, v))
		return ep_error_set(err, EP_ELIMIT, "--%s: more than %d algorithm options given",
				    opt->name, ALGO_OPTIONS_MAX);
	return EP_OK;
}

const struct algo_option *algo_option_of(const struct algo *a, const char *name)
{
	for (const struct algo_option *x = a->options; x && x->name; x++)
		if (strcmp(x->name, name) == 0)
			return x;
	return NULL;
}

int algo_option_list(const struct algo *const *registry, const struct algo_option **out,
		     int max)
{
	int n = 0;

	for (int i = 0; registry[i]; i++)
		for (const struct algo_option *x = registry[i]->options; x && x->name; x++) {
			bool seen = false;

			for (int j = 0; j < i && !seen; j++)
				seen = algo_option_of(registry[j], x->name) != NULL;
			if (seen)
				continue;
			if (n < max)
				out[n] = x;
			n++;
		}
	return n;
}

const struct algo_option *algo_option_find(const struct algo *const *registry, const char *name)
{
	const struct algo_option *x;

	for (int i = 0; registry[i]; i++)
		if ((x = algo_option_of(registry[i], name)))
			return x;
	return NULL;
}

void algo_names_format(const struct algo *const *registry, const char *default_name, char *buf,
		       size_t size)
{
	size_t k = 0;

	buf[0] = '\0';
	for (int i = 0; registry[i] && k < size; i++)
		k += (size_t)snprintf(buf + k, size - k, "%s%s%s", i ? ", " : "", registry[i]->name,
				      default_name && strcmp(registry[i]->name, default_name) == 0
					      ? " (default)" : "");
}

/* Write `text` with every line after the first indented by `indent` spaces. */
static void write_indented(FILE *f, const char *text, int indent)
{
	for (const char *c = text; *c; c++) {
		fputc(*c, f);
		if (*c == '\n' && c[1])
			fprintf(f, "%*s", indent, "");
	}
	fputc('\n', f);
}

void algo_usage_write(FILE *f, const struct algo *const *registry, const char *default_name)
{
	for (int i = 0; registry[i]; i++) {
		const struct algo *a = registry[i];
		char head[64];

		snprintf(head, sizeof(head), "%s%s", a->name,
			 default_name && strcmp(a->name, default_name) == 0 ? " (default)" : "");
		fprintf(f, "  %-*s ", 26, head);
		write_indented(f, a->summary, 29);
		for (const struct algo_option *x = a->options; x && x->name; x++) {
			snprintf(head, sizeof(head), "--%s%s%s", x->name, x->arg ? " " : "",
				 x->arg ? x->arg : "");
			fprintf(f, "    %-*s ", 24, head);
			write_indented(f, x->usage, 29);
		}
	}
}

void algo_result_init(struct algo_result *r)
{
	memset(r, 0, sizeof(*r));
	plan_init(&r->plan);
}

void algo_result_release(struct algo_result *r)
{
	plan_release(&r->plan);
}

int algo_run(const struct algo *a, const struct problem *p, const struct algo_options *o,
	     gsl_rng *rng, struct algo_result *r, struct ep_error *err)
{
	struct ep_error e;
	double t0;
	int rc;

	ep_error_clear(&e);
	plan_clear(&r->plan);
	memset(&r->defects, 0, sizeof(r->defects));
	memset(&r->cost, 0, sizeof(r->cost));
	memset(&r->bound, 0, sizeof(r->bound));
	r->reason[0] = '\0';
	t0 = ep_now_s();
	if (a->solve_bounded)
		rc = a->solve_bounded(p, o, rng, &r->plan, &r->bound, &e);
	else
		rc = a->solve(p, o, rng, &r->plan, &e);
	r->solve_s = ep_now_s() - t0;
	r->status = rc;
	if (rc == EP_ENOMEM)
		return ep_error_set(err, rc, "%s: %s", a->name, e.msg);
	if (rc != EP_OK) {
		snprintf(r->reason, sizeof(r->reason), "%s", e.msg[0] ? e.msg : ep_strerror(rc));
		/* A time limit's best plan so far stays, to be checked and costed below. */
		if (!(rc == EP_ELIMIT && r->bound.has && r->plan.n_stages > 0)) {
			plan_clear(&r->plan);
			return EP_OK;
		}
	}
	rc = plan_check(p, &r->plan, &r->defects, &e);
	if (rc == EP_ENOMEM)
		return ep_error_set(err, rc, "%s", e.msg);
	if (rc && (o->variant == ALGO_CORRECTED || r->defects.structural))
		return ep_error_set(err, EP_EINTERNAL, "%s (%s variant) produced an invalid plan: %s",
				    a->name, algo_variant_name(o->variant), e.msg);
	plan_cost(p, &r->plan, &r->cost, NULL, NULL);
	return EP_OK;
}
