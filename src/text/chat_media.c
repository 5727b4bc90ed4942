/* chat_media_refs: the media parts of a chat request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "text/chat_media.h"

typedef struct media_kind_info {
    const char *bare_type; /* "image": the HF-style part */
    const char *url_type;  /* "image_url": the OpenAI-style part */
    const char *list_key;  /* "images": the top-level list bare parts draw from */
    g4_media_kind kind;
} media_kind_info;

static const media_kind_info kinds[] = {
    {"image", "image_url", "images", G4_MEDIA_IMAGE},
    {"audio", "input_audio", "audio", G4_MEDIA_AUDIO},
    {"video", "video_url", "videos", G4_MEDIA_VIDEO},
};

typedef struct ref_list {
    chat_media_ref *items;
    size_t n, cap;
    size_t next_in_list[3]; /* the next unused entry of each top-level list */
} ref_list;

static const char *string_field(const cJSON *object, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static g4_status push(ref_list *list, g4_media_kind kind, const char *source, bool base64,
                      const char *where, g4_err *err)
{
    chat_media_ref *items = grow_for_one(list->items, &list->cap, list->n, sizeof *items, 8);
    if (!items)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    list->items = items;
    chat_media_ref *ref = &list->items[list->n++];
    *ref = (chat_media_ref){.kind = kind, .source = source, .base64 = base64};
    snprintf(ref->where, sizeof ref->where, "%s", where);
    return G4_OK;
}

/* "image_url": {"url": U} or "image_url": U; likewise video_url and input_audio. */
static const char *url_part_source(const cJSON *part, const char *url_type, bool *base64)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(part, url_type);
    if (cJSON_IsString(value))
        return value->valuestring;
    const char *data = string_field(value, "data");
    *base64 = data != NULL;
    if (data)
        return data;
    const char *url = string_field(value, "url");
    return url ? url : string_field(value, "path");
}

/* {"type":"image","url"|"path"|"image": U}, or NULL when the part names no source. */
static const char *bare_part_source(const cJSON *part, const char *bare_type)
{
    const char *keys[] = {"url", "path", bare_type};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *s = string_field(part, keys[i]);
        if (s)
            return s;
    }
    return NULL;
}

static g4_status from_top_list(const cJSON *request, ref_list *list, size_t k,
                               const char *where, g4_err *err)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(request, kinds[k].list_key);
    const cJSON *item = cJSON_IsArray(items)
                            ? cJSON_GetArrayItem(items, (int)list->next_in_list[k])
                            : NULL;
    if (!cJSON_IsString(item))
        return g4_fail(err, G4_ERR_FORMAT, "%s: the part has no source and \"%s\" has no "
                       "string entry %zu", where, kinds[k].list_key, list->next_in_list[k]);
    list->next_in_list[k]++;
    return push(list, kinds[k].kind, item->valuestring, false, where, err);
}

static g4_status add_part(const cJSON *request, const cJSON *part, ref_list *list,
                          const char *where, g4_err *err)
{
    const char *type = string_field(part, "type");
    for (size_t k = 0; type && k < sizeof kinds / sizeof kinds[0]; k++) {
        bool base64 = false;
        const char *source = NULL;
        if (strcmp(type, kinds[k].url_type) == 0) {
            source = url_part_source(part, kinds[k].url_type, &base64);
            if (!source)
                return g4_fail(err, G4_ERR_FORMAT, "%s.%s: no url or data", where,
                               kinds[k].url_type);
        } else if (strcmp(type, kinds[k].bare_type) == 0) {
            source = bare_part_source(part, kinds[k].bare_type);
            if (!source)
                return from_top_list(request, list, k, where, err);
        } else {
            continue;
        }
        return push(list, kinds[k].kind, source, base64, where, err);
    }
    return G4_OK;
}

static g4_status add_message_parts(const cJSON *request, const cJSON *content, size_t m,
                                   ref_list *list, g4_err *err)
{
    size_t p = 0;
    for (const cJSON *part = content ? content->child : NULL; part; part = part->next, p++) {
        char where[96];
        snprintf(where, sizeof where, "messages[%zu].content[%zu]", m, p);
        g4_status st = add_part(request, part, list, where, err);
        if (st != G4_OK)
            return st;
    }
    return G4_OK;
}

g4_status chat_media_refs(const cJSON *request, chat_media_ref **refs, size_t *n,
                          g4_err *err)
{
    ref_list list = {0};
    *refs = NULL;
    *n = 0;
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages");
    size_t m = 0;
    for (const cJSON *msg = cJSON_IsArray(messages) ? messages->child : NULL; msg;
         msg = msg->next, m++) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        if (cJSON_IsArray(content) && add_message_parts(request, content, m, &list, err)) {
            free(list.items);
            return err->code;
        }
    }
    *refs = list.items;
    *n = list.n;
    return G4_OK;
}
