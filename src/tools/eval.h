/* eval.h — what the `mien eval` sub-commands share: the multi-threaded embedding pass over a
 * list of images (eval_embed.c), verification metrics that reproduce the reference scorer
 * shared/reference/bin/eval-lfw.js exactly (eval_metrics.c), pair lists and data folders
 * (eval_pairs.c). Public API (mien.h) only, as the CLI, whose helpers (cli.h, opt.h) the
 * tools use; src/cli/ sees none of this, only tools.h. */
#ifndef MIEN_TOOLS_EVAL_H
#define MIEN_TOOLS_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "../cli/cli.h"

/* The official LFW protocol has 10 folds; pair lists may number theirs 0..9. */
#define EVAL_MAX_FOLDS 10

/* ---- options ------------------------------------------------------------------------ */

/* Options of every eval sub-command; which ones a sub-command accepts is its `allowed` mask
 * (EVAL_OPT_*). Strings are borrowed from argv. */
typedef struct eval_options {
    const char *models_dir; /* --models DIR (NULL: $MIEN_MODELS, else ./models) */
    const char *data_dir;   /* --data DIR (NULL: $MIEN_DATA, else ../shared/data) */
    const char *root;       /* --root DIR for `eval pairs` (NULL: the list's folder) */
    const char *roc;        /* --roc FILE.svg, or NULL */
    const char *out;        /* --out FILE for `eval calibrate`, or NULL (stdout) */
    const char *list;       /* the positional LIST of `eval pairs`, PAIRS of `eval groups` */
    const char *groups;     /* the positional GROUPS of `eval groups` */
    const char *cache;      /* --cache FILE for `eval clustering`: the embeddings, reused */
    const char *method;     /* --method NAME for `eval clustering` (NULL: the default) */
    mien_profile profile;   /* --profile (default fast) */
    int threads;            /* --threads N worker threads (default: online CPUs) */
    int limit_folds;        /* --limit-folds K (default: all) */
    bool json;              /* --json */
    const char *enrol;      /* --enrol K|all for `eval lfw-1n` (NULL: one photo, the classic
                               protocol) */
    const char *rule;       /* --rule R|all for `eval lfw-1n` (NULL: the default rule) */
} eval_options;

enum {
    EVAL_OPT_DATA = 1 << 0,
    EVAL_OPT_ROOT = 1 << 1,
    EVAL_OPT_ROC = 1 << 2,
    EVAL_OPT_OUT = 1 << 3,
    EVAL_OPT_PROFILE = 1 << 4,
    EVAL_OPT_LIMIT_FOLDS = 1 << 5,
    EVAL_OPT_JSON = 1 << 6,
    EVAL_OPT_LIST = 1 << 7,
    EVAL_OPT_CACHE = 1 << 8,
    EVAL_OPT_METHOD = 1 << 9,
    EVAL_OPT_GROUPS = 1 << 10, /* two positionals: PAIRS (o->list) and GROUPS (o->groups) */
    EVAL_OPT_AGGREGATE = 1 << 11, /* --enrol, --rule */
};

/* Parses argv[1..] of sub-command `cmd` (argv[0] is its name) into *o, accepting the options
 * in `allowed` plus --models and --threads (cli_parse, with a table made of those; `mien eval
 * CMD --help` lists them). Returns CLI_PARSED, or the exit code: CLI_EXIT_OK after --help,
 * CLI_EXIT_USAGE after bad usage (the problem and the usage printed). */
int eval_parse_options(const char *cmd, int argc, char **argv, unsigned allowed,
                       eval_options *o);

/* Finds the LFW folder: `dir` (or $MIEN_DATA, else ../shared/data) when it holds
 * lfw_deepfunneled/ and `file`, else its lfw/ subfolder. On success writes the folder to
 * out[cap] and returns true; otherwise prints where it looked and returns false. */
bool eval_find_lfw(const char *cmd, const char *dir, const char *file, char *out, size_t cap);

/* ---- embedding pass ----------------------------------------------------------------- */

typedef enum eval_image_status {
    EVAL_IMAGE_OK = 0,         /* a face was found and embedded */
    EVAL_IMAGE_NO_FACE = 1,    /* decoded, no face: a failure to detect */
    EVAL_IMAGE_UNREADABLE = 2, /* could not be read or decoded (message printed) */
} eval_image_status;

/* What the pass keeps of one image. */
typedef struct eval_image {
    eval_image_status status;
    mien_template *t; /* the most prominent face's template (NULL unless OK), owned */
    float *vec;       /* dim_a + dim_b floats, A then B (L2-normalised), owned; NULL unless OK */
    float *flip;      /* with flip: the same, averaged with the mirrored picture's embedding
                         and renormalised per embedder; NULL otherwise */
    mien_quality quality; /* the face's (unless status is EVAL_IMAGE_NO_FACE or worse) */
} eval_image;

