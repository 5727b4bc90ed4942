#include "cpu/matmul.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/vec.h"

/* Tile sizes: a tile's weight rows (64 × 3840 Q4_0 ≈ 138 KB) and activation columns
 * (64 × 4 KB) stay in L2 while the kernel sweeps them. A wide work item (bf16 kernels)
 * takes every column, so that its rows are converted to bf16 only once. */
enum { TILE_ROWS = 64, TILE_COLS = 64, EXACT_TILE_ROWS = 16, MAX_SHARED = 4 };

g4_status matmul_weight_init(matmul_weight *w, const gguf_tensor *tensor, bool exact,
                             g4_err *err)
{
    if (tensor->n_dims != 2)
        return g4_fail(err, G4_ERR_FORMAT, "tensor '%.*s' has %u dimensions, expected 2",
                       (int)tensor->name.len, tensor->name.ptr, tensor->n_dims);
    const cpu_type_ops *ops = cpu_type_ops_best(tensor->type);
    if (!ops)
        return g4_fail(err, G4_ERR_UNSUPPORTED,
                       "tensor '%.*s' has type %s, which g4 cannot multiply yet",
                       (int)tensor->name.len, tensor->name.ptr, g4_type_name(tensor->type));
    w->data = tensor->data;
    w->type = tensor->type;
    w->n_in = (int64_t)tensor->ne[0];
    w->n_out = (int64_t)tensor->ne[1];
    w->row_bytes = (size_t)g4_type_row_bytes(tensor->type, tensor->ne[0]);
    w->ops = ops;
    w->exact = exact && ops->act_type != G4_TYPE_F32;
    return G4_OK;
}

void matmul_weight_row(const matmul_weight *w, int64_t row, float *out)
{
    w->ops->to_float((const char *)w->data + (size_t)row * w->row_bytes, out, w->n_in);
}

/* The largest converted activation row any kernel reads (bf16 rows for the kernels for
 * many columns are the largest; f32 rows are read in place). */
static size_t max_act_row_bytes(int64_t n_in)
{
    return cpu_act_row_bytes(G4_TYPE_BF16, n_in);
}

/* Each thread's scratch: exact mode's dequantized rows or the bf16 kernels' buffer. */
static size_t bytes_per_thread(int64_t max_in)
{
    size_t exact = (size_t)EXACT_TILE_ROWS * (size_t)max_in * sizeof(float);
    size_t bytes = exact > CPU_WIDE_SCRATCH_BYTES ? exact : CPU_WIDE_SCRATCH_BYTES;
    return (bytes + 63) / 64 * 64;
}

uint64_t matmul_scratch_bytes(int64_t max_in, int64_t max_tokens, int n_threads)
{
    return (uint64_t)max_act_row_bytes(max_in) * (uint64_t)max_tokens +
           (uint64_t)n_threads * bytes_per_thread(max_in);
}

g4_status matmul_scratch_init(matmul_scratch *s, int64_t max_in, int64_t max_tokens,
                              int n_threads, g4_err *err)
{
    memset(s, 0, sizeof *s);
    s->acts_bytes = max_act_row_bytes(max_in) * (size_t)max_tokens;
    s->bytes_per_thread = bytes_per_thread(max_in);
    s->acts = aligned_alloc(64, (s->acts_bytes + 63) / 64 * 64);
    s->per_thread = aligned_alloc(64, s->bytes_per_thread * (size_t)n_threads);
    if (!s->acts || !s->per_thread) {
        matmul_scratch_free(s);
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for matmul buffers");
    }
    return G4_OK;
}

void matmul_scratch_free(matmul_scratch *s)
{
    free(s->acts);
    free(s->per_thread);
    memset(s, 0, sizeof *s);
}

typedef struct convert_job {
    void (*convert)(const float *x, void *out, int64_t n);
    const float *x;
    int64_t n_in;
    int64_t n_tokens;
    void *acts;
    size_t act_stride;
} convert_job;

static void convert_rows(void *ctx, int thread, int n_threads)
{
    const convert_job *job = ctx;
    for (int64_t t = thread; t < job->n_tokens; t += n_threads)
        job->convert(job->x + t * job->n_in, (char *)job->acts + (size_t)t * job->act_stride,
                     job->n_in);
}

static void to_bf16_row(const float *x, void *out, int64_t n)
{
    cpu_vec_ops_best()->to_bf16(x, out, n);
}

typedef struct product_job {
    const matmul_weight *const *ws;
    float *const *ys;
    int n_weights;
    const void *acts;
    size_t act_stride;
    bool wide;        /* dot_tile_wide on bf16 activations, with the thread's scratch */
    int64_t tile_cols; /* columns of one work item */
    int64_t n_tokens;
    int64_t col_blocks;
    int64_t first_item[MAX_SHARED];   /* index of each weight's first tile */
    int64_t n_items;
    atomic_llong next_item;
    uint8_t *per_thread;
    size_t bytes_per_thread;
} product_job;

static int64_t tile_rows(const matmul_weight *w)
{
    return w->exact ? EXACT_TILE_ROWS : TILE_ROWS;
}

/* Exact mode: dequantize the tile's rows, then an f32 product. */
static void product_tile_exact(const product_job *job, const matmul_weight *w, int64_t row0,
                               int n_rows, int64_t col0, int n_cols, float *y, int thread)
{
    float *rows = (float *)(job->per_thread + (size_t)thread * job->bytes_per_thread);
    for (int r = 0; r < n_rows; r++)
        matmul_weight_row(w, row0 + r, rows + (size_t)r * (size_t)w->n_in);
    const cpu_type_ops *f32 = cpu_type_ops_best(G4_TYPE_F32);
    f32->dot_tile(w->n_in, rows, (size_t)w->n_in * sizeof(float), n_rows,
                  (const char *)job->acts + (size_t)col0 * job->act_stride, job->act_stride,
                  n_cols, y + col0 * w->n_out + row0, (size_t)w->n_out);
}

