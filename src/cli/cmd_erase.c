/* cmd_erase.c — `mien erase COLL --subject ID [--store URI] [--json]`: erases a subject. Its
 * templates and crops leave the store (and the bytes leave the database file: the store
 * scrubs and checkpoints), and the subject row goes. Prints what was deleted. Exit 0; 1 when
 * there is no such collection or subject, or the store fails; 2 for bad usage. */
#include <string.h>

#include "cli.h"

int cli_cmd_erase(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    const char *collection = NULL, *subject = NULL, *store_uri = NULL;
    bool bad = false;
    mien_store *store = NULL;
    mien_erasure e;
    mien_error err;
    mien_status st;
    int rc = CLI_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad)) {
            continue;
        }
        if (strcmp(argv[i], "--subject") == 0 && i + 1 < argc) {
            subject = argv[++i];
        } else if (argv[i][0] == '-' || collection != NULL) {
            fprintf(stderr, "mien erase: unexpected '%s'\n", argv[i]);
            bad = true;
        } else {
            collection = argv[i];
        }
    }
    if (bad || collection == NULL || subject == NULL) {
        fprintf(stderr, "usage: mien erase COLL --subject ID [--store URI] [--json]\n");
        return CLI_EXIT_USAGE;
    }
    if (cli_open_store(store_uri, &store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    st = mien_erase_subject(store, collection, subject, &e, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("erase", st, &err);
    } else if (c.json) {
        printf("{\"collection\":");
        cli_json_string(stdout, collection);
        printf(",\"subject\":");
        cli_json_string(stdout, subject);
        printf(",\"faces_deleted\":%lld,\"crops_deleted\":%lld}\n", (long long)e.faces_deleted,
               (long long)e.crops_deleted);
    } else {
        printf("erased subject %s from %s: %lld faces (templates), %lld crops deleted\n",
               subject, collection, (long long)e.faces_deleted, (long long)e.crops_deleted);
    }
    mien_store_close(store);
    return rc;
}
