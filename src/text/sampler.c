/* Token sampling: the g4_sampler_* functions of g4.h.
 *
 * Parameters (g4_sampler_params_init gives the model's defaults, in brackets):
 *   temperature       finite; <= 0 picks greedily [1.0]
 *   top_k             >= 0; 0 = off, as is any k >= vocab_size [64]
 *   top_p             in (0, 1]; 1 = off [0.95]
 *   min_p             in [0, 1]; 0 = off [0]
 *   repeat_penalty    > 0 and finite; 1 = off [1]
 *   presence_penalty  finite, may be negative; 0 = off [0]
 *   frequency_penalty finite, may be negative; 0 = off [0]
 *   penalty_last_n    >= 0: how many recently accepted tokens the penalties look at [64]
 *   seed              0 = a different random seed each time; any other value reproduces
 *                     the same draws for the same logits [0]
 *
 * Each call to g4_sampler_sample, in this order:
 *   1. penalties: every distinct token seen c times among the last penalty_last_n accepted
 *      ones has a positive logit divided by repeat_penalty and a non-positive one multiplied
 *      by it (as llama.cpp does), then presence_penalty + c * frequency_penalty subtracted;
 *   2. temperature <= 0: the highest logit wins, the lowest id among equal ones;
 *   3. top-k: the k highest logits stay (the lower ids among equal ones);
 *   4. temperature and softmax over what stays;
 *   5. top-p: the smallest set of most probable tokens whose probabilities add up to at
 *      least top_p stays (always at least one token);
 *   6. min-p: tokens less probable than min_p times the most probable one go;
 *   7. the rest is renormalized and one token drawn with the sampler's own generator.
 *
 * Logits of -INFINITY (and NaN) are never chosen; when no token has any other logit,
 * g4_sampler_sample returns -1 and sets g4_last_error. g4_sampler_accept ignores ids
 * outside the vocabulary. The caller's logits are never written: penalties apply to a
 * copy. Every buffer is sized by vocab_size and allocated by g4_sampler_new, so sampling
 * a token allocates nothing. Nothing sorts the vocabulary: top-k keeps a k-sized heap
 * over it, top-p is a quickselect. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "g4.h"
#include "engine/api_error.h"
#include "text/rng.h"

/* A token still in the running. value is its logit until the softmax, then its weight
 * relative to the most probable token (which has weight 1). */
typedef struct candidate {
    int32_t id;
    float value;
} candidate;

struct g4_sampler {
    g4_sampler_params params;
    int32_t vocab_size;
    g4_rng rng;
    float *penalized;      /* vocab_size: the logits after the penalties */
    candidate *candidates; /* vocab_size */
    int32_t *recent;       /* ring of the last penalty_last_n accepted tokens */
    int32_t n_recent;
    int32_t recent_next;   /* the ring slot the next accepted token goes to */
    int32_t *recent_count; /* vocab_size: how often each token occurs in the ring */
};

void g4_sampler_params_init(g4_sampler_params *params)
{
    *params = (g4_sampler_params){
        .temperature = 1.0f,
        .top_k = 64,
        .top_p = 0.95f,
        .min_p = 0.0f,
        .repeat_penalty = 1.0f,
        .presence_penalty = 0.0f,
        .frequency_penalty = 0.0f,
        .penalty_last_n = 64,
        .seed = 0,
    };
}

/* ---- creation ------------------------------------------------------------------------ */

