/* cmd_migrate.c — `mien migrate --from URI --to URI [--from-key-file PATH] [--to-key-file PATH]
 * [--force] [--json]`: copies a whole store into an empty one (issue 8: "mien migrate --from
 * sqlite:PATH --to postgres://… copies a store (re-encrypting if keys differ), verifying counts
 * and the audit chain afterwards"); mien_store_copy does the copy (mien.h).
 *
 * Order of work, and why:
 *   1. The source opens with its existing key file only (--from-key-file, else $MIEN_KEY_FILE,
 *      else PATH.key beside an SQLite file); an SQLite source that does not exist is refused
 *      rather than created empty.
 *   2. The source's audit log is verified first. A log that is broken or truncated (or whose
 *      signed head is missing) is refused, exit 4: the copy would carry the damage, and its
 *      fresh signed head would hide a truncation for good. --force copies anyway, after the
 *      operator has recorded the problem elsewhere.
 *   3. The target opens with --to-key-file, else $MIEN_KEY_FILE, else PATH.key, created when
 *      absent (said on stderr: back it up). It must be empty.
 *   4. mien_store_copy: one transaction, counts compared with what was copied, every template
 *      and crop opened under the target's key file, the copy audited, the head signed.
 *   5. The counts the source reports through the public API (collections, subjects, faces,
 *      keys, audit entries) are compared with the copy's, and the target's audit log is
 *      verified: its entries are the source's plus the migration's own.
 * A target under another key file than the source's gets everything re-encrypted, but API
 * keys cannot follow (only their keyed hashes are stored): they are copied, listed, and no
 * longer verify; a warning says so.
 * Prints what was copied (text, or one JSON object with --json). Exit 0 when all of it holds;
 * 1 when a store fails or a count differs; 2 for bad usage; 4 when an audit log does not
 * verify. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct migrate_args {
    const char *from, *to, *from_key, *to_key;
    bool json, force;
} migrate_args;

static const cli_opt opts[] = {
    {"--from", CLI_OPT_STRING, offsetof(migrate_args, from), "URI",
     .help = "the store to copy", .required = true},
    {"--to", CLI_OPT_STRING, offsetof(migrate_args, to), "URI",
     .help = "the empty store to copy it into", .required = true},
    {"--from-key-file", CLI_OPT_STRING, offsetof(migrate_args, from_key), "PATH",
     .help = "the source's key file (default: its database path + .key)"},
    {"--to-key-file", CLI_OPT_STRING, offsetof(migrate_args, to_key), "PATH",
     .help = "the target's key file (created when missing)"},
    {"--force", CLI_OPT_FLAG, offsetof(migrate_args, force), NULL,
     .help = "copy even when the source's audit log does not verify (exit 4 otherwise)"},
    {"--json", CLI_OPT_FLAG, offsetof(migrate_args, json), NULL,
     .help = "the report as one JSON line"},
    CLI_OPT_END,
};
static const cli_command cmd = {"migrate",
                                "migrate --from URI --to URI [--from-key-file PATH]\n"
                                "                    [--to-key-file PATH] [--force] [--json]\n"
                                "(URI: sqlite:PATH, PATH, or postgresql://USER@HOST:PORT/DB; the "
                                "target must be empty)",
                                opts, 0, 0};

/* The file of an SQLite URI ("sqlite:PATH", "sqlite://PATH", a bare path), NULL for another
 * scheme (the library's own rule, docs/store.md). */
static const char *sqlite_file(const char *uri)
{
    if (strncmp(uri, "sqlite:", 7) == 0) {
        return strncmp(uri + 7, "//", 2) == 0 ? uri + 9 : uri + 7;
    }
    return strstr(uri, "://") == NULL ? uri : NULL;
}

/* What the public API says a store holds. */
typedef struct store_sum {
    int64_t collections, subjects, faces, keys;
    mien_audit_report audit;
} store_sum;

