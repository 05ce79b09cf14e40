/*
 * Modelled device power and energy (power.h).
 */
#include "power.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct power_model presets[] = {
	{ "rpi4", 2.7, 6.4, 0, 0 },
	{ "none", 0, 0, 0, 0 },
};

const char *const power_preset_names[] = { "rpi4", "none", NULL };

/* One non-negative finite number ending at ':' or the end; *s moves past it. */
static bool take_number(const char **s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(*s, &end);
	if (errno || end == *s || !isfinite(*out) || *out < 0 || (*end && *end != ':') ||
	    (*end == ':' && end[1] == '\0'))
		return false;
	*s = *end ? end + 1 : end;
	return true;
}

int power_model_parse(const char *text, struct power_model *out, struct ep_error *err)
{
	const char *s = text;
	double v[4] = { 0, 0, 0, 0 };
	int n = 0;

	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(text, presets[i].name) == 0) {
			*out = presets[i];
			return EP_OK;
		}
	while (*s && n < 4)
		if (!take_number(&s, &v[n++]))
			return ep_error_set(err, EP_EINVAL,
					    "power model '%s': expected a preset (rpi4, none) or "
					    "IDLE_W:MAX_W[:TX_NJ_PER_BIT:RX_NJ_PER_BIT] with "
					    "non-negative numbers", text);
	if (*s || (n != 2 && n != 4))
		return ep_error_set(err, EP_EINVAL,
				    "power model '%s': expected a preset (rpi4, none) or "
				    "IDLE_W:MAX_W[:TX_NJ_PER_BIT:RX_NJ_PER_BIT]", text);
	if (v[1] < v[0])
		return ep_error_set(err, EP_EINVAL,
				    "power model '%s': P_max %g W is below P_idle %g W", text, v[1],
				    v[0]);
	snprintf(out->name, sizeof(out->name), "custom");
	out->idle_w = v[0];
	out->max_w = v[1];
	out->tx_j_per_bit = v[2] * 1e-9;
	out->rx_j_per_bit = v[3] * 1e-9;
	return EP_OK;
}

double power_model_watts(const struct power_model *m, double u)
{
	u = u < 0 ? 0 : u > 1 ? 1 : u;
	return m->idle_w + (m->max_w - m->idle_w) * u;
}

double power_model_energy(const struct power_model *m, double span_s, double busy_s,
			  double bits_sent, double bits_received)
{
	busy_s = busy_s < 0 ? 0 : busy_s > span_s ? span_s : busy_s;
	return m->idle_w * span_s + (m->max_w - m->idle_w) * busy_s +
	       m->tx_j_per_bit * bits_sent + m->rx_j_per_bit * bits_received;
}
