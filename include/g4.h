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
    g4_progress_fn progress;
    void *progress_user;
} g4_model_params;

void g4_model_params_init(g4_model_params *params);
g4_status g4_model_load(const char *path, const g4_model_params *params, g4_model **out);
void g4_model_free(g4_model *model);

int32_t g4_model_vocab_size(const g4_model *model);
int g4_model_n_threads(const g4_model *model);
uint32_t g4_model_max_context(const g4_model *model);
/* Human-readable description: metadata, tensor summary and the memory a context of
 * n_ctx tokens needs. Release with g4_free. */
g4_status g4_model_describe(const g4_model *model, uint32_t n_ctx, char **text);
/* Bytes of KV cache and activation buffers a session of n_ctx tokens allocates. */
uint64_t g4_model_session_bytes(const g4_model *model, uint32_t n_ctx);

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

typedef struct g4_session_params {
    uint32_t n_ctx;   /* context length in tokens; 0 = 4096 (capped at the model's) */
    uint32_t n_batch; /* tokens per forward pass during prefill; 0 = 512 */
} g4_session_params;

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
} g4_generate_params;

typedef struct g4_generate_stats {
    uint32_t prompt_tokens;
    uint32_t generated_tokens;
    double prompt_seconds;
    double generate_seconds;
    bool stopped_by_eog;
    bool stopped_by_string;
} g4_generate_stats;

/* Feeds the prompt, then samples until an end-of-generation token, a stop string,
 * max_tokens or the end of the context. */
g4_status g4_generate(g4_session *session, g4_sampler *sampler, const int32_t *prompt,
                      size_t n_prompt, const g4_generate_params *params,
                      g4_generate_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
