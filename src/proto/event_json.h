/* event_json: the JSON line of one SSE event or WebSocket message, shared by
 * `-o json` output and recordings so that the two shapes cannot drift apart
 * (evcat(1), OUTPUT FORMATS and RECORDINGS). */
#ifndef EVCAT_EVENT_JSON_H
#define EVCAT_EVENT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sse_parser.h"

/* The object of an SSE event / a WebSocket message (type: a wslay opcode;
 * code: the close code of a close), appended to b WITHOUT its closing "}"
 * and newline: output closes it, a recording (recording.c) adds "t" first. */
void event_json_sse(buf_t *b, const sse_event_t *ev, uint64_t real_ns);
void event_json_ws(buf_t *b, bool in, int type, const void *p, size_t n, uint16_t code,
                   uint64_t real_ns);

/* "text", "binary", "close", "ping", "pong" for a wslay opcode, "?" otherwise. */
const char *ws_type_name(int type);

/* --parse-json: `,"json":VALUE` when p[0..n) is JSON (compact), nothing
 * otherwise. */
void event_json_parsed(buf_t *b, const void *p, size_t n);

#endif
