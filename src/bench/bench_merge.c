/* bench_merge: the checks and merge of a test's shards, and the reader that
 * finds shard forms in a stream (see bench_merge.h). */
#include "bench_merge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

/* ---- missing shards ---- */

void bench_missing_free(bench_missing_t *m)
{
    free(m->index);
    memset(m, 0, sizeof(*m));
}

void bench_missing_format(const bench_missing_t *m, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    buf_t b;
    buf_init(&b);
    for (size_t i = 0; i < m->n;) {
        size_t j = i;
        while (j + 1 < m->n && m->index[j + 1] == m->index[j] + 1)
            j++;
        buf_printf(&b, "%s%u", i ? ", " : "", m->index[i]);
        if (j > i)
            buf_printf(&b, "-%u", m->index[j]);
        i = j + 1;
    }
    static const char more[] = ", ...";
    size_t keep = b.len;
    if (keep >= outlen) { /* cut after the last whole entry that leaves room for ", ..." */
        keep = 0;
        for (size_t k = 0; k < b.len && k + sizeof(more) <= outlen; k++)
            if (b.p[k] == ',')
                keep = k;
    }
    snprintf(out, outlen, "%.*s%s", (int)keep, b.len ? b.p : "",
             keep < b.len ? more + (keep ? 0 : 2) : "");
    buf_free(&b);
}

/* ---- merging ---- */

void bench_merger_init(bench_merger_t *m, bench_result_t *out)
{
    memset(m, 0, sizeof(*m));
    m->out = out;
}

static const char *id_or_none(const char *id)
{
    return id[0] ? id : "(none)";
}

int bench_merger_add(bench_merger_t *m, const char *name, const bench_result_t *r, char *err,
                     size_t errlen)
{
    if (r->shard_count == 0 || r->shard_index >= r->shard_count) {
        snprintf(err, errlen, "%s is not a shard of a test (shard %u of %u)", name, r->shard_index,
                 r->shard_count);
        return -1;
    }
    if (m->n > 0 && (strcmp(r->test_id, m->test_id) != 0 || r->shard_count != m->count)) {
        snprintf(err, errlen,
                 "%s and %s are shards of different tests (test id %s of %u shards, test id %s "
                 "of %u shards)",
                 m->first, name, id_or_none(m->test_id), m->count, id_or_none(r->test_id),
                 r->shard_count);
        return -1;
    }
    if (m->n > 0 && m->by_index[r->shard_index]) {
        snprintf(err, errlen, "shard %u of %u is given twice: %s and %s", r->shard_index, m->count,
                 m->by_index[r->shard_index], name);
        return -1;
    }
    if (m->n == 0) {
        m->count = r->shard_count;
        memcpy(m->test_id, r->test_id, sizeof(m->test_id));
        m->first = xstrdup(name);
        m->by_index = xcalloc(m->count, sizeof(*m->by_index));
    }
    m->by_index[r->shard_index] = xstrdup(name);
    bench_result_merge(m->out, r);
    m->n++;
    return 0;
}

int bench_merger_finish(bench_merger_t *m, bool partial, bench_missing_t *missing, char *err,
                        size_t errlen)
{
    bench_missing_t mine;
    bench_missing_t *ms = missing ? missing : &mine;
    memset(ms, 0, sizeof(*ms));
    if (m->n == 0) {
        snprintf(err, errlen, "no shard to merge");
        return -1;
    }
    ms->count = m->count;
    ms->index = xcalloc(m->count - m->n + 1, sizeof(*ms->index));
    for (unsigned i = 0; i < m->count; i++)
        if (!m->by_index[i])
            ms->index[ms->n++] = i;
    int rc = 0;
    if (ms->n > 0 && !partial) {
        char list[200];
        bench_missing_format(ms, list, sizeof(list));
        snprintf(err, errlen, "%zu of the %u shards of test %s %s missing: %s", ms->n, m->count,
                 id_or_none(m->test_id), ms->n == 1 ? "is" : "are", list);
        rc = -1;
    }
    m->out->shard_index = 0;
    m->out->shard_count = 0;
    if (!missing)
        bench_missing_free(&mine);
    return rc;
}

