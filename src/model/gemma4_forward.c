#include "model/gemma4_forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/attention.h"
#include "cpu/ops.h"

typedef struct state_dims {
    int64_t embd, q_width, kv_width, ff, half_dim, head_dim, max_keys;
} state_dims;

static state_dims dims_of(const gemma4_model *m, int64_t n_ctx, int64_t n_batch)
{
    state_dims d = {.embd = m->hp.n_embd};
    for (uint32_t l = 0; l < m->hp.n_layer; l++) {
        const gemma4_layer *ly = &m->layers[l];
        int64_t q = (int64_t)m->hp.n_head * ly->head_dim;
        int64_t kv = (int64_t)ly->n_head_kv * ly->head_dim;
        d.q_width = q > d.q_width ? q : d.q_width;
        d.kv_width = kv > d.kv_width ? kv : d.kv_width;
        d.ff = ly->n_ff > d.ff ? ly->n_ff : d.ff;
        d.head_dim = ly->head_dim > d.head_dim ? ly->head_dim : d.head_dim;
        d.half_dim = d.head_dim / 2;
    }
    d.max_keys = n_ctx + n_batch;
    return d;
}

static int64_t max_matmul_input(const state_dims *d)
{
    int64_t m = d->embd > d->q_width ? d->embd : d->q_width;
    return m > d->ff ? m : d->ff;
}

uint64_t gemma4_state_bytes(const gemma4_model *model, const gemma4_state_sizes *sizes)
{
    int64_t n_ctx = sizes->n_ctx, n_batch = sizes->n_batch;
    int n_threads = sizes->n_threads;
    state_dims d = dims_of(model, n_ctx, n_batch);
    uint64_t floats = (uint64_t)n_batch * (uint64_t)(2 * d.embd + 2 * d.q_width +
                                                     2 * d.kv_width + 2 * d.ff + 4 * d.half_dim);
    floats += (uint64_t)n_threads * (uint64_t)attention_scratch_floats(d.max_keys, d.head_dim);
    return floats * sizeof(float) + kv_cache_bytes(model, n_ctx, n_batch, sizes->kv_type) +
           matmul_scratch_bytes(max_matmul_input(&d), n_batch, n_threads);
}

static float *alloc_floats(int64_t n, bool *ok)
{
    float *p = aligned_alloc(64, ((size_t)n * sizeof(float) + 63) / 64 * 64);
    if (!p)
        *ok = false;
    return p;
}

g4_status gemma4_state_init(gemma4_state *st, const gemma4_model *model,
                            const gemma4_state_sizes *sizes, g4_err *err)
{
    int64_t n_ctx = sizes->n_ctx, n_batch = sizes->n_batch;
    int n_threads = sizes->n_threads;
    memset(st, 0, sizeof *st);
    state_dims d = dims_of(model, n_ctx, n_batch);
    st->n_batch = n_batch;
    bool ok = true;
    st->h = alloc_floats(n_batch * d.embd, &ok);
    st->branch = alloc_floats(n_batch * d.embd, &ok);
    st->q = alloc_floats(n_batch * d.q_width, &ok);
    st->attn = alloc_floats(n_batch * d.q_width, &ok);
    st->k = alloc_floats(n_batch * d.kv_width, &ok);
    st->v = alloc_floats(n_batch * d.kv_width, &ok);
    st->gate = alloc_floats(n_batch * d.ff, &ok);
    st->up = alloc_floats(n_batch * d.ff, &ok);
    st->rope_half_dim = d.half_dim;
    st->rope_cos = alloc_floats(2 * n_batch * d.half_dim, &ok);
    st->rope_sin = alloc_floats(2 * n_batch * d.half_dim, &ok);
    st->scores_per_thread = attention_scratch_floats(d.max_keys, d.head_dim);
    st->scores = alloc_floats(st->scores_per_thread * n_threads, &ok);
    g4_status status = ok ? G4_OK : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for "
                                            "activation buffers");
    if (status == G4_OK)
        status = matmul_scratch_init(&st->mm, max_matmul_input(&d), n_batch, n_threads, err);
    if (status == G4_OK)
        status = kv_cache_init(&st->kv, model, n_ctx, n_batch, sizes->kv_type, err);
    if (status != G4_OK)
        gemma4_state_free(st);
    return status;
}

void gemma4_state_free(gemma4_state *st)
{
    float *buffers[] = {st->h, st->branch, st->q, st->attn, st->k, st->v, st->gate, st->up,
                        st->rope_cos, st->rope_sin, st->scores};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
        free(buffers[i]);
    matmul_scratch_free(&st->mm);
    kv_cache_free(&st->kv);
    memset(st, 0, sizeof *st);
}

