/* Generated tokens to the caller's text: token bytes -> complete UTF-8 -> stop-string
 * filter -> on_text. Used by g4_generate and by anything that samples step by step. */
#ifndef G4_ENGINE_TEXT_PIPE_H
#define G4_ENGINE_TEXT_PIPE_H

#include <stdbool.h>

#include "core/error.h"
#include "engine/model.h"
#include "text/stop_strings.h"
#include "text/utf8.h"

typedef struct text_pipe {
    const g4_generate_params *params; /* stop strings, show_special, on_text, user */
    utf8_stream utf8;
    stop_matcher *stops;
    bool stopped_by_string;
    bool cancelled; /* on_text returned false */
} text_pipe;

/* Fails only when out of memory. params must outlive the pipe. */
g4_status text_pipe_init(text_pipe *pipe, const g4_generate_params *params, g4_err *err);
void text_pipe_free(text_pipe *pipe);
/* Passes one sampled token's text on. */
g4_status text_pipe_token(text_pipe *pipe, const g4_model *model, int32_t id, g4_err *err);
/* Passes on what the UTF-8 and stop-string stages still hold back. */
g4_status text_pipe_flush(text_pipe *pipe, g4_err *err);

#endif
