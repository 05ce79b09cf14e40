/*
 * The acceleration region (region.h): the solver over a grid of bandwidths and speeds, the
 * closed forms beside it, and its CSV and heat map.
 */
#include "region.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "algo.h"
#include "cluster.h"
#include "ep_json.h"
#include "ep_units.h"
#include "plan.h"
#include "plot_internal.h"
#include "problem.h"

#define REGION_WIDTH 900
#define REGION_HEIGHT 700

static double work(const struct model_profile *prof, int k)
{
	return (double)(prof->cuts[k].cum_flops - prof->cuts[0].cum_flops);
}

static double bits(const struct model_profile *prof, int k)
{
	return prof->cuts[k].transfer_bytes * 8.0;
}

double region_single_s(const struct model_profile *prof, double speed_flops)
{
	return work(prof, (int)prof->n_cuts - 1) / speed_flops;
}

double region_min_cut_bits(const struct model_profile *prof, int *cut)
{
	int m = (int)prof->n_cuts, best = -1;
	double w = work(prof, m - 1), b = INFINITY;

	for (int k = 1; k < m - 1; k++)
		if (work(prof, k) > 0 && work(prof, k) < w && bits(prof, k) < b) {
			b = bits(prof, k);
			best = k;
		}
	if (cut)
		*cut = best;
	return b;
}

bool region_pays_closed(const struct model_profile *prof, double bw_bps, double speed_flops,
			int nodes, int max_split)
{
	if (nodes < 2 || max_split < 1)
		return false;
	return region_min_cut_bits(prof, NULL) / bw_bps < region_single_s(prof, speed_flops);
}

double region_two_node_s(const struct model_profile *prof, double bw_bps, double speed_flops)
{
	int m = (int)prof->n_cuts;
	double w = work(prof, m - 1), t = w / speed_flops;

	for (int k = 1; k < m - 1; k++) {
		double wk = work(prof, k);

		if (wk > 0 && wk < w)
			t = fmin(t, fmax(fmax(wk / speed_flops, (w - wk) / speed_flops),
					 bits(prof, k) / bw_bps));
	}
	return t;
}

double region_speedup_bound(const struct model_profile *prof, double bw_bps, double speed_flops,
			    int kmax)
{
	int m = (int)prof->n_cuts;
	double w = work(prof, m - 1), wmax = 0, bound, bstar;

	for (int j = 1; j < m; j++)
		wmax = fmax(wmax, work(prof, j) - work(prof, j - 1));
	bound = fmin((double)kmax, wmax > 0 ? w / wmax : INFINITY);
	bstar = region_min_cut_bits(prof, NULL);
	if (bstar / bw_bps < w / speed_flops) /* partitioning pays: some hop carries >= b* */
		bound = fmin(bound, (w / speed_flops) / (bstar / bw_bps));
	return fmax(bound, 1.0);
}

int region_axis_parse(const char *option, const char *s, bool flops, double *lo, double *hi,
		      struct ep_error *err)
{
	char buf[128], *colon;
	struct ep_error e;

	if (strlen(s) >= sizeof(buf) || !(colon = strchr(strcpy(buf, s), ':')))
		return ep_error_set(err, EP_EINVAL, "%s '%s': expected MIN:MAX", option, s);
	*colon = '\0';
	if (flops ? ep_parse_flops(buf, lo, &e) || ep_parse_flops(colon + 1, hi, &e)
		  : ep_parse_bitrate(buf, lo, &e) || ep_parse_bitrate(colon + 1, hi, &e))
		return ep_error_set(err, EP_EINVAL, "%s '%s': %s", option, s, e.msg);
	if (!(*lo > 0 && *lo <= *hi))
		return ep_error_set(err, EP_EINVAL, "%s '%s': need 0 < MIN <= MAX", option, s);
	return EP_OK;
}

double region_axis(double lo, double hi, int n, int i)
{
	if (n <= 1 || i <= 0)
		return lo;
	if (i >= n - 1)
		return hi;
	return exp(log(lo) + (log(hi) - log(lo)) * (double)i / (double)(n - 1));
}

