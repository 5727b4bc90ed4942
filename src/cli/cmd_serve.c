/* g4 serve: the OpenAI and Ollama APIs over HTTP (src/server). */
#include <stdio.h>

#include "cli.h"
#include "server/server.h"

static bool parse_serve_flag(cli_args *a, server_config *cfg)
{
    long v = 0;
    if (cli_flag(a, NULL, "--host", &cfg->host) || cli_flag(a, NULL, "--api-key", &cfg->api_key))
        return true;
    if (cli_switch(a, NULL, "--allow-remote-media")) {
        cfg->allow_remote_media = true;
        return true;
    }
    if (cli_int(a, NULL, "--port", 0, 65535, &v)) {
        cfg->port = (uint16_t)v;
        return true;
    }
    if (cli_int(a, "-np", "--parallel", 1, 64, &v)) {
        cfg->n_parallel = (int)v;
        return true;
    }
    if (cli_int(a, NULL, "--queue", 1, 1 << 20, &v)) {
        cfg->max_queue = (int)v;
        return true;
    }
    if (cli_int(a, NULL, "--max-body", 1024, 1L << 34, &v)) {
        cfg->max_body = (size_t)v;
        return true;
    }
    if (cli_int(a, NULL, "--shutdown-grace", 0, 3600, &v)) {
        cfg->shutdown_grace = (double)v;
        return true;
    }
    return false;
}

int cmd_serve(int argc, char **argv)
{
    cli_options opt = {0};
    server_config cfg;
    server_config_init(&cfg);
    cli_args a = {argc, argv, 0, false};
    while (a.i < a.argc && !a.failed) {
        if (!cli_common(&a, &opt) && !parse_serve_flag(&a, &cfg))
            cli_unknown(&a);
    }
    if (a.failed)
        return 2;
    if (!opt.model_path) {
        fprintf(stderr, "g4 serve: no model given (use -m MODEL.gguf)\n");
        return 2;
    }
    cfg.model_path = opt.model_path;
    cfg.projector_path = opt.projector_path;
    cfg.image_tokens = opt.image_tokens;
    cfg.model = cli_model_params(&opt);
    cfg.session = cli_session_params(&opt);
    return server_run(&cfg);
}
