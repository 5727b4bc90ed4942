/* The Ollama API: /api/chat and /api/generate (NDJSON streaming by default), /api/tags,
 * /api/show and /api/version. Requests are turned into the OpenAI chat format the
 * renderer takes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server/reply.h"
#include "server/server_state.h"

typedef enum ollama_kind { OLLAMA_CHAT, OLLAMA_GENERATE } ollama_kind;

typedef struct response {
    server *srv;
    job *job;
    ollama_kind kind;
    int client_fd;
    progress progress;
} response;

/* ---- requests ----------------------------------------------------------------------------- */

static bool parse_options(const cJSON *body, job *j, api_error *err)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(body, "options");
    if (o && !cJSON_IsNull(o) && !cJSON_IsObject(o))
        return api_fail(err, 400, "options", "options: expected an object");
    g4_sampler_params *sp = &j->sampling;
    double temp = sp->temperature, top_p = sp->top_p, min_p = sp->min_p;
    double presence = sp->presence_penalty, frequency = sp->frequency_penalty;
    double repeat = sp->repeat_penalty;
    long long top_k = sp->top_k, seed = 0, num_predict = -1, last_n = sp->penalty_last_n;
    bool ok = request_number(o, "temperature", 0, 100, &temp, err) &&
              request_number(o, "top_p", 0, 1, &top_p, err) &&
              request_number(o, "min_p", 0, 1, &min_p, err) &&
              request_integer(o, "top_k", 0, 1 << 30, &top_k, err) &&
              request_number(o, "presence_penalty", -100, 100, &presence, err) &&
              request_number(o, "frequency_penalty", -100, 100, &frequency, err) &&
              request_number(o, "repeat_penalty", 0.01, 100, &repeat, err) &&
              request_integer(o, "repeat_last_n", -1, 1 << 30, &last_n, err) &&
              request_integer(o, "seed", -9007199254740991.0, 9007199254740991.0, &seed, err) &&
              request_integer(o, "num_predict", -2, 9007199254740991.0, &num_predict, err) &&
              request_stops(o, "stop", j, err);
    if (!ok) {
        api_error inner = *err;
        char param[sizeof inner.param + 8];
        snprintf(param, sizeof param, "options.%s", inner.param);
        return api_fail(err, inner.status, param, "options.%s", inner.message);
    }
    *sp = (g4_sampler_params){
        .temperature = (float)temp, .top_k = (int32_t)top_k, .top_p = (float)top_p,
        .min_p = (float)min_p, .repeat_penalty = (float)repeat,
        .presence_penalty = (float)presence, .frequency_penalty = (float)frequency,
        .penalty_last_n = last_n < 0 ? sp->penalty_last_n : (int32_t)last_n,
        .seed = (uint64_t)seed,
    };
    j->max_tokens = num_predict < 0 ? -1 : num_predict > INT32_MAX ? INT32_MAX
                                                                    : (int32_t)num_predict;
    return true;
}

/* "think": true/false, or an effort ("low", "medium", "high") meaning true. */
static bool parse_think(const cJSON *body, cJSON *chat, api_error *err)
{
    const cJSON *think = cJSON_GetObjectItemCaseSensitive(body, "think");
    if (!think || cJSON_IsNull(think))
        return true;
    if (!cJSON_IsBool(think) && !cJSON_IsString(think))
        return api_fail(err, 400, "think", "think: expected a boolean or a string");
    cJSON_AddBoolToObject(chat, "enable_thinking", cJSON_IsTrue(think) || cJSON_IsString(think));
    return true;
}

static bool check_format(const cJSON *body, api_error *err)
{
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(body, "format");
    if (!format || cJSON_IsNull(format) || (cJSON_IsString(format) && !format->valuestring[0]))
        return true;
    return api_fail(err, 400, "format", "format: structured output is not supported");
}

/* Ollama's images (base64 strings) as content parts before the text. */
static bool add_content(cJSON *msg, const char *text, const cJSON *images, const char *where,
                        api_error *err)
{
    if (images && !cJSON_IsNull(images) && !cJSON_IsArray(images))
        return api_fail(err, 400, where, "%s: expected an array of base64 strings", where);
    if (!cJSON_GetArraySize(images)) {
        cJSON_AddStringToObject(msg, "content", text);
        return true;
    }
    cJSON *parts = cJSON_AddArrayToObject(msg, "content");
    const cJSON *image;
    cJSON_ArrayForEach(image, images) {
        if (!cJSON_IsString(image))
            return api_fail(err, 400, where, "%s: expected an array of base64 strings", where);
        chat_buf buf = {0};
        chat_buf_puts(&buf, "data:application/octet-stream;base64,");
        chat_buf_puts(&buf, image->valuestring);
        char *uri = chat_buf_take(&buf);
        if (!uri)
            return api_fail(err, 500, NULL, "out of memory");
        cJSON *part = cJSON_CreateObject();
        cJSON_AddStringToObject(part, "type", "image");
        cJSON_AddStringToObject(part, "image", uri);
        cJSON_AddItemToArray(parts, part);
        free(uri);
    }
    cJSON *part = cJSON_CreateObject();
    cJSON_AddStringToObject(part, "type", "text");
    cJSON_AddStringToObject(part, "text", text);
    cJSON_AddItemToArray(parts, part);
    return true;
}

