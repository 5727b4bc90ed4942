/* The model's chat text as answer, reasoning and tool calls, also while it is streaming. */
#ifndef G4_SERVER_REPLY_H
#define G4_SERVER_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "g4.h"
#include "text/chat_text.h"

/* Parses the text generated so far (text[len] is briefly cut while it does). Unless
 * final, a tool call still being written is left out: it would read as answer text until
 * it is complete. */
g4_status reply_parse(char *text, size_t len, bool final, g4_chat_reply *out);

/* Appends to delta what `now` adds beyond the text already streamed (sent), and records
 * it as sent. Nothing when now no longer starts with what was sent. */
void reply_delta(chat_buf *sent, const char *now, chat_buf *delta);

/* Tool calls as OpenAI's "tool_calls" array (arguments as a JSON string) or Ollama's
 * (arguments as an object); ids are prefix-N. */
cJSON *reply_tool_calls(const g4_chat_reply *reply, bool arguments_as_string,
                        const char *id_prefix);

#endif
