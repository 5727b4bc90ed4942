/* Video decoding: frame counting and sampling, timestamps, the colour conversion, the sound
 * track, and hostile input. In the fixtures (tests/data/media/formats/make_av.sh) frame n
 * is one solid colour, R = 5 + 10 n, G = 235 - 10 n, B = 128, so each kept frame tells
 * which one it is. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "media/image_prep.h"
#include "media/video.h"

enum {
    FOX_N = 55015,         /* samples in fox16k.wav, the sound track of clip.mp4 */
    AAC_PADDING = 1024,    /* what AAC framing may add at the end */
    COLOUR_TOLERANCE = 4,  /* measured: at most 2 levels off after H.264 / VP9 */
};

typedef test_bytes bytes;
#define load test_load_data

static g4_status decode(const bytes *b, int max_frames, double max_audio_seconds,
                        video_frames *video, g4_err *err)
{
    memset(video, 0x5A, sizeof *video); /* must be reset, whatever happens */
    *err = (g4_err){0};
    video_request request = {max_frames, VIDEO_FRAME_BUDGET, max_audio_seconds};
    return video_decode(b->data, b->len, &request, video, err);
}

static bool empty(const video_frames *video)
{
    return video->frames == NULL && video->seconds == NULL && video->n_frames == 0 &&
           video->audio.samples == NULL && video->audio.n == 0;
}

/* The largest difference of any pixel from frame n's colour. */
static int colour_error(const rgb_image *image, size_t n)
{
    int expect[3] = {5 + 10 * (int)n, 235 - 10 * (int)n, 128}, worst = 0;
    size_t pixels = (size_t)image->width * (size_t)image->height;
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < 3; c++) {
            int d = abs(image->pixels[3 * p + (size_t)c] - expect[c]);
            worst = d > worst ? d : worst;
        }
    return worst;
}

typedef struct clip_case {
    const char *name;
    int width, height;
    double fps;
    int max_frames;
    size_t n_expected;
    size_t indices[32]; /* the frames that should be kept */
} clip_case;

static void check_frames(const clip_case *c, const video_frames *video)
{
    CHECK_MSG(video->n_frames == c->n_expected, "%s, max %d: %zu frames", c->name,
              c->max_frames, video->n_frames);
    for (size_t i = 0; i < video->n_frames && i < c->n_expected; i++) {
        const rgb_image *frame = &video->frames[i];
        size_t index = c->indices[i];
        int32_t width = 0, height = 0; /* the budget's size, checked in test_image_prep */
        CHECK(image_target_size(c->width, c->height, VIDEO_FRAME_BUDGET, &width, &height,
                                NULL) == G4_OK);
        CHECK_MSG(frame->width == width && frame->height == height, "%s: %dx%d, not %dx%d",
                  c->name, frame->width, frame->height, width, height);
        int error = colour_error(frame, index);
        CHECK_MSG(error <= COLOUR_TOLERANCE, "%s, max %d: frame %zu is not frame %zu (%d off)",
                  c->name, c->max_frames, i, index, error);
        double expect = (double)index / c->fps;
        CHECK_MSG(video->seconds[i] > expect - 1e-9 && video->seconds[i] < expect + 1e-9,
                  "%s: frame %zu at %g s, expected %g s", c->name, i, video->seconds[i],
                  expect);
    }
}

static void check_clip(const clip_case *c, size_t min_audio, size_t max_audio)
{
    bytes b = load(c->name);
    video_frames video;
    g4_err err;
    g4_status status = decode(&b, c->max_frames, 0, &video, &err);
    CHECK_MSG(status == G4_OK, "%s: %s", c->name, err.msg);
    if (status == G4_OK) {
        check_frames(c, &video);
        CHECK_MSG(video.audio.n >= min_audio && video.audio.n <= max_audio,
                  "%s: %zu audio samples", c->name, video.audio.n);
        CHECK((video.audio.samples == NULL) == (video.audio.n == 0));
    }
    video_frames_free(&video);
    CHECK(empty(&video));
    free(b.data);
}

/* clip.mp4: 24 frames at 12 fps (H.264 with B-frames) and the fox as AAC. Kept indices
 * are floor(i * 24 / max_frames). */
static void test_mp4(void)
{
    clip_case all = {"media/formats/clip.mp4", 96, 64, 12, 32, 24, {0}};
    for (size_t i = 0; i < 24; i++)
        all.indices[i] = i;
    check_clip(&all, FOX_N, FOX_N + AAC_PADDING);
    all.max_frames = 24;
    check_clip(&all, FOX_N, FOX_N + AAC_PADDING);
    clip_case five = {"media/formats/clip.mp4", 96, 64, 12, 5, 5, {0, 4, 9, 14, 19}};
    check_clip(&five, FOX_N, FOX_N + AAC_PADDING);
    clip_case seven = {"media/formats/clip.mp4", 96, 64, 12, 7, 7, {0, 3, 6, 10, 13, 17, 20}};
    check_clip(&seven, FOX_N, FOX_N + AAC_PADDING);
    clip_case one = {"media/formats/clip.mp4", 96, 64, 12, 1, 1, {0}};
    check_clip(&one, FOX_N, FOX_N + AAC_PADDING);
}

