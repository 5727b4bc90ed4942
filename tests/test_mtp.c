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

/* ---- speculative decoding gives plain decoding's output ----------------------------------- */

enum { MAX_GEN = 36, MAX_CTX = 512, MAX_TEXT = 16384 };

typedef struct text_buf {
    char data[MAX_TEXT];
    size_t len;
} text_buf;

static bool collect(const char *text, size_t len, void *user)
{
    text_buf *buf = user;
    size_t room = sizeof buf->data - buf->len;
    size_t n = len < room ? len : room;
    memcpy(buf->data + buf->len, text, n);
    buf->len += n;
    return true;
}

typedef struct run_result {
    text_buf text;
    g4_generate_stats stats;
    uint32_t n_cached;
    int32_t cached[MAX_CTX];
} run_result;

/* How a generation drafts: not at all, with the model's drafter, or with a proposer. */
typedef struct draft_mode {
    const char *name;
    int draft_max;
    bool fixed;
    const spec_proposer *proposer;
    uint32_t n_batch; /* 0: the default; small batches make the sliding rings wrap */
} draft_mode;

static void run_generation(g4_model *model, const int32_t *prompt, size_t n_prompt,
                           const g4_sampler_params *sp, const draft_mode *mode, run_result *out)
{
    memset(out, 0, sizeof *out);
    g4_session_params params;
    g4_session_params_init(&params);
    params.n_ctx = MAX_CTX;
    params.n_batch = mode->n_batch;
    g4_session *s = NULL;
    g4_sampler *sampler = NULL;
    CHECK(g4_session_new(model, &params, &s) == G4_OK);
    CHECK(g4_sampler_new(sp, g4_model_vocab_size(model), &sampler) == G4_OK);
    g4_generate_params gp = {.max_tokens = MAX_GEN, .show_special = true, .on_text = collect,
                             .user = &out->text, .draft_max = mode->draft_max, .draft_min = 1,
                             .draft_fixed = mode->fixed};
    if (s && sampler) {
        CHECK_MSG(generate_speculative(s, sampler, prompt, n_prompt, &gp, mode->proposer,
                                       &out->stats) == G4_OK,
                  "%s: %s", mode->name, g4_last_error());
        out->n_cached = g4_session_position(s);
        memcpy(out->cached, s->tokens, out->n_cached * sizeof(int32_t));
    }
    g4_sampler_free(sampler);
    g4_session_free(s);
}

/* Proposes the plain run's own continuation, with one draft of every step made wrong
 * (which one moves with the position) when wrong_every > 0. */
typedef struct oracle {
    const int32_t *seq; /* the prompt, then the plain run's tokens */
    size_t n;
    int wrong_every;
    int32_t vocab;
    size_t calls, misplaced;
} oracle;

static int oracle_propose(void *self, const g4_session *s, int32_t last, const float *hidden,
                          int32_t *drafts, int max)
{
    oracle *o = self;
    size_t pos = g4_session_position(s);
    (void)hidden;
    o->calls++;
    if (pos >= o->n || o->seq[pos] != last) {
        o->misplaced++;
        return 0;
    }
    int n = 0;
    for (; n < max && pos + 1 + (size_t)n < o->n; n++) {
        drafts[n] = o->seq[pos + 1 + (size_t)n];
        if (o->wrong_every > 0 && (size_t)n == pos % (size_t)o->wrong_every)
            drafts[n] = (drafts[n] + 1) % o->vocab;
    }
    return n;
}

static void check_same_run(const char *what, const run_result *plain, const run_result *spec)
{
    CHECK_MSG(spec->text.len == plain->text.len &&
                  memcmp(spec->text.data, plain->text.data, plain->text.len) == 0,
              "%s: text differs from plain decoding (%zu vs %zu bytes)", what, spec->text.len,
              plain->text.len);
    CHECK_MSG(spec->stats.generated_tokens == plain->stats.generated_tokens &&
                  spec->stats.stopped_by_eog == plain->stats.stopped_by_eog,
              "%s: %u tokens generated, plain %u", what, spec->stats.generated_tokens,
              plain->stats.generated_tokens);
    CHECK_MSG(spec->n_cached == plain->n_cached &&
                  memcmp(spec->cached, plain->cached, plain->n_cached * sizeof(int32_t)) == 0,
              "%s: the cache holds %u tokens, plain %u, or different ones", what,
              spec->n_cached, plain->n_cached);
}

typedef struct draft_totals {
    uint64_t drafted, accepted, steps, runs;
} draft_totals;