/* One Ollama message in OpenAI's shape: images to parts, tool_name to name. */
static bool convert_message(const cJSON *in, cJSON *messages, int index, api_error *err)
{
    char where[64];
    snprintf(where, sizeof where, "messages[%d]", index);
    if (!cJSON_IsObject(in))
        return api_fail(err, 400, where, "%s: expected an object", where);
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddItemToArray(messages, msg);
    const cJSON *field;
    cJSON_ArrayForEach(field, in) {
        if (strcmp(field->string, "content") && strcmp(field->string, "images") &&
            strcmp(field->string, "tool_name") && strcmp(field->string, "thinking"))
            cJSON_AddItemToObject(msg, field->string, cJSON_Duplicate(field, true));
    }
    const cJSON *tool_name = cJSON_GetObjectItemCaseSensitive(in, "tool_name");
    if (cJSON_IsString(tool_name))
        cJSON_AddStringToObject(msg, "name", tool_name->valuestring);
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(in, "content");
    if (content && !cJSON_IsNull(content) && !cJSON_IsString(content))
        return api_fail(err, 400, where, "%s.content: expected a string", where);
    snprintf(where + strlen(where), sizeof where - strlen(where), ".images");
    return add_content(msg, cJSON_IsString(content) ? content->valuestring : "",
                       cJSON_GetObjectItemCaseSensitive(in, "images"), where, err);
}

static cJSON *chat_request(const cJSON *body, api_error *err)
{
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(body, "messages");
    if (!cJSON_IsArray(messages)) {
        api_fail(err, 400, "messages", "messages: expected an array");
        return NULL;
    }
    cJSON *chat = cJSON_CreateObject();
    cJSON *out = cJSON_AddArrayToObject(chat, "messages");
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(body, "tools");
    if (tools)
        cJSON_AddItemToObject(chat, "tools", cJSON_Duplicate(tools, true));
    int i = 0;
    const cJSON *msg;
    bool ok = parse_think(body, chat, err);
    cJSON_ArrayForEach(msg, messages) {
        ok = ok && convert_message(msg, out, i++, err);
    }
    if (!ok) {
        cJSON_Delete(chat);
        return NULL;
    }
    return chat;
}

/* /api/generate without raw: the prompt (and system) as one chat turn. */
static cJSON *generate_request(const cJSON *body, const char *prompt, api_error *err)
{
    cJSON *chat = cJSON_CreateObject();
    cJSON *messages = cJSON_AddArrayToObject(chat, "messages");
    const cJSON *system = cJSON_GetObjectItemCaseSensitive(body, "system");
    if (system && !cJSON_IsNull(system) && !cJSON_IsString(system)) {
        cJSON_Delete(chat);
        api_fail(err, 400, "system", "system: expected a string");
        return NULL;
    }
    if (cJSON_IsString(system) && system->valuestring[0]) {
        cJSON *msg = cJSON_CreateObject();
        cJSON_AddStringToObject(msg, "role", "system");
        cJSON_AddStringToObject(msg, "content", system->valuestring);
        cJSON_AddItemToArray(messages, msg);
    }
    cJSON *user = cJSON_CreateObject();
    cJSON_AddItemToArray(messages, user);
    cJSON_AddStringToObject(user, "role", "user");
    if (!add_content(user, prompt, cJSON_GetObjectItemCaseSensitive(body, "images"), "images",
                     err) ||
        !parse_think(body, chat, err)) {
        cJSON_Delete(chat);
        return NULL;
    }
    return chat;
}

static bool prepare_generate(server *srv, const cJSON *body, job *j, api_error *err)
{
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(body, "prompt");
    if (!cJSON_IsString(prompt))
        return api_fail(err, 400, "prompt", "prompt: expected a string");
    bool raw = false;
    if (!request_bool(body, "raw", &raw, err))
        return false;
    if (raw) {
        if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body, "images")))
            return api_fail(err, 400, "images", "images: not supported with raw");
        return request_prepare_text(srv, prompt->valuestring, j, err);
    }
    j->show_special = true;
    cJSON *chat = generate_request(body, prompt->valuestring, err);
    bool ok = chat && request_prepare_chat(srv, chat, j, err);
    cJSON_Delete(chat);
    return ok;
}

