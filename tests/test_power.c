/*
 * The modelled power and energy of a device (algorithms/power.h): hand-computed cases of the
 * linear model, the presets' published figures, and every malformed model refused by name.
 */
#include "check.h"
#include "power.h"

static void check_close(const char *what, double got, double want)
{
	if (fabs(got - want) > 1e-9 * fmax(1, fabs(want))) {
		fprintf(stderr, "%s = %.12g, expected %.12g\n", what, got, want);
		check_failures++;
	}
}

int main(void)
{
	static const char *const bad[] = { "rpi5", "", "3:2", "1:-2", "1:2:3", "1:2:x:1",
					   "1:2:", "nan:1", "1:inf", "1:2:3:4:5", "1;2" };
	struct power_model m;
	struct ep_error err;

	/* rpi4: the preset's figures (RasPi.TV: 540 mA and 1280 mA at 5 V). */
	CHECK_INT(power_model_parse("rpi4", &m, &err), EP_OK);
	check_close("rpi4 idle", m.idle_w, 0.540 * 5);
	check_close("rpi4 max", m.max_w, 1.280 * 5);
	/* At half load: 2.7 + (6.4 - 2.7) x 0.5 = 4.55 W; utilisation clamps to [0, 1]. */
	check_close("rpi4 at u = 0.5", power_model_watts(&m, 0.5), 4.55);
	check_close("rpi4 at u = 2", power_model_watts(&m, 2), 6.4);
	check_close("rpi4 at u = -1", power_model_watts(&m, -1), 2.7);
	/* 10 s on, 4 s busy: 2.7 x 10 + 3.7 x 4 = 27 + 14.8 = 41.8 J; bits cost nothing. */
	check_close("rpi4 10 s, 4 s busy", power_model_energy(&m, 10, 4, 1e9, 1e9), 41.8);
	/* busy beyond the span is the span: 2.7 x 10 + 3.7 x 10 = 64 J. */
	check_close("rpi4 busy > span", power_model_energy(&m, 10, 12, 0, 0), 64);

	/* Custom, with per-bit energies in nJ: 1 W idle, 3 W max, 5 nJ/bit out, 2 nJ/bit in.
	 * 2 s on, 1 s busy, 1e9 bits out, 5e8 in: 1 x 2 + 2 x 1 + 5 + 1 = 10 J. */
	CHECK_INT(power_model_parse("1:3:5:2", &m, &err), EP_OK);
	check_close("custom", power_model_energy(&m, 2, 1, 1e9, 5e8), 10);
	CHECK_INT(power_model_parse("0.5:0.5", &m, &err), EP_OK);
	check_close("flat 0.5 W for 4 s", power_model_energy(&m, 4, 4, 0, 0), 2);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = power_model_parse(bad[i], &m, &err);

		if (rc != EP_EINVAL || !strstr(err.msg, bad[i])) {
			fprintf(stderr, "power model '%s': rc %d, '%s'\n", bad[i], rc, err.msg);
			check_failures++;
		}
	}
	/* P_max below P_idle is named as such. */
	power_model_parse("3:2", &m, &err);
	CHECK(strstr(err.msg, "below P_idle") != NULL);
	return check_exit();
}
