/* test_audit.c — the audit chain and its signed head (src/governance/audit.c) over an
 * in-memory fake store, so that the chain can be tampered with directly: altered, rehashed,
 * deleted and truncated rows; missing, garbled and foreign heads; a checkpoint that must not
 * move backwards; export filtering and keys; and an independent recomputation of every hash
 * from exported lines alone (plus one vector computed in Python from audit.c's comment),
 * which is what "verifiable offline" rests on.
 *
 * No test needs the models. Every test works in its own mkdtemp() folder under /tmp (key file,
 * head file and its lock) and removes it. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "base/keyring.h"
#include "store/store.h"
#include "governance/audit.h"
#include "test.h"

/* ---- the fake store: audit_last, audit_insert, audit_scan over an array --------------- */

#define FAKE_MAX 16

typedef struct fake_store {
    store_db base; /* first: audit.c sees a store_db */
    store_audit_row rows[FAKE_MAX];
    char *results[FAKE_MAX]; /* rows[i].result points here (owned) */
    size_t n;
} fake_store;

static fake_store *as_fake(store_db *s)
{
    return (fake_store *)s;
}

static mien_status fake_last(store_db *s, int64_t *seq, uint8_t hash[32], mien_error *err)
{
    fake_store *f = as_fake(s);
    (void)err;
    *seq = f->n > 0 ? f->rows[f->n - 1].seq : 0;
    if (f->n > 0) {
        memcpy(hash, f->rows[f->n - 1].hash, 32);
    } else {
        memset(hash, 0, 32);
    }
    return MIEN_OK;
}

static mien_status fake_insert(store_db *s, const store_audit_row *row, mien_error *err)
{
    fake_store *f = as_fake(s);
    int64_t last = f->n > 0 ? f->rows[f->n - 1].seq : 0;
    if (row->seq != last + 1 || f->n == FAKE_MAX) {
        if (err != NULL) {
            err->code = MIEN_ERR_EXISTS;
            snprintf(err->message, sizeof(err->message), "fake: seq %lld after %lld",
                     (long long)row->seq, (long long)last);
        }
        return MIEN_ERR_EXISTS;
    }
    f->results[f->n] = strdup(row->result);
    f->rows[f->n] = *row;
    f->rows[f->n].result = f->results[f->n];
    f->n++;
    return MIEN_OK;
}

static mien_status fake_scan(store_db *s, int64_t from_seq, int64_t t0, int64_t t1,
                             store_audit_fn fn, void *ctx, mien_error *err)
{
    fake_store *f = as_fake(s);
    (void)err;
    for (size_t i = 0; i < f->n; i++) {
        const store_audit_row *r = &f->rows[i];
        if (r->seq < from_seq || (t0 != 0 && r->time < t0) || (t1 != 0 && r->time > t1)) {
            continue;
        }
        mien_status status = fn(ctx, r);
        if (status != MIEN_OK) {
            return status;
        }
    }
    return MIEN_OK;
}

static const store_db_ops FAKE_OPS = {
    .audit_last = fake_last,
    .audit_insert = fake_insert,
    .audit_scan = fake_scan,
};

/* Removes the row with this seq, as someone editing the database file would. */
static void fake_delete(fake_store *f, int64_t seq)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->rows[i].seq == seq) {
            free(f->results[i]);
            memmove(&f->rows[i], &f->rows[i + 1], (f->n - i - 1) * sizeof(f->rows[0]));
            memmove(&f->results[i], &f->results[i + 1], (f->n - i - 1) * sizeof(char *));
            f->n--;
            return;
        }
    }
}

static store_audit_row *fake_row(fake_store *f, int64_t seq)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->rows[i].seq == seq) {
            return &f->rows[i];
        }
    }
    return NULL;
}

/* ---- fixture -------------------------------------------------------------------------- */

typedef struct audit_fixture {
    char dir[64];
    char head[128];
    keyring *keys;
    fake_store store;
} audit_fixture;

