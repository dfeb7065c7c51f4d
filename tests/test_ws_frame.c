/* Unit tests for src/proto/ws_frame.c: the encoder's headers and masking, every
 * rule the decoder enforces on a server's frames (table-driven), the same
 * streams fed whole, byte by byte and in random splits, and round trips of
 * encoder output turned into server frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "text.h"
#include "ws_frame.h"
#include "ws_deflate.h"

static unsigned rng = 4242;
static unsigned rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) & 0x7fff;
}

/* ---- building server frames ---- */

/* An unmasked frame, minimal length encoding. */
static void sframe(buf_t *b, uint8_t b0, const void *p, size_t n)
{
    uint8_t h[10];
    size_t k;
    h[0] = b0;
    if (n < 126) {
        h[1] = (uint8_t)n;
        k = 2;
    } else if (n <= 0xffff) {
        h[1] = 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        k = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        k = 10;
    }
    buf_append(b, h, k);
    if (n)
        buf_append(b, p, n);
}

static void sclose(buf_t *b, uint16_t code, const char *reason)
{
    uint8_t pl[125];
    size_t n = 0;
    if (code) {
        pl[0] = (uint8_t)(code >> 8);
        pl[1] = (uint8_t)code;
        n = 2 + strlen(reason);
        memcpy(pl + 2, reason, n - 2);
    }
    sframe(b, 0x88, pl, n);
}

/* A client frame from the encoder, as the server would see it unmasked and
 * resent: mask bit cleared, key removed, payload unmasked. */
static void to_server(buf_t *out, const uint8_t *f, size_t n)
{
    assert_true(n >= 6);
    assert_true(f[1] & 0x80);
    size_t l7 = f[1] & 0x7f;
    size_t h = l7 == 126 ? 4 : l7 == 127 ? 10 : 2;
    uint32_t mask;
    memcpy(&mask, f + h, 4);
    uint8_t hb[10];
    memcpy(hb, f, h);
    hb[1] &= 0x7f;
    buf_append(out, hb, h);
    size_t pl = n - h - 4;
    uint8_t *tmp = malloc(pl + 1);
    memcpy(tmp, f + h + 4, pl);
    wsf_mask(tmp, pl, mask, 0);
    buf_append(out, tmp, pl);
    free(tmp);
}

/* ---- decoding into a log ---- */

enum split { WHOLE, BYTES, RANDOM };

/* What a stream decoded to, as text: "T<len>:data|" per text message,
 * "B<len>:...", "P:", "O:" (pong), "C<code>:reason|", "E<code>|" at an
 * error. Also checks the piece invariants as it goes. */
struct dlog {
    buf_t text;
    buf_t msg;     /* data message being assembled */
    buf_t ctl;     /* control frame being assembled */
    bool in_frame;
    uint64_t frame_left;
    uint64_t frame_op;
    int error;
    const char *why;
};

static void dlog_init(struct dlog *l)
{
    memset(l, 0, sizeof(*l));
    buf_init(&l->text);
    buf_init(&l->msg);
    buf_init(&l->ctl);
}

static void dlog_free(struct dlog *l)
{
    buf_free(&l->text);
    buf_free(&l->msg);
    buf_free(&l->ctl);
}

static void on_piece(struct dlog *l, const wsf_event_t *ev)
{
    assert_int_equal(ev->frame_start, !l->in_frame);
    if (ev->frame_start) {
        l->in_frame = true;
        l->frame_left = ev->frame_len;
        l->frame_op = ev->opcode;
    }
    assert_int_equal(ev->opcode, l->frame_op);
    assert_true(ev->len <= l->frame_left);
    if (!ev->frame_start)
        assert_true(ev->len > 0);
    l->frame_left -= ev->len;
    assert_int_equal(ev->frame_end, l->frame_left == 0);
    bool control = ev->opcode & 8;
    buf_append(control ? &l->ctl : &l->msg, ev->data ? (const char *)ev->data : "", ev->len);
    if (!ev->frame_end) {
        assert_false(ev->message_end);
        return;
    }
    l->in_frame = false;
    if (!ev->message_end)
        return;
    if (control) {
        assert_int_equal(ev->message_len, l->ctl.len);
        if (ev->opcode == WSF_CLOSE)
            buf_printf(&l->text, "C%u:%.*s|", ev->close_code, l->ctl.len > 2 ? (int)l->ctl.len - 2 : 0,
                       l->ctl.len > 2 ? l->ctl.p + 2 : "");
        else
            buf_printf(&l->text, "%c:%.*s|", ev->opcode == WSF_PING ? 'P' : 'O', (int)l->ctl.len,
                       l->ctl.p ? l->ctl.p : "");
        buf_reset(&l->ctl);
    } else {
        assert_true(ev->fin);
        assert_int_equal(ev->message_len, l->msg.len);
        buf_printf(&l->text, "%c%zu:%.*s|", ev->msg_opcode == WSF_TEXT ? 'T' : 'B', l->msg.len,
                   (int)(l->msg.len < 40 ? l->msg.len : 40), l->msg.p ? l->msg.p : "");
        buf_reset(&l->msg);
    }
}

