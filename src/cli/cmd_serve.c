/* cmd_serve.c — `mien serve`: the HTTP API (src/server/, openapi.yaml, docs/api.md).
 *
 *   mien serve [--listen HOST:PORT] [--store URI] [--models DIR] [--workers N] [--queue N]
 *              [--max-body BYTES] [--timeout SECONDS] [--web DIR] [--bootstrap-admin]
 *              [--key-file PATH] [--compare-purposes P1,P2] [--purge-interval SECONDS]
 *   mien serve --print-routes        one "METHOD PATTERN" line per route, then exit
 *   mien serve --selftest-throughput IMAGE [--workers N] [--seconds S]
 *                                    (for bench/serve.sh) decode + detect IMAGE in-process on
 *                                    N threads for S seconds; prints one JSON line: images/s
 *
 * Exit codes: 0 after SIGTERM/SIGINT and a clean shutdown; 1 when the service cannot start;
 * 2 bad usage. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../server/server.h"
#include "cli.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: mien serve [--listen HOST:PORT] [--store URI] [--models DIR] [--workers N]\n"
            "                  [--queue N] [--max-body BYTES] [--timeout SECONDS] [--web DIR]\n"
            "                  [--bootstrap-admin] [--key-file PATH] [--compare-purposes P1,P2]\n"
            "                  [--purge-interval SECONDS] [--print-routes]\n"
            "  --key-file PATH        the store's key file (default $MIEN_KEY_FILE, else the\n"
            "                         database path + .key); required off loopback\n"
            "  --compare-purposes L   purposes POST /v1/compare accepts (default\n"
            "                         identity_verification)\n"
            "  --purge-interval S     seconds between purges of expired subjects (default\n"
            "                         3600; 0: only at start and on POST /v1/purge)\n");
}

/* ---- --selftest-throughput: what the HTTP detect route does, minus HTTP ---- */

typedef struct selftest {
    mien_engine *engine;
    const uint8_t *bytes;
    size_t size;
    double until;
    atomic_long images;
    atomic_int failed;
} selftest;

static void *selftest_worker(void *arg)
{
    selftest *t = arg;
    mien_session *s = NULL;
    mien_error err;
    mien_image_options io = mien_image_options_faces(); /* as the server decodes */
    if (mien_session_new(t->engine, &s, &err) != MIEN_OK) {
        atomic_store(&t->failed, 1);
        return NULL;
    }
    while (mien_now_ms() / 1e3 < t->until) {
        mien_image *img = NULL;
        mien_face *faces = NULL;
        size_t n = 0;
        if (mien_image_decode(t->bytes, t->size, &io, &img, &err) != MIEN_OK ||
            mien_detect(s, img, NULL, &faces, &n, &err) != MIEN_OK) {
            atomic_store(&t->failed, 1);
            mien_image_free(img);
            break;
        }
        mien_faces_free(faces);
        mien_image_free(img);
        atomic_fetch_add(&t->images, 1);
    }
    mien_session_free(s);
    return NULL;
}