static int fixture_open(audit_fixture *fx)
{
    char path[128];
    mien_error err;
    memset(fx, 0, sizeof(*fx));
    if (test_temp_dir(fx->dir, sizeof(fx->dir)) != 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/keys", fx->dir);
    if (keyring_create(path, &fx->keys, &err) != MIEN_OK) {
        fprintf(stderr, "  keyring_create: %s\n", err.message);
        return -1;
    }
    snprintf(fx->head, sizeof(fx->head), "%s/audit.head", fx->dir);
    fx->store.base.ops = &FAKE_OPS;
    fx->store.base.keys = fx->keys;
    snprintf(fx->store.base.audit_head_path, sizeof(fx->store.base.audit_head_path), "%s",
             fx->head);
    return 0;
}

static void fixture_close(audit_fixture *fx)
{
    for (size_t i = 0; i < fx->store.n; i++) {
        free(fx->store.results[i]);
    }
    keyring_free(fx->keys);
    test_remove_dir(fx->dir);
}

/* Appends entries 1..n at times 1000, 2000, ...; 0 on success. */
static int append_n(audit_fixture *fx, int n)
{
    mien_error err;
    uint8_t digest[32];
    for (int i = 1; i <= n; i++) {
        char case_ref[32], result[128];
        int64_t seq = 0;
        uint8_t hash[32];
        int64_t at = (int64_t)(fx->store.n + 1) * 1000;
        snprintf(case_ref, sizeof(case_ref), "C-%d", i);
        /* whitespace and an escape on purpose: the stored text is the caller's */
        snprintf(result, sizeof(result),
                 "{ \"candidates\": %d, \"top\": 0.%d5, \"note\": \"caf\\u00e9\", "
                 "\"ids\": [1, 2] }",
                 i, i);
        crypto_hash_sha256(digest, (const unsigned char *)case_ref, strlen(case_ref));
        audit_entry e = {
            .actor = "alice",
            .action = i % 2 ? "search" : "enrol",
            .collection = "staff",
            .purpose = "access-control",
            .case_ref = case_ref,
            .input_sha256 = i % 2 ? digest : NULL,
            .outcome = i == 2 ? "refused" : NULL,
            .result_json = result,
        };
        if (audit_append(&fx->store.base, at, &e, &seq, hash, &err) != MIEN_OK) {
            fprintf(stderr, "  audit_append: %s\n", err.message);
            return -1;
        }
        if (seq != (int64_t)fx->store.n ||
            memcmp(hash, fx->store.rows[fx->store.n - 1].hash, 32) != 0) {
            fprintf(stderr, "  audit_append: seq %lld or its hash is not the stored row's\n",
                    (long long)seq);
            return -1;
        }
        /* A new log's first commit signs the first head, as governance_after_commit does;
         * later heads come from the tests' own checkpoints. */
        if (seq == 1 && audit_checkpoint(&fx->store.base, &err) != MIEN_OK) {
            fprintf(stderr, "  audit_checkpoint: %s\n", err.message);
            return -1;
        }
    }
    return 0;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    fputs(text, f);
    return fclose(f);
}

static char *read_text(const char *path)
{
    size_t n = 0;
    unsigned char *data = test_read_file(path, &n);
    if (data != NULL) {
        data[n] = '\0';
    }
    return (char *)data;
}

/* ---- tests ---------------------------------------------------------------------------- */

TEST(audit_append_verify)
{
    audit_fixture fx;
    mien_audit_report r;
    mien_error err;
    struct stat st;
    uint8_t pk[KEYRING_PUBLIC_BYTES];
    char pk_hex[65];
    ASSERT_TRUE(fixture_open(&fx) == 0);

    /* an empty log: nothing to sign, nothing wrong */
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);
    ASSERT_TRUE(access(fx.head, F_OK) != 0);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 1);
    ASSERT_EQ_INT(r.entries, 0);

    ASSERT_TRUE(append_n(&fx, 5) == 0);
    /* a head that went missing: verify says so, and no checkpoint quietly replaces it */
    ASSERT_EQ_INT(unlink(fx.head), 0);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.first_bad, 0);
    ASSERT_CONTAINS(r.problem, "no signed head at");
    ASSERT_STATUS(audit_checkpoint(&fx.store.base, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "reset-head");
    fx.store.base.audit_head_reset = 1; /* what mien_audit_reset_head does, after its check */
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);
    fx.store.base.audit_head_reset = 0;
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 1);
    ASSERT_EQ_INT(r.entries, 5);
    ASSERT_EQ_INT(r.first_bad, 0);
    ASSERT_EQ_INT(r.head_seq, 5);
    ASSERT_STR_EQ(r.problem, "");
    keyring_public_key(fx.keys, pk);
    sodium_bin2hex(pk_hex, sizeof(pk_hex), pk, sizeof(pk));
    ASSERT_STR_EQ(r.public_key, pk_hex);

    /* the head file: mode 0600, the documented text */
    ASSERT_TRUE(stat(fx.head, &st) == 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    char *text = read_text(fx.head);
    ASSERT_TRUE(text != NULL);
    ASSERT_TRUE(strncmp(text, "mien-audit-head 1\nseq 5\nhash ", 29) == 0);
    ASSERT_CONTAINS(text, pk_hex);
    free(text);

    /* the stored result is the text as given, the defaults are applied */
    ASSERT_STR_EQ(fx.store.rows[0].result,
                  "{ \"candidates\": 1, \"top\": 0.15, \"note\": \"caf\\u00e9\", "
                  "\"ids\": [1, 2] }");
    ASSERT_STR_EQ(fx.store.rows[0].outcome, "ok");
    ASSERT_STR_EQ(fx.store.rows[1].outcome, "refused");
    ASSERT_STR_EQ(fx.store.rows[1].input_sha256, "");
    ASSERT_EQ_INT(strlen(fx.store.rows[0].input_sha256), 64);

    /* more entries after the head verify too (a crash before the checkpoint) */
    ASSERT_TRUE(append_n(&fx, 1) == 0);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 1);
    ASSERT_EQ_INT(r.entries, 6);
    ASSERT_EQ_INT(r.head_seq, 5);
    fixture_close(&fx);
    return 0;
}

