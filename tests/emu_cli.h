/*
 * emu_cli: what the end-to-end emulator tests share on top of emu_harness.h: running
 * `edgepipe emu` (or any command line) and reading numbers back from the run's database.
 *
 * The tests drive the real command line, so that the plan, the simulated reference and the
 * emulated run are exactly what a user gets; they pass --state-dir (the harness's private
 * directory, which it cleans whatever happens) and --db, and check the database.
 */
#ifndef EDGEPIPE_TEST_EMU_CLI_H
#define EDGEPIPE_TEST_EMU_CLI_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "check.h"

/* Run `cmd` through the shell; stdout and stderr (merged) into out, truncated. Returns the
 * exit status, or -1 if it did not run or died of a signal. The output is also echoed, so a
 * failing test shows what the run printed. */
static inline int emu_cli_run(const char *cmd, char *out, size_t size)
{
	char full[8192];
	int status;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	printf("$ %s\n", cmd);
	fflush(stdout);
	status = check_shell(full, out, size);
	fputs(out, stdout);
	return status;
}

/* The first column of the first row of `sql` on the database at `path`; NAN when there is no
 * row, the value is NULL, or the query fails (which is printed). */
static inline double emu_db_num(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	double v = NAN;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "query '%s' on %s: %s\n", sql, path,
			db ? sqlite3_errmsg(db) : "cannot open");
	} else if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		v = sqlite3_column_double(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The text of the first column of the first row, into buf ("" when none). */
static inline const char *emu_db_text(const char *path, const char *sql, char *buf, size_t size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	buf[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return buf;
}

#endif
