/* libFuzzer target for the chat format: any bytes as a chat request render or fail with
 * a message, its media parts are found or refused with a message, and any bytes as model
 * output parse into a reply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/chat.h"
#include "text/chat_media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void find_media(const char *text, size_t size)
{
    cJSON *request = NULL;
    g4_err err = {0};
    if (chat_json_parse(text, size, &request, &err) != G4_OK)
        return;
    chat_media_ref *refs = NULL;
    size_t n = 0;
    if (chat_media_refs(request, &refs, &n, &err) != G4_OK && err.msg[0] == '\0')
        abort();
    for (size_t i = 0; i < n; i++)
        if (!refs[i].source || refs[i].kind < G4_MEDIA_IMAGE || refs[i].kind > G4_MEDIA_VIDEO)
            abort();
    free(refs);
    cJSON_Delete(request);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *prompt = NULL;
    g4_err err = {0};
    if (chat_render(text, size, &prompt, &err) == G4_OK && !prompt)
        abort();
    if (prompt == NULL && err.msg[0] == '\0')
        abort();
    free(prompt);
    find_media(text, size);
    g4_chat_reply reply = {0};
    if (chat_parse_reply(text, size, &reply, &err) == G4_OK && !reply.content)
        abort();
    chat_reply_clear(&reply);
    free(text);
    return 0;
}
