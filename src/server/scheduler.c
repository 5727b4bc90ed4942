#include "server/scheduler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/session_batch.h"
#include "engine/text_pipe.h"

typedef struct slot {
    g4_session *session;
    g4_sampler *sampler;
    job *job;               /* NULL: free */
    text_pipe pipe;
    g4_generate_params gen; /* the pipe's view of the job */
    bool prefilling;        /* the prompt is being read, a pass per engine round */
    size_t prefill_next;    /* the prompt position the next pass starts at */
    int32_t generated;
    uint64_t last_used;
} slot;

struct scheduler {
    g4_model *model;
    slot *slots;
    int n_slots;
    session_batch *batch;
    g4_session **batch_sessions; /* [n_slots] one decode step's sessions and ids */
    int32_t *batch_ids;
    slot **batch_slots;
    slot **admitted;           /* [n_slots] the jobs one round of admission started */
    pthread_t thread;
    pthread_mutex_t lock;      /* guards what follows */
    pthread_cond_t wake;       /* a job arrived or the server stops */
    pthread_cond_t idle;       /* no job queued or running */
    job **queue;               /* ring of max_queue */
    int max_queue, queue_head, n_queued, n_running;
    bool accepting, stopping;
    uint64_t clock;
    scheduler_stats stats;
};

/* ---- one job on one slot ---------------------------------------------------------------- */

static bool on_text(const char *text, size_t len, void *user)
{
    return job_add_text(user, text, len);
}

