/* Micro-benchmark of the CPU dot-product kernels (not a test).
 *
 *   bench_kernels [n_threads]      (default 2; G4_CPU_ISA=scalar|avx2|avx512 picks kernels)
 *
 * decode:  one activation column against 512 MiB of weights (a matrix-vector product,
 *          memory-bound): reports weight GB/s.
 * prefill: weights against 512 activation columns through matmul, as the model's prefill
 *          (matrix-matrix, compute-bound): reports GFLOP/s (2 flops per weight per column).
 * batch:   the 12B's FFN up-projection (3840 x 15360 Q4_0, 33 MB) against 1..8 columns, as
 *          verifying drafted tokens does: the time relative to one column.
 * dispatch: the round trip of an empty threadpool_run.
 * Decode splits rows evenly between the threads; each figure is the best of several runs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/half.h"
#include "core/threadpool.h"
#include "cpu/matmul.h"
#include "cpu/quant.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 88172645463325252ull;

static uint32_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static size_t weight_row_bytes(g4_type type, int64_t n)
{
    switch (type) {
    case G4_TYPE_Q4_0: return (size_t)n / 32 * sizeof(block_q4_0);
    case G4_TYPE_Q8_0: return (size_t)n / 32 * sizeof(block_q8_0);
    case G4_TYPE_Q4_K: return (size_t)n / 256 * sizeof(block_q4_K);
    case G4_TYPE_Q6_K: return (size_t)n / 256 * sizeof(block_q6_K);
    case G4_TYPE_BF16: return (size_t)n * 2;
    default: return (size_t)n * 4;
    }
}

/* Random bytes with every 16-bit word a small positive fp16, so scales are finite; the
 * float types get small finite values the same way. */
static void *random_weights(g4_type type, size_t bytes)
{
    uint16_t *words = malloc(bytes + 2);
    if (!words)
        return NULL;
    for (size_t i = 0; i < bytes / 2 + 1; i++)
        words[i] = (uint16_t)(0x2000 | (rng_next() & 0x0fff));
    if (type == G4_TYPE_F32)
        for (size_t i = 0; i < bytes / 4; i++)
            ((float *)words)[i] = (float)(rng_next() % 2000) / 1000.0f - 1.0f;
    return words;
}

typedef struct job {
    const cpu_type_ops *ops;
    int64_t n;
    const uint8_t *rows;
    size_t row_stride;
    int n_rows;
    const uint8_t *acts;
    float *out;
} job;

static void run_share(void *ctx, int thread_index, int n_threads)
{
    const job *j = ctx;
    int begin = (int)((int64_t)j->n_rows * thread_index / n_threads);
    int end = (int)((int64_t)j->n_rows * (thread_index + 1) / n_threads);
    if (end > begin)
        j->ops->dot_tile(j->n, j->rows + (size_t)begin * j->row_stride, j->row_stride,
                         end - begin, j->acts, 0, 1, j->out + begin, (size_t)j->n_rows);
}

/* Best time of `reps` runs of one activation column against n_rows rows split evenly
 * between the threads, in seconds; < 0 when memory ran out. */
static double time_decode(threadpool *pool, g4_type type, int64_t n, int n_rows, int reps)
{
    const cpu_type_ops *ops = cpu_type_ops_best(type);
    size_t row_stride = weight_row_bytes(type, n);
    uint8_t *rows = random_weights(type, row_stride * (size_t)n_rows);
    uint8_t *acts = malloc(cpu_act_row_bytes(ops->act_type, n) + sizeof(float) * (size_t)n);
    float *out = malloc((size_t)n_rows * sizeof *out);
    double best = -1.0;
    if (rows && acts && out) {
        float *x = (float *)(acts + cpu_act_row_bytes(ops->act_type, n));
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)(rng_next() % 2000) / 1000.0f - 1.0f;
        if (ops->quantize_act)
            ops->quantize_act(x, acts, n);
        else
            memcpy(acts, x, (size_t)n * sizeof *x);
        job j = {ops, n, rows, row_stride, n_rows, acts, out};
        threadpool_run(pool, run_share, &j); /* warm-up: page faults, caches */
        for (int rep = 0; rep < reps; rep++) {
            double start = now_seconds();
            threadpool_run(pool, run_share, &j);
            double elapsed = now_seconds() - start;
            if (best < 0 || elapsed < best)
                best = elapsed;
        }
    }
    free(rows);
    free(acts);
    free(out);
    return best;
}

