/*
 * compare_write: the comparison's table as text, CSV and JSON (compare.h). JSON goes through
 * jansson; numbers keep 17 significant digits, and what was not measured is null.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include <jansson.h>

#include "compare.h"
#include "compare_internal.h"

/* %.6g of v x scale, or "-" for a value that was not measured. */
static const char *num(double v, double scale, char *buf, size_t size)
{
	if (!isfinite(v))
		return isinf(v) ? "inf" : "-";
	snprintf(buf, size, "%.6g", v * scale);
	return buf;
}

static const char *count(int64_t v, char *buf, size_t size)
{
	if (v < 0)
		return "-";
	snprintf(buf, size, "%" PRId64, v);
	return buf;
}

enum field { F_TP, F_P50, F_P95, F_P99, F_DET, F_REC, F_COUNT_ };

static double field(const struct compare_row *r, enum field f)
{
	switch (f) {
	case F_TP: return r->throughput;
	case F_P50: return r->latency_p50_s;
	case F_P95: return r->latency_p95_s;
	case F_P99: return r->latency_p99_s;
	case F_DET: return r->detection_s;
	default: return r->recovery_s;
	}
}

static const char *const field_label[F_COUNT_] = {
	"throughput (/s)", "latency p50 (ms)", "latency p95 (ms)", "latency p99 (ms)",
	"detection (s)", "recovery (s)",
};

static int64_t counter(const struct compare_row *r, int k)
{
	const int64_t v[] = { r->issued, r->answered, r->resent, r->lost, r->duplicated };

	return v[k];
}

static const char *const counter_label[] = {
	"requests issued", "requests answered", "requests resent", "requests lost",
	"duplicated",
};

int compare_write_text(FILE *f, const struct compare_report *r, const char *title)
{
	const struct compare_row *sim = &r->rows[COMPARE_SIM], *emu = &r->rows[COMPARE_EMU];
	char x[32];

	if (title)
		fprintf(f, "%s\n", title);
	fprintf(f, "\n%-22s", "");
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++)
		fprintf(f, " %14s", compare_backend_name((enum compare_backend)b));
	fprintf(f, "\n");
	for (int k = 0; k < F_COUNT_; k++) {
		double scale = k >= F_P50 && k <= F_P99 ? 1e3 : 1;

		fprintf(f, "%-22s", field_label[k]);
		for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++)
			fprintf(f, " %14s", r->rows[b].ran ? num(field(&r->rows[b], (enum field)k),
								 scale, x, sizeof(x))
							   : "-");
		fprintf(f, "\n");
	}
	for (int k = 0; k < 5; k++) {
		fprintf(f, "%-22s", counter_label[k]);
		for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++)
			fprintf(f, " %14s", count(counter(&r->rows[b], k), x, sizeof(x)));
		fprintf(f, "\n");
	}
	if (sim->ran && emu->ran) {
		fprintf(f, "\nemu against sim: throughput %+.2f %%", (emu->throughput /
								   sim->throughput - 1) * 100);
		if (isfinite(emu->recovery_s) && isfinite(sim->recovery_s))
			fprintf(f, ", recovery %+.3f s", emu->recovery_s - sim->recovery_s);
		fprintf(f, "\n");
	}
	fprintf(f, "\n");
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++)
		if (r->rows[b].note[0])
			fprintf(f, "%s: %s\n", compare_backend_name((enum compare_backend)b),
				r->rows[b].note);
	return ferror(f) ? EP_EIO : EP_OK;
}

static void csv_field(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* %.17g, or empty for a value that was not measured. */
static void csv_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, ",%.17g", v);
	else
		fprintf(f, ",");
}

static void csv_count(FILE *f, int64_t v)
{
	if (v >= 0)
		fprintf(f, ",%" PRId64, v);
	else
		fprintf(f, ",");
}

