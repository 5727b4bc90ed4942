/* Audio files to 16 kHz mono: FFmpeg demuxes and decodes whatever it recognises (WAV,
 * FLAC, Ogg Vorbis, MP3, M4A/AAC, ...); each decoded frame is mixed down to the mean of its
 * channels here and resampled as it arrives. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/samplefmt.h>

#include "media/audio_track.h"

/* Float formats can hold anything; what reaches the model stays finite. */
#define AUDIO_SAMPLE_CLAMP 1000.0

static double duration_of(const AVStream *stream)
{
    if (stream->duration <= 0 || stream->time_base.num <= 0 || stream->time_base.den <= 0)
        return -1.0;
    return (double)stream->duration * av_q2d(stream->time_base);
}

/* The duration the container states, when it is more than an estimate from the bit rate
 * (the container's own duration counts only when the audio is its sole stream). */
static double declared_seconds(const av_input *in, const AVStream *stream)
{
    const AVFormatContext *format = in->format;
    if (format->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE)
        return -1.0;
    double seconds = duration_of(stream);
    if (seconds < 0 && format->nb_streams == 1 && format->duration > 0)
        seconds = (double)format->duration / AV_TIME_BASE;
    return seconds;
}

static g4_status too_long(double seconds, double max_seconds, g4_err *err)
{
    if (seconds < 0)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "audio is longer than the limit of %g s",
                       max_seconds);
    return g4_fail(err, G4_ERR_UNSUPPORTED, "audio is %.1f s long; the limit is %g s", seconds,
                   max_seconds);
}

static bool sample_format_supported(enum AVSampleFormat packed)
{
    return packed == AV_SAMPLE_FMT_U8 || packed == AV_SAMPLE_FMT_S16 ||
           packed == AV_SAMPLE_FMT_S32 || packed == AV_SAMPLE_FMT_S64 ||
           packed == AV_SAMPLE_FMT_FLT || packed == AV_SAMPLE_FMT_DBL;
}

/* One sample in [-1, 1) for the integer formats: x / 2^(bits - 1), u8 as (x - 128) / 128. */
static double sample_value(const uint8_t *at, enum AVSampleFormat packed)
{
    union {
        int16_t s16;
        int32_t s32;
        int64_t s64;
        float flt;
        double dbl;
    } v;
    memcpy(&v, at, (size_t)av_get_bytes_per_sample(packed));
    switch (packed) {
    case AV_SAMPLE_FMT_U8:
        return (at[0] - 128) / 128.0;
    case AV_SAMPLE_FMT_S16:
        return v.s16 / 32768.0;
    case AV_SAMPLE_FMT_S32:
        return v.s32 / 2147483648.0;
    case AV_SAMPLE_FMT_S64:
        return (double)v.s64 / 9223372036854775808.0;
    case AV_SAMPLE_FMT_FLT:
        return v.flt;
    default:
        return v.dbl;
    }
}

static float finite_sample(double value)
{
    if (isnan(value))
        return 0.0f;
    return (float)fmax(-AUDIO_SAMPLE_CLAMP, fmin(AUDIO_SAMPLE_CLAMP, value));
}

static g4_status reserve_mono(audio_track *audio, size_t n, g4_err *err)
{
    if (n <= audio->mono_capacity)
        return G4_OK;
    float *grown = realloc(audio->mono, n * sizeof(float));
    if (!grown)
        return g4_fail(err, G4_ERR_NO_MEMORY, "audio: out of memory");
    audio->mono = grown;
    audio->mono_capacity = n;
    return G4_OK;
}

/* audio->mono[i] = the mean of the frame's channels at sample i, for packed (interleaved)
 * and planar layouts alike. */
static g4_status mix_to_mono(audio_track *audio, const AVFrame *frame, g4_err *err)
{
    size_t n = (size_t)frame->nb_samples, channels = (size_t)frame->ch_layout.nb_channels;
    enum AVSampleFormat packed = av_get_packed_sample_fmt(frame->format);
    if (frame->ch_layout.nb_channels < 1)
        return g4_fail(err, G4_ERR_FORMAT, "audio: a frame has no channels");
    if (!sample_format_supported(packed))
        return g4_fail(err, G4_ERR_UNSUPPORTED, "audio: the sample format %s is not supported",
                       av_get_sample_fmt_name(frame->format));
    g4_status status = reserve_mono(audio, n, err);
    if (status != G4_OK)
        return status;
    bool planar = av_sample_fmt_is_planar(frame->format);
    size_t size = (size_t)av_get_bytes_per_sample(packed);
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (size_t c = 0; c < channels; c++) {
            const uint8_t *at = planar ? frame->extended_data[c] + i * size
                                       : frame->extended_data[0] + (i * channels + c) * size;
            sum += sample_value(at, packed);
        }
        audio->mono[i] = finite_sample(sum / (double)channels);
    }
    return G4_OK;
}

