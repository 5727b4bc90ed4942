/* Attaching the MTP drafter, drafting with it, and choosing how many tokens to draft. */
#include "engine/speculative.h"

#include <stdlib.h>
#include <string.h>

#include "engine/api_error.h"
#include "model/gemma4_forward.h"

g4_status g4_model_load_drafter(g4_model *model, const char *path)
{
    g4_err err = {0};
    if (!path)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "no drafter path given"});
    if (model->drafter_file)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "a drafter is already attached"});
    gguf_open_options open = {.copy = !model->use_mmap};
    gguf_file *file = NULL;
    if (gguf_open_with(path, &open, &file, &err) == G4_OK &&
        drafter_load(file, model->file, &model->net, model->exact_math, &model->drafter,
                     &err) == G4_OK) {
        model->drafter_file = file;
        return api_report(&err);
    }
    gguf_close(file);
    g4_fail_context(&err, "%s", path);
    return api_report(&err);
}

bool g4_model_has_drafter(const g4_model *model)
{
    return model->drafter_file != NULL;
}

/* ---- the drafter as a proposer --------------------------------------------------------- */

static int32_t argmax(const float *row, int32_t n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (row[i] > row[best])
            best = i;
    return best;
}

/* Greedy drafts (spec §7.4): every step queries the same position, fed the previous
 * draft and the drafter's own projected state. Drafting ends at an end-of-turn token. */
static int drafter_propose(void *self, const g4_session *s, int32_t last, const float *hidden,
                           int32_t *drafts, int max)
{
    spec_drafter *d = self;
    const gemma4_model *net = &d->model->net;
    int64_t embd = net->hp.n_embd;
    memcpy(d->input + embd, hidden, (size_t)embd * sizeof(float));
    int32_t token = last;
    int n = 0;
    while (n < max) {
        gemma4_embed_tokens(net, &token, 1, d->input);
        drafter_step(&d->model->drafter, &d->state, d->model->pool, &s->state.kv, d->input,
                     d->logits, d->input + embd);
        token = argmax(d->logits, (int32_t)d->model->drafter.n_vocab);
        drafts[n++] = token;
        if (g4_token_is_end_of_generation(d->model, token))
            break;
    }
    return n;
}

g4_status spec_drafter_init(spec_drafter *d, const g4_session *s, g4_err *err)
{
    memset(d, 0, sizeof *d);
    const g4_model *model = s->model;
    d->model = model;
    d->input = malloc(2 * (size_t)model->net.hp.n_embd * sizeof(float));
    d->logits = malloc((size_t)model->drafter.n_vocab * sizeof(float));
    g4_status st = d->input && d->logits
                       ? drafter_state_init(&d->state, &model->drafter, s->n_ctx,
                                            model->n_threads, err)
                       : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the drafter");
    if (st != G4_OK)
        spec_drafter_free(d);
    return st;
}

void spec_drafter_free(spec_drafter *d)
{
    drafter_state_free(&d->state);
    free(d->input);
    free(d->logits);
    memset(d, 0, sizeof *d);
}

spec_proposer spec_drafter_proposer(spec_drafter *d)
{
    return (spec_proposer){drafter_propose, d};
}

/* ---- how many to draft ----------------------------------------------------------------- */

/* Weight of the past in the running estimates, per step. */
#define SPEC_DECAY 0.9
/* While drafting does not pay, it is tried again after this many steps, to notice when
 * the text becomes predictable. */
enum { SPEC_PROBE_EVERY = 32 };

void spec_planner_init(spec_planner *p, int draft_min, int draft_max, bool fixed)
{
    *p = (spec_planner){
        .draft_min = draft_min < 1 ? 1 : draft_min,
        .draft_max = draft_max > G4_DRAFT_MAX_LIMIT ? G4_DRAFT_MAX_LIMIT : draft_max,
        .fixed = fixed,
        .step_seconds = -1.0,
        .extra_seconds = -1.0,
        .draft_seconds = -1.0,
    };
}

static double running(double old, double sample)
{
    return old < 0.0 ? sample : SPEC_DECAY * old + (1.0 - SPEC_DECAY) * sample;
}

/* Probability that a draft is accepted, given the one before it was (a uniform prior
 * counted as one success and one failure). */
static double acceptance(const spec_planner *p)
{
    return (p->accepted + 1.0) / (p->tried + 2.0);
}

/* Tokens a step with k drafts emits on average: the accepted drafts plus the model's own. */
static double expected_tokens(double a, int k)
{
    double sum = 1.0, term = 1.0;
    for (int j = 1; j <= k; j++)
        sum += term *= a;
    return sum;
}

static double step_cost(const spec_planner *p, int k)
{
    return p->step_seconds + k * (p->draft_seconds + p->extra_seconds);
}

int spec_planner_choose(spec_planner *p, int limit)
{
    int hi = p->draft_max < limit ? p->draft_max : limit;
    if (hi < p->draft_min)
        return 0;
    if (p->fixed || p->step_seconds < 0.0 || p->extra_seconds < 0.0 ||
        p->draft_seconds < 0.0)
        return hi;
    double a = acceptance(p), best_rate = 1.0 / p->step_seconds;
    int best = 0;
    for (int k = p->draft_min; k <= hi; k++) {
        double rate = expected_tokens(a, k) / step_cost(p, k);
        if (rate > best_rate) {
            best_rate = rate;
            best = k;
        }
    }
    if (best > 0 || ++p->idle_steps >= SPEC_PROBE_EVERY) {
        p->idle_steps = 0;
        return best > 0 ? best : p->draft_min;
    }
    return 0;
}

void spec_planner_record(spec_planner *p, int k, int accepted, bool rejected, double draft_s,
                         double verify_s)
{
    if (k == 0) {
        p->step_seconds = running(p->step_seconds, verify_s);
        return;
    }
    p->accepted = SPEC_DECAY * p->accepted + accepted;
    p->tried = SPEC_DECAY * p->tried + accepted + (rejected ? 1 : 0);
    p->draft_seconds = running(p->draft_seconds, draft_s / k);
    if (p->step_seconds >= 0.0) {
        double extra = (verify_s - p->step_seconds) / k;
        p->extra_seconds = running(p->extra_seconds, extra > 0.0 ? extra : 0.0);
    }
}
