/* cmd_enroll.c — `mien enroll`: adding faces to a collection.
 *
 *   mien enroll COLL --subject ID [--name TEXT] [--face N] [--force] [--crops] IMAGE...
 *   mien enroll COLL --from-dir DIR [--force] [--crops] [--threads N]
 *   (both with [--consent REF] [--expires DATE|+DURATION] [--case-ref REF] [--store URI]
 *    [--models DIR] [--json])
 *
 * Consent and retention (mien.h mien_enrollment): --consent REF is the reference of the
 * person's consent record (a form number, a ticket), kept with the subject; a collection whose
 * policy requires consent refuses an enrolment without one, before any image is read (exit 3).
 * With --from-dir every subject gets the same REF (one consent batch per run). --expires sets
 * when the subject is erased by `mien purge` (a date or date-time in UTC, or +30d / +12h /
 * +3600s from now by the store's clock); the default is now + the collection's retention. Each
 * enrolment is audited with the CLI's actor (and --case-ref, if given).
 *
 * Each image is decoded, its faces detected, one face chosen and embedded with the
 * collection's profile, and the template enrolled with the SHA-256 of the file's bytes.
 * The choice is strict, because an enrolment is what every later search trusts: a photo with
 * several faces is refused unless --face N says which (the detector's order, as `mien detect`
 * prints it) or --force takes the most prominent; a face of low quality (mien_quality_class)
 * is refused unless --force. --crops also stores the aligned 112×112 chip for review.
 *
 * --from-dir DIR takes one folder per subject (the folder name is the subject id) with its
 * images inside. It is resumable: an image whose (subject, digest) is already enrolled is
 * skipped before any decoding (mien_enrolled). The work uses all cores: N worker threads
 * (--threads, default the online CPUs), each with its own session on one shared engine that
 * runs each model on one thread, decode, detect and embed; the main thread is the one writer
 * (a store handle belongs to one thread) and enrols results as they come. Progress: on a
 * terminal a bar refreshed in place (done/total, faces/s, ETA); otherwise (or with --json)
 * one JSON line per image on stdout. Refused images do not fail the run; an unreadable image
 * makes the exit status 1, and a store failure stops the run (what was enrolled stays).
 *
 * Exit codes: 0 success; 1 a refusal or failure (single images), an unreadable image or a
 * store failure (--from-dir); 2 bad usage. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define MAX_IMAGE_BYTES (64u << 20) /* mien_image_options' default max_bytes */
#define BAR_REFRESH_MS 100.0       /* terminal bar refresh period */

typedef enum item_state {
    ITEM_TODO = 0,
    ITEM_READY,    /* embedded, waiting for the writer */
    ITEM_ENROLLED,
    ITEM_SKIPPED,  /* already enrolled */
    ITEM_REFUSED,  /* no usable face, several faces, low quality */
    ITEM_FAILED,   /* unreadable, or the library failed */
} item_state;

static const char *const state_names[] = {"todo",    "ready",   "enrolled",
                                          "skipped", "refused", "failed"};

/* One image to enrol. Strings are owned (from-dir) or borrowed (argv). */
typedef struct item {
    char *subject, *path;
    bool owned;
    uint8_t sha[32];
    item_state state;
    char reason[512]; /* as mien_error.message */
    mien_template *t;    /* ITEM_READY: owned until enrolled */
    mien_quality quality;
    uint8_t *crop;       /* --crops: the aligned chip, owned */
    int face, faces;     /* the face used, of how many */
    int64_t face_id;
} item;

typedef struct enroll_opts {
    const char *collection;
    mien_profile profile;
    int face_index; /* --face N, -1: none */
    bool force, crops, json;
    const char *consent_ref;   /* --consent REF, NULL: none */
    int64_t expires_at;        /* --expires, unix seconds; 0: the collection's retention */
    const mien_context *ctx;   /* who enrols, for the audit log */
} enroll_opts;

