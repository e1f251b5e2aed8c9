/* keyring.c — the key file beside a store, and the crypto it keys (keyring.h; DESIGN.md §2
 * "crypto wrappers", §7; issue "Accountability by design").
 *
 * Three primitives, all libsodium, each picked for a reason a reviewer can check:
 *   - XChaCha20-Poly1305 (crypto_aead_xchacha20poly1305_ietf: the AEAD of RFC 8439 §2.8 with
 *     the 24-byte nonce of draft-irtf-cfrg-xchacha-03) seals templates and crops. Its nonce is
 *     long enough to draw at random for every blob (the draft's §1: "use a large enough nonce
 *     such that applications can generate them randomly"): n blobs under one key share a
 *     nonce with probability about n^2 / 2^193, 2^-65 even for n = 2^64, so no counter has to
 *     survive a crash or be shared by the nodes of one store.
 *   - Ed25519 (RFC 8032 §5.1) signs the audit chain's head: deterministic signatures and a
 *     32-byte public key are all an offline verifier needs.
 *   - HMAC-SHA-256 (RFC 2104 over FIPS 180-4) names subjects: without the key nobody can hash
 *     a guessed subject id and look for it in the log.
 *
 * Secrets live only in sodium_malloc'd regions (guard pages, mlock'd, zeroed by sodium_free),
 * made read-only once filled, so a stray write faults instead of silently changing a key. The
 * key file's text passes through such a region too, read and written with read(2)/write(2):
 * stdio would copy it into buffers that nobody zeroes.
 *
 * Thread safety: a keyring is read-only after load/create except in keyring_add_data_key and
 * keyring_retire_data_keys, which must not run while other threads use it. There are no
 * globals but the constant strings below. @test base/test_keyring.c */
#include "base/keyring.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/error.h"
#include "base/io.h"

/* ---- sizes, each from the spec that fixes it ------------------------------------------ */

/* Sealed blob: magic | key number (u32 LE) | nonce | ciphertext | tag. */
static const char SEAL_MAGIC[4] = {'m', 'E', 'k', '1'}; /* mien, encrypted, key-numbered, v1 */
#define MAGIC_BYTES 4
#define KEY_NO_BYTES 4
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES /* 24: draft-irtf-cfrg-xchacha */
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES      /* 16: Poly1305, RFC 8439 §2.5 */
#define HEADER_BYTES (MAGIC_BYTES + KEY_NO_BYTES + NONCE_BYTES)
_Static_assert(HEADER_BYTES + TAG_BYTES == KEYRING_SEAL_OVERHEAD, "keyring.h's overhead");

#define DATA_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES /* 32: ChaCha20, RFC 8439 §2.3 */
#define SIGN_KEY_BYTES crypto_sign_ed25519_SECRETKEYBYTES /* 64: seed (RFC 8032 §5.1.5) || pk */
#define SEED_BYTES crypto_sign_ed25519_SEEDBYTES             /* 32 */
#define SUBJECT_KEY_BYTES crypto_auth_hmacsha256_KEYBYTES    /* 32: SHA-256's output, RFC 2104 §3 */
_Static_assert(KEYRING_SIG_BYTES == crypto_sign_ed25519_BYTES, "RFC 8032 §5.1.6: 64 bytes");
_Static_assert(KEYRING_PUBLIC_BYTES == crypto_sign_ed25519_PUBLICKEYBYTES, "RFC 8032 §5.1.5");
_Static_assert(KEYRING_HASH_BYTES == crypto_auth_hmacsha256_BYTES, "SHA-256 output");

/* Key file text (keyring.h). */
#define FILE_VERSION_LINE "mien-keyring 1"
static const char FILE_COMMENT[] =
    "# mien key file. data: XChaCha20-Poly1305 keys sealing templates at rest (highest is\n"
    "# current); sign: Ed25519 key signing the audit chain; subject: HMAC-SHA-256 key naming\n"
    "# subjects in the audit log. Keep it secret (mode 0600) and back it up: sealed data\n"
    "# cannot be opened without it.\n";
/* Longest line of each kind, '\n' included: "data " + 10 digits (UINT32_MAX) + " " + hex. */
#define DATA_LINE_MAX (5 + 10 + 1 + 2 * DATA_KEY_BYTES + 1)
#define DATA_LINE_MIN (5 + 1 + 1 + 2 * DATA_KEY_BYTES) /* "data 1 <hex>" at the end of file */
#define SIGN_LINE_MAX (5 + 2 * SIGN_KEY_BYTES + 1)
#define SUBJECT_LINE_MAX (8 + 2 * SUBJECT_KEY_BYTES + 1)
/* A bound on the file before it is read into locked memory. Each rotation adds one 81-byte
 * line, so 1 MiB holds some 13 000 rotations: a larger file is not a key file. */
