/* lfw_bench.h — what the bench programs that embed LFW's faces share (bench/precision.c,
 * bench/mixed_precision.c; each script compiles lfw_bench.c in beside its program): LFW's
 * list files read into one table of images and one of pairs, and the cosine of one part of
 * two templates.
 *
 * LFW_DIR holds lfw_deepfunneled/NAME/NAME_NNNN.jpg and the lists:
 *   people files (peopleDevTrain.txt, ...): a header line, then "NAME COUNT" lines (the
 *     person's images are numbers 1 to COUNT);
 *   pair files (pairs.txt, pairsDevTest.txt, ...): a header line, then "NAME I J" (same
 *     person) or "NAME1 I NAME2 J" (different people) lines.
 * Lines of another shape are passed over. Example:
 *
 *     static lfw_lists lfw;                       // 8 MB: static, not on the stack
 *     if (!lfw_read_pairs(&lfw, dir, file, 1000)) fprintf(stderr, "%s\n", lfw.error);
 *     for (int k = 0; k < lfw.n_pairs; k++) use(lfw.images[lfw.pairs[k].a].path, ...);
 *
 * Both readers fill the tables in file order, so two processes that read the same files
 * with the same limits get the same indices. */
#ifndef MIEN_BENCH_LFW_BENCH_H
#define MIEN_BENCH_LFW_BENCH_H

#include <stdbool.h>

#include "mien.h"

#define LFW_MAX_IMAGES 16384
#define LFW_MAX_PAIRS 8192
#define LFW_PATH_MAX 512 /* bytes of an image path, NUL included */

typedef struct lfw_image {
    char path[LFW_PATH_MAX]; /* LFW_DIR/lfw_deepfunneled/NAME/NAME_NNNN.jpg */
    int person;              /* index in the people file; -1 for an image only a pair names */
} lfw_image;

typedef struct lfw_pair {
    int a, b;  /* indices in images[] */
    bool same; /* one person in two photos */
} lfw_pair;

typedef struct lfw_lists {
    lfw_image images[LFW_MAX_IMAGES];
    int n_images;
    int n_people_images; /* images [0, n_people_images) are the people file's */
    lfw_pair pairs[LFW_MAX_PAIRS];
    int n_pairs;
    char error[640]; /* why the last reader returned false */
} lfw_lists;

/* Lists the images of the people of people file `file` (lfw_dir: the folder holding
 * lfw_deepfunneled/), whole people only, while the table holds at most max_images; call it
 * first, on an empty table. False, with the reason in l->error, when the file cannot be
 * read or a path would not fit LFW_PATH_MAX (the people read so far stay listed). */
bool lfw_read_people(lfw_lists *l, const char *lfw_dir, const char *file, int max_images);

/* Adds the pairs of pair file `file` while l->n_pairs < max_pairs (and LFW_MAX_PAIRS), and
 * their images when not listed yet (looked up among the images after the people file's
 * only: LFW's development pair files name other people than its development people files).
 * Stops early, keeping what was added, when the image table is full or a path would not
 * fit. False, with the reason in l->error, only when the file cannot be read; a file
 * without pairs is true, with l->n_pairs unchanged. */
bool lfw_read_pairs(lfw_lists *l, const char *lfw_dir, const char *file, int max_pairs);

/* The cosine of part `part` (0: embedder A, 1: B; mien_template_vector) of x and y: the
 * dot product of their unit vectors, summed in double, as the `fast` profile scores cos A.
 * NAN when either lacks the part or the dimensions differ. */
double lfw_cosine_part(const mien_template *x, const mien_template *y, int part);

#endif
