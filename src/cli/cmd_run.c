/* g4 run (one prompt) and g4 chat (a conversation in the terminal). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { MAX_STOPS = 16, MAX_MEDIA = CLI_MAX_MEDIA };

typedef struct gen_options {
    const char *prompt;
    const char *system;
    bool think;
    long max_tokens;
    const char *stops[MAX_STOPS];
    size_t n_stops;
    cli_media_files files; /* --image/--audio/--video, in order */
    g4_sampler_params sampling;
} gen_options;

static bool parse_sampling(cli_args *a, g4_sampler_params *sp)
{
    long v = 0;
    if (cli_float(a, NULL, "--temp", &sp->temperature) ||
        cli_float(a, NULL, "--top-p", &sp->top_p) || cli_float(a, NULL, "--min-p", &sp->min_p) ||
        cli_float(a, NULL, "--repeat-penalty", &sp->repeat_penalty) ||
        cli_float(a, NULL, "--presence-penalty", &sp->presence_penalty) ||
        cli_float(a, NULL, "--frequency-penalty", &sp->frequency_penalty))
        return true;
    if (cli_int(a, NULL, "--top-k", 0, 1 << 30, &v)) {
        sp->top_k = (int32_t)v;
        return true;
    }
    if (cli_int(a, NULL, "--repeat-last-n", 0, 1 << 30, &v)) {
        sp->penalty_last_n = (int32_t)v;
        return true;
    }
    if (cli_int(a, NULL, "--seed", 0, 0x7fffffffL, &v)) {
        sp->seed = (uint64_t)v;
        return true;
    }
    return false;
}

static bool parse_generation(cli_args *a, gen_options *go)
{
    const char *stop = NULL;
    if (cli_media_flag(a, &go->files))
        return true;
    if (cli_flag(a, "-p", "--prompt", &go->prompt) || cli_flag(a, NULL, "--system", &go->system) ||
        cli_int(a, "-n", "--max-tokens", -1, 1 << 30, &go->max_tokens) ||
        parse_sampling(a, &go->sampling))
        return true;
    if (cli_switch(a, NULL, "--think")) {
        go->think = true;
        return true;
    }
    if (cli_flag(a, NULL, "--stop", &stop)) {
        if (stop && go->n_stops < MAX_STOPS)
            go->stops[go->n_stops++] = stop;
        return true;
    }
    return false;
}

static bool print_piece(const char *text, size_t len, void *user)
{
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return true;
}

static void add_message(cJSON *messages, const char *role, const char *content)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "role", role);
    cJSON_AddStringToObject(msg, "content", content);
    cJSON_AddItemToArray(messages, msg);
}

typedef struct run_context {
    g4_model *model;
    g4_session *session;
    g4_sampler *sampler;
    g4_media *media[MAX_MEDIA]; /* every media item of the conversation, in order */
    size_t n_media;
} run_context;

/* Renders the conversation and expands its media; NULL after printing the error. */
static g4_input *render_prompt(run_context *ctx, cJSON *request)
{
    char *json = cJSON_PrintUnformatted(request);
    char *prompt = NULL;
    g4_input *input = NULL;
    if (!json)
        fprintf(stderr, "g4: out of memory\n");
    else if (g4_chat_render(ctx->model, json, &prompt) != G4_OK)
        cli_error("cannot render the chat");
    else if (g4_input_new(ctx->model, prompt, strlen(prompt), false, ctx->media, ctx->n_media,
                          &input) != G4_OK)
        cli_error("cannot prepare the prompt");
    free(json);
    g4_free(prompt);
    return input;
}

static void print_stats(const g4_generate_stats *st)
{
    fprintf(stderr, "\n[prompt: %u tokens, %.2f tokens/s | generation: %u tokens, %.2f tokens/s",
            st->prompt_tokens,
            st->prompt_seconds > 0 ? st->prompt_tokens / st->prompt_seconds : 0.0,
            st->generated_tokens,
            st->generate_seconds > 0 ? st->generated_tokens / st->generate_seconds : 0.0);
    if (st->draft_steps)
        fprintf(stderr, " | drafting: %u steps, %u of %u drafts accepted (%.0f%%)",
                st->draft_steps, st->accepted_tokens, st->drafted_tokens,
                100.0 * st->accepted_tokens / st->drafted_tokens);
    fprintf(stderr, "]\n");
}