TEST(audit_hash_vector)
{
    /* Computed from audit.c's file comment alone, in Python:
     *   f = lambda b: len(b).to_bytes(8, "little") + b
     *   sha256(f(b"mien-audit-v1") + f(b"1") + f(b"1700000000") + f(b"alice") + f(b"search")
     *          + f(b"staff") + f(b"access-control") + f(b"C-1") + f(sha256(b"").hexdigest()
     *          .encode()) + f(b"ok") + f(b'{"candidates":2,"top":0.5}') + f(bytes(32))) */
    static const char WANT[] =
        "d4ea58222a231277fdccc6f825ca3743f25832c44b056474a904d8c01b6e5a1b";
    store_audit_row row;
    uint8_t h[32];
    char hex[65];
    memset(&row, 0, sizeof(row));
    row.seq = 1;
    row.time = 1700000000;
    strcpy(row.actor, "alice");
    strcpy(row.action, "search");
    strcpy(row.collection, "staff");
    strcpy(row.purpose, "access-control");
    strcpy(row.case_ref, "C-1");
    strcpy(row.input_sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    strcpy(row.outcome, "ok");
    row.result = "{\"candidates\":2,\"top\":0.5}";
    audit_row_hash(&row, h);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    ASSERT_STR_EQ(hex, WANT);
    return 0;
}

TEST(audit_altered_entry)
{
    audit_fixture fx;
    mien_audit_report r;
    mien_error err;
    char saved[64];
    ASSERT_TRUE(fixture_open(&fx) == 0);
    ASSERT_TRUE(append_n(&fx, 5) == 0);
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);

    store_audit_row *row = fake_row(&fx.store, 3);
    ASSERT_TRUE(row != NULL);
    memcpy(saved, row->actor, sizeof(saved));
    strcpy(row->actor, "mallory");
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.first_bad, 3);
    ASSERT_EQ_INT(r.entries, 5);
    ASSERT_STR_EQ(r.problem, "entry 3: its contents do not match its hash (altered)");

    /* the result text is covered as well, byte for byte */
    memcpy(row->actor, saved, sizeof(saved));
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 1);
    char *digit = strstr(fx.store.results[2], "\"candidates\": 3") + 14;
    *digit = '9';
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.first_bad, 3);

    /* and the time */
    *digit = '3';
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 1);
    row->time += 1;
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.first_bad, 3);
    fixture_close(&fx);
    return 0;
}

