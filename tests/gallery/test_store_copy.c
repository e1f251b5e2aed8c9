/* test_store_copy.c — copying a whole store (src/governance/store_copy.c, mien_store_copy; what
 * `mien migrate` runs): from an SQLite store with its own key file into the store of
 * tests/store_target.h (another SQLite file in the default run, a PostgreSQL database in
 * CTest's store_postgres run: "sqlite → postgres"), under a different key file. Everything
 * must come across as it was — ids, policies, consent and expiry, quality, digests, crops,
 * times, keys (revoked ones too), reviews and decisions, the audit chain entry for entry — and
 * the copy must search, verify and go on numbering like the original. A target that holds
 * anything is refused, and a copy that fails half-way leaves the target empty. Faces come from
 * sample 1 (the models are needed). */
#include <stdint.h>
#include <unistd.h>

#include <sqlite3.h>

#include "governance/store_copy.h"
#include "store/handle.h"
#include "store/seal.h"
#include "store/store.h"
#include "store_target.h"
#include "test.h"

#define CHIP (112 * 112 * 3)

/* A source store: an SQLite file with its own key file in t's folder. */
static mien_status open_source(const test_store *t, mien_store **out, mien_error *err)
{
    char uri[192], key[192];
    snprintf(uri, sizeof(uri), "sqlite:%s/source.db", t->dir);
    snprintf(key, sizeof(key), "%s/source.key", t->dir);
    mien_store_options o = {.key_file = key, .create_key = true};
    return test_open_store_with(uri, &o, out, err);
}

/* The target: t's store under t's key file (not the source's). */
static mien_status open_target(const test_store *t, mien_store **out, mien_error *err)
{
    mien_store_options o = {.key_file = t->key_file, .create_key = false};
    return test_open_store_with(t->uri, &o, out, err);
}

static void fill_crop(uint8_t *crop, int k)
{
    for (int i = 0; i < CHIP; i++) {
        crop[i] = (uint8_t)(i * 7 + k * 31);
    }
}

/* Audit export collected as lines. */
typedef struct lines {
    char buf[1 << 17];
    size_t used;
    int n;
} lines;

static int collect(void *ctx, const char *line)
{
    lines *l = ctx;
    l->used += (size_t)snprintf(l->buf + l->used, sizeof(l->buf) - l->used, "%s\n", line);
    l->n++;
    return 0;
}

/* What face_scan_full gives for one face, kept for comparison. */
typedef struct face_seen {
    int64_t id, subject_id, created_at;
    int has_quality, has_sha, has_crop;
    mien_quality q;
    uint8_t sha[32];
    uint8_t crop0, crop_last;
} face_seen;

typedef struct faces_seen {
    face_seen f[8];
    int n;
} faces_seen;

static mien_status see_face(void *ctx, const store_face_full *f)
{
    faces_seen *s = ctx;
    if (s->n == 8) {
        return MIEN_ERR_INTERNAL;
    }
    face_seen *o = &s->f[s->n++];
    memset(o, 0, sizeof(*o));
    o->id = f->face_id;
    o->subject_id = f->subject_id;
    o->created_at = f->created_at;
    o->has_quality = f->has_quality;
    o->q = f->quality;
    o->has_sha = f->has_image_sha256;
    memcpy(o->sha, f->image_sha256, 32);
    o->has_crop = f->crop_rgb != NULL && f->crop_len == CHIP;
    if (o->has_crop) {
        o->crop0 = f->crop_rgb[0];
        o->crop_last = f->crop_rgb[CHIP - 1];
    }
    return MIEN_OK;
}

static int scan_faces(mien_store *s, const char *coll, faces_seen *out)
{
    store_db *g = store_db_of(s);
    store_collection c;
    memset(out, 0, sizeof(*out));
    if (g->ops->collection_get(g, coll, &c, NULL) != MIEN_OK ||
        seal_face_scan_full(g, c.id, see_face, out, NULL) != MIEN_OK) {
        return -1;
    }
    return 0;
}

/* The source: two collections with different policies; subjects with consent, expiry and a
 * display name; faces with quality, digest and crop; an erased subject (so that the highest
 * face id ever handed out is no longer in the store); keys, one revoked; a two-person review
 * with one decision. */
