/* Audio decoding and resampling: every container and sample format of the fixtures
 * against the 16 kHz s16 source they were made from (tests/data/media/formats/make_av.sh),
 * the channel mean, resampling quality, and hostile input. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "media/audio.h"

enum {
    FOX_N = 55015,        /* samples in fox16k.wav */
    EXCERPT_START = 16000, /* the 0.75 s excerpt of the wide-format fixtures */
    EXCERPT_N = 12000,
    STEREO44_N = 8000, /* fox44k_stereo.wav: 0.5 s from EXCERPT_START */
};

/* ---- helpers ------------------------------------------------------------------------- */

typedef test_bytes bytes;
#define load test_load_data

static uint32_t get_le(const uint8_t *at, int n_bytes)
{
    uint32_t value = 0;
    for (int i = n_bytes - 1; i >= 0; i--)
        value = value << 8 | at[i];
    return value;
}

static void put_le(uint8_t *at, uint32_t value, int n_bytes)
{
    for (int i = 0; i < n_bytes; i++)
        at[i] = (uint8_t)(value >> (8 * i));
}

/* Offset of a RIFF chunk's payload (its size is at offset - 4). */
static size_t wav_chunk(const bytes *wav, const char *id)
{
    for (size_t at = 12; at + 8 <= wav->len; at += 8 + get_le(wav->data + at + 4, 4))
        if (memcmp(wav->data + at, id, 4) == 0)
            return at + 8;
    fprintf(stderr, "WAV chunk %s missing\n", id);
    exit(1);
}

/* The test's own reader for s16 WAV files (one channel of them): the reference the
 * decoder is held to. */
static float *read_s16_wav(const char *name, int channel, size_t *n, int *rate)
{
    bytes wav = load(name);
    size_t fmt = wav_chunk(&wav, "fmt "), data = wav_chunk(&wav, "data");
    size_t channels = get_le(wav.data + fmt + 2, 2);
    if (get_le(wav.data + fmt, 2) != 1 || get_le(wav.data + fmt + 14, 2) != 16 ||
        (size_t)channel >= channels) {
        fprintf(stderr, "%s is not s16 with a channel %d\n", name, channel);
        exit(1);
    }
    *rate = (int)get_le(wav.data + fmt + 4, 4);
    *n = get_le(wav.data + data - 4, 4) / 2 / channels;
    float *x = malloc(*n * sizeof(float));
    for (size_t i = 0; i < *n; i++)
        x[i] = (int16_t)get_le(wav.data + data + 2 * (i * channels + channel), 2) / 32768.0f;
    free(wav.data);
    return x;
}

static g4_status decode_bytes(const bytes *b, double max_seconds, audio_clip *clip, g4_err *err)
{
    *clip = (audio_clip){(float *)(uintptr_t)1, 7}; /* must be reset, whatever happens */
    *err = (g4_err){0};
    return audio_decode(b->data, b->len, max_seconds, clip, err);
}

static audio_clip decode_file(const char *name)
{
    bytes b = load(name);
    audio_clip clip;
    g4_err err;
    g4_status status = decode_bytes(&b, 0, &clip, &err);
    CHECK_MSG(status == G4_OK, "%s: %s", name, err.msg);
    free(b.data);
    return clip;
}

/* A failure leaves the clip empty and says why. */
static bool failed_cleanly(g4_status status, const audio_clip *clip, const g4_err *err)
{
    return status != G4_OK && clip->samples == NULL && clip->n == 0 && err->msg[0] != '\0';
}

static double max_abs_diff(const float *a, const float *b, size_t n, float scale_b)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - scale_b * b[i]));
    return worst;
}

/* Signal-to-noise ratio of x against ref (x[i] vs ref[i] * scale), in dB. */
static double snr_db(const float *ref, const float *x, size_t n, float scale, double *rms)
{
    double signal = 0, noise = 0;
    for (size_t i = 0; i < n; i++) {
        double r = scale * ref[i], d = x[i] - r;
        signal += r * r;
        noise += d * d;
    }
    if (rms)
        *rms = sqrt(noise / (double)n);
    return 10 * log10(signal / noise);
}

