/* Finding GGUF tensors by name and checking their shapes. */
#include "model/gguf_weights.h"

#include <stdio.h>
#include <stdlib.h>

const gguf_tensor *weights_find(const gguf_file *f, const char *name, g4_err *err)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t)
        g4_fail(err, G4_ERR_FORMAT, "tensor '%s' is missing", name);
    return t;
}

g4_status weights_check_shape(const gguf_tensor *t, const char *name, uint64_t ne0,
                              uint64_t ne1, g4_err *err)
{
    uint64_t want_dims = ne1 ? 2 : 1;
    if (t->n_dims > want_dims || t->ne[0] != ne0 || (ne1 && t->ne[1] != ne1) ||
        (!ne1 && t->n_dims == 2 && t->ne[1] != 1))
        return g4_fail(err, G4_ERR_FORMAT,
                       "tensor '%s' has shape [%llu, %llu], expected [%llu, %llu]", name,
                       (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                       (unsigned long long)ne0, (unsigned long long)(ne1 ? ne1 : 1));
    return G4_OK;
}

g4_status weights_to_float(const gguf_tensor *t, const char *name, uint64_t n, float **out,
                           g4_err *err)
{
    const cpu_type_ops *ops = cpu_type_ops_best(t->type);
    if (!ops || ops->act_type != G4_TYPE_F32)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "tensor '%s' has type %s; expected F32, F16 "
                       "or BF16", name, g4_type_name(t->type));
    *out = malloc(n * sizeof(float));
    if (!*out)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    ops->to_float(t->data, *out, (int64_t)n);
    return G4_OK;
}

g4_status weights_load_vector(const gguf_file *f, const char *name, uint64_t n, float **out,
                              g4_err *err)
{
    const gguf_tensor *t = weights_find(f, name, err);
    if (!t)
        return G4_ERR_FORMAT;
    g4_status st = weights_check_shape(t, name, n, 0, err);
    if (st != G4_OK)
        return st;
    return weights_to_float(t, name, n, out, err);
}

g4_status weights_load_matrix(const gguf_file *f, const char *name, uint64_t n_in,
                              uint64_t n_out, bool exact, matmul_weight *w, g4_err *err)
{
    const gguf_tensor *t = weights_find(f, name, err);
    if (!t)
        return G4_ERR_FORMAT;
    g4_status st = weights_check_shape(t, name, n_in, n_out, err);
    if (st != G4_OK)
        return st;
    return matmul_weight_init(w, t, exact, err);
}


g4_status weights_read_per_layer(const gguf_file *f, const char *key, uint32_t n_layer,
                                 int64_t *out, g4_err *err)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv)
        return g4_fail(err, G4_ERR_FORMAT, "metadata key '%s' is missing", key);
    if (kv->type != GGUF_ARRAY) {
        uint32_t v;
        g4_status st = gguf_get_u32(f, key, &v, err);
        for (uint32_t l = 0; st == G4_OK && l < n_layer; l++)
            out[l] = v;
        return st;
    }
    if (kv->count != n_layer)
        return g4_fail(err, G4_ERR_FORMAT, "metadata '%s' has %llu entries for %u layers", key,
                       (unsigned long long)kv->count, n_layer);
    for (uint32_t l = 0; l < n_layer; l++)
        if (gguf_array_i64(kv, l, &out[l], err) != G4_OK)
            return g4_fail_context(err, "metadata '%s'", key);
    return G4_OK;
}

g4_status weights_check_architecture(const gguf_file *f, const char *arch, const char *what,
                                     g4_err *err)
{
    gguf_str found;
    if (gguf_get_str(f, "general.architecture", &found, err) != G4_OK)
        return err ? err->code : G4_ERR_FORMAT;
    if (!gguf_str_eq(found, arch))
        return g4_fail(err, G4_ERR_UNSUPPORTED, "architecture is '%.*s', not %s ('%s')",
                       (int)(found.len > 64 ? 64 : found.len), found.ptr, what, arch);
    return G4_OK;
}

static g4_status read_arch_u32(const gguf_file *f, const char *arch, const char *name,
                               uint32_t *out, g4_err *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.attention.%s", arch, name);
    return gguf_get_u32(f, key, out, err);
}

g4_status weights_read_head_dims(const gguf_file *f, const char *arch, uint32_t *full,
                                 uint32_t *swa, g4_err *err)
{
    uint32_t value_full, value_swa;
    g4_status st;
    if ((st = read_arch_u32(f, arch, "key_length", full, err)) ||
        (st = read_arch_u32(f, arch, "value_length", &value_full, err)) ||
        (st = read_arch_u32(f, arch, "key_length_swa", swa, err)) ||
        (st = read_arch_u32(f, arch, "value_length_swa", &value_swa, err)))
        return st;
    if (*full != value_full || *swa != value_swa)
        return g4_fail(err, G4_ERR_UNSUPPORTED,
                       "key and value head sizes differ (%u/%u, sliding %u/%u)", *full,
                       value_full, *swa, value_swa);
    return G4_OK;
}