/* clip_silent.webm: 15 frames at 10 fps, 50x30 VP9 (rows not a multiple of 16 bytes), no
 * sound track, and no frame count in the container. */
static void test_webm(void)
{
    clip_case four = {"media/formats/clip_silent.webm", 50, 30, 10, 4, 4, {0, 3, 7, 11}};
    check_clip(&four, 0, 0);
    clip_case all = {"media/formats/clip_silent.webm", 50, 30, 10, 100, 15, {0}};
    for (size_t i = 0; i < 15; i++)
        all.indices[i] = i;
    check_clip(&all, 0, 0);
}

/* The colour conversion follows the stream: full-range JPEG YUV (MJPEG in AVI), and
 * BT.709 for a stream tagged so (the default elsewhere is BT.601, as in the fixtures above:
 * the wrong matrix or range would put the colours 10 to 30 levels off). */
static void test_colour_spaces(void)
{
    clip_case mjpeg = {"media/formats/clip_mjpeg.avi", 32, 24, 10, 3, 3, {0, 3, 6}};
    check_clip(&mjpeg, 0, 0);
    clip_case hd = {"media/formats/clip_hd.mp4", 1280, 720, 10, 8, 3, {0, 1, 2}};
    check_clip(&hd, 0, 0);
}

static void expect_failure(const bytes *b, int max_frames, double max_audio_seconds,
                           const char *what, const char *message_part)
{
    video_frames video;
    g4_err err;
    g4_status status = decode(b, max_frames, max_audio_seconds, &video, &err);
    CHECK_MSG(status != G4_OK && empty(&video) && err.msg[0] != '\0', "%s: status %d", what,
              status);
    if (message_part)
        CHECK_MSG(strstr(err.msg, message_part), "%s: message \"%s\" lacks \"%s\"", what,
                  err.msg, message_part);
    if (status == G4_OK)
        video_frames_free(&video);
}

static void test_bad_input(void)
{
    bytes clip = load("media/formats/clip.mp4");
    expect_failure(&clip, 0, 0, "max_frames 0", "max_frames");
    expect_failure(&clip, -3, 0, "max_frames -3", "max_frames");
    expect_failure(&clip, 8, 2.0, "a 3.4 s sound track over a 2 s limit", "limit is 2 s");
    video_request request = {4, VIDEO_FRAME_BUDGET, 0};
    CHECK(video_decode(clip.data, clip.len, &request, NULL, NULL) == G4_ERR_INVALID_ARG);
    video_frames video;
    request.frame_budget = 100;
    CHECK(video_decode(clip.data, clip.len, &request, &video, NULL) == G4_ERR_INVALID_ARG);
    free(clip.data);

    bytes none = {NULL, 0};
    expect_failure(&none, 4, 0, "empty input", "empty");
    uint8_t noise[4096];
    uint32_t state = 777;
    for (size_t i = 0; i < sizeof noise; i++) {
        state = state * 1664525u + 1013904223u;
        noise[i] = (uint8_t)(state >> 24);
    }
    bytes random = {noise, sizeof noise};
    expect_failure(&random, 4, 0, "random bytes", "video: ");
    const char *audio_only[] = {"media/fox16k.wav", "media/formats/fox.mp3",
                                "media/formats/fox.m4a"};
    for (size_t i = 0; i < sizeof audio_only / sizeof audio_only[0]; i++) {
        bytes audio = load(audio_only[i]);
        expect_failure(&audio, 4, 0, audio_only[i], "no video stream");
        free(audio.data);
    }
}

/* Cut short anywhere, a video either fails cleanly or yields fewer frames. */
static void test_truncated(void)
{
    const char *names[] = {"media/formats/clip.mp4", "media/formats/clip_silent.webm"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        bytes full = load(names[i]);
        size_t cuts[] = {1, 8, 64, full.len / 3, full.len / 2, full.len - 1};
        for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
            bytes cut = {full.data, cuts[c]};
            video_frames video;
            g4_err err;
            g4_status status = decode(&cut, 8, 0, &video, &err);
            bool ok = status == G4_OK ? video.n_frames >= 1 && video.n_frames <= 8
                                      : empty(&video) && err.msg[0] != '\0';
            CHECK_MSG(ok, "%s cut to %zu bytes: status %d", names[i], cuts[c], status);
            printf("%s cut to %zu bytes: %s\n", names[i], cuts[c],
                   status == G4_OK ? "decodes" : err.msg);
            video_frames_free(&video);
        }
        free(full.data);
    }
}

int main(void)
{
    test_mp4();
    test_webm();
    test_colour_spaces();
    test_bad_input();
    test_truncated();
    return test_finish("video_decode");
}
