/* The OpenAI API: /v1/chat/completions, /v1/completions (streamed as server-sent events
 * or not) and /v1/models. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/reply.h"
#include "server/server_state.h"

enum { MAX_COMPLETION_LOGPROBS = 5 };

typedef enum api_kind { API_CHAT, API_COMPLETION } api_kind;

/* One request's response: the job and how to write it. */
typedef struct response {
    server *srv;
    job *job;
    api_kind kind;
    request_flags flags;
    int client_fd;
    char id[64];
    time_t created;
    bool started;
    progress progress;
} response;

/* ---- request fields ------------------------------------------------------------------- */

static bool parse_sampling(const cJSON *body, job *j, api_error *err)
{
    g4_sampler_params *sp = &j->sampling;
    double temp = sp->temperature, top_p = sp->top_p, min_p = sp->min_p;
    double presence = sp->presence_penalty, frequency = sp->frequency_penalty;
    double repeat = sp->repeat_penalty;
    long long top_k = sp->top_k, seed = 0, max_tokens = -1, n = 1;
    bool ok = request_number(body, "temperature", 0, 2, &temp, err) &&
              request_number(body, "top_p", 0, 1, &top_p, err) &&
              request_number(body, "min_p", 0, 1, &min_p, err) &&
              request_integer(body, "top_k", 0, 1 << 30, &top_k, err) &&
              request_number(body, "presence_penalty", -2, 2, &presence, err) &&
              request_number(body, "frequency_penalty", -2, 2, &frequency, err) &&
              request_number(body, "repeat_penalty", 0.01, 10, &repeat, err) &&
              request_integer(body, "seed", -9007199254740991.0, 9007199254740991.0, &seed,
                              err) &&
              request_integer(body, "max_tokens", 0, 9007199254740991.0, &max_tokens, err) &&
              request_integer(body, "max_completion_tokens", 0, 9007199254740991.0,
                              &max_tokens, err) &&
              request_integer(body, "n", 1, 1, &n, err) && request_stops(body, "stop", j, err);
    if (!ok)
        return false;
    *sp = (g4_sampler_params){
        .temperature = (float)temp, .top_k = (int32_t)top_k, .top_p = (float)top_p,
        .min_p = (float)min_p, .repeat_penalty = (float)repeat,
        .presence_penalty = (float)presence, .frequency_penalty = (float)frequency,
        .penalty_last_n = sp->penalty_last_n, .seed = (uint64_t)seed,
    };
    j->max_tokens = max_tokens > INT32_MAX ? INT32_MAX : (int32_t)max_tokens;
    return true;
}

static bool parse_stream(const cJSON *body, request_flags *flags, api_error *err)
{
    if (!request_bool(body, "stream", &flags->stream, err))
        return false;
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(body, "stream_options");
    if (options && !cJSON_IsNull(options) && !cJSON_IsObject(options))
        return api_fail(err, 400, "stream_options", "stream_options: expected an object");
    return request_bool(options, "include_usage", &flags->include_usage, err);
}

static bool parse_chat_logprobs(const cJSON *body, job *j, api_error *err)
{
    bool logprobs = false;
    long long top = -1;
    if (!request_bool(body, "logprobs", &logprobs, err) ||
        !request_integer(body, "top_logprobs", 0, JOB_MAX_TOP_LOGPROBS, &top, err))
        return false;
    if (top >= 0 && !logprobs)
        return api_fail(err, 400, "top_logprobs", "top_logprobs: needs \"logprobs\": true");
    j->top_logprobs = logprobs ? (int)(top < 0 ? 0 : top) : -1;
    return true;
}

/* tool_choice "none" drops the tools; "auto", "required" and a named function keep them
 * (the model decides). reasoning_effort "none" turns thinking off, other values on. */