static void compare_modes(g4_model *model, const int32_t *prompt, size_t n_prompt,
                          const g4_sampler_params *sp, draft_totals *totals)
{
    run_result *plain = malloc(sizeof *plain), *spec = malloc(sizeof *spec);
    int32_t *seq = malloc(MAX_CTX * sizeof(int32_t));
    if (!plain || !spec || !seq)
        return;
    draft_mode none = {"plain", 0, false, NULL, 8};
    run_generation(model, prompt, n_prompt, sp, &none, plain);
    /* the cached tokens are the plain run's sequence but for its last token */
    memcpy(seq, plain->cached, plain->n_cached * sizeof(int32_t));
    oracle right = {seq, plain->n_cached, 0, g4_model_vocab_size(model), 0, 0};
    oracle wrong = right;
    wrong.wrong_every = 3;
    spec_proposer right_p = {oracle_propose, &right}, wrong_p = {oracle_propose, &wrong};
    draft_mode modes[] = {
        {"drafter, adaptive", 4, false, NULL, 0},
        {"drafter, 3 per step, batch 8", 3, true, NULL, 8},
        {"continuation, 6 per step, batch 8", 6, true, &right_p, 8},
        {"continuation with wrong drafts, 5 per step, batch 8", 5, true, &wrong_p, 8},
        {"continuation, adaptive", 4, false, &right_p, 0},
    };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        run_generation(model, prompt, n_prompt, sp, &modes[m], spec);
        char what[160];
        snprintf(what, sizeof what, "%s (prompt of %zu)", modes[m].name, n_prompt);
        check_same_run(what, plain, spec);
        totals[m].drafted += spec->stats.drafted_tokens;
        totals[m].accepted += spec->stats.accepted_tokens;
        totals[m].steps += spec->stats.draft_steps;
        totals[m].runs++;
    }
    CHECK_MSG(right.misplaced == 0 && wrong.misplaced == 0, "drafts asked for at a position "
              "the plain run does not reach the same way (%zu, %zu)", right.misplaced,
              wrong.misplaced);
    free(plain);
    free(spec);
    free(seq);
}

static const char *const mode_names[] = {"drafter, adaptive", "drafter, 3 per step",
                                         "continuation, 6 per step",
                                         "continuation with wrong drafts",
                                         "continuation, adaptive"};

static void test_same_output(const g4_sampler_params *sp, const char *what,
                             const size_t *lengths, size_t n_lengths)
{
    g4_model *model = load_with_drafter(false);
    gguf_file *ref = ref_open("mtp/reference-mtp.gguf");
    ref_ids hello = ref_int_array(ref, "case.mtp_hello.input_ids");
    ref_ids longer = ref_int_array(ref, "case.mtp_long.input_ids");
    draft_totals totals[5] = {{0}};
    for (size_t i = 0; model && hello.n >= 21 && longer.n >= 85 && i < n_lengths; i++) {
        const int32_t *ids = lengths[i] == 21 ? hello.ids : longer.ids;
        compare_modes(model, ids + (lengths[i] == 21 ? 0 : 85 - lengths[i]), lengths[i], sp,
                      totals);
    }
    for (size_t m = 0; m < 5; m++)
        printf("%s, %s: %llu runs, %llu steps drafted %llu tokens, %llu accepted\n", what,
               mode_names[m], (unsigned long long)totals[m].runs,
               (unsigned long long)totals[m].steps, (unsigned long long)totals[m].drafted,
               (unsigned long long)totals[m].accepted);
    CHECK(totals[1].drafted > 0 && totals[2].drafted > 0 && totals[3].drafted > 0);
    CHECK_MSG(totals[3].accepted < totals[3].drafted, "wrong drafts are rejected");
    free(hello.ids);
    free(longer.ids);
    gguf_close(ref);
    g4_model_free(model);
}

/* ---- the reference's assisted generation ------------------------------------------------ */

/* Greedy generation with the drafter reproduces the reference's assisted (= greedy) tokens
 * on its two prompts: the 23 fed back into the cache, and the 24th emitted. */
