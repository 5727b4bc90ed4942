/* The object behind g4_media, and how the session turns its rows into soft tokens. */
#ifndef G4_ENGINE_MEDIA_H
#define G4_ENGINE_MEDIA_H

#include "engine/model.h"
#include "media/audio.h"
#include "media/image.h"

/* Rows (soft tokens) are numbered frame by frame, patches row-major inside a frame, then
 * the audio frames. */
struct g4_media {
    g4_media_kind kind;
    rgb_image *frames;     /* resized: one for an image, n_frames for a video */
    double *seconds;       /* video: the time of each frame */
    size_t n_frames;
    int32_t grid_width;    /* patches per row of each frame */
    int32_t grid_height;
    audio_clip audio;      /* the clip, or a video's sound track (n = 0 if none) */
    int64_t audio_frame;   /* samples per audio soft token */
    uint64_t key;          /* identifies the content, for prompt-prefix reuse */
};

int64_t media_tokens_per_frame(const g4_media *m);
int64_t media_vision_tokens(const g4_media *m);
int64_t media_audio_tokens(const g4_media *m);

/* Soft tokens first .. first + n - 1 of the media: out[n][n_embd]. */
g4_status media_embed_rows(g4_model *model, const g4_media *m, int64_t first, int64_t n,
                           float *out, g4_err *err);

#endif