/* Feeds p[0..n) split as asked; returns the error code or 0. */
static int decode_all(const uint8_t *p, size_t n, enum split sp, uint64_t max, struct dlog *l)
{
    wsf_decoder_t d;
    wsf_decoder_init(&d, max);
    size_t off = 0;
    while (off < n) {
        size_t k = sp == WHOLE ? n - off : sp == BYTES ? 1 : 1 + rnd() % 23;
        if (k > n - off)
            k = n - off;
        const uint8_t *q = p + off;
        size_t m = k, used = 0;
        while (used < m) {
            wsf_event_t ev;
            size_t c = wsf_decode(&d, q + used, m - used, &ev);
            if (ev.type == WSF_EV_ERROR) {
                assert_int_equal(c, 0);
                assert_non_null(ev.error);
                assert_null(strchr(ev.error, '\n'));
                buf_printf(&l->text, "E%u|", ev.error_code);
                l->error = ev.error_code;
                l->why = ev.error;
                /* sticky */
                wsf_event_t ev2;
                assert_int_equal(wsf_decode(&d, q, m, &ev2), 0);
                assert_int_equal(ev2.type, WSF_EV_ERROR);
                assert_int_equal(ev2.error_code, ev.error_code);
                return l->error;
            }
            if (ev.type == WSF_EV_NONE) {
                assert_int_equal(c, m - used);
            } else {
                assert_true(c > 0);
                on_piece(l, &ev);
            }
            used += c;
        }
        off += k;
    }
    return 0;
}

/* Decodes b in every split mode; all must agree. Returns the whole one's
 * log in out (caller frees). */
static int decode_every_way(const buf_t *b, uint64_t max, buf_t *out)
{
    struct dlog whole;
    dlog_init(&whole);
    int rc = decode_all((const uint8_t *)b->p, b->len, WHOLE, max, &whole);
    for (int mode = BYTES; mode <= RANDOM; mode++) {
        for (int rep = 0; rep < (mode == RANDOM ? 20 : 1); rep++) {
            struct dlog l;
            dlog_init(&l);
            int r = decode_all((const uint8_t *)b->p, b->len, (enum split)mode, max, &l);
            assert_int_equal(r, rc);
            assert_string_equal(l.text.p ? l.text.p : "", whole.text.p ? whole.text.p : "");
            dlog_free(&l);
        }
    }
    buf_init(out);
    buf_append(out, whole.text.p ? whole.text.p : "", whole.text.len);
    dlog_free(&whole);
    return rc;
}

static void expect_log(const buf_t *stream, uint64_t max, int code, const char *log)
{
    buf_t out;
    int rc = decode_every_way(stream, max, &out);
    if (rc != code || strcmp(out.p, log) != 0)
        fail_msg("got code %d log '%s', want %d '%s'", rc, out.p, code, log);
    buf_free(&out);
}

/* ---- encoder ---- */

static void test_header_sizes(void **state)
{
    (void)state;
    static const struct {
        uint64_t len;
        size_t hlen;
        uint8_t b1;
    } cases[] = {
        {0, 6, 0x80},       {1, 6, 0x81},        {125, 6, 0x80 | 125},
        {126, 8, 0x80 | 126}, {65535, 8, 0x80 | 126}, {65536, 14, 0x80 | 127},
        {(uint64_t)1 << 40, 14, 0x80 | 127},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        uint8_t h[WSF_MAX_HEADER];
        size_t k = wsf_header(h, WSF_BINARY, true, cases[i].len, 0x11223344);
        assert_int_equal(k, cases[i].hlen);
        assert_int_equal(h[0], 0x82);
        assert_int_equal(h[1], cases[i].b1);
        uint32_t m;
        memcpy(&m, h + k - 4, 4);
        assert_int_equal(m, 0x11223344);
        uint64_t got = h[1] & 0x7f;
        if (got == 126)
            got = (uint64_t)h[2] << 8 | h[3];
        else if (got == 127) {
            got = 0;
            for (int b = 0; b < 8; b++)
                got = got << 8 | h[2 + b];
        }
        assert_true(got == cases[i].len);
    }
    uint8_t h[WSF_MAX_HEADER];
    wsf_header(h, WSF_TEXT, false, 3, 0);
    assert_int_equal(h[0], 0x01);
    wsf_header(h, WSF_PING, true, 3, 0);
    assert_int_equal(h[0], 0x89);
}

