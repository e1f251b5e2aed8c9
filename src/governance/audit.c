/* audit.c — the audit log (audit.h): a hash chain of entries in the store, whose head is
 * signed and kept in a file outside the database (DESIGN.md §7, "verifiable offline").
 *
 * ---- An entry's hash (format "mien-audit-v1") ------------------------------------------
 * hash = SHA-256 (FIPS 180-4) of the concatenation of 12 fields, each written as
 *
 *     length (8 bytes, unsigned little-endian)  ||  the field's bytes
 *
 * in this order:
 *      1  the ASCII tag  mien-audit-v1                  (13 bytes)
 *      2  seq            decimal ASCII, no sign or leading zeros ("1", "2", ...)
 *      3  time           decimal ASCII unix seconds (UTC), no leading zeros
 *      4  actor          UTF-8 text as stored, no terminator ("" → length 0)
 *      5  action
 *      6  collection
 *      7  purpose
 *      8  case_ref
 *      9  input_sha256   64 lowercase hex characters, or "" when the entry has no input
 *     10  outcome        "ok" or "refused"
 *     11  result         the stored JSON text of the result object, byte for byte
 *     12  prev_hash      the previous entry's hash: 32 raw bytes (all zero for entry 1)
 *
 * In Python: f = lambda b: len(b).to_bytes(8, "little") + b; hash = sha256(f(b"mien-audit-v1")
 * + f(str(seq).encode()) + f(str(time).encode()) + f(actor.encode()) + ... + f(prev_hash)).
 * Entries are numbered 1, 2, ... without gaps, and entry n's prev_hash is entry n-1's hash.
 *
 * The result text. audit_append() checks that the caller's result is one JSON object (no
 * duplicate keys) and stores the text as given; only a text that spans lines is replaced by
 * its compact form (jansson json_dumps JSON_COMPACT), so that an export stays one line per
 * entry. JSON libraries disagree on how to print numbers and escapes (1e300 or
 * 1.0000000000000001e300, \u001f or \u001F) and on whitespace, so a verifier must not
 * re-serialise the parsed object: it takes the bytes as they are. In an export line (below)
 * the value of "result" is the stored text verbatim: it is the bytes after the first
 * `,"result":` up to the last `,"prev_hash":"` of the line. (The first `,"result":` is the key:
 * no earlier value can contain `,"`, since a quote inside a JSON string is always escaped;
 * the last `,"prev_hash":"` is the key, since only two hex strings follow it.)
 *
 * ---- Export lines -----------------------------------------------------------------------
 * One compact JSON object per entry, keys in this order:
 *   seq (number), time (RFC 3339 UTC "2024-05-01T12:00:00Z"), time_unix (number), actor,
 *   action, collection, purpose, case_ref, input_sha256 (strings as stored), outcome, result
 *   (the stored object, verbatim), prev_hash, hash (64 lowercase hex each).
 * A stored value that mien could not have written (only a database edited behind its back:
 * text that is not UTF-8, a result that is not a one-line JSON object) is exported as null,
 * or for a result as a JSON string holding the text, so the line stays valid JSON; such an
 * entry then fails the hash check, as it should.
 *
 * ---- The signed head (file s->audit_head_path) -------------------------------------------
 * Six lines of ASCII text, each ending in "\n", in this order:
 *     mien-audit-head 1
 *     seq <decimal>                the last entry covered
 *     hash <64 hex>                that entry's hash
 *     time <decimal>               unix seconds when it was signed
 *     public-key <64 hex>          the Ed25519 public key that signed it (informational:
 *                                  verification uses the keyring's key)
 *     signature <128 hex>          Ed25519 (RFC 8032) signature of the 66-byte message
 *                                  "mien-audit-head-v1" (18 ASCII bytes) || seq (8 bytes,
 *                                  little-endian) || hash (32 raw bytes) || time (8 bytes,
 *                                  little-endian two's complement)
 * It is overwritten in place with one write (mode 0600; no fsync: see head_write), under an
 * exclusive flock(2) on "<path>.lock", so that processes sharing the database write heads in
 * order. It never moves backwards and never forks: a
 * checkpoint leaves a valid head alone (and fails, MIEN_ERR_STORE) when the head names an
 * entry the log no longer has or one whose hash has changed, because overwriting it would
 * erase the evidence that rows were removed or rewritten.
 *
 * What the chain proves: altering any entry breaks its hash; altering it and recomputing its
 * hash breaks the next entry's link; deleting a middle entry leaves a gap; deleting the newest
 * entries leaves the signed head pointing past the end; rewriting the whole tail consistently
 * needs the signing key. Entries after the head (a crash between a commit and its checkpoint)
 * are chained but not yet signed.
 *
 * Who writes a first head. Only the handle that appended entry 1 (a new log), or an operator's
 * audited act: `mien audit reset-head` (a head lost after verify found the chain intact) or
 * `mien audit join` (a node new to a shared PostgreSQL log, recorded with its head path and
 * public key). The lock file proves nothing, because a writer of the folder can delete it with
 * the head (issue 13 item 3). Such a writer can still delete every copy of the head on the
 * machine along with the newest rows. Against that, `mien audit head` prints the head for a
 * witness off the machine, and `mien audit verify --witness FILE` checks the chain against
 * such a copy (docs/responsible-use.md, "Threat model").
 *
 * Thread safety: the functions use one store handle, which belongs to one thread at a time
 * (store.h); they keep no state of their own. @test governance/test_audit.c */
