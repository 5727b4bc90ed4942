/* g4_media_*: decoding and preprocessing images, audio and video for the projector. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/api_error.h"
#include "engine/media.h"
#include "media/image_prep.h"
#include "media/video.h"

enum { EMBED_CHUNK = 256 };

void g4_media_params_init(g4_media_params *params, g4_media_kind kind)
{
    memset(params, 0, sizeof *params);
    params->kind = kind;
}

int64_t media_tokens_per_frame(const g4_media *m)
{
    return (int64_t)m->grid_width * m->grid_height;
}

int64_t media_vision_tokens(const g4_media *m)
{
    return (int64_t)m->n_frames * media_tokens_per_frame(m);
}

int64_t media_audio_tokens(const g4_media *m)
{
    return m->audio_frame ? ((int64_t)m->audio.n + m->audio_frame - 1) / m->audio_frame : 0;
}

static uint64_t content_key(const uint8_t *data, size_t len, const g4_media_params *p)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    uint64_t settings[] = {(uint64_t)p->kind, (uint64_t)p->image_tokens,
                           (uint64_t)p->video_frames};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        h = (h ^ settings[i]) * 1099511628211ull;
    return h | 1; /* never 0: 0 marks text positions */
}

static g4_status check_params(const g4_model *model, const g4_media_params *p, g4_err *err)
{
    static const char *const names[] = {"", "an image", "audio", "a video"};
    if (p->kind < G4_MEDIA_IMAGE || p->kind > G4_MEDIA_VIDEO)
        return g4_fail(err, G4_ERR_INVALID_ARG, "unknown media kind %d", (int)p->kind);
    if (!model->projector_file)
        return g4_fail(err, G4_ERR_INVALID_ARG, "%s was given but no multimodal projector "
                       "is loaded (--mmproj)", names[p->kind]);
    if (!g4_model_accepts_media(model, p->kind))
        return g4_fail(err, G4_ERR_UNSUPPORTED, "the projector cannot take %s",
                       names[p->kind]);
    if (p->image_tokens && !image_budget_valid(p->image_tokens))
        return g4_fail(err, G4_ERR_INVALID_ARG, "image tokens must be 70, 140, 280, 560 or "
                       "1120, not %d", p->image_tokens);
    if (p->video_frames < 0 || p->video_frames > 1024)
        return g4_fail(err, G4_ERR_INVALID_ARG, "video frames must be 1..1024, not %d",
                       p->video_frames);
    return G4_OK;
}

/* The patch grid of the (resized) frames. */
static void set_grid(g4_media *m)
{
    m->grid_width = m->frames[0].width / IMAGE_PATCH_SIDE;
    m->grid_height = m->frames[0].height / IMAGE_PATCH_SIDE;
}

static g4_status load_image(g4_media *m, const uint8_t *data, size_t len, int budget,
                            g4_err *err)
{
    m->frames = calloc(1, sizeof *m->frames);
    if (!m->frames)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    m->n_frames = 1;
    rgb_image full = {0};
    g4_status st = image_decode(data, len, &full, err);
    if (st == G4_OK)
        st = image_prepare(&full, budget, &m->frames[0], err);
    rgb_image_free(&full);
    if (st == G4_OK)
        set_grid(m);
    return st;
}

static g4_status load_video(const g4_model *model, g4_media *m, const uint8_t *data,
                            size_t len, const g4_media_params *p, g4_err *err)
{
    video_frames video = {0};
    video_request request = {
        .max_frames = p->video_frames ? p->video_frames : VIDEO_DEFAULT_FRAMES,
        .frame_budget = VIDEO_FRAME_BUDGET,
        .max_audio_seconds = p->max_audio_seconds,
    };
    g4_status st = video_decode(data, len, &request, &video, err);
    if (st != G4_OK)
        return st;
    m->frames = video.frames;
    m->seconds = video.seconds;
    m->n_frames = video.n_frames;
    if (model->proj.has_audio)
        m->audio = video.audio;
    else
        audio_clip_free(&video.audio);
    set_grid(m);
    return G4_OK;
}

static g4_status load_media(const g4_model *model, g4_media *m, const uint8_t *data,
                            size_t len, const g4_media_params *p, g4_err *err)
{
    m->kind = p->kind;
    m->audio_frame = model->proj.has_audio ? model->proj.audio.frame : 0;
    m->key = content_key(data, len, p);
    switch (p->kind) {
    case G4_MEDIA_IMAGE:
        return load_image(m, data, len, p->image_tokens ? p->image_tokens
                                                        : IMAGE_DEFAULT_BUDGET, err);
    case G4_MEDIA_AUDIO:
        return audio_decode(data, len, p->max_audio_seconds, &m->audio, err);
    case G4_MEDIA_VIDEO:
        return load_video(model, m, data, len, p, err);
    }
    return g4_fail(err, G4_ERR_INVALID_ARG, "unknown media kind");
}

static g4_status media_create(const g4_model *model, const void *data, size_t len,
                              const g4_media_params *params, g4_media **out, g4_err *err)
{
    *out = NULL;
    if (!params || check_params(model, params, err) != G4_OK)
        return params ? err->code : g4_fail(err, G4_ERR_INVALID_ARG, "no media parameters");
    if (!data || len == 0)
        return g4_fail(err, G4_ERR_FORMAT, "the media data is empty");
    g4_media *m = calloc(1, sizeof *m);
    if (!m)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    if (load_media(model, m, data, len, params, err) != G4_OK) {
        g4_media_free(m);
        return err->code;
    }
    *out = m;
    return G4_OK;
}

