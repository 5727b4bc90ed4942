/* Prompt assembly with media: placeholder expansion (images, audio, video frames with their
 * timestamps and sound track), bidirectional blocks, count mismatches, prefix reuse that
 * never splits an image, and media URLs handed to the caller's fetch function. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/input.h"
#include "harness.h"
#include "reference.h"

enum { IMAGE_OPEN = 255999, IMAGE_SOFT = 258880, IMAGE_CLOSE = 258882, VIDEO_SOFT = 258884,
       AUDIO_OPEN = 256000, AUDIO_SOFT = 258881, AUDIO_CLOSE = 258883 };

static g4_media *load(g4_model *model, const char *file, g4_media_kind kind, int tokens)
{
    g4_media_params p;
    g4_media_params_init(&p, kind);
    p.image_tokens = tokens;
    g4_media *m = NULL;
    CHECK_MSG(g4_media_new_file(model, test_data_path(file), &p, &m) == G4_OK, "%s: %s", file,
              g4_last_error());
    return m;
}

static size_t count_id(const g4_input *in, int32_t id)
{
    size_t n = 0;
    for (size_t i = 0; i < in->n; i++)
        n += in->ids[i] == id;
    return n;
}

/* The text tokens of a video prompt read "Watch:MM:SS  MM:SS ...Done.": each frame's
 * timestamp as text, frames joined by a space (markers and placeholders print nothing). */
static void check_visible_text(g4_model *model, const g4_input *in, const g4_media *video)
{
    char want[4096] = "Watch:", got[4096] = "";
    size_t len = 0;
    for (size_t f = 0; f < video->n_frames; f++) {
        long s = (long)video->seconds[f];
        size_t at = strlen(want);
        snprintf(want + at, sizeof want - at, "%s%02ld:%02ld ", f ? " " : "", s / 60, s % 60);
    }
    strncat(want, "Done.", sizeof want - strlen(want) - 1);
    for (size_t i = 0; i < in->n && len < sizeof got - 64; i++) {
        int n = g4_token_to_bytes(model, in->ids[i], false, got + len, 64);
        len += n > 0 ? (size_t)n : 0;
    }
    got[len] = '\0';
    CHECK_MSG(strcmp(got, want) == 0, "video text: got \"%.80s...\" want \"%.80s...\"", got,
              want);
}

/* Each run of video placeholders is one block, preceded by "MM:SS " text and <|image>. */
static void check_video(g4_model *model, g4_media *video)
{
    const char *text = "Watch:<|video|>Done.";
    g4_input *in = NULL;
    if (g4_input_new(model, text, strlen(text), false, &video, 1, &in) != G4_OK) {
        CHECK_MSG(false, "video input: %s", g4_last_error());
        return;
    }
    size_t frames = 0, per_frame = (size_t)media_tokens_per_frame(video);
    for (size_t i = 0; i < in->n; i++) {
        if (in->ids[i] != VIDEO_SOFT || (i > 0 && in->ids[i - 1] == VIDEO_SOFT))
            continue;
        frames++;
        CHECK(in->ids[i - 1] == IMAGE_OPEN && in->ids[i + per_frame] == IMAGE_CLOSE);
        CHECK(in->block_last[i] == (int32_t)(i + per_frame - 1));
        CHECK(in->row[i] == (int32_t)((frames - 1) * per_frame));
        CHECK(i < 2 || in->block_last[i - 2] == -1);
    }
    CHECK(frames == video->n_frames);
    CHECK(count_id(in, AUDIO_SOFT) == (size_t)media_audio_tokens(video));
    CHECK(count_id(in, AUDIO_OPEN) == (video->audio.n > 0) && count_id(in, AUDIO_CLOSE) ==
                                                                 (video->audio.n > 0));
    check_visible_text(model, in, video);
    g4_input_free(in);
}

static void check_mismatches(g4_model *model, g4_media *image)
{
    g4_input *in = NULL;
    const char *two = "<|image|> and <|image|>";
    CHECK(g4_input_new(model, two, strlen(two), false, &image, 1, &in) == G4_ERR_INVALID_ARG);
    CHECK(strstr(g4_last_error(), "more <|image|> placeholders") != NULL);
    g4_media *both[2] = {image, image};
    const char *one = "<|image|>";
    CHECK(g4_input_new(model, one, strlen(one), false, both, 2, &in) == G4_ERR_INVALID_ARG);
    const char *audio = "<|audio|>";
    CHECK(g4_input_new(model, audio, strlen(audio), false, &image, 1, &in) ==
          G4_ERR_INVALID_ARG);
    CHECK(in == NULL);
}

/* A second prompt that shares the text before an image but has another image keeps only
 * the text; one that shares the image keeps it too. */
