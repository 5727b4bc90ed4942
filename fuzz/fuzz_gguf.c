/* libFuzzer target for the GGUF reader: every input must parse or fail with a message,
 * and whatever parses must be safe to query through every lookup and getter. Views are
 * read at both ends so that the sanitizers see any that escape the input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a finding: stop where the fuzzer can see it. */
static void require(bool condition)
{
    if (!condition)
        __builtin_trap();
}

static void touch(const void *bytes, uint64_t n)
{
    if (n == 0)
        return;
    volatile uint8_t sink = ((const uint8_t *)bytes)[0] ^ ((const uint8_t *)bytes)[n - 1];
    (void)sink;
}

static void require_inside(const gguf_file *f, const void *bytes, uint64_t n)
{
    uintptr_t start = (uintptr_t)f->base, at = (uintptr_t)bytes;
    require(at >= start && at - start <= f->size && n <= f->size - (at - start));
    touch(bytes, n);
}

/* A getter either succeeds or explains why not. */
static void require_outcome(g4_status status, const g4_err *err)
{
    require(status == G4_OK || err->msg[0] != '\0');
}

/* Copies a view to a C string; false when it holds a NUL or is too long to look up. */
static bool to_cstr(gguf_str s, char *buf, size_t cap)
{
    if (s.len >= cap || memchr(s.ptr, '\0', s.len))
        return false;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    return true;
}

static void exercise_elements(const gguf_kv *kv)
{
    uint64_t picks[] = {0, 1, kv->count / 2, kv->count - 1, kv->count, UINT64_MAX};
    for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
        g4_err err = {0};
        int64_t i64;
        float f32;
        require_outcome(gguf_array_i64(kv, picks[i], &i64, &err), &err);
        err = (g4_err){0};
        require_outcome(gguf_array_f32(kv, picks[i], &f32, &err), &err);
    }
}

static void exercise_kv(const gguf_file *f, const gguf_kv *kv)
{
    require_inside(f, kv->key.ptr, kv->key.len);
    require(kv->count == 1 || kv->type == GGUF_ARRAY);
    gguf_type_name(kv->type);
    gguf_type_name(kv->elem_type);
    if (kv->elem_type == GGUF_STRING)
        for (uint64_t i = 0; i < kv->count; i++)
            require_inside(f, kv->strings[i].ptr, kv->strings[i].len);
    else
        require_inside(f, kv->value, kv->count * gguf_value_size(kv->elem_type));
    if (kv->type == GGUF_ARRAY)
        exercise_elements(kv);

    char key[256];
    if (!to_cstr(kv->key, key, sizeof key))
        return;
    require(gguf_find(f, key) == kv);
    g4_err err = {0};
    uint32_t u32;
    float f32;
    bool flag;
    gguf_str s;
    const gguf_kv *array;
    require_outcome(gguf_get_u32(f, key, &u32, &err), &err);
    err = (g4_err){0};
    require_outcome(gguf_get_f32(f, key, &f32, &err), &err);
    err = (g4_err){0};
    require_outcome(gguf_get_bool(f, key, &flag, &err), &err);
    err = (g4_err){0};
    if (gguf_get_str(f, key, &s, &err) == G4_OK)
        require_inside(f, s.ptr, s.len);
    err = (g4_err){0};
    if (gguf_get_array(f, key, kv->elem_type, &array, &err) == G4_OK)
        require(array == kv && kv->type == GGUF_ARRAY);
}

static void exercise_tensor(const gguf_file *f, const gguf_tensor *t)
{
    require_inside(f, t->name.ptr, t->name.len);
    require_inside(f, t->data, t->n_bytes);
    require(t->n_dims >= 1 && t->n_dims <= GGUF_MAX_DIMS);
    require(t->offset % f->alignment == 0);
    require(g4_type_get_layout(t->type) != NULL);
    uint64_t n_bytes;
    require(g4_type_n_bytes(t->type, t->n_elements, &n_bytes) && n_bytes == t->n_bytes);
    g4_type_name(t->type);
    char name[256];
    if (to_cstr(t->name, name, sizeof name))
        require(gguf_find_tensor(f, name) == t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *f = NULL;
    g4_err err = {0};
    if (gguf_open_memory(data, size, &f, &err) != G4_OK) {
        require(f == NULL && err.msg[0] != '\0');
        return 0;
    }
    require(f->alignment != 0 && (f->alignment & (f->alignment - 1)) == 0);
    require(f->data_offset <= f->size);
    for (uint64_t i = 0; i < f->n_kv; i++)
        exercise_kv(f, &f->kv[i]);
    for (uint64_t i = 0; i < f->n_tensors; i++)
        exercise_tensor(f, &f->tensors[i]);
    gguf_find(f, "general.architecture");
    gguf_find_tensor(f, "token_embd.weight");
    gguf_close(f);
    return 0;
}
