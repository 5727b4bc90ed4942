#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static bool name_matches(const char *arg, const char *short_name, const char *long_name)
{
    return (short_name && strcmp(arg, short_name) == 0) ||
           (long_name && strcmp(arg, long_name) == 0);
}

bool cli_switch(cli_args *a, const char *short_name, const char *long_name)
{
    if (!name_matches(a->argv[a->i], short_name, long_name))
        return false;
    a->i++;
    return true;
}

bool cli_flag(cli_args *a, const char *short_name, const char *long_name, const char **value)
{
    if (!name_matches(a->argv[a->i], short_name, long_name))
        return false;
    if (a->i + 1 >= a->argc) {
        fprintf(stderr, "g4: %s needs a value\n", a->argv[a->i]);
        a->failed = true;
        a->i = a->argc;
        return true;
    }
    *value = a->argv[a->i + 1];
    a->i += 2;
    return true;
}

bool cli_int(cli_args *a, const char *short_name, const char *long_name, long lo, long hi,
             long *out)
{
    const char *text = NULL;
    if (!cli_flag(a, short_name, long_name, &text))
        return false;
    if (!text)
        return true;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "g4: %s expects an integer in %ld..%ld, got '%s'\n",
                long_name ? long_name : short_name, lo, hi, text);
        a->failed = true;
        return true;
    }
    *out = v;
    return true;
}

bool cli_float(cli_args *a, const char *short_name, const char *long_name, float *out)
{
    const char *text = NULL;
    if (!cli_flag(a, short_name, long_name, &text))
        return false;
    if (!text)
        return true;
    char *end = NULL;
    float v = strtof(text, &end);
    if (end == text || *end || !isfinite(v)) {
        fprintf(stderr, "g4: %s expects a number, got '%s'\n", long_name, text);
        a->failed = true;
        return true;
    }
    *out = v;
    return true;
}

/* A flag whose value is one of names; *index is set to the matching one. */
static bool choice_flag(cli_args *a, const char *flag, const char *const *names, int n_names,
                        const char *expected, int *index)
{
    const char *value = NULL;
    if (!cli_flag(a, NULL, flag, &value))
        return false;
    for (int i = 0; value && i < n_names; i++)
        if (strcmp(value, names[i]) == 0) {
            *index = i;
            return true;
        }
    if (value) {
        fprintf(stderr, "g4: %s expects %s, got '%s'\n", flag, expected, value);
        a->failed = true;
    }
    return true;
}

/* --image-attention sliding|all, --kv-type f16|f32|q8_0 */
static bool choice_flags(cli_args *a, cli_options *opt)
{
    static const char *const rules[] = {"sliding", "all"};
    static const g4_image_attention rule_values[] = {G4_IMAGE_ATTENTION_SLIDING,
                                                     G4_IMAGE_ATTENTION_ALL_LAYERS};
    static const char *const kv_types[] = {"f32", "f16", "q8_0"};
    static const g4_kv_type kv_values[] = {G4_KV_F32, G4_KV_F16, G4_KV_Q8_0};
    int i = -1;
    if (choice_flag(a, "--image-attention", rules, 2, "'sliding' or 'all'", &i)) {
        if (i >= 0)
            opt->image_attention = rule_values[i];
        return true;
    }
    if (choice_flag(a, "--kv-type", kv_types, 3, "f32, f16 or q8_0", &i)) {
        if (i >= 0)
            opt->kv_type = kv_values[i];
        return true;
    }
    return false;
}

/* --draft PATH, --draft-max N, --draft-min N */
static bool draft_flags(cli_args *a, cli_options *opt)
{
    long v = 0;
    if (cli_flag(a, NULL, "--draft", &opt->drafter_path))
        return true;
    if (cli_int(a, NULL, "--draft-max", 1, G4_DRAFT_MAX_LIMIT, &v)) {
        opt->draft_max = (int)v;
        return true;
    }
    if (cli_int(a, NULL, "--draft-min", 1, G4_DRAFT_MAX_LIMIT, &v)) {
        opt->draft_min = (int)v;
        return true;
    }
    return false;
}

bool cli_common(cli_args *a, cli_options *opt)
{
    long v = 0;
    if (cli_flag(a, "-m", "--model", &opt->model_path) ||
        cli_flag(a, NULL, "--mmproj", &opt->projector_path))
        return true;
    if (cli_int(a, "-t", "--threads", 1, 1024, &v)) {
        opt->n_threads = (int)v;
        return true;
    }
    if (cli_int(a, "-c", "--ctx", 1, 1 << 24, &v)) {
        opt->n_ctx = (uint32_t)v;
        return true;
    }
    if (cli_int(a, "-b", "--batch", 1, 1 << 16, &v)) {
        opt->n_batch = (uint32_t)v;
        return true;
    }
    if (cli_int(a, NULL, "--image-tokens", 70, 1120, &v)) {
        opt->image_tokens = (int)v;
        return true;
    }
    if (choice_flags(a, opt))
        return true;
    if (cli_switch(a, NULL, "--exact")) {
        opt->exact = true;
        return true;
    }
    if (cli_switch(a, NULL, "--mmap")) {
        opt->use_mmap = true;
        return true;
    }
    return draft_flags(a, opt);
}

