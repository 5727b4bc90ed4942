#include "gpu_run.h"

#include <stdlib.h>
#include <time.h>

#include "model/gemma4_forward.h"

g4_status gpu_forward_ids(cuda_state *st, const gemma4_model *net, const int32_t *ids,
                          int64_t n, int64_t pass, bool last_only, float *logits, g4_err *err)
{
    int64_t embd = net->hp.n_embd, vocab = net->hp.n_vocab;
    float *x = malloc((size_t)(pass * embd) * sizeof(float));
    g4_status s = x ? G4_OK : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    for (int64_t done = 0; s == G4_OK && done < n; done += pass) {
        int64_t m = n - done < pass ? n - done : pass;
        bool last = done + m == n;
        gemma4_embed_tokens(net, ids + done, m, x);
        cuda_batch b = {.x = x, .n = m};
        if (!last_only || last) {
            b.logits = last_only ? logits : logits + done * vocab;
            b.n_logits = last_only ? 1 : m;
        }
        s = cuda_forward(st, &b, err);
    }
    free(x);
    return s;
}

double gpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