TEST(audit_relinked_entry)
{
    audit_fixture fx;
    mien_audit_report r;
    mien_error err;
    ASSERT_TRUE(fixture_open(&fx) == 0);
    ASSERT_TRUE(append_n(&fx, 5) == 0);
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);

    const keyring *keys = fx.store.base.keys;
    store_audit_row *row = fake_row(&fx.store, 3);
    strcpy(row->outcome, "ok");
    strcpy(row->purpose, "curiosity");
    audit_row_hash(row, row->hash);
    /* without the key file, a rehashed entry lacks its MAC */
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.first_bad, 3);
    ASSERT_CONTAINS(r.problem, "entry 3: not written by a holder of this store's key file");
    /* with it, the next entry's link still gives it away */
    audit_row_mac(keys, row, row->mac);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.first_bad, 4);
    ASSERT_CONTAINS(r.problem, "entry 4: its link to entry 3 is broken");

    /* rehashing the whole tail keeps the chain consistent, but not the signed head */
    for (int64_t seq = 4; seq <= 5; seq++) {
        store_audit_row *next = fake_row(&fx.store, seq);
        memcpy(next->prev_hash, fake_row(&fx.store, seq - 1)->hash, 32);
        audit_row_hash(next, next->hash);
        audit_row_mac(keys, next, next->mac);
    }
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.first_bad, 5);
    ASSERT_CONTAINS(r.problem, "entry 5 does not match the signed head");

    /* entry 1 must start the chain */
    store_audit_row *first = fake_row(&fx.store, 1);
    first->prev_hash[0] ^= 1;
    audit_row_hash(first, first->hash);
    audit_row_mac(keys, first, first->mac);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.first_bad, 1);
    fixture_close(&fx);
    return 0;
}

TEST(audit_truncated)
{
    audit_fixture fx;
    mien_audit_report r;
    mien_error err;
    ASSERT_TRUE(fixture_open(&fx) == 0);
    ASSERT_TRUE(append_n(&fx, 5) == 0);
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);
    fake_delete(&fx.store, 5);
    fake_delete(&fx.store, 4);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.entries, 3);
    ASSERT_EQ_INT(r.head_seq, 5);
    ASSERT_EQ_INT(r.first_bad, 4);
    ASSERT_STR_EQ(r.problem, "truncated: the signed head names entry 5 but the log ends at 3");

    /* every row gone: still truncated */
    while (fx.store.n > 0) {
        fake_delete(&fx.store, fx.store.rows[fx.store.n - 1].seq);
    }
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.entries, 0);
    ASSERT_STR_EQ(r.problem, "truncated: the signed head names entry 5 but the log ends at 0");
    fixture_close(&fx);
    return 0;
}

TEST(audit_gap)
{
    audit_fixture fx;
    mien_audit_report r;
    mien_error err;
    ASSERT_TRUE(fixture_open(&fx) == 0);
    ASSERT_TRUE(append_n(&fx, 5) == 0);
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);
    fake_delete(&fx.store, 3);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.first_bad, 3);
    ASSERT_EQ_INT(r.entries, 4);
    ASSERT_STR_EQ(r.problem, "entry 3 missing");

    fake_delete(&fx.store, 1);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.first_bad, 1);
    ASSERT_STR_EQ(r.problem, "entry 1 missing");
    fixture_close(&fx);
    return 0;
}

