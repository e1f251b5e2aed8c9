/* cmd_serve.c — `mien serve`: the HTTP API (src/server/, openapi.yaml, docs/api.md).
 *
 *   mien serve [--listen HOST:PORT] [--store URI] [--models DIR] [--workers N] [--queue N]
 *              [--max-body BYTES] [--timeout SECONDS] [--header-timeout SECONDS]
 *              [--max-client-connections N] [--web DIR] [--bootstrap-admin]
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

/* ---- --selftest-throughput: what the HTTP detect route does, minus HTTP ---- */

typedef struct selftest {
    mien_engine *engine;
    const uint8_t *bytes;
    size_t size;
    double until;
    atomic_long images;
    atomic_bool failed;
} selftest;

static void *selftest_worker(void *arg)
{
    selftest *t = arg;
    mien_session *s = NULL;
    mien_error err;
    mien_image_options io = mien_image_options_faces(); /* as the server decodes */
    if (mien_session_new(t->engine, &s, &err) != MIEN_OK) {
        atomic_store(&t->failed, true);
        return NULL;
    }
    while (mien_now_ms() / 1e3 < t->until) {
        mien_image *img = NULL;
        mien_face *faces = NULL;
        size_t n = 0;
        if (mien_image_decode(t->bytes, t->size, &io, &img, &err) != MIEN_OK ||
            mien_detect(s, img, NULL, &faces, &n, &err) != MIEN_OK) {
            atomic_store(&t->failed, true);
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
    uint8_t *buf = NULL;
    size_t size = 0;
    pthread_t th[256];
    int started = 0;
    double t0;
    if (cli_read_file(path, &buf, &size) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    if (size == 0) {
        fprintf(stderr, "mien serve: %s is empty\n", path);
        free(buf);
        return CLI_EXIT_FAIL;
    }
    if (cli_open_engine(&c, &t.engine) != MIEN_OK) {
        free(buf);
        return CLI_EXIT_FAIL;
    }
    t.bytes = buf;
    t.size = size;
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

typedef struct serve_args {
    server_config cfg;
    const char *selftest_image; /* --selftest-throughput IMAGE */
    int seconds;                /* its duration */
    bool print_routes;
} serve_args;

/* A count in 0..hi where 0 turns the limit off: stored as -1, since 0 is server_config's
 * "default". */
static bool zero_means_off(const char *v, void *dest, int hi)
{
    int n;
    if (!cli_parse_int(v, 0, hi, &n)) {
        return false;
    }
    *(int *)dest = n == 0 ? -1 : n;
    return true;
}

/* --purge-interval: seconds, at most 31 days (retention is counted in days); 0 turns the
 * periodic purge off. */
static bool opt_purge_interval(const char *v, void *dest)
{
    return zero_means_off(v, dest, 31 * 86400);
}

/* --max-client-connections: 0..100000; 0 is no limit. */
static bool opt_client_connections(const char *v, void *dest)
{
    return zero_means_off(v, dest, 100000);
}

/* --max-body: bytes in 1..2^31, into a size_t. */
static bool opt_max_body(const char *v, void *dest)
{
    char *end = NULL;
    unsigned long long b = strtoull(v, &end, 10);
    if (v[0] == '\0' || *end != '\0' || b == 0 || b > (1ull << 31)) {
        return false;
    }
    *(size_t *)dest = (size_t)b;
    return true;
}

static const cli_opt opts[] = {
    {"--listen", CLI_OPT_STRING, offsetof(serve_args, cfg.listen), "HOST:PORT",
     .help = "where to listen (default 127.0.0.1:8080)"},
    CLI_OPT_STORE(serve_args, cfg.store_uri),
    {"--models", CLI_OPT_STRING, offsetof(serve_args, cfg.models_dir), "DIR",
     .help = "the models folder (default $MIEN_MODELS, ./models, else the installed ones)"},
    {"--workers", CLI_OPT_INT, offsetof(serve_args, cfg.workers), "N",
     .help = "inference threads (default: online CPUs; at most 256)", .lo = 1, .hi = 100000,
     .want = "a positive number"},
    {"--queue", CLI_OPT_INT, offsetof(serve_args, cfg.queue), "N",
     .help = "inference jobs waiting at most (default 4 x workers)", .lo = 1, .hi = 100000,
     .want = "a positive number"},
    {"--max-body", CLI_OPT_CALL, offsetof(serve_args, cfg.max_body), "BYTES",
     .help = "the largest request body (default 20 MiB)", .want = "bytes in 1..2^31",
     .parse = opt_max_body},
    {"--timeout", CLI_OPT_INT, offsetof(serve_args, cfg.timeout_s), "SECONDS",
     .help = "seconds a client may take to send its request (default 30)", .lo = 1,
     .hi = 100000, .want = "a positive number"},
    {"--header-timeout", CLI_OPT_INT, offsetof(serve_args, cfg.header_timeout_s), "SECONDS",
     .help = "seconds a connection may take to send a request's headers; then it is closed "
             "without an answer (default 10)",
     .lo = 1, .hi = 100000, .want = "a positive number"},
    {"--max-client-connections", CLI_OPT_CALL, offsetof(serve_args, cfg.max_client_connections),
     "N", .help = "open connections from one client address at most (default 64; 0: no limit)",
     .want = "a number in 0..100000", .parse = opt_client_connections},
    {"--http-threads", CLI_OPT_INT, offsetof(serve_args, cfg.http_threads), "N",
     .help = "HTTP threads (default min(online CPUs, 8); at most 64)", .lo = 1, .hi = 100000,
     .want = "a positive number"},
    {"--web", CLI_OPT_STRING, offsetof(serve_args, cfg.web_dir), "DIR",
     .help = "the web page's folder (default: web/ beside the executable's folder, else ./web, "
             "else the installed one)"},
    {"--bootstrap-admin", CLI_OPT_FLAG, offsetof(serve_args, cfg.bootstrap_admin), NULL,
     .help = "create and print an admin key when the store has none"},
    {"--key-file", CLI_OPT_STRING, offsetof(serve_args, cfg.key_file), "PATH",
     .help = "the store's key file (default $MIEN_KEY_FILE, else the database path + .key); "
             "required off loopback"},
    {"--compare-purposes", CLI_OPT_STRING, offsetof(serve_args, cfg.compare_purposes), "L",
     .help = "purposes POST /v1/compare accepts (default identity_verification)"},
    {"--group-purposes", CLI_OPT_STRING, offsetof(serve_args, cfg.group_purposes), "L",
     .help = "purposes POST /v1/group accepts for photos (default photo_organisation)"},
    {"--purge-interval", CLI_OPT_CALL, offsetof(serve_args, cfg.purge_interval_s), "S",
     .help = "seconds between purges of expired subjects (default 3600; 0: only at start and "
             "on POST /v1/purge)",
     .want = "seconds in 0..2678400", .parse = opt_purge_interval},
    {"--print-routes", CLI_OPT_FLAG, offsetof(serve_args, print_routes), NULL,
     .help = "print one \"METHOD PATTERN\" line per route, then exit"},
    {"--selftest-throughput", CLI_OPT_STRING, offsetof(serve_args, selftest_image), "IMAGE",
     .help = "(bench/serve.sh) decode + detect IMAGE in-process; one JSON line: images/s"},
    {"--seconds", CLI_OPT_INT, offsetof(serve_args, seconds), "S",
     .help = "how long --selftest-throughput runs (default 5)", .lo = 1, .hi = 100000,
     .want = "a positive number"},
    CLI_OPT_END,
};
static const cli_command cmd = {
    "serve",
    "serve [--listen HOST:PORT] [--store URI] [--models DIR] [--workers N]\n"
    "                  [--queue N] [--max-body BYTES] [--timeout SECONDS]\n"
    "                  [--header-timeout SECONDS] [--max-client-connections N] [--web DIR]\n"
    "                  [--bootstrap-admin] [--key-file PATH] [--compare-purposes P1,P2]\n"
    "                  [--purge-interval SECONDS] [--print-routes]",
    opts, 0, 0};

int cli_cmd_serve(int argc, char **argv)
{
    serve_args o = {.seconds = 5};
    int n_args, rc = cli_parse(&cmd, argc, argv, &o, &n_args);
    if (rc != CLI_PARSED) {
        return rc;
    }
    o.cfg.workers = o.cfg.workers > 256 ? 256 : o.cfg.workers;
    o.cfg.http_threads = o.cfg.http_threads > 64 ? 64 : o.cfg.http_threads;
    if (o.print_routes) {
        size_t n = 0;
        const server_route_info *routes = server_routes(&n);
        for (size_t k = 0; k < n; k++) {
            printf("%s %s\n", routes[k].method, routes[k].pattern);
        }
        return CLI_EXIT_OK;
    }
    if (o.selftest_image != NULL) {
        return selftest_throughput(o.selftest_image, o.cfg.models_dir,
                                   o.cfg.workers > 0 ? o.cfg.workers
                                                   : (int)sysconf(_SC_NPROCESSORS_ONLN),
                                   o.seconds);
    }
    /* the engine's environment ($MIEN_MODELS, $MIEN_PRECISION), as every command reads it */
    cli_common c = {.models_dir = o.cfg.models_dir, .threads = 1};
    mien_engine_options eo;
    if (!cli_engine_options(&c, &eo)) {
        return CLI_EXIT_FAIL;
    }
    o.cfg.models_dir = eo.models_dir;
    o.cfg.web_fallback = cli_installed_web_dir;
    o.cfg.precision = eo.precision;
    o.cfg.profile = eo.profile;
    /* the store's ($MIEN_STORE, $MIEN_KEY_FILE, $MIEN_NOW, $MIEN_AUDIT_HEAD), likewise */
    mien_store_options so = {.key_file = o.cfg.key_file};
    mien_error err;
    if (cli_store_env(&o.cfg.store_uri, &so, &err) != MIEN_OK) {
        fprintf(stderr, "mien serve: cannot open the store: %s\n", err.message);
        return CLI_EXIT_FAIL;
    }
    o.cfg.key_file = so.key_file;
    o.cfg.now = so.now;
    o.cfg.audit_head = so.audit_head;
    return server_run(&o.cfg) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
