#include "cliopt.h"
#include "evcat.h"
#include "http_request.h"
#include "msg.h"
#include "parse.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char conn_opts_help[] =
    "  -H, --header 'Name: value'  add a request header (repeatable)\n"
    "  -u, --user USER:PASSWORD    HTTP basic authentication\n"
    "      --bearer TOKEN          send 'Authorization: Bearer TOKEN'\n"
    "      --cacert FILE           trust the CA certificates in FILE (PEM)\n"
    "      --cert FILE             client certificate (PEM)\n"
    "      --key FILE              client certificate's private key (PEM)\n"
    "  -k, --insecure              do not verify the server's certificate\n"
    "  -x, --proxy URL             proxy (http_proxy, https_proxy, no_proxy honoured)\n"
    "      --connect-timeout DUR   give up connecting after DUR (default 30s)\n"
    "  -v, --verbose               handshake and lifecycle detail on stderr (secrets redacted)\n"
    "  -q, --quiet                 errors only on stderr\n"
    "  -o, --format FMT            pretty, raw or json (default: pretty on a terminal, else raw)\n"
    "      --color WHEN            auto, always or never (default auto; honours NO_COLOR)\n"
    "      --record FILE           record every message (both directions) to FILE (JSON Lines)\n";

const char ws_opts_help[] =
    "      --subprotocol P         offer subprotocol P (repeatable; the server must pick one)\n"
    "      --origin ORIGIN         send Origin: ORIGIN\n"
    "      --ping-interval DUR     ping every DUR; no pong by the next ping = a dead peer\n"
    "      --on-open MSG           send MSG right after the handshake (repeatable)\n"
    "      --binary                send messages as binary frames\n"
    "      --max-message SIZE      largest incoming message (default 16M; close 1009 beyond)\n"
    "      --reconnect             reconnect with backoff after the connection ends\n";

void ws_cli_opts_init(ws_cli_opts_t *w)
{
    memset(w, 0, sizeof(*w));
    w->max_message = 16u << 20;
    w->max_retries = -1;
}

int ws_cli_opts_check(const ws_cli_opts_t *w, const char *cmd)
{
    if (w->max_retries >= 0 && !w->reconnect) {
        msg_error("%s: --max-retries needs --reconnect (a WebSocket connection is not retried "
                  "without it)",
                  cmd);
        return -1;
    }
    return 0;
}

