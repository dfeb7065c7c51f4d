/* curl_multi: libcurl's multi interface driven by our loop (the "typical usage"
 * of curl_multi_socket_action): curl tells us which sockets to watch and when
 * to wake it (socket and timer callbacks); we tell curl what happened; after
 * every call finished transfers are collected with curl_multi_info_read and
 * handed to their owners.
 *
 * Ownership: the caller owns each easy handle and its curlm_xfer (usually
 * embedded in the caller's per-transfer struct). A done callback may remove
 * and clean up its easy handle, add new ones, or free the whole curlm (it is
 * the last thing that runs for that transfer). */
#ifndef EVCAT_CURL_MULTI_H
#define EVCAT_CURL_MULTI_H

#include <curl/curl.h>

#include "loop.h"

typedef struct curlm curlm_t;

typedef struct curlm_xfer curlm_xfer_t;
/* The transfer finished (result CURLE_OK or an error); it is still added to
 * the multi handle: call curlm_remove() before reusing or freeing easy. */
typedef void (*curlm_done_fn)(curlm_xfer_t *x, CURLcode result);

struct curlm_xfer {
    CURL *easy;         /* not owned */
    curlm_done_fn done;
    void *ud;           /* for the owner */
    int added;          /* 1 while added to the multi handle */
};

curlm_t *curlm_new(loop_t *l);
/* Removes nothing: every transfer must have been removed first. */
void curlm_free(curlm_t *m);
CURLM *curlm_multi(curlm_t *m);

/* Starts a transfer (CURLOPT_PRIVATE is set to x). Returns a CURLMcode. */
CURLMcode curlm_add(curlm_t *m, curlm_xfer_t *x);
/* Stops it (safe when not added). Not from inside curl's own callbacks
 * (write, header, progress): stop those by returning an error from them. */
void curlm_remove(curlm_t *m, curlm_xfer_t *x);

#endif
