/* g4 eval: run a prompt, dump its logits, optionally continue greedily. The reference
 * tests are built on this command. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct eval_options {
    const char *ids_text;
    const char *request_path;
    const char *out_path;
    const char *embeddings_path; /* --dump-embeddings */
    long greedy;
} eval_options;

/* The prompt: token ids from --ids, or a rendered request with its media. */
typedef struct eval_prompt {
    int32_t *ids;
    size_t n;
    g4_input *input;
    g4_media **media;
    size_t n_media;
} eval_prompt;

/* Parses "2 105 2364" into ids; rejects anything that is not a 32-bit integer. */
static int32_t *parse_ids(const char *text, size_t *n_out)
{
    size_t cap = 16, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    const char *p = text;
    while (ids) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        char *end = NULL;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < INT32_MIN || v > INT32_MAX) {
            fprintf(stderr, "g4 eval: --ids: '%.20s' is not a token id\n", p);
            free(ids);
            return NULL;
        }
        if (n == cap) {
            int32_t *grown = realloc(ids, (cap *= 2) * sizeof *ids);
            if (!grown)
                free(ids);
            ids = grown;
            if (!ids)
                break;
        }
        ids[n++] = (int32_t)v;
        p = end;
    }
    if (ids && n == 0) {
        fprintf(stderr, "g4 eval: --ids holds no token ids\n");
        free(ids);
        return NULL;
    }
    *n_out = n;
    return ids;
}

/* The directory part of path ("." when it has none), in buf. */
static const char *directory_of(const char *path, char *buf, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ".";
    size_t n = (size_t)(slash - path);
    snprintf(buf, cap, "%.*s", (int)(n ? n : 1), n ? path : "/");
    return buf;
}

/* Renders the request and loads its media (paths relative to the request's folder). */
static int prompt_from_request(g4_model *model, const cli_options *opt, const char *path,
                               eval_prompt *p)
{
    char *request = cli_read_file(path, NULL);
    if (!request)
        return 1;
    char *prompt = NULL, dir[4096];
    g4_chat_media_options media_opt = {.base_dir = directory_of(path, dir, sizeof dir),
                                       .allow_files = true};
    media_opt.params.image_tokens = opt->image_tokens;
    int rc = 1;
    if (g4_chat_render(model, request, &prompt) != G4_OK)
        cli_error(path);
    else if (g4_chat_load_media(model, request, &media_opt, &p->media, &p->n_media) != G4_OK)
        cli_error(path);
    else if (g4_input_new(model, prompt, strlen(prompt), false, p->media, p->n_media,
                          &p->input) != G4_OK)
        cli_error("cannot prepare the prompt");
    else
        rc = 0;
    free(request);
    g4_free(prompt);
    if (p->input) {
        p->ids = (int32_t *)g4_input_tokens(p->input);
        p->n = g4_input_n_tokens(p->input);
    }
    return rc;
}

/* Writes every media item's projected embeddings, in prompt order, as float32 rows. */
static int dump_embeddings(g4_model *model, const eval_prompt *p, const char *path)
{
    FILE *f = fopen(path, "wb");
    int rc = f ? 0 : 1;
    size_t width = (size_t)g4_model_hidden_size(model);
    for (size_t i = 0; rc == 0 && i < p->n_media; i++) {
        size_t rows = g4_media_n_tokens(p->media[i]);
        float *buf = malloc(rows * width * sizeof(float));
        if (!buf || g4_media_embed(model, p->media[i], buf) != G4_OK ||
            fwrite(buf, sizeof(float), rows * width, f) != rows * width)
            rc = 1;
        free(buf);
    }
    if ((f && fclose(f) != 0) || rc)
        fprintf(stderr, "g4 eval: cannot write the embeddings to '%s': %s\n", path,
                g4_last_error()[0] ? g4_last_error() : strerror(errno));
    return f && rc == 0 ? 0 : 1;
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    printf("%s:", label);
    for (size_t i = 0; i < n; i++)
        printf(" %d", ids[i]);
    printf("\n");
}

static int32_t argmax(const float *logits, int32_t vocab)
{
    int32_t best = 0;
    for (int32_t i = 1; i < vocab; i++)
        if (logits[i] > logits[best])
            best = i;
    return best;
}

