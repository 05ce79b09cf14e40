/*
 * Cluster generators: the published geometric formula, reproducibility by (seed, trial, n), the
 * uniform and classes generators' ranges, the measured-matrix reader and its errors.
 */
#include <gsl/gsl_errno.h>
#include <igraph.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "cluster.h"

static struct cluster *make(const struct cluster_spec *s, uint64_t seed)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct cluster *c = NULL;
	struct ep_error err;

	gsl_rng_set(rng, (unsigned long)seed);
	if (cluster_create(s, rng, &c, &err)) {
		fprintf(stderr, "cluster_create: %s\n", err.msg);
		check_failures++;
	}
	gsl_rng_free(rng);
	return c;
}

static bool same_links(const struct cluster *a, const struct cluster *b)
{
	int v = a->n + 1;

	if (a->n != b->n)
		return false;
	for (int i = 0; i < v * v; i++)
		if (a->bw_bps[i] != b->bw_bps[i])
			return false;
	return true;
}

/*
 * The published bandwidth: B(u,v) = log2(1 + 283230 / d^2) Mbit/s (the reference). Its smallest
 * possible value is at the square's diagonal, d = 149 sqrt(2): log2(1 + 283230 / 44402) =
 * 2.8836 Mbit/s; the reference reports a mean of about 6 Mbit/s.
 */
static void test_geometric(void)
{
	struct cluster_spec s = cluster_spec_default(200, 64 * 1048576.0);
	struct cluster *c = make(&s, cluster_trial_seed(7, 0, 200));
	double sum = 0, min = 1e300;
	int links = 0;

	for (int i = 0; i <= c->n; i++) {
		CHECK(c->x[i] >= 1 && c->x[i] <= 150 && c->y[i] >= 1 && c->y[i] <= 150);
		for (int j = 0; j <= c->n; j++) {
			double dx = c->x[i] - c->x[j], dy = c->y[i] - c->y[j];

			if (i == j)
				continue;
			CHECK_NEAR(cluster_bw(c, i, j), log2(1 + 283230 / (dx * dx + dy * dy)) * 1e6,
				   1e-12);
			CHECK(cluster_bw(c, i, j) == cluster_bw(c, j, i));
			sum += cluster_bw(c, i, j);
			min = fmin(min, cluster_bw(c, i, j));
			links++;
		}
	}
	CHECK(min >= log2(1 + 283230 / (2 * 149.0 * 149.0)) * 1e6 * (1 - 1e-12));
	/* A 200-node sample's mean is within a few percent of the population's (about 6). */
	CHECK(sum / links > 5.5e6 && sum / links < 6.8e6);
	CHECK_NEAR(c->mem_bytes[3], 64 * 1048576.0, 0);
	CHECK_NEAR(c->speed_flops[3], 0, 0);
	cluster_destroy(c);

	/* The published Mbit of 2^20 bits scales every link by 1.048576. */
	s.n = 5;
	s.mbit_bits = 1048576;
	c = make(&s, 11);
	s.mbit_bits = 1e6;
	{
		struct cluster *d = make(&s, 11);

		CHECK_NEAR(cluster_bw(c, 0, 1) / cluster_bw(d, 0, 1), 1.048576, 1e-12);
		cluster_destroy(d);
	}
	cluster_destroy(c);
}

/* Same (seed, trial, n): same cluster; another trial or seed: another one. */
static void test_reproducible(void)
{
	struct cluster_spec s = cluster_spec_default(10, 1e8);
	struct cluster *a = make(&s, cluster_trial_seed(3, 4, 10));
	struct cluster *b = make(&s, cluster_trial_seed(3, 4, 10));
	struct cluster *c = make(&s, cluster_trial_seed(3, 5, 10));
	struct cluster *d = make(&s, cluster_trial_seed(4, 4, 10));

	CHECK(same_links(a, b));
	CHECK(!same_links(a, c));
	CHECK(!same_links(a, d));
	CHECK(cluster_trial_seed(1, 2, 3) != cluster_trial_seed(1, 3, 2));
	cluster_destroy(a);
	cluster_destroy(b);
	cluster_destroy(c);
	cluster_destroy(d);
}

