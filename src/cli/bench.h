/* Pieces shared by g4 bench's text and multimodal measurements. */
#ifndef G4_CLI_BENCH_H
#define G4_CLI_BENCH_H

#include <stdbool.h>

#include "cli.h"

typedef struct bench_options {
    long n_prompt;
    long n_gen;
    long depth; /* tokens of context before the tg test */
    long ttft;  /* prompt tokens of the time-to-first-token test; 0: none */
    long reps;
    bool json;
    cli_media_files media; /* --image/--audio/--video */
} bench_options;

typedef struct bench_stat {
    double mean;
    double stddev;
} bench_stat;

double bench_now(void);
bench_stat bench_summarize(const double *v, long n);
/* Seconds of n single-token decode steps feeding ids in order; < 0 on failure. */
double bench_decode_steps(g4_session *s, const int32_t *ids, long n);
/* Pseudo-random ordinary token ids (no special tokens). */
void bench_fill_tokens(int32_t *ids, long n, int32_t vocab, unsigned seed);

/* Measures a prompt of the media files plus a short question; sets opt->n_ctx to fit it
 * when unset. */
int bench_media(g4_model *model, cli_options *opt, const bench_options *bo);

/* With --draft: the cost of a speculative step of K = 1..6 drafts against a plain decode
 * step (-n steps each, after -d tokens of context, at least 16), and the speed-ups it
 * projects at acceptance rates 0.3, 0.6 and 0.9. */
int bench_draft(g4_model *model, cli_options *opt, const bench_options *bo);

#endif
