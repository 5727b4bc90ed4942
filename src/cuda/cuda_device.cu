/* The device, the weights' upload and a state's allocations. Each of the model, the KV
 * cache, the work buffers and the scratch is one allocation carved into aligned pieces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_common.cuh"

enum { CU_ALIGN = 256 };

static __global__ void cu_probe_kernel(void) {}

static uint64_t aligned(uint64_t bytes)
{
    return (bytes + CU_ALIGN - 1) / CU_ALIGN * CU_ALIGN;
}

/* The build's kernels (CMAKE_CUDA_ARCHITECTURES, PTX included) run on the device. */
static bool cu_device_runs_build(int device, g4_err *err)
{
    cudaFuncAttributes attr;
    cudaError_t rc = cudaFuncGetAttributes(&attr, cu_probe_kernel);
    if (rc == cudaSuccess)
        return true;
    cudaDeviceProp prop;
    int major = 0, minor = 0;
    if (cudaGetDeviceProperties(&prop, device) == cudaSuccess)
        major = prop.major, minor = prop.minor;
    g4_fail(err, G4_ERR_UNSUPPORTED,
            "CUDA device %d (compute capability %d.%d) cannot run this build's kernels (%s); "
            "rebuild with CMAKE_CUDA_ARCHITECTURES set for it", device, major, minor,
            cudaGetErrorString(rc));
    cudaGetLastError();
    return false;
}

bool cu_available(g4_err *err)
{
    int count = 0;
    cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess) {
        g4_fail(err, G4_ERR_UNSUPPORTED, "no usable CUDA device: %s", cudaGetErrorString(rc));
        cudaGetLastError(); /* clear the sticky error */
        return false;
    }
    if (count == 0) {
        g4_fail(err, G4_ERR_UNSUPPORTED, "no CUDA device found");
        return false;
    }
    return cu_device_runs_build(0, err);
}

g4_status cu_device_query(int device, cuda_device_info *info, g4_err *err)
{
    cudaDeviceProp prop;
    size_t free_bytes = 0, total_bytes = 0;
    CU_TRY(cudaGetDeviceProperties(&prop, device), err);
    CU_TRY(cudaSetDevice(device), err);
    CU_TRY(cudaMemGetInfo(&free_bytes, &total_bytes), err);
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", prop.name);
    info->total_bytes = total_bytes;
    info->free_bytes = free_bytes;
    info->compute_major = prop.major;
    info->compute_minor = prop.minor;
    return G4_OK;
}

uint64_t cu_weight_bytes(const cu_weight_desc *w)
{
    return aligned((uint64_t)w->n_out * w->row_bytes);
}

uint64_t cu_vector_bytes(int64_t n_floats)
{
    return aligned((uint64_t)n_floats * sizeof(float));
}

static uint64_t tile_bytes(const cu_model_desc *d);

static g4_status alloc_arena(uint8_t **p, uint64_t bytes, const char *what, g4_err *err)
{
    cudaError_t rc = cudaMalloc((void **)p, bytes);
    if (rc != cudaSuccess) {
        *p = NULL;
        return g4_fail(err, G4_ERR_NO_MEMORY, "CUDA: cannot allocate %.1f MiB for the %s: %s",
                       (double)bytes / 1048576.0, what, cudaGetErrorString(rc));
    }
    return G4_OK;
}

/* Copies host bytes to the next aligned piece of the arena. */
typedef struct arena_writer {
    uint8_t *base;
    uint64_t used, size;
} arena_writer;

static g4_status put_bytes(arena_writer *a, const void *src, uint64_t bytes, const void **dst,
                           g4_err *err)
{
    *dst = NULL;
    if (!src)
        return G4_OK;
    if (a->used + aligned(bytes) > a->size)
        return g4_fail(err, G4_ERR_INTERNAL, "CUDA: weight arena overflow");
    CU_TRY(cudaMemcpy(a->base + a->used, src, bytes, cudaMemcpyHostToDevice), err);
    *dst = a->base + a->used;
    a->used += aligned(bytes);
    return G4_OK;
}

