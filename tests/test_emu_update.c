/*
 * A model update in the emulator, rolled out without losing a request:
 *
 * 1. --update "resnet101 at 1s": ResNet101 is planned on the live nodes and deployed beside
 *    the running ResNet50 deployment (make-before-break); when it is connected, new requests go
 *    to it, the old one drains and is stopped. Every request is answered exactly once, some by
 *    each model, and the roll-out and the drain are recorded.
 * 2. A changed model file: the run's --model is a file (ResNet50, exported); 1.2 s into the
 *    workload the file is replaced by MobileNetV2's export, and the run rolls the new model out
 *    the same way.
 *
 * Usage: test_emu_update PATH_TO_EDGEPIPE
 */
#include "check.h"
#include "emu_cli.h"
#include "emu_harness.h"

static const char *edgepipe;

#define CLUSTER "--nodes 4 --mem 128MiB --cluster uniform --bw-range 100Mbit:200Mbit " \
		"--seed 1 --probes 0"

static void check_rollout(const char *db, int requests, const char *new_model)
{
	char q[256], model[64];

	CHECK_INT(emu_db_num(db, "SELECT answered FROM emu_summary"), requests);
	CHECK_INT(emu_db_num(db, "SELECT incomplete FROM emu_summary"), 0);
	CHECK_INT(emu_db_num(db, "SELECT count(DISTINCT request) FROM emu_requests WHERE done_s "
				 "IS NOT NULL"),
		  requests);
	/* Make-before-break: nothing was torn down, nothing sent twice. */
	CHECK_INT(emu_db_num(db, "SELECT count(*) FROM emu_deployments WHERE state = 'failed'"),
		  0);
	CHECK_INT(emu_db_num(db, "SELECT requests_resent FROM emu_summary"), 0);
	CHECK_INT(emu_db_num(db, "SELECT count(*) FROM emu_updates WHERE live_s IS NOT NULL AND "
				 "drained_s IS NOT NULL AND drained_s >= live_s"),
		  1);
	emu_db_text(db, "SELECT model FROM emu_updates", model, sizeof(model));
	CHECK_STR(model, new_model);
	/* Both models answered: the old one before and while draining, the new one after. */
	snprintf(q, sizeof(q),
		 "SELECT count(*) FROM emu_requests r JOIN emu_deployments d ON "
		 "d.run_id = r.run_id AND d.deployment = r.deployment WHERE d.model = '%s'",
		 new_model);
	CHECK(emu_db_num(db, q) > 0);
	CHECK(emu_db_num(db, "SELECT count(*) FROM emu_requests WHERE deployment = 0") > 0);
	printf("update to %s: at %.3f s, live after %.3f s, old drained at %.3f s; %g requests "
	       "answered by the new model\n",
	       new_model, emu_db_num(db, "SELECT at_s FROM emu_updates"),
	       emu_db_num(db, "SELECT rollout_s FROM emu_updates"),
	       emu_db_num(db, "SELECT drained_s FROM emu_updates"), emu_db_num(db, q));
}

static void check_update_option(const char *state_dir)
{
	char cmd[4096], db[512], out[65536];
	int rc;

	snprintf(db, sizeof(db), "%s/update.db", state_dir);
	snprintf(cmd, sizeof(cmd),
		 "%s emu --model resnet50 " CLUSTER " --requests 60 --update 'resnet101 at 1s' "
		 "--state-dir %s --db %s", edgepipe, state_dir, db);
	rc = emu_cli_run(cmd, out, sizeof(out));
	CHECK_INT(rc, 0);
	if (rc == 0)
		check_rollout(db, 60, "resnet101");
}

static void check_changed_file(const char *state_dir)
{
	char cmd[4096], db[512], out[65536], file[512], other[512];
	int rc, status;
	pid_t pid;

	snprintf(file, sizeof(file), "%s/model.txt", state_dir);
	snprintf(other, sizeof(other), "%s/other.txt", state_dir);
	snprintf(db, sizeof(db), "%s/watch.db", state_dir);
	snprintf(cmd, sizeof(cmd), "%s model export resnet50 -o %s && %s model export "
		 "mobilenetv2 -o %s", edgepipe, file, edgepipe, other);
	CHECK_INT(emu_cli_run(cmd, out, sizeof(out)), 0);
	/* Replace the file 1.2 s into the workload (its set-up takes about half a second). */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		emu_test_sleep(1.8);
		_exit(rename(other, file) == 0 ? 0 : 1);
	}
	snprintf(cmd, sizeof(cmd), "%s emu --model %s " CLUSTER " --requests 70 --state-dir %s "
		 "--db %s", edgepipe, file, state_dir, db);
	rc = emu_cli_run(cmd, out, sizeof(out));
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT(rc, 0);
	if (rc == 0)
		check_rollout(db, 70, "mobilenetv2");
}

static int body(const char *state_dir, const struct emu_caps *caps)
{
	(void)caps;
	check_update_option(state_dir);
	check_changed_file(state_dir);
	return check_exit();
}

int main(int argc, char **argv)
{
	if (argc != 2 || access(argv[1], X_OK) != 0) {
		fprintf(stderr, "usage: test_emu_update PATH_TO_EDGEPIPE\n");
		return 2;
	}
	edgepipe = argv[1];
	return emu_test_main("test_emu_update", body, 60);
}
