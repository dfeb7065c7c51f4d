/* cmd_bench: `evcat bench URL [URL2]` — its options and their checks, the
 * run against each URL, then the summary, --json and --assert (the other
 * parts: cmd_bench.h). */
#include "cmd_bench.h"
#include "bench_export.h"
#include "bench_report.h"
#include "buf.h"
#include "commands.h"
#include "diag.h"
#include "text.h"
#include "exitcode.h"
#include "rate.h"
#include "stamp.h"
#include "units.h"
#include "url_typo.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The defaults (options.def shows them). */
static void bench_args_init(struct bench_args *a)
{
    conn_opts_init(&a->co);
    a->co.net.connect_timeout_ms = 10000;
    ws_cli_opts_init(&a->wo);
    a->wo.max_message = 1u << 20;
    bench_opts_t *o = &a->o;
    memset(o, 0, sizeof(*o));
    o->connections = 100;
    o->connect_rate = 1000;
    o->duration_ns = 10ull * 1000000000ull;
    o->mode = -1;
    o->message_rate = 1;
    o->size = 64;
    o->latency_field = "ts_ns";
    o->publish_rate = 10;
    o->end_data = "[DONE]";
    o->idle_timeout_ms = 60000;
    o->publish_timeout_ms = 10000;
}

static int parse_rate(const opt_hit_t *h, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(h->arg, &end);
    if (end == h->arg || *end || errno || !(v >= RATE_MIN && v <= RATE_MAX)) {
        diag_error("bench: --%s '%s' is not a rate between 0.000001 and 1e9 per second",
                   opt_options[h->id].name, h->arg);
        return -1;
    }
    *out = v;
    return 0;
}

/* The options under "Load". */
static int load_option(bench_opts_t *o, const opt_hit_t *h)
{
    const char *arg = h->arg;
    uint64_t v;
    switch (h->id) {
    case OPT_CONNECTIONS:
        if (parse_uint(arg, 10000000, &o->connections) < 0 || o->connections == 0) {
            diag_error("bench: --connections '%s' is not a whole number from 1 to 10000000", arg);
            return -1;
        }
        return 0;
    case OPT_CONNECT_RATE:
        o->connect_rate_set = true;
        return parse_rate(h, &o->connect_rate);
    case OPT_DURATION:
        if (strcmp(h->given, "-d") == 0 && !(arg[0] >= '0' && arg[0] <= '9') && arg[0] != '.')
            return 1; /* -d DATA: --data (stream_option) */
        o->duration_set = true;
        if (parse_duration_us(arg, &v) < 0 || v == 0 || v > 366ull * 86400 * 1000000) {
            diag_error("bench: --duration '%s' is not a duration such as 30s", arg);
            return -1;
        }
        o->duration_ns = v * 1000;
        return 0;
    case OPT_THREADS:
        if (parse_uint(arg, 1024, &v) < 0 || v == 0) {
            diag_error("bench: --threads '%s' is not a whole number from 1 to 1024", arg);
            return -1;
        }
        o->threads = (unsigned)v;
        return 0;
    case OPT_PROCS:
        if (parse_uint(arg, MAX_PROCS, &v) < 0 || v == 0) {
            diag_error("bench: --procs '%s' is not a whole number from 1 to %d", arg, MAX_PROCS);
            return -1;
        }
        o->procs = (unsigned)v;
        return 0;
    case OPT_SOURCE:
        o->source = arg;
        return 0;
    case OPT_SHARD:
        return shard_parse(arg, &o->shard_index, &o->shard_count);
    case OPT_START_AT:
        if (parse_time_ns(arg, &o->start_at_ns) < 0) {
            diag_error("bench: --start-at '%s' is not a time such as 2026-12-04T18:00:00Z or "
                       "UNIX seconds",
                       arg);
            return -1;
        }
        return 0;
    default:
        return 1;
    }
}

