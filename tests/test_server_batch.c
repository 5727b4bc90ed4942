/* Continuous batching: one forward pass over the next token of several sessions at
 * different positions gives each the logits it gets alone, and the reference's greedy
 * continuations still hold when the five text cases are decoded together. */
#include <math.h>
#include <stdlib.h>

#include "engine/session_batch.h"
#include "harness.h"
#include "reference.h"

enum { N_CASES = 5, CTX = 256 };

static const char *const cases[N_CASES] = {"hello", "system_multiturn", "thinking", "tools",
                                           "unicode"};

typedef struct sequence {
    ref_ids greedy;
    const int32_t *top_ids;   /* [greedy.n][16] the reference's top 16 at each step, or NULL */
    const float *top_logits;
    g4_session *batched;      /* decoded in the batch */
    g4_session *alone;        /* the same tokens decoded on its own */
} sequence;

static bool open_sequence(g4_model *model, const gguf_file *ref, const char *name,
                          bool full_reference, sequence *seq)
{
    char key[128];
    snprintf(key, sizeof key, "case.%s.input_ids", name);
    ref_ids prompt = ref_int_array(ref, key);
    snprintf(key, sizeof key, "case.%s.greedy", name);
    seq->greedy = ref_int_array(ref, key);
    if (full_reference) {
        snprintf(key, sizeof key, "%s.greedy_topk_ids", name);
        seq->top_ids = ref_tensor(ref, key, 16 * seq->greedy.n);
        snprintf(key, sizeof key, "%s.greedy_topk_logits", name);
        seq->top_logits = ref_tensor(ref, key, 16 * seq->greedy.n);
    }
    seq->batched = ref_new_session(model, CTX);
    seq->alone = ref_new_session(model, CTX);
    bool ok = prompt.n > 0 && seq->greedy.n > 0 &&
              (!full_reference || (seq->top_ids && seq->top_logits)) && seq->batched &&
              seq->alone &&
              g4_session_decode(seq->batched, prompt.ids, prompt.n, NULL) == G4_OK &&
              g4_session_decode(seq->alone, prompt.ids, prompt.n, NULL) == G4_OK;
    free(prompt.ids);
    return ok;
}

static double max_abs_diff(const float *a, const float *b, int32_t n)
{
    double worst = 0;
    for (int32_t i = 0; i < n; i++)
        if (isfinite(a[i]) || isfinite(b[i]))
            worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst;
}

/* Step `step` of every sequence that has one: checks its logits, then feeds the
 * reference's token, batched and alone. Returns how many sequences took part. */
static int batch_step(session_batch *batch, sequence *seqs, size_t step, int32_t vocab,
                      logit_stats *st, double *worst_vs_alone)
{
    g4_session *sessions[N_CASES];
    int32_t ids[N_CASES];
    int n = 0;
    for (int i = 0; i < N_CASES; i++) {
        sequence *q = &seqs[i];
        if (step >= q->greedy.n)
            continue;
        const float *logits = g4_session_logits(q->batched);
        if (q->top_ids)
            compare_top16(st, logits, vocab, q->top_ids + 16 * step,
                          q->top_logits + 16 * step, 1);
        st->greedy_steps++;
        st->greedy_mismatches += argmax_row(logits, vocab) != q->greedy.ids[step];
        *worst_vs_alone = fmax(*worst_vs_alone,
                               max_abs_diff(logits, g4_session_logits(q->alone), vocab));
        if (step + 1 < q->greedy.n) {
            sessions[n] = q->batched;
            ids[n++] = q->greedy.ids[step];
            CHECK(g4_session_decode(q->alone, &q->greedy.ids[step], 1, NULL) == G4_OK);
        }
    }
    g4_err err = {0};
    if (n > 0)
        CHECK_MSG(session_decode_batch(batch, sessions, ids, n, &err) == G4_OK, "%s",
                  err.msg);
    return n;
}

