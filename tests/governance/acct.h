/* acct.h — the accountability tests' store and helpers (test_accountability.c), shared with
 * the row-tag tests (test_integrity.c). */
#ifndef MIEN_TEST_ACCT_H
#define MIEN_TEST_ACCT_H

#include <stdint.h>

#include "store_target.h"
#include "test.h"

typedef struct acct_env {
    test_fixture f;
    test_store ts;         /* ts.uri: the store; ts.dir: its folder */
    char dir[64], path[128]; /* the folder; the SQLite file ("" on PostgreSQL) */
    const char *uri;
    mien_store *s;
    mien_template *t[3];   /* three people of sample 1 */
    uint8_t sha[32];
} acct_env;

/* The fixture, a fresh store (tests/store_target.h) and three templates; 0 on success. */
int acct_open(acct_env *a);
void acct_close(acct_env *a);
/* Enrols template k as `subject` of `coll` (consent may be NULL), with TEST_CTX. */
mien_status acct_enrol(acct_env *a, const char *coll, const char *subject, int k,
                       const char *consent, mien_error *err);
/* Runs `sql` on the store's database behind its back (sqlite3 on the file, or SQL on the
 * PostgreSQL database); 0 when it ran. */
int acct_tamper(const acct_env *a, const char *sql);
/* The number of entries of the audit log that contain both needles (-1 on failure). */
int acct_audited(acct_env *a, const char *what, const char *also);

#endif
