/* g4 serve: an OpenAI- and Ollama-compatible HTTP server for one model. */
#ifndef G4_SERVER_SERVER_H
#define G4_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "g4.h"

typedef struct server_config {
    const char *model_path;
    const char *projector_path;  /* NULL: text only */
    const char *host;            /* default 127.0.0.1 */
    uint16_t port;               /* 0: any free port (printed when listening) */
    const char *api_key;         /* NULL: no key needed */
    int n_parallel;              /* sequences decoded together */
    int max_queue;               /* requests waiting for a slot; more get 429 */
    size_t max_body;             /* bytes; larger bodies get 413 */
    double shutdown_grace;       /* seconds running requests get to finish on SIGTERM */
    int image_tokens;            /* soft tokens per image (0 = 280) */
    bool allow_remote_media;     /* fetch http(s) media URLs (server/media_fetch.h) */
    g4_model_params model;
    g4_session_params session;   /* each slot's context */
} server_config;

void server_config_init(server_config *cfg);
/* Listens, loads the model (answering 503 meanwhile), serves until SIGINT or SIGTERM, then
 * shuts down gracefully. Returns a process exit code; errors go to stderr. */
int server_run(const server_config *cfg);

#endif