static void test_mask(void **state)
{
    (void)state;
    uint8_t orig[300], a[300], b[300], c[300];
    for (size_t i = 0; i < sizeof(orig); i++)
        orig[i] = (uint8_t)(i * 7 + 3);
    uint64_t seed = 99;
    for (int rep = 0; rep < 50; rep++) {
        uint32_t mask = wsf_rand(&seed);
        uint8_t kb[4];
        memcpy(kb, &mask, 4);
        size_t n = 1 + rnd() % (sizeof(orig) - 1);
        memcpy(a, orig, n);
        wsf_mask(a, n, mask, 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(a[i], orig[i] ^ kb[i & 3]);
        /* the same in pieces with offsets */
        memcpy(b, orig, n);
        size_t off = 0;
        while (off < n) {
            size_t k = 1 + rnd() % 13;
            if (k > n - off)
                k = n - off;
            wsf_mask(b + off, k, mask, off);
            off += k;
        }
        assert_memory_equal(a, b, n);
        wsf_mask_copy(c, orig, n, mask, 0);
        assert_memory_equal(a, c, n);
        wsf_mask(c, n, mask, 0);
        assert_memory_equal(c, orig, n);
    }
    /* the PRNG moves and is not stuck at 0 */
    uint64_t s = 1;
    uint32_t x = wsf_rand(&s), y = wsf_rand(&s);
    assert_true(x != y && s != 0);
}

static void test_close_frame_encoding(void **state)
{
    (void)state;
    uint8_t f[WSF_MAX_HEADER + WSF_MAX_CONTROL];
    size_t n = wsf_close_frame(f, 1000, "bye", 0x01020304);
    assert_int_equal(n, 6 + 5);
    assert_int_equal(f[0], 0x88);
    assert_int_equal(f[1], 0x80 | 5);
    buf_t s;
    buf_init(&s);
    to_server(&s, f, n);
    expect_log(&s, 0, 0, "C1000:bye|");
    buf_free(&s);

    n = wsf_close_frame(f, 0, NULL, 7);
    assert_int_equal(n, 6);
    buf_init(&s);
    to_server(&s, f, n);
    expect_log(&s, 0, 0, "C1005:|");
    buf_free(&s);

    /* a long reason is cut to 123 bytes, not inside a UTF-8 sequence */
    char reason[300];
    memset(reason, 'a', 122);
    strcpy(reason + 122, "\xc3\xa9 and more");
    n = wsf_close_frame(f, 4000, reason, 7);
    assert_int_equal(n, 6 + 2 + 122);
    buf_init(&s);
    to_server(&s, f, n);
    buf_t out;
    assert_int_equal(decode_every_way(&s, 0, &out), 0);
    buf_free(&out);
    buf_free(&s);
}

static void test_close_codes(void **state)
{
    (void)state;
    static const uint16_t ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                  1012, 1013, 1014, 3000, 3999, 4000, 4999};
    static const uint16_t bad[] = {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        assert_true(wsf_close_code_valid(ok[i]));
        buf_t s;
        buf_init(&s);
        sclose(&s, ok[i], "r");
        char want[32];
        snprintf(want, sizeof(want), "C%u:r|", ok[i]);
        expect_log(&s, 0, 0, want);
        buf_free(&s);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        assert_false(wsf_close_code_valid(bad[i]));
        buf_t s;
        buf_init(&s);
        uint8_t pl[2] = {(uint8_t)(bad[i] >> 8), (uint8_t)bad[i]};
        sframe(&s, 0x88, pl, 2);
        expect_log(&s, 0, 1002, "E1002|");
        buf_free(&s);
    }
}

/* ---- decoder rules, table-driven ---- */

