/* store_copy.h — one store copied into another (`mien migrate`, mien.h mien_store_copy) and
 * every row of a store counted (store_copy.c).
 *
 * It sits above the store (store.h), in governance, because a copy must carry the audit chain
 * and the reviews with their keyed tags re-made under the target's key file (audit.h,
 * governance.h): what moves is evidence, not only rows. */
#ifndef MIEN_GOVERNANCE_STORE_COPY_H
#define MIEN_GOVERNANCE_STORE_COPY_H

#include "store/store.h"

/* What store_db_copy() copied, and what store_db_count() counts. */
typedef struct store_counts {
    int64_t collections, subjects, faces, crops, keys, reviews, decisions, audit_entries;
} store_counts;

/* Copies every row of store `from` into the empty store `to`, inside to's transaction (the
 * caller's begin ... commit): collections with their policies, subjects, faces
 * with their quality, digests and times, templates and crops opened with from's keyring and
 * sealed with to's, API keys, reviews and their decisions, and the audit chain verbatim; ids
 * are kept and to's sequences raised to from's. `from` is read inside its own transaction
 * (begin ... rollback), which holds its write lock: no writer changes it mid-copy.
 * MIEN_ERR_EXISTS when `to` holds anything (collections, keys, reviews or audit entries).
 * *copied (may be NULL) counts what was written. @test gallery/test_store_copy.c */
mien_status store_db_copy(store_db *from, store_db *to, store_counts *copied,
                               mien_error *err);

/* Counts the rows of every kind in s; faces and crops are read (opened) one by one, so a blob
 * that does not open under s's keyring fails the count. */
mien_status store_db_count(store_db *s, store_counts *out, mien_error *err);

#endif
