/* What the request handlers share: the loaded model, the scheduler, counters. */
#ifndef G4_SERVER_SERVER_STATE_H
#define G4_SERVER_SERVER_STATE_H

#include <stdatomic.h>
#include <time.h>

#include "server/http.h"
#include "server/job.h"
#include "server/scheduler.h"
#include "server/server.h"

/* The HTTP statuses counted separately in /metrics; the last entry counts the rest. */
#define SERVER_COUNTED_STATUSES {200, 400, 401, 404, 405, 413, 429, 500, 503, 0}
enum { SERVER_N_STATUS = 10 };

typedef struct server {
    server_config cfg;
    g4_model *model;       /* set before ready */
    scheduler *sched;
    atomic_bool ready;
    char model_name[128];  /* the file name without .gguf */
    time_t created;        /* when the model was loaded */
    atomic_uint_fast64_t responses[SERVER_N_STATUS];
    atomic_uint_fast64_t next_id;
} server;

/* A copy of a job's outcome so far, taken under its lock. */
typedef struct job_view {
    char *text;               /* all the text so far, NUL-terminated */
    size_t text_len;
    job_token *tokens;        /* the tokens from tokens_from on */
    size_t tokens_from, n_tokens;
    job_state state;
    job_finish finish;
    uint32_t prompt_tokens, cached_tokens, completion_tokens;
    double queued_at, started_at, first_token_at, finished_at;
} job_view;

/* Shared request handling (request.c). */
bool request_parse_body(const http_request *req, cJSON **out, api_error *err);
/* A typed optional field: absent or null leaves *out alone. The field is named by path. */
bool request_number(const cJSON *obj, const char *key, double lo, double hi, double *out,
                    api_error *err);
bool request_integer(const cJSON *obj, const char *key, double lo, double hi, long long *out,
                     api_error *err);
bool request_bool(const cJSON *obj, const char *key, bool *out, api_error *err);
/* "stop": a string or an array of strings. */
bool request_stops(const cJSON *obj, const char *key, job *j, api_error *err);
/* Renders a chat request (OpenAI's format) and loads its media into the job. */
bool request_prepare_chat(server *srv, const cJSON *chat, job *j, api_error *err);
/* A raw prompt (with <bos> first). */
bool request_prepare_text(server *srv, const char *text, job *j, api_error *err);
/* Queues the job: 429 when the queue is full, 503 while stopping. */
bool request_submit(server *srv, job *j, api_error *err);
/* Waits until the job has generated more than generated_seen tokens or changed state;
 * cancels it if the client went away meanwhile. */
void request_wait(job *j, uint32_t generated_seen, job_state state_seen, int client_fd);
/* Blocks until the job is done. Fails with the job's error. */
bool request_wait_done(job *j, int client_fd, api_error *err);
/* Copies the job's outcome (tokens from tokens_from on); false when out of memory. */
bool request_view(job *j, size_t tokens_from, job_view *v);
void request_view_free(job_view *v);
/* Following a running job for a streamed response: each step waits for news and gives
 * what is new. Chat replies are split into answer and reasoning (tool calls come whole
 * with the last step); other text is passed on as it is. */
typedef struct progress {
    job *job;
    int client_fd;
    bool chat;
    size_t text_seen, tokens_seen; /* bytes of text, entries of logprobs */
    uint32_t generated_seen;
    job_state state_seen;
    chat_buf content_sent, reasoning_sent;
} progress;

typedef struct progress_step {
    job_view view;          /* view.tokens: the new tokens */
    g4_chat_reply reply;    /* chat: the reply so far (whole when done) */
    chat_buf content, reasoning; /* new answer and reasoning text */
    bool done;
} progress_step;

/* false when out of memory. */
bool progress_next(progress *p, progress_step *step);
/* Records the step as sent and frees it. */
void progress_step_done(progress *p, progress_step *step);
void progress_free(progress *p);

/* "chatcmpl-7" and the like, unique within the process. */
void request_make_id(server *srv, const char *prefix, char *out, size_t cap);

/* The text of a token for logprobs as valid UTF-8 (U+FFFD for partial bytes); release
 * with free(). NULL when out of memory. */
char *request_token_text(const g4_model *model, int32_t id, bool show_special);

/* What a generation request asks of the response. */
typedef struct request_flags {
    bool stream;
    bool include_usage; /* OpenAI's stream_options */
} request_flags;

/* Checks a request body and prepares the job (prompt, media, sampling) without submitting
 * it: OpenAI's chat or completions, Ollama's chat or generate. */
bool openai_parse(server *srv, const http_request *req, bool chat, job *j,
                  request_flags *flags, api_error *err);
bool ollama_parse(server *srv, const http_request *req, bool chat, job *j,
                  request_flags *flags, api_error *err);

/* Routes (openai.c, ollama.c, metrics.c). */
enum MHD_Result openai_chat(server *srv, http_request *req);
enum MHD_Result openai_completions(server *srv, http_request *req);
enum MHD_Result openai_models(server *srv, http_request *req);
enum MHD_Result ollama_chat(server *srv, http_request *req);
enum MHD_Result ollama_generate(server *srv, http_request *req);
enum MHD_Result ollama_tags(server *srv, http_request *req);
enum MHD_Result ollama_show(server *srv, http_request *req);
enum MHD_Result ollama_version(server *srv, http_request *req);
enum MHD_Result metrics_page(server *srv, http_request *req);
void metrics_count_response(server *srv, unsigned status);

#endif
