/* g4_model_describe: what `g4 info` prints. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/api_error.h"
#include "engine/model.h"
#include "engine/session.h"

static void print_string_key(FILE *out, const gguf_file *f, const char *key)
{
    gguf_str s;
    if (gguf_get_str(f, key, &s, NULL) == G4_OK)
        fprintf(out, "  %-22s %.*s\n", key, (int)(s.len > 200 ? 200 : s.len), s.ptr);
}

static void print_hparams(FILE *out, const gemma4_model *m)
{
    const gemma4_hparams *hp = &m->hp;
    uint32_t n_sliding = 0;
    for (uint32_t l = 0; l < hp->n_layer; l++)
        n_sliding += hp->sliding[l];
    fprintf(out, "model:\n");
    fprintf(out, "  layers                 %u (%u sliding-window, %u global)\n", hp->n_layer,
            n_sliding, hp->n_layer - n_sliding);
    fprintf(out, "  hidden size            %u\n", hp->n_embd);
    fprintf(out, "  feed-forward size      %u\n", hp->n_ff[0]);
    fprintf(out, "  attention heads        %u\n", hp->n_head);
    fprintf(out, "  head size              %u sliding, %u global\n", hp->head_dim_swa,
            hp->head_dim_full);
    uint32_t first_sliding = 0, first_global = 0;
    while (first_sliding + 1 < hp->n_layer && !hp->sliding[first_sliding])
        first_sliding++;
    while (first_global + 1 < hp->n_layer && hp->sliding[first_global])
        first_global++;
    fprintf(out, "  KV heads               %u sliding, %u global\n",
            hp->n_head_kv[first_sliding], hp->n_head_kv[first_global]);
    fprintf(out, "  sliding window         %u\n", hp->window);
    fprintf(out, "  RoPE base              %g sliding, %g global\n", hp->rope_base_swa,
            hp->rope_base_full);
    fprintf(out, "  final logit soft-cap   %g\n", hp->final_softcap);
    fprintf(out, "  vocabulary             %u\n", hp->n_vocab);
    fprintf(out, "  trained context        %u\n", hp->n_ctx_train);
}

static void print_tensor_census(FILE *out, const gguf_file *f)
{
    uint64_t count[G4_TYPE_COUNT] = {0}, bytes[G4_TYPE_COUNT] = {0}, total = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        count[f->tensors[i].type]++;
        bytes[f->tensors[i].type] += f->tensors[i].n_bytes;
        total += f->tensors[i].n_bytes;
    }
    fprintf(out, "tensors: %" PRIu64 ", %.2f GiB\n", f->n_tensors, (double)total / (1 << 30));
    for (int t = 0; t < G4_TYPE_COUNT; t++)
        if (count[t])
            fprintf(out, "  %-6s %5" PRIu64 " tensors %10.2f MiB\n", g4_type_name((uint32_t)t),
                    count[t], (double)bytes[t] / (1 << 20));
}

/* Where the weights live (core/file_image.h). */
static const char *weights_label(const g4_model *model)
{
    if (model->use_mmap || !model->file->image)
        return "weights (mapped)";
    return file_image_backed_by(model->file->image) == FILE_IMAGE_HUGE_PAGE_CACHE
               ? "weights (page cache)" : "weights (in memory)";
}

static void print_memory(FILE *out, const g4_model *model, const g4_session_params *params)
{
    /* a promoted file is all in huge pages, metadata included */
    uint64_t weights = model->use_mmap ? gemma4_weight_bytes(&model->net) : model->file->size;
    uint64_t session = g4_model_session_bytes(model, params);
    gemma4_state_sizes sz = session_sizes(model, params);
    uint64_t kv = kv_cache_bytes(&model->net, sz.n_ctx, sz.n_batch, sz.kv_type);
    fprintf(out, "memory at --ctx %lld, %s KV cache (%d threads):\n", (long long)sz.n_ctx,
            g4_type_name(sz.kv_type), model->n_threads);
    fprintf(out, "  %-22s %10.2f MiB\n", weights_label(model), (double)weights / (1 << 20));
    fprintf(out, "  KV cache               %10.2f MiB\n", (double)kv / (1 << 20));
    fprintf(out, "  work buffers           %10.2f MiB\n", (double)(session - kv) / (1 << 20));
    fprintf(out, "  total                  %10.2f MiB\n",
            (double)(weights + session) / (1 << 20));
}

g4_status g4_model_describe(const g4_model *model, const g4_session_params *params,
                            char **text)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return api_report(&(g4_err){G4_ERR_NO_MEMORY, "out of memory"});
    fprintf(out, "file:\n");
    print_string_key(out, model->file, "general.architecture");
    print_string_key(out, model->file, "general.name");
    print_string_key(out, model->file, "general.size_label");
    fprintf(out, "  %-22s %u\n", "gguf version", model->file->version);
    print_hparams(out, &model->net);
    print_tensor_census(out, model->file);
    print_memory(out, model, params);
    if (fclose(out) != 0) {
        free(buf);
        return api_report(&(g4_err){G4_ERR_NO_MEMORY, "out of memory"});
    }
    *text = buf;
    return api_report(&(g4_err){G4_OK, ""});
}
