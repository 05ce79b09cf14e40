#include "algo.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "algo_internal.h"
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

const struct algo *algo_find(const char *name)
{
	for (int i = 0; algo_registry[i]; i++)
		if (strcmp(algo_registry[i]->name, name) == 0)
			return algo_registry[i];
	return NULL;
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
