#include "engine/session_batch.h"

#include <stdlib.h>
#include <string.h>

struct session_batch {
    const g4_model *model;
    int max_sessions;
    float *x;      /* [max_sessions][n_embd] */
    float *logits; /* [max_sessions][n_vocab] */
    gemma4_seq *seqs;
};

g4_status session_batch_new(const g4_model *model, int max_sessions, session_batch **out,
                            g4_err *err)
{
    *out = NULL;
    if (max_sessions < 1)
        return g4_fail(err, G4_ERR_INVALID_ARG, "a batch needs at least one session");
    session_batch *b = calloc(1, sizeof *b);
    if (!b)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    const gemma4_hparams *hp = &model->net.hp;
    b->model = model;
    b->max_sessions = max_sessions;
    b->x = malloc((size_t)max_sessions * hp->n_embd * sizeof(float));
    b->logits = malloc((size_t)max_sessions * hp->n_vocab * sizeof(float));
    b->seqs = malloc((size_t)max_sessions * sizeof *b->seqs);
    if (!b->x || !b->logits || !b->seqs) {
        session_batch_free(b);
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for a batch");
    }
    *out = b;
    return G4_OK;
}

void session_batch_free(session_batch *batch)
{
    if (!batch)
        return;
    free(batch->x);
    free(batch->logits);
    free(batch->seqs);
    free(batch);
}

static g4_status check_batch(const session_batch *b, g4_session *const *sessions,
                             const int32_t *ids, int n, g4_err *err)
{
    if (n < 1 || n > b->max_sessions || (uint32_t)n > sessions[0]->n_batch)
        return g4_fail(err, G4_ERR_INVALID_ARG, "a batch of %d sessions (at most %d)", n,
                       b->max_sessions);
    for (int i = 0; i < n; i++) {
        const g4_session *s = sessions[i];
        if (s->model != b->model || s->n_ctx != sessions[0]->n_ctx)
            return g4_fail(err, G4_ERR_INVALID_ARG, "session %d of the batch has another "
                           "model or context size", i);
        if (ids[i] < 0 || ids[i] >= (int32_t)b->model->net.hp.n_vocab)
            return g4_fail(err, G4_ERR_INVALID_ARG, "token id %d is outside the vocabulary",
                           ids[i]);
        if (g4_session_position(s) >= s->n_ctx)
            return g4_fail(err, G4_ERR_CONTEXT_FULL, "session %d of the batch is full", i);
        for (int j = 0; j < i; j++)
            if (sessions[j] == s)
                return g4_fail(err, G4_ERR_INVALID_ARG, "a session appears twice in a batch");
    }
    return G4_OK;
}

g4_status session_decode_batch(session_batch *batch, g4_session *const *sessions,
                               const int32_t *ids, int n, g4_err *err)
{
    if (check_batch(batch, sessions, ids, n, err) != G4_OK)
        return err->code;
    const gemma4_model *net = &batch->model->net;
    int64_t vocab = net->hp.n_vocab;
    gemma4_embed_tokens(net, ids, n, batch->x);
    for (int i = 0; i < n; i++) {
        g4_session *s = sessions[i];
        uint32_t pos = g4_session_position(s);
        s->tokens[pos] = ids[i];
        s->keys[pos] = 0;
        batch->seqs[i] = (gemma4_seq){.kv = &s->state.kv, .n = 1, .blocks = NULL};
    }
    gemma4_state *work = &sessions[0]->state;
    threadpool *pool = batch->model->pool;
    gemma4_forward_batch(net, work, pool, batch->x, batch->seqs, n, NULL);
    gemma4_logits(net, work, pool, batch->x, n, batch->logits);
    for (int i = 0; i < n; i++) {
        memcpy(sessions[i]->logits, batch->logits + i * vocab, (size_t)vocab * sizeof(float));
        sessions[i]->has_logits = true;
    }
    return G4_OK;
}
