/* Element-wise and per-row kernels of the forward pass: RMS norms (fused with the residual
 * add and the layer scale), per-head Q/K/V norms with RoPE and the KV store, GeGLU, the
 * logits' soft-cap, and attention. */
#include <math.h>

#include "cuda/cuda_common.cuh"

enum { ROW_THREADS = 256, ATT_WARPS = 8, ATT_MAX_HEAD_DIM = 512 };

static unsigned blocks_for(int64_t n, int threads)
{
    return (unsigned)((n + threads - 1) / threads);
}

__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* The sum of v over the block (blockDim.x a multiple of 32, at most 1024). */
__device__ float block_sum(float v)
{
    __shared__ float partial[32];
    __shared__ float total;
    v = warp_sum(v);
    if (threadIdx.x % 32 == 0)
        partial[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        float p = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : 0.0f;
        p = warp_sum(p);
        if (threadIdx.x == 0)
            total = p;
    }
    __syncthreads();
    return total;
}

__device__ float inverse_rms(const float *x, int64_t dim, float eps)
{
    float sq = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
        sq += x[i] * x[i];
    return rsqrtf(block_sum(sq) / (float)dim + eps);
}

__global__ void rmsnorm_kernel(float *out, const float *x, const float *gamma, int64_t dim,
                               float eps)
{
    const float *xr = x + blockIdx.x * dim;
    float *yr = out + blockIdx.x * dim;
    float inv = inverse_rms(xr, dim, eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
        yr[i] = xr[i] * inv * (gamma ? gamma[i] : 1.0f);
}

__global__ void norm_add_kernel(float *x, const float *branch, const float *gamma, int64_t dim,
                                float eps, float scale)
{
    const float *br = branch + blockIdx.x * dim;
    float *xr = x + blockIdx.x * dim;
    float inv = inverse_rms(br, dim, eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
        xr[i] = (xr[i] + br[i] * inv * gamma[i]) * scale;
}

void cu_rmsnorm(cudaStream_t s, float *out, const float *x, const float *gamma, int64_t rows,
                int64_t dim, float eps)
{
    rmsnorm_kernel<<<(unsigned)rows, ROW_THREADS, 0, s>>>(out, x, gamma, dim, eps);
}

void cu_norm_add(cudaStream_t s, float *x, const float *branch, const float *gamma,
                 int64_t rows, int64_t dim, float eps, float scale)
{
    norm_add_kernel<<<(unsigned)rows, ROW_THREADS, 0, s>>>(x, branch, gamma, dim, eps, scale);
}

/* gate = gelu_tanh(gate) * up, gelu_tanh(g) = g * sigmoid(2u), u = sqrt(2/pi)(g + 0.044715 g^3) */
__global__ void geglu_kernel(float *gate, const float *up, int64_t n)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    float g = gate[i];
    float u = 0.7978845608028654f * (g + 0.044715f * g * g * g);
    gate[i] = g / (1.0f + expf(-2.0f * u)) * up[i];
}

void cu_geglu(cudaStream_t s, float *gate, const float *up, int64_t n)
{
    geglu_kernel<<<blocks_for(n, 256), 256, 0, s>>>(gate, up, n);
}

__global__ void softcap_kernel(float *x, int64_t n, float cap)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] = cap * tanhf(x[i] / cap);
}

__global__ void suppress_kernel(float *logits, int64_t rows, int64_t vocab,
                                const int32_t *ids, int64_t n_ids)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < rows * n_ids)
        logits[(i / n_ids) * vocab + ids[i % n_ids]] = -INFINITY;
}

void cu_logits_finish(cudaStream_t s, float *logits, int64_t rows, int64_t vocab, float cap,
                      const int32_t *suppressed, int64_t n_suppressed)
{
    if (cap > 0.0f)
        softcap_kernel<<<blocks_for(rows * vocab, 256), 256, 0, s>>>(logits, rows * vocab, cap);
    if (n_suppressed > 0)
        suppress_kernel<<<blocks_for(rows * n_suppressed, 256), 256, 0, s>>>(
            logits, rows, vocab, suppressed, n_suppressed);
}

/* ---- Q/K/V: per-head norms, RoPE, the KV store ---------------------------------------- */

typedef struct rope_params {
    int64_t head_dim;
    float base;
    const float *divisors; /* device, head_dim / 2, or NULL */
} rope_params;

/* Normalizes the shared row (hd floats) with gamma (or none) and, when rope is set, rotates
 * pairs (i, i + hd / 2) by pos * base^(-2i/hd) / divisors[i]. */