/* Best time of `reps` matmul calls (the model's path: activation conversion, tiling,
 * threads) of an n_in x n_out weight against n_cols f32 columns; < 0 without memory. */
static double time_matmul(threadpool *pool, int n_threads, g4_type type, int64_t n_in,
                          int64_t n_out, int64_t n_cols, int reps)
{
    matmul_weight w = {.type = type, .n_in = n_in, .n_out = n_out,
                       .row_bytes = weight_row_bytes(type, n_in),
                       .ops = cpu_type_ops_best(type)};
    void *data = random_weights(type, w.row_bytes * (size_t)n_out);
    float *x = malloc((size_t)(n_in * n_cols) * sizeof *x);
    float *y = malloc((size_t)(n_out * n_cols) * sizeof *y);
    matmul_scratch scratch;
    g4_err err;
    double best = -1.0;
    if (data && x && y && matmul_scratch_init(&scratch, n_in, n_cols, n_threads, &err) == G4_OK) {
        w.data = data;
        for (int64_t i = 0; i < n_in * n_cols; i++)
            x[i] = (float)(rng_next() % 2000) / 1000.0f - 1.0f;
        matmul(pool, &scratch, &w, x, n_cols, y); /* warm-up */
        for (int rep = 0; rep < reps; rep++) {
            double start = now_seconds();
            matmul(pool, &scratch, &w, x, n_cols, y);
            double elapsed = now_seconds() - start;
            if (best < 0 || elapsed < best)
                best = elapsed;
        }
        matmul_scratch_free(&scratch);
    }
    free(data);
    free(x);
    free(y);
    return best;
}

static void bench_decode(threadpool *pool, g4_type type, int64_t n, size_t total_bytes)
{
    int n_rows = (int)(total_bytes / weight_row_bytes(type, n));
    double seconds = time_decode(pool, type, n, n_rows, 10);
    double bytes = (double)weight_row_bytes(type, n) * n_rows;
    if (seconds > 0)
        printf("decode  %-5s %5d x %6d x 1    %7.1f MB  %7.2f ms  %6.1f GB/s\n",
               g4_type_name(type), (int)n, n_rows, bytes / 1e6, seconds * 1e3,
               bytes / seconds / 1e9);
}

static void bench_prefill(threadpool *pool, int n_threads, g4_type type, int64_t n_in,
                          int64_t n_out, int64_t n_cols)
{
    double seconds = time_matmul(pool, n_threads, type, n_in, n_out, n_cols, 3);
    double flops = 2.0 * (double)n_in * (double)n_out * (double)n_cols;
    if (seconds > 0)
        printf("prefill %-5s %5d x %6d x %-4d %7.2f ms  %7.1f GFLOP/s\n", g4_type_name(type),
               (int)n_in, (int)n_out, (int)n_cols, seconds * 1e3, flops / seconds / 1e9);
}

/* A few columns at once (verifying drafted tokens) against one: the time ratio. */
static void bench_small_batches(threadpool *pool, int n_threads, g4_type type, int64_t n_in,
                                int64_t n_out)
{
    double one = time_matmul(pool, n_threads, type, n_in, n_out, 1, 10);
    if (one <= 0)
        return;
    printf("batch   %-5s %5d x %6d x 1    %7.2f ms\n", g4_type_name(type), (int)n_in,
           (int)n_out, one * 1e3);
    for (int64_t cols = 2; cols <= 8; cols++) {
        double seconds = time_matmul(pool, n_threads, type, n_in, n_out, cols, 10);
        if (seconds > 0)
            printf("batch   %-5s %5d x %6d x %-4d %7.2f ms  %5.2fx one column\n",
                   g4_type_name(type), (int)n_in, (int)n_out, (int)cols, seconds * 1e3,
                   seconds / one);
    }
}

