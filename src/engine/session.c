/* g4_session_*: a context (KV cache) over a loaded model, fed tokens in batches. */
#include <stdlib.h>
#include <string.h>

#include "engine/api_error.h"
#include "engine/input.h"
#include "engine/session.h"
#include "model/gemma4_forward.h"

enum { DEFAULT_CTX = 4096, DEFAULT_BATCH = 512 };

void g4_session_params_init(g4_session_params *params)
{
    params->n_ctx = 0;
    params->n_batch = 0;
    params->image_attention = G4_IMAGE_ATTENTION_SLIDING;
    params->kv_type = G4_KV_F16;
}

static g4_type kv_element_type(g4_kv_type kv)
{
    switch (kv) {
    case G4_KV_F32: return G4_TYPE_F32;
    case G4_KV_Q8_0: return G4_TYPE_Q8_0;
    case G4_KV_F16: break;
    }
    return G4_TYPE_F16;
}

gemma4_state_sizes session_sizes(const g4_model *model, const g4_session_params *p)
{
    gemma4_state_sizes sz = {
        .n_ctx = p && p->n_ctx ? p->n_ctx : DEFAULT_CTX,
        .n_batch = p && p->n_batch ? p->n_batch : DEFAULT_BATCH,
        .kv_type = kv_element_type(p ? p->kv_type : G4_KV_F16),
        .n_threads = model->n_threads,
    };
    if (sz.n_ctx > (int64_t)model->net.hp.n_ctx_train)
        sz.n_ctx = model->net.hp.n_ctx_train;
    if (sz.n_batch > sz.n_ctx)
        sz.n_batch = sz.n_ctx;
    return sz;
}

static uint64_t session_bytes(const g4_model *model, const gemma4_state_sizes *sz)
{
    uint64_t n_ctx = (uint64_t)sz->n_ctx, n_batch = (uint64_t)sz->n_batch;
    return gemma4_state_bytes(&model->net, sz) +
           (n_batch * model->net.hp.n_embd + model->net.hp.n_vocab) * sizeof(float) +
           n_ctx * (sizeof(int32_t) + sizeof(uint64_t)) + n_batch * sizeof(attention_span);
}

uint64_t g4_model_session_bytes(const g4_model *model, const g4_session_params *params)
{
    gemma4_state_sizes sz = session_sizes(model, params);
    return session_bytes(model, &sz);
}