static void test_uniform_and_classes(void)
{
	struct cluster_spec s = cluster_spec_default(30, 1e8);
	struct cluster *c;
	double levels[4] = { 2e6, 4e6, 6e6, 8e6 }; /* 4 classes evenly spaced in [2, 8] Mbit/s */
	static const double mems[2] = { 1e8, 2e8 };

	s.kind = CLUSTER_UNIFORM;
	s.bw_min_bps = 1e6;
	s.bw_max_bps = 3e6;
	s.symmetric = false;
	s.mem_list = mems;
	s.n_mem_list = 2;
	c = make(&s, 5);
	for (int i = 0; i <= c->n; i++)
		for (int j = 0; j <= c->n; j++)
			if (i != j)
				CHECK(cluster_bw(c, i, j) >= 1e6 && cluster_bw(c, i, j) <= 3e6);
	CHECK(cluster_bw(c, 0, 1) != cluster_bw(c, 1, 0)); /* asymmetric draws */
	CHECK_NEAR(c->mem_bytes[0], 1e8, 0);
	CHECK_NEAR(c->mem_bytes[1], 2e8, 0);
	CHECK_NEAR(c->mem_bytes[2], 1e8, 0);
	CHECK(c->x == NULL);
	cluster_destroy(c);

	s.kind = CLUSTER_CLASSES;
	s.classes = 4;
	s.bw_min_bps = 2e6;
	s.bw_max_bps = 8e6;
	s.symmetric = true;
	c = make(&s, 5);
	{
		int seen[4] = { 0 };

		for (int i = 0; i <= c->n; i++)
			for (int j = 0; j <= c->n; j++) {
				bool level = false;

				if (i == j)
					continue;
				for (int k = 0; k < 4; k++)
					if (cluster_bw(c, i, j) == levels[k]) {
						level = true;
						seen[k]++;
					}
				CHECK(level);
			}
		for (int k = 0; k < 4; k++)
			CHECK(seen[k] > 0); /* 465 links: every level drawn */
	}
	cluster_destroy(c);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void test_file(void)
{
	char dir[] = "/tmp/edgepipe-test-cluster-XXXXXX", path[256];
	struct cluster_spec s = cluster_spec_default(0, 1e8);
	struct cluster *c = NULL;
	struct ep_error err;
	static const struct {
		const char *text;
		const char *message; /* a part of the expected error */
	} bad[] = {
		{ "0,5\n5,0\n7,7\n", "more rows than columns" },
		{ "0,5,1\n5,0\n", "wrong number of columns" },
		{ "0,-5\n5,0\n", "must be positive" },
		{ "0,5\n5,x\n", ":2: expected numbers" },
		{ "0,5,5\n5,0,5\n", "square matrix" },
		{ "", "square matrix" },
	};

	if (!mkdtemp(dir)) {
		fprintf(stderr, "mkdtemp failed\n");
		check_failures++;
		return;
	}
	snprintf(path, sizeof(path), "%s/bw.csv", dir);
	s.kind = CLUSTER_FILE;
	s.path = path;
	/* Names line, then 3 x 3 Mbit/s; dispatcher links get the mean off-diagonal bandwidth:
	 * (10 + 20 + 30 + 40 + 50 + 60) / 6 = 35 Mbit/s. */
	CHECK_INT(write_file(path, "a,b,c\n0,10,20\n30,0,40\n50,60,0\n"), 0);
	c = make(&s, 1);
	if (c) {
		CHECK_INT(c->n, 3);
		CHECK_NEAR(cluster_bw(c, 0, 1), 10e6, 1e-12);
		CHECK_NEAR(cluster_bw(c, 2, 1), 60e6, 1e-12);
		CHECK_NEAR(cluster_bw(c, 3, 0), 35e6, 1e-12);
		CHECK_NEAR(cluster_bw(c, 1, 3), 35e6, 1e-12);
		cluster_destroy(c);
	}
	s.n = 4;
	CHECK_INT(cluster_create(&s, NULL, &c, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "has 3 nodes but 4");
	s.n = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(write_file(path, bad[i].text), 0);
		CHECK_INT(cluster_create(&s, NULL, &c, &err), EP_EINVAL);
		CHECK_CONTAINS(err.msg, bad[i].message);
		CHECK_CONTAINS(err.msg, path);
		CHECK(c == NULL);
	}
	unlink(path);
	rmdir(dir);
	CHECK_INT(cluster_create(&s, NULL, &c, &err), EP_ENOTFOUND);
	CHECK_CONTAINS(err.msg, path);

	/* Bad specs name the offending value. */
	s = cluster_spec_default(0, 1e8);
	CHECK_INT(cluster_create(&s, NULL, &c, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "node count 0");
	s = cluster_spec_default(3, -1);
	CHECK_INT(cluster_create(&s, NULL, &c, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "memory -1");
}

/*
 * A subset of a hand-made 3-node cluster: node i has memory i+1, speed 10(i+1), position
 * (i, 10+i); the dispatcher (3) is at (3, 13); the link from u to v has bandwidth 10u + v + 1
 * and latency (10u + v) ms. Nodes {2, 0} give node 0 = old 2, node 1 = old 0, dispatcher 2 =
 * old 3, so e.g. the link 0 -> 1 is old 2 -> 0: 21 bit/s, 20 ms.
 */
static void test_subset(void)
{
	double mem[3] = { 1, 2, 3 }, speed[3] = { 10, 20, 30 }, bw[16], lat[16];
	double x[4] = { 0, 1, 2, 3 }, y[4] = { 10, 11, 12, 13 };
	struct cluster c = { 3, mem, speed, bw, lat, x, y, NULL }, *sub = NULL;
	struct ep_error err;
	static const int pick[2] = { 2, 0 }, twice[2] = { 1, 1 }, outside[2] = { 0, 3 };

	for (int u = 0; u < 4; u++)
		for (int v = 0; v < 4; v++) {
			bw[u * 4 + v] = u == v ? 0 : 10 * u + v + 1;
			lat[u * 4 + v] = u == v ? 0 : (10 * u + v) * 1e-3;
		}
	CHECK_INT(cluster_subset(&c, pick, 2, &sub, &err), EP_OK);
	if (sub) {
		CHECK_INT(sub->n, 2);
		CHECK_NEAR(sub->mem_bytes[0], 3, 0);
		CHECK_NEAR(sub->mem_bytes[1], 1, 0);
		CHECK_NEAR(sub->speed_flops[0], 30, 0);
		CHECK_NEAR(sub->speed_flops[1], 10, 0);
		CHECK_NEAR(cluster_bw(sub, 0, 1), 21, 0);          /* old 2 -> 0 */
		CHECK_NEAR(cluster_bw(sub, 1, 0), 3, 0);           /* old 0 -> 2 */
		CHECK_NEAR(cluster_bw(sub, 0, 2), 24, 0);          /* old 2 -> D */
		CHECK_NEAR(cluster_bw(sub, 2, 1), 31, 0);          /* old D -> 0 */
		CHECK_NEAR(cluster_bw(sub, 1, 1), 0, 0);           /* the diagonal */
		CHECK_NEAR(cluster_latency(sub, 0, 1), 0.020, 1e-15);
		CHECK_NEAR(cluster_latency(sub, 2, 0), 0.032, 1e-15); /* old D -> 2 */
		CHECK(sub->x && sub->y);
		if (sub->x && sub->y) {
			CHECK_NEAR(sub->x[0], 2, 0);
			CHECK_NEAR(sub->y[1], 10, 0);
			CHECK_NEAR(sub->x[2], 3, 0); /* the dispatcher, last */
		}
		cluster_destroy(sub);
	}
	/* Without positions, none are made. */
	c.x = c.y = NULL;
	CHECK_INT(cluster_subset(&c, pick, 1, &sub, &err), EP_OK);
	if (sub) {
		CHECK_INT(sub->n, 1);
		CHECK(sub->x == NULL && sub->y == NULL);
		CHECK_NEAR(cluster_bw(sub, 0, 1), 24, 0); /* old 2 -> D */
		cluster_destroy(sub);
	}
	CHECK_INT(cluster_subset(&c, twice, 2, &sub, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "node 1 is listed twice");
	CHECK_INT(cluster_subset(&c, outside, 2, &sub, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "node 3");
	CHECK_INT(cluster_subset(&c, pick, 0, &sub, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "0 nodes");
	CHECK(sub == NULL);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	test_geometric();
	test_reproducible();
	test_uniform_and_classes();
	test_file();
	test_subset();
	return check_exit();
}
