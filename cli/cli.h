/*
 * cli: the edgepipe command line. Each subcommand is one function with the signature below,
 * listed in main.c's table. Exit status: 0 success, 1 failure, 2 bad input (usage, values,
 * files), as cli_exit_code maps library codes.
 */
#ifndef EDGEPIPE_CLI_H
#define EDGEPIPE_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "ep_error.h"

enum cli_format { CLI_TEXT = 0, CLI_CSV, CLI_JSON };

/* Exit status for a library code: EP_EINVAL and EP_ENOTFOUND are the user's input (2). */
int cli_exit_code(int code);

/* Print "edgepipe: <msg>" to stderr and return `status`. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse --format's value; false (with a message printed) if unknown. */
bool cli_parse_format(const char *s, enum cli_format *out);

/* Write `s` as a JSON string literal, and as a CSV field (quoted when needed). */
void cli_json_string(FILE *f, const char *s);
void cli_csv_field(FILE *f, const char *s);

int cmd_models(int argc, char **argv);
int cmd_model(int argc, char **argv);

#endif
