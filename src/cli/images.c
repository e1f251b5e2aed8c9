/* images.c — the photos a command is given: the files named on its command line and every
 * JPEG, PNG and WebP file under a folder (subfolders included, hidden names skipped, sorted
 * by path). The one lister of the commands that take folders of photos (`group --from-dir`,
 * `identify`); `enroll --from-dir` reads a folder per subject, a different shape. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"

bool cli_paths_add(cli_paths *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **grown = realloc(l->p, cap * sizeof(*grown));
        if (grown == NULL) {
            return false;
        }
        l->p = grown;
        l->cap = cap;
    }
    return (l->p[l->n] = strdup(path)) != NULL && ++l->n > 0;
}

void cli_paths_free(cli_paths *l)
{
    for (size_t k = 0; k < l->n; k++) {
        free(l->p[k]);
    }
    free(l->p);
    memset(l, 0, sizeof(*l));
}

/* Whether a file name ends as a JPEG, PNG or WebP file's does (any case). */
static bool is_image_name(const char *name)
{
    static const char *const EXT[] = {".jpg", ".jpeg", ".png", ".webp"};
    const char *dot = strrchr(name, '.');
    for (size_t k = 0; dot != NULL && k < sizeof(EXT) / sizeof(EXT[0]); k++) {
        if (strcasecmp(dot, EXT[k]) == 0) {
            return true;
        }
    }
    return false;
}

/* The image files under dir, recursively, appended to l unsorted. */
static bool scan(const char *cmd, const char *dir, cli_paths *l)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool ok = true;
    if (d == NULL) {
        fprintf(stderr, "mien %s: cannot read the folder %s: %s\n", cmd, dir, strerror(errno));
        return false;
    }
    while (ok && (e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            ok = scan(cmd, path, l);
        } else if (S_ISREG(st.st_mode) && is_image_name(e->d_name) && !cli_paths_add(l, path)) {
            fprintf(stderr, "mien %s: out of memory\n", cmd);
            ok = false;
        }
    }
    closedir(d);
    return ok;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool cli_paths_scan_dir(const char *cmd, const char *dir, cli_paths *l)
{
    size_t before = l->n;
    if (!scan(cmd, dir, l)) {
        return false;
    }
    qsort(l->p + before, l->n - before, sizeof(*l->p), cmp_str);
    return true;
}

int cli_paths_gather(const char *cmd, char **args, int n_args, cli_paths *l)
{
    for (int k = 0; k < n_args; k++) {
        struct stat st;
        size_t before = l->n;
        if (stat(args[k], &st) != 0 || !S_ISDIR(st.st_mode)) {
            if (!cli_paths_add(l, args[k])) {
                fprintf(stderr, "mien %s: out of memory\n", cmd);
                return CLI_EXIT_FAIL;
            }
            continue;
        }
        if (!cli_paths_scan_dir(cmd, args[k], l)) {
            return CLI_EXIT_FAIL;
        }
        if (l->n == before) {
            fprintf(stderr, "mien %s: no JPEG, PNG or WebP file under %s\n", cmd, args[k]);
            return CLI_EXIT_USAGE;
        }
    }
    return CLI_PARSED;
}