static bool prepare_chat(server *srv, const cJSON *body, job *j, api_error *err)
{
    j->show_special = true;
    cJSON *chat = chat_request(body, err);
    bool ok = chat && request_prepare_chat(srv, chat, j, err);
    cJSON_Delete(chat);
    return ok;
}

/* ---- responses -------------------------------------------------------------------------- */

static void add_created_at(cJSON *body)
{
    char stamp[40];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%09ldZ", ts.tv_nsec);
    cJSON_AddStringToObject(body, "created_at", stamp);
}

/* One NDJSON line or the whole answer: the new text (and reasoning) of this step. */
static cJSON *answer(const response *r, const char *content, const char *thinking, bool done)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "model", r->srv->model_name);
    add_created_at(body);
    if (r->kind == OLLAMA_CHAT) {
        cJSON *msg = cJSON_AddObjectToObject(body, "message");
        cJSON_AddStringToObject(msg, "role", "assistant");
        cJSON_AddStringToObject(msg, "content", content);
        if (thinking)
            cJSON_AddStringToObject(msg, "thinking", thinking);
    } else {
        cJSON_AddStringToObject(body, "response", content);
        if (thinking)
            cJSON_AddStringToObject(body, "thinking", thinking);
    }
    cJSON_AddBoolToObject(body, "done", done);
    return body;
}

static double nanoseconds(double seconds)
{
    return seconds > 0 ? floor(seconds * 1e9) : 0;
}

static void add_final(const response *r, cJSON *body, const job_view *v,
                      const g4_chat_reply *reply)
{
    if (r->kind == OLLAMA_CHAT && reply->n_tool_calls)
        cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(body, "message"), "tool_calls",
                              reply_tool_calls(reply, false, "call"));
    cJSON_AddStringToObject(body, "done_reason", v->finish == JOB_FINISH_LENGTH ? "length"
                                                                                : "stop");
    cJSON_AddNumberToObject(body, "total_duration", nanoseconds(v->finished_at - v->queued_at));
    cJSON_AddNumberToObject(body, "load_duration", 0);
    cJSON_AddNumberToObject(body, "prompt_eval_count", v->prompt_tokens);
    cJSON_AddNumberToObject(body, "prompt_eval_duration",
                            nanoseconds(v->first_token_at - v->started_at));
    cJSON_AddNumberToObject(body, "eval_count", v->completion_tokens);
    cJSON_AddNumberToObject(body, "eval_duration",
                            nanoseconds(v->finished_at - v->first_token_at));
}

static void put_line(chat_buf *out, cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    if (!text) {
        out->failed = true;
        return;
    }
    chat_buf_puts(out, text);
    chat_buf_puts(out, "\n");
    free(text);
}

static bool put_error_line(response *r, chat_buf *out)
{
    api_error err = {0};
    request_wait_done(r->job, r->client_fd, &err);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "error", err.message);
    put_line(out, body);
    return false;
}

static bool stream_next(void *ctx, chat_buf *out)
{
    response *r = ctx;
    progress_step step;
    if (!progress_next(&r->progress, &step)) {
        out->failed = true;
        return false;
    }
    bool done = step.done;
    if (done && step.view.finish == JOB_FINISH_ERROR) {
        progress_step_done(&r->progress, &step);
        return put_error_line(r, out);
    }
    if (step.content.len || step.reasoning.len || done) {
        cJSON *line = answer(r, step.content.data ? step.content.data : "",
                             step.reasoning.len ? step.reasoning.data : NULL, done);
        if (done)
            add_final(r, line, &step.view, &step.reply);
        put_line(out, line);
    }
    progress_step_done(&r->progress, &step);
    return !done;
}

static enum MHD_Result send_whole(response *r, http_request *req)
{
    api_error err = {0};
    job_view v = {0};
    g4_chat_reply reply = {0};
    if (!request_wait_done(r->job, r->client_fd, &err))
        return http_send_ollama_error(req, &err);
    bool chat_text = r->job->show_special;
    if (!request_view(r->job, 0, &v) ||
        (chat_text && reply_parse(v.text, v.text_len, true, &reply) != G4_OK)) {
        request_view_free(&v);
        api_fail(&err, 500, NULL, "out of memory");
        return http_send_ollama_error(req, &err);
    }
    cJSON *body = answer(r, chat_text ? reply.content : v.text, reply.reasoning, true);
    add_final(r, body, &v, &reply);
    g4_chat_reply_clear(&reply);
    request_view_free(&v);
    return http_send_json(req, 200, body);
}