static void usage(void)
{
    fprintf(stderr,
            "usage: mien enroll COLL --subject ID [--name TEXT] [--face N] [--force] [--crops] "
            "IMAGE...\n"
            "       mien enroll COLL --from-dir DIR [--force] [--crops] [--threads N]\n"
            "(each with [--consent REF] [--expires DATE|+30d] [--case-ref REF] [--store URI]\n"
            " [--models DIR] [--json]; --consent is required where the collection's policy "
            "requires consent)\n");
}

/* Reads path and writes the SHA-256 of its bytes to it->sha; false (reason set) when it
 * cannot be read. */
static bool hash_file(item *it)
{
    FILE *f = fopen(it->path, "rb");
    uint8_t *buf = NULL;
    long size;
    bool ok = false;
    if (f == NULL) {
        snprintf(it->reason, sizeof(it->reason), "cannot open: %s", strerror(errno));
        return false;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(it->reason, sizeof(it->reason), "cannot read: %s", strerror(errno));
    } else if ((unsigned long)size > MAX_IMAGE_BYTES) {
        snprintf(it->reason, sizeof(it->reason), "larger than %u bytes", MAX_IMAGE_BYTES);
    } else if ((buf = malloc((size_t)size + 1)) == NULL) {
        snprintf(it->reason, sizeof(it->reason), "out of memory");
    } else if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        snprintf(it->reason, sizeof(it->reason), "cannot read: short read");
    } else {
        ok = mien_sha256(buf, (size_t)size, it->sha) == MIEN_OK;
    }
    free(buf);
    fclose(f);
    return ok;
}

/* Decodes, detects, chooses and embeds it (state READY, REFUSED or FAILED, reason set). */
static void prepare(mien_session *s, const enroll_opts *o, item *it)
{
    mien_image_options io = mien_image_options_faces();
    mien_image *img = NULL;
    mien_face_pick pick = {NULL, 0, -1};
    mien_error err;
    mien_status st;
    const mien_face *face;
    st = mien_image_load(it->path, &io, &img, &err);
    if (st != MIEN_OK) {
        it->state = ITEM_FAILED;
        snprintf(it->reason, sizeof(it->reason), "%s", err.message);
        return;
    }
    st = mien_embed_face(s, img, o->face_index >= 0 ? o->face_index : MIEN_FACE_PROMINENT,
                         o->profile, &pick, &it->t, &err);
    it->faces = (int)pick.count;
    /* no face, or no face N: refused ("no face found", "no face N (found M)") */
    it->state = st == MIEN_ERR_NOT_FOUND && pick.index < 0 ? ITEM_REFUSED : ITEM_FAILED;
    if (st != MIEN_OK) {
        snprintf(it->reason, sizeof(it->reason), "%s", err.message);
        goto done;
    }
    it->state = ITEM_REFUSED;
    if (pick.count > 1 && o->face_index < 0 && !o->force) {
        snprintf(it->reason, sizeof(it->reason),
                 "%zu faces: say which with --face N, or --force for the most prominent",
                 pick.count);
        goto done;
    }
    face = &pick.faces[pick.index];
    it->face = pick.index;
    it->quality = face->quality;
    if (face->quality.klass == MIEN_QUALITY_LOW && !o->force) {
        const mien_quality *q = &face->quality;
        snprintf(it->reason, sizeof(it->reason),
                 "low quality (interocular %.0f px, sharpness %.0f, yaw %.0f, pitch %.0f); "
                 "--force to enrol anyway",
                 q->interocular_px, q->sharpness, q->yaw, q->pitch);
        goto done;
    }
    if (o->crops) {
        size_t side = (size_t)mien_face_chip_side();
        it->crop = malloc(side * side * 3);
        st = it->crop == NULL ? MIEN_ERR_NOMEM : mien_face_chip(img, face, it->crop, &err);
        if (st != MIEN_OK) {
            it->state = ITEM_FAILED;
            snprintf(it->reason, sizeof(it->reason), "%s",
                     st == MIEN_ERR_NOMEM ? "out of memory" : err.message);
            goto done;
        }
    }
    it->state = ITEM_READY;
    snprintf(it->reason, sizeof(it->reason), "face %d of %zu, quality %s", pick.index,
             pick.count, mien_quality_class_name(face->quality.klass));
done:
    if (it->state != ITEM_READY) {
        mien_template_free(it->t);
        it->t = NULL;
        free(it->crop);
        it->crop = NULL;
    }
    mien_faces_free(pick.faces);
    mien_image_free(img);
}

