/* Dispatch protocol: the caller publishes fn/ctx and the number of workers still to finish
 * (pending), then bumps the generation counter. A worker that sees a new generation runs
 * fn and decrements pending; the caller waits for pending == 0. Waiting workers spin for a
 * short while, then sleep on a condition variable; a worker counts itself in `sleeping`
 * before its last check of the generation, and the caller bumps the generation before it
 * reads `sleeping` (both sequentially consistent), so either the worker sees the new
 * generation or the caller sees the sleeper and wakes it under the mutex. */
#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* How long an idle worker (or the waiting caller) polls before blocking or yielding: long
 * enough to bridge the gaps between the kernels of one token. */
enum { SPIN_NANOSECONDS = 200 * 1000, POLLS_PER_CLOCK_READ = 64, CACHE_LINE = 64 };

typedef struct worker {
    threadpool *pool;
    int index;
    pthread_t thread;
} worker;

/* The counters the caller and the workers poll sit on separate cache lines. */
struct threadpool {
    int n_threads;
    bool spin; /* false when there are more threads than CPUs: spinning would steal time */
    worker *workers;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    atomic_int sleeping; /* workers blocked (or about to block) on wake */
    atomic_bool stopping;

    alignas(CACHE_LINE) atomic_uint generation;
    /* written by the caller before it publishes a generation */
    threadpool_fn fn;
    void *ctx;

    alignas(CACHE_LINE) atomic_int pending; /* workers yet to finish this generation */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Polls for a generation other than seen; returns it, or seen when the spin time ran out. */
static unsigned spin_for_generation(threadpool *pool, unsigned seen)
{
    uint64_t deadline = now_ns() + SPIN_NANOSECONDS;
    do {
        for (int i = 0; i < POLLS_PER_CLOCK_READ; i++) {
            unsigned generation = atomic_load_explicit(&pool->generation, memory_order_acquire);
            if (generation != seen)
                return generation;
            cpu_relax();
        }
    } while (now_ns() < deadline);
    return seen;
}

static unsigned sleep_for_generation(threadpool *pool, unsigned seen)
{
    pthread_mutex_lock(&pool->mutex);
    atomic_fetch_add(&pool->sleeping, 1);
    unsigned generation;
    while ((generation = atomic_load(&pool->generation)) == seen)
        pthread_cond_wait(&pool->wake, &pool->mutex);
    atomic_fetch_sub(&pool->sleeping, 1);
    pthread_mutex_unlock(&pool->mutex);
    return generation;
}

static void *worker_main(void *arg)
{
    worker *self = arg;
    threadpool *pool = self->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned generation = pool->spin ? spin_for_generation(pool, seen) : seen;
        if (generation == seen)
            generation = sleep_for_generation(pool, seen);
        seen = generation;
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire))
            return NULL;
        pool->fn(pool->ctx, self->index, pool->n_threads);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_release);
    }
}

/* Starts a new generation and wakes the workers that sleep. */
static void publish_generation(threadpool *pool)
{
    atomic_fetch_add(&pool->generation, 1);
    if (atomic_load(&pool->sleeping) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }
}

static void stop_workers(threadpool *pool, int n_started)
{
    atomic_store_explicit(&pool->stopping, true, memory_order_release);
    publish_generation(pool);
    for (int i = 0; i < n_started; i++)
        pthread_join(pool->workers[i].thread, NULL);
}

threadpool *threadpool_new(int n_threads)
{
    if (n_threads < 1)
        return NULL;
    threadpool *pool = aligned_alloc(CACHE_LINE, sizeof *pool); /* a multiple of 64 */
    if (!pool)
        return NULL;
    memset(pool, 0, sizeof *pool);
    pool->workers = calloc((size_t)n_threads, sizeof *pool->workers);
    if (!pool->workers || pthread_mutex_init(&pool->mutex, NULL) != 0) {
        free(pool->workers);
        free(pool);
        return NULL;
    }
    if (pthread_cond_init(&pool->wake, NULL) != 0) {
        pthread_mutex_destroy(&pool->mutex);
        free(pool->workers);
        free(pool);
        return NULL;
    }
    pool->n_threads = n_threads;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    pool->spin = cpus >= n_threads;
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->sleeping, 0);
    atomic_init(&pool->stopping, false);
    for (int i = 1; i < n_threads; i++) {
        worker *w = &pool->workers[i - 1];
        w->pool = pool;
        w->index = i;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            stop_workers(pool, i - 1);
            pool->n_threads = 0; /* nothing left to join */
            threadpool_free(pool);
            return NULL;
        }
    }
    return pool;
}

void threadpool_free(threadpool *pool)
{
    if (!pool)
        return;
    if (pool->n_threads > 1)
        stop_workers(pool, pool->n_threads - 1);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mutex);
    free(pool->workers);
    free(pool);
}

int threadpool_size(const threadpool *pool)
{
    return pool->n_threads;
}

static void wait_for_workers(threadpool *pool)
{
    uint64_t deadline = pool->spin ? now_ns() + SPIN_NANOSECONDS : 0;
    for (int polls = 1; atomic_load_explicit(&pool->pending, memory_order_acquire) != 0;
         polls++) {
        if (polls % POLLS_PER_CLOCK_READ == 0 && now_ns() >= deadline)
            sched_yield(); /* a worker may need this CPU */
        else
            cpu_relax();
    }
}

void threadpool_run(threadpool *pool, threadpool_fn fn, void *ctx)
{
    if (pool->n_threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->pending, pool->n_threads - 1, memory_order_relaxed);
    publish_generation(pool);
    fn(ctx, 0, pool->n_threads);
    wait_for_workers(pool);
}
