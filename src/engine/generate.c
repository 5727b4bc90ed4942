/* g4_generate: feed a prompt, then sample, stream and feed back tokens: one at a time, or
 * a run of drafted tokens checked in one pass (speculative decoding). */
#include <stdlib.h>
#include <time.h>

#include "engine/api_error.h"
#include "engine/session.h"
#include "engine/speculative.h"
#include "engine/text_pipe.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One generation's sampling side: the sampler, the text pipe and the counts. */
typedef struct gen_loop {
    g4_session *s;
    g4_sampler *sampler;
    text_pipe *pipe;
    g4_generate_stats *stats;
} gen_loop;

/* Whether another token may be generated to sit at position pos. */
static bool may_continue(const gen_loop *g, int64_t pos)
{
    const g4_generate_params *p = g->pipe->params;
    if (p->max_tokens >= 0 && g->stats->generated_tokens >= (uint32_t)p->max_tokens)
        return false;
    return pos < g->s->n_ctx;
}

/* Samples the token for position pos from logits and passes it on. Returns false when
 * generation ends before it (the limits, an end-of-turn token) or with it (a stop string,
 * the caller's cancel, max_tokens). */
static bool take_token(gen_loop *g, const float *logits, int64_t pos, int32_t *id, g4_err *err)
{
    if (!may_continue(g, pos))
        return false;
    *id = g4_sampler_sample(g->sampler, logits);
    if (g4_token_is_end_of_generation(g->s->model, *id)) {
        g->stats->stopped_by_eog = true;
        return false;
    }
    g4_sampler_accept(g->sampler, *id);
    g->stats->generated_tokens++;
    if (text_pipe_token(g->pipe, g->s->model, *id, err) != G4_OK)
        return false;
    return !g->pipe->stopped_by_string && !g->pipe->cancelled && may_continue(g, pos);
}

static bool feed_tokens(g4_session *s, const int32_t *ids, size_t n, float *logits, g4_err *err)
{
    if (g4_session_decode(s, ids, n, logits) == G4_OK)
        return true;
    g4_fail(err, G4_ERR_INTERNAL, "%s", g4_last_error());
    return false;
}

static g4_status plain_loop(gen_loop *g, g4_err *err)
{
    int32_t id;
    while (take_token(g, g4_session_logits(g->s), g4_session_position(g->s), &id, err) &&
           feed_tokens(g->s, &id, 1, NULL, err))
        continue;
    return err->code;
}

/* The state of speculative decoding (spec §7.4). */
typedef struct spec_run {
    const spec_proposer *proposer;
    spec_planner planner;
    float *logits;       /* [G4_DRAFT_MAX_LIMIT + 1][n_vocab]: the rows of one pass */
    const float *hidden; /* final-normed hidden state of the last cached position, or NULL */
} spec_run;

/* The most drafts the next pass can take: it must fit the batch and the context, and
 * need not reach past max_tokens. */
static int draft_limit(const gen_loop *g, int64_t pos)
{
    int64_t limit = G4_DRAFT_MAX_LIMIT;
    const g4_generate_params *p = g->pipe->params;
    int64_t bounds[] = {(int64_t)g->s->n_batch - 1, (int64_t)g->s->n_ctx - pos - 1,
                        p->max_tokens >= 0 ? p->max_tokens - (int64_t)g->stats->generated_tokens
                                           : limit};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
        limit = bounds[i] < limit ? bounds[i] : limit;
    return limit > 0 ? (int)limit : 0;
}

static void count_drafts(g4_generate_stats *stats, int k, int accepted, double draft_s,
                         double verify_s)
{
    if (k == 0)
        return;
    stats->draft_steps++;
    stats->drafted_tokens += (uint32_t)k;
    stats->accepted_tokens += (uint32_t)accepted;
    stats->draft_seconds += draft_s;
    stats->verify_seconds += verify_s;
}

/* One step: `last` (already emitted) and up to k drafts go through the model in one pass;
 * a token is sampled from each row in turn while it equals the next draft, and the cache
 * drops what follows the last accepted draft. Returns false when generation ends. */
static bool speculative_step(gen_loop *g, spec_run *run, int32_t *last, g4_err *err)
{
    g4_session *s = g->s;
    int64_t pos = g4_session_position(s), vocab = s->model->net.hp.n_vocab;
    int32_t batch[G4_DRAFT_MAX_LIMIT + 1] = {*last};
    int k = run->hidden ? spec_planner_choose(&run->planner, draft_limit(g, pos)) : 0;
    double t0 = now_seconds();
    if (k > 0)
        k = run->proposer->propose(run->proposer->self, s, *last, run->hidden, batch + 1, k);
    double t1 = now_seconds();
    if (!feed_tokens(s, batch, (size_t)k + 1, run->logits, err))
        return false;
    double t2 = now_seconds();
    int i = 0;
    bool go;
    while ((go = take_token(g, run->logits + i * vocab, pos + i + 1, last, err)) && i < k &&
           *last == batch[i + 1])
        i++;
    if (g4_session_truncate(s, (uint32_t)(pos + i + 1)) != G4_OK) {
        g4_fail(err, G4_ERR_INTERNAL, "%s", g4_last_error());
        return false;
    }
    run->hidden = s->x + i * (int64_t)s->model->net.hp.n_embd;
    spec_planner_record(&run->planner, k, i, go && i < k, t1 - t0, t2 - t1);
    count_drafts(g->stats, k, i, t1 - t0, t2 - t1);
    return go;
}

