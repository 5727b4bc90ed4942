/* Fetching request media over http(s) with libcurl, bounded in protocols, redirects, time
 * and size. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <strings.h>

#include <curl/curl.h>

#include "server/media_fetch.h"
#include "server/server.h"
#include "text/chat_text.h"

typedef struct download {
    chat_buf body;
    size_t limit;    /* bytes */
    bool too_large;  /* stopped at the limit */
} download;

static atomic_bool cancelled;

bool media_fetch_start(void)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        fprintf(stderr, "g4 serve: cannot set up libcurl: %s\n", curl_easy_strerror(rc));
    return rc == CURLE_OK;
}

void media_fetch_cancel(void)
{
    atomic_store(&cancelled, true);
}

void media_fetch_stop(void)
{
    curl_global_cleanup();
}

static g4_status refuse(g4_status status, char *error, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static g4_status refuse(g4_status status, char *error, size_t cap, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(error, cap, fmt, args);
    va_end(args);
    return status;
}

static bool is_http_url(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* libcurl's write callback: keeps the bytes, or ends the transfer past the limit. */
static size_t take_bytes(char *bytes, size_t size, size_t count, void *user)
{
    download *d = user;
    size_t n = size * count;
    if (n > d->limit - d->body.len) {
        d->too_large = true;
        return 0;
    }
    chat_buf_put(&d->body, bytes, n);
    return d->body.failed ? 0 : n;
}

/* libcurl's progress callback (called about once a second even while waiting): non-zero
 * ends the transfer. */
static int check_cancelled(void *user, curl_off_t download_total, curl_off_t downloaded,
                           curl_off_t upload_total, curl_off_t uploaded)
{
    return atomic_load(&cancelled);
}

static bool configure(CURL *curl, const char *url, download *d, char *curl_error)
{
    return curl_easy_setopt(curl, CURLOPT_URL, url) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_MAXREDIRS, (long)MEDIA_FETCH_REDIRECTS) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)MEDIA_FETCH_CONNECT_S) ==
               CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)MEDIA_FETCH_TOTAL_S) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)d->limit) ==
               CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_USERAGENT, "g4") == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, take_bytes) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_WRITEDATA, d) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, check_cancelled) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
}

/* What went wrong with a finished transfer, in the caller's words; G4_OK if nothing. */
static g4_status explain(CURLcode rc, long http_status, const download *d,
                         const char *curl_error, char *error, size_t cap)
{
    if (d->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        return refuse(G4_ERR_INVALID_ARG, error, cap, "the media URL's file is larger than "
                      "the server's limit of %zu bytes (--max-body)", d->limit);
    if (d->body.failed)
        return refuse(G4_ERR_NO_MEMORY, error, cap, "out of memory");
    if (rc == CURLE_HTTP_RETURNED_ERROR || (rc == CURLE_OK && http_status / 100 != 2))
        return refuse(G4_ERR_IO, error, cap, "the media URL answered HTTP status %ld",
                      http_status);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return refuse(G4_ERR_IO, error, cap, "the fetch was cancelled: the server is shutting "
                      "down");
    if (rc == CURLE_TOO_MANY_REDIRECTS)
        return refuse(G4_ERR_IO, error, cap, "the media URL redirected more than %d times",
                      MEDIA_FETCH_REDIRECTS);
    if (rc != CURLE_OK)
        return refuse(G4_ERR_IO, error, cap, "cannot fetch the media URL: %s",
                      curl_error[0] ? curl_error : curl_easy_strerror(rc));
    if (d->body.len == 0)
        return refuse(G4_ERR_IO, error, cap, "the media URL answered no data");
    return G4_OK;
}

g4_status media_fetch(void *user, const char *url, void **data, size_t *len, char *error,
                      size_t error_cap)
{
    const server_config *cfg = user;
    if (!is_http_url(url))
        return refuse(G4_ERR_UNSUPPORTED, error, error_cap, "only http:// and https:// media "
                      "URLs can be fetched; send the data as a base64 data: URI");
    if (!cfg->allow_remote_media)
        return refuse(G4_ERR_UNSUPPORTED, error, error_cap, "remote media URLs are fetched "
                      "only when g4 serve runs with --allow-remote-media; send the data as a "
                      "base64 data: URI");
    CURL *curl = curl_easy_init();
    if (!curl)
        return refuse(G4_ERR_NO_MEMORY, error, error_cap, "cannot start a transfer");
    download d = {.limit = cfg->max_body};
    char curl_error[CURL_ERROR_SIZE] = "";
    CURLcode rc = configure(curl, url, &d, curl_error) ? curl_easy_perform(curl)
                                                      : CURLE_UNKNOWN_OPTION;
    long http_status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
    curl_easy_cleanup(curl);
    g4_status st = explain(rc, http_status, &d, curl_error, error, error_cap);
    if (st != G4_OK) {
        chat_buf_free(&d.body);
        return st;
    }
    *len = d.body.len;
    *data = chat_buf_take(&d.body);
    return *data ? G4_OK : refuse(G4_ERR_NO_MEMORY, error, error_cap, "out of memory");
}
