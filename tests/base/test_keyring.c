/* test_keyring.c — the key file and the crypto it keys (src/base/keyring.c): create and load,
 * seal and open, rotation and retirement of data keys, the file's mode and syntax, signatures
 * and subject hashes.
 *
 * Oracles independent of libsodium: the Ed25519 signature is RFC 8032 §7.1 TEST 1; the sealed
 * blob and the subject hash were computed in Python (HChaCha20 by hand, checked against
 * draft-irtf-cfrg-xchacha-03 §2.2.1 and §A.3.1, then `cryptography`'s ChaCha20Poly1305;
 * hmac.new(bytes(range(32)), b"faces\0alice", sha256)).
 *
 * No test needs the models. Every test works in its own mkdtemp() folder under /tmp and
 * removes it. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/keyring.h"
#include "test.h"

/* ---- fixed keys ----------------------------------------------------------------------- */

#define DATA_HEX "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
#define DATA2_HEX "0000000000000000000000000000000000000000000000000000000000000002"
/* RFC 8032 §7.1 TEST 1: secret key (seed) || public key. */
#define SEED_HEX "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define PK_HEX "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define SIG_HEX                                                                         \
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e" \
    "39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
#define SUBJECT_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
/* HMAC-SHA-256(SUBJECT key, "faces\0alice"). */
#define SUBJECT_HASH_HEX "ed4315a700550bf5463b2ddefb494eb3eb9e6950035c58e1e954afdc4d23ac66"
/* XChaCha20-Poly1305 under DATA key, nonce 40 41 .. 57, ad "template\0faces", of PLAIN,
 * in the sealed layout "mEk1" | 1 (u32 LE) | nonce | ciphertext+tag. */
#define PLAIN "a template, 32 bytes of floats!!"
#define SEALED_HEX                                                                          \
    "6d456b3101000000404142434445464748494a4b4c4d4e4f5051525354555657902c07913680983b8f7" \
    "75bf3c59cbd374b33171d252bfaccacd69a6d36262ce956cd5c3489d5ae0043fee3b1b9c333e6"

#define V "mien-keyring 1\n"
#define D1 "data 1 " DATA_HEX "\n"
#define SIGN "sign " SEED_HEX PK_HEX "\n"
#define SUBJ "subject " SUBJECT_HEX "\n"

/* ---- helpers -------------------------------------------------------------------------- */

