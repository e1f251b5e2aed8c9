/* cli.h — what the sub-commands of the `mien` CLI share (their options: opt.h). The CLI uses
 * only mien.h. src/cli/ is what an operator runs; the measuring tools (`mien eval`, the
 * benchmarks' synthetic galleries) are in src/tools/ and use these helpers too. */
#ifndef MIEN_CLI_H
#define MIEN_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mien.h"
#include "opt.h"

/* Exit codes (docs/cli.md): 0 success, 1 a failure reported by the library, 2 bad usage,
 * 3 refused by the collection's rules (MIEN_ERR_FORBIDDEN: a purpose it was not declared for,
 * 1:N search on a verification-only collection, enrolment without consent, a reviewer
 * deciding twice), 4 `mien audit verify` found the log altered or truncated. Scripts rely on
 * these numbers: never renumber one. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_FORBIDDEN 3
#define CLI_EXIT_TAMPERED 4

/* Options every command takes: --models DIR, --threads N, --json. */
typedef struct cli_common {
    const char *models_dir;
    int threads;
    bool json;
} cli_common;

/* Caps the ISA of this process at $MIEN_MAX_ISA when set (mien_set_max_isa): before any
 * command runs, so mien's kernels and oneDNN's agree. *level gets the cap (MIEN_ISA_NATIVE
 * when unset). False, with a message, for a bad name. */
bool cli_apply_max_isa(mien_isa *level);

/* The engine options for `c` and the environment the library does not read: $MIEN_MODELS
 * when c has no models folder, $MIEN_PRECISION (f32, bf16, bf16-all) and $MIEN_PROFILE (set:
 * each plan's step timings go to stderr when its session drops it). False, with a message,
 * for a bad precision. */
bool cli_engine_options(const cli_common *c, mien_engine_options *opt);

/* Opens the engine for `c`, printing the error to stderr on failure. */
mien_status cli_open_engine(const cli_common *c, mien_engine **out);

/* Opens the engine for `c` (cli_open_engine) and a session on it, printing what went wrong.
 * On failure *engine and *session are NULL: nothing to free. (faces.c) */
mien_status cli_open_session(const cli_common *c, mien_engine **engine, mien_session **session);

/* Writes the members "isa" (mien's level), "backend_isa" (oneDNN's), "steps", "ref_steps"
 * and "ref_kernels" of model m, without braces, for the --json outputs. */
void cli_kernels_json(FILE *f, const mien_model_info *m);

/* Writes `s` as a JSON string literal (quotes included) to f. */
void cli_json_string(FILE *f, const char *s);

/* Parses a positive int; false when `s` is not one in [lo, hi]. */
bool cli_parse_int(const char *s, int lo, int hi, int *out);

/* ---- errors (errors.c) ---- */

/* `message` as a person should read it, into out[cap]: prefixed "WHAT: " unless it already
 * begins so (the library names the file in mien_image_load's messages; what may be NULL), and
 * the library's option fields (mien_image_options.max_pixels...) replaced by the environment
 * variable that changes them. */
void cli_error_text(const char *what, const char *message, char *out, size_t cap);
/* `message` past a leading "WHAT: " (for a reason printed after the file's name). */
const char *cli_error_unnamed(const char *what, const char *message);
/* Prints "mien CMD: WHAT: message" (cli_error_text; cmd may be NULL: "mien: ") to stderr and
 * notes st for the --json error object (cli_note_status). */
void cli_error(const char *cmd, const char *what, mien_status st, const mien_error *err);
/* Remembers the status of a failure (not MIEN_OK), which `--json` reports as the HTTP API's
 * status and code (mien_http_status); cli_last_status is MIEN_OK when none was noted. */
void cli_note_status(mien_status st);
mien_status cli_last_status(void);

/* The image options of the face commands: mien_image_options_faces() with the limits that
 * $MIEN_MAX_PIXELS, $MIEN_MAX_IMAGE_BYTES and $MIEN_MAX_DECODE_MEMORY (bytes) raise or lower. */
mien_image_options cli_image_options(void);

/* Decodes `path` for the face commands (mien_image_options_faces: the short side keeps
 * MIEN_FACE_DECODE_MIN_SIDE px unless full_size), printing the error on failure. */
mien_status cli_load_image(const char *path, bool full_size, mien_image **out);

/* Loads `path`, detects, and embeds face `face_index` (-1: the most prominent) with
 * `profile`. On success *t is the template (caller frees) and *face the face used. Prints
 * what went wrong otherwise (no face: MIEN_ERR_NOT_FOUND). */
mien_status cli_template_of(mien_session *s, const char *path, int face_index,
                            mien_profile profile, mien_template **t, mien_face *face);
