/* g4_session_*: a context (KV cache) over a loaded model, fed tokens in batches. */
#include <stdlib.h>
#include <string.h>

#include "engine/api_error.h"
#include "engine/session.h"
#include "model/gemma4_forward.h"

enum { DEFAULT_CTX = 4096, DEFAULT_BATCH = 512 };

void g4_session_params_init(g4_session_params *params)
{
    params->n_ctx = 0;
    params->n_batch = 0;
}

static void resolve_sizes(const g4_model *model, const g4_session_params *p, uint32_t *n_ctx,
                          uint32_t *n_batch)
{
    *n_ctx = p && p->n_ctx ? p->n_ctx : DEFAULT_CTX;
    if (*n_ctx > model->net.hp.n_ctx_train)
        *n_ctx = model->net.hp.n_ctx_train;
    *n_batch = p && p->n_batch ? p->n_batch : DEFAULT_BATCH;
    if (*n_batch > *n_ctx)
        *n_batch = *n_ctx;
}

uint64_t session_bytes(const g4_model *model, uint32_t n_ctx, uint32_t n_batch)
{
    return gemma4_state_bytes(&model->net, n_ctx, n_batch, model->n_threads) +
           ((uint64_t)n_batch * model->net.hp.n_embd + model->net.hp.n_vocab) * sizeof(float);
}

uint64_t g4_model_session_bytes(const g4_model *model, uint32_t n_ctx)
{
    g4_session_params p = {.n_ctx = n_ctx};
    uint32_t ctx, batch;
    resolve_sizes(model, &p, &ctx, &batch);
    return session_bytes(model, ctx, batch);
}

g4_status g4_session_new(g4_model *model, const g4_session_params *params, g4_session **out)
{
    g4_err err = {0};
    *out = NULL;
    g4_session *s = calloc(1, sizeof *s);
    if (!s)
        return api_report(&(g4_err){G4_ERR_NO_MEMORY, "out of memory"});
    s->model = model;
    resolve_sizes(model, params, &s->n_ctx, &s->n_batch);
    s->x = malloc((size_t)s->n_batch * model->net.hp.n_embd * sizeof(float));
    s->logits = malloc((size_t)model->net.hp.n_vocab * sizeof(float));
    s->tokens = malloc((size_t)s->n_ctx * sizeof(int32_t));
    if (!s->x || !s->logits || !s->tokens)
        g4_fail(&err, G4_ERR_NO_MEMORY, "out of memory for a session");
    else
        gemma4_state_init(&s->state, &model->net, s->n_ctx, s->n_batch, model->n_threads,
                          &err);
    if (err.code != G4_OK) {
        g4_session_free(s);
        return api_report(&err);
    }
    *out = s;
    return api_report(&err);
}

void g4_session_free(g4_session *session)
{
    if (!session)
        return;
    gemma4_state_free(&session->state);
    free(session->x);
    free(session->logits);
    free(session->tokens);
    free(session);
}

uint32_t g4_session_n_ctx(const g4_session *session)
{
    return session->n_ctx;
}

uint32_t g4_session_position(const g4_session *session)
{
    return (uint32_t)session->state.kv.n_pos;
}

g4_status g4_session_truncate(g4_session *session, uint32_t n_keep)
{
    g4_err err = {0};
    kv_cache_truncate(&session->state.kv, n_keep, &err);
    if (err.code == G4_OK && n_keep < g4_session_position(session))
        session->has_logits = false;
    return api_report(&err);
}

size_t g4_session_reuse_prefix(g4_session *session, const int32_t *ids, size_t n)
{
    size_t held = g4_session_position(session), common = 0;
    while (common < held && common + 1 < n && session->tokens[common] == ids[common])
        common++;
    if (g4_session_truncate(session, (uint32_t)common) != G4_OK) {
        g4_session_truncate(session, 0);
        common = 0;
    }
    return common;
}

void session_capture_hidden(g4_session *session, float *buf)
{
    session->capture = buf;
}

static g4_status check_tokens(const g4_session *s, const int32_t *ids, size_t n, g4_err *err)
{
    int32_t vocab = (int32_t)s->model->net.hp.n_vocab;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab)
            return g4_fail(err, G4_ERR_INVALID_ARG,
                           "token id %d at index %zu is outside the vocabulary (0..%d)",
                           ids[i], i, vocab - 1);
    if (n > s->n_ctx - g4_session_position(s))
        return g4_fail(err, G4_ERR_CONTEXT_FULL,
                       "%zu tokens do not fit: %u of the context's %u are used", n,
                       g4_session_position(s), s->n_ctx);
    return G4_OK;
}

/* One forward pass over at most n_batch tokens. */
static void decode_chunk(g4_session *s, const int32_t *ids, int64_t n, float *all_logits,
                         bool want_last)
{
    const gemma4_model *net = &s->model->net;
    int64_t embd = net->hp.n_embd;
    memcpy(s->tokens + s->state.kv.n_pos, ids, (size_t)n * sizeof(int32_t));
    gemma4_embed_tokens(net, ids, n, s->x);
    gemma4_forward(net, &s->state, s->model->pool, s->x, n, NULL, s->capture);
    if (all_logits) {
        gemma4_logits(net, &s->state, s->model->pool, s->x, n, all_logits);
        if (want_last)
            memcpy(s->logits, all_logits + (n - 1) * (int64_t)net->hp.n_vocab,
                   net->hp.n_vocab * sizeof(float));
    } else if (want_last) {
        gemma4_logits(net, &s->state, s->model->pool, s->x + (n - 1) * embd, 1, s->logits);
    }
}

g4_status g4_session_decode(g4_session *session, const int32_t *ids, size_t n,
                            float *all_logits)
{
    g4_err err = {0};
    if (!ids && n > 0)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "no token ids given"});
    if (check_tokens(session, ids, n, &err) != G4_OK)
        return api_report(&err);
    int64_t vocab = session->model->net.hp.n_vocab;
    for (size_t done = 0; done < n;) {
        size_t chunk = n - done < session->n_batch ? n - done : session->n_batch;
        decode_chunk(session, ids + done, (int64_t)chunk,
                     all_logits ? all_logits + (int64_t)done * vocab : NULL, done + chunk == n);
        done += chunk;
    }
    if (n > 0)
        session->has_logits = true;
    return api_report(&err);
}

const float *g4_session_logits(const g4_session *session)
{
    return session->has_logits ? session->logits : NULL;
}
