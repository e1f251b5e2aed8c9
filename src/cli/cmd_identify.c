/* cmd_identify.c — `mien identify COLL IMAGE|DIR... --purpose P --case-ref REF [--top K]
 * [--fmr F] [--exact | --approximate] [--aggregate R] [--store URI] [--json | --csv]
 * [--draw OUT]`: who is
 * in these photos? Every face of every image (a folder gives its JPEG, PNG and WebP files,
 * subfolders included, sorted by path) is searched in collection COLL, and labelled with its
 * first candidate, or "unknown" when the search lists none — what face_recognition's
 * `face_recognition known/ unknown/` prints, with mien's rules kept.
 *
 * It goes through the library alone: each face is one mien_search, so the collection's
 * purposes, caps and review apply to each, and each is one audit entry (the image's digest in
 * it) that opens its own review. A label is a candidate for a person to review, never a
 * verdict. `mien search` keeps its meaning: one face, its ranked candidates.
 *
 * The purpose is checked once before any model loads (a refusal is audited and stops the run,
 * exit 2 for a missing purpose or case, 3 for one the collection does not allow). An image
 * without a face is recorded as a refused search (no_face), as `mien search` records it.
 * --draw writes each picture with its faces boxed and labelled "NAME similarity FMR" or
 * "unknown" (cli_draw_faces_full: one file for one image, DIR/ for several).
 *
 * Exit 0 when every image was read and every face searched; 1 when an image cannot be read or
 * has no face (the other images are still identified and printed), or the models or a search
 * fail (the run stops there); 2 bad usage (a folder without images too); 3 refused by the
 * collection's rules (a search over the caps, say), which stops the run at that face. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct identify_args {
    cli_common c;
    const char *store, *purpose, *case_ref; /* borrowed from argv; NULL when not given */
    mien_search_options so;
    bool csv;
    const char *draw; /* --draw OUT: a picture, or a folder for one picture per image */
} identify_args;

static const cli_opt opts[] = {
    CLI_OPT_INCLUDE(cli_search_opts, offsetof(identify_args, so)),
    {"--csv", CLI_OPT_FLAG, offsetof(identify_args, csv), NULL,
     .help = "one line per face: image,face,x1,y1,x2,y2,label,similarity,fmr,review_id,"
             "audit_seq"},
    {"--draw", CLI_OPT_STRING, offsetof(identify_args, draw), "OUT",
     .help = "the pictures with each face labelled: OUT.jpg, OUT.png, or DIR/ for one each"},
    CLI_OPT_WHY(identify_args),
    CLI_OPTS_END_STORE(identify_args),
};
static const cli_command cmd = {
    "identify",
    "identify COLL IMAGE|DIR... --purpose P --case-ref REF [--top K] [--fmr F]\n"
    "       [--exact|--approximate] [--aggregate R] [--store URI] [--json | --csv]\n"
    "       [--draw OUT]",
    opts, 2, CLI_ARGS_ANY};

/* What identify found in one image: every face in detection order (`mien detect`'s numbers),
 * the search of each face searched (results[0..searched); count 0: "unknown"), or the audit
 * entry of its no-face refusal. */
typedef struct identified {
    const char *path;
    char sha_hex[65];
    int width, height;
    bool detected;       /* the image was decoded and its faces detected */
    mien_face *faces;
    size_t n_faces;
    mien_search_result *results;
    size_t searched;
    int64_t refusal_seq; /* -1 unless the image had no face and that was recorded */
} identified;

static void identified_free(identified *r)
{
    for (size_t i = 0; i < r->searched; i++) {
        mien_search_result_free(&r->results[i]);
    }
    free(r->results);
    mien_faces_free(r->faces);
}

/* What the whole run shares: the store, the collection, who asks and why, the models. */
typedef struct identify_run {
    const identify_args *o;
    const char *collection;
    mien_store *store;
    mien_collection_info info;
    cli_context cx;
    mien_engine *engine;
    mien_session *session;
    cli_draw_target draw;                 /* --draw's pictures */
    size_t images, faces, known, reviews; /* for the text summary */
    bool stop; /* a failure the next image would meet too: the models, the store */
} identify_run;

/* ---- the output -------------------------------------------------------------------------- */

/* The label of face i: its first candidate's subject, or NULL for "unknown". */
static const mien_candidate *label_of(const identified *r, size_t i)
{
    return r->results[i].count > 0 ? &r->results[i].candidates[0] : NULL;
}