/* A plain streaming read of the same size, for the memory-bandwidth ceiling. */
typedef struct read_job {
    const uint64_t *data;
    size_t n;
    uint64_t sums[64];
} read_job;

static void read_share(void *ctx, int thread_index, int n_threads)
{
    read_job *j = ctx;
    size_t begin = j->n * (size_t)thread_index / (size_t)n_threads;
    size_t end = j->n * (size_t)(thread_index + 1) / (size_t)n_threads;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = begin;
    for (; i + 4 <= end; i += 4) {
        s0 += j->data[i];
        s1 += j->data[i + 1];
        s2 += j->data[i + 2];
        s3 += j->data[i + 3];
    }
    j->sums[thread_index] = s0 + s1 + s2 + s3;
}

static void bench_memory(threadpool *pool, size_t total_bytes)
{
    read_job j = {.n = total_bytes / 8};
    uint64_t *data = malloc(total_bytes);
    if (!data)
        return;
    memset(data, 1, total_bytes);
    j.data = data;
    double best = -1.0;
    for (int rep = 0; rep < 10; rep++) {
        double start = now_seconds();
        threadpool_run(pool, read_share, &j);
        double elapsed = now_seconds() - start;
        if (best < 0 || elapsed < best)
            best = elapsed;
    }
    printf("memory read                      %7.1f MB  %7.2f ms  %6.1f GB/s\n",
           (double)total_bytes / 1e6, best * 1e3, (double)total_bytes / best / 1e9);
    free(data);
}

static void do_nothing(void *ctx, int thread_index, int n_threads)
{
    (void)ctx;
    (void)thread_index;
    (void)n_threads;
}

static void bench_dispatch(threadpool *pool)
{
    enum { RUNS = 100000 };
    double start = now_seconds();
    for (int i = 0; i < RUNS; i++)
        threadpool_run(pool, do_nothing, NULL);
    printf("dispatch: %.2f us per empty run\n", (now_seconds() - start) / RUNS * 1e6);
}

int main(int argc, char **argv)
{
    int n_threads = argc > 1 ? atoi(argv[1]) : 2;
    if (n_threads < 1 || n_threads > 64) {
        fprintf(stderr, "usage: bench_kernels [n_threads 1..64]\n");
        return 2;
    }
    threadpool *pool = threadpool_new(n_threads);
    if (!pool)
        return 1;
    printf("kernels: %s, threads: %d\n", cpu_isa_name(cpu_isa_detect()), n_threads);
    bench_dispatch(pool);
    const size_t decode_bytes = 512u << 20;
    bench_memory(pool, decode_bytes);
    const g4_type decode_types[] = {G4_TYPE_Q4_0, G4_TYPE_Q8_0, G4_TYPE_Q4_K, G4_TYPE_Q6_K,
                                    G4_TYPE_BF16, G4_TYPE_F32};
    for (size_t i = 0; i < sizeof decode_types / sizeof decode_types[0]; i++)
        bench_decode(pool, decode_types[i], 3840, decode_bytes);
    const g4_type prefill_types[] = {G4_TYPE_Q4_0, G4_TYPE_Q8_0, G4_TYPE_Q4_K, G4_TYPE_Q6_K,
                                     G4_TYPE_BF16, G4_TYPE_F32};
    for (size_t i = 0; i < sizeof prefill_types / sizeof prefill_types[0]; i++)
        bench_prefill(pool, n_threads, prefill_types[i], 3840, 3840, 512);
    bench_prefill(pool, n_threads, G4_TYPE_Q4_0, 3840, 15360, 512);
    bench_prefill(pool, n_threads, G4_TYPE_Q4_0, 15360, 3840, 512);
    bench_small_batches(pool, n_threads, G4_TYPE_Q4_0, 3840, 15360);
    threadpool_free(pool);
    return 0;
}
