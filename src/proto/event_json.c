#include "event_json.h"
#include "json_text.h"
#include "clock.h"
#include "text.h"

const char *ws_type_name(int type)
{
    switch (type) {
    case 1: return "text";
    case 2: return "binary";
    case 8: return "close";
    case 9: return "ping";
    case 10: return "pong";
    default: return "?";
    }
}

void event_json_sse(buf_t *b, const sse_event_t *ev, uint64_t real_ns)
{
    char ts[RFC3339_LEN + 1];
    buf_puts(b, "{\"ts\":\"");
    buf_puts(b, fmt_rfc3339(ts, real_ns));
    buf_puts(b, "\",\"proto\":\"sse\",\"event\":");
    json_quote(b, ev->type, ev->type_len);
    buf_puts(b, ",\"data\":");
    json_quote(b, ev->data, ev->data_len);
    buf_puts(b, ",\"id\":");
    json_quote(b, ev->id, ev->id_len);
}

void event_json_ws(buf_t *b, bool in, int type, const void *p, size_t n, uint16_t code,
                 uint64_t real_ns)
{
    char ts[RFC3339_LEN + 1];
    buf_puts(b, "{\"ts\":\"");
    buf_puts(b, fmt_rfc3339(ts, real_ns));
    buf_puts(b, in ? "\",\"proto\":\"ws\",\"dir\":\"in\",\"type\":\""
                   : "\",\"proto\":\"ws\",\"dir\":\"out\",\"type\":\"");
    buf_puts(b, ws_type_name(type));
    buf_putc(b, '"');
    if (type == 1) {
        buf_puts(b, ",\"data\":");
        json_quote(b, p, n);
    } else if (type == 8) {
        buf_printf(b, ",\"code\":%u,\"reason\":", (unsigned)code);
        json_quote(b, p, n);
    } else {
        buf_puts(b, ",\"data_b64\":\"");
        base64_append(b, p, n);
        buf_putc(b, '"');
    }
}

void event_json_parsed(buf_t *b, const void *p, size_t n)
{
    if (!json_text_valid(p, n))
        return;
    buf_puts(b, ",\"json\":");
    json_text_write(b, p, n, NULL);
}
