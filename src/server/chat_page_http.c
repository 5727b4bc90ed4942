#include "server/chat_page.h"

/* The page is a constant of the binary: libmicrohttpd sends it without a copy. */
enum MHD_Result chat_page_get(server *srv, http_request *req)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        g4_chat_page_len, (void *)g4_chat_page, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    MHD_add_response_header(r, "Content-Security-Policy", g4_chat_page_csp);
    MHD_add_response_header(r, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    req->status = MHD_HTTP_OK;
    enum MHD_Result ret = MHD_queue_response(req->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}
