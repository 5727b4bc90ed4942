#include "server/http.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

bool api_fail(api_error *err, unsigned status, const char *param, const char *fmt, ...)
{
    err->status = status;
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

bool api_fail_library(api_error *err, unsigned status, const char *message)
{
    const char *colon = strstr(message, ": ");
    size_t field = colon ? (size_t)(colon - message) : 0;
    bool named = field > 0 && field < sizeof err->param && !memchr(message, ' ', field);
    api_fail(err, status, NULL, "%s", message);
    if (named)
        snprintf(err->param, sizeof err->param, "%.*s", (int)field, message);
    return false;
}

enum MHD_Result http_send_text(http_request *req, unsigned status,
                               const char *content_type, const char *text, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == MHD_HTTP_TOO_MANY_REQUESTS || status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    req->status = status;
    enum MHD_Result ret = MHD_queue_response(req->conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result http_send_json(http_request *req, unsigned status, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text)
        return http_send_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                              "{\"error\":\"out of memory\"}", 25);
    enum MHD_Result ret = http_send_text(req, status, "application/json", text, strlen(text));
    free(text);
    return ret;
}

static const char *error_type(unsigned status)
{
    switch (status) {
    case MHD_HTTP_UNAUTHORIZED: return "authentication_error";
    case MHD_HTTP_NOT_FOUND: return "not_found_error";
    case MHD_HTTP_METHOD_NOT_ALLOWED: return "invalid_request_error";
    case MHD_HTTP_TOO_MANY_REQUESTS: return "rate_limit_error";
    case MHD_HTTP_SERVICE_UNAVAILABLE: return "unavailable_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

enum MHD_Result http_send_openai_error(http_request *req, const api_error *err)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(body, "error");
    cJSON_AddStringToObject(e, "message", err->message);
    cJSON_AddStringToObject(e, "type", error_type(err->status));
    if (err->param[0])
        cJSON_AddStringToObject(e, "param", err->param);
    else
        cJSON_AddNullToObject(e, "param");
    cJSON_AddNullToObject(e, "code");
    return http_send_json(req, err->status, body);
}

enum MHD_Result http_send_ollama_error(http_request *req, const api_error *err)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "error", err->message);
    return http_send_json(req, err->status, body);
}

typedef struct stream {
    http_stream_next next;
    http_stream_release release;
    void *ctx;
    chat_buf pending;
    size_t offset;
    bool ended;
} stream;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream *st = cls;
    while (st->offset == st->pending.len) {
        if (st->ended)
            return MHD_CONTENT_READER_END_OF_STREAM;
        st->pending.len = 0;
        st->offset = 0;
        st->ended = !st->next(st->ctx, &st->pending);
        if (st->pending.failed)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = st->pending.len - st->offset < max ? st->pending.len - st->offset : max;
    memcpy(buf, st->pending.data + st->offset, n);
    st->offset += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream *st = cls;
    st->release(st->ctx);
    chat_buf_free(&st->pending);
    free(st);
}

enum MHD_Result http_send_stream(http_request *req, const char *content_type,
                                 http_stream_next next, http_stream_release release, void *ctx)
{
    stream *st = calloc(1, sizeof *st);
    struct MHD_Response *r = st ? MHD_create_response_from_callback(
                                      MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free)
                                : NULL;
    if (!r) {
        free(st);
        release(ctx);
        return MHD_NO;
    }
    *st = (stream){.next = next, .release = release, .ctx = ctx};
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    req->status = MHD_HTTP_OK;
    enum MHD_Result ret = MHD_queue_response(req->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

bool http_client_gone(int fd)
{
    if (fd < 0)
        return false;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
        return true;
    char c;
    return (p.revents & POLLIN) && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}