/* The same for an image already read (bytes[size], not retained; `name` names it in
 * messages): the commands that audit their input hash the bytes they read once, then decode
 * exactly those bytes. *found (may be NULL): the faces detected. */
mien_status cli_template_of_bytes(mien_session *s, const char *name, const uint8_t *bytes,
                                  size_t size, int face_index, mien_profile profile,
                                  mien_template **t, mien_face *face, size_t *found);
/* Reads a whole file (at most mien_image_options' default max_bytes) into *bytes (malloc'd,
 * the caller frees) and *size, printing why not (MIEN_ERR_IO, _IMAGE for too large, _NOMEM). */
mien_status cli_read_file(const char *path, uint8_t **bytes, size_t *size);

/* "" for one, "s" for any other count: "1 face", "2 faces", "0 faces". */
#define CLI_S(n) ((n) == 1 ? "" : "s")
/* The one wording of a decision at a false-match rate, for compare, verify and what labels
 * a face: the two templates are of the same person, or not. */
#define CLI_DECISION(same) ((same) ? "same person" : "different people")

/* Prints a face as a JSON object (no newline). */
void cli_face_json(FILE *f, const mien_face *face);

/* ---- lists of images (files.c) ---- */

/* A growing list of paths, each malloc'd; {0} is empty. */
typedef struct cli_paths {
    char **p;
    size_t n, cap;
} cli_paths;
/* Appends a copy of path; false when memory runs out. */
bool cli_paths_add(cli_paths *l, const char *path);
void cli_paths_free(cli_paths *l);
/* Whether a file name ends in .jpg, .jpeg, .png or .webp (any case). */
bool cli_is_image_name(const char *name);
/* Whether path is a folder (following links). */
bool cli_is_dir(const char *path);
/* Appends the image files under dir (cli_is_image_name; recursively, hidden names skipped),
 * sorted by path. False, with "mien CMD: ..." printed, when a folder cannot be read. */
bool cli_paths_scan_dir(const char *cmd, const char *dir, cli_paths *l);
/* The images of a command line: each argument as given, a folder replaced by its images
 * (cli_paths_scan_dir). Returns CLI_PARSED, or the exit code with the reason printed
 * (CLI_EXIT_USAGE for a folder without images). */
int cli_paths_expand(const char *cmd, char **args, int n_args, cli_paths *l);

/* ---- the progress bar (progress.c) ---- */

/* Runs of more images than this get a bar (when stderr is a terminal). */
#define CLI_PROGRESS_MIN_ITEMS 4

/* One line on stderr, "[####....] done/total  rate UNIT/s  ETA", redrawn in place. Only when
 * stderr is a terminal, the run has more than CLI_PROGRESS_MIN_ITEMS items and is not `json`
 * (--json: a program reads it, as `mien enroll --from-dir` has it); never on stdout. */
typedef struct cli_progress {
    size_t total, done, count;
    const char *unit; /* what count counts, for the rate: "faces" */
    bool on, shown, shares_terminal;
    double t0, last;
} cli_progress;
void cli_progress_start(cli_progress *p, size_t total, const char *unit, bool json);
/* One item done, with `count` units (faces found). */
void cli_progress_step(cli_progress *p, size_t count);
/* Before a line goes to stdout: wipes the bar when stdout is the same terminal. */
void cli_progress_hide(cli_progress *p);
/* At the end of the run: wipes the bar. */
void cli_progress_end(cli_progress *p);
/* Draws the bar once (`mien enroll --from-dir` keeps its own counts). */
void cli_progress_bar(size_t done, size_t total, size_t count, const char *unit,
                      double elapsed_s);

/* ---- annotated pictures (draw.c) ---- */

/* Writes `img` with each face's box (2 px and more, with the picture's size), its five
 * points and labels[i] (may be NULL, or NULL entries: no label; ASCII, a built-in 5×7 font)
 * above the box, to `path` as JPEG or PNG by its extension (mien_image_save). Faces are in
 * the original picture's coordinates (mien_detect's); a scaled decode is drawn scaled: load
 * the picture full size for an output of the input's size. A label starting with "unknown"
 * is drawn red, others green. MIEN_ERR_ARG for an extension other than .jpg/.jpeg/.png,
 * MIEN_ERR_IO when the file cannot be written (err names the path). @test cli/test_draw.c */
mien_status cli_draw_faces(const mien_image *img, const mien_face *faces, size_t n,
                           const char *const *labels, const char *path, mien_error *err);

/* cli_draw_faces for a picture decoded from the file `input` (img: its decode for detection):
 * when that decode was scaled (a large JPEG), the file is decoded again at full size, so the
 * picture written keeps the input's size. */
