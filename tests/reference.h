/* Reading the reference outputs (tests/data/reference-*.gguf) and comparing logits. */
#ifndef G4_TESTS_REFERENCE_H
#define G4_TESTS_REFERENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/gguf.h"
#include "g4.h"

typedef struct ref_ids {
    int32_t *ids;
    size_t n;
} ref_ids;

gguf_file *ref_open(const char *name);
/* An integer array of metadata as int32 (caller frees .ids); n = 0 if missing. */
ref_ids ref_int_array(const gguf_file *ref, const char *key);
/* A tensor's data checked to have the given element count; NULL (and a failed check) if not. */
const void *ref_tensor(const gguf_file *ref, const char *name, uint64_t n_elements);

typedef struct logit_stats {
    double max_abs_diff;      /* over the reference's top-16 ids */
    double sum_abs_diff;
    uint64_t n_compared;
    uint64_t argmax_checked;  /* positions whose reference top-2 gap exceeds 0.05 */
    uint64_t argmax_equal;
    uint64_t positions;
    uint64_t argmax_equal_all;
    uint64_t greedy_steps;
    uint64_t greedy_mismatches;
} logit_stats;

/* Accumulates the comparison of our logits rows [n][vocab] against the reference's
 * top-16 ids/logits [n][16]. */
void compare_top16(logit_stats *st, const float *logits, int32_t vocab, const int32_t *want_ids,
                   const float *ref_logits, uint64_t n);
int32_t argmax_row(const float *row, int32_t vocab);

g4_model *ref_load_model(const char *name, bool exact);
g4_session *ref_new_session(g4_model *model, uint32_t n_ctx);
/* The KV cache type of the sessions ref_new_session makes from now on (default f32). */
void ref_use_kv_type(g4_kv_type type);
/* Runs case `name`: every prompt position's top-16 logits, then greedy decoding with each
 * step checked. input (optional) replaces the reference's ids after an equality check. */
void ref_run_case(g4_model *model, const gguf_file *ref, const char *name,
                  const g4_input *input, bool full_reference, logit_stats *prompt_st,
                  logit_stats *greedy_st);
void ref_report(const char *what, const logit_stats *st);

#endif
