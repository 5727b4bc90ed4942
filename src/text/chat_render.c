/* Renders chat requests the way Gemma 4's chat template (chat_template.jinja, the text in
 * the GGUF's tokenizer.chat_template) does. Functions are named after the template's
 * macros and blocks; comments quote the template where its behaviour is surprising.
 *
 * Deliberate departures, all for inputs where the template fails or drops what the user
 * sent: "image_url"/"input_audio"/"video_url" parts render as <|image|>/<|audio|>/<|video|>
 * (the template only knows "image"/"audio"); tool-call arguments given as a JSON string are
 * parsed and rendered like an object (the template would paste the JSON text verbatim); a system
 * message whose content is an array of parts renders its parts (the template would print
 * the Python list); a tool result that is a JSON object renders as response:NAME{k:v}
 * (the template fails on it). */
#include <stdlib.h>
#include <string.h>

#include "text/chat.h"
#include "text/chat_request.h"
#include "text/chat_value.h"

#define QUOTE "<|\"|>"

/* The template's ns.prev_message_type, reduced to what changes the output. */
typedef enum previous_kind {
    PREVIOUS_OTHER,
    PREVIOUS_TOOL_CALL,
    PREVIOUS_TOOL_RESPONSE,
} previous_kind;

typedef struct renderer {
    chat_buf out;
    g4_err *err;
    g4_status status; /* the first error; the output is discarded when set */
    size_t tool_index;
    previous_kind previous;
    const cJSON **messages; /* the request's messages, indexable */
    size_t n_messages;
} renderer;

static void put(renderer *r, const char *text)
{
    chat_buf_puts(&r->out, text);
}

static void put_span(renderer *r, chat_span text)
{
    chat_buf_put(&r->out, text.ptr, text.len);
}

static void note_out_of_memory(renderer *r)
{
    r->out.failed = true;
}

static bool key_is(const char *key, const char *name)
{
    return strcmp(key, name) == 0;
}

static const char *role_of(const cJSON *message)
{
    return jv_get(message, "role")->valuestring;
}

/* ---- macro format_argument -------------------------------------------------------------- */

static void put_argument(renderer *r, const cJSON *value, bool escape_keys);

/* key:value pairs of an object in dictsort order, separated by commas. */
static void put_argument_members(renderer *r, const cJSON *object, bool escape_keys)
{
    jv_member *members;
    size_t n;
    if (!jv_members(object, true, &members, &n)) {
        note_out_of_memory(r);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            put(r, ",");
        if (escape_keys)
            jv_put_quoted(&r->out, chat_span_of(members[i].key));
        else
            put(r, members[i].key);
        put(r, ":");
        put_argument(r, members[i].value, escape_keys);
    }
    free(members);
}

static void put_argument(renderer *r, const cJSON *value, bool escape_keys)
{
    if (!value) {
        put(r, "[]"); /* Jinja iterates an undefined value as an empty sequence */
    } else if (cJSON_IsString(value)) {
        jv_put_quoted(&r->out, chat_span_of(value->valuestring));
    } else if (cJSON_IsBool(value)) {
        put(r, cJSON_IsTrue(value) ? "true" : "false");
    } else if (cJSON_IsObject(value)) {
        put(r, "{");
        put_argument_members(r, value, escape_keys);
        put(r, "}");
    } else if (cJSON_IsArray(value)) {
        put(r, "[");
        for (const cJSON *item = value->child; item; item = item->next) {
            put_argument(r, item, escape_keys);
            if (item->next)
                put(r, ",");
        }
        put(r, "]");
    } else {
        jv_put_str(&r->out, value); /* numbers, and null as None */
    }
}

/* ---- macro format_parameters ------------------------------------------------------------ */

static void put_quoted_item(renderer *r, chat_span text, bool upper)
{
    put(r, QUOTE);
    if (upper)
        chat_put_upper(&r->out, text);
    else
        put_span(r, text);
    put(r, QUOTE);
}

