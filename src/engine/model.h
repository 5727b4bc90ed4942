/* The object behind g4_model: the mapped file, the decoder, the tokenizer, the threads and
 * the optional multimodal projector. */
#ifndef G4_ENGINE_MODEL_H
#define G4_ENGINE_MODEL_H

#include "core/gguf.h"
#include "core/threadpool.h"
#include "g4.h"
#include "model/drafter.h"
#include "model/gemma4.h"
#include "model/projector.h"
#include "text/tokenizer.h"

struct g4_model {
    gguf_file *file;
    gemma4_model net;
    tokenizer *tok;
    threadpool *pool;
    int n_threads;
    bool exact_math;
    bool use_mmap; /* the weights are the mapped file, not a copy in memory */
    gguf_file *projector_file; /* the attached mmproj, or NULL */
    projector proj;
    gguf_file *drafter_file; /* the attached MTP drafter, or NULL */
    drafter_model drafter;
};

#endif
