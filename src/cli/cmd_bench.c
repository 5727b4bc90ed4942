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

/* Tokens per second of one prefill of n tokens from an empty context. */
static double time_prefill(g4_session *s, const int32_t *ids, long n)
{
    g4_session_truncate(s, 0);
    double t0 = bench_now();
    if (g4_session_decode(s, ids, (size_t)n, NULL) != G4_OK)
        return -1.0;
    return (double)n / (bench_now() - t0);
}

/* Tokens per second of n single-token decode steps from an empty context. */
static double time_decode(g4_session *s, const int32_t *ids, long n)
{
    g4_session_truncate(s, 0);
    double t0 = bench_now();
    for (long i = 0; i < n; i++)
        if (g4_session_decode(s, &ids[i], 1, NULL) != G4_OK)
            return -1.0;
    return (double)n / (bench_now() - t0);
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

static int measure(g4_session *s, const int32_t *ids, long n, long reps, bool prefill,
                   bench_stat *out)
{
    double *runs = calloc((size_t)reps, sizeof *runs);
    if (!runs)
        return 1;
    /* one untimed warm-up run pages the weights in */
    double r = prefill ? time_prefill(s, ids, n) : time_decode(s, ids, n < 8 ? n : 8);
    for (long i = 0; i < reps && r >= 0; i++)
        r = runs[i] = prefill ? time_prefill(s, ids, n) : time_decode(s, ids, n);
    *out = bench_summarize(runs, reps);
    free(runs);
    return r < 0 ? cli_error("benchmark run") : 0;
}

static void report(const cli_options *opt, const bench_options *bo, int threads,
                   const bench_stat *pp, const bench_stat *tg)
{
    if (bo->json) {
        printf("{\"model\": \"%s\", \"threads\": %d, \"n_prompt\": %ld, \"n_gen\": %ld, "
               "\"reps\": %ld, \"pp\": %.3f, \"pp_stddev\": %.3f, \"tg\": %.3f, "
               "\"tg_stddev\": %.3f, \"backend\": \"cpu\"}\n",
               opt->model_path, threads, bo->n_prompt, bo->n_gen, bo->reps, pp->mean,
               pp->stddev, tg->mean, tg->stddev);
        return;
    }
    printf("| model | threads | test | t/s |\n|---|---|---|---|\n");
    if (bo->n_prompt > 0)
        printf("| %s | %d | pp%ld | %.2f ± %.2f |\n", opt->model_path, threads, bo->n_prompt,
               pp->mean, pp->stddev);
    if (bo->n_gen > 0)
        printf("| %s | %d | tg%ld | %.2f ± %.2f |\n", opt->model_path, threads, bo->n_gen,
               tg->mean, tg->stddev);
}

static int bench_multimodal(cli_options *opt, const bench_options *bo)
{
    g4_model *model = cli_load_model(opt);
    int rc = model ? bench_media(model, opt, bo) : 1;
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
            cli_int(&a, "-r", "--reps", 1, 1000, &bo.reps) || cli_media_flag(&a, &bo.media))
            continue;
        if (cli_switch(&a, NULL, "--json"))
            bo.json = true;
        else
            cli_unknown(&a);
    }
    if (a.failed)
        return 2;
    if (bo.media.n > 0)
        return bench_multimodal(&opt, &bo);
    long longest = bo.n_prompt > bo.n_gen ? bo.n_prompt : bo.n_gen;
    if (!opt.n_ctx)
        opt.n_ctx = (uint32_t)(longest > 16 ? longest : 16);
    g4_model *model = cli_load_model(&opt);
    g4_session *session = model ? cli_new_session(model, &opt) : NULL;
    int32_t *ids = malloc((size_t)(longest > 8 ? longest : 8) * sizeof *ids);
    int rc = session && ids ? 0 : 1;
    bench_stat pp = {0, 0}, tg = {0, 0};
    if (rc == 0) {
        bench_fill_tokens(ids, longest > 8 ? longest : 8, g4_model_vocab_size(model), 42);
        if (bo.n_prompt > 0)
            rc = measure(session, ids, bo.n_prompt, bo.reps, true, &pp);
        if (rc == 0 && bo.n_gen > 0)
            rc = measure(session, ids, bo.n_gen, bo.reps, false, &tg);
        if (rc == 0)
            report(&opt, &bo, opt.n_threads, &pp, &tg);
    }
    free(ids);
    g4_session_free(session);
    g4_model_free(model);
    return rc;
}
