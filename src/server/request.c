/* Request handling shared by the OpenAI and Ollama routes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/media_fetch.h"
#include "server/reply.h"
#include "server/server_state.h"
#include "text/chat_request.h"
#include "text/utf8.h"

bool request_parse_body(const http_request *req, cJSON **out, api_error *err)
{
    *out = NULL;
    const char *text = req->body.data ? req->body.data : "";
    size_t len = req->body.len;
    if (utf8_valid_prefix(text, len) != len)
        return api_fail(err, 400, NULL, "the request body is not valid UTF-8 (at byte %zu)",
                        utf8_valid_prefix(text, len));
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!json)
        return api_fail(err, 400, NULL, "the request body is not valid JSON (near byte %zu)",
                        end && end >= text ? (size_t)(end - text) : 0);
    if (!cJSON_IsObject(json) || chat_nested_deeper_than(json, CHAT_MAX_DEPTH)) {
        bool object = cJSON_IsObject(json);
        cJSON_Delete(json);
        return object ? api_fail(err, 400, NULL, "the request nests deeper than %d levels",
                                 CHAT_MAX_DEPTH)
                      : api_fail(err, 400, NULL, "the request body must be a JSON object");
    }
    *out = json;
    return true;
}

bool request_number(const cJSON *obj, const char *key, double lo, double hi, double *out,
                    api_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsNumber(v))
        return api_fail(err, 400, key, "%s: expected a number", key);
    if (!(v->valuedouble >= lo && v->valuedouble <= hi))
        return api_fail(err, 400, key, "%s: %g is outside %g..%g", key, v->valuedouble, lo, hi);
    *out = v->valuedouble;
    return true;
}

bool request_integer(const cJSON *obj, const char *key, double lo, double hi, long long *out,
                     api_error *err)
{
    double v = NAN;
    if (!request_number(obj, key, lo, hi, &v, err))
        return false;
    if (isnan(v))
        return true;
    if (v != floor(v))
        return api_fail(err, 400, key, "%s: expected an integer, got %g", key, v);
    *out = (long long)v;
    return true;
}

bool request_bool(const cJSON *obj, const char *key, bool *out, api_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsBool(v))
        return api_fail(err, 400, key, "%s: expected a boolean", key);
    *out = cJSON_IsTrue(v);
    return true;
}

static bool add_stop(job *j, const char *key, const cJSON *v, api_error *err)
{
    if (!cJSON_IsString(v))
        return api_fail(err, 400, key, "%s: expected a string or an array of strings", key);
    if (!v->valuestring[0])
        return api_fail(err, 400, key, "%s: a stop string may not be empty", key);
    if (j->n_stops == JOB_MAX_STOPS)
        return api_fail(err, 400, key, "%s: at most %d stop strings", key, JOB_MAX_STOPS);
    j->stops[j->n_stops] = strdup(v->valuestring);
    if (!j->stops[j->n_stops])
        return api_fail(err, 500, NULL, "out of memory");
    j->n_stops++;
    return true;
}

bool request_stops(const cJSON *obj, const char *key, job *j, api_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsArray(v))
        return add_stop(j, key, v, err);
    const cJSON *item;
    cJSON_ArrayForEach(item, v) {
        if (!add_stop(j, key, item, err))
            return false;
    }
    return true;
}

/* The prompt (the field named by param) must leave room for one generated token. */
static bool check_fits(server *srv, job *j, const char *param, api_error *err)
{
    size_t n = g4_input_n_tokens(j->input), n_ctx = scheduler_n_ctx(srv->sched);
    if (n >= n_ctx)
        return api_fail(err, 400, param,
                        "%s: the prompt is %zu tokens but the context holds %zu (including "
                        "at least one generated token)", param, n, n_ctx);
    return true;
}

bool request_prepare_chat(server *srv, const cJSON *chat, job *j, api_error *err)
{
    char *json = cJSON_PrintUnformatted(chat);
    char *prompt = NULL;
    if (!json)
        return api_fail(err, 500, NULL, "out of memory");
    g4_chat_media_options media = {.allow_files = false, .fetch = media_fetch,
                                   .fetch_user = &srv->cfg};
    g4_media_params_init(&media.params, G4_MEDIA_IMAGE);
    media.params.image_tokens = srv->cfg.image_tokens;
    bool ok = g4_chat_render(srv->model, json, &prompt) == G4_OK ||
              api_fail_library(err, 400, g4_last_error());
    ok = ok && (g4_chat_load_media(srv->model, json, &media, &j->media, &j->n_media) == G4_OK ||
                api_fail_library(err, 400, g4_last_error()));
    ok = ok && (g4_input_new(srv->model, prompt, strlen(prompt), false, j->media, j->n_media,
                             &j->input) == G4_OK ||
                api_fail_library(err, 400, g4_last_error()));
    free(json);
    g4_free(prompt);
    return ok && check_fits(srv, j, "messages", err);
}

bool request_prepare_text(server *srv, const char *text, job *j, api_error *err)
{
    bool add_bos = strncmp(text, "<bos>", 5) != 0;
    if (g4_input_new(srv->model, text, strlen(text), add_bos, NULL, 0, &j->input) != G4_OK)
        return api_fail_library(err, 400, g4_last_error());
    return check_fits(srv, j, "prompt", err);
}