static int fill_source(mien_store *s, test_fixture *f, mien_template **t, const uint8_t sha[32],
                       char admin_key[MIEN_KEY_TEXT_MAX], char review_id[33])
{
    mien_error err;
    mien_collection_policy door = {.purposes = "access_control,lost_child",
                                   .legal_basis = "consent, GDPR Art. 9(2)(a)",
                                   .retention_s = 30 * 86400,
                                   .review = MIEN_REVIEW_TWO_PERSON};
    mien_collection_policy badge = {.purposes = "test", .legal_basis = "contract",
                                    .consent = MIEN_CONSENT_NOT_NEEDED,
                                    .review = MIEN_REVIEW_NONE, .verification_only = 1,
                                    .max_fmr = 1e-4, .max_candidates = 7};
    if (mien_collection_create(s, "door", MIEN_PROFILE_FAST, f->engine, "front door", &door,
                               &TEST_CTX, &err) != MIEN_OK ||
        mien_collection_create(s, "badge", MIEN_PROFILE_FAST, f->engine, NULL, &badge,
                               &TEST_CTX, &err) != MIEN_OK) {
        fprintf(stderr, "  fill_source: %s\n", err.message);
        return -1;
    }
    static const char *const who[4] = {"ann", "bob", "carl", "dora"};
    for (int k = 0; k < 4; k++) {
        uint8_t d[32], crop[CHIP];
        memcpy(d, sha, 32);
        d[31] = (uint8_t)k;
        fill_crop(crop, k);
        mien_quality q = {.interocular_px = 40.5f + (float)k, .sharpness = 123.25f,
                          .yaw = -3.5f, .pitch = 2.25f, .roll = 0.125f,
                          .detector_score = 0.99f, .landmark_score = 0.875f,
                          .klass = MIEN_QUALITY_HIGH};
        mien_enrollment e = {.subject = who[k], .display_name = k == 0 ? "Ann A." : NULL,
                             .template_ = t[k % 3], .quality = k != 1 ? &q : NULL,
                             .image_sha256 = d, .crop_rgb = k != 2 ? crop : NULL,
                             .consent_ref = "form-1", .expires_at = 4000000000LL + k};
        if (mien_enroll(s, "door", &e, &TEST_CTX, NULL, &err) != MIEN_OK) {
            fprintf(stderr, "  fill_source: enrol %s: %s\n", who[k], err.message);
            return -1;
        }
    }
    mien_enrollment e = {.subject = "ann", .template_ = t[0]};
    if (mien_enroll(s, "badge", &e, &TEST_CTX, NULL, &err) != MIEN_OK ||
        mien_erase_subject(s, "door", "dora", &TEST_CTX, NULL, &err) != MIEN_OK ||
        mien_key_create(s, MIEN_ROLE_ADMIN, "ops", admin_key, NULL, &err) != MIEN_OK) {
        fprintf(stderr, "  fill_source: %s\n", err.message);
        return -1;
    }
    char other[MIEN_KEY_TEXT_MAX];
    mien_key_info info;
    mien_search_result r;
    mien_context ctx = {.actor = "tester", .purpose = "lost_child", .case_ref = "case-9"};
    if (mien_key_create(s, MIEN_ROLE_SEARCH, NULL, other, &info, &err) != MIEN_OK ||
        mien_key_revoke(s, info.id, &err) != MIEN_OK ||
        mien_search(s, "door", t[1], NULL, &ctx, &r, &err) != MIEN_OK) {
        fprintf(stderr, "  fill_source: %s\n", err.message);
        return -1;
    }
    snprintf(review_id, 33, "%s", r.review_id);
    mien_search_result_free(&r);
    if (mien_review_decide(s, review_id, "rev-1", MIEN_DECISION_CONFIRM, 1, "same ears", NULL,
                           &err) != MIEN_OK) {
        fprintf(stderr, "  fill_source: review: %s\n", err.message);
        return -1;
    }
    return 0;
}

