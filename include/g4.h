/* g4: a local inference engine for Gemma 4 12B ("gemma4_unified").
 *
 * The public C API. Every function that can fail returns a g4_status; the message of the
 * last failure on the calling thread is available from g4_last_error(). Objects are
 * opaque handles; strings and arrays the library allocates for the caller are released
 * with g4_free(). */
#ifndef G4_H
#define G4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum g4_status {
    G4_OK = 0,
    G4_ERR_IO = 1,           /* a file could not be opened, read or mapped */
    G4_ERR_FORMAT = 2,       /* malformed input: GGUF file, JSON request, token ids */
    G4_ERR_UNSUPPORTED = 3,  /* well-formed but not supported (architecture, tensor type) */
    G4_ERR_INVALID_ARG = 4,  /* a parameter out of range */
    G4_ERR_NO_MEMORY = 5,
    G4_ERR_CONTEXT_FULL = 6, /* the prompt or generation does not fit the context */
    G4_ERR_INTERNAL = 7,
} g4_status;

/* The message of the last failed call on this thread ("" if none). */
const char *g4_last_error(void);
const char *g4_status_name(g4_status status);
void g4_free(void *ptr);
const char *g4_version(void);

/* ---- model -------------------------------------------------------------------------- */

typedef struct g4_model g4_model;

/* Called while loading with a fraction in [0, 1]. */
typedef void (*g4_progress_fn)(float fraction, void *user);

typedef struct g4_model_params {
    int n_threads;   /* worker threads for the forward pass; 0 = one per core */
    bool exact_math; /* multiply quantized weights in f32 after dequantizing them (slow;
                        for checking the fast 8-bit-activation kernels) */
    /* false (default): map the file, so the model runs at once, and move it in the
     * background into private memory backed by huge pages, which decodes faster (see
     * g4_model_wait_in_memory); true: only map it, which shares the page cache between
     * processes and takes no memory of its own */
    bool use_mmap;
    g4_progress_fn progress;
    void *progress_user;
} g4_model_params;

void g4_model_params_init(g4_model_params *params);
g4_status g4_model_load(const char *path, const g4_model_params *params, g4_model **out);
void g4_model_free(g4_model *model);
/* Blocks until the background move of the weights (and of an attached drafter) into
 * private memory has ended; the model is usable all along, only faster afterwards.
 * True when everything moved; false with use_mmap, or when the move stopped early (out of
 * memory): the rest then keeps running from the mapped file. Benchmarks call it first. */
bool g4_model_wait_in_memory(g4_model *model);

int32_t g4_model_vocab_size(const g4_model *model);
/* Width of the model's embeddings (3840 on the 12B): the row length of g4_media_embed. */
int32_t g4_model_hidden_size(const g4_model *model);
int g4_model_n_threads(const g4_model *model);
uint32_t g4_model_max_context(const g4_model *model);
typedef struct g4_session_params g4_session_params;
/* Human-readable description: metadata, tensor summary and the memory a session with
 * these parameters needs (NULL: the defaults). Release with g4_free. */
g4_status g4_model_describe(const g4_model *model, const g4_session_params *params,
                            char **text);
/* Bytes of KV cache and buffers a session with these parameters allocates (NULL: the
 * defaults); exactly what g4_session_new allocates, up to malloc's bookkeeping. */
uint64_t g4_model_session_bytes(const g4_model *model, const g4_session_params *params);

/* ---- text ---------------------------------------------------------------------------- */

/* Tokenizes UTF-8 text. With parse_special, special-token text such as "<|turn>" becomes
 * its token; with add_bos a single <bos> is prepended. Release *ids with g4_free. */
g4_status g4_tokenize(const g4_model *model, const char *text, size_t len, bool add_bos,
                      bool parse_special, int32_t **ids, size_t *n_ids);

/* The raw bytes of one token (special tokens as their text when show_special).
 * Returns the number of bytes (which may exceed cap; nothing beyond cap is written),
 * or -1 for an invalid id. */
int g4_token_to_bytes(const g4_model *model, int32_t id, bool show_special, char *buf,
                      size_t cap);
bool g4_token_is_end_of_generation(const g4_model *model, int32_t id);

