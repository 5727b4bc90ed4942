/* GGUF reader. gguf_open and gguf_open_memory share one parser over (base, size): it
 * checks every count, length and offset against the bytes that remain before anything
 * is used, so a hostile file can only produce an error message. */
#include "core/gguf.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_ALIGNMENT_KEY "general.alignment"

/* The smallest possible records, to bound hostile counts by the bytes that remain. */
#define MIN_KV_BYTES 13     /* key length, value type, a one-byte value */
#define MIN_TENSOR_BYTES 32 /* name length, n_dims, one dimension, type, offset */
#define STRING_HEADER_BYTES 8

/* ---- little-endian loads (the mapping has no alignment guarantees) ------------------- */

static uint16_t load_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load_u64(const uint8_t *p)
{
    return (uint64_t)load_u32(p) | (uint64_t)load_u32(p + 4) << 32;
}

static float load_f32(const uint8_t *p)
{
    uint32_t bits = load_u32(p);
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static double load_f64(const uint8_t *p)
{
    uint64_t bits = load_u64(p);
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* ---- messages ---------------------------------------------------------------------- */

/* Untrusted bytes shown in a message: non-printable bytes escaped, long text cut, so the
 * message keeps room for its context. */
#define EXCERPT_BYTES 48
typedef struct excerpt {
    char text[EXCERPT_BYTES * 4 + 4];
} excerpt;

static const char *excerpt_of(excerpt *ex, const char *bytes, uint64_t len)
{
    size_t out = 0;
    uint64_t shown = len < EXCERPT_BYTES ? len : EXCERPT_BYTES;
    for (uint64_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            ex->text[out++] = (char)c;
        else
            out += (size_t)snprintf(ex->text + out, 5, "\\x%02x", c);
    }
    if (shown < len) {
        memcpy(ex->text + out, "...", 3);
        out += 3;
    }
    ex->text[out] = '\0';
    return ex->text;
}

static const char *str_excerpt(excerpt *ex, gguf_str s)
{
    return excerpt_of(ex, s.ptr, s.len);
}

static const char *format_shape(const gguf_tensor *t, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (uint32_t d = 0; d < t->n_dims && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%" PRIu64, d ? ", " : "", t->ne[d]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
    return buf;
}

/* ---- the parser ---------------------------------------------------------------------- */

typedef struct parser {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
    g4_err *err;
    char where[320]; /* the record being read: "tensor info 12 ('blk.0.attn_q.weight')" */
} parser;

static void locate(parser *p, const char *record, uint64_t index, const gguf_str *name)
{
    excerpt ex;
    if (name)
        snprintf(p->where, sizeof p->where, "%s %" PRIu64 " ('%s')", record, index,
                 str_excerpt(&ex, *name));
    else
        snprintf(p->where, sizeof p->where, "%s %" PRIu64, record, index);
}

static uint64_t remaining(const parser *p)
{
    return p->size - p->pos;
}

/* Fails unless n more bytes are available. */
static g4_status need(parser *p, uint64_t n)
{
    if (n <= remaining(p))
        return G4_OK;
    return g4_fail(p->err, G4_ERR_FORMAT,
                   "truncated: %s ends at byte %" PRIu64 " but the file has %" PRIu64 " bytes",
                   p->where, p->pos + n, p->size);
}

/* Fails unless count items of at least unit_bytes each can fit in what remains; the
 * division keeps a hostile count from overflowing. */
static g4_status need_items(parser *p, uint64_t count, uint64_t unit_bytes, const char *items)
{
    if (count <= remaining(p) / unit_bytes)
        return G4_OK;
    return g4_fail(p->err, G4_ERR_FORMAT,
                   "truncated: %s declares %" PRIu64 " %s at byte %" PRIu64
                   " but only %" PRIu64 " bytes remain",
                   p->where, count, items, p->pos, remaining(p));
}

static g4_status read_u32(parser *p, uint32_t *out)
{
    g4_status status = need(p, 4);
    if (status != G4_OK)
        return status;
    *out = load_u32(p->base + p->pos);
    p->pos += 4;
    return G4_OK;
}

static g4_status read_u64(parser *p, uint64_t *out)
{
    g4_status status = need(p, 8);
    if (status != G4_OK)
        return status;
    *out = load_u64(p->base + p->pos);
    p->pos += 8;
    return G4_OK;
}

static g4_status read_str(parser *p, gguf_str *out)
{
    uint64_t len;
    g4_status status = read_u64(p, &len);
    if (status == G4_OK)
        status = need_items(p, len, 1, "bytes of string");
    if (status != G4_OK)
        return status;
    out->ptr = (const char *)p->base + p->pos;
    out->len = len;
    p->pos += len;
    return G4_OK;
}

/* ---- metadata ------------------------------------------------------------------------ */

uint64_t gguf_value_size(gguf_value_type type)
{
    switch (type) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    default: return 0;
    }
}

static bool is_known_type(uint32_t type)
{
    return type <= GGUF_F64;
}

/* Reads count strings, storing their views when views is not NULL. This loop is the hot
 * path of parsing a vocabulary, so it works on local copies; on failure it lets read_str
 * re-read the bad string to describe it. */
static g4_status read_strings(parser *p, uint64_t count, gguf_str *views)
{
    const uint8_t *at = p->base + p->pos;
    uint64_t left = remaining(p);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t len;
        if (left < STRING_HEADER_BYTES || (len = load_u64(at)) > left - STRING_HEADER_BYTES) {
            gguf_str bad;
            p->pos = (uint64_t)(at - p->base);
            return read_str(p, &bad);
        }
        if (views)
            views[i] = (gguf_str){(const char *)at + STRING_HEADER_BYTES, len};
        at += STRING_HEADER_BYTES + len;
        left -= STRING_HEADER_BYTES + len;
    }
    p->pos = (uint64_t)(at - p->base);
    return G4_OK;
}

/* A vocabulary's views take megabytes; those arrays are 2 MiB aligned and marked for
 * huge pages, so that first touching them costs a few page faults instead of thousands
 * (which dominated parse time). */
#define HUGE_PAGE_BYTES ((size_t)2 << 20)

static gguf_str *alloc_views(uint64_t count)
{
    if (count > (SIZE_MAX - HUGE_PAGE_BYTES) / sizeof(gguf_str))
        return NULL;
    size_t bytes = (size_t)count * sizeof(gguf_str);
    if (bytes < HUGE_PAGE_BYTES)
        return malloc(bytes);
    size_t rounded = (bytes + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
    gguf_str *views = aligned_alloc(HUGE_PAGE_BYTES, rounded);
#ifdef MADV_HUGEPAGE
    if (views)
        madvise(views, rounded, MADV_HUGEPAGE); /* only a hint: failure is harmless */
#endif
    return views;
}

/* Arrays with more strings than this (16 MiB of views; real vocabularies have well under
 * a million) are walked once before allocating, so that a hostile count cannot reserve
 * more memory than the strings that are really there. */
#define STRINGS_CHECKED_FIRST (1u << 20)

static g4_status parse_strings(parser *p, gguf_kv *kv)
{
    g4_status status = need_items(p, kv->count, STRING_HEADER_BYTES, "strings");
    uint64_t start = p->pos;
    if (status == G4_OK && kv->count > STRINGS_CHECKED_FIRST) {
        status = read_strings(p, kv->count, NULL);
        p->pos = start;
    }
    if (status != G4_OK || kv->count == 0)
        return status;
    gguf_str *views = alloc_views(kv->count);
    if (!views)
        return g4_fail(p->err, G4_ERR_NO_MEMORY, "%s: out of memory for %" PRIu64 " strings",
                       p->where, kv->count);
    kv->strings = views; /* owned by the kv from here on, for gguf_close */
    return read_strings(p, kv->count, views);
}

static g4_status parse_values(parser *p, gguf_kv *kv, uint32_t type)
{
    kv->value = p->base + p->pos;
    if (type == GGUF_STRING)
        return parse_strings(p, kv);
    char items[32];
    snprintf(items, sizeof items, "%s elements", gguf_type_name(type));
    g4_status status = need_items(p, kv->count, gguf_value_size(type), items);
    if (status == G4_OK)
        p->pos += kv->count * gguf_value_size(type);
    return status;
}

static g4_status parse_array(parser *p, gguf_kv *kv)
{
    uint32_t elem_type;
    g4_status status = read_u32(p, &elem_type);
    if (status == G4_OK)
        status = read_u64(p, &kv->count);
    if (status != G4_OK)
        return status;
    if (elem_type == GGUF_ARRAY)
        return g4_fail(p->err, G4_ERR_UNSUPPORTED,
                       "%s is an array of arrays, which is not supported", p->where);
    if (!is_known_type(elem_type))
        return g4_fail(p->err, G4_ERR_FORMAT, "%s is an array of unknown value type %" PRIu32,
                       p->where, elem_type);
    kv->type = GGUF_ARRAY;
    kv->elem_type = (gguf_value_type)elem_type;
    return parse_values(p, kv, elem_type);
}

static g4_status parse_kv(parser *p, uint64_t index, gguf_kv *kv)
{
    locate(p, "metadata entry", index, NULL);
    g4_status status = read_str(p, &kv->key);
    if (status != G4_OK)
        return status;
    locate(p, "metadata entry", index, &kv->key);
    uint32_t type;
    status = read_u32(p, &type);
    if (status != G4_OK)
        return status;
    if (type == GGUF_ARRAY)
        return parse_array(p, kv);
    if (!is_known_type(type))
        return g4_fail(p->err, G4_ERR_FORMAT, "%s has unknown value type %" PRIu32, p->where,
                       type);
    kv->type = (gguf_value_type)type;
    kv->elem_type = (gguf_value_type)type;
    kv->count = 1;
    return parse_values(p, kv, type);
}

/* Grows an array geometrically, so that a hostile count costs memory only as fast as
 * records actually parse. Returns the (possibly moved) array, or NULL. */
static void *reserve(void *items, uint64_t *capacity, uint64_t needed, size_t item_size)
{
    if (needed <= *capacity)
        return items;
    uint64_t grown = *capacity ? *capacity * 2 : 16;
    if (grown > SIZE_MAX / item_size)
        return NULL;
    void *moved = realloc(items, (size_t)grown * item_size);
    if (moved)
        *capacity = grown;
    return moved;
}

static g4_status parse_kvs(parser *p, gguf_file *f, uint64_t n_kv)
{
    uint64_t capacity = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        gguf_kv *grown = reserve(f->kv, &capacity, i + 1, sizeof *f->kv);
        if (!grown)
            return g4_fail(p->err, G4_ERR_NO_MEMORY, "out of memory for metadata");
        f->kv = grown;
        f->kv[i] = (gguf_kv){0};
        f->n_kv = i + 1; /* counted before parsing so that gguf_close frees its strings */
        g4_status status = parse_kv(p, i, &f->kv[i]);
        if (status != G4_OK)
            return status;
    }
    return G4_OK;
}

/* ---- tensor infos ------------------------------------------------------------------- */

static g4_status check_tensor_shape(parser *p, gguf_tensor *t)
{
    excerpt ex;
    char shape[128];
    const char *name = str_excerpt(&ex, t->name);
    const g4_type_layout *layout = g4_type_get_layout(t->type);
    if (!layout)
        return g4_fail(p->err, G4_ERR_UNSUPPORTED, "tensor '%s' has unknown type %u", name,
                       (unsigned)t->type);
    /* ggml counts elements in int64_t; a zero dimension is legal and empties the tensor,
     * but the other dimensions must still multiply without overflow. */
    uint64_t nonzero_product = 1;
    bool empty = false;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (t->ne[d] == 0) {
            empty = true;
            continue;
        }
        if (t->ne[d] > INT64_MAX / nonzero_product)
            return g4_fail(p->err, G4_ERR_FORMAT,
                           "tensor '%s' shape %s has more than 2^63 - 1 elements", name,
                           format_shape(t, shape, sizeof shape));
        nonzero_product *= t->ne[d];
    }
    t->n_elements = empty ? 0 : nonzero_product;
    if (!g4_type_row_ok(t->type, t->ne[0]))
        return g4_fail(p->err, G4_ERR_FORMAT,
                       "tensor '%s' has rows of %" PRIu64
                       " elements, not a multiple of the %s block size %" PRIu32,
                       name, t->ne[0], layout->name, layout->block_elems);
    if (!g4_type_n_bytes(t->type, t->n_elements, &t->n_bytes))
        return g4_fail(p->err, G4_ERR_FORMAT, "tensor '%s' shape %s is too large for type %s",
                       name, format_shape(t, shape, sizeof shape), layout->name);
    return G4_OK;
}