void bench_merger_free(bench_merger_t *m)
{
    for (unsigned i = 0; m->by_index && i < m->count; i++)
        free(m->by_index[i]);
    free(m->by_index);
    free(m->first);
    bench_merger_init(m, m->out);
}

int bench_merge(const bench_shard_t *shards, size_t n, bool partial, bench_result_t *out,
                bench_missing_t *missing, char *err, size_t errlen)
{
    bench_merger_t m;
    bench_merger_init(&m, out);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = bench_merger_add(&m, shards[i].name, shards[i].r, err, errlen);
    if (rc == 0)
        rc = bench_merger_finish(&m, partial, missing, err, errlen);
    else if (missing)
        memset(missing, 0, sizeof(*missing));
    bench_merger_free(&m);
    return rc;
}

/* ---- finding shards in a stream ---- */

#define SHARD_KEY  "\"evcat_bench_shard\""
#define RESULT_KEY "\"shard_result\""
#define MERGED_KEY "\"merged\":{\"shards\""
/* A line holds a shard form and what a log may put before it. */
#define READER_LINE_MAX ((size_t)BENCH_SHARD_DOC_MAX + 4096)

void bench_shard_reader_init(bench_shard_reader_t *rd, const char *source, bool skip_bad)
{
    memset(rd, 0, sizeof(*rd));
    rd->source = source;
    rd->skip_bad = skip_bad;
    buf_init(&rd->line);
    buf_init(&rd->whole);
}

void bench_shard_reader_free(bench_shard_reader_t *rd)
{
    buf_free(&rd->line);
    buf_free(&rd->whole);
}

static bool names_a_shard(const char *p, size_t n)
{
    return memmem(p, n, SHARD_KEY, strlen(SHARD_KEY)) || memmem(p, n, RESULT_KEY, strlen(RESULT_KEY));
}

/* A shard on the current line that is no valid one: an error, or with
 * skip_bad counted. */
static int bad_shard(bench_shard_reader_t *rd, const char *why, char *err, size_t errlen)
{
    char *to = err;
    size_t tolen = errlen;
    if (rd->skip_bad) {
        if (rd->skipped++ > 0)
            return 0;
        to = rd->first_skipped;
        tolen = sizeof(rd->first_skipped);
    }
    snprintf(to, tolen, "%s line %zu: %s", rd->source, rd->lineno + 1, why);
    return rd->skip_bad ? 0 : -1;
}

/* The shard a parsed line holds: the line's object itself, the object of
 * its "shard_result", or NULL (*why set when it names one that is bad). */
static const cJSON *shard_in(const cJSON *o, const char **why)
{
    *why = NULL;
    if (cJSON_GetObjectItemCaseSensitive(o, "evcat_bench_shard"))
        return o;
    const cJSON *sr = cJSON_GetObjectItemCaseSensitive(o, "shard_result");
    if (sr && !cJSON_IsObject(sr))
        *why = "\"shard_result\" is not an object";
    return cJSON_IsObject(sr) ? sr : NULL;
}

static int found_shard(bench_shard_reader_t *rd, const cJSON *shard, bench_shard_fn fn, void *ud,
                       char *err, size_t errlen)
{
    bench_result_t r;
    bench_result_init(&r);
    char why[200];
    int rc;
    if (bench_result_parse_shard_object(shard, &r, why, sizeof(why)) < 0) {
        rc = bad_shard(rd, why, err, errlen);
    } else if (rd->found >= BENCH_SHARDS_MAX) {
        snprintf(err, errlen, "%s: more than %d shards", rd->source, BENCH_SHARDS_MAX);
        rc = -1;
    } else {
        rd->found++;
        char name[300];
        if (rd->found == 1 && strcmp(rd->source, "-") != 0)
            snprintf(name, sizeof(name), "%s", rd->source);
        else
            snprintf(name, sizeof(name), "%s#%zu", rd->source, rd->found);
        rc = fn(ud, name, &r, err, errlen);
    }
    bench_result_free(&r);
    return rc;
}

