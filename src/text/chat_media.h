/* Finding the media of a chat request, in the order the template renders their
 * placeholders. */
#ifndef G4_TEXT_CHAT_MEDIA_H
#define G4_TEXT_CHAT_MEDIA_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "g4.h"

typedef struct chat_media_ref {
    g4_media_kind kind;
    const char *source; /* a data: URI, a path or URL, or bare base64 (see base64) */
    bool base64;        /* source is bare base64 (input_audio.data) */
    char where[96];     /* the field it came from, for error messages */
} chat_media_ref;

/* Walks the messages' content parts in order:
 *   {"type":"image_url","image_url":{"url":U}} or "image_url":U,
 *   {"type":"input_audio","input_audio":{"data":BASE64,"format":F}} (or "url"/"path"),
 *   {"type":"video_url","video_url":{"url":U}},
 *   {"type":"image"|"audio"|"video"} with "url", "path" or a key named like the type, or
 *   else the next entry of the request's top-level "images" / "audio" / "videos" array.
 * *refs points into the request (malloc'd array; free it). */
g4_status chat_media_refs(const cJSON *request, chat_media_ref **refs, size_t *n,
                          g4_err *err);

#endif
