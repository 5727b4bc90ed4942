/* Decoding one token for each of several sessions in one forward pass: the weights are
 * read once for all of them (continuous batching in the server). */
#ifndef G4_ENGINE_SESSION_BATCH_H
#define G4_ENGINE_SESSION_BATCH_H

#include "engine/session.h"

typedef struct session_batch session_batch;

/* Buffers for up to max_sessions sessions of one model. */
g4_status session_batch_new(const g4_model *model, int max_sessions, session_batch **out,
                            g4_err *err);
void session_batch_free(session_batch *batch);

/* Appends ids[i] to sessions[i] (n distinct sessions of the batch's model with equal
 * context sizes) and runs them as one pass; each session's logits are then those of its
 * new token, as if it had been decoded alone. */
g4_status session_decode_batch(session_batch *batch, g4_session *const *sessions,
                               const int32_t *ids, int n, g4_err *err);

#endif