#define FILE_MAX (1 << 20)

/* Stands in for a NULL buffer of length 0, so libsodium never sees NULL. */
static const uint8_t NOTHING[1] = {0};

/* ---- the handle ----------------------------------------------------------------------- */

/* The data keys, in file order (which is ascending: new keys are appended). */
typedef struct data_keys {
    uint32_t n;       /* keys held */
    uint32_t cap;     /* room in no[] and key[] */
    uint32_t current; /* the highest number: the key that seals */
    uint32_t *no;     /* [cap] key numbers, malloc'd (not secret) */
    uint8_t *key;     /* [cap][DATA_KEY_BYTES], sodium_malloc'd */
} data_keys;

struct keyring {
    char *path;       /* the key file, malloc'd copy */
    data_keys data;
    uint8_t *sign;    /* [SIGN_KEY_BYTES] Ed25519 seed || public key, sodium_malloc'd */
    uint8_t *subject; /* [SUBJECT_KEY_BYTES] HMAC-SHA-256 key, sodium_malloc'd */
};

/* Sets err for a failed allocation of `what` and returns MIEN_ERR_NOMEM (visibly to static
 * analysers, which cannot see that base_error_set returns its code argument). */
static mien_status nomem(mien_error *err, const char *what)
{
    base_error_set(err, MIEN_ERR_NOMEM, "out of memory for %s", what);
    return MIEN_ERR_NOMEM;
}

/* Zeroes and frees; d may be half-built. */
static void data_keys_free(data_keys *d)
{
    sodium_free(d->key); /* unprotects, zeroes, unmaps; NULL is a no-op */
    free(d->no);
    *d = (data_keys){0};
}

/* Room for `cap` data keys (at least one). MIEN_ERR_NOMEM with d zeroed on failure. */
static mien_status data_keys_alloc(data_keys *d, uint32_t cap, mien_error *err)
{
    *d = (data_keys){0};
    cap = cap > 0 ? cap : 1;
    d->no = malloc(cap * sizeof(*d->no));
    d->key = sodium_malloc((size_t)cap * DATA_KEY_BYTES);
    if (d->no == NULL || d->key == NULL) {
        data_keys_free(d);
        return nomem(err, "the data keys (locked memory)");
    }
    d->cap = cap;
    return MIEN_OK;
}

/* The data key numbered `no`, or NULL when the keyring lacks it. */
static const uint8_t *data_key(const data_keys *d, uint32_t no)
{
    for (uint32_t i = 0; i < d->n; i++) {
        if (d->no[i] == no) {
            return d->key + (size_t)i * DATA_KEY_BYTES;
        }
    }
    return NULL;
}

/* A keyring for `path` with room for data_cap data keys and nothing in its secret regions.
 * On failure *out is untouched and nothing is left allocated. */
static mien_status keyring_alloc(const char *path, uint32_t data_cap, keyring **out,
                                 mien_error *err)
{
    keyring *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        return nomem(err, "the keyring");
    }
    k->path = strdup(path);
    k->sign = sodium_malloc(SIGN_KEY_BYTES);
    k->subject = sodium_malloc(SUBJECT_KEY_BYTES);
    if (k->path == NULL || k->sign == NULL || k->subject == NULL) {
        keyring_free(k);
        return nomem(err, "the keyring (locked memory)");
    }
    if (data_keys_alloc(&k->data, data_cap, err) != MIEN_OK) {
        keyring_free(k);
        return MIEN_ERR_NOMEM;
    }
    *out = k;
    return MIEN_OK;
}

/* Makes the secret regions read-only now that they are filled (file comment). */
static void protect(keyring *k)
{
    sodium_mprotect_readonly(k->data.key);
    sodium_mprotect_readonly(k->sign);
    sodium_mprotect_readonly(k->subject);
}

void keyring_free(keyring *k)
{
    if (k == NULL) {
        return;
    }
    data_keys_free(&k->data);
    sodium_free(k->subject);
    sodium_free(k->sign);
    free(k->path);
    free(k);
}

const char *keyring_path(const keyring *k)
{
    assert(k != NULL);
    return k->path;
}

uint32_t keyring_current_data_key(const keyring *k)
{
    assert(k != NULL);
    return k->data.current;
}

/* ---- reading the key file ------------------------------------------------------------- */

