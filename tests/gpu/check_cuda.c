/* The CUDA backend against the reference implementation (HF transformers, float32) on the
 * tiny Gemma 4 model, with the tolerances of tests/test_reference.c: top-16 logits of every
 * prompt position (the prompt in one pass, through cuBLAS, and in passes of 5 inputs,
 * through the matrix-vector kernels), then greedy decoding one input at a time (the CUDA
 * graph) with each step's argmax checked; and the image cases of tests/test_multimodal.c
 * (soft tokens from the CPU projector, their bidirectional blocks on every layer as the
 * reference ran them) with its tolerance. Needs a GPU, so it is not a ctest test:
 * scripts/test_gpu.sh runs it. Exit status: 0 all checks passed, 1 a check failed,
 * 3 no usable GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_backend.h"
#include "engine/input.h"
#include "engine/media.h"
#include "engine/model.h"
#include "gpu_run.h"
#include "harness.h"
#include "model/gemma4_forward.h"
#include "reference.h"

enum { EXIT_NO_GPU = 3, SMALL_PASS = 5 };

static const char *const text_cases[] = {"hello", "system_multiturn", "thinking", "tools",
                                         "unicode"};

typedef struct gpu_run {
    cuda_model *cm;
    const gemma4_model *net;
    const gguf_file *ref;
    bool full_reference;
    logit_stats *prompt, *greedy;
} gpu_run;

static cuda_state *new_state(const gpu_run *r, int64_t n_ctx, int64_t n_batch)
{
    cuda_state_sizes sizes = {n_ctx, n_batch};
    cuda_state *st = NULL;
    g4_err err = {0};
    CHECK_MSG(cuda_state_new(r->cm, &sizes, &st, &err) == G4_OK, "state: %s", err.msg);
    return st;
}

static bool forward_ids(const gpu_run *r, cuda_state *st, const int32_t *ids, int64_t n,
                        int64_t pass, float *logits)
{
    g4_err err = {0};
    bool ok = gpu_forward_ids(st, r->net, ids, n, pass, false, logits, &err) == G4_OK;
    CHECK_MSG(ok, "forward: %s", err.msg);
    return ok;
}

/* The reference's greedy tokens fed back one at a time, each step's argmax checked. */
static void check_greedy(const gpu_run *r, cuda_state *st, const char *name, float *logits)
{
    char key[128];
    snprintf(key, sizeof key, "case.%s.greedy", name);
    ref_ids greedy = ref_int_array(r->ref, key);
    const int32_t *top_ids = NULL;
    const float *top_logits = NULL;
    if (r->full_reference) {
        snprintf(key, sizeof key, "%s.greedy_topk_ids", name);
        top_ids = ref_tensor(r->ref, key, 16 * greedy.n);
        snprintf(key, sizeof key, "%s.greedy_topk_logits", name);
        top_logits = ref_tensor(r->ref, key, 16 * greedy.n);
    }
    int32_t vocab = (int32_t)r->net->hp.n_vocab;
    size_t mismatches = 0;
    for (size_t i = 0; i < greedy.n; i++) {
        if (top_ids && top_logits)
            compare_top16(r->greedy, logits, vocab, top_ids + 16 * i, top_logits + 16 * i, 1);
        mismatches += argmax_row(logits, vocab) != greedy.ids[i];
        if (i + 1 < greedy.n && !forward_ids(r, st, &greedy.ids[i], 1, 1, logits))
            break;
    }
    if (mismatches)
        printf("%s: %zu of %zu greedy tokens differ\n", name, mismatches, greedy.n);
    r->greedy->greedy_steps += greedy.n;
    r->greedy->greedy_mismatches += mismatches;
    free(greedy.ids);
}

/* One case with the prompt in passes of `pass` inputs; greedy steps after the whole-prompt
 * run only. */
static void run_case(const gpu_run *r, const char *name, int64_t pass)
{
    char key[128];
    snprintf(key, sizeof key, "case.%s.input_ids", name);
    ref_ids input = ref_int_array(r->ref, key);
    snprintf(key, sizeof key, "%s.topk_ids", name);
    const int32_t *top_ids = ref_tensor(r->ref, key, 16 * input.n);
    snprintf(key, sizeof key, "%s.topk_logits", name);
    const float *top_logits = ref_tensor(r->ref, key, 16 * input.n);
    int64_t n = (int64_t)input.n, vocab = r->net->hp.n_vocab;
    int64_t step = pass ? pass : n;
    cuda_state *st = n > 0 ? new_state(r, n + 64, step) : NULL;
    float *logits = malloc((size_t)((n ? n : 1) * vocab) * sizeof(float));
    if (st && logits && top_ids && top_logits && forward_ids(r, st, input.ids, n, step, logits)) {
        compare_top16(r->prompt, logits, (int32_t)vocab, top_ids, top_logits, input.n);
        if (!pass)
            check_greedy(r, st, name, logits + (n - 1) * vocab);
    } else {
        CHECK_MSG(false, "%s: could not run the case", name);
    }
    free(logits);
    cuda_state_free(st);
    free(input.ids);
}