static void put_quoted_list_items(renderer *r, const cJSON *list, bool upper)
{
    chat_buf text = {0};
    for (const cJSON *item = list->child; item; item = item->next) {
        if (item != list->child)
            put(r, ",");
        text.len = 0;
        jv_put_str(&text, item);
        put_quoted_item(r, (chat_span){text.data ? text.data : "", text.len}, upper);
    }
    if (text.failed)
        note_out_of_memory(r);
    chat_buf_free(&text);
}

static void put_quoted_characters(renderer *r, chat_span text, bool upper)
{
    for (size_t pos = 0; pos < text.len;) {
        size_t start = pos;
        chat_utf8_next(text, &pos);
        if (start > 0)
            put(r, ",");
        put_quoted_item(r, (chat_span){text.ptr + start, pos - start}, upper);
    }
}

static void put_quoted_keys(renderer *r, const cJSON *object, bool upper)
{
    jv_member *members;
    size_t n;
    if (!jv_members(object, false, &members, &n)) {
        note_out_of_memory(r);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            put(r, ",");
        put_quoted_item(r, chat_span_of(members[i].key), upper);
    }
    free(members);
}

/* "[<|"|>a<|"|>,<|"|>b<|"|>]" from a Jinja for-loop over value, each item as str()
 * (upper-cased for the map('upper') of item types): Jinja iterates a list's items, a
 * string's characters and an object's keys. False when value cannot be iterated. */
static bool put_quoted_items(renderer *r, const cJSON *value, bool upper)
{
    if (!cJSON_IsArray(value) && !cJSON_IsString(value) && !cJSON_IsObject(value))
        return false;
    put(r, "[");
    if (cJSON_IsArray(value))
        put_quoted_list_items(r, value, upper);
    else if (cJSON_IsString(value))
        put_quoted_characters(r, chat_span_of(value->valuestring), upper);
    else
        put_quoted_keys(r, value, upper);
    put(r, "]");
    return true;
}

static void fail_schema(renderer *r, const char *key, const char *expected)
{
    if (r->status == G4_OK)
        r->status = g4_fail(r->err, G4_ERR_FORMAT, "tools[%zu].function.parameters: '%s' "
                            "must be %s", r->tool_index, key, expected);
}

static void put_parameters(renderer *r, const cJSON *properties);

/* {%- if add_comma %},{%- else -%} {%- set add_comma = true -%} {% endif -%} */
static void put_separator(renderer *r, bool *add_comma)
{
    if (*add_comma)
        put(r, ",");
    *add_comma = true;
}

static void put_items_member(renderer *r, const char *key, const cJSON *value)
{
    if (key_is(key, "properties")) {
        put(r, "properties:{");
        if (cJSON_IsObject(value))
            put_parameters(r, value);
        put(r, "}");
    } else if (key_is(key, "required")) {
        put(r, "required:");
        if (!put_quoted_items(r, value, false))
            fail_schema(r, "required", "a list");
    } else if (key_is(key, "type")) {
        put(r, "type:");
        if (cJSON_IsString(value))
            put_quoted_item(r, chat_span_of(value->valuestring), true);
        else if (!put_quoted_items(r, value, true))
            fail_schema(r, "type", "a string or a list");
    } else {
        put(r, key);
        put(r, ":");
        put_argument(r, value, true);
    }
}

/* items:{...} of an array property; null members are left out. */
static void put_array_items(renderer *r, const cJSON *items)
{
    jv_member *members;
    size_t n;
    if (!jv_members(items, true, &members, &n)) {
        note_out_of_memory(r);
        return;
    }
    put(r, "items:{");
    bool found_first = false;
    for (size_t i = 0; i < n; i++) {
        if (cJSON_IsNull(members[i].value))
            continue;
        if (found_first)
            put(r, ",");
        found_first = true;
        put_items_member(r, members[i].key, members[i].value);
    }
    put(r, "}");
    free(members);
}

