#include "problem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *problem_compute_name(enum problem_compute c)
{
	return c == PROBLEM_COMPUTE_MEASURED ? "profile" : "flops";
}

int problem_init(struct problem *p, const struct model_profile *profile,
		 const struct cluster *cluster, const struct problem_options *options,
		 struct ep_error *err)
{
	int m = (int)profile->n_cuts;
	const struct problem_codec *codec = &options->codec;

	p->profile = profile;
	p->cluster = cluster;
	p->options = *options;
	p->m = m;
	p->cum_mem = p->cum_flops = p->transfer_bits = p->cum_compute = p->wire_bits = NULL;
	p->decode_s_per_byte = p->encode_s_per_byte = NULL;
	p->node_rate = cluster->speed_flops;
	if (m < 2)
		return ep_error_set(err, EP_EINVAL, "model '%s' has %d cut point(s); at least 2 are "
				    "needed", profile->model, m);
	if (cluster->n < 1)
		return ep_error_set(err, EP_EINVAL, "the cluster has no nodes");
	if (options->compute == PROBLEM_COMPUTE_MEASURED && !profile->has_measured)
		return ep_error_set(err, EP_EINVAL, "measured compute: model '%s' has no measured "
				    "layer profile (--compute profile:FILE)", profile->model);
	if (options->compute == PROBLEM_COMPUTE_MEASURED && !cluster->speed_factor)
		return ep_error_set(err, EP_EINVAL, "measured compute: the cluster has no speed "
				    "factors");
	if (codec->ratio != 0 && !(codec->ratio > 0 && isfinite(codec->ratio)))
		return ep_error_set(err, EP_EINVAL, "codec '%s': ratio %g is not a positive number",
				    codec->spec, codec->ratio);
	if (!(codec->encode_s_per_byte >= 0 && isfinite(codec->encode_s_per_byte)) ||
	    !(codec->decode_s_per_byte >= 0 && isfinite(codec->decode_s_per_byte)))
		return ep_error_set(err, EP_EINVAL, "codec '%s': coding times %g and %g s/byte "
				    "must be finite and >= 0", codec->spec, codec->encode_s_per_byte,
				    codec->decode_s_per_byte);
	if (options->compute == PROBLEM_COMPUTE_MEASURED)
		p->node_rate = cluster->speed_factor;
	p->cum_mem = malloc((size_t)m * sizeof(double));
	p->cum_flops = malloc((size_t)m * sizeof(double));
	p->transfer_bits = malloc((size_t)m * sizeof(double));
	p->cum_compute = malloc((size_t)m * sizeof(double));
	p->wire_bits = malloc((size_t)m * sizeof(double));
	p->decode_s_per_byte = malloc((size_t)cluster->n * sizeof(double));
	p->encode_s_per_byte = malloc((size_t)cluster->n * sizeof(double));
	if (!p->cum_mem || !p->cum_flops || !p->transfer_bits || !p->cum_compute || !p->wire_bits ||
	    !p->decode_s_per_byte || !p->encode_s_per_byte) {
		problem_release(p);
		return ep_error_set(err, EP_ENOMEM, "out of memory for the problem");
	}
	for (int k = 0; k < m; k++) {
		p->cum_mem[k] = profile->cuts[k].cum_mem_bytes;
		p->cum_flops[k] = (double)profile->cuts[k].cum_flops;
		p->transfer_bits[k] = profile->cuts[k].transfer_bytes * 8.0;
		p->wire_bits[k] = codec->ratio > 0 ? p->transfer_bits[k] / codec->ratio
						   : p->transfer_bits[k];
		p->cum_compute[k] = options->compute == PROBLEM_COMPUTE_MEASURED
					    ? profile->cuts[k].cum_measured_s
					    : p->cum_flops[k];
	}
	for (int v = 0; v < cluster->n; v++) {
		double f = cluster->speed_factor && cluster->speed_factor[v] > 0
				   ? cluster->speed_factor[v] : 1.0;

		p->decode_s_per_byte[v] = codec->ratio > 0 ? codec->decode_s_per_byte / f : 0.0;
		p->encode_s_per_byte[v] = codec->ratio > 0 ? codec->encode_s_per_byte / f : 0.0;
	}
	return EP_OK;
}