static cJSON *new_request(const gen_options *go)
{
    cJSON *request = cJSON_CreateObject();
    cJSON *messages = cJSON_AddArrayToObject(request, "messages");
    if (go->system)
        add_message(messages, "system", go->system);
    cJSON_AddBoolToObject(request, "enable_thinking", go->think);
    return request;
}

typedef struct collected_text {
    char *data;
    size_t len;
    size_t cap;
} collected_text;

static bool print_and_collect(const char *text, size_t len, void *user)
{
    collected_text *out = user;
    if (out->len + len + 1 > out->cap) {
        size_t cap = (out->len + len + 1) * 2;
        char *grown = realloc(out->data, cap);
        if (!grown)
            return false;
        out->data = grown;
        out->cap = cap;
    }
    memcpy(out->data + out->len, text, len);
    out->len += len;
    out->data[out->len] = '\0';
    return print_piece(text, len, NULL);
}

/* Generates the model's turn for the conversation in request, streamed to stdout. The
 * reply is then added to the history without its reasoning, as the template expects.
 * Tokens the session already holds from earlier turns are not evaluated again. */
static int generate_reply(run_context *ctx, const cli_options *opt, const gen_options *go,
                          cJSON *request, bool show_stats)
{
    g4_input *input = render_prompt(ctx, request);
    if (!input)
        return 1;
    collected_text reply = {0};
    g4_generate_params gp = {
        .max_tokens = (int32_t)go->max_tokens,
        .stop_strings = go->stops,
        .n_stop_strings = go->n_stops,
        .on_text = print_and_collect,
        .user = &reply,
    };
    cli_draft_params(opt, &gp);
    g4_generate_stats stats;
    size_t kept = g4_session_reuse_input(ctx->session, input);
    int rc = 0;
    if (g4_generate_input(ctx->session, ctx->sampler, input, kept, &gp, &stats) != G4_OK) {
        rc = cli_error("generation failed");
    } else {
        g4_chat_reply parsed = {0};
        const char *content = reply.data ? reply.data : "";
        if (g4_chat_parse_reply(content, &parsed) == G4_OK && parsed.content)
            content = parsed.content;
        add_message(cJSON_GetObjectItem(request, "messages"), "assistant", content);
        g4_chat_reply_clear(&parsed);
        printf("\n");
        if (show_stats)
            print_stats(&stats);
    }
    free(reply.data);
    g4_input_free(input);
    return rc;
}

static int open_run_context(const cli_options *opt, const gen_options *go, run_context *rc)
{
    rc->model = cli_load_model(opt);
    rc->session = rc->model ? cli_new_session(rc->model, opt) : NULL;
    if (!rc->session)
        return 1;
    if (g4_sampler_new(&go->sampling, g4_model_vocab_size(rc->model), &rc->sampler) != G4_OK)
        return cli_error("invalid sampling parameters");
    return 0;
}

static void forget_media(run_context *rc)
{
    for (size_t i = 0; i < rc->n_media; i++)
        g4_media_free(rc->media[i]);
    rc->n_media = 0;
}

static void close_run_context(run_context *rc)
{
    forget_media(rc);
    g4_sampler_free(rc->sampler);
    g4_session_free(rc->session);
    g4_model_free(rc->model);
}

static int parse_run_args(int argc, char **argv, cli_options *opt, gen_options *go,
                          bool need_prompt)
{
    cli_args a = {argc, argv, 0, false};
    g4_sampler_params_init(&go->sampling);
    go->max_tokens = -1;
    while (a.i < a.argc && !a.failed) {
        if (!cli_common(&a, opt) && !parse_generation(&a, go))
            cli_unknown(&a);
    }
    if (!a.failed && need_prompt && !go->prompt) {
        fprintf(stderr, "g4 run: -p PROMPT is required\n");
        return 2;
    }
    return a.failed ? 2 : 0;
}

/* Adds media already loaded into ctx (the last n_new items) to the conversation: a user
 * message whose parts are the media, in order, then the text. */
static void add_user_message(cJSON *request, const run_context *ctx, size_t n_new,
                             const char *text)
{
    static const char *const types[] = {"", "image", "audio", "video"};
    cJSON *messages = cJSON_GetObjectItem(request, "messages");
    if (n_new == 0) {
        add_message(messages, "user", text);
        return;
    }
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "role", "user");
    cJSON *parts = cJSON_AddArrayToObject(msg, "content");
    for (size_t i = ctx->n_media - n_new; i < ctx->n_media; i++) {
        cJSON *part = cJSON_CreateObject();
        cJSON_AddStringToObject(part, "type", types[g4_media_get_kind(ctx->media[i])]);
        cJSON_AddItemToArray(parts, part);
    }
    cJSON *part = cJSON_CreateObject();
    cJSON_AddStringToObject(part, "type", "text");
    cJSON_AddStringToObject(part, "text", text);
    cJSON_AddItemToArray(parts, part);
    cJSON_AddItemToArray(messages, msg);
}

