#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "g4.h"
#include "harness.h"
#include "text/rng.h"

#define LARGE_VOCAB 262144

/* Plain sampling from softmax(logits / temperature): every filter off. */
static g4_sampler_params plain_params(float temperature, uint64_t seed)
{
    g4_sampler_params p;
    g4_sampler_params_init(&p);
    p.temperature = temperature;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.seed = seed;
    return p;
}

static g4_sampler *make_sampler(const g4_sampler_params *p, int32_t vocab_size)
{
    g4_sampler *s = NULL;
    CHECK(g4_sampler_new(p, vocab_size, &s) == G4_OK && s != NULL);
    return s;
}

/* Fraction of n_draws that picked each token. */
static void draw_frequencies(const g4_sampler_params *p, const float *logits, int32_t vocab,
                             int n_draws, double *freq)
{
    g4_sampler *s = make_sampler(p, vocab);
    for (int32_t i = 0; i < vocab; i++)
        freq[i] = 0.0;
    bool in_range = true;
    for (int i = 0; i < n_draws; i++) {
        int32_t id = g4_sampler_sample(s, logits);
        in_range = in_range && id >= 0 && id < vocab;
        if (id >= 0 && id < vocab)
            freq[id] += 1.0 / n_draws;
    }
    CHECK(in_range);
    g4_sampler_free(s);
}

/* Whether the frequencies match probs within tolerance (token by token). */
static bool frequencies_match(const double *freq, const double *probs, int32_t vocab,
                              double tolerance)
{
    bool ok = true;
    for (int32_t i = 0; i < vocab; i++) {
        if (fabs(freq[i] - probs[i]) > tolerance) {
            fprintf(stderr, "    token %d: drawn %.5f, expected %.5f\n", i, freq[i], probs[i]);
            ok = false;
        }
    }
    return ok;
}

static void fill_log_probs(float *logits, const double *probs, int32_t vocab)
{
    for (int32_t i = 0; i < vocab; i++)
        logits[i] = probs[i] > 0.0 ? (float)log(probs[i]) : -INFINITY;
}

static void fill_random_logits(float *logits, int32_t vocab, uint64_t seed)
{
    g4_rng rng;
    g4_rng_seed(&rng, seed);
    for (int32_t i = 0; i < vocab; i++)
        logits[i] = (float)(g4_rng_uniform(&rng) * 20.0 - 10.0);
}

static int32_t reference_argmax(const float *logits, int32_t vocab)
{
    int32_t best = 0;
    for (int32_t i = 1; i < vocab; i++)
        if (logits[i] > logits[best])
            best = i;
    return best;
}

/* Greedy choice after the given tokens were accepted. */
static int32_t greedy_after(g4_sampler_params p, const float *logits, int32_t vocab,
                            const int32_t *accepted, size_t n_accepted)
{
    p.temperature = 0.0f;
    g4_sampler *s = make_sampler(&p, vocab);
    for (size_t i = 0; i < n_accepted; i++)
        g4_sampler_accept(s, accepted[i]);
    int32_t id = g4_sampler_sample(s, logits);
    g4_sampler_free(s);
    return id;
}

static void test_defaults(void)
{
    g4_sampler_params p;
    memset(&p, 0xff, sizeof p);
    g4_sampler_params_init(&p);
    CHECK(p.temperature == 1.0f && p.top_k == 64 && p.top_p == 0.95f && p.min_p == 0.0f);
    CHECK(p.repeat_penalty == 1.0f && p.presence_penalty == 0.0f && p.frequency_penalty == 0.0f);
    CHECK(p.penalty_last_n == 64 && p.seed == 0);
}

static void test_greedy(void)
{
    const float logits[] = {1.0f, 5.0f, -INFINITY, 5.0f, 2.0f};
    g4_sampler_params p = plain_params(0.0f, 1);
    g4_sampler *s = make_sampler(&p, 5);
    CHECK(g4_sampler_sample(s, logits) == 1); /* the lower id of two equal maxima */
    const float mostly_masked[] = {-INFINITY, NAN, -INFINITY, -30.0f, -INFINITY};
    CHECK(g4_sampler_sample(s, mostly_masked) == 3);
    const float all_masked[] = {-INFINITY, -INFINITY, NAN, -INFINITY, -INFINITY};
    CHECK(g4_sampler_sample(s, all_masked) == -1);
    CHECK(strstr(g4_last_error(), "-inf") != NULL);
    g4_sampler_free(s);

    p.temperature = -1.0f; /* anything <= 0 is greedy */
    s = make_sampler(&p, 5);
    CHECK(g4_sampler_sample(s, logits) == 1);
    g4_sampler_free(s);
}