const char *problem_metric_name(const struct problem_options *o)
{
	if (!o->count_compute && !o->count_dispatcher && o->strict_memory)
		return "published";
	if (o->count_compute && o->count_dispatcher && !o->strict_memory)
		return "full";
	if (o->count_compute && !o->count_dispatcher && !o->strict_memory)
		return "feltin";
	return "custom";
}

int problem_metric_parse(const char *option, const char *name, struct problem_options *o,
			 struct ep_error *err)
{
	if (strcmp(name, "published") == 0)
		*o = PROBLEM_OPTIONS_PUBLISHED;
	else if (strcmp(name, "full") == 0)
		*o = PROBLEM_OPTIONS_FULL;
	else if (strcmp(name, "feltin") == 0)
		*o = PROBLEM_OPTIONS_FELTIN;
	else
		return ep_error_set(err, EP_EINVAL, "%s '%s': expected published, full or feltin",
				    option, name);
	return EP_OK;
}

/* The three numbers of a codec profile from the right of buf (cut there): v[0] the ratio,
 * v[1] and v[2] the encoding and decoding MB/s. */
static int codec_numbers(const char *option, const char *text, char *buf, double v[3],
			 struct ep_error *err)
{
	static const char *const what[3] = {"the ratio", "the encoding MB/s", "the decoding MB/s"};
	char *colon[3], *end;

	for (int i = 0; i < 3; i++) {
		colon[i] = strrchr(buf, ':');
		if (!colon[i] || colon[i] == buf)
			return ep_error_set(err, EP_EINVAL,
					    "%s '%s': expected "
					    "SPEC:RATIO:ENC_MBPS:DEC_MBPS, e.g. lz4:2.5:800:2000",
					    option, text);
		*colon[i] = '\0';
	}
	/* colon[2] ends SPEC; the ratio, ENC and DEC follow colon[2], colon[1], colon[0] */
	for (int i = 0; i < 3; i++) {
		const char *s = colon[2 - i] + 1;

		v[i] = strtod(s, &end);
		if (end == s || *end || !(v[i] > 0) || !(v[i] < 1e12))
			return ep_error_set(err, EP_EINVAL,
					    "%s '%s': %s '%s' is not a positive "
					    "number",
					    option, text, what[i], s);
	}
	return EP_OK;
}

int problem_codec_parse(const char *option, const char *text, problem_codec_spec_fn spec_canon,
			struct problem_codec *out, struct ep_error *err)
{
	struct problem_codec c = {.ratio = 0};
	char buf[256];
	double v[3];
	struct ep_error e;

	if (strlen(text) >= sizeof(buf))
		return ep_error_set(err, EP_EINVAL, "%s '%.40s...': too long", option, text);
	strcpy(buf, text);
	EP_CHECK(codec_numbers(option, text, buf, v, err));
	if (spec_canon && spec_canon(buf, c.spec, sizeof(c.spec), &e))
		return ep_error_set(err, EP_EINVAL, "%s '%s': %s", option, text, e.msg);
	if (!spec_canon)
		snprintf(c.spec, sizeof(c.spec), "%s", buf);
	c.ratio = v[0];
	c.encode_s_per_byte = 1.0 / (v[1] * 1e6);
	c.decode_s_per_byte = 1.0 / (v[2] * 1e6);
	*out = c;
	return EP_OK;
}

void problem_release(struct problem *p)
{
	free(p->cum_mem);
	free(p->cum_flops);
	free(p->transfer_bits);
	free(p->cum_compute);
	free(p->wire_bits);
	free(p->decode_s_per_byte);
	free(p->encode_s_per_byte);
	p->cum_mem = p->cum_flops = p->transfer_bits = p->cum_compute = p->wire_bits = NULL;
	p->decode_s_per_byte = p->encode_s_per_byte = NULL;
}

int problem_max_end(const struct problem *p, int a, int node)
{
	int lo = a, hi = p->m - 1;

	/* cum_mem is non-decreasing, so "fits" holds for a prefix of ends: find its last. */
	while (lo < hi) {
		int mid = lo + (hi - lo + 1) / 2;

		if (problem_fits(p, a, mid, node))
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}
