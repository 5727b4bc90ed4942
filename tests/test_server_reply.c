/* Streaming a chat reply: answer and reasoning deltas that add up to the whole reply's
 * parse, tool calls held back until complete, and both APIs' tool-call JSON. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "server/reply.h"

static const char REPLY[] =
    "<|channel>thought\nThe user wants the weather.<channel|>Let me look that up. "
    "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>,days:2}<tool_call|>";

/* Feeds the reply a few bytes at a time as the scheduler would, collecting deltas. */
static void check_deltas_add_up(void)
{
    chat_buf content_sent = {0}, reasoning_sent = {0}, content = {0}, reasoning = {0};
    size_t len = strlen(REPLY);
    bool call_seen_early = false;
    for (size_t upto = 1; upto <= len; upto += 3) {
        size_t n = upto < len ? upto : len;
        char *text = malloc(n + 1);
        memcpy(text, REPLY, n);
        text[n] = '\0';
        g4_chat_reply r = {0};
        CHECK(reply_parse(text, n, n == len, &r) == G4_OK);
        call_seen_early |= n < len && r.n_tool_calls > 0;
        CHECK_MSG(!r.content || !strstr(r.content, "tool_call"),
                  "an unfinished call leaked into the answer: '%s'", r.content);
        reply_delta(&content_sent, r.content, &content);
        reply_delta(&reasoning_sent, r.reasoning, &reasoning);
        g4_chat_reply_clear(&r);
        free(text);
    }
    char *whole_text = strdup(REPLY);
    g4_chat_reply whole = {0};
    CHECK(reply_parse(whole_text, len, true, &whole) == G4_OK);
    char *c = chat_buf_take(&content), *t = chat_buf_take(&reasoning);
    CHECK_MSG(c && strcmp(c, whole.content) == 0, "content '%s' vs '%s'", c, whole.content);
    CHECK_MSG(t && strcmp(t, "The user wants the weather.") == 0, "reasoning '%s'", t);
    CHECK(strcmp(whole.content, "Let me look that up.") == 0);
    CHECK(!call_seen_early && whole.n_tool_calls == 1);
    g4_chat_reply_clear(&whole);
    free(c);
    free(t);
    free(whole_text);
    chat_buf_free(&content_sent);
    chat_buf_free(&reasoning_sent);
}

/* A delta is never sent twice, and nothing is sent once the text stops extending. */
static void check_delta_rules(void)
{
    chat_buf sent = {0}, delta = {0};
    reply_delta(&sent, "Hello", &delta);
    reply_delta(&sent, "Hello", &delta);
    reply_delta(&sent, "Hello, world", &delta);
    reply_delta(&sent, "Goodbye, world!", &delta);
    reply_delta(&sent, NULL, &delta);
    char *d = chat_buf_take(&delta);
    CHECK_MSG(d && strcmp(d, "Hello, world") == 0, "deltas '%s'", d);
    free(d);
    chat_buf_free(&sent);
}

static void check_tool_call_json(void)
{
    char *text = strdup(REPLY);
    g4_chat_reply r = {0};
    CHECK(reply_parse(text, strlen(text), true, &r) == G4_OK);
    cJSON *openai = reply_tool_calls(&r, true, "chatcmpl-3");
    cJSON *ollama = reply_tool_calls(&r, false, "call");
    char *a = cJSON_PrintUnformatted(openai), *b = cJSON_PrintUnformatted(ollama);
    CHECK_MSG(a && strcmp(a, "[{\"index\":0,\"id\":\"chatcmpl-3-0\",\"type\":\"function\","
                             "\"function\":{\"name\":\"get_weather\",\"arguments\":"
                             "\"{\\\"city\\\":\\\"Paris\\\",\\\"days\\\":2}\"}}]") == 0,
              "openai: %s", a);
    CHECK_MSG(b && strcmp(b, "[{\"function\":{\"name\":\"get_weather\",\"arguments\":"
                             "{\"city\":\"Paris\",\"days\":2}}}]") == 0,
              "ollama: %s", b);
    free(a);
    free(b);
    cJSON_Delete(openai);
    cJSON_Delete(ollama);
    g4_chat_reply_clear(&r);
    free(text);
}

int main(void)
{
    check_deltas_add_up();
    check_delta_rules();
    check_tool_call_json();
    return test_finish("server_reply");
}