static void test_masked_tokens_never_drawn(void)
{
    float logits[16];
    for (int i = 0; i < 16; i++)
        logits[i] = i % 3 == 0 ? -INFINITY : 0.1f * (float)i;
    const float all_masked[16] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                                  -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                                  -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                                  -INFINITY};
    const int32_t top_ks[] = {0, 4, 15};
    for (size_t k = 0; k < sizeof top_ks / sizeof top_ks[0]; k++) {
        g4_sampler_params p = plain_params(2.0f, 3);
        p.top_k = top_ks[k];
        p.top_p = 0.99f;
        g4_sampler *s = make_sampler(&p, 16);
        bool ok = true;
        for (int i = 0; i < 20000; i++) {
            int32_t id = g4_sampler_sample(s, logits);
            ok = ok && id >= 0 && id < 16 && id % 3 != 0;
        }
        CHECK_MSG(ok, "top_k %d drew a masked token", top_ks[k]);
        CHECK(g4_sampler_sample(s, all_masked) == -1);
        g4_sampler_free(s);
    }
}

static void test_seeds(void)
{
    float logits[1000];
    for (int i = 0; i < 1000; i++)
        logits[i] = 0.0f;
    g4_sampler_params p = plain_params(1.0f, 42);
    g4_sampler *a = make_sampler(&p, 1000);
    g4_sampler *b = make_sampler(&p, 1000);
    p.seed = 43;
    g4_sampler *c = make_sampler(&p, 1000);
    p.seed = 0;
    g4_sampler *random1 = make_sampler(&p, 1000);
    g4_sampler *random2 = make_sampler(&p, 1000);
    int same_ab = 0, same_ac = 0, same_random = 0;
    for (int i = 0; i < 200; i++) {
        int32_t x = g4_sampler_sample(a, logits);
        same_ab += x == g4_sampler_sample(b, logits);
        same_ac += x == g4_sampler_sample(c, logits);
        same_random += g4_sampler_sample(random1, logits) == g4_sampler_sample(random2, logits);
    }
    CHECK(same_ab == 200);
    CHECK(same_ac < 10);
    CHECK(same_random < 10);
    g4_sampler_free(a);
    g4_sampler_free(b);
    g4_sampler_free(c);
    g4_sampler_free(random1);
    g4_sampler_free(random2);
}

static void test_matches_softmax(void)
{
    const float logits[] = {1.0f, 0.2f, -0.5f, 2.0f, 1.5f, -INFINITY, 0.0f, -2.0f};
    const int32_t vocab = 8;
    const float temperatures[] = {1.0f, 0.7f, 1.8f};
    for (size_t t = 0; t < 3; t++) {
        double probs[8], sum = 0.0;
        for (int32_t i = 0; i < vocab; i++) {
            probs[i] = exp((double)logits[i] / temperatures[t]);
            sum += probs[i];
        }
        for (int32_t i = 0; i < vocab; i++)
            probs[i] /= sum;
        double freq[8];
        g4_sampler_params p = plain_params(temperatures[t], 1000 + t);
        draw_frequencies(&p, logits, vocab, 200000, freq);
        CHECK_MSG(frequencies_match(freq, probs, vocab, 0.004), "temperature %g",
                  temperatures[t]);
    }
}

static void test_top_k(void)
{
    const float logits[] = {1.0f, 0.2f, -0.5f, 2.0f, 1.5f, 1.5f, 0.0f, -2.0f};
    /* k = 3 keeps 2.0 and both 1.5s, renormalized. */
    double probs[8] = {0};
    double z = exp(2.0) + 2 * exp(1.5);
    probs[3] = exp(2.0) / z;
    probs[4] = probs[5] = exp(1.5) / z;
    g4_sampler_params p = plain_params(1.0f, 5);
    p.top_k = 3;
    double freq[8];
    draw_frequencies(&p, logits, 8, 100000, freq);
    CHECK(frequencies_match(freq, probs, 8, 0.006));

    /* With k = 2 the tie goes to the lower id. */
    p.top_k = 2;
    draw_frequencies(&p, logits, 8, 20000, freq);
    CHECK(freq[3] > 0.5 && freq[4] > 0.3 && fabs(freq[3] + freq[4] - 1.0) < 1e-9);
}

