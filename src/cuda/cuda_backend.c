/* The C side of the CUDA backend: describes a gemma4_model to the device code, plans the
 * device memory before anything is allocated, and keeps the KV cache's positions with the
 * CPU cache's own bookkeeping (kv_cache_mark_written, kv_cache_truncate). */
#include "cuda/cuda_backend.h"

#include <stdlib.h>
#include <string.h>

#include "model/kv_cache.h"

_Static_assert(sizeof(attention_span) == sizeof(cu_span) &&
                   offsetof(attention_span, last) == offsetof(cu_span, last),
               "cu_span mirrors attention_span");

/* Reserve for the CUDA context, cuBLAS's own allocations and fragmentation. */
#define CUDA_RESERVE_BYTES (512ull << 20)

struct cuda_model {
    cu_model *dev;
    const gemma4_model *host;
};

struct cuda_state {
    cuda_model *model;
    cu_state *dev;
    int64_t n_batch;
    kv_cache positions; /* n_pos, window, ring_cap, ring_oldest only; no storage */
};

static cu_weight_desc weight_desc(const matmul_weight *w)
{
    cu_weight_desc d = {w->data, (int)w->type, w->n_in, w->n_out, w->row_bytes};
    return d;
}

static void describe_layer(const gemma4_layer *ly, cu_layer_desc *d)
{
    *d = (cu_layer_desc){
        .sliding = ly->sliding,
        .has_v = ly->has_v,
        .head_dim = ly->head_dim,
        .n_head_kv = ly->n_head_kv,
        .n_ff = ly->n_ff,
        .attn_norm = ly->attn_norm,
        .attn_q_norm = ly->attn_q_norm,
        .attn_k_norm = ly->attn_k_norm,
        .post_attention_norm = ly->post_attention_norm,
        .ffn_norm = ly->ffn_norm,
        .post_ffw_norm = ly->post_ffw_norm,
        .output_scale = ly->output_scale,
        .q = weight_desc(&ly->attn_q),
        .k = weight_desc(&ly->attn_k),
        .v = ly->has_v ? weight_desc(&ly->attn_v) : (cu_weight_desc){0},
        .o = weight_desc(&ly->attn_output),
        .gate = weight_desc(&ly->ffn_gate),
        .up = weight_desc(&ly->ffn_up),
        .down = weight_desc(&ly->ffn_down),
    };
}

static int64_t max_i64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* The description of m; layers (n_layer entries) are filled and referenced. */
static void describe_model(const gemma4_model *m, cu_layer_desc *layers, cu_model_desc *d)
{
    const gemma4_hparams *hp = &m->hp;
    *d = (cu_model_desc){
        .n_embd = hp->n_embd,
        .n_layer = hp->n_layer,
        .n_head = hp->n_head,
        .n_vocab = hp->n_vocab,
        .window = hp->window,
        .head_dim_full = hp->head_dim_full,
        .head_dim_swa = hp->head_dim_swa,
        .rope_base_full = hp->rope_base_full,
        .rope_base_swa = hp->rope_base_swa,
        .rms_eps = hp->rms_eps,
        .final_softcap = hp->final_softcap,
        .output_norm = m->output_norm,
        .rope_freqs = m->rope_freqs,
        .suppressed = m->suppressed,
        .n_suppressed = m->n_suppressed,
        .output = weight_desc(&m->output),
        .layers = layers,
        .max_in = hp->n_embd,
    };
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        describe_layer(&m->layers[l], &layers[l]);
        int64_t q_width = (int64_t)hp->n_head * layers[l].head_dim;
        d->max_q_width = max_i64(d->max_q_width, q_width);
        d->max_kv_width = max_i64(d->max_kv_width, layers[l].n_head_kv * layers[l].head_dim);
        d->max_ff = max_i64(d->max_ff, layers[l].n_ff);
        d->max_head_dim = max_i64(d->max_head_dim, layers[l].head_dim);
        d->max_in = max_i64(d->max_in, max_i64(q_width, layers[l].n_ff));
    }
}

/* Rows of layer l's K/V ring: every position on global layers; the window plus one batch
 * on sliding ones (the CPU cache's rule, so both hold the same positions). */
static int64_t ring_rows(const gemma4_model *m, uint32_t l, const cuda_state_sizes *sizes)
{
    if (!m->layers[l].sliding)
        return sizes->n_ctx;
    int64_t ring = (int64_t)m->hp.window - 1 + sizes->n_batch;
    return ring < sizes->n_ctx ? ring : sizes->n_ctx;
}