/* Writes text to dir/name with mode 0600; the path goes to path[size]. 0 on success. */
static int write_key_file(const char *dir, const char *name, const char *text, size_t len,
                          char *path, size_t size)
{
    int fd;
    snprintf(path, size, "%s/%s", dir, name);
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        return -1;
    }
    if (write(fd, text, len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    return close(fd);
}

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* A fresh keyring at dir/name; NULL (reason printed) on failure. */
static keyring *fresh(const char *dir, const char *name)
{
    char path[512];
    keyring *k = NULL;
    mien_error err;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (keyring_create(path, &k, &err) != MIEN_OK) {
        fprintf(stderr, "  keyring_create %s: %s\n", path, err.message);
        return NULL;
    }
    return k;
}

/* Whether k opens sealed[n] (with ad) back into plain[n - overhead]. */
static int opens_to(const keyring *k, const uint8_t *sealed, size_t n, const char *ad,
                    const uint8_t *plain)
{
    uint8_t out[256];
    mien_error err;
    if (n - KEYRING_SEAL_OVERHEAD > sizeof(out) ||
        keyring_open(k, sealed, n, (const uint8_t *)ad, strlen(ad), out, &err) != MIEN_OK) {
        return 0;
    }
    return memcmp(out, plain, n - KEYRING_SEAL_OVERHEAD) == 0;
}

/* Entries in folder `dir` other than "." and ".."; -1 when it cannot be read. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

/* ---- tests ---------------------------------------------------------------------------- */

TEST(keyring_create_file)
{
    char dir[64], path[128];
    struct stat st;
    keyring *k = NULL, *k2 = NULL;
    mien_error err;
    unsigned char *text;
    size_t size = 0;
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/keys", dir);
    /* A umask that strips the owner's write bit: the file must still be 0600. */
    mode_t old_mask = umask(0277);
    mien_status created = keyring_create(path, &k, &err);
    umask(old_mask);
    ASSERT_OK(created, &err);
    ASSERT_STR_EQ(keyring_path(k), path);
    ASSERT_EQ_INT(keyring_current_data_key(k), 1);
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    text = test_read_file(path, &size);
    ASSERT_TRUE(text != NULL);
    text[size] = '\0';
    ASSERT_CONTAINS((char *)text, "\nmien-keyring 1\ndata 1 ");
    ASSERT_CONTAINS((char *)text, "\nsign ");
    ASSERT_CONTAINS((char *)text, "\nsubject ");
    free(text);
    /* Never overwritten: the first keyring still loads from the file afterwards. */
    ASSERT_STATUS(keyring_create(path, &k2, &err), MIEN_ERR_EXISTS, &err);
    ASSERT_TRUE(k2 == NULL);
    ASSERT_CONTAINS(err.message, path);
    ASSERT_STATUS(keyring_create(NULL, &k2, &err), MIEN_ERR_ARG, &err);
    keyring_free(k);
    keyring_free(NULL);
    test_remove_dir(dir);
    return 0;
}

TEST(keyring_load_round_trip)
{
    char dir[64];
    keyring *a, *b = NULL;
    mien_error err;
    const char *msg = "audit head 42";
    uint8_t sealed[16 + KEYRING_SEAL_OVERHEAD], sealed_b[16 + KEYRING_SEAL_OVERHEAD];
    uint8_t sig_a[KEYRING_SIG_BYTES], sig_b[KEYRING_SIG_BYTES];
    uint8_t pk_a[KEYRING_PUBLIC_BYTES], pk_b[KEYRING_PUBLIC_BYTES];
    uint8_t h_a[KEYRING_HASH_BYTES], h_b[KEYRING_HASH_BYTES];
    const uint8_t plain[16] = "sixteen bytes!!";
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    a = fresh(dir, "keys");
    ASSERT_TRUE(a != NULL);
    ASSERT_OK(keyring_load(keyring_path(a), &b, &err), &err);
    ASSERT_EQ_INT(keyring_current_data_key(b), 1);
    /* Each opens what the other sealed. */
    ASSERT_OK(keyring_seal(a, plain, 16, (const uint8_t *)"t", 1, sealed, &err), &err);
    ASSERT_OK(keyring_seal(b, plain, 16, (const uint8_t *)"t", 1, sealed_b, &err), &err);
    ASSERT_TRUE(opens_to(b, sealed, sizeof(sealed), "t", plain));
    ASSERT_TRUE(opens_to(a, sealed_b, sizeof(sealed_b), "t", plain));
    /* Ed25519 is deterministic (RFC 8032 §5.1.6): the same key gives the same signature. */
    keyring_sign(a, (const uint8_t *)msg, strlen(msg), sig_a);
    keyring_sign(b, (const uint8_t *)msg, strlen(msg), sig_b);
    ASSERT_TRUE(memcmp(sig_a, sig_b, sizeof(sig_a)) == 0);
    keyring_public_key(a, pk_a);
    keyring_public_key(b, pk_b);
    ASSERT_TRUE(memcmp(pk_a, pk_b, sizeof(pk_a)) == 0);
    keyring_subject_hash(a, "faces", "alice", h_a);
    keyring_subject_hash(b, "faces", "alice", h_b);
    ASSERT_TRUE(memcmp(h_a, h_b, sizeof(h_a)) == 0);
    keyring_free(a);
    keyring_free(b);
    test_remove_dir(dir);
    return 0;
}

/* A key file written by hand (RFC 8032 and fixed keys) gives the oracle's answers. */
TEST(keyring_known_answers)
{
    char dir[64], path[128];
    const char text[] = "# written by hand\n\n" V D1 SIGN SUBJ;
    keyring *k = NULL;
    mien_error err;
    uint8_t sealed[80], want_sig[KEYRING_SIG_BYTES], sig[KEYRING_SIG_BYTES];
    uint8_t want_pk[KEYRING_PUBLIC_BYTES], pk[KEYRING_PUBLIC_BYTES];
    uint8_t want_h[KEYRING_HASH_BYTES], h[KEYRING_HASH_BYTES];
    const char ad[] = "template\0faces";
    uint8_t out[32];
    uint32_t no = 0;
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    ASSERT_EQ_INT(write_key_file(dir, "keys", text, strlen(text), path, sizeof(path)), 0);
    ASSERT_OK(keyring_load(path, &k, &err), &err);
    from_hex(SEALED_HEX, sealed, sizeof(sealed));
    ASSERT_TRUE(keyring_is_sealed(sealed, sizeof(sealed), &no));
    ASSERT_EQ_INT(no, 1);
    ASSERT_OK(keyring_open(k, sealed, sizeof(sealed), (const uint8_t *)ad, sizeof(ad) - 1, out,
                           &err), &err);
    ASSERT_TRUE(memcmp(out, PLAIN, 32) == 0);
    from_hex(SIG_HEX, want_sig, sizeof(want_sig));
    keyring_sign(k, NULL, 0, sig);
    ASSERT_TRUE(memcmp(sig, want_sig, sizeof(sig)) == 0);
    from_hex(PK_HEX, want_pk, sizeof(want_pk));
    keyring_public_key(k, pk);
    ASSERT_TRUE(memcmp(pk, want_pk, sizeof(pk)) == 0);
    ASSERT_TRUE(keyring_verify(want_pk, NULL, 0, want_sig));
    from_hex(SUBJECT_HASH_HEX, want_h, sizeof(want_h));
    keyring_subject_hash(k, "faces", "alice", h);
    ASSERT_TRUE(memcmp(h, want_h, sizeof(h)) == 0);
    keyring_free(k);
    test_remove_dir(dir);
    return 0;
}

TEST(keyring_seal_open)
{
    char dir[64];
    keyring *k, *other;
    mien_error err;
    uint8_t plain[100], sealed[100 + KEYRING_SEAL_OVERHEAD], copy[sizeof(sealed)];
    uint8_t sealed2[sizeof(sealed)], out[100];
    const uint8_t *ad = (const uint8_t *)"template:faces";
    uint8_t empty[KEYRING_SEAL_OVERHEAD];
    uint32_t no = 0;
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    k = fresh(dir, "a");
    other = fresh(dir, "b");
    ASSERT_TRUE(k != NULL && other != NULL);
    for (size_t i = 0; i < sizeof(plain); i++) {
        plain[i] = (uint8_t)(i * 7 + 3);
    }
    ASSERT_OK(keyring_seal(k, plain, sizeof(plain), ad, 14, sealed, &err), &err);
    ASSERT_TRUE(keyring_is_sealed(sealed, sizeof(sealed), &no));
    ASSERT_EQ_INT(no, 1);
    ASSERT_TRUE(memcmp(sealed, "mEk1", 4) == 0);
    ASSERT_TRUE(memmem(sealed, sizeof(sealed), plain + 8, 16) == NULL); /* not in the clear */
    /* A random nonce per blob: the same plaintext seals differently each time. */
    ASSERT_OK(keyring_seal(k, plain, sizeof(plain), ad, 14, sealed2, &err), &err);
    ASSERT_TRUE(memcmp(sealed, sealed2, sizeof(sealed)) != 0);
    ASSERT_OK(keyring_open(k, sealed, sizeof(sealed), ad, 14, out, &err), &err);
    ASSERT_TRUE(memcmp(out, plain, sizeof(plain)) == 0);

    /* Wrong associated data: the blob was moved. out is zeroed. */
    memset(out, 0xAA, sizeof(out));
    ASSERT_STATUS(keyring_open(k, sealed, sizeof(sealed), ad, 13, out, &err), MIEN_ERR_STORE,
                  &err);
    ASSERT_TRUE(out[0] == 0 && out[99] == 0);
    ASSERT_STATUS(keyring_open(k, sealed, sizeof(sealed), NULL, 0, out, &err), MIEN_ERR_STORE,
                  &err);
    /* Another keyring's data key 1 is a different key. */
    ASSERT_STATUS(keyring_open(other, sealed, sizeof(sealed), ad, 14, out, &err),
                  MIEN_ERR_STORE, &err);
    /* Any flipped byte after the magic and key number (nonce, ciphertext, tag) fails. */
    for (size_t i = 8; i < sizeof(sealed); i += 13) {
        memcpy(copy, sealed, sizeof(sealed));
        copy[i] ^= 0x01;
        ASSERT_STATUS(keyring_open(k, copy, sizeof(copy), ad, 14, out, &err), MIEN_ERR_STORE,
                      &err);
    }
    memcpy(copy, sealed, sizeof(sealed));
    copy[sizeof(copy) - 1] ^= 0x80; /* the tag's last byte */
    ASSERT_STATUS(keyring_open(k, copy, sizeof(copy), ad, 14, out, &err), MIEN_ERR_STORE, &err);
    /* A changed key number names a key the file lacks. */
    memcpy(copy, sealed, sizeof(sealed));
    copy[4] = 7;
    memset(out, 0xAA, sizeof(out));
    ASSERT_STATUS(keyring_open(k, copy, sizeof(copy), ad, 14, out, &err), MIEN_ERR_NOT_FOUND,
                  &err);
    ASSERT_CONTAINS(err.message, "data key 7");
    ASSERT_TRUE(out[0] == 0 && out[99] == 0);
    /* Not a sealed blob: wrong magic, truncated, tiny. */
    memcpy(copy, sealed, sizeof(sealed));
    copy[0] = 'M';
    ASSERT_TRUE(!keyring_is_sealed(copy, sizeof(copy), &no));
    ASSERT_EQ_INT(no, 0);
    memset(out, 0xAA, sizeof(out));
    ASSERT_STATUS(keyring_open(k, copy, sizeof(copy), ad, 14, out, &err), MIEN_ERR_ARG, &err);
    ASSERT_TRUE(out[0] == 0 && out[99] == 0);
    ASSERT_STATUS(keyring_open(k, sealed, KEYRING_SEAL_OVERHEAD - 1, ad, 14, out, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(keyring_open(k, sealed, 3, ad, 14, out, &err), MIEN_ERR_ARG, &err);
    ASSERT_TRUE(!keyring_is_sealed(sealed, KEYRING_SEAL_OVERHEAD - 1, NULL));
    ASSERT_TRUE(!keyring_is_sealed(NULL, 100, NULL));
    /* Truncated but still long enough to look sealed: the tag no longer matches. */
    ASSERT_STATUS(keyring_open(k, sealed, sizeof(sealed) - 1, ad, 14, out, &err),
                  MIEN_ERR_STORE, &err);
    /* An empty plaintext seals to the bare overhead and opens with no output buffer. */
    ASSERT_OK(keyring_seal(k, NULL, 0, NULL, 0, empty, &err), &err);
    ASSERT_OK(keyring_open(k, empty, sizeof(empty), NULL, 0, NULL, &err), &err);
    ASSERT_STATUS(keyring_seal(k, NULL, 5, NULL, 0, empty, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(keyring_open(k, sealed, sizeof(sealed), NULL, 3, out, &err), MIEN_ERR_ARG,
                  &err);
    keyring_free(k);
    keyring_free(other);
    test_remove_dir(dir);
    return 0;
}

TEST(keyring_rotation)
{
    char dir[64];
    keyring *k, *r = NULL;
    mien_error err;
    const uint8_t plain[8] = "eightby";
    uint8_t old[8 + KEYRING_SEAL_OVERHEAD], neu[8 + KEYRING_SEAL_OVERHEAD];
    uint32_t no = 0;
    unsigned char *text;
    size_t size = 0;
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    k = fresh(dir, "keys");
    ASSERT_TRUE(k != NULL);
    ASSERT_OK(keyring_seal(k, plain, 8, NULL, 0, old, &err), &err);
    ASSERT_OK(keyring_add_data_key(k, &no, &err), &err);
    ASSERT_EQ_INT(no, 2);
    ASSERT_EQ_INT(keyring_current_data_key(k), 2);
    ASSERT_OK(keyring_seal(k, plain, 8, NULL, 0, neu, &err), &err);
    ASSERT_TRUE(keyring_is_sealed(neu, sizeof(neu), &no));
    ASSERT_EQ_INT(no, 2);
    ASSERT_TRUE(opens_to(k, old, sizeof(old), "", plain));
    ASSERT_TRUE(opens_to(k, neu, sizeof(neu), "", plain));
    /* The file now holds both keys, still 0600 after the atomic rewrite. */
    ASSERT_OK(keyring_load(keyring_path(k), &r, &err), &err);
    ASSERT_EQ_INT(keyring_current_data_key(r), 2);
    ASSERT_TRUE(opens_to(r, old, sizeof(old), "", plain));
    ASSERT_TRUE(opens_to(r, neu, sizeof(neu), "", plain));
    keyring_free(r);
    r = NULL;

    /* Retiring: key-1 blobs are gone for good, and the message says which key. */
    ASSERT_OK(keyring_retire_data_keys(k, &err), &err);
    ASSERT_EQ_INT(keyring_current_data_key(k), 2);
    ASSERT_STATUS(keyring_open(k, old, sizeof(old), NULL, 0, (uint8_t[8]){0}, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_CONTAINS(err.message, "data key 1");
    ASSERT_CONTAINS(err.message, keyring_path(k));
    ASSERT_TRUE(opens_to(k, neu, sizeof(neu), "", plain));
    ASSERT_OK(keyring_load(keyring_path(k), &r, &err), &err);
    ASSERT_EQ_INT(keyring_current_data_key(r), 2);
    ASSERT_STATUS(keyring_open(r, old, sizeof(old), NULL, 0, (uint8_t[8]){0}, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_TRUE(opens_to(r, neu, sizeof(neu), "", plain));
    text = test_read_file(keyring_path(k), &size);
    ASSERT_TRUE(text != NULL);
    text[size] = '\0';
    ASSERT_TRUE(strstr((char *)text, "\ndata 1 ") == NULL);
    ASSERT_CONTAINS((char *)text, "\ndata 2 ");
    free(text);
    /* Numbers keep counting up after a retirement; retiring nothing is a no-op. */
    ASSERT_OK(keyring_add_data_key(r, NULL, &err), &err);
    ASSERT_EQ_INT(keyring_current_data_key(r), 3);
    ASSERT_OK(keyring_retire_data_keys(r, &err), &err);
    ASSERT_OK(keyring_retire_data_keys(r, &err), &err);
    ASSERT_EQ_INT(keyring_current_data_key(r), 3);
    keyring_free(r);
    keyring_free(k);
    ASSERT_EQ_INT(count_entries(dir), 1); /* no temporary file left beside the key file */
    test_remove_dir(dir);
    return 0;
}

/* A failed rewrite leaves the keyring and the file as they were, and no temporary file. The
 * failure is a folder put where the key file was, so rename(2) fails even for root. */
TEST(keyring_rotation_failure)
{
    char dir[64], saved[128], inner[160];
    keyring *k, *r = NULL;
    mien_error err;
    uint32_t no = 9;
    unsigned char *before, *after;
    size_t n_before = 0, n_after = 0;
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    k = fresh(dir, "keys");
    ASSERT_TRUE(k != NULL);
    before = test_read_file(keyring_path(k), &n_before);
    ASSERT_TRUE(before != NULL);
    snprintf(saved, sizeof(saved), "%s/saved", dir);
    snprintf(inner, sizeof(inner), "%s/inner", keyring_path(k));
    ASSERT_EQ_INT(rename(keyring_path(k), saved), 0);
    ASSERT_EQ_INT(mkdir(keyring_path(k), 0700), 0);
    ASSERT_EQ_INT(mkdir(inner, 0700), 0);
    ASSERT_STATUS(keyring_add_data_key(k, &no, &err), MIEN_ERR_IO, &err);
    ASSERT_CONTAINS(err.message, keyring_path(k));
    ASSERT_EQ_INT(no, 0);
    ASSERT_EQ_INT(keyring_current_data_key(k), 1);
    ASSERT_STATUS(keyring_retire_data_keys(k, &err), MIEN_OK, &err); /* one key: no rewrite */
    ASSERT_EQ_INT(rmdir(inner), 0);
    ASSERT_EQ_INT(rmdir(keyring_path(k)), 0);
    ASSERT_EQ_INT(rename(saved, keyring_path(k)), 0);
    ASSERT_EQ_INT(count_entries(dir), 1); /* the key file alone: no temporary file left */
    after = test_read_file(keyring_path(k), &n_after);
    ASSERT_TRUE(after != NULL && n_before == n_after && memcmp(before, after, n_before) == 0);
    free(before);
    free(after);
    /* The keyring still works, and the next rotation succeeds. */
    ASSERT_OK(keyring_add_data_key(k, &no, &err), &err);
    ASSERT_EQ_INT(no, 2);
    ASSERT_OK(keyring_load(keyring_path(k), &r, &err), &err);
    ASSERT_EQ_INT(keyring_current_data_key(r), 2);
    keyring_free(r);
    keyring_free(k);
    test_remove_dir(dir);
    return 0;
}

TEST(keyring_file_mode)
{
    char dir[64];
    keyring *k, *r = NULL;
    mien_error err;
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    k = fresh(dir, "keys");
    ASSERT_TRUE(k != NULL);
    ASSERT_EQ_INT(chmod(keyring_path(k), 0644), 0);
    ASSERT_STATUS(keyring_load(keyring_path(k), &r, &err), MIEN_ERR_ARG, &err);
    ASSERT_TRUE(r == NULL);
    ASSERT_CONTAINS(err.message, keyring_path(k));
    ASSERT_CONTAINS(err.message, "chmod 600");
    ASSERT_EQ_INT(chmod(keyring_path(k), 0620), 0); /* group-writable: also refused */
    ASSERT_STATUS(keyring_load(keyring_path(k), &r, &err), MIEN_ERR_ARG, &err);
    ASSERT_EQ_INT(chmod(keyring_path(k), 0600), 0);
    ASSERT_OK(keyring_load(keyring_path(k), &r, &err), &err);
    keyring_free(r);
    r = NULL;
    /* A folder (mkdtemp: mode 0700) is not a key file. */
    ASSERT_STATUS(keyring_load(dir, &r, &err), MIEN_ERR_ARG, &err);
    keyring_free(k);
    test_remove_dir(dir);
    return 0;
}

TEST(keyring_missing_file)
{
    char dir[64], path[128];
    int sentinel = 0;
    keyring *k = (keyring *)(void *)&sentinel; /* must come back NULL */
    mien_error err;
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/nothing-here", dir);
    ASSERT_STATUS(keyring_load(path, &k, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_TRUE(k == NULL);
    ASSERT_CONTAINS(err.message, path);
    ASSERT_STATUS(keyring_load(NULL, &k, &err), MIEN_ERR_ARG, &err);
    test_remove_dir(dir);
    return 0;
}

typedef struct bad_file {
    const char *text;
    size_t len;      /* 0: strlen(text) */
    unsigned line;   /* the line the message must name */
    const char *why; /* a fragment of the message */
} bad_file;

/* Loads one malformed file: MIEN_ERR_ARG, "path:line:" and `why` in the message. */
static int check_bad_file(const char *dir, const bad_file *b)
{
    char path[128], where[160];
    keyring *k = NULL;
    mien_error err;
    size_t len = b->len != 0 ? b->len : strlen(b->text);
    ASSERT_EQ_INT(write_key_file(dir, "bad", b->text, len, path, sizeof(path)), 0);
    snprintf(where, sizeof(where), "%s:%u: ", path, b->line);
    ASSERT_STATUS(keyring_load(path, &k, &err), MIEN_ERR_ARG, &err);
    ASSERT_TRUE(k == NULL);
    ASSERT_CONTAINS(err.message, where);
    ASSERT_CONTAINS(err.message, b->why);
    /* No secret is echoed into the message. */
    ASSERT_TRUE(strstr(err.message, SUBJECT_HEX) == NULL &&
                strstr(err.message, "808182838485") == NULL);
    return 0;
}

TEST(keyring_malformed_files)
{
    static const bad_file BAD[] = {
        {"", 0, 1, "empty"},
        {"mien-keyring 2\n" D1 SIGN SUBJ, 0, 1, "version '2'"},
        {"hello\n" D1 SIGN SUBJ, 0, 1, "expected 'mien-keyring 1'"},
        {"# only a comment\n", 0, 1, "without 'mien-keyring 1'"},
        {V "data 1 " DATA_HEX "zz\n" SIGN SUBJ, 0, 2, "64 hex digits"},
        {V "data 1 zz8182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f\n" SIGN
             SUBJ, 0, 2, "not hexadecimal"},
        {V D1 SIGN "subject " SUBJECT_HEX " extra\n", 0, 4, "expected 'subject"},
        {V D1 "# fine\n\nbogus line\n" SIGN SUBJ, 0, 5, "unknown line"},
        {V D1 SUBJ, 0, 3, "without a 'sign' line"},
        {V D1 SIGN, 0, 3, "without a 'subject' line"},
        {V SIGN SUBJ, 0, 3, "without a 'data' line"},
        {V D1 "data 1 " DATA2_HEX "\n" SIGN SUBJ, 0, 3, "second data key 1"},
        {V "data 0 " DATA_HEX "\n" SIGN SUBJ, 0, 2, "'0' is not a whole number"},
        {V "data 01 " DATA_HEX "\n" SIGN SUBJ, 0, 2, "is not a whole number"},
        {V "data 4294967296 " DATA_HEX "\n" SIGN SUBJ, 0, 2, "is not a whole number"},
        {V "data -1 " DATA_HEX "\n" SIGN SUBJ, 0, 2, "is not a whole number"},
        {V "data " DATA_HEX "\n" SIGN SUBJ, 0, 2, "expected 'data <number>"},
        {V D1 SIGN SIGN SUBJ, 0, 4, "second 'sign' line"},
        {V D1 SIGN SUBJ SUBJ, 0, 5, "second 'subject' line"},
        {V V D1 SIGN SUBJ, 0, 2, "unknown line"},
        /* The public half of the sign key must be the seed's: one flipped digit. */
        {V D1 "sign " SEED_HEX "e75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n"
              SUBJ, 0, 3, "public half"},
        {V D1 "sign " SEED_HEX "\n" SUBJ, 0, 3, "128 hex digits"},
        {V D1 "subj\0ect " SUBJECT_HEX "\n", sizeof(V D1 "subj\0ect " SUBJECT_HEX "\n") - 1, 3,
         "NUL byte"},
    };
    /* Comments, blank lines, surrounding blanks and CRLF are fine; numbers may skip and come
     * in any order (the highest is current). */
    static const char GOOD[] = "# comment\n\n  " V "data 7 " DATA2_HEX "\r\n\t" D1 SIGN SUBJ
                               "# trailing comment";
    char dir[64], path[128];
    keyring *k = NULL;
    mien_error err;
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        if (check_bad_file(dir, &BAD[i]) != 0) {
            fprintf(stderr, "  in malformed file %zu (want line %u, \"%s\")\n", i, BAD[i].line,
                    BAD[i].why);
            test_remove_dir(dir);
            return 1;
        }
    }
    ASSERT_EQ_INT(write_key_file(dir, "good", GOOD, strlen(GOOD), path, sizeof(path)), 0);
    ASSERT_OK(keyring_load(path, &k, &err), &err);
    ASSERT_EQ_INT(keyring_current_data_key(k), 7);
    keyring_free(k);
    test_remove_dir(dir);
    return 0;
}

TEST(keyring_sign_verify)
{
    char dir[64];
    keyring *k, *other;
    uint8_t msg[64], sig[KEYRING_SIG_BYTES], pk[KEYRING_PUBLIC_BYTES], pk2[KEYRING_PUBLIC_BYTES];
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    k = fresh(dir, "a");
    other = fresh(dir, "b");
    ASSERT_TRUE(k != NULL && other != NULL);
    memset(msg, 'h', sizeof(msg));
    keyring_sign(k, msg, sizeof(msg), sig);
    keyring_public_key(k, pk);
    keyring_public_key(other, pk2);
    ASSERT_TRUE(keyring_verify(pk, msg, sizeof(msg), sig));
    msg[17] ^= 1;
    ASSERT_TRUE(!keyring_verify(pk, msg, sizeof(msg), sig));
    msg[17] ^= 1;
    ASSERT_TRUE(!keyring_verify(pk, msg, sizeof(msg) - 1, sig));
    ASSERT_TRUE(!keyring_verify(pk2, msg, sizeof(msg), sig));
    sig[3] ^= 0x10;
    ASSERT_TRUE(!keyring_verify(pk, msg, sizeof(msg), sig));
    ASSERT_TRUE(!keyring_verify(NULL, msg, sizeof(msg), sig));
    keyring_free(k);
    keyring_free(other);
    test_remove_dir(dir);
    return 0;
}

TEST(keyring_subject_hash)
{
    char dir[64];
    keyring *k, *other;
    uint8_t a[KEYRING_HASH_BYTES], b[KEYRING_HASH_BYTES], c[KEYRING_HASH_BYTES];
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    k = fresh(dir, "a");
    other = fresh(dir, "b");
    ASSERT_TRUE(k != NULL && other != NULL);
    keyring_subject_hash(k, "faces", "alice", a);
    keyring_subject_hash(k, "faces", "alice", c);
    ASSERT_TRUE(memcmp(a, c, sizeof(a)) == 0);
    /* The same subject in another collection is another name. */
    keyring_subject_hash(k, "staff", "alice", b);
    ASSERT_TRUE(memcmp(a, b, sizeof(a)) != 0);
    /* The separator keeps ("ab", "c") and ("a", "bc") apart. */
    keyring_subject_hash(k, "ab", "c", b);
    keyring_subject_hash(k, "a", "bc", c);
    ASSERT_TRUE(memcmp(b, c, sizeof(b)) != 0);
    /* Another key file: nobody without the key can reproduce the name. */
    keyring_subject_hash(other, "faces", "alice", b);
    ASSERT_TRUE(memcmp(a, b, sizeof(a)) != 0);
    keyring_free(k);
    keyring_free(other);
    test_remove_dir(dir);
    return 0;
}