mien_status cli_draw_faces_full(const char *input, const mien_image *img,
                                const mien_face *faces, size_t n, const char *const *labels,
                                const char *path, mien_error *err);

/* Where the pictures of a --draw option go: a file (one input), or a folder (its argument
 * ends in '/' or is one; created if missing) getting one picture per input, named after it
 * (photo.jpg → DIR/photo.jpg; a WebP → .jpg; a name seen twice → photo-2.jpg). */
typedef struct cli_draw_target {
    const char *arg; /* borrowed */
    bool dir;
    cli_paths written; /* the folder form's names so far */
} cli_draw_target;
/* Checks --draw ARG for n_inputs images before any work: a file for several images, a file
 * of unknown extension → MIEN_ERR_ARG; a folder that cannot be made → MIEN_ERR_IO. */
mien_status cli_draw_target_open(cli_draw_target *d, const char *arg, size_t n_inputs,
                                 mien_error *err);
/* The output path for `input` into out[cap]. */
mien_status cli_draw_target_path(cli_draw_target *d, const char *input, char *out, size_t cap,
                                 mien_error *err);
void cli_draw_target_close(cli_draw_target *d);

/* ---- galleries (store.c) ---- */

/* cli_parse (opt.h); then, unless `check` (may be NULL) refuses the arguments (it prints
 * why; bad usage), opens the store that the command's --store option names (cli_open_store;
 * $MIEN_STORE or ./mien.db without it). Returns CLI_PARSED with *store open (the caller
 * closes it), or the exit code with *store NULL: CLI_EXIT_FAIL when the store cannot be
 * opened. */
int cli_parse_open_store(const cli_command *cmd, int argc, char **argv, void *args,
                         bool (*check)(const void *args), int *n_args, mien_store **store);

/* The whole of a store command (subjects, erase, purge, keys, audit...): cli_parse_open_store
 * into `args` (its defaults set by the caller), then `run`, then the store closed. Returns
 * the exit code. */
int cli_run_on_store(const cli_command *cmd, int argc, char **argv, void *args,
                     bool (*check)(const void *args), cli_store_run run);

/* Opens the store `uri` (NULL: $MIEN_STORE, else ./mien.db), printing the error. When the
 * open created the store's key file, warns on stderr that it must be backed up (without it
 * the templates cannot be read). */
mien_status cli_open_store(const char *uri, mien_store **out);
/* The same for a command that only reads: a SQLite store that does not exist is
 * MIEN_ERR_NOT_FOUND, said so, and nothing is created (no database, no key file). */
mien_status cli_open_store_to_read(const char *uri, mien_store **out);

/* What the environment says of the store (the library reads none): *uri NULL becomes
 * $MIEN_STORE; o->key_file unset $MIEN_KEY_FILE; $MIEN_NOW (unix seconds, a test hook) and
 * $MIEN_AUDIT_HEAD fill o->now and o->audit_head. A MIEN_NOW that is not unix seconds →
 * MIEN_ERR_ARG (err says so). For every command that opens a store, `mien serve` included. */
mien_status cli_store_env(const char **uri, mien_store_options *o, mien_error *err);

/* mien_store_open_with() after cli_store_env(&uri, o, err); o is filled in place. */
mien_status cli_store_open_with(const char *uri, mien_store_options *o, mien_store **out,
                                mien_error *err);

/* Prints "mien CMD: message (status)" to stderr; returns cli_exit_code(st). */
int cli_fail(const char *cmd, mien_status st, const mien_error *err);
/* The exit code for a library status: CLI_EXIT_OK, CLI_EXIT_FORBIDDEN for
 * MIEN_ERR_FORBIDDEN, CLI_EXIT_FAIL for any other failure. */
int cli_exit_code(mien_status st);

/* Who acts and why (mien_context) for the store commands. The actor is "cli:$USER", or
 * "cli:uid<N>" when $USER is unset or not a plain name; purpose and case_ref are borrowed
 * (from argv) and may be NULL. ctx points into the struct itself: do not copy a cli_context
 * after cli_context_init. */
typedef struct cli_context {
    char actor[80];
    uint8_t input_sha256[32];
    mien_context ctx;
} cli_context;
void cli_context_init(cli_context *c, const char *purpose, const char *case_ref);
/* Records the SHA-256 of the input image's bytes in the context. */
void cli_context_set_input(cli_context *c, const uint8_t sha256[32]);

/* The options every identification command (`search`, `verify`) takes: --purpose, --case-ref,
 * --face, --store and the common ones, by the table cli_probe_opts, which a command's table
 * ends with (CLI_OPTS_END_PROBE). Start from CLI_PROBE_ARGS_DEFAULT. */
