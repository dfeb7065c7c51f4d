/* cmd_bench_shard: one test as N shards (evcat(1), BENCH, --shard): the
 * test's id, this shard's share of the load, the wait for --start-at, and
 * `evcat bench merge FILE...`, which checks the shards and merges them
 * exactly into the summary one run prints. */
#include "bench_merge.h"
#include "clock.h"
#include "cmd_bench.h"
#include "bench_plan.h"
#include "diag.h"
#include "exitcode.h"
#include "options.h"
#include "text.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int shard_parse(const char *arg, unsigned *index, unsigned *count)
{
    const char *slash = strchr(arg, '/');
    char left[24];
    uint64_t i, n;
    if (!slash || (size_t)(slash - arg) >= sizeof(left)) {
        diag_error("bench: --shard '%s' is not I/N, e.g. 0/4 (shard I from 0 of N)", arg);
        return -1;
    }
    memcpy(left, arg, (size_t)(slash - arg));
    left[slash - arg] = '\0';
    if (parse_uint(left, BENCH_SHARDS_MAX, &i) < 0 ||
        parse_uint(slash + 1, BENCH_SHARDS_MAX, &n) < 0 || n == 0) {
        diag_error("bench: --shard '%s' is not I/N, e.g. 0/4 (shard I from 0 of N, N from 1 to %d)",
                   arg, BENCH_SHARDS_MAX);
        return -1;
    }
    if (i >= n) {
        diag_error("bench: --shard '%s': shards are numbered from 0 to %" PRIu64, arg, n - 1);
        return -1;
    }
    *index = (unsigned)i;
    *count = (unsigned)n;
    return 0;
}

bool merge_takes(int id)
{
    return id == OPT_JSON || id == OPT_FORMAT || id == OPT_ASSERT || id == OPT_PARTIAL ||
           id == OPT_VERBOSE || id == OPT_REPORT || id == OPT_HGRM || id == OPT_JUNIT ||
           id == OPT_QUIET || id == OPT_COLOR || id == OPT_HELP;
}

/* The test's id: a hash of what defines the load (the URLs, the mode, the
 * options that shape the traffic, the shard count, --replay's recording
 * and how it is played), the same on every
 * shard of one command line; --shard's index, --start-at, the report
 * options and -p/-t are left out. */
static void test_id(const bench_opts_t *o, const ws_cli_opts_t *wo, const target_t *tg,
                    size_t ntg, int mode, char out[BENCH_TEST_ID_MAX + 1])
{
    char nums[8][64], replay[160];
    const char *parts[24 + WS_MAX_LIST];
    size_t n = 0;
    parts[n++] = "evcat-bench-1";
    for (size_t i = 0; i < ntg; i++)
        parts[n++] = tg[i].url;
    snprintf(nums[0], sizeof(nums[0]), "mode=%d", mode);
    snprintf(nums[1], sizeof(nums[1]), "c=%" PRIu64, o->connections);
    snprintf(nums[2], sizeof(nums[2]), "rate=%.9g", o->connect_rate);
    snprintf(nums[3], sizeof(nums[3]), "d=%" PRIu64, o->duration_ns);
    snprintf(nums[4], sizeof(nums[4]), "r=%.9g size=%" PRIu64 " bin=%d", o->message_rate, o->size,
             (int)wo->binary);
    snprintf(nums[5], sizeof(nums[5]), "pubrate=%.9g", o->publish ? o->publish_rate : 0.0);
    snprintf(nums[6], sizeof(nums[6]), "shards=%u", o->shard_count);
    for (size_t i = 0; i < 7; i++)
        parts[n++] = nums[i];
    parts[n++] = o->latency_field;
    parts[n++] = o->publish ? o->publish : "";
    parts[n++] = o->source ? o->source : "";
    for (size_t i = 0; i < wo->non_open; i++)
        parts[n++] = wo->on_open[i];
    if (wo->compress) /* a part only when given: ids of tests without it are unchanged */
        parts[n++] = wo->compress_takeover ? "compress-takeover" : "compress";
    bench_replay_id(&o->replay, replay, sizeof(replay));
    if (replay[0])
        parts[n++] = replay; /* the recording's content and how it is played */
    char snums[2][96];
    if (o->streams) { /* streams as requests: what they send, how many, how fast */
        snprintf(snums[0], sizeof(snums[0]), "streams n=%" PRIu64 " rate=%.9g idle=%" PRIu64,
                 o->requests, o->arrival_rate, o->idle_timeout_ms);
        snprintf(snums[1], sizeof(snums[1]), "body=%016" PRIx64,
                 fnv1a64(FNV1A64_INIT, o->body.p ? o->body.p : "", o->body.len));
        parts[n++] = snums[0];
        parts[n++] = snums[1];
        parts[n++] = o->method ? o->method : "";
        parts[n++] = o->end_data;
    }
    bench_test_id(parts, n, out);
}