static g4_status put_weight(arena_writer *a, const cu_weight_desc *d, cu_weight *w, g4_err *err)
{
    if (!cu_weight_type_supported(d->type) || d->n_in % 32 != 0)
        return g4_fail(err, G4_ERR_UNSUPPORTED,
                       "CUDA: weight type %d with %lld columns is not supported", d->type,
                       (long long)d->n_in);
    w->type = d->type;
    w->n_in = d->n_in;
    w->n_out = d->n_out;
    w->row_bytes = d->row_bytes;
    const void *p = NULL;
    g4_status st = put_bytes(a, d->data, (uint64_t)d->n_out * d->row_bytes, &p, err);
    w->data = (const uint8_t *)p;
    return st;
}

static g4_status put_floats(arena_writer *a, const float *src, int64_t n, const float **dst,
                            g4_err *err)
{
    const void *p = NULL;
    g4_status st = put_bytes(a, src, (uint64_t)n * sizeof(float), &p, err);
    *dst = (const float *)p;
    return st;
}

static g4_status put_layer(arena_writer *a, const cu_model_desc *m, const cu_layer_desc *d,
                           cu_layer *ly, g4_err *err)
{
    ly->sliding = d->sliding;
    ly->has_v = d->has_v;
    ly->head_dim = d->head_dim;
    ly->n_head_kv = d->n_head_kv;
    ly->n_ff = d->n_ff;
    ly->output_scale = d->output_scale;
    const float *const src[] = {d->attn_norm, d->attn_q_norm, d->attn_k_norm,
                                d->post_attention_norm, d->ffn_norm, d->post_ffw_norm};
    const float **dst[] = {&ly->attn_norm, &ly->attn_q_norm, &ly->attn_k_norm,
                           &ly->post_attention_norm, &ly->ffn_norm, &ly->post_ffw_norm};
    const int64_t len[] = {m->n_embd, d->head_dim, d->head_dim, m->n_embd, m->n_embd, m->n_embd};
    g4_status st = G4_OK;
    for (int i = 0; i < 6 && st == G4_OK; i++)
        st = put_floats(a, src[i], len[i], dst[i], err);
    const cu_weight_desc *wd[] = {&d->q, &d->k, &d->v, &d->o, &d->gate, &d->up, &d->down};
    cu_weight *w[] = {&ly->q, &ly->k, &ly->v, &ly->o, &ly->gate, &ly->up, &ly->down};
    for (int i = 0; i < 7 && st == G4_OK; i++)
        if (i != 2 || d->has_v)
            st = put_weight(a, wd[i], w[i], err);
    return st;
}

static g4_status put_model(arena_writer *a, const cu_model_desc *d, cu_model *m, g4_err *err)
{
    g4_status st = put_weight(a, &d->output, &m->output, err);
    if (st == G4_OK)
        st = put_floats(a, d->output_norm, d->n_embd, &m->output_norm, err);
    if (st == G4_OK)
        st = put_floats(a, d->rope_freqs, d->head_dim_full / 2, &m->rope_freqs, err);
    const void *ids = NULL;
    if (st == G4_OK)
        st = put_bytes(a, d->n_suppressed ? d->suppressed : NULL,
                       (uint64_t)d->n_suppressed * sizeof(int32_t), &ids, err);
    m->suppressed = (const int32_t *)ids;
    for (int64_t l = 0; l < d->n_layer && st == G4_OK; l++)
        st = put_layer(a, d, &d->layers[l], &m->layers[l], err);
    return st;
}

g4_status cu_model_upload(const cu_model_desc *desc, int device, uint64_t weight_bytes,
                          cu_model **out, g4_err *err)
{
    *out = NULL;
    CU_TRY(cudaSetDevice(device), err);
    cu_model *m = (cu_model *)calloc(1, sizeof *m);
    cu_layer *layers = (cu_layer *)calloc((size_t)desc->n_layer, sizeof *layers);
    if (!m || !layers) {
        free(m);
        free(layers);
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    }
    m->device = device;
    m->dims = *desc;
    m->tile_bytes = tile_bytes(desc);
    m->dims.layers = NULL;
    m->layers = layers;
    g4_status st = alloc_arena(&m->arena, weight_bytes, "weights", err);
    arena_writer a = {m->arena, 0, weight_bytes};
    if (st == G4_OK)
        st = put_model(&a, desc, m, err);
    if (st != G4_OK) {
        cu_model_free(m);
        return st;
    }
    *out = m;
    return G4_OK;
}