__device__ void norm_rope_row(float *row, int64_t hd, const float *gamma, float eps,
                              const rope_params *rope, int64_t pos)
{
    int64_t half = hd / 2;
    float inv = inverse_rms(row, hd, eps);
    __syncthreads();
    for (int64_t i = threadIdx.x; i < hd; i += blockDim.x)
        row[i] *= inv * (gamma ? gamma[i] : 1.0f);
    __syncthreads();
    if (!rope)
        return;
    for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
        double theta = (double)pos * pow((double)rope->base, -2.0 * (double)i / (double)hd);
        if (rope->divisors)
            theta /= (double)rope->divisors[i];
        float c = (float)cos(theta), sn = (float)sin(theta);
        float a = row[i], b = row[i + half];
        row[i] = a * c - b * sn;
        row[i + half] = a * sn + b * c;
    }
    __syncthreads();
}

typedef struct qkv_args {
    float *q;
    const float *k, *v;       /* v: NULL when V is the raw K projection */
    const float *q_gamma, *k_gamma;
    __half *k_cache, *v_cache;
    int64_t cap, n_head, n_head_kv;
    float eps;
    rope_params rope;
    const int64_t *pos0;
} qkv_args;

/* Block (head, t): heads < n_head are query heads; the rest are KV heads. */
__global__ void prepare_qkv_kernel(qkv_args a)
{
    __shared__ float row[ATT_MAX_HEAD_DIM];
    int64_t t = blockIdx.y, head = blockIdx.x, hd = a.rope.head_dim;
    int64_t pos = *a.pos0 + t;
    if (head < a.n_head) {
        float *q = a.q + (t * a.n_head + head) * hd;
        for (int64_t i = threadIdx.x; i < hd; i += blockDim.x)
            row[i] = q[i];
        __syncthreads();
        norm_rope_row(row, hd, a.q_gamma, a.eps, &a.rope, pos);
        for (int64_t i = threadIdx.x; i < hd; i += blockDim.x)
            q[i] = row[i];
        return;
    }
    int64_t kvh = head - a.n_head;
    size_t in = (size_t)(t * a.n_head_kv + kvh) * hd;
    size_t slot = (size_t)((pos % a.cap) * a.n_head_kv + kvh) * hd;
    const float *v = a.v ? a.v + in : a.k + in;
    for (int64_t i = threadIdx.x; i < hd; i += blockDim.x)
        row[i] = v[i];
    __syncthreads();
    norm_rope_row(row, hd, NULL, a.eps, NULL, pos);
    for (int64_t i = threadIdx.x; i < hd; i += blockDim.x) {
        a.v_cache[slot + i] = __float2half_rn(row[i]);
        row[i] = a.k[in + i];
    }
    __syncthreads();
    norm_rope_row(row, hd, a.k_gamma, a.eps, &a.rope, pos);
    for (int64_t i = threadIdx.x; i < hd; i += blockDim.x)
        a.k_cache[slot + i] = __float2half_rn(row[i]);
}

void cu_prepare_qkv(cudaStream_t s, const cu_model *m, const cu_layer *ly,
                    const cu_kv_layer *kv, float *q, const float *k, const float *v,
                    int64_t n, const int64_t *pos0)
{
    qkv_args a = {q, k, ly->has_v ? v : NULL, ly->attn_q_norm, ly->attn_k_norm, kv->k, kv->v,
                  kv->cap, m->dims.n_head, ly->n_head_kv, m->dims.rms_eps,
                  {ly->head_dim, ly->sliding ? m->dims.rope_base_swa : m->dims.rope_base_full,
                   ly->sliding ? NULL : m->rope_freqs},
                  pos0};
    dim3 grid((unsigned)(m->dims.n_head + ly->n_head_kv), (unsigned)n);
    prepare_qkv_kernel<<<grid, 128, 0, s>>>(a);
}

/* ---- attention -------------------------------------------------------------------------- */

/* The keys [first, last] a query at pos sees: its window (or everything before it) joined
 * with its bidirectional block, as src/cpu/attention.c defines them. */
__device__ void visible_keys(const cu_attention_args &a, int64_t t, int64_t pos,
                             int64_t *first, int64_t *last)
{
    *first = a.window <= 0 || pos < a.window ? 0 : pos - a.window + 1;
    *last = pos;
    if (!a.spans || a.spans[t].first < 0)
        return;
    if (!a.blocks_windowed && a.spans[t].first < *first)
        *first = a.spans[t].first;
    if (a.spans[t].last > pos)
        *last = a.spans[t].last;
}

/* Block (head, t, split): the split's share of the query's visible keys, each warp walking
 * every ATT_WARPS-th of them with an online softmax; the warps' partial sums are merged.
 * One split writes the output; several write (max, sum, unnormalized output) for
 * combine_kernel. Lane j holds dimensions j, j + 32, ... */