#include "governance/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "base/error.h"
#include "base/io.h"

/* jansson keeps an object's keys in insertion order from 2.8 on (earlier versions needed
 * JSON_PRESERVE_ORDER); the export's key order and the stored result text rely on it. */
_Static_assert(JANSSON_VERSION_HEX >= 0x020800, "jansson 2.8 or later");
_Static_assert(crypto_hash_sha256_BYTES == 32, "SHA-256 digests are 32 bytes");
_Static_assert(KEYRING_PUBLIC_BYTES == 32 && KEYRING_SIG_BYTES == 64, "Ed25519 sizes");

#define ENTRY_TAG "mien-audit-v1"
#define HEAD_TAG "mien-audit-head-v1"
#define HEAD_TAG_LEN 18
#define HEAD_MSG_LEN (HEAD_TAG_LEN + 8 + 32 + 8) /* tag || seq || hash || time */
#define HEAD_MAGIC "mien-audit-head 1"
/* A head file is ~300 bytes; anything much longer is not one. */
#define HEAD_FILE_MAX 1024
/* The largest stored result text: an entry summarises an action, it does not carry its data.
 * A 1000-candidate search summary (rank, 64-hex subject hash, score) is ~130 KB. */
#define RESULT_MAX ((size_t)1 << 20)
/* 9999-12-31T23:59:59Z: RFC 3339 years have four digits. */
#define TIME_MAX INT64_C(253402300799)
#define HEX32_LEN 64

_Static_assert(sizeof(HEAD_TAG) - 1 == HEAD_TAG_LEN, "head tag length");

/* ---- small helpers -------------------------------------------------------------------- */

static void hex32(const uint8_t bin[32], char out[HEX32_LEN + 1])
{
    sodium_bin2hex(out, HEX32_LEN + 1, bin, 32);
}

/* Whether hex is exactly 2*n hex digits; bin[n] receives them. */
static bool unhex(const char *hex, uint8_t *bin, size_t n)
{
    size_t len = 0;
    const char *end = NULL;
    if (strlen(hex) != 2 * n) {
        return false;
    }
    return sodium_hex2bin(bin, n, hex, 2 * n, NULL, &len, &end) == 0 && len == n &&
           *end == '\0';
}

static bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len) {
            return false;
        }
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + k] & 0x3fu);
        }
        /* overlong forms, surrogates and code points past Unicode are not UTF-8 (RFC 3629) */
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += len;
    }
    return true;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Hashes one field: its length (u64 LE), then its bytes. */
static void put_field(crypto_hash_sha256_state *st, const void *bytes, size_t n)
{
    uint8_t len[8];
    put_le64(len, (uint64_t)n);
    crypto_hash_sha256_update(st, len, sizeof(len));
    crypto_hash_sha256_update(st, (const unsigned char *)bytes, (unsigned long long)n);
}

/* A row's text field, bounded by its array (a row from the store is NUL-terminated, but the
 * hash never reads past the array whatever it holds). */
#define PUT_TEXT(st, field) put_field((st), (field), strnlen((field), sizeof(field)))

void audit_row_hash(const store_audit_row *row, uint8_t out[32])
{
    crypto_hash_sha256_state st;
    char seq[24], t[24];
    const char *result = row->result != NULL ? row->result : "";
    snprintf(seq, sizeof(seq), "%lld", (long long)row->seq);
    snprintf(t, sizeof(t), "%lld", (long long)row->time);
    crypto_hash_sha256_init(&st);
    put_field(&st, ENTRY_TAG, sizeof(ENTRY_TAG) - 1);
    put_field(&st, seq, strlen(seq));
    put_field(&st, t, strlen(t));
    PUT_TEXT(&st, row->actor);
    PUT_TEXT(&st, row->action);
    PUT_TEXT(&st, row->collection);
    PUT_TEXT(&st, row->purpose);
    PUT_TEXT(&st, row->case_ref);
    PUT_TEXT(&st, row->input_sha256);
    PUT_TEXT(&st, row->outcome);
    put_field(&st, result, strlen(result));
    put_field(&st, row->prev_hash, 32);
    crypto_hash_sha256_final(&st, out);
}

/* ---- append --------------------------------------------------------------------------- */

/* Copies text (NULL → "") into dst[cap], refusing (MIEN_ERR_ARG, naming `field`) text that
 * does not fit or is not UTF-8. */
static mien_status copy_text(char *dst, size_t cap, const char *text, const char *field,
                             mien_error *err)
{
    size_t n = text != NULL ? strlen(text) : 0;
    if (n >= cap) {
        return base_error_set(err, MIEN_ERR_ARG, "audit: %s is %zu bytes; the limit is %zu",
                              field, n, cap - 1);
    }
    if (!utf8_valid(text != NULL ? text : "", n)) {
        return base_error_set(err, MIEN_ERR_ARG, "audit: %s is not valid UTF-8", field);
    }
    memcpy(dst, text != NULL ? text : "", n);
    dst[n] = '\0';
    return MIEN_OK;
}

/* Checks the caller's result text: one JSON object without duplicate keys, at most
 * RESULT_MAX bytes. *compact receives NULL when the text is stored as given (the usual case),
 * or a malloc'd compact form (caller frees) when it spans lines (file comment). */