void cu_model_free(cu_model *m)
{
    if (!m)
        return;
    cudaFree(m->arena);
    free(m->layers);
    free(m);
}

/* ---- states ------------------------------------------------------------------------------ */

/* The work buffers: f32 rows, in order, then the f16 matmul input, the positions and spans. */
enum { N_ACT_FLOATS = 11 };

typedef struct act_layout {
    int64_t floats[N_ACT_FLOATS]; /* x, h, branch, q, k, v, attn, gate, up, logits, partial */
    int64_t halves;
} act_layout;

static act_layout layout_of(const cu_model_desc *d, int64_t n_batch)
{
    act_layout l = {{d->n_embd, d->n_embd, d->n_embd, d->max_q_width, d->max_kv_width,
                     d->max_kv_width, d->max_q_width, d->max_ff, d->max_ff, d->n_vocab, 0},
                    d->max_in};
    for (int i = 0; i < N_ACT_FLOATS; i++)
        l.floats[i] *= n_batch;
    l.halves *= n_batch;
    int64_t most = CU_MATVEC_MAX_COLS, split_queries = n_batch < most ? n_batch : most;
    l.floats[N_ACT_FLOATS - 1] =
        split_queries * d->n_head * CU_ATTENTION_SPLITS * (d->max_head_dim + 2);
    return l;
}

uint64_t cu_activation_bytes(const cu_model_desc *d, int64_t n_batch)
{
    act_layout l = layout_of(d, n_batch);
    uint64_t bytes = 0;
    for (int i = 0; i < N_ACT_FLOATS; i++)
        bytes += cu_vector_bytes(l.floats[i]);
    return bytes + aligned((uint64_t)l.halves * sizeof(__half)) + aligned(sizeof(int64_t)) +
           aligned((uint64_t)n_batch * sizeof(cu_span));
}

/* The largest weight tile (whole rows, at most CU_TILE_MAX_ELEMS halves) and cuBLAS's
 * workspace. */
static int64_t tile_elems(const cu_weight_desc *w)
{
    int64_t rows = CU_TILE_MAX_ELEMS / w->n_in;
    return (rows < w->n_out ? rows : w->n_out) * w->n_in;
}

static uint64_t tile_bytes(const cu_model_desc *d)
{
    int64_t most = tile_elems(&d->output);
    for (int64_t l = 0; l < d->n_layer; l++) {
        const cu_layer_desc *ly = &d->layers[l];
        const cu_weight_desc *ws[] = {&ly->q, &ly->k, &ly->v, &ly->o, &ly->gate, &ly->up,
                                      &ly->down};
        for (int i = 0; i < 7; i++)
            if (ws[i]->data && tile_elems(ws[i]) > most)
                most = tile_elems(ws[i]);
    }
    return aligned((uint64_t)most * sizeof(__half));
}

uint64_t cu_scratch_bytes(const cu_model_desc *d)
{
    return tile_bytes(d) + CU_CUBLAS_WORKSPACE;
}

static void carve_activations(cu_state *st, const act_layout *l)
{
    float **f[N_ACT_FLOATS] = {&st->x,    &st->h,    &st->branch, &st->q,
                               &st->k,    &st->v,    &st->attn,   &st->gate,
                               &st->up,   &st->logits, &st->attn_partial};
    uint8_t *p = st->act_arena;
    for (int i = 0; i < N_ACT_FLOATS; i++) {
        *f[i] = (float *)p;
        p += cu_vector_bytes(l->floats[i]);
    }
    st->act16 = (__half *)p;
    p += aligned((uint64_t)l->halves * sizeof(__half));
    st->pos0 = (int64_t *)p;
    p += aligned(sizeof(int64_t));
    st->spans = (cu_span *)p;
}

static uint64_t ring_bytes(int64_t cap, int64_t n_head_kv, int64_t head_dim)
{
    return aligned((uint64_t)cap * (uint64_t)n_head_kv * (uint64_t)head_dim * sizeof(__half));
}