static double correlation(const float *a, const float *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb + 1e-30);
}

/* The shift (x[i + lag] ~ ref[i]) in [-max_lag, max_lag] that correlates best. */
static long best_lag(const float *ref, size_t n_ref, const float *x, size_t n_x, long max_lag)
{
    long best = 0;
    double best_c = -2;
    for (long lag = -max_lag; lag <= max_lag; lag++) {
        size_t skip_ref = lag < 0 ? (size_t)-lag : 0, skip_x = lag > 0 ? (size_t)lag : 0;
        size_t n = n_ref - skip_ref < n_x - skip_x ? n_ref - skip_ref : n_x - skip_x;
        double c = correlation(ref + skip_ref, x + skip_x, n);
        if (c > best_c) {
            best_c = c;
            best = lag;
        }
    }
    return best;
}

/* ---- lossless formats ---------------------------------------------------------------- */

static float *fox; /* fox16k.wav as read by read_s16_wav */

static void test_wav_s16(void)
{
    audio_clip clip = decode_file("media/fox16k.wav");
    CHECK_MSG(clip.n == FOX_N, "n = %zu", clip.n);
    if (clip.n == FOX_N)
        CHECK_MSG(max_abs_diff(clip.samples, fox, FOX_N, 1) == 0, "s16 is not exact");
    audio_clip_free(&clip);
    CHECK(clip.samples == NULL && clip.n == 0);
}

static void test_wav_u8_and_flac(void)
{
    audio_clip u8 = decode_file("media/formats/fox_u8.wav");
    CHECK_MSG(u8.n == FOX_N, "u8: n = %zu", u8.n);
    if (u8.n == FOX_N) {
        double diff = max_abs_diff(u8.samples, fox, FOX_N, 1);
        CHECK_MSG(diff <= 1.0 / 128, "u8: max diff %g", diff);
    }
    audio_clip flac = decode_file("media/formats/fox.flac");
    CHECK_MSG(flac.n == FOX_N, "flac: n = %zu", flac.n);
    if (flac.n == FOX_N)
        CHECK_MSG(max_abs_diff(flac.samples, fox, FOX_N, 1) == 0, "flac is not exact");
    audio_clip_free(&u8);
    audio_clip_free(&flac);
}

/* s24, s32, f32 and f64 hold the same s16 values, so they come back exactly. */
static void test_wide_formats(void)
{
    const char *names[] = {"media/formats/fox_s24.wav", "media/formats/fox_s32.wav",
                           "media/formats/fox_f32.wav", "media/formats/fox_f64.wav"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        audio_clip clip = decode_file(names[i]);
        CHECK_MSG(clip.n == EXCERPT_N, "%s: n = %zu", names[i], clip.n);
        if (clip.n == EXCERPT_N) {
            double diff = max_abs_diff(clip.samples, fox + EXCERPT_START, EXCERPT_N, 1);
            CHECK_MSG(diff == 0, "%s: max diff %g", names[i], diff);
        }
        audio_clip_free(&clip);
    }
}

/* Left = fox, right = fox at half volume (rounded to s16): the mean is 0.75 fox. */
static void test_stereo_mean(void)
{
    audio_clip clip = decode_file("media/formats/fox_stereo.wav");
    CHECK_MSG(clip.n == EXCERPT_N, "n = %zu", clip.n);
    if (clip.n == EXCERPT_N) {
        double diff = max_abs_diff(clip.samples, fox + EXCERPT_START, EXCERPT_N, 0.75f);
        CHECK_MSG(diff <= 1.0 / 32768, "stereo mean: max diff %g", diff);
    }
    audio_clip_free(&clip);
}

/* The same at 44.1 kHz (0.5 s): 22050 samples come back as 8000, and equal 0.75 times the
 * left channel resampled alone (resampling is linear). Against the 16 kHz source the file
 * was made from, the SNR is bounded by the two trips through soxr, whose passbands end at
 * 0.913 x 8 kHz: the source's energy above ~7.3 kHz (-41 dB; measured on a round trip with
 * soxr_oneshot) is gone. Ends are skipped: the cut leaves edges. */
