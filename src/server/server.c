/* g4 serve: the listening socket, routing, the API key, loading and shutting down. */
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server/chat_page.h"
#include "server/media_fetch.h"
#include "server/server_state.h"

void server_config_init(server_config *cfg)
{
    *cfg = (server_config){
        .host = "127.0.0.1",
        .port = 8080,
        .n_parallel = 4,
        .max_queue = 64,
        .max_body = 64u << 20,
        .shutdown_grace = 5,
    };
    g4_model_params_init(&cfg->model);
    g4_session_params_init(&cfg->session);
}

/* ---- routing -------------------------------------------------------------------------------- */

typedef enum route_flags {
    ROUTE_NO_KEY = 1 << 0,     /* answered without the API key */
    ROUTE_WHILE_LOADING = 1 << 1,
    ROUTE_OLLAMA = 1 << 2,     /* errors in Ollama's shape */
} route_flags;

typedef struct route {
    const char *method;
    const char *path;
    enum MHD_Result (*handle)(server *srv, http_request *req);
    unsigned flags;
} route;

static enum MHD_Result health(server *srv, http_request *req)
{
    bool ready = atomic_load(&srv->ready);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "status", ready ? "ok" : "loading");
    return http_send_json(req, ready ? 200 : 503, body);
}

static const route routes[] = {
    {"GET", "/", chat_page_get, ROUTE_NO_KEY | ROUTE_WHILE_LOADING},
    {"GET", "/health", health, ROUTE_NO_KEY | ROUTE_WHILE_LOADING},
    {"GET", "/metrics", metrics_page, ROUTE_WHILE_LOADING},
    {"GET", "/v1/models", openai_models, 0},
    {"POST", "/v1/chat/completions", openai_chat, 0},
    {"POST", "/v1/completions", openai_completions, 0},
    {"POST", "/api/chat", ollama_chat, ROUTE_OLLAMA},
    {"POST", "/api/generate", ollama_generate, ROUTE_OLLAMA},
    {"GET", "/api/tags", ollama_tags, ROUTE_OLLAMA},
    {"POST", "/api/show", ollama_show, ROUTE_OLLAMA},
    {"GET", "/api/version", ollama_version, ROUTE_OLLAMA | ROUTE_WHILE_LOADING},
};

/* The route for the request; NULL with *path_known when only the method is wrong. */
static const route *find_route(const char *method, const char *url, bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(url, routes[i].path) != 0)
            continue;
        *path_known = true;
        if (strcmp(method, routes[i].method) == 0)
            return &routes[i];
    }
    return NULL;
}

/* Compares in time that depends only on the expected key's length. */
static bool key_matches(const char *given, const char *want)
{
    size_t n = strlen(given), m = strlen(want);
    unsigned char diff = n != m;
    for (size_t i = 0; i < m; i++)
        diff |= (unsigned char)(want[i] ^ (i < n ? given[i] : 0));
    return diff == 0;
}

static bool authorized(const server *srv, struct MHD_Connection *conn)
{
    if (!srv->cfg.api_key)
        return true;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION);
    return auth && strncmp(auth, "Bearer ", 7) == 0 && key_matches(auth + 7, srv->cfg.api_key);
}

static enum MHD_Result send_error(http_request *req, const route *rt, unsigned status,
                                  const char *message)
{
    api_error err = {0};
    api_fail(&err, status, NULL, "%s", message);
    return rt && (rt->flags & ROUTE_OLLAMA) ? http_send_ollama_error(req, &err)
                                            : http_send_openai_error(req, &err);
}

/* What can be answered before the body is read: unknown routes, the key, loading, size. */
static enum MHD_Result answer_early(server *srv, http_request *req, const route *rt,
                                    bool path_known, bool *answered)
{
    *answered = true;
    if (!rt)
        return send_error(req, NULL, path_known ? 405 : 404,
                          path_known ? "method not allowed" : "not found");
    if (!(rt->flags & ROUTE_NO_KEY) && !authorized(srv, req->conn))
        return send_error(req, rt, 401, "invalid or missing API key (Authorization: Bearer)");
    if (!(rt->flags & ROUTE_WHILE_LOADING) && !atomic_load(&srv->ready))
        return send_error(req, rt, 503, "the model is loading");
    if (req->too_large)
        return send_error(req, rt, 413, "the request body is too large");
    *answered = false;
    return MHD_YES;
}

static http_request *new_request(server *srv, struct MHD_Connection *conn)
{
    http_request *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    *req = (http_request){.conn = conn, .client_fd = -1};
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info)
        req->client_fd = info->connect_fd;
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    req->too_large = length && strtoull(length, NULL, 10) > srv->cfg.max_body;
    return req;
}

