/*
 * test_emu_mech: the link mechanisms' registry (emu_net.h). Which mechanism realises each
 * property for each combination of the two abilities that matter, netem and iptables'
 * statistic match, and for an unshaped net: the expected table is emu_caps.h's "What the
 * emulator does when something is missing" (netem missing: latency by the transport, loss by
 * iptables; both missing: loss and link down refused; bandwidth by HTB unless unshaped), which
 * the if-chains in emu_net_create said before the registry. Names come from the registry. No
 * namespaces: runs as any user.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "emu_caps.h"
#include "emu_net.h"

int main(void)
{
	/* [netem][iptables] -> bandwidth, latency, loss, down */
	static const enum emu_mech want[2][2][EMU_PROP_COUNT_] = {
		{ { EMU_MECH_HTB, EMU_MECH_TRANSPORT, EMU_MECH_NONE, EMU_MECH_NONE },
		  { EMU_MECH_HTB, EMU_MECH_TRANSPORT, EMU_MECH_IPTABLES, EMU_MECH_IPTABLES } },
		{ { EMU_MECH_HTB, EMU_MECH_NETEM, EMU_MECH_NETEM, EMU_MECH_NONE },
		  { EMU_MECH_HTB, EMU_MECH_NETEM, EMU_MECH_NETEM, EMU_MECH_IPTABLES } },
	};
	static const char *const names[] = { "none", "htb", "netem", "iptables", "transport" };
	struct emu_net_options shaped = { 0 }, unshaped = { .unshaped = true };
	struct emu_caps caps;
	int n = 0;

	for (int netem = 0; netem < 2; netem++)
		for (int ipt = 0; ipt < 2; ipt++) {
			memset(&caps, 0, sizeof(caps));
			for (int c = 0; c < EMU_CAP_COUNT_; c++)
				caps.have[c] = true;
			caps.have[EMU_CAP_NETEM] = netem;
			caps.have[EMU_CAP_IPTABLES_STATISTIC] = ipt;
			for (int p = 0; p < EMU_PROP_COUNT_; p++) {
				enum emu_mech got = emu_mech_choose(&caps, &shaped, (enum emu_prop)p);

				if (got != want[netem][ipt][p]) {
					fprintf(stderr, "netem %d, iptables %d, property %d: %s, "
						"expected %s\n", netem, ipt, p, emu_mech_name(got),
						emu_mech_name(want[netem][ipt][p]));
					check_failures++;
				}
			}
			/* Unshaped: no HTB; the others as shaped (NULL options = shaped). */
			CHECK_INT(emu_mech_choose(&caps, &unshaped, EMU_PROP_BANDWIDTH), EMU_MECH_NONE);
			CHECK_INT(emu_mech_choose(&caps, NULL, EMU_PROP_BANDWIDTH), EMU_MECH_HTB);
			CHECK_INT(emu_mech_choose(&caps, &unshaped, EMU_PROP_LOSS),
				  want[netem][ipt][EMU_PROP_LOSS]);
		}
	/* Names: the registry's, in the enum's order, as the run record (emu_mechanisms) and the
	 * report print them; every entry is complete. */
	for (int m = 0; m < 5; m++)
		CHECK_STR(emu_mech_name((enum emu_mech)m), names[m]);
	CHECK_STR(emu_mech_name((enum emu_mech)99), "?");
	for (int i = 0; emu_mech_registry[i]; i++, n++) {
		const struct emu_mech_type *t = emu_mech_registry[i];

		CHECK(t->name && t->summary && t->summary[0] && t->apply && t->props);
		CHECK_STR(emu_mech_name(t->id), t->name);
	}
	CHECK_INT(n, 4); /* htb, netem, iptables, transport; none is the fallback */
	return check_exit();
}