static mien_status check_result(const char *text, char **compact, mien_error *err)
{
    json_error_t jerr;
    json_t *obj;
    size_t n = strlen(text);
    *compact = NULL;
    if (n > RESULT_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "audit: result is %zu bytes; the limit is %zu",
                              n, RESULT_MAX);
    }
    /* duplicate keys would make "the" object ambiguous to a reader of the log */
    obj = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "audit: result is not JSON: %s (column %d)",
                              jerr.text, jerr.column);
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        return base_error_set(err, MIEN_ERR_ARG, "audit: result must be a JSON object");
    }
    if (strpbrk(text, "\r\n") != NULL) {
        /* in valid JSON a line break can only be whitespace: dropping it changes nothing */
        *compact = json_dumps(obj, JSON_COMPACT);
        if (*compact == NULL) {
            json_decref(obj);
            return base_error_set(err, MIEN_ERR_NOMEM, "audit: out of memory");
        }
    }
    json_decref(obj);
    return MIEN_OK;
}

void audit_row_mac(const keyring *keys, const store_audit_row *row, uint8_t out[32])
{
    keyring_mac(keys, "audit-entry/v1", row->hash, sizeof(row->hash), out);
}

mien_status audit_append(store_db *s, int64_t now, const audit_entry *e, int64_t *seq,
                         uint8_t hash[32], mien_error *err)
{
    store_audit_row row;
    char *result = NULL;
    int64_t last = 0;
    mien_status status;

    if (seq != NULL) {
        *seq = 0;
    }
    if (hash != NULL) {
        memset(hash, 0, 32);
    }
    if (s == NULL || s->ops == NULL || e == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "audit_append: store and entry are required");
    }
    if (e->action == NULL || e->action[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "audit: action is required");
    }
    if (now < 0 || now > TIME_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "audit: time %lld is outside 0..%lld",
                              (long long)now, (long long)TIME_MAX);
    }
    const char *outcome = e->outcome != NULL ? e->outcome : "ok";
    if (strcmp(outcome, "ok") != 0 && strcmp(outcome, "refused") != 0) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "audit: outcome must be \"ok\" or \"refused\", not \"%.32s\"",
                              outcome);
    }

    memset(&row, 0, sizeof(row));
    row.time = now;
    const struct {
        char *dst;
        size_t cap;
        const char *text;
        const char *name;
    } fields[] = {
        {row.actor, sizeof(row.actor), e->actor, "actor"},
        {row.action, sizeof(row.action), e->action, "action"},
        {row.collection, sizeof(row.collection), e->collection, "collection"},
        {row.purpose, sizeof(row.purpose), e->purpose, "purpose"},
        {row.case_ref, sizeof(row.case_ref), e->case_ref, "case_ref"},
        {row.outcome, sizeof(row.outcome), outcome, "outcome"},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        status = copy_text(fields[i].dst, fields[i].cap, fields[i].text, fields[i].name, err);
        if (status != MIEN_OK) {
            return status;
        }
    }
    if (e->input_sha256 != NULL) {
        sodium_bin2hex(row.input_sha256, sizeof(row.input_sha256), e->input_sha256, 32);
    }
    const char *result_text = e->result_json != NULL ? e->result_json : "{}";
    status = check_result(result_text, &result, err);
    if (status != MIEN_OK) {
        return status;
    }
    row.result = result != NULL ? result : result_text;

    status = s->ops->audit_last(s, &last, row.prev_hash, err);
    if (status != MIEN_OK) {
        goto fail_store;
    }
    row.seq = last + 1;
    audit_row_hash(&row, row.hash);
    audit_row_mac(s->keys, &row, row.mac);
    status = s->ops->audit_insert(s, &row, err);
    if (status != MIEN_OK) {
        goto fail_store;
    }
    if (row.seq == 1) {
        /* This handle starts the log: its next checkpoint may write the first head (it
         * checks that entry 1 is still this one, in case the transaction was rolled back);
         * once a head exists, the permission is gone (audit_checkpoint). */
        s->audit_genesis = 1;
        memcpy(s->audit_genesis_hash, row.hash, 32);
    }
    free(result);
    if (seq != NULL) {
        *seq = row.seq;
    }
    if (hash != NULL) {
        memcpy(hash, row.hash, 32);
    }
    return MIEN_OK;

fail_store:
    free(result);
    return status;
}

/* ---- the head file -------------------------------------------------------------------- */

typedef struct audit_head {
    int64_t seq;
    int64_t time;
    uint8_t hash[32];
    uint8_t public_key[KEYRING_PUBLIC_BYTES];
    uint8_t signature[KEYRING_SIG_BYTES];
} audit_head;

typedef enum head_state {
    HEAD_VALID,         /* well formed and signed by the keyring's key */
    HEAD_MISSING,       /* no such file */
    HEAD_UNREADABLE,    /* it exists but cannot be read */
    HEAD_MALFORMED,
    HEAD_FOREIGN_KEY,   /* signed by (or naming) another key */
    HEAD_BAD_SIGNATURE  /* names the keyring's key, but the signature does not verify */
} head_state;

static void head_message(int64_t seq, const uint8_t hash[32], int64_t t,
                         uint8_t msg[HEAD_MSG_LEN])
{
    memcpy(msg, HEAD_TAG, HEAD_TAG_LEN);
    put_le64(msg + HEAD_TAG_LEN, (uint64_t)seq);
    memcpy(msg + HEAD_TAG_LEN + 8, hash, 32);
    put_le64(msg + HEAD_TAG_LEN + 8 + 32, (uint64_t)t);
}

