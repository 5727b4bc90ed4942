#include "text/chat_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text/chat.h"
#include "text/chat_value.h"

/* The JSON types a field may have. */
enum {
    K_MISSING = 1 << 0,
    K_NULL = 1 << 1,
    K_BOOL = 1 << 2,
    K_NUMBER = 1 << 3,
    K_STRING = 1 << 4,
    K_ARRAY = 1 << 5,
    K_OBJECT = 1 << 6,
    K_ANY = (1 << 7) - 1,
    K_OPTIONAL = K_MISSING | K_NULL,
};

/* Walks the request keeping the path of the field being checked ("messages[2].role"). */
typedef struct checker {
    g4_err *err;
    char path[192];
    size_t len;
} checker;

static size_t path_push(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t path_push(checker *c, const char *fmt, ...)
{
    size_t mark = c->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->path + c->len, sizeof c->path - c->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->len = strnlen(c->path, sizeof c->path - 1);
    return mark;
}

static size_t path_push_key(checker *c, const char *key)
{
    return path_push(c, c->len ? ".%s" : "%s", key);
}

static void path_pop(checker *c, size_t mark)
{
    c->len = mark;
    c->path[mark] = '\0';
}

static g4_status check_fail(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static g4_status check_fail(checker *c, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return g4_fail(c->err, G4_ERR_FORMAT, "%s: %s", c->len ? c->path : "request", what);
}

static unsigned kind_of(const cJSON *v)
{
    if (!v)
        return K_MISSING;
    if (cJSON_IsNull(v))
        return K_NULL;
    if (cJSON_IsBool(v))
        return K_BOOL;
    if (cJSON_IsNumber(v))
        return K_NUMBER;
    if (cJSON_IsString(v))
        return K_STRING;
    if (cJSON_IsArray(v))
        return K_ARRAY;
    return cJSON_IsObject(v) ? K_OBJECT : K_ANY;
}

static const char *kind_name(unsigned kind)
{
    switch (kind) {
    case K_NULL: return "null";
    case K_BOOL: return "a boolean";
    case K_NUMBER: return "a number";
    case K_STRING: return "a string";
    case K_ARRAY: return "an array";
    case K_OBJECT: return "an object";
    default: return "an unsupported value";
    }
}

/* Checks the value at the current path; what describes the allowed types. */
static g4_status expect(checker *c, const cJSON *v, unsigned allowed, const char *what)
{
    unsigned kind = kind_of(v);
    if (kind & allowed)
        return G4_OK;
    if (kind == K_MISSING)
        return check_fail(c, "missing");
    return check_fail(c, "expected %s, got %s", what, kind_name(kind));
}

static g4_status expect_field(checker *c, const cJSON *object, const char *key,
                              unsigned allowed, const char *what)
{
    size_t mark = path_push_key(c, key);
    g4_status st = expect(c, jv_get(object, key), allowed, what);
    path_pop(c, mark);
    return st;
}

/* Runs check on every element of an array, with "[i]" on the path. */
static g4_status check_each(checker *c, const cJSON *array,
                            g4_status (*check)(checker *, const cJSON *))
{
    size_t i = 0;
    for (const cJSON *item = array->child; item; item = item->next, i++) {
        size_t mark = path_push(c, "[%zu]", i);
        g4_status st = check(c, item);
        path_pop(c, mark);
        if (st != G4_OK)
            return st;
    }
    return G4_OK;
}

static g4_status check_part(checker *c, const cJSON *part)
{
    g4_status st = expect(c, part, K_OBJECT, "an object");
    if (st == G4_OK)
        st = expect_field(c, part, "type", K_STRING, "a string");
    if (st == G4_OK && jv_is_text(jv_get(part, "type"), "text"))
        st = expect_field(c, part, "text", K_STRING, "a string");
    return st;
}

static g4_status check_content(checker *c, const cJSON *message, bool is_tool)
{
    size_t mark = path_push_key(c, "content");
    const cJSON *content = jv_get(message, "content");
    /* A tool result may be any JSON value; the template prints it as a value. */
    unsigned allowed = is_tool ? K_ANY : K_OPTIONAL | K_STRING | K_ARRAY;
    g4_status st = expect(c, content, allowed, "a string or an array of parts");
    if (st == G4_OK && cJSON_IsArray(content))
        st = check_each(c, content, check_part);
    path_pop(c, mark);
    return st;
}

/* A JSON-string "arguments" must hold a JSON object (or nothing at all). */
static g4_status check_arguments_text(checker *c, const cJSON *arguments)
{
    chat_span text = chat_strip(chat_span_of(arguments->valuestring));
    if (text.len == 0)
        return G4_OK;
    cJSON *parsed;
    g4_status st = chat_json_parse(text.ptr, text.len, &parsed, c->err);
    if (st != G4_OK)
        return g4_fail_context(c->err, "%s", c->path);
    if (!cJSON_IsObject(parsed))
        st = check_fail(c, "expected a JSON object, got %s", kind_name(kind_of(parsed)));
    else if (chat_nested_deeper_than(parsed, CHAT_MAX_DEPTH))
        st = check_fail(c, "nested more than %d levels deep", CHAT_MAX_DEPTH);
    cJSON_Delete(parsed);
    return st;
}

static g4_status check_function_call(checker *c, const cJSON *function)
{
    g4_status st = expect(c, function, K_OBJECT, "an object");
    if (st == G4_OK)
        st = expect_field(c, function, "name", K_STRING, "a string");
    if (st != G4_OK)
        return st;
    size_t mark = path_push_key(c, "arguments");
    const cJSON *arguments = jv_get(function, "arguments");
    st = expect(c, arguments, K_OPTIONAL | K_OBJECT | K_STRING, "an object or a JSON string");
    if (st == G4_OK && cJSON_IsString(arguments))
        st = check_arguments_text(c, arguments);
    path_pop(c, mark);
    return st;
}

static g4_status check_tool_call(checker *c, const cJSON *call)
{
    g4_status st = expect(c, call, K_OBJECT, "an object");
    if (st != G4_OK)
        return st;
    size_t mark = path_push_key(c, "function");
    st = check_function_call(c, jv_get(call, "function"));
    path_pop(c, mark);
    return st;
}

static g4_status check_tool_response(checker *c, const cJSON *response)
{
    g4_status st = expect(c, response, K_OBJECT, "an object");
    if (st == G4_OK)
        st = expect_field(c, response, "name", K_MISSING | K_STRING, "a string");
    return st;
}

static g4_status check_array_field(checker *c, const cJSON *object, const char *key,
                                   g4_status (*check)(checker *, const cJSON *))
{
    size_t mark = path_push_key(c, key);
    const cJSON *array = jv_get(object, key);
    g4_status st = expect(c, array, K_OPTIONAL | K_ARRAY, "an array");
    if (st == G4_OK && array && cJSON_IsArray(array))
        st = check_each(c, array, check);
    path_pop(c, mark);
    return st;
}

static bool is_known_role(const char *role)
{
    static const char *const roles[] = {"system", "developer", "user", "assistant", "tool"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(role, roles[i]) == 0)
            return true;
    return false;
}

static g4_status check_role(checker *c, const cJSON *message)
{
    g4_status st = expect_field(c, message, "role", K_STRING, "a string");
    if (st != G4_OK)
        return st;
    const char *role = jv_get(message, "role")->valuestring;
    if (is_known_role(role))
        return G4_OK;
    size_t mark = path_push_key(c, "role");
    st = check_fail(c, "unknown role '%.40s'", role);
    path_pop(c, mark);
    return st;
}

static g4_status check_message(checker *c, const cJSON *message)
{
    g4_status st = expect(c, message, K_OBJECT, "an object");
    if (st == G4_OK)
        st = check_role(c, message);
    if (st != G4_OK)
        return st;
    bool is_tool = jv_is_text(jv_get(message, "role"), "tool");
    st = check_content(c, message, is_tool);
    if (st == G4_OK)
        st = expect_field(c, message, "reasoning", K_OPTIONAL | K_STRING, "a string");
    if (st == G4_OK)
        st = expect_field(c, message, "reasoning_content", K_OPTIONAL | K_STRING, "a string");
    if (st == G4_OK)
        st = check_array_field(c, message, "tool_calls", check_tool_call);
    if (st == G4_OK)
        st = check_array_field(c, message, "tool_responses", check_tool_response);
    if (st == G4_OK && is_tool)
        st = expect_field(c, message, "name", K_OPTIONAL | K_STRING, "a string");
    return st;
}

static g4_status check_parameters(checker *c, const cJSON *function)
{
    size_t mark = path_push_key(c, "parameters");
    const cJSON *parameters = jv_get(function, "parameters");
    g4_status st = expect(c, parameters, K_OPTIONAL | K_OBJECT, "an object");
    const cJSON *properties = jv_get(parameters, "properties");
    if (st == G4_OK && jv_truthy(properties))
        st = expect_field(c, parameters, "properties", K_OBJECT, "an object");
    path_pop(c, mark);
    return st;
}

static g4_status check_tool(checker *c, const cJSON *tool)
{
    g4_status st = expect(c, tool, K_OBJECT, "an object");
    if (st != G4_OK)
        return st;
    size_t mark = path_push_key(c, "function");
    const cJSON *function = jv_get(tool, "function");
    st = expect(c, function, K_OBJECT, "an object");
    if (st == G4_OK)
        st = expect_field(c, function, "name", K_STRING, "a string");
    if (st == G4_OK)
        st = check_parameters(c, function);
    path_pop(c, mark);
    return st;
}

static g4_status check_messages(checker *c, const cJSON *request)
{
    size_t mark = path_push_key(c, "messages");
    const cJSON *messages = jv_get(request, "messages");
    g4_status st = expect(c, messages, K_ARRAY, "an array");
    if (st == G4_OK && !messages->child)
        st = check_fail(c, "must not be empty");
    if (st == G4_OK)
        st = check_each(c, messages, check_message);
    path_pop(c, mark);
    return st;
}

static g4_status check_flags(checker *c, const cJSON *object)
{
    g4_status st = expect_field(c, object, "enable_thinking", K_OPTIONAL | K_BOOL, "a boolean");
    if (st == G4_OK)
        st = expect_field(c, object, "add_generation_prompt", K_OPTIONAL | K_BOOL, "a boolean");
    return st;
}

static g4_status check_template_vars(checker *c, const cJSON *request)
{
    g4_status st = check_flags(c, request);
    static const char *const holders[] = {"kwargs", "chat_template_kwargs"};
    for (size_t i = 0; st == G4_OK && i < 2; i++) {
        st = expect_field(c, request, holders[i], K_OPTIONAL | K_OBJECT, "an object");
        if (st == G4_OK) {
            size_t mark = path_push_key(c, holders[i]);
            st = check_flags(c, jv_get(request, holders[i]));
            path_pop(c, mark);
        }
    }
    return st;
}

g4_status chat_check_request(const cJSON *request, g4_err *err)
{
    checker c = {.err = err};
    g4_status st = expect(&c, request, K_OBJECT, "a JSON object");
    if (st == G4_OK && chat_nested_deeper_than(request, CHAT_MAX_DEPTH))
        st = check_fail(&c, "nested more than %d levels deep", CHAT_MAX_DEPTH);
    if (st == G4_OK)
        st = check_messages(&c, request);
    if (st == G4_OK)
        st = check_array_field(&c, request, "tools", check_tool);
    if (st == G4_OK)
        st = check_template_vars(&c, request);
    return st;
}

const cJSON *chat_template_var(const cJSON *request, const char *name)
{
    static const char *const holders[] = {"chat_template_kwargs", "kwargs"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *holder = jv_get(request, holders[i]);
        if (jv_has(holder, name))
            return jv_get(holder, name);
    }
    return jv_get(request, name);
}

bool chat_nested_deeper_than(const cJSON *value, int levels)
{
    if (!cJSON_IsArray(value) && !cJSON_IsObject(value))
        return false;
    if (levels <= 0)
        return true;
    for (const cJSON *child = value->child; child; child = child->next)
        if (chat_nested_deeper_than(child, levels - 1))
            return true;
    return false;
}