bool request_submit(server *srv, job *j, api_error *err)
{
    switch (scheduler_submit(srv->sched, j)) {
    case SUBMIT_OK: return true;
    case SUBMIT_QUEUE_FULL:
        return api_fail(err, 429, NULL, "all %d slots are busy and %d requests are waiting; "
                        "retry later", srv->cfg.n_parallel, srv->cfg.max_queue);
    case SUBMIT_STOPPING: break;
    }
    return api_fail(err, 503, NULL, "the server is shutting down");
}

void request_wait(job *j, uint32_t generated_seen, job_state state_seen, int client_fd)
{
    pthread_mutex_lock(&j->lock);
    while (j->state == state_seen && j->state != JOB_DONE &&
           j->completion_tokens == generated_seen) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&j->changed, &j->lock, &until) == ETIMEDOUT &&
            http_client_gone(client_fd))
            j->cancel = true;
    }
    pthread_mutex_unlock(&j->lock);
}

bool request_wait_done(job *j, int client_fd, api_error *err)
{
    pthread_mutex_lock(&j->lock);
    while (j->state != JOB_DONE) {
        uint32_t generated = j->completion_tokens;
        job_state state = j->state;
        pthread_mutex_unlock(&j->lock);
        request_wait(j, generated, state, client_fd);
        pthread_mutex_lock(&j->lock);
    }
    bool ok = j->finish != JOB_FINISH_ERROR;
    if (!ok)
        api_fail(err, j->error_status == G4_ERR_INVALID_ARG ||
                              j->error_status == G4_ERR_CONTEXT_FULL ? 400 : 500,
                 NULL, "%s", j->error);
    pthread_mutex_unlock(&j->lock);
    return ok;
}

void request_make_id(server *srv, const char *prefix, char *out, size_t cap)
{
    snprintf(out, cap, "%s-%llu", prefix, (unsigned long long)atomic_fetch_add(&srv->next_id, 1));
}

char *request_token_text(const g4_model *model, int32_t id, bool show_special)
{
    chat_buf out = {0};
    char bytes[256];
    int n = g4_token_to_bytes(model, id, show_special, bytes, sizeof bytes);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof bytes ? (size_t)n : sizeof bytes;
    for (size_t i = 0, step = 0; i < len; i += step) {
        if (utf8_scan(bytes + i, len - i, &step) == UTF8_VALID)
            chat_buf_put(&out, bytes + i, step);
        else
            chat_buf_puts(&out, UTF8_REPLACEMENT);
    }
    return chat_buf_take(&out);
}

bool request_view(job *j, size_t tokens_from, job_view *v)
{
    pthread_mutex_lock(&j->lock);
    size_t n_tokens = j->n_tokens > tokens_from ? j->n_tokens - tokens_from : 0;
    *v = (job_view){
        .text = malloc(j->text.len + 1),
        .text_len = j->text.len,
        .tokens = malloc((n_tokens ? n_tokens : 1) * sizeof(job_token)),
        .tokens_from = tokens_from,
        .n_tokens = n_tokens,
        .state = j->state,
        .finish = j->finish,
        .prompt_tokens = j->prompt_tokens,
        .cached_tokens = j->cached_tokens,
        .completion_tokens = j->completion_tokens,
        .queued_at = j->queued_at,
        .started_at = j->started_at,
        .first_token_at = j->first_token_at,
        .finished_at = j->finished_at,
    };
    if (v->text) {
        if (j->text.len)
            memcpy(v->text, j->text.data, j->text.len);
        v->text[j->text.len] = '\0';
    }
    if (v->tokens && n_tokens)
        memcpy(v->tokens, j->tokens + tokens_from, n_tokens * sizeof(job_token));
    pthread_mutex_unlock(&j->lock);
    if (v->text && v->tokens)
        return true;
    request_view_free(v);
    return false;
}

void request_view_free(job_view *v)
{
    free(v->text);
    free(v->tokens);
    v->text = NULL;
    v->tokens = NULL;
}

/* Leaves a NUL after the bytes without counting it, so data reads as a string. */
static void terminate(chat_buf *buf)
{
    chat_buf_put(buf, "", 1);
    if (!buf->failed && buf->len > 0)
        buf->len--;
}

bool progress_next(progress *p, progress_step *step)
{
    *step = (progress_step){0};
    request_wait(p->job, p->generated_seen, p->state_seen, p->client_fd);
    if (!request_view(p->job, p->tokens_seen, &step->view))
        return false;
    job_view *v = &step->view;
    step->done = v->state == JOB_DONE;
    if (!p->chat) {
        chat_buf_put(&step->content, v->text + p->text_seen, v->text_len - p->text_seen);
    } else if (reply_parse(v->text, v->text_len, step->done, &step->reply) == G4_OK) {
        reply_delta(&p->content_sent, step->reply.content, &step->content);
        reply_delta(&p->reasoning_sent, step->reply.reasoning, &step->reasoning);
    } else {
        progress_step_done(p, step);
        return false;
    }
    terminate(&step->content);
    terminate(&step->reasoning);
    return !step->content.failed && !step->reasoning.failed;
}

void progress_step_done(progress *p, progress_step *step)
{
    p->text_seen = step->view.text_len;
    p->tokens_seen += step->view.n_tokens;
    p->generated_seen = step->view.completion_tokens;
    p->state_seen = step->view.state;
    request_view_free(&step->view);
    g4_chat_reply_clear(&step->reply);
    chat_buf_free(&step->content);
    chat_buf_free(&step->reasoning);
}

void progress_free(progress *p)
{
    chat_buf_free(&p->content_sent);
    chat_buf_free(&p->reasoning_sent);
}