bool cli_media_flag(cli_args *a, cli_media_files *files)
{
    static const struct {
        const char *flag;
        g4_media_kind kind;
    } flags[] = {{"--image", G4_MEDIA_IMAGE}, {"--audio", G4_MEDIA_AUDIO},
                 {"--video", G4_MEDIA_VIDEO}};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        const char *path = NULL;
        if (!cli_flag(a, NULL, flags[i].flag, &path))
            continue;
        if (path && files->n == CLI_MAX_MEDIA) {
            fprintf(stderr, "g4: at most %d media files\n", CLI_MAX_MEDIA);
            a->failed = true;
        } else if (path) {
            files->file[files->n++] = (cli_media_file){flags[i].kind, path};
        }
        return true;
    }
    return false;
}

void cli_unknown(cli_args *a)
{
    fprintf(stderr, "g4: unknown argument '%s' (see g4 --help)\n", a->argv[a->i]);
    a->failed = true;
    a->i = a->argc;
}

int cli_error(const char *what)
{
    fprintf(stderr, "g4: %s: %s\n", what, g4_last_error());
    return 1;
}

static void draw_progress(float fraction, void *user)
{
    (void)user;
    int filled = (int)(fraction * 30.0f + 0.5f);
    fprintf(stderr, "\rloading [%.*s%*s] %3d%%", filled, "##############################",
            30 - filled, "", (int)(fraction * 100.0f + 0.5f));
    if (fraction >= 1.0f)
        fprintf(stderr, "\r%*s\r", 50, "");
    fflush(stderr);
}

g4_model_params cli_model_params(const cli_options *opt)
{
    g4_model_params params;
    g4_model_params_init(&params);
    params.n_threads = opt->n_threads;
    params.exact_math = opt->exact;
    params.use_mmap = opt->use_mmap;
    return params;
}

g4_model *cli_load_model(const cli_options *opt)
{
    if (!opt->model_path) {
        fprintf(stderr, "g4: no model given (use -m MODEL.gguf)\n");
        return NULL;
    }
    g4_model_params params = cli_model_params(opt);
    if (!opt->quiet)
        params.progress = draw_progress;
    g4_model *model = NULL;
    if (g4_model_load(opt->model_path, &params, &model) != G4_OK) {
        if (!opt->quiet)
            fprintf(stderr, "\n");
        cli_error("cannot load the model");
        return NULL;
    }
    if (opt->projector_path && g4_model_load_projector(model, opt->projector_path) != G4_OK) {
        cli_error("cannot load the projector");
        g4_model_free(model);
        return NULL;
    }
    if (opt->drafter_path && g4_model_load_drafter(model, opt->drafter_path) != G4_OK) {
        cli_error("cannot load the drafter");
        g4_model_free(model);
        return NULL;
    }
    return model;
}

g4_session_params cli_session_params(const cli_options *opt)
{
    g4_session_params params;
    g4_session_params_init(&params);
    params.n_ctx = opt->n_ctx;
    params.n_batch = opt->n_batch;
    params.image_attention = opt->image_attention;
    params.kv_type = opt->kv_type;
    if (!params.n_batch && opt->image_tokens > 512)
        params.n_batch = (uint32_t)opt->image_tokens;
    return params;
}

g4_session *cli_new_session(g4_model *model, const cli_options *opt)
{
    g4_session_params params = cli_session_params(opt);
    g4_session *session = NULL;
    if (g4_session_new(model, &params, &session) != G4_OK) {
        cli_error("cannot create a session");
        return NULL;
    }
    return session;
}

g4_media *cli_load_media(const g4_model *model, const cli_options *opt, g4_media_kind kind,
                         const char *path)
{
    g4_media_params params;
    g4_media_params_init(&params, kind);
    params.image_tokens = opt->image_tokens;
    g4_media *media = NULL;
    if (g4_media_new_file(model, path, &params, &media) != G4_OK) {
        cli_error("cannot load the media");
        return NULL;
    }
    return media;
}

char *cli_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "g4: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size + 4096 + 1 > cap) {
            cap = (size + 4096 + 1) * 2;
            char *grown = realloc(buf, cap);
            if (!grown)
                break;
            buf = grown;
        }
        size_t got = fread(buf + size, 1, 4096, f);
        size += got;
        if (got < 4096)
            break;
    }
    bool failed = ferror(f) || !buf;
    fclose(f);
    if (failed) {
        fprintf(stderr, "g4: cannot read '%s'\n", path);
        free(buf);
        return NULL;
    }
    buf[size] = '\0';
    if (len)
        *len = size;
    return buf;
}

void cli_draft_params(const cli_options *opt, g4_generate_params *gp)
{
    gp->draft_max = opt->drafter_path ? (opt->draft_max ? opt->draft_max : CLI_DRAFT_MAX) : 0;
    gp->draft_min = opt->draft_min ? opt->draft_min : 1;
    if (gp->draft_min > gp->draft_max && opt->drafter_path && !opt->draft_max)
        gp->draft_max = gp->draft_min;
}