TEST(audit_head_problems)
{
    audit_fixture fx;
    mien_audit_report r;
    mien_error err;
    keyring *other = NULL;
    char path[160];
    ASSERT_TRUE(fixture_open(&fx) == 0);
    ASSERT_TRUE(append_n(&fx, 3) == 0);
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);
    char *good = read_text(fx.head);
    ASSERT_TRUE(good != NULL);

    /* missing */
    ASSERT_TRUE(unlink(fx.head) == 0);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.head_seq, 0);
    ASSERT_CONTAINS(r.problem, "no signed head at");
    ASSERT_CONTAINS(r.problem, fx.head);

    /* garbled */
    ASSERT_TRUE(write_text(fx.head, "hello\n") == 0);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.first_bad, 0);
    ASSERT_CONTAINS(r.problem, "is invalid: line 1");

    /* one changed digit of the signature; then a changed seq under the old signature */
    char *bad = strdup(good);
    char *sig = strstr(bad, "signature ") + 10;
    *sig = *sig == '0' ? '1' : '0';
    ASSERT_TRUE(write_text(fx.head, bad) == 0);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_CONTAINS(r.problem, "signature does not verify");
    strcpy(bad, good);
    strstr(bad, "seq 3")[4] = '2';
    ASSERT_TRUE(write_text(fx.head, bad) == 0);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_CONTAINS(r.problem, "signature does not verify");
    free(bad);

    /* signed by another key file's key: a checkpoint with it replaces our invalid head */
    snprintf(path, sizeof(path), "%s/keys2", fx.dir);
    ASSERT_OK(keyring_create(path, &other, &err), &err);
    fx.store.base.keys = other;
    ASSERT_STATUS(audit_checkpoint(&fx.store.base, &err), MIEN_ERR_STORE, &err);
    fx.store.base.audit_head_reset = 1;
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);
    fx.store.base.keys = fx.keys;
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_CONTAINS(r.problem, "not signed by this key file's key");
    keyring_free(other);

    /* only a reset replaces a head it cannot trust */
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);
    fx.store.base.audit_head_reset = 0;
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 1);
    ASSERT_EQ_INT(r.head_seq, 3);
    free(good);
    fixture_close(&fx);
    return 0;
}