/* The WebSocket (echo), subscriber and report options of bench's own. */
static int measure_option(bench_opts_t *o, const opt_hit_t *h)
{
    const char *arg = h->arg;
    char aerr[256];
    switch (h->id) {
    case OPT_MODE:
        if (strcmp(arg, "echo") == 0) {
            o->mode = BENCH_WS_ECHO;
        } else if (strcmp(arg, "subscribe") == 0) {
            o->mode = BENCH_WS_SUBSCRIBE;
        } else {
            diag_error("bench: --mode '%s' is not echo or subscribe", arg);
            return -1;
        }
        return 0;
    case OPT_MESSAGE_RATE:
        o->rate_set = true;
        return parse_rate(h, &o->message_rate);
    case OPT_SIZE:
        if (parse_size(arg, &o->size) < 0 || o->size < STAMP_LEN || o->size > (16u << 20)) {
            diag_error("bench: --size '%s' is not a size from %d (the timestamp an echo carries) "
                       "to 16M",
                       arg, STAMP_LEN);
            return -1;
        }
        o->size_set = true;
        return 0;
    case OPT_LATENCY_FIELD:
        if (!*arg || strpbrk(arg, "\"\\") || strlen(arg) > 64) {
            diag_error("bench: --latency-field '%s' is not a plain JSON key", arg);
            return -1;
        }
        o->latency_field = arg;
        return 0;
    case OPT_PUBLISH:
        if (url_typo_check("bench", "--publish", arg, URL_SSE) < 0)
            return -1;
        if (!ascii_ieq(arg, "http://", 7) && !ascii_ieq(arg, "https://", 8)) {
            diag_error("bench: --publish '%s' is not an http:// or https:// URL", arg);
            return -1;
        }
        o->publish = arg;
        return 0;
    case OPT_PUBLISH_RATE:
        o->publish_rate_set = true;
        return parse_rate(h, &o->publish_rate);
    case OPT_PUBLISH_TIMEOUT: {
        uint64_t us;
        if (parse_duration_us(arg, &us) < 0 || us < 1000 || us > 3600ull * 1000000) {
            diag_error("bench: --publish-timeout '%s' is not a duration from 1ms to 1h", arg);
            return -1;
        }
        o->publish_timeout_ms = (long)(us / 1000);
        o->publish_timeout_set = true;
        return 0;
    }
    case OPT_SSE_DRIVER:
        if (strcmp(arg, "native") != 0 && strcmp(arg, "curl") != 0) {
            diag_error("bench: --sse-driver '%s' is not native or curl", arg);
            return -1;
        }
        o->sse_curl = strcmp(arg, "curl") == 0;
        o->sse_driver_set = true;
        return 0;
    case OPT_JSON:
        o->json = arg;
        return 0;
    case OPT_PARTIAL:
        o->partial = true;
        return 0;
    case OPT_REPORT:
        o->report = arg;
        return 0;
    case OPT_HGRM:
        o->hgrm = arg;
        return 0;
    case OPT_JUNIT:
        o->junit = arg;
        return 0;
    case OPT_ASSERT:
        if (o->nasserts == MAX_ASSERTS) {
            diag_error("bench: at most %d --assert options", MAX_ASSERTS);
            return -1;
        }
        if (bench_assert_parse(arg, &o->asserts[o->nasserts], aerr, sizeof(aerr)) < 0) {
            diag_error("bench: --assert '%s': %s", arg, aerr);
            return -1;
        }
        o->nasserts++;
        return 0;
    default:
        return opt_unhandled("bench", h);
    }
}

/* -o text|json: json is --json - (a run's JSON summary, like the other
 * commands' -o json, on stdout). */
static int format_option(bench_opts_t *o, const char *arg)
{
    if (strcmp(arg, "text") != 0 && strcmp(arg, "json") != 0) {
        diag_error("bench: --format '%s' is not text or json", arg);
        return -1;
    }
    o->format_json = strcmp(arg, "json") == 0;
    return 0;
}

