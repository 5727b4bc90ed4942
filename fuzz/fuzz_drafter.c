/* libFuzzer target for the MTP drafter's loader: any GGUF is either refused with a message
 * or loads into a drafter that fits the tiny model, and is freed cleanly. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/gguf.h"
#include "model/drafter.h"
#include "model/gemma4.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gguf_file *target_file;
static gemma4_model target;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (gguf_open(G4_TEST_DATA "/tiny-gemma4u-q4_0.gguf", &target_file, NULL) != G4_OK ||
        gemma4_load(target_file, false, &target, NULL) != G4_OK)
        abort();
    return 0;
}

/* A broken invariant is a finding: stop where the fuzzer can see it. */
static void require(bool condition)
{
    if (!condition)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *f = NULL;
    g4_err err = {0};
    if (gguf_open_memory(data, size, &f, &err) != G4_OK)
        return 0;
    drafter_model d;
    if (drafter_load(f, target_file, &target, false, &d, &err) != G4_OK) {
        require(err.msg[0] != '\0' && d.layers == NULL);
    } else {
        require(d.n_embd_out == target.hp.n_embd && d.n_vocab == target.hp.n_vocab);
        drafter_free(&d);
    }
    gguf_close(f);
    return 0;
}
