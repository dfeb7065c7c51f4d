/* cmd_bench_replay: `evcat bench --replay FILE` (evcat(1), BENCH,
 * "Conversations"): the options that go with it, their checks, the
 * recording read and validated once before any connection starts, the
 * script built from it that every connection of every worker shares, and
 * what of it goes into the test's id. The driver's side is
 * bench_ws_replay.c. */
#include "cmd_bench.h"
#include "diag.h"
#include "redact.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A recording is read whole into memory (as `evcat replay` does): this
 * bounds it. */
#define REPLAY_MAX_FILE (1ull << 30)

int bench_replay_option(bench_replay_opts_t *r, const opt_hit_t *h)
{
    char *end;
    switch (h->id) {
    case OPT_REPLAY:
        r->file = h->arg;
        return 0;
    case OPT_SPEED:
        errno = 0;
        r->speed = strtod(h->arg, &end);
        if (end == h->arg || *end || errno || !isfinite(r->speed) || r->speed <= 0 ||
            r->speed > 1e6) {
            diag_error("bench: --speed '%s' is not a positive number such as 2 or 0.5", h->arg);
            return -1;
        }
        r->speed_set = true;
        return 0;
    case OPT_NO_TIMING:
        r->no_timing = true;
        return 0;
    case OPT_EXPECT:
        r->expect = true;
        return 0;
    case OPT_TEMPLATE:
        r->tmpl = true;
        return 0;
    default:
        return 1;
    }
}

static bool is_sse_url(const char *u)
{
    return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

int bench_replay_check(bench_opts_t *o, char **urls, int nurls)
{
    const bench_replay_opts_t *r = &o->replay;
    const char *why = NULL;
    if (!r->file && (r->speed_set || r->no_timing || r->expect || r->tmpl))
        why = r->speed_set   ? "--speed needs --replay FILE"
              : r->no_timing ? "--no-timing needs --replay FILE"
              : r->expect    ? "--expect needs --replay FILE"
                             : "--template needs --replay FILE";
    else if (r->speed_set && r->no_timing)
        why = "--speed and --no-timing exclude each other";
    else if (r->file && o->mode >= 0)
        why = "--replay and --mode exclude each other (each connection plays the recording)";
    else if (r->file && o->publish)
        why = "--publish applies to subscribers (SSE, or --mode subscribe), not to --replay";
    if (why) {
        diag_error("bench: %s", why);
        return -1;
    }
    if (!r->file)
        return 0;
    for (int i = 0; i < nurls; i++) {
        if (is_sse_url(urls[i])) {
            char *shown = redact_url(urls[i]);
            diag_error("bench: --replay plays a WebSocket conversation: '%s' is an SSE URL "
                       "(give a ws:// or wss:// URL)",
                       shown);
            free(shown);
            return -1;
        }
    }
    o->mode = BENCH_WS_REPLAY;
    return 0;
}

int bench_replay_load(bench_replay_opts_t *r, const ws_cli_opts_t *wo)
{
    if (!r->file)
        return 0;
    char err[512];
    if (rec_load(r->file, REPLAY_MAX_FILE, (size_t)wo->max_message, &r->rec, err, sizeof(err)) <
        0) {
        diag_error("bench: --replay %s", err); /* names the file and the line */
        return -1;
    }
    if (r->rec.truncated)
        diag_warn("bench: --replay %s: the last line is cut short (the recording was "
                  "interrupted); playing the %zu messages before it",
                  r->file, r->rec.nmsgs);
    replay_script_opts_t so = {
        .speed = r->speed_set ? r->speed : 1,
        .no_timing = r->no_timing,
        .expect = r->expect,
        .tmpl = r->tmpl,
        .on_open = wo->on_open,
        .non_open = wo->non_open,
        .max_message = (size_t)wo->max_message,
    };
    if (replay_script_build(&r->script, &r->rec, &so, err, sizeof(err)) < 0) {
        diag_error("bench: --replay %s: %s", r->file, err);
        return -1;
    }
    const replay_script_t *s = &r->script;
    if (s->unknown_line)
        diag_warn("bench: --replay %s: line %" PRIu32 ": %s is not a template field ({{conn}}, "
                  "{{seq}}); it is left as it is",
                  r->file, s->unknown_line, s->unknown);
    if (s->nouts == 0)
        diag_warn("bench: --replay %s: no outgoing message to play: connections only count "
                  "what arrives",
                  r->file);
    if (r->expect && s->nins == 0)
        diag_warn("bench: --replay %s: no incoming text or binary message to compare: "
                  "--expect counts any reply as a mismatch",
                  r->file);
    return 0;
}

void bench_replay_id(const bench_replay_opts_t *r, char *out, size_t n)
{
    if (!r->file) {
        snprintf(out, n, "%s", "");
        return;
    }
    snprintf(out, n, "replay=%016" PRIx64 " speed=%.9g timing=%d expect=%d template=%d",
             r->script.content_hash, r->speed_set ? r->speed : 1.0, (int)!r->no_timing,
             (int)r->expect, (int)r->tmpl);
}

void bench_replay_free(bench_replay_opts_t *r)
{
    replay_script_free(&r->script);
    rec_free(&r->rec);
}