/* Renders an OpenAI-style chat request (JSON with "messages", optional "tools",
 * "enable_thinking", "add_generation_prompt") into the model's prompt text. */
g4_status g4_chat_render(const g4_model *model, const char *request_json, char **prompt);

typedef struct g4_tool_call {
    char *name;
    char *arguments_json; /* the arguments as a JSON object */
} g4_tool_call;

typedef struct g4_chat_reply {
    char *content;   /* the answer, without the thought channel */
    char *reasoning; /* the thought channel's text, or NULL */
    g4_tool_call *tool_calls;
    size_t n_tool_calls;
} g4_chat_reply;

/* Splits the model's generated text (special tokens shown) into answer, reasoning and
 * tool calls. Release with g4_chat_reply_clear. */
g4_status g4_chat_parse_reply(const char *generated, g4_chat_reply *reply);
void g4_chat_reply_clear(g4_chat_reply *reply);

/* ---- sessions: a KV cache and the forward pass ------------------------------------------ */

typedef struct g4_session g4_session;

/* How the soft tokens of one image (or video frame) attend to each other. */
typedef enum g4_image_attention {
    /* Gemma 4's rule: both directions on the sliding-window layers only, within the
     * window; the global layers stay causal (Google's reference, llama.cpp). */
    G4_IMAGE_ATTENTION_SLIDING = 0,
    /* Both directions on every layer, the whole image whatever the window: what Hugging
     * Face transformers 5.17 computes in its forward pass and generate. */
    G4_IMAGE_ATTENTION_ALL_LAYERS = 1,
} g4_image_attention;

/* What the KV cache stores each key and value element as. */
typedef enum g4_kv_type {
    G4_KV_F16 = 0,  /* the default: half of f32's memory, logits within 0.01 of it */
    G4_KV_F32 = 1,  /* exact */
    G4_KV_Q8_0 = 2, /* 8-bit blocks of 32 with a scale: about a quarter of f32 */
} g4_kv_type;

struct g4_session_params {
    uint32_t n_ctx;   /* context length in tokens; 0 = 4096 (capped at the model's) */
    uint32_t n_batch; /* tokens per forward pass during prefill; 0 = 512 */
    g4_image_attention image_attention;
    g4_kv_type kv_type;
};

void g4_session_params_init(g4_session_params *params);
g4_status g4_session_new(g4_model *model, const g4_session_params *params, g4_session **out);
void g4_session_free(g4_session *session);
uint32_t g4_session_n_ctx(const g4_session *session);
/* Number of tokens in the cache: the position the next token takes. */
uint32_t g4_session_position(const g4_session *session);
/* Forgets everything after the first n_keep tokens. Fails if a sliding-window layer no
 * longer holds what position n_keep needs (rewinding more than one batch). */
g4_status g4_session_truncate(g4_session *session, uint32_t n_keep);
/* Prepares the session for a prompt: keeps the longest prefix of ids that the session
 * already holds (at most n - 1 tokens, so that the last one is evaluated again), drops
 * the rest, and returns how many tokens were kept; the caller then feeds ids[kept..n). */
size_t g4_session_reuse_prefix(g4_session *session, const int32_t *ids, size_t n);

/* Appends tokens to the context and runs the model over them. When all_logits is not
 * NULL it receives n × vocab floats, the logits of every position; the last position's
 * logits are always available from g4_session_logits afterwards. Logits are after the
 * final soft-cap; suppressed tokens are -INFINITY. */
g4_status g4_session_decode(g4_session *session, const int32_t *ids, size_t n,
                            float *all_logits);
const float *g4_session_logits(const g4_session *session);

/* ---- images, audio and video ------------------------------------------------------------ */

/* Attaches a multimodal projector ("mmproj" GGUF of Gemma 4 12B: vision gemma4uv and/or
 * audio gemma4ua), checked against the model. Needed before any media is loaded. */
g4_status g4_model_load_projector(g4_model *model, const char *path);

typedef enum g4_media_kind {
    G4_MEDIA_IMAGE = 1, /* PNG, JPEG, WebP, BMP, GIF (first frame) */
    G4_MEDIA_AUDIO = 2, /* WAV, FLAC, Ogg Vorbis, MP3, M4A/AAC: any rate, any channels */
    G4_MEDIA_VIDEO = 3, /* any container FFmpeg reads; its sound track is heard too */
} g4_media_kind;

