/* test_sigv4.c — src/server/sigv4.c against AWS's published Signature Version 4 test suite
 * (aws-sig-v4-test-suite, AWS General Reference "Signature Version 4 test suite"): every
 * vector below is a request from the suite's .req file and the signature of its .authz file;
 * two of them also check the suite's .creq (canonical request) and .sts (string to sign) text
 * byte for byte. All use the suite's credential scope AKIDEXAMPLE/20150830/us-east-1/service
 * and its example secret key. Also: parsing Authorization and X-Amz-Date, refusals. */
#include <stdint.h>

#include <sodium.h>

#include "server/sigv4.h"
#include "test.h"

#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_DATE "20150830T123600Z"
#define SUITE_HOST "example.amazonaws.com"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct vector {
    const char *name;
    const char *method;
    const char *path;
    sigv4_pair query[3];     /* decoded; name NULL ends */
    sigv4_pair headers[6];   /* besides Host and X-Amz-Date; name NULL ends */
    const char *body;
    const char *signed_headers;
    const char *signature;   /* the .authz file's */
} vector;

static const vector SUITE[] = {
    {"get-vanilla", "GET", "/", {{0}}, {{0}}, "", "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"post-vanilla", "POST", "/", {{0}}, {{0}}, "", "host;x-amz-date",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"get-vanilla-query-order-key-case", "GET", "/",
     {{"Param2", "value2"}, {"Param1", "value1"}, {0}}, {{0}}, "", "host;x-amz-date",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-query-order-value", "GET", "/",
     {{"Param1", "value2"}, {"Param1", "value1"}, {0}}, {{0}}, "", "host;x-amz-date",
     "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
    {"get-vanilla-query-unreserved", "GET", "/",
     {{"-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
       "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"},
      {0}},
     {{0}}, "", "host;x-amz-date",
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
    {"get-vanilla-utf8-query", "GET", "/", {{"\xe1\x88\xb4", "bar"}, {0}}, {{0}}, "",
     "host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"post-vanilla-empty-query-value", "POST", "/", {{"Param1", "value1"}, {0}}, {{0}}, "",
     "host;x-amz-date", "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {"get-utf8", "GET", "/\xe1\x88\xb4", {{0}}, {{0}}, "", "host;x-amz-date",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     {{0}}, {{0}}, "", "host;x-amz-date",
     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-header-key-duplicate", "GET", "/", {{0}},
     {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}, {0}}, "",
     "host;my-header1;x-amz-date",
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"get-header-value-order", "GET", "/", {{0}},
     {{"My-Header1", "value4"},
      {"My-Header1", "value1"},
      {"My-Header1", "value3"},
      {"My-Header1", "value2"},
      {0}},
     "", "host;my-header1;x-amz-date",
     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
    {"get-header-value-trim", "GET", "/", {{0}},
     {{"My-Header1", " value1"}, {"My-Header2", "\"a   b   c\""}, {0}}, "",
     "host;my-header1;my-header2;x-amz-date",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"post-header-key-sort", "POST", "/", {{0}}, {{"My-Header1", "value1"}, {0}}, "",
     "host;my-header1;x-amz-date",
     "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
    {"post-header-value-case", "POST", "/", {{0}}, {{"My-Header1", "VALUE1"}, {0}}, "",
     "host;my-header1;x-amz-date",
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
    {"post-x-www-form-urlencoded", "POST", "/", {{0}},
     {{"Content-Type", "application/x-www-form-urlencoded"}, {0}}, "Param1=value1",
     "content-type;host;x-amz-date",
     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
    {"post-x-www-form-urlencoded-parameters", "POST", "/", {{0}},
     {{"Content-Type", "application/x-www-form-urlencoded; charset=utf8"}, {0}}, "Param1=value1",
     "content-type;host;x-amz-date",
     "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"},
    /* normalize-path/ (every service but S3 normalises the path) */
    {"get-relative", "GET", "/example/..", {{0}}, {{0}}, "", "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-slash-dot-slash", "GET", "/./", {{0}}, {{0}}, "", "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-slash-pointless-dot", "GET", "/./example", {{0}}, {{0}}, "", "host;x-amz-date",
     "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"},
    {"get-slashes", "GET", "//example//", {{0}}, {{0}}, "", "host;x-amz-date",
     "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
    {"get-space", "GET", "/example space/", {{0}}, {{0}}, "", "host;x-amz-date",
     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
};

static const sigv4_credential SUITE_CRED = {
    .access_key = "AKIDEXAMPLE",
    .date = "20150830",
    .region = "us-east-1",
    .service = "service",
};

/* Builds the vector's request (Host and X-Amz-Date first, as in the .req files) and returns
 * its canonical request and string to sign (malloc'd) and signature. */
static int sign_vector(const vector *v, char **creq, char **sts, char sig[SIGV4_HEX_LEN + 1])
{
    sigv4_pair headers[8] = {{"Host", SUITE_HOST}, {"X-Amz-Date", SUITE_DATE}};
    size_t nh = 2, nq = 0;
    char payload[SIGV4_HEX_LEN + 1], why[160];
    uint8_t key[SIGV4_KEY_BYTES];
    while (v->headers[nh - 2].name != NULL) {
        headers[nh] = v->headers[nh - 2];
        nh++;
    }
    while (v->query[nq].name != NULL) {
        nq++;
    }
    srv_sigv4_sha256_hex(v->body, strlen(v->body), payload);
    sigv4_request req = {.method = v->method, .path = v->path, .query = v->query, .n_query = nq,
                         .headers = headers, .n_headers = nh, .payload_sha256_hex = payload};
    *creq = srv_sigv4_canonical_request(&req, v->signed_headers, why, sizeof(why));
    if (*creq == NULL) {
        fprintf(stderr, "  %s: no canonical request: %s\n", v->name, why);
        return -1;
    }
    *sts = srv_sigv4_string_to_sign(SUITE_DATE, &SUITE_CRED, *creq);
    if (*sts == NULL) {
        return -1;
    }
    srv_sigv4_signing_key(SUITE_SECRET, SUITE_CRED.date, SUITE_CRED.region, SUITE_CRED.service,
                          key);
    srv_sigv4_signature(key, *sts, sig);
    return 0;
}

/* @test every suite vector's signature */
TEST(sigv4_suite)
{
    ASSERT_TRUE(sodium_init() >= 0);
    for (size_t i = 0; i < sizeof(SUITE) / sizeof(SUITE[0]); i++) {
        char *creq = NULL, *sts = NULL, sig[SIGV4_HEX_LEN + 1];
        int rc = sign_vector(&SUITE[i], &creq, &sts, sig);
        if (rc != 0 || strcmp(sig, SUITE[i].signature) != 0) {
            fprintf(stderr, "  vector %s:\n--- canonical request\n%s\n--- string to sign\n%s\n",
                    SUITE[i].name, creq ? creq : "(none)", sts ? sts : "(none)");
        }
        ASSERT_EQ_INT(rc, 0);
        ASSERT_STR_EQ(sig, SUITE[i].signature);
        ASSERT_TRUE(srv_sigv4_signature_equal(sig, SUITE[i].signature));
        free(creq);
        free(sts);
    }
    return 0;
}

/* The suite's .creq and .sts texts, byte for byte. */
TEST(sigv4_suite_texts)
{
    const vector *form = NULL, *order = NULL;
    char *creq = NULL, *sts = NULL, sig[SIGV4_HEX_LEN + 1];
    for (size_t i = 0; i < sizeof(SUITE) / sizeof(SUITE[0]); i++) {
        if (strcmp(SUITE[i].name, "post-x-www-form-urlencoded") == 0) {
            form = &SUITE[i];
        } else if (strcmp(SUITE[i].name, "get-vanilla-query-order-value") == 0) {
            order = &SUITE[i];
        }
    }
    ASSERT_TRUE(form != NULL && order != NULL);
    ASSERT_EQ_INT(sign_vector(form, &creq, &sts, sig), 0);
    ASSERT_STR_EQ(creq, "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
                        "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                        "content-type;host;x-amz-date\n"
                        "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    ASSERT_STR_EQ(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/"
                       "aws4_request\n"
                       "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
    free(creq);
    free(sts);
    ASSERT_EQ_INT(sign_vector(order, &creq, &sts, sig), 0);
    ASSERT_STR_EQ(creq, "GET\n/\nParam1=value1&Param1=value2\nhost:example.amazonaws.com\n"
                        "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA256);
    free(creq);
    free(sts);
    return 0;
}

TEST(sigv4_parse)
{
    sigv4_credential c;
    char why[160];
    int64_t t = 0;
    ASSERT_TRUE(srv_sigv4_parse_authorization(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;my-header1;x-amz-date, "
        "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        &c, why, sizeof(why)));
    ASSERT_STR_EQ(c.access_key, "AKIDEXAMPLE");
    ASSERT_STR_EQ(c.date, "20150830");
    ASSERT_STR_EQ(c.region, "us-east-1");
    ASSERT_STR_EQ(c.service, "service");
    ASSERT_STR_EQ(c.signed_headers, "host;my-header1;x-amz-date");
    ASSERT_STR_EQ(c.signature, "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
    /* no spaces after the commas (as some clients write it) */
    ASSERT_TRUE(srv_sigv4_parse_authorization(
        "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request,SignedHeaders=host,"
        "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        &c, why, sizeof(why)));
    ASSERT_STR_EQ(c.access_key, "K");
    static const char *const bad[] = {
        "",
        "Bearer mien_x",
        "AWS4-HMAC-SHA1 Credential=K/20150830/r/s/aws4_request, SignedHeaders=host, "
        "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws5_request, SignedHeaders=host, "
        "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        "AWS4-HMAC-SHA256 Credential=K/2015083/r/s/aws4_request, SignedHeaders=host, "
        "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        "AWS4-HMAC-SHA256 Credential=K/20150830/r/aws4_request, SignedHeaders=host, "
        "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request/x, SignedHeaders=host, "
        "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, SignedHeaders=Host, "
        "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, SignedHeaders=host, "
        "Signature=c9d5ea9f",
        "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, SignedHeaders=host, "
        "Signature=z9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, SignedHeaders=host, "
        "SignedHeaders=host, "
        "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, Other=1, SignedHeaders=host, "
        "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        if (srv_sigv4_parse_authorization(bad[i], &c, why, sizeof(why))) {
            TEST_FAIL_("accepted malformed Authorization #%zu: %s", i, bad[i]);
        }
        ASSERT_TRUE(why[0] != '\0');
    }
    ASSERT_TRUE(srv_sigv4_parse_amz_date("20150830T123600Z", &t));
    ASSERT_EQ_INT(t, 1440938160);
    ASSERT_TRUE(srv_sigv4_parse_amz_date("20240229T000000Z", &t)); /* a leap day */
    ASSERT_TRUE(!srv_sigv4_parse_amz_date("20150230T123600Z", &t));
    ASSERT_TRUE(!srv_sigv4_parse_amz_date("20150830T246000Z", &t));
    ASSERT_TRUE(!srv_sigv4_parse_amz_date("20150830123600Z", &t));
    ASSERT_TRUE(!srv_sigv4_parse_amz_date("2015-08-30T12:36:00Z", &t));
    ASSERT_TRUE(!srv_sigv4_parse_amz_date(NULL, &t));
    return 0;
}

/* What a verifier must refuse: a signed header that is not there, another signature. */
TEST(sigv4_refusals)
{
    sigv4_pair headers[2] = {{"Host", SUITE_HOST}, {"X-Amz-Date", SUITE_DATE}};
    sigv4_request req = {.method = "POST", .path = "/", .headers = headers, .n_headers = 2,
                         .payload_sha256_hex = EMPTY_SHA256};
    char why[160], sig[SIGV4_HEX_LEN + 1];
    uint8_t key[SIGV4_KEY_BYTES];
    char *creq = srv_sigv4_canonical_request(&req, "host;x-amz-date;x-amz-target", why,
                                             sizeof(why));
    ASSERT_TRUE(creq == NULL);
    ASSERT_CONTAINS(why, "x-amz-target");
    creq = srv_sigv4_canonical_request(&req, "host;x-amz-date", why, sizeof(why));
    ASSERT_TRUE(creq != NULL);
    char *sts = srv_sigv4_string_to_sign(SUITE_DATE, &SUITE_CRED, creq);
    ASSERT_TRUE(sts != NULL);
    srv_sigv4_signing_key("another secret", SUITE_CRED.date, SUITE_CRED.region, SUITE_CRED.service,
                          key);
    srv_sigv4_signature(key, sts, sig);
    ASSERT_TRUE(!srv_sigv4_signature_equal(
        sig, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
    ASSERT_TRUE(!srv_sigv4_signature_equal(sig, "5da7c1a2"));
    ASSERT_TRUE(srv_sigv4_signature_equal(sig, sig));
    free(creq);
    free(sts);
    return 0;
}