static void put_object_schema(renderer *r, const cJSON *schema, bool *add_comma)
{
    const cJSON *properties = jv_get(schema, "properties");
    put_separator(r, add_comma);
    put(r, "properties:{");
    /* {%- elif value is mapping -%}: without "properties" the schema itself is walked. */
    put_parameters(r, cJSON_IsObject(properties) ? properties : schema);
    put(r, "}");
    const cJSON *required = jv_get(schema, "required");
    if (jv_truthy(required)) {
        put_separator(r, add_comma);
        put(r, "required:");
        if (!put_quoted_items(r, required, false))
            fail_schema(r, "required", "a list");
    }
}

static void put_property(renderer *r, const char *key, const cJSON *schema)
{
    chat_buf type = {0};
    jv_put_upper(&type, jv_get(schema, "type"));
    chat_span type_name = {type.data ? type.data : "", type.len};
    put(r, key);
    put(r, ":{");
    bool add_comma = false;
    const cJSON *description = jv_get(schema, "description");
    if (jv_truthy(description)) {
        put(r, "description:" QUOTE);
        jv_put_str(&r->out, description);
        put(r, QUOTE);
        add_comma = true;
    }
    const cJSON *enum_values = jv_get(schema, "enum");
    const cJSON *items = jv_get(schema, "items");
    if (chat_span_eq(type_name, "STRING") && jv_truthy(enum_values)) {
        put_separator(r, &add_comma);
        put(r, "enum:");
        put_argument(r, enum_values, true);
    } else if (chat_span_eq(type_name, "ARRAY") && cJSON_IsObject(items) && items->child) {
        put_separator(r, &add_comma);
        put_array_items(r, items);
    }
    if (jv_truthy(jv_get(schema, "nullable"))) {
        put_separator(r, &add_comma);
        put(r, "nullable:true");
    }
    if (chat_span_eq(type_name, "OBJECT"))
        put_object_schema(r, schema, &add_comma);
    put_separator(r, &add_comma);
    put(r, "type:" QUOTE);
    put_span(r, type_name);
    put(r, QUOTE "}");
    if (type.failed)
        note_out_of_memory(r);
    chat_buf_free(&type);
}

/* Keys that describe the schema itself are never declared as parameters. */
static bool is_standard_key(const char *key)
{
    static const char *const standard[] = {"description", "type", "properties", "required",
                                           "nullable"};
    for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++)
        if (key_is(key, standard[i]))
            return true;
    return false;
}

static void put_parameters(renderer *r, const cJSON *properties)
{
    jv_member *members;
    size_t n;
    if (!jv_members(properties, true, &members, &n)) {
        note_out_of_memory(r);
        return;
    }
    bool found_first = false;
    for (size_t i = 0; i < n; i++) {
        if (is_standard_key(members[i].key))
            continue;
        if (found_first)
            put(r, ",");
        found_first = true;
        put_property(r, members[i].key, members[i].value);
    }
    free(members);
}

/* ---- macro format_function_declaration -------------------------------------------------- */

static void put_upper_quoted(renderer *r, const cJSON *value)
{
    put(r, QUOTE);
    jv_put_upper(&r->out, value);
    put(r, QUOTE);
}

static void put_function_parameters(renderer *r, const cJSON *parameters)
{
    put(r, ",parameters:{");
    const cJSON *properties = jv_get(parameters, "properties");
    if (jv_truthy(properties)) {
        put(r, "properties:{");
        put_parameters(r, properties);
        put(r, "},");
    }
    const cJSON *required = jv_get(parameters, "required");
    if (jv_truthy(required)) {
        put(r, "required:");
        if (!put_quoted_items(r, required, false))
            fail_schema(r, "required", "a list");
        put(r, ",");
    }
    /* The closing brace comes only with a type, as in the template. */
    const cJSON *type = jv_get(parameters, "type");
    if (jv_truthy(type)) {
        put(r, "type:");
        put_upper_quoted(r, type);
        put(r, "}");
    }
}

