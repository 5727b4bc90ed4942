/* g4 bench --image/--audio/--video: the cost of a multimodal prompt, split into decoding
 * the files, projecting them, and the prefill that includes the projection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const question = "What is in the picture and what does the voice ask?";

/* The chat request: one user turn with a placeholder per file, then the question. */
static char *media_request(const cli_media_file *files, size_t n)
{
    static const char *const part[] = {
        [G4_MEDIA_IMAGE] = "{\"type\":\"image\"},",
        [G4_MEDIA_AUDIO] = "{\"type\":\"audio\"},",
        [G4_MEDIA_VIDEO] = "{\"type\":\"video\"},",
    };
    size_t cap = 256 + strlen(question) + n * 24;
    char *json = malloc(cap);
    if (!json)
        return NULL;
    size_t len = (size_t)snprintf(json, cap, "{\"messages\":[{\"role\":\"user\",\"content\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(json + len, cap - len, "%s", part[files[i].kind]);
    snprintf(json + len, cap - len, "{\"type\":\"text\",\"text\":\"%s\"}]}]}", question);
    return json;
}

typedef struct media_timing {
    double load_s;    /* decoding and resizing the files */
    double project_s; /* the projector alone, all files */
    uint32_t soft_tokens;
} media_timing;

static int load_all(g4_model *model, const cli_options *opt, const cli_media_file *files,
                    size_t n, g4_media **media, media_timing *t)
{
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        media[i] = cli_load_media(model, opt, files[i].kind, files[i].path);
        if (!media[i])
            return 1;
        t->soft_tokens += g4_media_n_tokens(media[i]);
    }
    t->load_s = bench_now() - t0;
    return 0;
}

static int project_all(g4_model *model, g4_media *const *media, size_t n, media_timing *t)
{
    size_t width = (size_t)g4_model_hidden_size(model);
    float *rows = malloc((size_t)t->soft_tokens * width * sizeof(float));
    if (!rows) {
        fprintf(stderr, "g4: out of memory\n");
        return 1;
    }
    double t0 = bench_now();
    size_t row = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (g4_media_embed(model, media[i], rows + row * width) != G4_OK)
            rc = cli_error("projection");
        row += g4_media_n_tokens(media[i]);
    }
    t->project_s = bench_now() - t0;
    free(rows);
    return rc;
}

static g4_input *media_input(g4_model *model, const cli_media_file *files, g4_media **media,
                             size_t n)
{
    char *json = media_request(files, n), *prompt = NULL;
    g4_input *input = NULL;
    if (!json)
        fprintf(stderr, "g4: out of memory\n");
    else if (g4_chat_render(model, json, &prompt) != G4_OK)
        cli_error("cannot render the prompt");
    else if (g4_input_new(model, prompt, strlen(prompt), false, media, n, &input) != G4_OK)
        cli_error("cannot prepare the prompt");
    free(json);
    g4_free(prompt);
    return input;
}

/* Seconds of one prefill of the whole input from an empty context. */
static double time_input_prefill(g4_session *s, const g4_input *input)
{
    g4_session_truncate(s, 0);
    double t0 = bench_now();
    if (g4_session_decode_input(s, input, 0, NULL) != G4_OK)
        return -1.0;
    return bench_now() - t0;
}

static void report_media(const bench_options *bo, const media_timing *t, size_t n_tokens,
                         const bench_stat *prefill, const bench_stat *tg)
{
    double share = t->project_s / prefill->mean;
    if (bo->json) {
        printf("{\"prompt_tokens\": %zu, \"soft_tokens\": %u, \"load_s\": %.4f, "
               "\"project_s\": %.4f, \"prefill_s\": %.4f, \"prefill_stddev\": %.4f, "
               "\"projector_share\": %.4f, \"n_gen\": %ld, \"tg\": %.3f, \"tg_stddev\": %.3f}\n",
               n_tokens, t->soft_tokens, t->load_s, t->project_s, prefill->mean,
               prefill->stddev, share, bo->n_gen, tg->mean, tg->stddev);
        return;
    }
    printf("| step | value |\n|---|---|\n");
    printf("| prompt | %zu tokens, %u of them soft |\n", n_tokens, t->soft_tokens);
    printf("| decode + resize files | %.3f s |\n", t->load_s);
    printf("| projector | %.3f s (%.1f%% of the prefill) |\n", t->project_s, 100.0 * share);
    printf("| prefill, projector included | %.3f ± %.3f s (%.2f tokens/s) |\n", prefill->mean,
           prefill->stddev, (double)n_tokens / prefill->mean);
    if (bo->n_gen > 0)
        printf("| decode after it, tg%ld | %.2f ± %.2f tokens/s |\n", bo->n_gen, tg->mean,
               tg->stddev);
}

static int measure_media(g4_session *s, const g4_input *input, const bench_options *bo,
                         const int32_t *ids, bench_stat *prefill, bench_stat *tg)
{
    double *runs = calloc((size_t)bo->reps * 2, sizeof *runs);
    if (!runs)
        return 1;
    double r = time_input_prefill(s, input); /* warm-up */
    for (long i = 0; i < bo->reps && r >= 0; i++) {
        r = runs[i] = time_input_prefill(s, input);
        if (r >= 0 && bo->n_gen > 0) {
            r = bench_decode_steps(s, ids, bo->n_gen);
            runs[bo->reps + i] = (double)bo->n_gen / r;
        }
    }
    *prefill = bench_summarize(runs, bo->reps);
    *tg = bench_summarize(runs + bo->reps, bo->reps);
    free(runs);
    return r < 0 ? cli_error("benchmark run") : 0;
}

int bench_media(g4_model *model, cli_options *opt, const bench_options *bo)
{
    const cli_media_file *files = bo->media.file;
    size_t n = bo->media.n;
    g4_media *media[CLI_MAX_MEDIA] = {NULL};
    media_timing t = {0};
    g4_input *input = NULL;
    g4_session *session = NULL;
    int32_t *ids = malloc((size_t)(bo->n_gen + 1) * sizeof *ids);
    int rc = ids ? load_all(model, opt, files, n, media, &t) : 1;
    if (rc == 0)
        rc = project_all(model, media, n, &t);
    if (rc == 0 && !(input = media_input(model, files, media, n)))
        rc = 1;
    if (rc == 0) {
        size_t n_tokens = g4_input_n_tokens(input);
        if (!opt->n_ctx)
            opt->n_ctx = (uint32_t)(n_tokens + (size_t)bo->n_gen + 1);
        session = cli_new_session(model, opt);
        bench_stat prefill = {0, 0}, tg = {0, 0};
        bench_fill_tokens(ids, bo->n_gen + 1, g4_model_vocab_size(model), 7);
        rc = session ? measure_media(session, input, bo, ids, &prefill, &tg) : 1;
        if (rc == 0)
            report_media(bo, &t, n_tokens, &prefill, &tg);
    }
    g4_session_free(session);
    g4_input_free(input);
    for (size_t i = 0; i < n; i++)
        g4_media_free(media[i]);
    free(ids);
    return rc;
}
