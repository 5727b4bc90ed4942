#include "reference.h"

#include <math.h>
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