struct rule_case {
    const char *name;
    const char *hex; /* the stream, as hex */
    uint64_t max;
    int code;
    const char *log;
};

static const struct rule_case rules[] = {
    {"text", "8105 68656c6c6f", 0, 0, "T5:hello|"},
    {"empty text", "8100", 0, 0, "T0:|"},
    {"binary any bytes", "8203 ff00c0", 0, 0, "B3:\xff"},
    {"fragmented text", "0103 68656c 8002 6c6f", 0, 0, "T5:hello|"},
    {"ping between fragments", "0103 68656c 8902 6869 8002 6c6f", 0, 0, "P:hi|T5:hello|"},
    {"pong", "8a00", 0, 0, "O:|"},
    {"masked", "8185 00000000 6869212121", 0, 1002, "E1002|"},
    {"rsv1", "c100", 0, 1002, "E1002|"},
    {"rsv2", "a100", 0, 1002, "E1002|"},
    {"rsv3", "9100", 0, 1002, "E1002|"},
    {"opcode 3", "8300", 0, 1002, "E1002|"},
    {"opcode 7", "8700", 0, 1002, "E1002|"},
    {"opcode b", "8b00", 0, 1002, "E1002|"},
    {"opcode f", "8f00", 0, 1002, "E1002|"},
    {"fragmented ping", "0900", 0, 1002, "E1002|"},
    {"fragmented close", "0800", 0, 1002, "E1002|"},
    {"ping 126 bytes", "897e007e", 0, 1002, "E1002|"},
    {"non-minimal 16-bit", "817e007d", 0, 1002, "E1002|"},
    {"non-minimal 64-bit", "827f000000000000ffff", 0, 1002, "E1002|"},
    {"64-bit msb", "827f8000000000010000", 0, 1002, "E1002|"},
    {"continuation alone", "8003 616263", 0, 1002, "E1002|"},
    {"text inside fragments", "0101 61 8101 62", 0, 1002, "E1002|"},
    {"binary inside fragments", "0201 61 0201 62", 0, 1002, "E1002|"},
    {"too big, one frame", "8205 0102030405", 4, 1009, "E1009|"},
    {"at the bound", "8204 01020304", 4, 0, "B4:\x01\x02\x03\x04|"},
    {"too big, fragments", "0203 010203 8002 0405", 4, 1009, "E1009|"},
    {"bound is per message", "8203 010203 8203 040506", 4, 0, "B3:\x01\x02\x03|B3:\x04\x05\x06|"},
    {"control frames do not count", "0203 010203 8903 616263 8001 04", 4, 0, "P:abc|B4:\x01\x02\x03\x04|"},
    {"utf8 ok", "8109 c3a9e282acf09f9880", 0, 0, "T9:\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|"},
    {"utf8 split across fragments", "0102 c3a9 0001 e2 8002 82ac", 0, 0, "T5:\xc3\xa9\xe2\x82\xac|"},
    {"utf8 0xff", "8101 ff", 0, 1007, "E1007|"},
    {"utf8 lone continuation", "8101 80", 0, 1007, "E1007|"},
    {"utf8 overlong c0", "8102 c080", 0, 1007, "E1007|"},
    {"utf8 overlong e0", "8103 e08080", 0, 1007, "E1007|"},
    {"utf8 overlong f0", "8104 f0808080", 0, 1007, "E1007|"},
    {"utf8 surrogate", "8103 eda080", 0, 1007, "E1007|"},
    {"utf8 over 10ffff", "8104 f4908080", 0, 1007, "E1007|"},
    {"utf8 f5", "8104 f5808080", 0, 1007, "E1007|"},
    {"utf8 truncated at end", "8102 e282", 0, 1007, "E1007|"},
    {"utf8 truncated fragment end", "0102 e282 8000", 0, 1007, "E1007|"},
    {"utf8 fail fast", "0103 61ff62", 0, 1007, "E1007|"},
    {"close empty", "8800", 0, 0, "C1005:|"},
    {"close one byte", "8801 03", 0, 1002, "E1002|"},
    {"close 1000 reason", "8805 03e8627965", 0, 0, "C1000:bye|"},
    {"close bad reason", "8803 03e8ff", 0, 1007, "E1007|"},
    {"close truncated reason", "8804 03e8e282", 0, 1007, "E1007|"},
    {"close 1012", "8802 03f4", 0, 0, "C1012:|"},
    {"close 1005 on the wire", "8802 03ed", 0, 1002, "E1002|"},
    {"after close: ignored", "8802 03e8 8105 68656c6c6f ffffffff", 0, 0, "C1000:|"},
    {"close between fragments", "0101 61 8802 03e8", 0, 0, "C1000:|"},
};