g4_status g4_session_new(g4_model *model, const g4_session_params *params, g4_session **out)
{
    g4_err err = {0};
    *out = NULL;
    g4_session *s = calloc(1, sizeof *s);
    if (!s)
        return api_report(&(g4_err){G4_ERR_NO_MEMORY, "out of memory"});
    s->model = model;
    gemma4_state_sizes sz = session_sizes(model, params);
    s->n_ctx = (uint32_t)sz.n_ctx;
    s->n_batch = (uint32_t)sz.n_batch;
    s->blocks.all_layers = params && params->image_attention == G4_IMAGE_ATTENTION_ALL_LAYERS;
    s->x = malloc((size_t)s->n_batch * model->net.hp.n_embd * sizeof(float));
    s->logits = malloc((size_t)model->net.hp.n_vocab * sizeof(float));
    s->tokens = malloc((size_t)s->n_ctx * sizeof(int32_t));
    s->keys = malloc((size_t)s->n_ctx * sizeof(uint64_t));
    s->spans = malloc((size_t)s->n_batch * sizeof(attention_span));
    s->blocks.spans = s->spans;
    if (!s->x || !s->logits || !s->tokens || !s->keys || !s->spans)
        g4_fail(&err, G4_ERR_NO_MEMORY, "out of memory for a session");
    else
        gemma4_state_init(&s->state, &model->net, &sz, &err);
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
    free(session->keys);
    free(session->spans);
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

/* The session keeps the first `common` positions (backing off to 0 if a sliding-window
 * layer can no longer rewind that far). */
static size_t keep_prefix(g4_session *session, size_t common)
{
    if (g4_session_truncate(session, (uint32_t)common) != G4_OK) {
        g4_session_truncate(session, 0);
        common = 0;
    }
    return common;
}

static uint64_t position_key(const g4_input *in, size_t i)
{
    if (!in || !in->media[i])
        return 0;
    return in->media[i]->key ^ ((uint64_t)(in->row[i] + 1) * 0x9E3779B97F4A7C15ull);
}

static bool inside_block(const g4_input *in, size_t i)
{
    return i > 0 && i < in->n && in->block_last[i] >= 0 &&
           in->block_last[i - 1] == in->block_last[i];
}

/* How many leading positions the session holds exactly as ids (and, for an input, its
 * media rows) give them: at most n - 1, so that the last one is evaluated again. */
static size_t shared_prefix(const g4_session *s, const int32_t *ids, size_t n,
                            const g4_input *input)
{
    size_t held = g4_session_position(s), common = 0;
    while (common < held && common + 1 < n && s->tokens[common] == ids[common] &&
           s->keys[common] == position_key(input, common))
        common++;
    return common;
}

size_t g4_session_reuse_prefix(g4_session *session, const int32_t *ids, size_t n)
{
    return keep_prefix(session, shared_prefix(session, ids, n, NULL));
}

size_t session_shared_input(const g4_session *session, const g4_input *input)
{
    size_t common = shared_prefix(session, input->ids, input->n, input);
    while (inside_block(input, common))
        common--;
    return common;
}

size_t g4_session_reuse_input(g4_session *session, const g4_input *input)
{
    return keep_prefix(session, session_shared_input(session, input));
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

/* What one decode call feeds: ids[first .. end), and for an input its media rows. */
typedef struct feed {
    const int32_t *ids;
    const g4_input *input; /* NULL for plain tokens */
    size_t first, end;
} feed;

/* The media behind position i, or NULL for a text token. */
static const g4_media *media_at(const feed *f, size_t i)
{
    return f->input ? f->input->media[i] : NULL;
}

/* Inputs of positions [a, b): token embeddings, or media rows for soft tokens. */
static g4_status embed_span(g4_session *s, const feed *f, size_t a, size_t b, g4_err *err)
{
    const gemma4_model *net = &s->model->net;
    int64_t embd = net->hp.n_embd;
    for (size_t i = a; i < b;) {
        const g4_media *m = media_at(f, i);
        size_t j = i + 1;
        while (j < b && media_at(f, j) == m &&
               (!m || f->input->row[j] == f->input->row[j - 1] + 1))
            j++;
        float *x = s->x + (int64_t)(i - a) * embd;
        if (!m)
            gemma4_embed_tokens(net, f->ids + i, (int64_t)(j - i), x);
        else if (media_embed_rows(s->model, m, f->input->row[i], (int64_t)(j - i), x, err))
            return err->code;
        i = j;
    }
    return G4_OK;
}

/* The image blocks of positions [a, b), or NULL when none is in one. A pass never starts
 * or ends inside a block, so a block begins where the previous input is not in it. */
static const gemma4_blocks *pass_blocks(g4_session *s, const feed *f, size_t a, size_t b)
{
    bool any = false;
    int64_t pos0 = s->state.kv.n_pos;
    for (size_t i = a; f->input && i < b; i++) {
        int32_t last = f->input->block_last[i];
        attention_span *span = &s->spans[i - a];
        if (last < 0)
            *span = (attention_span){-1, -1};
        else if (i > a && f->input->block_last[i - 1] == last)
            *span = span[-1];
        else
            *span = (attention_span){pos0 + (int64_t)(i - a), pos0 + (int64_t)(last - a)};
        any |= last >= 0;
    }
    return any ? &s->blocks : NULL;
}

static void record_positions(g4_session *s, const feed *f, size_t a, size_t b)
{
    int64_t pos0 = s->state.kv.n_pos;
    for (size_t i = a; i < b; i++) {
        s->tokens[pos0 + (int64_t)(i - a)] = f->ids[i];
        s->keys[pos0 + (int64_t)(i - a)] = position_key(f->input, i);
    }
}

/* One forward pass over positions [a, b) (at most n_batch). */
static g4_status decode_chunk(g4_session *s, const feed *f, size_t a, size_t b,
                              float *all_logits, g4_err *err)
{
    const gemma4_model *net = &s->model->net;
    int64_t embd = net->hp.n_embd, n = (int64_t)(b - a);
    if (embed_span(s, f, a, b, err) != G4_OK)
        return err->code;
    const gemma4_blocks *blocks = pass_blocks(s, f, a, b);
    record_positions(s, f, a, b);
    gemma4_forward(net, &s->state, s->model->pool, s->x, n, blocks, s->capture);
    bool want_last = b == f->end;
    if (all_logits) {
        gemma4_logits(net, &s->state, s->model->pool, s->x, n, all_logits);
        if (want_last)
            memcpy(s->logits, all_logits + (n - 1) * (int64_t)net->hp.n_vocab,
                   net->hp.n_vocab * sizeof(float));
    } else if (want_last) {
        gemma4_logits(net, &s->state, s->model->pool, s->x + (n - 1) * embd, 1, s->logits);
    }
    return G4_OK;
}

/* The end of the pass starting at a: at most n_batch positions, never splitting an image. */
static g4_status chunk_end(const g4_session *s, const feed *f, size_t a, size_t *b,
                           g4_err *err)
{
    *b = f->end - a < s->n_batch ? f->end : a + s->n_batch;
    if (!f->input)
        return G4_OK;
    size_t cut = *b;
    while (cut > a && inside_block(f->input, cut))
        cut--;
    if (cut == a && *b < f->end)
        return g4_fail(err, G4_ERR_INVALID_ARG, "an image of %d soft tokens does not fit "
                       "in one batch of %u tokens; use a larger batch",
                       f->input->block_last[a] - (int32_t)a + 1, s->n_batch);
    *b = cut > a ? cut : *b;
    return G4_OK;
}

static g4_status decode_feed(g4_session *s, const feed *f, float *all_logits, g4_err *err)
{
    if (check_tokens(s, f->ids + f->first, f->end - f->first, err) != G4_OK)
        return err->code;
    int64_t vocab = s->model->net.hp.n_vocab;
    for (size_t a = f->first, b; a < f->end; a = b) {
        if (chunk_end(s, f, a, &b, err) != G4_OK ||
            decode_chunk(s, f, a, b,
                         all_logits ? all_logits + (int64_t)(a - f->first) * vocab : NULL,
                         err) != G4_OK) {
            s->has_logits = false;
            return err->code;
        }
    }
    if (f->end > f->first)
        s->has_logits = true;
    return G4_OK;
}

g4_status g4_session_decode(g4_session *session, const int32_t *ids, size_t n,
                            float *all_logits)
{
    g4_err err = {0};
    if (!ids && n > 0)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "no token ids given"});
    feed f = {.ids = ids, .first = 0, .end = n};
    decode_feed(session, &f, all_logits, &err);
    return api_report(&err);
}

