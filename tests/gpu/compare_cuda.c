/* The CUDA backend against the CPU engine on any model (the random 12B one in particular),
 * then its speed:
 *   compare_cuda MODEL.gguf [N_TOKENS [DEPTH]]
 * runs N_TOKENS (default 64) fixed token ids through the CPU one at a time and through the
 * GPU both as one prompt and one at a time, and prints, per GPU path, the share of
 * positions whose top token agrees with the CPU's and the largest logit difference. Then
 * it times pp512 (a 512-input prompt after DEPTH positions, default 0) and tg128 (128
 * single-input steps after those and one more), and prints one JSON line per measurement.
 * Exit status: 0 done, 1 an error, 3 no usable GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model.h"
#include "gpu_run.h"

enum { EXIT_NO_GPU = 3, PP_TOKENS = 512, TG_TOKENS = 128 };

static int32_t token_at(int64_t i, int64_t vocab)
{
    return i == 0 ? 2 : (int32_t)((i * 7919 + 13) % vocab);
}

static bool cpu_logits(g4_model *model, const int32_t *ids, int64_t n, float *logits)
{
    g4_session_params sp;
    g4_session_params_init(&sp);
    sp.n_ctx = (uint32_t)n + 8;
    g4_session *s = NULL;
    bool ok = g4_session_new(model, &sp, &s) == G4_OK;
    int64_t vocab = model->net.hp.n_vocab;
    for (int64_t i = 0; ok && i < n; i++) {
        ok = g4_session_decode(s, &ids[i], 1, NULL) == G4_OK;
        if (ok)
            memcpy(logits + i * vocab, g4_session_logits(s), (size_t)vocab * sizeof(float));
    }
    if (!ok)
        fprintf(stderr, "CPU: %s\n", g4_last_error());
    g4_session_free(s);
    return ok;
}

static int64_t argmax(const float *row, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        best = row[i] > row[best] ? i : best;
    return best;
}

static void report_agreement(const char *path, const float *cpu, const float *gpu, int64_t n,
                             int64_t vocab)
{
    int64_t agree = 0;
    double max_diff = 0.0;
    for (int64_t t = 0; t < n; t++) {
        const float *c = cpu + t * vocab, *g = gpu + t * vocab;
        agree += argmax(c, vocab) == argmax(g, vocab);
        for (int64_t i = 0; i < vocab; i++)
            if (isfinite(c[i]) && fabs((double)c[i] - g[i]) > max_diff)
                max_diff = fabs((double)c[i] - g[i]);
    }
    printf("{\"compare\":\"%s\",\"positions\":%lld,\"top1_agree\":%lld,\"max_abs_dlogit\":%.4f}\n",
           path, (long long)n, (long long)agree, max_diff);
}

static cuda_state *new_state(cuda_model *cm, int64_t n_ctx, int64_t n_batch, g4_err *err)
{
    cuda_state_sizes sizes = {n_ctx, n_batch};
    cuda_state *st = NULL;
    if (cuda_state_new(cm, &sizes, &st, err) != G4_OK)
        return NULL;
    return st;
}

static g4_status compare(g4_model *model, cuda_model *cm, int64_t n, g4_err *err)
{
    int64_t vocab = model->net.hp.n_vocab;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    float *cpu = malloc((size_t)(n * vocab) * sizeof(float));
    float *gpu = malloc((size_t)(n * vocab) * sizeof(float));
    g4_status s = ids && cpu && gpu ? G4_OK : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    for (int64_t i = 0; s == G4_OK && i < n; i++)
        ids[i] = token_at(i, vocab);
    if (s == G4_OK && !cpu_logits(model, ids, n, cpu))
        s = g4_fail(err, G4_ERR_INTERNAL, "the CPU pass failed");
    const int64_t passes[2] = {n, 1};
    const char *names[2] = {"prompt", "steps"};
    for (int p = 0; p < 2 && s == G4_OK; p++) {
        cuda_state *st = new_state(cm, n + 8, passes[p], err);
        s = st ? gpu_forward_ids(st, &model->net, ids, n, passes[p], false, gpu, err)
               : G4_ERR_NO_MEMORY;
        if (s == G4_OK)
            report_agreement(names[p], cpu, gpu, n, vocab);
        cuda_state_free(st);
    }
    free(ids);
    free(cpu);
    free(gpu);
    return s;
}

static void report_speed(const char *test, int64_t depth, int64_t tokens, double seconds)
{
    printf("{\"test\":\"%s\",\"depth\":%lld,\"tokens\":%lld,\"seconds\":%.4f,"
           "\"tokens_per_s\":%.1f}\n",
           test, (long long)depth, (long long)tokens, seconds, (double)tokens / seconds);
}

/* One pp512 and one step on a state of their own: cuBLAS's first calls and the device's
 * clocks out of the way. */