static size_t unhex(const char *hex, buf_t *out)
{
    buf_init(out);
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        int hi = hex_value(p[0]), lo = hex_value(p[1]);
        assert_true(hi >= 0 && lo >= 0);
        buf_putc(out, (char)(hi << 4 | lo));
        p += 2;
    }
    return out->len;
}

static void test_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(rules); i++) {
        buf_t s, out;
        unhex(rules[i].hex, &s);
        int rc = decode_every_way(&s, rules[i].max, &out);
        if (rc != rules[i].code || strncmp(out.p, rules[i].log, strlen(rules[i].log)) != 0)
            fail_msg("%s: got %d '%s', want %d '%s'", rules[i].name, rc, out.p, rules[i].code,
                     rules[i].log);
        buf_free(&out);
        buf_free(&s);
    }
}

static void test_error_reasons(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        const char *word;
    } cases[] = {
        {"8180", "masked"},       {"c100", "reserved bits"},     {"8300", "reserved opcode"},
        {"0900", "fragmented"},   {"897e007e", "125"},           {"817e007d", "minimal"},
        {"827f8000000000010000", "significant"},                 {"8000", "continuation"},
        {"0100 0100", "inside"},  {"8101 ff", "UTF-8"},          {"8801 03", "1-byte"},
        {"8802 0000", "close code"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        buf_t s;
        unhex(cases[i].hex, &s);
        struct dlog l;
        dlog_init(&l);
        assert_true(decode_all((const uint8_t *)s.p, s.len, WHOLE, 0, &l) != 0);
        if (!strstr(l.why, cases[i].word))
            fail_msg("%s: reason '%s' does not say '%s'", cases[i].hex, l.why, cases[i].word);
        dlog_free(&l);
        buf_free(&s);
    }
    buf_t s;
    unhex("8205 0102030405", &s);
    struct dlog l;
    dlog_init(&l);
    assert_int_equal(decode_all((const uint8_t *)s.p, s.len, WHOLE, 4, &l), 1009);
    assert_non_null(strstr(l.why, "maximum"));
    dlog_free(&l);
    buf_free(&s);
}

/* The 1009 comes at the header, before any payload is delivered. */
static void test_too_big_before_payload(void **state)
{
    (void)state;
    wsf_decoder_t d;
    wsf_decoder_init(&d, 1000);
    uint8_t h[] = {0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0};
    wsf_event_t ev;
    assert_int_equal(wsf_decode(&d, h, sizeof(h), &ev), 0);
    assert_int_equal(ev.type, WSF_EV_ERROR);
    assert_int_equal(ev.error_code, 1009);
}

static void test_idle(void **state)
{
    (void)state;
    wsf_decoder_t d;
    wsf_decoder_init(&d, 0);
    assert_true(wsf_decoder_idle(&d));
    uint8_t a[] = {0x01, 0x01, 'a'};
    wsf_event_t ev;
    assert_int_equal(wsf_decode(&d, a, 1, &ev), 1);
    assert_int_equal(ev.type, WSF_EV_NONE);
    assert_false(wsf_decoder_idle(&d));
    assert_int_equal(wsf_decode(&d, a + 1, 2, &ev), 2);
    assert_int_equal(ev.type, WSF_EV_PIECE);
    assert_true(ev.frame_start && ev.frame_end && !ev.message_end);
    assert_false(wsf_decoder_idle(&d)); /* message still open */
    uint8_t b[] = {0x80, 0x00};
    assert_int_equal(wsf_decode(&d, b, 2, &ev), 2);
    assert_true(ev.message_end);
    assert_int_equal(ev.message_len, 1);
    assert_true(wsf_decoder_idle(&d));
    /* an empty input reports nothing */
    assert_int_equal(wsf_decode(&d, b, 0, &ev), 0);
    assert_int_equal(ev.type, WSF_EV_NONE);
}

/* A frame whose payload arrives in pieces after its header: the start piece
 * is empty, the rest carry data, large lengths use 16 and 64 bits. */