static int check_spec(const struct region_spec *s, struct ep_error *err)
{
	if (s->nodes < 1 || s->nodes > CLUSTER_MAX_NODES)
		return ep_error_set(err, EP_EINVAL, "nodes %d: must be in 1..%d", s->nodes,
				    CLUSTER_MAX_NODES);
	if (s->n_bw < 1 || s->n_speed < 1 || s->n_bw > 1000 || s->n_speed > 1000)
		return ep_error_set(err, EP_EINVAL, "grid %d x %d: each axis needs 1..1000 points",
				    s->n_speed, s->n_bw);
	if (!(s->bw_min_bps > 0 && s->bw_min_bps <= s->bw_max_bps && isfinite(s->bw_max_bps)))
		return ep_error_set(err, EP_EINVAL, "bandwidth range %g..%g bit/s: need 0 < min <= "
				    "max", s->bw_min_bps, s->bw_max_bps);
	if (!(s->speed_min_flops > 0 && s->speed_min_flops <= s->speed_max_flops &&
	      isfinite(s->speed_max_flops)))
		return ep_error_set(err, EP_EINVAL, "speed range %g..%g FLOP/s: need 0 < min <= max",
				    s->speed_min_flops, s->speed_max_flops);
	return EP_OK;
}

int region_compute(const struct model_profile *prof, const struct region_spec *spec,
		   struct region_point *pts, struct ep_error *err)
{
	const struct algo *a = spec->algo ? spec->algo : algo_find("feltin");
	int n = spec->nodes, v1 = n + 1, rc, kmax;
	struct cluster cl = { 0 };
	struct problem_options po = PROBLEM_OPTIONS_FELTIN;
	struct algo_result r;
	gsl_rng *rng = NULL;

	EP_CHECK(check_spec(spec, err));
	if (prof->n_cuts < 2)
		return ep_error_set(err, EP_EINVAL, "model '%s' has %zu cut point(s)", prof->model,
				    prof->n_cuts);
	if (!(work(prof, (int)prof->n_cuts - 1) > 0))
		return ep_error_set(err, EP_EINVAL, "model '%s' has no FLOPs: the region needs "
				    "compute", prof->model);
	po.shared_nodes = spec->parallel;
	kmax = region_max_split(spec) + 1 < n ? region_max_split(spec) + 1 : n;
	algo_result_init(&r);
	cl.n = n;
	cl.mem_bytes = malloc((size_t)n * sizeof(double));
	cl.speed_flops = malloc((size_t)n * sizeof(double));
	cl.bw_bps = malloc((size_t)v1 * (size_t)v1 * sizeof(double));
	cl.latency_s = calloc((size_t)v1 * (size_t)v1, sizeof(double));
	rng = gsl_rng_alloc(gsl_rng_mt19937);
	if (!cl.mem_bytes || !cl.speed_flops || !cl.bw_bps || !cl.latency_s || !rng) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for the region");
		goto out;
	}
	for (int v = 0; v < n; v++)
		cl.mem_bytes[v] = INFINITY; /* memory does not limit the region */
	for (int i = 0; i < spec->n_speed; i++)
		for (int j = 0; j < spec->n_bw; j++) {
			struct region_point *pt = &pts[(size_t)i * (size_t)spec->n_bw + (size_t)j];
			struct problem p;

			memset(pt, 0, sizeof(*pt));
			pt->speed_flops = region_axis(spec->speed_min_flops, spec->speed_max_flops,
						      spec->n_speed, i);
			pt->bw_bps = region_axis(spec->bw_min_bps, spec->bw_max_bps, spec->n_bw, j);
			for (int v = 0; v < n; v++)
				cl.speed_flops[v] = pt->speed_flops;
			for (int x = 0; x < v1 * v1; x++)
				cl.bw_bps[x] = x % (v1 + 1) ? pt->bw_bps : 0;
			EP_CHECK_GOTO(problem_init(&p, prof, &cl, &po, err), rc, out);
			gsl_rng_set(rng, 1);
			rc = algo_run(a, &p, &spec->algo_options, rng, &r, err);
			problem_release(&p);
			if (rc)
				goto out;
			pt->status = r.status;
			pt->single_s = region_single_s(prof, pt->speed_flops);
			pt->best_s = pt->speedup = NAN;
			if (r.status == EP_OK) {
				pt->best_s = r.cost.bottleneck_s;
				pt->speedup = pt->single_s / pt->best_s;
				pt->stages = r.plan.n_stages;
				pt->pays = pt->best_s < pt->single_s;
			}
			pt->pays_closed = region_pays_closed(prof, pt->bw_bps, pt->speed_flops, n,
							     region_max_split(spec));
			pt->two_node_s = region_two_node_s(prof, pt->bw_bps, pt->speed_flops);
			pt->speedup_bound = region_speedup_bound(prof, pt->bw_bps, pt->speed_flops,
								 kmax);
		}
	rc = EP_OK;