int shard_plan(bench_opts_t *o, const ws_cli_opts_t *wo, const target_t *tg, size_t ntg, int mode)
{
    o->whole_connect_rate = o->connect_rate;
    if (o->shard_count == 0)
        return 0;
    if (ntg != 1) {
        diag_error("bench: --shard runs one URL (give each its own test)");
        return -1;
    }
    test_id(o, wo, tg, ntg, mode, o->test_id);
    uint64_t share = bench_plan_part(o->connections, o->shard_count, o->shard_index);
    if (share == 0) {
        diag_error("bench: --shard %u/%u of %" PRIu64 " connections leaves this shard none",
                   o->shard_index, o->shard_count, o->connections);
        return -1;
    }
    /* The shards before this one took one more each while the remainder
     * lasted: connection numbers ({{conn}}) are unique in the whole test. */
    uint64_t rem = o->connections % o->shard_count;
    o->first_index = (uint64_t)o->shard_index * (o->connections / o->shard_count) +
                     (o->shard_index < rem ? o->shard_index : rem);
    /* Streams as requests: the shard's part of --requests and
     * --arrival-rate goes with its part of the connections. */
    uint64_t requests = bench_share(o->requests, o->first_index, share, o->connections);
    if (o->requests && requests == 0) {
        diag_error("bench: --shard %u/%u of %" PRIu64 " requests leaves this shard none",
                   o->shard_index, o->shard_count, o->requests);
        return -1;
    }
    o->requests = requests;
    o->arrivals = bench_share(o->arrivals, o->first_index, share, o->connections);
    o->arrival_rate = o->arrival_rate * (double)share / (double)o->connections;
    o->connections = share;
    o->connect_rate /= o->shard_count;
    if (o->connect_rate < RATE_MIN)
        o->connect_rate = RATE_MIN;
    if (o->shard_index != 0)
        o->publish = NULL; /* one publisher in all: shard 0's, at the whole rate */
    diag_verbose("bench: shard %u of %u of test %s: %" PRIu64 " connections at %.6g/s%s",
                 o->shard_index, o->shard_count, o->test_id, share, o->connect_rate,
                 o->shard_index == 0 && o->publish ? ", and the publisher" : "");
    return 0;
}

void shard_stamp(const bench_opts_t *o, bench_result_t *r)
{
    if (o->shard_count == 0)
        return;
    r->shard_index = o->shard_index;
    r->shard_count = o->shard_count;
    memcpy(r->test_id, o->test_id, sizeof(r->test_id));
}