static void test_large_frames(void **state)
{
    (void)state;
    static const size_t sizes[] = {125, 126, 127, 65535, 65536, 200000};
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        size_t n = sizes[i];
        char *p = malloc(n);
        for (size_t k = 0; k < n; k++)
            p[k] = (char)('a' + k % 26);
        buf_t s;
        buf_init(&s);
        sframe(&s, 0x81, p, n);
        sframe(&s, 0x82, p, n);
        char want[128];
        snprintf(want, sizeof(want), "T%zu:%.40s|B%zu:%.40s|", n, p, n, p);
        expect_log(&s, 0, 0, want);
        expect_log(&s, n - 1, 1009, "E1009|");
        buf_free(&s);
        free(p);
    }
}

/* Encoder output, turned into server frames, decodes to what was encoded,
 * in every split; fragmented messages made of encoder headers too. */
static void test_round_trip(void **state)
{
    (void)state;
    uint64_t seed = 7;
    buf_t stream, want;
    buf_init(&stream);
    buf_init(&want);
    for (int m = 0; m < 60; m++) {
        size_t n = (size_t)(rnd() % 5 == 0 ? rnd() % 70000 : rnd() % 200);
        uint8_t *pl = malloc(n + 1);
        for (size_t k = 0; k < n; k++)
            pl[k] = (uint8_t)(32 + rnd() % 95);
        bool text = rnd() & 1;
        uint8_t *f = malloc(WSF_MAX_HEADER + n);
        if (rnd() % 4 == 0 && n > 2) {
            /* two fragments with a ping between */
            size_t a = n / 2;
            size_t h = wsf_header(f, text ? WSF_TEXT : WSF_BINARY, false, a, wsf_rand(&seed));
            uint32_t mk;
            memcpy(&mk, f + h - 4, 4);
            wsf_mask_copy(f + h, pl, a, mk, 0);
            to_server(&stream, f, h + a);
            uint8_t pf[WSF_MAX_HEADER + 4];
            size_t pn = wsf_frame(pf, WSF_PING, "png", 3, wsf_rand(&seed));
            to_server(&stream, pf, pn);
            buf_puts(&want, "P:png|");
            h = wsf_header(f, WSF_CONT, true, n - a, wsf_rand(&seed));
            memcpy(&mk, f + h - 4, 4);
            memcpy(f + h, pl + a, n - a);
            wsf_mask(f + h, n - a, mk, 0);
            to_server(&stream, f, h + n - a);
        } else {
            size_t fn = wsf_frame(f, text ? WSF_TEXT : WSF_BINARY, pl, n, wsf_rand(&seed));
            to_server(&stream, f, fn);
        }
        buf_printf(&want, "%c%zu:%.*s|", text ? 'T' : 'B', n, (int)(n < 40 ? n : 40), (char *)pl);
        free(f);
        free(pl);
    }
    uint8_t cf[WSF_MAX_HEADER + WSF_MAX_CONTROL];
    size_t cn = wsf_close_frame(cf, 1001, "going away", wsf_rand(&seed));
    to_server(&stream, cf, cn);
    buf_puts(&want, "C1001:going away|");
    expect_log(&stream, 0, 0, want.p);
    buf_free(&stream);
    buf_free(&want);
}

/* Random bytes never crash and always end in pieces or one error. */
static void test_garbage(void **state)
{
    (void)state;
    for (int rep = 0; rep < 300; rep++) {
        buf_t s;
        buf_init(&s);
        size_t n = rnd() % 64;
        for (size_t i = 0; i < n; i++)
            buf_putc(&s, (char)(rnd() & 0xff));
        buf_t out;
        decode_every_way(&s, rnd() % 2 ? 0 : 16, &out);
        buf_free(&out);
        buf_free(&s);
    }
}


/* ---- permessage-deflate: RSV1 ---- */

/* Decodes b whole with a decoder (RSV1 allowed or not, max); returns the
 * error code (0: none) and the pieces' compressed flags in *flags ("c"
 * compressed, "p" plain, per piece). */
static int rsv1_decode(const buf_t *b, bool allow, uint64_t max, char *flags, size_t cap,
                       const char **why)
{
    wsf_decoder_t d;
    wsf_decoder_init(&d, max);
    if (allow)
        wsf_decoder_allow_rsv1(&d);
    size_t off = 0, nf = 0;
    flags[0] = '\0';
    while (off < b->len) {
        wsf_event_t ev;
        off += wsf_decode(&d, (const uint8_t *)b->p + off, b->len - off, &ev);
        if (ev.type == WSF_EV_ERROR) {
            *why = ev.error;
            return ev.error_code;
        }
        if (ev.type == WSF_EV_NONE)
            break;
        if (!(ev.opcode & 8) && nf + 1 < cap) {
            flags[nf++] = ev.compressed ? 'c' : 'p';
            flags[nf] = '\0';
        }
    }
    return 0;
}

