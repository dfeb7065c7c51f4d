/* channel: the broadcast channel of evcat serve, without I/O (channel.h):
 * sequence numbers, each event formatted once as SSE, the bounded history
 * and Last-Event-ID resume. */
#include "channel.h"

#include <stdlib.h>
#include <string.h>

struct channel {
    channel_event_t **ring; /* owned events, cap slots, oldest at head */
    size_t cap, head, len;
    size_t bytes, max_bytes;
    uint64_t seq;          /* the newest event's id */
    channel_event_t *last; /* owned: the newest event when cap == 0 */
    buf_t fmt;             /* scratch for formatting */
};

channel_t *channel_new(size_t history, size_t history_bytes)
{
    channel_t *ch = xcalloc(1, sizeof(*ch));
    ch->cap = history;
    ch->max_bytes = history_bytes;
    if (history)
        ch->ring = xcalloc(history, sizeof(*ch->ring));
    buf_init(&ch->fmt);
    return ch;
}

static void event_free(channel_event_t *ev)
{
    if (!ev)
        return;
    sendq_buf_unref(ev->sse);
    free(ev);
}

void channel_free(channel_t *ch)
{
    if (!ch)
        return;
    for (size_t i = 0; i < ch->len; i++)
        event_free(ch->ring[(ch->head + i) % ch->cap]);
    free(ch->ring);
    event_free(ch->last);
    buf_free(&ch->fmt);
    free(ch);
}

void channel_format_sse(buf_t *out, uint64_t id, const char *type, size_t type_len,
                        const char *data, size_t data_len)
{
    buf_printf(out, "id: %llu\n", (unsigned long long)id);
    if (!(type_len == 7 && memcmp(type, "message", 7) == 0)) {
        buf_append(out, "event: ", 7);
        buf_append(out, type, type_len);
        buf_putc(out, '\n');
    }
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < data_len && data[j] != '\n' && data[j] != '\r')
            j++;
        buf_append(out, "data: ", 6);
        buf_append(out, data + i, j - i);
        buf_putc(out, '\n');
        if (j == data_len)
            break;
        i = j + 1;
        if (data[j] == '\r' && i < data_len && data[i] == '\n')
            i++;
    }
    buf_putc(out, '\n');
}

static void evict_oldest(channel_t *ch)
{
    channel_event_t *ev = ch->ring[ch->head];
    ch->ring[ch->head] = NULL;
    ch->bytes -= ev->cost;
    event_free(ev);
    ch->head = (ch->head + 1) % ch->cap;
    ch->len--;
}

const channel_event_t *channel_publish(channel_t *ch, const char *type, size_t type_len,
                                       const char *data, size_t data_len)
{
    uint64_t seq = ++ch->seq;
    buf_reset(&ch->fmt);
    channel_format_sse(&ch->fmt, seq, type, type_len, data, data_len);

    channel_event_t *ev = xmalloc(sizeof(*ev) + type_len + 1 + data_len + 1);
    ev->seq = seq;
    ev->sse = sendq_buf_copy(ch->fmt.p, ch->fmt.len);
    memcpy(ev->storage, type, type_len);
    ev->storage[type_len] = '\0';
    if (data_len)
        memcpy(ev->storage + type_len + 1, data, data_len);
    ev->storage[type_len + 1 + data_len] = '\0';
    ev->type = ev->storage;
    ev->type_len = type_len;
    ev->data = ev->storage + type_len + 1;
    ev->data_len = data_len;
    ev->cost = sizeof(*ev) + type_len + data_len + 2 + sizeof(sendq_buf_t) + ev->sse->len;
    /* Formatting a 1 MiB message should not pin 1 MiB of scratch. */
    if (ch->fmt.cap > 64 * 1024)
        buf_free(&ch->fmt);

    if (ch->cap == 0) {
        event_free(ch->last);
        ch->last = ev;
        return ev;
    }
    if (ch->len == ch->cap)
        evict_oldest(ch);
    while (ch->len > 0 && ch->bytes + ev->cost > ch->max_bytes)
        evict_oldest(ch);
    ch->ring[(ch->head + ch->len) % ch->cap] = ev;
    ch->len++;
    ch->bytes += ev->cost;
    return ev;
}

uint64_t channel_last_seq(const channel_t *ch)
{
    return ch->seq;
}

size_t channel_history_len(const channel_t *ch)
{
    return ch->len;
}

size_t channel_history_bytes(const channel_t *ch)
{
    return ch->bytes;
}

const channel_event_t *channel_history_at(const channel_t *ch, size_t i)
{
    if (i >= ch->len)
        return NULL;
    return ch->ring[(ch->head + i) % ch->cap];
}

int channel_resume(const channel_t *ch, const char *id, size_t id_len, size_t *first)
{
    *first = ch->len;
    /* Our ids are decimal sequence numbers: anything else is not ours. */
    if (id_len == 0 || id_len > 19)
        return CHANNEL_RESUME_NONE;
    uint64_t v = 0;
    for (size_t i = 0; i < id_len; i++) {
        if (id[i] < '0' || id[i] > '9')
            return CHANNEL_RESUME_NONE;
        v = v * 10 + (uint64_t)(id[i] - '0');
    }
    if (v > ch->seq)
        return CHANNEL_RESUME_NONE;
    if (v == ch->seq)
        return CHANNEL_RESUME_EXACT; /* up to date */
    /* The ids in history are contiguous and end at ch->seq. */
    uint64_t oldest = ch->seq - ch->len + 1;
    if (v + 1 >= oldest) {
        *first = (size_t)(v + 1 - oldest);
        return CHANNEL_RESUME_EXACT;
    }
    *first = 0;
    return CHANNEL_RESUME_GAP;
}