/* Reads up to n bytes from fd; returns how many (fewer only at end of file), -1 on error. */
static ssize_t read_all(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Checks what fstat says of an open key file: a regular file, closed to group and others
 * (as ssh demands of a private key: anyone who can read it can open every template), and
 * small enough to be one. */
static mien_status check_file(const char *path, const struct stat *st, mien_error *err)
{
    if (!S_ISREG(st->st_mode)) {
        return base_error_set(err, MIEN_ERR_ARG, "key file %s is not a regular file", path);
    }
    if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "key file %s is open to group or others (mode %03o); mien "
                              "refuses it, as ssh refuses such private keys: run "
                              "`chmod 600 %s`",
                              path, (unsigned)(st->st_mode & 0777), path);
    }
    if (st->st_size > FILE_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "key file %s is %lld bytes, more than any "
                              "key file holds (%d)", path, (long long)st->st_size, FILE_MAX);
    }
    return MIEN_OK;
}

/* Reads the key file into a NUL-terminated sodium_malloc'd *text (*len bytes before the
 * NUL); the caller sodium_free()s it. On failure *text is NULL. */
static mien_status read_text(const char *path, char **text, size_t *len, mien_error *err)
{
    struct stat st;
    mien_status status;
    ssize_t got;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *text = NULL;
    *len = 0;
    if (fd < 0 && errno == ENOENT) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "key file %s does not exist", path);
    }
    if (fd < 0) {
        return base_error_set(err, MIEN_ERR_IO, "cannot open key file %s: %s", path,
                              strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        status = base_error_set(err, MIEN_ERR_IO, "cannot stat key file %s: %s", path,
                                strerror(errno));
        goto fail_open;
    }
    status = check_file(path, &st, err);
    if (status != MIEN_OK) {
        goto fail_open;
    }
    *text = sodium_malloc((size_t)st.st_size + 1);
    if (*text == NULL) {
        status = nomem(err, "the key file's text (locked memory)");
        goto fail_open;
    }
    got = read_all(fd, *text, (size_t)st.st_size);
    if (got < 0) {
        status = base_error_set(err, MIEN_ERR_IO, "cannot read key file %s: %s", path,
                                strerror(errno));
        goto fail_read;
    }
    (*text)[got] = '\0';
    *len = (size_t)got;
    close(fd);
    return MIEN_OK;

fail_read:
    sodium_free(*text);
    *text = NULL;
fail_open:
    close(fd);
    return status;
}

/* ---- parsing the key file ------------------------------------------------------------- */

typedef struct parse_state {
    const char *path; /* for messages */
    unsigned line;    /* 1-based number of the line being parsed */
    bool seen_version, seen_sign, seen_subject;
} parse_state;

/* "path:line: " prefixes every parse message. */
#define AT "%s:%u: "

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r'; /* '\r': files edited on Windows */
}

/* Splits line in place at blanks into tok[0 .. max-1]; returns the number of tokens, or
 * max + 1 when there are more than max. */
static int split(char *line, char **tok, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (is_blank(*p)) {
            p++;
        }
        if (*p == '\0') {
            return n;
        }
        if (n == max) {
            return max + 1;
        }
        tok[n++] = p;
        while (*p != '\0' && !is_blank(*p)) {
            p++;
        }
        if (*p != '\0') {
            *p++ = '\0';
        }
    }
}

/* Decodes exactly 2 * n hex digits into out[n]. The text is a secret, so it is never
 * echoed into a message. */
static mien_status parse_hex(const parse_state *ps, const char *what, const char *hex,
                             uint8_t *out, size_t n, mien_error *err)
{
    size_t bin_len = 0;
    if (strlen(hex) != 2 * n) {
        return base_error_set(err, MIEN_ERR_ARG, AT "the %s key must be %zu hex digits, not %zu",
                              ps->path, ps->line, what, 2 * n, strlen(hex));
    }
    if (sodium_hex2bin(out, n, hex, 2 * n, NULL, &bin_len, NULL) != 0 || bin_len != n) {
        return base_error_set(err, MIEN_ERR_ARG, AT "the %s key is not hexadecimal", ps->path,
                              ps->line, what);
    }
    return MIEN_OK;
}

/* A data key number: decimal, 1 .. UINT32_MAX, no sign or leading zero. */
static mien_status parse_key_no(const parse_state *ps, const char *s, uint32_t *out,
                                mien_error *err)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && v <= UINT32_MAX; i++) {
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == 0 || s[i] != '\0' || s[0] == '0' || v > UINT32_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, AT "data key number '%.12s' is not a whole "
                              "number from 1 to %" PRIu32, ps->path, ps->line, s, UINT32_MAX);
    }
    *out = (uint32_t)v;
    return MIEN_OK;
}

