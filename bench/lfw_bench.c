/* lfw_bench.c — LFW's people and pair files read into lfw_lists' tables, and the cosine of
 * two templates' parts (lfw_bench.h says what the files hold and how the tables are
 * filled). */
#include "lfw_bench.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Opens list file `file` past its header line. NULL, with the reason in l->error, when it
 * cannot be opened or is empty. */
static FILE *open_list(lfw_lists *l, const char *file)
{
    char line[512];
    FILE *f = fopen(file, "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
        snprintf(l->error, sizeof(l->error), "cannot read %s", file);
        if (f != NULL) {
            fclose(f);
        }
        return NULL;
    }
    return f;
}

/* Writes the path of `name`'s image number `num` to path; false when it does not fit (a
 * path this long is no LFW path). */
static bool image_path(char path[LFW_PATH_MAX], const char *lfw_dir, const char *name, int num)
{
    return snprintf(path, LFW_PATH_MAX, "%s/lfw_deepfunneled/%s/%s_%04d.jpg", lfw_dir, name,
                    name, num) < LFW_PATH_MAX;
}

/* Index of `name`'s image number `num` among the images after the people file's, adding it
 * (person -1) when new (linear search: a few thousand images). -1 when the table is full or
 * the path does not fit. */
static int image_index(lfw_lists *l, const char *lfw_dir, const char *name, int num)
{
    char path[LFW_PATH_MAX];
    if (!image_path(path, lfw_dir, name, num)) {
        return -1;
    }
    for (int i = l->n_people_images; i < l->n_images; i++) {
        if (strcmp(l->images[i].path, path) == 0) {
            return i;
        }
    }
    if (l->n_images == LFW_MAX_IMAGES) {
        return -1;
    }
    memcpy(l->images[l->n_images].path, path, sizeof(path));
    l->images[l->n_images].person = -1;
    return l->n_images++;
}

bool lfw_read_people(lfw_lists *l, const char *lfw_dir, const char *file, int max_images)
{
    char line[512], name[256];
    int count, person = 0;
    bool ok = true;
    FILE *f = open_list(l, file);
    if (f == NULL) {
        return false;
    }
    while (ok && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "%255s %d", name, &count) != 2) {
            continue;
        }
        if (l->n_images + count > max_images) {
            break;
        }
        for (int k = 1; k <= count && l->n_images < LFW_MAX_IMAGES && ok; k++) {
            lfw_image *im = &l->images[l->n_images];
            ok = image_path(im->path, lfw_dir, name, k);
            if (ok) {
                im->person = person;
                l->n_images++;
            }
        }
        person++;
    }
    fclose(f);
    l->n_people_images = l->n_images;
    if (!ok) {
        snprintf(l->error, sizeof(l->error), "path too long under %s", lfw_dir);
    }
    return ok;
}

bool lfw_read_pairs(lfw_lists *l, const char *lfw_dir, const char *file, int max_pairs)
{
    char line[512], n1[256], n2[256];
    int i, j;
    FILE *f = open_list(l, file);
    if (f == NULL) {
        return false;
    }
    if (max_pairs > LFW_MAX_PAIRS) {
        max_pairs = LFW_MAX_PAIRS;
    }
    while (l->n_pairs < max_pairs && fgets(line, sizeof(line), f) != NULL) {
        lfw_pair *p = &l->pairs[l->n_pairs];
        if (sscanf(line, "%255s %d %255s %d", n1, &i, n2, &j) == 4) {
            p->a = image_index(l, lfw_dir, n1, i);
            p->b = image_index(l, lfw_dir, n2, j);
            p->same = false;
        } else if (sscanf(line, "%255s %d %d", n1, &i, &j) == 3) {
            p->a = image_index(l, lfw_dir, n1, i);
            p->b = image_index(l, lfw_dir, n1, j);
            p->same = true;
        } else {
            continue;
        }
        if (p->a < 0 || p->b < 0) {
            break;
        }
        l->n_pairs++;
    }
    fclose(f);
    return true;
}

double lfw_cosine_part(const mien_template *x, const mien_template *y, int part)
{
    const float *a, *b;
    int da, db;
    double d = 0.0;
    if (mien_template_vector(x, part, &a, &da) != MIEN_OK ||
        mien_template_vector(y, part, &b, &db) != MIEN_OK || da != db) {
        return NAN;
    }
    for (int k = 0; k < da; k++) {
        d += (double)a[k] * b[k];
    }
    return d;
}
