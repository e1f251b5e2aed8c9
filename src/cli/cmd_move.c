/* cmd_move.c — `mien move COLL --face ID --to SUBJECT [--purpose P] [--case-ref REF]
 * [--store URI] [--json]`: gives an enrolled face (its id, as `mien enroll` prints it) to
 * another subject of the collection, e.g. a photo enrolled under the wrong person. The face's
 * template and crop are re-sealed for the new subject and the move is audited (face.move), in
 * one transaction (mien_face_move); a new subject is made with the consent reference and
 * expiry of the one the face leaves, which stays (`faces left` says with how many faces; erase
 * it with `mien erase` when it was that one face's). Exit 0; 1 when there is no such
 * collection or face, or the store fails; 2 for bad usage. */
#include <string.h>

#include "cli.h"

typedef struct move_args {
    cli_common c;
    const char *store, *to, *purpose, *case_ref;
    int face;
} move_args;

static const cli_opt opts[] = {
    {"--face", CLI_OPT_INT, offsetof(move_args, face), "ID", .help = "the face's id",
     .lo = 1, .hi = 2147483647, .required = true},
    {"--to", CLI_OPT_STRING, offsetof(move_args, to), "SUBJECT",
     .help = "the subject the face moves to", .required = true},
    CLI_OPT_WHY(move_args),
    CLI_OPTS_END_STORE(move_args),
};
static const cli_command cmd = {
    "move", "move COLL --face ID --to SUBJECT [--case-ref REF] [--store URI] [--json]", opts, 1,
    1};

/* Moves face --face of collection pos[0] to subject --to. */
static int move(mien_store *store, void *args, char **pos, int n_pos)
{
    const move_args *o = args;
    const char *collection = pos[0];
    cli_context cx;
    int64_t left = 0;
    mien_error err;
    (void)n_pos;
    cli_context_init(&cx, o->purpose, o->case_ref);
    mien_status st = mien_face_move(store, collection, o->face, o->to, &cx.ctx, &left, &err);
    if (st != MIEN_OK) {
        return cli_fail("move", st, &err);
    }
    if (o->c.json) {
        printf("{\"collection\":");
        cli_json_string(stdout, collection);
        printf(",\"face_id\":%d,\"subject\":", o->face);
        cli_json_string(stdout, o->to);
        printf(",\"faces_left\":%lld}\n", (long long)left);
    } else {
        printf("face %d of %s is %s's now (re-sealed for it); the subject it left has %lld "
               "faces\n", o->face, collection, o->to, (long long)left);
    }
    return CLI_EXIT_OK;
}

int cli_cmd_move(int argc, char **argv)
{
    move_args o = {.c = {.threads = 1}};
    return cli_run_on_store(&cmd, argc, argv, &o, NULL, move);
}
