/* test_keys_sigv4.c — AWS Signature Version 4 credentials of mien API keys
 * (src/governance/keys_sigv4.c): the secret access key is derived, stable across handles,
 * different per key, never stored; the server-side signing key equals the one a client makes
 * from that secret (src/server/sigv4.c, the SigV4 test suite's algorithm); revoked, unknown
 * and wrong keys are refused alike. No models needed. Runs on the store of
 * tests/store_target.h (SQLite, or PostgreSQL in CTest's store_postgres). */
#include <stdint.h>

#include <sodium.h>

#include "server/sigv4.h"
#include "store_target.h"
#include "test.h"

static void id_of(const char *key, char id[MIEN_KEY_ID_LEN + 1])
{
    memcpy(id, key + 5, MIEN_KEY_ID_LEN);
    id[MIEN_KEY_ID_LEN] = '\0';
}

/* @test keys_sigv4.c mien_key_aws_secret */
TEST(sigv4_secret_round_trip)
{
    char admin[MIEN_KEY_TEXT_MAX], search[MIEN_KEY_TEXT_MAX];
    char a1[MIEN_AWS_SECRET_MAX], a2[MIEN_AWS_SECRET_MAX], s1[MIEN_AWS_SECRET_MAX];
    char wrong[MIEN_KEY_TEXT_MAX];
    test_store ts;
    mien_store *s = NULL;
    mien_error err;
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_key_create(s, MIEN_ROLE_ADMIN, NULL, admin, NULL, &err), &err);
    ASSERT_OK(mien_key_create(s, MIEN_ROLE_SEARCH, NULL, search, NULL, &err), &err);
    ASSERT_OK(mien_key_aws_secret(s, admin, a1, &err), &err);
    ASSERT_EQ_INT(strlen(a1), 43);
    for (const char *p = a1; *p != '\0'; p++) {
        ASSERT_TRUE((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
    }
    ASSERT_OK(mien_key_aws_secret(s, search, s1, &err), &err);
    ASSERT_TRUE(strcmp(a1, s1) != 0);
    /* the bearer secret and the AWS secret are different strings */
    ASSERT_TRUE(strstr(admin, a1) == NULL);
    /* a wrong secret with a real id, a malformed key: the same refusal */
    snprintf(wrong, sizeof(wrong), "%s", admin);
    wrong[20] = wrong[20] == 'A' ? 'B' : 'A';
    ASSERT_STATUS(mien_key_aws_secret(s, wrong, a2, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STR_EQ(a2, "");
    ASSERT_STATUS(mien_key_aws_secret(s, "mien_nope", a2, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(mien_key_aws_secret(NULL, admin, a2, &err), MIEN_ERR_ARG, &err);
    mien_store_close(s);
    /* derived, not stored: the same after reopening, and absent from the database (the
     * SQLite file's bytes; PostgreSQL's api_keys rows) */
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_key_aws_secret(s, admin, a2, &err), &err);
    ASSERT_STR_EQ(a1, a2);
    mien_store_close(s);
    if (test_store_is_pg()) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM api_keys WHERE position('%s' IN "
                 "encode(secret_hash, 'escape') || id || coalesce(label, '')) > 0", a1);
        ASSERT_EQ_INT(test_store_query_int(&ts, sql), 0);
    } else {
        ASSERT_TRUE(!test_file_contains(ts.path, a1, strlen(a1)));
    }
    test_store_remove(&ts);
    return 0;
}

/* @test keys_sigv4.c mien_key_sigv4_signing_key */
TEST(sigv4_signing_key_matches)
{
    char key[MIEN_KEY_TEXT_MAX], secret[MIEN_AWS_SECRET_MAX];
    char id[MIEN_KEY_ID_LEN + 1];
    uint8_t server[32], client[32];
    mien_key_info info;
    test_store ts;
    mien_store *s = NULL;
    mien_error err;
    ASSERT_TRUE(sodium_init() >= 0);
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_key_create(s, MIEN_ROLE_ENROLL, "sdk", key, NULL, &err), &err);
    id_of(key, id);
    ASSERT_OK(mien_key_aws_secret(s, key, secret, &err), &err);
    ASSERT_OK(mien_key_sigv4_signing_key(s, id, "20260101", "eu-west-1", "rekognition", server,
                                         &info, &err), &err);
    srv_sigv4_signing_key(secret, "20260101", "eu-west-1", "rekognition", client);
    ASSERT_TRUE(memcmp(server, client, 32) == 0);
    ASSERT_STR_EQ(info.id, id);
    ASSERT_EQ_INT(info.role, MIEN_ROLE_ENROLL);
    ASSERT_STR_EQ(info.label, "sdk");
    /* another day, region or service: another key */
    srv_sigv4_signing_key(secret, "20260102", "eu-west-1", "rekognition", client);
    ASSERT_TRUE(memcmp(server, client, 32) != 0);
    /* malformed scope; unknown id */
    ASSERT_STATUS(mien_key_sigv4_signing_key(s, id, "2026011", "r", "s", server, NULL, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_key_sigv4_signing_key(s, id, "20260101", "a/b", "s", server, NULL, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_key_sigv4_signing_key(s, "000000000000", "20260101", "r", "s", server,
                                             NULL, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(mien_key_sigv4_signing_key(s, "../etc", "20260101", "r", "s", server, NULL,
                                             &err),
                  MIEN_ERR_NOT_FOUND, &err);
    /* revocation revokes the AWS credentials too */
    ASSERT_OK(mien_key_revoke(s, id, &err), &err);
    ASSERT_STATUS(mien_key_sigv4_signing_key(s, id, "20260101", "r", "s", server, &info, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STR_EQ(info.id, "");
    ASSERT_STATUS(mien_key_aws_secret(s, key, secret, &err), MIEN_ERR_NOT_FOUND, &err);
    mien_store_close(s);
    test_store_remove(&ts);
    return 0;
}