uint64_t cu_kv_bytes(const cu_model_desc *d, const int64_t *kv_caps)
{
    uint64_t bytes = 0;
    for (int64_t l = 0; l < d->n_layer; l++)
        bytes += 2 * ring_bytes(kv_caps[l], d->layers[l].n_head_kv, d->layers[l].head_dim);
    return bytes;
}

static g4_status alloc_kv(cu_state *st, const int64_t *kv_caps, g4_err *err)
{
    const cu_model *m = st->m;
    uint64_t bytes = 0;
    for (int64_t l = 0; l < m->dims.n_layer; l++)
        bytes += 2 * ring_bytes(kv_caps[l], m->layers[l].n_head_kv, m->layers[l].head_dim);
    g4_status s = alloc_arena(&st->kv_arena, bytes, "KV cache", err);
    uint8_t *p = st->kv_arena;
    for (int64_t l = 0; l < m->dims.n_layer && s == G4_OK; l++) {
        uint64_t one = ring_bytes(kv_caps[l], m->layers[l].n_head_kv, m->layers[l].head_dim);
        st->kv[l].cap = kv_caps[l];
        st->kv[l].k = (__half *)p;
        st->kv[l].v = (__half *)(p + one);
        p += 2 * one;
    }
    return s;
}

static g4_status init_blas(cu_state *st, g4_err *err)
{
    if (cublasCreate(&st->blas) != CUBLAS_STATUS_SUCCESS) {
        st->blas = NULL;
        return g4_fail(err, G4_ERR_INTERNAL, "cuBLAS: cannot create a handle");
    }
    st->tile = (__half *)st->scratch_arena;
    st->blas_workspace = st->scratch_arena + st->m->tile_bytes;
    if (cublasSetStream(st->blas, st->stream) != CUBLAS_STATUS_SUCCESS ||
        cublasSetWorkspace(st->blas, st->blas_workspace, CU_CUBLAS_WORKSPACE) !=
            CUBLAS_STATUS_SUCCESS)
        return g4_fail(err, G4_ERR_INTERNAL, "cuBLAS: cannot set the stream and workspace");
    return G4_OK;
}

g4_status cu_state_new(cu_model *m, int64_t n_batch, const int64_t *kv_caps, cu_state **out,
                       g4_err *err)
{
    *out = NULL;
    CU_TRY(cudaSetDevice(m->device), err);
    cu_state *st = (cu_state *)calloc(1, sizeof *st);
    cu_kv_layer *kv = (cu_kv_layer *)calloc((size_t)m->dims.n_layer, sizeof *kv);
    if (!st || !kv) {
        free(st);
        free(kv);
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    }
    st->m = m;
    st->n_batch = n_batch;
    st->kv = kv;
    act_layout l = layout_of(&m->dims, n_batch);
    g4_status s = alloc_kv(st, kv_caps, err);
    if (s == G4_OK)
        s = alloc_arena(&st->act_arena, cu_activation_bytes(&m->dims, n_batch), "work buffers",
                        err);
    if (s == G4_OK)
        s = alloc_arena(&st->scratch_arena, m->tile_bytes + CU_CUBLAS_WORKSPACE,
                        "matmul scratch", err);
    if (s == G4_OK && cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking) != cudaSuccess)
        s = g4_fail(err, G4_ERR_INTERNAL, "CUDA: cannot create a stream");
    if (s == G4_OK)
        s = init_blas(st, err);
    if (s != G4_OK) {
        cu_state_free(st);
        return s;
    }
    carve_activations(st, &l);
    *out = st;
    return G4_OK;
}

void cu_state_free(cu_state *st)
{
    if (!st)
        return;
    if (st->decode_graph)
        cudaGraphExecDestroy(st->decode_graph);
    if (st->blas)
        cublasDestroy(st->blas);
    if (st->stream)
        cudaStreamDestroy(st->stream);
    cudaFree(st->kv_arena);
    cudaFree(st->act_arena);
    cudaFree(st->scratch_arena);
    free(st->kv);
    free(st);
}
