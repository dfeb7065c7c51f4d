/* cmd_serve: `evcat serve` — options, signals, the listening line and the
 * exit summary around serve.c. */
#include "cliopt.h"
#include "commands.h"
#include "exitcode.h"
#include "diag.h"
#include "units.h"
#include "serve.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* What serve takes from the command line. */
struct serve_args {
    serve_config_t cfg;
    const char *listen; /* argv string, or the default */
    bool max_connections_set;
};

static int bad_value(const opt_hit_t *h, const char *expected)
{
    diag_error("serve: bad value '%s' for --%s (%s)", h->arg, opt_options[h->id].name, expected);
    return -1;
}

/* The value of a timeout: a duration, not 0. */
static int positive_ms(const opt_hit_t *h, uint64_t *out)
{
    if (parse_duration_ms(h->arg, out) < 0 || *out == 0)
        return bad_value(h, "a duration like 10s, not 0");
    return 0;
}

static int serve_option(void *ud, const opt_hit_t *h)
{
    struct serve_args *a = ud;
    serve_config_t *cfg = &a->cfg;
    uint64_t v;
    if (verbosity_handle(h))
        return 0;
    switch (h->id) {
    case OPT_LISTEN:
        a->listen = h->arg;
        return 0;
    case OPT_TLS:
        cfg->tls_cert = h->arg;
        cfg->tls_key = h->arg2;
        return 0;
    case OPT_TICK:
        if (parse_duration_ms(h->arg, &cfg->tick_ms) < 0)
            return bad_value(h, "a duration like 500ms or 1s; 0 = off");
        return 0;
    case OPT_KEEPALIVE:
        if (parse_duration_ms(h->arg, &cfg->keepalive_ms) < 0)
            return bad_value(h, "a duration like 15s; 0 = off");
        return 0;
    case OPT_RETRY:
        if (parse_uint(h->arg, 86400000, &cfg->retry_ms) < 0)
            return bad_value(h, "milliseconds, at most 86400000");
        return 0;
    case OPT_HISTORY:
        if (parse_uint(h->arg, 10000000, &v) < 0)
            return bad_value(h, "a number of events, at most 10000000");
        cfg->history = (size_t)v;
        return 0;
    case OPT_MAX_MESSAGE:
        if (parse_size(h->arg, &v) < 0 || v == 0 || v > (256u << 20))
            return bad_value(h, "a size like 64k or 1M, at most 256M");
        cfg->max_message = (size_t)v;
        return 0;
    case OPT_MAX_QUEUE:
        if (parse_size(h->arg, &v) < 0 || v < 1024 || v > (1ull << 32))
            return bad_value(h, "a size like 4M, from 1k to 4G");
        cfg->max_queue = (size_t)v;
        return 0;
    case OPT_MAX_CONNECTIONS:
        if (parse_uint(h->arg, 1000000, &v) < 0 || v == 0)
            return bad_value(h, "a number from 1 to 1000000");
        cfg->max_connections = (size_t)v;
        a->max_connections_set = true;
        return 0;
    case OPT_HEADER_TIMEOUT:
        return positive_ms(h, &cfg->header_timeout_ms);
    case OPT_IDLE_TIMEOUT:
        return positive_ms(h, &cfg->idle_timeout_ms);
    case OPT_NO_COMPRESS:
        cfg->compress = false;
        return 0;
    case OPT_TOKENS:
        if (parse_uint(h->arg, 1000000, &cfg->tokens) < 0 || cfg->tokens == 0)
            return bad_value(h, "a number of tokens from 1 to 1000000");
        return 0;
    case OPT_FIRST_TOKEN:
    case OPT_TOKEN_INTERVAL:
        if (parse_duration_us(h->arg, &v) < 0 || v > 3600u * 1000000u)
            return bad_value(h, "a duration like 50ms, at most 1h");
        *(h->id == OPT_FIRST_TOKEN ? &cfg->first_token_ns : &cfg->token_interval_ns) = v * 1000;
        return 0;
    default:
        return opt_unhandled("serve", h);
    }
}

