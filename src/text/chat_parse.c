/* Splits generated text into answer, reasoning and tool calls. The model writes
 *   <|channel>thought\n{reasoning}<channel|>{answer}<turn|>
 * and calls tools with
 *   <|tool_call>call:NAME{key:VALUE,...}<tool_call|>
 * where strings are wrapped in <|"|>, keys are bare, and numbers, true/false/null,
 * {objects} and [lists] are written as in JSON. */
#include <stdlib.h>
#include <string.h>

#include "text/chat.h"
#include "text/chat_text.h"

#define QUOTE "<|\"|>"
#define MAX_ARGUMENT_DEPTH 64

/* ---- the argument syntax ---------------------------------------------------------------- */

typedef struct arg_parser {
    chat_span text;
    size_t pos;
    int depth;
    bool out_of_memory;
} arg_parser;

static bool at_literal(const arg_parser *p, const char *literal)
{
    size_t n = strlen(literal);
    return p->text.len - p->pos >= n && memcmp(p->text.ptr + p->pos, literal, n) == 0;
}

static bool take_literal(arg_parser *p, const char *literal)
{
    if (!at_literal(p, literal))
        return false;
    p->pos += strlen(literal);
    return true;
}

static void skip_space(arg_parser *p)
{
    while (p->pos < p->text.len && p->text.ptr[p->pos] && strchr(" \t\r\n", p->text.ptr[p->pos]))
        p->pos++;
}

/* A NUL-terminated copy for the cJSON constructors; NULL when out of memory. */
static char *copy_span(arg_parser *p, chat_span span)
{
    char *copy = malloc(span.len + 1);
    if (!copy) {
        p->out_of_memory = true;
        return NULL;
    }
    memcpy(copy, span.ptr, span.len);
    copy[span.len] = '\0';
    return copy;
}

static cJSON *make_string(arg_parser *p, chat_span span)
{
    char *text = copy_span(p, span);
    cJSON *item = text ? cJSON_CreateString(text) : NULL;
    free(text);
    if (text && !item)
        p->out_of_memory = true;
    return item;
}

/* <|"|>...<|"|>: everything up to the closing delimiter, taken literally. */
static bool take_quoted(arg_parser *p, chat_span *out)
{
    if (!take_literal(p, QUOTE))
        return false;
    size_t end = chat_span_find(p->text, p->pos, QUOTE);
    if (end == p->text.len)
        return false;
    *out = (chat_span){p->text.ptr + p->pos, end - p->pos};
    p->pos = end + strlen(QUOTE);
    return true;
}

static bool ends_bare_word(const arg_parser *p)
{
    char c = p->text.ptr[p->pos];
    return (c && strchr(",}]{[", c)) || at_literal(p, "<|");
}

/* An unquoted value or key: up to the next delimiter, trimmed. */
static bool take_bare(arg_parser *p, const char *also_stop_at, chat_span *out)
{
    size_t start = p->pos;
    while (p->pos < p->text.len && !ends_bare_word(p) &&
           !(also_stop_at && p->text.ptr[p->pos] && strchr(also_stop_at, p->text.ptr[p->pos])))
        p->pos++;
    *out = chat_strip((chat_span){p->text.ptr + start, p->pos - start});
    return out->len > 0;
}

