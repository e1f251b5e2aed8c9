/* test_keys.c — API keys and roles (src/governance/keys.c) and their table in the SQLite
 * store (api_keys, schema version 2, src/store/store_sqlite.c): create, list, verify and
 * revoke; every malformed or wrong key refused alike; the role table; keys surviving a reopen;
 * no secret in the database files; the upgrade of a version-1 file.
 *
 * No test needs the models. Every test works in its own mkdtemp() folder under /tmp and
 * removes it. */
#include <stdint.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "store/store.h"
#include "store/store_sqlite.h"
#include "store_target.h"
#include "base/keyring.h"
#include "test.h"

#define KEY_LEN 61 /* "mien_" + 12 hex + "_" + 43 base64url */

/* ---- helpers -------------------------------------------------------------------------- */


/* 1 when PATH, PATH-wal or PATH-shm holds needle[n] in its raw bytes; the file is named on
 * stderr when `what` is not NULL. */
static int db_files_have(const char *path, const void *needle, size_t n, const char *what)
{
    static const char *const SUFFIX[] = {"", "-wal", "-shm"};
    char p[512];
    for (size_t i = 0; i < 3; i++) {
        size_t size = 0;
        unsigned char *data;
        snprintf(p, sizeof(p), "%s%s", path, SUFFIX[i]);
        data = test_read_file(p, &size);
        if (data != NULL && memmem(data, size, needle, n) != NULL) {
            if (what != NULL) {
                fprintf(stderr, "  %s found in %s\n", what, p);
            }
            free(data);
            return 1;
        }
        free(data);
    }
    return 0;
}

/* Raw SQLite query returning one integer (or -1), for checks behind the store's back. */
static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
        v = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

/* The id part of a key text ("mien_<id>_…") into id[13]. */
static void id_of(const char *key, char id[MIEN_KEY_ID_LEN + 1])
{
    memcpy(id, key + 5, MIEN_KEY_ID_LEN);
    id[MIEN_KEY_ID_LEN] = '\0';
}

/* ---- tests ---------------------------------------------------------------------------- */

