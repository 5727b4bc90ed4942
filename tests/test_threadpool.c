/* The thread pool: every thread index runs exactly once per run, over many consecutive
 * runs, with spinning and sleeping workers; results are visible when run returns. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threadpool.h"
#include "harness.h"

enum { MAX_THREADS = 4, RUNS = 100000 };

typedef struct run_counts {
    long calls[MAX_THREADS]; /* plain ints: each slot written by one thread per run */
    int bad_arguments;       /* set only by the thread that sees a wrong index or count */
    int expected_threads;
} run_counts;

static void count_call(void *ctx, int thread_index, int n_threads)
{
    run_counts *counts = ctx;
    if (thread_index < 0 || thread_index >= n_threads || n_threads != counts->expected_threads) {
        counts->bad_arguments = 1;
        return;
    }
    counts->calls[thread_index]++;
}

static void test_exactly_once(int n_threads)
{
    threadpool *pool = threadpool_new(n_threads);
    CHECK(pool != NULL);
    if (!pool)
        return;
    CHECK(threadpool_size(pool) == n_threads);
    run_counts counts = {.expected_threads = n_threads};
    long mismatches = 0;
    for (long run = 1; run <= RUNS; run++) {
        threadpool_run(pool, count_call, &counts);
        for (int i = 0; i < n_threads; i++)
            mismatches += counts.calls[i] != run;
    }
    CHECK_MSG(mismatches == 0, "%d threads: %ld missed or repeated calls", n_threads, mismatches);
    CHECK(counts.bad_arguments == 0);
    threadpool_free(pool);
}

/* Each thread sums its share of the data into its own slot. */
typedef struct partial_sums {
    const uint32_t *data;
    size_t n;
    uint64_t sums[MAX_THREADS];
} partial_sums;

static void sum_share(void *ctx, int thread_index, int n_threads)
{
    partial_sums *job = ctx;
    size_t begin = job->n * (size_t)thread_index / (size_t)n_threads;
    size_t end = job->n * (size_t)(thread_index + 1) / (size_t)n_threads;
    uint64_t sum = 0;
    for (size_t i = begin; i < end; i++)
        sum += job->data[i];
    job->sums[thread_index] = sum;
}

static void sleep_microseconds(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* Results written by the workers are complete when run returns, also after the workers
 * have gone to sleep between runs. */
static void test_results_visible(int n_threads)
{
    enum { N = 100003 };
    uint32_t *data = malloc(N * sizeof *data);
    uint64_t want = 0;
    for (size_t i = 0; i < N; i++) {
        data[i] = (uint32_t)(i * 2654435761u);
        want += data[i];
    }
    threadpool *pool = threadpool_new(n_threads);
    int wrong = 0;
    for (int run = 0; run < 200; run++) {
        partial_sums job = {.data = data, .n = N};
        threadpool_run(pool, sum_share, &job);
        uint64_t got = 0;
        for (int i = 0; i < n_threads; i++)
            got += job.sums[i];
        wrong += got != want;
        if (run % 20 == 0)
            sleep_microseconds(2000); /* longer than the spin: workers block */
    }
    CHECK_MSG(wrong == 0, "%d threads: %d wrong sums", n_threads, wrong);
    threadpool_free(pool);
    free(data);
}

static void test_create_free(void)
{
    CHECK(threadpool_new(0) == NULL);
    CHECK(threadpool_new(-3) == NULL);
    threadpool_free(NULL);
    /* pools freed right away, and right after a run, with workers at every stage */
    for (int i = 0; i < 50; i++) {
        threadpool *pool = threadpool_new(1 + i % MAX_THREADS);
        CHECK(pool != NULL);
        if (i % 2) {
            run_counts counts = {.expected_threads = 1 + i % MAX_THREADS};
            threadpool_run(pool, count_call, &counts);
            CHECK(counts.calls[0] == 1 && counts.bad_arguments == 0);
        }
        threadpool_free(pool);
    }
}

int main(void)
{
    test_create_free();
    for (int n = 1; n <= MAX_THREADS; n++) {
        test_exactly_once(n);
        test_results_visible(n);
    }
    return test_finish("test_threadpool");
}