static g4_status parse_tensor_info(parser *p, uint64_t index, gguf_tensor *t)
{
    locate(p, "tensor info", index, NULL);
    g4_status status = read_str(p, &t->name);
    if (status == G4_OK) {
        locate(p, "tensor info", index, &t->name);
        status = read_u32(p, &t->n_dims);
    }
    if (status != G4_OK)
        return status;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS) {
        excerpt ex;
        return g4_fail(p->err, G4_ERR_FORMAT, "tensor '%s' has %" PRIu32
                       " dimensions (must be 1 to %d)",
                       str_excerpt(&ex, t->name), t->n_dims, GGUF_MAX_DIMS);
    }
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d < t->n_dims && (status = read_u64(p, &t->ne[d])) != G4_OK)
            return status;
    }
    uint32_t type;
    status = read_u32(p, &type);
    if (status == G4_OK)
        status = read_u64(p, &t->offset);
    if (status != G4_OK)
        return status;
    t->type = (g4_type)type;
    return check_tensor_shape(p, t);
}

static g4_status parse_tensor_infos(parser *p, gguf_file *f, uint64_t n_tensors)
{
    uint64_t capacity = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        gguf_tensor *grown = reserve(f->tensors, &capacity, i + 1, sizeof *f->tensors);
        if (!grown)
            return g4_fail(p->err, G4_ERR_NO_MEMORY, "out of memory for tensor infos");
        f->tensors = grown;
        f->tensors[i] = (gguf_tensor){0};
        g4_status status = parse_tensor_info(p, i, &f->tensors[i]);
        if (status != G4_OK)
            return status;
        f->n_tensors = i + 1;
    }
    return G4_OK;
}