static int attach_media(run_context *ctx, const cli_options *opt, g4_media_kind kind,
                        const char *path)
{
    if (ctx->n_media == MAX_MEDIA) {
        fprintf(stderr, "g4: at most %d media items per conversation\n", MAX_MEDIA);
        return 1;
    }
    g4_media *media = cli_load_media(ctx->model, opt, kind, path);
    if (!media)
        return 1;
    ctx->media[ctx->n_media++] = media;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    cli_options opt = {0};
    gen_options go = {0};
    int rc = parse_run_args(argc, argv, &opt, &go, true);
    if (rc)
        return rc;
    run_context ctx = {0};
    rc = open_run_context(&opt, &go, &ctx);
    for (size_t i = 0; rc == 0 && i < go.files.n; i++)
        rc = attach_media(&ctx, &opt, go.files.file[i].kind, go.files.file[i].path);
    if (rc == 0) {
        cJSON *request = new_request(&go);
        add_user_message(request, &ctx, ctx.n_media, go.prompt);
        rc = generate_reply(&ctx, &opt, &go, request, true);
        cJSON_Delete(request);
    }
    close_run_context(&ctx);
    return rc;
}

static char *read_line(FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, in);
    if (len < 0) {
        free(line);
        return NULL;
    }
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    return line;
}

/* "/image PATH", "/audio PATH", "/video PATH": the kind, and *path set; else 0. */
static g4_media_kind media_command(const char *line, const char **path)
{
    static const struct {
        const char *command;
        g4_media_kind kind;
    } commands[] = {{"/image ", G4_MEDIA_IMAGE}, {"/audio ", G4_MEDIA_AUDIO},
                    {"/video ", G4_MEDIA_VIDEO}};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        size_t n = strlen(commands[i].command);
        if (strncmp(line, commands[i].command, n) == 0) {
            *path = line + n;
            return commands[i].kind;
        }
    }
    return 0;
}

typedef struct chat_state {
    cJSON *request;
    size_t pending; /* media attached for the next message */
} chat_state;

/* One line typed by the user; returns non-zero when the chat must stop. */
static int chat_line(run_context *ctx, const cli_options *opt, const gen_options *go,
                     chat_state *chat, const char *line)
{
    const char *path = NULL;
    g4_media_kind kind = media_command(line, &path);
    if (kind) {
        if (attach_media(ctx, opt, kind, path) == 0) {
            chat->pending++;
            fprintf(stderr, "attached %s (%u tokens); it goes with your next message\n", path,
                    g4_media_n_tokens(ctx->media[ctx->n_media - 1]));
        }
        return 0;
    }
    if (strcmp(line, "/clear") == 0) {
        cJSON_Delete(chat->request);
        chat->request = new_request(go);
        chat->pending = 0;
        forget_media(ctx);
        return 0;
    }
    if (!line[0])
        return 0;
    add_user_message(chat->request, ctx, chat->pending, line);
    chat->pending = 0;
    return generate_reply(ctx, opt, go, chat->request, false);
}

int cmd_chat(int argc, char **argv)
{
    cli_options opt = {0};
    gen_options go = {0};
    int rc = parse_run_args(argc, argv, &opt, &go, false);
    if (rc)
        return rc;
    run_context ctx = {0};
    rc = open_run_context(&opt, &go, &ctx);
    chat_state chat = {new_request(&go), 0};
    if (rc == 0)
        fprintf(stderr, "g4 chat: type a message; /image, /audio or /video PATH attaches a "
                        "file; /clear starts over, /exit or Ctrl-D quits.\n");
    while (rc == 0) {
        fprintf(stderr, "> ");
        char *line = read_line(stdin);
        if (!line || strcmp(line, "/exit") == 0) {
            free(line);
            break;
        }
        rc = chat_line(&ctx, &opt, &go, &chat, line);
        free(line);
    }
    cJSON_Delete(chat.request);
    close_run_context(&ctx);
    return rc;
}
