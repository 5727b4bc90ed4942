#include "engine/text_pipe.h"


enum { MAX_PIECE = 256 };

g4_status text_pipe_init(text_pipe *pipe, const g4_generate_params *params, g4_err *err)
{
    *pipe = (text_pipe){.params = params};
    utf8_stream_init(&pipe->utf8);
    pipe->stops = stop_matcher_new(params->stop_strings, params->n_stop_strings);
    return pipe->stops ? G4_OK : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
}

void text_pipe_free(text_pipe *pipe)
{
    stop_matcher_free(pipe->stops);
    pipe->stops = NULL;
}

static void deliver(text_pipe *pipe, const stop_result *res)
{
    if (res->emit_len > 0 && pipe->params->on_text && !pipe->cancelled &&
        !pipe->params->on_text(res->emit, res->emit_len, pipe->params->user))
        pipe->cancelled = true;
    if (res->stopped)
        pipe->stopped_by_string = true;
}

g4_status text_pipe_token(text_pipe *pipe, const g4_model *model, int32_t id, g4_err *err)
{
    char bytes[MAX_PIECE], text[UTF8_STREAM_MAX_OUT(MAX_PIECE)];
    int n = tokenizer_token_bytes(model->tok, id, pipe->params->show_special, bytes,
                                  sizeof bytes);
    if (n < 0)
        return g4_fail(err, G4_ERR_INTERNAL, "sampled token %d has no text", id);
    size_t len = utf8_stream_feed(&pipe->utf8, bytes, (size_t)(n < MAX_PIECE ? n : MAX_PIECE),
                                  text);
    stop_result res;
    if (stop_matcher_feed(pipe->stops, text, len, &res) != G4_OK)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory while streaming");
    deliver(pipe, &res);
    return G4_OK;
}

g4_status text_pipe_flush(text_pipe *pipe, g4_err *err)
{
    char text[UTF8_STREAM_MAX_OUT(0)];
    size_t len = utf8_stream_flush(&pipe->utf8, text);
    stop_result res;
    if (len > 0 && !pipe->stopped_by_string) {
        if (stop_matcher_feed(pipe->stops, text, len, &res) != G4_OK)
            return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory while streaming");
        deliver(pipe, &res);
    }
    if (!pipe->stopped_by_string) {
        stop_matcher_flush(pipe->stops, &res);
        deliver(pipe, &res);
    }
    return G4_OK;
}