static mien_status sum_store(mien_store *s, store_sum *out, mien_error *err)
{
    mien_collection_info *cs = NULL;
    mien_key_info *ks = NULL;
    size_t nc = 0, nk = 0;
    memset(out, 0, sizeof(*out));
    mien_status st = mien_collection_list(s, &cs, &nc, err);
    for (size_t k = 0; st == MIEN_OK && k < nc; k++) {
        out->subjects += cs[k].subjects;
        out->faces += cs[k].faces;
    }
    out->collections = (int64_t)nc;
    mien_free(cs);
    if (st == MIEN_OK) {
        st = mien_key_list(s, &ks, &nk, err);
        out->keys = (int64_t)nk;
        mien_free(ks);
    }
    if (st == MIEN_OK) {
        st = mien_audit_verify(s, &out->audit, err);
    }
    return st;
}

static void print_json(const store_sum *from, const mien_copy_report *r, const store_sum *to,
                       bool created, double seconds)
{
    printf("{\"source\":{\"collections\":%lld,\"subjects\":%lld,\"faces\":%lld,\"keys\":%lld,"
           "\"audit_entries\":%lld,\"audit_ok\":%s},",
           (long long)from->collections, (long long)from->subjects, (long long)from->faces,
           (long long)from->keys, (long long)from->audit.entries,
           from->audit.ok ? "true" : "false");
    printf("\"copied\":{\"collections\":%lld,\"subjects\":%lld,\"faces\":%lld,\"crops\":%lld,"
           "\"keys\":%lld,\"reviews\":%lld,\"decisions\":%lld,\"audit_entries\":%lld},",
           (long long)r->collections, (long long)r->subjects, (long long)r->faces,
           (long long)r->crops, (long long)r->keys, (long long)r->reviews,
           (long long)r->decisions, (long long)r->audit_entries);
    printf("\"target_audit\":{\"ok\":%s,\"entries\":%lld,\"head_seq\":%lld,\"problem\":",
           to->audit.ok ? "true" : "false", (long long)to->audit.entries,
           (long long)to->audit.head_seq);
    cli_json_string(stdout, to->audit.problem);
    printf("},\"same_key_file\":%s,\"target_key_file_created\":%s,\"seconds\":%.2f}\n",
           r->same_key_file ? "true" : "false", created ? "true" : "false", seconds);
}

static void print_text(const mien_copy_report *r, const store_sum *to, double seconds)
{
    printf("copied %lld collections, %lld subjects, %lld faces (%lld with crops), %lld keys, "
           "%lld reviews (%lld decisions) and %lld audit entries in %.1f s\n",
           (long long)r->collections, (long long)r->subjects, (long long)r->faces,
           (long long)r->crops, (long long)r->keys, (long long)r->reviews,
           (long long)r->decisions, (long long)r->audit_entries - 1, seconds);
    printf("counts agree; audit log of the copy intact: %lld entries (the last records the "
           "migration), signed head at entry %lld\n",
           (long long)to->audit.entries, (long long)to->audit.head_seq);
}

/* Opens the source (its key file must exist) and checks its audit log; the exit code on
 * failure (0 to go on). */
static int open_source(const char *uri, const char *key_file, bool force, mien_store **out,
                       store_sum *sum)
{
    mien_error err;
    const char *file = sqlite_file(uri);
    if (file != NULL && access(file, F_OK) != 0) {
        fprintf(stderr, "mien migrate: the source %s does not exist\n", file);
        return CLI_EXIT_FAIL;
    }
    mien_store_options o = {.key_file = key_file, .create_key = false};
    mien_status st = cli_store_open_with(uri, &o, out, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien migrate: cannot open the source: %s (%s)\n", err.message,
                mien_strerror(st));
        return CLI_EXIT_FAIL;
    }
    st = sum_store(*out, sum, &err);
    if (st != MIEN_OK) {
        return cli_fail("migrate: source", st, &err);
    }
    if (!sum->audit.ok && !force) {
        fprintf(stderr, "mien migrate: the source's audit log does not verify: %s\n"
                        "  (the copy would carry this, and its new signed head would hide it; "
                        "record the problem, then use --force to copy anyway)\n",
                sum->audit.problem);
        return CLI_EXIT_TAMPERED;
    }
    if (!sum->audit.ok) {
        fprintf(stderr, "mien migrate: warning: copying despite the source's audit problem: "
                        "%s\n", sum->audit.problem);
    }
    return CLI_EXIT_OK;
}

