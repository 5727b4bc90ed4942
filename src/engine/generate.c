/* g4_generate: feed a prompt, then sample, stream and feed back one token at a time. */
#include <stdlib.h>
#include <time.h>

#include "engine/api_error.h"
#include "engine/session.h"
#include "engine/text_pipe.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool may_continue(const g4_session *s, const g4_generate_params *p, uint32_t done)
{
    if (p->max_tokens >= 0 && done >= (uint32_t)p->max_tokens)
        return false;
    return g4_session_position(s) < s->n_ctx;
}

static g4_status sample_loop(g4_session *s, g4_sampler *sampler, text_pipe *pipe,
                             g4_generate_stats *stats, g4_err *err)
{
    while (may_continue(s, pipe->params, stats->generated_tokens)) {
        int32_t id = g4_sampler_sample(sampler, g4_session_logits(s));
        if (g4_token_is_end_of_generation(s->model, id)) {
            stats->stopped_by_eog = true;
            break;
        }
        g4_sampler_accept(sampler, id);
        stats->generated_tokens++;
        if (text_pipe_token(pipe, s->model, id, err) != G4_OK)
            return err->code;
        if (pipe->stopped_by_string || pipe->cancelled ||
            !may_continue(s, pipe->params, stats->generated_tokens))
            break;
        if (g4_session_decode(s, &id, 1, NULL) != G4_OK)
            return g4_fail(err, G4_ERR_INTERNAL, "%s", g4_last_error());
    }
    return text_pipe_flush(pipe, err);
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
                          const g4_generate_params *params, g4_generate_stats *stats)
{
    g4_err err = {0};
    g4_generate_stats local;
    stats = stats ? stats : &local;
    size_t fed = prompt->input ? prompt->n - prompt->first : prompt->n;
    *stats = (g4_generate_stats){.prompt_tokens = (uint32_t)fed};
    text_pipe pipe;
    if (text_pipe_init(&pipe, params, &err) != G4_OK)
        return api_report(&err);
    double t0 = now_seconds();
    if (feed_prompt(session, sampler, prompt, &err) == G4_OK) {
        double t1 = now_seconds();
        stats->prompt_seconds = t1 - t0;
        sample_loop(session, sampler, &pipe, stats, &err);
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
                    stats);
}

g4_status g4_generate_input(g4_session *session, g4_sampler *sampler, const g4_input *input,
                            size_t first, const g4_generate_params *params,
                            g4_generate_stats *stats)
{
    if (!input)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "no input given"});
    prompt_source source = {g4_input_tokens(input), g4_input_n_tokens(input), input, first};
    return generate(session, sampler, &source, params, stats);
}