static void put_function_response(renderer *r, const cJSON *response)
{
    put(r, ",response:{");
    const cJSON *description = jv_get(response, "description");
    if (jv_truthy(description)) {
        put(r, "description:" QUOTE);
        jv_put_str(&r->out, description);
        put(r, QUOTE ",");
    }
    chat_buf type = {0};
    jv_put_upper(&type, jv_get(response, "type"));
    if (chat_span_eq((chat_span){type.data ? type.data : "", type.len}, "OBJECT"))
        put(r, "type:" QUOTE "OBJECT" QUOTE "}");
    if (type.failed)
        note_out_of_memory(r);
    chat_buf_free(&type);
}

static void put_tool_declaration(renderer *r, const cJSON *tool)
{
    const cJSON *function = jv_get(tool, "function");
    put(r, "<|tool>declaration:");
    put(r, jv_get(function, "name")->valuestring);
    put(r, "{description:" QUOTE);
    jv_put_str(&r->out, jv_get(function, "description"));
    put(r, QUOTE);
    const cJSON *parameters = jv_get(function, "parameters");
    if (jv_truthy(parameters))
        put_function_parameters(r, parameters);
    if (jv_has(function, "response"))
        put_function_response(r, jv_get(function, "response"));
    put(r, "}<tool|>");
}

/* ---- message content -------------------------------------------------------------------- */

/* Macro strip_thinking: drops every <|channel>...<channel|> span, then trims. */
static void put_without_thinking(renderer *r, chat_span text)
{
    chat_buf kept = {0};
    size_t pos = 0;
    for (;;) {
        size_t close = chat_span_find(text, pos, "<channel|>");
        chat_span part = {text.ptr + pos, close - pos};
        chat_buf_put(&kept, part.ptr, chat_span_find(part, 0, "<|channel>"));
        if (close == text.len)
            break;
        pos = close + strlen("<channel|>");
    }
    if (kept.failed)
        note_out_of_memory(r);
    put_span(r, chat_strip((chat_span){kept.data ? kept.data : "", kept.len}));
    chat_buf_free(&kept);
}

static void put_text(renderer *r, const char *text, bool is_model)
{
    if (is_model)
        put_without_thinking(r, chat_span_of(text));
    else
        put_span(r, chat_strip(chat_span_of(text)));
}

static const char *media_placeholder(const char *type)
{
    if (key_is(type, "image") || key_is(type, "image_url"))
        return "<|image|>";
    if (key_is(type, "audio") || key_is(type, "input_audio"))
        return "<|audio|>";
    if (key_is(type, "video") || key_is(type, "video_url"))
        return "<|video|>";
    return NULL;
}

/* Text parts are trimmed one by one; media parts become placeholders; other part types
 * render nothing. */
static void put_parts(renderer *r, const cJSON *parts, bool is_model, bool counts_as_message)
{
    for (const cJSON *part = parts->child; part; part = part->next) {
        const char *type = jv_get(part, "type")->valuestring;
        const char *placeholder = media_placeholder(type);
        if (key_is(type, "text")) {
            put_text(r, jv_get(part, "text")->valuestring, is_model);
        } else if (placeholder) {
            put(r, placeholder);
            if (counts_as_message)
                r->previous = PREVIOUS_OTHER;
        }
    }
}

static void put_content(renderer *r, const cJSON *content, bool is_model)
{
    if (cJSON_IsString(content))
        put_text(r, content->valuestring, is_model);
    else if (cJSON_IsArray(content))
        put_parts(r, content, is_model, true);
}

/* ---- tool calls and responses ----------------------------------------------------------- */