g4_status g4_media_new(const g4_model *model, const void *data, size_t len,
                       const g4_media_params *params, g4_media **out)
{
    g4_err err = {0};
    media_create(model, data, len, params, out, &err);
    return api_report(&err);
}

g4_status g4_media_new_file(const g4_model *model, const char *path,
                            const g4_media_params *params, g4_media **out)
{
    g4_err err = {0};
    *out = NULL;
    int fd = path ? open(path, O_RDONLY) : -1;
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        g4_fail(&err, G4_ERR_IO, "%s: cannot open the file", path ? path : "(null)");
    } else if (info.st_size == 0) {
        g4_fail(&err, G4_ERR_FORMAT, "%s: the file is empty", path);
    } else {
        void *map = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            g4_fail(&err, G4_ERR_IO, "%s: cannot map the file", path);
        } else {
            if (media_create(model, map, (size_t)info.st_size, params, out, &err) != G4_OK)
                g4_fail_context(&err, "%s", path);
            munmap(map, (size_t)info.st_size);
        }
    }
    if (fd >= 0)
        close(fd);
    return api_report(&err);
}

void g4_media_free(g4_media *media)
{
    if (!media)
        return;
    for (size_t i = 0; media->frames && i < media->n_frames; i++)
        rgb_image_free(&media->frames[i]);
    free(media->frames);
    free(media->seconds);
    audio_clip_free(&media->audio);
    free(media);
}

g4_media_kind g4_media_get_kind(const g4_media *media)
{
    return media->kind;
}

uint32_t g4_media_n_tokens(const g4_media *media)
{
    return (uint32_t)(media_vision_tokens(media) + media_audio_tokens(media));
}

/* Vision rows first .. first + n - 1, all inside one frame. */
static g4_status embed_patches(g4_model *model, const g4_media *m, int64_t first, int64_t n,
                               float *out, g4_err *err)
{
    int64_t per_frame = media_tokens_per_frame(m);
    const rgb_image *frame = &m->frames[first / per_frame];
    int64_t t0 = first % per_frame;
    float *patches = malloc((size_t)(n * IMAGE_PATCH_VALUES) * sizeof(float));
    int32_t *xy = malloc((size_t)(2 * n) * sizeof(int32_t));
    g4_status st = G4_OK;
    if (!patches || !xy) {
        st = g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for image patches");
    } else {
        for (int64_t i = 0; i < n; i++) {
            xy[i] = (int32_t)((t0 + i) % m->grid_width);
            xy[n + i] = (int32_t)((t0 + i) / m->grid_width);
        }
        image_patches_range(frame, t0, n, patches);
        st = projector_embed_patches(&model->proj, model->pool, patches, xy, xy + n, n, out,
                                     err);
    }
    free(patches);
    free(xy);
    return st;
}

/* Audio rows first .. first + n - 1: 640-sample frames, the last one zero-padded. */
static g4_status embed_audio(g4_model *model, const g4_media *m, int64_t first, int64_t n,
                             float *out, g4_err *err)
{
    int64_t frame = m->audio_frame;
    float *frames = calloc((size_t)(n * frame), sizeof(float));
    if (!frames)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for audio frames");
    int64_t start = first * frame;
    int64_t count = (int64_t)m->audio.n - start < n * frame ? (int64_t)m->audio.n - start
                                                             : n * frame;
    memcpy(frames, m->audio.samples + start, (size_t)count * sizeof(float));
    g4_status st = projector_embed_frames(&model->proj, model->pool, frames, n, out, err);
    free(frames);
    return st;
}

/* The longest run from `first` that one projector call handles. */
static int64_t run_length(const g4_media *m, int64_t first, int64_t n)
{
    int64_t vision = media_vision_tokens(m);
    int64_t end = first + (n < EMBED_CHUNK ? n : EMBED_CHUNK);
    if (first < vision) {
        int64_t frame_end = (first / media_tokens_per_frame(m) + 1) * media_tokens_per_frame(m);
        end = end < frame_end ? end : frame_end;
    }
    return end - first;
}

g4_status media_embed_rows(g4_model *model, const g4_media *m, int64_t first, int64_t n,
                           float *out, g4_err *err)
{
    int64_t vision = media_vision_tokens(m), width = model->net.hp.n_embd;
    if (first < 0 || n < 0 || first + n > vision + media_audio_tokens(m))
        return g4_fail(err, G4_ERR_INVALID_ARG, "soft tokens %lld..%lld are outside the "
                       "media", (long long)first, (long long)(first + n - 1));
    while (n > 0) {
        int64_t run = run_length(m, first, n);
        g4_status st = first < vision
                           ? embed_patches(model, m, first, run, out, err)
                           : embed_audio(model, m, first - vision, run, out, err);
        if (st != G4_OK)
            return st;
        first += run;
        n -= run;
        out += run * width;
    }
    return G4_OK;
}

g4_status g4_media_embed(g4_model *model, const g4_media *media, float *out)
{
    g4_err err = {0};
    if (!out)
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "no output buffer"});
    media_embed_rows(model, media, 0, g4_media_n_tokens(media), out, &err);
    return api_report(&err);
}