TEST(audit_checkpoint_monotonic)
{
    audit_fixture fx;
    mien_audit_report r;
    mien_error err;
    ASSERT_TRUE(fixture_open(&fx) == 0);
    ASSERT_TRUE(append_n(&fx, 3) == 0);
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);
    ASSERT_TRUE(append_n(&fx, 2) == 0);
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);
    char *head5 = read_text(fx.head);
    ASSERT_TRUE(head5 != NULL);
    ASSERT_CONTAINS(head5, "\nseq 5\n");

    /* nothing new: the head is left as it is */
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);
    char *again = read_text(fx.head);
    ASSERT_STR_EQ(again, head5);
    free(again);

    /* the log ends before the head (rows removed, or an old copy of the database): the
     * head is kept and the checkpoint says why */
    fake_delete(&fx.store, 5);
    fake_delete(&fx.store, 4);
    ASSERT_STATUS(audit_checkpoint(&fx.store.base, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "names entry 5 but the log ends at 3");
    again = read_text(fx.head);
    ASSERT_STR_EQ(again, head5);
    free(again);

    /* new entries 4, 5, 6 fork from the signed chain: still kept, never overwritten
     * (append_n alone would re-create the very same entries 4 and 5) */
    audit_entry fork = {.actor = "mallory", .action = "erase"};
    ASSERT_OK(audit_append(&fx.store.base, 4000, &fork, NULL, NULL, &err), &err);
    ASSERT_TRUE(append_n(&fx, 2) == 0);
    ASSERT_STATUS(audit_checkpoint(&fx.store.base, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "entry 5 no longer matches the signed head");
    again = read_text(fx.head);
    ASSERT_STR_EQ(again, head5);
    free(again);
    ASSERT_OK(audit_verify(&fx.store.base, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.first_bad, 5);
    free(head5);

    /* the head's lock file is private too */
    char lock[160];
    struct stat st;
    snprintf(lock, sizeof(lock), "%s.lock", fx.head);
    ASSERT_TRUE(stat(lock, &st) == 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    fixture_close(&fx);
    return 0;
}

/* Collects export lines. */
typedef struct lines {
    char *line[FAKE_MAX];
    int n;
    int stop_after; /* return 1 after this many; 0: never */
} lines;

static int collect(void *ctx, const char *line)
{
    lines *l = ctx;
    if (l->n < FAKE_MAX) {
        l->line[l->n++] = strdup(line);
    }
    return l->stop_after != 0 && l->n >= l->stop_after;
}

static void lines_free(lines *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->line[i]);
    }
    memset(l, 0, sizeof(*l));
}

TEST(audit_export_lines)
{
    static const char *const KEYS[] = {"seq", "time", "time_unix", "actor", "action",
                                       "collection", "purpose", "case_ref", "input_sha256",
                                       "outcome", "result", "prev_hash", "hash"};
    audit_fixture fx;
    mien_error err;
    lines l = {.n = 0};
    ASSERT_TRUE(fixture_open(&fx) == 0);
    ASSERT_TRUE(append_n(&fx, 5) == 0); /* times 1000 .. 5000 */

    ASSERT_OK(audit_export(&fx.store.base, 2000, 4000, collect, &l, &err), &err);
    ASSERT_EQ_INT(l.n, 3);
    for (int i = 0; i < l.n; i++) {
        json_error_t jerr;
        json_t *o = json_loads(l.line[i], JSON_REJECT_DUPLICATES, &jerr);
        ASSERT_TRUE(o != NULL);
        ASSERT_TRUE(strchr(l.line[i], '\n') == NULL);
        /* exactly these keys, in this order */
        void *it = json_object_iter(o);
        for (size_t k = 0; k < sizeof(KEYS) / sizeof(KEYS[0]); k++) {
            ASSERT_TRUE(it != NULL);
            ASSERT_STR_EQ(json_object_iter_key(it), KEYS[k]);
            it = json_object_iter_next(o, it);
        }
        ASSERT_TRUE(it == NULL);
        ASSERT_EQ_INT(json_integer_value(json_object_get(o, "seq")), i + 2);
        ASSERT_EQ_INT(json_integer_value(json_object_get(o, "time_unix")), (i + 2) * 1000);
        ASSERT_TRUE(json_is_object(json_object_get(o, "result")));
        ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(o, "result"),
                                                         "candidates")),
                      i + 2);
        json_decref(o);
    }
    ASSERT_CONTAINS(l.line[0], "\"time\":\"1970-01-01T00:33:20Z\"");
    ASSERT_CONTAINS(l.line[0], "\"outcome\":\"refused\"");
    ASSERT_CONTAINS(l.line[0], "\"input_sha256\":\"\"");
    lines_free(&l);

    /* unbounded; open ends; nothing in range; the callback stops it */
    ASSERT_OK(audit_export(&fx.store.base, 0, 0, collect, &l, &err), &err);
    ASSERT_EQ_INT(l.n, 5);
    lines_free(&l);
    ASSERT_OK(audit_export(&fx.store.base, 4000, 0, collect, &l, &err), &err);
    ASSERT_EQ_INT(l.n, 2);
    lines_free(&l);
    ASSERT_OK(audit_export(&fx.store.base, 0, 1000, collect, &l, &err), &err);
    ASSERT_EQ_INT(l.n, 1);
    lines_free(&l);
    ASSERT_OK(audit_export(&fx.store.base, 6000, 0, collect, &l, &err), &err);
    ASSERT_EQ_INT(l.n, 0);
    l.stop_after = 2;
    ASSERT_OK(audit_export(&fx.store.base, 0, 0, collect, &l, &err), &err);
    ASSERT_EQ_INT(l.n, 2);
    lines_free(&l);
    ASSERT_STATUS(audit_export(&fx.store.base, 0, 0, NULL, &l, &err), MIEN_ERR_ARG, &err);
    fixture_close(&fx);
    return 0;
}

/* ---- an offline verifier, written from audit.c's file comment only -------------------- */

