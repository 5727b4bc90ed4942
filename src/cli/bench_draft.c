/* g4 bench --draft: what a speculative step costs against a plain decode step, and the
 * speed-up that projects to at a few acceptance rates. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

enum { DRAFT_BENCH_MAX_K = 6, DRAFT_BENCH_PROMPT = 16 };

static const double acceptance_rates[] = {0.3, 0.6, 0.9};

typedef struct step_costs {
    double plain_s;  /* a plain decode step, measured next to the others */
    double draft_s;  /* K drafter steps */
    double verify_s; /* the model's pass over K + 1 tokens */
} step_costs;

/* Seconds of a plain decode step after the prompt: the mean of n steps, after a warm-up. */
static double plain_step_seconds(g4_session *s, const int32_t *ids, long n_prompt, long n)
{
    if (g4_session_decode(s, ids, (size_t)n_prompt, NULL) != G4_OK ||
        bench_decode_steps(s, ids + n_prompt, 1) < 0.0)
        return -1.0;
    g4_session_truncate(s, (uint32_t)n_prompt);
    double seconds = bench_decode_steps(s, ids + n_prompt, n);
    g4_session_truncate(s, 0);
    return seconds < 0.0 ? -1.0 : seconds / (double)n;
}

/* Mean costs of the steps drafting exactly k tokens in a greedy generation that has about
 * n_gen of them (random weights: every draft is rejected, each step emits one token), and
 * of n_gen plain steps just before, so that both see the same machine load. */
static int time_steps(g4_model *model, const cli_options *opt, const int32_t *prompt,
                      long n_prompt, int k, long n_gen, step_costs *out)
{
    g4_session *s = cli_new_session(model, opt);
    double plain_s = s ? plain_step_seconds(s, prompt, n_prompt, n_gen) : -1.0;
    g4_sampler_params sp;
    g4_sampler_params_init(&sp);
    sp.temperature = 0.0f;
    g4_sampler *sampler = NULL;
    /* the first step cannot draft, and a step drafts k only while k + 1 tokens remain */
    g4_generate_params gp = {.max_tokens = (int32_t)(n_gen + k + 1), .draft_max = k,
                             .draft_min = k, .draft_fixed = true};
    g4_generate_stats st = {0};
    bool ran = plain_s > 0.0 &&
               g4_sampler_new(&sp, g4_model_vocab_size(model), &sampler) == G4_OK &&
               g4_generate(s, sampler, prompt, (size_t)n_prompt, &gp, &st) == G4_OK;
    int rc = ran ? 0 : cli_error("drafting benchmark");
    if (rc == 0 && st.draft_steps == 0) {
        fprintf(stderr, "g4 bench: no drafting step ran (%u tokens generated%s)\n",
                st.generated_tokens, st.stopped_by_eog ? ", then an end-of-turn token" : "");
        rc = 1;
    }
    if (rc == 0)
        *out = (step_costs){plain_s, st.draft_seconds / st.draft_steps,
                            st.verify_seconds / st.draft_steps};
    g4_sampler_free(sampler);
    g4_session_free(s);
    return rc;
}

/* Tokens a step of k drafts emits on average when each draft is accepted with
 * probability a (given the one before it was): the accepted drafts plus the model's own. */
static double expected_tokens(double a, int k)
{
    double sum = 1.0, term = 1.0;
    for (int j = 1; j <= k; j++)
        sum += term *= a;
    return sum;
}

static void print_table(const step_costs *costs)
{
    printf("| K | plain step (ms) | drafting (ms) | checking K+1 tokens (ms) | "
           "checking / plain step | step / plain step |");
    for (size_t i = 0; i < sizeof acceptance_rates / sizeof acceptance_rates[0]; i++)
        printf(" speed-up at %.1f |", acceptance_rates[i]);
    printf("\n|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 1; k <= DRAFT_BENCH_MAX_K; k++) {
        const step_costs *c = &costs[k - 1];
        double ratio = (c->draft_s + c->verify_s) / c->plain_s;
        printf("| %d | %.1f | %.1f | %.1f | %.2f | %.2f |", k, 1e3 * c->plain_s,
               1e3 * c->draft_s, 1e3 * c->verify_s, c->verify_s / c->plain_s, ratio);
        for (size_t i = 0; i < sizeof acceptance_rates / sizeof acceptance_rates[0]; i++)
            printf(" %.2f× |", expected_tokens(acceptance_rates[i], k) / ratio);
        printf("\n");
    }
}

int bench_draft(g4_model *model, cli_options *opt, const bench_options *bo)
{
    long n_prompt = bo->depth > DRAFT_BENCH_PROMPT ? bo->depth : DRAFT_BENCH_PROMPT;
    long n_gen = bo->n_gen;
    int32_t *ids = malloc((size_t)(n_prompt + n_gen) * sizeof *ids);
    step_costs costs[DRAFT_BENCH_MAX_K] = {{0}};
    if (!ids)
        return 1;
    if (!opt->n_ctx)
        opt->n_ctx = (uint32_t)(n_prompt + n_gen + DRAFT_BENCH_MAX_K + 8);
    bench_fill_tokens(ids, n_prompt + n_gen, g4_model_vocab_size(model), 42);
    int rc = 0;
    for (long r = 0; rc == 0 && r < bo->reps; r++)
        for (int k = 1; rc == 0 && k <= DRAFT_BENCH_MAX_K; k++) {
            step_costs one = {0, 0, 0};
            rc = time_steps(model, opt, ids, n_prompt, k, n_gen, &one);
            costs[k - 1].plain_s += one.plain_s / (double)bo->reps;
            costs[k - 1].draft_s += one.draft_s / (double)bo->reps;
            costs[k - 1].verify_s += one.verify_s / (double)bo->reps;
        }
    if (rc == 0) {
        printf("model %s, drafter %s, %d threads, after %ld tokens of context\n",
               opt->model_path, opt->drafter_path, g4_model_n_threads(model), n_prompt);
        print_table(costs);
    }
    free(ids);
    return rc;
}
