/* g4_chat_load_media: the images, audio and video a chat request refers to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/base64.h>

#include "engine/api_error.h"
#include "engine/media.h"
#include "text/chat.h"
#include "text/chat_media.h"

/* Decodes base64 text into a malloc'd buffer. */
static g4_status decode_base64(const char *text, const char *where, uint8_t **out,
                               size_t *len, g4_err *err)
{
    size_t n = strlen(text);
    if (n == 0 || n > (size_t)1 << 30)
        return g4_fail(err, G4_ERR_FORMAT, "%s: the base64 data is empty or over 1 GiB",
                       where);
    *out = malloc(AV_BASE64_DECODE_SIZE(n) + 1);
    if (!*out)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    int got = av_base64_decode(*out, text, (int)AV_BASE64_DECODE_SIZE(n) + 1);
    if (got <= 0) {
        free(*out);
        *out = NULL;
        return g4_fail(err, G4_ERR_FORMAT, "%s: invalid base64 data", where);
    }
    *len = (size_t)got;
    return G4_OK;
}

/* "data:[mime][;base64],DATA" -> the base64 text; NULL for other sources. */
static const char *data_uri_payload(const char *source, const char *where, g4_err *err)
{
    if (strncmp(source, "data:", 5) != 0)
        return NULL;
    const char *comma = strchr(source, ',');
    if (!comma || comma - source < 12 || strncmp(comma - 7, ";base64", 7) != 0) {
        g4_fail(err, G4_ERR_FORMAT, "%s: only base64 data: URIs are supported", where);
        return NULL;
    }
    return comma + 1;
}

/* Decodes a file's bytes (and frees them). */
static g4_status load_bytes(const g4_model *model, void *bytes, size_t len, const char *where,
                            const g4_media_params *params, g4_media **out, g4_err *err)
{
    g4_status st = g4_media_new(model, bytes, len, params, out);
    free(bytes);
    if (st != G4_OK)
        return g4_fail(err, st, "%s: %s", where, g4_last_error());
    return G4_OK;
}

static g4_status load_from_base64(const g4_model *model, const char *base64, const char *where,
                                  const g4_media_params *params, g4_media **out, g4_err *err)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (decode_base64(base64, where, &bytes, &len, err) != G4_OK)
        return err->code;
    return load_bytes(model, bytes, len, where, params, out, err);
}

static g4_status load_from_url(const g4_model *model, const char *url,
                               const g4_chat_media_options *opt, const char *where,
                               const g4_media_params *params, g4_media **out, g4_err *err)
{
    if (!opt->fetch)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "%s: remote media URLs are not fetched; "
                       "send the data as a base64 data: URI", where);
    void *bytes = NULL;
    size_t len = 0;
    char message[400] = "the fetch failed";
    g4_status st = opt->fetch(opt->fetch_user, url, &bytes, &len, message, sizeof message);
    if (st != G4_OK) {
        free(bytes);
        return g4_fail(err, st, "%s: %s", where, message);
    }
    return load_bytes(model, bytes, len, where, params, out, err);
}

static g4_status load_from_path(const g4_model *model, const char *path,
                                const g4_chat_media_options *opt, const char *where,
                                const g4_media_params *params, g4_media **out, g4_err *err)
{
    if (strstr(path, "://"))
        return load_from_url(model, path, opt, where, params, out, err);
    if (!opt->allow_files)
        return g4_fail(err, G4_ERR_INVALID_ARG, "%s: local file paths are not accepted "
                       "here; send the data as a base64 data: URI", where);
    char full[4096];
    int n = path[0] != '/' && opt->base_dir
                ? snprintf(full, sizeof full, "%s/%s", opt->base_dir, path)
                : snprintf(full, sizeof full, "%s", path);
    if (n < 0 || (size_t)n >= sizeof full)
        return g4_fail(err, G4_ERR_INVALID_ARG, "%s: the path is too long", where);
    g4_status st = g4_media_new_file(model, full, params, out);
    if (st != G4_OK)
        return g4_fail(err, st, "%s: %s", where, g4_last_error());
    return G4_OK;
}

/* input_audio.data normally holds base64; where local files are allowed, a value with a '.'
 * (never in base64) and no '=' padding is taken as a file name instead ("memo.wav"). */
static bool holds_base64(const chat_media_ref *ref, const g4_chat_media_options *opt)
{
    return ref->base64 &&
           !(opt->allow_files && !strchr(ref->source, '=') && strchr(ref->source, '.'));
}

static g4_status load_ref(const g4_model *model, const chat_media_ref *ref,
                          const g4_chat_media_options *opt, g4_media **out, g4_err *err)
{
    g4_media_params params = opt->params;
    params.kind = ref->kind;
    if (holds_base64(ref, opt))
        return load_from_base64(model, ref->source, ref->where, &params, out, err);
    const char *payload = data_uri_payload(ref->source, ref->where, err);
    if (payload)
        return load_from_base64(model, payload, ref->where, &params, out, err);
    if (err->code != G4_OK)
        return err->code;
    return load_from_path(model, ref->source, opt, ref->where, &params, out, err);
}

static g4_status load_all(const g4_model *model, const chat_media_ref *refs, size_t n,
                          const g4_chat_media_options *opt, g4_media **media, g4_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (load_ref(model, &refs[i], opt, &media[i], err) != G4_OK)
            return err->code;
    return G4_OK;
}

g4_status g4_chat_load_media(const g4_model *model, const char *request_json,
                             const g4_chat_media_options *options, g4_media ***media,
                             size_t *n_media)
{
    g4_err err = {0};
    g4_chat_media_options defaults = {0};
    *media = NULL;
    *n_media = 0;
    cJSON *request = NULL;
    chat_media_ref *refs = NULL;
    size_t n = 0;
    if (!request_json)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "no request given"});
    if (chat_json_parse(request_json, strlen(request_json), &request, &err) == G4_OK &&
        chat_media_refs(request, &refs, &n, &err) == G4_OK && n > 0) {
        *media = calloc(n, sizeof **media);
        if (!*media)
            g4_fail(&err, G4_ERR_NO_MEMORY, "out of memory");
        else if (load_all(model, refs, n, options ? options : &defaults, *media, &err))
            g4_media_list_free(*media, n), *media = NULL;
        else
            *n_media = n;
    }
    free(refs);
    cJSON_Delete(request);
    return api_report(&err);
}

void g4_media_list_free(g4_media **media, size_t n_media)
{
    for (size_t i = 0; media && i < n_media; i++)
        g4_media_free(media[i]);
    free(media);
}
