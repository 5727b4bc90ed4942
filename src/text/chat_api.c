/* Public entry points of the reply parser (include/g4.h). */
#include <string.h>

#include "g4.h"
#include "engine/api_error.h"
#include "text/chat.h"

g4_status g4_chat_parse_reply(const char *generated, g4_chat_reply *reply)
{
    g4_err err = {.code = G4_OK};
    if (!generated || !reply)
        g4_fail(&err, G4_ERR_INVALID_ARG, "g4_chat_parse_reply: NULL argument");
    else
        chat_parse_reply(generated, strlen(generated), reply, &err);
    return api_report(&err);
}

void g4_chat_reply_clear(g4_chat_reply *reply)
{
    chat_reply_clear(reply);
}