/* Enrols a READY item (state ENROLLED, SKIPPED when already there); returns the library's
 * status for anything else (err filled), which stops a bulk run. */
static mien_status commit(mien_store *store, const enroll_opts *o, item *it, mien_error *err)
{
    mien_enrollment e = {.subject = it->subject,
                         .template_ = it->t,
                         .quality = &it->quality,
                         .image_sha256 = it->sha,
                         .crop_rgb = it->crop,
                         .consent_ref = o->consent_ref,
                         .expires_at = o->expires_at};
    mien_status st = mien_enroll(store, o->collection, &e, o->ctx, &it->face_id, err);
    mien_template_free(it->t);
    it->t = NULL;
    free(it->crop);
    it->crop = NULL;
    if (st == MIEN_OK) {
        it->state = ITEM_ENROLLED;
    } else if (st == MIEN_ERR_EXISTS) {
        it->state = ITEM_SKIPPED;
        snprintf(it->reason, sizeof(it->reason), "already enrolled");
        st = MIEN_OK;
    } else {
        it->state = ITEM_FAILED;
        snprintf(it->reason, sizeof(it->reason), "%s", err->message);
    }
    return st;
}

static void print_json_line(const item *it)
{
    printf("{\"subject\":");
    cli_json_string(stdout, it->subject);
    printf(",\"image\":");
    cli_json_string(stdout, it->path);
    printf(",\"status\":\"%s\",\"reason\":", state_names[it->state]);
    cli_json_string(stdout, it->reason);
    if (it->state == ITEM_ENROLLED) {
        printf(",\"face_id\":%lld,\"face\":%d,\"faces\":%d", (long long)it->face_id, it->face,
               it->faces);
    }
    printf("}\n");
    fflush(stdout);
}

/* ---- one subject, images on the command line ------------------------------------------ */

