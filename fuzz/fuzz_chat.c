/* libFuzzer target for the chat format: any bytes as a chat request render or fail with
 * a message, and any bytes as model output parse into a reply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    g4_chat_reply reply = {0};
    if (chat_parse_reply(text, size, &reply, &err) == G4_OK && !reply.content)
        abort();
    chat_reply_clear(&reply);
    free(text);
    return 0;
}