static uint64_t weights_bytes(const cu_model_desc *d)
{
    uint64_t bytes = cu_weight_bytes(&d->output) + cu_vector_bytes(d->n_embd) +
                     (d->rope_freqs ? cu_vector_bytes(d->head_dim_full / 2) : 0) +
                     cu_vector_bytes(d->n_suppressed);
    for (int64_t l = 0; l < d->n_layer; l++) {
        const cu_layer_desc *ly = &d->layers[l];
        const cu_weight_desc *ws[] = {&ly->q, &ly->k, &ly->v, &ly->o, &ly->gate, &ly->up,
                                      &ly->down};
        for (int i = 0; i < 7; i++)
            bytes += ws[i]->data ? cu_weight_bytes(ws[i]) : 0;
        bytes += 4 * cu_vector_bytes(d->n_embd) + 2 * cu_vector_bytes(ly->head_dim);
    }
    return bytes;
}

/* Everything a plan or an upload needs, in one allocation the caller frees. */
typedef struct model_layout {
    cu_model_desc desc;
    cu_layer_desc *layers;
    int64_t *kv_caps;
} model_layout;

static g4_status layout_model(const gemma4_model *m, const cuda_state_sizes *sizes,
                              model_layout *out, g4_err *err)
{
    uint32_t n = m->hp.n_layer;
    out->layers = calloc(n ? n : 1, sizeof *out->layers);
    out->kv_caps = calloc(n ? n : 1, sizeof *out->kv_caps);
    if (!out->layers || !out->kv_caps) {
        free(out->layers);
        free(out->kv_caps);
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    }
    describe_model(m, out->layers, &out->desc);
    for (uint32_t l = 0; l < n; l++)
        out->kv_caps[l] = ring_rows(m, l, sizes);
    return G4_OK;
}

static void layout_free(model_layout *l)
{
    free(l->layers);
    free(l->kv_caps);
}

static g4_status check_sizes(const cuda_state_sizes *sizes, g4_err *err)
{
    if (sizes->n_ctx < 1 || sizes->n_batch < 1 || sizes->n_batch > 65535)
        return g4_fail(err, G4_ERR_INVALID_ARG,
                       "CUDA: a state needs n_ctx >= 1 and 1 <= n_batch <= 65535 (got %lld, %lld)",
                       (long long)sizes->n_ctx, (long long)sizes->n_batch);
    return G4_OK;
}

g4_status cuda_plan_memory(const gemma4_model *m, const cuda_state_sizes *sizes,
                           cuda_memory_plan *plan, g4_err *err)
{
    model_layout l;
    g4_status s = check_sizes(sizes, err);
    if (s == G4_OK)
        s = layout_model(m, sizes, &l, err);
    if (s != G4_OK)
        return s;
    plan->weight_bytes = weights_bytes(&l.desc);
    plan->kv_bytes = cu_kv_bytes(&l.desc, l.kv_caps);
    plan->activation_bytes = cu_activation_bytes(&l.desc, sizes->n_batch);
    plan->scratch_bytes = cu_scratch_bytes(&l.desc);
    layout_free(&l);
    return G4_OK;
}

uint64_t cuda_plan_total(const cuda_memory_plan *plan)
{
    return plan->weight_bytes + plan->kv_bytes + plan->activation_bytes + plan->scratch_bytes;
}

static double mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

g4_status cuda_plan_check(const cuda_memory_plan *plan, uint64_t free_bytes, g4_err *err)
{
    uint64_t total = cuda_plan_total(plan);
    if (total + CUDA_RESERVE_BYTES <= free_bytes)
        return G4_OK;
    return g4_fail(err, G4_ERR_NO_MEMORY,
                   "the model does not fit on the GPU: weights %.1f MiB + KV cache %.1f MiB + "
                   "work buffers %.1f MiB + matmul scratch %.1f MiB = %.1f MiB, plus a %.0f MiB "
                   "reserve, but only %.1f MiB are free (use a shorter context or fewer layers "
                   "on the GPU)",
                   mib(plan->weight_bytes), mib(plan->kv_bytes), mib(plan->activation_bytes),
                   mib(plan->scratch_bytes), mib(total), mib(CUDA_RESERVE_BYTES),
                   mib(free_bytes));
}

bool cuda_available(g4_err *err)
{
    return cu_available(err);
}

g4_status cuda_device_query(int device, cuda_device_info *info, g4_err *err)
{
    return cu_device_query(device, info, err);
}

static g4_status check_fits(const gemma4_model *m, int device, const cuda_state_sizes *sizes,
                            cuda_memory_plan *plan, g4_err *err)
{
    cuda_device_info info;
    g4_status s = cuda_plan_memory(m, sizes, plan, err);
    if (s == G4_OK)
        s = cuda_device_query(device, &info, err);
    if (s == G4_OK)
        s = cuda_plan_check(plan, info.free_bytes, err);
    return s;
}