/* The first frame fixes the sample rate; a stream that changes it is refused. */
static g4_status follow_sample_rate(audio_track *audio, int sample_rate, g4_err *err)
{
    if (!audio->resampler) {
        audio->sample_rate = sample_rate;
        return audio_resampler_create(sample_rate, &audio->resampler, err);
    }
    if (sample_rate != audio->sample_rate)
        return g4_fail(err, G4_ERR_UNSUPPORTED,
                       "audio: the sample rate changes from %d Hz to %d Hz within the stream",
                       audio->sample_rate, sample_rate);
    return G4_OK;
}

static g4_status take_frame(void *state, const AVFrame *frame, bool *done, g4_err *err)
{
    audio_track *audio = state;
    g4_status status = follow_sample_rate(audio, frame->sample_rate, err);
    if (status != G4_OK)
        return status;
    audio->samples_in += (uint64_t)frame->nb_samples;
    if ((double)audio->samples_in > audio->max_seconds * audio->sample_rate)
        return too_long(-1.0, audio->max_seconds, err);
    status = mix_to_mono(audio, frame, err);
    if (status == G4_OK)
        status = audio_resampler_push(audio->resampler, audio->mono,
                                      (size_t)frame->nb_samples, err);
    return status;
}

g4_status audio_track_open(audio_track *audio, const av_input *in, int stream_index,
                           double max_seconds, g4_err *err)
{
    *audio = (audio_track){.max_seconds = max_seconds > 0 ? max_seconds : AUDIO_MAX_SECONDS};
    double seconds = declared_seconds(in, in->format->streams[stream_index]);
    if (seconds > audio->max_seconds)
        return too_long(seconds, audio->max_seconds, err);
    return av_track_open(&audio->track, in, stream_index, 1, take_frame, audio, err);
}

g4_status audio_track_finish(audio_track *audio, audio_clip *out, g4_err *err)
{
    *out = (audio_clip){0};
    g4_status status = G4_OK;
    if (audio->samples_in > 0)
        status = audio_resampler_finish(audio->resampler, out, err);
    if (status == G4_OK && out->n == 0)
        status = g4_fail(err, G4_ERR_FORMAT, "audio contains no samples");
    return status;
}

void audio_track_close(audio_track *audio)
{
    av_track_close(&audio->track);
    audio_resampler_free(audio->resampler);
    free(audio->mono);
    *audio = (audio_track){0};
}

static g4_status decode_first_audio_stream(av_input *in, double max_seconds,
                                           audio_clip *out, g4_err *err)
{
    int stream_index = av_input_find_stream(in, AVMEDIA_TYPE_AUDIO);
    if (stream_index < 0)
        return g4_fail(err, G4_ERR_FORMAT, "audio: no audio stream in the data (read as %s)",
                       in->format->iformat->name);
    audio_track audio;
    g4_status status = audio_track_open(&audio, in, stream_index, max_seconds, err);
    av_track *tracks[] = {&audio.track};
    if (status == G4_OK)
        status = av_input_decode(in, tracks, 1, err);
    if (status == G4_OK)
        status = audio_track_finish(&audio, out, err);
    audio_track_close(&audio);
    return status;
}

g4_status audio_decode(const uint8_t *data, size_t len, double max_seconds, audio_clip *out,
                       g4_err *err)
{
    if (!out)
        return g4_fail(err, G4_ERR_INVALID_ARG, "audio: no output clip");
    *out = (audio_clip){0};
    av_input in;
    g4_status status = av_input_open(&in, data, len, "audio", err);
    if (status != G4_OK)
        return status;
    status = decode_first_audio_stream(&in, max_seconds, out, err);
    av_input_close(&in);
    return status;
}

void audio_clip_free(audio_clip *clip)
{
    if (!clip)
        return;
    free(clip->samples);
    *clip = (audio_clip){0};
}