static int take_line(bench_shard_reader_t *rd, const char *p, size_t n, bench_shard_fn fn,
                     void *ud, char *err, size_t errlen)
{
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    const char *brace = memchr(p, '{', n);
    if (!brace)
        return 0;
    n -= (size_t)(brace - p);
    p = brace;
    if (memmem(p, n, MERGED_KEY, strlen(MERGED_KEY)))
        rd->saw_merge = true;
    if (!names_a_shard(p, n))
        return 0;
    char why[200];
    cJSON *o = bench_result_parse_json(p, n, why, sizeof(why));
    if (!o)
        return bad_shard(rd, why, err, errlen);
    const char *bad = NULL;
    const cJSON *shard = shard_in(o, &bad);
    int rc = 0;
    if (shard)
        rc = found_shard(rd, shard, fn, ud, err, errlen);
    else if (bad)
        rc = bad_shard(rd, bad, err, errlen);
    cJSON_Delete(o);
    return rc;
}

static int end_line(bench_shard_reader_t *rd, bench_shard_fn fn, void *ud, char *err, size_t errlen)
{
    int rc = 0;
    if (!rd->overlong && rd->line.len > 0)
        rc = take_line(rd, rd->line.p, rd->line.len, fn, ud, err, errlen);
    buf_reset(&rd->line);
    buf_shrink(&rd->line, 1u << 20);
    rd->overlong = false;
    rd->lineno++;
    return rc;
}

int bench_shard_reader_feed(bench_shard_reader_t *rd, const void *data, size_t n, bench_shard_fn fn,
                            void *ud, char *err, size_t errlen)
{
    const char *p = data;
    if (!rd->whole_over) {
        if (n > READER_LINE_MAX - rd->whole.len) {
            rd->whole_over = true;
            buf_free(&rd->whole);
        } else {
            buf_append(&rd->whole, p, n);
        }
    }
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;
        if (!rd->overlong) {
            size_t room = READER_LINE_MAX + 1 - rd->line.len;
            buf_append(&rd->line, p, seg < room ? seg : room);
            if (rd->line.len > READER_LINE_MAX) {
                char why[100];
                snprintf(why, sizeof(why), "a line over %u MiB", BENCH_SHARD_DOC_MAX >> 20);
                if (names_a_shard(rd->line.p, rd->line.len) && bad_shard(rd, why, err, errlen) < 0)
                    return -1;
                rd->overlong = true;
                buf_free(&rd->line);
            }
        }
        if (nl) {
            if (end_line(rd, fn, ud, err, errlen) < 0)
                return -1;
            seg++;
        }
        p += seg;
        n -= seg;
    }
    return 0;
}

int bench_shard_reader_end(bench_shard_reader_t *rd, bench_shard_fn fn, void *ud, char *err,
                           size_t errlen)
{
    if ((rd->line.len > 0 || rd->overlong) && end_line(rd, fn, ud, err, errlen) < 0)
        return -1;
    if (rd->found || rd->skipped || rd->whole_over || rd->whole.len == 0 ||
        !memchr(rd->whole.p, '\n', rd->whole.len))
        return 0;
    rd->lineno = 0; /* a document over many lines: its errors are "line 1" */
    int rc = take_line(rd, rd->whole.p, rd->whole.len, fn, ud, err, errlen);
    buf_free(&rd->whole);
    return rc;
}

static int merge_found(void *ud, const char *name, const bench_result_t *r, char *err,
                       size_t errlen)
{
    return bench_merger_add(ud, name, r, err, errlen);
}

int bench_merger_read_fd(bench_merger_t *m, bench_shard_reader_t *rd, int fd, char *err,
                         size_t errlen)
{
    char chunk[65536];
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(err, errlen, "cannot read %s: %s", rd->source, strerror(errno));
            return -1;
        }
        if (got == 0)
            return bench_shard_reader_end(rd, merge_found, m, err, errlen);
        if (bench_shard_reader_feed(rd, chunk, (size_t)got, merge_found, m, err, errlen) < 0)
            return -1;
    }
}