template <int HD> __global__ void attention_kernel(cu_attention_args a, cu_kv_layer kv)
{
    constexpr int PER_LANE = HD / 32;
    __shared__ float q[HD];
    __shared__ float part[ATT_WARPS][HD];
    __shared__ float part_max[ATT_WARPS], part_sum[ATT_WARPS];
    int64_t head = blockIdx.x, t = blockIdx.y, pos = *a.pos0 + t;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const float *qr = a.q + (t * a.n_head + head) * HD;
    for (int i = threadIdx.x; i < HD; i += blockDim.x)
        q[i] = qr[i];
    __syncthreads();
    int64_t first, last;
    visible_keys(a, t, pos, &first, &last);
    int64_t per_split = (last - first + gridDim.z) / gridDim.z;
    int64_t lo = first + blockIdx.z * per_split, hi = min(last, lo + per_split - 1);
    int64_t kvh = head / (a.n_head / a.n_head_kv), row = a.n_head_kv * HD;
    float run_max = -INFINITY, run_sum = 0.0f, acc[PER_LANE];
#pragma unroll
    for (int j = 0; j < PER_LANE; j++)
        acc[j] = 0.0f;
    for (int64_t p = lo + warp; p <= hi; p += ATT_WARPS) {
        size_t base = (size_t)((p % kv.cap) * row + kvh * HD);
        float dot = 0.0f;
#pragma unroll
        for (int j = 0; j < PER_LANE; j++)
            dot += q[lane + 32 * j] * __half2float(kv.k[base + lane + 32 * j]);
        float score = __shfl_sync(0xffffffffu, warp_sum(dot), 0); /* same bits on all lanes */
        float new_max = fmaxf(run_max, score);
        float keep = expf(run_max - new_max), weight = expf(score - new_max);
        run_sum = run_sum * keep + weight;
#pragma unroll
        for (int j = 0; j < PER_LANE; j++)
            acc[j] = acc[j] * keep + weight * __half2float(kv.v[base + lane + 32 * j]);
        run_max = new_max;
    }
#pragma unroll
    for (int j = 0; j < PER_LANE; j++)
        part[warp][lane + 32 * j] = acc[j];
    if (lane == 0)
        part_max[warp] = run_max, part_sum[warp] = run_sum;
    __syncthreads();
    float top = -INFINITY, total = 0.0f, factor[ATT_WARPS];
    for (int w = 0; w < ATT_WARPS; w++)
        top = fmaxf(top, part_max[w]);
    for (int w = 0; w < ATT_WARPS; w++) {
        factor[w] = part_max[w] == -INFINITY ? 0.0f : expf(part_max[w] - top);
        total += part_sum[w] * factor[w];
    }
    bool split = gridDim.z > 1;
    float *partial = a.partial + ((t * a.n_head + head) * gridDim.z + blockIdx.z) * (HD + 2);
    float *out = split ? partial + 2 : a.out + (t * a.n_head + head) * HD;
    for (int i = threadIdx.x; i < HD; i += blockDim.x) {
        float s = 0.0f;
        for (int w = 0; w < ATT_WARPS; w++)
            s += part[w][i] * factor[w];
        out[i] = split ? s : s / total;
    }
    if (split && threadIdx.x == 0)
        partial[0] = top, partial[1] = total;
}

/* Block (head, t): the splits' partial results merged into the output. */
__global__ void combine_kernel(cu_attention_args a)
{
    int64_t head = blockIdx.x, t = blockIdx.y, hd = a.head_dim;
    const float *partial = a.partial + (t * a.n_head + head) * CU_ATTENTION_SPLITS * (hd + 2);
    float top = -INFINITY, total = 0.0f;
    for (int s = 0; s < CU_ATTENTION_SPLITS; s++)
        top = fmaxf(top, partial[s * (hd + 2)]);
    for (int s = 0; s < CU_ATTENTION_SPLITS; s++) {
        float m = partial[s * (hd + 2)];
        total += m == -INFINITY ? 0.0f : partial[s * (hd + 2) + 1] * expf(m - top);
    }
    float *out = a.out + (t * a.n_head + head) * hd;
    for (int64_t i = threadIdx.x; i < hd; i += blockDim.x) {
        float sum = 0.0f;
        for (int s = 0; s < CU_ATTENTION_SPLITS; s++) {
            float m = partial[s * (hd + 2)];
            if (m != -INFINITY)
                sum += partial[s * (hd + 2) + 2 + i] * expf(m - top);
        }
        out[i] = sum / total;
    }
}

void cu_attention(cudaStream_t s, const cu_attention_args *a)
{
    unsigned splits = a->n <= CU_MATVEC_MAX_COLS ? CU_ATTENTION_SPLITS : 1;
    dim3 grid((unsigned)a->n_head, (unsigned)a->n, splits);
    if (a->head_dim == 256)
        attention_kernel<256><<<grid, 32 * ATT_WARPS, 0, s>>>(*a, *a->kv);
    else
        attention_kernel<512><<<grid, 32 * ATT_WARPS, 0, s>>>(*a, *a->kv);
    if (splits > 1)
        combine_kernel<<<dim3((unsigned)a->n_head, (unsigned)a->n), 128, 0, s>>>(*a);
}