/* The options of streams as requests (and -d when it is --data). */
static int stream_option(bench_opts_t *o, const opt_hit_t *h)
{
    const char *arg = h->arg;
    bool starts = h->id == OPT_REQUEST || h->id == OPT_BENCH_DATA || h->id == OPT_DURATION ||
                  h->id == OPT_REQUESTS || h->id == OPT_ARRIVAL_RATE;
    if (starts && !o->streams) {
        o->streams = true;
        o->stream_option = h->id == OPT_DURATION ? "-d DATA" : opt_options[h->id].name;
    }
    switch (h->id) {
    case OPT_REQUEST:
        if (!*arg || strpbrk(arg, " \t\r\n")) {
            diag_error("bench: --request '%s' is not an HTTP method", arg);
            return -1;
        }
        o->method = arg;
        return 0;
    case OPT_BENCH_DATA:
    case OPT_DURATION: /* -d that is not a duration */
        if (o->data_arg) {
            diag_error("bench: --data is given twice");
            return -1;
        }
        o->data_arg = arg;
        return 0;
    case OPT_REQUESTS:
        if (parse_uint(arg, 1000000000000ull, &o->requests) < 0 || o->requests == 0) {
            diag_error("bench: --requests '%s' is not a whole number from 1 to 10^12", arg);
            return -1;
        }
        return 0;
    case OPT_ARRIVAL_RATE:
        return parse_rate(h, &o->arrival_rate);
    case OPT_END_DATA:
        if (strchr(arg, '\r') || strlen(arg) > 4096) {
            diag_error("bench: --end-data can never match an event's data: %s",
                       strchr(arg, '\r') ? "it holds a carriage return (a line end in SSE)"
                                         : "it is over 4096 bytes");
            return -1;
        }
        o->end_data = arg;
        o->end_data_set = true;
        return 0;
    case OPT_IDLE_TIMEOUT:
        if (parse_duration_ms(arg, &o->idle_timeout_ms) < 0 || o->idle_timeout_ms == 0) {
            diag_error("bench: --idle-timeout '%s' is not a duration such as 30s", arg);
            return -1;
        }
        o->idle_timeout_set = true;
        return 0;
    default:
        return 1;
    }
}

static int bench_option(void *ud, const opt_hit_t *h)
{
    struct bench_args *a = ud;
    if (!merge_takes(h->id) && !a->o.run_option)
        a->o.run_option = opt_options[h->id].name;
    if (h->id == OPT_FORMAT)
        return format_option(&a->o, h->arg);
    int r = conn_opts_handle(&a->co, "bench", h);
    if (r == 0)
        r = ws_cli_opts_handle(&a->wo, "bench", h);
    if (r != 0)
        return r < 0 ? -1 : 0;
    r = load_option(&a->o, h);
    if (r > 0)
        r = bench_replay_option(&a->o.replay, h);
    if (r > 0)
        r = stream_option(&a->o, h);
    return r <= 0 ? r : measure_option(&a->o, h);
}

int bench_args_parse(struct bench_args *a, int argc, char **argv)
{
    bench_args_init(a);
    int first = opt_parse(CMD_BENCH, argc, argv, bench_option, a);
    a->o.quiet = diag_level < 0;
    if (first >= 0 && a->o.format_json) {
        if (a->o.json && strcmp(a->o.json, "-") != 0) {
            diag_error("bench: -o json writes the JSON summary on standard output, --json %s to "
                       "a file: one of them",
                       a->o.json);
            return OPT_PARSE_ERROR;
        }
        a->o.json = "-";
    }
    return first;
}

/* Streams as requests against the URLs and the other options; sets what
 * they imply (an open-ended duration with --requests alone). Returns 0, or
 * -1 after the one-line error. */
static int streams_check(bench_opts_t *o, bool any_ws)
{
    char why[160] = "";
    if (!o->streams && (o->end_data_set || o->idle_timeout_set))
        snprintf(why, sizeof(why),
                 "--%s applies to streams as requests (with -X, --data, --requests or "
                 "--arrival-rate)",
                 o->end_data_set ? "end-data" : "idle-timeout");
    else if (o->streams && any_ws)
        snprintf(why, sizeof(why),
                 "%s%s makes SSE streams as requests: it needs http:// or https:// URLs",
                 o->stream_option[0] == '-' ? "" : "--", o->stream_option);
    else if (o->streams && o->publish)
        snprintf(why, sizeof(why), "--publish feeds subscribers, not streams as requests");
    else if (o->streams && o->arrival_rate > 0 && o->connect_rate_set)
        snprintf(why, sizeof(why),
                 "--connect-rate does not apply with --arrival-rate (the streams start on its "
                 "schedule)");
    if (why[0]) {
        diag_error("bench: %s", why);
        return -1;
    }
    if (o->streams && o->requests && !o->duration_set)
        o->duration_ns = UINT64_MAX; /* until the requests are done */
    o->arrivals = o->duration_ns == UINT64_MAX ? UINT64_MAX
                                               : rate_count_within(o->arrival_rate, o->duration_ns);
    return 0;
}

