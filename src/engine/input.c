/* g4_input_*: expanding media placeholders into marker and soft tokens (spec
 * multimodal.md §5.2, §6). The text is expanded first and tokenized once, as the reference
 * processor does, so timestamps and neighbouring text tokenize exactly as there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/api_error.h"
#include "engine/input.h"
#include "text/chat_text.h"
#include "text/tokenizer.h"

#define IMAGE_OPEN "<|image>"
#define IMAGE_CLOSE "<image|>"
#define AUDIO_OPEN "<|audio>"
#define AUDIO_CLOSE "<audio|>"

static const char *const placeholder_text[] = {"", "<|image|>", "<|audio|>", "<|video|>"};

/* A run of soft tokens the expansion emitted: `count` rows of `media` from `first`. */
typedef struct soft_run {
    const g4_media *media;
    int64_t first;
    int64_t count;
    g4_media_kind placeholder; /* which placeholder token the run is made of */
} soft_run;

typedef struct expansion {
    chat_buf text;
    soft_run *runs;
    size_t n_runs, cap_runs;
    bool runs_failed;
} expansion;

static void append(expansion *e, const char *s, size_t len)
{
    chat_buf_put(&e->text, s, len);
}

static void append_str(expansion *e, const char *s)
{
    chat_buf_puts(&e->text, s);
}

static bool expansion_failed(const expansion *e)
{
    return e->text.failed || e->runs_failed;
}

static void append_run(expansion *e, const g4_media *m, int64_t first, int64_t count,
                       g4_media_kind placeholder, const char *open, const char *close)
{
    if (!expansion_failed(e) && e->n_runs == e->cap_runs) {
        size_t cap = e->cap_runs ? e->cap_runs * 2 : 8;
        soft_run *runs = realloc(e->runs, cap * sizeof *runs);
        e->runs_failed = !runs;
        e->runs = runs ? runs : e->runs;
        e->cap_runs = runs ? cap : e->cap_runs;
    }
    if (expansion_failed(e))
        return;
    e->runs[e->n_runs++] = (soft_run){m, first, count, placeholder};
    append_str(e, open);
    for (int64_t i = 0; i < count; i++)
        append_str(e, placeholder_text[placeholder]);
    append_str(e, close);
}

static void expand_audio_rows(expansion *e, const g4_media *m)
{
    int64_t n = media_audio_tokens(m);
    if (n > 0)
        append_run(e, m, media_vision_tokens(m), n, G4_MEDIA_AUDIO, AUDIO_OPEN, AUDIO_CLOSE);
}

/* "MM:SS <|image>...<image|>" per frame, joined by spaces, then the sound track. */
static void expand_video(expansion *e, const g4_media *m)
{
    int64_t per_frame = media_tokens_per_frame(m);
    for (size_t f = 0; f < m->n_frames; f++) {
        long seconds = (long)m->seconds[f];
        char stamp[48];
        snprintf(stamp, sizeof stamp, "%s%02ld:%02ld ", f ? " " : "", seconds / 60,
                 seconds % 60);
        append_str(e, stamp);
        append_run(e, m, (int64_t)f * per_frame, per_frame, G4_MEDIA_VIDEO, IMAGE_OPEN,
                   IMAGE_CLOSE);
    }
    expand_audio_rows(e, m);
}

static void expand_media(expansion *e, const g4_media *m)
{
    if (m->kind == G4_MEDIA_IMAGE)
        append_run(e, m, 0, media_vision_tokens(m), G4_MEDIA_IMAGE, IMAGE_OPEN, IMAGE_CLOSE);
    else if (m->kind == G4_MEDIA_AUDIO)
        expand_audio_rows(e, m);
    else
        expand_video(e, m);
}

/* The placeholder at text[i], or 0. */
static g4_media_kind placeholder_at(const char *text, size_t len, size_t i)
{
    for (int k = G4_MEDIA_IMAGE; k <= G4_MEDIA_VIDEO; k++) {
        size_t n = strlen(placeholder_text[k]);
        if (len - i >= n && memcmp(text + i, placeholder_text[k], n) == 0)
            return (g4_media_kind)k;
    }
    return 0;
}

/* The next media item of a kind after index *next[kind], or NULL. */
static const g4_media *take_media(g4_media *const *media, size_t n_media, size_t *cursor,
                                  g4_media_kind kind)
{
    while (cursor[kind] < n_media && media[cursor[kind]]->kind != kind)
        cursor[kind]++;
    return cursor[kind] < n_media ? media[cursor[kind]++] : NULL;
}

static const char *kind_noun(g4_media_kind kind)
{
    return kind == G4_MEDIA_IMAGE ? "image" : kind == G4_MEDIA_AUDIO ? "audio" : "video";
}