int compare_write_csv(FILE *f, const struct compare_report *r)
{
	fprintf(f, "backend,ran,throughput,latency_p50_s,latency_p95_s,latency_p99_s,"
		   "detection_s,recovery_s,issued,answered,resent,lost,duplicated,note\n");
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++) {
		const struct compare_row *w = &r->rows[b];

		fprintf(f, "%s,%d", compare_backend_name(w->backend), w->ran);
		for (int k = 0; k < F_COUNT_; k++)
			csv_num(f, w->ran ? field(w, (enum field)k) : NAN);
		for (int k = 0; k < 5; k++)
			csv_count(f, counter(w, k));
		fputc(',', f);
		csv_field(f, w->note);
		fputc('\n', f);
	}
	return ferror(f) ? EP_EIO : EP_OK;
}

/* A real, or null when not measured (JSON has no NaN or infinity). */
static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jcount(int64_t v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

static const char *const field_key[F_COUNT_] = {
	"throughput", "latency_p50_s", "latency_p95_s", "latency_p99_s", "detection_s",
	"recovery_s",
};
static const char *const counter_key[] = { "issued", "answered", "resent", "lost",
					   "duplicated" };

static json_t *row_json(const struct compare_row *w)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "backend", json_string(compare_backend_name(w->backend)));
	json_object_set_new(o, "ran", json_boolean(w->ran));
	for (int k = 0; k < F_COUNT_; k++)
		json_object_set_new(o, field_key[k], jnum(w->ran ? field(w, (enum field)k) : NAN));
	for (int k = 0; k < 5; k++)
		json_object_set_new(o, counter_key[k], jcount(counter(w, k)));
	json_object_set_new(o, "note", json_string(w->note));
	return o;
}

static json_t *report_json(const struct compare_report *r, const char *title,
			   const char *scenario_path, const char *scenario_text)
{
	json_t *o = json_object(), *rows = json_array(), *series = json_object(),
	       *marks = json_array();

	if (!o || !rows || !series || !marks) {
		json_decref(o);
		json_decref(rows);
		json_decref(series);
		json_decref(marks);
		return NULL;
	}
	json_object_set_new(o, "title", title ? json_string(title) : json_null());
	if (scenario_text)
		json_object_set_new(o, "scenario", json_pack("{s:s?, s:s}", "path", scenario_path,
							     "text", scenario_text));
	json_object_set_new(o, "analytic_bottleneck_s", jnum(r->analytic_bottleneck_s));
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++)
		json_array_append_new(rows, row_json(&r->rows[b]));
	json_object_set_new(o, "rows", rows);
	json_object_set_new(o, "bin_s", json_real(r->bin_s));
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++) {
		json_t *a = r->series[b] ? json_array() : json_null();

		for (int i = 0; r->series[b] && i < r->n_bins; i++)
			json_array_append_new(a, jnum(r->series[b][i]));
		json_object_set_new(series, compare_backend_name((enum compare_backend)b), a);
	}
	json_object_set_new(o, "series", series);
	for (int i = 0; i < r->n_marks; i++) {
		const struct compare_mark *m = &r->marks[i];

		json_array_append_new(marks, json_pack("{s:s, s:f, s:s, s:s}", "backend",
						       m->backend < 0 ? "timeline"
						       : compare_backend_name((enum compare_backend)m->backend),
						       "t_s", m->t_s, "kind", m->kind, "text", m->text));
	}
	json_object_set_new(o, "marks", marks);
	return o;
}

int compare_write_json(FILE *f, const struct compare_report *r, const char *title,
		       const char *scenario_path, const char *scenario_text)
{
	json_t *o = report_json(r, title, scenario_path, scenario_text);
	int rc;

	if (!o)
		return EP_ENOMEM;
	rc = json_dumpf(o, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	json_decref(o);
	fputc('\n', f);
	return rc || ferror(f) ? EP_EIO : EP_OK;
}

int compare_write(FILE *f, enum trial_format fmt, const struct compare *c)
{
	const struct trial_setup *t = c->t;

	if (fmt == TRIAL_CSV)
		return compare_write_csv(f, &c->rep);
	if (fmt == TRIAL_JSON)
		return compare_write_json(f, &c->rep, c->title, t->scenario_path, t->scenario_text);
	if (t->scenario_path)
		fprintf(f, "scenario: %s\n", t->scenario_path);
	return compare_write_text(f, &c->rep, c->title);
}