TEST(keys_round_trip)
{
    char admin[MIEN_KEY_TEXT_MAX], search[MIEN_KEY_TEXT_MAX];
    char id[MIEN_KEY_ID_LEN + 1];
    test_store ts;
    mien_store *s = NULL;
    mien_key_info info, *list = NULL;
    mien_error err;
    size_t n = 0;
    int64_t count = -1;
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);

    ASSERT_OK(mien_key_count_valid(s, &count, &err), &err);
    ASSERT_EQ_INT(count, 0);
    ASSERT_OK(mien_key_list(s, &list, &n, &err), &err);
    ASSERT_EQ_INT(n, 0);
    mien_free(list);

    ASSERT_OK(mien_key_create(s, MIEN_ROLE_ADMIN, "ops laptop", admin, &info, &err), &err);
    ASSERT_EQ_INT(strlen(admin), KEY_LEN);
    ASSERT_TRUE(strncmp(admin, "mien_", 5) == 0 && admin[17] == '_');
    id_of(admin, id);
    ASSERT_STR_EQ(info.id, id);
    ASSERT_EQ_INT(info.role, MIEN_ROLE_ADMIN);
    ASSERT_STR_EQ(info.label, "ops laptop");
    ASSERT_TRUE(info.created_at > 0);
    ASSERT_EQ_INT(info.revoked_at, 0);
    ASSERT_OK(mien_key_create(s, MIEN_ROLE_SEARCH, NULL, search, NULL, &err), &err);
    ASSERT_TRUE(strcmp(admin, search) != 0);

    ASSERT_OK(mien_key_list(s, &list, &n, &err), &err);
    ASSERT_EQ_INT(n, 2);
    for (size_t k = 0; k < n; k++) {
        if (strcmp(list[k].id, id) == 0) {
            ASSERT_EQ_INT(list[k].role, MIEN_ROLE_ADMIN);
            ASSERT_STR_EQ(list[k].label, "ops laptop");
        } else {
            ASSERT_EQ_INT(list[k].role, MIEN_ROLE_SEARCH);
            ASSERT_STR_EQ(list[k].label, "");
        }
        ASSERT_EQ_INT(list[k].revoked_at, 0);
    }
    mien_free(list);
    ASSERT_OK(mien_key_count_valid(s, &count, &err), &err);
    ASSERT_EQ_INT(count, 2);

    memset(&info, 0x5a, sizeof(info));
    ASSERT_OK(mien_key_verify(s, admin, &info, &err), &err);
    ASSERT_STR_EQ(info.id, id);
    ASSERT_EQ_INT(info.role, MIEN_ROLE_ADMIN);
    ASSERT_STR_EQ(info.label, "ops laptop");
    ASSERT_OK(mien_key_verify(s, search, &info, &err), &err);
    ASSERT_EQ_INT(info.role, MIEN_ROLE_SEARCH);
    ASSERT_OK(mien_key_verify(s, search, NULL, &err), &err);

    /* Revocation: immediate, permanent, idempotent; unknown ids are NOT_FOUND. */
    id_of(search, id);
    ASSERT_OK(mien_key_revoke(s, id, &err), &err);
    ASSERT_STATUS(mien_key_verify(s, search, &info, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STR_EQ(err.message, "invalid API key");
    ASSERT_EQ_INT(info.role, 0);
    ASSERT_TRUE(info.id[0] == '\0');
    ASSERT_OK(mien_key_list(s, &list, &n, &err), &err);
    int64_t revoked_at = 0;
    for (size_t k = 0; k < n; k++) {
        if (strcmp(list[k].id, id) == 0) {
            revoked_at = list[k].revoked_at;
        }
    }
    mien_free(list);
    ASSERT_TRUE(revoked_at > 0);
    ASSERT_OK(mien_key_revoke(s, id, &err), &err);
    ASSERT_STATUS(mien_key_verify(s, search, &info, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_OK(mien_key_count_valid(s, &count, &err), &err);
    ASSERT_EQ_INT(count, 1);
    ASSERT_OK(mien_key_verify(s, admin, &info, &err), &err);
    ASSERT_STATUS(mien_key_revoke(s, "000000000000", &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(mien_key_revoke(s, "", &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(mien_key_revoke(s, "' OR 1=1 --", &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(mien_key_revoke(s, admin, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_OK(mien_key_count_valid(s, &count, &err), &err);
    ASSERT_EQ_INT(count, 1);

    /* Bad arguments. */
    ASSERT_STATUS(mien_key_create(s, (mien_role)5, NULL, admin, &info, &err), MIEN_ERR_ARG, &err);
    ASSERT_TRUE(admin[0] == '\0');
    ASSERT_STATUS(mien_key_create(s, (mien_role)-1, NULL, admin, NULL, &err), MIEN_ERR_ARG,
                  &err);
    ASSERT_STATUS(mien_key_create(s, MIEN_ROLE_AUDIT, "line\nbreak", admin, NULL, &err),
                  MIEN_ERR_ARG, &err);
    char long_label[80];
    memset(long_label, 'x', sizeof(long_label) - 1);
    long_label[sizeof(long_label) - 1] = '\0';
    ASSERT_STATUS(mien_key_create(s, MIEN_ROLE_AUDIT, long_label, admin, NULL, &err),
                  MIEN_ERR_ARG, &err);
    long_label[63] = '\0';
    ASSERT_OK(mien_key_create(s, MIEN_ROLE_AUDIT, long_label, admin, &info, &err), &err);
    ASSERT_EQ_INT(strlen(info.label), 63);
    ASSERT_STATUS(mien_key_create(NULL, MIEN_ROLE_AUDIT, NULL, admin, NULL, &err), MIEN_ERR_ARG,
                  &err);
    ASSERT_STATUS(mien_key_create(s, MIEN_ROLE_AUDIT, NULL, NULL, NULL, &err), MIEN_ERR_ARG,
                  &err);
    ASSERT_STATUS(mien_key_list(NULL, &list, &n, &err), MIEN_ERR_ARG, &err);
    ASSERT_TRUE(list == NULL && n == 0);
    ASSERT_STATUS(mien_key_list(s, NULL, &n, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_key_revoke(NULL, id, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_key_revoke(s, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_key_verify(NULL, admin, &info, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_key_verify(s, NULL, &info, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_key_count_valid(NULL, &count, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_key_count_valid(s, NULL, &err), MIEN_ERR_ARG, &err);
    mien_store_close(s);
    test_store_remove(&ts);
    return 0;
}

TEST(keys_verify_refuses)
{
    char key[MIEN_KEY_TEXT_MAX], bad[MIEN_KEY_TEXT_MAX + 16];
    test_store ts;
    char other[MIEN_KEY_TEXT_MAX];
    mien_store *s = NULL;
    mien_key_info info;
    mien_error err;
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_key_create(s, MIEN_ROLE_ENROLL, "refuse", key, NULL, &err), &err);
    ASSERT_OK(mien_key_create(s, MIEN_ROLE_ADMIN, NULL, other, NULL, &err), &err);
    ASSERT_OK(mien_key_verify(s, key, &info, &err), &err);

    /* Each of these is refused with the same status and message. */
    char *cases[32];
    size_t nc = 0;
    char wrong_secret[MIEN_KEY_TEXT_MAX], wrong_id[MIEN_KEY_TEXT_MAX], swapped[MIEN_KEY_TEXT_MAX];
    char upper_id[MIEN_KEY_TEXT_MAX], bearer[MIEN_KEY_TEXT_MAX + 8], extra[MIEN_KEY_TEXT_MAX + 1];
    char short_key[MIEN_KEY_TEXT_MAX], bad_char[MIEN_KEY_TEXT_MAX], space[MIEN_KEY_TEXT_MAX + 1];
    char prefix[MIEN_KEY_TEXT_MAX];
    snprintf(wrong_secret, sizeof(wrong_secret), "%s", key);
    wrong_secret[KEY_LEN - 1] = wrong_secret[KEY_LEN - 1] == 'A' ? 'B' : 'A';
    cases[nc++] = wrong_secret;
    snprintf(wrong_id, sizeof(wrong_id), "%s", key);
    wrong_id[5] = wrong_id[5] == '0' ? '1' : '0';
    cases[nc++] = wrong_id;
    /* The id of one key with the secret of another. */
    snprintf(swapped, sizeof(swapped), "%.18s%s", key, other + 18);
    cases[nc++] = swapped;
    snprintf(upper_id, sizeof(upper_id), "%s", key);
    for (int i = 5; i < 17; i++) {
        if (upper_id[i] >= 'a' && upper_id[i] <= 'f') {
            upper_id[i] = (char)(upper_id[i] - 'a' + 'A');
        }
    }
    if (strcmp(upper_id, key) != 0) {
        cases[nc++] = upper_id;
    }
    snprintf(bearer, sizeof(bearer), "Bearer %s", key);
    cases[nc++] = bearer;
    snprintf(extra, sizeof(extra), "%sx", key);
    cases[nc++] = extra;
    snprintf(space, sizeof(space), "%s ", key);
    cases[nc++] = space;
    snprintf(short_key, sizeof(short_key), "%.*s", KEY_LEN - 1, key);
    cases[nc++] = short_key;
    snprintf(bad_char, sizeof(bad_char), "%s", key);
    bad_char[30] = '.';
    cases[nc++] = bad_char;
    snprintf(prefix, sizeof(prefix), "MIEN%s", key + 4);
    cases[nc++] = prefix;
    cases[nc++] = "";
    cases[nc++] = "garbage";
    cases[nc++] = "mien_";
    cases[nc++] = "mien__";
    cases[nc++] = "Bearer";
    cases[nc++] = "' OR 1=1 --";
    memset(bad, 'a', sizeof(bad) - 1);
    bad[sizeof(bad) - 1] = '\0';
    cases[nc++] = bad;
    for (size_t k = 0; k < nc; k++) {
        memset(&info, 0x5a, sizeof(info));
        memset(&err, 0, sizeof(err));
        mien_status st = mien_key_verify(s, cases[k], &info, &err);
        if (st != MIEN_ERR_NOT_FOUND) {
            TEST_FAIL_("case %zu \"%s\": got %s", k, cases[k], mien_strerror(st));
        }
        ASSERT_STR_EQ(err.message, "invalid API key");
        ASSERT_TRUE(info.id[0] == '\0' && info.role == 0 && info.created_at == 0);
    }
    /* A very long header value: only the first MIEN_KEY_TEXT_MAX bytes are looked at. */
    size_t huge_len = 1 << 20;
    char *huge = malloc(huge_len + 1);
    ASSERT_TRUE(huge != NULL);
    memset(huge, 'm', huge_len);
    memcpy(huge, key, KEY_LEN);
    huge[huge_len] = '\0';
    ASSERT_STATUS(mien_key_verify(s, huge, &info, &err), MIEN_ERR_NOT_FOUND, &err);
    free(huge);
    /* The right key still works after all that. */
    ASSERT_OK(mien_key_verify(s, key, &info, &err), &err);
    ASSERT_EQ_INT(info.role, MIEN_ROLE_ENROLL);
    mien_store_close(s);
    test_store_remove(&ts);
    return 0;
}

TEST(keys_role_table)
{
    static const char *const ACTIONS[] = {"detect", "compare", "collections.read",
                                           "collections.write", "enrol", "subjects.read",
                                           "erase", "search", "keys", "review", "audit"};
    /* Rows: ACTIONS; columns: admin, enrol, search, review, audit (mien.h). */
    static const int WANT[][5] = {
        {1, 1, 1, 0, 0}, /* detect */
        {1, 1, 1, 0, 0}, /* compare */
        {1, 1, 1, 1, 1}, /* collections.read */
        {1, 0, 0, 0, 0}, /* collections.write */
        {1, 1, 0, 0, 0}, /* enrol */
        {1, 1, 0, 0, 0}, /* subjects.read */
        {1, 1, 0, 0, 0}, /* erase */
        {1, 0, 1, 0, 0}, /* search */
        {1, 0, 0, 0, 0}, /* keys */
        {1, 0, 0, 1, 0}, /* review */
        {1, 0, 0, 0, 1}, /* audit */
    };
    for (size_t a = 0; a < sizeof(ACTIONS) / sizeof(ACTIONS[0]); a++) {
        for (int r = 0; r < 5; r++) {
            int got = mien_role_allows((mien_role)r, ACTIONS[a]);
            if (got != WANT[a][r]) {
                TEST_FAIL_("%s may %s: got %d, want %d", mien_role_name((mien_role)r), ACTIONS[a],
                           got, WANT[a][r]);
            }
        }
    }
    /* Unknown actions and roles fail closed, admin included. */
    ASSERT_EQ_INT(mien_role_allows(MIEN_ROLE_ADMIN, "frobnicate"), 0);
    ASSERT_EQ_INT(mien_role_allows(MIEN_ROLE_ADMIN, ""), 0);
    ASSERT_EQ_INT(mien_role_allows(MIEN_ROLE_ADMIN, NULL), 0);
    ASSERT_EQ_INT(mien_role_allows(MIEN_ROLE_ADMIN, "Search"), 0);
    ASSERT_EQ_INT(mien_role_allows((mien_role)5, "collections.read"), 0);
    ASSERT_EQ_INT(mien_role_allows((mien_role)-1, "collections.read"), 0);

    /* Names round-trip; other text is refused and leaves *out alone. */
    for (int r = 0; r < 5; r++) {
        mien_role got = (mien_role)99;
        ASSERT_OK(mien_role_parse(mien_role_name((mien_role)r), &got), NULL);
        ASSERT_EQ_INT(got, r);
    }
    ASSERT_STR_EQ(mien_role_name(MIEN_ROLE_ENROLL), "enrol");
    {   /* the CLI verb's spelling names the same role */
        mien_role got = MIEN_ROLE_ADMIN;
        ASSERT_OK(mien_role_parse("enroll", &got), NULL);
        ASSERT_EQ_INT(got, MIEN_ROLE_ENROLL);
    }
    ASSERT_STR_EQ(mien_role_name((mien_role)42), "unknown");
    mien_role keep = MIEN_ROLE_AUDIT;
    ASSERT_STATUS(mien_role_parse("Admin", &keep), MIEN_ERR_ARG, NULL);
    ASSERT_STATUS(mien_role_parse("unknown", &keep), MIEN_ERR_ARG, NULL);
    ASSERT_STATUS(mien_role_parse("", &keep), MIEN_ERR_ARG, NULL);
    ASSERT_STATUS(mien_role_parse(NULL, &keep), MIEN_ERR_ARG, NULL);
    ASSERT_STATUS(mien_role_parse("admin", NULL), MIEN_ERR_ARG, NULL);
    ASSERT_EQ_INT(keep, MIEN_ROLE_AUDIT);
    return 0;
}

/* Keys outlive the handle; the files hold the id and the hash, never the secret. */
TEST(keys_reopen_no_secret_in_file)
{
    char key[MIEN_KEY_TEXT_MAX], id[MIEN_KEY_ID_LEN + 1];
    test_store ts;
    mien_store *s = NULL;
    mien_key_info info;
    mien_error err;
    int64_t count = 0;
    uint8_t hash[32];
    ASSERT_TRUE(test_store_make(&ts) == 0);
    const char *path = ts.path; /* SQLite: the file; PostgreSQL: "" */
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_key_create(s, MIEN_ROLE_REVIEW, "reviewer", key, NULL, &err), &err);
    id_of(key, id);
    const char *secret = key + 18;
    ASSERT_EQ_INT(strlen(secret), 43);
    /* The hash keys.c stores (its file comment): a MAC with the store's key file. */
    keyring *kr = NULL;
    ASSERT_OK(keyring_load(mien_store_key_file(s), &kr, &err), &err);
    keyring_mac(kr, "api-key/v1", (const uint8_t *)secret, 43, hash);
    keyring_free(kr);

    /* Open, so the row may still be in the WAL; then closed (checkpointed into the file). */
    bool files = !test_store_sqlite_only("byte greps of the database files");
    for (int pass = 0; files && pass < 2; pass++) {
        ASSERT_TRUE(!db_files_have(path, secret, 43, "the secret"));
        ASSERT_TRUE(!db_files_have(path, key, KEY_LEN, "the key text"));
        ASSERT_TRUE(!db_files_have(path, secret, 16, "16 characters of the secret"));
        /* Positive controls: the id and the hash are there. */
        ASSERT_TRUE(db_files_have(path, id, MIEN_KEY_ID_LEN, NULL));
        ASSERT_TRUE(db_files_have(path, hash, sizeof(hash), NULL));
        if (pass == 0) {
            mien_store_close(s);
            s = NULL;
        }
    }
    mien_store_close(s);

    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_key_verify(s, key, &info, &err), &err);
    ASSERT_STR_EQ(info.id, id);
    ASSERT_EQ_INT(info.role, MIEN_ROLE_REVIEW);
    ASSERT_STR_EQ(info.label, "reviewer");
    ASSERT_OK(mien_key_revoke(s, id, &err), &err);
    mien_store_close(s);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_STATUS(mien_key_verify(s, key, &info, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_OK(mien_key_count_valid(s, &count, &err), &err);
    ASSERT_EQ_INT(count, 0);
    mien_store_close(s);
    ASSERT_EQ_INT(test_store_query_int(&ts, "SELECT count(*) FROM api_keys"
                                            " WHERE revoked_at IS NOT NULL"),
                  1);
    test_store_remove(&ts);
    return 0;
}

/* A version-1 file, as the build before keys wrote it (migration step 1 only), is upgraded
 * to version 2 on open and keeps its data. */
TEST(keys_schema_migration)
{
    char dir[64], path[128], key[MIEN_KEY_TEXT_MAX];
    store_db *g = NULL;
    store_collection c;
    mien_store *s = NULL;
    mien_collection_info ci;
    mien_key_info info;
    mien_error err;
    if (test_store_sqlite_only("an SQLite file of schema version 1 (PostgreSQL's migrations: "
                               "store_pg_identity)")) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_temp_dir(dir, sizeof(dir)) == 0);
    snprintf(path, sizeof(path), "%s/v1.db", dir);

    ASSERT_STATUS(store_sqlite_open_version(path, 0, &g, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(store_sqlite_open_version(path, STORE_SQLITE_SCHEMA_VERSION + 1, &g, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_TRUE(g == NULL);
    ASSERT_OK(store_sqlite_open_version(path, 1, &g, &err), &err);
    /* The row as version 1 wrote it (today's collection_create writes later columns too). */
    ASSERT_EQ_INT(test_sqlite_exec(path, "INSERT INTO collections(name, profile, model_a, model_b,"
                                 " description, created_at) VALUES ('old', 0, 'mfn-test-1', '',"
                                 " '', 1)"),
                  SQLITE_OK);
    (void)c;
    /* Version 1 has no key table. */
    int64_t count = 0;
    ASSERT_STATUS(g->ops->key_count_valid(g, &count, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "api_keys");
    g->ops->close(g);
    ASSERT_EQ_INT(raw_int(path, "PRAGMA user_version"), 1);
    ASSERT_EQ_INT(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'api_keys'"), 0);

    /* The current build upgrades it: the schema at open, the row tags once asked for. */
    ASSERT_OK(test_open_store(path, &s, &err), &err);
    ASSERT_STATUS(mien_collection_get(s, "old", &ci, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "collection \"old\" (row 1) has no tag");
    int64_t tagged = 0;
    ASSERT_OK(mien_store_upgrade(s, NULL, &tagged, &err), &err);
    ASSERT_EQ_INT(tagged, 1);
    ASSERT_OK(mien_store_upgrade(s, NULL, &tagged, &err), &err); /* once */
    ASSERT_EQ_INT(tagged, 0);
    ASSERT_OK(mien_collection_get(s, "old", &ci, &err), &err);
    ASSERT_STR_EQ(ci.model_a, "mfn-test-1");
    ASSERT_OK(mien_key_count_valid(s, &count, &err), &err);
    ASSERT_EQ_INT(count, 0);
    ASSERT_OK(mien_key_create(s, MIEN_ROLE_ADMIN, NULL, key, NULL, &err), &err);
    ASSERT_OK(mien_key_verify(s, key, &info, &err), &err);
    mien_store_close(s);
    ASSERT_EQ_INT(raw_int(path, "PRAGMA user_version"), STORE_SQLITE_SCHEMA_VERSION);
    ASSERT_EQ_INT(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'api_keys'"), 1);
    ASSERT_EQ_INT(raw_int(path, "SELECT count(*) FROM collections"), 1);

    /* Asking for version 1 of a current file changes nothing. */
    ASSERT_OK(store_sqlite_open_version(path, 1, &g, &err), &err);
    g->ops->close(g);
    ASSERT_EQ_INT(raw_int(path, "PRAGMA user_version"), STORE_SQLITE_SCHEMA_VERSION);
    test_remove_dir(dir);
    return 0;
}