/* ---- header ------------------------------------------------------------------------- */

static g4_status check_magic(parser *p)
{
    if (p->size == 0)
        return g4_fail(p->err, G4_ERR_FORMAT, "not a GGUF file (the file is empty)");
    uint64_t n = p->size < 4 ? p->size : 4;
    if (memcmp(p->base, "GGUF", n) != 0) {
        excerpt ex;
        return g4_fail(p->err, G4_ERR_FORMAT, "not a GGUF file (magic is '%s')",
                       excerpt_of(&ex, (const char *)p->base, n));
    }
    g4_status status = need(p, 4);
    if (status == G4_OK)
        p->pos += 4;
    return status;
}

static g4_status check_version(parser *p, uint32_t version)
{
    if (version == 2 || version == 3)
        return G4_OK;
    if (version == 1)
        return g4_fail(p->err, G4_ERR_UNSUPPORTED,
                       "GGUF version 1 is not supported (it uses 32-bit counts); "
                       "convert the file to version 3");
    uint32_t swapped = version >> 24 | (version >> 8 & 0xff00u) | (version << 8 & 0xff0000u) |
                       version << 24;
    if (swapped == 2 || swapped == 3)
        return g4_fail(p->err, G4_ERR_UNSUPPORTED,
                       "big-endian GGUF files are not supported (version field %" PRIu32 ")",
                       version);
    return g4_fail(p->err, G4_ERR_UNSUPPORTED,
                   "GGUF version %" PRIu32 " is not supported (expected 2 or 3)", version);
}