static g4_status warm_up(g4_model *model, cuda_model *cm, const int32_t *ids, float *logits,
                         g4_err *err)
{
    cuda_state *st = new_state(cm, PP_TOKENS + 8, PP_TOKENS, err);
    g4_status s = st ? G4_OK : G4_ERR_NO_MEMORY;
    if (s == G4_OK)
        s = gpu_forward_ids(st, &model->net, ids, PP_TOKENS, PP_TOKENS, true, logits, err);
    if (s == G4_OK)
        s = gpu_forward_ids(st, &model->net, ids + PP_TOKENS, 1, 1, true, logits, err);
    cuda_state_free(st);
    return s;
}

/* Fills the cache to depth in prompt-sized passes, times pp512, takes one untimed step (the
 * decode graph's capture), then times tg128. */
static g4_status bench(g4_model *model, cuda_model *cm, int64_t depth, g4_err *err)
{
    int64_t vocab = model->net.hp.n_vocab, n = depth + PP_TOKENS + 1 + TG_TOKENS;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    float *logits = malloc((size_t)vocab * sizeof(float));
    g4_status s = ids && logits ? G4_OK : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    for (int64_t i = 0; s == G4_OK && i < n; i++)
        ids[i] = token_at(i, vocab);
    if (s == G4_OK)
        s = warm_up(model, cm, ids, logits, err);
    cuda_state *st = s == G4_OK ? new_state(cm, n + 8, PP_TOKENS, err) : NULL;
    s = st ? s : G4_ERR_NO_MEMORY;
    if (s == G4_OK && depth > 0)
        s = gpu_forward_ids(st, &model->net, ids, depth, PP_TOKENS, true, logits, err);
    double t0 = gpu_seconds();
    if (s == G4_OK)
        s = gpu_forward_ids(st, &model->net, ids + depth, PP_TOKENS, PP_TOKENS, true, logits,
                            err);
    if (s == G4_OK)
        report_speed("pp512", depth, PP_TOKENS, gpu_seconds() - t0);
    if (s == G4_OK)
        s = gpu_forward_ids(st, &model->net, ids + depth + PP_TOKENS, 1, 1, true, logits, err);
    double t1 = gpu_seconds();
    const int32_t *steps = ids + depth + PP_TOKENS + 1;
    for (int64_t i = 0; s == G4_OK && i < TG_TOKENS; i++)
        s = gpu_forward_ids(st, &model->net, steps + i, 1, 1, true, logits, err);
    if (s == G4_OK)
        report_speed("tg128", depth + PP_TOKENS + 1, TG_TOKENS, gpu_seconds() - t1);
    cuda_state_free(st);
    free(ids);
    free(logits);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: compare_cuda MODEL.gguf [N_TOKENS [DEPTH]]\n");
        return 1;
    }
    int64_t n = argc > 2 ? atoll(argv[2]) : 64, depth = argc > 3 ? atoll(argv[3]) : 0;
    g4_err err = {0};
    if (!cuda_available(&err)) {
        fprintf(stderr, "compare_cuda: no GPU: %s\n", err.msg);
        return EXIT_NO_GPU;
    }
    if (n < 1 || depth < 0) {
        fprintf(stderr, "compare_cuda: N_TOKENS >= 1 and DEPTH >= 0\n");
        return 1;
    }
    g4_model_params params;
    g4_model_params_init(&params);
    g4_model *model = NULL;
    if (g4_model_load(argv[1], &params, &model) != G4_OK) {
        fprintf(stderr, "compare_cuda: %s\n", g4_last_error());
        return 1;
    }
    cuda_state_sizes largest = {depth + PP_TOKENS + 1 + TG_TOKENS + 8, PP_TOKENS};
    cuda_model *cm = NULL;
    g4_status s = cuda_model_upload(&model->net, 0, &largest, &cm, &err);
    if (s == G4_OK)
        s = compare(model, cm, n, &err);
    if (s == G4_OK)
        s = bench(model, cm, depth, &err);
    if (s != G4_OK)
        fprintf(stderr, "compare_cuda: %s\n", err.msg);
    cuda_model_free(cm);
    g4_model_free(model);
    return s == G4_OK ? 0 : 1;
}