/* A non-negative decimal without sign or leading zeros that fits an int64_t. */
static bool parse_decimal(const char *text, int64_t *out)
{
    int64_t v = 0;
    size_t n = strlen(text);
    if (n == 0 || n > 18 || (n > 1 && text[0] == '0')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
        v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
}

/* Takes the next line of *p (up to end), which must read "<key> <value>" (or exactly `key`
 * when val is NULL); the value goes to val[cap]. */
static bool take_line(const char **p, const char *end, const char *key, char *val, size_t cap)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t klen = strlen(key);
    if (nl == NULL) {
        return false;
    }
    size_t n = (size_t)(nl - *p);
    if (n < klen || memcmp(*p, key, klen) != 0) {
        return false;
    }
    if (val == NULL) {
        if (n != klen) {
            return false;
        }
    } else {
        if (n < klen + 2 || (*p)[klen] != ' ' || n - klen - 1 >= cap) {
            return false;
        }
        memcpy(val, *p + klen + 1, n - klen - 1);
        val[n - klen - 1] = '\0';
        if (memchr(val, '\0', n - klen - 1) != NULL) {
            return false;
        }
    }
    *p = nl + 1;
    return true;
}

/* Parses the text of a head file; false (why[] says what) when it is not one. */
static bool head_parse(const char *text, size_t n, audit_head *h, char *why, size_t why_cap)
{
    const char *p = text, *end = text + n;
    char val[2 * KEYRING_SIG_BYTES + 2];
    memset(h, 0, sizeof(*h));
    if (!take_line(&p, end, HEAD_MAGIC, NULL, 0)) {
        snprintf(why, why_cap, "line 1 is not \"%s\"", HEAD_MAGIC);
        return false;
    }
    if (!take_line(&p, end, "seq", val, sizeof(val)) || !parse_decimal(val, &h->seq) ||
        h->seq < 1) {
        snprintf(why, why_cap, "line 2 is not \"seq <number>\"");
        return false;
    }
    if (!take_line(&p, end, "hash", val, sizeof(val)) || !unhex(val, h->hash, 32)) {
        snprintf(why, why_cap, "line 3 is not \"hash <64 hex>\"");
        return false;
    }
    if (!take_line(&p, end, "time", val, sizeof(val)) || !parse_decimal(val, &h->time)) {
        snprintf(why, why_cap, "line 4 is not \"time <number>\"");
        return false;
    }
    if (!take_line(&p, end, "public-key", val, sizeof(val)) ||
        !unhex(val, h->public_key, KEYRING_PUBLIC_BYTES)) {
        snprintf(why, why_cap, "line 5 is not \"public-key <64 hex>\"");
        return false;
    }
    if (!take_line(&p, end, "signature", val, sizeof(val)) ||
        !unhex(val, h->signature, KEYRING_SIG_BYTES)) {
        snprintf(why, why_cap, "line 6 is not \"signature <128 hex>\"");
        return false;
    }
    if (p != end) {
        snprintf(why, why_cap, "text after line 6");
        return false;
    }
    return true;
}

/* Reads and checks the head file at `path` against public key pk. *h is filled when the file
 * parses; why[] says what is wrong otherwise. */
static head_state head_load(const char *path, const uint8_t pk[KEYRING_PUBLIC_BYTES],
                            audit_head *h, char *why, size_t why_cap)
{
    char text[HEAD_FILE_MAX + 1];
    size_t n = 0;
    uint8_t msg[HEAD_MSG_LEN];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    memset(h, 0, sizeof(*h));
    why[0] = '\0';
    if (fd < 0) {
        if (errno == ENOENT) {
            return HEAD_MISSING;
        }
        snprintf(why, why_cap, "%s", strerror(errno));
        return HEAD_UNREADABLE;
    }
    for (;;) {
        ssize_t r = read(fd, text + n, sizeof(text) - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            snprintf(why, why_cap, "%s", strerror(errno));
            close(fd);
            return HEAD_UNREADABLE;
        }
        if (r == 0 || (n += (size_t)r) == sizeof(text)) {
            break;
        }
    }
    close(fd);
    if (n > HEAD_FILE_MAX) {
        snprintf(why, why_cap, "over %d bytes", HEAD_FILE_MAX);
        return HEAD_MALFORMED;
    }
    if (!head_parse(text, n, h, why, why_cap)) {
        return HEAD_MALFORMED;
    }
    head_message(h->seq, h->hash, h->time, msg);
    if (!keyring_verify(pk, msg, sizeof(msg), h->signature)) {
        if (sodium_memcmp(h->public_key, pk, KEYRING_PUBLIC_BYTES) != 0) {
            return HEAD_FOREIGN_KEY;
        }
        snprintf(why, why_cap, "its signature does not verify");
        return HEAD_BAD_SIGNATURE;
    }
    if (sodium_memcmp(h->public_key, pk, KEYRING_PUBLIC_BYTES) != 0) {
        /* the signature is ours, but the public-key line was edited */
        snprintf(why, why_cap, "its public-key line does not name the key that signed it");
        return HEAD_MALFORMED;
    }
    return HEAD_VALID;
}

/* The head file's six lines (file comment) into text[cap]; its length, or -1 when it does not
 * fit. */
static int head_text(char *text, size_t cap, int64_t seq, const char *hash_hex, int64_t t,
                     const char *pk_hex, const char *sig_hex)
{
    int n = snprintf(text, cap,
                     HEAD_MAGIC "\nseq %lld\nhash %s\ntime %lld\npublic-key %s\nsignature %s\n",
                     (long long)seq, hash_hex, (long long)t, pk_hex, sig_hex);
    return n >= 0 && (size_t)n < cap ? n : -1;
}

