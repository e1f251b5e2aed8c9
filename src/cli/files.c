/* files.c — the images a command is given: its arguments, where a folder stands for every
 * JPEG, PNG and WebP file under it (recursively, hidden names skipped, sorted by path), so
 * `mien detect photos/` reads what `mien group --from-dir photos` reads. */
#include <dirent.h>
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
    *l = (cli_paths){0};
}

bool cli_is_image_name(const char *name)
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

/* Appends the image files under dir, unsorted. False, with a message, when a folder cannot
 * be read or memory runs out. */
static bool scan(const char *cmd, const char *dir, cli_paths *l)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool ok = true;
    if (d == NULL) {
        fprintf(stderr, "mien %s: cannot read the folder %s\n", cmd, dir);
        return false;
    }
    while (ok && (e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.') {
            continue;
        }
        /* "dir/" as typed keeps one slash: the paths printed are the ones a user would type */
        size_t len = strlen(dir);
        snprintf(path, sizeof(path), "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/",
                 e->d_name);
        if (stat(path, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            ok = scan(cmd, path, l);
        } else if (S_ISREG(st.st_mode) && cli_is_image_name(e->d_name) &&
                   !cli_paths_add(l, path)) {
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
    if (l->n > before) { /* an empty list may have no array at all (qsort wants one) */
        qsort(l->p + before, l->n - before, sizeof(*l->p), cmp_str);
    }
    return true;
}

bool cli_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cli_paths_expand(const char *cmd, char **args, int n_args, cli_paths *l)
{
    for (int k = 0; k < n_args; k++) {
        if (cli_is_dir(args[k])) {
            size_t before = l->n;
            if (!cli_paths_scan_dir(cmd, args[k], l)) {
                return CLI_EXIT_FAIL;
            }
            if (l->n == before) {
                fprintf(stderr, "mien %s: %s: no JPEG, PNG or WebP file in this folder\n", cmd,
                        args[k]);
                return CLI_EXIT_USAGE;
            }
        } else if (!cli_paths_add(l, args[k])) {
            fprintf(stderr, "mien %s: out of memory\n", cmd);
            return CLI_EXIT_FAIL;
        }
    }
    return CLI_PARSED;
}
