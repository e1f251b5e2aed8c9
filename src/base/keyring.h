/* keyring.h — the secrets a store keeps beside its data, and what mien does with them
 * (libsodium; DESIGN.md §2 "crypto wrappers", issue "Accountability by design").
 *
 * One key file holds, as text:
 *   - data keys (numbered 1, 2, ...; the highest is current): XChaCha20-Poly1305 keys that
 *     encrypt templates and crops at rest. Every sealed blob names the key that sealed it,
 *     so after `mien keys rotate-data` adds a key, older blobs still open until they are
 *     re-sealed and the old key is retired.
 *   - the audit signing key (Ed25519): signs the audit chain's head at every commit.
 *   - the subject key (HMAC-SHA-256): audit entries name subjects only by keyed hash, so an
 *     erased subject's id appears nowhere, and without the key nobody can test a guess.
 *
 * File format (text, one item per line, '#' comments):
 *     mien-keyring 1
 *     data <n> <64 hex>          one line per data key, n = 1, 2, ...
 *     sign <128 hex>             Ed25519 secret key (libsodium layout: seed || public key)
 *     subject <64 hex>
 * The file is created with mode 0600 (O_EXCL) and rewritten atomically (temporary file in
 * the same folder, fsync, rename, fsync of the folder). A file readable by group or others is
 * refused, as ssh refuses such private keys. Secrets live in sodium_malloc'd memory (guard
 * pages, locked, zeroed on free).
 *
 * A keyring is immutable after load except through keyring_add_data_key /
 * keyring_retire_data_keys; reading it from several threads at once is safe. @test
 * base/test_keyring.c */
#ifndef MIEN_BASE_KEYRING_H
#define MIEN_BASE_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mien.h"

#define KEYRING_SEAL_OVERHEAD 48 /* magic 4 + key number 4 + nonce 24 + tag 16 */
#define KEYRING_SIG_BYTES 64
#define KEYRING_PUBLIC_BYTES 32
#define KEYRING_HASH_BYTES 32

typedef struct keyring keyring;

/* Loads the key file at `path`. MIEN_ERR_NOT_FOUND when it does not exist, MIEN_ERR_IO when
 * it cannot be read, MIEN_ERR_ARG when it is malformed (line number in the message) or
 * readable by group or others. */
mien_status keyring_load(const char *path, keyring **out, mien_error *err);

/* Creates a new key file at `path` (mode 0600, refusing to overwrite: MIEN_ERR_EXISTS) with
 * fresh random data key 1, signing key and subject key, and returns it loaded. */
mien_status keyring_create(const char *path, keyring **out, mien_error *err);

/* Zeroes and frees. NULL is a no-op. */
void keyring_free(keyring *k);

/* The file this keyring was loaded from or created at. */
const char *keyring_path(const keyring *k);

/* The current data key's number (the highest). */
uint32_t keyring_current_data_key(const keyring *k);

/* Adds a fresh data key numbered current + 1, makes it current and rewrites the file.
 * *key_no (may be NULL) receives its number (0 on failure). On failure the keyring and the
 * file are as before, with one exception: when only the final fsync of the folder fails
 * (MIEN_ERR_IO), the renamed file may already hold the new key, which nothing has used.
 * Not while other threads use the keyring. */
mien_status keyring_add_data_key(keyring *k, uint32_t *key_no, mien_error *err);

/* Removes every data key but the current one and rewrites the file (after a rotation has
 * re-sealed everything); a no-op when there is only one. Failure as keyring_add_data_key. */
mien_status keyring_retire_data_keys(keyring *k, mien_error *err);

/* Seals plain[n] with the current data key into out[n + KEYRING_SEAL_OVERHEAD]:
 * "mEk1" | key number (u32 LE) | random 24-byte nonce | XChaCha20-Poly1305 ciphertext+tag.
 * `ad` (may be NULL when ad_len is 0) is authenticated, not stored: the caller binds a blob to
 * its place (e.g. "template" + collection id), so a blob copied elsewhere fails to open.
 * plain may be NULL when n is 0; out must not overlap plain. */
mien_status keyring_seal(const keyring *k, const uint8_t *plain, size_t n, const uint8_t *ad,
                         size_t ad_len, uint8_t *out, mien_error *err);

/* Opens sealed[n] into out[n - KEYRING_SEAL_OVERHEAD]. MIEN_ERR_ARG when it is not a sealed
 * blob (too short, wrong magic); MIEN_ERR_NOT_FOUND when its data key is not in the keyring
 * ("sealed with data key 3, which the key file <path> does not have"); MIEN_ERR_STORE when
 * authentication fails (wrong key, tampered bytes or wrong `ad`). out is zeroed on failure;
 * it may be NULL when the plaintext is empty, and must not overlap sealed. */
mien_status keyring_open(const keyring *k, const uint8_t *sealed, size_t n, const uint8_t *ad,
                         size_t ad_len, uint8_t *out, mien_error *err);

/* Whether sealed[n] looks like a sealed blob (length and magic); *key_no (may be NULL) gets
 * the number of the key that sealed it. */
bool keyring_is_sealed(const uint8_t *sealed, size_t n, uint32_t *key_no);

/* Ed25519 detached signature of msg[n] with the signing key. */
void keyring_sign(const keyring *k, const uint8_t *msg, size_t n,
                  uint8_t sig[KEYRING_SIG_BYTES]);
/* The signing key's public half. */
void keyring_public_key(const keyring *k, uint8_t pk[KEYRING_PUBLIC_BYTES]);
/* Whether sig is a valid signature of msg[n] by public key pk. */
bool keyring_verify(const uint8_t pk[KEYRING_PUBLIC_BYTES], const uint8_t *msg, size_t n,
                    const uint8_t sig[KEYRING_SIG_BYTES]);

/* HMAC-SHA-256 with the subject key over "collection\0subject": the name the audit log and
 * receipts give a subject. */
void keyring_subject_hash(const keyring *k, const char *collection, const char *subject,
                          uint8_t out[KEYRING_HASH_BYTES]);

/* HMAC-SHA-256 with the subject key over "mien:" || context || NUL || msg[n]: keyed tags for
 * other purposes (context names one, e.g. "audit-entry/v1"), never equal to a subject hash
 * (collection names have no ':'). Tags only the key file's holder can make: audit entries
 * (a database writer without the key cannot append a valid one), API key hashes. */
void keyring_mac(const keyring *k, const char *context, const uint8_t *msg, size_t n,
                 uint8_t out[KEYRING_HASH_BYTES]);

#endif
