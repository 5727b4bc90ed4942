/* The chat page served at GET / by g4 serve: src/server/chat_page/ (HTML, CSS, JS), its
 * styles and scripts inlined into one document and compiled in at build time by
 * src/server/chat_page/embed.cmake, so the page needs nothing from outside the binary. */
#ifndef G4_SERVER_CHAT_PAGE_H
#define G4_SERVER_CHAT_PAGE_H

#include <stddef.h>

/* The page, UTF-8 HTML: g4_chat_page_len bytes (a NUL follows them). */
extern const char g4_chat_page[];
extern const size_t g4_chat_page_len;

/* The Content-Security-Policy to send with the page: nothing from other origins, only the
 * page's own inline scripts and styles (by SHA-256), requests to the same origin. */
extern const char g4_chat_page_csp[];

#endif