static g4_status parse_header(parser *p, gguf_file *f, uint64_t *n_kv, uint64_t *n_tensors)
{
    snprintf(p->where, sizeof p->where, "header");
    g4_status status = check_magic(p);
    if (status == G4_OK)
        status = read_u32(p, &f->version);
    if (status == G4_OK)
        status = check_version(p, f->version);
    if (status == G4_OK)
        status = read_u64(p, n_tensors);
    if (status == G4_OK)
        status = read_u64(p, n_kv);
    if (status != G4_OK)
        return status;
    uint64_t max_kv = remaining(p) / MIN_KV_BYTES;
    if (*n_kv > max_kv)
        return g4_fail(p->err, G4_ERR_FORMAT,
                       "truncated: header declares %" PRIu64 " metadata entries but the %" PRIu64
                       " bytes after it hold at most %" PRIu64,
                       *n_kv, remaining(p), max_kv);
    uint64_t max_tensors = (remaining(p) - *n_kv * MIN_KV_BYTES) / MIN_TENSOR_BYTES;
    if (*n_tensors > max_tensors)
        return g4_fail(p->err, G4_ERR_FORMAT,
                       "truncated: header declares %" PRIu64 " tensors but the %" PRIu64
                       " bytes after it hold at most %" PRIu64 " besides the metadata",
                       *n_tensors, remaining(p), max_tensors);
    return G4_OK;
}

/* ---- lookup tables ------------------------------------------------------------------- */

/* Open addressing over item indexes; at most half full, so a probe always ends. */
typedef struct name_index {
    uint64_t *slots; /* item index + 1; 0 marks an empty slot */
    uint64_t mask;
} name_index;

typedef struct lookup_tables {
    name_index keys;
    name_index tensors;
} lookup_tables;

typedef gguf_str (*name_of_fn)(const gguf_file *f, uint64_t i);

static gguf_str kv_name(const gguf_file *f, uint64_t i)
{
    return f->kv[i].key;
}

static gguf_str tensor_name(const gguf_file *f, uint64_t i)
{
    return f->tensors[i].name;
}

static uint64_t hash_bytes(const char *bytes, uint64_t len)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (uint64_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)bytes[i]) * 0x100000001b3u;
    return h;
}

static bool same_name(gguf_str s, const char *name, uint64_t len)
{
    return s.len == len && (len == 0 || memcmp(s.ptr, name, len) == 0);
}

/* The slot holding name, or the empty slot where it belongs. */
static uint64_t probe(const name_index *ix, const gguf_file *f, name_of_fn name_of,
                      const char *name, uint64_t len)
{
    uint64_t slot = hash_bytes(name, len) & ix->mask;
    while (ix->slots[slot] != 0 && !same_name(name_of(f, ix->slots[slot] - 1), name, len))
        slot = (slot + 1) & ix->mask;
    return slot;
}