/* full_reference: the file's reference holds each greedy step's top 16 and the model is
 * held to the reference tolerance; otherwise (the Q4_0 file on the fast 8-bit kernels,
 * which round differently from the reference) only batched against alone is checked. */
static void check_batched_greedy(const char *model_name, const char *ref_name,
                                 bool full_reference)
{
    g4_model *model = ref_load_model(model_name, false);
    gguf_file *ref = ref_open(ref_name);
    sequence seqs[N_CASES] = {0};
    session_batch *batch = NULL;
    g4_err err = {0};
    bool ok = model && ref && session_batch_new(model, N_CASES, &batch, &err) == G4_OK;
    for (int i = 0; ok && i < N_CASES; i++)
        ok = open_sequence(model, ref, cases[i], full_reference, &seqs[i]);
    CHECK_MSG(ok, "setting up the sequences: %s %s", err.msg, g4_last_error());
    logit_stats st = {0};
    double worst_vs_alone = 0;
    int widest = 0;
    for (size_t step = 0; ok; step++) {
        int n = batch_step(batch, seqs, step, g4_model_vocab_size(model), &st, &worst_vs_alone);
        widest = n > widest ? n : widest;
        if (n == 0)
            break;
    }
    printf("%s\n", model_name);
    ref_report("batched greedy steps:", &st);
    printf("batched vs alone: max |dlogit| %.2e over the whole vocabulary, up to %d sessions "
           "per pass\n", worst_vs_alone, widest);
    CHECK(widest == N_CASES);
    CHECK(!full_reference || (st.greedy_steps > 0 && st.greedy_mismatches == 0));
    CHECK_MSG(!full_reference || st.max_abs_diff <= 0.01,
              "batched logits off the reference by %.5f", st.max_abs_diff);
    CHECK_MSG(worst_vs_alone <= 0.01, "batched logits differ from decoding alone by %.5f",
              worst_vs_alone);
    for (int i = 0; i < N_CASES; i++) {
        free(seqs[i].greedy.ids);
        g4_session_free(seqs[i].batched);
        g4_session_free(seqs[i].alone);
    }
    session_batch_free(batch);
    gguf_close(ref);
    g4_model_free(model);
}

/* Sessions of different context sizes, a repeated session or a bad id are refused. */
static void check_refusals(void)
{
    g4_model *model = ref_load_model("tiny-gemma4u-q4_0.gguf", false);
    g4_session *a = ref_new_session(model, 64), *b = ref_new_session(model, 128);
    session_batch *batch = NULL;
    g4_err err = {0};
    CHECK(session_batch_new(model, 0, &batch, &err) == G4_ERR_INVALID_ARG);
    CHECK(session_batch_new(model, 2, &batch, &err) == G4_OK);
    int32_t one[2] = {2, 2};
    g4_session *mixed[2] = {a, b}, *twice[2] = {a, a};
    CHECK(session_decode_batch(batch, mixed, one, 2, &err) == G4_ERR_INVALID_ARG);
    CHECK(session_decode_batch(batch, twice, one, 2, &err) == G4_ERR_INVALID_ARG);
    int32_t bad = -1;
    CHECK(session_decode_batch(batch, &a, &bad, 1, &err) == G4_ERR_INVALID_ARG);
    CHECK(session_decode_batch(batch, mixed, one, 3, &err) == G4_ERR_INVALID_ARG);
    CHECK(g4_session_position(a) == 0 && g4_session_position(b) == 0);
    session_batch_free(batch);
    g4_session_free(a);
    g4_session_free(b);
    g4_model_free(model);
}

int main(void)
{
    check_batched_greedy("tiny-gemma4u-bf16.gguf", "reference-public.gguf", true);
    check_batched_greedy("tiny-gemma4u-q4_0.gguf", "reference-q4_0-public.gguf", false);
    check_refusals();
    return test_finish("server_batch");
}