static size_t skip_digits(chat_span s, size_t i)
{
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
        i++;
    return i;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, so it can be copied into JSON as is. */
static bool is_json_number(chat_span s)
{
    size_t i = s.len > 0 && s.ptr[0] == '-';
    if (i >= s.len || s.ptr[i] < '0' || s.ptr[i] > '9')
        return false;
    i = s.ptr[i] == '0' ? i + 1 : skip_digits(s, i);
    if (i < s.len && s.ptr[i] == '.') {
        size_t frac = i + 1;
        if ((i = skip_digits(s, frac)) == frac)
            return false;
    }
    if (i < s.len && (s.ptr[i] == 'e' || s.ptr[i] == 'E')) {
        size_t exp = i + 1 + (i + 1 < s.len && (s.ptr[i + 1] == '+' || s.ptr[i + 1] == '-'));
        if ((i = skip_digits(s, exp)) == exp)
            return false;
    }
    return i == s.len;
}

/* Bare words: literals, numbers, and anything else as a string (lenient with models
 * that forget the quotes). None is how the chat template prints null. */
static cJSON *make_bare_value(arg_parser *p, chat_span word)
{
    cJSON *item;
    if (chat_span_eq(word, "true") || chat_span_eq(word, "false"))
        item = cJSON_CreateBool(chat_span_eq(word, "true"));
    else if (chat_span_eq(word, "null") || chat_span_eq(word, "None"))
        item = cJSON_CreateNull();
    else if (!is_json_number(word))
        return make_string(p, word);
    else {
        char *text = copy_span(p, word);
        if (!text)
            return NULL;
        item = cJSON_CreateRaw(text);
        free(text);
    }
    if (!item)
        p->out_of_memory = true;
    return item;
}

static cJSON *parse_value(arg_parser *p);

static bool take_key(arg_parser *p, chat_span *key)
{
    skip_space(p);
    if (at_literal(p, QUOTE))
        return take_quoted(p, key);
    return take_bare(p, ":", key);
}

/* Adds or replaces (the last duplicate wins, as JSON readers expect). */
static bool add_member(arg_parser *p, cJSON *object, chat_span key, cJSON *value)
{
    char *name = copy_span(p, key);
    if (!name) {
        cJSON_Delete(value);
        return false;
    }
    bool ok = cJSON_GetObjectItemCaseSensitive(object, name)
                  ? cJSON_ReplaceItemInObjectCaseSensitive(object, name, value)
                  : cJSON_AddItemToObject(object, name, value);
    free(name);
    if (!ok) {
        cJSON_Delete(value);
        p->out_of_memory = true;
    }
    return ok;
}

static bool parse_member(arg_parser *p, cJSON *object)
{
    chat_span key;
    if (!take_key(p, &key))
        return false;
    skip_space(p);
    if (!take_literal(p, ":"))
        return false;
    cJSON *value = parse_value(p);
    return value && add_member(p, object, key, value);
}

static bool parse_list_item(arg_parser *p, cJSON *list)
{
    cJSON *value = parse_value(p);
    if (value && !cJSON_AddItemToArray(list, value)) {
        cJSON_Delete(value);
        p->out_of_memory = true;
        return false;
    }
    return value != NULL;
}

/* open ( item ( , item )* )? close, for objects and lists. */
static cJSON *parse_container(arg_parser *p, bool is_object)
{
    if (++p->depth > MAX_ARGUMENT_DEPTH)
        return NULL;
    cJSON *container = is_object ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!container) {
        p->out_of_memory = true;
        return NULL;
    }
    const char *close = is_object ? "}" : "]";
    p->pos++; /* the opening bracket */
    skip_space(p);
    bool ok = take_literal(p, close);
    while (!ok) {
        if (!(is_object ? parse_member(p, container) : parse_list_item(p, container)))
            break;
        skip_space(p);
        ok = take_literal(p, close);
        if (!ok && !take_literal(p, ","))
            break;
    }
    p->depth--;
    if (!ok) {
        cJSON_Delete(container);
        return NULL;
    }
    return container;
}

static cJSON *parse_value(arg_parser *p)
{
    skip_space(p);
    if (p->pos >= p->text.len)
        return NULL;
    char c = p->text.ptr[p->pos];
    if (c == '{' || c == '[')
        return parse_container(p, c == '{');
    chat_span word;
    if (at_literal(p, QUOTE))
        return take_quoted(p, &word) ? make_string(p, word) : NULL;
    return take_bare(p, NULL, &word) ? make_bare_value(p, word) : NULL;
}

/* ---- tool calls ------------------------------------------------------------------------- */

typedef enum call_result { CALL_OK, CALL_MALFORMED, CALL_OUT_OF_MEMORY } call_result;

static bool is_name_char(char c)
{
    return c && !strchr(" \t\r\n{}[]<>,:\"", c);
}

static char *json_text(const cJSON *value)
{
    char *printed = cJSON_PrintUnformatted(value);
    char *copy = printed ? strdup(printed) : NULL;
    cJSON_free(printed);
    return copy;
}

/* Parses call:NAME{...}<tool_call|> after the <|tool_call> at p->pos. A call whose
 * closing marker was cut off after a complete argument object is still a call. */
static call_result parse_tool_call(arg_parser *p, g4_tool_call *call)
{
    p->pos += strlen("<|tool_call>");
    if (!take_literal(p, "call:"))
        return CALL_MALFORMED;
    size_t name_start = p->pos;
    while (p->pos < p->text.len && is_name_char(p->text.ptr[p->pos]))
        p->pos++;
    chat_span name = {p->text.ptr + name_start, p->pos - name_start};
    if (name.len == 0 || !at_literal(p, "{"))
        return CALL_MALFORMED;
    cJSON *arguments = parse_value(p);
    if (!arguments)
        return p->out_of_memory ? CALL_OUT_OF_MEMORY : CALL_MALFORMED;
    skip_space(p);
    if (p->pos < p->text.len && !take_literal(p, "<tool_call|>")) {
        cJSON_Delete(arguments);
        return CALL_MALFORMED;
    }
    call->name = copy_span(p, name);
    call->arguments_json = json_text(arguments);
    cJSON_Delete(arguments);
    if (!call->name || !call->arguments_json) {
        free(call->name);
        free(call->arguments_json);
        return CALL_OUT_OF_MEMORY;
    }
    return CALL_OK;
}

/* ---- the reply -------------------------------------------------------------------------- */

typedef struct reply_builder {
    chat_span text;
    chat_buf content;
    chat_buf reasoning;
    g4_tool_call *calls;
    size_t n_calls;
    size_t cap_calls;
    bool out_of_memory;
} reply_builder;

static bool add_call(reply_builder *b, g4_tool_call call)
{
    if (b->n_calls == b->cap_calls) {
        size_t cap = b->cap_calls ? b->cap_calls * 2 : 4;
        g4_tool_call *grown = realloc(b->calls, cap * sizeof *grown);
        if (!grown)
            return false;
        b->calls = grown;
        b->cap_calls = cap;
    }
    b->calls[b->n_calls++] = call;
    return true;
}

