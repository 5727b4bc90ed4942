#include "server/reply.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

static const char CALL_OPEN[] = "<|tool_call>", CALL_CLOSE[] = "<tool_call|>";

/* Where an unfinished tool call starts, or len. */
static size_t unfinished_call(const char *text, size_t len)
{
    chat_span span = {text, len};
    for (size_t at = 0;;) {
        size_t open = chat_span_find(span, at, CALL_OPEN);
        if (open == len)
            return len;
        size_t close = chat_span_find(span, open, CALL_CLOSE);
        if (close == len)
            return open;
        at = close + strlen(CALL_CLOSE);
    }
}

/* Where a mark the text ends in the middle of starts, or len: a prefix of a marker, or a
 * thought channel whose "thought\n" header is not complete yet. */
static size_t unfinished_marker(const char *text, size_t len)
{
    static const char *const markers[] = {"<|channel>", "<channel|>", CALL_OPEN, CALL_CLOSE};
    size_t cut = len;
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
        size_t m = strlen(markers[i]);
        for (size_t k = m - 1 < len ? m - 1 : len; k > 0; k--)
            if (len - k < cut && memcmp(text + len - k, markers[i], k) == 0)
                cut = len - k;
    }
    static const char channel[] = "<|channel>", header[] = "thought\n";
    for (size_t k = sizeof channel - 1; k < sizeof channel + sizeof header - 2 && k <= len; k++)
        if (memcmp(text + len - k, channel, sizeof channel - 1) == 0 &&
            memcmp(text + len - k + sizeof channel - 1, header, k - (sizeof channel - 1)) == 0)
            cut = len - k < cut ? len - k : cut;
    return cut;
}

g4_status reply_parse(char *text, size_t len, bool final, g4_chat_reply *out)
{
    size_t keep = len;
    if (!final) {
        keep = unfinished_call(text, len);
        size_t marker = unfinished_marker(text, keep);
        keep = marker < keep ? marker : keep;
    }
    char saved = text[keep];
    text[keep] = '\0';
    g4_status st = g4_chat_parse_reply(text, out);
    text[keep] = saved;
    return st;
}

void reply_delta(chat_buf *sent, const char *now, chat_buf *delta)
{
    size_t len = now ? strlen(now) : 0;
    if (len <= sent->len || (sent->len && memcmp(now, sent->data, sent->len) != 0))
        return;
    chat_buf_put(delta, now + sent->len, len - sent->len);
    chat_buf_put(sent, now + sent->len, len - sent->len);
}

cJSON *reply_tool_calls(const g4_chat_reply *reply, bool arguments_as_string,
                        const char *id_prefix)
{
    cJSON *calls = cJSON_CreateArray();
    for (size_t i = 0; calls && i < reply->n_tool_calls; i++) {
        const g4_tool_call *tc = &reply->tool_calls[i];
        cJSON *call = cJSON_CreateObject();
        cJSON_AddItemToArray(calls, call);
        char id[96];
        snprintf(id, sizeof id, "%s-%zu", id_prefix, i);
        if (arguments_as_string) {
            cJSON_AddNumberToObject(call, "index", (double)i);
            cJSON_AddStringToObject(call, "id", id);
            cJSON_AddStringToObject(call, "type", "function");
        }
        cJSON *fn = cJSON_AddObjectToObject(call, "function");
        cJSON_AddStringToObject(fn, "name", tc->name);
        if (arguments_as_string)
            cJSON_AddStringToObject(fn, "arguments", tc->arguments_json);
        else
            cJSON_AddItemToObject(fn, "arguments", cJSON_Parse(tc->arguments_json));
    }
    return calls;
}
