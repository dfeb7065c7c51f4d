/* cmd_serve: `evcat serve` — options, signals, the listening line and the
 * exit summary around serve.c. */
#include "commands.h"
#include "exitcode.h"
#include "diag.h"
#include "units.h"
#include "serve.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static void usage(FILE *f)
{
    static const char *const lines[] = {
        "Usage: evcat serve [OPTIONS]",
        "",
        "A broadcast channel over HTTP/1.1 on loopback:",
        "  GET  /sse                 the channel as Server-Sent Events",
        "  POST /publish[?event=T]   publish the body (UTF-8) as one event: 202 {\"id\":N}",
        "  GET  /ws                  WebSocket: the channel's data as text messages; text",
        "                            sent here is published (type message); binary is ignored",
        "  GET  /echo                WebSocket echo: every text or binary message comes back",
        "",
        "Options:",
        "      --listen ADDR:PORT    where to listen (default 127.0.0.1:8080; [::1]:8080",
        "                            for IPv6; port 0 picks a free one)",
        "      --tls CERT KEY        serve https with this PEM certificate chain and key",
        "      --tick DUR            a tick event every DUR (default 1s; 0 = none)",
        "      --keepalive DUR       with --tick 0, a ': keepalive' comment every DUR so",
        "                            proxies keep idle streams (default 15s; 0 = none)",
        "      --retry MS            retry: sent to each subscriber (default 3000)",
        "      --history N           events kept for Last-Event-ID resume (default 1000;",
        "                            at most 64M of them)",
        "      --max-message SIZE    largest publish body (default 1M; 413 beyond) and",
        "                            largest incoming WebSocket message (close 1009 beyond)",
        "      --max-queue SIZE      bytes pending for a subscriber before it is dropped",
        "                            (default 4M; a /ws client gets close 1008; drops",
        "                            are counted in a warning); a WebSocket client whose",
        "                            echoes or pongs are over it is not read meanwhile",
        "      --max-connections N   beyond this, answer 503 and count them in a warning",
        "                            (default 10000)",
        "      --header-timeout DUR  to receive a request head, and longest pause in a",
        "                            body (default 10s)",
        "      --idle-timeout DUR    keep-alive connection between requests (default 60s)",
        "  -v, --verbose             one line per request and per closed connection",
        "  -q, --quiet               errors only",
        "  -h, --help                this help",
        "",
        "Events carry id: N, one sequence for the channel (ticks included); a",
        "subscriber sending Last-Event-ID (or ?lastEventId=N) gets every later event",
        "still in history, all of it when N is older, nothing when N is unknown.",
        "SIGINT or SIGTERM ends every stream cleanly (WebSocket: close 1001, then a",
        "short wait for the clients' closes) and exits 0.",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        fprintf(f, "%s\n", lines[i]);
}

enum {
    OPT_LISTEN = 256,
    OPT_TLS,
    OPT_TICK,
    OPT_RETRY,
    OPT_HISTORY,
    OPT_MAX_MESSAGE,
    OPT_MAX_QUEUE,
    OPT_MAX_CONNECTIONS,
    OPT_HEADER_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_KEEPALIVE,
};

static const struct option options[] = {
    {"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {"history", required_argument, NULL, OPT_HISTORY},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
    {"max-queue", required_argument, NULL, OPT_MAX_QUEUE},
    {"quiet", no_argument, NULL, 'q'},
    {"retry", required_argument, NULL, OPT_RETRY},
    {"tick", required_argument, NULL, OPT_TICK},
    {"tls", required_argument, NULL, OPT_TLS},
    {"verbose", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

static int bad_value(const char *opt, const char *val, const char *expected)
{
    diag_error("serve: bad value '%s' for --%s (%s)", val, opt, expected);
    return EXIT_USAGE;
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

/* 10k subscribers need 10k descriptors: take the hard limit. */
static void raise_nofile(size_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && want + 32 > rl.rlim_cur)
        diag_warn("serve: --max-connections %zu exceeds what %llu descriptors allow; accepts "
                 "will pause at the limit",
                 want, (unsigned long long)rl.rlim_cur);
}

int cmd_serve(int argc, char **argv)
{
    serve_config_t cfg;
    serve_config_defaults(&cfg);
    const char *listen = "127.0.0.1:8080";
    uint64_t v;

    opterr = 0;
    optind = 0; /* glibc: full re-initialisation */
    /* "+": stop at the first operand (serve takes none), which also keeps
     * --tls's second argument from being moved by getopt's permutation. */
    for (;;) {
        int idx = -1;
        int c = getopt_long(argc, argv, "+:hqv", options, &idx);
        if (c == -1)
            break;
        const char *name = idx >= 0 ? options[idx].name : "";
        switch (c) {
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'q':
            diag_level = -1;
            break;
        case 'v':
            if (diag_level < 0)
                diag_level = 0;
            diag_level++;
            break;
        case OPT_LISTEN:
            listen = optarg;
            break;
        case OPT_TLS:
            /* Two arguments: CERT is optarg, KEY the next word. */
            if (optind >= argc || argv[optind][0] == '\0') {
                diag_error("serve: --tls needs two arguments: CERT KEY");
                return EXIT_USAGE;
            }
            cfg.tls_cert = optarg;
            cfg.tls_key = argv[optind++];
            break;
        case OPT_TICK:
            if (parse_duration_ms(optarg, &v) < 0)
                return bad_value(name, optarg, "a duration like 500ms or 1s; 0 = off");
            cfg.tick_ms = v;
            break;
        case OPT_KEEPALIVE:
            if (parse_duration_ms(optarg, &v) < 0)
                return bad_value(name, optarg, "a duration like 15s; 0 = off");
            cfg.keepalive_ms = v;
            break;
        case OPT_RETRY:
            if (parse_uint(optarg, 86400000, &v) < 0)
                return bad_value(name, optarg, "milliseconds, at most 86400000");
            cfg.retry_ms = v;
            break;
        case OPT_HISTORY:
            if (parse_uint(optarg, 10000000, &v) < 0)
                return bad_value(name, optarg, "a number of events, at most 10000000");
            cfg.history = (size_t)v;
            break;
        case OPT_MAX_MESSAGE:
            if (parse_size(optarg, &v) < 0 || v == 0 || v > (256u << 20))
                return bad_value(name, optarg, "a size like 64k or 1M, at most 256M");
            cfg.max_message = (size_t)v;
            break;
        case OPT_MAX_QUEUE:
            if (parse_size(optarg, &v) < 0 || v < 1024 || v > (1ull << 32))
                return bad_value(name, optarg, "a size like 4M, from 1k to 4G");
            cfg.max_queue = (size_t)v;
            break;
        case OPT_MAX_CONNECTIONS:
            if (parse_uint(optarg, 1000000, &v) < 0 || v == 0)
                return bad_value(name, optarg, "a number from 1 to 1000000");
            cfg.max_connections = (size_t)v;
            break;
        case OPT_HEADER_TIMEOUT:
        case OPT_IDLE_TIMEOUT:
            if (parse_duration_ms(optarg, &v) < 0 || v == 0)
                return bad_value(name, optarg, "a duration like 10s, not 0");
            if (c == OPT_HEADER_TIMEOUT)
                cfg.header_timeout_ms = v;
            else
                cfg.idle_timeout_ms = v;
            break;
        case ':':
            diag_error("serve: option '%s' needs a value", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            if (optopt && c == '?')
                diag_error("serve: unknown option '-%c' (see 'evcat serve --help')", optopt);
            else
                diag_error("serve: unknown option '%s' (see 'evcat serve --help')",
                          argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        diag_error("serve: unexpected argument '%s' (see 'evcat serve --help')", argv[optind]);
        return EXIT_USAGE;
    }
    if (serve_parse_listen(listen, &cfg.addr, &cfg.addr_len) < 0) {
        diag_error("serve: bad --listen address '%s' (expected ADDR:PORT, e.g. 127.0.0.1:8080 or "
                  "[::1]:8080)",
                  listen);
        return EXIT_USAGE;
    }
    raise_nofile(cfg.max_connections);

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
    int rc = serve_start(l, &cfg, &srv, err, sizeof(err));
    if (rc < 0) {
        diag_error("%s", err);
        loop_free(l);
        return rc == SERVE_EUSAGE ? EXIT_USAGE : EXIT_FAIL;
    }

    char addr[80];
    serve_local_addr(srv, addr, sizeof(addr));
    const char *scheme = serve_is_tls(srv) ? "https" : "http";
    diag_info("serving SSE on %s://%s/sse (publish: POST %s://%s/publish)", scheme, addr, scheme,
             addr);
    const char *wscheme = serve_is_tls(srv) ? "wss" : "ws";
    diag_info("serving WebSocket on %s://%s/ws (the channel) and %s://%s/echo", wscheme, addr,
             wscheme, addr);

    int status = EXIT_OK;
    rc = loop_run(l);
    if (rc < 0) {
        diag_error("serve: event loop failed: %s", strerror(-rc));
        status = EXIT_FAIL;
    }
    const serve_stats_t *st = serve_stats(srv);
    diag_info("served %llu connection%s, %llu request%s; published %llu event%s (+%llu ticks); "
             "dropped %llu slow subscriber%s; WebSocket: %llu connection%s, %llu message%s "
             "received",
             (unsigned long long)st->connections, st->connections == 1 ? "" : "s",
             (unsigned long long)st->requests, st->requests == 1 ? "" : "s",
             (unsigned long long)st->published, st->published == 1 ? "" : "s",
             (unsigned long long)st->ticks, (unsigned long long)st->dropped,
             st->dropped == 1 ? "" : "s", (unsigned long long)st->ws_connections,
             st->ws_connections == 1 ? "" : "s", (unsigned long long)st->ws_messages,
             st->ws_messages == 1 ? "" : "s");
    serve_free(srv);
    loop_free(l);
    return status;
}