out:
	algo_result_release(&r);
	gsl_rng_free(rng);
	free(cl.mem_bytes);
	free(cl.speed_flops);
	free(cl.bw_bps);
	free(cl.latency_s);
	return rc;
}

int region_write_csv(FILE *f, const struct model_profile *prof, const struct region_spec *spec,
		     const struct region_point *pts, struct ep_error *err)
{
	fprintf(f, "model,nodes,bw_bps,speed_flops,status,single_s,best_s,speedup,stages,pays,"
		   "pays_closed,two_node_s,speedup_bound\n");
	for (int i = 0; i < spec->n_speed * spec->n_bw; i++) {
		const struct region_point *pt = &pts[i];

		fprintf(f, "%s,%d,%.9g,%.9g,%s,%.9g,", prof->model, spec->nodes, pt->bw_bps,
			pt->speed_flops, pt->status == EP_OK ? "ok" : ep_strerror(pt->status),
			pt->single_s);
		if (pt->status == EP_OK)
			fprintf(f, "%.9g,%.9g,%d,", pt->best_s, pt->speedup, pt->stages);
		else
			fprintf(f, ",,,");
		fprintf(f, "%d,%d,%.9g,%.9g\n", pt->pays, pt->pays_closed, pt->two_node_s,
			pt->speedup_bound);
	}
	if (ferror(f))
		return ep_error_set(err, EP_EIO, "cannot write the region CSV");
	return EP_OK;
}

int region_max_split(const struct region_spec *spec)
{
	const struct algo_option *o = algo_option_find(algo_registry, "max-split");

	return o ? (int)algo_options_int(&spec->algo_options, o) : 0;
}

/* What the heat map's title counts: the points where partitioning pays, those where the
 * solver and the closed form agree, and the largest speed-up (at least 1). */
struct region_counts {
	int total, pays, agree;
	double smax;
};

static struct region_counts region_count(const struct region_spec *spec,
					 const struct region_point *pts)
{
	struct region_counts c = {spec->n_speed * spec->n_bw, 0, 0, 1};

	for (int i = 0; i < c.total; i++) {
		c.pays += pts[i].pays;
		c.agree += pts[i].pays == pts[i].pays_closed;
		if (pts[i].status == EP_OK)
			c.smax = fmax(c.smax, pts[i].speedup);
	}
	return c;
}

/* The heat map's data: index 0 the speed-ups, index 1 the closed-form boundary. */
static int region_dat_write(const struct model_profile *prof, const struct region_spec *spec,
			    const struct region_point *pts, const char *dir, const char *base,
			    struct ep_error *err)
{
	struct plot_file dat = {NULL};
	int cut, rc;
	double bstar = region_min_cut_bits(prof, &cut), w = work(prof, (int)prof->n_cuts - 1);