/* The first item: "mien-keyring 1". */
static mien_status parse_version(parse_state *ps, char **tok, int n, mien_error *err)
{
    if (n != 2 || strcmp(tok[0], "mien-keyring") != 0) {
        return base_error_set(err, MIEN_ERR_ARG, AT "expected '" FILE_VERSION_LINE "' (is this "
                              "a mien key file?)", ps->path, ps->line);
    }
    if (strcmp(tok[1], "1") != 0) {
        return base_error_set(err, MIEN_ERR_ARG, AT "key file format version '%.12s'; this "
                              "mien reads version 1", ps->path, ps->line, tok[1]);
    }
    ps->seen_version = true;
    return MIEN_OK;
}

/* "data <n> <hex>": appends key n (unique) to k->data. */
static mien_status parse_data(keyring *k, const parse_state *ps, char **tok, int n,
                              mien_error *err)
{
    data_keys *d = &k->data;
    uint32_t no = 0;
    mien_status status;
    if (n != 3) {
        return base_error_set(err, MIEN_ERR_ARG, AT "expected 'data <number> <%d hex digits>'",
                              ps->path, ps->line, 2 * DATA_KEY_BYTES);
    }
    status = parse_key_no(ps, tok[1], &no, err);
    if (status != MIEN_OK) {
        return status;
    }
    if (data_key(d, no) != NULL) {
        return base_error_set(err, MIEN_ERR_ARG, AT "a second data key %" PRIu32, ps->path,
                              ps->line, no);
    }
    assert(d->n < d->cap); /* data_room() */
    status = parse_hex(ps, "data", tok[2], d->key + (size_t)d->n * DATA_KEY_BYTES,
                       DATA_KEY_BYTES, err);
    if (status != MIEN_OK) {
        return status;
    }
    d->no[d->n++] = no;
    d->current = no > d->current ? no : d->current;
    return MIEN_OK;
}

/* Whether sk's public half (bytes 32..63) is the one its seed (bytes 0..31) gives: a
 * damaged file must not yield signatures that nobody can verify. */
static bool sign_key_consistent(const uint8_t *sk)
{
    uint8_t pk[crypto_sign_ed25519_PUBLICKEYBYTES];
    uint8_t sk2[SIGN_KEY_BYTES];
    crypto_sign_ed25519_seed_keypair(pk, sk2, sk); /* the seed is sk's first 32 bytes */
    sodium_memzero(sk2, sizeof(sk2));
    return sodium_memcmp(pk, sk + SEED_BYTES, sizeof(pk)) == 0;
}

/* "sign <hex>" or "subject <hex>": the one key of that kind. */
static mien_status parse_single(const parse_state *ps, const char *what, char **tok, int n,
                                bool *seen, uint8_t *out, size_t bytes, mien_error *err)
{
    if (n != 2) {
        return base_error_set(err, MIEN_ERR_ARG, AT "expected '%s <%zu hex digits>'", ps->path,
                              ps->line, what, 2 * bytes);
    }
    if (*seen) {
        return base_error_set(err, MIEN_ERR_ARG, AT "a second '%s' line", ps->path, ps->line,
                              what);
    }
    *seen = true;
    return parse_hex(ps, what, tok[1], out, bytes, err);
}

/* "sign <hex>": the Ed25519 key, whose public half must be its seed's. */
static mien_status parse_sign(keyring *k, parse_state *ps, char **tok, int n, mien_error *err)
{
    mien_status status = parse_single(ps, "sign", tok, n, &ps->seen_sign, k->sign,
                                      SIGN_KEY_BYTES, err);
    if (status == MIEN_OK && !sign_key_consistent(k->sign)) {
        status = base_error_set(err, MIEN_ERR_ARG, AT "the sign key's public half does not "
                                "match its seed (damaged file?)", ps->path, ps->line);
    }
    return status;
}

/* One line (NUL-terminated, modified in place). */
static mien_status parse_line(keyring *k, parse_state *ps, char *line, mien_error *err)
{
    char *tok[3];
    int n = split(line, tok, 3);
    if (n == 0 || tok[0][0] == '#') {
        return MIEN_OK;
    }
    if (!ps->seen_version) {
        return parse_version(ps, tok, n, err);
    }
    if (strcmp(tok[0], "data") == 0) {
        return parse_data(k, ps, tok, n, err);
    }
    if (strcmp(tok[0], "subject") == 0) {
        return parse_single(ps, "subject", tok, n, &ps->seen_subject, k->subject,
                            SUBJECT_KEY_BYTES, err);
    }
    if (strcmp(tok[0], "sign") == 0) {
        return parse_sign(k, ps, tok, n, err);
    }
    /* The line is not echoed: it may be a key whose keyword was lost. */
    return base_error_set(err, MIEN_ERR_ARG, AT "unknown line (expected 'data', 'sign' or "
                          "'subject')", ps->path, ps->line);
}

