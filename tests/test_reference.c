/* The decoder against the reference implementation (HF transformers, float32) on the tiny
 * Gemma 4 model: top-16 logits of every prompt position, greedy continuation step by step,
 * and the residual stream layer by layer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/ops.h"
#include "engine/session.h"
#include "harness.h"
#include "reference.h"

/* Measured: f16 0.0053 (inside the reference tolerance, so f16 is the default cache),
 * q8_0 0.17 with argmax 421/423. */
#define F16_KV_MAX 0.01
#define Q8_KV_MAX 0.25

static const char *const text_cases[] = {"hello", "system_multiturn", "thinking", "tools",
                                         "unicode"};

/* The residual stream after the embedding and each layer, relative error per layer. Like
 * HF's hidden_states, the last entry is taken after the final norm. */
static void check_hidden_states(g4_model *model, const gguf_file *ref)
{
    ref_ids input = ref_int_array(ref, "case.hello.input_ids");
    uint32_t layers = 12, embd = 64;
    uint64_t count = (uint64_t)(layers + 1) * input.n * embd;
    const float *want = ref_tensor(ref, "hello.hidden_states", count);
    float *got = malloc(count * sizeof(float));
    g4_session *s = ref_new_session(model, 64);
    if (want && got && s) {
        session_capture_hidden(s, got);
        CHECK(g4_session_decode(s, input.ids, input.n, NULL) == G4_OK);
        float *last = got + (uint64_t)layers * input.n * embd;
        rmsnorm_rows(last, last, model->net.output_norm, (int64_t)input.n, embd,
                     model->net.hp.rms_eps);
        for (uint32_t l = 0; l <= layers; l++) {
            double num = 0, den = 0;
            for (uint64_t i = 0; i < input.n * embd; i++) {
                double d = got[l * input.n * embd + i] - want[l * input.n * embd + i];
                num += d * d;
                den += (double)want[l * input.n * embd + i] * want[l * input.n * embd + i];
            }
            double rel = sqrt(num / den);
            CHECK_MSG(rel <= 1e-4, "hidden state after layer %d: relative error %.2e",
                      (int)l - 1, rel);
        }
    }
    g4_session_free(s);
    free(got);
    free(input.ids);
}

/* One reference file against one model file. */
static void check_model(const char *model_name, bool exact, const char *ref_name,
                        double tolerance, logit_stats *prompt_st)
{
    g4_model *model = ref_load_model(model_name, exact);
    gguf_file *ref = ref_open(ref_name);
    /* a full reference (whole last-position rows, each greedy step's top 16) is held to
     * the strict tolerance only */
    bool full_reference = strcmp(ref_name, "reference-public.gguf") == 0 && tolerance > 0;
    logit_stats greedy_st = {0};
    for (size_t i = 0; model && ref && i < sizeof text_cases / sizeof text_cases[0]; i++)
        ref_run_case(model, ref, text_cases[i], NULL, full_reference, prompt_st, &greedy_st);
    char label[160];
    snprintf(label, sizeof label, "%s%s prompts:", model_name, exact ? " (exact)" : "");
    ref_report(label, prompt_st);
    snprintf(label, sizeof label, "%s%s greedy steps:", model_name, exact ? " (exact)" : "");
    ref_report(label, &greedy_st);
    if (tolerance > 0) {
        CHECK_MSG(prompt_st->max_abs_diff <= tolerance, "prompt logits off by %.5f",
                  prompt_st->max_abs_diff);
        CHECK_MSG(greedy_st.max_abs_diff <= tolerance, "greedy-step logits off by %.5f",
                  greedy_st.max_abs_diff);
        CHECK(!full_reference || greedy_st.n_compared > 0);
        CHECK(greedy_st.greedy_steps > 0 && greedy_st.greedy_mismatches == 0);
        CHECK(prompt_st->argmax_equal == prompt_st->argmax_checked);
    }
    if (model && ref && full_reference)
        check_hidden_states(model, ref);
    gguf_close(ref);
    g4_model_free(model);
}

/* The bf16 model with a 16-bit and an 8-bit KV cache: rounding K and V to 8 bits moves
 * the logits by about half what the fast 8-bit activations do; f16 stays inside the
 * reference tolerance. */
static void check_kv_types(void)
{
    logit_stats f16 = {0}, q8 = {0};
    ref_use_kv_type(G4_KV_F16);
    check_model("tiny-gemma4u-bf16.gguf", false, "reference-public.gguf", 0, &f16);
    ref_use_kv_type(G4_KV_Q8_0);
    check_model("tiny-gemma4u-bf16.gguf", false, "reference-public.gguf", 0, &q8);
    ref_use_kv_type(G4_KV_F32);
    CHECK_MSG(f16.max_abs_diff <= F16_KV_MAX, "f16 KV cache: max |dlogit| %.4f",
              f16.max_abs_diff);
    CHECK_MSG(q8.max_abs_diff <= Q8_KV_MAX, "q8_0 KV cache: max |dlogit| %.4f",
              q8.max_abs_diff);
    CHECK_MSG(q8.argmax_equal >= 0.95 * q8.argmax_checked, "q8_0 KV cache: argmax %llu/%llu",
              (unsigned long long)q8.argmax_equal, (unsigned long long)q8.argmax_checked);
}

int main(void)
{
    logit_stats bf16 = {0}, q4_exact = {0}, q4_fast = {0};
    check_model("tiny-gemma4u-bf16.gguf", false, "reference-public.gguf", 0.01, &bf16);
    check_model("tiny-gemma4u-q4_0.gguf", true, "reference-q4_0-public.gguf", 0.01, &q4_exact);
    /* The fast path quantizes activations to 8-bit blocks for few columns (decode) and
     * rounds weights and activations to bf16 for many (prefill, where the CPU has
     * AVX512_BF16); llama.cpp reaches max |dlogit| 0.27-0.42, mean 0.05-0.07 and argmax
     * agreement 0.95-0.99 on this file; we must stay inside that range (measured: 0.17,
     * 0.023, 405/407 with bf16; 0.37, 0.057, 392/407 with 8-bit blocks only). */
    check_model("tiny-gemma4u-q4_0.gguf", false, "reference-q4_0-public.gguf", 0, &q4_fast);
    CHECK_MSG(q4_fast.max_abs_diff <= 0.42, "fast Q4_0 path max |dlogit| %.4f",
              q4_fast.max_abs_diff);
    CHECK_MSG(q4_fast.sum_abs_diff / q4_fast.n_compared <= 0.07, "fast Q4_0 mean |dlogit| %.4f",
              q4_fast.sum_abs_diff / q4_fast.n_compared);
    CHECK_MSG(q4_fast.argmax_equal >= 0.95 * q4_fast.argmax_checked,
              "fast Q4_0 argmax %llu/%llu", (unsigned long long)q4_fast.argmax_equal,
              (unsigned long long)q4_fast.argmax_checked);
    check_kv_types();
    return test_finish("test_reference");
}
