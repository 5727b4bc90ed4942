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

/* What to take from a video. */
typedef struct video_request {
    int max_frames;           /* frames to sample (> 0) */
    int frame_budget;         /* soft tokens per frame: 70, 140, 280, 560 or 1120 */
    double max_audio_seconds; /* limit of the sound track (<= 0: AUDIO_MAX_SECONDS) */
} video_request;

typedef struct video_frames {
    rgb_image *frames; /* [n_frames], all the size the first frame takes for the budget */
    double *seconds;   /* [n_frames] time of each frame: index / fps (24 fps if unknown) */
    size_t n_frames;
    audio_clip audio;  /* the first audio stream (n = 0 when the file has none) */
} video_frames;

/* Decodes a video file (any container and codec FFmpeg reads) from memory. Of its N
 * frames, those at indices floor(i * N / max_frames) for i = 0 .. max_frames - 1 are
 * kept (all N when N < max_frames); spec multimodal.md §6. Each kept frame is resized as
 * soon as it is decoded (the first to the budget's size, the others to the first's), so
 * only one frame is ever held at full resolution. */
g4_status video_decode(const uint8_t *data, size_t len, const video_request *request,
                       video_frames *out, g4_err *err);
void video_frames_free(video_frames *video);

#endif
