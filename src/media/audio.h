/* Audio decoded to what the model hears: mono float samples at 16 kHz. */
#ifndef G4_MEDIA_AUDIO_H
#define G4_MEDIA_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum { AUDIO_SAMPLE_RATE = 16000 };

/* The longest audio accepted by default: one hour (57.6M samples, 230 MB of floats). */
#define AUDIO_MAX_SECONDS 3600.0

typedef struct audio_clip {
    float *samples; /* nominally in [-1, 1] */
    size_t n;
} audio_clip;

/* Decodes WAV (8/16/24/32-bit PCM and 32/64-bit float), FLAC, Ogg Vorbis, MP3 or
 * M4A/AAC from memory, recognised by content. Channels are mixed down to their mean and
 * the result is resampled to 16 kHz with a very-high-quality resampler. Audio longer
 * than max_seconds (<= 0: AUDIO_MAX_SECONDS) and audio without any sample are refused. */
g4_status audio_decode(const uint8_t *data, size_t len, double max_seconds, audio_clip *out,
                       g4_err *err);

/* Resamples mono samples from rate_in Hz to 16 kHz (a copy when rate_in is 16000). */
g4_status audio_resample(const float *in, size_t n, double rate_in, audio_clip *out,
                         g4_err *err);

void audio_clip_free(audio_clip *clip);

#endif