static void test_rsv1(void **state)
{
    (void)state;
    static const uint8_t junk[] = {0xff, 0xfe, 0x00, 0xc3}; /* not UTF-8: compressed bytes */
    char flags[16];
    const char *why = "";
    buf_t b;
    buf_init(&b);
    /* Not negotiated: RSV1 is an error. */
    sframe(&b, 0xc1, junk, sizeof(junk));
    assert_int_equal(rsv1_decode(&b, false, 0, flags, sizeof(flags), &why), 1002);
    assert_non_null(strstr(why, "reserved bits"));
    /* Negotiated: a compressed text message, its UTF-8 left to the caller. */
    assert_int_equal(rsv1_decode(&b, true, 0, flags, sizeof(flags), &why), 0);
    assert_string_equal(flags, "c");
    /* Fragmented: the continuation carries no RSV1 but is compressed too,
     * with a ping between; then a plain message. */
    buf_reset(&b);
    sframe(&b, 0x41, junk, 2);
    sframe(&b, 0x89, "p", 1);
    sframe(&b, 0x80, junk + 2, 2);
    sframe(&b, 0x81, "plain", 5);
    assert_int_equal(rsv1_decode(&b, true, 0, flags, sizeof(flags), &why), 0);
    assert_string_equal(flags, "ccp");
    /* RSV1 on a continuation, a control frame; RSV2, RSV3. */
    static const struct {
        uint8_t b0, b0_first;
        const char *why;
    } bad[] = {{0xc0, 0x41, "continuation"}, {0xc9, 0, "control"}, {0xc8, 0, "control"},
               {0xa1, 0, "reserved bits"},   {0x91, 0, "reserved bits"}, {0xe1, 0, "reserved bits"}};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        buf_reset(&b);
        if (bad[i].b0_first)
            sframe(&b, bad[i].b0_first, "a", 1);
        sframe(&b, bad[i].b0, "a", 1);
        assert_int_equal(rsv1_decode(&b, true, 0, flags, sizeof(flags), &why), 1002);
        if (!strstr(why, bad[i].why))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, why, bad[i].why);
    }
    /* --max-message bounds plain messages exactly, compressed ones by what
     * their inflated size allows on the wire. */
    uint8_t *big = calloc(1, 3000);
    buf_reset(&b);
    sframe(&b, 0x82, big, 1001);
    assert_int_equal(rsv1_decode(&b, true, 1000, flags, sizeof(flags), &why), 1009);
    buf_reset(&b);
    sframe(&b, 0xc2, big, 1100);
    assert_int_equal(rsv1_decode(&b, true, 1000, flags, sizeof(flags), &why), 0);
    buf_reset(&b);
    sframe(&b, 0xc2, big, (size_t)ws_pmd_wire_max(1000) + 1);
    assert_int_equal(rsv1_decode(&b, true, 1000, flags, sizeof(flags), &why), 1009);
    buf_reset(&b);
    sframe(&b, 0x42, big, 1000);
    sframe(&b, 0x80, big, (size_t)ws_pmd_wire_max(1000) - 1000 + 1);
    assert_int_equal(rsv1_decode(&b, true, 1000, flags, sizeof(flags), &why), 1009);
    free(big);
    buf_free(&b);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(wsf_utf8_valid((const uint8_t *)"", 0));
    assert_true(wsf_utf8_valid((const uint8_t *)"h\xc3\xa9llo \xf0\x9f\x98\x80", 11));
    assert_false(wsf_utf8_valid((const uint8_t *)"\xff", 1));
    assert_false(wsf_utf8_valid((const uint8_t *)"ab\xc3", 3));       /* cut */
    assert_false(wsf_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3)); /* surrogate */
    assert_false(wsf_utf8_valid((const uint8_t *)"\xc0\xaf", 2));     /* overlong */
    assert_false(wsf_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_sizes),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_close_frame_encoding),
        cmocka_unit_test(test_close_codes),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_error_reasons),
        cmocka_unit_test(test_too_big_before_payload),
        cmocka_unit_test(test_idle),
        cmocka_unit_test(test_large_frames),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_rsv1),
        cmocka_unit_test(test_utf8_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