static void test_stereo_44k(void)
{
    const char *name = "media/formats/fox44k_stereo.wav";
    audio_clip clip = decode_file(name), left = {0};
    size_t n, edge = 200;
    int rate;
    float *left44 = read_s16_wav(name, 0, &n, &rate);
    g4_err err = {0};
    CHECK(rate == 44100 && audio_resample(left44, n, rate, &left, &err) == G4_OK);
    CHECK_MSG(clip.n == STEREO44_N && left.n == STEREO44_N, "n = %zu", clip.n);
    if (clip.n == STEREO44_N && left.n == STEREO44_N) {
        double diff = max_abs_diff(clip.samples, left.samples, STEREO44_N, 0.75f);
        double snr = snr_db(fox + EXCERPT_START + edge, clip.samples + edge,
                            STEREO44_N - 2 * edge, 0.75f, NULL);
        printf("44.1 kHz stereo -> 16 kHz mono: max diff %.2g from 0.75 x left resampled; "
               "SNR %.1f dB against 0.75 x source\n",
               diff, snr);
        CHECK_MSG(diff < 5.0 / 32768, "max diff %g", diff);
        CHECK_MSG(snr > 33, "SNR %.1f dB", snr);
    }
    audio_clip_free(&clip);
    audio_clip_free(&left);
    free(left44);
}

/* ---- lossy formats -------------------------------------------------------------------- */

typedef struct lossy_case {
    const char *name;
    size_t start, n;  /* the part of the source it was made from */
    float scale;      /* of the source: 0.75 for the stereo fixture's channel mean */
    size_t max_extra; /* samples beyond n the codec's framing may add */
    double min_correlation;
    double min_snr_db;
} lossy_case;

/* The decoder must remove the codec's delay (lag 0) and its priming samples, and keep the
 * waveform close. */
static void check_lossy(const lossy_case *c)
{
    audio_clip clip = decode_file(c->name);
    CHECK_MSG(clip.n >= c->n && clip.n <= c->n + c->max_extra, "%s: n = %zu", c->name, clip.n);
    if (clip.n < c->n) {
        audio_clip_free(&clip);
        return;
    }
    const float *ref = fox + c->start;
    long lag = best_lag(ref, c->n, clip.samples, clip.n, 2000);
    double corr = correlation(ref, clip.samples, c->n);
    double snr = snr_db(ref, clip.samples, c->n, c->scale, NULL);
    printf("%s: %zu samples (+%zu), lag %ld, correlation %.4f, SNR %.1f dB\n", c->name, clip.n,
           clip.n - c->n, lag, corr, snr);
    CHECK_MSG(lag == 0, "%s: the codec delay is left in (lag %ld)", c->name, lag);
    CHECK_MSG(corr >= c->min_correlation, "%s: correlation %.4f", c->name, corr);
    CHECK_MSG(snr >= c->min_snr_db, "%s: SNR %.1f dB", c->name, snr);
    audio_clip_free(&clip);
}

