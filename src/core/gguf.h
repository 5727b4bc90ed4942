/* GGUF reader: maps a file and validates every count, size and offset before anything
 * points into it. Strings are views into the mapping (not NUL-terminated). */
#ifndef G4_CORE_GGUF_H
#define G4_CORE_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/file_image.h"
#include "core/tensor_type.h"

typedef enum gguf_value_type {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
    GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
    GGUF_I64 = 11, GGUF_F64 = 12,
} gguf_value_type;

typedef struct gguf_str {
    const char *ptr;
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    gguf_str key;
    gguf_value_type type;        /* GGUF_ARRAY for arrays */
    gguf_value_type elem_type;   /* element type of an array; same as type for scalars */
    uint64_t count;              /* number of array elements (1 for scalars) */
    const uint8_t *value;        /* first byte of the value (after the array header) */
    const gguf_str *strings;     /* for string values and string arrays: count views */
} gguf_kv;

#define GGUF_MAX_DIMS 4

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS];  /* ne[0] innermost; unused dims are 1 */
    g4_type type;
    uint64_t offset;             /* relative to the data section */
    uint64_t n_elements;
    uint64_t n_bytes;
    const void *data;            /* inside the mapping, validated to fit */
} gguf_tensor;

typedef struct gguf_file {
    uint32_t version;
    uint64_t n_kv;
    gguf_kv *kv;
    uint64_t n_tensors;
    gguf_tensor *tensors;
    uint64_t alignment;
    const uint8_t *base;         /* start of the file image */
    uint64_t size;
    uint64_t data_offset;        /* start of the tensor data section */
    file_image *image;           /* the file's bytes when gguf_open_with read it, else NULL */
    /* lookup tables owned by the reader */
    void *private_state;
} gguf_file;

/* Maps and parses a file. Errors name the file and what is wrong with it: G4_ERR_IO when
 * it cannot be opened or mapped, G4_ERR_FORMAT for malformed content, G4_ERR_UNSUPPORTED
 * for GGUF v1, big-endian files, arrays of arrays and tensor types it cannot size. */
g4_status gguf_open(const char *path, gguf_file **out, g4_err *err);

/* How gguf_open_with holds the file. */
typedef struct gguf_open_options {
    /* false: map the file (pages come from the page cache as they are touched); true:
     * map it, then move it in the background into private memory backed by huge pages
     * where the system allows (core/file_image.h): usable at once, fast once moved */
    bool copy;
} gguf_open_options;

/* gguf_open with options (NULL: map the file). */
g4_status gguf_open_with(const char *path, const gguf_open_options *options, gguf_file **out,
                         g4_err *err);
/* Blocks until a file opened with .copy is in private memory; true when all of it is
 * (false for a mapped or in-memory file, or when the move stopped early). */
bool gguf_wait_in_memory(gguf_file *file);
/* Parses an in-memory image (not copied; must outlive the result). */
g4_status gguf_open_memory(const void *data, uint64_t size, gguf_file **out, g4_err *err);
void gguf_close(gguf_file *file);

const gguf_kv *gguf_find(const gguf_file *file, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *file, const char *name);
bool gguf_str_eq(gguf_str s, const char *cstr);

/* Typed getters. They fail (with a message naming the key) when the key is missing,
 * has an incompatible type, or the value does not fit. Integer getters accept any
 * integer type whose value fits; gguf_get_f32 accepts F32 and F64. */
g4_status gguf_get_u32(const gguf_file *file, const char *key, uint32_t *out, g4_err *err);
g4_status gguf_get_f32(const gguf_file *file, const char *key, float *out, g4_err *err);
g4_status gguf_get_bool(const gguf_file *file, const char *key, bool *out, g4_err *err);
g4_status gguf_get_str(const gguf_file *file, const char *key, gguf_str *out, g4_err *err);
/* The array under key, which must hold elements of elem_type. */
g4_status gguf_get_array(const gguf_file *file, const char *key, gguf_value_type elem_type,
                         const gguf_kv **out, g4_err *err);
/* Array element i as an integer (integer and bool arrays) or a float (f32 and f64
 * arrays); the kv must be an array of a compatible element type and i < count (checked). */
g4_status gguf_array_i64(const gguf_kv *kv, uint64_t i, int64_t *out, g4_err *err);
g4_status gguf_array_f32(const gguf_kv *kv, uint64_t i, float *out, g4_err *err);
const char *gguf_type_name(gguf_value_type type);
/* Bytes of one value of a fixed-size type; 0 for strings, arrays and unknown types. */
uint64_t gguf_value_size(gguf_value_type type);

#endif
