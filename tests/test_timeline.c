/*
 * The one fault and update grammar (algorithms/timeline.h): every kind parses to the fields
 * the back ends read, the older spelling "node N at TIME" is a kill, 'link ... up' ends the open
 * cut of its pair, updates are moved out, and bad specs are refused naming the token.
 * Expected values: the specs themselves (times and rates as written).
 */
#include "check.h"
#include "timeline.h"

static struct timeline_fault parse_ok(const char *spec, int n_nodes)
{
	struct timeline_fault f;
	struct ep_error err;

	memset(&f, 0, sizeof(f));
	if (timeline_fault_parse(spec, n_nodes, &f, &err) != EP_OK) {
		fprintf(stderr, "'%s': %s\n", spec, err.msg);
		check_failures++;
	}
	return f;
}

static void parse_bad(const char *spec, const char *needle)
{
	struct timeline_fault f;
	struct ep_error err;

	CHECK_INT(timeline_fault_parse(spec, 3, &f, &err), EP_EINVAL);
	if (!strstr(err.msg, needle)) {
		fprintf(stderr, "'%s': message '%s' lacks '%s'\n", spec, err.msg, needle);
		check_failures++;
	}
}

int main(void)
{
	struct timeline_fault f, v[6], upd[2];
	struct ep_error err;
	int n, n_upd;

	/* The older spelling and the grammar's own give the same kill. */
	f = parse_ok("node 2 at 20s", 3);
	CHECK_INT(f.kind, TIMELINE_KILL);
	CHECK_INT(f.a.kind, TIMELINE_NODE);
	CHECK_INT(f.a.index, 2);
	CHECK_NEAR(f.at_s, 20, 0);
	f = parse_ok("kill stage1 at 250ms", 3);
	CHECK_INT(f.a.kind, TIMELINE_STAGE);
	CHECK_NEAR(f.at_s, 0.25, 1e-12);
	f = parse_ok("stall node0 at 1s for 2s", 3);
	CHECK_INT(f.kind, TIMELINE_STALL);
	CHECK_NEAR(f.for_s, 2, 0);
	f = parse_ok("bandwidth node0 dispatcher 2Mbit at 3s", 3);
	CHECK_INT(f.kind, TIMELINE_BANDWIDTH);
	CHECK_INT(f.b.kind, TIMELINE_DISPATCHER);
	CHECK_NEAR(f.value, 2e6, 0);
	f = parse_ok("loss node1 5% at 4s for 1s", 3);
	CHECK_INT(f.kind, TIMELINE_LOSS);
	CHECK(!f.pair);
	CHECK_NEAR(f.value, 0.05, 1e-15);
	f = parse_ok("update resnet101 at 40s", 3);
	CHECK_INT(f.kind, TIMELINE_UPDATE);
	CHECK_STR(f.model, "resnet101");
	CHECK_STR(timeline_kind_name(TIMELINE_UPDATE), "update");

	parse_bad("node three at 20s", "node N at TIME");
	parse_bad("node 3 at 20s", "node0 .. node2");
	parse_bad("node 1 at 2s for 1s", "a kill lasts");
	parse_bad("update at 3s", "a model");
	parse_bad("link node0 node1 sideways at 1s", "'down' or 'up'");
	parse_bad("teleport node0 at 1s", "or update");

	/* Resolve: the up at 7 s closes the cut of 2 s (the pair named the other way round), the
	 * cut at 8 s stays open, the update moves out. */
	n = 0;
	v[n++] = parse_ok("link node0 node1 down at 2s", 3);
	v[n++] = parse_ok("update mobilenet at 5s", 3);
	v[n++] = parse_ok("link node1 node0 up at 7s", 3);
	v[n++] = parse_ok("link node0 node1 down at 8s", 3);
	v[n++] = parse_ok("kill node2 at 9s", 3);
	CHECK_INT(timeline_resolve(v, &n, upd, 2, &n_upd, &err), EP_OK);
	CHECK_INT(n, 3);
	CHECK_INT(n_upd, 1);
	CHECK_STR(upd[0].model, "mobilenet");
	CHECK_INT(v[0].kind, TIMELINE_LINK_DOWN);
	CHECK_NEAR(v[0].for_s, 5, 1e-12);
	CHECK_NEAR(v[1].at_s, 8, 0);
	CHECK_NEAR(v[1].for_s, 0, 0);
	CHECK_INT(v[2].kind, TIMELINE_KILL);

	/* An 'up' with no open cut before it; more updates than the back end takes. */
	n = 0;
	v[n++] = parse_ok("link node0 node1 down at 2s for 1s", 3);
	v[n++] = parse_ok("link node0 node1 up at 7s", 3);
	CHECK_INT(timeline_resolve(v, &n, upd, 2, &n_upd, &err), EP_EINVAL);
	CHECK(strstr(err.msg, "link node0 node1 up at 7s") != NULL);
	n = 0;
	v[n++] = parse_ok("update mobilenet at 5s", 3);
	v[n++] = parse_ok("update resnet50 at 6s", 3);
	CHECK_INT(timeline_resolve(v, &n, upd, 1, &n_upd, &err), EP_EINVAL);
	CHECK(strstr(err.msg, "update resnet50 at 6s") != NULL);
	return check_exit();
}