static void test_lossy_formats(void)
{
    /* Bounds: the measured values (in the comments; printed) with margin. Extra samples: the
     * codec's last frame is padded (AAC frames are 1024 samples, MP3 frames 1152). */
    const lossy_case cases[] = {
        {"media/formats/fox.ogg", 0, FOX_N, 1, 0, 0.99, 15},    /* +0, 0.9963, 21.3 dB */
        {"media/formats/fox.mp3", 0, FOX_N, 1, 1152, 0.98, 12}, /* +0, 0.9936, 18.4 dB */
        {"media/formats/fox.m4a", 0, FOX_N, 1, 1024, 0.99, 15}, /* +281, 0.9951, 20.1 dB */
        /* Stereo AAC decodes to planar float: the mean of left = fox, right = fox / 2. */
        {"media/formats/fox_stereo.m4a", EXCERPT_START, EXCERPT_N, 0.75f, 1024, 0.97,
         12}, /* +288, 0.9887, 16.5 dB */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_lossy(&cases[i]);
}

/* ---- resampling ------------------------------------------------------------------------ */

/* fox22k.wav is the same speech at 22050 Hz; resampled to 16 kHz it should match
 * fox16k.wav up to the two resamplers' differences. */
static void test_fox22k_to_16k(void)
{
    size_t n22;
    int rate;
    float *fox22 = read_s16_wav("media/fox22k.wav", 0, &n22, &rate);
    CHECK(rate == 22050);
    audio_clip clip;
    g4_err err = {0};
    CHECK_MSG(audio_resample(fox22, n22, rate, &clip, &err) == G4_OK, "%s", err.msg);
    size_t expect = (size_t)llround(n22 * 16000.0 / 22050);
    CHECK_MSG(clip.n == expect, "22050 Hz -> 16 kHz: %zu samples, expected %zu", clip.n,
              expect);
    long lag = best_lag(fox, FOX_N, clip.samples, clip.n, 50);
    size_t n = clip.n < FOX_N ? clip.n : FOX_N;
    double rms, snr = snr_db(fox, clip.samples, n, 1, &rms);
    double diff = max_abs_diff(clip.samples, fox, n, 1);
    printf("fox22k -> 16 kHz vs fox16k (%zu samples, lag %ld): max abs diff %.3g, "
           "RMS error %.3g, SNR %.1f dB\n",
           n, lag, diff, rms, snr);
    /* Measured: max 0.00177, RMS 1.22e-4, SNR 57.4 dB. */
    CHECK(lag == 0);
    CHECK_MSG(snr > 50, "SNR %.1f dB", snr);
    CHECK_MSG(rms < 5e-4, "RMS error %g", rms);
    CHECK_MSG(diff < 0.005, "max diff %g", diff);

    /* audio_decode takes the same path: the same samples. */
    audio_clip decoded = decode_file("media/fox22k.wav");
    CHECK(decoded.n == clip.n);
    if (decoded.n == clip.n)
        CHECK(max_abs_diff(decoded.samples, clip.samples, clip.n, 1) == 0);
    audio_clip_free(&decoded);
    audio_clip_free(&clip);
    free(fox22);
}

static float *sine(double freq, double rate, size_t n)
{
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.5 * sin(2 * M_PI * freq * (double)i / rate));
    return x;
}

/* A 1 kHz tone survives 48 kHz -> 16 kHz; a 10 kHz tone (above the new Nyquist) is
 * filtered out instead of aliasing to 6 kHz. */
static void test_resample_tones(void)
{
    size_t n = 48000, edge = 2000;
    float *low = sine(1000, 48000, n), *high = sine(10000, 48000, n);
    float *expect = sine(1000, 16000, 16000);
    audio_clip a, b;
    g4_err err = {0};
    CHECK(audio_resample(low, n, 48000, &a, &err) == G4_OK && a.n == 16000);
    CHECK(audio_resample(high, n, 48000, &b, &err) == G4_OK && b.n == 16000);
    if (a.n == 16000 && b.n == 16000) {
        double diff = max_abs_diff(a.samples + edge, expect + edge, 16000 - 2 * edge, 1);
        double leak = max_abs_diff(b.samples + edge, expect, 16000 - 2 * edge, 0);
        printf("1 kHz tone 48k -> 16k: max error %.2g; 10 kHz tone leaks %.2g\n", diff, leak);
        CHECK_MSG(diff < 1e-4, "1 kHz: max error %g", diff);
        CHECK_MSG(leak < 1e-4, "10 kHz: leak %g", leak);
    }
    audio_clip_free(&a);
    audio_clip_free(&b);
    free(low);
    free(high);
    free(expect);
}

static void test_resample_limits(void)
{
    float x[64] = {0.25f, -0.5f};
    audio_clip clip;
    g4_err err = {0};
    CHECK(audio_resample(x, 64, 16000, &clip, &err) == G4_OK && clip.n == 64 &&
          memcmp(clip.samples, x, sizeof x) == 0);
    audio_clip_free(&clip);
    double bad_rates[] = {0, 999, 768001, -16000, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_rates / sizeof bad_rates[0]; i++) {
        err = (g4_err){0};
        g4_status status = audio_resample(x, 64, bad_rates[i], &clip, &err);
        CHECK_MSG(failed_cleanly(status, &clip, &err), "rate %g accepted", bad_rates[i]);
    }
    CHECK(audio_resample(x, 0, 44100, &clip, &err) == G4_OK && clip.n == 0);
    CHECK(audio_resample(x, 64, 1000, &clip, &err) == G4_OK && clip.n == 1024);
    audio_clip_free(&clip);
    CHECK(audio_resample(x, 64, 768000, &clip, &err) == G4_OK && clip.n == 1);
    audio_clip_free(&clip);
    err = (g4_err){0};
    CHECK(audio_resample(NULL, 5, 44100, &clip, &err) == G4_ERR_INVALID_ARG && clip.n == 0);
}