void gemma4_embed_tokens(const gemma4_model *model, const int32_t *ids, int64_t n, float *x)
{
    int64_t embd = model->hp.n_embd;
    for (int64_t t = 0; t < n; t++) {
        matmul_weight_row(&model->token_embd, ids[t], x + t * embd);
        scale_rows(x + t * embd, model->hp.embd_scale, embd);
    }
}

/* Per-head norms, RoPE and the V norm, then each sequence's K/V go into its cache. */
static void prepare_qkv(const gemma4_model *m, gemma4_state *st, const gemma4_layer *ly,
                        uint32_t l, const gemma4_seq *seqs, int n_seqs, int64_t n)
{
    int64_t hd = ly->head_dim, n_head = m->hp.n_head, n_kv = ly->n_head_kv;
    float eps = m->hp.rms_eps;
    if (!ly->has_v) /* k_eq_v: V is the raw K projection */
        memcpy(st->v, st->k, (size_t)(n * n_kv * hd) * sizeof(float));
    rmsnorm_rows(st->q, st->q, ly->attn_q_norm, n * n_head, hd, eps);
    rmsnorm_rows(st->k, st->k, ly->attn_k_norm, n * n_kv, hd, eps);
    rmsnorm_rows(st->v, st->v, NULL, n * n_kv, hd, eps);
    int64_t table = ly->sliding ? 0 : st->n_batch * st->rope_half_dim;
    for (int64_t t = 0; t < n; t++) {
        const float *cos_t = st->rope_cos + table + t * st->rope_half_dim;
        const float *sin_t = st->rope_sin + table + t * st->rope_half_dim;
        rope_apply(st->q + t * n_head * hd, n_head, hd, cos_t, sin_t);
        rope_apply(st->k + t * n_kv * hd, n_kv, hd, cos_t, sin_t);
    }
    for (int i = 0, t = 0; i < n_seqs; t += (int)seqs[i].n, i++) {
        kv_cache *kv = seqs[i].kv;
        for (int64_t j = 0; j < seqs[i].n; j++)
            kv_cache_store(kv, &kv->layers[l], kv->n_pos + j, st->k + (t + j) * n_kv * hd,
                           st->v + (t + j) * n_kv * hd);
    }
}

/* Attention of one sequence's rows (starting at row) over its own cache. */
static void sequence_attention(const gemma4_model *m, gemma4_state *st, threadpool *pool,
                               uint32_t l, const gemma4_seq *seq, int64_t row)
{
    const gemma4_layer *ly = &m->layers[l];
    const kv_layer *kl = &seq->kv->layers[l];
    const gemma4_blocks *blocks = seq->blocks;
    int64_t q_width = (int64_t)m->hp.n_head * ly->head_dim;
    attention_args args = {
        .q = st->q + row * q_width,
        .out = st->attn + row * q_width,
        .n_tokens = seq->n,
        .n_head = m->hp.n_head,
        .n_head_kv = ly->n_head_kv,
        .head_dim = ly->head_dim,
        .pos0 = seq->kv->n_pos,
        .window = ly->sliding ? m->hp.window : 0,
        .blocks = blocks && (ly->sliding || blocks->all_layers) ? blocks->spans : NULL,
        .blocks_windowed = blocks && !blocks->all_layers,
        .scratch = st->scores,
        .scratch_per_thread = st->scores_per_thread,
    };
    kv_cache_attention_source(seq->kv, kl, &args);
    attention(pool, &args);
}

static void attention_block(const gemma4_model *m, gemma4_state *st, threadpool *pool,
                            uint32_t l, float *x, const gemma4_seq *seqs, int n_seqs,
                            int64_t n)
{
    const gemma4_layer *ly = &m->layers[l];
    int64_t embd = m->hp.n_embd;
    rmsnorm_rows(st->h, x, ly->attn_norm, n, embd, m->hp.rms_eps);
    const matmul_weight *ws[3] = {&ly->attn_q, &ly->attn_k, &ly->attn_v};
    float *ys[3] = {st->q, st->k, st->v};
    matmul_shared_input(pool, &st->mm, ws, ys, ly->has_v ? 3 : 2, st->h, n);
    prepare_qkv(m, st, ly, l, seqs, n_seqs, n);
    for (int i = 0, row = 0; i < n_seqs; row += (int)seqs[i].n, i++)
        sequence_attention(m, st, pool, l, &seqs[i], row);
    matmul(pool, &st->mm, &ly->attn_output, st->attn, n, st->branch);
    rmsnorm_rows(st->branch, st->branch, ly->post_attention_norm, n, embd, m->hp.rms_eps);
    add_rows(x, st->branch, n * embd);
}

