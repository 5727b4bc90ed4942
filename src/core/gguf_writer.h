/* GGUF writer: collects metadata and tensors, then writes a version 3 file to memory or
 * to a path. Errors are sticky: after a failed call every later call fails the same way,
 * so a caller may check only the final write. A u32 "general.alignment" entry sets the
 * alignment of tensor data (default 32). */
#ifndef G4_CORE_GGUF_WRITER_H
#define G4_CORE_GGUF_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/gguf.h"
#include "core/tensor_type.h"

typedef struct gguf_writer gguf_writer;

g4_status gguf_writer_new(gguf_writer **out, g4_err *err);
void gguf_writer_free(gguf_writer *writer);

/* Scalars. Keys must be unique. */
g4_status gguf_writer_add_u8(gguf_writer *writer, const char *key, uint8_t value);
g4_status gguf_writer_add_i8(gguf_writer *writer, const char *key, int8_t value);
g4_status gguf_writer_add_u16(gguf_writer *writer, const char *key, uint16_t value);
g4_status gguf_writer_add_i16(gguf_writer *writer, const char *key, int16_t value);
g4_status gguf_writer_add_u32(gguf_writer *writer, const char *key, uint32_t value);
g4_status gguf_writer_add_i32(gguf_writer *writer, const char *key, int32_t value);
g4_status gguf_writer_add_f32(gguf_writer *writer, const char *key, float value);
g4_status gguf_writer_add_bool(gguf_writer *writer, const char *key, bool value);
g4_status gguf_writer_add_u64(gguf_writer *writer, const char *key, uint64_t value);
g4_status gguf_writer_add_i64(gguf_writer *writer, const char *key, int64_t value);
g4_status gguf_writer_add_f64(gguf_writer *writer, const char *key, double value);
g4_status gguf_writer_add_str(gguf_writer *writer, const char *key, const char *value);

/* An array of count C values of a fixed-size type (uint8_t for GGUF_U8, bool for
 * GGUF_BOOL, float for GGUF_F32, ...). */
g4_status gguf_writer_add_array(gguf_writer *writer, const char *key,
                                gguf_value_type elem_type, const void *values,
                                uint64_t count);
/* An array of strings, given as views (so a reader's kv->strings can be copied). */
g4_status gguf_writer_add_str_array(gguf_writer *writer, const char *key,
                                    const gguf_str *values, uint64_t count);

/* A copy of an entry read from another file (key, type and value). */
g4_status gguf_writer_add_kv(gguf_writer *writer, const gguf_kv *kv);

/* A tensor of n_dims dimensions (ne[0] innermost). data holds n_bytes, which must match
 * the shape and type; it is not copied and must stay valid until the file is written. */
g4_status gguf_writer_add_tensor(gguf_writer *writer, const char *name, uint32_t n_dims,
                                 const uint64_t *ne, g4_type type, const void *data,
                                 uint64_t n_bytes);

/* The whole file in one malloc'd buffer (release with free). */
g4_status gguf_writer_write_memory(gguf_writer *writer, void **data, uint64_t *size,
                                   g4_err *err);
g4_status gguf_writer_write_file(gguf_writer *writer, const char *path, g4_err *err);

#endif