int ws_cli_opts_handle(ws_cli_opts_t *w, const char *cmd, int c, const char *arg)
{
    switch (c) {
    case OPT_SUBPROTOCOL:
        if (w->nprotocols == WS_MAX_LIST || !*arg || strpbrk(arg, " ,\t\r\n")) {
            msg_error("%s: --subprotocol '%s' is not a single protocol token", cmd, arg);
            return -1;
        }
        w->protocols[w->nprotocols++] = arg;
        break;
    case OPT_ORIGIN:
        if (strpbrk(arg, "\r\n")) {
            msg_error("%s: --origin must not contain a line break", cmd);
            return -1;
        }
        w->origin = arg;
        break;
    case OPT_PING_INTERVAL:
        if (parse_duration_ms(arg, &w->ping_interval_ms) < 0 || w->ping_interval_ms == 0) {
            msg_error("%s: --ping-interval '%s' is not a duration such as 30s", cmd, arg);
            return -1;
        }
        break;
    case OPT_ON_OPEN:
        if (w->non_open == WS_MAX_LIST) {
            msg_error("%s: at most %d --on-open messages", cmd, WS_MAX_LIST);
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
            msg_error("%s: --max-message '%s' is not a size from 125 to 1G", cmd, arg);
            return -1;
        }
        break;
    case OPT_RECONNECT:
        w->reconnect = true;
        break;
    case OPT_MAX_RETRIES: {
        uint64_t v;
        if (parse_uint(arg, 1000000000, &v) < 0) {
            msg_error("%s: --max-retries '%s' is not a whole number", cmd, arg);
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
    o->connect_timeout_ms = 30000;
    o->color = COLOR_AUTO;
}

static void wipe_free(char *s)
{
    if (!s)
        return;
    /* Credentials should not outlive their use in a core dump. */
    volatile char *v = s;
    while (*v)
        *v++ = 0;
    free(s);
}

void conn_opts_free(conn_opts_t *o)
{
    curl_slist_free_all(o->headers);
    wipe_free(o->userpwd);
    wipe_free(o->bearer);
    memset(o, 0, sizeof(*o));
}


/* "Name: value" with a token name and no CR/LF anywhere (header injection). */
static int check_header(const char *cmd, const char *h)
{
    const char *colon = strchr(h, ':');
    if (!colon || colon == h) {
        msg_error("%s: --header '%s' is not of the form 'Name: value'", cmd, h);
        return -1;
    }
    for (const char *p = h; p < colon; p++) {
        if (!http_is_tchar((unsigned char)*p)) {
            msg_error("%s: --header '%s' has an invalid character in its name", cmd, h);
            return -1;
        }
    }
    if (strpbrk(h, "\r\n")) {
        msg_error("%s: --header value must not contain a line break", cmd);
        return -1;
    }
    return 0;
}

static int check_readable(const char *cmd, const char *opt, const char *path)
{
    if (access(path, R_OK) != 0) {
        msg_error("%s: cannot read %s file '%s': %s", cmd, opt, path, strerror(errno));
        return -1;
    }
    return 0;
}

int conn_opts_handle(conn_opts_t *o, const char *cmd, int c, const char *arg)
{
    switch (c) {
    case 'H':
        if (check_header(cmd, arg) < 0)
            return -1;
        o->headers = curl_slist_append(o->headers, arg);
        return 1;
    case 'u':
        if (!strchr(arg, ':')) {
            msg_error("%s: --user needs USER:PASSWORD", cmd);
            return -1;
        }
        wipe_free(o->userpwd);
        o->userpwd = xstrdup(arg);
        return 1;
    case OPT_BEARER: {
        if (!*arg || strpbrk(arg, "\r\n")) {
            msg_error("%s: --bearer needs a token without line breaks", cmd);
            return -1;
        }
        wipe_free(o->bearer);
        o->bearer = xstrdup(arg);
        buf_t h;
        buf_init(&h);
        buf_printf(&h, "Authorization: Bearer %s", arg);
        o->headers = curl_slist_append(o->headers, h.p);
        memset(h.p, 0, h.len);
        buf_free(&h);
        return 1;
    }
    case OPT_CACERT:
        o->cacert = arg;
        return check_readable(cmd, "--cacert", arg) < 0 ? -1 : 1;
    case OPT_CERT:
        o->cert = arg;
        return check_readable(cmd, "--cert", arg) < 0 ? -1 : 1;
    case OPT_KEY:
        o->key = arg;
        return check_readable(cmd, "--key", arg) < 0 ? -1 : 1;
    case 'k':
        o->insecure = true;
        return 1;
    case 'x':
        o->proxy = arg;
        return 1;
    case OPT_CONNECT_TIMEOUT:
        if (parse_duration_ms(arg, &o->connect_timeout_ms) < 0 || o->connect_timeout_ms == 0) {
            msg_error("%s: --connect-timeout '%s' is not a duration such as 10s or 500ms", cmd,
                      arg);
            return -1;
        }
        return 1;
    case 'v':
        msg_level = msg_level < 0 ? 1 : msg_level + 1;
        return 1;
    case 'q':
        msg_level = -1;
        return 1;
    case 'o':
        if (out_parse_format(arg, &o->format) < 0) {
            msg_error("%s: --format '%s' is not one of pretty, raw, json", cmd, arg);
            return -1;
        }
        o->format_set = true;
        return 1;
    case OPT_COLOR:
        if (out_parse_color(arg, &o->color) < 0) {
            msg_error("%s: --color '%s' is not one of auto, always, never", cmd, arg);
            return -1;
        }
        return 1;
    case OPT_RECORD:
        if (!*arg) {
            msg_error("%s: --record needs a file name", cmd);
            return -1;
        }
        o->record = arg;
        return 1;
    default:
        return 0;
    }
}

int conn_record_open(const conn_opts_t *o, const char *cmd, const char *url, rec_proto_t proto,
                     rec_writer_t *w)
{
    w->fd = -1;
    if (!o->record)
        return 0;
    char *shown = strcmp(url, "-") == 0 ? xstrdup("-") : redact_url(url);
    char err[512];
    int rc = rec_open(w, o->record, shown, proto, err, sizeof(err));
    free(shown);
    if (rc < 0) {
        msg_error("%s: %s", cmd, err);
        return -1;
    }
    return 0;
}

void conn_ws_message(out_t *o, rec_writer_t *w, bool in, int type, const void *p, size_t n,
                     uint16_t code, uint64_t rtt, bool show)
{
    bool rec = conn_recording(w);
    uint64_t now = rec || o->format != OUT_RAW ? real_ns() : 0;
    if (rec)
        rec_ws_message(w, in, type, p, n, code, now);
    if (show)
        out_ws_message(o, in, type, p, n, code, rtt, now);
}

int conn_record_close(const conn_opts_t *o, rec_writer_t *w, int exit_code)
{
    if (!o->record || w->fd < 0)
        return exit_code;
    if (rec_close(w) < 0) {
        msg_error("writing the recording %s failed: %s", o->record, strerror(w->errno_saved));
        if (exit_code == EXIT_OK)
            exit_code = EXIT_FAIL;
    }
    return exit_code;
}

void conn_opts_finish(conn_opts_t *o)
{
    if (!o->format_set)
        o->format = out_default_format(STDOUT_FILENO);
    msg_color = out_use_color(o->color, STDERR_FILENO);
}

bool conn_opts_has_header(const conn_opts_t *o, const char *name)
{
    size_t n = strlen(name);
    for (const struct curl_slist *h = o->headers; h; h = h->next)
        if (ascii_ieq(h->data, name, n) && h->data[n] == ':')
            return true;
    return false;
}

char *redact_url(const char *url)
{
    const char *scheme = strstr(url, "://");
    if (!scheme)
        return xstrdup(url);
    const char *auth = scheme + 3;
    const char *end = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    if (!at)
        return xstrdup(url);
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (!colon)
        return xstrdup(url);
    buf_t b;
    buf_init(&b);
    buf_append(&b, url, (size_t)(colon + 1 - url));
    buf_puts(&b, "***");
    buf_puts(&b, at);
    return b.p;
}

/* Headers whose values are secrets in -v output. */
static bool secret_header(const char *line, size_t n)
{
    static const char *names[] = {"authorization:", "proxy-authorization:", "cookie:",
                                  "set-cookie:"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        size_t k = strlen(names[i]);
        if (n >= k && ascii_ieq(line, names[i], k))
            return true;
    }
    return false;
}

void verbose_lines(const char *prefix, const char *data, size_t size, bool headers)
{
    if (msg_level < 1)
        return;
    size_t pos = 0;
    while (pos < size) {
        size_t end = pos;
        while (end < size && data[end] != '\n')
            end++;
        size_t len = end - pos;
        if (len && data[pos + len - 1] == '\r')
            len--;
        if (headers && len && secret_header(data + pos, len)) {
            const char *colon = memchr(data + pos, ':', len);
            msg_verbose("%s%.*s: [redacted]", prefix, (int)(colon - (data + pos)), data + pos);
        } else if (len) {
            msg_verbose("%s%.*s", prefix, (int)len, data + pos);
        }
        pos = end + 1;
    }
}

/* CURLOPT_DEBUGFUNCTION: curl's trace as "> "/"< "/"* " lines on stderr,
 * with every secret header's value replaced. */
static int trace_cb(CURL *e, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)e;
    (void)ud;
    switch (type) {
    case CURLINFO_TEXT: verbose_lines("* ", data, size, false); break;
    case CURLINFO_HEADER_OUT: verbose_lines("> ", data, size, true); break;
    case CURLINFO_HEADER_IN: verbose_lines("< ", data, size, true); break;
    default: break;
    }
    return 0;
}

void conn_opts_apply_curl(const conn_opts_t *o, CURL *e)
{
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (o->userpwd) {
        curl_easy_setopt(e, CURLOPT_USERPWD, o->userpwd);
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
    if (o->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
    if (o->cert)
        curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert);
    if (o->key)
        curl_easy_setopt(e, CURLOPT_SSLKEY, o->key);
    if (o->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (o->proxy)
        curl_easy_setopt(e, CURLOPT_PROXY, o->proxy);
    if (msg_level >= 1) {
        curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, trace_cb);
        curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    }
}
