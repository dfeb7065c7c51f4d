/* replay_serve: `evcat replay --serve`, called by the replay command
 * (cmd_replay.c), served by the server in playback mode (serve.h). */
#ifndef EVCAT_REPLAY_SERVE_H
#define EVCAT_REPLAY_SERVE_H

#include <stdbool.h>

#include "recording.h"

/* Serves rec to every client that connects on listen_addr ("127.0.0.1:8080"
 * forms as serve's --listen), optionally TLS, until SIGINT/SIGTERM (exit 0).
 * Returns an exit code. */
int replay_serve_run(const recording_t *rec, const char *listen_addr, const char *tls_cert,
                     const char *tls_key, double speed, bool no_timing);

#endif
