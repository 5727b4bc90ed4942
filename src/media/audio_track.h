/* Internals shared by audio_decode.c and video_decode.c: a streaming resampler to 16 kHz,
 * and the audio track that turns decoded frames into a 16 kHz mono clip as they come, so
 * that memory holds the output and one frame, never the whole input. */
#ifndef G4_MEDIA_AUDIO_TRACK_H
#define G4_MEDIA_AUDIO_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "media/audio.h"
#include "media/av_input.h"

/* ---- streaming resampler (audio_resample.c) ------------------------------------------ */

typedef struct audio_resampler audio_resampler;

/* A mono resampler from rate_in Hz (1 kHz .. 768 kHz) to 16 kHz (soxr, very high
 * quality); at 16 kHz it copies. Its output accumulates inside it. */
g4_status audio_resampler_create(double rate_in, audio_resampler **out, g4_err *err);
g4_status audio_resampler_push(audio_resampler *resampler, const float *in, size_t n,
                               g4_err *err);
/* Flushes the filter's tail and moves the whole output into *out. */
g4_status audio_resampler_finish(audio_resampler *resampler, audio_clip *out, g4_err *err);
void audio_resampler_free(audio_resampler *resampler);

/* ---- audio track (audio_decode.c) ---------------------------------------------------- */

typedef struct audio_track {
    av_track track; /* decodes the stream; its sink is the track below */
    audio_resampler *resampler; /* created at the first frame's sample rate */
    int sample_rate;
    double max_seconds;
    uint64_t samples_in; /* decoded so far, at sample_rate */
    float *mono;         /* one frame mixed down */
    size_t mono_capacity;
} audio_track;

/* Opens a decoder for the stream; audio longer than max_seconds (<= 0: AUDIO_MAX_SECONDS)
 * is refused up front when the container states the duration, and while decoding. */
g4_status audio_track_open(audio_track *audio, const av_input *in, int stream_index,
                           double max_seconds, g4_err *err);
/* After av_input_decode: the clip (refused when it holds no sample). */
g4_status audio_track_finish(audio_track *audio, audio_clip *out, g4_err *err);
void audio_track_close(audio_track *audio);

#endif
