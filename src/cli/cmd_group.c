/* cmd_group.c — `mien group IMAGE... | --from-dir DIR [--fmr F] [--profile P]
 * [--method M] [--json | --csv]`: which faces of a set of photos are the same person. Every
 * face of every image is detected and embedded, then grouped (mien_group): people (clusters
 * of two faces or more, largest first, each with its representative face) and the "messy
 * group" of faces that match no one. --from-dir takes the JPEG, PNG and WebP files under DIR
 * (subfolders included, sorted by path), as does a folder given as IMAGE. A bar on stderr
 * while the faces are embedded, when it is a terminal.
 *
 * Nothing is stored: the groups are printed and forgotten. Like `mien detect` and `mien
 * compare`, the command opens no store and so writes no audit entry; the operator runs it on
 * photos at hand (docs/grouping.md). The HTTP route, which serves others, is audited.
 *
 * Exit 0 when grouped; 1 when an image cannot be read, or fewer than two faces were found
 * (the message says how many); 2 for bad usage (no image at all). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct group_args {
    cli_common c;
    const char *from_dir;
    double fmr;
    mien_profile profile;
    const char *method;
    bool csv;
} group_args;

static const cli_opt opts[] = {
    {"--from-dir", CLI_OPT_STRING, offsetof(group_args, from_dir), "DIR",
     .help = "every JPEG, PNG and WebP under DIR (subfolders too)"},
    {"--fmr", CLI_OPT_DOUBLE, offsetof(group_args, fmr), "F",
     .help = "the false-match rate at which two faces are linked (default 1e-5)", .lo = 1e-6,
     .hi = 1.0, .want = "a rate in 1e-6..1"},
    CLI_OPT_PROFILE(group_args, profile),
    {"--method", CLI_OPT_STRING, offsetof(group_args, method), "M",
     .help = "chinese_whispers (default) or components"},
    {"--csv", CLI_OPT_FLAG, offsetof(group_args, csv), NULL,
     .help = "one line per face: image,face,x1,y1,x2,y2,person,representative"},
    CLI_OPTS_END_COMMON(group_args),
};
static const cli_command cmd = {
    "group",
    "group IMAGE... | --from-dir DIR [--fmr F] [--profile P] [--method M] [--json | --csv]",
    opts, 0, CLI_ARGS_ANY};

/* ---- the images --------------------------------------------------------------------------- */

/* ---- the faces ----------------------------------------------------------------------------- */

/* Every face found: its image (index into the paths), number in the image, box, template. */
typedef struct found {
    size_t image;
    size_t face;
    mien_face f;
    mien_template *t;
} found;

typedef struct face_list {
    found *f;
    size_t n, cap;
    size_t no_face; /* images without a face */
} face_list;

/* Detects and embeds every face of image k into l. False (message printed) when the image
 * cannot be read or the library fails. */
static bool faces_of(mien_session *s, const char *path, size_t k, mien_profile profile,
                     face_list *l)
{
    mien_image *img = NULL;
    mien_face *faces = NULL;
    mien_detect_options dopt = mien_detect_options_default();
    mien_error err;
    size_t n = 0;
    bool ok = true;
    if (cli_load_image(path, false, &img) != MIEN_OK) {
        return false;
    }
    mien_status st = mien_detect(s, img, &dopt, &faces, &n, &err);
    if (st != MIEN_OK) {
        cli_error("group", path, st, &err);
        mien_image_free(img);
        return false;
    }
    l->no_face += n == 0;
    for (size_t i = 0; ok && i < n; i++) {
        found *x;
        if (l->n == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 64;
            found *grown = realloc(l->f, cap * sizeof(*grown));
            if (grown == NULL) {
                fprintf(stderr, "mien group: out of memory\n");
                ok = false;
                break;
            }
            l->f = grown;
            l->cap = cap;
        }
        x = &l->f[l->n];
        *x = (found){.image = k, .face = i, .f = faces[i]};
        if (mien_embed(s, img, &faces[i], profile, &x->t, &err) != MIEN_OK) {
            fprintf(stderr, "mien group: %s face %zu: %s\n", path, i, err.message);
            ok = false;
        } else {
            l->n++;
        }
    }
    mien_faces_free(faces);
    mien_image_free(img);
    return ok;
}

