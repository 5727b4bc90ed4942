/* GGUF writer. Metadata records are serialized as they are added; tensor infos, the
 * padding and the data are laid out when the file is written. */
#include "core/gguf_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GGUF_VERSION 3
#define DEFAULT_ALIGNMENT 32
#define ALIGNMENT_KEY "general.alignment"

typedef struct byte_buffer {
    uint8_t *bytes;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed; later appends do nothing */
} byte_buffer;

typedef struct pending_tensor {
    char *name;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS];
    g4_type type;
    const void *data;
    uint64_t n_bytes;
    uint64_t offset; /* in the data section; assigned when writing */
} pending_tensor;

struct gguf_writer {
    g4_err err;           /* the first failure; G4_OK until one happens */
    byte_buffer kv_bytes; /* the metadata records */
    char **keys;          /* to refuse duplicates */
    uint64_t n_kv;
    pending_tensor *tensors;
    uint64_t n_tensors;
    uint64_t alignment;
};

static g4_status writer_fail(gguf_writer *w, g4_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static g4_status writer_fail(gguf_writer *w, g4_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err.msg, sizeof w->err.msg, fmt, ap);
    va_end(ap);
    w->err.code = code;
    return code;
}

/* ---- byte buffer ------------------------------------------------------------------- */

static void append(byte_buffer *b, const void *data, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n && cap <= SIZE_MAX / 2)
            cap *= 2;
        uint8_t *grown = cap - b->len >= n ? realloc(b->bytes, cap) : NULL;
        if (!grown) {
            b->failed = true;
            return;
        }
        b->bytes = grown;
        b->cap = cap;
    }
    memcpy(b->bytes + b->len, data, n);
    b->len += n;
}

static void append_le(byte_buffer *b, uint64_t value, unsigned n_bytes)
{
    uint8_t le[8];
    for (unsigned i = 0; i < n_bytes; i++)
        le[i] = (uint8_t)(value >> (8 * i));
    append(b, le, n_bytes);
}

static void append_str(byte_buffer *b, const char *s, uint64_t len)
{
    append_le(b, len, 8);
    if (len > SIZE_MAX)
        b->failed = true;
    else
        append(b, s, (size_t)len);
}

/* ---- metadata ---------------------------------------------------------------------- */

g4_status gguf_writer_new(gguf_writer **out, g4_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for a GGUF writer");
    (*out)->alignment = DEFAULT_ALIGNMENT;
    return G4_OK;
}

void gguf_writer_free(gguf_writer *w)
{
    if (!w)
        return;
    for (uint64_t i = 0; i < w->n_kv; i++)
        free(w->keys[i]);
    free(w->keys);
    for (uint64_t i = 0; i < w->n_tensors; i++)
        free(w->tensors[i].name);
    free(w->tensors);
    free(w->kv_bytes.bytes);
    free(w);
}

/* Checks the key and records it; the caller then appends the type and value. */
static g4_status begin_entry(gguf_writer *w, const char *key, gguf_value_type type)
{
    if (w->err.code != G4_OK)
        return w->err.code;
    if (!key)
        return writer_fail(w, G4_ERR_INVALID_ARG, "metadata key is NULL");
    if (strcmp(key, ALIGNMENT_KEY) == 0 && type != GGUF_U32)
        return writer_fail(w, G4_ERR_INVALID_ARG, ALIGNMENT_KEY " must be a u32");
    for (uint64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0)
            return writer_fail(w, G4_ERR_INVALID_ARG, "duplicate metadata key '%s'", key);
    char **keys = realloc(w->keys, (size_t)(w->n_kv + 1) * sizeof *keys);
    if (keys)
        w->keys = keys;
    char *copy = keys ? strdup(key) : NULL;
    if (!copy)
        return writer_fail(w, G4_ERR_NO_MEMORY, "out of memory adding metadata key '%s'", key);
    w->keys[w->n_kv++] = copy;
    append_str(&w->kv_bytes, key, strlen(key));
    return G4_OK;
}

static g4_status end_entry(gguf_writer *w, const char *key)
{
    if (w->kv_bytes.failed)
        return writer_fail(w, G4_ERR_NO_MEMORY, "out of memory adding metadata key '%s'", key);
    return G4_OK;
}

/* Reads one C value of a fixed-size GGUF type. */
static uint64_t load_native(const uint8_t *p, gguf_value_type type)
{
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;
    switch (gguf_value_size(type)) {
    case 1: return type == GGUF_BOOL ? *(const bool *)p : *p;
    case 2: memcpy(&v16, p, 2); return v16;
    case 4: memcpy(&v32, p, 4); return v32;
    default: memcpy(&v64, p, 8); return v64;
    }
}

