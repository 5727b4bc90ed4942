/* g4 bench: llama-bench-style prefill (pp) and decode (tg) throughput. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_fill_tokens(int32_t *ids, long n, int32_t vocab, unsigned seed)
{
    for (long i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        ids[i] = (int32_t)(1000 + (seed >> 8) % (unsigned)(vocab > 2000 ? vocab - 2000 : 1));
    }
}

/* Seconds of one prefill of n tokens from an empty context, the last one's logits
 * included. */
static double prefill_seconds(g4_session *s, const int32_t *ids, long n)
{
    g4_session_truncate(s, 0);
    double t0 = bench_now();
    if (g4_session_decode(s, ids, (size_t)n, NULL) != G4_OK)
        return -1.0;
    return bench_now() - t0;
}

/* Puts the first depth ids in the context (untimed), keeping them when already there. */
static bool reach_depth(g4_session *s, const int32_t *ids, long depth)
{
    if (g4_session_position(s) >= (uint32_t)depth && g4_session_truncate(s, (uint32_t)depth) ==
                                                         G4_OK)
        return true;
    g4_session_truncate(s, 0);
    return depth == 0 || g4_session_decode(s, ids, (size_t)depth, NULL) == G4_OK;
}

double bench_decode_steps(g4_session *s, const int32_t *ids, long n)
{
    double t0 = bench_now();
    for (long i = 0; i < n; i++)
        if (g4_session_decode(s, &ids[i], 1, NULL) != G4_OK)
            return -1.0;
    return bench_now() - t0;
}

/* Seconds of n single-token decode steps after depth tokens of context. */
static double decode_seconds(g4_session *s, const int32_t *ids, long n, long depth)
{
    return reach_depth(s, ids, depth) ? bench_decode_steps(s, ids + depth, n) : -1.0;
}

bench_stat bench_summarize(const double *v, long n)
{
    bench_stat st = {0, 0};
    for (long i = 0; i < n; i++)
        st.mean += v[i] / (double)n;
    for (long i = 0; i < n && n > 1; i++)
        st.stddev += (v[i] - st.mean) * (v[i] - st.mean) / (double)(n - 1);
    st.stddev = sqrt(st.stddev);
    return st;
}

typedef enum bench_test { TEST_PREFILL, TEST_DECODE } bench_test;

static double run_test(g4_session *s, const int32_t *ids, bench_test test, long n, long depth)
{
    return test == TEST_PREFILL ? prefill_seconds(s, ids, n) : decode_seconds(s, ids, n, depth);
}

/* Mean and spread of reps timed runs after one untimed warm-up (which pages the weights
 * in); as_rate: tokens per second, else seconds. */
static int measure(g4_session *s, const int32_t *ids, bench_test test, long n, long depth,
                   long reps, bool as_rate, bench_stat *out)
{
    double *runs = calloc((size_t)reps, sizeof *runs);
    if (!runs)
        return 1;
    double r = run_test(s, ids, test, test == TEST_DECODE && n > 8 ? 8 : n, depth);
    for (long i = 0; i < reps && r >= 0; i++) {
        r = run_test(s, ids, test, n, depth);
        runs[i] = as_rate ? (double)n / r : r;
    }
    *out = bench_summarize(runs, reps);
    free(runs);
    return r < 0 ? cli_error("benchmark run") : 0;
}

typedef struct bench_results {
    bench_stat pp, tg, ttft; /* tokens/s, tokens/s, seconds */
} bench_results;

static void report_json(const cli_options *opt, const bench_options *bo, int threads,
                        const bench_results *r)
{
    printf("{\"model\": \"%s\", \"threads\": %d, \"n_prompt\": %ld, \"n_gen\": %ld, "
           "\"depth\": %ld, \"reps\": %ld, \"pp\": %.3f, \"pp_stddev\": %.3f, "
           "\"tg\": %.3f, \"tg_stddev\": %.3f, \"ttft_prompt\": %ld, \"ttft_s\": %.4f, "
           "\"ttft_stddev\": %.4f, \"backend\": \"cpu\"}\n",
           opt->model_path, threads, bo->n_prompt, bo->n_gen, bo->depth, bo->reps, r->pp.mean,
           r->pp.stddev, r->tg.mean, r->tg.stddev, bo->ttft, r->ttft.mean, r->ttft.stddev);
}

