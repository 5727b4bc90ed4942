/* libFuzzer target for g4 serve's request parser: the first byte picks the route (OpenAI
 * chat or completions, Ollama chat or generate), the rest is the body. Any bytes (invalid
 * UTF-8, deep nesting, huge numbers, unknown roles, bad media, media URLs, which it refuses
 * without touching the network) are accepted into a job or refused with a 4xx status and a
 * message; nothing else. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static server *fuzz_server(void)
{
    static server srv;
    if (srv.model)
        return &srv;
    server_config_init(&srv.cfg);
    srv.cfg.allow_remote_media = false; /* media URLs are refused: fuzzing never fetches */
    srv.cfg.model.n_threads = 1;
    srv.cfg.session.n_ctx = 256;
    scheduler_params sp = {.n_slots = 1, .max_queue = 1, .session = srv.cfg.session};
    g4_err err = {0};
    if (g4_model_load(G4_TEST_DATA "/tiny-gemma4u-q4_0.gguf", &srv.cfg.model, &srv.model) !=
            G4_OK ||
        g4_model_load_projector(srv.model, G4_TEST_DATA "/tiny-gemma4u-mmproj-f32.gguf") !=
            G4_OK ||
        scheduler_new(srv.model, &sp, &srv.sched, &err) != G4_OK)
        abort();
    return &srv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    server *srv = fuzz_server();
    http_request req = {.client_fd = -1};
    chat_buf_put(&req.body, (const char *)data + 1, size - 1);
    job *j = job_new();
    request_flags flags = {0};
    api_error err = {0};
    bool chat = data[0] & 1;
    bool ok = data[0] & 2 ? ollama_parse(srv, &req, chat, j, &flags, &err)
                          : openai_parse(srv, &req, chat, j, &flags, &err);
    if (ok && (!j->input || g4_input_n_tokens(j->input) >= scheduler_n_ctx(srv->sched)))
        abort();
    if (!ok && (err.status < 400 || err.status >= 600 || !err.message[0]))
        abort();
    job_release(j);
    chat_buf_free(&req.body);
    return 0;
}
