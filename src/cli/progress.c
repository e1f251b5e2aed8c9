/* progress.c — the bar of a long run: one line on stderr, redrawn in place, only when stderr
 * is a terminal (a log file or a pipe gets none of it), the run has more than a few images
 * and no --json was asked (as `mien enroll --from-dir`: a program reads that run). It never
 * touches stdout. */
#include <unistd.h>

#include "cli.h"

/* Redraws at most this often: a terminal need not repaint per image. */
#define PROGRESS_REFRESH_MS 100

static void format_duration(double s, char *out, size_t cap)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);
    if (t >= 3600) {
        snprintf(out, cap, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    } else {
        snprintf(out, cap, "%ldm%02lds", t / 60, t % 60);
    }
}

void cli_progress_bar(size_t done, size_t total, size_t count, const char *unit,
                      double elapsed_s)
{
    enum { WIDTH = 30 };
    char bar[WIDTH + 1], eta[32];
    int fill = total ? (int)((double)done / (double)total * WIDTH) : WIDTH;
    double rate = elapsed_s > 0 ? (double)done / elapsed_s : 0;
    for (int k = 0; k < WIDTH; k++) {
        bar[k] = k < fill ? '#' : '.';
    }
    bar[WIDTH] = '\0';
    if (rate > 0) {
        format_duration((double)(total - done) / rate, eta, sizeof(eta));
    } else {
        snprintf(eta, sizeof(eta), "?");
    }
    fprintf(stderr, "\r[%s] %zu/%zu  %.1f %s/s  ETA %s \033[K", bar, done, total,
            elapsed_s > 0 ? (double)count / elapsed_s : 0.0, unit, eta);
    fflush(stderr);
}

void cli_progress_start(cli_progress *p, size_t total, const char *unit, bool json)
{
    *p = (cli_progress){.total = total, .unit = unit};
    p->on = !json && total > CLI_PROGRESS_MIN_ITEMS && isatty(STDERR_FILENO);
    p->shares_terminal = p->on && isatty(STDOUT_FILENO);
    p->t0 = (double)mien_now_ms();
}

void cli_progress_step(cli_progress *p, size_t count)
{
    double now;
    p->done++;
    p->count += count;
    if (!p->on) {
        return;
    }
    now = (double)mien_now_ms();
    if (now - p->last >= PROGRESS_REFRESH_MS || p->done == p->total) {
        p->last = now;
        p->shown = true;
        cli_progress_bar(p->done, p->total, p->count, p->unit, (now - p->t0) / 1e3);
    }
}

/* Only where stdout writes on the same screen: a line printed there would land after the
 * bar; wiped first, the bar is redrawn at the next step. */
void cli_progress_hide(cli_progress *p)
{
    if (p->shown && p->shares_terminal) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->shown = false;
        p->last = 0;
    }
}

void cli_progress_end(cli_progress *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->shown = false;
    }
}