/* Fills the index; on a repeated name returns G4_ERR_FORMAT with both item indexes. */
static g4_status build_index(name_index *ix, const gguf_file *f, uint64_t n,
                             name_of_fn name_of, uint64_t dup[2])
{
    uint64_t capacity = 2;
    while (capacity < 2 * n)
        capacity *= 2;
    if (capacity > SIZE_MAX / sizeof *ix->slots)
        return G4_ERR_NO_MEMORY;
    ix->slots = calloc((size_t)capacity, sizeof *ix->slots);
    if (!ix->slots)
        return G4_ERR_NO_MEMORY;
    ix->mask = capacity - 1;
    for (uint64_t i = 0; i < n; i++) {
        gguf_str name = name_of(f, i);
        uint64_t slot = probe(ix, f, name_of, name.ptr, name.len);
        if (ix->slots[slot] != 0) {
            dup[0] = ix->slots[slot] - 1;
            dup[1] = i;
            return G4_ERR_FORMAT;
        }
        ix->slots[slot] = i + 1;
    }
    return G4_OK;
}

static g4_status build_lookup_tables(gguf_file *f, g4_err *err)
{
    lookup_tables *tables = calloc(1, sizeof *tables);
    if (!tables)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for lookup tables");
    f->private_state = tables;
    uint64_t dup[2];
    excerpt ex;
    g4_status status = build_index(&tables->keys, f, f->n_kv, kv_name, dup);
    if (status == G4_ERR_FORMAT)
        return g4_fail(err, status, "duplicate metadata key '%s' (entries %" PRIu64
                       " and %" PRIu64 ")", str_excerpt(&ex, f->kv[dup[0]].key), dup[0], dup[1]);
    if (status == G4_OK)
        status = build_index(&tables->tensors, f, f->n_tensors, tensor_name, dup);
    if (status == G4_ERR_FORMAT)
        return g4_fail(err, status, "duplicate tensor name '%s' (tensors %" PRIu64
                       " and %" PRIu64 ")", str_excerpt(&ex, f->tensors[dup[0]].name), dup[0],
                       dup[1]);
    if (status == G4_ERR_NO_MEMORY)
        return g4_fail(err, status, "out of memory for lookup tables");
    return status;
}

const gguf_kv *gguf_find(const gguf_file *file, const char *key)
{
    const name_index *ix = &((const lookup_tables *)file->private_state)->keys;
    uint64_t slot = probe(ix, file, kv_name, key, strlen(key));
    return ix->slots[slot] ? &file->kv[ix->slots[slot] - 1] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *file, const char *name)
{
    const name_index *ix = &((const lookup_tables *)file->private_state)->tensors;
    uint64_t slot = probe(ix, file, tensor_name, name, strlen(name));
    return ix->slots[slot] ? &file->tensors[ix->slots[slot] - 1] : NULL;
}

bool gguf_str_eq(gguf_str s, const char *cstr)
{
    return same_name(s, cstr, strlen(cstr));
}

/* ---- data section ------------------------------------------------------------------- */

static g4_status read_alignment(gguf_file *f, g4_err *err)
{
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    if (!gguf_find(f, GGUF_ALIGNMENT_KEY))
        return G4_OK;
    uint32_t alignment;
    g4_status status = gguf_get_u32(f, GGUF_ALIGNMENT_KEY, &alignment, err);
    if (status != G4_OK)
        return status;
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return g4_fail(err, G4_ERR_FORMAT,
                       GGUF_ALIGNMENT_KEY " is %" PRIu32 ", must be a non-zero power of two",
                       alignment);
    f->alignment = alignment;
    return G4_OK;
}

/* The data section starts at the first aligned byte after the tensor infos. A file
 * without tensors may end before that padding. */
static g4_status locate_data_section(gguf_file *f, uint64_t infos_end, g4_err *err)
{
    uint64_t padding = (f->alignment - infos_end % f->alignment) % f->alignment;
    if (padding <= f->size - infos_end) {
        f->data_offset = infos_end + padding;
        return G4_OK;
    }
    if (f->n_tensors == 0) {
        f->data_offset = f->size;
        return G4_OK;
    }
    return g4_fail(err, G4_ERR_FORMAT,
                   "truncated: the data section starts at byte %" PRIu64
                   " (alignment %" PRIu64 ") but the file has %" PRIu64 " bytes",
                   infos_end + padding, f->alignment, f->size);
}