/* The embedding pass: a shared engine (one inference thread per call), `threads` workers
 * each with its own session, a shared atomic index over the images. */
typedef struct eval_embed_job {
    const char *const *paths; /* n image paths, borrowed */
    size_t n;
    mien_profile profile;     /* accurate: templates hold A and B */
    bool flip;                /* also embed the mirrored picture (eval_image.flip) */
    int threads;              /* worker threads, >= 1 */
    const char *label;        /* progress lines on stderr: "<label> 1000/7701 (12 s)" */
} eval_embed_job;

typedef struct eval_embed_result {
    eval_image *images; /* n entries, owned: eval_embed_result_free() */
    size_t n;
    int dim_a, dim_b;   /* vector sizes (dim_b 0 for `fast`) */
    size_t no_face, unreadable;
    /* Milliseconds summed over every worker, warm-up excluded: decode is timed here
     * around mien_image_load, the rest comes from mien_session_stage_times. */
    double decode_ms, detect_ms, landmarks_ms, align_ms, embed_ms;
    size_t timed_images; /* images those sums cover */
    double wall_s;       /* the whole pass, warm-up included */
    int threads;
} eval_embed_result;

/* Runs the pass on `engine` (opened with one inference thread). Each image is embedded once.
 * Unreadable images and images without a face are counted, not errors; a session that cannot
 * be opened or a library failure is (message printed, *res emptied). */
mien_status eval_embed_run(mien_engine *engine, const eval_embed_job *job,
                           eval_embed_result *res);
void eval_embed_result_free(eval_embed_result *res);

/* Opens the engine for an evaluation: one inference thread (the parallelism is across
 * images). Prints the error on failure. */
mien_status eval_open_engine(const eval_options *o, mien_engine **out);

/* ---- pairs and metrics --------------------------------------------------------------- */

typedef struct eval_pair {
    size_t a, b; /* indices into the image list */
    bool same;   /* same person */
    int fold;    /* 0 .. EVAL_MAX_FOLDS-1 */
} eval_pair;

/* A pair list with its distinct images (sorted paths; each is embedded once). */
typedef struct eval_pairs {
    eval_pair *pairs;
    size_t n_pairs;
    char **paths; /* n_paths distinct image paths, owned */
    size_t n_paths;
} eval_pairs;

/* Builds an eval_pairs from n pairs given as path strings (borrowed): the distinct paths are
 * sorted and copied, pairs refer to them by index. MIEN_ERR_NOMEM on allocation failure. */
mien_status eval_pairs_build(const char *const *path_a, const char *const *path_b,
                             const bool *same, const int *fold, size_t n, eval_pairs *out);
void eval_pairs_free(eval_pairs *p);

/* Pairs as a reader collects them, before eval_pairs_build: parallel arrays, paths owned. */
typedef struct eval_pair_lines {
    char **pa, **pb;
    bool *same;
    int *fold;
    size_t n, cap;
} eval_pair_lines;

/* Appends a pair, taking a and b (malloc'd; freed here on failure, either may be NULL).
 * False when out of memory. */
bool eval_pair_lines_add(eval_pair_lines *l, char *a, char *b, bool same, int fold);
/* What a reader ends with: eval_pairs_build on the first n lines (n <= l->n) into *out, then
 * the lines freed either way. False, "WHO: out of memory" printed, when memory ran out. */
bool eval_pair_lines_finish(eval_pair_lines *l, size_t n, const char *who, eval_pairs *out);
/* Frees the lines' paths and arrays. */
void eval_pair_lines_free(eval_pair_lines *l);

/* Reads an LFW pairs file (pairs.txt, pairsDevTrain.txt, pairsDevTest.txt): a header
 * "FOLDS N" or "N" (one fold), then per fold N same-person lines "name i j" and N
 * different-person lines "name i name2 j"; images are lfw_dir/lfw_deepfunneled/name/
 * name_NNNN.jpg. Only the first `max_folds` folds are kept (0: all). Prints the problem
 * (file and line) and returns false when the file is malformed or unreadable. */
bool eval_read_lfw_pairs(const char *lfw_dir, const char *file, int max_folds, eval_pairs *out,
                         int *n_folds);

/* One person of lfw-names.txt. */
typedef struct eval_person {
    char name[128];
    int count; /* images */
} eval_person;

/* Reads lfw-names.txt ("Name<TAB>count" lines) into *out (*n people, malloc'd: the caller
 * frees); prints the problem and returns false when malformed or unreadable. (eval_lfw1n.c) */
bool eval_read_lfw_names(const char *path, eval_person **out, size_t *n);

