/* g4_model_*: loading a GGUF into a runnable model, and describing it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/api_error.h"
#include "engine/model.h"

void g4_model_params_init(g4_model_params *params)
{
    memset(params, 0, sizeof *params);
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 1024 ? (int)n : 1;
}

static void report_progress(const g4_model_params *p, float fraction)
{
    if (p->progress)
        p->progress(fraction, p->progress_user);
}

static g4_status load_parts(const char *path, const g4_model_params *p, g4_model *m,
                            g4_err *err)
{
    gguf_open_options open = {.copy = !p->use_mmap};
    g4_status st = gguf_open_with(path, &open, &m->file, err);
    if (st != G4_OK)
        return st;
    report_progress(p, 0.5f);
    st = gemma4_load(m->file, p->exact_math, &m->net, err);
    if (st != G4_OK)
        return g4_fail_context(err, "%s", path);
    report_progress(p, 0.7f);
    st = tokenizer_load(m->file, &m->tok, err);
    if (st != G4_OK)
        return g4_fail_context(err, "%s", path);
    if (tokenizer_vocab_size(m->tok) != (int32_t)m->net.hp.n_vocab)
        return g4_fail(err, G4_ERR_FORMAT, "%s: the tokenizer has %d tokens but the "
                       "embedding table has %u rows", path, tokenizer_vocab_size(m->tok),
                       m->net.hp.n_vocab);
    report_progress(p, 0.9f);
    m->exact_math = p->exact_math;
    m->use_mmap = p->use_mmap;
    m->n_threads = p->n_threads > 0 ? p->n_threads : default_threads();
    m->pool = threadpool_new(m->n_threads);
    if (!m->pool)
        return g4_fail(err, G4_ERR_NO_MEMORY, "cannot start %d threads", m->n_threads);
    report_progress(p, 1.0f);
    return G4_OK;
}

g4_status g4_model_load(const char *path, const g4_model_params *params, g4_model **out)
{
    g4_err err = {0};
    g4_model_params defaults;
    if (!params) {
        g4_model_params_init(&defaults);
        params = &defaults;
    }
    *out = NULL;
    g4_model *m = calloc(1, sizeof *m);
    if (!m)
        return api_report(&(g4_err){G4_ERR_NO_MEMORY, "out of memory"});
    if (!path || params->n_threads < 0 || params->n_threads > 1024)
        g4_fail(&err, G4_ERR_INVALID_ARG, "invalid model path or thread count");
    else
        load_parts(path, params, m, &err);
    if (err.code != G4_OK) {
        g4_model_free(m);
        return api_report(&err);
    }
    *out = m;
    return api_report(&err);
}

bool g4_model_wait_in_memory(g4_model *model)
{
    bool weights = gguf_wait_in_memory(model->file);
    return (!model->drafter_file || gguf_wait_in_memory(model->drafter_file)) && weights;
}

void g4_model_free(g4_model *model)
{
    if (!model)
        return;
    if (model->pool)
        threadpool_free(model->pool);
    drafter_free(&model->drafter);
    gguf_close(model->drafter_file);
    projector_free(&model->proj);
    gguf_close(model->projector_file);
    tokenizer_free(model->tok);
    gemma4_free(&model->net);
    gguf_close(model->file);
    free(model);
}

int32_t g4_model_vocab_size(const g4_model *model)
{
    return (int32_t)model->net.hp.n_vocab;
}

int32_t g4_model_hidden_size(const g4_model *model)
{
    return (int32_t)model->net.hp.n_embd;
}

uint32_t g4_model_max_context(const g4_model *model)
{
    return model->net.hp.n_ctx_train;
}