/* Signs (seq, hash, now) and overwrites the head file in place (file comment). */
static mien_status head_write(const char *path, const keyring *keys, int64_t seq,
                              const uint8_t hash[32], int64_t now, mien_error *err)
{
    char text[HEAD_FILE_MAX];
    char hash_hex[HEX32_LEN + 1], pk_hex[HEX32_LEN + 1], sig_hex[2 * KEYRING_SIG_BYTES + 1];
    uint8_t msg[HEAD_MSG_LEN], pk[KEYRING_PUBLIC_BYTES], sig[KEYRING_SIG_BYTES];

    head_message(seq, hash, now, msg);
    keyring_sign(keys, msg, sizeof(msg), sig);
    keyring_public_key(keys, pk);
    hex32(hash, hash_hex);
    hex32(pk, pk_hex);
    sodium_bin2hex(sig_hex, sizeof(sig_hex), sig, sizeof(sig));
    int n = head_text(text, sizeof(text), seq, hash_hex, now, pk_hex, sig_hex);
    if (n < 0) {
        return base_error_set(err, MIEN_ERR_INTERNAL, "audit: head text does not fit");
    }
    /* One write of a few hundred bytes at offset 0, under the lock: no temporary file, no
     * rename and no fsync. The head guards against rows removed from a running system,
     * where the page cache is what every reader sees; after a power loss it may lag the
     * database's last commits, which verify accepts (an older head whose entry still
     * matches). Measured: a synced rename-and-replace cost 12 ms per commit here, three
     * times the commit itself. */
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return base_error_set(err, MIEN_ERR_IO, "audit: cannot write the signed head %s: %s",
                              path, strerror(errno));
    }
    mien_status st = MIEN_OK;
    if (fchmod(fd, 0600) != 0 || !base_write_all(fd, text, (size_t)n) ||
        ftruncate(fd, n) != 0) {
        st = base_error_set(err, MIEN_ERR_IO, "audit: cannot write the signed head %s: %s",
                            path, strerror(errno));
    }
    close(fd);
    return st;
}

/* ---- reading single entries ----------------------------------------------------------- */

/* The first row of a scan: stops the scan after it (a private sentinel status, recognised by
 * the `got` flag). */
typedef struct first_row {
    bool got;
    int64_t seq;
    uint8_t hash[32];
} first_row;

#define SCAN_STOP MIEN_ERR_INTERNAL /* returned by callbacks to end a scan early */

static mien_status take_first(void *ctx, const store_audit_row *row)
{
    first_row *f = ctx;
    f->got = true;
    f->seq = row->seq;
    memcpy(f->hash, row->hash, 32);
    return SCAN_STOP;
}

/* The hash of entry `seq`; *found false when there is no such entry. */
static mien_status entry_hash(store_db *s, int64_t seq, bool *found, uint8_t hash[32],
                              mien_error *err)
{
    first_row f = {.got = false};
    mien_error scan_err;
    base_error_clear(&scan_err);
    mien_status status = s->ops->audit_scan(s, seq, 0, 0, take_first, &f, &scan_err);
    *found = false;
    if (status != MIEN_OK && !f.got) {
        if (err != NULL) {
            *err = scan_err;
        }
        return status;
    }
    if (f.got && f.seq == seq) {
        *found = true;
        memcpy(hash, f.hash, 32);
    }
    return MIEN_OK;
}

/* ---- checkpoint ----------------------------------------------------------------------- */