static void on_signal(loop_t *l, int signo, void *ud)
{
    serve_t **srv = ud;
    diag_verbose("serve: %s: stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
    if (*srv)
        serve_stop(*srv);
    else
        loop_stop(l);
}

/* An explicit --max-connections past what the descriptor limit allows. */
static void check_nofile(size_t want, uint64_t limit)
{
    if (want + SERVE_FD_RESERVE > limit)
        diag_warn("serve: --max-connections %zu exceeds what %" PRIu64 " descriptors allow "
                  "(%zu); accepts will pause at the limit",
                  want, limit, limit > SERVE_FD_RESERVE ? (size_t)(limit - SERVE_FD_RESERVE) : 0);
}


/* The line at exit. */
static void serve_summary(const serve_stats_t *st)
{
    char chat[64] = ""; /* only when there were any: the line stays short otherwise */
    if (st->completions)
        snprintf(chat, sizeof(chat), "; %llu chat completion%s",
                 (unsigned long long)st->completions, st->completions == 1 ? "" : "s");
    diag_info("served %llu connection%s, %llu request%s; published %llu event%s (+%llu ticks); "
             "dropped %llu slow subscriber%s; WebSocket: %llu connection%s, %llu message%s "
             "received%s",
             (unsigned long long)st->connections, st->connections == 1 ? "" : "s",
             (unsigned long long)st->requests, st->requests == 1 ? "" : "s",
             (unsigned long long)st->published, st->published == 1 ? "" : "s",
             (unsigned long long)st->ticks, (unsigned long long)st->dropped,
             st->dropped == 1 ? "" : "s", (unsigned long long)st->ws_connections,
             st->ws_connections == 1 ? "" : "s", (unsigned long long)st->ws_messages,
             st->ws_messages == 1 ? "" : "s", chat);
}

/* Serves cfg until SIGINT or SIGTERM. */
static int serve_run(const serve_config_t *cfg)
{
    loop_t *l = loop_new();
    if (!l) {
        diag_error("serve: cannot create the event loop");
        return EXIT_FAIL;
    }
    /* Signals first: a SIGTERM right after the port opens must still end
     * the server cleanly. */
    serve_t *srv = NULL;
    if (loop_signal(l, SIGINT, on_signal, &srv) < 0 ||
        loop_signal(l, SIGTERM, on_signal, &srv) < 0) {
        diag_error("serve: cannot watch signals");
        loop_free(l);
        return EXIT_FAIL;
    }
    char err[512];
    int rc = serve_start(l, cfg, &srv, err, sizeof(err));
    if (rc < 0) {
        diag_error("%s", err);
        loop_free(l);
        return rc == SERVE_EUSAGE ? EXIT_USAGE : EXIT_FAIL;
    }

    char addr[80];
    serve_local_addr(srv, addr, sizeof(addr));
    const char *scheme = serve_is_tls(srv) ? "https" : "http";
    diag_info("serving a page for browsers on %s://%s/", scheme, addr);
    diag_info("serving SSE on %s://%s/sse (publish: POST %s://%s/publish)", scheme, addr, scheme,
             addr);
    const char *wscheme = serve_is_tls(srv) ? "wss" : "ws";
    diag_info("serving WebSocket on %s://%s/ws (the channel) and %s://%s/echo", wscheme, addr,
             wscheme, addr);
    diag_info("serving chat completions on POST %s://%s/v1/chat/completions (%llu tokens, the "
              "first after %.6gms, then every %.6gms)",
              scheme, addr, (unsigned long long)cfg->tokens, (double)cfg->first_token_ns / 1e6,
              (double)cfg->token_interval_ns / 1e6);

    int status = EXIT_OK;
    rc = loop_run(l);
    if (rc < 0) {
        diag_error("serve: event loop failed: %s", strerror(-rc));
        status = EXIT_FAIL;
    }
    serve_summary(serve_stats(srv));
    serve_free(srv);
    loop_free(l);
    return status;
}

int cmd_serve(int argc, char **argv)
{
    struct serve_args a = {.listen = "127.0.0.1:8080"};
    serve_config_defaults(&a.cfg);
    a.cfg.compress = true; /* unless --no-compress */
    int first = opt_parse(CMD_SERVE, argc, argv, serve_option, &a);
    if (first < 0)
        return first == OPT_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
    if (first < argc) {
        diag_error("serve: unexpected argument '%s' (see 'evcat serve --help')", argv[first]);
        return EXIT_USAGE;
    }
    if (serve_parse_listen(a.listen, &a.cfg.addr, &a.cfg.addr_len) < 0) {
        diag_error("serve: bad --listen address '%s' (expected ADDR:PORT, e.g. 127.0.0.1:8080 or "
                  "[::1]:8080)",
                  a.listen);
        return EXIT_USAGE;
    }
    uint64_t nofile = nofile_raise("serve");
    if (a.max_connections_set)
        check_nofile(a.cfg.max_connections, nofile);
    else
        a.cfg.max_connections = serve_default_max_connections(); /* of the raised limit */
    diag_verbose("serve: at most %zu connections%s", a.cfg.max_connections,
                 a.max_connections_set ? "" : " (what the descriptor limit allows)");
    return serve_run(&a.cfg);
}
