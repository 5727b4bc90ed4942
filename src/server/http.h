/* The HTTP side on libmicrohttpd: request bodies, JSON and error responses, streamed
 * responses, and noticing that a client went away. Every connection has its own thread,
 * so handlers may block while a job runs. */
#ifndef G4_SERVER_HTTP_H
#define G4_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "text/chat_text.h"

/* An error as the client sees it: the status, the field at fault (or ""), a message. */
typedef struct api_error {
    unsigned status;
    char param[128];
    char message[512];
} api_error;

/* Fills err; returns false so that parsers can `return api_fail(...)`. */
bool api_fail(api_error *err, unsigned status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* api_fail with the field taken from a library message "field.path: what went wrong". */
bool api_fail_library(api_error *err, unsigned status, const char *message);

/* What one request brought. */
typedef struct http_request {
    struct MHD_Connection *conn;
    chat_buf body;
    bool too_large;
    int client_fd;
    unsigned status; /* of the response sent (for /metrics) */
} http_request;

enum MHD_Result http_send_text(http_request *req, unsigned status,
                               const char *content_type, const char *text, size_t len);
/* Sends the JSON and frees it. */
enum MHD_Result http_send_json(http_request *req, unsigned status, cJSON *json);
/* {"error":{"message","type","param","code"}} as OpenAI sends it (Retry-After on 429). */
enum MHD_Result http_send_openai_error(http_request *req, const api_error *err);
/* {"error":"message"} as Ollama sends it. */
enum MHD_Result http_send_ollama_error(http_request *req, const api_error *err);

/* A streamed response: next appends the next bytes (blocking until there are some) and
 * returns false after the last; release frees ctx once the response is over, whether it
 * ended or the client went away. */
typedef bool (*http_stream_next)(void *ctx, chat_buf *out);
typedef void (*http_stream_release)(void *ctx);
enum MHD_Result http_send_stream(http_request *req, const char *content_type,
                                 http_stream_next next, http_stream_release release, void *ctx);

/* True when the peer closed the connection. */
bool http_client_gone(int fd);

#endif