static void print_json(const identify_run *run, const identified *r)
{
    printf("{\"image\":");
    cli_json_string(stdout, r->path);
    printf(",\"image_sha256\":\"%s\",\"collection\":", r->sha_hex);
    cli_json_string(stdout, run->collection);
    printf(",\"profile\":\"%s\",\"purpose\":", mien_profile_name(run->info.profile));
    cli_json_string(stdout, run->cx.ctx.purpose);
    printf(",\"case_ref\":");
    cli_json_string(stdout, run->cx.ctx.case_ref);
    printf(",\"width\":%d,\"height\":%d,\"faces\":[", r->width, r->height);
    for (size_t i = 0; i < r->searched; i++) {
        const mien_search_result *res = &r->results[i];
        const mien_candidate *best = label_of(r, i);
        printf("%s{\"index\":%zu,\"face\":", i ? "," : "", i);
        cli_face_json(stdout, &r->faces[i]);
        printf(",\"label\":");
        cli_json_string(stdout, best ? best->subject : "unknown");
        printf(",\"subject\":");
        if (best) {
            cli_json_string(stdout, best->subject);
            printf(",\"similarity\":%.6f,\"fmr\":%.3g", best->similarity, best->fmr);
        } else {
            printf("null,\"similarity\":null,\"fmr\":null");
        }
        printf(",\"max_fmr\":%.3g,\"top\":%d,", res->max_fmr, res->top_k);
        cli_candidates_json(stdout, res);
        printf("}");
    }
    printf("]");
    if (r->n_faces == 0) {
        printf(",\"refusal\":\"no_face\",\"audit_seq\":");
        if (r->refusal_seq >= 0) {
            printf("%lld", (long long)r->refusal_seq);
        } else {
            printf("null");
        }
    }
    printf("}\n");
}

static void print_csv(const identified *r)
{
    for (size_t i = 0; i < r->searched; i++) {
        const mien_search_result *res = &r->results[i];
        const mien_candidate *best = label_of(r, i);
        const float *b = r->faces[i].box;
        cli_json_string(stdout, r->path); /* quoted: commas in names stay one field */
        printf(",%zu,%.0f,%.0f,%.0f,%.0f,", i, b[0], b[1], b[2], b[3]);
        if (best) {
            cli_json_string(stdout, best->subject);
            printf(",%.6f,%.3g,", best->similarity, best->fmr);
        } else {
            printf("unknown,,,");
        }
        printf("%s,%lld\n", res->review_id, (long long)res->audit_seq);
    }
}

static void print_text(const identified *r)
{
    printf("%s: %zu face%s\n", r->path, r->n_faces, r->n_faces == 1 ? "" : "s");
    for (size_t i = 0; i < r->searched; i++) {
        const mien_search_result *res = &r->results[i];
        const mien_candidate *best = label_of(r, i);
        const float *b = r->faces[i].box;
        printf("  [%zu] box %.0f,%.0f-%.0f,%.0f  ", i, b[0], b[1], b[2], b[3]);
        if (best) {
            printf("%s  similarity %.4f  FMR %.2g", best->subject, best->similarity, best->fmr);
        } else {
            printf("unknown  (no candidate at FMR <= %.0e)", res->max_fmr);
        }
        if (res->review_id[0]) {
            printf("  (review %s, audit %lld)\n", res->review_id, (long long)res->audit_seq);
        } else {
            printf("  (audit %lld)\n", (long long)res->audit_seq);
        }
    }
    if (r->n_faces == 0 && r->refusal_seq >= 0) {
        printf("  no face (a refused search, audit %lld)\n", (long long)r->refusal_seq);
    } else if (r->n_faces == 0) {
        printf("  no face\n");
    }
}

/* The closing lines of the text output: what the labels are, and what to do with them. */
static void print_summary(const identify_run *run)
{
    printf("%zu face%s in %zu image%s: %zu labelled, %zu unknown (collection %s, %lld "
           "subjects, profile %s)\n",
           run->faces, run->faces == 1 ? "" : "s", run->images, run->images == 1 ? "" : "s",
           run->known, run->faces - run->known, run->collection, (long long)run->info.subjects,
           mien_profile_name(run->info.profile));
    if (run->reviews > 0) {
        printf("a label is a face's first candidate, not a verdict: each awaits its review "
               "(mien review ID confirm RANK --reviewer NAME, or reject)\n");
    } else if (run->known > 0) {
        printf("a label is a face's first candidate, not a verdict (collection %s opted out "
               "of review; that choice is in the audit log)\n", run->collection);
    }
}