mien_status audit_checkpoint(store_db *s, mien_error *err)
{
    char lock_path[sizeof(s->audit_head_path) + 8];
    char why[128];
    uint8_t hash[32], pk[KEYRING_PUBLIC_BYTES], at_head[32];
    int64_t seq = 0;
    audit_head h;
    bool found;
    mien_status status;

    if (s == NULL || s->ops == NULL || s->keys == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "audit_checkpoint: store and keyring required");
    }
    const char *path = s->audit_head_path;
    size_t path_len = strnlen(path, sizeof(s->audit_head_path));
    if (path_len == 0 || path_len == sizeof(s->audit_head_path)) {
        return base_error_set(err, MIEN_ERR_ARG, "audit: the store names no signed-head file");
    }
    snprintf(lock_path, sizeof(lock_path), "%s.lock", path);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock < 0) {
        return base_error_set(err, MIEN_ERR_IO, "audit: cannot open %s: %s", lock_path,
                              strerror(errno));
    }
    int rc;
    while ((rc = flock(lock, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
        status = base_error_set(err, MIEN_ERR_IO, "audit: cannot lock %s: %s", lock_path,
                                strerror(errno));
        goto done;
    }

    /* Read the log's end under the lock: another process that committed later also
     * checkpoints later, so heads are written in seq order. */
    status = s->ops->audit_last(s, &seq, hash, err);
    if (status != MIEN_OK || seq == 0) {
        goto done; /* an empty log has nothing to sign */
    }
    keyring_public_key(s->keys, pk);
    switch (head_load(path, pk, &h, why, sizeof(why))) {
    case HEAD_VALID:
        s->audit_genesis = 0; /* a head exists: this handle's log is not new */
        if (h.seq == seq && sodium_memcmp(h.hash, hash, 32) == 0) {
            goto done; /* already signed */
        }
        if (h.seq > seq) {
            status = base_error_set(err, MIEN_ERR_STORE,
                                    "audit: the signed head %s names entry %lld but the log "
                                    "ends at %lld: entries were removed (see mien audit "
                                    "verify); the head is kept",
                                    path, (long long)h.seq, (long long)seq);
            goto done;
        }
        status = entry_hash(s, h.seq, &found, at_head, err);
        if (status != MIEN_OK) {
            goto done;
        }
        if (!found || sodium_memcmp(at_head, h.hash, 32) != 0) {
            status = base_error_set(err, MIEN_ERR_STORE,
                                    "audit: entry %lld no longer matches the signed head %s: "
                                    "the log was rewritten (see mien audit verify); the head "
                                    "is kept",
                                    (long long)h.seq, path);
            goto done;
        }
        break;
    case HEAD_UNREADABLE:
        /* never replace what cannot be checked */
        status = base_error_set(err, MIEN_ERR_IO, "audit: cannot read the signed head %s: %s",
                                path, why);
        goto done;
    case HEAD_MISSING:
    case HEAD_MALFORMED:
    case HEAD_FOREIGN_KEY:
    case HEAD_BAD_SIGNATURE: {
        /* Only the handle that wrote entry 1 signs a first head unasked. Any other missing or
         * unusable head is evidence (someone may have deleted the newest rows, the head and
         * its lock file to have the shortened chain signed): it is replaced only by an
         * operator's audited act that checks the chain first — `mien audit reset-head` for a
         * head that was lost, `mien audit join` for a node new to a shared log. */
        bool genesis = false;
        if (s->audit_genesis) {
            status = entry_hash(s, 1, &found, at_head, err);
            if (status != MIEN_OK) {
                goto done;
            }
            genesis = found && sodium_memcmp(at_head, s->audit_genesis_hash, 32) == 0;
        }
        if (seq > 1 && !s->audit_head_reset && !genesis) {
            status = base_error_set(err, MIEN_ERR_STORE,
                                    "audit: the signed head %s is %s while the log has %lld "
                                    "entries: run `mien audit verify`, then `mien audit "
                                    "reset-head` to sign the log's end again (or, on a node "
                                    "new to a shared log, `mien audit join`)",
                                    path, why[0] ? why : "missing", (long long)seq);
            goto done;
        }
        break;
    }
    }
    status = head_write(path, s->keys, seq, hash, (int64_t)time(NULL), err);
    if (status == MIEN_OK) {
        s->audit_genesis = 0; /* the first head is written: from now on a missing one is lost */
    }

done:
    close(lock); /* releases the flock */
    return status;
}

/* ---- verify --------------------------------------------------------------------------- */

typedef struct verify_ctx {
    const keyring *keys;   /* checks each entry's MAC */
    int64_t expected;      /* the seq the next row must have */
    uint8_t prev[32];      /* the hash the next row's prev_hash must equal */
    int64_t entries;
    int64_t last_seq;
    int64_t first_bad;
    char problem[256];
    int64_t head_seq;      /* the entry whose hash the head names; 0: none */
    bool head_found;
    uint8_t head_entry_hash[32];
} verify_ctx;

static bool mac_ok(const keyring *keys, const store_audit_row *row)
{
    uint8_t mac[32];
    audit_row_mac(keys, row, mac);
    return sodium_memcmp(mac, row->mac, 32) == 0;
}

static mien_status verify_row(void *ctx, const store_audit_row *row)
{
    verify_ctx *v = ctx;
    uint8_t h[32];
    v->entries++;
    audit_row_hash(row, h);
    if (v->first_bad == 0) {
        long long n = (long long)v->expected;
        if (row->seq != v->expected) {
            v->first_bad = v->expected;
            if (row->seq > v->expected) {
                snprintf(v->problem, sizeof(v->problem), "entry %lld missing", n);
            } else {
                snprintf(v->problem, sizeof(v->problem),
                         "entry %lld missing (entry %lld found in its place)", n,
                         (long long)row->seq);
            }
        } else if (sodium_memcmp(h, row->hash, 32) != 0) {
            v->first_bad = row->seq;
            snprintf(v->problem, sizeof(v->problem),
                     "entry %lld: its contents do not match its hash (altered)", n);
        } else if (!mac_ok(v->keys, row)) {
            v->first_bad = row->seq;
            snprintf(v->problem, sizeof(v->problem),
                     "entry %lld: not written by a holder of this store's key file (its MAC "
                     "does not match: inserted or rewritten behind mien's back)", n);
        } else if (sodium_memcmp(row->prev_hash, v->prev, 32) != 0) {
            v->first_bad = row->seq;
            if (row->seq == 1) {
                snprintf(v->problem, sizeof(v->problem),
                         "entry 1: its previous hash is not zero (the log does not start "
                         "here)");
            } else {
                snprintf(v->problem, sizeof(v->problem),
                         "entry %lld: its link to entry %lld is broken (entry %lld was altered "
                         "and rehashed)",
                         n, n - 1, n - 1);
            }
        }
    }
    /* continue from what is there, so that later counts stay meaningful */
    if (row->seq >= v->expected) {
        v->expected = row->seq + 1;
    }
    memcpy(v->prev, row->hash, 32);
    v->last_seq = row->seq;
    if (v->head_seq != 0 && row->seq == v->head_seq) {
        v->head_found = true;
        memcpy(v->head_entry_hash, row->hash, 32);
    }
    return MIEN_OK;
}

mien_status audit_verify(store_db *s, mien_audit_report *out, mien_error *err)
{
    return audit_verify_at(s, s != NULL ? s->audit_head_path : "", out, err);
}

mien_status audit_verify_at(store_db *s, const char *path, mien_audit_report *out,
                            mien_error *err)
{
    uint8_t pk[KEYRING_PUBLIC_BYTES];
    char why[96];
    audit_head h;
    verify_ctx v;

    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (s == NULL || s->ops == NULL || s->keys == NULL || out == NULL || path == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "audit_verify: store, keyring, head path and "
                                                 "report are required");
    }
    keyring_public_key(s->keys, pk);

    /* The head first, then the chain: a checkpoint between the two can only add entries
     * after the head read, never make the head newer than the chain read. */
    head_state hs = path[0] != '\0' ? head_load(path, pk, &h, why, sizeof(why)) : HEAD_MISSING;
    memset(&v, 0, sizeof(v));
    v.expected = 1;
    v.keys = s->keys;
    if (hs == HEAD_VALID) {
        v.head_seq = h.seq;
    }
    mien_status status = s->ops->audit_scan(s, 1, 0, 0, verify_row, &v, err);
    if (status != MIEN_OK) {
        return status;
    }

    hex32(pk, out->public_key);
    out->entries = v.entries;
    out->head_seq = v.head_seq;
    out->first_bad = v.first_bad;
    snprintf(out->problem, sizeof(out->problem), "%s", v.problem);
    if (v.first_bad != 0) {
        return MIEN_OK; /* the chain's own fault comes first: it names the entry */
    }
    switch (hs) {
    case HEAD_MISSING:
        if (v.entries > 0 && path[0] == '\0') {
            snprintf(out->problem, sizeof(out->problem),
                     "no signed head (the store names no head file)");
        } else if (v.entries > 0) {
            snprintf(out->problem, sizeof(out->problem), "no signed head at %.200s", path);
        }
        break;
    case HEAD_UNREADABLE:
        snprintf(out->problem, sizeof(out->problem), "cannot read the signed head at %.120s: %s",
                 path, why);
        break;
    case HEAD_MALFORMED:
    case HEAD_BAD_SIGNATURE:
        snprintf(out->problem, sizeof(out->problem), "the signed head at %.120s is invalid: %s",
                 path, why);
        break;
    case HEAD_FOREIGN_KEY:
        snprintf(out->problem, sizeof(out->problem),
                 "the signed head at %.150s was not signed by this key file's key", path);
        break;
    case HEAD_VALID:
        if (h.seq > v.last_seq) {
            out->first_bad = v.last_seq + 1;
            snprintf(out->problem, sizeof(out->problem),
                     "truncated: the signed head names entry %lld but the log ends at %lld",
                     (long long)h.seq, (long long)v.last_seq);
        } else if (!v.head_found || sodium_memcmp(v.head_entry_hash, h.hash, 32) != 0) {
            out->first_bad = h.seq;
            snprintf(out->problem, sizeof(out->problem),
                     "entry %lld does not match the signed head: it or an entry before it was "
                     "rewritten",
                     (long long)h.seq);
        }
        break;
    }
    out->ok = out->problem[0] == '\0';
    return MIEN_OK;
}

