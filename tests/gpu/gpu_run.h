/* Shared by the GPU check programs: token ids through the CUDA backend. */
#ifndef G4_TESTS_GPU_RUN_H
#define G4_TESTS_GPU_RUN_H

#include "cuda/cuda_backend.h"

/* Embeds ids[0..n) on the host and runs them in passes of at most `pass` inputs; every
 * position's logits go to logits ([n][n_vocab]), or only the last one's when last_only
 * (logits then holds one row). */
g4_status gpu_forward_ids(cuda_state *st, const gemma4_model *net, const int32_t *ids,
                          int64_t n, int64_t pass, bool last_only, float *logits, g4_err *err);

/* Seconds on a monotonic clock. */
double gpu_seconds(void);

#endif