/* ---- limits and hostile input ----------------------------------------------------------- */

static void expect_failure(const bytes *b, double max_seconds, const char *what,
                           const char *message_part)
{
    audio_clip clip;
    g4_err err;
    g4_status status = decode_bytes(b, max_seconds, &clip, &err);
    CHECK_MSG(failed_cleanly(status, &clip, &err), "%s: status %d, n %zu", what, status,
              clip.n);
    if (message_part)
        CHECK_MSG(strstr(err.msg, message_part), "%s: message \"%s\" lacks \"%s\"", what,
                  err.msg, message_part);
    if (status == G4_OK)
        audio_clip_free(&clip);
}

static void test_duration_limit(void)
{
    bytes wav = load("media/fox16k.wav");
    /* WAV states its duration: refused before decoding. */
    expect_failure(&wav, 2.0, "3.4 s over a 2 s limit", "audio is 3.4 s long; the limit is 2 s");
    /* A streamed WAV (sizes 0xFFFFFFFF) does not: refused while decoding. */
    put_le(wav.data + 4, 0xFFFFFFFFu, 4);
    put_le(wav.data + wav_chunk(&wav, "data") - 4, 0xFFFFFFFFu, 4);
    expect_failure(&wav, 2.0, "streamed WAV over a 2 s limit", "longer than the limit of 2 s");
    audio_clip clip;
    g4_err err;
    CHECK_MSG(decode_bytes(&wav, 3.5, &clip, &err) == G4_OK && clip.n == FOX_N,
              "streamed WAV: %s", err.msg);
    audio_clip_free(&clip);
    free(wav.data);
}

/* A 44-byte mono s16 16 kHz header followed by `extra` bytes of zeros. */
static bytes wav_header(uint32_t data_size, size_t extra)
{
    bytes wav = {calloc(1, 44 + extra), 44 + extra};
    memcpy(wav.data, "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0"
                     "\x80\x3e\0\0\0\x7d\0\0\x02\0\x10\0data",
           40);
    put_le(wav.data + 4, (uint32_t)(36 + extra), 4);
    put_le(wav.data + 40, data_size, 4);
    return wav;
}

static void test_wav_sizes(void)
{
    bytes empty = wav_header(0, 0);
    expect_failure(&empty, 0, "WAV with no sample", "audio contains no samples");
    free(empty.data);

    /* A data size far beyond the bytes present (18.6 hours): FFmpeg bounds it by the size
     * of the input, so what is there is decoded, and the limit is not falsely hit. */
    bytes absurd_size = wav_header(0x7FFFFFF0u, 3200);
    audio_clip clip;
    g4_err err;
    CHECK_MSG(decode_bytes(&absurd_size, 0, &clip, &err) == G4_OK && clip.n == 1600,
              "absurd data size: n %zu %s", clip.n, err.msg);
    audio_clip_free(&clip);
    free(absurd_size.data);
}

/* Each header field made absurd: refused with a message, or (for fields FFmpeg recomputes
 * or ignores, such as the block align) decoded to a sane clip. */