static bool adapt_chat_request(cJSON *body, api_error *err)
{
    cJSON *choice = cJSON_GetObjectItemCaseSensitive(body, "tool_choice");
    if (choice && !cJSON_IsNull(choice) && !cJSON_IsObject(choice) &&
        !(cJSON_IsString(choice) && (strcmp(choice->valuestring, "none") == 0 ||
                                     strcmp(choice->valuestring, "auto") == 0 ||
                                     strcmp(choice->valuestring, "required") == 0)))
        return api_fail(err, 400, "tool_choice", "tool_choice: expected \"none\", \"auto\", "
                        "\"required\" or an object");
    if (cJSON_IsString(choice) && strcmp(choice->valuestring, "none") == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(body, "tools");
    const cJSON *effort = cJSON_GetObjectItemCaseSensitive(body, "reasoning_effort");
    if (effort && !cJSON_IsNull(effort) && !cJSON_IsString(effort))
        return api_fail(err, 400, "reasoning_effort", "reasoning_effort: expected a string");
    if (cJSON_IsString(effort) && !cJSON_GetObjectItemCaseSensitive(body, "enable_thinking"))
        cJSON_AddBoolToObject(body, "enable_thinking", strcmp(effort->valuestring, "none") != 0);
    return true;
}

/* /v1/completions: "prompt" is a string or an array holding one; logprobs is a count. */
static bool parse_completion(cJSON *body, server *srv, job *j, api_error *err)
{
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(body, "prompt");
    if (cJSON_IsArray(prompt) && cJSON_GetArraySize(prompt) == 1)
        prompt = cJSON_GetArrayItem(prompt, 0);
    if (!cJSON_IsString(prompt))
        return api_fail(err, 400, "prompt", "prompt: expected a string");
    bool echo = false;
    long long logprobs = -1;
    if (!request_bool(body, "echo", &echo, err) ||
        !request_integer(body, "logprobs", 0, MAX_COMPLETION_LOGPROBS, &logprobs, err))
        return false;
    if (echo)
        return api_fail(err, 400, "echo", "echo: not supported");
    j->top_logprobs = (int)logprobs;
    return request_prepare_text(srv, prompt->valuestring, j, err);
}

/* ---- the response ------------------------------------------------------------------------ */

static const char *finish_reason(job_finish finish, bool tool_calls)
{
    if (tool_calls)
        return "tool_calls";
    return finish == JOB_FINISH_LENGTH ? "length" : "stop";
}

static void add_token_bytes(cJSON *entry, const g4_model *model, int32_t id, bool special)
{
    char bytes[256];
    int n = g4_token_to_bytes(model, id, special, bytes, sizeof bytes);
    cJSON *list = cJSON_AddArrayToObject(entry, "bytes");
    for (int i = 0; i < n && i < (int)sizeof bytes; i++)
        cJSON_AddItemToArray(list, cJSON_CreateNumber((unsigned char)bytes[i]));
}

static cJSON *logprob_entry(const g4_model *model, int32_t id, float logprob, bool special)
{
    cJSON *entry = cJSON_CreateObject();
    char *text = request_token_text(model, id, special);
    cJSON_AddStringToObject(entry, "token", text ? text : "");
    free(text);
    cJSON_AddNumberToObject(entry, "id", id); /* an extension, as llama.cpp's server has */
    cJSON_AddNumberToObject(entry, "logprob", logprob);
    add_token_bytes(entry, model, id, special);
    return entry;
}

/* Chat: {"content": [{"token","logprob","bytes","top_logprobs": [...]}, ...]}. */
static cJSON *chat_logprobs(const response *r, const job_view *v)
{
    const g4_model *model = r->srv->model;
    cJSON *lp = cJSON_CreateObject();
    cJSON *content = cJSON_AddArrayToObject(lp, "content");
    for (size_t i = 0; i < v->n_tokens; i++) {
        const job_token *t = &v->tokens[i];
        cJSON *entry = logprob_entry(model, t->id, t->logprob, true);
        cJSON *top = cJSON_AddArrayToObject(entry, "top_logprobs");
        for (int k = 0; k < t->n_top; k++)
            cJSON_AddItemToArray(top, logprob_entry(model, t->top_ids[k], t->top_logprobs[k],
                                                    true));
        cJSON_AddItemToArray(content, entry);
    }
    return lp;
}

/* Completions (the legacy shape): tokens, token_logprobs, top_logprobs, text_offset. */
static cJSON *completion_logprobs(const response *r, const job_view *v, size_t text_offset)
{
    const g4_model *model = r->srv->model;
    cJSON *lp = cJSON_CreateObject();
    cJSON *tokens = cJSON_AddArrayToObject(lp, "tokens");
    cJSON *logprobs = cJSON_AddArrayToObject(lp, "token_logprobs");
    cJSON *tops = cJSON_AddArrayToObject(lp, "top_logprobs");
    cJSON *offsets = cJSON_AddArrayToObject(lp, "text_offset");
    for (size_t i = 0; i < v->n_tokens; i++) {
        const job_token *t = &v->tokens[i];
        char *text = request_token_text(model, t->id, false);
        cJSON_AddItemToArray(tokens, cJSON_CreateString(text ? text : ""));
        cJSON_AddItemToArray(logprobs, cJSON_CreateNumber(t->logprob));
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)text_offset));
        text_offset += text ? strlen(text) : 0;
        free(text);
        cJSON *top = cJSON_CreateObject();
        for (int k = 0; k < t->n_top; k++) {
            char *alt = request_token_text(model, t->top_ids[k], false);
            if (alt && !cJSON_GetObjectItemCaseSensitive(top, alt))
                cJSON_AddNumberToObject(top, alt, t->top_logprobs[k]);
            free(alt);
        }
        cJSON_AddItemToArray(tops, top);
    }
    return lp;
}

