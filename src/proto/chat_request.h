/* chat_request: the body of a `POST /v1/chat/completions` as evcat serve
 * reads it (evcat(1), SERVE): OpenAI's chat completions request, the parts
 * that shape the answer, checked the way OpenAI checks them.
 *
 *   - the body is one JSON object (an empty body is not);
 *   - "max_tokens" and "max_completion_tokens" (the newer name): null, or a
 *     whole number from 1 to CHAT_MAX_TOKENS_MAX; with both, the smaller
 *     bounds the answer;
 *   - "stream": null or true (this endpoint only streams; false is refused
 *     rather than answered in another shape);
 *   - "model": null, or a UTF-8 string of at most CHAT_MODEL_MAX bytes,
 *     echoed in every chunk;
 *   - "messages": when present, an array (its contents do not matter here).
 * Other members are ignored, as the stand-in it is has nothing to do with
 * them.
 *
 * Pure: no I/O, no state outside the result. The text is untrusted (a
 * network body): the caller bounds its size (serve's --max-message); cJSON
 * bounds its nesting. */
#ifndef EVCAT_CHAT_REQUEST_H
#define EVCAT_CHAT_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define CHAT_MODEL_MAX      256
#define CHAT_MAX_TOKENS_MAX 1000000000u

typedef struct chat_request {
    uint64_t max_tokens;            /* 0: none given */
    char model[CHAT_MODEL_MAX + 1]; /* "": none given */
} chat_request_t;

/* Parses body[0..len) into *out. Returns 0, or -1 with OpenAI's kind of
 * one-line message in msg (truncated to msglen) and *param set to the name
 * of the member at fault ("" when it is the body as a whole). */
int chat_request_parse(const char *body, size_t len, chat_request_t *out, char *msg, size_t msglen,
                       const char **param);

#endif