static g4_status place_tensor(gguf_file *f, gguf_tensor *t, g4_err *err)
{
    excerpt ex;
    const char *name = str_excerpt(&ex, t->name);
    if (t->offset % f->alignment != 0)
        return g4_fail(err, G4_ERR_FORMAT,
                       "tensor '%s' offset %" PRIu64 " is not a multiple of the alignment %" PRIu64,
                       name, t->offset, f->alignment);
    uint64_t section = f->size - f->data_offset;
    if (t->offset > section || t->n_bytes > section - t->offset) {
        if (t->n_bytes <= UINT64_MAX - t->offset)
            return g4_fail(err, G4_ERR_FORMAT,
                           "tensor '%s' data [%" PRIu64 ", %" PRIu64 ") lies outside the file "
                           "(the data section has %" PRIu64 " bytes)",
                           name, t->offset, t->offset + t->n_bytes, section);
        return g4_fail(err, G4_ERR_FORMAT,
                       "tensor '%s' data (%" PRIu64 " bytes at offset %" PRIu64
                       ") lies outside the file (the data section has %" PRIu64 " bytes)",
                       name, t->n_bytes, t->offset, section);
    }
    t->data = f->base + f->data_offset + t->offset;
    return G4_OK;
}

static int compare_offsets(const void *a, const void *b)
{
    const gguf_tensor *x = *(const gguf_tensor *const *)a;
    const gguf_tensor *y = *(const gguf_tensor *const *)b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return (x > y) - (x < y); /* file order, for stable messages */
}

/* Sorts the non-empty tensors by offset; each must end before the next begins. */
static g4_status check_overlaps(const gguf_file *f, g4_err *err)
{
    if (f->n_tensors < 2)
        return G4_OK;
    const gguf_tensor **sorted = malloc((size_t)f->n_tensors * sizeof *sorted);
    if (!sorted)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory checking tensor overlaps");
    size_t n = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].n_bytes > 0)
            sorted[n++] = &f->tensors[i];
    qsort(sorted, n, sizeof *sorted, compare_offsets);
    g4_status status = G4_OK;
    for (size_t i = 1; i < n && status == G4_OK; i++) {
        const gguf_tensor *a = sorted[i - 1], *b = sorted[i];
        if (a->offset + a->n_bytes > b->offset) {
            excerpt ex_a, ex_b;
            status = g4_fail(err, G4_ERR_FORMAT,
                             "tensors '%s' [%" PRIu64 ", %" PRIu64 ") and '%s' [%" PRIu64
                             ", %" PRIu64 ") overlap",
                             str_excerpt(&ex_a, a->name), a->offset, a->offset + a->n_bytes,
                             str_excerpt(&ex_b, b->name), b->offset, b->offset + b->n_bytes);
        }
    }
    free(sorted);
    return status;
}

static g4_status place_tensors(gguf_file *f, uint64_t infos_end, g4_err *err)
{
    g4_status status = locate_data_section(f, infos_end, err);
    for (uint64_t i = 0; i < f->n_tensors && status == G4_OK; i++)
        status = place_tensor(f, &f->tensors[i], err);
    return status == G4_OK ? check_overlaps(f, err) : status;
}

/* ---- opening and closing ----------------------------------------------------------- */

static g4_status parse(gguf_file *f, g4_err *err)
{
    parser p = {.base = f->base, .size = f->size, .err = err};
    uint64_t n_kv, n_tensors;
    g4_status status = parse_header(&p, f, &n_kv, &n_tensors);
    if (status == G4_OK)
        status = parse_kvs(&p, f, n_kv);
    if (status == G4_OK)
        status = parse_tensor_infos(&p, f, n_tensors);
    if (status == G4_OK)
        status = build_lookup_tables(f, err);
    if (status == G4_OK)
        status = read_alignment(f, err);
    if (status == G4_OK)
        status = place_tensors(f, p.pos, err);
    return status;
}

/* Parses an image of a file; the gguf_file takes `image` (NULL for caller-owned memory),
 * which is closed on failure too. */
static g4_status open_image(const void *data, uint64_t size, file_image *image,
                            gguf_file **out, g4_err *err)
{
    gguf_file *f = calloc(1, sizeof *f);
    if (!f) {
        file_image_close(image);
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    }
    f->base = data;
    f->size = size;
    f->image = image;
    g4_status status = parse(f, err);
    if (status != G4_OK) {
        gguf_close(f);
        return status;
    }
    *out = f;
    return G4_OK;
}

g4_status gguf_open_with(const char *path, const gguf_open_options *options, gguf_file **out,
                         g4_err *err)
{
    *out = NULL;
    file_image_options image_options = {.promote = options && options->copy};
    file_image *image = NULL;
    g4_status status = file_image_open(path, &image_options, &image, err);
    if (status != G4_OK)
        return status;
    status = open_image(file_image_data(image), file_image_size(image), image, out, err);
    if (status != G4_OK && err)
        g4_fail_context(err, "%s", path);
    return status;
}

bool gguf_wait_in_memory(gguf_file *file)
{
    return file->image && file_image_wait_promoted(file->image);
}

g4_status gguf_open(const char *path, gguf_file **out, g4_err *err)
{
    return gguf_open_with(path, NULL, out, err);
}

