/* g4 tokenize, g4 template, g4 info: looking at the model without running it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_tokenize(int argc, char **argv)
{
    cli_options opt = {.quiet = true};
    cli_args a = {argc, argv, 0, false};
    const char *text = NULL;
    bool bos = false;
    while (a.i < a.argc && !a.failed) {
        if (cli_common(&a, &opt) || cli_flag(&a, NULL, "--text", &text))
            continue;
        if (cli_switch(&a, NULL, "--bos"))
            bos = true;
        else
            cli_unknown(&a);
    }
    if (a.failed)
        return 2;
    if (!text) {
        fprintf(stderr, "g4 tokenize: --text is required\n");
        return 2;
    }
    g4_model *model = cli_load_model(&opt);
    if (!model)
        return 1;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = 0;
    if (g4_tokenize(model, text, strlen(text), bos, true, &ids, &n) != G4_OK) {
        rc = cli_error("cannot tokenize");
    } else {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    g4_free(ids);
    g4_model_free(model);
    return rc;
}

int cmd_template(int argc, char **argv)
{
    cli_options opt = {.quiet = true};
    cli_args a = {argc, argv, 0, false};
    const char *request_path = NULL;
    while (a.i < a.argc && !a.failed) {
        if (cli_common(&a, &opt) || cli_flag(&a, NULL, "--request", &request_path))
            continue;
        cli_unknown(&a);
    }
    if (a.failed)
        return 2;
    if (!request_path) {
        fprintf(stderr, "g4 template: --request REQ.json is required\n");
        return 2;
    }
    char *request = cli_read_file(request_path, NULL);
    if (!request)
        return 1;
    g4_model *model = cli_load_model(&opt);
    int rc = 1;
    char *prompt = NULL;
    if (model && g4_chat_render(model, request, &prompt) == G4_OK) {
        fputs(prompt, stdout);
        rc = 0;
    } else if (model) {
        cli_error(request_path);
    }
    g4_free(prompt);
    free(request);
    g4_model_free(model);
    return rc;
}

int cmd_info(int argc, char **argv)
{
    cli_options opt = {.quiet = true};
    cli_args a = {argc, argv, 0, false};
    while (a.i < a.argc && !a.failed) {
        if (!cli_common(&a, &opt))
            cli_unknown(&a);
    }
    if (a.failed)
        return 2;
    g4_model *model = cli_load_model(&opt);
    if (!model)
        return 1;
    char *text = NULL;
    int rc = 0;
    g4_session_params params = cli_session_params(&opt);
    if (g4_model_describe(model, &params, &text) != G4_OK)
        rc = cli_error("cannot describe the model");
    else
        fputs(text, stdout);
    g4_free(text);
    g4_model_free(model);
    return rc;
}