static void put_call_arguments(renderer *r, const cJSON *arguments)
{
    if (cJSON_IsObject(arguments)) {
        put_argument_members(r, arguments, false);
        return;
    }
    if (!cJSON_IsString(arguments))
        return;
    chat_span text = chat_strip(chat_span_of(arguments->valuestring));
    cJSON *parsed = NULL;
    g4_status st = text.len ? chat_json_parse(text.ptr, text.len, &parsed, r->err) : G4_OK;
    if (st != G4_OK && r->status == G4_OK)
        r->status = st; /* validated earlier, so only memory can run out here */
    if (parsed)
        put_argument_members(r, parsed, false);
    cJSON_Delete(parsed);
}

static void put_tool_calls(renderer *r, const cJSON *tool_calls)
{
    for (const cJSON *call = tool_calls->child; call; call = call->next) {
        const cJSON *function = jv_get(call, "function");
        put(r, "<|tool_call>call:");
        put(r, jv_get(function, "name")->valuestring);
        put(r, "{");
        put_call_arguments(r, jv_get(function, "arguments"));
        put(r, "}<tool_call|>");
    }
    r->previous = PREVIOUS_TOOL_CALL;
}

/* Macro format_tool_response_block for a value: an object lists its members, anything
 * else becomes {value:...}. */
static void put_tool_response(renderer *r, const char *name, const cJSON *response)
{
    put(r, "<|tool_response>response:");
    put(r, name);
    put(r, "{");
    if (cJSON_IsObject(response)) {
        put_argument_members(r, response, false);
    } else {
        put(r, "value:");
        put_argument(r, response, false);
    }
    put(r, "}<tool_response|>");
    r->previous = PREVIOUS_TOOL_RESPONSE;
}

static void put_tool_response_text(renderer *r, const char *name, chat_span text)
{
    put(r, "<|tool_response>response:");
    put(r, name);
    put(r, "{value:");
    jv_put_quoted(&r->out, text);
    put(r, "}<tool_response|>");
    r->previous = PREVIOUS_TOOL_RESPONSE;
}

/* A tool message's function name: its "name", replaced by the name of every tool call
 * whose id equals its tool_call_id (a missing id equals a missing id, so without ids the
 * last call's name wins, as in the template). */
static const char *tool_response_name(const cJSON *tool_calls, const cJSON *tool_message)
{
    const cJSON *name = jv_get(tool_message, "name");
    const cJSON *wanted = jv_get(tool_message, "tool_call_id");
    for (const cJSON *call = tool_calls->child; call; call = call->next)
        if (jv_equal(jv_get(call, "id"), wanted))
            name = jv_get(jv_get(call, "function"), "name");
    return cJSON_IsString(name) ? name->valuestring : NULL;
}

static void put_tool_message(renderer *r, const cJSON *tool_calls, size_t index)
{
    const cJSON *message = r->messages[index];
    const char *name = tool_response_name(tool_calls, message);
    if (!name) {
        if (r->status == G4_OK)
            r->status = g4_fail(r->err, G4_ERR_FORMAT, "messages[%zu]: tool result has no "
                                "name and its tool_call_id matches no tool call", index);
        return;
    }
    const cJSON *content = jv_get(message, "content");
    if (cJSON_IsString(content)) {
        put_tool_response_text(r, name, chat_span_of(content->valuestring));
    } else if (cJSON_IsArray(content)) {
        chat_buf text = {0};
        for (const cJSON *part = content->child; part; part = part->next)
            if (jv_is_text(jv_get(part, "type"), "text"))
                chat_buf_puts(&text, jv_get(part, "text")->valuestring);
        if (text.failed)
            note_out_of_memory(r);
        put_tool_response_text(r, name, (chat_span){text.data ? text.data : "", text.len});
        chat_buf_free(&text);
    } else {
        /* follow.get('content'): a missing content is None, not undefined. */
        static const cJSON none = {.type = cJSON_NULL};
        put_tool_response(r, name, content ? content : &none);
    }
}

/* Renders the results answering this message's tool calls: its legacy "tool_responses",
 * else the tool messages right after it. Returns whether any was rendered. */