/* True when the attached projector can take this kind of media. */
bool g4_model_accepts_media(const g4_model *model, g4_media_kind kind);

typedef struct g4_media_params {
    g4_media_kind kind;
    int image_tokens;         /* soft tokens per image: 70, 140, 280 (0 = 280), 560, 1120 */
    int video_frames;         /* frames sampled from a video (0 = 32) */
    double max_audio_seconds; /* longer audio is refused (0 = one hour) */
} g4_media_params;

void g4_media_params_init(g4_media_params *params, g4_media_kind kind);

/* A decoded and preprocessed image, audio clip or video, ready to be projected. */
typedef struct g4_media g4_media;

g4_status g4_media_new(const g4_model *model, const void *data, size_t len,
                       const g4_media_params *params, g4_media **out);
g4_status g4_media_new_file(const g4_model *model, const char *path,
                            const g4_media_params *params, g4_media **out);
void g4_media_free(g4_media *media);
g4_media_kind g4_media_get_kind(const g4_media *media);
/* The soft tokens the media takes in a prompt (markers and timestamps not counted). */
uint32_t g4_media_n_tokens(const g4_media *media);
/* Projects the media: n_tokens rows of the model's hidden size, float32, into out. */
g4_status g4_media_embed(g4_model *model, const g4_media *media, float *out);

/* Fetches the bytes a media URL ("scheme://...") names: on success *data (released by the
 * caller with free()) and *len; on failure a status and a message in error (at most
 * error_cap bytes, NUL included). */
typedef g4_status (*g4_media_fetch_fn)(void *user, const char *url, void **data, size_t *len,
                                       char *error, size_t error_cap);

typedef struct g4_chat_media_options {
    const char *base_dir; /* relative paths resolve against it (NULL: the working directory) */
    bool allow_files;     /* accept local file paths; otherwise only data: URIs and base64 */
    g4_media_params params; /* image_tokens, video_frames, max_audio_seconds (kind unused) */
    g4_media_fetch_fn fetch; /* takes media URLs ("://"); NULL: they are refused */
    void *fetch_user;        /* passed to fetch */
} g4_chat_media_options;

/* Loads the media of a chat request (the format of g4_chat_render) in the order their
 * placeholders appear in the rendered prompt: "image_url" parts ({"url": a data: URI, or a
 * path}), "input_audio" ({"data": base64, "format": "wav"}), "video_url", and bare
 * {"type":"image"|"audio"|"video"} parts with "url"/"path", or else the next entry of the
 * request's top-level "images"/"audio"/"videos" list. URLs ("scheme://...") go to the
 * options' fetch and are decoded like a data: URI's bytes; without one they are refused.
 * Release with g4_media_list_free. */
g4_status g4_chat_load_media(const g4_model *model, const char *request_json,
                             const g4_chat_media_options *options, g4_media ***media,
                             size_t *n_media);
void g4_media_list_free(g4_media **media, size_t n_media);

/* A prompt with media: text whose <|image|>, <|audio|> and <|video|> placeholders (as the
 * chat template renders them) are expanded, in order, into the next media item of that
 * kind. The media must outlive the input. */
typedef struct g4_input g4_input;

g4_status g4_input_new(const g4_model *model, const char *text, size_t len, bool add_bos,
                       g4_media *const *media, size_t n_media, g4_input **out);
void g4_input_free(g4_input *input);
size_t g4_input_n_tokens(const g4_input *input);
/* The token ids; soft-token positions hold their placeholder's id. */
const int32_t *g4_input_tokens(const g4_input *input);

/* Like g4_session_reuse_prefix, for an input: media must match too, and an image is never
 * split. Returns the position to pass as `first` below. */
size_t g4_session_reuse_input(g4_session *session, const g4_input *input);
/* Appends positions first..n-1 of the input, like g4_session_decode. Each image must fit
 * in one batch (n_batch at least its soft tokens). */
g4_status g4_session_decode_input(g4_session *session, const g4_input *input, size_t first,
                                  float *all_logits);