static void test_wav_fields(void)
{
    struct {
        size_t offset;
        uint32_t value;
        int n_bytes;
        const char *what;
    } fields[] = {
        {22, 0, 2, "0 channels"},          {22, 65535, 2, "65535 channels"},
        {24, 0, 4, "0 Hz"},                {24, 1, 4, "1 Hz"},
        {24, 0xFFFFFFFFu, 4, "4 GHz"},     {34, 0, 2, "0 bits"},
        {34, 7, 2, "7 bits"},              {34, 4096, 2, "4096 bits"},
        {20, 0x1234, 2, "format 0x1234"},  {32, 0, 2, "block align 0"},
        {16, 0xFFFFFFF0u, 4, "fmt size"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        bytes wav = wav_header(3200, 3200);
        put_le(wav.data + fields[i].offset, fields[i].value, fields[i].n_bytes);
        audio_clip clip;
        g4_err err;
        g4_status status = decode_bytes(&wav, 0, &clip, &err);
        CHECK_MSG(status == G4_OK ? clip.n > 0 && clip.n <= 16000 * 4
                                  : failed_cleanly(status, &clip, &err),
                  "%s: status %d", fields[i].what, status);
        if (status != G4_OK)
            printf("  %s: %s\n", fields[i].what, err.msg);
        audio_clip_free(&clip);
        free(wav.data);
    }
}

static void test_garbage(void)
{
    bytes none = {NULL, 0};
    expect_failure(&none, 0, "empty input", "empty");
    uint8_t one = 0;
    bytes tiny = {&one, 1};
    expect_failure(&tiny, 0, "one byte", NULL);

    uint8_t noise[4096];
    uint32_t state = 12345;
    for (size_t i = 0; i < sizeof noise; i++) {
        state = state * 1664525u + 1013904223u;
        noise[i] = (uint8_t)(state >> 24);
    }
    bytes random = {noise, sizeof noise};
    expect_failure(&random, 0, "random bytes", "audio: ");

    bytes png = load("media/shapes.png");
    expect_failure(&png, 0, "a PNG image", "no audio stream");
    free(png.data);

    audio_clip clip;
    CHECK(audio_decode(noise, sizeof noise, 0, NULL, NULL) == G4_ERR_INVALID_ARG);
    g4_err err = {0};
    CHECK(audio_decode(NULL, 10, 0, &clip, &err) == G4_ERR_INVALID_ARG && clip.n == 0);
}

/* Cut short anywhere, a file either fails cleanly or yields a shorter clip. Header-only
 * cuts fail; a WAV cut in half decodes to half. */
static void test_truncated(void)
{
    const char *names[] = {"media/fox16k.wav",          "media/formats/fox_u8.wav",
                           "media/formats/fox_f32.wav", "media/formats/fox.flac",
                           "media/formats/fox.ogg",     "media/formats/fox.mp3",
                           "media/formats/fox.m4a"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        bytes full = load(names[i]);
        size_t cuts[] = {1, 4, 12, 30, full.len / 2, full.len - 1};
        for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
            bytes cut = {full.data, cuts[c]};
            audio_clip clip;
            g4_err err;
            g4_status status = decode_bytes(&cut, 0, &clip, &err);
            bool ok = status == G4_OK ? clip.n > 0 && clip.n <= FOX_N + 2048 && cuts[c] > 30
                                      : failed_cleanly(status, &clip, &err);
            CHECK_MSG(ok, "%s cut to %zu bytes: status %d, n %zu", names[i], cuts[c], status,
                      clip.n);
            audio_clip_free(&clip);
        }
        free(full.data);
    }
    bytes wav = load("media/fox16k.wav");
    bytes half = {wav.data, 44 + FOX_N};
    audio_clip clip;
    g4_err err;
    CHECK_MSG(decode_bytes(&half, 0, &clip, &err) == G4_OK && clip.n == FOX_N / 2,
              "half WAV: n %zu %s", clip.n, err.msg);
    audio_clip_free(&clip);
    free(wav.data);
}

int main(void)
{
    size_t n;
    int rate;
    fox = read_s16_wav("media/fox16k.wav", 0, &n, &rate);
    if (n != FOX_N || rate != 16000) {
        fprintf(stderr, "fox16k.wav: %zu samples at %d Hz\n", n, rate);
        return 1;
    }
    test_wav_s16();
    test_wav_u8_and_flac();
    test_wide_formats();
    test_stereo_mean();
    test_stereo_44k();
    test_lossy_formats();
    test_fox22k_to_16k();
    test_resample_tones();
    test_resample_limits();
    test_duration_limit();
    test_wav_sizes();
    test_wav_fields();
    test_garbage();
    test_truncated();
    free(fox);
    return test_finish("audio_decode");
}