static void check_reuse(g4_model *model, g4_media *a, g4_media *b)
{
    const char *text = "Look:<|image|>What is it?";
    g4_input *first = NULL, *same = NULL, *other = NULL;
    CHECK(g4_input_new(model, text, strlen(text), true, &a, 1, &first) == G4_OK);
    CHECK(g4_input_new(model, text, strlen(text), true, &a, 1, &same) == G4_OK);
    CHECK(g4_input_new(model, text, strlen(text), true, &b, 1, &other) == G4_OK);
    g4_session *s = ref_new_session(model, 512);
    if (!first || !same || !other || !s)
        return;
    CHECK(g4_session_decode_input(s, first, 0, NULL) == G4_OK);
    CHECK(g4_session_reuse_input(s, same) == same->n - 1);
    size_t image_start = 0;
    while (other->ids[image_start] != IMAGE_SOFT)
        image_start++;
    CHECK(g4_session_reuse_input(s, other) == image_start);
    CHECK(g4_session_decode_input(s, other, image_start, NULL) == G4_OK);
    CHECK(g4_session_decode_input(s, other, 0, NULL) == G4_ERR_INVALID_ARG);
    g4_session_free(s);
    g4_input_free(first);
    g4_input_free(same);
    g4_input_free(other);
}

/* A g4_media_fetch_fn serving tests/data: user names the file that the URL
 * "http://files.test/<file>" must ask for, or NULL to answer every URL with an error. */
static g4_status fetch_test_file(void *user, const char *url, void **data, size_t *len,
                                 char *error, size_t error_cap)
{
    const char *file = user;
    char want[256];
    snprintf(want, sizeof want, "http://files.test/%s", file ? file : "");
    CHECK_MSG(strcmp(url, want) == 0, "fetch asked for %s, want %s", url, want);
    if (!file) {
        snprintf(error, error_cap, "the host said no");
        return G4_ERR_IO;
    }
    *data = test_read_file(test_data_path(file), len);
    return *data ? G4_OK : G4_ERR_IO;
}

/* A chat request with text and then an image_url part naming file on files.test. */
static void url_request(char *json, size_t cap, const char *file)
{
    snprintf(json, cap, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
             "\"text\",\"text\":\"Look\"},{\"type\":\"image_url\",\"image_url\":"
             "{\"url\":\"http://files.test/%s\"}}]}]}", file);
}

/* g4_chat_load_media with a fetched image: the same content as the file loaded directly;
 * a failed fetch and a missing fetch function are errors naming the part. */
static void check_fetch(g4_model *model, const g4_media *from_file)
{
    char json[512];
    g4_chat_media_options opt = {.fetch = fetch_test_file, .fetch_user = "media/shapes.png"};
    g4_media_params_init(&opt.params, G4_MEDIA_IMAGE);
    opt.params.image_tokens = 280; /* as from_file's (the key covers the settings) */
    g4_media **media = NULL;
    size_t n = 0;
    url_request(json, sizeof json, "media/shapes.png");
    CHECK_MSG(g4_chat_load_media(model, json, &opt, &media, &n) == G4_OK, "fetch: %s",
              g4_last_error());
    CHECK(n == 1 && media[0]->kind == G4_MEDIA_IMAGE && media[0]->key == from_file->key &&
          g4_media_n_tokens(media[0]) == g4_media_n_tokens(from_file));
    g4_media_list_free(media, n);
    url_request(json, sizeof json, "");
    opt.fetch_user = NULL;
    CHECK(g4_chat_load_media(model, json, &opt, &media, &n) == G4_ERR_IO && !media && !n);
    CHECK(strcmp(g4_last_error(), "messages[0].content[1]: the host said no") == 0);
    opt.fetch = NULL;
    CHECK(g4_chat_load_media(model, json, &opt, &media, &n) == G4_ERR_UNSUPPORTED);
    CHECK(strstr(g4_last_error(), "messages[0].content[1]: remote media URLs are not fetched"));
}

int main(void)
{
    g4_model *model = ref_load_model("tiny-gemma4u-q4_0.gguf", false);
    if (!model || g4_model_load_projector(model, test_data_path("tiny-gemma4u-mmproj-f32.gguf")))
        return test_finish("test_media_input");
    g4_media *image = load(model, "media/shapes.png", G4_MEDIA_IMAGE, 70);
    g4_media *image_280 = load(model, "media/shapes.png", G4_MEDIA_IMAGE, 280);
    g4_media *video = load(model, "media/formats/clip.mp4", G4_MEDIA_VIDEO, 0);
    if (image && image_280 && video) {
        check_video(model, video);
        check_mismatches(model, image);
        check_reuse(model, image, image_280);
        check_fetch(model, image_280);
    }
    g4_media_free(image);
    g4_media_free(image_280);
    g4_media_free(video);
    g4_model_free(model);
    return test_finish("test_media_input");
}
