/* JSON parsing for the renderer: cJSON does the parsing, then every number node gets its
 * source text (in valuestring, which cJSON leaves unused for numbers and frees with the
 * node) because the template prints 20 and 20.0 differently, as Python would. */
#include <stdbool.h>
#include <string.h>

#include "text/chat.h"

typedef struct number_scanner {
    const char *text;
    size_t len;
    size_t pos;
} number_scanner;

static bool is_number_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static size_t skip_string(const char *text, size_t len, size_t pos)
{
    for (pos++; pos < len && text[pos] != '"'; pos++)
        if (text[pos] == '\\')
            pos++;
    return pos + 1;
}

/* Finds the next number outside strings, in document order. */
static bool next_number(number_scanner *scan, size_t *start, size_t *len)
{
    while (scan->pos < scan->len) {
        char c = scan->text[scan->pos];
        if (c == '"') {
            scan->pos = skip_string(scan->text, scan->len, scan->pos);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            *start = scan->pos;
            while (scan->pos < scan->len && is_number_char(scan->text[scan->pos]))
                scan->pos++;
            *len = scan->pos - *start;
            return true;
        } else {
            scan->pos++;
        }
    }
    return false;
}

static size_t skip_digits(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (cJSON accepts more). */
static bool is_strict_json_number(const char *s, size_t n)
{
    size_t i = s[0] == '-';
    if (i >= n || s[i] < '0' || s[i] > '9')
        return false;
    i = s[i] == '0' ? i + 1 : skip_digits(s, n, i);
    if (i < n && s[i] == '.') {
        size_t frac = i + 1;
        i = skip_digits(s, n, frac);
        if (i == frac)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp = i + 1 + (i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-'));
        i = skip_digits(s, n, exp);
        if (i == exp)
            return false;
    }
    return i == n;
}

static g4_status attach_lexeme(cJSON *number, number_scanner *scan, g4_err *err)
{
    size_t start, len;
    if (!next_number(scan, &start, &len))
        return g4_fail(err, G4_ERR_INTERNAL, "number text not found");
    if (!is_strict_json_number(scan->text + start, len))
        return g4_fail(err, G4_ERR_FORMAT, "invalid number '%.*s' at byte %zu",
                       (int)(len < 40 ? len : 40), scan->text + start, start);
    char *lexeme = cJSON_malloc(len + 1);
    if (!lexeme)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    memcpy(lexeme, scan->text + start, len);
    lexeme[len] = '\0';
    number->valuestring = lexeme;
    return G4_OK;
}

/* Pre-order over the tree meets numbers in the order they appear in the text. The depth
 * is bounded by cJSON's nesting limit. */
static g4_status attach_lexemes(cJSON *node, number_scanner *scan, g4_err *err)
{
    for (; node; node = node->next) {
        g4_status st = cJSON_IsNumber(node) ? attach_lexeme(node, scan, err) : G4_OK;
        if (st == G4_OK && node->child)
            st = attach_lexemes(node->child, scan, err);
        if (st != G4_OK)
            return st;
    }
    return G4_OK;
}

static bool only_whitespace(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return false;
    return true;
}

g4_status chat_json_parse(const char *text, size_t len, cJSON **out, g4_err *err)
{
    *out = NULL;
    if (!text)
        return g4_fail(err, G4_ERR_INVALID_ARG, "no JSON text");
    const char *end = text;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root)
        return g4_fail(err, G4_ERR_FORMAT, "invalid JSON at byte %zu",
                       end >= text && end <= text + len ? (size_t)(end - text) : len);
    if (!only_whitespace(end, text + len)) {
        cJSON_Delete(root);
        return g4_fail(err, G4_ERR_FORMAT, "unexpected text after the JSON value at byte %zu",
                       (size_t)(end - text));
    }
    number_scanner scan = {text, len, 0};
    g4_status st = attach_lexemes(root, &scan, err);
    if (st != G4_OK) {
        cJSON_Delete(root);
        return st;
    }
    *out = root;
    return G4_OK;
}
