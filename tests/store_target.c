/* store_target.c — the store backend a test runs against (store_target.h): SQLite in a temp
 * folder, or a fresh database per test on the PostgreSQL server of $MIEN_TEST_STORE. */
#include "store_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "test.h"

static const char *pg_server(void)
{
    const char *env = getenv("MIEN_TEST_STORE");
    if (env == NULL) {
        return NULL;
    }
    if (strncmp(env, "postgres://", 11) == 0 || strncmp(env, "postgresql://", 13) == 0) {
        return env;
    }
    return NULL;
}

bool test_store_is_pg(void)
{
    return pg_server() != NULL;
}

int test_pg_uri(const char *uri, const char *db, char *out, size_t size)
{
    const char *auth = strstr(uri, "://");
    if (auth == NULL) {
        return -1;
    }
    auth += 3;
    size_t host_end = strcspn(auth, "/?");
    const char *query = strchr(auth + host_end, '?');
    int n = snprintf(out, size, "%.*s/%s%s", (int)(auth - uri + host_end), uri, db,
                     query != NULL ? query : "");
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Silences server notices ("database ... does not exist, skipping"). */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int test_pg_exec(const char *db, const char *sql, long long *out)
{
    char uri[640];
    const char *server = pg_server();
    if (server == NULL || test_pg_uri(server, db, uri, sizeof(uri)) != 0) {
        fprintf(stderr, "  test_pg_exec: no PostgreSQL server in $MIEN_TEST_STORE\n");
        return -1;
    }
    PGconn *c = PQconnectdb(uri);
    int rc = -1;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "  test_pg_exec: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    PGresult *r = PQexec(c, sql);
    ExecStatusType rs = PQresultStatus(r);
    if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
        rc = 0;
        if (out != NULL) {
            *out = rs == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)
                       ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                       : -1;
        }
    } else {
        fprintf(stderr, "  test_pg_exec(%s): %s", sql, PQerrorMessage(c));
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* CREATE DATABASE name on the server (dropping a leftover of an earlier crashed run). */
static int pg_create(const char *name, char *uri, size_t size)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    if (test_pg_exec("postgres", sql, NULL) != 0) {
        return -1;
    }
    snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", name);
    if (test_pg_exec("postgres", sql, NULL) != 0) {
        return -1;
    }
    return test_pg_uri(pg_server(), name, uri, size);
}

static void pg_drop(const char *name)
{
    char sql[160];
    if (name[0] != '\0') {
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
        test_pg_exec("postgres", sql, NULL);
    }
}

int test_store_make(test_store *t)
{
    static int counter;
    mien_error err;
    memset(t, 0, sizeof(*t));
    if (test_temp_dir(t->dir, sizeof(t->dir)) != 0) {
        fprintf(stderr, "  test_store_make: mkdtemp failed\n");
        return -1;
    }
    snprintf(t->key_file, sizeof(t->key_file), "%s/store.key", t->dir);
    if (keyring_create(t->key_file, &t->keys, &err) != MIEN_OK) {
        fprintf(stderr, "  test_store_make: %s\n", err.message);
        test_remove_dir(t->dir);
        return -1;
    }
    if (!test_store_is_pg()) {
        snprintf(t->path, sizeof(t->path), "%s/g.db", t->dir);
        snprintf(t->uri, sizeof(t->uri), "sqlite:%s", t->path);
        return 0;
    }
    snprintf(t->db, sizeof(t->db), "mien_t_%ld_%d", (long)getpid(), counter++);
    if (pg_create(t->db, t->uri, sizeof(t->uri)) != 0) {
        t->db[0] = '\0';
        test_store_remove(t);
        return -1;
    }
    /* test_open_store() finds no file to put the key beside: name this one. */
    setenv("MIEN_KEY_FILE", t->key_file, 1);
    return 0;
}

int test_store_make_more(test_store *t, const char *name, char *uri, size_t size)
{
    if (!test_store_is_pg()) {
        int n = snprintf(uri, size, "sqlite:%s/%s.db", t->dir, name);
        return n > 0 && (size_t)n < size ? 0 : -1;
    }
    if (t->n_more >= (int)(sizeof(t->more) / sizeof(t->more[0]))) {
        return -1;
    }
    char *db = t->more[t->n_more];
    if (strlen(t->db) + 1 + strlen(name) >= sizeof(t->more[0])) {
        return -1;
    }
    snprintf(db, sizeof(t->more[0]), "%.31s_%.31s", t->db, name);
    if (pg_create(db, uri, size) != 0) {
        db[0] = '\0';
        return -1;
    }
    t->n_more++;
    return 0;
}

void test_store_remove(test_store *t)
{
    static const char *const SIDE[] = {"", "-wal", "-shm", "-journal", ".audit-head",
                                       ".key", ".key.audit-head"};
    char p[256];
    for (int i = 0; i < t->n_more; i++) {
        pg_drop(t->more[i]);
    }
    if (t->db[0] != '\0') {
        unsetenv("MIEN_KEY_FILE");
    }
    pg_drop(t->db);
    keyring_free(t->keys);
    t->keys = NULL;
    /* test_remove_dir() removes plain files only; the usual side files are among them. */
    for (size_t i = 0; t->path[0] != '\0' && i < sizeof(SIDE) / sizeof(SIDE[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", t->path, SIDE[i]);
        unlink(p);
    }
    if (t->dir[0] != '\0') {
        test_remove_dir(t->dir);
    }
    memset(t, 0, sizeof(*t));
}

long long test_store_query_int(const test_store *t, const char *sql)
{
    long long v = -1;
    if (t->db[0] != '\0') {
        return test_pg_exec(t->db, sql, &v) == 0 ? v : -1;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW &&
        sqlite3_column_type(q, 0) != SQLITE_NULL) {
        v = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

bool test_store_sqlite_only(const char *what)
{
    if (!test_store_is_pg()) {
        return false;
    }
    printf("  skip on postgres: %s\n", what);
    return true;
}

/* $NAME when set and not empty, else NULL. */
static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

mien_status test_open_store_with(const char *uri, const mien_store_options *opt,
                                 mien_store **out, mien_error *err)
{
    mien_store_options o = {.create_key = true};
    const char *now = env_value("MIEN_NOW");
    if (opt != NULL) {
        o = *opt;
    }
    if (o.key_file == NULL || o.key_file[0] == '\0') {
        o.key_file = env_value("MIEN_KEY_FILE");
    }
    if (o.audit_head == NULL) {
        o.audit_head = env_value("MIEN_AUDIT_HEAD");
    }
    if (o.now == 0 && now != NULL) {
        o.now = strtoll(now, NULL, 10);
    }
    return mien_store_open_with(uri != NULL ? uri : env_value("MIEN_STORE"), &o, out, err);
}

mien_status test_open_store(const char *uri, mien_store **out, mien_error *err)
{
    return test_open_store_with(uri, NULL, out, err);
}