g4_status gguf_open_memory(const void *data, uint64_t size, gguf_file **out, g4_err *err)
{
    *out = NULL;
    if (!data && size > 0)
        return g4_fail(err, G4_ERR_INVALID_ARG, "gguf_open_memory: NULL data of %" PRIu64
                       " bytes", size);
    return open_image(data, size, NULL, out, err);
}

void gguf_close(gguf_file *file)
{
    if (!file)
        return;
    for (uint64_t i = 0; i < file->n_kv; i++)
        free((void *)file->kv[i].strings);
    free(file->kv);
    free(file->tensors);
    lookup_tables *tables = file->private_state;
    if (tables) {
        free(tables->keys.slots);
        free(tables->tensors.slots);
        free(tables);
    }
    file_image_close(file->image);
    free(file);
}

/* ---- typed getters ----------------------------------------------------------------- */

const char *gguf_type_name(gguf_value_type type)
{
    switch (type) {
    case GGUF_U8: return "u8";
    case GGUF_I8: return "i8";
    case GGUF_U16: return "u16";
    case GGUF_I16: return "i16";
    case GGUF_U32: return "u32";
    case GGUF_I32: return "i32";
    case GGUF_F32: return "f32";
    case GGUF_BOOL: return "bool";
    case GGUF_STRING: return "string";
    case GGUF_ARRAY: return "array";
    case GGUF_U64: return "u64";
    case GGUF_I64: return "i64";
    case GGUF_F64: return "f64";
    }
    return "unknown";
}

static const char *kv_type_text(const gguf_kv *kv, char *buf, size_t cap)
{
    if (kv->type == GGUF_ARRAY)
        snprintf(buf, cap, "array of %s", gguf_type_name(kv->elem_type));
    else
        snprintf(buf, cap, "%s", gguf_type_name(kv->type));
    return buf;
}

static g4_status fail_type(const gguf_kv *kv, const char *expected, g4_err *err)
{
    excerpt ex;
    char type[32];
    return g4_fail(err, G4_ERR_FORMAT, "metadata key '%s' has type %s, expected %s",
                   str_excerpt(&ex, kv->key), kv_type_text(kv, type, sizeof type), expected);
}

static g4_status find_key(const gguf_file *file, const char *key, const gguf_kv **kv,
                          g4_err *err)
{
    *kv = gguf_find(file, key);
    if (*kv)
        return G4_OK;
    excerpt ex;
    return g4_fail(err, G4_ERR_FORMAT, "metadata key '%s' is missing",
                   excerpt_of(&ex, key, strlen(key)));
}

/* An integer of any GGUF integer type, widened without loss. */
typedef struct int_value {
    bool is_signed;
    int64_t s;
    uint64_t u;
} int_value;

static bool load_int(gguf_value_type type, const uint8_t *p, int_value *v)
{
    *v = (int_value){0};
    switch (type) {
    case GGUF_U8: v->u = p[0]; return true;
    case GGUF_U16: v->u = load_u16(p); return true;
    case GGUF_U32: v->u = load_u32(p); return true;
    case GGUF_U64: v->u = load_u64(p); return true;
    case GGUF_I8: v->s = (int8_t)p[0]; break;
    case GGUF_I16: v->s = (int16_t)load_u16(p); break;
    case GGUF_I32: v->s = (int32_t)load_u32(p); break;
    case GGUF_I64: v->s = (int64_t)load_u64(p); break;
    default: return false;
    }
    v->is_signed = true;
    return true;
}

static const char *int_text(const int_value *v, char *buf, size_t cap)
{
    if (v->is_signed)
        snprintf(buf, cap, "%" PRId64, v->s);
    else
        snprintf(buf, cap, "%" PRIu64, v->u);
    return buf;
}

/* "metadata key 'k' value -3 does not fit u32" or "... element 4 value ...". */
static g4_status fail_range(const gguf_kv *kv, const char *element, const char *value,
                            const char *target, g4_err *err)
{
    excerpt ex;
    return g4_fail(err, G4_ERR_FORMAT, "metadata key '%s'%s value %s does not fit %s",
                   str_excerpt(&ex, kv->key), element, value, target);
}

/* Finite doubles beyond float range would be undefined behaviour to convert. */
static bool double_to_float(double d, float *out)
{
    if (isfinite(d) && fabs(d) > FLT_MAX)
        return false;
    *out = (float)d;
    return true;
}

g4_status gguf_get_u32(const gguf_file *file, const char *key, uint32_t *out, g4_err *err)
{
    const gguf_kv *kv;
    g4_status status = find_key(file, key, &kv, err);
    if (status != G4_OK)
        return status;
    int_value v;
    if (!load_int(kv->type, kv->value, &v))
        return fail_type(kv, "an unsigned integer", err);
    bool fits = v.is_signed ? v.s >= 0 && v.s <= (int64_t)UINT32_MAX : v.u <= UINT32_MAX;
    if (!fits) {
        char text[32];
        return fail_range(kv, "", int_text(&v, text, sizeof text), "u32", err);
    }
    *out = (uint32_t)(v.is_signed ? (uint64_t)v.s : v.u);
    return G4_OK;
}

