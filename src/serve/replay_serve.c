/* replay_serve: `evcat replay FILE --serve` — the server in playback mode
 * (playback.h says what each client gets), with the loop, the signals, the
 * listening line and the summary around it, as cmd_serve.c does for
 * `evcat serve`. */
#include "exitcode.h"
#include "diag.h"
#include "playback.h"
#include "replay_serve.h"
#include "serve.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void on_signal(loop_t *l, int signo, void *ud)
{
    serve_t **srv = ud;
    diag_verbose("replay: %s: stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
    if (*srv)
        serve_stop(*srv);
    else
        loop_stop(l);
}

int replay_serve_run(const recording_t *rec, const char *listen_addr, const char *tls_cert,
                     const char *tls_key, double speed, bool no_timing)
{
    serve_config_t cfg;
    serve_config_defaults(&cfg);
    /* Nothing of the channel: no ticks, no history; only the recording. */
    cfg.tick_ms = 0;
    cfg.keepalive_ms = 0;
    cfg.history = 0;
    cfg.playback = rec;
    cfg.speed = speed;
    cfg.no_timing = no_timing;
    cfg.tls_cert = tls_cert;
    cfg.tls_key = tls_key;
    if (!no_timing && !(speed > 0 && speed < 1e9)) {
        diag_error("replay: bad --speed %g (a factor above 0, e.g. 2 or 0.5)", speed);
        return EXIT_USAGE;
    }
    if ((tls_cert == NULL) != (tls_key == NULL)) {
        diag_error("replay: --tls needs two arguments: CERT KEY");
        return EXIT_USAGE;
    }
    if (!listen_addr)
        listen_addr = "127.0.0.1:8080";
    if (serve_parse_listen(listen_addr, &cfg.addr, &cfg.addr_len) < 0) {
        diag_error("replay: bad --listen address '%s' (expected ADDR:PORT, e.g. 127.0.0.1:8080 or "
                  "[::1]:8080)",
                  listen_addr);
        return EXIT_USAGE;
    }

    loop_t *l = loop_new();
    if (!l) {
        diag_error("replay: cannot create the event loop");
        return EXIT_FAIL;
    }
    serve_t *srv = NULL;
    if (loop_signal(l, SIGINT, on_signal, &srv) < 0 ||
        loop_signal(l, SIGTERM, on_signal, &srv) < 0) {
        diag_error("replay: cannot watch signals");
        loop_free(l);
        return EXIT_FAIL;
    }
    char err[512];
    int rc = serve_start(l, &cfg, &srv, err, sizeof(err));
    if (rc < 0) {
        /* serve_start's reasons begin with "serve: ": say which command failed. */
        const char *why = strncmp(err, "serve: ", 7) == 0 ? err + 7 : err;
        diag_error("replay: %s", why);
        loop_free(l);
        return rc == SERVE_EUSAGE ? EXIT_USAGE : EXIT_FAIL;
    }

    size_t n = playback_count(rec);
    bool ws = rec->proto == REC_WS;
    char addr[80];
    serve_local_addr(srv, addr, sizeof(addr));
    const char *scheme = serve_is_tls(srv) ? (ws ? "wss" : "https") : (ws ? "ws" : "http");
    diag_info("replaying %s (%zu message%s, %s) on %s://%s/ (any path)",
             rec->url && rec->url[0] ? rec->url : "a recording", n, n == 1 ? "" : "s",
             ws ? "WebSocket" : "SSE", scheme, addr);
    if (n == 0)
        diag_warn("replay: the recording has no %s to play: every client gets an empty playback",
                 ws ? "incoming messages" : "events");

    int status = EXIT_OK;
    rc = loop_run(l);
    if (rc < 0) {
        diag_error("replay: event loop failed: %s", strerror(-rc));
        status = EXIT_FAIL;
    }
    const serve_stats_t *st = serve_stats(srv);
    diag_info("replayed to %llu client%s (%llu message%s sent); %llu connection%s",
             (unsigned long long)st->playbacks, st->playbacks == 1 ? "" : "s",
             (unsigned long long)st->played, st->played == 1 ? "" : "s",
             (unsigned long long)st->connections, st->connections == 1 ? "" : "s");
    serve_free(srv);
    loop_free(l);
    return status;
}
