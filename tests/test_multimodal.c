/* Images and audio through the projector and the decoder against the reference (HF
 * transformers, float32) on the tiny model, for the cases image (280-token budget),
 * image_70, audio and image_audio: projected embeddings, the expanded prompt ids, the
 * top-16 logits of every position, the last position's whole logit row, and greedy
 * decoding step by step.
 *
 * The reference ran transformers' forward, whose image blocks attend both ways on every
 * layer and past the window, so these sessions use G4_IMAGE_ATTENTION_ALL_LAYERS
 * (reference.c). g4's default, Gemma 4's sliding-layer rule, differs from it only in the
 * mask, which test_attention checks against a direct computation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "reference.h"

typedef struct mm_case {
    const char *name;
    int image_tokens; /* 0: no image */
    bool audio;
} mm_case;

typedef struct case_stats {
    logit_stats prompt, greedy;
} case_stats;

static const mm_case cases[] = {
    {"image", 280, false},
    {"image_70", 70, false},
    {"audio", 0, true},
    {"image_audio", 280, true},
};

static g4_media *load_media(g4_model *model, const char *file, g4_media_kind kind,
                            int image_tokens)
{
    g4_media_params params;
    g4_media_params_init(&params, kind);
    params.image_tokens = image_tokens;
    g4_media *media = NULL;
    g4_status st = g4_media_new_file(model, test_data_path(file), &params, &media);
    CHECK_MSG(st == G4_OK, "%s: %s", file, g4_last_error());
    return media;
}

/* Our projection of the media against the reference's rows [width][rows]. */
static void check_embeddings(g4_model *model, const gguf_file *ref, const char *tensor,
                             g4_media *media)
{
    uint32_t rows = g4_media_n_tokens(media);
    size_t width = 64;
    const float *want = ref_tensor(ref, tensor, (uint64_t)rows * width);
    float *got = malloc((size_t)rows * width * sizeof(float));
    if (!want || !got || g4_media_embed(model, media, got) != G4_OK) {
        CHECK_MSG(false, "%s: cannot project: %s", tensor, g4_last_error());
        free(got);
        return;
    }
    double worst = 0.0;
    for (size_t i = 0; i < (size_t)rows * width; i++)
        worst = fmax(worst, fabs((double)got[i] - want[i]));
    printf("%-22s %u soft tokens, max |diff| %.2e\n", tensor, rows, worst);
    CHECK_MSG(worst <= 1e-3, "%s: max |diff| %.2e", tensor, worst);
    free(got);
}

static void check_projections(g4_model *model, const gguf_file *ref)
{
    g4_media *image = load_media(model, "media/shapes.png", G4_MEDIA_IMAGE, 280);
    g4_media *image_70 = load_media(model, "media/shapes.png", G4_MEDIA_IMAGE, 70);
    g4_media *audio = load_media(model, "media/fox16k.wav", G4_MEDIA_AUDIO, 0);
    if (image)
        check_embeddings(model, ref, "image.image_embeds", image);
    if (image_70)
        check_embeddings(model, ref, "image_70.image_embeds", image_70);
    if (audio)
        check_embeddings(model, ref, "audio.audio_embeds", audio);
    g4_media_free(image);
    g4_media_free(image_70);
    g4_media_free(audio);
}

static char *rendered_request(g4_model *model, const gguf_file *ref, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "mm.%s.request", name);
    gguf_str request;
    char *prompt = NULL;
    if (gguf_get_str(ref, key, &request, NULL) != G4_OK) {
        CHECK_MSG(false, "%s is missing", key);
        return NULL;
    }
    char *json = strndup(request.ptr, request.len);
    CHECK(json && g4_chat_render(model, json, &prompt) == G4_OK);
    free(json);
    return prompt;
}

static void run_mm_case(g4_model *model, const gguf_file *ref, const mm_case *c,
                        case_stats *st)
{
    g4_media *media[2] = {NULL, NULL};
    size_t n_media = 0;
    if (c->image_tokens)
        media[n_media++] = load_media(model, "media/shapes.png", G4_MEDIA_IMAGE,
                                      c->image_tokens);
    if (c->audio)
        media[n_media++] = load_media(model, "media/fox16k.wav", G4_MEDIA_AUDIO, 0);
    char *prompt = rendered_request(model, ref, c->name);
    g4_input *input = NULL;
    if (prompt && (n_media < 1 || media[0]) && (n_media < 2 || media[1]))
        CHECK_MSG(g4_input_new(model, prompt, strlen(prompt), false, media, n_media, &input) ==
                      G4_OK,
                  "%s: %s", c->name, g4_last_error());
    if (input)
        ref_run_case(model, ref, c->name, input, true, &st->prompt, &st->greedy);
    g4_input_free(input);
    g4_free(prompt);
    for (size_t i = 0; i < n_media; i++)
        g4_media_free(media[i]);
}

static void check_close(const char *name, const case_stats *st)
{
    CHECK_MSG(st->prompt.max_abs_diff <= 0.01, "%s: prompt logits off by %.5f", name,
              st->prompt.max_abs_diff);
    CHECK(st->prompt.argmax_equal == st->prompt.argmax_checked && st->prompt.positions > 0);
    CHECK_MSG(st->greedy.max_abs_diff <= 0.01, "%s: greedy-step logits off by %.5f", name,
              st->greedy.max_abs_diff);
    CHECK(st->greedy.greedy_steps > 0 && st->greedy.greedy_mismatches == 0);
}

int main(void)
{
    g4_model *model = ref_load_model("tiny-gemma4u-bf16.gguf", false);
    gguf_file *ref = ref_open("reference-public.gguf");
    const char *projector = test_data_path("tiny-gemma4u-mmproj-f32.gguf");
    CHECK(model && g4_model_load_projector(model, projector) == G4_OK);
    if (model && ref) {
        check_projections(model, ref);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            case_stats st = {0};
            char label[64];
            run_mm_case(model, ref, &cases[i], &st);
            snprintf(label, sizeof label, "%s prompt:", cases[i].name);
            ref_report(label, &st.prompt);
            snprintf(label, sizeof label, "%s greedy steps:", cases[i].name);
            ref_report(label, &st.greedy);
            check_close(cases[i].name, &st);
        }
    }
    gguf_close(ref);
    g4_model_free(model);
    return test_finish("test_multimodal");
}