static void test_reference_assisted(void)
{
    g4_model *model = load_with_drafter(true);
    gguf_file *ref = ref_open("mtp/reference-mtp.gguf");
    const char *names[] = {"mtp_hello", "mtp_long"};
    g4_sampler_params greedy;
    g4_sampler_params_init(&greedy);
    greedy.temperature = 0.0f;
    for (size_t c = 0; model && ref && c < 2; c++) {
        char key[128];
        snprintf(key, sizeof key, "case.%s.input_ids", names[c]);
        ref_ids prompt = ref_int_array(ref, key);
        snprintf(key, sizeof key, "case.%s.assisted", names[c]);
        ref_ids want = ref_int_array(ref, key);
        g4_session *s = ref_new_session(model, 256);
        g4_sampler *sampler = NULL;
        g4_generate_params gp = {.max_tokens = (int32_t)want.n, .draft_max = 4,
                                 .draft_min = 1, .draft_fixed = true};
        g4_generate_stats st = {0};
        CHECK(g4_sampler_new(&greedy, g4_model_vocab_size(model), &sampler) == G4_OK);
        CHECK(s && g4_generate(s, sampler, prompt.ids, prompt.n, &gp, &st) == G4_OK);
        size_t same = 0;
        while (s && same + 1 < want.n && same + prompt.n < g4_session_position(s) &&
               s->tokens[prompt.n + same] == want.ids[same])
            same++;
        CHECK_MSG(want.n == 24 && st.generated_tokens == want.n && same + 1 == want.n &&
                      st.draft_steps > 0,
                  "%s: %zu of %zu assisted tokens reproduced, %u drafting steps", names[c],
                  same, want.n, st.draft_steps);
        printf("%s: %zu assisted tokens reproduced with %u drafting steps\n", names[c],
               same + 1 == want.n ? want.n : same, st.draft_steps);
        g4_sampler_free(sampler);
        g4_session_free(s);
        free(prompt.ids);
        free(want.ids);
    }
    gguf_close(ref);
    g4_model_free(model);
}

/* ---- rollback: the cache after rejected drafts is the cache of plain decoding ------------- */

enum { ROLLBACK_STEPS = 30 };

static g4_session *small_batch_session(g4_model *model)
{
    g4_session_params params;
    g4_session_params_init(&params);
    params.n_ctx = 256;
    params.n_batch = 8; /* sliding rings of 32 + 8 rows: they wrap many times */
    g4_session *s = NULL;
    CHECK(g4_session_new(model, &params, &s) == G4_OK);
    return s;
}

/* Plain greedy decoding after the prompt: the tokens x and the logits after feeding each. */
static void plain_steps(g4_model *model, const ref_ids *prompt, int32_t *x, float *logits)
{
    int32_t vocab = g4_model_vocab_size(model);
    g4_session *s = small_batch_session(model);
    CHECK(s && g4_session_decode(s, prompt->ids, prompt->n, NULL) == G4_OK);
    for (int j = 0; s && j < ROLLBACK_STEPS; j++) {
        x[j] = argmax_row(g4_session_logits(s), vocab);
        CHECK(g4_session_decode(s, &x[j], 1, NULL) == G4_OK);
        memcpy(logits + (size_t)j * vocab, g4_session_logits(s), vocab * sizeof(float));
    }
    g4_session_free(s);
}

/* Feeds the same tokens in passes of a few right ones followed by wrong drafts, rolling
 * the wrong ones back each time; every kept row's logits must equal plain decoding's. */
static void test_rollback(void)
{
    g4_model *model = ref_load_model(TARGET, false);
    gguf_file *ref = ref_open("mtp/reference-mtp.gguf");
    ref_ids prompt = ref_int_array(ref, "case.mtp_long.input_ids");
    int32_t vocab = model ? g4_model_vocab_size(model) : 0;
    int32_t x[ROLLBACK_STEPS];
    float *want = malloc((size_t)ROLLBACK_STEPS * vocab * sizeof(float));
    float *rows = malloc(8 * (size_t)vocab * sizeof(float));
    g4_session *s = model ? small_batch_session(model) : NULL;
    double worst = 0.0;
    int passes = 0, rolled_back = 0;
    if (s && want && rows && prompt.n > 0) {
        plain_steps(model, &prompt, x, want);
        CHECK(g4_session_decode(s, prompt.ids, prompt.n, NULL) == G4_OK);
        for (int j = 0; j < ROLLBACK_STEPS; passes++) {
            int right = passes % 3, wrong = 1 + passes % 5;
            right = j + right < ROLLBACK_STEPS ? right : ROLLBACK_STEPS - 1 - j;
            int32_t batch[8];
            for (int i = 0; i <= right; i++)
                batch[i] = x[j + i];
            for (int i = 0; i < wrong; i++)
                batch[right + 1 + i] = (x[j] * 7 + 13 * i + 1) % vocab;
            uint32_t pos = g4_session_position(s);
            CHECK(g4_session_decode(s, batch, (size_t)(right + 1 + wrong), rows) == G4_OK);
            for (int i = 0; i <= right; i++)
                for (int32_t v = 0; v < vocab; v++)
                    if (isfinite(want[(size_t)(j + i) * vocab + v]))
                        worst = fmax(worst, fabs(rows[(size_t)i * vocab + v] -
                                                 want[(size_t)(j + i) * vocab + v]));
            CHECK(g4_session_truncate(s, pos + (uint32_t)right + 1) == G4_OK);
            rolled_back += wrong;
            j += right + 1;
        }
    }
    printf("rollback: %d passes, %d wrong drafts rolled back, kept rows' logits max |diff| "
           "%.2e from plain decoding\n", passes, rolled_back, worst);
    CHECK_MSG(worst <= ROLLBACK_MAX, "logits after rollback differ by %.2e", worst);
    CHECK(passes > 10);
    g4_session_free(s);
    free(want);
    free(rows);
    free(prompt.ids);
    gguf_close(ref);
    g4_model_free(model);
}