static void product_tile(const product_job *job, int64_t item, int thread)
{
    int wi = 0;
    while (wi + 1 < job->n_weights && item >= job->first_item[wi + 1])
        wi++;
    const matmul_weight *w = job->ws[wi];
    float *y = job->ys[wi];
    int64_t local = item - job->first_item[wi];
    int64_t row0 = (local / job->col_blocks) * tile_rows(w);
    int64_t col0 = (local % job->col_blocks) * job->tile_cols;
    int n_rows = (int)(w->n_out - row0 < tile_rows(w) ? w->n_out - row0 : tile_rows(w));
    int n_cols = (int)(job->n_tokens - col0 < job->tile_cols ? job->n_tokens - col0
                                                              : job->tile_cols);
    if (w->exact) {
        product_tile_exact(job, w, row0, n_rows, col0, n_cols, y, thread);
        return;
    }
    const void *rows = (const char *)w->data + (size_t)row0 * w->row_bytes;
    const void *acts = (const char *)job->acts + (size_t)col0 * job->act_stride;
    float *out = y + col0 * w->n_out + row0;
    if (job->wide)
        w->ops->dot_tile_wide(w->n_in, rows, w->row_bytes, n_rows, acts, job->act_stride,
                              n_cols, out, (size_t)w->n_out,
                              job->per_thread + (size_t)thread * job->bytes_per_thread);
    else
        w->ops->dot_tile(w->n_in, rows, w->row_bytes, n_rows, acts, job->act_stride, n_cols,
                         out, (size_t)w->n_out);
}

static void product_worker(void *ctx, int thread, int n_threads)
{
    product_job *job = ctx;
    for (;;) {
        int64_t item = atomic_fetch_add_explicit(&job->next_item, 1, memory_order_relaxed);
        if (item >= job->n_items)
            break;
        product_tile(job, item, thread);
    }
}

/* Whether a product of n_tokens columns uses the type's kernel for many columns. */
static bool uses_wide(const matmul_weight *w, int64_t n_tokens)
{
    return !w->exact && n_tokens >= CPU_WIDE_MIN_COLS && w->ops->dot_tile_wide;
}

/* The activation format the products read: f32 for exact mode and float weights, bf16 for
 * the kernels for many columns, else the type's. */
static g4_type activation_type(const matmul_weight *w, int64_t n_tokens)
{
    if (w->exact)
        return G4_TYPE_F32;
    return uses_wide(w, n_tokens) ? G4_TYPE_BF16 : w->ops->act_type;
}

static bool same_activation_format(const matmul_weight *const *ws, int n_weights,
                                   int64_t n_tokens)
{
    for (int i = 1; i < n_weights; i++) {
        /* bf16 activations come only with the kernels for many columns */
        if (activation_type(ws[0], n_tokens) != activation_type(ws[i], n_tokens) ||
            ws[i]->n_in != ws[0]->n_in)
            return false;
    }
    return true;
}

void matmul_shared_input(threadpool *pool, matmul_scratch *s, const matmul_weight *const *ws,
                         float *const *ys, int n_weights, const float *x, int64_t n_tokens)
{
    if (n_weights > MAX_SHARED || !same_activation_format(ws, n_weights, n_tokens)) {
        for (int i = 0; i < n_weights; i++)
            matmul_shared_input(pool, s, &ws[i], &ys[i], 1, x, n_tokens);
        return;
    }
    product_job job = {
        .ws = ws,
        .ys = ys,
        .n_weights = n_weights,
        .n_tokens = n_tokens,
        .wide = uses_wide(ws[0], n_tokens),
        .per_thread = s->per_thread,
        .bytes_per_thread = s->bytes_per_thread,
    };
    job.tile_cols = job.wide ? n_tokens : TILE_COLS;
    job.col_blocks = (n_tokens + job.tile_cols - 1) / job.tile_cols;
    g4_type act_type = activation_type(ws[0], n_tokens);
    if (act_type != G4_TYPE_F32) {
        convert_job conv = {
            .convert = act_type == G4_TYPE_BF16 ? to_bf16_row : ws[0]->ops->quantize_act,
            .x = x,
            .n_in = ws[0]->n_in,
            .n_tokens = n_tokens,
            .acts = s->acts,
            .act_stride = cpu_act_row_bytes(act_type, ws[0]->n_in),
        };
        threadpool_run(pool, convert_rows, &conv);
        job.acts = s->acts;
        job.act_stride = conv.act_stride;
    } else {
        job.acts = x;
        job.act_stride = (size_t)ws[0]->n_in * sizeof(float);
    }
    for (int i = 0; i < n_weights; i++) {
        job.first_item[i] = job.n_items;
        job.n_items += (ws[i]->n_out + tile_rows(ws[i]) - 1) / tile_rows(ws[i]) * job.col_blocks;
    }
    atomic_init(&job.next_item, 0);
    threadpool_run(pool, product_worker, &job);
}

void matmul(threadpool *pool, matmul_scratch *s, const matmul_weight *w, const float *x,
            int64_t n_tokens, float *y)
{
    matmul_shared_input(pool, s, &w, &y, 1, x, n_tokens);
}
