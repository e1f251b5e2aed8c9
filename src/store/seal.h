/* seal.h — templates and crops sealed at rest, above the store interface (store.h).
 *
 * The backends move opaque bytes: what face_insert/face_import receive and what the face scans
 * hand over are the sealed blobs as stored. Sealing happens here, once for every backend:
 * each blob is sealed (base/keyring.h keyring_seal) with the store's current data key and bound
 * to its place (store_seal_ad: the collection id and the subject id), so that a blob moved to
 * another collection or pinned to another subject fails to open. The functions below have the
 * shape of the store operations they wrap and take plaintext in and out; the callers (gallery/,
 * governance/, store/handle.c) use them instead of the operations.
 *
 * One re-seal operation (seal_rewrite_all) serves key rotation and the sealing of a schema-2
 * SQLite file's plaintext templates, through the backends' blob_rewrite; it is also where a
 * blob moves to another subject (seal_face_move), opened under one place and sealed under
 * the other. Plaintext lives in buffers zeroed before they are freed. @test
 * gallery/test_store.c, gallery/test_store_postgres.c, governance/test_accountability.c */
#ifndef MIEN_STORE_SEAL_H
#define MIEN_STORE_SEAL_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* ops->face_insert with face's template and crop (plaintext; the crop FACE_CHIP bytes or
 * NULL) sealed first. MIEN_ERR_ARG for no template or a crop of another size. */
mien_status seal_face_insert(store_db *s, int64_t collection_id, int64_t subject_id,
                             const char *external_id, const store_face_new *face,
                             int64_t *face_id, mien_error *err);
/* ops->face_import, sealing as seal_face_insert. */
mien_status seal_face_import(store_db *s, int64_t collection_id, int64_t subject_id,
                             const char *external_id, int64_t face_id, int64_t created_at,
                             const store_face_new *face, mien_error *err);

/* The face scans below call fn with each row's blobs opened (plaintext valid during the
 * callback only). A blob that does not open under the store's keys and its place (moved to
 * another collection or subject) → MIEN_ERR_STORE or keyring_open's status; the scan stops. */

/* ops->face_scan: every face of the collection, templates opened (loading an index). */
mien_status seal_face_scan(store_db *s, int64_t collection_id, store_face_fn fn, void *ctx,
                           mien_error *err);
/* ops->face_scan_subject: the faces of one subject (1:1 verification). */
mien_status seal_face_scan_subject(store_db *s, int64_t collection_id, const char *external_id,
                                   store_face_fn fn, void *ctx, mien_error *err);
/* ops->face_get: one face by id, opened under the collection its row names. */
mien_status seal_face_get(store_db *s, int64_t face_id, int64_t *collection_id,
                          store_face_fn fn, void *ctx, mien_error *err);
/* ops->face_scan_full: every face with its crop, both opened (copying a store). */
mien_status seal_face_scan_full(store_db *s, int64_t collection_id, store_face_full_fn fn,
                                void *ctx, mien_error *err);

/* Re-seals every template and crop with the keyring's current data key (key rotation), in the
 * caller's transaction when there is one. only_plain: seal only the blobs still in plaintext (a
 * SQLite file from schema 2) and leave sealed ones as they are. *count (may be NULL): blobs
 * written. */
mien_status seal_rewrite_all(store_db *s, bool only_plain, int64_t *count, mien_error *err);

/* Moves face `face_id` to subject `to_subject_id` (external id `to_external_id`) of its
 * collection (ops->face_move): its template and crop are opened under their place and sealed
 * for the new subject and its name, with the current data key, so that they open only there.
 * The caller checks that the subject is in the face's collection and records the move. */
mien_status seal_face_move(store_db *s, int64_t face_id, int64_t to_subject_id,
                           const char *to_external_id, mien_error *err);

/* Binds every blob sealed before the subject's external id was part of the associated data
 * (seal.c) to it: opened under the old place, sealed under the new one; blobs already bound
 * stay as they are. For mien_store_upgrade, in its transaction. */
mien_status seal_rebind_all(store_db *s, int64_t *count, mien_error *err);

#endif
