/* Checking a chat request before it is rendered, so the renderer can rely on the types of
 * the fields it reads and every error names the field at fault. */
#ifndef G4_TEXT_CHAT_REQUEST_H
#define G4_TEXT_CHAT_REQUEST_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "core/error.h"

/* Deepest nesting of arrays and objects accepted, far beyond any real request. */
#define CHAT_MAX_DEPTH 128

/* Fails with G4_ERR_FORMAT ("messages[2].role: unknown role 'robot'") for a request the
 * template cannot render or that no OpenAI-style client would send. */
g4_status chat_check_request(const cJSON *request, g4_err *err);

/* A template variable such as enable_thinking: from "chat_template_kwargs", else
 * "kwargs", else the request itself; NULL when absent. */
const cJSON *chat_template_var(const cJSON *request, const char *name);

/* True when value nests arrays/objects more than levels deep. */
bool chat_nested_deeper_than(const cJSON *value, int levels);

#endif
