/* stamp: the send times bench carries in messages (evcat(1), bench): the
 * "ts_ns" field of JSON text that serve's ticks and bench's publisher put
 * in each event or message, and the fixed-size echo stamp at the start of
 * an echo payload (connection, sequence number, intended send time). */
#ifndef EVCAT_STAMP_H
#define EVCAT_STAMP_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of the echo stamp: connection, sequence and intended send time in
 * fixed-width hex. */
#define STAMP_LEN 32

/* Finds "field" : <digits> in JSON text (the first occurrence of the quoted
 * key followed by optional spaces, a colon, optional spaces and an unsigned
 * integer, or that integer as a JSON string). Returns 0 with *value set, or
 * -1. Does not parse the whole document: fast enough per message. */
int stamp_json_u64(const char *data, size_t len, const char *field, uint64_t *value);

/* The echo stamp: writes STAMP_LEN bytes at p. */
void stamp_write(uint8_t *p, uint32_t conn, uint32_t seq, uint64_t intended_ns);
/* Reads one: returns 0 or -1 when p[0..n) does not start with a stamp. */
int stamp_read(const uint8_t *p, size_t n, uint32_t *conn, uint32_t *seq,
                     uint64_t *intended_ns);

#endif
