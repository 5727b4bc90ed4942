#include "server/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double job_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

job *job_new(void)
{
    job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->changed, NULL);
    g4_sampler_params_init(&j->sampling);
    j->max_tokens = -1;
    j->top_logprobs = -1;
    j->refs = 1;
    j->queued_at = job_now();
    return j;
}

void job_retain(job *j)
{
    pthread_mutex_lock(&j->lock);
    j->refs++;
    pthread_mutex_unlock(&j->lock);
}

static void job_free(job *j)
{
    g4_input_free(j->input);
    g4_media_list_free(j->media, j->n_media);
    for (size_t i = 0; i < j->n_stops; i++)
        free(j->stops[i]);
    chat_buf_free(&j->text);
    free(j->tokens);
    pthread_cond_destroy(&j->changed);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

void job_release(job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->lock);
    if (last)
        job_free(j);
}

void job_cancel(job *j)
{
    pthread_mutex_lock(&j->lock);
    j->cancel = true;
    pthread_mutex_unlock(&j->lock);
}

bool job_cancelled(job *j)
{
    pthread_mutex_lock(&j->lock);
    bool cancel = j->cancel;
    pthread_mutex_unlock(&j->lock);
    return cancel;
}

void job_start(job *j, uint32_t cached_tokens)
{
    pthread_mutex_lock(&j->lock);
    j->state = JOB_RUNNING;
    j->started_at = job_now();
    j->prompt_tokens = (uint32_t)g4_input_n_tokens(j->input);
    j->cached_tokens = cached_tokens;
    pthread_cond_broadcast(&j->changed);
    pthread_mutex_unlock(&j->lock);
}

bool job_add_text(job *j, const char *text, size_t len)
{
    pthread_mutex_lock(&j->lock);
    chat_buf_put(&j->text, text, len);
    bool ok = !j->text.failed && !j->cancel;
    pthread_mutex_unlock(&j->lock);
    return ok;
}

bool job_add_token(job *j, const job_token *token)
{
    pthread_mutex_lock(&j->lock);
    if (j->first_token_at == 0)
        j->first_token_at = job_now();
    j->completion_tokens++;
    bool ok = true;
    if (j->top_logprobs >= 0 && j->n_tokens == j->cap_tokens) {
        size_t cap = j->cap_tokens ? 2 * j->cap_tokens : 64;
        job_token *grown = realloc(j->tokens, cap * sizeof *grown);
        ok = grown != NULL;
        if (grown) {
            j->tokens = grown;
            j->cap_tokens = cap;
        }
    }
    if (ok && j->top_logprobs >= 0)
        j->tokens[j->n_tokens++] = *token;
    pthread_cond_broadcast(&j->changed);
    pthread_mutex_unlock(&j->lock);
    return ok;
}

void job_finish_with(job *j, job_finish finish, g4_status status, const char *error)
{
    pthread_mutex_lock(&j->lock);
    j->state = JOB_DONE;
    j->finish = finish;
    j->error_status = status;
    snprintf(j->error, sizeof j->error, "%s", error ? error : "");
    j->finished_at = job_now();
    if (j->first_token_at == 0)
        j->first_token_at = j->finished_at;
    pthread_cond_broadcast(&j->changed);
    pthread_mutex_unlock(&j->lock);
}