static void response_free(void *ctx)
{
    response *r = ctx;
    job_cancel(r->job);
    job_release(r->job);
    progress_free(&r->progress);
    free(r);
}

bool ollama_parse(server *srv, const http_request *req, bool chat, job *j,
                  request_flags *flags, api_error *err)
{
    cJSON *body = NULL;
    flags->stream = true;
    bool ok = request_parse_body(req, &body, err) &&
              request_bool(body, "stream", &flags->stream, err) && check_format(body, err) &&
              parse_options(body, j, err) &&
              (chat ? prepare_chat(srv, body, j, err) : prepare_generate(srv, body, j, err));
    cJSON_Delete(body);
    return ok;
}

static enum MHD_Result handle(server *srv, http_request *req, ollama_kind kind)
{
    api_error err = {0};
    response *r = calloc(1, sizeof *r);
    job *j = job_new();
    if (!r || !j) {
        free(r);
        job_release(j);
        api_fail(&err, 500, NULL, "out of memory");
        return http_send_ollama_error(req, &err);
    }
    request_flags flags = {0};
    *r = (response){.srv = srv, .job = j, .kind = kind, .client_fd = req->client_fd,
                    .progress = {.job = j, .client_fd = req->client_fd}};
    if (!ollama_parse(srv, req, kind == OLLAMA_CHAT, j, &flags, &err) ||
        !request_submit(srv, j, &err)) {
        response_free(r);
        return http_send_ollama_error(req, &err);
    }
    r->progress.chat = j->show_special;
    if (flags.stream)
        return http_send_stream(req, "application/x-ndjson", stream_next, response_free, r);
    enum MHD_Result ret = send_whole(r, req);
    response_free(r);
    return ret;
}

enum MHD_Result ollama_chat(server *srv, http_request *req)
{
    return handle(srv, req, OLLAMA_CHAT);
}

enum MHD_Result ollama_generate(server *srv, http_request *req)
{
    return handle(srv, req, OLLAMA_GENERATE);
}

/* ---- model information ---------------------------------------------------------------- */

static cJSON *details(void)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "format", "gguf");
    cJSON_AddStringToObject(d, "family", "gemma4");
    cJSON *families = cJSON_AddArrayToObject(d, "families");
    cJSON_AddItemToArray(families, cJSON_CreateString("gemma4"));
    return d;
}

static double file_size(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 ? (double)st.st_size : 0;
}

enum MHD_Result ollama_tags(server *srv, http_request *req)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *models = cJSON_AddArrayToObject(body, "models");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "name", srv->model_name);
    cJSON_AddStringToObject(m, "model", srv->model_name);
    char stamp[32];
    struct tm tm;
    gmtime_r(&srv->created, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(m, "modified_at", stamp);
    cJSON_AddNumberToObject(m, "size", file_size(srv->cfg.model_path));
    cJSON_AddStringToObject(m, "digest", "");
    cJSON_AddItemToObject(m, "details", details());
    cJSON_AddItemToArray(models, m);
    return http_send_json(req, 200, body);
}

enum MHD_Result ollama_show(server *srv, http_request *req)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "modelfile", "");
    cJSON_AddStringToObject(body, "parameters", "");
    cJSON_AddStringToObject(body, "template", "");
    cJSON_AddItemToObject(body, "details", details());
    cJSON *info = cJSON_AddObjectToObject(body, "model_info");
    cJSON_AddStringToObject(info, "general.architecture", "gemma4");
    cJSON_AddNumberToObject(info, "gemma4.context_length", scheduler_n_ctx(srv->sched));
    cJSON_AddNumberToObject(info, "gemma4.embedding_length", g4_model_hidden_size(srv->model));
    cJSON *caps = cJSON_AddArrayToObject(body, "capabilities");
    cJSON_AddItemToArray(caps, cJSON_CreateString("completion"));
    cJSON_AddItemToArray(caps, cJSON_CreateString("tools"));
    cJSON_AddItemToArray(caps, cJSON_CreateString("thinking"));
    if (g4_model_accepts_media(srv->model, G4_MEDIA_IMAGE))
        cJSON_AddItemToArray(caps, cJSON_CreateString("vision"));
    if (g4_model_accepts_media(srv->model, G4_MEDIA_AUDIO))
        cJSON_AddItemToArray(caps, cJSON_CreateString("audio"));
    return http_send_json(req, 200, body);
}

enum MHD_Result ollama_version(server *srv, http_request *req)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "version", g4_version());
    return http_send_json(req, 200, body);
}