int start_wait(uint64_t at_ns)
{
    uint64_t now = real_ns();
    if (now > at_ns + 1000000000u) {
        char when[RFC3339_LEN + 1];
        diag_error("bench: --start-at %s is %.1f s past", fmt_rfc3339(when, at_ns),
                   (double)(now - at_ns) / 1e9);
        return EXIT_USAGE;
    }
    if (now >= at_ns)
        return EXIT_OK;
    diag_info("bench: starting in %.1f s (--start-at)", (double)(at_ns - now) / 1e9);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int rc = EXIT_OK;
    while ((now = real_ns()) < at_ns) {
        uint64_t left = at_ns - now;
        struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            diag_error("bench: interrupted before --start-at");
            rc = sig == SIGINT ? EXIT_INTERRUPTED : 128 + sig;
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- bench merge ---- */

/* Reads one FILE (or - for standard input) into the merge. Returns 0, or
 * -1 after the one-line error. */
static int merge_file(bench_merger_t *m, const char *path, bool partial)
{
    bool in = strcmp(path, "-") == 0;
    int fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        diag_error("bench merge: cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    bench_shard_reader_t rd;
    bench_shard_reader_init(&rd, path, partial);
    char err[512];
    int rc = bench_merger_read_fd(m, &rd, fd, err, sizeof(err));
    if (rc < 0)
        diag_error("bench merge: %s", err);
    else if (rd.found == 0 && rd.skipped == 0) {
        if (rd.saw_merge)
            diag_error("bench merge: '%s' is a merge, not a shard: merge the shards' own files",
                       path);
        else
            diag_error("bench merge: '%s' holds no shard (bench --shard I/N --json FILE writes "
                       "one)",
                       path);
        rc = -1;
    } else if (rd.skipped)
        diag_warn("bench merge: %zu shard%s of '%s' skipped (--partial): %s", rd.skipped,
                  rd.skipped == 1 ? "" : "s", path, rd.first_skipped);
    bench_shard_reader_free(&rd);
    if (!in)
        close(fd);
    return rc;
}

/* Merges the files into *res and says what is missing (*missing, to be
 * freed; *nshards: the shards merged). Returns 0, or -1 after the one-line
 * error. */
static int merge_all(const bench_opts_t *o, char **files, int nfiles, bench_result_t *res,
                     bench_missing_t *missing, size_t *nshards)
{
    bench_merger_t m;
    bench_merger_init(&m, res);
    int rc = 0;
    for (int i = 0; i < nfiles && rc == 0; i++)
        rc = merge_file(&m, files[i], o->partial);
    memset(missing, 0, sizeof(*missing));
    char err[512];
    if (rc == 0 && bench_merger_finish(&m, o->partial, missing, err, sizeof(err)) < 0) {
        diag_error("bench merge: %s%s", err,
                   strstr(err, "missing") ? " (--partial merges the shards there are)" : "");
        rc = -1;
    }
    if (rc == 0 && missing->n) {
        char list[512];
        bench_missing_format(missing, list, sizeof(list));
        diag_warn("bench merge: %zu of %u shards missing (--partial): %s", missing->n,
                  missing->count, list);
    }
    if (rc == 0)
        diag_info("bench merge: %zu shard%s of test %s merged", m.n, m.n == 1 ? "" : "s",
                  res->test_id);
    *nshards = m.n;
    bench_merger_free(&m);
    return rc;
}

int cmd_bench_merge(int argc, char **argv)
{
    struct bench_args a;
    int rc = EXIT_USAGE;
    FILE *jf = NULL;
    bench_result_t res;
    bench_result_init(&res);
    bench_missing_t missing = {0};
    int first = bench_args_parse(&a, argc, argv);
    if (first == OPT_PARSE_HELP)
        rc = EXIT_OK;
    if (first < 0)
        goto out;
    if (a.o.run_option) {
        diag_error("bench merge: --%s applies to a run; merge takes --json, -o, --assert, "
                   "--report, --hgrm, --junit, --partial, -q and -v",
                   a.o.run_option);
        goto out;
    }
    if (first >= argc) {
        diag_error("bench merge: the shards' files are needed (FILE..., or - for standard input)");
        goto out;
    }
    if (bench_exports_check(&a.o, 1) < 0)
        goto out;
    if (a.o.json && strcmp(a.o.json, "-") != 0 && !(jf = fopen(a.o.json, "w"))) {
        diag_error("bench merge: cannot write --json file '%s': %s", a.o.json, strerror(errno));
        goto out;
    }
    size_t nshards = 0;
    if (merge_all(&a.o, argv + first, argc - first, &res, &missing, &nshards) < 0)
        goto out;
    bench_merged_t merged = {.shards = nshards,
                             .count = missing.count,
                             .missing = missing.index,
                             .nmissing = missing.n};
    a.o.merged = &merged;
    if (res.interrupted) {
        /* a shard's, not the merge's: the summary stands, the exit code is
         * the merge's own */
        diag_warn("bench merge: a shard was interrupted before its end (SIGINT or SIGTERM)");
        res.interrupted = false;
    }
    bench_report_t rep = {.url = res.url ? res.url : "(merged shards)",
                          .mode = res.mode[0] ? res.mode : "?",
                          .connect_rate = res.connect_rate,
                          .r = &res};
    rc = bench_report_all(&a.o, &rep, 1, false, jf, EXIT_OK);
    if (jf && fclose(jf) != 0 && rc == EXIT_OK) {
        diag_error("bench merge: cannot write --json file '%s': %s", a.o.json, strerror(errno));
        rc = EXIT_FAIL;
    }
    jf = NULL;
out:
    if (jf)
        fclose(jf);
    bench_missing_free(&missing);
    bench_result_free(&res);
    conn_opts_free(&a.co);
    return rc;
}