typedef struct geglu_job {
    float *gate;
    const float *up;
    int64_t n;
} geglu_job;

static void geglu_worker(void *ctx, int thread, int n_threads)
{
    const geglu_job *job = ctx;
    int64_t per = (job->n + n_threads - 1) / n_threads;
    int64_t from = per * thread, to = from + per < job->n ? from + per : job->n;
    if (from < to)
        gelu_mul(job->gate + from, job->up + from, to - from);
}

static void mlp_block(const gemma4_model *m, gemma4_state *st, threadpool *pool,
                      const gemma4_layer *ly, float *x, int64_t n)
{
    int64_t embd = m->hp.n_embd;
    rmsnorm_rows(st->h, x, ly->ffn_norm, n, embd, m->hp.rms_eps);
    const matmul_weight *ws[2] = {&ly->ffn_gate, &ly->ffn_up};
    float *ys[2] = {st->gate, st->up};
    matmul_shared_input(pool, &st->mm, ws, ys, 2, st->h, n);
    geglu_job geglu = {st->gate, st->up, n * ly->n_ff};
    threadpool_run(pool, geglu_worker, &geglu);
    matmul(pool, &st->mm, &ly->ffn_down, st->gate, n, st->branch);
    rmsnorm_rows(st->branch, st->branch, ly->post_ffw_norm, n, embd, m->hp.rms_eps);
    add_rows(x, st->branch, n * embd);
}

/* Rotation angles of every row's position, once for the sliding layers and once for the
 * global ones (every layer of a kind shares head size, base and divisors). */
static void rope_tables(const gemma4_model *m, gemma4_state *st, const gemma4_seq *seqs,
                        int n_seqs)
{
    const gemma4_hparams *hp = &m->hp;
    int64_t half = st->rope_half_dim, global = st->n_batch * half, t = 0;
    for (int i = 0; i < n_seqs; i++) {
        for (int64_t j = 0; j < seqs[i].n; j++, t++) {
            int64_t pos = seqs[i].kv->n_pos + j;
            rope_angles(st->rope_cos + t * half, st->rope_sin + t * half, pos,
                        hp->head_dim_swa, hp->rope_base_swa, NULL);
            rope_angles(st->rope_cos + global + t * half, st->rope_sin + global + t * half,
                        pos, hp->head_dim_full, hp->rope_base_full, m->rope_freqs);
        }
    }
}

void gemma4_forward_batch(const gemma4_model *model, gemma4_state *work, threadpool *pool,
                          float *x, const gemma4_seq *seqs, int n_seqs, float *capture)
{
    int64_t embd = model->hp.n_embd, n = 0;
    for (int i = 0; i < n_seqs; i++)
        n += seqs[i].n;
    rope_tables(model, work, seqs, n_seqs);
    if (capture)
        memcpy(capture, x, (size_t)(n * embd) * sizeof(float));
    for (uint32_t l = 0; l < model->hp.n_layer; l++) {
        const gemma4_layer *ly = &model->layers[l];
        attention_block(model, work, pool, l, x, seqs, n_seqs, n);
        mlp_block(model, work, pool, ly, x, n);
        scale_rows(x, ly->output_scale, n * embd);
        if (capture)
            memcpy(capture + (int64_t)(l + 1) * n * embd, x, (size_t)(n * embd) * sizeof(float));
    }
    for (int i = 0; i < n_seqs; i++)
        kv_cache_mark_written(seqs[i].kv, seqs[i].kv->n_pos + seqs[i].n - 1);
}

void gemma4_forward(const gemma4_model *model, gemma4_state *st, threadpool *pool, float *x,
                    int64_t n, const gemma4_blocks *blocks, float *capture)
{
    gemma4_seq one = {.kv = &st->kv, .n = n, .blocks = blocks};
    gemma4_forward_batch(model, st, pool, x, &one, 1, capture);
}

void gemma4_logits(const gemma4_model *model, gemma4_state *st, threadpool *pool, float *x,
                   int64_t n, float *logits)
{
    int64_t vocab = model->hp.n_vocab;
    rmsnorm_rows(x, x, model->output_norm, n, model->hp.n_embd, model->hp.rms_eps);
    matmul(pool, &st->mm, &model->output, x, n, logits);
    for (int64_t t = 0; t < n; t++) {
        float *row = logits + t * vocab;
        if (model->hp.final_softcap > 0.0f)
            softcap(row, vocab, model->hp.final_softcap);
        for (uint32_t i = 0; i < model->n_suppressed; i++)
            row[model->suppressed[i]] = -INFINITY;
    }
}