/* The options against the kinds of URL given. Returns 0, or -1 after the
 * one-line error. */
static int bench_check(const struct bench_args *a, bool any_ws, int mode)
{
    const bench_opts_t *o = &a->o;
    bool any_echo = any_ws && mode == BENCH_WS_ECHO;
    const char *why = NULL;
    if (o->mode == BENCH_WS_ECHO && !any_ws)
        why = "--mode echo needs a ws:// or wss:// URL (SSE only flows from the server)";
    else if (!any_echo && (o->rate_set || o->size_set || a->wo.binary))
        why = "--message-rate, --size and --binary apply to WebSocket echo (--mode echo)";
    else if (any_echo && o->publish)
        why = "--publish applies to subscribers (SSE, or --mode subscribe)";
    else if ((o->publish_rate_set || o->publish_timeout_set) && !o->publish)
        why = "--publish-rate and --publish-timeout need --publish URL";
    else if (!any_ws && (a->wo.nprotocols || a->wo.origin || a->wo.non_open))
        why = "--subprotocol, --origin and --on-open apply to WebSocket URLs";
    else if (o->sse_driver_set && o->streams)
        why = "--sse-driver applies to SSE subscribers (streams as requests run on libcurl)";
    else if (!any_ws && a->wo.compress)
        why = "--compress and --compress-takeover apply to WebSocket URLs";
    else if (o->partial)
        why = "--partial applies to 'evcat bench merge'";
    if (why) {
        diag_error("bench: %s", why);
        return -1;
    }
    return 0;
}

/* --sse-driver needs an SSE URL. Returns 0, or -1 after the one-line error. */
static int sse_driver_check(const bench_opts_t *o, const target_t *tg, size_t ntg)
{
    for (size_t i = 0; i < ntg; i++)
        if (tg[i].kind == BENCH_SSE)
            return 0;
    if (!o->sse_driver_set)
        return 0;
    diag_error("bench: --sse-driver applies to SSE subscribers (http:// or https:// URLs)");
    return -1;
}

/* Runs the load against each target in turn (stopping at an interruption
 * or a failure), *nres results kept. Returns EXIT_OK, or the exit code of
 * the failure. */
static int run_targets(struct bench_args *a, target_t *tg, size_t ntg, progress_t *pr,
                       bench_result_t *res, size_t *nres)
{
    for (size_t i = 0; i < ntg; i++) {
        bench_result_init(&res[i]);
        if (ntg > 1 && !a->o.quiet)
            diag_info("bench: %s (%zu of %zu)", tg[i].display, i + 1, ntg);
        int r = target_run(&a->o, &a->co, &a->wo, &tg[i], ntg > 1, pr, &res[i]);
        if (r != 0) {
            bench_result_free(&res[i]);
            return r == 2 ? EXIT_USAGE : EXIT_FAIL;
        }
        (*nres)++;
        if (res[i].interrupted)
            break;
    }
    return EXIT_OK;
}

/* Evaluates every --assert on each result (ok[i][a]), naming each that
 * failed. Returns whether all held. */
static bool check_asserts(const bench_opts_t *o, const bench_report_t *reps, size_t nres,
                          bool ok[][MAX_ASSERTS])
{
    bool all_ok = true;
    for (size_t i = 0; i < nres; i++) {
        bench_metrics_t m;
        bench_report_metrics(reps[i].r, &m);
        for (size_t a = 0; a < o->nasserts; a++) {
            char why[256];
            ok[i][a] = bench_assert_eval(&o->asserts[a], &m, why, sizeof(why));
            if (ok[i][a])
                continue;
            all_ok = false;
            if (nres > 1)
                diag_error("bench: %s: %s", reps[i].url, why);
            else
                diag_error("bench: %s", why);
        }
    }
    return all_ok;
}

