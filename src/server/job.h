/* One generation request as the scheduler runs it: the prompt and sampling settings going
 * in, the generated text, per-token log-probabilities and the outcome coming out. The
 * connection that made it and the scheduler share it; each holds a reference. */
#ifndef G4_SERVER_JOB_H
#define G4_SERVER_JOB_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "g4.h"
#include "text/chat_text.h"

enum { JOB_MAX_TOP_LOGPROBS = 20, JOB_MAX_STOPS = 16 };

typedef enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE } job_state;

typedef enum job_finish {
    JOB_FINISH_STOP,      /* end of turn or a stop string */
    JOB_FINISH_LENGTH,    /* max_tokens or the end of the context */
    JOB_FINISH_CANCELLED, /* the client went away or the server is shutting down */
    JOB_FINISH_ERROR,
} job_finish;

/* One generated token with its log-probability and the most likely alternatives. */
typedef struct job_token {
    int32_t id;
    float logprob;
    int n_top;
    int32_t top_ids[JOB_MAX_TOP_LOGPROBS];
    float top_logprobs[JOB_MAX_TOP_LOGPROBS];
} job_token;

typedef struct job {
    /* the request, fixed once submitted */
    g4_input *input;
    g4_media **media;
    size_t n_media;
    g4_sampler_params sampling;
    int32_t max_tokens;           /* < 0: until the context is full */
    char *stops[JOB_MAX_STOPS];
    size_t n_stops;
    bool show_special;            /* chat replies keep their channel and tool-call marks */
    int top_logprobs;             /* < 0: no log-probabilities */

    /* the outcome, guarded by lock; changed is signalled on every update */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    job_state state;
    chat_buf text;                /* generated text so far */
    job_token *tokens;            /* with top_logprobs >= 0: one per generated token */
    size_t n_tokens, cap_tokens;
    uint32_t prompt_tokens, cached_tokens, completion_tokens;
    double queued_at, started_at, first_token_at, finished_at;
    job_finish finish;
    g4_status error_status;
    char error[256];
    bool cancel;                  /* set by the connection: stop as soon as possible */
    int refs;
} job;

/* A job with one reference (the caller's); the sampling defaults of the model. */
job *job_new(void);
/* Takes another reference. */
void job_retain(job *j);
/* Drops a reference; the last one frees the job, its input and media. */
void job_release(job *j);
/* Asks the scheduler to stop the job (the client disconnected). */
void job_cancel(job *j);

/* Called by the scheduler, which holds no lock. A token's text comes first, then the
 * token itself, which wakes the waiters: they see both together. */
void job_start(job *j, uint32_t cached_tokens);
bool job_add_text(job *j, const char *text, size_t len);
bool job_add_token(job *j, const job_token *token);
void job_finish_with(job *j, job_finish finish, g4_status status, const char *error);
bool job_cancelled(job *j);

double job_now(void);

#endif
