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

int region_plot(const struct model_profile *prof, const struct region_spec *spec,
		const struct region_point *pts, const char *dir, const struct plot_options *opt,
		char *base_out, size_t base_size, struct ep_error *err)
{
	char gnuplot[PATH_MAX], base[128], model[72], path[PATH_MAX + 160];
	unsigned formats = opt && opt->formats ? opt->formats : PLOT_PNG | PLOT_SVG;
	struct plot_file dat = { NULL }, gpf = { NULL };
	FILE *gp;
	int rc, cut, pays = 0, agree = 0, total = spec->n_speed * spec->n_bw;
	double bstar = region_min_cut_bits(prof, &cut), w = work(prof, (int)prof->n_cuts - 1);
	double smax = 1;

	rc = plot_gnuplot_find(gnuplot, sizeof(gnuplot), err);
	if (!rc)
		rc = plot_prepare_dir(dir, err);
	if (rc)
		return rc;
	plot_safe_name(prof->model, model, sizeof(model));
	snprintf(base, sizeof(base), "region-%s-N%d", model, spec->nodes);
	if (base_out && base_size)
		snprintf(base_out, base_size, "%s", base);
	for (int i = 0; i < total; i++) {
		pays += pts[i].pays;
		agree += pts[i].pays == pts[i].pays_closed;
		if (pts[i].status == EP_OK)
			smax = fmax(smax, pts[i].speedup);
	}

	EP_CHECK_GOTO(plot_file_open(&dat, dir, base, "dat", err), rc, out);
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
	EP_CHECK_GOTO(plot_file_commit(&dat, err), rc, out);

	EP_CHECK_GOTO(plot_file_open(&gpf, dir, base, "gp", err), rc, out);
	gp = gpf.f;
	fprintf(gp, "# edgepipe region: speed-up of partitioning over the best single device\n"
		    "# data: %s.dat; re-plot from this directory with: gnuplot %s.gp\n"
		    "reset session\nset encoding utf8\nset view map\nset logscale xy\n"
		    "set format x '%%.0e'\nset format y '%%.0e'\n"
		    "set xlabel 'link bandwidth (bit/s)'\nset ylabel 'device speed (FLOP/s)'\n"
		    "set cblabel 'speed-up T1 / T*'\nset cbrange [1:%g]\n"
		    "set palette defined (0 '#f0f0f0', 1 '#fdd49e', 2 '#ef6548', 3 '#7f0000')\n"
		    "set key bottom right box opaque\n", base, base, smax > 1 ? smax : 2.0);
	fprintf(gp, "set title \"%s on %d identical nodes (%s, at most %d cuts%s): partitioning "
		    "pays on %d of %d points\\nsolver and closed form agree on %d; dashed: "
		    "B = s b*/W, b* = %.4g Mbit (cut %d)\"\n",
		model, spec->nodes, spec->algo ? spec->algo->name : "feltin",
		region_max_split(spec), spec->parallel ? ", parallel" : "", pays, total, agree,
		bstar / 1e6, cut);
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
	EP_CHECK_GOTO(plot_file_commit(&gpf, err), rc, out);
	snprintf(path, sizeof(path), "%s.gp", base);
	rc = plot_run_gnuplot(gnuplot, dir, path, err);
out:
	plot_file_abort(&dat);
	plot_file_abort(&gpf);
	return rc;
}