static bool put_tool_results(renderer *r, size_t index)
{
    const cJSON *message = r->messages[index];
    const cJSON *legacy = jv_get(message, "tool_responses");
    if (jv_truthy(legacy)) {
        for (const cJSON *result = legacy->child; result; result = result->next) {
            const cJSON *name = jv_get(result, "name");
            put_tool_response(r, name ? name->valuestring : "unknown",
                              jv_get(result, "response"));
        }
        return true;
    }
    const cJSON *tool_calls = jv_get(message, "tool_calls");
    if (!jv_truthy(tool_calls))
        return false;
    size_t k = index + 1;
    for (; k < r->n_messages && key_is(role_of(r->messages[k]), "tool"); k++)
        put_tool_message(r, tool_calls, k);
    return k > index + 1;
}

/* ---- the message loop ------------------------------------------------------------------- */

typedef struct turn_context {
    bool has_user;
    size_t last_user;       /* index of the last user message */
    const char *previous_role; /* role of the previous non-tool message, or NULL */
} turn_context;

static void put_reasoning(renderer *r, const cJSON *message, size_t index,
                          const turn_context *turns)
{
    const cJSON *reasoning = jv_get(message, "reasoning");
    if (!jv_truthy(reasoning))
        reasoning = jv_get(message, "reasoning_content");
    bool after_last_user = !turns->has_user || index > turns->last_user;
    /* Only tool-calling turns after the last user message keep their reasoning. */
    if (jv_truthy(reasoning) && after_last_user && jv_truthy(jv_get(message, "tool_calls"))) {
        put(r, "<|channel>thought\n");
        put(r, reasoning->valuestring);
        put(r, "\n<channel|>");
    }
}

static void put_message(renderer *r, size_t index, const turn_context *turns)
{
    const cJSON *message = r->messages[index];
    const char *role = role_of(message);
    bool is_model = key_is(role, "assistant");
    r->previous = PREVIOUS_OTHER;
    /* An assistant message right after another one continues the same model turn. */
    bool continues = is_model && turns->previous_role && key_is(turns->previous_role, "assistant");
    if (!continues) {
        put(r, "<|turn>");
        put(r, is_model ? "model" : role);
        put(r, "\n");
    }
    put_reasoning(r, message, index, turns);
    const cJSON *tool_calls = jv_get(message, "tool_calls");
    if (jv_truthy(tool_calls))
        put_tool_calls(r, tool_calls);
    bool answered = put_tool_results(r, index);
    const cJSON *content = jv_get(message, "content");
    put_content(r, content, is_model);
    if (r->previous == PREVIOUS_TOOL_CALL && !answered)
        put(r, "<|tool_response>"); /* the model's turn ends waiting for results */
    else if (!(answered && !jv_truthy(content)))
        put(r, "<turn|>\n");
}

static void put_messages(renderer *r, size_t first)
{
    turn_context turns = {0};
    for (size_t i = first; i < r->n_messages; i++) {
        if (key_is(role_of(r->messages[i]), "user")) {
            turns.has_user = true;
            turns.last_user = i;
        }
    }
    for (size_t i = first; i < r->n_messages && r->status == G4_OK; i++) {
        const char *role = role_of(r->messages[i]);
        if (key_is(role, "tool"))
            continue; /* rendered with the tool calls they answer, or not at all */
        put_message(r, i, &turns);
        turns.previous_role = role;
    }
}

/* ---- the system turn and the generation prompt ------------------------------------------ */

static bool is_system_role(const char *role)
{
    return key_is(role, "system") || key_is(role, "developer");
}

static void put_system_content(renderer *r, const cJSON *content)
{
    if (!cJSON_IsArray(content)) {
        chat_buf text = {0};
        jv_put_str(&text, content); /* {{ messages[0]['content'] | trim }} */
        if (text.failed)
            note_out_of_memory(r);
        put_span(r, chat_strip((chat_span){text.data ? text.data : "", text.len}));
        chat_buf_free(&text);
        return;
    }
    renderer parts = {.err = r->err};
    put_parts(&parts, content, false, false);
    if (parts.out.failed)
        note_out_of_memory(r);
    put_span(r, chat_strip((chat_span){parts.out.data ? parts.out.data : "", parts.out.len}));
    chat_buf_free(&parts.out);
}