	EP_CHECK(plot_file_open(&dat, dir, base, "dat", err));
	fprintf(dat.f, "# edgepipe region of %s on %d identical nodes (Feltin's metric)\n"
		     "# index 0: bandwidth bit/s, speed FLOP/s, speed-up (1 where the solver found "
		     "no plan better than one device; 0 where it found none)\n", prof->model,
		spec->nodes);
	for (int i = 0; i < spec->n_speed; i++) {
		for (int j = 0; j < spec->n_bw; j++) {
			const struct region_point *pt = &pts[i * spec->n_bw + j];

			fprintf(dat.f, "%.9g %.9g %.9g\n", pt->bw_bps, pt->speed_flops,
				pt->status == EP_OK ? pt->speedup : 0.0);
		}
		fprintf(dat.f, "\n");
	}
	/* The closed-form boundary (2): B = s b* / W, over the speed axis. */
	fprintf(dat.f, "\n# index 1: the boundary B = s b* / W (b* = %.9g bits)\n", bstar);
	for (int i = 0; isfinite(bstar) && i < spec->n_speed; i++) {
		double s = region_axis(spec->speed_min_flops, spec->speed_max_flops, spec->n_speed, i);

		fprintf(dat.f, "%.9g %.9g 1\n", s * bstar / w, s);
	}
	rc = plot_file_commit(&dat, err);
	plot_file_abort(&dat);
	return rc;
}

/* The gnuplot script that draws the .dat into `formats` (PLOT_PNG, PLOT_SVG). */
static int region_gp_write(const struct model_profile *prof, const struct region_spec *spec,
			   const struct region_point *pts, const char *dir, const char *base,
			   const char *model, unsigned formats, struct ep_error *err)
{
	struct plot_file gpf = {NULL};
	struct region_counts n = region_count(spec, pts);
	int cut, rc;
	double bstar = region_min_cut_bits(prof, &cut);
	FILE *gp;

	EP_CHECK(plot_file_open(&gpf, dir, base, "gp", err));
	gp = gpf.f;
	fprintf(gp,
		"# edgepipe region: speed-up of partitioning over the best single device\n"
		"# data: %s.dat; re-plot from this directory with: gnuplot %s.gp\n"
		"reset session\nset encoding utf8\nset view map\nset logscale xy\n"
		"set format x '%%.0e'\nset format y '%%.0e'\n"
		"set xlabel 'link bandwidth (bit/s)'\nset ylabel 'device speed (FLOP/s)'\n"
		"set cblabel 'speed-up T1 / T*'\nset cbrange [1:%g]\n"
		"set palette defined (0 '#f0f0f0', 1 '#fdd49e', 2 '#ef6548', 3 '#7f0000')\n"
		"set key bottom right box opaque\n",
		base, base, n.smax > 1 ? n.smax : 2.0);
	fprintf(gp,
		"set title \"%s on %d identical nodes (%s, at most %d cuts%s): partitioning "
		"pays on %d of %d points\\nsolver and closed form agree on %d; dashed: "
		"B = s b*/W, b* = %.4g Mbit (cut %d)\"\n",
		model, spec->nodes, spec->algo ? spec->algo->name : "feltin",
		region_max_split(spec), spec->parallel ? ", parallel" : "", n.pays, n.total,
		n.agree, bstar / 1e6, cut);
	fprintf(gp, "set xrange [%g:%g]\nset yrange [%g:%g]\n", spec->bw_min_bps,
		spec->bw_max_bps, spec->speed_min_flops, spec->speed_max_flops);
	for (int f = 0; f < 2; f++) {
		if (!(formats & (f ? PLOT_SVG : PLOT_PNG)))
			continue;
		plot_terminal(gp, f, REGION_WIDTH, REGION_HEIGHT);
		fprintf(gp, "set output '%s.%s'\n"
			    "splot '%s.dat' index 0 using 1:2:3 with pm3d title 'speed-up', \\\n"
			    "      '%s.dat' index 1 using 1:2:3 with lines lw 2 dt 2 lc rgb 'black' "
			    "title 'closed form (2)'\nunset output\n",
			base, f ? "svg" : "png", base, base);
	}
	rc = plot_file_commit(&gpf, err);
	plot_file_abort(&gpf);
	return rc;
}