/* ---- the head for a witness, and joining a shared log ----------------------------------- */

bool audit_head_present(const store_db *s)
{
    struct stat st;
    return s->audit_head_path[0] != '\0' && lstat(s->audit_head_path, &st) == 0;
}

mien_status audit_head_read(store_db *s, mien_audit_head *out, mien_error *err)
{
    uint8_t pk[KEYRING_PUBLIC_BYTES];
    char why[96];
    audit_head h;
    memset(out, 0, sizeof(*out));
    if (s == NULL || s->keys == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "audit_head_read: store and keyring required");
    }
    const char *path = s->audit_head_path;
    keyring_public_key(s->keys, pk);
    switch (head_load(path, pk, &h, why, sizeof(why))) {
    case HEAD_VALID:
        break;
    case HEAD_MISSING:
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "audit: no signed head at %s (nothing "
                              "signed yet on this node?)", path);
    case HEAD_UNREADABLE:
        return base_error_set(err, MIEN_ERR_IO, "audit: cannot read the signed head %s: %s",
                              path, why);
    case HEAD_FOREIGN_KEY:
        return base_error_set(err, MIEN_ERR_STORE, "audit: the signed head %s was not signed "
                              "by this key file's key", path);
    case HEAD_MALFORMED:
    case HEAD_BAD_SIGNATURE:
        return base_error_set(err, MIEN_ERR_STORE, "audit: the signed head %s is invalid: %s",
                              path, why);
    }
    out->seq = h.seq;
    out->time = h.time;
    hex32(h.hash, out->hash);
    hex32(h.public_key, out->public_key);
    sodium_bin2hex(out->signature, sizeof(out->signature), h.signature, sizeof(h.signature));
    /* the file's own form, rebuilt from the checked fields: what a witness stores and what
     * `mien audit verify --witness` reads back (~360 bytes: it fits) */
    if (head_text(out->text, sizeof(out->text), h.seq, out->hash, h.time, out->public_key,
                  out->signature) < 0) {
        return base_error_set(err, MIEN_ERR_INTERNAL, "audit: head text does not fit");
    }
    return MIEN_OK;
}

/* ---- export --------------------------------------------------------------------------- */

typedef struct export_ctx {
    mien_line_fn fn;
    void *fn_ctx;
    bool stopped;         /* fn asked to stop */
    mien_status failure;  /* our own failure inside the callback (MIEN_ERR_NOMEM) */
} export_ctx;

