/* The g4 command: dispatches to one subcommand per job. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", cmd_run, "answer one prompt, streaming"},
    {"chat", cmd_chat, "talk to the model in the terminal"},
    {"info", cmd_info, "show the model's metadata, tensors and memory needs"},
    {"tokenize", cmd_tokenize, "print the token ids of a text"},
    {"template", cmd_template, "print the prompt a chat request renders to"},
    {"eval", cmd_eval, "run a prompt and dump its logits (for checking)"},
    {"bench", cmd_bench, "measure prefill and decode speed"},
    {"serve", cmd_serve, "serve the OpenAI and Ollama APIs over HTTP"},
};

static void usage(FILE *out)
{
    fprintf(out, "g4 %s: local inference for Gemma 4 12B\n\nusage: g4 COMMAND [options]\n\n",
            g4_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\ncommon options:\n"
            "  -m, --model FILE      the model GGUF\n"
            "  -t, --threads N       worker threads (default: one per core)\n"
            "  -c, --ctx N           context length in tokens (default 4096)\n"
            "  -b, --batch N         tokens per forward pass while reading the prompt (512)\n"
            "  --mmproj FILE         the multimodal projector GGUF (images, audio, video)\n"
            "  --image-tokens N      soft tokens per image: 70, 140, 280 (default), 560, 1120\n"
            "  --image-attention R   how an image's tokens see each other: 'sliding' (default,\n"
            "                        Gemma 4's rule) or 'all' (every layer, as transformers)\n"
            "  --exact               multiply quantized weights in f32 (slow; for checking)\n"
            "  --kv-type T           KV cache elements: f16 (default), f32 or q8_0\n"
            "  --mmap                map the model file instead of reading it into memory\n"
            "                        (starts sooner, decodes slower)\n"
            "  --draft FILE          Gemma 4's MTP drafter GGUF: speculative decoding, the\n"
            "                        same output (run, chat; bench times it)\n"
            "  --draft-max N         at most N drafted tokens per step (default 4, up to 8)\n"
            "  --draft-min N         at least N per step while drafting pays (default 1)\n"
            "\nrun / chat:\n"
            "  -p, --prompt TEXT     the user message (run)\n"
            "  --system TEXT         a system message\n"
            "  --think               let the model think before answering\n"
            "  -n, --max-tokens N    stop after N tokens (default: until the end of the turn)\n"
            "  --temp T --top-k K --top-p P --min-p P --seed S\n"
            "  --repeat-penalty R --repeat-last-n N --presence-penalty P --frequency-penalty F\n"
            "  --stop TEXT           stop before this text (repeatable)\n"
            "  --image FILE          an image (PNG, JPEG, WebP, BMP, GIF); repeatable\n"
            "  --audio FILE          audio (WAV, FLAC, Ogg Vorbis, MP3, M4A); repeatable\n"
            "  --video FILE          a video: 32 frames and its sound track; repeatable\n"
            "  (in chat: /image FILE, /audio FILE, /video FILE attach to the next message)\n"
            "\ntokenize: --text TEXT [--bos]     template: --request REQ.json\n"
            "eval: (--ids \"2 105 ...\" | --request REQ.json) [--out LOGITS.f32] [--greedy N]\n"
            "      [--dump-embeddings EMB.f32]   (media paths in REQ.json are relative to it)\n"
            "bench: [-p 512] [-n 128] [-d DEPTH] [--ttft N] [-r REPS] [--json]\n"
            "  -d N: tg after N tokens of context; --ttft N: seconds to the first token of\n"
            "  an N-token prompt\n"
            "  --image/--audio/--video FILE (with --mmproj): time a prompt of these files\n"
            "                        and a short question instead: decoding, projector,\n"
            "                        prefill, and -n decode steps after it\n"
            "  --draft FILE: the cost of a drafting step (K drafts and checking K + 1 tokens)\n"
            "  against a plain decode step for K = 1..6, and the speed-up it projects\n"
            "serve: [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--parallel 4]\n"
            "       [--queue 64] [--max-body BYTES] [--shutdown-grace SECONDS]\n"
            "       [--allow-remote-media]\n"
            "  --allow-remote-media: fetch http(s) URLs in image_url and other media parts\n"
            "  (at most --max-body bytes, 5 redirects, 60 s); without it they are refused.\n"
            "  Anyone who can send a request can then make the server fetch any URL it\n"
            "  reaches, the local network included (docs/serve.md)\n");
}

static bool asks_for_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

int main(int argc, char **argv)
{
    /* "g4 --help" and "g4 COMMAND --help" */
    if (argc < 2 || asks_for_help(argv[1]) || (argc == 3 && asks_for_help(argv[2]))) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("g4 %s\n", g4_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "g4: unknown command '%s' (see g4 --help)\n", argv[1]);
    return 2;
}