/* After the last line (ps->line, named in the message): every kind of item present. */
static mien_status parse_complete(const keyring *k, const parse_state *ps, mien_error *err)
{
    const char *missing = !ps->seen_version  ? "'" FILE_VERSION_LINE "'"
                          : k->data.n == 0   ? "a 'data' line"
                          : !ps->seen_sign   ? "a 'sign' line"
                          : !ps->seen_subject ? "a 'subject' line"
                                              : NULL;
    if (missing != NULL) {
        return base_error_set(err, MIEN_ERR_ARG, AT "the file ends without %s", ps->path,
                              ps->line, missing);
    }
    return MIEN_OK;
}

/* Parses text[len] (NUL-terminated, modified in place) into k. */
static mien_status parse_text(keyring *k, char *text, size_t len, mien_error *err)
{
    parse_state ps = {.path = k->path};
    char *p = text;
    char *end = text + len;
    if (len == 0) {
        return base_error_set(err, MIEN_ERR_ARG, "%s:1: the file is empty; a key file starts "
                              "with '" FILE_VERSION_LINE "'", k->path);
    }
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        eol = eol != NULL ? eol : end;
        ps.line++;
        if (memchr(p, '\0', (size_t)(eol - p)) != NULL) {
            return base_error_set(err, MIEN_ERR_ARG, AT "a NUL byte: not a text key file",
                                  ps.path, ps.line);
        }
        *eol = '\0';
        mien_status status = parse_line(k, &ps, p, err);
        if (status != MIEN_OK) {
            return status;
        }
        p = eol + 1;
    }
    return parse_complete(k, &ps, err);
}

/* An upper bound on the data keys in a file of len bytes: each "data" line takes at least
 * DATA_LINE_MIN of them. */
static uint32_t data_room(size_t len)
{
    return (uint32_t)(len / DATA_LINE_MIN + 1); /* len <= FILE_MAX: at most 14 769 */
}

/* The checks keyring_load and keyring_create (named by `fn`) begin with: both pointers
 * given (MIEN_ERR_ARG) and *out cleared, libsodium ready (MIEN_ERR_INTERNAL). */
static mien_status open_checks(const char *fn, const char *path, keyring **out,
                               mien_error *err)
{
    if (out == NULL || path == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "%s: NULL argument", fn);
    }
    *out = NULL;
    if (sodium_init() < 0) {
        return base_error_set(err, MIEN_ERR_INTERNAL, "libsodium failed to initialise");
    }
    return MIEN_OK;
}

mien_status keyring_load(const char *path, keyring **out, mien_error *err)
{
    char *text = NULL;
    size_t len = 0;
    keyring *k = NULL;
    mien_status status = open_checks("keyring_load", path, out, err);
    if (status != MIEN_OK) {
        return status;
    }
    status = read_text(path, &text, &len, err);
    if (status != MIEN_OK) {
        return status;
    }
    status = keyring_alloc(path, data_room(len), &k, err);
    if (status == MIEN_OK) {
        status = parse_text(k, text, len, err);
    }
    sodium_free(text);
    if (status != MIEN_OK) {
        keyring_free(k);
        return status;
    }
    protect(k);
    *out = k;
    return MIEN_OK;
}

/* ---- writing the key file ------------------------------------------------------------- */

/* Appends bin[n] as hex and '\n' at text + *at (room checked by format_text). */
static void put_hex(char *text, size_t *at, const uint8_t *bin, size_t n)
{
    sodium_bin2hex(text + *at, 2 * n + 1, bin, n);
    *at += 2 * n;
    text[(*at)++] = '\n';
}

/* k's key file text with data keys d, in a sodium_malloc'd *text (*len bytes, then a NUL)
 * that the caller sodium_free()s. */