/* ---- the searches ------------------------------------------------------------------------ */

/* Embeds face i of img and searches it; r->searched counts it once its search is done.
 * Returns the exit code (the failure printed). */
static int search_face(identify_run *run, const mien_image *img, identified *r, size_t i)
{
    mien_template *t = NULL;
    mien_error err;
    mien_status st = mien_embed(run->session, img, &r->faces[i], run->info.profile, &t, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien identify: %s face %zu: %s\n", r->path, i, err.message);
        return cli_exit_code(st);
    }
    memset(&r->results[i], 0, sizeof(r->results[i]));
    st = mien_search(run->store, run->collection, t, &run->o->so, &run->cx.ctx, &r->results[i],
                     &err);
    mien_template_free(t);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien identify: %s face %zu: %s%s (%s)\n", r->path, i,
                st == MIEN_ERR_FORBIDDEN ? "refused: " : "", err.message, mien_strerror(st));
        mien_search_result_free(&r->results[i]);
        run->stop = true; /* the rules, the caps or the store: the same for the next face */
        return cli_exit_code(st);
    }
    r->searched++;
    run->faces++;
    run->known += r->results[i].count > 0;
    run->reviews += r->results[i].review_id[0] != '\0';
    return CLI_EXIT_OK;
}

/* An image without a face: a refused search, recorded as `mien search` records it. */
static int no_face(identify_run *run, identified *r)
{
    mien_error err;
    fprintf(stderr, "mien identify: %s: no face found\n", r->path);
    if (mien_record_refusal(run->store, run->collection, "search", NULL, MIEN_REFUSAL_NO_FACE, 0,
                            &run->cx.ctx, &r->refusal_seq, &err) != MIEN_OK) {
        fprintf(stderr, "mien identify: the refusal could not be audited: %s\n", err.message);
        r->refusal_seq = -1;
    }
    return CLI_EXIT_FAIL;
}

/* Writes the picture of r with each searched face labelled "NAME similarity FMR", or
 * "unknown" (red), at the input's size. False when it cannot (printed). */
static bool draw_identified(identify_run *run, const mien_image *img, const identified *r)
{
    char out[4096], (*text)[64] = calloc(r->n_faces ? r->n_faces : 1, sizeof(*text));
    const char **labels = calloc(r->n_faces ? r->n_faces : 1, sizeof(*labels));
    mien_error err;
    bool ok = false;
    if (text == NULL || labels == NULL) {
        fprintf(stderr, "mien identify: out of memory\n");
    } else {
        for (size_t i = 0; i < r->searched && i < r->n_faces; i++) {
            const mien_candidate *c = label_of(r, i);
            if (c != NULL) {
                snprintf(text[i], sizeof(text[i]), "%.40s %.2f FMR %.0e", c->subject,
                         c->similarity, c->fmr);
            } else {
                snprintf(text[i], sizeof(text[i]), "unknown");
            }
            labels[i] = text[i];
        }
        ok = cli_draw_target_path(&run->draw, r->path, out, sizeof(out), &err) == MIEN_OK &&
             cli_draw_faces_full(r->path, img, r->faces, r->n_faces, labels, out, &err) ==
                 MIEN_OK;
        if (!ok) {
            fprintf(stderr, "mien identify: %s\n", err.message);
        }
    }
    free(labels);
    free(text);
    return ok;
}

/* Detects every face of the image in bytes[size] and searches each into *r (r->path and
 * r->sha_hex set by the caller). Returns the exit code. */
static int identify_bytes(identify_run *run, const uint8_t *bytes, size_t size, identified *r)
{
    mien_image_options io = mien_image_options_faces();
    mien_detect_options dopt = mien_detect_options_default(); /* `mien detect`'s numbering */
    mien_image *img = NULL;
    mien_error err;
    int rc = CLI_EXIT_OK;
    mien_status st = mien_image_decode(bytes, size, &io, &img, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien identify: %s: %s\n", r->path, err.message);
        return CLI_EXIT_FAIL;
    }
    r->width = mien_image_original_width(img);
    r->height = mien_image_original_height(img);
    st = mien_detect(run->session, img, &dopt, &r->faces, &r->n_faces, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien identify: %s: %s\n", r->path, err.message);
        rc = CLI_EXIT_FAIL;
    } else if ((r->detected = true) && r->n_faces == 0) {
        rc = no_face(run, r);
    } else if ((r->results = calloc(r->n_faces, sizeof(*r->results))) == NULL) {
        fprintf(stderr, "mien identify: out of memory\n");
        rc = CLI_EXIT_FAIL;
    }
    for (size_t i = 0; st == MIEN_OK && r->results != NULL && i < r->n_faces; i++) {
        if ((rc = search_face(run, img, r, i)) != CLI_EXIT_OK) {
            break;
        }
    }
    if (rc == CLI_EXIT_OK && run->o->draw != NULL && r->detected &&
        !draw_identified(run, img, r)) {
        rc = CLI_EXIT_FAIL;
    }
    mien_image_free(img);
    return rc;
}