/* Loads an f32 or f64 value as a float; element is "" or " element N" for messages. */
static g4_status load_float(const gguf_kv *kv, gguf_value_type type, const uint8_t *p,
                            const char *element, float *out, g4_err *err)
{
    if (type == GGUF_F32) {
        *out = load_f32(p);
        return G4_OK;
    }
    if (type != GGUF_F64)
        return fail_type(kv, kv->type == GGUF_ARRAY ? "an array of f32 or f64" : "f32 or f64",
                         err);
    double d = load_f64(p);
    if (double_to_float(d, out))
        return G4_OK;
    char text[32];
    snprintf(text, sizeof text, "%g", d);
    return fail_range(kv, element, text, "f32", err);
}

g4_status gguf_get_f32(const gguf_file *file, const char *key, float *out, g4_err *err)
{
    const gguf_kv *kv;
    g4_status status = find_key(file, key, &kv, err);
    if (status != G4_OK)
        return status;
    return load_float(kv, kv->type, kv->value, "", out, err);
}

g4_status gguf_get_bool(const gguf_file *file, const char *key, bool *out, g4_err *err)
{
    const gguf_kv *kv;
    g4_status status = find_key(file, key, &kv, err);
    if (status != G4_OK)
        return status;
    if (kv->type != GGUF_BOOL)
        return fail_type(kv, "bool", err);
    *out = kv->value[0] != 0;
    return G4_OK;
}

g4_status gguf_get_str(const gguf_file *file, const char *key, gguf_str *out, g4_err *err)
{
    const gguf_kv *kv;
    g4_status status = find_key(file, key, &kv, err);
    if (status != G4_OK)
        return status;
    if (kv->type != GGUF_STRING)
        return fail_type(kv, "string", err);
    *out = kv->strings[0];
    return G4_OK;
}

g4_status gguf_get_array(const gguf_file *file, const char *key, gguf_value_type elem_type,
                         const gguf_kv **out, g4_err *err)
{
    const gguf_kv *kv;
    g4_status status = find_key(file, key, &kv, err);
    if (status != G4_OK)
        return status;
    if (kv->type != GGUF_ARRAY || kv->elem_type != elem_type) {
        char expected[32];
        snprintf(expected, sizeof expected, "array of %s", gguf_type_name(elem_type));
        return fail_type(kv, expected, err);
    }
    *out = kv;
    return G4_OK;
}

/* Checks that kv is an array with an element i; *element receives " element i". */
static g4_status check_element(const gguf_kv *kv, uint64_t i, char *element, size_t cap,
                               g4_err *err)
{
    if (!kv)
        return g4_fail(err, G4_ERR_INVALID_ARG, "no metadata entry given");
    snprintf(element, cap, " element %" PRIu64, i);
    if (kv->type != GGUF_ARRAY)
        return G4_OK; /* the caller reports the type */
    if (i < kv->count)
        return G4_OK;
    excerpt ex;
    return g4_fail(err, G4_ERR_FORMAT,
                   "metadata key '%s' has %" PRIu64 " elements, element %" PRIu64
                   " is out of range",
                   str_excerpt(&ex, kv->key), kv->count, i);
}

g4_status gguf_array_i64(const gguf_kv *kv, uint64_t i, int64_t *out, g4_err *err)
{
    char element[40];
    g4_status status = check_element(kv, i, element, sizeof element, err);
    if (status != G4_OK)
        return status;
    /* Bools read as 0 and 1, so that per-layer flag arrays need no special case. */
    gguf_value_type type = kv->elem_type == GGUF_BOOL ? GGUF_U8 : kv->elem_type;
    int_value v;
    if (kv->type != GGUF_ARRAY ||
        !load_int(type, kv->value + i * gguf_value_size(kv->elem_type), &v))
        return fail_type(kv, "an array of integers", err);
    if (!v.is_signed && v.u > INT64_MAX) {
        char text[32];
        return fail_range(kv, element, int_text(&v, text, sizeof text), "i64", err);
    }
    *out = v.is_signed ? v.s : (int64_t)v.u;
    return G4_OK;
}

g4_status gguf_array_f32(const gguf_kv *kv, uint64_t i, float *out, g4_err *err)
{
    char element[40];
    g4_status status = check_element(kv, i, element, sizeof element, err);
    if (status != G4_OK)
        return status;
    if (kv->type != GGUF_ARRAY)
        return fail_type(kv, "an array of f32 or f64", err);
    return load_float(kv, kv->elem_type, kv->value + i * gguf_value_size(kv->elem_type), element,
                      out, err);
}
