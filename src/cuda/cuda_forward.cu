/* The decoder's forward pass on the device, layer by layer as src/model/gemma4_forward.c
 * computes it. Everything between the input upload and the output download stays on the
 * device; a single input without image blocks replays a CUDA graph of the layers. */
#include "cuda/cuda_common.cuh"

static g4_status attention_block(cu_state *st, int64_t l, int64_t n, const cu_span *spans,
                                 bool blocks_all_layers, g4_err *err)
{
    const cu_model *m = st->m;
    const cu_layer *ly = &m->layers[l];
    int64_t embd = m->dims.n_embd;
    float eps = m->dims.rms_eps;
    cu_rmsnorm(st->stream, st->h, st->x, ly->attn_norm, n, embd, eps);
    g4_status s = cu_matmul(st, &ly->q, st->h, n, st->q, err);
    if (s == G4_OK)
        s = cu_matmul(st, &ly->k, st->h, n, st->k, err);
    if (s == G4_OK && ly->has_v)
        s = cu_matmul(st, &ly->v, st->h, n, st->v, err);
    if (s != G4_OK)
        return s;
    cu_prepare_qkv(st->stream, m, ly, &st->kv[l], st->q, st->k, st->v, n, st->pos0);
    cu_attention_args a = {st->q, st->attn, &st->kv[l], n, m->dims.n_head, ly->n_head_kv,
                           ly->head_dim, st->pos0, ly->sliding ? m->dims.window : 0,
                           ly->sliding || blocks_all_layers ? spans : NULL, !blocks_all_layers,
                           st->attn_partial};
    cu_attention(st->stream, &a);
    s = cu_matmul(st, &ly->o, st->attn, n, st->branch, err);
    if (s == G4_OK)
        cu_norm_add(st->stream, st->x, st->branch, ly->post_attention_norm, n, embd, eps, 1.0f);
    return s;
}

static g4_status mlp_block(cu_state *st, const cu_layer *ly, int64_t n, g4_err *err)
{
    int64_t embd = st->m->dims.n_embd;
    float eps = st->m->dims.rms_eps;
    cu_rmsnorm(st->stream, st->h, st->x, ly->ffn_norm, n, embd, eps);
    g4_status s = cu_matmul(st, &ly->gate, st->h, n, st->gate, err);
    if (s == G4_OK)
        s = cu_matmul(st, &ly->up, st->h, n, st->up, err);
    if (s != G4_OK)
        return s;
    cu_geglu(st->stream, st->gate, st->up, n * ly->n_ff);
    s = cu_matmul(st, &ly->down, st->gate, n, st->branch, err);
    if (s == G4_OK)
        cu_norm_add(st->stream, st->x, st->branch, ly->post_ffw_norm, n, embd, eps,
                    ly->output_scale);
    return s;
}

static g4_status enqueue_layers(cu_state *st, int64_t n, const cu_span *spans,
                                bool blocks_all_layers, g4_err *err)
{
    g4_status s = G4_OK;
    for (int64_t l = 0; l < st->m->dims.n_layer && s == G4_OK; l++) {
        s = attention_block(st, l, n, spans, blocks_all_layers, err);
        if (s == G4_OK)
            s = mlp_block(st, &st->m->layers[l], n, err);
    }
    return s;
}

/* Captures the one-input pass once; positions come from st->pos0 on the device. */
static g4_status capture_decode_graph(cu_state *st, g4_err *err)
{
    CU_TRY(cudaStreamBeginCapture(st->stream, cudaStreamCaptureModeThreadLocal), err);
    g4_status s = enqueue_layers(st, 1, NULL, false, err);
    cudaGraph_t graph = NULL;
    cudaError_t rc = cudaStreamEndCapture(st->stream, &graph);
    if (s == G4_OK && rc != cudaSuccess)
        s = g4_fail(err, G4_ERR_INTERNAL, "CUDA: capturing the decode step: %s",
                    cudaGetErrorString(rc));
    if (s == G4_OK && (rc = cudaGraphInstantiate(&st->decode_graph, graph, 0)) != cudaSuccess) {
        st->decode_graph = NULL;
        s = g4_fail(err, G4_ERR_INTERNAL, "CUDA: instantiating the decode step: %s",
                    cudaGetErrorString(rc));
    }
    if (graph)
        cudaGraphDestroy(graph);
    return s;
}

static g4_status run_layers(cu_state *st, const cu_batch *b, g4_err *err)
{
    if (b->n > 1 || b->spans)
        return enqueue_layers(st, b->n, b->spans ? st->spans : NULL, b->blocks_all_layers, err);
    if (!st->decode_graph) {
        g4_status s = capture_decode_graph(st, err);
        if (s != G4_OK)
            return s;
    }
    CU_TRY(cudaGraphLaunch(st->decode_graph, st->stream), err);
    return G4_OK;
}

/* Final norm and LM head of the last n_logits inputs, downloaded into b->logits. */
static g4_status logits_out(cu_state *st, const cu_batch *b, g4_err *err)
{
    const cu_model *m = st->m;
    int64_t embd = m->dims.n_embd, vocab = m->dims.n_vocab, rows = b->n_logits;
    cu_rmsnorm(st->stream, st->h, st->x + (b->n - rows) * embd, m->output_norm, rows, embd,
               m->dims.rms_eps);
    g4_status s = cu_matmul(st, &m->output, st->h, rows, st->logits, err);
    if (s != G4_OK)
        return s;
    cu_logits_finish(st->stream, st->logits, rows, vocab, m->dims.final_softcap, m->suppressed,
                     m->dims.n_suppressed);
    CU_TRY(cudaMemcpyAsync(b->logits, st->logits, (size_t)(rows * vocab) * sizeof(float),
                           cudaMemcpyDeviceToHost, st->stream),
           err);
    return G4_OK;
}

static g4_status upload_inputs(cu_state *st, const cu_batch *b, g4_err *err)
{
    size_t x_bytes = (size_t)(b->n * st->m->dims.n_embd) * sizeof(float);
    CU_TRY(cudaMemcpyAsync(st->x, b->x, x_bytes, cudaMemcpyHostToDevice, st->stream), err);
    CU_TRY(cudaMemcpyAsync(st->pos0, &b->pos0, sizeof b->pos0, cudaMemcpyHostToDevice,
                           st->stream),
           err);
    if (b->spans)
        CU_TRY(cudaMemcpyAsync(st->spans, b->spans, (size_t)b->n * sizeof(cu_span),
                               cudaMemcpyHostToDevice, st->stream),
               err);
    return G4_OK;
}

g4_status cu_forward(cu_state *st, const cu_batch *b, g4_err *err)
{
    CU_TRY(cudaSetDevice(st->m->device), err);
    g4_status s = upload_inputs(st, b, err);
    if (s == G4_OK)
        s = run_layers(st, b, err);
    if (s == G4_OK && b->hidden)
        CU_TRY(cudaMemcpyAsync(b->hidden, st->x,
                               (size_t)(b->n * st->m->dims.n_embd) * sizeof(float),
                               cudaMemcpyDeviceToHost, st->stream),
               err);
    if (s == G4_OK && b->logits && b->n_logits > 0)
        s = logits_out(st, b, err);
    cudaError_t rc = cudaStreamSynchronize(st->stream);
    if (s == G4_OK && rc == cudaSuccess)
        rc = cudaGetLastError();
    if (s == G4_OK && rc != cudaSuccess)
        s = g4_fail(err, G4_ERR_INTERNAL, "CUDA: forward pass: %s", cudaGetErrorString(rc));
    return s;
}