static void test_top_k_1_is_greedy(void)
{
    float logits[1000];
    g4_sampler_params p = plain_params(1.5f, 9);
    p.top_k = 1;
    g4_sampler *s = make_sampler(&p, 1000);
    bool ok = true;
    for (uint64_t round = 0; round < 50; round++) {
        fill_random_logits(logits, 1000, round);
        ok = ok && g4_sampler_sample(s, logits) == reference_argmax(logits, 1000);
    }
    CHECK(ok);
    g4_sampler_free(s);
}

/* Draws from a shuffled distribution and checks exactly the expected tokens come up, at
 * their renormalized probabilities. */
static void check_kept(g4_sampler_params p, const double *probs, const bool *kept,
                       int32_t vocab)
{
    float logits[8] = {0};
    fill_log_probs(logits, probs, vocab);
    double expected[8], kept_mass = 0.0, freq[8];
    for (int32_t i = 0; i < vocab; i++)
        kept_mass += kept[i] ? probs[i] : 0.0;
    for (int32_t i = 0; i < vocab; i++)
        expected[i] = kept[i] ? probs[i] / kept_mass : 0.0;
    draw_frequencies(&p, logits, vocab, 100000, freq);
    bool same_set = true;
    for (int32_t i = 0; i < vocab; i++)
        same_set = same_set && (freq[i] > 0.0) == kept[i];
    CHECK_MSG(same_set, "top_p %g, min_p %g, top_k %d", p.top_p, p.min_p, p.top_k);
    CHECK(frequencies_match(freq, expected, vocab, 0.006));
}

static void test_top_p(void)
{
    const double probs[] = {0.07, 0.25, 0.03, 0.5, 0.15};
    g4_sampler_params p = plain_params(1.0f, 11);
    p.top_p = 0.7f; /* 0.5 < 0.7 <= 0.5 + 0.25 */
    check_kept(p, probs, (const bool[]){false, true, false, true, false}, 5);
    p.top_p = 0.8f; /* 0.75 < 0.8 <= 0.9 */
    check_kept(p, probs, (const bool[]){false, true, false, true, true}, 5);
    p.top_p = 0.01f; /* always at least the best token */
    check_kept(p, probs, (const bool[]){false, false, false, true, false}, 5);
    p.top_p = 0.95f; /* 0.9 < 0.95 <= 0.97 */
    check_kept(p, probs, (const bool[]){true, true, false, true, true}, 5);
    /* The same through the top-k path: k = 4 leaves 0.97 of the mass, and 0.74 of it is
     * 0.7178 of the original, which 0.5 + 0.25 covers. */
    p.top_k = 4;
    p.top_p = 0.74f;
    check_kept(p, probs, (const bool[]){false, true, false, true, false}, 5);
}

static const float *rank_logits; /* for by_logit_descending */

static int by_logit_descending(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (rank_logits[x] != rank_logits[y])
        return rank_logits[x] > rank_logits[y] ? -1 : 1;
    return x < y ? -1 : 1;
}

/* Top-p on 5000 random logits, with and without top-k: every draw must come from the
 * nucleus computed by sorting. */
