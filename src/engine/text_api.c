/* Public entry points for text: tokenizing, token bytes, chat rendering. */
#include <string.h>

#include "engine/api_error.h"
#include "engine/model.h"
#include "text/chat.h"

g4_status g4_tokenize(const g4_model *model, const char *text, size_t len, bool add_bos,
                      bool parse_special, int32_t **ids, size_t *n_ids)
{
    g4_err err = {0};
    *ids = NULL;
    *n_ids = 0;
    if (!text && len > 0)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "no text given"});
    tokenizer_encode(model->tok, text ? text : "", len, add_bos, parse_special, ids, n_ids,
                     &err);
    return api_report(&err);
}

int g4_token_to_bytes(const g4_model *model, int32_t id, bool show_special, char *buf,
                      size_t cap)
{
    return tokenizer_token_bytes(model->tok, id, show_special, buf, cap);
}

bool g4_token_is_end_of_generation(const g4_model *model, int32_t id)
{
    return tokenizer_is_eog(model->tok, id);
}

g4_status g4_chat_render(const g4_model *model, const char *request_json, char **prompt)
{
    g4_err err = {0};
    (void)model; /* the Gemma 4 format is built in; the model's own template is not run */
    *prompt = NULL;
    if (!request_json)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "no request given"});
    chat_render(request_json, strlen(request_json), prompt, &err);
    return api_report(&err);
}

int g4_model_n_threads(const g4_model *model)
{
    return model->n_threads;
}