static int selftest_throughput(const char *path, const char *models, int workers, double seconds)
{
    cli_common c = {.models_dir = models, .threads = 1};
    selftest t = {0};
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size = -1;
    pthread_t th[256];
    int started = 0;
    double t0;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)size)) == NULL ||
        fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "mien serve: cannot read %s\n", path);
        if (f != NULL) {
            fclose(f);
        }
        free(buf);
        return CLI_EXIT_FAIL;
    }
    fclose(f);
    if (cli_open_engine(&c, &t.engine) != MIEN_OK) {
        free(buf);
        return CLI_EXIT_FAIL;
    }
    t.bytes = buf;
    t.size = (size_t)size;
    /* one warm-up run per worker's first shape happens inside the timed loop, as in the
     * server after start; a 1 s lead-in keeps it out of the figure */
    t.until = mien_now_ms() / 1e3 + 1.0;
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&th[started], NULL, selftest_worker, &t) == 0) {
            started++;
        }
    }
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
    }
    atomic_store(&t.images, 0);
    started = 0;
    t0 = mien_now_ms() / 1e3;
    t.until = t0 + seconds;
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&th[started], NULL, selftest_worker, &t) == 0) {
            started++;
        }
    }
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
    }
    double dt = mien_now_ms() / 1e3 - t0;
    printf("{\"case\":\"in_process_detect\",\"workers\":%d,\"seconds\":%.2f,\"images\":%ld,"
           "\"images_per_s\":%.2f}\n",
           started, dt, atomic_load(&t.images), (double)atomic_load(&t.images) / dt);
    mien_engine_free(t.engine);
    free(buf);
    return atomic_load(&t.failed) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_cmd_serve(int argc, char **argv)
{
    server_config cfg = {0};
    const char *selftest_image = NULL;
    double seconds = 5;
    bool bad = false, print_routes = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int n;
        if (strcmp(a, "--print-routes") == 0) {
            print_routes = true;
        } else if (strcmp(a, "--bootstrap-admin") == 0) {
            cfg.bootstrap_admin = true;
        } else if (v == NULL) {
            fprintf(stderr, "mien serve: unexpected '%s'\n", a);
            bad = true;
        } else if (strcmp(a, "--listen") == 0) {
            cfg.listen = argv[++i];
        } else if (strcmp(a, "--store") == 0) {
            cfg.store_uri = argv[++i];
        } else if (strcmp(a, "--models") == 0) {
            cfg.models_dir = argv[++i];
        } else if (strcmp(a, "--web") == 0) {
            cfg.web_dir = argv[++i];
        } else if (strcmp(a, "--key-file") == 0) {
            cfg.key_file = argv[++i];
        } else if (strcmp(a, "--compare-purposes") == 0) {
            cfg.compare_purposes = argv[++i];
        } else if (strcmp(a, "--purge-interval") == 0) {
            /* at most 31 days: retention is counted in days */
            if (!cli_parse_int(argv[++i], 0, 31 * 86400, &n)) {
                fprintf(stderr, "mien serve: --purge-interval wants seconds in 0..2678400, got "
                        "'%s'\n", v);
                bad = true;
            } else {
                cfg.purge_interval_s = n == 0 ? -1 : n;
            }
        } else if (strcmp(a, "--selftest-throughput") == 0) {
            selftest_image = argv[++i];
        } else if (strcmp(a, "--workers") == 0 || strcmp(a, "--queue") == 0 ||
                   strcmp(a, "--timeout") == 0 || strcmp(a, "--seconds") == 0 ||
                   strcmp(a, "--http-threads") == 0) {
            if (!cli_parse_int(argv[++i], 1, 100000, &n)) {
                fprintf(stderr, "mien serve: %s wants a positive number, got '%s'\n", a, v);
                bad = true;
            } else if (strcmp(a, "--workers") == 0) {
                cfg.workers = n > 256 ? 256 : n;
            } else if (strcmp(a, "--queue") == 0) {
                cfg.queue = n;
            } else if (strcmp(a, "--timeout") == 0) {
                cfg.timeout_s = n;
            } else if (strcmp(a, "--http-threads") == 0) {
                cfg.http_threads = n > 64 ? 64 : n;
            } else {
                seconds = n;
            }
        } else if (strcmp(a, "--max-body") == 0) {
            char *end = NULL;
            unsigned long long b = strtoull(argv[++i], &end, 10);
            if (*end != '\0' || b == 0 || b > (1ull << 31)) {
                fprintf(stderr, "mien serve: --max-body wants bytes in 1..2^31, got '%s'\n", v);
                bad = true;
            }
            cfg.max_body = (size_t)b;
        } else {
            fprintf(stderr, "mien serve: unexpected '%s'\n", a);
            bad = true;
        }
    }
    if (bad) {
        usage();
        return CLI_EXIT_USAGE;
    }
    if (print_routes) {
        size_t n = 0;
        const server_route_info *routes = server_routes(&n);
        for (size_t k = 0; k < n; k++) {
            printf("%s %s\n", routes[k].method, routes[k].pattern);
        }
        return CLI_EXIT_OK;
    }
    if (selftest_image != NULL) {
        return selftest_throughput(selftest_image, cfg.models_dir,
                                   cfg.workers > 0 ? cfg.workers
                                                   : (int)sysconf(_SC_NPROCESSORS_ONLN),
                                   seconds);
    }
    /* the engine's environment ($MIEN_MODELS, $MIEN_PRECISION), as every command reads it */
    cli_common c = {.models_dir = cfg.models_dir, .threads = 1};
    mien_engine_options eo;
    if (!cli_engine_options(&c, &eo)) {
        return CLI_EXIT_FAIL;
    }
    cfg.models_dir = eo.models_dir;
    cfg.precision = eo.precision;
    cfg.profile = eo.profile;
    return server_run(&cfg) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