/* --json: one object, or an array of them with two URLs, to jf or stdout.
 * Returns 0, or -1 after reporting a write error. */
static int write_json(const bench_opts_t *o, bool array, const bench_report_t *reps, size_t nres,
                      bool ok[][MAX_ASSERTS], FILE *jf)
{
    buf_t b;
    buf_init(&b);
    if (array)
        buf_putc(&b, '[');
    for (size_t i = 0; i < nres; i++) {
        if (i)
            buf_putc(&b, ',');
        if (o->merged)
            bench_report_json_merged(&b, &reps[i], o->merged, o->asserts, ok[i], o->nasserts);
        else if (o->shard_count)
            bench_report_json_shard(&b, &reps[i], o->asserts, ok[i], o->nasserts);
        else
            bench_report_json(&b, &reps[i], o->asserts, ok[i], o->nasserts);
    }
    if (array)
        buf_putc(&b, ']');
    buf_putc(&b, '\n');
    FILE *out = jf ? jf : stdout;
    int rc = 0;
    if (fwrite(b.p, 1, b.len, out) != b.len || fflush(out) != 0) {
        diag_error("bench: cannot write the JSON summary: %s", strerror(errno));
        rc = -1;
    }
    buf_free(&b);
    return rc;
}

/* Writes b to path; 0, or -1 after the one-line error. */
static int write_file(const char *what, const char *path, const buf_t *b)
{
    FILE *f = fopen(path, "w");
    bool ok = f && fwrite(b->p, 1, b->len, f) == b->len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok) {
        diag_error("bench: cannot write %s file '%s': %s", what, path, strerror(errno));
        return -1;
    }
    return 0;
}

/* --report, --hgrm (a file per URL), --junit. Returns 0, or -1 after
 * reporting a write error. */
static int write_exports(const bench_opts_t *o, const bench_report_t *reps, size_t nres)
{
    int rc = 0;
    buf_t b;
    buf_init(&b);
    if (o->report) {
        bench_export_html(&b, reps, nres, o->asserts, o->nasserts);
        rc |= write_file("--report", o->report, &b);
    }
    for (size_t i = 0; o->hgrm && i < nres; i++) {
        char name[4096 + 8];
        bench_export_name(name, sizeof(name), o->hgrm, i, nres);
        b.len = 0;
        bench_export_hgrm(&b, bench_export_latency(reps[i].r));
        rc |= write_file("--hgrm", name, &b);
    }
    if (o->junit) {
        b.len = 0;
        bench_export_junit(&b, reps, nres, o->asserts, o->nasserts);
        rc |= write_file("--junit", o->junit, &b);
    }
    buf_free(&b);
    return rc;
}

int bench_exports_check(const bench_opts_t *o, size_t nres)
{
    const char *what[3] = {"--report", "--hgrm", "--junit"};
    const char *path[3] = {o->report, o->hgrm, o->junit};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; path[k] && i < (k == 1 ? nres : 1); i++) {
            char name[4096 + 8];
            bench_export_name(name, sizeof(name), path[k], i, k == 1 ? nres : 1);
            FILE *f = fopen(name, "w");
            if (!f || fclose(f) != 0) {
                diag_error("bench: cannot write %s file '%s': %s", what[k], name, strerror(errno));
                return -1;
            }
        }
    return 0;
}

/* -v: the first failing exchange of each run in full. */
static void show_exchanges(const bench_report_t *reps, size_t nres)
{
    if (diag_level < 1)
        return;
    for (size_t i = 0; i < nres; i++) {
        if (!reps[i].r->ex.exchange_at_ns)
            continue;
        diag_verbose("bench: %s: the first failed exchange:", reps[i].url);
        /* the request, a blank line, the response head */
        const char *p = reps[i].r->ex.exchange;
        bool response = false;
        while (*p) {
            size_t n = strcspn(p, "\n");
            if (n == 0)
                response = true;
            else
                diag_verbose("%s %.*s", response ? "<" : ">", (int)n, p);
            p += n + (p[n] == '\n');
        }
    }
}

/* Exit 1: no connection could be established; with streams as requests,
 * streams were tried and none completed. */
static bool nothing_done(const bench_result_t *r)
{
    if (r->streams.on)
        return r->streams.completed == 0 && r->streams.failed > 0;
    return r->c.established == 0;
}