/* Takes the tool call at the text position at; returns where the text goes on. A
 * malformed call stays in the content as raw text, up to its closing marker or the next
 * call. */
static size_t take_tool_call(reply_builder *b, size_t at)
{
    arg_parser p = {.text = b->text, .pos = at};
    g4_tool_call call = {0};
    call_result result = parse_tool_call(&p, &call);
    if (result == CALL_OK && add_call(b, call))
        return p.pos;
    if (result != CALL_MALFORMED) {
        free(call.name);
        free(call.arguments_json);
        b->out_of_memory = true;
        return b->text.len;
    }
    size_t close = chat_span_find(b->text, at, "<tool_call|>");
    size_t next = chat_span_find(b->text, at + 1, "<|tool_call>");
    size_t end = close < next ? close + strlen("<tool_call|>") : next;
    chat_buf_put(&b->content, b->text.ptr + at, end - at);
    return end;
}

/* Takes the channel span at the text position at into the reasoning (an unterminated
 * one runs to the end: generation stopped while thinking). */
static size_t take_channel(reply_builder *b, size_t at)
{
    chat_span text = b->text;
    size_t body = at + strlen("<|channel>");
    if (text.len - body >= 7 && memcmp(text.ptr + body, "thought", 7) == 0)
        body += 7;
    if (body < text.len && text.ptr[body] == '\n')
        body++;
    size_t close = chat_span_find(text, body, "<channel|>");
    if (b->reasoning.len > 0 && close > body)
        chat_buf_put(&b->reasoning, "\n", 1);
    chat_buf_put(&b->reasoning, text.ptr + body, close - body);
    return close == text.len ? close : close + strlen("<channel|>");
}

/* The reply ends at the first end-of-turn marker; what follows is not the model's. */
static size_t reply_length(chat_span text)
{
    static const char *const ends[] = {"<turn|>", "<eos>", "<|tool_response>"};
    size_t end = text.len;
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t at = chat_span_find(text, 0, ends[i]);
        if (at < end)
            end = at;
    }
    return end;
}

static void split_reply(reply_builder *b)
{
    size_t pos = 0;
    size_t next_channel = chat_span_find(b->text, 0, "<|channel>");
    size_t next_call = chat_span_find(b->text, 0, "<|tool_call>");
    while (!b->out_of_memory) {
        /* A marker is searched for again only once the text has moved past it. */
        if (next_channel < pos)
            next_channel = chat_span_find(b->text, pos, "<|channel>");
        if (next_call < pos)
            next_call = chat_span_find(b->text, pos, "<|tool_call>");
        size_t next = next_channel < next_call ? next_channel : next_call;
        chat_buf_put(&b->content, b->text.ptr + pos, next - pos);
        if (next == b->text.len)
            break;
        pos = next == next_channel ? take_channel(b, next) : take_tool_call(b, next);
    }
}

static char *stripped_copy(chat_buf *buf)
{
    chat_span text = chat_strip((chat_span){buf->data ? buf->data : "", buf->len});
    char *copy = malloc(text.len + 1);
    if (copy) {
        memcpy(copy, text.ptr, text.len);
        copy[text.len] = '\0';
    }
    return copy;
}

static g4_status finish_reply(reply_builder *b, g4_chat_reply *reply, g4_err *err)
{
    reply->tool_calls = b->calls;
    reply->n_tool_calls = b->n_calls;
    bool ok = !b->out_of_memory && !b->content.failed && !b->reasoning.failed;
    if (ok) {
        reply->content = stripped_copy(&b->content);
        chat_span thought =
            chat_strip((chat_span){b->reasoning.data ? b->reasoning.data : "", b->reasoning.len});
        if (thought.len > 0)
            reply->reasoning = stripped_copy(&b->reasoning);
        ok = reply->content && (thought.len == 0 || reply->reasoning);
    }
    chat_buf_free(&b->content);
    chat_buf_free(&b->reasoning);
    if (ok)
        return G4_OK;
    chat_reply_clear(reply);
    return g4_fail(err, G4_ERR_NO_MEMORY, "chat_parse_reply: out of memory");
}

g4_status chat_parse_reply(const char *generated, size_t len, g4_chat_reply *reply,
                           g4_err *err)
{
    if (!reply || (!generated && len > 0))
        return g4_fail(err, G4_ERR_INVALID_ARG, "chat_parse_reply: NULL argument");
    memset(reply, 0, sizeof *reply);
    reply_builder b = {.text = {generated ? generated : "", len}};
    b.text.len = reply_length(b.text);
    split_reply(&b);
    return finish_reply(&b, reply, err);
}

void chat_reply_clear(g4_chat_reply *reply)
{
    if (!reply)
        return;
    for (size_t i = 0; i < reply->n_tool_calls; i++) {
        free(reply->tool_calls[i].name);
        free(reply->tool_calls[i].arguments_json);
    }
    free(reply->tool_calls);
    free(reply->content);
    free(reply->reasoning);
    memset(reply, 0, sizeof *reply);
}
