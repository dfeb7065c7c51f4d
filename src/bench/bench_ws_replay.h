/* bench_ws_replay: the conversation of `evcat bench --replay FILE` on the
 * WebSocket driver's connections (evcat(1), BENCH). bench_ws.c owns the
 * connections, their sockets and timers; these functions say what a
 * connection of a replay run sends when, and what each incoming message
 * counts as, from the shared script (replay_script.h) and the connection's
 * cursor, and report it through bench_worker.h.
 *
 * Per connection: a replay_cursor_t in its struct (no allocation). Per
 * worker: one buffer for expanded templates. */
#ifndef EVCAT_BENCH_WS_REPLAY_H
#define EVCAT_BENCH_WS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "bench_worker.h"
#include "buf.h"
#include "replay_script.h"

/* The largest frame bws_replay_frames builds: the scratch buffer it gets
 * must hold at least this much. */
size_t bws_replay_frame_max(const replay_script_t *s);

/* Builds into out[0..cap) the frames of connection conn's messages that are
 * due at now (templates expanded in tmp, masks from rng), as many as fit,
 * advancing rc and counting them as sent (pings are not messages). Returns
 * the bytes built; *next_due: when the next message is due, which is now
 * or earlier when out was full (UINT64_MAX: none is left). */
size_t bws_replay_frames(bench_worker_t *w, replay_cursor_t *rc, uint64_t conn, uint64_t now,
                         uint8_t *out, size_t cap, uint64_t *rng, buf_t *tmp, uint64_t *next_due);

/* Whether incoming messages must be whole to be handed over (--expect
 * compares them); otherwise only their type and length matter and p may
 * be NULL. */
bool bws_replay_wants_payload(const bench_worker_t *w);

/* Connection conn received a text or binary message: counted, timed,
 * compared (a difference: one mismatch, the worker's first line kept). */
void bws_replay_message(bench_worker_t *w, replay_cursor_t *rc, uint64_t conn, int type,
                        const uint8_t *p, size_t n, buf_t *tmp);

/* The close phase reached an open connection: with --expect, replies the
 * recording promised that have not come are its difference (and nothing
 * arriving later is compared). */
void bws_replay_closing(bench_worker_t *w, replay_cursor_t *rc, uint64_t conn);

#endif
