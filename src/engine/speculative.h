/* Speculative decoding (spec §7.4): what proposes draft tokens, and how many to draft. */
#ifndef G4_ENGINE_SPECULATIVE_H
#define G4_ENGINE_SPECULATIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/session.h"
#include "model/drafter.h"

/* Proposes draft tokens for a session. */
typedef struct spec_proposer {
    /* Writes up to max tokens that may follow `last` (the token about to enter the session
     * at its current position) and returns how many. hidden is the model's final-normed
     * hidden state of the position before `last` (n_embd floats). */
    int (*propose)(void *self, const g4_session *s, int32_t last, const float *hidden,
                   int32_t *drafts, int max);
    void *self;
} spec_proposer;

/* The model's MTP drafter as a proposer: greedy drafts from a constant position. */
typedef struct spec_drafter {
    const g4_model *model;
    drafter_state state;
    float *input;  /* [2][n_embd]: the last token's scaled embedding, then g */
    float *logits; /* [n_vocab] */
} spec_drafter;

g4_status spec_drafter_init(spec_drafter *d, const g4_session *s, g4_err *err);
void spec_drafter_free(spec_drafter *d);
spec_proposer spec_drafter_proposer(spec_drafter *d);

/* How many tokens to draft: the count that maximises the expected tokens per second
 * under measured costs (a drafter step, a pass of the model over m tokens) and the
 * running acceptance rate, or none while no count beats plain decoding. */
typedef struct spec_planner {
    int draft_min, draft_max;
    bool fixed;             /* always draft_max */
    double accepted, tried; /* decayed counts of accepted drafts and of drafts checked */
    double step_seconds;    /* a pass over one token (0 = not measured yet) */
    double extra_seconds;   /* each further token of a pass (< 0 = not measured yet) */
    double draft_seconds;   /* one drafter step (< 0 = not measured yet) */
    int idle_steps;         /* steps since drafting was last tried */
} spec_planner;

void spec_planner_init(spec_planner *p, int draft_min, int draft_max, bool fixed);
/* The number of drafts for the next step, at most limit. */
int spec_planner_choose(spec_planner *p, int limit);
/* What a step did: k tokens drafted (in draft_s seconds), the first `accepted` of them
 * accepted and the next one rejected (or not checked: generation ended), and the model's
 * pass over k + 1 tokens took verify_s seconds. */
void spec_planner_record(spec_planner *p, int k, int accepted, bool rejected, double draft_s,
                         double verify_s);

/* g4_generate with an explicit proposer (NULL: the model's drafter, if any and enabled). */
g4_status generate_speculative(g4_session *session, g4_sampler *sampler, const int32_t *prompt,
                               size_t n_prompt, const g4_generate_params *params,
                               const spec_proposer *proposer, g4_generate_stats *stats);

#endif