typedef struct cli_probe_args {
    cli_common c;
    const char *store, *purpose, *case_ref; /* borrowed from argv; NULL when not given */
    int face;                               /* -1: the most prominent face */
} cli_probe_args;
extern const cli_opt cli_probe_opts[];

/* Where `make install` put the models and the web page (generated from src/cli/paths.c.in):
 * the folders used when no option or environment variable names one and ./models (./web)
 * is absent, so that an installed `mien` works from any directory. */
extern const char cli_installed_models_dir[];
extern const char cli_installed_web_dir[];

/* The models folder: `given` (--models), else $MIEN_MODELS, else ./models when it exists,
 * else the installed one. */
const char *cli_models_dir(const char *given);
#define CLI_OPTS_END_PROBE(type, field)                                                      \
    CLI_OPT_INCLUDE(cli_probe_opts, offsetof(type, field)), CLI_OPT_END
#define CLI_PROBE_ARGS_DEFAULT {.c = {.threads = 1}, .face = -1}

/* A search's options (--top K, --fmr F, --exact | --approximate, --aggregate R) into a
 * mien_search_options (start from mien_search_options_default()), for `search` and
 * `identify`: include it with CLI_OPT_INCLUDE(cli_search_opts, offsetof(type, field)). */
extern const cli_opt cli_search_opts[];

/* Writes a search's answer as JSON members, without braces: "candidates" (rank, subject,
 * similarity, fmr, face_id and each of the subject's faces), "review_id" (null when none was
 * opened), "reviews_required" and "audit_seq". For `search` and `identify`. (probe.c) */
void cli_candidates_json(FILE *f, const mien_search_result *res);

/* What an identification command (`search`, `verify`) holds once its probe is ready. */
typedef struct cli_probe {
    mien_store *store;
    mien_collection_info info;
    uint8_t *bytes;  /* the image file */
    size_t size;
    uint8_t sha[32]; /* its SHA-256, also in the context (cli_context_set_input) */
    mien_engine *engine;
    mien_session *session;
    mien_template *t; /* the probe: the most prominent face, or face_index */
    mien_face face;
} cli_probe;

/* Sets up cx from a's purpose and case reference (cli_context_init), opens a's store, reads
 * collection `collection` and the image at `path`, records its digest in cx, checks cx's
 * purpose for action `cmd` ("search" or "verify"; a refusal is audited by the library and
 * printed as "mien CMD: refused: ..."), then loads the models and makes the probe's template
 * (of face a->face); a picture without that face is refused and the refusal audited
 * (mien_record_refusal, with `subject`, NULL for a search). Returns the exit code: CLI_EXIT_OK
 * with *p complete; otherwise the
 * failure is reported (CLI_EXIT_USAGE for a missing purpose or case reference,
 * CLI_EXIT_FORBIDDEN when the rules refuse) and *p holds what was opened. Either way
 * cli_probe_close() frees it. (probe.c) */
int cli_probe_open(cli_probe *p, const cli_probe_args *a, const char *cmd,
                   const char *collection, const char *subject, const char *path,
                   cli_context *cx);
void cli_probe_close(cli_probe *p);

/* Checks cx's purpose for `action` ("search" or "verify") on `collection` before any model
 * loads (mien_check_purpose; the library audits a refusal) and prints a refusal as "mien CMD:
 * refused: ...". Returns the exit code: CLI_EXIT_OK to go on, CLI_EXIT_USAGE for a missing
 * purpose or case reference, CLI_EXIT_FORBIDDEN when the rules refuse. (probe.c) */
int cli_check_purpose(mien_store *store, const char *cmd, const char *collection,
                      const char *action, const cli_context *cx);

/* A duration as its largest exact unit: "365d", "12h", "90s". */
void cli_duration_text(int64_t seconds, char *out, size_t cap);

/* Prints a collection as a JSON object (no newline), its policy included. */
void cli_collection_json(FILE *f, const mien_collection_info *c);

/* The operator's commands, `mien NAME` run by cli_cmd_NAME (cmd_NAME.c). One list gives both
 * their declarations below and main.c's dispatch table (`mien eval` is src/tools/'s). */
#define CLI_COMMANDS(XX)                                                                     \
    XX(models) XX(bench) XX(detect) XX(embed) XX(compare) XX(collection) XX(enroll)          \
    XX(search) XX(subjects) XX(erase) XX(serve) XX(keys) XX(verify) XX(purge) XX(review)     \
    XX(audit) XX(migrate) XX(move) XX(group) XX(identify)

#define CLI_COMMAND_DECLARE(name) int cli_cmd_##name(int argc, char **argv);
CLI_COMMANDS(CLI_COMMAND_DECLARE)
#undef CLI_COMMAND_DECLARE

#endif