/* ---- speculative decoding ------------------------------------------------------------------ */

/* Attaches Gemma 4's MTP drafter (a "gemma4-assistant" GGUF such as
 * mtp-gemma-4-12B-it-qat-Q4_0.gguf), checked against the model: its output width must be
 * the model's hidden size, its vocabulary the model's, and the model must have the
 * sliding-window and global layers whose KV cache it reads. g4_generate then drafts
 * tokens with it when g4_generate_params.draft_max > 0. */
g4_status g4_model_load_drafter(g4_model *model, const char *path);
bool g4_model_has_drafter(const g4_model *model);

/* The most tokens one speculative step drafts. */
#define G4_DRAFT_MAX_LIMIT 8

/* ---- sampling ---------------------------------------------------------------------------- */

typedef struct g4_sampler_params {
    float temperature;       /* 0 = greedy */
    int32_t top_k;           /* 0 = off */
    float top_p;             /* 1 = off */
    float min_p;             /* 0 = off */
    float repeat_penalty;    /* 1 = off */
    float presence_penalty;  /* 0 = off */
    float frequency_penalty; /* 0 = off */
    int32_t penalty_last_n;  /* how many recent tokens the penalties look at */
    uint64_t seed;
} g4_sampler_params;

typedef struct g4_sampler g4_sampler;

/* The model's defaults: temperature 1.0, top-k 64, top-p 0.95. */
void g4_sampler_params_init(g4_sampler_params *params);
g4_status g4_sampler_new(const g4_sampler_params *params, int32_t vocab_size,
                         g4_sampler **out);
void g4_sampler_free(g4_sampler *sampler);
/* Picks the next token from logits (not modified). */
int32_t g4_sampler_sample(g4_sampler *sampler, const float *logits);
/* Tells the sampler a token entered the context (for the penalties). */
void g4_sampler_accept(g4_sampler *sampler, int32_t id);

/* ---- generation ------------------------------------------------------------------------ */

/* Receives each piece of generated text as soon as it is complete UTF-8. Return false
 * to stop generating. */
typedef bool (*g4_text_fn)(const char *text, size_t len, void *user);

typedef struct g4_generate_params {
    int32_t max_tokens;               /* < 0 = until the context is full */
    const char *const *stop_strings;  /* generation stops before any of these */
    size_t n_stop_strings;
    bool show_special;                /* stream special tokens as their text */
    g4_text_fn on_text;
    void *user;
    /* Speculative decoding with the attached drafter: each step drafts between draft_min
     * and draft_max tokens (0 = no drafting; at most G4_DRAFT_MAX_LIMIT) that the model
     * then checks in one pass. The count adapts to the acceptance rate, and drafting
     * pauses while the measured costs say it does not pay. The model samples every
     * emitted token itself, in the same order: the output equals that of plain decoding
     * (the same seed gives the same text). */
    int32_t draft_max;
    int32_t draft_min;
    bool draft_fixed; /* always draft draft_max tokens (for measurements) */
} g4_generate_params;

typedef struct g4_generate_stats {
    uint32_t prompt_tokens;
    uint32_t generated_tokens;
    double prompt_seconds;
    double generate_seconds;
    bool stopped_by_eog;
    bool stopped_by_string;
    /* speculative decoding: steps that drafted, tokens drafted and accepted, and the
     * seconds spent drafting and in the model's passes of those steps */
    uint32_t draft_steps;
    uint32_t drafted_tokens;
    uint32_t accepted_tokens;
    double draft_seconds;
    double verify_seconds;
} g4_generate_stats;

/* Feeds the prompt, then samples until an end-of-generation token, a stop string,
 * max_tokens or the end of the context. */
g4_status g4_generate(g4_session *session, g4_sampler *sampler, const int32_t *prompt,
                      size_t n_prompt, const g4_generate_params *params,
                      g4_generate_stats *stats);

/* g4_generate for an input with media, fed from position `first` (see
 * g4_session_reuse_input). */
g4_status g4_generate_input(g4_session *session, g4_sampler *sampler, const g4_input *input,
                            size_t first, const g4_generate_params *params,
                            g4_generate_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
