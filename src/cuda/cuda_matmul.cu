/* Weight products. Up to CU_MATVEC_MAX_COLS inputs (decode, short drafts): one warp per
 * output row streams the row's blocks once for all inputs, each lane dequantizing whole
 * 32-element sub-blocks (a warp reads consecutive blocks, so its loads are contiguous).
 * More inputs (prefill): chunks of weight rows are dequantized to f16 and multiplied on the
 * tensor cores by cuBLAS with f32 accumulation. */
#include "cuda/cuda_common.cuh"
#include "cuda/cuda_quant.cuh"

enum { MATVEC_WARPS = 4 };

__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <int T>
__global__ void matvec_kernel(const uint8_t *w, size_t row_bytes, int64_t n_in, int64_t n_out,
                              const float *x, int n_cols, float *y)
{
    int lane = threadIdx.x % 32;
    int64_t row = (int64_t)blockIdx.x * MATVEC_WARPS + threadIdx.x / 32;
    if (row >= n_out)
        return;
    const uint8_t *wr = w + row * row_bytes;
    float acc[CU_MATVEC_MAX_COLS] = {0};
    for (int64_t sub = lane; sub < n_in / 32; sub += 32) {
        float wv[32];
        cu_type<T>::load32(wr, sub, wv);
#pragma unroll
        for (int c = 0; c < CU_MATVEC_MAX_COLS; c++) {
            if (c >= n_cols)
                break;
            const float4 *xv = reinterpret_cast<const float4 *>(x + c * n_in + sub * 32);
#pragma unroll
            for (int i = 0; i < 8; i++) {
                float4 v = xv[i];
                acc[c] += wv[4 * i] * v.x + wv[4 * i + 1] * v.y + wv[4 * i + 2] * v.z +
                          wv[4 * i + 3] * v.w;
            }
        }
    }
#pragma unroll
    for (int c = 0; c < CU_MATVEC_MAX_COLS; c++) {
        if (c >= n_cols)
            break;
        float s = warp_sum(acc[c]);
        if (lane == 0)
            y[c * n_out + row] = s;
    }
}

/* Rows [row0, row0 + n_rows) of the weight as f16, row-major. */
template <int T>
__global__ void dequant_kernel(const uint8_t *w, size_t row_bytes, int64_t n_in, int64_t row0,
                               int64_t n_rows, __half *out)
{
    int64_t subs = n_in / 32;
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_rows * subs)
        return;
    int64_t r = i / subs, sub = i % subs;
    float wv[32];
    cu_type<T>::load32(w + (row0 + r) * row_bytes, sub, wv);
    __half2 *o = reinterpret_cast<__half2 *>(out + r * n_in + sub * 32);
#pragma unroll
    for (int j = 0; j < 16; j++)
        o[j] = __floats2half2_rn(wv[2 * j], wv[2 * j + 1]);
}

__global__ void to_half_kernel(const float *x, int64_t n, __half *out)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = __float2half_rn(x[i]);
}

bool cu_weight_type_supported(int type)
{
    return cu_by_type(type, [](auto) {});
}

bool cu_dequant_row_host(int type, const void *row, int64_t n_in, float *out)
{
    return n_in % 32 == 0 && cu_by_type(type, [&](auto tag) {
        for (int64_t sub = 0; sub < n_in / 32; sub++)
            cu_type<decltype(tag)::type>::load32((const uint8_t *)row, sub, out + 32 * sub);
    });
}

static unsigned blocks_for(int64_t n, int threads)
{
    return (unsigned)((n + threads - 1) / threads);
}

static void matvec(cudaStream_t s, const cu_weight *w, const float *x, int64_t n, float *y)
{
    cu_by_type(w->type, [&](auto tag) {
        matvec_kernel<decltype(tag)::type><<<blocks_for(w->n_out, MATVEC_WARPS),
                                             32 * MATVEC_WARPS, 0, s>>>(
            w->data, w->row_bytes, w->n_in, w->n_out, x, (int)n, y);
    });
}

static void dequant_rows(cudaStream_t s, const cu_weight *w, int64_t row0, int64_t n_rows,
                         __half *out)
{
    int64_t items = n_rows * (w->n_in / 32);
    cu_by_type(w->type, [&](auto tag) {
        dequant_kernel<decltype(tag)::type><<<blocks_for(items, 256), 256, 0, s>>>(
            w->data, w->row_bytes, w->n_in, row0, n_rows, out);
    });
}

static g4_status gemm_chunks(cu_state *st, const cu_weight *w, int64_t n, float *y, g4_err *err)
{
    int64_t rows_per_chunk = CU_TILE_MAX_ELEMS / w->n_in;
    const float one = 1.0f, zero = 0.0f;
    for (int64_t r0 = 0; r0 < w->n_out; r0 += rows_per_chunk) {
        int64_t rows = w->n_out - r0 < rows_per_chunk ? w->n_out - r0 : rows_per_chunk;
        dequant_rows(st->stream, w, r0, rows, st->tile);
        /* column-major view: y^T[r0.., t] = tile^T (n_in x rows)^T * act16 (n_in x n) */
        cublasStatus_t rc = cublasGemmEx(
            st->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)rows, (int)n, (int)w->n_in, &one,
            st->tile, CUDA_R_16F, (int)w->n_in, st->act16, CUDA_R_16F, (int)w->n_in, &zero,
            y + r0, CUDA_R_32F, (int)w->n_out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (rc != CUBLAS_STATUS_SUCCESS)
            return g4_fail(err, G4_ERR_INTERNAL, "cuBLAS: GemmEx %lldx%lldx%lld failed (%d)",
                           (long long)rows, (long long)n, (long long)w->n_in, (int)rc);
    }
    return G4_OK;
}

g4_status cu_matmul(cu_state *st, const cu_weight *w, const float *x, int64_t n, float *y,
                    g4_err *err)
{
    if (n <= CU_MATVEC_MAX_COLS) {
        matvec(st->stream, w, x, n, y);
        return G4_OK;
    }
    to_half_kernel<<<blocks_for(n * w->n_in, 256), 256, 0, st->stream>>>(x, n * w->n_in,
                                                                          st->act16);
    return gemm_chunks(st, w, n, y, err);
}
