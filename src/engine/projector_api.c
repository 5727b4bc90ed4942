/* g4_model_load_projector: attaching the multimodal projector to a loaded model. */
#include "engine/api_error.h"
#include "engine/model.h"

g4_status g4_model_load_projector(g4_model *model, const char *path)
{
    g4_err err = {0};
    if (!path)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "no projector path given"});
    if (model->projector_file)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "a projector is already attached"});
    gguf_file *file = NULL;
    if (gguf_open(path, &file, &err) == G4_OK &&
        projector_load(file, model->net.hp.n_embd, model->exact_math, &model->proj, &err) ==
            G4_OK) {
        model->projector_file = file;
        return api_report(&err);
    }
    gguf_close(file);
    g4_fail_context(&err, "%s", path);
    return api_report(&err);
}

bool g4_model_accepts_media(const g4_model *model, g4_media_kind kind)
{
    if (!model->projector_file)
        return false;
    switch (kind) {
    case G4_MEDIA_IMAGE:
        return model->proj.has_vision;
    case G4_MEDIA_AUDIO:
        return model->proj.has_audio;
    case G4_MEDIA_VIDEO:
        return model->proj.has_vision;
    }
    return false;
}