static g4_status check_params(const g4_sampler_params *p, int32_t vocab_size, g4_err *err)
{
    const g4_status bad = G4_ERR_INVALID_ARG;
    if (vocab_size <= 0)
        return g4_fail(err, bad, "sampler: vocab_size must be positive (got %d)", vocab_size);
    if (!isfinite(p->temperature))
        return g4_fail(err, bad, "sampler: temperature must be finite (got %g)",
                       p->temperature);
    if (p->top_k < 0)
        return g4_fail(err, bad, "sampler: top_k must be >= 0 (got %d)", p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return g4_fail(err, bad, "sampler: top_p must be in (0, 1] (got %g)", p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return g4_fail(err, bad, "sampler: min_p must be in [0, 1] (got %g)", p->min_p);
    if (!(p->repeat_penalty > 0.0f && isfinite(p->repeat_penalty)))
        return g4_fail(err, bad, "sampler: repeat_penalty must be positive and finite (got %g)",
                       p->repeat_penalty);
    if (!isfinite(p->presence_penalty))
        return g4_fail(err, bad, "sampler: presence_penalty must be finite (got %g)",
                       p->presence_penalty);
    if (!isfinite(p->frequency_penalty))
        return g4_fail(err, bad, "sampler: frequency_penalty must be finite (got %g)",
                       p->frequency_penalty);
    if (p->penalty_last_n < 0)
        return g4_fail(err, bad, "sampler: penalty_last_n must be >= 0 (got %d)",
                       p->penalty_last_n);
    return G4_OK;
}

static g4_sampler *sampler_alloc(const g4_sampler_params *params, int32_t vocab_size,
                                 g4_err *err)
{
    size_t vocab = (size_t)vocab_size;
    g4_sampler *s = calloc(1, sizeof *s);
    if (!s) {
        g4_fail(err, G4_ERR_NO_MEMORY, "sampler: out of memory");
        return NULL;
    }
    s->params = *params;
    s->vocab_size = vocab_size;
    s->penalized = malloc(vocab * sizeof *s->penalized);
    s->candidates = malloc(vocab * sizeof *s->candidates);
    s->recent_count = calloc(vocab, sizeof *s->recent_count);
    if (params->penalty_last_n > 0)
        s->recent = malloc((size_t)params->penalty_last_n * sizeof *s->recent);
    if (!s->penalized || !s->candidates || !s->recent_count ||
        (params->penalty_last_n > 0 && !s->recent)) {
        g4_sampler_free(s);
        g4_fail(err, G4_ERR_NO_MEMORY, "sampler: out of memory for a vocabulary of %d",
                vocab_size);
        return NULL;
    }
    g4_rng_seed(&s->rng, params->seed != 0 ? params->seed : g4_rng_entropy_seed());
    return s;
}

g4_status g4_sampler_new(const g4_sampler_params *params, int32_t vocab_size,
                         g4_sampler **out)
{
    g4_err err = {.code = G4_OK};
    if (out)
        *out = NULL;
    if (!params || !out)
        g4_fail(&err, G4_ERR_INVALID_ARG, "sampler: params and out must not be NULL");
    else if (check_params(params, vocab_size, &err) == G4_OK)
        *out = sampler_alloc(params, vocab_size, &err);
    return api_report(&err);
}

void g4_sampler_free(g4_sampler *sampler)
{
    if (!sampler)
        return;
    free(sampler->penalized);
    free(sampler->candidates);
    free(sampler->recent);
    free(sampler->recent_count);
    free(sampler);
}

/* ---- penalties ------------------------------------------------------------------------- */

void g4_sampler_accept(g4_sampler *sampler, int32_t id)
{
    /* Ids outside the vocabulary cannot be penalized and are ignored. */
    if (!sampler || id < 0 || id >= sampler->vocab_size || !sampler->recent)
        return;
    int32_t capacity = sampler->params.penalty_last_n;
    int32_t *slot = &sampler->recent[sampler->recent_next];
    if (sampler->n_recent == capacity)
        sampler->recent_count[*slot]--;
    else
        sampler->n_recent++;
    *slot = id;
    sampler->recent_count[id]++;
    sampler->recent_next = (sampler->recent_next + 1) % capacity;
}

static bool penalties_active(const g4_sampler_params *p)
{
    return p->repeat_penalty != 1.0f || p->presence_penalty != 0.0f ||
           p->frequency_penalty != 0.0f;
}

static float penalize(const g4_sampler_params *p, float logit, int32_t count)
{
    float scaled = logit > 0.0f ? logit / p->repeat_penalty : logit * p->repeat_penalty;
    return scaled - p->presence_penalty - (float)count * p->frequency_penalty;
}

/* The logits the rest of the pipeline sees: the caller's own when no penalty applies. */
static const float *apply_penalties(g4_sampler *s, const float *logits)
{
    if (s->n_recent == 0 || !penalties_active(&s->params))
        return logits;
    memcpy(s->penalized, logits, (size_t)s->vocab_size * sizeof *logits);
    /* Computed from the caller's logit, so a token that occurs several times in the
     * window is still penalized only once. */
    for (int32_t i = 0; i < s->n_recent; i++) {
        int32_t id = s->recent[i];
        s->penalized[id] = penalize(&s->params, logits[id], s->recent_count[id]);
    }
    return s->penalized;
}

/* ---- ranking ----------------------------------------------------------------------------- */

/* Whether a ranks below b: a smaller value, or the same value and a higher id. Ids are
 * distinct, so this orders candidates strictly and every selection below is exact. */
static bool ranks_below(candidate a, candidate b)
{
    return a.value < b.value || (a.value == b.value && a.id > b.id);
}

static void swap_candidates(candidate *a, candidate *b)
{
    candidate tmp = *a;
    *a = *b;
    *b = tmp;
}

/* The heap keeps its lowest-ranked candidate at the root. */
static void sift_down(candidate *heap, size_t size, size_t i)
{
    for (;;) {
        size_t lowest = i, left = 2 * i + 1, right = 2 * i + 2;
        if (left < size && ranks_below(heap[left], heap[lowest]))
            lowest = left;
        if (right < size && ranks_below(heap[right], heap[lowest]))
            lowest = right;
        if (lowest == i)
            return;
        swap_candidates(&heap[i], &heap[lowest]);
        i = lowest;
    }
}

static void heapify(candidate *heap, size_t size)
{
    for (size_t i = size / 2; i-- > 0;)
        sift_down(heap, size, i);
}

static int32_t argmax(const float *scores, int32_t vocab_size)
{
    int32_t best = -1;
    float best_score = -INFINITY;
    for (int32_t i = 0; i < vocab_size; i++) {
        if (scores[i] > best_score) {
            best_score = scores[i];
            best = i;
        }
    }
    return best;
}

/* The k best-ranked usable tokens with their logits, in no particular order; returns how
 * many (fewer than k when fewer tokens are usable). One pass with a k-sized heap. */
static size_t select_top_k(const float *scores, int32_t vocab_size, int32_t k,
                           candidate *heap)
{
    size_t size = 0;
    int32_t id = 0;
    for (; id < vocab_size && size < (size_t)k; id++)
        if (scores[id] > -INFINITY)
            heap[size++] = (candidate){id, scores[id]};
    heapify(heap, size);
    /* Ids only grow, so a token with the same logit as the heap's worst ranks below it. */
    for (; id < vocab_size; id++) {
        if (scores[id] > heap[0].value) {
            heap[0] = (candidate){id, scores[id]};
            sift_down(heap, size, 0);
        }
    }
    return size;
}

/* Moves the candidates of [lo, hi) that rank above a pivot (the middle one) before it;
 * returns the pivot's new index and, in *above_weight, the weight of those before it. */
static size_t partition_around_pivot(candidate *c, size_t lo, size_t hi, double *above_weight)
{
    swap_candidates(&c[lo + (hi - lo) / 2], &c[hi - 1]);
    candidate pivot = c[hi - 1];
    size_t next = lo;
    double weight = 0.0;
    for (size_t i = lo; i < hi - 1; i++) {
        if (ranks_below(pivot, c[i])) {
            weight += c[i].value;
            swap_candidates(&c[i], &c[next++]);
        }
    }
    swap_candidates(&c[next], &c[hi - 1]);
    *above_weight = weight;
    return next;
}

/* ---- probabilities ------------------------------------------------------------------------ */

/* exp((logit - best) / temperature): 1 for the best token, in [0, 1] for the others. */
static float relative_weight(float logit, float best, float temperature)
{
    float difference = logit - best;
    /* Only two +INFINITY logits give a NaN difference: both weigh as much as the best. */
    return isnan(difference) ? 1.0f : expf(difference / temperature);
}

/* Turns the candidates' logits into weights; returns their sum. */
static double weigh_top_k(candidate *c, size_t n, float temperature)
{
    float best = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (c[i].value > best)
            best = c[i].value;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        c[i].value = relative_weight(c[i].value, best, temperature);
        total += c[i].value;
    }
    return total;
}

static float max_score(const float *scores, int32_t vocab_size)
{
    float best = -INFINITY;
    for (int32_t i = 0; i < vocab_size; i++)
        if (scores[i] > best)
            best = scores[i];
    return best;
}

/* Weighs every usable token (without top-k) and returns the sum of all weights in *total,
 * but keeps as candidates only the tokens top-p might keep. Tokens of probability below
 * (1 - top_p) / vocab_size add up to less than 1 - top_p, so the nucleus lies among the
 * others; a weight is at least the probability (the best token's weight alone is 1), so
 * the weight threshold keeps a superset of them. When the distribution is peaked, as it
 * usually is, this leaves the nucleus search only a handful of candidates. */
static size_t weigh_all(const float *scores, int32_t vocab_size, const g4_sampler_params *p,
                        candidate *out, double *total)
{
    float best = max_score(scores, vocab_size);
    float threshold = (1.0f - p->top_p) / (float)vocab_size;
    size_t n = 0;
    double sum = 0.0;
    for (int32_t id = 0; id < vocab_size; id++) {
        if (!(scores[id] > -INFINITY))
            continue;
        float weight = relative_weight(scores[id], best, p->temperature);
        sum += weight;
        if (weight > 0.0f && weight >= threshold)
            out[n++] = (candidate){id, weight};
    }
    *total = sum;
    return n;
}

/* Top-p: moves the nucleus, the fewest best-ranked candidates whose weights add up to
 * top_p of total, to the front and returns its size (all candidates if rounding leaves
 * them just short). A quickselect, so expected linear time: nothing is sorted. */
static size_t select_nucleus(candidate *c, size_t n, double total, float top_p)
{
    if (top_p >= 1.0f)
        return n;
    double needed = (double)top_p * total; /* stays > 0: every candidate weighs > 0 */
    size_t lo = 0, hi = n; /* c[0, lo) is in the nucleus; c[hi, n) is not */
    while (lo < hi) {
        double above;
        size_t pivot = partition_around_pivot(c, lo, hi, &above);
        if (above >= needed) {
            hi = pivot;
        } else if (above + c[pivot].value >= needed) {
            return pivot + 1;
        } else {
            needed -= above + c[pivot].value;
            lo = pivot + 1;
        }
    }
    return lo;
}

/* Drops the candidates below min_p times the best weight (which is 1), and those whose
 * weight underflowed to 0, so that every candidate left can be drawn. */
static size_t drop_below_min_p(candidate *c, size_t n, float min_p)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].value > 0.0f && c[i].value >= min_p)
            c[kept++] = c[i];
    return kept;
}