static g4_status add_scalar(gguf_writer *w, const char *key, gguf_value_type type,
                            uint64_t bits)
{
    g4_status status = begin_entry(w, key, type);
    if (status != G4_OK)
        return status;
    append_le(&w->kv_bytes, type, 4);
    append_le(&w->kv_bytes, bits, (unsigned)gguf_value_size(type));
    return end_entry(w, key);
}

g4_status gguf_writer_add_u8(gguf_writer *w, const char *key, uint8_t value)
{
    return add_scalar(w, key, GGUF_U8, value);
}

g4_status gguf_writer_add_i8(gguf_writer *w, const char *key, int8_t value)
{
    return add_scalar(w, key, GGUF_I8, (uint8_t)value);
}

g4_status gguf_writer_add_u16(gguf_writer *w, const char *key, uint16_t value)
{
    return add_scalar(w, key, GGUF_U16, value);
}

g4_status gguf_writer_add_i16(gguf_writer *w, const char *key, int16_t value)
{
    return add_scalar(w, key, GGUF_I16, (uint16_t)value);
}

g4_status gguf_writer_add_u32(gguf_writer *w, const char *key, uint32_t value)
{
    if (w->err.code == G4_OK && key && strcmp(key, ALIGNMENT_KEY) == 0) {
        if (value == 0 || (value & (value - 1)) != 0)
            return writer_fail(w, G4_ERR_INVALID_ARG,
                               ALIGNMENT_KEY " %" PRIu32 " is not a power of two", value);
        w->alignment = value;
    }
    return add_scalar(w, key, GGUF_U32, value);
}

g4_status gguf_writer_add_i32(gguf_writer *w, const char *key, int32_t value)
{
    return add_scalar(w, key, GGUF_I32, (uint32_t)value);
}

g4_status gguf_writer_add_f32(gguf_writer *w, const char *key, float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return add_scalar(w, key, GGUF_F32, bits);
}

g4_status gguf_writer_add_bool(gguf_writer *w, const char *key, bool value)
{
    return add_scalar(w, key, GGUF_BOOL, value ? 1 : 0);
}

g4_status gguf_writer_add_u64(gguf_writer *w, const char *key, uint64_t value)
{
    return add_scalar(w, key, GGUF_U64, value);
}

g4_status gguf_writer_add_i64(gguf_writer *w, const char *key, int64_t value)
{
    return add_scalar(w, key, GGUF_I64, (uint64_t)value);
}

g4_status gguf_writer_add_f64(gguf_writer *w, const char *key, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return add_scalar(w, key, GGUF_F64, bits);
}

g4_status gguf_writer_add_array(gguf_writer *w, const char *key, gguf_value_type elem_type,
                                const void *values, uint64_t count)
{
    g4_status status = begin_entry(w, key, GGUF_ARRAY);
    if (status != G4_OK)
        return status;
    uint64_t size = gguf_value_size(elem_type);
    if (size == 0)
        return writer_fail(w, G4_ERR_INVALID_ARG, "metadata key '%s': %s is not a "
                           "fixed-size element type", key, gguf_type_name(elem_type));
    if (!values && count > 0)
        return writer_fail(w, G4_ERR_INVALID_ARG, "metadata key '%s': values are NULL", key);
    size_t stride = elem_type == GGUF_BOOL ? sizeof(bool) : (size_t)size;
    append_le(&w->kv_bytes, GGUF_ARRAY, 4);
    append_le(&w->kv_bytes, elem_type, 4);
    append_le(&w->kv_bytes, count, 8);
    for (uint64_t i = 0; i < count && !w->kv_bytes.failed; i++)
        append_le(&w->kv_bytes, load_native((const uint8_t *)values + i * stride, elem_type),
                  (unsigned)size);
    return end_entry(w, key);
}

g4_status gguf_writer_add_str(gguf_writer *w, const char *key, const char *value)
{
    g4_status status = begin_entry(w, key, GGUF_STRING);
    if (status != G4_OK)
        return status;
    if (!value)
        return writer_fail(w, G4_ERR_INVALID_ARG, "metadata key '%s': string is NULL", key);
    append_le(&w->kv_bytes, GGUF_STRING, 4);
    append_str(&w->kv_bytes, value, strlen(value));
    return end_entry(w, key);
}

g4_status gguf_writer_add_str_array(gguf_writer *w, const char *key, const gguf_str *values,
                                    uint64_t count)
{
    g4_status status = begin_entry(w, key, GGUF_ARRAY);
    if (status != G4_OK)
        return status;
    if (!values && count > 0)
        return writer_fail(w, G4_ERR_INVALID_ARG, "metadata key '%s': strings are NULL", key);
    append_le(&w->kv_bytes, GGUF_ARRAY, 4);
    append_le(&w->kv_bytes, GGUF_STRING, 4);
    append_le(&w->kv_bytes, count, 8);
    for (uint64_t i = 0; i < count && !w->kv_bytes.failed; i++)
        append_str(&w->kv_bytes, values[i].ptr, values[i].len);
    return end_entry(w, key);
}

