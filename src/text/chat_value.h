/* How the chat template (Jinja on Python values) sees request JSON: lookups, truthiness,
 * sorted iteration and str()/repr() of values. A NULL cJSON pointer stands for Jinja's
 * "undefined" (a missing key); a cJSON null is Python's None. */
#ifndef G4_TEXT_CHAT_VALUE_H
#define G4_TEXT_CHAT_VALUE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "text/chat_text.h"

/* value[key]: undefined unless value is an object with that key; the last of duplicate
 * keys wins, as in Python's json module. */
const cJSON *jv_get(const cJSON *value, const char *key);
bool jv_has(const cJSON *value, const char *key);
/* Python truthiness (undefined is false). */
bool jv_truthy(const cJSON *value);
bool jv_is_text(const cJSON *value, const char *text);
/* Python ==, with undefined and null both None. */
bool jv_equal(const cJSON *a, const cJSON *b);

typedef struct jv_member {
    const char *key;
    const cJSON *value;
} jv_member;

/* The members of an object as a Python dict holds them (duplicates collapsed: first
 * position, last value), in insertion order or in the order of Jinja's dictsort
 * (case-insensitive, stable). Returns false when out of memory; free *members. */
bool jv_members(const cJSON *object, bool dictsort, jv_member **members, size_t *count);

/* Python str(value) as Jinja's {{ value }} prints it (undefined prints nothing). */
void jv_put_str(chat_buf *buf, const cJSON *value);
/* Python str(value).upper(), as Jinja's upper filter. */
void jv_put_upper(chat_buf *buf, const cJSON *value);

/* Writes "<|"|>" + text + "<|"|>", the template's string quoting. */
void jv_put_quoted(chat_buf *buf, chat_span text);

#endif