/* ---- the report ---------------------------------------------------------------------------- */

static void face_json(const cli_paths *p, const found *x)
{
    printf("{\"image\":");
    cli_json_string(stdout, p->p[x->image]);
    printf(",\"face\":%zu,\"box\":[%.1f,%.1f,%.1f,%.1f]}", x->face, x->f.box[0], x->f.box[1],
           x->f.box[2], x->f.box[3]);
}

/* The faces of cluster c (-1: the messy group) as a JSON array. */
static void members_json(const cli_paths *p, const face_list *l, const mien_grouping *g, long c)
{
    bool first = true;
    putchar('[');
    for (size_t i = 0; i < l->n; i++) {
        if (g->labels[i] == c) {
            printf(first ? "" : ",");
            face_json(p, &l->f[i]);
            first = false;
        }
    }
    putchar(']');
}

static void print_json(const cli_paths *p, const face_list *l, const mien_grouping *g)
{
    printf("{\"images\":%zu,\"faces\":%zu,\"images_without_face\":%zu,\"method\":\"%s\","
           "\"max_fmr\":%g,\"threshold\":%.4f,\"people\":[",
           p->n, l->n, l->no_face, mien_group_method_name(g->method), g->max_fmr,
           g->threshold);
    for (size_t c = 0; c < g->clusters; c++) {
        printf("%s{\"person\":%zu,\"size\":%zu,\"representative\":", c ? "," : "", c + 1,
               g->sizes[c]);
        face_json(p, &l->f[g->representatives[c]]);
        printf(",\"faces\":");
        members_json(p, l, g, (long)c);
        putchar('}');
    }
    printf("],\"messy\":");
    members_json(p, l, g, -1);
    printf("}\n");
}

static void print_csv(const cli_paths *p, const face_list *l, const mien_grouping *g)
{
    printf("image,face,x1,y1,x2,y2,person,representative\n");
    for (size_t i = 0; i < l->n; i++) {
        const found *x = &l->f[i];
        long c = g->labels[i];
        cli_json_string(stdout, p->p[x->image]); /* quoted: commas in names stay one field */
        printf(",%zu,%.0f,%.0f,%.0f,%.0f,", x->face, x->f.box[0], x->f.box[1], x->f.box[2],
               x->f.box[3]);
        if (c < 0) {
            printf("messy,0\n");
        } else {
            printf("%ld,%d\n", c + 1, g->representatives[c] == i);
        }
    }
}

static void face_text(const cli_paths *p, const found *x)
{
    printf("%s face %zu (box %.0f,%.0f-%.0f,%.0f)", p->p[x->image], x->face, x->f.box[0],
           x->f.box[1], x->f.box[2], x->f.box[3]);
}

static void print_text(const cli_paths *p, const face_list *l, const mien_grouping *g)
{
    printf("%zu %s and %zu face%s matching no one, from %zu face%s in %zu image%s (%s, max_fmr "
           "%g: similarity >= %.4f)\n",
           g->clusters, g->clusters == 1 ? "person" : "people", g->messy,
           CLI_S(g->messy), l->n, CLI_S(l->n), p->n, CLI_S(p->n), mien_group_method_name(g->method),
           g->max_fmr, g->threshold);
    for (size_t c = 0; c < g->clusters; c++) {
        printf("person %zu: %zu face%s, representative ", c + 1, g->sizes[c],
               CLI_S(g->sizes[c]));
        face_text(p, &l->f[g->representatives[c]]);
        putchar('\n');
        for (size_t i = 0; i < l->n; i++) {
            if (g->labels[i] == (long)c) {
                printf("  ");
                face_text(p, &l->f[i]);
                putchar('\n');
            }
        }
    }
    if (g->messy > 0) {
        printf("messy group: %zu face%s\n", g->messy, g->messy == 1 ? "" : "s");
        for (size_t i = 0; i < l->n; i++) {
            if (g->labels[i] < 0) {
                printf("  ");
                face_text(p, &l->f[i]);
                putchar('\n');
            }
        }
    }
}