/* ---- how many to draft ------------------------------------------------------------------- */

/* A planner that has seen a plain step of 100 ms and n drafting steps of k drafts, each
 * draft costing draft_ms to make and extra_ms more in the check, `accepted` of them kept. */
static spec_planner planner_after(int n, int k, int accepted, double draft_ms, double extra_ms)
{
    spec_planner p;
    spec_planner_init(&p, 1, 4, false);
    spec_planner_record(&p, 0, 0, false, 0.0, 0.100);
    for (int i = 0; i < n; i++)
        spec_planner_record(&p, k, accepted, accepted < k, k * draft_ms * 1e-3,
                            0.100 + k * extra_ms * 1e-3);
    return p;
}

static void test_planner(void)
{
    spec_planner p;
    spec_planner_init(&p, 1, 4, false);
    /* before any drafting step is measured it tries the most it may */
    spec_planner_record(&p, 0, 0, false, 0.0, 0.100);
    CHECK(spec_planner_choose(&p, 8) == 4);
    CHECK(spec_planner_choose(&p, 2) == 2);
    /* every draft accepted, cheap drafts (5 ms) and checks (10 ms per token): 5 tokens for
     * 160 ms beats one per 100 ms */
    p = planner_after(20, 4, 4, 5.0, 10.0);
    CHECK(spec_planner_choose(&p, 8) == 4);
    CHECK(spec_planner_choose(&p, 3) == 3);
    /* every draft rejected: acceptance ~0.1, 1.1 tokens per 115 ms loses to plain; it
     * tries again (draft_min) every 32 steps */
    p = planner_after(20, 4, 0, 5.0, 10.0);
    int off = 0;
    while (off < 40 && spec_planner_choose(&p, 8) == 0)
        off++;
    CHECK_MSG(off == 31, "drafting tried again after %d steps without", off);
    /* every draft accepted (estimate 0.973) but checking a token costs as much as a plain
     * step: at best 1.97 tokens per 205 ms (k = 1), below plain decoding's 10 per second */
    p = planner_after(20, 4, 4, 5.0, 100.0);
    CHECK(spec_planner_choose(&p, 8) == 0);
    /* two of four accepted, then a rejection (estimate 0.656), 2 ms drafts, 20 ms per
     * checked token: tokens per second 13.6, 14.5, 14.3, 13.6 for k = 1..4 */
    p = planner_after(40, 4, 2, 2.0, 20.0);
    CHECK(spec_planner_choose(&p, 8) == 2);
    spec_planner_init(&p, 3, 4, false);
    CHECK(spec_planner_choose(&p, 2) == 0); /* fewer than draft_min fit */
    spec_planner_init(&p, 1, 4, true);
    spec_planner_record(&p, 0, 0, false, 0.0, 0.100);
    spec_planner_record(&p, 4, 0, true, 1.0, 5.0);
    CHECK(spec_planner_choose(&p, 8) == 4); /* fixed: whatever it costs */
}

int main(void)
{
    test_load_checks();
    test_planner();
    test_reference_calls();
    test_reference_assisted();
    test_rollback();
    g4_sampler_params greedy, sampled;
    g4_sampler_params_init(&greedy);
    greedy.temperature = 0.0f;
    g4_sampler_params_init(&sampled);
    sampled.seed = 1234;
    sampled.repeat_penalty = 1.1f;
    /* prompts shorter and longer than the tiny model's window of 32 (prompts come from
     * the reference's); every generation of MAX_GEN tokens crosses it */
    const size_t greedy_lengths[] = {3, 21, 40, 85}, sampled_lengths[] = {12, 85};
    test_same_output(&greedy, "greedy", greedy_lengths, 4);
    test_same_output(&sampled, "sampled (seed 1234)", sampled_lengths, 2);
    return test_finish("test_mtp");
}
