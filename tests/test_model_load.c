/* Loading refuses malformed or unsupported Gemma 4 files with a message that names the
 * problem. Each case copies the tiny Q4_0 model with one change. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gguf_writer.h"
#include "harness.h"

typedef struct variant {
    const char *drop_key;
    const char *set_u32_key;
    uint32_t set_u32;
    const char *set_str_key;
    const char *set_str;
    const char *drop_tensor;
    const char *halve_tensor;   /* a 1-D tensor stored with half its length */
    const char *retype_tensor;  /* stored as retype_to (zero bytes of the right size) */
    g4_type retype_to;
    const char *expect;         /* must appear in the error message */
} variant;

static bool key_replaced(const variant *v, gguf_str key)
{
    return (v->drop_key && gguf_str_eq(key, v->drop_key)) ||
           (v->set_u32_key && gguf_str_eq(key, v->set_u32_key)) ||
           (v->set_str_key && gguf_str_eq(key, v->set_str_key));
}

static void copy_metadata(gguf_writer *w, const gguf_file *src, const variant *v)
{
    for (uint64_t i = 0; i < src->n_kv; i++)
        if (!key_replaced(v, src->kv[i].key))
            gguf_writer_add_kv(w, &src->kv[i]);
    if (v->set_u32_key)
        gguf_writer_add_u32(w, v->set_u32_key, v->set_u32);
    if (v->set_str_key)
        gguf_writer_add_str(w, v->set_str_key, v->set_str);
}

/* Adds tensor t, changed as the variant says; *scratch receives a buffer to free. */
static void copy_tensor(gguf_writer *w, const gguf_tensor *t, const variant *v, void **scratch)
{
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
    if (v->drop_tensor && strcmp(name, v->drop_tensor) == 0)
        return;
    uint64_t ne[GGUF_MAX_DIMS];
    memcpy(ne, t->ne, sizeof ne);
    if (v->halve_tensor && strcmp(name, v->halve_tensor) == 0) {
        ne[0] /= 2;
        gguf_writer_add_tensor(w, name, t->n_dims, ne, t->type, t->data, t->n_bytes / 2);
    } else if (v->retype_tensor && strcmp(name, v->retype_tensor) == 0) {
        uint64_t bytes = 0;
        g4_type_n_bytes(v->retype_to, t->n_elements, &bytes);
        *scratch = calloc(1, bytes);
        gguf_writer_add_tensor(w, name, t->n_dims, ne, v->retype_to, *scratch, bytes);
    } else {
        gguf_writer_add_tensor(w, name, t->n_dims, ne, t->type, t->data, t->n_bytes);
    }
}

static void expect_refusal(const gguf_file *src, const char *label, const variant *v)
{
    gguf_writer *w = NULL;
    g4_err err = {0};
    void *scratch = NULL;
    char path[] = "/tmp/g4-model-load-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && gguf_writer_new(&w, &err) == G4_OK);
    if (fd < 0 || !w)
        return;
    close(fd);
    copy_metadata(w, src, v);
    for (uint64_t i = 0; i < src->n_tensors; i++)
        copy_tensor(w, &src->tensors[i], v, &scratch);
    g4_status written = gguf_writer_write_file(w, path, &err);
    CHECK_MSG(written == G4_OK, "%s: writing the variant: %s", label, err.msg);
    g4_model *model = NULL;
    g4_status st = g4_model_load(path, NULL, &model);
    CHECK_MSG(st != G4_OK && model == NULL, "%s: the model loaded", label);
    CHECK_MSG(strstr(g4_last_error(), v->expect) != NULL, "%s: message '%s' lacks '%s'", label,
              g4_last_error(), v->expect);
    g4_model_free(model);
    gguf_writer_free(w);
    free(scratch);
    unlink(path);
}

int main(void)
{
    gguf_file *src = NULL;
    g4_err err = {0};
    CHECK(gguf_open(test_data_path("tiny-gemma4u-q4_0.gguf"), &src, &err) == G4_OK);
    if (!src)
        return test_finish("test_model_load");
    /* An unchanged copy loads: the cases below fail for their one change only. */
    g4_model *model = NULL;
    CHECK(g4_model_load(test_data_path("tiny-gemma4u-q4_0.gguf"), NULL, &model) == G4_OK);
    g4_model_free(model);

    expect_refusal(src, "missing tensor",
                   &(variant){.drop_tensor = "blk.3.ffn_up.weight",
                              .expect = "tensor 'blk.3.ffn_up.weight' is missing"});
    expect_refusal(src, "missing V on a sliding layer",
                   &(variant){.drop_tensor = "blk.0.attn_v.weight",
                              .expect = "blk.0.attn_v.weight"});
    expect_refusal(src, "mis-shaped norm",
                   &(variant){.halve_tensor = "blk.2.attn_q_norm.weight",
                              .expect = "tensor 'blk.2.attn_q_norm.weight' has shape [128"});
    expect_refusal(src, "integer norm weights",
                   &(variant){.retype_tensor = "output_norm.weight", .retype_to = G4_TYPE_I32,
                              .expect = "'output_norm.weight' has type I32"});
    expect_refusal(src, "matrix type without kernels",
                   &(variant){.retype_tensor = "blk.1.ffn_gate.weight", .retype_to = G4_TYPE_Q4_1,
                              .expect = "cannot multiply"});
    expect_refusal(src, "wrong architecture",
                   &(variant){.set_str_key = "general.architecture", .set_str = "llama",
                              .expect = "architecture is 'llama'"});
    expect_refusal(src, "missing hyper-parameter",
                   &(variant){.drop_key = "gemma4.attention.sliding_window",
                              .expect = "'gemma4.attention.sliding_window' is missing"});
    expect_refusal(src, "per-layer embeddings",
                   &(variant){.set_u32_key = "gemma4.embedding_length_per_layer_input",
                              .set_u32 = 256, .expect = "per-layer embeddings"});
    expect_refusal(src, "mixture of experts",
                   &(variant){.set_u32_key = "gemma4.expert_count", .set_u32 = 8,
                              .expect = "mixture of experts"});
    expect_refusal(src, "shared KV layers",
                   &(variant){.set_u32_key = "gemma4.attention.shared_kv_layers", .set_u32 = 4,
                              .expect = "KV sharing"});
    expect_refusal(src, "wrong layer count",
                   &(variant){.set_u32_key = "gemma4.block_count", .set_u32 = 13,
                              .expect = "13 layers"});
    expect_refusal(src, "heads that do not split",
                   &(variant){.set_u32_key = "gemma4.attention.head_count", .set_u32 = 3,
                              .expect = "do not split"});
    expect_refusal(src, "tokenizer of another kind",
                   &(variant){.set_str_key = "tokenizer.ggml.model", .set_str = "llama",
                              .expect = "gemma4"});
    gguf_close(src);
    return test_finish("test_model_load");
}
