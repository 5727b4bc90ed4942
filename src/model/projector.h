/* The Gemma 4 "unified" multimodal projector (mmproj GGUF, projector types gemma4uv and
 * gemma4ua): 48x48 image patches and 640-sample audio frames projected straight into the
 * text model's embedding space, one soft token each (spec multimodal.md §1, §3, §4.3). */
#ifndef G4_MODEL_PROJECTOR_H
#define G4_MODEL_PROJECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/gguf.h"
#include "core/threadpool.h"
#include "cpu/matmul.h"

typedef struct projector_vision {
    int64_t patch_values;    /* 6912: 48 x 48 x 3, channel-major */
    int64_t patch_side;      /* 48 */
    int64_t n_embd;          /* width of the patch embedding (3840 on the 12B) */
    int64_t pos_rows;        /* rows of each position table (1120) */
    float rms_eps;
    float *ln1_w, *ln1_b, *patch_bias, *ln2_w, *ln2_b, *ln3_w, *ln3_b;
    float *pos_x, *pos_y;    /* [pos_rows][n_embd] each */
    matmul_weight patch_embd;     /* [patch_values -> n_embd], with patch_bias */
    matmul_weight projection;     /* [n_embd -> n_out] */
} projector_vision;

typedef struct projector_audio {
    int64_t frame;           /* 640 samples per soft token */
    float rms_eps;
    matmul_weight projection; /* [frame -> n_out] */
} projector_audio;

typedef struct projector {
    bool has_vision, has_audio;
    int64_t n_out;           /* the text model's hidden size */
    projector_vision vision;
    projector_audio audio;
} projector;

/* Reads and validates a projector against a text model of hidden size n_out. */
g4_status projector_load(const gguf_file *f, int64_t n_out, bool exact_math, projector *p,
                         g4_err *err);
void projector_free(projector *p);

/* Soft tokens of n patches (each patch_values floats, channel-major, values in [0, 1])
 * at grid positions (xs[i], ys[i]): out[n][n_out]. */
g4_status projector_embed_patches(const projector *p, threadpool *pool, const float *patches,
                                  const int32_t *xs, const int32_t *ys, int64_t n, float *out,
                                  g4_err *err);

/* Soft tokens of n audio frames (each `frame` samples): out[n][n_out]. */
g4_status projector_embed_frames(const projector *p, threadpool *pool, const float *frames,
                                 int64_t n, float *out, g4_err *err);

#endif