static g4_status expand_text(const char *text, size_t len, g4_media *const *media,
                             size_t n_media, expansion *e, g4_err *err)
{
    size_t cursor[4] = {0}, used = 0, start = 0;
    for (size_t i = 0; i < len;) {
        g4_media_kind kind = placeholder_at(text, len, i);
        if (!kind) {
            i++;
            continue;
        }
        const g4_media *m = take_media(media, n_media, cursor, kind);
        if (!m)
            return g4_fail(err, G4_ERR_INVALID_ARG, "the prompt has more %s placeholders "
                           "than %s inputs were given", placeholder_text[kind],
                           kind_noun(kind));
        append(e, text + start, i - start);
        expand_media(e, m);
        used++;
        i += strlen(placeholder_text[kind]);
        start = i;
    }
    append(e, text + start, len - start);
    if (used < n_media)
        return g4_fail(err, G4_ERR_INVALID_ARG, "%zu media inputs were given but the prompt "
                       "has placeholders for %zu", n_media, used);
    return expansion_failed(e) ? g4_fail(err, G4_ERR_NO_MEMORY, "out of memory") : G4_OK;
}

static int32_t placeholder_id(const tokenizer_specials *sp, g4_media_kind kind)
{
    return kind == G4_MEDIA_IMAGE ? sp->image_soft
           : kind == G4_MEDIA_AUDIO ? sp->audio_soft : sp->video_soft;
}

static bool is_placeholder(const tokenizer_specials *sp, int32_t id)
{
    return id == sp->image_soft || id == sp->audio_soft || id == sp->video_soft;
}

/* Points the run's positions (starting at *pos) at its media rows. */
static g4_status place_run(g4_input *in, const soft_run *run, int32_t id, size_t *pos,
                           g4_err *err)
{
    size_t start = *pos;
    for (int64_t r = 0; r < run->count; r++, (*pos)++) {
        if (*pos >= in->n || in->ids[*pos] != id)
            return g4_fail(err, G4_ERR_INTERNAL, "media placeholders did not tokenize as "
                           "expected at position %zu", *pos);
        in->media[*pos] = run->media;
        in->row[*pos] = (int32_t)(run->first + r);
    }
    if (run->placeholder != G4_MEDIA_AUDIO)
        for (size_t p = start; p < *pos; p++)
            in->block_last[p] = (int32_t)(*pos - 1);
    return G4_OK;
}

static g4_status place_runs(g4_input *in, const tokenizer_specials *sp, const expansion *e,
                            g4_err *err)
{
    size_t next_run = 0;
    for (size_t pos = 0; pos < in->n;) {
        if (!is_placeholder(sp, in->ids[pos])) {
            pos++;
            continue;
        }
        if (next_run == e->n_runs)
            return g4_fail(err, G4_ERR_INTERNAL, "unexpected placeholder at %zu", pos);
        const soft_run *run = &e->runs[next_run++];
        g4_status st = place_run(in, run, placeholder_id(sp, run->placeholder), &pos, err);
        if (st != G4_OK)
            return st;
    }
    return G4_OK;
}

static g4_status allocate_positions(g4_input *in, g4_err *err)
{
    in->media = calloc(in->n ? in->n : 1, sizeof *in->media);
    in->row = calloc(in->n ? in->n : 1, sizeof *in->row);
    in->block_last = malloc((in->n ? in->n : 1) * sizeof *in->block_last);
    if (!in->media || !in->row || !in->block_last)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the prompt");
    for (size_t i = 0; i < in->n; i++)
        in->block_last[i] = -1;
    return G4_OK;
}

static g4_status build_input(const g4_model *model, const char *text, size_t len,
                             bool add_bos, g4_media *const *media, size_t n_media,
                             g4_input *in, g4_err *err)
{
    expansion e = {0};
    g4_status st = expand_text(text, len, media, n_media, &e, err);
    if (st == G4_OK)
        st = tokenizer_encode(model->tok, e.text.data ? e.text.data : "", e.text.len, add_bos,
                              true, &in->ids, &in->n, err);
    if (st == G4_OK)
        st = allocate_positions(in, err);
    if (st == G4_OK)
        st = place_runs(in, tokenizer_get_specials(model->tok), &e, err);
    chat_buf_free(&e.text);
    free(e.runs);
    return st;
}

g4_status g4_input_new(const g4_model *model, const char *text, size_t len, bool add_bos,
                       g4_media *const *media, size_t n_media, g4_input **out)
{
    g4_err err = {0};
    *out = NULL;
    if ((!text && len > 0) || (!media && n_media > 0))
        return api_report(&(g4_err){G4_ERR_INVALID_ARG, "no text or media given"});
    for (size_t i = 0; i < n_media; i++)
        if (!media[i])
            return api_report(&(g4_err){G4_ERR_INVALID_ARG, "media item is NULL"});
    g4_input *in = calloc(1, sizeof *in);
    if (!in)
        return api_report(&(g4_err){G4_ERR_NO_MEMORY, "out of memory"});
    if (build_input(model, text ? text : "", len, add_bos, media, n_media, in, &err) !=
        G4_OK) {
        g4_input_free(in);
        return api_report(&err);
    }
    *out = in;
    return api_report(&err);
}

void g4_input_free(g4_input *input)
{
    if (!input)
        return;
    free(input->ids);
    free(input->media);
    free(input->row);
    free(input->block_last);
    free(input);
}

size_t g4_input_n_tokens(const g4_input *input)
{
    return input->n;
}

const int32_t *g4_input_tokens(const g4_input *input)
{
    return input->ids;
}