static void end_job(scheduler *s, slot *sl, job_finish finish, g4_status status,
                    const char *error)
{
    g4_err err = {0};
    if (finish != JOB_FINISH_ERROR && text_pipe_flush(&sl->pipe, &err) != G4_OK) {
        finish = JOB_FINISH_ERROR;
        status = err.code;
        error = err.msg;
    }
    text_pipe_free(&sl->pipe);
    pthread_mutex_lock(&s->lock); /* counted before the job's waiters wake */
    sl->last_used = ++s->clock;
    s->n_running--;
    s->stats.jobs_done++;
    if (s->n_running == 0 && s->n_queued == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
    job_finish_with(sl->job, finish, status, error);
    job_release(sl->job);
    sl->job = NULL;
}

/* Inserts token v into the descending list of the n_top likeliest. */
static void keep_top(job_token *out, int n_top, int32_t v, float logprob)
{
    if (out->n_top == n_top && logprob <= out->top_logprobs[n_top - 1])
        return;
    int at = out->n_top < n_top ? out->n_top++ : n_top - 1;
    for (; at > 0 && out->top_logprobs[at - 1] < logprob; at--) {
        out->top_logprobs[at] = out->top_logprobs[at - 1];
        out->top_ids[at] = out->top_ids[at - 1];
    }
    out->top_logprobs[at] = logprob;
    out->top_ids[at] = v;
}

/* Log-probabilities of id and of the n_top likeliest tokens under the model's softmax. */
static void token_logprobs(const float *logits, int32_t vocab, int32_t id, int n_top,
                           job_token *out)
{
    float max = -INFINITY;
    for (int32_t v = 0; v < vocab; v++)
        max = logits[v] > max ? logits[v] : max;
    double sum = 0;
    for (int32_t v = 0; v < vocab; v++)
        sum += exp((double)logits[v] - max);
    float log_z = max + (float)log(sum);
    *out = (job_token){.id = id, .logprob = logits[id] - log_z};
    for (int32_t v = 0; v < vocab && n_top > 0; v++)
        keep_top(out, n_top, v, logits[v] - log_z);
}

/* Prepares the slot for its new job: keeps what its cache shares with the prompt. */
static void start_job(scheduler *s, slot *sl)
{
    job *j = sl->job;
    g4_err err = {0};
    g4_sampler_free(sl->sampler);
    sl->sampler = NULL;
    sl->generated = 0;
    sl->gen = (g4_generate_params){
        .max_tokens = j->max_tokens,
        .stop_strings = (const char *const *)j->stops,
        .n_stop_strings = j->n_stops,
        .show_special = j->show_special,
        .on_text = on_text,
        .user = j,
    };
    if (text_pipe_init(&sl->pipe, &sl->gen, &err) != G4_OK) {
        end_job(s, sl, JOB_FINISH_ERROR, err.code, err.msg);
        return;
    }
    size_t kept = g4_session_reuse_input(sl->session, j->input);
    job_start(j, (uint32_t)kept);
    if (g4_sampler_new(&j->sampling, g4_model_vocab_size(s->model), &sl->sampler) != G4_OK) {
        end_job(s, sl, JOB_FINISH_ERROR, G4_ERR_INVALID_ARG, g4_last_error());
        return;
    }
    sl->prefilling = true;
    sl->prefill_next = kept;
    pthread_mutex_lock(&s->lock);
    s->stats.cached_tokens += kept;
    s->stats.prefix_hits += kept > 0;
    pthread_mutex_unlock(&s->lock);
}

/* Reads one pass of the slot's prompt; after the last, the job starts generating. */
static void prefill_step(scheduler *s, slot *sl)
{
    job *j = sl->job;
    g4_err err = {0};
    size_t first = sl->prefill_next;
    double t0 = job_now();
    if (session_decode_input_pass(sl->session, j->input, first, &sl->prefill_next, &err) !=
        G4_OK) {
        end_job(s, sl, JOB_FINISH_ERROR, err.code, err.msg);
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->stats.prefill_seconds += job_now() - t0;
    s->stats.prompt_tokens += sl->prefill_next - first;
    pthread_mutex_unlock(&s->lock);
    if (sl->prefill_next < g4_input_n_tokens(j->input))
        return;
    sl->prefilling = false;
    const int32_t *ids = g4_input_tokens(j->input);
    for (size_t i = 0; i < g4_input_n_tokens(j->input); i++)
        g4_sampler_accept(sl->sampler, ids[i]);
    if (j->max_tokens == 0 || g4_session_position(sl->session) >= g4_session_n_ctx(sl->session))
        end_job(s, sl, JOB_FINISH_LENGTH, G4_OK, NULL);
}

/* Samples the slot's next token and passes it on; true when the slot decodes it next. */
static bool sample_next(scheduler *s, slot *sl, int32_t *next)
{
    job *j = sl->job;
    if (job_cancelled(j)) {
        end_job(s, sl, JOB_FINISH_CANCELLED, G4_OK, NULL);
        return false;
    }
    const float *logits = g4_session_logits(sl->session);
    int32_t id = g4_sampler_sample(sl->sampler, logits);
    if (g4_token_is_end_of_generation(s->model, id)) {
        end_job(s, sl, JOB_FINISH_STOP, G4_OK, NULL);
        return false;
    }
    g4_sampler_accept(sl->sampler, id);
    sl->generated++;
    job_token token = {.id = id};
    if (j->top_logprobs >= 0)
        token_logprobs(logits, g4_model_vocab_size(s->model), id, j->top_logprobs, &token);
    g4_err err = {0};
    if (text_pipe_token(&sl->pipe, s->model, id, &err) != G4_OK || !job_add_token(j, &token)) {
        end_job(s, sl, JOB_FINISH_ERROR, err.code ? err.code : G4_ERR_NO_MEMORY,
                err.code ? err.msg : "out of memory");
        return false;
    }
    if (sl->pipe.stopped_by_string || sl->pipe.cancelled) {
        end_job(s, sl, sl->pipe.cancelled ? JOB_FINISH_CANCELLED : JOB_FINISH_STOP, G4_OK, NULL);
        return false;
    }
    if ((j->max_tokens >= 0 && sl->generated >= j->max_tokens) ||
        g4_session_position(sl->session) >= g4_session_n_ctx(sl->session)) {
        end_job(s, sl, JOB_FINISH_LENGTH, G4_OK, NULL);
        return false;
    }
    *next = id;
    return true;
}

/* One token for every job past its prompt, decoded together. */
static void decode_step(scheduler *s)
{
    int n = 0, sampled = 0;
    double t0 = job_now();
    for (int i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        int32_t before = sl->generated;
        if (sl->job && !sl->prefilling && sample_next(s, sl, &s->batch_ids[n])) {
            s->batch_sessions[n] = sl->session;
            s->batch_slots[n++] = sl;
        }
        sampled += sl->generated - before;
    }
    g4_err err = {0};
    if (n > 0 &&
        session_decode_batch(s->batch, s->batch_sessions, s->batch_ids, n, &err) != G4_OK)
        for (int i = 0; i < n; i++)
            end_job(s, s->batch_slots[i], JOB_FINISH_ERROR, err.code, err.msg);
    pthread_mutex_lock(&s->lock);
    s->stats.decode_seconds += job_now() - t0;
    s->stats.generated_tokens += (uint64_t)sampled;
    pthread_mutex_unlock(&s->lock);
}

/* ---- admission ---------------------------------------------------------------------------- */

/* The free slot for j. A slot whose cache j continues (sharing at least half of what it
 * holds, or of j's prompt: the next turn of a chat, a shared system prompt, the same
 * prompt again) is kept for it, the longest such prefix first; otherwise the least
 * recently used slot gives up its cache, so that a chance match of a few tokens does not
 * evict a long conversation. */
static slot *pick_slot(scheduler *s, const job *j)
{
    slot *best = NULL, *oldest = NULL;
    size_t best_shared = 0;
    for (int i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->job)
            continue;
        if (!oldest || sl->last_used < oldest->last_used)
            oldest = sl;
        size_t shared = session_shared_input(sl->session, j->input);
        size_t held = g4_session_position(sl->session), wanted = g4_input_n_tokens(j->input);
        if (shared > 0 && 2 * shared >= (held < wanted ? held : wanted) &&
            (!best || shared > best_shared)) {
            best = sl;
            best_shared = shared;
        }
    }
    return best ? best : oldest;
}

static job *pop_queued(scheduler *s)
{
    job *j = s->queue[s->queue_head];
    s->queue_head = (s->queue_head + 1) % s->max_queue;
    s->n_queued--;
    return j;
}

/* Moves queued jobs onto free slots (under the lock); returns how many. Jobs whose client
 * left while they waited are dropped. */
static int admit(scheduler *s, slot **started)
{
    int n = 0;
    while (s->n_queued > 0) {
        job *j = s->queue[s->queue_head];
        if (job_cancelled(j)) {
            job_finish_with(pop_queued(s), JOB_FINISH_CANCELLED, G4_OK, NULL);
            job_release(j);
            continue;
        }
        slot *sl = pick_slot(s, j);
        if (!sl)
            break;
        pop_queued(s);
        s->n_running++;
        sl->job = j;
        started[n++] = sl;
    }
    if (s->n_running == 0 && s->n_queued == 0)
        pthread_cond_broadcast(&s->idle);
    return n;
}

static void cancel_everything(scheduler *s)
{
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].job)
            end_job(s, &s->slots[i], JOB_FINISH_CANCELLED, G4_OK, "the server is shutting down");
    pthread_mutex_lock(&s->lock);
    while (s->n_queued > 0) {
        job *j = pop_queued(s);
        job_finish_with(j, JOB_FINISH_CANCELLED, G4_OK, "the server is shutting down");
        job_release(j);
    }
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
}