/* @test store_copy.c store_db_copy, mien_store_copy */
TEST(migrate_copy_store)
{
    test_fixture f;
    test_store ts;
    mien_store *src = NULL, *dst = NULL;
    mien_template *t[3] = {NULL, NULL, NULL};
    uint8_t sha[32];
    char admin[MIEN_KEY_TEXT_MAX], review[33];
    mien_error err;
    mien_copy_report rep;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_EQ_INT(test_fixture_open(&f), 0);
    ASSERT_EQ_INT(test_sample_templates(&f, 1, MIEN_PROFILE_FAST, 3, t, sha), 3);
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(open_source(&ts, &src, &err), &err);
    ASSERT_EQ_INT(fill_source(src, &f, t, sha, admin, review), 0);
    ASSERT_OK(open_target(&ts, &dst, &err), &err);

    ASSERT_OK(mien_store_copy(src, dst, &TEST_CTX, &rep, &err), &err);
    ASSERT_EQ_INT(rep.collections, 2);
    ASSERT_EQ_INT(rep.subjects, 4);   /* ann, bob, carl in door; ann in badge */
    ASSERT_EQ_INT(rep.faces, 4);
    ASSERT_EQ_INT(rep.crops, 2);      /* ann and bob (dora's went with her) */
    ASSERT_EQ_INT(rep.keys, 2);
    ASSERT_EQ_INT(rep.reviews, 1);
    ASSERT_EQ_INT(rep.decisions, 1);

    /* the chain: the source's entries verbatim, then the copy's own entry, signed */
    lines *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    ASSERT_TRUE(a != NULL && b != NULL);
    ASSERT_OK(mien_audit_export(src, 0, 0, collect, a, &err), &err);
    ASSERT_OK(mien_audit_export(dst, 0, 0, collect, b, &err), &err);
    ASSERT_EQ_INT(b->n, a->n + 1);
    ASSERT_EQ_INT(rep.audit_entries, a->n + 1);
    ASSERT_TRUE(strncmp(a->buf, b->buf, a->used) == 0);
    ASSERT_CONTAINS(b->buf + a->used, "\"action\":\"store.migrate\"");
    ASSERT_CONTAINS(b->buf + a->used, "\"faces\":4");
    free(a);
    free(b);
    mien_audit_report ar;
    ASSERT_OK(mien_audit_verify(dst, &ar, &err), &err);
    ASSERT_TRUE(ar.ok);
    ASSERT_EQ_INT(ar.head_seq, rep.audit_entries);

    /* collections with their policies and times */
    mien_collection_info ci[2], di[2];
    ASSERT_OK(mien_collection_get(src, "door", &ci[0], &err), &err);
    ASSERT_OK(mien_collection_get(dst, "door", &di[0], &err), &err);
    ASSERT_OK(mien_collection_get(src, "badge", &ci[1], &err), &err);
    ASSERT_OK(mien_collection_get(dst, "badge", &di[1], &err), &err);
    for (int k = 0; k < 2; k++) {
        ASSERT_TRUE(memcmp(&ci[k], &di[k], sizeof(ci[k])) == 0);
    }
    ASSERT_STR_EQ(di[0].description, "front door");
    ASSERT_EQ_INT(di[1].verification_only, 1);
    ASSERT_EQ_INT(di[1].max_candidates, 7); /* the policy's caps travel with it */
    ASSERT_NEAR(di[1].max_fmr, 1e-4, 1e-15);

    /* subjects with consent, expiry, names and times */
    mien_subject_info *ss = NULL, *ds = NULL;
    size_t ns = 0, nd = 0;
    ASSERT_OK(mien_subject_list(src, "door", &TEST_CTX, &ss, &ns, &err), &err);
    ASSERT_OK(mien_subject_list(dst, "door", &TEST_CTX, &ds, &nd, &err), &err);
    ASSERT_EQ_INT(nd, 3);
    ASSERT_EQ_INT(ns, nd);
    ASSERT_TRUE(memcmp(ss, ds, ns * sizeof(*ss)) == 0);
    ASSERT_STR_EQ(ds[0].display_name, "Ann A.");
    ASSERT_STR_EQ(ds[0].consent_ref, "form-1");
    ASSERT_EQ_INT(ds[1].expires_at, 4000000001LL);
    mien_free(ss);
    mien_free(ds);

    /* faces: ids, templates, quality, digests, crops, times */
    faces_seen fs, fd;
    ASSERT_EQ_INT(scan_faces(src, "door", &fs), 0);
    ASSERT_EQ_INT(scan_faces(dst, "door", &fd), 0);
    ASSERT_EQ_INT(fd.n, 3);
    ASSERT_EQ_INT(fs.n, fd.n);
    ASSERT_TRUE(memcmp(&fs, &fd, sizeof(fs)) == 0);
    ASSERT_TRUE(fd.f[0].has_quality && fd.f[0].has_crop && fd.f[0].has_sha);
    ASSERT_TRUE(!fd.f[1].has_quality && fd.f[1].has_crop);
    ASSERT_TRUE(fd.f[2].has_quality && !fd.f[2].has_crop);
    ASSERT_EQ_INT(fd.f[0].q.interocular_px * 8, 40.5 * 8);
    ASSERT_EQ_INT(fd.f[0].q.landmark_score * 8, 7);
    mien_face_record *fl = NULL;
    size_t nf = 0;
    ASSERT_OK(mien_face_list(dst, "door", &fl, &nf, &err), &err);
    ASSERT_EQ_INT(nf, 3);
    for (size_t k = 0; k < nf; k++) {
        mien_template *back = NULL;
        float sim = 0;
        ASSERT_OK(mien_face_template(dst, "door", fl[k].face_id, NULL, &back, &err), &err);
        ASSERT_OK(mien_template_compare(back, t[k], &sim, &err), &err);
        ASSERT_TRUE(sim > 0.9999f);
        mien_template_free(back);
    }
    int64_t highest = fl[nf - 1].face_id;
    mien_free(fl);

    /* the copy searches like the original */
    mien_search_result r;
    mien_context lost = {.actor = "tester", .purpose = "lost_child", .case_ref = "case-10"};
    ASSERT_OK(mien_search(dst, "door", t[1], NULL, &lost, &r, &err), &err);
    ASSERT_TRUE(r.count >= 1);
    ASSERT_STR_EQ(r.candidates[0].subject, "bob");
    ASSERT_EQ_INT(r.reviews_required, 2);
    mien_search_result_free(&r);

    /* keys: the same ids, roles, labels, times; but their hashes are keyed with the source's
     * key file, so under the target's new one they no longer open the door */
    mien_key_info *sk = NULL, *dk = NULL, who;
    size_t nsk = 0, ndk = 0;
    ASSERT_OK(mien_key_list(src, &sk, &nsk, &err), &err);
    ASSERT_OK(mien_key_list(dst, &dk, &ndk, &err), &err);
    ASSERT_EQ_INT(ndk, 2);
    ASSERT_TRUE(nsk == ndk && memcmp(sk, dk, nsk * sizeof(*sk)) == 0);
    ASSERT_TRUE(dk[0].revoked_at != 0 || dk[1].revoked_at != 0);
    mien_free(sk);
    mien_free(dk);
    ASSERT_EQ_INT(rep.same_key_file, 0);
    ASSERT_OK(mien_key_verify(src, admin, &who, &err), &err);
    ASSERT_STR_EQ(who.label, "ops");
    ASSERT_STATUS(mien_key_verify(dst, admin, &who, &err), MIEN_ERR_NOT_FOUND, &err);

    /* the review, its decision, and the second reviewer closing it on the copy */
    mien_review_info rs, rd;
    ASSERT_OK(mien_review_get(src, review, &rs, &err), &err);
    ASSERT_OK(mien_review_get(dst, review, &rd, &err), &err);
    ASSERT_TRUE(memcmp(&rs, &rd, sizeof(rs)) == 0);
    ASSERT_EQ_INT(rd.confirmations, 1);
    ASSERT_STATUS(mien_review_decide(dst, review, "rev-1", MIEN_DECISION_CONFIRM, 1, NULL, NULL,
                                     &err),
                  MIEN_ERR_FORBIDDEN, &err);
    ASSERT_OK(mien_review_decide(dst, review, "rev-2", MIEN_DECISION_CONFIRM, 1, NULL, &rd, &err),
              &err);
    ASSERT_STR_EQ(rd.status, "confirmed");

    /* ids go on where the source stopped: dora's erased face id is not handed out again */
    int64_t next = 0;
    uint8_t d[32] = {42};
    mien_enrollment e = {.subject = "eve", .template_ = t[2], .image_sha256 = d,
                         .consent_ref = "form-2"};
    ASSERT_OK(mien_enroll(dst, "door", &e, &TEST_CTX, &next, &err), &err);
    ASSERT_TRUE(next > highest + 1);
    ASSERT_OK(mien_audit_verify(dst, &ar, &err), &err);
    ASSERT_TRUE(ar.ok);

    /* a target that holds anything is refused, and stays as it was */
    mien_copy_report again;
    ASSERT_STATUS(mien_store_copy(src, dst, &TEST_CTX, &again, &err), MIEN_ERR_EXISTS, &err);
    ASSERT_CONTAINS(err.message, "not empty");
    ASSERT_EQ_INT(again.faces, 0);
    ASSERT_STATUS(mien_store_copy(src, src, &TEST_CTX, &again, &err), MIEN_ERR_ARG, &err);

    /* and back again, into an SQLite file under the same key file (on the PostgreSQL run: the
     * other direction): a key made on the copy opens the copy of the copy */
    char uri[192], fresh[MIEN_KEY_TEXT_MAX];
    mien_store *back = NULL;
    ASSERT_OK(mien_key_create(dst, MIEN_ROLE_SEARCH, "after", fresh, NULL, &err), &err);
    ASSERT_OK(mien_audit_verify(dst, &ar, &err), &err);
    int64_t dst_entries = ar.entries;
    snprintf(uri, sizeof(uri), "sqlite:%s/back.db", ts.dir);
    mien_store_options bo = {.key_file = ts.key_file, .create_key = false};
    ASSERT_OK(test_open_store_with(uri, &bo, &back, &err), &err);
    ASSERT_OK(mien_store_copy(dst, back, &TEST_CTX, &again, &err), &err);
    ASSERT_EQ_INT(again.faces, 5);
    ASSERT_EQ_INT(again.keys, 3);
    ASSERT_EQ_INT(again.decisions, 2);
    ASSERT_EQ_INT(again.audit_entries, dst_entries + 1);
    ASSERT_EQ_INT(again.same_key_file, 1);
    ASSERT_OK(mien_key_verify(back, fresh, &who, &err), &err);
    ASSERT_STR_EQ(who.label, "after");
    ASSERT_OK(mien_audit_verify(back, &ar, &err), &err);
    ASSERT_TRUE(ar.ok);
    ASSERT_OK(mien_face_list(back, "door", &fl, &nf, &err), &err);
    ASSERT_EQ_INT(nf, 4);
    ASSERT_EQ_INT(fl[3].face_id, next);
    mien_free(fl);
    mien_store_close(back);

    mien_store_close(dst);
    mien_store_close(src);
    for (int k = 0; k < 3; k++) {
        mien_template_free(t[k]);
    }
    test_fixture_close(&f);
    test_store_remove(&ts);
    return 0;
}