/* bench_report_all, with why[i] ("" or NULL: none) after the line that says
 * result i established no connection. */
static int report_all(const bench_opts_t *o, const bench_report_t *reps, size_t nres, bool array,
                      FILE *jf, int rc, const char *const *why)
{
    bool ok[2][MAX_ASSERTS];
    bool none = false, intr = false;
    int signo = 0;
    for (size_t i = 0; i < nres; i++) {
        none = none || nothing_done(reps[i].r);
        intr = intr || reps[i].r->interrupted;
        if (!signo)
            signo = reps[i].r->signo;
    }
    bool all_ok = check_asserts(o, reps, nres, ok);
    FILE *sf = o->json && strcmp(o->json, "-") == 0 ? stderr : stdout;
    bench_report_text(sf, reps, nres);
    bench_report_asserts(sf, reps, nres, o->asserts, o->nasserts);
    fflush(sf);
    show_exchanges(reps, nres);
    for (size_t i = 0; i < nres; i++) /* the messages went, nothing came back stamped */
        if (strcmp(reps[i].mode, "echo") == 0 && reps[i].r->c.sent > 0 &&
            hist_count(&reps[i].r->latency) == 0)
            diag_warn("bench: %s: none of the %" PRIu64 " messages sent came back with its stamp"
                      " (is it an echo endpoint?)",
                      reps[i].url, reps[i].r->c.sent);
    for (size_t i = 0; i < nres; i++)
        if (reps[i].r->mismatch[0])
            diag_warn("bench: %s%s--expect: %" PRIu64 " connection%s differed from the "
                      "recording, the first: %s",
                      nres > 1 ? reps[i].url : "", nres > 1 ? ": " : "",
                      reps[i].r->c.errors[BERR_MISMATCH],
                      reps[i].r->c.errors[BERR_MISMATCH] == 1 ? "" : "s", reps[i].r->mismatch);
    if (o->json && write_json(o, array, reps, nres, ok, jf) < 0 && rc == EXIT_OK)
        rc = EXIT_FAIL;
    if (write_exports(o, reps, nres) < 0 && rc == EXIT_OK)
        rc = EXIT_FAIL;
    for (size_t i = 0; none && i < nres; i++)
        if (nothing_done(reps[i].r))
            diag_error("bench: %s: %s%s%s", reps[i].url,
                       reps[i].r->streams.on ? "no stream completed"
                                             : "no connection could be established",
                       why && why[i] && why[i][0] ? ": " : "", why && why[i] ? why[i] : "");
    if (rc == EXIT_OK) {
        if (intr) /* 130 for SIGINT, 128 + N for another signal, as a shell has it */
            rc = signo && signo != SIGINT ? 128 + signo : EXIT_INTERRUPTED;
        else if (none)
            rc = EXIT_FAIL;
        else if (!all_ok)
            rc = EXIT_CHECK;
    }
    return rc;
}

int bench_report_all(const bench_opts_t *o, const bench_report_t *reps, size_t nres, bool array,
                     FILE *jf, int rc)
{
    return report_all(o, reps, nres, array, jf, rc, NULL);
}

/* The summary of the nres runs: each result described (for a merge of its
 * shards later), then bench_report_all. */
static int bench_summary(const bench_opts_t *o, const target_t *tg, size_t ntg, bench_result_t *res,
                         size_t nres, FILE *jf, int rc)
{
    bench_report_t reps[2];
    for (size_t i = 0; i < nres; i++) {
        bench_result_describe(&res[i], tg[i].display,
                              o->streams ? "streams" : target_mode_name(tg[i].kind),
                              o->shard_count ? o->whole_connect_rate : o->connect_rate);
        shard_stamp(o, &res[i]);
        reps[i].url = res[i].url;
        reps[i].mode = res[i].mode;
        reps[i].connect_rate = res[i].connect_rate;
        reps[i].r = &res[i];
    }
    const char *why[2] = {tg[0].why_none, ntg > 1 ? tg[1].why_none : ""};
    return report_all(o, reps, nres, ntg > 1, jf, rc, why);
}