int region_plot(const struct model_profile *prof, const struct region_spec *spec,
		const struct region_point *pts, const char *dir, const struct plot_options *opt,
		char *base_out, size_t base_size, struct ep_error *err)
{
	char gnuplot[PATH_MAX], base[128], model[72], path[PATH_MAX + 160];
	unsigned formats = opt && opt->formats ? opt->formats : PLOT_PNG | PLOT_SVG;

	EP_CHECK(plot_gnuplot_find(gnuplot, sizeof(gnuplot), err));
	EP_CHECK(plot_prepare_dir(dir, err));
	plot_safe_name(prof->model, model, sizeof(model));
	snprintf(base, sizeof(base), "region-%s-N%d", model, spec->nodes);
	if (base_out && base_size)
		snprintf(base_out, base_size, "%s", base);
	EP_CHECK(region_dat_write(prof, spec, pts, dir, base, err));
	EP_CHECK(region_gp_write(prof, spec, pts, dir, base, model, formats, err));
	snprintf(path, sizeof(path), "%s.gp", base);
	return plot_run_gnuplot(gnuplot, dir, path, err);
}

/* ---- the map and its report ---- */

int region_map_create(const char *model, const struct model_profile_options *opts,
		      const struct region_spec *spec, struct region_map **out, struct ep_error *err)
{
	struct instance_spec is = {.model = model};
	struct region_map *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	m->spec = *spec;
	is.profile = *opts;
	is.cluster = cluster_spec_default(spec->nodes, 1);
	is.problem = PROBLEM_OPTIONS_FELTIN;
	is.seed = 1;
	EP_CHECK_GOTO(instance_create(&is, &m->inst, err), rc, fail);
	m->pts = calloc((size_t)spec->n_speed * (size_t)spec->n_bw, sizeof(*m->pts));
	if (!m->pts) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory");
		goto fail;
	}
	EP_CHECK_GOTO(region_compute(m->inst->profile, spec, m->pts, err), rc, fail);
	*out = m;
	return EP_OK;
fail:
	region_map_destroy(m);
	return rc;
}

void region_map_destroy(struct region_map *m)
{
	if (!m)
		return;
	free(m->pts);
	instance_destroy(m->inst);
	free(m);
}

static const char *region_algo_name(const struct region_spec *s)
{
	return s->algo ? s->algo->name : "feltin";
}

/* The text report's summary: the closed form, where it pays, the largest speed-up. */
static void region_summary_write(FILE *f, const struct region_map *m)
{
	const struct model_profile *prof = m->inst->profile;
	const struct region_spec *s = &m->spec;
	const struct region_point *pts = m->pts;
	int total = s->n_speed * s->n_bw, pays = 0, agree = 0, cut, best = -1;
	double bstar = region_min_cut_bits(prof, &cut), w = work(prof, (int)prof->n_cuts - 1);

	for (int i = 0; i < total; i++) {
		pays += pts[i].pays;
		agree += pts[i].pays == pts[i].pays_closed;
		if (pts[i].status == EP_OK && (best < 0 || pts[i].speedup > pts[best].speedup))
			best = i;
	}
	fprintf(f, "%s on %d identical nodes, %s (%s), at most %d cut(s)%s; W = %.4g GFLOP\n",
		prof->model, s->nodes, region_algo_name(s),
		algo_variant_name(s->algo_options.variant), region_max_split(s),
		s->parallel ? ", parallel" : "", w / 1e9);
	if (isfinite(bstar))
		fprintf(f,
			"closed form: partitioning pays iff B / s > b* / W = %.6g bit/FLOP (b* = "
			"%.6g Mbit, the tensor after cut %d)\n",
			bstar / w, bstar / 1e6, cut);
	else
		fprintf(f, "closed form: no interior cut with work on both sides: partitioning "
			   "never pays\n");
	fprintf(f, "partitioning pays on %d of %d points; solver and closed form agree on %d\n",
		pays, total, agree);
	if (best >= 0)
		fprintf(f, "largest speed-up %.4f (%d stages) at %.4g Mbit/s, %.4g GFLOP/s\n",
			pts[best].speedup, pts[best].stages, pts[best].bw_bps / 1e6,
			pts[best].speed_flops / 1e9);
}

