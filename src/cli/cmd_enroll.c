/* cmd_enroll.c — `mien enroll`: adding faces to a collection.
 *
 *   mien enroll COLL --subject ID [--name TEXT] [--face N] [--force] [--crops] IMAGE|DIR...
 *   mien enroll COLL --from-dir DIR [--force] [--crops] [--threads N]
 *   (both with [--consent REF] [--expires DATE|+DURATION] [--case-ref REF] [--store URI]
 *    [--models DIR] [--json])
 *
 * Consent and retention (mien.h mien_enrollment): --consent REF is the reference of the
 * person's consent record (a form number, a ticket), kept with the subject; a collection whose
 * policy requires consent refuses an enrolment without one, before any image is read (exit 3;
 * the library's check, mien_enroll_check, which audits the refusal).
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
 * terminal a bar refreshed in place (done/total, faces/s, ETA); with --json (and only then:
 * a pipe gets the same text as a terminal) one JSON line per image on stdout. Refused images do not fail the run (each refusal is one
 * audit entry, mien_record_refusal, written by the writer thread); an unreadable image
 * makes the exit status 1, and a store failure stops the run (what was enrolled stays).
 *
 * Exit codes: 0 success, an image already enrolled ("skipped") included in both modes (a
 * re-run is not a failure); 1 a refusal or failure (single images), an unreadable image or a
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
    mien_refusal refusal; /* ITEM_REFUSED: why, for the audit entry */
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
    } else if ((size_t)size > cli_image_options().max_bytes) {
        snprintf(it->reason, sizeof(it->reason),
                 "larger than %zu bytes (raise it with $MIEN_MAX_IMAGE_BYTES)",
                 cli_image_options().max_bytes);
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

/* Decodes, detects and chooses; embeds the face when the choice is accepted (state READY,
 * REFUSED or FAILED, reason set). */
static void prepare(mien_session *s, const enroll_opts *o, item *it)
{
    mien_image_options io = cli_image_options();
    mien_image *img = NULL;
    mien_face_pick pick = {NULL, 0, -1};
    mien_error err;
    mien_status st;
    const mien_face *face;
    st = mien_image_load(it->path, &io, &img, &err);
    if (st != MIEN_OK) {
        it->state = ITEM_FAILED; /* the reason without the path the messages already give */
        cli_error_text(NULL, cli_error_unnamed(it->path, err.message), it->reason,
                       sizeof(it->reason));
        cli_note_status(st);
        return;
    }
    st = mien_face_find(s, img, o->face_index >= 0 ? o->face_index : MIEN_FACE_PROMINENT,
                        &pick, &err);
    it->faces = (int)pick.count;
    /* no face, or no face N: refused ("no face found", "no face N (found M)") */
    it->state = st == MIEN_ERR_NOT_FOUND && pick.index < 0 ? ITEM_REFUSED : ITEM_FAILED;
    it->refusal = MIEN_REFUSAL_NO_FACE;
    if (st != MIEN_OK) {
        snprintf(it->reason, sizeof(it->reason), "%s", err.message);
        goto done;
    }
    it->state = ITEM_REFUSED;
    if (pick.count > 1 && o->face_index < 0 && !o->force) {
        it->refusal = MIEN_REFUSAL_SEVERAL_FACES;
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
        it->refusal = MIEN_REFUSAL_LOW_QUALITY;
        snprintf(it->reason, sizeof(it->reason),
                 "low quality (interocular %.0f px, sharpness %.0f, yaw %.0f, pitch %.0f); "
                 "--force to enrol anyway",
                 q->interocular_px, q->sharpness, q->yaw, q->pitch);
        goto done;
    }
    /* embedded only once the choice is accepted: a refusal costs no embedding */
    st = mien_embed(s, img, face, o->profile, &it->t, &err);
    if (st != MIEN_OK) {
        it->state = ITEM_FAILED;
        snprintf(it->reason, sizeof(it->reason), "%s", err.message);
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

/* Records a REFUSED item's refusal in the audit log (mien_record_refusal: one entry, as the
 * library's own refusals), with the image's digest. Returns the library's status (err
 * filled): a refusal that cannot be recorded is a store failure. */
static mien_status record_refusal(mien_store *store, const enroll_opts *o, const item *it,
                                  mien_error *err)
{
    mien_context ctx = *o->ctx;
    ctx.input_sha256 = it->sha;
    return mien_record_refusal(store, o->collection, "enrol", it->subject, it->refusal,
                               (size_t)it->faces, &ctx, NULL, err);
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
    if (cli_open_session(c, &engine, &session) != MIEN_OK) {
        return CLI_EXIT_FAIL;
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
        if (it.state == ITEM_REFUSED && record_refusal(store, o, &it, &err) != MIEN_OK) {
            fprintf(stderr, "mien enroll: %s: the refusal could not be audited: %s\n", it.path,
                    err.message);
            rc = CLI_EXIT_FAIL;
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
        if (it.state != ITEM_ENROLLED && it.state != ITEM_SKIPPED && rc == CLI_EXIT_OK) {
            rc = CLI_EXIT_FAIL;
        }
        if (o->json) {
            print_json_line(&it);
        } else if (it.state == ITEM_ENROLLED) {
            printf("enrolled %s as %s (%s, face id %lld)\n", it.path, subject, it.reason,
                   (long long)it.face_id);
        } else if (it.state == ITEM_SKIPPED) { /* not a failure: a re-run does no harm */
            printf("skipped %s: already enrolled as %s\n", it.path, subject);
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

/* What a --from-dir run has reported so far: counts per state, for the lines, the bar and
 * the summary. */
typedef struct progress {
    size_t counts[6], processed, total;
    bool tty;   /* stderr is a terminal: the bar */
    bool lines; /* one JSON line per image on stdout (--json) */
    double t0, last_bar;
} progress;

/* Counts item `it` and reports it: its JSON line, or, for an image neither enrolled nor
 * skipped, a message (`clear`: after wiping the bar's line). */
static void report(progress *pr, const item *it, bool clear)
{
    pr->counts[it->state]++;
    pr->processed++;
    if (pr->lines) {
        print_json_line(it);
    } else if (it->state != ITEM_SKIPPED && it->state != ITEM_ENROLLED) {
        fprintf(stderr, "%smien enroll: %s: %s: %s\n", clear ? "\r\033[K" : "", it->path,
                state_names[it->state], it->reason);
    }
}

/* Resumability, before any decoding: reports what is enrolled already (or cannot be) and
 * queues the rest in b->todo. Returns MIEN_OK, or the store's failure (err set). */
static mien_status triage(mien_store *store, const enroll_opts *o, bulk *b, size_t n,
                          progress *pr, mien_error *err)
{
    for (size_t k = 0; k < n; k++) {
        item *it = &b->items[k];
        int enrolled = 0;
        mien_status st;
        if (strlen(it->subject) >= 128) {
            it->state = ITEM_REFUSED;
            snprintf(it->reason, sizeof(it->reason), "subject id longer than 127 bytes");
        } else if (!hash_file(it)) {
            it->state = ITEM_FAILED;
        } else if ((st = mien_enrolled(store, o->collection, it->subject, it->sha, &enrolled,
                                       err)) != MIEN_OK) {
            return st;
        } else if (enrolled) {
            it->state = ITEM_SKIPPED;
            snprintf(it->reason, sizeof(it->reason), "already enrolled");
        } else {
            b->todo[b->n_todo++] = k;
            continue;
        }
        report(pr, it, false);
    }
    return MIEN_OK;
}

/* The workers of a run: one engine (one inference thread per call), a session each. */
typedef struct pool {
    mien_engine *engine;
    bulk_worker *ws;
    pthread_t *tids;
    int opened, started;
} pool;

/* Opens the engine and `threads` sessions (at most one per queued item of b). Returns
 * CLI_EXIT_OK, or the exit code (a failure printed); either way pool_free() releases *p. */
static int pool_open(pool *p, const cli_common *c, bulk *b, int threads)
{
    cli_common ce = *c;
    mien_error err;
    int nt = (size_t)threads > b->n_todo ? (int)b->n_todo : threads;
    ce.threads = 1; /* the parallelism is across images */
    if (cli_open_engine(&ce, &p->engine) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    p->ws = calloc((size_t)nt, sizeof(*p->ws));
    p->tids = calloc((size_t)nt, sizeof(*p->tids));
    if (p->ws == NULL || p->tids == NULL) {
        fprintf(stderr, "mien enroll: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    for (p->opened = 0; p->opened < nt; p->opened++) {
        p->ws[p->opened].b = b;
        if (mien_session_new(p->engine, &p->ws[p->opened].session, &err) != MIEN_OK) {
            return cli_fail("enroll", err.code, &err);
        }
    }
    return CLI_EXIT_OK;
}

/* Starts a worker per open session. CLI_EXIT_FAIL, with a message, when none started. */
static int pool_start(pool *p)
{
    for (p->started = 0; p->started < p->opened; p->started++) {
        if (pthread_create(&p->tids[p->started], NULL, bulk_main, &p->ws[p->started]) != 0) {
            break;
        }
    }
    if (p->started == 0) {
        fprintf(stderr, "mien enroll: cannot start a worker thread\n");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* Waits for the started workers. */
static void pool_join(pool *p)
{
    for (int k = 0; k < p->started; k++) {
        pthread_join(p->tids[k], NULL);
    }
}

/* Frees the sessions and the engine (the workers joined). */
static void pool_free(pool *p)
{
    for (int k = p->opened - 1; p->ws != NULL && k >= 0; k--) {
        mien_session_free(p->ws[k].session);
    }
    free(p->ws);
    free(p->tids);
    mien_engine_free(p->engine);
}

/* After a store failure, no queued item will be enrolled: claims at once those no worker
 * took yet (a worker that took one before this hands it back unprepared). */
static void abandon_rest(bulk *b)
{
    atomic_store(&b->stop, true);
    size_t j = atomic_exchange(&b->next, b->n_todo);
    pthread_mutex_lock(&b->lock);
    for (; j < b->n_todo; j++) {
        b->done_queue[b->n_done++] = b->todo[j];
    }
    pthread_mutex_unlock(&b->lock);
}

/* The writer: enrols each result as the workers hand it back, in completion order, until
 * every queued item is back. Returns MIEN_OK, or the first store failure (err set), after
 * which the rest is abandoned. */
static mien_status write_results(mien_store *store, const enroll_opts *o, bulk *b,
                                 progress *pr, mien_error *err)
{
    mien_status fatal = MIEN_OK;
    for (size_t taken = 0; taken < b->n_todo;) {
        item *it;
        pthread_mutex_lock(&b->lock);
        while (b->n_done == taken) {
            pthread_cond_wait(&b->ready, &b->lock);
        }
        it = &b->items[b->done_queue[taken++]];
        pthread_mutex_unlock(&b->lock);
        if ((it->state == ITEM_READY || it->state == ITEM_REFUSED) && fatal == MIEN_OK) {
            fatal = it->state == ITEM_READY ? commit(store, o, it, err)
                                            : record_refusal(store, o, it, err);
            if (fatal != MIEN_OK) {
                abandon_rest(b);
            }
        } else if (it->state == ITEM_READY || it->state == ITEM_TODO) {
            mien_template_free(it->t);
            it->t = NULL;
            free(it->crop);
            it->crop = NULL;
            continue; /* abandoned after a store failure */
        }
        report(pr, it, true);
        if (pr->tty && (mien_now_ms() - pr->last_bar >= BAR_REFRESH_MS || taken == b->n_todo)) {
            pr->last_bar = mien_now_ms();
            cli_progress_bar(pr->processed, pr->total, pr->counts[ITEM_ENROLLED], "faces",
                             (pr->last_bar - pr->t0) / 1e3);
        }
    }
    return fatal;
}

/* Runs the workers over b's queue and writes their results. *ran says whether the workers
 * could be set up (else nothing ran and the run stops there); *wall_s gets the time they
 * took, *started how many ran. Returns the exit code so far (a store failure in *fatal). */
static int run_workers(mien_store *store, const cli_common *c, const enroll_opts *o, bulk *b,
                       int threads, progress *pr, mien_status *fatal, mien_error *err,
                       bool *ran, double *wall_s, int *started)
{
    pool p = {0};
    int rc = pool_open(&p, c, b, threads);
    *ran = rc == CLI_EXIT_OK;
    if (*ran) {
        pthread_mutex_init(&b->lock, NULL);
        pthread_cond_init(&b->ready, NULL);
        atomic_init(&b->next, 0);
        atomic_init(&b->stop, false);
        pr->t0 = mien_now_ms();
        rc = pool_start(&p);
        if (p.started > 0) {
            *fatal = write_results(store, o, b, pr, err);
        }
        pool_join(&p);
        pthread_cond_destroy(&b->ready);
        pthread_mutex_destroy(&b->lock);
        *wall_s = (mien_now_ms() - pr->t0) / 1e3;
        if (pr->tty) {
            fprintf(stderr, "\n");
        }
    }
    *started = p.started;
    pool_free(&p);
    return rc;
}

/* The last line of a --from-dir run: JSON (with --json) or text. */
static void print_summary(const enroll_opts *o, const progress *pr, double wall_s, int threads)
{
    const size_t *n = pr->counts;
    double rate = wall_s > 0 ? (double)n[ITEM_ENROLLED] / wall_s : 0;
    if (pr->lines) {
        printf("{\"summary\":{\"collection\":");
        cli_json_string(stdout, o->collection);
        printf(",\"images\":%zu,\"enrolled\":%zu,\"skipped\":%zu,\"refused\":%zu,"
               "\"failed\":%zu,\"wall_s\":%.3f,\"faces_per_s\":%.2f,\"threads\":%d}}\n",
               pr->total, n[ITEM_ENROLLED], n[ITEM_SKIPPED], n[ITEM_REFUSED], n[ITEM_FAILED],
               wall_s, rate, threads);
    } else {
        printf("%zu image%s: %zu enrolled, %zu skipped (already enrolled), %zu refused, "
               "%zu failed; %.1f s, %.1f faces/s with %d thread%s\n",
               pr->total, CLI_S(pr->total), n[ITEM_ENROLLED], n[ITEM_SKIPPED], n[ITEM_REFUSED], n[ITEM_FAILED],
               wall_s, rate, threads, CLI_S(threads));
    }
}

/* Frees the items of a --from-dir run and the queues of b. */
static void bulk_free(bulk *b, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        mien_template_free(b->items[k].t);
        free(b->items[k].crop);
        free(b->items[k].subject);
        free(b->items[k].path);
    }
    free(b->items);
    free(b->todo);
    free(b->done_queue);
}

static int enroll_dir(mien_store *store, const cli_common *c, const enroll_opts *o,
                      const char *dir, int threads)
{
    size_t n = 0;
    bulk b;
    mien_error err;
    mien_status fatal = MIEN_OK;
    progress pr = {.tty = isatty(STDERR_FILENO) != 0};
    int started = 0, rc = CLI_EXIT_OK;
    double wall_s = 0;
    memset(&b, 0, sizeof(b));
    pr.lines = o->json;
    if (!collect(dir, &b.items, &n)) {
        return CLI_EXIT_FAIL;
    }
    pr.total = n;
    b.o = o;
    b.todo = calloc(n + 1, sizeof(*b.todo));
    b.done_queue = calloc(n + 1, sizeof(*b.done_queue));
    if (b.todo == NULL || b.done_queue == NULL) {
        fprintf(stderr, "mien enroll: out of memory\n");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    fatal = triage(store, o, &b, n, &pr, &err);
    if (fatal != MIEN_OK) {
        rc = cli_fail("enroll", fatal, &err);
        goto done;
    }
    if (b.n_todo > 0) {
        bool ran;
        rc = run_workers(store, c, o, &b, threads, &pr, &fatal, &err, &ran, &wall_s, &started);
        if (!ran) {
            goto done;
        }
    }
    if (fatal != MIEN_OK) {
        fprintf(stderr, "mien enroll: stopped: %s (%s); what was enrolled stays, re-run to "
                        "resume\n",
                err.message, mien_strerror(fatal));
        rc = cli_exit_code(fatal);
    }
    if (pr.counts[ITEM_FAILED] > 0 && rc == CLI_EXIT_OK) {
        rc = CLI_EXIT_FAIL;
    }
    print_summary(o, &pr, wall_s, started);
done:
    bulk_free(&b, n);
    return rc;
}

/* --expires: "+30d" (from `now`, the store's clock) or a point in time; false when malformed
 * or not after now. */
static bool parse_expiry(const char *s, int64_t now, int64_t *out)
{
    int64_t v = 0;
    if (s[0] == '+') {
        if (mien_duration_parse(s + 1, &v) != MIEN_OK) {
            return false;
        }
        v += now;
    } else if (mien_time_parse(s, false, &v) != MIEN_OK) {
        return false;
    }
    if (v <= now) {
        return false;
    }
    *out = v;
    return true;
}

/* What the command line says; enroll_opts is what the enrolment needs of it. */
typedef struct enroll_args {
    cli_common c;
    const char *store, *subject, *display_name, *dir, *purpose, *case_ref, *expires;
    const char *consent_ref;
    int face; /* -1: none */
    bool force, crops;
} enroll_args;

/* --consent REF: any reference but an empty one. */
static bool opt_consent(const char *v, void *dest)
{
    *(const char **)dest = v;
    return v[0] != '\0';
}

static const cli_opt opts[] = {
    {"--subject", CLI_OPT_STRING, offsetof(enroll_args, subject), "ID",
     .help = "the subject the images show"},
    {"--name", CLI_OPT_STRING, offsetof(enroll_args, display_name), "TEXT",
     .help = "the subject's display name"},
    CLI_OPT_FACE(enroll_args, face),
    {"--from-dir", CLI_OPT_STRING, offsetof(enroll_args, dir), "DIR",
     .help = "one folder per subject (the folder's name is the subject id)"},
    {"--force", CLI_OPT_FLAG, offsetof(enroll_args, force), NULL,
     .help = "take the most prominent of several faces, and faces of low quality"},
    {"--crops", CLI_OPT_FLAG, offsetof(enroll_args, crops), NULL,
     .help = "also store the aligned 112x112 chip, for review"},
    {"--consent", CLI_OPT_CALL, offsetof(enroll_args, consent_ref), "REF",
     .help = "the reference of the person's consent record", .parse = opt_consent,
     .want = "the consent record's reference"},
    {"--expires", CLI_OPT_STRING, offsetof(enroll_args, expires), "DATE|+30d",
     .help = "when `mien purge` erases the subject (default: the collection's retention)"},
    CLI_OPT_WHY(enroll_args),
    CLI_OPTS_END_STORE(enroll_args),
};
static const cli_command cmd = {
    "enroll",
    "enroll COLL --subject ID [--name TEXT] [--face N] [--force] [--crops] IMAGE|DIR...\n"
    "       mien enroll COLL --from-dir DIR [--force] [--crops] [--threads N]\n"
    "(each with [--consent REF] [--expires DATE|+30d] [--case-ref REF] [--store URI]\n"
    " [--models DIR] [--json]; --consent is required where the collection's policy requires "
    "consent)",
    opts, 1, CLI_ARGS_ANY};

/* The two forms exclude each other: --subject with images, or --from-dir alone. Prints why
 * not. */
static bool one_form(const enroll_args *a, int n_paths)
{
    if (a->dir == NULL && (a->subject == NULL || n_paths == 0)) {
        fprintf(stderr, "mien enroll: give --subject ID and images, or --from-dir DIR\n");
        return false;
    }
    if (a->dir != NULL &&
        (a->subject != NULL || n_paths > 0 || a->face >= 0 || a->display_name != NULL)) {
        fprintf(stderr, "mien enroll: --from-dir takes subjects from the folder names; no "
                        "--subject, --name, --face or images with it\n");
        return false;
    }
    return true;
}

/* Whether collection `info` may enrol with *o (consent, expiry); fills o->expires_at and
 * o->profile. Returns CLI_EXIT_OK, or the exit code with the reason printed. */
static int admit(mien_store *store, const mien_collection_info *info, const enroll_args *a,
                 enroll_opts *o)
{
    mien_error err;
    mien_status st;
    if (a->expires != NULL && !parse_expiry(a->expires, mien_store_now(store), &o->expires_at)) {
        fprintf(stderr, "mien enroll: --expires wants a date (2031-12-31), a UTC date-time "
                        "(2031-12-31T18:00:00Z), unix seconds, or +30d / +12h / +3600s from now; "
                        "in the future (got '%s')\n",
                a->expires);
        return CLI_EXIT_USAGE;
    }
    /* Refused before any image is read, by the library, which audits the refusal as
     * mien_enroll would (once for a --from-dir run: its subjects are not known yet). */
    mien_enrollment e = {.subject = a->subject,
                         .display_name = a->display_name,
                         .consent_ref = o->consent_ref,
                         .expires_at = o->expires_at};
    st = mien_enroll_check(store, o->collection, &e, o->ctx, &err);
    if (st == MIEN_ERR_FORBIDDEN) {
        fprintf(stderr, "mien enroll: refused: %s (legal basis: %s): give it with --consent "
                        "REF\n",
                err.message, info->legal_basis[0] ? info->legal_basis : "not declared");
        return CLI_EXIT_FORBIDDEN;
    }
    if (st != MIEN_OK) {
        return cli_fail("enroll", st, &err);
    }
    o->profile = info->profile;
    return CLI_EXIT_OK;
}

/* Enrols the images paths[n_paths] (or a->dir) once the collection admits it. */
static int enroll(mien_store *store, enroll_args *a, enroll_opts *o, char **paths, int n_paths)
{
    mien_collection_info info;
    mien_error err;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    mien_status st = mien_collection_get(store, o->collection, &info, &err);
    cli_paths images = {0};
    int rc;
    if (st != MIEN_OK) {
        return cli_fail("enroll", st, &err);
    }
    rc = admit(store, &info, a, o);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (a->dir != NULL) {
        int threads = a->c.threads > 0 ? a->c.threads
                                       : (cpus >= 1 ? (int)(cpus > 256 ? 256 : cpus) : 1);
        return enroll_dir(store, &a->c, o, a->dir, threads);
    }
    a->c.threads = a->c.threads > 0 ? a->c.threads : 1;
    /* a folder given as IMAGE: every image under it, for the one subject */
    rc = cli_paths_expand("enroll", paths, n_paths, &images);
    if (rc == CLI_PARSED) {
        rc = enroll_images(store, &a->c, o, a->subject, a->display_name, images.p,
                           (int)images.n);
    }
    cli_paths_free(&images);
    return rc;
}

int cli_cmd_enroll(int argc, char **argv)
{
    enroll_args a = {.c = {.threads = 0}, .face = -1};
    enroll_opts o = {.face_index = -1};
    cli_context cx;
    mien_store *store = NULL;
    int n_args, rc = cli_parse(&cmd, argc, argv, &a, &n_args);
    if (rc != CLI_PARSED) {
        return rc;
    }
    if (!one_form(&a, n_args - 1)) {
        return cli_bad_usage(&cmd);
    }
    o.collection = argv[0];
    o.face_index = a.face;
    o.force = a.force;
    o.crops = a.crops;
    o.json = a.c.json;
    o.consent_ref = a.consent_ref;
    cli_context_init(&cx, a.purpose, a.case_ref);
    o.ctx = &cx.ctx;
    if (cli_open_store(a.store, &store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    rc = enroll(store, &a, &o, argv + 1, n_args - 1);
    mien_store_close(store);
    return rc;
}