/* ---- tensors ----------------------------------------------------------------------- */

/* The byte size of a tensor of this shape and type, or false when it has none. */
static bool shape_bytes(uint32_t n_dims, const uint64_t *ne, g4_type type, uint64_t *n_bytes)
{
    uint64_t n_elements = 1;
    bool empty = false;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] == 0)
            empty = true;
        else if (ne[d] > INT64_MAX / n_elements)
            return false;
        else
            n_elements *= ne[d];
    }
    return g4_type_row_ok(type, ne[0]) &&
           g4_type_n_bytes(type, empty ? 0 : n_elements, n_bytes);
}

static g4_status check_tensor(gguf_writer *w, const char *name, uint32_t n_dims,
                              const uint64_t *ne, g4_type type, const void *data,
                              uint64_t n_bytes)
{
    if (!name || !ne)
        return writer_fail(w, G4_ERR_INVALID_ARG, "tensor name or shape is NULL");
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return writer_fail(w, G4_ERR_INVALID_ARG, "tensor '%s': %" PRIu32
                           " dimensions (must be 1 to %d)", name, n_dims, GGUF_MAX_DIMS);
    uint64_t expected;
    if (!shape_bytes(n_dims, ne, type, &expected))
        return writer_fail(w, G4_ERR_INVALID_ARG, "tensor '%s': its shape does not fit type %s",
                           name, g4_type_name(type));
    if (n_bytes != expected)
        return writer_fail(w, G4_ERR_INVALID_ARG, "tensor '%s': %" PRIu64
                           " bytes given, its shape and type need %" PRIu64,
                           name, n_bytes, expected);
    if (!data && n_bytes > 0)
        return writer_fail(w, G4_ERR_INVALID_ARG, "tensor '%s': data is NULL", name);
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return writer_fail(w, G4_ERR_INVALID_ARG, "duplicate tensor name '%s'", name);
    return G4_OK;
}

g4_status gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t n_dims,
                                 const uint64_t *ne, g4_type type, const void *data,
                                 uint64_t n_bytes)
{
    if (w->err.code != G4_OK)
        return w->err.code;
    g4_status status = check_tensor(w, name, n_dims, ne, type, data, n_bytes);
    if (status != G4_OK)
        return status;
    pending_tensor *tensors = realloc(w->tensors, (size_t)(w->n_tensors + 1) * sizeof *tensors);
    if (tensors)
        w->tensors = tensors;
    char *copy = tensors ? strdup(name) : NULL;
    if (!copy)
        return writer_fail(w, G4_ERR_NO_MEMORY, "out of memory adding tensor '%s'", name);
    pending_tensor *t = &w->tensors[w->n_tensors++];
    *t = (pending_tensor){.name = copy, .n_dims = n_dims, .type = type, .data = data,
                          .n_bytes = n_bytes};
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
        t->ne[d] = d < n_dims ? ne[d] : 1;
    return G4_OK;
}

/* ---- output ------------------------------------------------------------------------ */

static uint64_t align_up(uint64_t n, uint64_t alignment)
{
    return (n + alignment - 1) / alignment * alignment;
}

/* Header, metadata and tensor infos; assigns the tensor offsets and returns the size of
 * the data section in *data_size. */
static g4_status serialize_metadata(gguf_writer *w, byte_buffer *meta, uint64_t *data_size)
{
    append(meta, "GGUF", 4);
    append_le(meta, GGUF_VERSION, 4);
    append_le(meta, w->n_tensors, 8);
    append_le(meta, w->n_kv, 8);
    append(meta, w->kv_bytes.bytes, w->kv_bytes.len);
    uint64_t end = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        pending_tensor *t = &w->tensors[i];
        t->offset = align_up(end, w->alignment);
        end = t->offset + t->n_bytes;
        append_str(meta, t->name, strlen(t->name));
        append_le(meta, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims; d++)
            append_le(meta, t->ne[d], 8);
        append_le(meta, t->type, 4);
        append_le(meta, t->offset, 8);
    }
    *data_size = end;
    if (meta->failed)
        return writer_fail(w, G4_ERR_NO_MEMORY, "out of memory writing GGUF metadata");
    return G4_OK;
}

/* Where the bytes go: a file, or a buffer of the right size. */
typedef struct sink {
    FILE *file;
    uint8_t *mem;
} sink;

static void emit(sink *s, const void *data, uint64_t n)
{
    if (n == 0)
        return;
    if (s->file) {
        fwrite(data, 1, (size_t)n, s->file);
    } else {
        memcpy(s->mem, data, (size_t)n);
        s->mem += n;
    }
}

