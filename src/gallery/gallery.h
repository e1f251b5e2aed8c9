/* gallery.h — what gallery.c (the public collection, enrolment, search and erasure calls of
 * mien.h) offers beside mien.h: counters the tests read. */
#ifndef MIEN_GALLERY_GALLERY_H
#define MIEN_GALLERY_GALLERY_H

#include <stdint.h>

#include "mien.h"

/* How many keyed subject hashes (HMAC-SHA-256) handle s has computed following erasures made
 * by other handles (the audit log as change feed): one per loaded subject per sync that saw
 * an erasure, plus one per subject enrolled later in that sync, whatever the number of
 * erasures (issue 13 item 11). 0 for a handle that loaded nothing.
 * @test governance/test_accountability.c (acct_follow_erasures_hash_count) */
uint64_t gallery_follow_hashes(const mien_store *s);

#endif
