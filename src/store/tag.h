/* tag.h — keyed tags of the governance rows a database writer could otherwise change at will
 * (issue 13 item 1): an API key's role and revocation, a collection's policy, a subject's
 * name, consent and expiry. Each row carries an HMAC-SHA-256 (keyring_mac, keyed by the key
 * file's subject key, which a writer of the database cannot read) over its meaningful columns;
 * store_sql.c sets it on every write and checks it on every read, and refuses a row whose tag
 * does not match, naming it. Reviews and decisions are tagged above, in governance (their tags
 * chain to each other and to the audit log). @test governance/test_integrity.c */
#ifndef MIEN_STORE_TAG_H
#define MIEN_STORE_TAG_H

#include <stdint.h>

#include "base/keyring.h"
#include "store/store.h"

/* The tag of collection c: its id, name, models and policy (tag.c COLLECTION_TAGGED). */
void tag_collection(const keyring *k, const store_collection *c, uint8_t out[32]);
/* The tag of subject g of collection `collection_id` (faces count excluded). */
void tag_subject(const keyring *k, int64_t collection_id, const store_subject *g,
                 uint8_t out[32]);
/* The tag of API key k, its secret's hash included. */
void tag_key(const keyring *k, const store_key *key, uint8_t out[32]);

/* Checks a row's stored tag `have` against the computed `want`: MIEN_OK when they match, or
 * when the row has no tag while s->tagging (the upgrade); else MIEN_ERR_STORE naming the row
 * (`what`, e.g. "API key 0a1b2c3d4e5f") and saying whether it was changed or never tagged. */
mien_status tag_check(const store_db *s, const uint8_t want[32], const uint8_t have[32],
                      const char *what, mien_error *err);

#endif