static g4_status check_input_start(const g4_session *s, const g4_input *input, size_t first,
                                   g4_err *err)
{
    if (first > input->n || inside_block(input, first))
        return g4_fail(err, G4_ERR_INVALID_ARG, "cannot start decoding at position %zu of "
                       "the input", first);
    if (first != g4_session_position(s))
        return g4_fail(err, G4_ERR_INVALID_ARG, "the session holds %u tokens but decoding "
                       "would start at input position %zu", g4_session_position(s), first);
    return G4_OK;
}

g4_status g4_session_decode_input(g4_session *session, const g4_input *input, size_t first,
                                  float *all_logits)
{
    g4_err err = {0};
    if (check_input_start(session, input, first, &err) == G4_OK)
        decode_feed(session, &(feed){input->ids, input, first, input->n}, all_logits, &err);
    return api_report(&err);
}

g4_status session_decode_input_pass(g4_session *session, const g4_input *input, size_t first,
                                    size_t *next, g4_err *err)
{
    feed f = {input->ids, input, first, input->n};
    size_t end = first;
    if (check_input_start(session, input, first, err) != G4_OK ||
        chunk_end(session, &f, first, &end, err) != G4_OK)
        return err->code;
    f.end = *next = end;
    return decode_feed(session, &f, NULL, err);
}

const float *g4_session_logits(const g4_session *session)
{
    return session->has_logits ? session->logits : NULL;
}