static int enroll_images(mien_store *store, const cli_common *c, const enroll_opts *o,
                         const char *subject, const char *display_name, char **paths, int n)
{
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_error err;
    int rc = CLI_EXIT_OK;
    if (cli_open_engine(c, &engine) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    if (mien_session_new(engine, &session, &err) != MIEN_OK) {
        mien_engine_free(engine);
        return cli_fail("enroll", err.code, &err);
    }
    for (int k = 0; k < n; k++) {
        item it;
        memset(&it, 0, sizeof(it));
        it.subject = (char *)subject;
        it.path = paths[k];
        it.face = -1;
        if (!hash_file(&it)) {
            it.state = ITEM_FAILED;
        } else {
            prepare(session, o, &it);
        }
        if (it.state == ITEM_READY) {
            mien_enrollment e = {.subject = subject,
                                 .display_name = display_name,
                                 .template_ = it.t,
                                 .quality = &it.quality,
                                 .image_sha256 = it.sha,
                                 .crop_rgb = it.crop,
                                 .consent_ref = o->consent_ref,
                                 .expires_at = o->expires_at};
            mien_status st = mien_enroll(store, o->collection, &e, o->ctx, &it.face_id, &err);
            mien_template_free(it.t);
            free(it.crop);
            if (st == MIEN_OK) {
                it.state = ITEM_ENROLLED;
            } else {
                it.state = st == MIEN_ERR_EXISTS ? ITEM_SKIPPED : ITEM_FAILED;
                snprintf(it.reason, sizeof(it.reason), "%s", err.message);
                if (st == MIEN_ERR_FORBIDDEN) {
                    rc = CLI_EXIT_FORBIDDEN;
                }
            }
        }
        if (it.state != ITEM_ENROLLED && rc == CLI_EXIT_OK) {
            rc = CLI_EXIT_FAIL;
        }
        if (o->json) {
            print_json_line(&it);
        } else if (it.state == ITEM_ENROLLED) {
            printf("enrolled %s as %s (%s, face id %lld)\n", it.path, subject, it.reason,
                   (long long)it.face_id);
        } else {
            fprintf(stderr, "mien enroll: %s: %s: %s\n", it.path, state_names[it.state],
                    it.reason);
        }
    }
    mien_session_free(session);
    mien_engine_free(engine);
    return rc;
}

/* ---- --from-dir: workers and one writer ----------------------------------------------- */

typedef struct bulk {
    const enroll_opts *o;
    item *items;
    size_t *todo; /* indices of the items to process */
    size_t n_todo;
    atomic_size_t next;
    atomic_bool stop;
    pthread_mutex_t lock;
    pthread_cond_t ready;
    size_t *done_queue; /* indices processed, in completion order (n_todo slots) */
    size_t n_done;      /* under lock */
} bulk;

typedef struct bulk_worker {
    bulk *b;
    mien_session *session;
} bulk_worker;

static void *bulk_main(void *arg)
{
    bulk_worker *w = arg;
    bulk *b = w->b;
    for (;;) {
        size_t k = atomic_fetch_add(&b->next, 1);
        if (k >= b->n_todo) {
            break;
        }
        /* An item taken is always handed back, prepared or not: the writer counts them. */
        if (!atomic_load(&b->stop)) {
            prepare(w->session, b->o, &b->items[b->todo[k]]);
        }
        pthread_mutex_lock(&b->lock);
        b->done_queue[b->n_done++] = b->todo[k];
        pthread_cond_signal(&b->ready);
        pthread_mutex_unlock(&b->lock);
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names in `dir` (not starting with '.') that are directories (want_dirs) or regular files,
 * sorted; *out malloc'd array of malloc'd names. */
static bool list_dir(const char *dir, bool want_dirs, char ***out, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (d == NULL) {
        return false;
    }
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || (want_dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
            continue;
        }
        if (*n == cap) {
            char **grown;
            cap = cap ? 2 * cap : 64;
            grown = realloc(names, cap * sizeof(*grown));
            if (grown == NULL) {
                goto fail;
            }
            names = grown;
        }
        names[*n] = strdup(de->d_name);
        if (names[*n] == NULL) {
            goto fail;
        }
        (*n)++;
    }
    closedir(d);
    if (*n > 1) {
        qsort(names, *n, sizeof(*names), cmp_str);
    }
    *out = names;
    return true;
fail:
    for (size_t k = 0; k < *n; k++) {
        free(names[k]);
    }
    free(names);
    closedir(d);
    *n = 0;
    return false;
}

/* Every (subject folder, image) under dir as items; false (message printed) on failure. */
static bool collect(const char *dir, item **out, size_t *n_out)
{
    char **subjects = NULL;
    size_t n_subjects = 0, n = 0, cap = 0;
    item *items = NULL;
    bool ok = true;
    *out = NULL;
    *n_out = 0;
    if (!list_dir(dir, true, &subjects, &n_subjects)) {
        fprintf(stderr, "mien enroll: cannot read the folder %s: %s\n", dir, strerror(errno));
        return false;
    }
    for (size_t s = 0; s < n_subjects && ok; s++) {
        char sub[4096];
        char **files = NULL;
        size_t n_files = 0;
        snprintf(sub, sizeof(sub), "%s/%s", dir, subjects[s]);
        if (!list_dir(sub, false, &files, &n_files)) {
            fprintf(stderr, "mien enroll: cannot read the folder %s\n", sub);
            ok = false;
        }
        for (size_t f = 0; f < n_files && ok; f++) {
            size_t len = strlen(sub) + strlen(files[f]) + 2;
            if (n == cap) {
                item *grown;
                cap = cap ? 2 * cap : 256;
                grown = realloc(items, cap * sizeof(*grown));
                if (grown == NULL) {
                    ok = false;
                    break;
                }
                items = grown;
            }
            memset(&items[n], 0, sizeof(items[n]));
            items[n].owned = true;
            items[n].face = -1;
            items[n].subject = strdup(subjects[s]);
            items[n].path = malloc(len);
            if (items[n].subject == NULL || items[n].path == NULL) {
                free(items[n].subject);
                free(items[n].path);
                ok = false;
                break;
            }
            snprintf(items[n].path, len, "%s/%s", sub, files[f]);
            n++;
        }
        for (size_t f = 0; f < n_files; f++) {
            free(files[f]);
        }
        free(files);
    }
    for (size_t s = 0; s < n_subjects; s++) {
        free(subjects[s]);
    }
    free(subjects);
    if (!ok) {
        for (size_t k = 0; k < n; k++) {
            free(items[k].subject);
            free(items[k].path);
        }
        free(items);
        if (errno == ENOMEM) {
            fprintf(stderr, "mien enroll: out of memory\n");
        }
        return false;
    }
    *out = items;
    *n_out = n;
    return true;
}

static void format_duration(double s, char *out, size_t cap)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);
    if (t >= 3600) {
        snprintf(out, cap, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    } else {
        snprintf(out, cap, "%ldm%02lds", t / 60, t % 60);
    }
}

/* The terminal bar: [#####.....] done/total  faces/s  ETA. */
static void draw_bar(size_t done, size_t total, size_t faces, double elapsed_s)
{
    enum { WIDTH = 30 };
    char bar[WIDTH + 1], eta[32];
    int fill = total ? (int)((double)done / (double)total * WIDTH) : WIDTH;
    double rate = elapsed_s > 0 ? (double)done / elapsed_s : 0;
    for (int k = 0; k < WIDTH; k++) {
        bar[k] = k < fill ? '#' : '.';
    }
    bar[WIDTH] = '\0';
    if (rate > 0) {
        format_duration((double)(total - done) / rate, eta, sizeof(eta));
    } else {
        snprintf(eta, sizeof(eta), "?");
    }
    fprintf(stderr, "\r[%s] %zu/%zu  %.1f faces/s  ETA %s \033[K", bar, done, total,
            elapsed_s > 0 ? (double)faces / elapsed_s : 0.0, eta);
    fflush(stderr);
}

static int enroll_dir(mien_store *store, const cli_common *c, const enroll_opts *o,
                      const char *dir, int threads)
{
    item *items = NULL;
    size_t n = 0, counts[6] = {0}, processed = 0;
    bulk b;
    bulk_worker *ws = NULL;
    pthread_t *tids = NULL;
    mien_engine *engine = NULL;
    mien_error err;
    mien_status fatal = MIEN_OK;
    bool tty = isatty(STDERR_FILENO) != 0, lines = o->json || !tty;
    int started = 0, opened = 0, rc = CLI_EXIT_OK;
    double t0, last_bar = 0, wall_s;
    cli_common ce = *c;
    memset(&b, 0, sizeof(b));
    if (!collect(dir, &items, &n)) {
        return CLI_EXIT_FAIL;
    }
    b.o = o;
    b.items = items;
    b.todo = calloc(n + 1, sizeof(*b.todo));
    b.done_queue = calloc(n + 1, sizeof(*b.done_queue));
    if (b.todo == NULL || b.done_queue == NULL) {
        fprintf(stderr, "mien enroll: out of memory\n");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    /* Resumability, before any decoding: what is enrolled already is skipped. */
    for (size_t k = 0; k < n; k++) {
        item *it = &items[k];
        int enrolled = 0;
        mien_status st;
        if (strlen(it->subject) >= 128) {
            it->state = ITEM_REFUSED;
            snprintf(it->reason, sizeof(it->reason), "subject id longer than 127 bytes");
        } else if (!hash_file(it)) {
            it->state = ITEM_FAILED;
        } else if ((st = mien_enrolled(store, o->collection, it->subject, it->sha, &enrolled,
                                       &err)) != MIEN_OK) {
            fatal = st;
            break;
        } else if (enrolled) {
            it->state = ITEM_SKIPPED;
            snprintf(it->reason, sizeof(it->reason), "already enrolled");
        } else {
            b.todo[b.n_todo++] = k;
            continue;
        }
        counts[it->state]++;
        processed++;
        if (lines) {
            print_json_line(it);
        } else if (it->state != ITEM_SKIPPED) {
            fprintf(stderr, "mien enroll: %s: %s: %s\n", it->path, state_names[it->state],
                    it->reason);
        }
    }
    if (fatal != MIEN_OK) {
        rc = cli_fail("enroll", fatal, &err);
        goto done;
    }
    if (b.n_todo > 0) {
        int nt = threads;
        if ((size_t)nt > b.n_todo) {
            nt = (int)b.n_todo;
        }
        ce.threads = 1; /* the parallelism is across images */
        if (cli_open_engine(&ce, &engine) != MIEN_OK) {
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        ws = calloc((size_t)nt, sizeof(*ws));
        tids = calloc((size_t)nt, sizeof(*tids));
        if (ws == NULL || tids == NULL) {
            fprintf(stderr, "mien enroll: out of memory\n");
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        for (opened = 0; opened < nt; opened++) {
            ws[opened].b = &b;
            if (mien_session_new(engine, &ws[opened].session, &err) != MIEN_OK) {
                rc = cli_fail("enroll", err.code, &err);
                goto done;
            }
        }
        pthread_mutex_init(&b.lock, NULL);
        pthread_cond_init(&b.ready, NULL);
        atomic_init(&b.next, 0);
        atomic_init(&b.stop, false);
        t0 = mien_now_ms();
        for (started = 0; started < nt; started++) {
            if (pthread_create(&tids[started], NULL, bulk_main, &ws[started]) != 0) {
                break;
            }
        }
        if (started == 0) {
            fprintf(stderr, "mien enroll: cannot start a worker thread\n");
            rc = CLI_EXIT_FAIL;
        }
        /* The writer: enrols each result as it comes, in completion order. */
        for (size_t taken = 0; started > 0 && taken < b.n_todo;) {
            size_t k;
            item *it;
            pthread_mutex_lock(&b.lock);
            while (b.n_done == taken) {
                pthread_cond_wait(&b.ready, &b.lock);
            }
            k = b.done_queue[taken++];
            pthread_mutex_unlock(&b.lock);
            it = &items[k];
            if (it->state == ITEM_READY && fatal == MIEN_OK) {
                mien_status st = commit(store, o, it, &err);
                if (st != MIEN_OK) {
                    fatal = st;
                    atomic_store(&b.stop, true);
                    /* Items no worker took yet will never arrive: claim them all at once
                     * (a worker that took one before this hands it back unprepared). */
                    size_t j = atomic_exchange(&b.next, b.n_todo);
                    pthread_mutex_lock(&b.lock);
                    for (; j < b.n_todo; j++) {
                        b.done_queue[b.n_done++] = b.todo[j];
                    }
                    pthread_mutex_unlock(&b.lock);
                }
            } else if (it->state == ITEM_READY || it->state == ITEM_TODO) {
                mien_template_free(it->t);
                it->t = NULL;
                free(it->crop);
                it->crop = NULL;
                continue; /* abandoned after a store failure */
            }
            counts[it->state]++;
            processed++;
            if (lines) {
                print_json_line(it);
            } else if (it->state != ITEM_ENROLLED) {
                fprintf(stderr, "\r\033[Kmien enroll: %s: %s: %s\n", it->path,
                        state_names[it->state], it->reason);
            }
            if (tty && (mien_now_ms() - last_bar >= BAR_REFRESH_MS || taken == b.n_todo)) {
                last_bar = mien_now_ms();
                draw_bar(processed, n, counts[ITEM_ENROLLED], (last_bar - t0) / 1e3);
            }
        }
        for (int k = 0; k < started; k++) {
            pthread_join(tids[k], NULL);
        }
        pthread_cond_destroy(&b.ready);
        pthread_mutex_destroy(&b.lock);
        wall_s = (mien_now_ms() - t0) / 1e3;
        if (tty) {
            fprintf(stderr, "\n");
        }
    } else {
        wall_s = 0;
    }
    if (fatal != MIEN_OK) {
        fprintf(stderr, "mien enroll: stopped: %s (%s); what was enrolled stays, re-run to "
                        "resume\n",
                err.message, mien_strerror(fatal));
        rc = cli_exit_code(fatal);
    }
    if (counts[ITEM_FAILED] > 0 && rc == CLI_EXIT_OK) {
        rc = CLI_EXIT_FAIL;
    }
    {
        double rate = wall_s > 0 ? (double)counts[ITEM_ENROLLED] / wall_s : 0;
        if (o->json || !tty) {
            printf("{\"summary\":{\"collection\":");
            cli_json_string(stdout, o->collection);
            printf(",\"images\":%zu,\"enrolled\":%zu,\"skipped\":%zu,\"refused\":%zu,"
                   "\"failed\":%zu,\"wall_s\":%.3f,\"faces_per_s\":%.2f,\"threads\":%d}}\n",
                   n, counts[ITEM_ENROLLED], counts[ITEM_SKIPPED], counts[ITEM_REFUSED],
                   counts[ITEM_FAILED], wall_s, rate, started);
        } else {
            printf("%zu images: %zu enrolled, %zu skipped (already enrolled), %zu refused, "
                   "%zu failed; %.1f s, %.1f faces/s with %d threads\n",
                   n, counts[ITEM_ENROLLED], counts[ITEM_SKIPPED], counts[ITEM_REFUSED],
                   counts[ITEM_FAILED], wall_s, rate, started);
        }
    }
done:
    for (int k = opened - 1; ws != NULL && k >= 0; k--) {
        mien_session_free(ws[k].session);
    }
    free(ws);
    free(tids);
    mien_engine_free(engine);
    for (size_t k = 0; k < n; k++) {
        mien_template_free(items[k].t);
        free(items[k].crop);
        free(items[k].subject);
        free(items[k].path);
    }
    free(items);
    free(b.todo);
    free(b.done_queue);
    return rc;
}

/* --expires: "+30d" (from `now`, the store's clock) or a point in time; false when malformed
 * or not after now. */
static bool parse_expiry(const char *s, int64_t now, int64_t *out)
{
    int64_t v = 0;
    if (s[0] == '+') {
        if (!cli_parse_duration(s + 1, &v)) {
            return false;
        }
        v += now;
    } else if (!cli_parse_time(s, false, &v)) {
        return false;
    }
    if (v <= now) {
        return false;
    }
    *out = v;
    return true;
}

int cli_cmd_enroll(int argc, char **argv)
{
    cli_common c = {.threads = 0};
    enroll_opts o = {.face_index = -1};
    const char *store_uri = NULL, *subject = NULL, *display_name = NULL, *dir = NULL;
    const char *purpose = NULL, *case_ref = NULL, *expires = NULL;
    cli_context cx;
    char **paths = NULL;
    int n_paths = 0, rc;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    bool bad = false;
    mien_store *store = NULL;
    mien_collection_info info;
    mien_error err;
    mien_status st;
    paths = calloc((size_t)argc + 1, sizeof(*paths));
    if (paths == NULL) {
        return CLI_EXIT_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad) ||
            cli_context_option(argc, argv, &i, &purpose, &case_ref, &bad)) {
            continue;
        }
        if (strcmp(a, "--force") == 0) {
            o.force = true;
        } else if (strcmp(a, "--crops") == 0) {
            o.crops = true;
        } else if ((strcmp(a, "--subject") == 0 || strcmp(a, "--name") == 0 ||
                    strcmp(a, "--from-dir") == 0 || strcmp(a, "--face") == 0 ||
                    strcmp(a, "--consent") == 0 || strcmp(a, "--expires") == 0) &&
                   i + 1 >= argc) {
            fprintf(stderr, "mien enroll: %s needs a value\n", a);
            bad = true;
        } else if (strcmp(a, "--subject") == 0) {
            subject = argv[++i];
        } else if (strcmp(a, "--name") == 0) {
            display_name = argv[++i];
        } else if (strcmp(a, "--consent") == 0) {
            o.consent_ref = argv[++i];
            if (o.consent_ref[0] == '\0') {
                fprintf(stderr, "mien enroll: --consent wants the consent record's reference\n");
                bad = true;
            }
        } else if (strcmp(a, "--expires") == 0) {
            expires = argv[++i];
        } else if (strcmp(a, "--from-dir") == 0) {
            dir = argv[++i];
        } else if (strcmp(a, "--face") == 0) {
            if (!cli_parse_int(argv[++i], 0, 100000, &o.face_index)) {
                fprintf(stderr, "mien enroll: --face wants a face number, got '%s'\n", argv[i]);
                bad = true;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "mien enroll: unexpected '%s'\n", a);
            bad = true;
        } else if (o.collection == NULL) {
            o.collection = a;
        } else {
            paths[n_paths++] = argv[i];
        }
    }
    if (!bad && o.collection == NULL) {
        fprintf(stderr, "mien enroll: which collection?\n");
        bad = true;
    } else if (!bad && dir == NULL && (subject == NULL || n_paths == 0)) {
        fprintf(stderr, "mien enroll: give --subject ID and images, or --from-dir DIR\n");
        bad = true;
    } else if (!bad && dir != NULL && (subject != NULL || n_paths > 0 || o.face_index >= 0 ||
                                       display_name != NULL)) {
        fprintf(stderr, "mien enroll: --from-dir takes subjects from the folder names; no "
                        "--subject, --name, --face or images with it\n");
        bad = true;
    }
    if (bad) {
        usage();
        free(paths);
        return CLI_EXIT_USAGE;
    }
    o.json = c.json;
    cli_context_init(&cx, purpose, case_ref);
    o.ctx = &cx.ctx;
    if (cli_open_store(store_uri, &store) != MIEN_OK) {
        free(paths);
        return CLI_EXIT_FAIL;
    }
    st = mien_collection_get(store, o.collection, &info, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("enroll", st, &err);
    } else if (info.consent == MIEN_CONSENT_REQUIRED && o.consent_ref == NULL) {
        /* Refused before any image is read; the library would refuse each one the same way. */
        fprintf(stderr, "mien enroll: refused: collection '%s' enrols people only with their "
                        "consent (legal basis: %s): give the consent record's reference with "
                        "--consent REF\n",
                o.collection, info.legal_basis[0] ? info.legal_basis : "not declared");
        rc = CLI_EXIT_FORBIDDEN;
    } else if (expires != NULL && !parse_expiry(expires, mien_store_now(store), &o.expires_at)) {
        fprintf(stderr, "mien enroll: --expires wants a date (2031-12-31), a UTC date-time "
                        "(2031-12-31T18:00:00Z), unix seconds, or +30d / +12h / +3600s from now; "
                        "in the future (got '%s')\n",
                expires);
        rc = CLI_EXIT_USAGE;
    } else {
        o.profile = info.profile;
        if (dir != NULL) {
            int threads = c.threads > 0 ? c.threads : (cpus >= 1 ? (int)(cpus > 256 ? 256 : cpus)
                                                                 : 1);
            rc = enroll_dir(store, &c, &o, dir, threads);
        } else {
            c.threads = c.threads > 0 ? c.threads : 1;
            rc = enroll_images(store, &c, &o, subject, display_name, paths, n_paths);
        }
    }
    mien_store_close(store);
    free(paths);
    return rc;
}