static void field(crypto_hash_sha256_state *st, const void *p, size_t n)
{
    unsigned char len[8];
    for (int i = 0; i < 8; i++) {
        len[i] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    crypto_hash_sha256_update(st, len, 8);
    crypto_hash_sha256_update(st, p, n);
}

static void str_field(crypto_hash_sha256_state *st, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    field(st, v, strlen(v));
}

/* 0 when the line's own fields hash to its "hash"; *prev receives its hash for the next. */
static int offline_check(const char *line, uint8_t prev[32])
{
    json_t *o = json_loads(line, 0, NULL);
    crypto_hash_sha256_state st;
    char num[32], hex[65];
    uint8_t prev_hash[32], h[32];
    int bad = 0;
    if (o == NULL) {
        return 1;
    }
    /* the result's bytes: between the first ,"result": and the last ,"prev_hash":" */
    const char *from = strstr(line, ",\"result\":") + 10;
    const char *to = line + strlen(line);
    for (const char *p = from; (p = strstr(p, ",\"prev_hash\":\"")) != NULL; p++) {
        to = p;
    }
    /* the span is the "result" value the JSON parser read */
    json_t *span = json_loadb(from, (size_t)(to - from), 0, NULL);
    if (span == NULL || !json_equal(span, json_object_get(o, "result"))) {
        fprintf(stderr, "  result span is not the parsed result: %s\n", line);
        bad = 1;
    }
    json_decref(span);
    sodium_hex2bin(prev_hash, 32, json_string_value(json_object_get(o, "prev_hash")), 64, NULL,
                   NULL, NULL);
    if (memcmp(prev_hash, prev, 32) != 0) {
        bad = 1;
    }
    crypto_hash_sha256_init(&st);
    field(&st, "mien-audit-v1", 13);
    snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(json_object_get(o, "seq")));
    field(&st, num, strlen(num));
    snprintf(num, sizeof(num), "%lld",
             (long long)json_integer_value(json_object_get(o, "time_unix")));
    field(&st, num, strlen(num));
    str_field(&st, o, "actor");
    str_field(&st, o, "action");
    str_field(&st, o, "collection");
    str_field(&st, o, "purpose");
    str_field(&st, o, "case_ref");
    str_field(&st, o, "input_sha256");
    str_field(&st, o, "outcome");
    field(&st, from, (size_t)(to - from));
    field(&st, prev_hash, 32);
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(hex, sizeof(hex), h, 32);
    if (strcmp(hex, json_string_value(json_object_get(o, "hash"))) != 0) {
        fprintf(stderr, "  recomputed %s for: %s\n", hex, line);
        bad = 1;
    }
    memcpy(prev, h, 32);
    json_decref(o);
    return bad;
}

TEST(audit_export_rehash)
{
    audit_fixture fx;
    mien_error err;
    lines l = {.n = 0};
    uint8_t prev[32] = {0};
    ASSERT_TRUE(fixture_open(&fx) == 0);
    ASSERT_TRUE(append_n(&fx, 4) == 0);
    /* a result whose text could confuse a naive reader of the line */
    audit_entry e = {
        .actor = "bob \"the auditor\"",
        .action = "compare",
        .result_json = "{\"x\":{\"prev_hash\":\"00\"},\"s\":\",\\\"result\\\":\",\"r\":1e300,"
                       "\"c\":\"\\u001f\"}",
    };
    ASSERT_OK(audit_append(&fx.store.base, 9000, &e, NULL, NULL, &err), &err);
    /* a result over several lines is stored compact, so that an export line is one line */
    audit_entry pretty = {.action = "compare", .result_json = "{\n  \"a\": 1,\r\n  \"b\": [\n]\n}"};
    ASSERT_OK(audit_append(&fx.store.base, 9001, &pretty, NULL, NULL, &err), &err);
    ASSERT_STR_EQ(fx.store.rows[5].result, "{\"a\":1,\"b\":[]}");
    ASSERT_OK(audit_export(&fx.store.base, 0, 0, collect, &l, &err), &err);
    ASSERT_EQ_INT(l.n, 6);
    ASSERT_CONTAINS(l.line[5], ",\"result\":{\"a\":1,\"b\":[]},\"prev_hash\":\"");
    for (int i = 0; i < l.n; i++) {
        ASSERT_EQ_INT(offline_check(l.line[i], prev), 0);
    }
    /* the last line's hash is the one the signed head names */
    ASSERT_OK(audit_checkpoint(&fx.store.base, &err), &err);
    char *head = read_text(fx.head);
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), prev, 32);
    ASSERT_CONTAINS(head, hex);
    free(head);
    lines_free(&l);
    fixture_close(&fx);
    return 0;
}