static cJSON *usage_json(const job_view *v)
{
    cJSON *usage = cJSON_CreateObject();
    cJSON_AddNumberToObject(usage, "prompt_tokens", v->prompt_tokens);
    cJSON_AddNumberToObject(usage, "completion_tokens", v->completion_tokens);
    cJSON_AddNumberToObject(usage, "total_tokens", v->prompt_tokens + v->completion_tokens);
    cJSON *details = cJSON_AddObjectToObject(usage, "prompt_tokens_details");
    cJSON_AddNumberToObject(details, "cached_tokens", v->cached_tokens);
    return usage;
}

/* {"id","object","created","model","choices":[choice]} */
static cJSON *envelope(const response *r, const char *object, cJSON *choice)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "id", r->id);
    cJSON_AddStringToObject(body, "object", object);
    cJSON_AddNumberToObject(body, "created", (double)r->created);
    cJSON_AddStringToObject(body, "model", r->srv->model_name);
    cJSON *choices = cJSON_AddArrayToObject(body, "choices");
    if (choice) {
        cJSON_AddNumberToObject(choice, "index", 0);
        cJSON_AddItemToArray(choices, choice);
    }
    return body;
}

static cJSON *chat_message(const response *r, const g4_chat_reply *reply)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "role", "assistant");
    if (reply->n_tool_calls && !reply->content[0])
        cJSON_AddNullToObject(msg, "content");
    else
        cJSON_AddStringToObject(msg, "content", reply->content);
    if (reply->reasoning)
        cJSON_AddStringToObject(msg, "reasoning_content", reply->reasoning);
    if (reply->n_tool_calls)
        cJSON_AddItemToObject(msg, "tool_calls", reply_tool_calls(reply, true, r->id));
    return msg;
}

static enum MHD_Result send_whole(response *r, http_request *req)
{
    api_error err = {0};
    job_view v = {0};
    g4_chat_reply reply = {0};
    if (!request_wait_done(r->job, r->client_fd, &err))
        return http_send_openai_error(req, &err);
    if (!request_view(r->job, 0, &v) ||
        (r->kind == API_CHAT && reply_parse(v.text, v.text_len, true, &reply) != G4_OK)) {
        request_view_free(&v);
        api_fail(&err, 500, NULL, "out of memory");
        return http_send_openai_error(req, &err);
    }
    cJSON *choice = cJSON_CreateObject();
    bool logprobs = r->job->top_logprobs >= 0;
    if (r->kind == API_CHAT) {
        cJSON_AddItemToObject(choice, "message", chat_message(r, &reply));
        cJSON_AddItemToObject(choice, "logprobs",
                              logprobs ? chat_logprobs(r, &v) : cJSON_CreateNull());
    } else {
        cJSON_AddStringToObject(choice, "text", v.text);
        cJSON_AddItemToObject(choice, "logprobs",
                              logprobs ? completion_logprobs(r, &v, 0) : cJSON_CreateNull());
    }
    cJSON_AddStringToObject(choice, "finish_reason", finish_reason(v.finish, reply.n_tool_calls));
    cJSON *body = envelope(r, r->kind == API_CHAT ? "chat.completion" : "text_completion",
                           choice);
    cJSON_AddItemToObject(body, "usage", usage_json(&v));
    g4_chat_reply_clear(&reply);
    request_view_free(&v);
    return http_send_json(req, 200, body);
}