static int32_t draw(const candidate *c, size_t n, g4_rng *rng)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += c[i].value;
    double target = g4_rng_uniform(rng) * total, sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += c[i].value;
        if (target < sum)
            return c[i].id;
    }
    return c[n - 1].id; /* target rounded up to the total */
}

/* Steps 3 to 7 of the pipeline; -1 when no token is usable. */
static int32_t sample_distribution(g4_sampler *s, const float *scores)
{
    const g4_sampler_params *p = &s->params;
    candidate *c = s->candidates;
    size_t n;
    double total;
    if (p->top_k > 0 && p->top_k < s->vocab_size) {
        n = select_top_k(scores, s->vocab_size, p->top_k, c);
        total = weigh_top_k(c, n, p->temperature);
    } else {
        n = weigh_all(scores, s->vocab_size, p, c, &total);
    }
    n = select_nucleus(c, n, total, p->top_p);
    n = drop_below_min_p(c, n, p->min_p);
    return n > 0 ? draw(c, n, &s->rng) : -1;
}

static int32_t fail_sample(const char *message)
{
    g4_err err = {.code = G4_OK};
    g4_fail(&err, G4_ERR_INVALID_ARG, "%s", message);
    api_report(&err);
    return -1;
}

int32_t g4_sampler_sample(g4_sampler *sampler, const float *logits)
{
    if (!sampler || !logits)
        return fail_sample("sampler: sampler and logits must not be NULL");
    const float *scores = apply_penalties(sampler, logits);
    int32_t id = sampler->params.temperature > 0.0f ? sample_distribution(sampler, scores)
                                                    : argmax(scores, sampler->vocab_size);
    if (id < 0)
        return fail_sample("sampler: every logit is -inf or NaN");
    return id;
}
