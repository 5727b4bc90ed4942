/* Runs generation jobs on a fixed set of slots (one session each) from a bounded FIFO
 * queue. Each round of the one engine thread admits queued jobs, reads one pass (up to
 * n_batch positions) of every prompt still being read, then decodes the next token of
 * every job past its prompt in one batched forward pass: jobs join and leave between
 * steps, and a long prompt holds the others up for one pass at a time. A
 * finished slot keeps its KV cache: a job that continues it (sharing at least half of it
 * or of the job's prompt) goes there, the longest prefix first; otherwise the least
 * recently used slot is evicted. */
#ifndef G4_SERVER_SCHEDULER_H
#define G4_SERVER_SCHEDULER_H

#include <stdint.h>

#include "core/error.h"
#include "server/job.h"

typedef struct scheduler scheduler;

typedef struct scheduler_params {
    int n_slots;                      /* sequences decoded together */
    int max_queue;                    /* jobs waiting for a slot before submit refuses */
    g4_session_params session;        /* every slot's context */
} scheduler_params;

typedef enum submit_result { SUBMIT_OK, SUBMIT_QUEUE_FULL, SUBMIT_STOPPING } submit_result;

/* Counters for /metrics. */
typedef struct scheduler_stats {
    int queued, running, n_slots;
    uint64_t jobs_done;
    uint64_t prompt_tokens;   /* evaluated (not reused) */
    uint64_t cached_tokens;   /* reused from a slot's cache */
    uint64_t prefix_hits;     /* jobs that reused at least one token */
    uint64_t generated_tokens;
    double prefill_seconds, decode_seconds;
} scheduler_stats;

g4_status scheduler_new(g4_model *model, const scheduler_params *params, scheduler **out,
                        g4_err *err);
/* Stops taking jobs, lets running and queued ones finish for up to grace_seconds, then
 * cancels the rest and stops the engine thread. Submitting afterwards is refused. */
void scheduler_stop(scheduler *s, double grace_seconds);
/* Stops the scheduler if it still runs, and frees it. */
void scheduler_free(scheduler *s);

/* Queues the job (taking a reference), unless the queue is full or the server stops. */
submit_result scheduler_submit(scheduler *s, job *j);
void scheduler_get_stats(scheduler *s, scheduler_stats *out);
uint32_t scheduler_n_ctx(const scheduler *s);

#endif