/* ---- streaming --------------------------------------------------------------------------- */

static void put_event(chat_buf *out, cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    if (!text) {
        out->failed = true;
        return;
    }
    chat_buf_puts(out, "data: ");
    chat_buf_puts(out, text);
    chat_buf_puts(out, "\n\n");
    free(text);
}

/* A chat chunk with delta (taken over), logprobs (taken over, or NULL) and the finish. */
static void put_chat_chunk(response *r, chat_buf *out, cJSON *delta, cJSON *logprobs,
                           const char *finish)
{
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddItemToObject(choice, "delta", delta);
    cJSON_AddItemToObject(choice, "logprobs", logprobs ? logprobs : cJSON_CreateNull());
    if (finish)
        cJSON_AddStringToObject(choice, "finish_reason", finish);
    else
        cJSON_AddNullToObject(choice, "finish_reason");
    put_event(out, envelope(r, "chat.completion.chunk", choice));
}

static void put_chat_progress(response *r, progress_step *step, chat_buf *out)
{
    if (!step->content.len && !step->reasoning.len && !step->view.n_tokens)
        return;
    cJSON *delta = cJSON_CreateObject();
    if (step->content.len)
        cJSON_AddStringToObject(delta, "content", step->content.data);
    if (step->reasoning.len)
        cJSON_AddStringToObject(delta, "reasoning_content", step->reasoning.data);
    bool logprobs = r->job->top_logprobs >= 0 && step->view.n_tokens;
    put_chat_chunk(r, out, delta, logprobs ? chat_logprobs(r, &step->view) : NULL, NULL);
}

static void put_completion_progress(response *r, progress_step *step, chat_buf *out)
{
    if (!step->content.len && !step->view.n_tokens)
        return;
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddStringToObject(choice, "text", step->content.data ? step->content.data : "");
    size_t offset = step->view.text_len - step->content.len;
    cJSON_AddItemToObject(choice, "logprobs", r->job->top_logprobs >= 0
                                                  ? completion_logprobs(r, &step->view, offset)
                                                  : cJSON_CreateNull());
    cJSON_AddNullToObject(choice, "finish_reason");
    put_event(out, envelope(r, "text_completion", choice));
}

static void put_finish(response *r, job_view *v, chat_buf *out, const g4_chat_reply *reply)
{
    const char *finish = finish_reason(v->finish, reply->n_tool_calls);
    if (r->kind == API_CHAT) {
        cJSON *delta = cJSON_CreateObject();
        if (reply->n_tool_calls)
            cJSON_AddItemToObject(delta, "tool_calls", reply_tool_calls(reply, true, r->id));
        put_chat_chunk(r, out, delta, NULL, finish);
    } else {
        cJSON *choice = cJSON_CreateObject();
        cJSON_AddStringToObject(choice, "text", "");
        cJSON_AddNullToObject(choice, "logprobs");
        cJSON_AddStringToObject(choice, "finish_reason", finish);
        put_event(out, envelope(r, "text_completion", choice));
    }
    if (r->flags.include_usage) {
        cJSON *body = envelope(r, r->kind == API_CHAT ? "chat.completion.chunk"
                                                       : "text_completion", NULL);
        cJSON_AddItemToObject(body, "usage", usage_json(v));
        put_event(out, body);
    }
}