static void emit_zeros(sink *s, uint64_t n)
{
    static const uint8_t zeros[256];
    while (n > 0) {
        uint64_t chunk = n < sizeof zeros ? n : sizeof zeros;
        emit(s, zeros, chunk);
        n -= chunk;
    }
}

static void emit_file(const gguf_writer *w, const byte_buffer *meta, sink *s)
{
    emit(s, meta->bytes, meta->len);
    emit_zeros(s, align_up(meta->len, w->alignment) - meta->len);
    uint64_t pos = 0; /* within the data section */
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const pending_tensor *t = &w->tensors[i];
        emit_zeros(s, t->offset - pos);
        emit(s, t->data, t->n_bytes);
        pos = t->offset + t->n_bytes;
    }
}

static g4_status fail_errno(gguf_writer *w, const char *path, const char *what)
{
    char reason[128];
    if (strerror_r(errno, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", errno);
    return writer_fail(w, G4_ERR_IO, "%s: %s: %s", path, what, reason);
}

static g4_status report(const gguf_writer *w, g4_err *err)
{
    if (w->err.code != G4_OK && err)
        *err = w->err;
    return w->err.code;
}

g4_status gguf_writer_write_memory(gguf_writer *w, void **data, uint64_t *size, g4_err *err)
{
    *data = NULL;
    *size = 0;
    byte_buffer meta = {0};
    uint64_t data_size = 0;
    if (w->err.code == G4_OK)
        serialize_metadata(w, &meta, &data_size);
    uint64_t total = align_up(meta.len, w->alignment) + data_size;
    uint8_t *buffer = NULL;
    if (w->err.code == G4_OK) {
        buffer = total <= SIZE_MAX ? malloc((size_t)total) : NULL;
        if (!buffer)
            writer_fail(w, G4_ERR_NO_MEMORY, "out of memory for a %" PRIu64 "-byte GGUF file",
                        total);
    }
    if (buffer) {
        sink s = {.mem = buffer};
        emit_file(w, &meta, &s);
        *data = buffer;
        *size = total;
    }
    free(meta.bytes);
    return report(w, err);
}

g4_status gguf_writer_write_file(gguf_writer *w, const char *path, g4_err *err)
{
    byte_buffer meta = {0};
    uint64_t data_size;
    if (w->err.code == G4_OK)
        serialize_metadata(w, &meta, &data_size);
    FILE *file = NULL;
    if (w->err.code == G4_OK && !(file = fopen(path, "wb")))
        fail_errno(w, path, "cannot create");
    if (file) {
        sink s = {.file = file};
        emit_file(w, &meta, &s);
        bool failed = ferror(file) != 0;
        if (fclose(file) != 0 || failed) {
            fail_errno(w, path, "cannot write");
            remove(path);
        }
    }
    free(meta.bytes);
    return report(w, err);
}

/* The value bytes of fixed-size scalars and arrays are little-endian in the source file
 * as in ours, so they are copied as they are. */
static g4_status add_kv_value(gguf_writer *w, const char *key, const gguf_kv *kv)
{
    if (kv->type == GGUF_STRING) {
        g4_status status = begin_entry(w, key, GGUF_STRING);
        if (status != G4_OK)
            return status;
        append_le(&w->kv_bytes, GGUF_STRING, 4);
        append_str(&w->kv_bytes, kv->strings[0].ptr, kv->strings[0].len);
        return end_entry(w, key);
    }
    if (kv->type == GGUF_ARRAY && kv->elem_type == GGUF_STRING)
        return gguf_writer_add_str_array(w, key, kv->strings, kv->count);
    g4_status status = begin_entry(w, key, kv->type);
    if (status != G4_OK)
        return status;
    uint64_t size = gguf_value_size(kv->elem_type);
    append_le(&w->kv_bytes, kv->type, 4);
    if (kv->type == GGUF_ARRAY) {
        append_le(&w->kv_bytes, kv->elem_type, 4);
        append_le(&w->kv_bytes, kv->count, 8);
    }
    append(&w->kv_bytes, kv->value, (size_t)(size * kv->count));
    return end_entry(w, key);
}

g4_status gguf_writer_add_kv(gguf_writer *w, const gguf_kv *kv)
{
    if (w->err.code != G4_OK)
        return w->err.code;
    if (kv->key.len >= 4096 || memchr(kv->key.ptr, '\0', (size_t)kv->key.len))
        return writer_fail(w, G4_ERR_INVALID_ARG, "metadata key cannot be copied");
    char key[4096];
    memcpy(key, kv->key.ptr, (size_t)kv->key.len);
    key[kv->key.len] = '\0';
    return add_kv_value(w, key, kv);
}