/* Emitted when thinking is on, tools are declared, or the first message is a system or
 * developer message (which it then consumes). Returns the index of the next message. */
static size_t put_system_turn(renderer *r, const cJSON *tools, bool thinking)
{
    const cJSON *first = r->messages[0];
    bool has_system = is_system_role(role_of(first));
    if (!thinking && !jv_truthy(tools) && !has_system)
        return 0;
    put(r, "<|turn>system\n");
    if (thinking)
        put(r, "<|think|>\n");
    if (has_system)
        put_system_content(r, jv_get(first, "content"));
    if (jv_truthy(tools)) {
        r->tool_index = 0;
        for (const cJSON *tool = tools->child; tool; tool = tool->next, r->tool_index++)
            put_tool_declaration(r, tool);
    }
    put(r, "<turn|>\n");
    return has_system ? 1 : 0;
}

static void put_generation_prompt(renderer *r, bool thinking)
{
    /* After a tool call or its results the model continues its own turn. */
    if (r->previous == PREVIOUS_TOOL_CALL || r->previous == PREVIOUS_TOOL_RESPONSE)
        return;
    put(r, "<|turn>model\n");
    if (!thinking)
        put(r, "<|channel>thought\n<channel|>");
}

static bool flag_value(const cJSON *request, const char *name, bool missing)
{
    const cJSON *value = chat_template_var(request, name);
    return value && !cJSON_IsNull(value) ? cJSON_IsTrue(value) : missing;
}

static g4_status index_messages(renderer *r, const cJSON *messages)
{
    size_t n = (size_t)cJSON_GetArraySize(messages);
    r->messages = malloc(n * sizeof *r->messages);
    if (!r->messages)
        return g4_fail(r->err, G4_ERR_NO_MEMORY, "chat_render: out of memory");
    const cJSON *message = messages->child;
    for (size_t i = 0; i < n; i++, message = message->next)
        r->messages[i] = message;
    r->n_messages = n;
    return G4_OK;
}

g4_status chat_render_json(const cJSON *request, char **prompt, g4_err *err)
{
    if (!prompt)
        return g4_fail(err, G4_ERR_INVALID_ARG, "chat_render: no output pointer");
    *prompt = NULL;
    g4_status st = chat_check_request(request, err);
    if (st != G4_OK)
        return st;
    renderer r = {.err = err};
    st = index_messages(&r, jv_get(request, "messages"));
    if (st != G4_OK)
        return st;
    bool thinking = flag_value(request, "enable_thinking", false);
    put(&r, "<bos>");
    size_t first = put_system_turn(&r, jv_get(request, "tools"), thinking);
    put_messages(&r, first);
    if (flag_value(request, "add_generation_prompt", true))
        put_generation_prompt(&r, thinking);
    free(r.messages);
    if (r.status != G4_OK) {
        chat_buf_free(&r.out);
        return r.status;
    }
    *prompt = chat_buf_take(&r.out);
    if (!*prompt)
        return g4_fail(err, G4_ERR_NO_MEMORY, "chat_render: out of memory");
    return G4_OK;
}

g4_status chat_render(const char *request_json, size_t len, char **prompt, g4_err *err)
{
    if (!prompt)
        return g4_fail(err, G4_ERR_INVALID_ARG, "chat_render: no output pointer");
    *prompt = NULL;
    cJSON *request;
    g4_status st = chat_json_parse(request_json, len, &request, err);
    if (st != G4_OK)
        return g4_fail_context(err, "request");
    st = chat_render_json(request, prompt, err);
    cJSON_Delete(request);
    return st;
}
