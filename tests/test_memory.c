/* The memory a session needs, as g4_model_session_bytes (and g4 info --ctx) reports it,
 * against what g4_session_new really allocates, for several context lengths. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>

#include "g4.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
/* AddressSanitizer's allocator replaces malloc's; it counts what is allocated itself
 * (declared by hand: GCC does not ship sanitizer/allocator_interface.h). */
size_t __sanitizer_get_current_allocated_bytes(void);
static uint64_t allocated_bytes(void)
{
    return (uint64_t)__sanitizer_get_current_allocated_bytes();
}
#else
static uint64_t allocated_bytes(void)
{
    struct mallinfo2 info = mallinfo2();
    return (uint64_t)info.uordblks + (uint64_t)info.hblkhd;
}
#endif

/* malloc's own headers and page rounding, and the session struct itself */
enum { SLACK_BYTES = 64 << 10 };

static void check_context(g4_model *model, uint32_t n_ctx, g4_kv_type kv_type)
{
    g4_session_params params;
    g4_session_params_init(&params);
    params.n_ctx = n_ctx;
    params.kv_type = kv_type;
    uint64_t predicted = g4_model_session_bytes(model, &params);
    g4_session *session = NULL;
    uint64_t before = allocated_bytes();
    CHECK(g4_session_new(model, &params, &session) == G4_OK);
    uint64_t used = allocated_bytes() - before;
    printf("--ctx %6u, KV type %d: predicted %10llu bytes, allocated %10llu\n", n_ctx,
           (int)kv_type, (unsigned long long)predicted, (unsigned long long)used);
    CHECK_MSG(used >= predicted && used <= predicted + SLACK_BYTES,
              "--ctx %u, KV type %d: predicted %llu bytes, allocated %llu", n_ctx, (int)kv_type,
              (unsigned long long)predicted, (unsigned long long)used);
    g4_session_free(session);
}

int main(void)
{
    g4_model *model = NULL;
    CHECK(g4_model_load(test_data_path("tiny-gemma4u-q4_0.gguf"), NULL, &model) == G4_OK);
    if (model) {
        const uint32_t contexts[] = {16, 100, 512, 1000, 4096, 8192};
        const g4_kv_type types[] = {G4_KV_F32, G4_KV_F16, G4_KV_Q8_0};
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
            for (size_t i = 0; i < sizeof contexts / sizeof contexts[0]; i++)
                check_context(model, contexts[i], types[t]);
    }
    g4_model_free(model);
    return test_finish("test_memory");
}
