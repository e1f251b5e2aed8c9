/* cmd_audit.c — the audit log (mien.h "the audit log"):
 *
 *   mien audit verify [--witness FILE] [--store URI] [--json]
 *   mien audit export [--from T] [--to T] [--store URI]
 *   mien audit reset-head [--store URI]
 *   mien audit join [--store URI]
 *   mien audit head [--store URI] [--json]
 *
 * `verify` recomputes every entry's hash and link and checks the signed chain head kept
 * beside the database: it names the first entry that fails (an altered row) or says the head
 * points past the last entry (rows deleted from the end). Exit 0 when the log is intact, 4
 * when it is not (the first bad entry and the problem on stdout), 1 when the check could not
 * run. --witness FILE checks against a copy of a head kept elsewhere (what `head` printed)
 * instead of the node's own head file.
 *
 * `export` writes the entries from T to T (inclusive; unix seconds, or a UTC date
 * "2024-05-01" or date-time "2024-05-01T12:00:00Z"; a date alone as --to means the end of
 * that day) as JSON lines on stdout, oldest first, in the library's format (src/governance/
 * audit.c: seq, time, time_unix, actor, action, collection, purpose, case_ref, input_sha256,
 * outcome, result, prev_hash, hash). Exit 0; 1 when the store fails or stdout cannot be
 * written; 2 for bad usage.
 *
 * `reset-head` signs the log's end again when the signed head is missing or unusable (a crash
 * before the first head, a lost file) — only when every entry verifies (mien_audit_reset_head;
 * audited). Until then every write to the store fails at its checkpoint, on purpose: a head
 * that vanished may be hiding removed rows. Exit 0; 3 when the chain itself is damaged.
 *
 * `join` makes a node new to a shared PostgreSQL log (its own $MIEN_AUDIT_HEAD, no head file
 * yet) a signer: it verifies the chain, records "audit.join" with the head path and public key,
 * and writes the node's first head (mien_audit_join). Until then the node's writes fail at
 * their checkpoint: a head that is simply absent is never taken for a new node. Exit 0; 3 when
 * the chain is damaged or an unusable head is already there; 1 when the node has joined.
 *
 * `head` prints this node's signed head (six lines; --json: one line) for a witness off the
 * machine: `mien audit head --json | logger -t mien-audit`, or a copy on another host, lets
 * `verify --witness` catch a writer who deleted the newest rows and every head here. Exit 0;
 * 1 when there is no valid head. */
#include <string.h>

#include "cli.h"

/* The arguments of every action; each action's table takes its own. */
typedef struct audit_args {
    cli_common c;
    const char *store;
    int64_t from, to;    /* export: unix seconds, 0 for no bound */
    const char *witness; /* verify: a head file kept elsewhere; NULL: the node's own */
} audit_args;

#define TIME_WANT "unix seconds or a UTC date (2024-05-01) or date-time (2024-05-01T12:00:00Z)"

static const cli_opt export_opts[] = {
    {"--from", CLI_OPT_CALL, offsetof(audit_args, from), "T",
     .help = "the first time to export", .want = TIME_WANT, .parse = cli_opt_time_from},
    {"--to", CLI_OPT_CALL, offsetof(audit_args, to), "T",
     .help = "the last time to export (a date: its end)", .want = TIME_WANT,
     .parse = cli_opt_time_to},
    CLI_OPTS_END_STORE(audit_args),
};
static const cli_opt plain_opts[] = {CLI_OPTS_END_STORE(audit_args)};
static const cli_opt verify_opts[] = {
    {"--witness", CLI_OPT_STRING, offsetof(audit_args, witness), "FILE",
     .help = "check against this copy of a signed head (`mien audit head`), not the node's"},
    CLI_OPTS_END_STORE(audit_args),
};

static const cli_command verify_cmd = {
    "audit verify", "audit verify [--witness FILE] [--store URI] [--json]", verify_opts, 0, 0};
static const cli_command export_cmd = {
    "audit export", "audit export [--from T] [--to T] [--store URI]\n"
                    "(T: unix seconds, or a UTC date 2024-05-01 or date-time "
                    "2024-05-01T12:00:00Z)",
    export_opts, 0, 0};
static const cli_command reset_cmd = {"audit reset-head", "audit reset-head [--store URI]",
                                      plain_opts, 0, 0};
static const cli_command join_cmd = {"audit join", "audit join [--store URI]", plain_opts, 0,
                                     0};
static const cli_command head_cmd = {"audit head", "audit head [--store URI] [--json]",
                                     plain_opts, 0, 0};