static void test_top_p_random_logits(void)
{
    enum { vocab = 5000 };
    static float logits[vocab];
    static int32_t order[vocab], rank[vocab];
    fill_random_logits(logits, vocab, 31);
    for (int32_t i = 0; i < vocab; i++)
        order[i] = i;
    rank_logits = logits;
    qsort(order, vocab, sizeof order[0], by_logit_descending);
    for (int32_t i = 0; i < vocab; i++)
        rank[order[i]] = i;
    const int32_t top_ks[] = {0, 1000};
    for (int t = 0; t < 2; t++) {
        int32_t kept = top_ks[t] > 0 ? top_ks[t] : vocab;
        double total = 0.0, sum = 0.0;
        for (int32_t i = 0; i < kept; i++)
            total += exp((double)logits[order[i]] - logits[order[0]]);
        int32_t nucleus = 0;
        while (sum < 0.9 * total)
            sum += exp((double)logits[order[nucleus++]] - logits[order[0]]);
        g4_sampler_params p = plain_params(1.0f, 37);
        p.top_k = top_ks[t];
        p.top_p = 0.9f;
        g4_sampler *s = make_sampler(&p, vocab);
        int32_t deepest = 0;
        for (int i = 0; i < 5000; i++) {
            int32_t r = rank[g4_sampler_sample(s, logits)];
            deepest = r > deepest ? r : deepest;
        }
        /* The deepest draw lies inside the nucleus, and near its end. */
        CHECK_MSG(deepest < nucleus && deepest > nucleus - 30,
                  "top_k %d: deepest rank %d, nucleus %d", top_ks[t], deepest, nucleus);
        g4_sampler_free(s);
    }
}

static void test_min_p(void)
{
    const double probs[] = {0.1, 0.4, 0.05, 0.3, 0.15};
    g4_sampler_params p = plain_params(1.0f, 13);
    p.min_p = 0.3f; /* drops below 0.12 */
    check_kept(p, probs, (const bool[]){false, true, false, true, true}, 5);
    p.min_p = 1.0f;
    check_kept(p, probs, (const bool[]){false, true, false, false, false}, 5);
    /* After top-p 0.8 keeps {0.4, 0.3, 0.15}, min-p 0.5 drops 0.15 too. */
    p.top_p = 0.8f;
    p.min_p = 0.5f;
    check_kept(p, probs, (const bool[]){false, true, false, true, false}, 5);
}

/* Token 0 is penalized; token 1 is a probe just above or below the expected new logit. */
static bool penalty_lands_between(g4_sampler_params p, float logit, float expected,
                                  const int32_t *accepted, size_t n_accepted)
{
    float logits[4] = {logit, expected - 0.01f, -INFINITY, -50.0f};
    bool penalized_wins = greedy_after(p, logits, 4, accepted, n_accepted) == 0;
    logits[1] = expected + 0.01f;
    bool probe_wins = greedy_after(p, logits, 4, accepted, n_accepted) == 1;
    return penalized_wins && probe_wins;
}

static void test_penalties(void)
{
    const int32_t once[] = {0, 3};
    const int32_t thrice[] = {0, 3, 0, 0};
    g4_sampler_params p = plain_params(1.0f, 1);
    p.repeat_penalty = 1.5f;
    CHECK(penalty_lands_between(p, 3.0f, 2.0f, once, 2));   /* positive: divided */
    CHECK(penalty_lands_between(p, -1.0f, -1.5f, once, 2)); /* negative: multiplied */
    CHECK(penalty_lands_between(p, 3.0f, 2.0f, thrice, 4)); /* once, however often seen */
    p.repeat_penalty = 1.0f;
    p.presence_penalty = 0.5f;
    CHECK(penalty_lands_between(p, 2.0f, 1.5f, thrice, 4));
    p.presence_penalty = 0.0f;
    p.frequency_penalty = 0.5f;
    CHECK(penalty_lands_between(p, 2.0f, 0.5f, thrice, 4));
    p.presence_penalty = 0.25f;
    p.repeat_penalty = 2.0f;
    CHECK(penalty_lands_between(p, 4.0f, 0.25f, thrice, 4)); /* 4 / 2 - 0.25 - 3 * 0.5 */

    /* A token never accepted is not touched. */
    const int32_t other[] = {2, 3};
    CHECK(penalty_lands_between(p, 2.0f, 2.0f, other, 2));
}