/* The text report: the summary, then the speed-up table. */
static void region_text_write(FILE *f, const struct region_map *m)
{
	const struct region_spec *s = &m->spec;
	const struct region_point *pts = m->pts;

	region_summary_write(f, m);
	fprintf(f,
		"\nspeed-up T1 / T* (rows: device speed GFLOP/s; columns: bandwidth Mbit/s; "
		"'-' no plan)\n%10s",
		"");
	for (int j = 0; j < s->n_bw; j++)
		fprintf(f, " %7.4g", pts[j].bw_bps / 1e6);
	fprintf(f, "\n");
	for (int i = s->n_speed - 1; i >= 0; i--) {
		fprintf(f, "%10.4g", pts[i * s->n_bw].speed_flops / 1e9);
		for (int j = 0; j < s->n_bw; j++) {
			const struct region_point *pt = &pts[i * s->n_bw + j];

			if (pt->status == EP_OK)
				fprintf(f, " %7.3f", pt->speedup);
			else
				fprintf(f, " %7s", "-");
		}
		fprintf(f, "\n");
	}
}

static json_t *region_point_json(const struct region_point *pt)
{
	bool ok = pt->status == EP_OK;

	return json_pack("{s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:b, s:b, s:o, s:o}", "bw_bps",
			 ep_json_num(pt->bw_bps), "speed_flops", ep_json_num(pt->speed_flops),
			 "status", ok ? "ok" : ep_strerror(pt->status), "single_s",
			 ep_json_num(pt->single_s), "best_s", ep_json_num(ok ? pt->best_s : NAN),
			 "speedup", ep_json_num(ok ? pt->speedup : NAN), "stages",
			 ok ? json_integer(pt->stages) : json_null(), "pays", pt->pays,
			 "pays_closed", pt->pays_closed, "two_node_s", ep_json_num(pt->two_node_s),
			 "speedup_bound", ep_json_num(pt->speedup_bound));
}

static int region_json_write(FILE *f, const struct region_map *m, struct ep_error *err)
{
	const struct model_profile *prof = m->inst->profile;
	const struct region_spec *s = &m->spec;
	int cut;
	double bstar = region_min_cut_bits(prof, &cut);
	json_t *points = json_array();

	for (int i = 0; points && i < s->n_speed * s->n_bw; i++)
		json_array_append_new(points, region_point_json(&m->pts[i]));
	return ep_json_dump(f,
			    json_pack("{s:o, s:i, s:o, s:s, s:i, s:b, s:o, s:o, s:o}", "model",
				      ep_json_str(prof->model), "nodes", s->nodes, "algo",
				      ep_json_str(region_algo_name(s)), "variant",
				      algo_variant_name(s->algo_options.variant), "max_split",
				      region_max_split(s), "parallel", s->parallel, "min_cut_bits",
				      ep_json_num(bstar), "min_cut",
				      isfinite(bstar) ? json_integer(cut) : json_null(), "points",
				      points ? points : json_null()),
			    err);
}

int region_map_write(FILE *f, enum region_format fmt, const struct region_map *m,
		     struct ep_error *err)
{
	if (fmt == REGION_CSV)
		return region_write_csv(f, m->inst->profile, &m->spec, m->pts, err);
	if (fmt == REGION_JSON)
		return region_json_write(f, m, err);
	region_text_write(f, m);
	if (ferror(f))
		return ep_error_set(err, EP_EIO, "cannot write the region report");
	return EP_OK;
}

int region_map_save(const struct region_map *m, const char *dir, const struct plot_options *opt,
		    char *base, size_t base_size, struct ep_error *err)
{
	char name[160], path[PATH_MAX];
	FILE *f;
	int rc;

	EP_CHECK(
		region_plot(m->inst->profile, &m->spec, m->pts, dir, opt, name, sizeof(name), err));
	if (base && base_size)
		snprintf(base, base_size, "%s", name);
	snprintf(path, sizeof(path), "%s/%s.csv", dir, name);
	f = fopen(path, "w");
	if (!f)
		return ep_error_set(err, EP_EIO, "cannot write '%s'", path);
	rc = region_write_csv(f, m->inst->profile, &m->spec, m->pts, err);
	if (fclose(f) || rc)
		return ep_error_set(err, EP_EIO, "cannot write '%s'", path);
	return EP_OK;
}
