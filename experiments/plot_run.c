/*
 * What `edgepipe plot` runs (plot.h): the --format grammar, a sweep database's figures with its
 * summary.md, a layer profile file's figure, and the line that reports each.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model_lprofile.h"
#include "plot.h"
#include "summary.h"

int plot_formats_parse(const char *s, unsigned *out, struct ep_error *err)
{
	char buf[64], *save;

	*out = 0;
	if (strlen(s) >= sizeof(buf) || !*s || strstr(s, ",,") || *s == ',' ||
	    s[strlen(s) - 1] == ',')
		goto bad;
	strcpy(buf, s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "png") == 0)
			*out |= PLOT_PNG;
		else if (strcmp(t, "svg") == 0)
			*out |= PLOT_SVG;
		else
			goto bad;
	}
	if (*out)
		return EP_OK;
bad:
	return ep_error_set(err, EP_EINVAL, "--format '%s': expected png, svg or png,svg", s);
}

/* Give `err` the code `code` and put the printf-style prefix before its message. */
static int error_prefix(struct ep_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int error_prefix(struct ep_error *err, int code, const char *fmt, ...)
{
	char pre[sizeof(err->msg)], msg[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return code;
	snprintf(msg, sizeof(msg), "%s", err->msg);
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	return ep_error_set(err, code, "%s%s", pre, msg);
}

/* summary.md of `db` into `dir`. */
static int write_summary(struct sqlite3 *db, const char *dir, const struct plot_options *o,
			 struct ep_error *err)
{
	char path[PATH_MAX];
	FILE *md;
	int rc;

	if (snprintf(path, sizeof(path), "%s/summary.md", dir) >= (int)sizeof(path))
		return ep_error_set(err, EP_EINVAL, "--out '%s': path too long", dir);
	md = fopen(path, "w");
	if (!md)
		return ep_error_set(err, EP_EIO, "cannot write '%s': %s", path, strerror(errno));
	rc = summary_write_markdown(db, o->bw_classes, md, err);
	if (fclose(md) != 0 && !rc)
		return ep_error_set(err, EP_EIO, "cannot write '%s': %s", path, strerror(errno));
	return rc ? error_prefix(err, rc, "plot: '%s': ", path) : EP_OK;
}

int plot_sweep_write(const char *db_path, const char *dir, const struct plot_options *o,
		     int *n_figures, struct ep_error *err)
{
	struct sqlite3 *db = NULL;
	char gnuplot[PATH_MAX];
	int rc;

	ep_error_clear(err);
	EP_CHECK(plot_db_open(db_path, &db, err));
	EP_CHECK_GOTO(plot_prepare_dir(dir, err), rc, out);
	/* A missing gnuplot is the machine's, not the user's input. */
	if (plot_gnuplot_find(gnuplot, sizeof(gnuplot), err)) {
		rc = error_prefix(err, EP_EIO, "%s", "");
		goto out;
	}
	rc = plot_figures(db, dir, o, n_figures, err);
	if (rc) {
		rc = error_prefix(err, rc == EP_EINVAL ? EP_EINVAL : EP_EIO,
				  "plot: database '%s': ", db_path);
		goto out;
	}
	rc = write_summary(db, dir, o, err);
out:
	plot_db_close(db);
	return rc;
}

void plot_report_write(FILE *f, const char *dir, int n_figures, unsigned formats)
{
	fprintf(f, "%d figures (%s%s%s) and summary.md in %s\n", n_figures,
		formats & PLOT_PNG ? "png" : "",
		(formats & PLOT_PNG) && (formats & PLOT_SVG) ? ", " : "",
		formats & PLOT_SVG ? "svg" : "", dir);
}

int plot_lprofile_file(const char *path, const char *dir, const struct plot_options *o, char *base,
		       size_t base_size, struct ep_error *err)
{
	struct model_lprofile *lp = NULL;
	int rc = model_lprofile_load(path, &lp, err);

	if (!rc) {
		rc = plot_lprofile(lp, dir, o, base, base_size, err);
		/* A missing gnuplot is the machine's, not the user's input. */
		if (rc == EP_ENOTFOUND)
			rc = error_prefix(err, EP_EIO, "%s", "");
	}
	model_lprofile_destroy(lp);
	return rc;
}

void plot_lprofile_report_write(FILE *f, const char *dir, const char *base, unsigned formats)
{
	fprintf(f, "%s/%s.%s\n", dir, base,
		(formats & PLOT_PNG) && (formats & PLOT_SVG) ? "{png,svg,gp,dat}"
		: formats & PLOT_PNG			     ? "png"
							     : "svg");
}