TEST(audit_bad_input)
{
    audit_fixture fx;
    mien_error err;
    char long_actor[65];
    int64_t seq = 7;
    uint8_t hash[32] = {1};
    ASSERT_TRUE(fixture_open(&fx) == 0);
    store_db *s = &fx.store.base;
    static const char *const BAD_RESULTS[] = {
        "[1,2]", "{bad", "{\"a\":1} x", "{\"a\":1,\"a\":2}", "\"text\"", "",
    };
    for (size_t i = 0; i < sizeof(BAD_RESULTS) / sizeof(BAD_RESULTS[0]); i++) {
        audit_entry e = {.action = "search", .result_json = BAD_RESULTS[i]};
        ASSERT_STATUS(audit_append(s, 1000, &e, &seq, hash, &err), MIEN_ERR_ARG, &err);
        ASSERT_CONTAINS(err.message, "result");
        ASSERT_EQ_INT(seq, 0);
        ASSERT_EQ_INT(hash[0], 0);
    }

    memset(long_actor, 'a', 64);
    long_actor[64] = '\0';
    audit_entry e = {.actor = long_actor, .action = "search"};
    ASSERT_STATUS(audit_append(s, 1000, &e, NULL, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_STR_EQ(err.message, "audit: actor is 64 bytes; the limit is 63");
    long_actor[63] = '\0';
    audit_entry fits = {.actor = long_actor, .action = "search"};
    ASSERT_OK(audit_append(s, 1000, &fits, &seq, NULL, &err), &err);
    ASSERT_EQ_INT(seq, 1);

    char long_case[200];
    memset(long_case, 'c', sizeof(long_case) - 1);
    long_case[sizeof(long_case) - 1] = '\0';
    audit_entry c = {.action = "search", .case_ref = long_case};
    ASSERT_STATUS(audit_append(s, 1000, &c, NULL, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_CONTAINS(err.message, "case_ref is 199 bytes; the limit is 127");

    audit_entry o = {.action = "search", .outcome = "maybe"};
    ASSERT_STATUS(audit_append(s, 1000, &o, NULL, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_CONTAINS(err.message, "outcome");
    audit_entry u = {.action = "search", .purpose = "caf\xc3"};
    ASSERT_STATUS(audit_append(s, 1000, &u, NULL, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_CONTAINS(err.message, "purpose is not valid UTF-8");
    audit_entry a = {.actor = "x"};
    ASSERT_STATUS(audit_append(s, 1000, &a, NULL, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_CONTAINS(err.message, "action");
    audit_entry ok = {.action = "search"};
    ASSERT_STATUS(audit_append(s, -1, &ok, NULL, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(audit_append(NULL, 1000, &ok, NULL, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(audit_append(s, 1000, NULL, NULL, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_EQ_INT(fx.store.n, 1); /* nothing refused reached the store */

    /* NULL result and outcome: "{}" and "ok" */
    ASSERT_OK(audit_append(s, 1000, &ok, &seq, NULL, &err), &err);
    ASSERT_EQ_INT(seq, 2);
    ASSERT_STR_EQ(fx.store.rows[1].result, "{}");
    ASSERT_STR_EQ(fx.store.rows[1].outcome, "ok");

    mien_audit_report r;
    ASSERT_STATUS(audit_verify(s, NULL, &err), MIEN_ERR_ARG, &err);
    fx.store.base.audit_head_path[0] = '\0';
    ASSERT_STATUS(audit_checkpoint(s, &err), MIEN_ERR_ARG, &err);
    ASSERT_OK(audit_verify(s, &r, &err), &err);
    ASSERT_EQ_INT(r.ok, 0);
    fixture_close(&fx);
    return 0;
}