/* ---- the command ----------------------------------------------------------------------------- */

/* The images of the command line and of --from-dir, into *l. Returns the exit code. */
static int gather(const group_args *o, char **argv, int n_args, cli_paths *l)
{
    int rc = cli_paths_expand("group", argv, n_args, l);
    if (rc != CLI_PARSED) {
        return rc;
    }
    if (o->from_dir != NULL && !cli_paths_scan_dir("group", o->from_dir, l)) {
        return CLI_EXIT_FAIL;
    }
    if (l->n == 0) {
        fprintf(stderr, "mien group: no images to group%s%s%s\n",
                o->from_dir ? " (no JPEG, PNG or WebP file under " : " (give IMAGE... or "
                                                                     "--from-dir DIR",
                o->from_dir ? o->from_dir : "", ")");
        return CLI_EXIT_USAGE;
    }
    return CLI_PARSED;
}

/* Embeds every face of the images and groups them. Returns the exit code. */
static int group_images(const group_args *o, const cli_paths *p, mien_group_method method)
{
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    face_list l = {0};
    mien_grouping g = {0};
    mien_group_options go = mien_group_options_default();
    mien_error err;
    int rc = CLI_EXIT_FAIL;
    const mien_template **t = NULL;
    cli_progress pr;
    if (cli_open_session(&o->c, &engine, &session) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    cli_progress_start(&pr, p->n, "faces", o->c.json || o->csv);
    for (size_t k = 0; k < p->n; k++) {
        size_t before = l.n;
        if (!faces_of(session, p->p[k], k, o->profile, &l)) {
            cli_progress_end(&pr);
            goto done;
        }
        cli_progress_step(&pr, l.n - before);
    }
    cli_progress_end(&pr);
    if (l.n < 2) {
        fprintf(stderr, "mien group: grouping needs at least two faces; %zu found in %zu "
                        "image%s\n",
                l.n, p->n, p->n == 1 ? "" : "s");
        goto done;
    }
    if ((t = malloc(l.n * sizeof(*t))) == NULL) {
        fprintf(stderr, "mien group: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < l.n; i++) {
        t[i] = l.f[i].t;
    }
    go.max_fmr = o->fmr;
    go.method = method;
    go.threads = o->c.threads;
    if (mien_group(t, l.n, &go, &g, &err) != MIEN_OK) {
        rc = cli_fail("group", MIEN_ERR_ARG, &err);
        goto done;
    }
    if (o->c.json) {
        print_json(p, &l, &g);
    } else if (o->csv) {
        print_csv(p, &l, &g);
    } else {
        print_text(p, &l, &g);
    }
    rc = CLI_EXIT_OK;
done:
    mien_grouping_free(&g);
    free(t);
    for (size_t i = 0; i < l.n; i++) {
        mien_template_free(l.f[i].t);
    }
    free(l.f);
    mien_session_free(session);
    mien_engine_free(engine);
    return rc;
}

int cli_cmd_group(int argc, char **argv)
{
    group_args o = {.c = {.threads = 1}, .fmr = mien_group_options_default().max_fmr};
    cli_paths l = {0};
    mien_group_method method = MIEN_GROUP_AUTO;
    int n_args, rc = cli_parse(&cmd, argc, argv, &o, &n_args);
    if (rc != CLI_PARSED) {
        return rc;
    }
    if (o.c.json && o.csv) {
        fprintf(stderr, "mien group: --json and --csv exclude each other\n");
        return CLI_EXIT_USAGE;
    }
    if (o.method != NULL && mien_group_method_parse(o.method, &method) != MIEN_OK) {
        fprintf(stderr, "mien group: --method is chinese_whispers or components, not '%s'\n",
                o.method);
        return CLI_EXIT_USAGE;
    }
    rc = gather(&o, argv, n_args, &l);
    if (rc == CLI_PARSED) {
        rc = group_images(&o, &l, method);
    }
    cli_paths_free(&l);
    return rc;
}