/* `audit verify`: prints the report; returns the exit code (0 intact, 4 not, 1 no check). */
static int verify(mien_store *store, void *args, char **pos, int n_pos)
{
    const audit_args *o = args;
    (void)pos;
    (void)n_pos;
    bool json = o->c.json;
    mien_audit_report r;
    mien_error err;
    mien_status st = o->witness != NULL ? mien_audit_verify_witness(store, o->witness, &r, &err)
                                        : mien_audit_verify(store, &r, &err);
    if (st != MIEN_OK) {
        return cli_fail("audit verify", st, &err);
    }
    if (json) {
        printf("{\"ok\":%s,\"entries\":%lld,\"first_bad\":", r.ok ? "true" : "false",
               (long long)r.entries);
        if (r.first_bad > 0) {
            printf("%lld", (long long)r.first_bad);
        } else {
            printf("null");
        }
        printf(",\"head_seq\":%lld,\"problem\":", (long long)r.head_seq);
        cli_json_string(stdout, r.problem);
        printf(",\"public_key\":\"%s\"}\n", r.public_key);
    } else if (r.ok) {
        printf("audit log intact: %lld entries, signed head at entry %lld (Ed25519 key %s)\n",
               (long long)r.entries, (long long)r.head_seq, r.public_key);
    } else if (r.first_bad > 0) {
        printf("audit log BROKEN at entry %lld: %s\n", (long long)r.first_bad, r.problem);
        printf("(%lld entries checked; signed head at entry %lld)\n", (long long)r.entries,
               (long long)r.head_seq);
    } else {
        printf("audit log BROKEN: %s\n", r.problem);
        printf("(%lld entries checked; signed head at entry %lld)\n", (long long)r.entries,
               (long long)r.head_seq);
    }
    return r.ok ? CLI_EXIT_OK : CLI_EXIT_TAMPERED;
}

/* `audit reset-head`: returns the exit code. */
static int reset_head(mien_store *store, void *args, char **pos, int n_pos)
{
    (void)args;
    (void)pos;
    (void)n_pos;
    mien_audit_report before;
    mien_error err;
    cli_context cx;
    cli_context_init(&cx, NULL, NULL);
    mien_status st = mien_audit_reset_head(store, &cx.ctx, &before, &err);
    if (st != MIEN_OK) {
        return cli_fail("audit reset-head", st, &err);
    }
    if (before.ok) {
        printf("audit log intact (signed head at entry %lld): nothing to reset\n",
               (long long)before.head_seq);
    } else {
        printf("signed head reset at the log's end (it was: %s); recorded in the log\n",
               before.problem);
    }
    return CLI_EXIT_OK;
}

/* `audit join`: returns the exit code. */
static int join(mien_store *store, void *args, char **pos, int n_pos)
{
    (void)args;
    (void)pos;
    (void)n_pos;
    mien_audit_report before;
    mien_audit_head h;
    mien_error err;
    cli_context cx;
    cli_context_init(&cx, NULL, NULL);
    mien_status st = mien_audit_join(store, &cx.ctx, &before, &err);
    if (st == MIEN_OK) {
        st = mien_audit_head_read(store, &h, &err);
    }
    if (st != MIEN_OK) {
        return cli_fail("audit join", st, &err);
    }
    printf("joined the audit log: %lld entries verified; this node's head signs entry %lld "
           "(Ed25519 key %s); recorded in the log\n",
           (long long)before.entries, (long long)h.seq, h.public_key);
    return CLI_EXIT_OK;
}

/* `audit head`: the node's signed head on stdout; returns the exit code. */
static int head(mien_store *store, void *args, char **pos, int n_pos)
{
    const audit_args *o = args;
    (void)pos;
    (void)n_pos;
    mien_audit_head h;
    mien_error err;
    mien_status st = mien_audit_head_read(store, &h, &err);
    if (st != MIEN_OK) {
        return cli_fail("audit head", st, &err);
    }
    if (o->c.json) {
        printf("{\"seq\":%lld,\"hash\":\"%s\",\"time\":%lld,\"public_key\":\"%s\","
               "\"signature\":\"%s\"}\n",
               (long long)h.seq, h.hash, (long long)h.time, h.public_key, h.signature);
    } else {
        fputs(h.text, stdout);
    }
    return CLI_EXIT_OK;
}

/* mien_line_fn: one entry per line on stdout; stops the export when stdout fails (a closed
 * pipe, a full disk). */
static int write_line(void *ctx, const char *line)
{
    (void)ctx;
    return fputs(line, stdout) < 0 || fputc('\n', stdout) == EOF;
}

/* `audit export`: the entries in [from, to] on stdout; returns the exit code. */
static int export(mien_store *store, void *args, char **pos, int n_pos)
{
    const audit_args *o = args;
    (void)pos;
    (void)n_pos;
    mien_error err;
    mien_status st = mien_audit_export(store, o->from, o->to, write_line, NULL, &err);
    if (st != MIEN_OK) {
        return cli_fail("audit export", st, &err);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mien audit export: cannot write the output\n");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* --from and --to in order. */
static bool from_before_to(const void *args)
{
    const audit_args *o = args;
    if (o->to != 0 && o->from > o->to) {
        fprintf(stderr, "mien audit export: --from is after --to\n");
        return false;
    }
    return true;
}

CLI_ACTIONS_COMMAND(cli_cmd_audit, "audit", audit_args,
                    CLI_STORE_ACTION("verify", &verify_cmd, verify, NULL),
                    CLI_STORE_ACTION("export", &export_cmd, export, from_before_to),
                    CLI_STORE_ACTION("reset-head", &reset_cmd, reset_head, NULL),
                    CLI_STORE_ACTION("join", &join_cmd, join, NULL),
                    CLI_STORE_ACTION("head", &head_cmd, head, NULL))