static g4_status speculative_loop(gen_loop *g, spec_run *run, g4_err *err)
{
    int32_t last;
    bool go = take_token(g, g4_session_logits(g->s), g4_session_position(g->s), &last, err);
    while (go)
        go = speculative_step(g, run, &last, err);
    return err->code;
}

static g4_status check_draft_params(const g4_generate_params *p, g4_err *err)
{
    if (p->draft_max < 0 || p->draft_min < 0)
        return g4_fail(err, G4_ERR_INVALID_ARG, "draft_max and draft_min must not be negative");
    if (p->draft_max > 0 && p->draft_min > p->draft_max)
        return g4_fail(err, G4_ERR_INVALID_ARG, "draft_min (%d) exceeds draft_max (%d)",
                       p->draft_min, p->draft_max);
    return G4_OK;
}

/* Drafting with `given`, or with the model's drafter when given is NULL. */
static g4_status drafting_loop(gen_loop *g, const spec_proposer *given, g4_err *err)
{
    const g4_generate_params *p = g->pipe->params;
    spec_drafter drafter = {0};
    spec_proposer proposer = given ? *given : spec_drafter_proposer(&drafter);
    spec_run run = {.proposer = &proposer};
    spec_planner_init(&run.planner, p->draft_min, p->draft_max, p->draft_fixed);
    run.logits = malloc((size_t)(G4_DRAFT_MAX_LIMIT + 1) * g->s->model->net.hp.n_vocab *
                        sizeof(float));
    if (!run.logits)
        g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for speculative decoding");
    else if (given || spec_drafter_init(&drafter, g->s, err) == G4_OK)
        speculative_loop(g, &run, err);
    if (!given)
        spec_drafter_free(&drafter);
    free(run.logits);
    return err->code;
}

static g4_status sample_loop(gen_loop *g, const spec_proposer *proposer, g4_err *err)
{
    const g4_generate_params *p = g->pipe->params;
    bool drafting = p->draft_max > 0 && (proposer || g4_model_has_drafter(g->s->model));
    if ((drafting ? drafting_loop(g, proposer, err) : plain_loop(g, err)) != G4_OK)
        return err->code;
    return text_pipe_flush(g->pipe, err);
}

/* The prompt of one generation: plain ids, or an input fed from position `first`. */
typedef struct prompt_source {
    const int32_t *ids;
    size_t n;
    const g4_input *input;
    size_t first;
} prompt_source;

static g4_status feed_prompt(g4_session *s, g4_sampler *sampler, const prompt_source *p,
                             g4_err *err)
{
    g4_status st = G4_OK;
    if (p->input)
        st = g4_session_decode_input(s, p->input, p->first, NULL);
    else if (p->n > 0)
        st = g4_session_decode(s, p->ids, p->n, NULL);
    if (st != G4_OK)
        return g4_fail(err, st, "%s", g4_last_error());
    if (!g4_session_logits(s))
        return g4_fail(err, G4_ERR_INVALID_ARG, "nothing to generate from: empty prompt");
    for (size_t i = 0; i < p->n; i++)
        g4_sampler_accept(sampler, p->ids[i]);
    return G4_OK;
}

static g4_status generate(g4_session *session, g4_sampler *sampler, const prompt_source *prompt,
                          const g4_generate_params *params, const spec_proposer *proposer,
                          g4_generate_stats *stats)
{
    g4_err err = {0};
    g4_generate_stats local;
    stats = stats ? stats : &local;
    size_t fed = prompt->input ? prompt->n - prompt->first : prompt->n;
    *stats = (g4_generate_stats){.prompt_tokens = (uint32_t)fed};
    text_pipe pipe;
    if (check_draft_params(params, &err) != G4_OK ||
        text_pipe_init(&pipe, params, &err) != G4_OK)
        return api_report(&err);
    double t0 = now_seconds();
    if (feed_prompt(session, sampler, prompt, &err) == G4_OK) {
        double t1 = now_seconds();
        stats->prompt_seconds = t1 - t0;
        gen_loop loop = {session, sampler, &pipe, stats};
        sample_loop(&loop, proposer, &err);
        stats->generate_seconds = now_seconds() - t1;
        stats->stopped_by_string = pipe.stopped_by_string;
    }
    text_pipe_free(&pipe);
    return api_report(&err);
}

g4_status g4_generate(g4_session *session, g4_sampler *sampler, const int32_t *prompt,
                      size_t n_prompt, const g4_generate_params *params,
                      g4_generate_stats *stats)
{
    return generate(session, sampler, &(prompt_source){prompt, n_prompt, NULL, 0}, params,
                    NULL, stats);
}

g4_status generate_speculative(g4_session *session, g4_sampler *sampler, const int32_t *prompt,
                               size_t n_prompt, const g4_generate_params *params,
                               const spec_proposer *proposer, g4_generate_stats *stats)
{
    return generate(session, sampler, &(prompt_source){prompt, n_prompt, NULL, 0}, params,
                    proposer, stats);
}

g4_status g4_generate_input(g4_session *session, g4_sampler *sampler, const g4_input *input,
                            size_t first, const g4_generate_params *params,
                            g4_generate_stats *stats)
{
    if (!input)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "no input given"});
    prompt_source source = {g4_input_tokens(input), g4_input_n_tokens(input), input, first};
    return generate(session, sampler, &source, params, NULL, stats);
}
