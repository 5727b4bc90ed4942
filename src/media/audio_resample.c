/* Resampling to 16 kHz with libsoxr at its very-high-quality setting (28-bit precision,
 * linear phase), as a stream: input goes in block by block and the output grows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <soxr.h>

#include "media/audio_track.h"

enum {
    RATE_MIN = 1000,
    RATE_MAX = 768000,
    /* Input is resampled this many samples at a time, so that the output room asked of
     * the buffer stays small whatever the caller passes. */
    PUSH_BLOCK = 1 << 16,
    /* Output room beyond the block's share, for what soxr releases from its delay line. */
    OUTPUT_SLACK = 4096,
};

struct audio_resampler {
    soxr_t soxr; /* NULL at 16 kHz: the input is copied */
    double ratio; /* output samples per input sample */
    float *out;
    size_t n, capacity;
};

g4_status audio_resampler_create(double rate_in, audio_resampler **out, g4_err *err)
{
    *out = NULL;
    if (!(rate_in >= RATE_MIN && rate_in <= RATE_MAX))
        return g4_fail(err, G4_ERR_UNSUPPORTED,
                       "audio: a sample rate of %g Hz is not supported (%d .. %d Hz)", rate_in,
                       RATE_MIN, RATE_MAX);
    audio_resampler *resampler = calloc(1, sizeof *resampler);
    if (!resampler)
        return g4_fail(err, G4_ERR_NO_MEMORY, "audio: out of memory");
    resampler->ratio = AUDIO_SAMPLE_RATE / rate_in;
    if (rate_in != AUDIO_SAMPLE_RATE) {
        soxr_error_t error = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t quality = soxr_quality_spec(SOXR_VHQ, 0);
        resampler->soxr = soxr_create(rate_in, AUDIO_SAMPLE_RATE, 1, &error, &io, &quality,
                                      NULL);
        if (!resampler->soxr) {
            free(resampler);
            return g4_fail(err, G4_ERR_INTERNAL, "audio: cannot create the resampler (%s)",
                           soxr_strerror(error));
        }
    }
    *out = resampler;
    return G4_OK;
}

/* Makes room for `extra` more output samples. */
static g4_status reserve(audio_resampler *resampler, size_t extra, g4_err *err)
{
    if (resampler->capacity - resampler->n >= extra)
        return G4_OK;
    size_t limit = SIZE_MAX / sizeof(float) / 2;
    if (extra > limit - resampler->n)
        return g4_fail(err, G4_ERR_NO_MEMORY, "audio: out of memory");
    size_t capacity = resampler->capacity * 2;
    if (capacity < resampler->n + extra)
        capacity = resampler->n + extra;
    float *grown = realloc(resampler->out, capacity * sizeof(float));
    if (!grown)
        return g4_fail(err, G4_ERR_NO_MEMORY, "audio: out of memory (%zu samples)", capacity);
    resampler->out = grown;
    resampler->capacity = capacity;
    return G4_OK;
}

/* Runs soxr over in[0 .. n) (n <= PUSH_BLOCK), or, with in == NULL, drains its tail. */
static g4_status run_soxr(audio_resampler *resampler, const float *in, size_t n, g4_err *err)
{
    for (;;) {
        g4_status status = reserve(resampler, (size_t)(n * resampler->ratio) + OUTPUT_SLACK,
                                   err);
        if (status != G4_OK)
            return status;
        size_t used = 0, made = 0;
        soxr_error_t error = soxr_process(resampler->soxr, in, n, &used,
                                          resampler->out + resampler->n,
                                          resampler->capacity - resampler->n, &made);
        if (error)
            return g4_fail(err, G4_ERR_INTERNAL, "audio: resampling failed (%s)", error);
        resampler->n += made;
        if (in) {
            in += used;
            n -= used;
        }
        bool finished = in ? n == 0 : made == 0;
        if (finished)
            return G4_OK;
        if (in && used == 0 && made == 0)
            return g4_fail(err, G4_ERR_INTERNAL, "audio: the resampler made no progress");
    }
}

g4_status audio_resampler_push(audio_resampler *resampler, const float *in, size_t n,
                               g4_err *err)
{
    if (!resampler->soxr) {
        g4_status status = reserve(resampler, n, err);
        if (status == G4_OK && n > 0) {
            memcpy(resampler->out + resampler->n, in, n * sizeof(float));
            resampler->n += n;
        }
        return status;
    }
    for (size_t done = 0; done < n; done += PUSH_BLOCK) {
        size_t block = n - done < PUSH_BLOCK ? n - done : PUSH_BLOCK;
        g4_status status = run_soxr(resampler, in + done, block, err);
        if (status != G4_OK)
            return status;
    }
    return G4_OK;
}

g4_status audio_resampler_finish(audio_resampler *resampler, audio_clip *out, g4_err *err)
{
    *out = (audio_clip){0};
    g4_status status = resampler->soxr ? run_soxr(resampler, NULL, 0, err) : G4_OK;
    if (status != G4_OK)
        return status;
    if (resampler->n > 0) {
        float *fitted = realloc(resampler->out, resampler->n * sizeof(float));
        out->samples = fitted ? fitted : resampler->out;
        out->n = resampler->n;
    } else {
        free(resampler->out);
    }
    *resampler = (audio_resampler){.soxr = resampler->soxr, .ratio = resampler->ratio};
    return G4_OK;
}

void audio_resampler_free(audio_resampler *resampler)
{
    if (!resampler)
        return;
    soxr_delete(resampler->soxr);
    free(resampler->out);
    free(resampler);
}

g4_status audio_resample(const float *in, size_t n, double rate_in, audio_clip *out,
                         g4_err *err)
{
    if (!out)
        return g4_fail(err, G4_ERR_INVALID_ARG, "audio: no output clip");
    *out = (audio_clip){0};
    if (!in && n > 0)
        return g4_fail(err, G4_ERR_INVALID_ARG, "audio: no input samples");
    audio_resampler *resampler;
    g4_status status = audio_resampler_create(rate_in, &resampler, err);
    if (status != G4_OK)
        return status;
    status = audio_resampler_push(resampler, in, n, err);
    if (status == G4_OK)
        status = audio_resampler_finish(resampler, out, err);
    audio_resampler_free(resampler);
    return status;
}