typedef struct tolerance {
    double max_abs, mean_abs, argmax_share;
} tolerance;

static void check_stats(const char *label, const logit_stats *st, const tolerance *tol)
{
    ref_report(label, st);
    double mean = st->n_compared ? st->sum_abs_diff / (double)st->n_compared : 0.0;
    CHECK_MSG(st->n_compared > 0, "%s: nothing compared", label);
    CHECK_MSG(st->max_abs_diff <= tol->max_abs, "%s: max |dlogit| %.4f > %.4f", label,
              st->max_abs_diff, tol->max_abs);
    CHECK_MSG(mean <= tol->mean_abs, "%s: mean |dlogit| %.4f > %.4f", label, mean,
              tol->mean_abs);
    CHECK_MSG((double)st->argmax_equal >= tol->argmax_share * (double)st->argmax_checked,
              "%s: argmax %llu/%llu", label, (unsigned long long)st->argmax_equal,
              (unsigned long long)st->argmax_checked);
}

/* The input's rows (token embeddings, or the projector's soft tokens) and, per position,
 * its image block (or {-1, -1}), for a pass starting at position 0. */
static bool embed_input(g4_model *model, const g4_input *in, float *x, attention_span *spans)
{
    int64_t embd = model->net.hp.n_embd;
    g4_err err = {0};
    for (size_t i = 0; i < in->n; i++) {
        float *row = x + (int64_t)i * embd;
        if (!in->media[i])
            gemma4_embed_tokens(&model->net, &in->ids[i], 1, row);
        else if (media_embed_rows(model, in->media[i], in->row[i], 1, row, &err) != G4_OK) {
            CHECK_MSG(false, "soft token %zu: %s", i, err.msg);
            return false;
        }
        int32_t last = in->block_last[i];
        if (last < 0)
            spans[i] = (attention_span){-1, -1};
        else if (i > 0 && in->block_last[i - 1] == last)
            spans[i] = spans[i - 1];
        else
            spans[i] = (attention_span){(int64_t)i, last};
    }
    return true;
}

/* The chat request of reference case `name` with one image of image_tokens soft tokens. */
static g4_input *image_input(g4_model *model, const gguf_file *ref, const char *name,
                             int image_tokens, g4_media **media)
{
    char key[128];
    snprintf(key, sizeof key, "mm.%s.request", name);
    gguf_str request;
    g4_media_params params;
    g4_media_params_init(&params, G4_MEDIA_IMAGE);
    params.image_tokens = image_tokens;
    char *json = NULL, *prompt = NULL;
    g4_input *input = NULL;
    if (gguf_get_str(ref, key, &request, NULL) == G4_OK &&
        (json = strndup(request.ptr, request.len)) &&
        g4_chat_render(model, json, &prompt) == G4_OK &&
        g4_media_new_file(model, test_data_path("media/shapes.png"), &params, media) == G4_OK)
        CHECK_MSG(g4_input_new(model, prompt, strlen(prompt), false,
                               media, 1, &input) == G4_OK,
                  "%s: %s", name, g4_last_error());
    else
        CHECK_MSG(false, "%s: %s", name, g4_last_error());
    free(json);
    g4_free(prompt);
    return input;
}

/* One image case in a single pass with its blocks, then its greedy steps. */
static void run_image_case(const gpu_run *r, g4_model *model, const char *name,
                           int image_tokens)
{
    g4_media *media = NULL;
    g4_input *in = image_input(model, r->ref, name, image_tokens, &media);
    char key[128];
    snprintf(key, sizeof key, "case.%s.input_ids", name);
    ref_ids want = ref_int_array(r->ref, key);
    int64_t n = in ? (int64_t)in->n : 0, vocab = r->net->hp.n_vocab;
    CHECK_MSG(in && want.n == in->n && memcmp(want.ids, in->ids, in->n * sizeof(int32_t)) == 0,
              "%s: our prompt's ids differ from the reference's", name);
    snprintf(key, sizeof key, "%s.topk_ids", name);
    const int32_t *top_ids = ref_tensor(r->ref, key, 16 * (uint64_t)n);
    snprintf(key, sizeof key, "%s.topk_logits", name);
    const float *top_logits = ref_tensor(r->ref, key, 16 * (uint64_t)n);
    float *x = malloc((size_t)((n ? n : 1) * r->net->hp.n_embd) * sizeof(float));
    attention_span *spans = malloc((size_t)(n ? n : 1) * sizeof *spans);
    float *logits = malloc((size_t)((n ? n : 1) * vocab) * sizeof(float));
    cuda_state *st = n > 0 ? new_state(r, n + 64, n) : NULL;
    g4_err err = {0};
    if (st && x && spans && logits && top_ids && top_logits && embed_input(model, in, x, spans)) {
        cuda_batch b = {.x = x, .n = n, .spans = spans, .blocks_all_layers = true,
                        .logits = logits, .n_logits = n};
        bool ok = cuda_forward(st, &b, &err) == G4_OK;
        CHECK_MSG(ok, "%s: %s", name, err.msg);
        if (ok) {
            compare_top16(r->prompt, logits, (int32_t)vocab, top_ids, top_logits, (uint64_t)n);
            check_greedy(r, st, name, logits + (n - 1) * vocab);
        }
    }
    cuda_state_free(st);
    free(logits);
    free(spans);
    free(x);
    free(want.ids);
    g4_input_free(in);
    g4_media_free(media);
}

