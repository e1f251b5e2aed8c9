/* cli.h — what the sub-commands of the `mien` CLI share. The CLI uses only mien.h. */
#ifndef MIEN_CLI_H
#define MIEN_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "mien.h"

/* Exit codes: 0 success, 1 a failure reported by the library, 2 bad usage. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Options every command takes: --models DIR, --threads N, --json. */
typedef struct cli_common {
    const char *models_dir;
    int threads;
    bool json;
} cli_common;

/* Consumes a common option at argv[*i] (advancing *i past its value); returns true when
 * argv[*i] was one, false otherwise; sets *bad on a missing or invalid value. */
bool cli_common_option(cli_common *c, int argc, char **argv, int *i, bool *bad);

/* Opens the engine for `c`, printing the error to stderr on failure. */
mien_status cli_open_engine(const cli_common *c, mien_engine **out);

/* Writes `s` as a JSON string literal (quotes included) to f. */
void cli_json_string(FILE *f, const char *s);

/* Parses a positive int; false when `s` is not one in [lo, hi]. */
bool cli_parse_int(const char *s, int lo, int hi, int *out);

/* Parses "fast" / "accurate"; false otherwise. */
bool cli_parse_profile(const char *s, mien_profile *out);
const char *cli_profile_name(mien_profile p);

/* Decodes `path` for the face commands (scaled JPEG decode keeps the short side >= 1200 px
 * unless full_size), printing the error on failure. */
mien_status cli_load_image(const char *path, bool full_size, mien_image **out);

/* Loads `path`, detects, and embeds face `face_index` (-1: the most prominent) with
 * `profile`. On success *t is the template (caller frees) and *face the face used. Prints
 * what went wrong otherwise (no face: MIEN_ERR_NOT_FOUND). */
mien_status cli_template_of(mien_session *s, const char *path, int face_index,
                            mien_profile profile, mien_template **t, mien_face *face);

/* Prints a face as a JSON object (no newline). */
void cli_face_json(FILE *f, const mien_face *face);

/* ---- galleries (store.c) ---- */

/* Consumes "--store URI" at argv[*i] (advancing *i past the value); true when argv[*i] was
 * it; sets *bad when the value is missing. *uri is borrowed from argv. */
bool cli_store_option(int argc, char **argv, int *i, const char **uri, bool *bad);

/* Opens the store `uri` (NULL: $MIEN_STORE, else ./mien.db), printing the error. */
mien_status cli_open_store(const char *uri, mien_store **out);

/* Prints "mien CMD: message (status)" to stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, mien_status st, const mien_error *err);

/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into out[cap]. */
void cli_time_iso(int64_t unix_s, char *out, size_t cap);

/* Prints a collection as a JSON object (no newline). */
void cli_collection_json(FILE *f, const mien_collection_info *c);

int cli_cmd_models(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_detect(int argc, char **argv);
int cli_cmd_embed(int argc, char **argv);
int cli_cmd_compare(int argc, char **argv);
int cli_cmd_eval(int argc, char **argv);
int cli_cmd_collection(int argc, char **argv);
int cli_cmd_enroll(int argc, char **argv);
int cli_cmd_search(int argc, char **argv);
int cli_cmd_subjects(int argc, char **argv);
int cli_cmd_erase(int argc, char **argv);
int cli_cmd_serve(int argc, char **argv);
/* `mien collection import-synthetic`: synthetic templates, for benchmarks only. */
int cli_cmd_import_synthetic(int argc, char **argv);
int cli_cmd_keys(int argc, char **argv);

#endif