static void report(const cli_options *opt, const bench_options *bo, int threads,
                   const bench_results *r)
{
    if (bo->json) {
        report_json(opt, bo, threads, r);
        return;
    }
    printf("| model | threads | test | result |\n|---|---|---|---|\n");
    if (bo->n_prompt > 0)
        printf("| %s | %d | pp%ld | %.2f ± %.2f tokens/s |\n", opt->model_path, threads,
               bo->n_prompt, r->pp.mean, r->pp.stddev);
    if (bo->n_gen > 0 && bo->depth > 0)
        printf("| %s | %d | tg%ld @ d%ld | %.2f ± %.2f tokens/s |\n", opt->model_path, threads,
               bo->n_gen, bo->depth, r->tg.mean, r->tg.stddev);
    else if (bo->n_gen > 0)
        printf("| %s | %d | tg%ld | %.2f ± %.2f tokens/s |\n", opt->model_path, threads,
               bo->n_gen, r->tg.mean, r->tg.stddev);
    if (bo->ttft > 0)
        printf("| %s | %d | first token, %ld-token prompt | %.3f ± %.3f s |\n",
               opt->model_path, threads, bo->ttft, r->ttft.mean, r->ttft.stddev);
}

static int run_tests(g4_session *s, const int32_t *ids, const bench_options *bo,
                     bench_results *r)
{
    int rc = 0;
    if (bo->n_prompt > 0)
        rc = measure(s, ids, TEST_PREFILL, bo->n_prompt, 0, bo->reps, true, &r->pp);
    if (rc == 0 && bo->n_gen > 0)
        rc = measure(s, ids, TEST_DECODE, bo->n_gen, bo->depth, bo->reps, true, &r->tg);
    if (rc == 0 && bo->ttft > 0)
        rc = measure(s, ids, TEST_PREFILL, bo->ttft, 0, bo->reps, false, &r->ttft);
    return rc;
}

/* The model, once its weights are where they stay (timings of the first tokens, while
 * the default load still moves them into memory, would describe neither state). */
static g4_model *load_for_timing(const cli_options *opt)
{
    g4_model *model = cli_load_model(opt);
    if (model)
        g4_model_wait_in_memory(model);
    return model;
}

/* A benchmark of its own (media, drafting) on the loaded model. */
static int bench_with_model(cli_options *opt, const bench_options *bo,
                            int (*run)(g4_model *, cli_options *, const bench_options *))
{
    g4_model *model = load_for_timing(opt);
    int rc = model ? run(model, opt, bo) : 1;
    g4_model_free(model);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    cli_options opt = {.quiet = true};
    bench_options bo = {.n_prompt = 512, .n_gen = 128, .reps = 3};
    cli_args a = {argc, argv, 0, false};
    while (a.i < a.argc && !a.failed) {
        if (cli_common(&a, &opt) || cli_int(&a, "-p", "--n-prompt", 0, 1 << 20, &bo.n_prompt) ||
            cli_int(&a, "-n", "--n-gen", 0, 1 << 20, &bo.n_gen) ||
            cli_int(&a, "-r", "--reps", 1, 1000, &bo.reps) ||
            cli_int(&a, "-d", "--depth", 0, 1 << 20, &bo.depth) ||
            cli_int(&a, NULL, "--ttft", 0, 1 << 20, &bo.ttft) || cli_media_flag(&a, &bo.media))
            continue;
        if (cli_switch(&a, NULL, "--json"))
            bo.json = true;
        else
            cli_unknown(&a);
    }
    if (a.failed)
        return 2;
    if (bo.media.n > 0)
        return bench_with_model(&opt, &bo, bench_media);
    if (opt.drafter_path)
        return bench_with_model(&opt, &bo, bench_draft);
    long longest = bo.n_prompt > bo.depth + bo.n_gen ? bo.n_prompt : bo.depth + bo.n_gen;
    longest = (longest > bo.ttft ? longest : bo.ttft) + 8;
    if (!opt.n_ctx)
        opt.n_ctx = (uint32_t)longest;
    g4_model *model = load_for_timing(&opt);
    g4_session *session = model ? cli_new_session(model, &opt) : NULL;
    int32_t *ids = malloc((size_t)longest * sizeof *ids);
    int rc = session && ids ? 0 : 1;
    bench_results results = {0};
    if (rc == 0) {
        bench_fill_tokens(ids, longest, g4_model_vocab_size(model), 42);
        rc = run_tests(session, ids, &bo, &results);
    }
    if (rc == 0)
        report(&opt, &bo, g4_model_n_threads(model), &results);
    free(ids);
    g4_session_free(session);
    g4_model_free(model);
    return rc;
}