g4_status cuda_model_upload(const gemma4_model *m, int device, const cuda_state_sizes *sizes,
                            cuda_model **out, g4_err *err)
{
    *out = NULL;
    cuda_memory_plan plan;
    model_layout l;
    g4_status s = check_fits(m, device, sizes, &plan, err);
    if (s == G4_OK)
        s = layout_model(m, sizes, &l, err);
    if (s != G4_OK)
        return s;
    cuda_model *cm = calloc(1, sizeof *cm);
    s = cm ? cu_model_upload(&l.desc, device, plan.weight_bytes, &cm->dev, err)
           : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    layout_free(&l);
    if (s != G4_OK) {
        free(cm);
        return s;
    }
    cm->host = m;
    *out = cm;
    return G4_OK;
}

void cuda_model_free(cuda_model *cm)
{
    if (!cm)
        return;
    cu_model_free(cm->dev);
    free(cm);
}

static void positions_init(kv_cache *kv, const gemma4_model *m, const int64_t *kv_caps,
                           const cuda_state_sizes *sizes)
{
    memset(kv, 0, sizeof *kv);
    kv->type = G4_TYPE_F16;
    kv->n_layer = m->hp.n_layer;
    kv->n_ctx = sizes->n_ctx;
    kv->window = m->hp.window;
    kv->ring_cap = sizes->n_ctx;
    for (uint32_t l = 0; l < m->hp.n_layer; l++)
        kv->ring_cap = kv_caps[l] < kv->ring_cap ? kv_caps[l] : kv->ring_cap;
}

g4_status cuda_state_new(cuda_model *cm, const cuda_state_sizes *sizes, cuda_state **out,
                         g4_err *err)
{
    *out = NULL;
    model_layout l;
    g4_status s = check_sizes(sizes, err);
    if (s == G4_OK)
        s = layout_model(cm->host, sizes, &l, err);
    if (s != G4_OK)
        return s;
    cuda_state *st = calloc(1, sizeof *st);
    s = st ? cu_state_new(cm->dev, sizes->n_batch, l.kv_caps, &st->dev, err)
           : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    if (s == G4_OK) {
        st->model = cm;
        st->n_batch = sizes->n_batch;
        positions_init(&st->positions, cm->host, l.kv_caps, sizes);
        *out = st;
    } else {
        free(st);
    }
    layout_free(&l);
    return s;
}

void cuda_state_free(cuda_state *st)
{
    if (!st)
        return;
    cu_state_free(st->dev);
    free(st);
}

int64_t cuda_state_n_pos(const cuda_state *st)
{
    return st->positions.n_pos;
}

g4_status cuda_state_truncate(cuda_state *st, int64_t n_keep, g4_err *err)
{
    return kv_cache_truncate(&st->positions, n_keep, err);
}

static g4_status check_batch(const cuda_state *st, const cuda_batch *b, g4_err *err)
{
    if (b->n < 1 || b->n > st->n_batch || !b->x)
        return g4_fail(err, G4_ERR_INVALID_ARG, "CUDA: a batch of %lld inputs (at most %lld)",
                       (long long)b->n, (long long)st->n_batch);
    if (b->logits && (b->n_logits < 1 || b->n_logits > b->n))
        return g4_fail(err, G4_ERR_INVALID_ARG, "CUDA: logits of %lld of %lld inputs",
                       (long long)b->n_logits, (long long)b->n);
    for (int64_t t = 0; b->spans && t < b->n; t++) {
        int64_t pos = st->positions.n_pos + t;
        const attention_span *sp = &b->spans[t];
        if (sp->first >= 0 && (sp->first > pos || sp->last < pos ||
                               sp->last >= st->positions.n_pos + b->n))
            return g4_fail(err, G4_ERR_INVALID_ARG,
                           "CUDA: input %lld's block [%lld, %lld] does not hold it within "
                           "the batch", (long long)t, (long long)sp->first,
                           (long long)sp->last);
    }
    if (st->positions.n_pos + b->n > st->positions.n_ctx)
        return g4_fail(err, G4_ERR_CONTEXT_FULL,
                       "%lld inputs do not fit the context (%lld of %lld positions used)",
                       (long long)b->n, (long long)st->positions.n_pos,
                       (long long)st->positions.n_ctx);
    return G4_OK;
}

g4_status cuda_forward(cuda_state *st, const cuda_batch *batch, g4_err *err)
{
    g4_status s = check_batch(st, batch, err);
    if (s != G4_OK)
        return s;
    cu_batch b = {
        .x = batch->x,
        .n = batch->n,
        .pos0 = st->positions.n_pos,
        .spans = (const cu_span *)batch->spans,
        .blocks_all_layers = batch->blocks_all_layers,
        .hidden = batch->hidden,
        .logits = batch->logits,
        .n_logits = batch->logits ? batch->n_logits : 0,
    };
    s = cu_forward(st->dev, &b, err);
    if (s == G4_OK)
        kv_cache_mark_written(&st->positions, b.pos0 + b.n - 1);
    return s;
}
