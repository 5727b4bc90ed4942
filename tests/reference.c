#include "reference.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

gguf_file *ref_open(const char *name)
{
    gguf_file *f = NULL;
    g4_err err = {0};
    if (gguf_open(test_data_path(name), &f, &err) != G4_OK)
        fprintf(stderr, "cannot open %s: %s\n", name, err.msg);
    CHECK(f != NULL);
    return f;
}

ref_ids ref_int_array(const gguf_file *ref, const char *key)
{
    ref_ids r = {NULL, 0};
    const gguf_kv *kv = gguf_find(ref, key);
    CHECK_MSG(kv && kv->type == GGUF_ARRAY, "metadata %s", key);
    if (!kv || kv->type != GGUF_ARRAY)
        return r;
    r.ids = malloc((kv->count ? kv->count : 1) * sizeof(int32_t));
    for (uint64_t i = 0; r.ids && i < kv->count; i++) {
        int64_t v = 0;
        CHECK(gguf_array_i64(kv, i, &v, NULL) == G4_OK);
        r.ids[i] = (int32_t)v;
    }
    r.n = r.ids ? kv->count : 0;
    return r;
}

const void *ref_tensor(const gguf_file *ref, const char *name, uint64_t n_elements)
{
    const gguf_tensor *t = gguf_find_tensor(ref, name);
    CHECK_MSG(t && t->n_elements == n_elements, "tensor %s with %llu elements", name,
              (unsigned long long)n_elements);
    return t && t->n_elements == n_elements ? t->data : NULL;
}

int32_t argmax_row(const float *row, int32_t vocab)
{
    int32_t best = 0;
    for (int32_t i = 1; i < vocab; i++)
        if (row[i] > row[best])
            best = i;
    return best;
}

void compare_top16(logit_stats *st, const float *logits, int32_t vocab, const int32_t *want_ids,
                   const float *ref_logits, uint64_t n)
{
    for (uint64_t t = 0; t < n; t++) {
        const float *row = logits + t * (uint64_t)vocab;
        const int32_t *ids = want_ids + t * 16;
        const float *want = ref_logits + t * 16;
        for (int j = 0; j < 16; j++) {
            if (ids[j] < 0 || ids[j] >= vocab || !isfinite(want[j]))
                continue;
            double d = fabs((double)row[ids[j]] - want[j]);
            st->max_abs_diff = d > st->max_abs_diff ? d : st->max_abs_diff;
            st->sum_abs_diff += d;
            st->n_compared++;
        }
        int32_t ours = argmax_row(row, vocab);
        st->positions++;
        st->argmax_equal_all += ours == ids[0];
        if (want[0] - want[1] > 0.05f) {
            st->argmax_checked++;
            st->argmax_equal += ours == ids[0];
        }
    }
}

g4_model *ref_load_model(const char *name, bool exact)
{
    g4_model_params params;
    g4_model_params_init(&params);
    params.exact_math = exact;
    g4_model *model = NULL;
    g4_status st = g4_model_load(test_data_path(name), &params, &model);
    CHECK_MSG(st == G4_OK, "load %s: %s", name, g4_last_error());
    return model;
}

static g4_kv_type session_kv_type = G4_KV_F32;

void ref_use_kv_type(g4_kv_type type)
{
    session_kv_type = type;
}

g4_session *ref_new_session(g4_model *model, uint32_t n_ctx)
{
    g4_session_params sp;
    g4_session_params_init(&sp);
    sp.n_ctx = n_ctx;
    /* the reference ran transformers' forward, whose image blocks span every layer */
    sp.image_attention = G4_IMAGE_ATTENTION_ALL_LAYERS;
    sp.kv_type = session_kv_type;
    g4_session *s = NULL;
    CHECK(g4_session_new(model, &sp, &s) == G4_OK);
    return s;
}

