/* The Gemma 4 chat format: OpenAI-style requests rendered to prompt text exactly as the
 * model's chat template (tokenizer.chat_template) renders them, and generated text split
 * back into answer, reasoning and tool calls. */
#ifndef G4_TEXT_CHAT_H
#define G4_TEXT_CHAT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/error.h"

/* Renders an OpenAI-style chat request (a JSON object) to the prompt text, byte for byte
 * what the Gemma 4 chat template produces. Request fields:
 *   "messages" (required, non-empty): roles system/developer/user/assistant/tool; content
 *     as a string or an array of parts {"type":"text","text":...}, {"type":"image"} or
 *     {"type":"image_url",...}, {"type":"audio"} or {"type":"input_audio",...},
 *     {"type":"video"}; assistant "tool_calls" [{"id":..,"type":"function","function":
 *     {"name":..,"arguments": object or JSON string}}] and "reasoning_content"/"reasoning";
 *     tool messages with "name"/"tool_call_id" and "content";
 *   "tools": OpenAI function declarations;
 *   "enable_thinking": bool, also accepted inside "chat_template_kwargs" or "kwargs";
 *   "add_generation_prompt": bool, default true.
 * Media parts render the template's placeholders (<|image|>, <|audio|>, <|video|>).
 * Invalid requests fail with G4_ERR_FORMAT and a message naming the field. *prompt is
 * malloc'd and NUL-terminated. */
g4_status chat_render(const char *request_json, size_t len, char **prompt, g4_err *err);

/* Same from an already-parsed cJSON object. Numbers keep the template's int/float
 * distinction (20 vs 20.0) only when the tree came from chat_json_parse; otherwise an
 * integral value renders as an integer. */
g4_status chat_render_json(const cJSON *request, char **prompt, g4_err *err);

/* Parses JSON the way the renderer needs it: strict RFC 8259 numbers, nothing but
 * whitespace after the value, and every number node remembering its source text so that
 * 1.0 and 1 render differently. Release with cJSON_Delete. */
g4_status chat_json_parse(const char *text, size_t len, cJSON **out, g4_err *err);

/* Parses generated text (special tokens rendered as text) into content, reasoning (the
 * <|channel>thought\n...<channel|> span) and tool calls (<|tool_call>call:NAME{...}
 * <tool_call|>, Gemma's argument syntax with <|"|> string delimiters, converted to JSON
 * object text). Text after the first <turn|>, <eos> or <|tool_response> is ignored. A
 * malformed or cut-off tool call is not an error: its raw text stays in the content.
 * Fails only for invalid arguments or lack of memory. Release with chat_reply_clear. */
g4_status chat_parse_reply(const char *generated, size_t len, g4_chat_reply *reply,
                           g4_err *err);
void chat_reply_clear(g4_chat_reply *reply);

#endif
