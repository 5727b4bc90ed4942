/* g4 serve --allow-remote-media: the http(s) media URLs of requests, fetched with libcurl on
 * the request's own thread, before the request is queued. */
#ifndef G4_SERVER_MEDIA_FETCH_H
#define G4_SERVER_MEDIA_FETCH_H

#include <stdbool.h>

#include "g4.h"

/* libcurl's global set-up, once at start-up before any thread fetches (it is not
 * thread-safe); false, with a message on stderr, if it fails. */
bool media_fetch_start(void);
/* Ends the fetches under way and any started later (the server is shutting down). */
void media_fetch_cancel(void);
void media_fetch_stop(void);

enum { MEDIA_FETCH_REDIRECTS = 5, MEDIA_FETCH_CONNECT_S = 10, MEDIA_FETCH_TOTAL_S = 60 };

/* A g4_media_fetch_fn; user is the server_config. Refuses other schemes than http and
 * https, and every URL unless cfg->allow_remote_media. Follows at most MEDIA_FETCH_REDIRECTS
 * redirects (http and https only), gives up after MEDIA_FETCH_CONNECT_S seconds to connect or
 * MEDIA_FETCH_TOTAL_S in all, and stops as soon as the file exceeds cfg->max_body bytes. */
g4_status media_fetch(void *user, const char *url, void **data, size_t *len, char *error,
                      size_t error_cap);

#endif
