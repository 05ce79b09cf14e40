/*
 * plot: the figures of a sweep database (store.h), drawn by gnuplot.
 *
 * plot_figures reads the `results` table and writes into one directory, for each figure, its
 * data (NAME.dat, gnuplot's format, one block per series), its script (NAME.gp, which re-plots
 * from this directory with `gnuplot NAME.gp`) and the images NAME.png and NAME.svg; and
 * figures.gp, which loads every figure's script. gnuplot runs once, as a child process, on
 * figures.gp. PNG uses the pngcairo terminal where gnuplot has it, else png.
 *
 * The figures, with groups and files in sorted order (names compared byte by byte):
 *
 *   bottleneck-MODEL-MEM-VARIANT-CLUSTER   bottleneck latency (ms) against N, one line per
 *       algorithm, mean and 95 % confidence interval (Student t, n - 1 degrees of freedom)
 *       over the trials whose status is ok; the y axis is logarithmic when the means span
 *       more than a factor 10 (random beside the others) and all are positive;
 *   heatmap-ALGO-MODEL-MEM-VARIANT-CLUSTER  for each algorithm with bandwidth classes (seifer):
 *       its mean bottleneck per (class count C, N), the published paper's heat map;
 *   gap-MODEL-VARIANT-CLUSTER               the mean per-trial gap (b - b_opt) / b_opt in %
 *       to `optimal` against N, pooled over memory sizes, paired by trial: only trials where
 *       both rows are ok and b_opt > 0 (only when the database has `optimal` rows);
 *   solve-VARIANT                            mean solve time (s, log scale) against N per
 *       algorithm, pooled over models, memory sizes and clusters, over ok trials.
 *
 * MEM is the size as "64MiB"; names are reduced to [A-Za-z0-9._+-] in file names. Algorithms
 * with bandwidth classes appear in the per-algorithm figures at one class count (options).
 *
 * Trials that failed, were infeasible or hit a limit are never averaged in as zero: they are
 * excluded from every mean and counted, by status, in each figure's title (and each line's
 * key entry), and in the .dat files.
 *
 * Output is deterministic: the same database gives the same .dat, .gp and .svg files.
 */
#ifndef EDGEPIPE_PLOT_H
#define EDGEPIPE_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "ep_error.h"

struct sqlite3;

#define PLOT_PNG 1u
#define PLOT_SVG 2u

struct plot_options {
	/*
	 * The class count at which algorithms with bandwidth classes (seifer) are shown in the
	 * per-algorithm figures; 0: 8 if the database has it, else the median count present.
	 */
	int bw_classes;
	unsigned formats; /* PLOT_PNG | PLOT_SVG; 0 means both */
};

#define PLOT_OPTIONS_DEFAULT ((struct plot_options){0, PLOT_PNG | PLOT_SVG})

/*
 * Open the result database at `path` read-only and check that it is one (schema version of
 * store.h). EP_ENOTFOUND when the file does not exist, EP_EINVAL when it is unreadable or not
 * an edgepipe result database; the message names the path. *db is NULL on failure; close it
 * with plot_db_close.
 */
int plot_db_open(const char *path, struct sqlite3 **db, struct ep_error *err);
/* Accepts NULL. */
void plot_db_close(struct sqlite3 *db);

/*
 * The gnuplot executable on PATH into `buf`: EP_OK, or EP_ENOTFOUND with a message that says
 * gnuplot is needed and how to install it.
 */
int plot_gnuplot_find(char *buf, size_t size, struct ep_error *err);

/*
 * Create `dir` (and its parents) if needed and check that it is a writable directory.
 * EP_EINVAL naming the directory when it cannot be.
 */
int plot_prepare_dir(const char *dir, struct ep_error *err);

/*
 * Write every figure of `db` into `dir` (see above); `*n_figures` (may be NULL) receives how
 * many. `opt` may be NULL (PLOT_OPTIONS_DEFAULT). The caller keeps `db`.
 *
 * Returns EP_OK; EP_ENOTFOUND when gnuplot is not installed; EP_EINVAL when `dir` cannot be
 * written, the database is not ours or has no result rows, the class count is absent, or two
 * names reduce to one file name; EP_EIO when a file cannot be written or gnuplot fails (with
 * its first lines of output) or leaves an image missing or empty; EP_ENOMEM.
 *
 * Complexity: O(rows log rows) to sort the rows, plus one gnuplot process.
 */
int plot_figures(struct sqlite3 *db, const char *dir, const struct plot_options *opt,
		 int *n_figures, struct ep_error *err);

struct model_lprofile;

/*
 * The figure of a measured layer profile (model_lprofile.h): every layer's median time (ms)
 * against its FLOPs, both axes logarithmic, one colour per layer kind (op), with a dashed line
 * at the whole model's rate (the sum of FLOPs over the sum of the times). Layers without FLOPs
 * or without time (folded BatchNormalization, aliases, the input) cannot sit on log axes: they
 * are left out and counted in the title. Writes lprofile-MODEL.dat (one block per kind, in
 * sorted order: FLOPs, median seconds, layer name), lprofile-MODEL.gp and the images into `dir`
 * and runs gnuplot on the script; `base` (may be NULL) receives the file name without suffix.
 * Returns EP_OK, EP_ENOTFOUND (no gnuplot), EP_EINVAL (dir not writable, no layer to draw),
 * EP_EIO (a file, or gnuplot), EP_ENOMEM.
 * Complexity: O(layers x kinds) plus one gnuplot process.
 */
int plot_lprofile(const struct model_lprofile *lp, const char *dir,
		  const struct plot_options *opt, char *base, size_t base_size,
		  struct ep_error *err);

/* --format's grammar: "png", "svg" or both, comma-separated, into PLOT_PNG | PLOT_SVG.
 * EP_EINVAL naming the value. */
int plot_formats_parse(const char *s, unsigned *formats, struct ep_error *err);

/*
 * `edgepipe plot --db`: the figures of the sweep database at `db_path` (plot_figures) and its
 * summary.md (summary.h) into `dir`, created if missing. *n_figures receives the figures'
 * count. Errors: the database's (plot_db_open: EP_ENOTFOUND, EP_EINVAL), EP_EINVAL (`dir`, a
 * database plot_figures refuses: "plot: database 'PATH': ..."), EP_EIO (no gnuplot: the
 * machine's, not the input's; gnuplot or a file failed; summary.md not written), summary's.
 */
int plot_sweep_write(const char *db_path, const char *dir, const struct plot_options *o,
		     int *n_figures, struct ep_error *err);

/* plot_sweep_write's report: "N figures (png, svg) and summary.md in DIR". */
void plot_report_write(FILE *f, const char *dir, int n_figures, unsigned formats);

/*
 * `edgepipe plot --profile`: the figure of the layer profile file at `path` (plot_lprofile),
 * `base` as there. Errors: the file's (model_lprofile_load), plot_lprofile's, but EP_EIO for a
 * missing gnuplot (the machine's, not the input's).
 */
int plot_lprofile_file(const char *path, const char *dir, const struct plot_options *o, char *base,
		       size_t base_size, struct ep_error *err);

/* plot_lprofile_file's report: the files written, "DIR/BASE.{png,svg,gp,dat}". */
void plot_lprofile_report_write(FILE *f, const char *dir, const char *base, unsigned formats);

#endif