/* Reads a pair list of `mien eval pairs` (path_a<TAB>path_b<TAB>same 0|1<TAB>fold 0-9; blank
 * and '#' lines skipped), paths relative to `root`. Returns the exit code: 0 with *out
 * filled, 2 for a malformed line (line number printed), 1 when the list cannot be read. */
int eval_read_pair_list(const char *list, const char *root, eval_pairs *out);

/* Path of image `num` of `name` in LFW's layout, lfw_dir/lfw_deepfunneled/name/name_NNNN.jpg;
 * malloc'd (the caller frees), NULL when out of memory. */
char *eval_lfw_image(const char *lfw_dir, const char *name, int num);

/* Scores: cosine of embedder A (wa = 1, wb = 0), of B, or a weighted sum. Pairs with an image
 * without a vector score -(wa + wb), the lowest possible (eval-lfw.js scores them -1 per
 * embedder). `flip` takes the flip-averaged vectors. scores[n_pairs] is the caller's. */
void eval_scores_vectors(const eval_embed_result *r, const eval_pairs *p, double wa, double wb,
                         bool flip, double *scores);
/* Scores with the library's own mien_template_compare (the profile's similarity). */
mien_status eval_scores_templates(const eval_embed_result *r, const eval_pairs *p,
                                  double *scores);

typedef struct eval_metrics {
    int n_folds;                         /* folds present */
    double fold_accuracy[EVAL_MAX_FOLDS];/* each fold with the other folds' threshold */
    double accuracy, std;                /* mean, population std (as eval-lfw.js) */
    double threshold;                    /* mean of the fold thresholds */
    double tar_1e3, tar_1e2;             /* TAR at FAR 1e-3, 1e-2 over all pairs */
    size_t accepted_1e3, accepted_1e2;   /* impostors accepted at those thresholds */
    size_t genuine, impostors;
} eval_metrics;

/* 10-fold cross-validated accuracy (each fold with the threshold that maximises accuracy on
 * the other folds; with a single fold, on itself) and TAR@FAR, exactly as eval-lfw.js.
 * MIEN_ERR_NOMEM, or MIEN_ERR_ARG when there are no genuine or no impostor pairs. */
mien_status eval_metrics_compute(const double *scores, const eval_pairs *p, eval_metrics *m);

/* The accuracy-maximising threshold over pairs idx[0..n) (eval-lfw.js bestThreshold: accept
 * score > thr; midpoint between neighbouring distinct scores; the first best wins, so ties
 * keep the lowest threshold). *accuracy (may be NULL) gets the accuracy at it. */
double eval_best_threshold(const double *scores, const eval_pairs *p, const size_t *idx,
                           size_t n, double *accuracy);

/* TAR at FAR over all pairs (eval-lfw.js tarAtFar): threshold = the
 * (floor(far · impostors) + 1)-th highest impostor score, accept score > threshold. */
double eval_tar_at_far(const double *scores, const eval_pairs *p, double far, size_t *accepted,
                       double *threshold);

/* Writes the ROC (TAR against FAR, log x from 1e-4 to 1) as a hand-written SVG to `path`
 * with `title`. Prints the error and returns false when the file cannot be written. */
bool eval_write_roc_svg(const char *path, const char *title, const double *scores,
                        const eval_pairs *p);

/* The weight w of embedder A in the library's `accurate` similarity (w·cos A + (1 − w)·cos B),
 * read back through mien_template_compare from two of r's templates and rounded to 1e-4;
 * -1 when r has no two templates whose cosines differ enough to tell. */
double eval_library_weight(const eval_embed_result *r);

/* The sub-commands, `mien eval NAME` run by tools_eval_FN: lfw and pairs in eval_lfw.c,
 * calibrate in eval_calibrate.c, fusion and flip in eval_dev.c, detection (dlib's annotated
 * VOC photos) in eval_detection.c, lfw-1n (open-set 1:N identification on LFW) in
 * eval_lfw1n.c, clustering (grouping all of LFW into people) in eval_clustering.c, groups
 * (error rates per user-labelled group) in eval_groups.c. One list gives both their
 * declarations and eval_main.c's dispatch table. */
#define EVAL_COMMANDS(XX)                                                                    \
    XX("lfw", lfw) XX("pairs", pairs) XX("calibrate", calibrate) XX("fusion", fusion)        \
    XX("flip", flip) XX("detection", detection) XX("lfw-1n", lfw1n)                          \
    XX("clustering", clustering) XX("groups", groups)

#define EVAL_COMMAND_DECLARE(name, fn) int tools_eval_##fn(int argc, char **argv);
EVAL_COMMANDS(EVAL_COMMAND_DECLARE)
#undef EVAL_COMMAND_DECLARE

#endif