static mien_status format_text(const keyring *k, const data_keys *d, char **text, size_t *len,
                               mien_error *err)
{
    size_t cap = sizeof(FILE_COMMENT) + sizeof(FILE_VERSION_LINE) + (size_t)d->n * DATA_LINE_MAX +
                 SIGN_LINE_MAX + SUBJECT_LINE_MAX + 1;
    char *t = sodium_malloc(cap);
    size_t at;
    *text = NULL;
    *len = 0;
    if (t == NULL) {
        return nomem(err, "the key file's text (locked memory)");
    }
    at = (size_t)snprintf(t, cap, "%s" FILE_VERSION_LINE "\n", FILE_COMMENT);
    for (uint32_t i = 0; i < d->n; i++) {
        at += (size_t)snprintf(t + at, cap - at, "data %" PRIu32 " ", d->no[i]);
        put_hex(t, &at, d->key + (size_t)i * DATA_KEY_BYTES, DATA_KEY_BYTES);
    }
    at += (size_t)snprintf(t + at, cap - at, "sign ");
    put_hex(t, &at, k->sign, SIGN_KEY_BYTES);
    at += (size_t)snprintf(t + at, cap - at, "subject ");
    put_hex(t, &at, k->subject, SUBJECT_KEY_BYTES);
    assert(at < cap);
    t[at] = '\0';
    *text = t;
    *len = at;
    return MIEN_OK;
}

/* fsyncs the folder holding `path`, so that a create or rename in it survives a crash. */
static mien_status sync_dir(const char *path, mien_error *err)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd;
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        return base_error_set(err, MIEN_ERR_IO, "cannot sync folder %s of key file %s: %s", dir,
                              path, strerror(e));
    }
    close(fd);
    return MIEN_OK;
}

/* Writes text[len] to the new file open at fd (mode forced to 0600 whatever the umask),
 * fsyncs and closes it. fd is closed on failure too. */
static mien_status write_file(int fd, const char *what, const char *text, size_t len,
                              mien_error *err)
{
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0 || !base_write_all(fd, text, len) || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return base_error_set(err, MIEN_ERR_IO, "cannot write key file %s: %s", what,
                              strerror(e));
    }
    if (close(fd) != 0) {
        return base_error_set(err, MIEN_ERR_IO, "cannot write key file %s: %s", what,
                              strerror(errno));
    }
    return MIEN_OK;
}

/* Creates `path` holding text[len]; never replaces a file (O_EXCL, which also refuses a
 * symbolic link). On failure nothing is left behind. */
static mien_status file_create(const char *path, const char *text, size_t len, mien_error *err)
{
    mien_status status;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd < 0 && errno == EEXIST) {
        return base_error_set(err, MIEN_ERR_EXISTS, "key file %s already exists; mien never "
                              "overwrites keys (what they sealed would be lost)", path);
    }
    if (fd < 0) {
        return base_error_set(err, MIEN_ERR_IO, "cannot create key file %s: %s", path,
                              strerror(errno));
    }
    status = write_file(fd, path, text, len, err);
    if (status == MIEN_OK) {
        status = sync_dir(path, err);
    }
    if (status != MIEN_OK) {
        unlink(path);
    }
    return status;
}

/* Replaces `path` by text[len] atomically: a reader (or a crash) sees the old file or the new
 * one, never a mix. The temporary file sits in the same folder so that rename(2) is atomic.
 * If only the final folder sync fails, the new file may already be in place. */
static mien_status file_replace(const char *path, const char *text, size_t len,
                                mien_error *err)
{
    char tmp[4096];
    mien_status status;
    int fd;
    if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
        return base_error_set(err, MIEN_ERR_ARG, "key file path too long: %s", path);
    }
    fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600, a fresh name */
    if (fd < 0) {
        return base_error_set(err, MIEN_ERR_IO, "cannot create a temporary file beside key "
                              "file %s: %s", path, strerror(errno));
    }
    status = write_file(fd, tmp, text, len, err);
    if (status == MIEN_OK && rename(tmp, path) != 0) {
        status = base_error_set(err, MIEN_ERR_IO, "cannot replace key file %s: %s", path,
                                strerror(errno));
    }
    if (status != MIEN_OK) {
        unlink(tmp);
        return status;
    }
    return sync_dir(path, err);
}

/* Writes k's key file with data keys d (created when `create`, else replaced). */
static mien_status save(const keyring *k, const data_keys *d, bool create, mien_error *err)
{
    char *text;
    size_t len;
    mien_status status = format_text(k, d, &text, &len, err);
    if (status != MIEN_OK) {
        return status;
    }
    status = create ? file_create(k->path, text, len, err) : file_replace(k->path, text, len, err);
    sodium_free(text);
    return status;
}

mien_status keyring_create(const char *path, keyring **out, mien_error *err)
{
    uint8_t pk[crypto_sign_ed25519_PUBLICKEYBYTES];
    keyring *k = NULL;
    mien_status status = open_checks("keyring_create", path, out, err);
    if (status != MIEN_OK) {
        return status;
    }
    status = keyring_alloc(path, 1, &k, err);
    if (status != MIEN_OK) {
        return status;
    }
    k->data.no[0] = 1;
    k->data.n = 1;
    k->data.current = 1;
    crypto_aead_xchacha20poly1305_ietf_keygen(k->data.key);
    crypto_sign_ed25519_keypair(pk, k->sign);
    crypto_auth_hmacsha256_keygen(k->subject);
    status = save(k, &k->data, true, err);
    if (status != MIEN_OK) {
        keyring_free(k);
        return status;
    }
    protect(k);
    *out = k;
    return MIEN_OK;
}