static void test_penalty_window(void)
{
    float logits[8] = {2.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    g4_sampler_params p = plain_params(0.0f, 1);
    p.presence_penalty = 1.5f;
    p.penalty_last_n = 3;
    CHECK(greedy_after(p, logits, 8, (const int32_t[]){0, 5, 6}, 3) == 1);
    CHECK(greedy_after(p, logits, 8, (const int32_t[]){0, 5, 6, 7}, 4) == 0); /* 0 left */
    CHECK(greedy_after(p, logits, 8, (const int32_t[]){0, 5, 0, 6, 7}, 5) == 1);
    p.penalty_last_n = 0;
    CHECK(greedy_after(p, logits, 8, (const int32_t[]){0, 0}, 2) == 0);

    /* Only the occurrences inside the window count: 2 of the 4 here. */
    p.presence_penalty = 0.0f;
    p.frequency_penalty = 0.6f;
    p.penalty_last_n = 2;
    CHECK(greedy_after(p, logits, 8, (const int32_t[]){0, 0, 0, 0}, 4) == 1);
    logits[1] = 0.7f; /* 2 - 2 * 0.6 = 0.8 still beats it */
    CHECK(greedy_after(p, logits, 8, (const int32_t[]){0, 0, 0, 0}, 4) == 0);

    /* Ids outside the vocabulary are ignored. */
    CHECK(greedy_after(p, logits, 8, (const int32_t[]){-1, 8, 1000}, 3) == 0);
}

static void test_logits_untouched(void)
{
    float logits[64], copy[64];
    fill_random_logits(logits, 64, 77);
    memcpy(copy, logits, sizeof logits);
    g4_sampler_params p;
    g4_sampler_params_init(&p);
    p.seed = 3;
    p.repeat_penalty = 1.3f;
    p.presence_penalty = 0.4f;
    p.frequency_penalty = 0.2f;
    p.min_p = 0.05f;
    p.top_k = 10;
    g4_sampler *s = make_sampler(&p, 64);
    for (int i = 0; i < 100; i++)
        g4_sampler_accept(s, g4_sampler_sample(s, logits));
    CHECK(memcmp(logits, copy, sizeof logits) == 0);
    g4_sampler_free(s);
}

static bool rejected(g4_sampler_params p, int32_t vocab, const char *name)
{
    g4_sampler *s = (g4_sampler *)&p; /* any pointer but NULL, to see it reset */
    bool ok = g4_sampler_new(&p, vocab, &s) == G4_ERR_INVALID_ARG && s == NULL &&
              strstr(g4_last_error(), name) != NULL;
    if (!ok)
        fprintf(stderr, "    %s not rejected: \"%s\"\n", name, g4_last_error());
    return ok;
}

static void test_invalid_params(void)
{
    g4_sampler_params ok;
    g4_sampler_params_init(&ok);
    g4_sampler_params p = ok;
    CHECK(rejected(p, 0, "vocab_size"));
    CHECK(rejected(p, -5, "vocab_size"));
    p.temperature = NAN;
    CHECK(rejected(p, 10, "temperature"));
    p.temperature = INFINITY;
    CHECK(rejected(p, 10, "temperature"));
    p = ok;
    p.top_k = -1;
    CHECK(rejected(p, 10, "top_k"));
    p = ok;
    const float bad_top_p[] = {0.0f, -0.1f, 1.01f, NAN};
    for (int i = 0; i < 4; i++) {
        p.top_p = bad_top_p[i];
        CHECK(rejected(p, 10, "top_p"));
    }
    p = ok;
    const float bad_min_p[] = {-0.01f, 1.5f, NAN};
    for (int i = 0; i < 3; i++) {
        p.min_p = bad_min_p[i];
        CHECK(rejected(p, 10, "min_p"));
    }
    p = ok;
    const float bad_repeat[] = {0.0f, -1.0f, INFINITY, NAN};
    for (int i = 0; i < 4; i++) {
        p.repeat_penalty = bad_repeat[i];
        CHECK(rejected(p, 10, "repeat_penalty"));
    }
    p = ok;
    p.presence_penalty = NAN;
    CHECK(rejected(p, 10, "presence_penalty"));
    p = ok;
    p.frequency_penalty = -INFINITY;
    CHECK(rejected(p, 10, "frequency_penalty"));
    p = ok;
    p.penalty_last_n = -1;
    CHECK(rejected(p, 10, "penalty_last_n"));

    g4_sampler *s = NULL;
    CHECK(g4_sampler_new(NULL, 10, &s) == G4_ERR_INVALID_ARG);
    CHECK(g4_sampler_new(&ok, 10, NULL) == G4_ERR_INVALID_ARG);
    /* Edge values that are fine, and success clears the last error. */
    p = ok;
    p.top_p = 1.0f;
    p.min_p = 1.0f;
    p.temperature = -3.0f;
    p.presence_penalty = -1.0f;
    p.penalty_last_n = 0;
    CHECK(g4_sampler_new(&p, 1, &s) == G4_OK && s != NULL && g4_last_error()[0] == '\0');
    const float one_logit[] = {0.5f};
    CHECK(g4_sampler_sample(s, one_logit) == 0);
    g4_sampler_free(s);
    g4_sampler_free(NULL);
    CHECK(g4_sampler_sample(NULL, one_logit) == -1);
}

/* How many tokens have a higher logit than id's. */
static int32_t rank_of(const float *logits, int32_t vocab, int32_t id)
{
    int32_t rank = 0;
    for (int32_t i = 0; i < vocab; i++)
        rank += logits[i] > logits[id];
    return rank;
}

static void test_large_vocab(void)
{
    float *logits = malloc(LARGE_VOCAB * sizeof *logits);
    fill_random_logits(logits, LARGE_VOCAB, 123);
    g4_sampler_params p;
    g4_sampler_params_init(&p);
    p.seed = 5;
    p.repeat_penalty = 1.1f;
    g4_sampler *s = make_sampler(&p, LARGE_VOCAB);
    bool in_top_k = true;
    for (int i = 0; i < 200; i++) {
        int32_t id = g4_sampler_sample(s, logits);
        /* The penalty only lowers the (at most 64) tokens in its window. */
        in_top_k = in_top_k && id >= 0 && rank_of(logits, LARGE_VOCAB, id) < 64 + 64;
        g4_sampler_accept(s, id);
    }
    CHECK(in_top_k);
    g4_sampler_free(s);

    /* Top-p without top-k on a flat distribution, the case no threshold helps: 101
     * tokens at logit 10 hold 89.5% and the nucleus has to reach into the ~262k tokens at
     * logit 0, taking the lowest ids first. */
    int32_t n_high = 0;
    for (int32_t i = 0; i < LARGE_VOCAB; i++) {
        logits[i] = i % 2600 == 7 ? 10.0f : 0.0f;
        n_high += i % 2600 == 7;
    }
    double high_mass = n_high * exp(10.0), low_mass = LARGE_VOCAB - n_high;
    double low_needed = 0.95 * (high_mass + low_mass) - high_mass;
    g4_sampler_params flat = plain_params(1.0f, 17);
    flat.top_p = 0.95f;
    s = make_sampler(&flat, LARGE_VOCAB);
    int32_t last_low_allowed = (int32_t)(low_needed * 1.001) + n_high;
    bool inside = true;
    int lows = 0;
    for (int i = 0; i < 100; i++) {
        int32_t id = g4_sampler_sample(s, logits);
        bool is_low = id % 2600 != 7;
        lows += is_low;
        inside = inside && id >= 0 && (!is_low || id <= last_low_allowed);
    }
    CHECK(inside);
    CHECK(lows > 0 && lows < 25); /* about 6 expected */
    g4_sampler_free(s);
    free(logits);
}

static void test_rng(void)
{
    g4_rng a, b;
    g4_rng_seed(&a, 0);
    g4_rng_seed(&b, 0);
    double sum = 0.0;
    bool in_range = true, same = true;
    for (int i = 0; i < 100000; i++) {
        double u = g4_rng_uniform(&a);
        same = same && u == g4_rng_uniform(&b);
        in_range = in_range && u >= 0.0 && u < 1.0;
        sum += u;
    }
    CHECK(same && in_range);
    CHECK(fabs(sum / 100000 - 0.5) < 0.005);
    CHECK(g4_rng_entropy_seed() != g4_rng_entropy_seed());
}

int main(void)
{
    test_defaults();
    test_greedy();
    test_masked_tokens_never_drawn();
    test_seeds();
    test_matches_softmax();
    test_top_k();
    test_top_k_1_is_greedy();
    test_top_p();
    test_top_p_random_logits();
    test_min_p();
    test_penalties();
    test_penalty_window();
    test_logits_untouched();
    test_invalid_params();
    test_large_vocab();
    test_rng();
    return test_finish("test_sampler");
}