/* Reads image `path`, checks the purpose before the first image's models load (so a refused
 * run costs no inference; its entry records that image's digest), identifies its faces and
 * prints them. Returns the exit code. */
static int identify_image(identify_run *run, const char *path)
{
    identified r = {.path = path, .refusal_seq = -1};
    uint8_t *bytes = NULL, sha[32];
    size_t size = 0;
    int rc;
    if (cli_read_file(path, &bytes, &size) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    mien_sha256(bytes, size, sha);
    for (int k = 0; k < 32; k++) {
        snprintf(r.sha_hex + 2 * k, 3, "%02x", sha[k]);
    }
    cli_context_set_input(&run->cx, sha);
    if (run->session == NULL) {
        rc = cli_check_purpose(run->store, "identify", run->collection, "search", &run->cx);
        if (rc != CLI_EXIT_OK) {
            free(bytes);
            return rc;
        }
        if (cli_open_session(&run->o->c, &run->engine, &run->session) != MIEN_OK) {
            free(bytes);
            run->stop = true;
            return CLI_EXIT_FAIL;
        }
    }
    rc = identify_bytes(run, bytes, size, &r);
    free(bytes);
    run->images++;
    if (r.detected) {
        if (run->o->c.json) {
            print_json(run, &r);
        } else if (run->o->csv) {
            print_csv(&r);
        } else {
            print_text(&r);
        }
    }
    identified_free(&r);
    return rc;
}

/* Identifies the faces of every photo in p, in collection `collection`. */
static int identify_all(const identify_args *o, const char *collection, const cli_paths *p)
{
    identify_run run = {.o = o, .collection = collection};
    mien_error err;
    mien_status st;
    int rc = CLI_EXIT_OK;
    /* A missing --purpose or --case-ref is refused by the library, and audited there. */
    cli_context_init(&run.cx, o->purpose, o->case_ref);
    if (o->draw != NULL && cli_draw_target_open(&run.draw, o->draw, p->n, &err) != MIEN_OK) {
        fprintf(stderr, "mien identify: %s\n", err.message);
        return err.code == MIEN_ERR_ARG ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    if (cli_open_store(o->store, &run.store) != MIEN_OK) {
        cli_draw_target_close(&run.draw);
        return CLI_EXIT_FAIL;
    }
    st = mien_collection_get(run.store, collection, &run.info, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("identify", st, &err);
        goto done;
    }
    if (o->csv) {
        printf("image,face,x1,y1,x2,y2,label,similarity,fmr,review_id,audit_seq\n");
    }
    for (size_t k = 0; k < p->n; k++) {
        int one = identify_image(&run, p->p[k]);
        rc = rc == CLI_EXIT_OK ? one : rc;
        /* A refused purpose or search, or a failing store or engine, would fail every image
         * after it; an image that cannot be read or has no face fails alone. */
        if (run.stop || one == CLI_EXIT_USAGE || one == CLI_EXIT_FORBIDDEN) {
            rc = one;
            break;
        }
    }
    if (!o->c.json && !o->csv && run.images > 0) {
        print_summary(&run);
    }
done:
    mien_session_free(run.session);
    mien_engine_free(run.engine);
    mien_store_close(run.store);
    cli_draw_target_close(&run.draw);
    return rc;
}

int cli_cmd_identify(int argc, char **argv)
{
    identify_args o = {.c = {.threads = 1}, .so = mien_search_options_default()};
    cli_paths p = {0};
    int n_args, rc = cli_parse(&cmd, argc, argv, &o, &n_args);
    if (rc != CLI_PARSED) {
        return rc;
    }
    if (o.c.json && o.csv) {
        fprintf(stderr, "mien identify: --json and --csv exclude each other\n");
        return cli_bad_usage(&cmd);
    }
    rc = cli_paths_expand("identify", argv + 1, n_args - 1, &p);
    if (rc == CLI_PARSED) {
        rc = identify_all(&o, argv[0], &p);
    }
    cli_paths_free(&p);
    return rc;
}
