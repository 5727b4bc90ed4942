/* The CUDA backend's host side, which needs no GPU: the device memory plan of the tiny model
 * against sizes computed here from the GGUF file and the model's published shape, the
 * "does not fit" error with its numbers, and cuda_available's answer (true, or false with
 * a reason: this runs on machines with and without a GPU). */
#include <string.h>

#include "cuda/cuda_backend.h"
#include "engine/model.h"
#include "harness.h"
#include "reference.h"

#define ALIGN 256u

static uint64_t aligned(uint64_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

/* Every tensor of the file is uploaded as it is stored (the tied LM head is token_embd
 * itself) but the one-number layer output scales, which are kernel arguments; plus the
 * suppressed token ids. */
static uint64_t expected_weight_bytes(const g4_model *model)
{
    uint64_t bytes = aligned((uint64_t)model->net.n_suppressed * 4);
    for (uint64_t i = 0; i < model->file->n_tensors; i++)
        if (model->file->tensors[i].n_elements > 1)
            bytes += aligned(model->file->tensors[i].n_bytes);
    return bytes;
}

/* The tiny model: 10 sliding-window layers with 2 KV heads of 256 and a window of 32, and 2
 * global layers with 1 KV head of 512 (tests/data/README, `g4 info`); f16 K and V. */
static uint64_t expected_kv_bytes(int64_t n_ctx, int64_t n_batch)
{
    int64_t ring = 32 - 1 + n_batch < n_ctx ? 32 - 1 + n_batch : n_ctx;
    return 10 * 2 * aligned((uint64_t)ring * 2 * 256 * 2) +
           2 * 2 * aligned((uint64_t)n_ctx * 1 * 512 * 2);
}

static void check_plan(const g4_model *model)
{
    cuda_state_sizes sizes = {4096, 512};
    cuda_memory_plan plan;
    g4_err err = {0};
    CHECK(cuda_plan_memory(&model->net, &sizes, &plan, &err) == G4_OK);
    CHECK_MSG(plan.weight_bytes == expected_weight_bytes(model), "weights %llu, want %llu",
              (unsigned long long)plan.weight_bytes,
              (unsigned long long)expected_weight_bytes(model));
    CHECK_MSG(plan.kv_bytes == expected_kv_bytes(4096, 512), "KV %llu, want %llu",
              (unsigned long long)plan.kv_bytes, (unsigned long long)expected_kv_bytes(4096, 512));
    /* at least the logits of 512 inputs over the 262144-token vocabulary */
    CHECK(plan.activation_bytes >= 512ull * 262144 * 4);
    CHECK(cuda_plan_total(&plan) == plan.weight_bytes + plan.kv_bytes +
                                        plan.activation_bytes + plan.scratch_bytes);

    CHECK(cuda_plan_check(&plan, cuda_plan_total(&plan) + (1ull << 30), &err) == G4_OK);
    CHECK(cuda_plan_check(&plan, 100ull << 20, &err) == G4_ERR_NO_MEMORY);
    CHECK_MSG(strstr(err.msg, "does not fit") && strstr(err.msg, "100.0 MiB are free"), "%s",
              err.msg);

    cuda_state_sizes bad = {4096, 0};
    CHECK(cuda_plan_memory(&model->net, &bad, &plan, &err) == G4_ERR_INVALID_ARG);
}

int main(void)
{
    g4_model *model = ref_load_model("tiny-gemma4u-q4_0.gguf", false);
    if (model)
        check_plan(model);
    g4_model_free(model);
    g4_err err = {0};
    bool available = cuda_available(&err);
    CHECK_MSG(available || err.msg[0] != '\0', "cuda_available: false without a reason");
    printf("cuda_available: %s%s\n", available ? "yes" : "no: ", available ? "" : err.msg);
    return test_finish("test_cuda_plan");
}