/* ---- rotation ------------------------------------------------------------------------- */

/* Writes the file with data keys `next`; on success they replace k's, else they are freed
 * and k is unchanged. */
static mien_status commit_data_keys(keyring *k, data_keys *next, mien_error *err)
{
    mien_status status = save(k, next, false, err);
    if (status != MIEN_OK) {
        data_keys_free(next);
        return status;
    }
    sodium_mprotect_readonly(next->key);
    data_keys_free(&k->data);
    k->data = *next;
    return MIEN_OK;
}

mien_status keyring_add_data_key(keyring *k, uint32_t *key_no, mien_error *err)
{
    data_keys next;
    mien_status status;
    if (key_no != NULL) {
        *key_no = 0;
    }
    if (k == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "keyring_add_data_key: NULL keyring");
    }
    if (k->data.current == UINT32_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "key file %s: data key numbers are used up",
                              k->path);
    }
    status = data_keys_alloc(&next, k->data.n + 1, err);
    if (status != MIEN_OK) {
        return status;
    }
    memcpy(next.no, k->data.no, k->data.n * sizeof(*next.no));
    memcpy(next.key, k->data.key, (size_t)k->data.n * DATA_KEY_BYTES);
    next.n = k->data.n + 1;
    next.current = k->data.current + 1;
    next.no[k->data.n] = next.current;
    crypto_aead_xchacha20poly1305_ietf_keygen(next.key + (size_t)k->data.n * DATA_KEY_BYTES);
    status = commit_data_keys(k, &next, err);
    if (status == MIEN_OK && key_no != NULL) {
        *key_no = k->data.current;
    }
    return status;
}

mien_status keyring_retire_data_keys(keyring *k, mien_error *err)
{
    data_keys next;
    mien_status status;
    if (k == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "keyring_retire_data_keys: NULL keyring");
    }
    if (k->data.n == 1) {
        return MIEN_OK; /* nothing to retire; the file stays as it is */
    }
    status = data_keys_alloc(&next, 1, err);
    if (status != MIEN_OK) {
        return status;
    }
    next.n = 1;
    next.current = k->data.current;
    next.no[0] = next.current;
    memcpy(next.key, data_key(&k->data, next.current), DATA_KEY_BYTES);
    return commit_data_keys(k, &next, err);
}

/* ---- sealing -------------------------------------------------------------------------- */

static void put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The header (magic, key number) is not part of the AEAD's associated data, and need not be:
 * the magic is compared byte for byte, and a changed key number selects another key, under
 * which the tag fails. */
mien_status keyring_seal(const keyring *k, const uint8_t *plain, size_t n, const uint8_t *ad,
                         size_t ad_len, uint8_t *out, mien_error *err)
{
    if (k == NULL || out == NULL || (plain == NULL && n > 0) || (ad == NULL && ad_len > 0)) {
        return base_error_set(err, MIEN_ERR_ARG, "keyring_seal: NULL argument");
    }
    if (n > crypto_aead_xchacha20poly1305_ietf_messagebytes_max() ||
        n > SIZE_MAX - KEYRING_SEAL_OVERHEAD) {
        return base_error_set(err, MIEN_ERR_ARG, "keyring_seal: %zu bytes is too long", n);
    }
    memcpy(out, SEAL_MAGIC, MAGIC_BYTES);
    put_u32le(out + MAGIC_BYTES, k->data.current);
    randombytes_buf(out + MAGIC_BYTES + KEY_NO_BYTES, NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        out + HEADER_BYTES, NULL, plain != NULL ? plain : NOTHING, n, ad != NULL ? ad : NOTHING,
        ad_len, NULL, out + MAGIC_BYTES + KEY_NO_BYTES, data_key(&k->data, k->data.current));
    return MIEN_OK;
}

bool keyring_is_sealed(const uint8_t *sealed, size_t n, uint32_t *key_no)
{
    bool ok = sealed != NULL && n >= KEYRING_SEAL_OVERHEAD &&
              memcmp(sealed, SEAL_MAGIC, MAGIC_BYTES) == 0;
    if (key_no != NULL) {
        *key_no = ok ? get_u32le(sealed + MAGIC_BYTES) : 0;
    }
    return ok;
}