/* A copy that fails half-way (a damaged template in the source, found after the first faces
 * were written) leaves the target empty: the whole copy is one transaction. */
TEST(migrate_copy_all_or_nothing)
{
    test_fixture f;
    test_store ts;
    mien_store *src = NULL, *dst = NULL;
    mien_template *t[3] = {NULL, NULL, NULL};
    uint8_t sha[32];
    char admin[MIEN_KEY_TEXT_MAX], review[33], path[192];
    mien_error err;
    mien_copy_report rep;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_EQ_INT(test_fixture_open(&f), 0);
    ASSERT_EQ_INT(test_sample_templates(&f, 1, MIEN_PROFILE_FAST, 3, t, sha), 3);
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(open_source(&ts, &src, &err), &err);
    ASSERT_EQ_INT(fill_source(src, &f, t, sha, admin, review), 0);
    mien_store_close(src);
    snprintf(path, sizeof(path), "%s/source.db", ts.dir);
    /* the last face's tag zeroed: still a sealed blob, but one that fails authentication */
    ASSERT_EQ_INT(test_sqlite_exec(path, "UPDATE faces SET template = substr(template, 1, "
                                         "length(template) - 16) || zeroblob(16) WHERE id = "
                                         "(SELECT max(id) FROM faces)"),
                  SQLITE_OK);
    ASSERT_OK(open_source(&ts, &src, &err), &err);
    ASSERT_OK(open_target(&ts, &dst, &err), &err);
    ASSERT_STATUS(mien_store_copy(src, dst, &TEST_CTX, &rep, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "authentication");
    mien_collection_info *cs = NULL;
    size_t n = 9;
    ASSERT_OK(mien_collection_list(dst, &cs, &n, &err), &err);
    ASSERT_EQ_INT(n, 0);
    mien_audit_report ar;
    ASSERT_OK(mien_audit_verify(dst, &ar, &err), &err);
    ASSERT_EQ_INT(ar.entries, 0);
    /* and the source is untouched (its write lock was released): it still takes writes */
    ASSERT_OK(mien_collection_drop(src, "badge", &TEST_CTX, &err), &err);
    mien_store_close(dst);
    mien_store_close(src);
    for (int k = 0; k < 3; k++) {
        mien_template_free(t[k]);
    }
    test_fixture_close(&f);
    test_store_remove(&ts);
    return 0;
}