/* A row's text as a JSON string (null when it is not UTF-8: file comment). */
static json_t *text_value(const char *text, size_t cap)
{
    size_t n = strnlen(text, cap);
    return utf8_valid(text, n) ? json_stringn(text, n) : json_null();
}

/* Whether text is one JSON object on one line, as audit_append stores it. */
static bool result_verbatim_ok(const char *text)
{
    json_t *obj;
    if (strpbrk(text, "\r\n") != NULL) {
        return false;
    }
    obj = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    bool ok = obj != NULL && json_is_object(obj);
    json_decref(obj);
    return ok;
}

/* The export line of one row (file comment); malloc'd, NULL when out of memory. */
static char *export_line(const store_audit_row *row)
{
    char rfc3339[32] = "";
    char prev_hex[HEX32_LEN + 1], hash_hex[HEX32_LEN + 1];
    const char *result = row->result != NULL ? row->result : "";
    char *front = NULL, *back = NULL, *spliced = NULL, *line = NULL;
    json_t *a = json_object();
    json_t *b = json_object();
    time_t t = (time_t)row->time;
    struct tm tm;

    if (a == NULL || b == NULL) {
        goto done;
    }
    if (row->time >= 0 && row->time <= TIME_MAX && gmtime_r(&t, &tm) != NULL) {
        strftime(rfc3339, sizeof(rfc3339), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    hex32(row->prev_hash, prev_hex);
    hex32(row->hash, hash_hex);
    if (json_object_set_new(a, "seq", json_integer(row->seq)) != 0 ||
        json_object_set_new(a, "time", rfc3339[0] != '\0' ? json_string(rfc3339)
                                                          : json_null()) != 0 ||
        json_object_set_new(a, "time_unix", json_integer(row->time)) != 0 ||
        json_object_set_new(a, "actor", text_value(row->actor, sizeof(row->actor))) != 0 ||
        json_object_set_new(a, "action", text_value(row->action, sizeof(row->action))) != 0 ||
        json_object_set_new(a, "collection",
                            text_value(row->collection, sizeof(row->collection))) != 0 ||
        json_object_set_new(a, "purpose", text_value(row->purpose, sizeof(row->purpose))) !=
            0 ||
        json_object_set_new(a, "case_ref", text_value(row->case_ref, sizeof(row->case_ref))) !=
            0 ||
        json_object_set_new(a, "input_sha256",
                            text_value(row->input_sha256, sizeof(row->input_sha256))) != 0 ||
        json_object_set_new(a, "outcome", text_value(row->outcome, sizeof(row->outcome))) !=
            0 ||
        json_object_set_new(b, "prev_hash", json_string(prev_hex)) != 0 ||
        json_object_set_new(b, "hash", json_string(hash_hex)) != 0) {
        goto done;
    }
    front = json_dumps(a, JSON_COMPACT);
    back = json_dumps(b, JSON_COMPACT);
    if (result_verbatim_ok(result)) {
        spliced = strdup(result);
    } else {
        json_t *text = text_value(result, strlen(result) + 1);
        spliced = text != NULL ? json_dumps(text, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(text);
    }
    if (front == NULL || back == NULL || spliced == NULL) {
        goto done;
    }
    /* front is {...} and back is {...}: join as {front-fields,"result":R,back-fields} */
    size_t nf = strlen(front), nr = strlen(spliced), nb = strlen(back);
    line = malloc(nf - 1 + 10 + nr + 1 + nb - 1 + 1);
    if (line == NULL) {
        goto done;
    }
    memcpy(line, front, nf - 1);
    memcpy(line + nf - 1, ",\"result\":", 10);
    memcpy(line + nf - 1 + 10, spliced, nr);
    line[nf - 1 + 10 + nr] = ',';
    memcpy(line + nf - 1 + 10 + nr + 1, back + 1, nb - 1);
    line[nf - 1 + 10 + nr + 1 + nb - 1] = '\0';

done:
    free(spliced);
    free(back);
    free(front);
    json_decref(b);
    json_decref(a);
    return line;
}

static mien_status export_row(void *ctx, const store_audit_row *row)
{
    export_ctx *x = ctx;
    char *line = export_line(row);
    if (line == NULL) {
        x->failure = MIEN_ERR_NOMEM;
        return MIEN_ERR_NOMEM;
    }
    int stop = x->fn(x->fn_ctx, line);
    free(line);
    if (stop != 0) {
        x->stopped = true;
        return SCAN_STOP;
    }
    return MIEN_OK;
}

mien_status audit_export(store_db *s, int64_t from, int64_t to, mien_line_fn fn,
                         void *ctx, mien_error *err)
{
    export_ctx x = {.fn = fn, .fn_ctx = ctx, .stopped = false, .failure = MIEN_OK};
    mien_error scan_err;
    if (s == NULL || s->ops == NULL || fn == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "audit_export: store and line function are "
                                                 "required");
    }
    if (from < 0 || to < 0) {
        return base_error_set(err, MIEN_ERR_ARG, "audit_export: times are unix seconds >= 0");
    }
    base_error_clear(&scan_err);
    mien_status status = s->ops->audit_scan(s, 1, from, to, export_row, &x, &scan_err);
    if (x.stopped) {
        return MIEN_OK;
    }
    if (x.failure != MIEN_OK) {
        return base_error_set(err, x.failure, "audit_export: out of memory");
    }
    if (status != MIEN_OK && err != NULL) {
        *err = scan_err;
    }
    return status;
}
