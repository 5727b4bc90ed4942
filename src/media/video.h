/* Video decoded to what the model sees and hears: a few evenly spaced RGB frames with
 * their timestamps, and the sound track as 16 kHz mono audio. */
#ifndef G4_MEDIA_VIDEO_H
#define G4_MEDIA_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "media/audio.h"
#include "media/image.h"

enum { VIDEO_DEFAULT_FRAMES = 32 };

typedef struct video_frames {
    rgb_image *frames; /* [n_frames], full resolution */
    double *seconds;   /* [n_frames] time of each frame: index / fps (24 fps if unknown) */
    size_t n_frames;
    audio_clip audio;  /* the first audio stream (n = 0 when the file has none) */
} video_frames;

/* Decodes a video file (any container and codec FFmpeg reads) from memory. Of its N
 * frames, those at indices floor(i * N / max_frames) for i = 0 .. max_frames - 1 are
 * kept (all N when N < max_frames); spec multimodal.md §6. The audio track is limited to
 * max_audio_seconds (<= 0: AUDIO_MAX_SECONDS). */
g4_status video_decode(const uint8_t *data, size_t len, int max_frames,
                       double max_audio_seconds, video_frames *out, g4_err *err);
void video_frames_free(video_frames *video);

#endif