/* The counts the two stores report through the public API agree; else prints the first
 * difference and returns false. */
static bool counts_agree(const store_sum *from, const mien_copy_report *r, const store_sum *to)
{
    const char *what = NULL;
    long long want = 0, got = 0;
    if (r->collections != from->collections || to->collections != from->collections) {
        what = "collections", want = from->collections, got = to->collections;
    } else if (r->subjects != from->subjects || to->subjects != from->subjects) {
        what = "subjects", want = from->subjects, got = to->subjects;
    } else if (r->faces != from->faces || to->faces != from->faces) {
        what = "faces", want = from->faces, got = to->faces;
    } else if (r->keys != from->keys || to->keys != from->keys) {
        what = "keys", want = from->keys, got = to->keys;
    } else if (to->audit.entries != from->audit.entries + 1) {
        what = "audit entries (source + the migration's)", want = from->audit.entries + 1,
        got = to->audit.entries;
    }
    if (what != NULL) {
        fprintf(stderr, "mien migrate: the copy holds %lld %s, the source %lld\n", got, what,
                want);
    }
    return what == NULL;
}

/* Copies store --from into the empty store --to and verifies the copy. */
static int migrate(void *args, char **pos, int n_pos)
{
    const migrate_args *o = args;
    mien_store *src = NULL, *dst = NULL;
    store_sum before, after;
    mien_copy_report rep;
    mien_error err;
    cli_context cx;
    int rc;
    (void)pos;
    (void)n_pos;
    if (o->from[0] == '\0' || o->to[0] == '\0') {
        return cli_bad_usage(&cmd);
    }
    if (strcmp(o->from, o->to) == 0) {
        fprintf(stderr, "mien migrate: --from and --to name the same store\n");
        return CLI_EXIT_USAGE;
    }
    double t0 = mien_now_ms();
    rc = open_source(o->from, o->from_key, o->force, &src, &before);
    if (rc != CLI_EXIT_OK) {
        mien_store_close(src);
        return rc;
    }
    mien_store_options so = {.key_file = o->to_key, .create_key = true};
    mien_status st = cli_store_open_with(o->to, &so, &dst, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien migrate: cannot open the target: %s (%s)\n", err.message,
                mien_strerror(st));
        mien_store_close(src);
        return CLI_EXIT_FAIL;
    }
    bool created = mien_store_key_created(dst) != 0;
    if (created) {
        fprintf(stderr, "mien migrate: created the target's key file %s (mode 0600): back it "
                        "up; without it the copied templates cannot be read\n",
                mien_store_key_file(dst));
    }
    cli_context_init(&cx, "migration", NULL);
    st = mien_store_copy(src, dst, &cx.ctx, &rep, &err);
    if (st == MIEN_OK) {
        st = sum_store(dst, &after, &err);
    }
    if (st != MIEN_OK) {
        rc = cli_fail("migrate", st, &err);
    } else if (!after.audit.ok) {
        fprintf(stderr, "mien migrate: the copy's audit log does not verify: %s\n",
                after.audit.problem);
        rc = CLI_EXIT_TAMPERED;
    } else if (!counts_agree(&before, &rep, &after)) {
        rc = CLI_EXIT_FAIL;
    } else {
        double seconds = (mien_now_ms() - t0) / 1e3;
        if (o->json) {
            print_json(&before, &rep, &after, created, seconds);
        } else {
            print_text(&rep, &after, seconds);
        }
        if (!rep.same_key_file && rep.keys > 0) {
            fprintf(stderr, "mien migrate: the target has another key file than the source: "
                            "the %lld copied API keys stay listed but no longer verify (their "
                            "hashes are keyed with the source's key file); create new ones with "
                            "`mien keys create`\n", (long long)rep.keys);
        }
        rc = CLI_EXIT_OK;
    }
    mien_store_close(dst);
    mien_store_close(src);
    return rc;
}

int cli_cmd_migrate(int argc, char **argv)
{
    migrate_args o = {0};
    return cli_run_parsed(&cmd, argc, argv, &o, migrate);
}
