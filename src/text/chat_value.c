#include "text/chat_value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *key_of(const cJSON *member)
{
    return member->string ? member->string : "";
}

const cJSON *jv_get(const cJSON *value, const char *key)
{
    if (!cJSON_IsObject(value))
        return NULL;
    const cJSON *found = NULL;
    for (const cJSON *member = value->child; member; member = member->next)
        if (strcmp(key_of(member), key) == 0)
            found = member;
    return found;
}

bool jv_has(const cJSON *value, const char *key)
{
    return jv_get(value, key) != NULL;
}

bool jv_truthy(const cJSON *value)
{
    if (!value)
        return false;
    if (cJSON_IsBool(value))
        return cJSON_IsTrue(value);
    if (cJSON_IsNumber(value))
        return value->valuedouble != 0;
    if (cJSON_IsString(value))
        return value->valuestring[0] != '\0';
    if (cJSON_IsArray(value) || cJSON_IsObject(value))
        return value->child != NULL;
    return !cJSON_IsNull(value);
}

bool jv_is_text(const cJSON *value, const char *text)
{
    return cJSON_IsString(value) && strcmp(value->valuestring, text) == 0;
}

static bool is_none(const cJSON *value)
{
    return !value || cJSON_IsNull(value);
}

/* Python compares bools as the integers 0 and 1. */
static bool is_numeric(const cJSON *value)
{
    return cJSON_IsNumber(value) || cJSON_IsBool(value);
}

static double numeric_value(const cJSON *value)
{
    return cJSON_IsNumber(value) ? value->valuedouble : cJSON_IsTrue(value) ? 1.0 : 0.0;
}

static bool is_last_of_its_key(const cJSON *object, const cJSON *member)
{
    return jv_get(object, key_of(member)) == member;
}

static size_t count_distinct_keys(const cJSON *object)
{
    size_t n = 0;
    for (const cJSON *member = object->child; member; member = member->next)
        n += is_last_of_its_key(object, member);
    return n;
}

static bool objects_equal(const cJSON *a, const cJSON *b)
{
    if (count_distinct_keys(a) != count_distinct_keys(b))
        return false;
    for (const cJSON *member = a->child; member; member = member->next) {
        if (!is_last_of_its_key(a, member))
            continue;
        const cJSON *other = jv_get(b, key_of(member));
        if (!other || !jv_equal(member, other))
            return false;
    }
    return true;
}

static bool arrays_equal(const cJSON *a, const cJSON *b)
{
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next)
        if (!jv_equal(x, y))
            return false;
    return !x && !y;
}

bool jv_equal(const cJSON *a, const cJSON *b)
{
    if (is_none(a) || is_none(b))
        return is_none(a) && is_none(b);
    if (is_numeric(a) && is_numeric(b))
        return numeric_value(a) == numeric_value(b);
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsArray(a) && cJSON_IsArray(b))
        return arrays_equal(a, b);
    if (cJSON_IsObject(a) && cJSON_IsObject(b))
        return objects_equal(a, b);
    return false;
}

/* ---- members in dict order -------------------------------------------------------------- */

typedef struct member_slot {
    const char *key;
    const char *folded; /* lower-cased key for dictsort */
    const cJSON *value;
    size_t pos;
} member_slot;

static int compare_key_then_pos(const void *pa, const void *pb)
{
    const member_slot *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

static int compare_pos(const void *pa, const void *pb)
{
    const member_slot *a = pa, *b = pb;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static int compare_folded_then_pos(const void *pa, const void *pb)
{
    const member_slot *a = pa, *b = pb;
    int c = strcmp(a->folded, b->folded);
    return c ? c : compare_pos(pa, pb);
}

/* Collapses duplicate keys in place the way a Python dict does; returns the new count. */
static size_t collapse_duplicates(member_slot *slots, size_t n)
{
    qsort(slots, n, sizeof *slots, compare_key_then_pos);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && strcmp(slots[out - 1].key, slots[i].key) == 0)
            slots[out - 1].value = slots[i].value; /* keeps the first position */
        else
            slots[out++] = slots[i];
    }
    return out;
}

/* Sorts slots as Jinja's dictsort does: by key.lower(), ties in dict order. */
static bool sort_case_insensitively(member_slot *slots, size_t n)
{
    chat_buf folded = {0};
    size_t *offsets = malloc(n * sizeof *offsets);
    if (!offsets)
        return false;
    for (size_t i = 0; i < n; i++) {
        offsets[i] = folded.len;
        chat_put_lower(&folded, chat_span_of(slots[i].key));
        chat_buf_put(&folded, "", 1);
    }
    bool ok = !folded.failed;
    if (ok) {
        for (size_t i = 0; i < n; i++)
            slots[i].folded = folded.data + offsets[i];
        qsort(slots, n, sizeof *slots, compare_folded_then_pos);
    }
    free(offsets);
    chat_buf_free(&folded);
    return ok;
}