/* Greedy decoding with the reference's tokens fed back, each step's top-16 compared. */
static void check_greedy(g4_model *model, g4_session *s, const gguf_file *ref, const char *name,
                         bool full_reference, logit_stats *st)
{
    char key[128];
    snprintf(key, sizeof key, "case.%s.greedy", name);
    ref_ids greedy = ref_int_array(ref, key);
    const int32_t *top_ids = NULL;
    const float *top_logits = NULL;
    if (full_reference) {
        snprintf(key, sizeof key, "%s.greedy_topk_ids", name);
        top_ids = ref_tensor(ref, key, 16 * greedy.n);
        snprintf(key, sizeof key, "%s.greedy_topk_logits", name);
        top_logits = ref_tensor(ref, key, 16 * greedy.n);
    }
    int32_t vocab = g4_model_vocab_size(model);
    size_t mismatches = 0;
    for (size_t i = 0; i < greedy.n; i++) {
        const float *logits = g4_session_logits(s);
        if (top_ids && top_logits)
            compare_top16(st, logits, vocab, top_ids + 16 * i, top_logits + 16 * i, 1);
        mismatches += argmax_row(logits, vocab) != greedy.ids[i];
        if (i + 1 < greedy.n)
            CHECK(g4_session_decode(s, &greedy.ids[i], 1, NULL) == G4_OK);
    }
    if (mismatches)
        printf("%s: %zu of %zu greedy tokens differ\n", name, mismatches, greedy.n);
    st->greedy_steps += greedy.n;
    st->greedy_mismatches += mismatches;
    free(greedy.ids);
}

/* The last position's logits over the whole vocabulary. */
static void check_last_logits(const gguf_file *ref, const char *name, const float *ours,
                              int32_t vocab)
{
    char key[128];
    snprintf(key, sizeof key, "%s.logits_last", name);
    const float *last = ref_tensor(ref, key, (uint64_t)vocab);
    double worst = 0.0;
    for (int32_t v = 0; last && v < vocab; v++)
        if (isfinite(ours[v]))
            worst = fmax(worst, fabs((double)ours[v] - last[v]));
    CHECK_MSG(worst <= 0.01, "%s: last position, all %d logits: max |diff| %.5f", name, vocab,
              worst);
}

/* Decodes the reference's prompt ids, or `given` after checking it has the same ids. */
static bool decode_case(g4_session *s, ref_ids want, const g4_input *given, float *logits)
{
    if (!given)
        return g4_session_decode(s, want.ids, want.n, logits) == G4_OK;
    size_t n = g4_input_n_tokens(given);
    bool same = n == want.n && memcmp(g4_input_tokens(given), want.ids, n * sizeof(int32_t)) == 0;
    CHECK_MSG(same, "the expanded prompt (%zu ids) differs from the reference's (%zu ids)", n,
              want.n);
    return same && g4_session_decode_input(s, given, 0, logits) == G4_OK;
}

/* Runs one case, accumulating prompt and greedy-step statistics. A full reference also
 * has the last position's whole logit row and each greedy step's top 16. The prompt is
 * the reference's ids, or `input_arg` when given (checked to expand to the same ids). */
void ref_run_case(g4_model *model, const gguf_file *ref, const char *name,
                  const g4_input *input_arg, bool full_reference, logit_stats *prompt_st,
                  logit_stats *greedy_st)
{
    char key[128];
    snprintf(key, sizeof key, "case.%s.input_ids", name);
    ref_ids input = ref_int_array(ref, key);
    const g4_input *given = input_arg;
    int32_t vocab = g4_model_vocab_size(model);
    snprintf(key, sizeof key, "%s.topk_ids", name);
    const int32_t *top_ids = ref_tensor(ref, key, 16 * input.n);
    snprintf(key, sizeof key, "%s.topk_logits", name);
    const float *top_logits = ref_tensor(ref, key, 16 * input.n);
    g4_session *s = ref_new_session(model, (uint32_t)input.n + 64);
    float *logits = malloc(input.n * (size_t)vocab * sizeof(float));
    if (s && logits && top_ids && top_logits && decode_case(s, input, given, logits)) {
        compare_top16(prompt_st, logits, vocab, top_ids, top_logits, input.n);
        if (full_reference)
            check_last_logits(ref, name, logits + (input.n - 1) * (size_t)vocab, vocab);
        check_greedy(model, s, ref, name, full_reference, greedy_st);
    } else {
        CHECK_MSG(false, "%s: could not run the case: %s", name, g4_last_error());
    }
    free(logits);
    g4_session_free(s);
    free(input.ids);
}

void ref_report(const char *what, const logit_stats *st)
{
    printf("%-34s max |dlogit| %.5f  mean %.6f  argmax %llu/%llu (all positions %llu/%llu)",
           what, st->max_abs_diff, st->n_compared ? st->sum_abs_diff / st->n_compared : 0.0,
           (unsigned long long)st->argmax_equal, (unsigned long long)st->argmax_checked,
           (unsigned long long)st->argmax_equal_all, (unsigned long long)st->positions);
    if (st->greedy_steps)
        printf("  greedy tokens equal %llu/%llu",
               (unsigned long long)(st->greedy_steps - st->greedy_mismatches),
               (unsigned long long)st->greedy_steps);
    printf("\n");
}
