/* cliopt: the shared options' handlers (see cliopt.h). */
#include "cliopt.h"
#include "exitcode.h"
#include "http_request.h"
#include "diag.h"
#include "units.h"
#include "buf.h"
#include "clock.h"
#include "text.h"
#include "dial.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void ws_cli_opts_init(ws_cli_opts_t *w)
{
    memset(w, 0, sizeof(*w));
    w->max_message = 16u << 20;
    w->max_retries = -1;
}

int ws_cli_opts_check(const ws_cli_opts_t *w, const char *cmd)
{
    if (w->max_retries >= 0 && !w->reconnect) {
        diag_error("%s: --max-retries needs --reconnect (a WebSocket connection is not retried "
                  "without it)",
                  cmd);
        return -1;
    }
    return 0;
}

int ws_cli_opts_handle(ws_cli_opts_t *w, const char *cmd, const opt_hit_t *h)
{
    const char *arg = h->arg;
    switch (h->id) {
    case OPT_SUBPROTOCOL:
        if (w->nprotocols == WS_MAX_LIST || !*arg || strpbrk(arg, " ,\t\r\n")) {
            diag_error("%s: --subprotocol '%s' is not a single protocol token", cmd, arg);
            return -1;
        }
        w->protocols[w->nprotocols++] = arg;
        break;
    case OPT_ORIGIN:
        if (strpbrk(arg, "\r\n")) {
            diag_error("%s: --origin must not contain a line break", cmd);
            return -1;
        }
        w->origin = arg;
        break;
    case OPT_PING_INTERVAL:
        if (parse_duration_ms(arg, &w->ping_interval_ms) < 0 || w->ping_interval_ms == 0) {
            diag_error("%s: --ping-interval '%s' is not a duration such as 30s", cmd, arg);
            return -1;
        }
        break;
    case OPT_ON_OPEN:
        if (w->non_open == WS_MAX_LIST) {
            diag_error("%s: at most %d --on-open messages", cmd, WS_MAX_LIST);
            return -1;
        }
        w->on_open[w->non_open++] = arg;
        break;
    case OPT_BINARY:
        w->binary = true;
        break;
    case OPT_MAX_MESSAGE:
        if (parse_size(arg, &w->max_message) < 0 || w->max_message < 125 ||
            w->max_message > (1u << 30)) {
            diag_error("%s: --max-message '%s' is not a size from 125 to 1G", cmd, arg);
            return -1;
        }
        break;
    case OPT_RECONNECT:
        w->reconnect = true;
        break;
    case OPT_COMPRESS:
        w->compress = true;
        break;
    case OPT_COMPRESS_TAKEOVER:
        w->compress = w->compress_takeover = true;
        break;
    case OPT_MAX_RETRIES: {
        uint64_t v;
        if (parse_uint(arg, 1000000000, &v) < 0) {
            diag_error("%s: --max-retries '%s' is not a whole number", cmd, arg);
            return -1;
        }
        w->max_retries = (int64_t)v;
        return 1; /* SSE's too: not a WebSocket-only option */
    }
    default:
        return 0;
    }
    w->any = true;
    return 1;
}

void conn_opts_init(conn_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    conn_settings_init(&o->net);
    o->color = COLOR_AUTO;
}

void conn_opts_free(conn_opts_t *o)
{
    conn_settings_free(&o->net);
    memset(o, 0, sizeof(*o));
}


/* "Name: value" with a token name and no CR/LF anywhere (header injection). */
/* -H: "Name: value", or curl's "Name:" (removes) and "Name;" (empty). An
 * error quotes the name only: the rest may be a secret. */