static void *engine_main(void *arg)
{
    scheduler *s = arg;
    slot **started = s->admitted;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->stopping && s->n_queued == 0 && s->n_running == 0)
            pthread_cond_wait(&s->wake, &s->lock);
        if (s->stopping) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        int n_started = admit(s, started);
        pthread_mutex_unlock(&s->lock);
        for (int i = 0; i < n_started; i++)
            start_job(s, started[i]);
        for (int i = 0; i < s->n_slots; i++)
            if (s->slots[i].job && s->slots[i].prefilling)
                prefill_step(s, &s->slots[i]);
        decode_step(s);
    }
    cancel_everything(s);
    return NULL;
}

/* ---- the public side ------------------------------------------------------------------------ */

static g4_status open_slots(scheduler *s, const scheduler_params *p, g4_err *err)
{
    for (int i = 0; i < s->n_slots; i++)
        if (g4_session_new(s->model, &p->session, &s->slots[i].session) != G4_OK)
            return g4_fail(err, G4_ERR_NO_MEMORY, "slot %d: %s", i, g4_last_error());
    if (s->slots[0].session->n_batch < (uint32_t)s->n_slots)
        return g4_fail(err, G4_ERR_INVALID_ARG, "a batch of %u tokens cannot decode %d slots "
                       "together; use a larger batch", s->slots[0].session->n_batch,
                       s->n_slots);
    return session_batch_new(s->model, s->n_slots, &s->batch, err);
}