static bool put_error_event(response *r, chat_buf *out)
{
    api_error err = {0};
    request_wait_done(r->job, r->client_fd, &err);
    cJSON *body = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(body, "error");
    cJSON_AddStringToObject(e, "message", err.message);
    cJSON_AddStringToObject(e, "type", err.status < 500 ? "invalid_request_error"
                                                        : "server_error");
    put_event(out, body);
    chat_buf_puts(out, "data: [DONE]\n\n");
    return false;
}

static bool stream_next(void *ctx, chat_buf *out)
{
    response *r = ctx;
    if (!r->started && r->kind == API_CHAT) {
        r->started = true;
        cJSON *delta = cJSON_CreateObject();
        cJSON_AddStringToObject(delta, "role", "assistant");
        cJSON_AddStringToObject(delta, "content", "");
        put_chat_chunk(r, out, delta, NULL, NULL);
        return true;
    }
    progress_step step;
    if (!progress_next(&r->progress, &step)) {
        out->failed = true;
        return false;
    }
    bool done = step.done;
    if (done && step.view.finish == JOB_FINISH_ERROR) {
        progress_step_done(&r->progress, &step);
        return put_error_event(r, out);
    }
    if (r->kind == API_CHAT)
        put_chat_progress(r, &step, out);
    else
        put_completion_progress(r, &step, out);
    if (done) {
        put_finish(r, &step.view, out, &step.reply);
        chat_buf_puts(out, "data: [DONE]\n\n");
    }
    progress_step_done(&r->progress, &step);
    return !done;
}

static void response_free(void *ctx)
{
    response *r = ctx;
    job_cancel(r->job);
    job_release(r->job);
    progress_free(&r->progress);
    free(r);
}

/* ---- the routes ------------------------------------------------------------------------------ */

bool openai_parse(server *srv, const http_request *req, bool chat, job *j,
                  request_flags *flags, api_error *err)
{
    cJSON *body = NULL;
    bool ok = request_parse_body(req, &body, err) && parse_stream(body, flags, err) &&
              parse_sampling(body, j, err);
    j->show_special = chat;
    if (chat)
        ok = ok && parse_chat_logprobs(body, j, err) && adapt_chat_request(body, err) &&
             request_prepare_chat(srv, body, j, err);
    else
        ok = ok && parse_completion(body, srv, j, err);
    cJSON_Delete(body);
    return ok;
}

static enum MHD_Result handle(server *srv, http_request *req, api_kind kind)
{
    api_error err = {0};
    response *r = calloc(1, sizeof *r);
    job *j = job_new();
    if (!r || !j) {
        free(r);
        job_release(j);
        api_fail(&err, 500, NULL, "out of memory");
        return http_send_openai_error(req, &err);
    }
    *r = (response){.srv = srv, .job = j, .kind = kind, .client_fd = req->client_fd,
                    .created = time(NULL),
                    .progress = {.job = j, .client_fd = req->client_fd,
                                 .chat = kind == API_CHAT}};
    if (!openai_parse(srv, req, kind == API_CHAT, j, &r->flags, &err) ||
        !request_submit(srv, j, &err)) {
        response_free(r);
        return http_send_openai_error(req, &err);
    }
    request_make_id(srv, kind == API_CHAT ? "chatcmpl" : "cmpl", r->id, sizeof r->id);
    if (r->flags.stream)
        return http_send_stream(req, "text/event-stream", stream_next, response_free, r);
    enum MHD_Result ret = send_whole(r, req);
    response_free(r);
    return ret;
}

enum MHD_Result openai_chat(server *srv, http_request *req)
{
    return handle(srv, req, API_CHAT);
}

enum MHD_Result openai_completions(server *srv, http_request *req)
{
    return handle(srv, req, API_COMPLETION);
}

enum MHD_Result openai_models(server *srv, http_request *req)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(body, "data");
    cJSON *model = cJSON_CreateObject();
    cJSON_AddStringToObject(model, "id", srv->model_name);
    cJSON_AddStringToObject(model, "object", "model");
    cJSON_AddNumberToObject(model, "created", (double)srv->created);
    cJSON_AddStringToObject(model, "owned_by", "g4");
    cJSON_AddItemToArray(data, model);
    return http_send_json(req, 200, body);
}