static int check_header(const char *cmd, const char *h)
{
    size_t n = strlen(h);
    const char *colon = strchr(h, ':');
    const char *end = colon ? colon : (n && h[n - 1] == ';' ? h + n - 1 : NULL);
    if (!end || end == h) {
        diag_error("%s: --header '%.*s...' is not of the form 'Name: value'", cmd,
                   (int)strcspn(h, " \t:;"), h);
        return -1;
    }
    for (const char *p = h; p < end; p++) {
        if (!http_is_tchar((unsigned char)*p)) {
            diag_error("%s: --header '%.*s' has an invalid character in its name", cmd,
                       (int)(end - h), h);
            return -1;
        }
    }
    if (strpbrk(h, "\r\n")) {
        diag_error("%s: --header value must not contain a line break", cmd);
        return -1;
    }
    return 0;
}

static int check_readable(const char *cmd, const char *opt, const char *path)
{
    if (access(path, R_OK) != 0) {
        diag_error("%s: cannot read %s file '%s': %s", cmd, opt, path, strerror(errno));
        return -1;
    }
    return 0;
}

bool verbosity_handle(const opt_hit_t *h)
{
    if (h->id == OPT_VERBOSE)
        diag_level = diag_level < 0 ? 1 : diag_level + 1;
    else if (h->id == OPT_QUIET)
        diag_level = -1;
    else
        return false;
    return true;
}

int conn_opts_handle(conn_opts_t *o, const char *cmd, const opt_hit_t *h)
{
    const char *arg = h->arg;
    char why[160];
    if (verbosity_handle(h))
        return 1;
    switch (h->id) {
    case OPT_HEADER:
        if (check_header(cmd, arg) < 0)
            return -1;
        o->net.headers = curl_slist_append(o->net.headers, arg);
        return 1;
    case OPT_USER:
        if (!strchr(arg, ':')) {
            diag_error("%s: --user needs USER:PASSWORD", cmd);
            return -1;
        }
        if (o->net.bearer)
            goto both_auth;
        conn_settings_set_userpwd(&o->net, arg);
        return 1;
    case OPT_BEARER: {
        if (!*arg) {
            diag_error("%s: --bearer needs a token", cmd);
            return -1;
        }
        if (strpbrk(arg, "\r\n")) {
            diag_error("%s: --bearer: a token cannot hold a line break", cmd);
            return -1;
        }
        if (o->net.userpwd)
            goto both_auth;
        conn_settings_set_bearer(&o->net, arg);
        return 1;
    }
    case OPT_CACERT:
        o->net.cacert = arg;
        return check_readable(cmd, "--cacert", arg) < 0 ? -1 : 1;
    case OPT_CERT:
        o->net.cert = arg;
        return check_readable(cmd, "--cert", arg) < 0 ? -1 : 1;
    case OPT_KEY:
        o->net.key = arg;
        return check_readable(cmd, "--key", arg) < 0 ? -1 : 1;
    case OPT_INSECURE:
        o->net.insecure = true;
        return 1;
    case OPT_PROXY:
        if (*arg && dial_proxy_syntax(arg, why, sizeof(why)) < 0) {
            diag_error("%s: -x: %s", cmd, why);
            return -1;
        }
        o->net.proxy = arg;
        return 1;
    case OPT_CONNECT_TIMEOUT:
        if (parse_duration_ms(arg, &o->net.connect_timeout_ms) < 0 || o->net.connect_timeout_ms == 0) {
            diag_error("%s: --connect-timeout '%s' is not a duration such as 10s or 500ms", cmd,
                      arg);
            return -1;
        }
        return 1;
    case OPT_FORMAT:
        if (out_parse_format(arg, &o->format) < 0) {
            diag_error("%s: --format '%s' is not one of pretty, raw, json", cmd, arg);
            return -1;
        }
        o->format_set = true;
        return 1;
    case OPT_PARSE_JSON:
        o->parse_json = true;
        return 1;
    case OPT_INDENT:
        o->indent = 2;
        return 1;
    case OPT_COLOR:
        if (out_parse_color(arg, &o->color) < 0) {
            diag_error("%s: --color '%s' is not one of auto, always, never", cmd, arg);
            return -1;
        }
        return 1;
    case OPT_NO_TIME:
        o->no_time = true;
        return 1;
    case OPT_RECORD:
        if (!*arg) {
            diag_error("%s: --record needs a file name", cmd);
            return -1;
        }
        o->record = arg;
        return 1;
    default:
        return 0;
    }
both_auth: /* each sets Authorization: curl would send only one of them */
    diag_error("%s: --user and --bearer both set Authorization; give one", cmd);
    return -1;
}