static void close_slots(scheduler *s)
{
    for (int i = 0; s->slots && i < s->n_slots; i++) {
        g4_session_free(s->slots[i].session);
        g4_sampler_free(s->slots[i].sampler);
    }
    session_batch_free(s->batch);
    free(s->slots);
    free(s->batch_sessions);
    free(s->batch_ids);
    free(s->batch_slots);
    free(s->admitted);
    free(s->queue);
}

g4_status scheduler_new(g4_model *model, const scheduler_params *params, scheduler **out,
                        g4_err *err)
{
    *out = NULL;
    if (params->n_slots < 1 || params->max_queue < 1)
        return g4_fail(err, G4_ERR_INVALID_ARG, "need at least one slot and a queue of one");
    scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    s->model = model;
    s->n_slots = params->n_slots;
    s->max_queue = params->max_queue;
    s->slots = calloc((size_t)s->n_slots, sizeof *s->slots);
    s->batch_sessions = calloc((size_t)s->n_slots, sizeof *s->batch_sessions);
    s->batch_ids = calloc((size_t)s->n_slots, sizeof *s->batch_ids);
    s->batch_slots = calloc((size_t)s->n_slots, sizeof *s->batch_slots);
    s->admitted = calloc((size_t)s->n_slots, sizeof *s->admitted);
    s->queue = calloc((size_t)s->max_queue, sizeof *s->queue);
    g4_status st = s->slots && s->batch_sessions && s->batch_ids && s->batch_slots &&
                               s->admitted && s->queue
                       ? open_slots(s, params, err)
                       : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the slots");
    if (st != G4_OK) {
        close_slots(s);
        free(s);
        return st;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->accepting = true;
    s->stats.n_slots = s->n_slots;
    if (pthread_create(&s->thread, NULL, engine_main, s) != 0) {
        close_slots(s);
        free(s);
        return g4_fail(err, G4_ERR_INTERNAL, "cannot start the engine thread");
    }
    *out = s;
    return G4_OK;
}

static void wait_idle(scheduler *s, double seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double whole = floor(seconds);
    until.tv_sec += (time_t)whole;
    until.tv_nsec += (long)((seconds - whole) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while ((s->n_running > 0 || s->n_queued > 0) &&
           pthread_cond_timedwait(&s->idle, &s->lock, &until) == 0) {
    }
    pthread_mutex_unlock(&s->lock);
}

void scheduler_stop(scheduler *s, double grace_seconds)
{
    pthread_mutex_lock(&s->lock);
    bool running = !s->stopping;
    s->accepting = false;
    pthread_mutex_unlock(&s->lock);
    if (!running)
        return;
    if (grace_seconds > 0)
        wait_idle(s, grace_seconds);
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
}

void scheduler_free(scheduler *s)
{
    if (!s)
        return;
    scheduler_stop(s, 0);
    close_slots(s);
    pthread_cond_destroy(&s->idle);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

submit_result scheduler_submit(scheduler *s, job *j)
{
    pthread_mutex_lock(&s->lock);
    submit_result r = !s->accepting                ? SUBMIT_STOPPING
                      : s->n_queued == s->max_queue ? SUBMIT_QUEUE_FULL
                                                    : SUBMIT_OK;
    if (r == SUBMIT_OK) {
        job_retain(j);
        s->queue[(s->queue_head + s->n_queued) % s->max_queue] = j;
        s->n_queued++;
        pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

void scheduler_get_stats(scheduler *s, scheduler_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    out->queued = s->n_queued;
    out->running = s->n_running;
    pthread_mutex_unlock(&s->lock);
}

uint32_t scheduler_n_ctx(const scheduler *s)
{
    return g4_session_n_ctx(s->slots[0].session);
}