static void check_images(const tolerance *tol)
{
    g4_model *model = ref_load_model("tiny-gemma4u-bf16.gguf", false);
    gguf_file *ref = ref_open("reference-public.gguf");
    const char *mmproj = test_data_path("tiny-gemma4u-mmproj-f32.gguf");
    cuda_model *cm = NULL;
    g4_err err = {0};
    cuda_state_sizes largest = {4096, 512};
    if (model && ref && g4_model_load_projector(model, mmproj) == G4_OK)
        CHECK_MSG(cuda_model_upload(&model->net, 0, &largest, &cm, &err) == G4_OK,
                  "upload: %s", err.msg);
    logit_stats prompt = {0}, greedy = {0};
    gpu_run r = {cm, model ? &model->net : NULL, ref, true, &prompt, &greedy};
    if (cm) {
        run_image_case(&r, model, "image", 280);
        run_image_case(&r, model, "image_70", 70);
    }
    check_stats("image cases on the GPU, prompts:", &prompt, tol);
    ref_report("image cases on the GPU, greedy steps:", &greedy);
    CHECK(greedy.greedy_steps > 0 && greedy.greedy_mismatches == 0);
    CHECK_MSG(greedy.max_abs_diff <= tol->max_abs, "greedy-step logits off by %.4f",
              greedy.max_abs_diff);
    cuda_model_free(cm);
    gguf_close(ref);
    g4_model_free(model);
}

static void check_model(const char *model_name, const char *ref_name, const tolerance *tol)
{
    g4_model *model = ref_load_model(model_name, false);
    gguf_file *ref = ref_open(ref_name);
    cuda_model *cm = NULL;
    g4_err err = {0};
    cuda_state_sizes largest = {4096, 512};
    if (model && ref)
        CHECK_MSG(cuda_model_upload(&model->net, 0, &largest, &cm, &err) == G4_OK,
                  "upload %s: %s", model_name, err.msg);
    logit_stats whole = {0}, passes = {0}, greedy = {0};
    gpu_run r = {cm, model ? &model->net : NULL, ref,
                 strcmp(ref_name, "reference-public.gguf") == 0, &whole, &greedy};
    for (size_t i = 0; cm && i < sizeof text_cases / sizeof text_cases[0]; i++) {
        r.prompt = &whole;
        run_case(&r, text_cases[i], 0);
        r.prompt = &passes;
        run_case(&r, text_cases[i], SMALL_PASS);
    }
    char label[160];
    snprintf(label, sizeof label, "%s on the GPU, whole prompts:", model_name);
    check_stats(label, &whole, tol);
    snprintf(label, sizeof label, "%s on the GPU, prompts in passes of %d:", model_name,
             SMALL_PASS);
    check_stats(label, &passes, tol);
    snprintf(label, sizeof label, "%s on the GPU, greedy steps:", model_name);
    ref_report(label, &greedy);
    CHECK(greedy.greedy_steps > 0 && greedy.greedy_mismatches == 0);
    if (r.full_reference)
        CHECK_MSG(greedy.max_abs_diff <= tol->max_abs, "greedy-step logits off by %.4f",
                  greedy.max_abs_diff);
    cuda_model_free(cm);
    gguf_close(ref);
    g4_model_free(model);
}

int main(void)
{
    g4_err err = {0};
    if (!cuda_available(&err)) {
        fprintf(stderr, "check_cuda: no GPU to check on: %s\n", err.msg);
        return EXIT_NO_GPU;
    }
    cuda_device_info info;
    if (cuda_device_query(0, &info, &err) == G4_OK)
        printf("device 0: %s, compute %d.%d, %.0f of %.0f MiB free\n", info.name,
               info.compute_major, info.compute_minor, (double)info.free_bytes / 1048576.0,
               (double)info.total_bytes / 1048576.0);
    /* bf16 weights with an f16 KV cache: test_reference.c holds the CPU to 0.01 there;
     * Q4_0: the fast path's bounds of test_reference.c (llama.cpp's range on this file). */
    const tolerance strict = {0.01, 0.01, 1.0}, q4_fast = {0.42, 0.07, 0.95};
    check_model("tiny-gemma4u-bf16.gguf", "reference-public.gguf", &strict);
    check_model("tiny-gemma4u-q4_0.gguf", "reference-q4_0-public.gguf", &q4_fast);
    /* tests/test_multimodal.c's bound */
    check_images(&strict);
    return test_finish("check_cuda");
}