bool jv_members(const cJSON *object, bool dictsort, jv_member **members, size_t *count)
{
    *members = NULL;
    *count = 0;
    size_t n = 0;
    for (const cJSON *m = object->child; m; m = m->next)
        n++;
    if (n == 0)
        return true;
    member_slot *slots = malloc(n * sizeof *slots);
    jv_member *out = malloc(n * sizeof *out);
    if (!slots || !out)
        goto fail;
    size_t i = 0;
    for (const cJSON *m = object->child; m; m = m->next, i++)
        slots[i] = (member_slot){key_of(m), NULL, m, i};
    n = collapse_duplicates(slots, n);
    qsort(slots, n, sizeof *slots, compare_pos);
    if (dictsort && !sort_case_insensitively(slots, n))
        goto fail;
    for (i = 0; i < n; i++)
        out[i] = (jv_member){slots[i].key, slots[i].value};
    free(slots);
    *members = out;
    *count = n;
    return true;
fail:
    free(slots);
    free(out);
    return false;
}

/* ---- numbers ---------------------------------------------------------------------------- */

static void put_zeros(chat_buf *buf, long n)
{
    for (long i = 0; i < n; i++)
        chat_buf_put(buf, "0", 1);
}

/* The shortest digits that read back as v (what Python's repr picks) and the position
 * of the decimal point relative to them. */
