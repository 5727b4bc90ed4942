/* Shared pieces of the g4 command's subcommands. */
#ifndef G4_CLI_H
#define G4_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "g4.h"

/* Options common to the subcommands that load a model. */
typedef struct cli_options {
    const char *model_path;
    const char *projector_path; /* --mmproj */
    int n_threads;
    uint32_t n_ctx;
    uint32_t n_batch;
    int image_tokens;           /* --image-tokens: 70, 140, 280, 560 or 1120 (0 = 280) */
    g4_image_attention image_attention; /* --image-attention sliding|all */
    g4_kv_type kv_type;                 /* --kv-type f32|f16|q8_0 */
    bool exact;
    bool use_mmap; /* --mmap */
    bool quiet;
    const char *drafter_path; /* --draft: the MTP drafter for speculative decoding */
    int draft_max;            /* --draft-max (0 = CLI_DRAFT_MAX) */
    int draft_min;            /* --draft-min (0 = 1) */
} cli_options;

enum { CLI_DRAFT_MAX = 4 };

enum { CLI_MAX_MEDIA = 64 };

/* Media files named on the command line, in order. */
typedef struct cli_media_file {
    g4_media_kind kind;
    const char *path;
} cli_media_file;

typedef struct cli_media_files {
    cli_media_file file[CLI_MAX_MEDIA];
    size_t n;
} cli_media_files;

/* Argument cursor: cli_flag() matches a flag and takes its value. */
typedef struct cli_args {
    int argc;
    char **argv;
    int i;
    bool failed;
} cli_args;

bool cli_flag(cli_args *a, const char *short_name, const char *long_name, const char **value);
bool cli_switch(cli_args *a, const char *short_name, const char *long_name);
bool cli_int(cli_args *a, const char *short_name, const char *long_name, long lo, long hi,
             long *out);
bool cli_float(cli_args *a, const char *short_name, const char *long_name, float *out);
/* Matches -m/--model, --mmproj, -t/--threads, -c/--ctx, --batch, --image-tokens,
 * --image-attention, --kv-type, --exact, --mmap, --draft, --draft-max, --draft-min; true
 * if one was consumed. */
bool cli_common(cli_args *a, cli_options *opt);
/* Matches --image, --audio or --video PATH (repeatable) and appends the file. */
bool cli_media_flag(cli_args *a, cli_media_files *files);
/* Reports an unknown argument and marks the parse failed. */
void cli_unknown(cli_args *a);

/* Model parameters from the options: -t, --exact, --mmap. */
g4_model_params cli_model_params(const cli_options *opt);
/* Loads the model (and the projector of --mmproj, the drafter of --draft) with a progress
 * bar on stderr; prints the error and returns NULL. */
g4_model *cli_load_model(const cli_options *opt);
/* Drafting settings for generation: --draft-max/--draft-min when --draft is given, else
 * none. */
void cli_draft_params(const cli_options *opt, g4_generate_params *gp);
/* Session parameters from the options: --ctx, --batch (at least the largest image of
 * --image-tokens), --image-attention, --kv-type. */
g4_session_params cli_session_params(const cli_options *opt);
/* A session with cli_session_params. */
g4_session *cli_new_session(g4_model *model, const cli_options *opt);
/* Loads an image, audio clip or video file with the --image-tokens budget; prints the error
 * and returns NULL. */
g4_media *cli_load_media(const g4_model *model, const cli_options *opt, g4_media_kind kind,
                         const char *path);
int cli_error(const char *what);  /* prints "g4: what: <last error>", returns 1 */
char *cli_read_file(const char *path, size_t *len);

int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