int conn_opts_finish(conn_opts_t *o, const char *cmd)
{
    /* The TLS files, judged once and alike for every path (libcurl's
     * would take a --key without --cert, or see a bad file only when it
     * connects); the WebSocket path then uses the context built here. */
    const conn_settings_t *n = &o->net;
    char err[300];
    if ((n->cacert || n->cert || n->key) && dial_tls_check(n, err, sizeof(err)) < 0) {
        diag_error("%s: %s", cmd, err);
        return -1;
    }
    if (!o->format_set)
        o->format = out_default_format(STDOUT_FILENO);
    diag_color = out_use_color(o->color, STDERR_FILENO);
    /* said, not silently dropped: the format may be the default of a pipe */
    static const char *const names[] = {[OUT_PRETTY] = "pretty", [OUT_RAW] = "raw",
                                        [OUT_JSON] = "json"};
    if (o->parse_json && o->format != OUT_JSON && !o->record)
        diag_warn("%s: --parse-json applies to -o json and --record; the output here is %s",
                  cmd, names[o->format]);
    if (o->indent && o->format != OUT_PRETTY)
        diag_warn("%s: --indent applies to -o pretty; the output here is %s", cmd,
                  names[o->format]);
    return 0;
}

int run_limits_handle(run_limits_t *l, const char *cmd, const opt_hit_t *h)
{
    switch (h->id) {
    case OPT_COUNT:
        if (parse_uint(h->arg, UINT64_MAX, &l->count) < 0 || l->count == 0) {
            diag_error("%s: --count '%s' is not a positive whole number", cmd, h->arg);
            return -1;
        }
        return 1;
    case OPT_TIMEOUT:
        if (parse_duration_ms(h->arg, &l->timeout_ms) < 0 || l->timeout_ms == 0) {
            diag_error("%s: --timeout '%s' is not a duration such as 10s or 500ms", cmd, h->arg);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

int read_body_arg(const char *cmd, const char *arg, buf_t *body)
{
    if (arg[0] != '@') {
        buf_append(body, arg, strlen(arg));
        return 0;
    }
    const char *path = arg + 1;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        diag_error("%s: cannot read --data file '%s': %s", cmd, path, strerror(errno));
        return -1;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (body->len + n > CLI_MAX_BODY) {
            diag_error("%s: --data file '%s' is larger than %u MiB", cmd, path, CLI_MAX_BODY >> 20);
            if (f != stdin)
                fclose(f);
            return -1;
        }
        buf_append(body, chunk, n);
    }
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        diag_error("%s: cannot read --data file '%s'", cmd, path);
        return -1;
    }
    if (!body->p)
        buf_append(body, "", 0);
    return 0;
}

uint64_t nofile_raise(const char *cmd)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        diag_verbose("%s: cannot read the descriptor limit: %s", cmd, strerror(errno));
        return 1024;
    }
    rlim_t was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            diag_verbose("%s: cannot raise the descriptor limit to %llu: %s", cmd,
                         (unsigned long long)rl.rlim_max, strerror(errno));
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    uint64_t now = rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : (uint64_t)rl.rlim_cur;
    if (rl.rlim_cur != was)
        diag_verbose("%s: descriptor limit raised from %llu to %" PRIu64 " (the hard limit)", cmd,
                     (unsigned long long)was, now);
    else
        diag_verbose("%s: descriptor limit %" PRIu64 "%s", cmd, now,
                     rl.rlim_cur == rl.rlim_max ? " (the hard limit)" : "");
    return now;
}