static size_t shortest_digits(double v, char digits[24], long *point)
{
    char sci[40];
    for (int precision = 0; precision <= 16; precision++) {
        snprintf(sci, sizeof sci, "%.*e", precision, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    size_t n = 0;
    const char *p = sci;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *point = strtol(p + 1, NULL, 10) + 1;
    return n;
}

/* Python's repr(float): fixed notation for 1e-4 <= |v| < 1e16, otherwise exponent. */
static void put_python_float(chat_buf *buf, double v)
{
    if (isnan(v) || isinf(v) || v == 0) {
        chat_buf_puts(buf, isnan(v) ? "nan" : isinf(v) ? (v < 0 ? "-inf" : "inf")
                                                       : (signbit(v) ? "-0.0" : "0.0"));
        return;
    }
    char digits[24];
    long point;
    size_t n = shortest_digits(fabs(v), digits, &point);
    if (v < 0)
        chat_buf_put(buf, "-", 1);
    if (point > -4 && point <= 16) {
        if (point <= 0) {
            chat_buf_puts(buf, "0.");
            put_zeros(buf, -point);
            chat_buf_put(buf, digits, n);
        } else if ((size_t)point >= n) {
            chat_buf_put(buf, digits, n);
            put_zeros(buf, point - (long)n);
            chat_buf_puts(buf, ".0");
        } else {
            chat_buf_put(buf, digits, (size_t)point);
            chat_buf_put(buf, ".", 1);
            chat_buf_put(buf, digits + point, n - (size_t)point);
        }
        return;
    }
    chat_buf_put(buf, digits, 1);
    if (n > 1) {
        chat_buf_put(buf, ".", 1);
        chat_buf_put(buf, digits + 1, n - 1);
    }
    char exponent[32];
    snprintf(exponent, sizeof exponent, "e%c%02ld", point - 1 < 0 ? '-' : '+',
             labs(point - 1));
    chat_buf_puts(buf, exponent);
}

static bool lexeme_is_integer(const char *lexeme)
{
    return strpbrk(lexeme, ".eE") == NULL;
}

/* A number as Python prints it: ints exactly as written, floats in repr() form. */
static void put_number(chat_buf *buf, const cJSON *number)
{
    const char *lexeme = number->valuestring; /* set by chat_json_parse */
    double v = number->valuedouble;
    if (lexeme) {
        if (!lexeme_is_integer(lexeme))
            put_python_float(buf, v);
        else
            chat_buf_puts(buf, strcmp(lexeme, "-0") == 0 ? "0" : lexeme);
        return;
    }
    if (isfinite(v) && v == floor(v) && fabs(v) < 9007199254740992.0) {
        char text[32];
        snprintf(text, sizeof text, "%.0f", v == 0 ? 0.0 : v);
        chat_buf_puts(buf, text);
        return;
    }
    put_python_float(buf, v);
}

/* ---- str() and repr() ------------------------------------------------------------------- */

/* Code points Python's str.isprintable() rejects, apart from unassigned ones. */
static bool is_unprintable(uint32_t cp)
{
    static const uint32_t ranges[][2] = {
        {0x80, 0xA0}, {0xAD, 0xAD}, {0x600, 0x605}, {0x61C, 0x61C}, {0x6DD, 0x6DD},
        {0x70F, 0x70F}, {0x890, 0x891}, {0x8E2, 0x8E2}, {0x1680, 0x1680},
        {0x180E, 0x180E}, {0x2000, 0x200F}, {0x2028, 0x202F}, {0x205F, 0x2064},
        {0x2066, 0x206F}, {0x3000, 0x3000}, {0xD800, 0xF8FF}, {0xFEFF, 0xFEFF},
        {0xFFF9, 0xFFFB}, {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x13438},
        {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
        {0xF0000, 0x10FFFF},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (cp >= ranges[i][0] && cp <= ranges[i][1])
            return true;
    return false;
}

static void put_escaped_code_point(chat_buf *buf, uint32_t cp)
{
    char text[16];
    if (cp < 0x100)
        snprintf(text, sizeof text, "\\x%02x", (unsigned)cp);
    else if (cp < 0x10000)
        snprintf(text, sizeof text, "\\u%04x", (unsigned)cp);
    else
        snprintf(text, sizeof text, "\\U%08x", (unsigned)cp);
    chat_buf_puts(buf, text);
}

/* Python's repr(str): single quotes unless only double quotes avoid escaping. */
static void put_python_string_repr(chat_buf *buf, chat_span text)
{
    bool has_single = memchr(text.ptr, '\'', text.len) != NULL;
    bool has_double = memchr(text.ptr, '"', text.len) != NULL;
    char quote = has_single && !has_double ? '"' : '\'';
    chat_buf_put(buf, &quote, 1);
    for (size_t pos = 0; pos < text.len;) {
        size_t start = pos;
        uint32_t cp = chat_utf8_next(text, &pos);
        if (cp == (uint32_t)quote || cp == '\\') {
            chat_buf_put(buf, "\\", 1);
            chat_buf_put(buf, text.ptr + start, 1);
        } else if (cp == '\t' || cp == '\n' || cp == '\r') {
            chat_buf_puts(buf, cp == '\t' ? "\\t" : cp == '\n' ? "\\n" : "\\r");
        } else if (cp < 0x20 || cp == 0x7F || is_unprintable(cp)) {
            put_escaped_code_point(buf, cp);
        } else {
            chat_buf_put(buf, text.ptr + start, pos - start);
        }
    }
    chat_buf_put(buf, &quote, 1);
}

static void put_repr(chat_buf *buf, const cJSON *value);

static void put_list_repr(chat_buf *buf, const cJSON *list)
{
    chat_buf_put(buf, "[", 1);
    for (const cJSON *item = list->child; item; item = item->next) {
        put_repr(buf, item);
        if (item->next)
            chat_buf_puts(buf, ", ");
    }
    chat_buf_put(buf, "]", 1);
}

static void put_dict_repr(chat_buf *buf, const cJSON *object)
{
    jv_member *members;
    size_t n;
    if (!jv_members(object, false, &members, &n)) {
        buf->failed = true;
        return;
    }
    chat_buf_put(buf, "{", 1);
    for (size_t i = 0; i < n; i++) {
        put_python_string_repr(buf, chat_span_of(members[i].key));
        chat_buf_puts(buf, ": ");
        put_repr(buf, members[i].value);
        if (i + 1 < n)
            chat_buf_puts(buf, ", ");
    }
    chat_buf_put(buf, "}", 1);
    free(members);
}

static void put_repr(chat_buf *buf, const cJSON *value)
{
    if (cJSON_IsString(value))
        put_python_string_repr(buf, chat_span_of(value->valuestring));
    else if (cJSON_IsArray(value))
        put_list_repr(buf, value);
    else if (cJSON_IsObject(value))
        put_dict_repr(buf, value);
    else
        jv_put_str(buf, value);
}

void jv_put_str(chat_buf *buf, const cJSON *value)
{
    if (!value)
        return;
    if (cJSON_IsString(value))
        chat_buf_puts(buf, value->valuestring);
    else if (cJSON_IsNumber(value))
        put_number(buf, value);
    else if (cJSON_IsBool(value))
        chat_buf_puts(buf, cJSON_IsTrue(value) ? "True" : "False");
    else if (cJSON_IsNull(value))
        chat_buf_puts(buf, "None");
    else if (cJSON_IsRaw(value))
        chat_buf_puts(buf, value->valuestring ? value->valuestring : "");
    else
        put_repr(buf, value);
}

void jv_put_upper(chat_buf *buf, const cJSON *value)
{
    chat_buf text = {0};
    jv_put_str(&text, value);
    if (text.failed)
        buf->failed = true;
    else
        chat_put_upper(buf, (chat_span){text.data ? text.data : "", text.len});
    chat_buf_free(&text);
}

void jv_put_quoted(chat_buf *buf, chat_span text)
{
    chat_buf_puts(buf, "<|\"|>");
    chat_buf_put(buf, text.ptr, text.len);
    chat_buf_puts(buf, "<|\"|>");
}