static void take_upload(server *srv, http_request *req, const char *data, size_t len)
{
    if (req->too_large)
        return;
    if (req->body.len + len > srv->cfg.max_body) {
        req->too_large = true;
        chat_buf_free(&req->body);
        return;
    }
    chat_buf_put(&req->body, data, len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **state)
{
    server *srv = cls;
    bool path_known = false, answered = false;
    const route *rt = find_route(method, url, &path_known);
    http_request *req = *state;
    if (!req) {
        req = new_request(srv, conn);
        if (!req)
            return MHD_NO;
        *state = req;
        enum MHD_Result ret = answer_early(srv, req, rt, path_known, &answered);
        return answered ? ret : MHD_YES;
    }
    if (*upload_size) {
        take_upload(srv, req, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->status)
        return MHD_YES;
    if (req->too_large || req->body.failed)
        return send_error(req, rt, req->too_large ? 413 : 500,
                          req->too_large ? "the request body is too large" : "out of memory");
    return rt->handle(srv, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode code)
{
    server *srv = cls;
    http_request *req = *state;
    if (!req)
        return;
    if (req->status)
        metrics_count_response(srv, req->status);
    chat_buf_free(&req->body);
    free(req);
    *state = NULL;
}

/* ---- the life of the server ---------------------------------------------------------------- */

static struct MHD_Daemon *listen_on(server *srv, const struct addrinfo *addr)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ITC | (addr->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    return MHD_start_daemon(flags, srv->cfg.port, NULL, NULL, on_request, srv,
                            MHD_OPTION_SOCK_ADDR, addr->ai_addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
                            MHD_OPTION_END);
}

static struct MHD_Daemon *start_listening(server *srv)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *found = NULL;
    char port[8];
    snprintf(port, sizeof port, "%u", srv->cfg.port);
    int rc = getaddrinfo(srv->cfg.host, port, &hints, &found);
    if (rc != 0) {
        fprintf(stderr, "g4 serve: cannot resolve --host %s: %s\n", srv->cfg.host,
                gai_strerror(rc));
        return NULL;
    }
    struct MHD_Daemon *d = NULL;
    for (struct addrinfo *a = found; a && !d; a = a->ai_next)
        d = listen_on(srv, a);
    freeaddrinfo(found);
    if (!d) {
        fprintf(stderr, "g4 serve: cannot listen on %s port %u\n", srv->cfg.host,
                srv->cfg.port);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    bool ipv6 = strchr(srv->cfg.host, ':') != NULL; /* written [::1] in a URL */
    fprintf(stderr, "g4 serve: listening on http://%s%s%s:%u\n", ipv6 ? "[" : "",
            srv->cfg.host, ipv6 ? "]" : "", info ? info->port : srv->cfg.port);
    return d;
}

static void set_model_name(server *srv)
{
    const char *base = strrchr(srv->cfg.model_path, '/');
    base = base ? base + 1 : srv->cfg.model_path;
    size_t len = strlen(base);
    if (len > 5 && strcmp(base + len - 5, ".gguf") == 0)
        len -= 5;
    snprintf(srv->model_name, sizeof srv->model_name, "%.*s", (int)len, base);
}

static bool load(server *srv)
{
    if (g4_model_load(srv->cfg.model_path, &srv->cfg.model, &srv->model) != G4_OK) {
        fprintf(stderr, "g4 serve: cannot load the model: %s\n", g4_last_error());
        return false;
    }
    if (srv->cfg.projector_path &&
        g4_model_load_projector(srv->model, srv->cfg.projector_path) != G4_OK) {
        fprintf(stderr, "g4 serve: cannot load the projector: %s\n", g4_last_error());
        return false;
    }
    scheduler_params sp = {.n_slots = srv->cfg.n_parallel, .max_queue = srv->cfg.max_queue,
                           .session = srv->cfg.session};
    g4_err err = {0};
    if (scheduler_new(srv->model, &sp, &srv->sched, &err) != G4_OK) {
        fprintf(stderr, "g4 serve: cannot set up %d slots: %s\n", sp.n_slots, err.msg);
        return false;
    }
    set_model_name(srv);
    srv->created = time(NULL);
    atomic_store(&srv->ready, true);
    fprintf(stderr, "g4 serve: %s ready: %d slots of %u tokens\n", srv->model_name,
            sp.n_slots, scheduler_n_ctx(srv->sched));
    return true;
}

static int wait_for_signal(const sigset_t *stop)
{
    int sig = 0;
    sigwait(stop, &sig);
    fprintf(stderr, "g4 serve: %s received, shutting down\n", strsignal(sig));
    return sig;
}

int server_run(const server_config *cfg)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* every thread started from here on too */
    signal(SIGPIPE, SIG_IGN);
    if (cfg->allow_remote_media && !media_fetch_start())
        return 1;
    server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return 1;
    srv->cfg = *cfg;
    struct MHD_Daemon *daemon = start_listening(srv);
    bool ok = daemon && load(srv);
    if (ok)
        wait_for_signal(&stop);
    if (daemon)
        MHD_quiesce_daemon(daemon);
    if (cfg->allow_remote_media)
        media_fetch_cancel();
    if (srv->sched)
        scheduler_stop(srv->sched, cfg->shutdown_grace);
    if (daemon)
        MHD_stop_daemon(daemon);
    scheduler_free(srv->sched);
    g4_model_free(srv->model);
    free(srv);
    if (cfg->allow_remote_media)
        media_fetch_stop();
    return ok ? 0 : 1;
}
