/* Finding GGUF tensors by name and checking their shapes, for the model loaders. */
#ifndef G4_MODEL_GGUF_WEIGHTS_H
#define G4_MODEL_GGUF_WEIGHTS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/gguf.h"
#include "cpu/matmul.h"

/* The tensor, or NULL with "tensor 'name' is missing" in err. */
const gguf_tensor *weights_find(const gguf_file *f, const char *name, g4_err *err);

/* Checks a 1-D ([ne0], ne1 = 0) or 2-D ([ne0, ne1]) shape. */
g4_status weights_check_shape(const gguf_tensor *t, const char *name, uint64_t ne0,
                              uint64_t ne1, g4_err *err);

/* The first n values of a tensor (F32, F16 or BF16) converted to a malloc'd f32 array. */
g4_status weights_to_float(const gguf_tensor *t, const char *name, uint64_t n, float **out,
                           g4_err *err);

/* A 1-D tensor of n values converted to a malloc'd f32 array (F32, F16 or BF16). */
g4_status weights_load_vector(const gguf_file *f, const char *name, uint64_t n, float **out,
                              g4_err *err);

/* A 2-D tensor [n_in, n_out] described as a matmul weight (a view into the file). */
g4_status weights_load_matrix(const gguf_file *f, const char *name, uint64_t n_in,
                              uint64_t n_out, bool exact, matmul_weight *w, g4_err *err);

/* A per-layer metadata value stored as one scalar (u32) or as an array of n_layer integers
 * or bools, into out[n_layer]. */
g4_status weights_read_per_layer(const gguf_file *f, const char *key, uint32_t n_layer,
                                 int64_t *out, g4_err *err);

/* G4_OK when general.architecture is `arch`; otherwise G4_ERR_UNSUPPORTED with
 * "architecture is 'X', not <what> ('arch')". */
g4_status weights_check_architecture(const gguf_file *f, const char *arch, const char *what,
                                     g4_err *err);

/* The head sizes <arch>.attention.key_length[_swa], which must equal the value lengths
 * (g4 attends with K and V of one size), for the global and the sliding layers. */
g4_status weights_read_head_dims(const gguf_file *f, const char *arch, uint32_t *full,
                                 uint32_t *swa, g4_err *err);

#endif