static int write_logits(const char *path, const float *logits, size_t count)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(logits, sizeof(float), count, f) != count) {
        fprintf(stderr, "g4 eval: cannot write '%s': %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        return 1;
    }
    return fclose(f) == 0 ? 0 : 1;
}

static int greedy_continue(g4_model *model, g4_session *session, long n_steps)
{
    int32_t *out = malloc((size_t)(n_steps > 0 ? n_steps : 1) * sizeof *out);
    if (!out)
        return 1;
    size_t n = 0;
    int rc = 0;
    while ((long)n < n_steps) {
        int32_t next = argmax(g4_session_logits(session), g4_model_vocab_size(model));
        out[n++] = next;
        if (g4_token_is_end_of_generation(model, next) || (long)n == n_steps)
            break;
        if (g4_session_decode(session, &next, 1, NULL) != G4_OK) {
            rc = cli_error("greedy decoding");
            break;
        }
    }
    print_ids("greedy", out, n);
    free(out);
    return rc;
}

static g4_status decode_prompt(g4_session *session, const eval_prompt *p, float *logits)
{
    if (p->input)
        return g4_session_decode_input(session, p->input, 0, logits);
    return g4_session_decode(session, p->ids, p->n, logits);
}

static int run_eval(g4_model *model, const cli_options *opt, const eval_options *eo,
                    const eval_prompt *p)
{
    const int32_t *ids = p->ids;
    size_t n = p->n;
    cli_options sized = *opt;
    if (!sized.n_ctx)
        sized.n_ctx = (uint32_t)(n + (size_t)eo->greedy + 1);
    g4_session *session = cli_new_session(model, &sized);
    if (!session)
        return 1;
    size_t vocab = (size_t)g4_model_vocab_size(model);
    float *logits = eo->out_path ? malloc(n * vocab * sizeof(float)) : NULL;
    int rc = 0;
    if (eo->out_path && !logits) {
        fprintf(stderr, "g4 eval: not enough memory for %zu x %zu logits\n", n, vocab);
        rc = 1;
    } else if (decode_prompt(session, p, logits) != G4_OK) {
        rc = cli_error("cannot evaluate the prompt");
    } else {
        print_ids("prompt", ids, n);
        if (eo->out_path)
            rc = write_logits(eo->out_path, logits, n * vocab);
        if (rc == 0 && eo->greedy > 0)
            rc = greedy_continue(model, session, eo->greedy);
    }
    free(logits);
    g4_session_free(session);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    cli_options opt = {.quiet = true};
    eval_options eo = {0};
    cli_args a = {argc, argv, 0, false};
    while (a.i < a.argc && !a.failed) {
        if (cli_common(&a, &opt) || cli_flag(&a, NULL, "--ids", &eo.ids_text) ||
            cli_flag(&a, NULL, "--request", &eo.request_path) ||
            cli_flag(&a, "-o", "--out", &eo.out_path) ||
            cli_flag(&a, NULL, "--dump-embeddings", &eo.embeddings_path) ||
            cli_int(&a, NULL, "--greedy", 0, 1 << 20, &eo.greedy))
            continue;
        cli_unknown(&a);
    }
    if (a.failed)
        return 2;
    if (!eo.ids_text == !eo.request_path) {
        fprintf(stderr, "g4 eval: give exactly one of --ids or --request\n");
        return 2;
    }
    g4_model *model = cli_load_model(&opt);
    if (!model)
        return 1;
    eval_prompt p = {0};
    int rc = 1;
    if (eo.ids_text)
        rc = (p.ids = parse_ids(eo.ids_text, &p.n)) ? 0 : 1;
    else
        rc = prompt_from_request(model, &opt, eo.request_path, &p);
    if (rc == 0 && eo.embeddings_path)
        rc = dump_embeddings(model, &p, eo.embeddings_path);
    if (rc == 0)
        rc = run_eval(model, &opt, &eo, &p);
    if (!p.input)
        free(p.ids);
    g4_input_free(p.input);
    g4_media_list_free(p.media, p.n_media);
    g4_model_free(model);
    return rc;
}
