/* libFuzzer target for the audio and video decoders (FFmpeg underneath): every input must
 * decode or fail with a message, a failure must leave the outputs empty, and whatever
 * decodes must be what the contracts promise. The limits are small (2 s of audio, 2
 * frames) so that each input stays cheap. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/audio.h"
#include "media/image_prep.h"
#include "media/video.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_FRAMES = 2 };
#define MAX_SECONDS 2.0

/* A broken invariant is a finding: stop where the fuzzer can see it. */
static void require(bool condition)
{
    if (!condition)
        __builtin_trap();
}

static void check_clip(const audio_clip *clip, bool may_be_empty)
{
    require(may_be_empty || clip->n > 0);
    require((clip->samples == NULL) == (clip->n == 0));
    /* Up to 2 s of input at any rate: 32000 samples, and one for rounding. */
    require(clip->n <= (size_t)(MAX_SECONDS * AUDIO_SAMPLE_RATE) + 1);
    for (size_t i = 0; i < clip->n; i++)
        require(isfinite(clip->samples[i]) && fabsf(clip->samples[i]) <= 1000.0f);
}

static void check_frame(const rgb_image *frame, double seconds)
{
    require(frame->width > 0 && frame->height > 0 && frame->pixels != NULL);
    size_t bytes = (size_t)frame->width * (size_t)frame->height * 3;
    volatile uint8_t sink = frame->pixels[0] ^ frame->pixels[bytes - 1];
    (void)sink;
    require(isfinite(seconds) && seconds >= 0);
}

static void fuzz_audio(const uint8_t *data, size_t size)
{
    audio_clip clip;
    g4_err err = {0};
    if (audio_decode(data, size, MAX_SECONDS, &clip, &err) != G4_OK) {
        require(clip.samples == NULL && clip.n == 0 && err.msg[0] != '\0');
        return;
    }
    check_clip(&clip, false);
    audio_clip_free(&clip);
}

static void fuzz_video(const uint8_t *data, size_t size)
{
    video_frames video;
    g4_err err = {0};
    video_request request = {MAX_FRAMES, VIDEO_FRAME_BUDGET, MAX_SECONDS};
    if (video_decode(data, size, &request, &video, &err) != G4_OK) {
        require(video.frames == NULL && video.seconds == NULL && video.n_frames == 0);
        require(video.audio.samples == NULL && video.audio.n == 0 && err.msg[0] != '\0');
        return;
    }
    require(video.n_frames >= 1 && video.n_frames <= MAX_FRAMES);
    for (size_t i = 0; i < video.n_frames; i++) {
        check_frame(&video.frames[i], video.seconds[i]);
        require(i == 0 || video.seconds[i] > video.seconds[i - 1]);
    }
    check_clip(&video.audio, true);
    video_frames_free(&video);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_audio(data, size);
    fuzz_video(data, size);
    return 0;
}