/* Zeroes out[n] when there is one: keyring_open's failure contract. */
static void zero_out(uint8_t *out, size_t n)
{
    if (out != NULL && n > 0) {
        sodium_memzero(out, n);
    }
}

mien_status keyring_open(const keyring *k, const uint8_t *sealed, size_t n, const uint8_t *ad,
                         size_t ad_len, uint8_t *out, mien_error *err)
{
    size_t plain_len = n >= KEYRING_SEAL_OVERHEAD ? n - KEYRING_SEAL_OVERHEAD : 0;
    uint8_t none[1] = {0}; /* out when the plaintext is empty: libsodium writes nothing there */
    uint32_t no;
    const uint8_t *key;
    if (k == NULL || sealed == NULL || (out == NULL && plain_len > 0) ||
        (ad == NULL && ad_len > 0)) {
        return base_error_set(err, MIEN_ERR_ARG, "keyring_open: NULL argument");
    }
    if (!keyring_is_sealed(sealed, n, &no)) {
        zero_out(out, plain_len);
        return base_error_set(err, MIEN_ERR_ARG, "not a sealed blob (%zu bytes; a sealed blob "
                              "has at least %d and starts with \"mEk1\")", n,
                              KEYRING_SEAL_OVERHEAD);
    }
    key = data_key(&k->data, no);
    if (key == NULL) {
        zero_out(out, plain_len);
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "sealed with data key %" PRIu32 ", which "
                              "the key file %s does not have", no, k->path);
    }
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            out != NULL ? out : none, NULL, NULL, sealed + HEADER_BYTES, n - HEADER_BYTES,
            ad != NULL ? ad : NOTHING, ad_len, sealed + MAGIC_BYTES + KEY_NO_BYTES, key) != 0) {
        zero_out(out, plain_len);
        return base_error_set(err, MIEN_ERR_STORE, "sealed blob fails authentication under "
                              "data key %" PRIu32 ": altered, or sealed for another place",
                              no);
    }
    return MIEN_OK;
}

/* ---- signing and subject hashes ------------------------------------------------------- */

void keyring_sign(const keyring *k, const uint8_t *msg, size_t n,
                  uint8_t sig[KEYRING_SIG_BYTES])
{
    assert(k != NULL && sig != NULL && (msg != NULL || n == 0));
    crypto_sign_ed25519_detached(sig, NULL, msg != NULL ? msg : NOTHING, n, k->sign);
}

void keyring_public_key(const keyring *k, uint8_t pk[KEYRING_PUBLIC_BYTES])
{
    assert(k != NULL && pk != NULL);
    crypto_sign_ed25519_sk_to_pk(pk, k->sign);
}

bool keyring_verify(const uint8_t pk[KEYRING_PUBLIC_BYTES], const uint8_t *msg, size_t n,
                    const uint8_t sig[KEYRING_SIG_BYTES])
{
    if (pk == NULL || sig == NULL || (msg == NULL && n > 0) || sodium_init() < 0) {
        return false;
    }
    return crypto_sign_ed25519_verify_detached(sig, msg != NULL ? msg : NOTHING, n, pk) == 0;
}

/* The NUL after the collection makes the encoding injective: ("ab", "c") and ("a", "bc")
 * hash differently, and neither string can hold a NUL. */
void keyring_subject_hash(const keyring *k, const char *collection, const char *subject,
                          uint8_t out[KEYRING_HASH_BYTES])
{
    crypto_auth_hmacsha256_state st;
    assert(k != NULL && collection != NULL && subject != NULL && out != NULL);
    crypto_auth_hmacsha256_init(&st, k->subject, SUBJECT_KEY_BYTES);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)collection, strlen(collection) + 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)subject, strlen(subject));
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st)); /* it holds the key's padded inner and outer blocks */
}

void keyring_mac(const keyring *k, const char *context, const uint8_t *msg, size_t n,
                 uint8_t out[KEYRING_HASH_BYTES])
{
    /* "mien:" + context + NUL, then the message: collection names cannot hold ':', so no
     * keyring_mac input is ever a keyring_subject_hash input ("collection\0subject"). */
    static const char prefix[] = "mien:";
    crypto_auth_hmacsha256_state st;
    assert(k != NULL && context != NULL && out != NULL && (msg != NULL || n == 0));
    crypto_auth_hmacsha256_init(&st, k->subject, SUBJECT_KEY_BYTES);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, sizeof(prefix) - 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)context, strlen(context) + 1);
    if (n > 0) {
        crypto_auth_hmacsha256_update(&st, msg, n);
    }
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}
