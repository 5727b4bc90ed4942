/* The object behind g4_session, and internal entry points the tests and the multimodal
 * path use. */
#ifndef G4_ENGINE_SESSION_H
#define G4_ENGINE_SESSION_H

#include "engine/model.h"
#include "model/gemma4_forward.h"

struct g4_session {
    g4_model *model;
    gemma4_state state;
    uint32_t n_ctx;
    uint32_t n_batch;
    float *x;        /* [n_batch][n_embd] inputs of one forward pass */
    float *logits;   /* [n_vocab] of the last position */
    bool has_logits;
    float *capture;  /* optional: residual stream per layer (see gemma4_forward) */
    int32_t *tokens; /* [n_ctx] the ids at each cached position */
    uint64_t *keys;  /* [n_ctx] 0 for text; for soft tokens, their media content and row */
    attention_span *spans; /* [n_batch] the image block of each input of one pass */
    gemma4_blocks blocks;  /* spans and the session's image attention rule */
};

/* The sizes a session with these parameters gets (defaults filled in, clamped). */
gemma4_state_sizes session_sizes(const g4_model *model, const g4_session_params *params);

/* How many leading positions of input g4_session_reuse_input would keep, without
 * changing the session (the server picks the session sharing the longest prefix). */
size_t session_shared_input(const g4_session *session, const g4_input *input);

/* Feeds one forward pass of the input from position first (at most n_batch positions,
 * never splitting an image) and sets *next to where the following pass starts: a long
 * prompt read a pass at a time, so that other sessions' steps can run in between. */
g4_status session_decode_input_pass(g4_session *session, const g4_input *input, size_t first,
                                    size_t *next, g4_err *err);

/* Captures the residual stream of the next decode call into buf, which must hold
 * (n_layer + 1) * n * n_embd floats for a call of n <= n_batch tokens; NULL stops. */
void session_capture_hidden(g4_session *session, float *buf);

#endif