/* The URLs: one or two, parsed into tg (*ntg of them to free). *any_ws: one
 * is WebSocket; *mode: --mode, or its default for these URLs. Returns 0, or
 * -1 after the one-line error. */
static int bench_targets(const bench_opts_t *o, char **urls, int nurls, target_t *tg, size_t *ntg,
                         bool *any_ws, int *mode)
{
    if (nurls < 1 || nurls > 2) {
        diag_error(nurls < 1 ? "bench: a URL is needed (see 'evcat bench --help')"
                             : "bench: at most two URLs (to compare them side by side)");
        return -1;
    }
    bool any_sse = false;
    *any_ws = false;
    for (int i = 0; i < nurls; i++) {
        url_scheme_lower(urls[i]);
        if (url_typo_check("bench", NULL, urls[i], URL_ANY) < 0)
            return -1;
    }
    for (int i = 0; i < nurls; i++) {
        bool sse = strncmp(urls[i], "http://", 7) == 0 || strncmp(urls[i], "https://", 8) == 0;
        any_sse = any_sse || sse;
        *any_ws = *any_ws || !sse;
    }
    *mode = o->mode;
    if (*mode < 0)
        *mode = any_sse ? BENCH_WS_SUBSCRIBE : BENCH_WS_ECHO;
    for (int i = 0; i < nurls; i++) {
        int r = target_parse(urls[i], *mode, &tg[*ntg]);
        (*ntg)++;
        if (r < 0)
            return -1;
    }
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "merge") == 0)
        return cmd_bench_merge(argc - 1, argv + 1);
    struct bench_args a;
    int rc = EXIT_USAGE;
    target_t tg[2];
    size_t ntg = 0;
    bench_result_t res[2];
    size_t nres = 0;
    FILE *jf = NULL;
    bool any_ws;
    int mode;
    int first = bench_args_parse(&a, argc, argv);
    if (first == OPT_PARSE_HELP)
        rc = EXIT_OK;
    if (first < 0)
        goto out;
    if (bench_replay_check(&a.o, argv + first, argc - first) < 0 ||
        bench_targets(&a.o, argv + first, argc - first, tg, &ntg, &any_ws, &mode) < 0 ||
        bench_check(&a, any_ws, mode) < 0 || streams_check(&a.o, any_ws) < 0 ||
        sse_driver_check(&a.o, tg, ntg) < 0 ||
        bench_replay_load(&a.o.replay, &a.wo) < 0 ||
        (a.o.data_arg && read_body_arg("bench", a.o.data_arg, &a.o.body) < 0) ||
        shard_plan(&a.o, &a.wo, tg, ntg, mode) < 0)
        goto out;
    if (bench_exports_check(&a.o, ntg) < 0)
        goto out;
    if (a.o.json && strcmp(a.o.json, "-") != 0) {
        jf = fopen(a.o.json, "w");
        if (!jf) {
            diag_error("bench: cannot write --json file '%s': %s", a.o.json, strerror(errno));
            goto out;
        }
    }
    if (conn_opts_finish(&a.co, "bench") < 0)
        goto out;

    progress_t pr;
    memset(&pr, 0, sizeof(pr));
    pr.tty = isatty(STDERR_FILENO);
    pr.quiet = a.o.quiet;
    pr.connect_rate = a.o.connect_rate;
    pr.duration_s = (double)a.o.duration_ns / 1e9;
    rc = a.o.start_at_ns ? start_wait(a.o.start_at_ns) : EXIT_OK;
    if (rc == EXIT_OK)
        rc = run_targets(&a, tg, ntg, &pr, res, &nres);
    if (nres > 0)
        rc = bench_summary(&a.o, tg, ntg, res, nres, jf, rc);
    if (jf && fclose(jf) != 0 && rc == EXIT_OK) {
        diag_error("bench: cannot write --json file '%s': %s", a.o.json, strerror(errno));
        rc = EXIT_FAIL;
    }
out:
    for (size_t i = 0; i < nres; i++)
        bench_result_free(&res[i]);
    for (size_t i = 0; i < ntg; i++)
        target_free(&tg[i]);
    bench_replay_free(&a.o.replay);
    conn_opts_free(&a.co);
    buf_free(&a.o.body);
    return rc;
}
