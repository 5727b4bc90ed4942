/* The chat page served at GET / by g4 serve: src/server/chat_page/ (HTML, CSS, JS), its
 * styles and scripts inlined into one document and compiled in at build time by
 * src/server/chat_page/embed.cmake, so the page needs nothing from outside the binary. */
#ifndef G4_SERVER_CHAT_PAGE_H
#define G4_SERVER_CHAT_PAGE_H

#include <stddef.h>

#include "server/server_state.h"

/* The page, UTF-8 HTML: g4_chat_page_len bytes (a NUL follows them). */
extern const char g4_chat_page[];
extern const size_t g4_chat_page_len;

/* The Content-Security-Policy to send with the page: nothing from other origins, only the
 * page's own inline scripts and styles (by SHA-256), requests to the same origin. */
extern const char g4_chat_page_csp[];

/* The route handler of GET /: the page with its type and that policy, no API key needed
 * (the page asks for one when the API answers 401). */
enum MHD_Result chat_page_get(server *srv, http_request *req);

#endif
