/* GGUF reader and writer: round trips through the writer, the real test models, and a
 * hostile-input suite that corrupts valid files one field at a time.
 *
 * With "--write-corpus DIR" it writes the fuzzer's seed files instead. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "harness.h"

/* ---- helpers -------------------------------------------------------------------------- */

typedef struct image {
    uint8_t *bytes;
    uint64_t size;
} image;

static char temp_dir[] = "/tmp/test_gguf.XXXXXX";

static const char *temp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", temp_dir, name);
    return path;
}

static image finish_writer(gguf_writer *w)
{
    image img = {0};
    void *data = NULL;
    g4_err err = {0};
    g4_status status = gguf_writer_write_memory(w, &data, &img.size, &err);
    CHECK_MSG(status == G4_OK, "writer failed: %s", err.msg);
    img.bytes = data;
    gguf_writer_free(w);
    return img;
}

static gguf_writer *new_writer(void)
{
    gguf_writer *w = NULL;
    g4_status status = gguf_writer_new(&w, NULL);
    if (status != G4_OK) {
        fprintf(stderr, "cannot create a writer\n");
        exit(1);
    }
    return w;
}

static image copy_image(const image *img)
{
    image copy = {malloc(img->size), img->size};
    memcpy(copy.bytes, img->bytes, img->size);
    return copy;
}

/* Offset of the first occurrence of needle; aborts the test when it is absent. */
static uint64_t find_bytes(const image *img, const char *needle)
{
    size_t len = strlen(needle);
    for (uint64_t i = 0; i + len <= img->size; i++)
        if (memcmp(img->bytes + i, needle, len) == 0)
            return i;
    fprintf(stderr, "fixture lacks '%s'\n", needle);
    exit(1);
}

static void put_le(image *img, uint64_t at, uint64_t value, unsigned n_bytes)
{
    for (unsigned i = 0; i < n_bytes; i++)
        img->bytes[at + i] = (uint8_t)(value >> (8 * i));
}

static uint64_t get_le(const image *img, uint64_t at, unsigned n_bytes)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < n_bytes; i++)
        value |= (uint64_t)img->bytes[at + i] << (8 * i);
    return value;
}

static bool has_text(const char *message, const char *fragment)
{
    return strstr(message, fragment) != NULL;
}

static gguf_file *open_ok(const image *img)
{
    gguf_file *f = NULL;
    g4_err err = {0};
    g4_status status = gguf_open_memory(img->bytes, img->size, &f, &err);
    CHECK_MSG(status == G4_OK && f, "open failed: %s", err.msg);
    return f;
}

/* Opens img and expects the status and a message containing every fragment. */
static void expect_failure(int line, const image *img, g4_status expected,
                           const char *const *fragments)
{
    gguf_file *f = NULL;
    g4_err err = {0};
    g4_status status = gguf_open_memory(img->bytes, img->size, &f, &err);
    CHECK_MSG(status == expected && !f, "line %d: status %d, expected %d (%s)", line, status,
              expected, err.msg);
    for (; *fragments; fragments++)
        CHECK_MSG(has_text(err.msg, *fragments), "line %d: message \"%s\" lacks \"%s\"", line,
                  err.msg, *fragments);
    gguf_close(f);
}

#define EXPECT_FAILURE(img, status, ...)                                                       \
    expect_failure(__LINE__, (img), (status), (const char *const[]){__VA_ARGS__, NULL})

/* A getter call that must fail with a message mentioning fragment. */
#define EXPECT_GETTER_FAILS(call, status, fragment)                                            \
    do {                                                                                       \
        g4_err getter_err_ = {0};                                                              \
        g4_status getter_status_ = (call);                                                     \
        CHECK_MSG(getter_status_ == (status) && has_text(getter_err_.msg, fragment),            \
                  "%s -> %d \"%s\"", #call, getter_status_, getter_err_.msg);                  \
    } while (0)

/* ---- fixtures ------------------------------------------------------------------------- */

static const float alpha_data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static uint8_t beta_data[2 * 18];   /* Q4_0 [32, 2] */
static const uint16_t gamma_data[8] = {0x3c00, 0x4000, 0x4200, 0x4400, 0, 0, 0, 0x8000};

/* A small valid file with metadata of several kinds and three tensors; the hostile
 * cases corrupt one field of it each. */
static image build_fixture(void)
{
    gguf_writer *w = new_writer();
    gguf_writer_add_str(w, "general.architecture", "fixture");
    gguf_writer_add_u32(w, "general.alignment", 32);
    gguf_writer_add_u32(w, "fixture.count", 7);
    const int32_t ints[3] = {1, -2, 3};
    gguf_writer_add_array(w, "fixture.ints", GGUF_I32, ints, 3);
    const gguf_str words[2] = {{"ab", 2}, {"cde", 3}};
    gguf_writer_add_str_array(w, "fixture.words", words, 2);
    gguf_writer_add_u8(w, "key.a", 1);
    gguf_writer_add_u8(w, "key.b", 2);
    gguf_writer_add_tensor(w, "tensor.alpha", 2, (const uint64_t[]){4, 2}, G4_TYPE_F32,
                           alpha_data, sizeof alpha_data);
    gguf_writer_add_tensor(w, "tensor.beta", 2, (const uint64_t[]){32, 2}, G4_TYPE_Q4_0,
                           beta_data, sizeof beta_data);
    gguf_writer_add_tensor(w, "tensor.gamma", 1, (const uint64_t[]){8}, G4_TYPE_F16,
                           gamma_data, sizeof gamma_data);
    return finish_writer(w);
}

/* Positions of one tensor info's fields, found through its name. */
typedef struct info_fields {
    uint64_t n_dims, ne, type, offset;
} info_fields;

static info_fields tensor_fields(const image *img, const char *name)
{
    info_fields at;
    at.n_dims = find_bytes(img, name) + strlen(name);
    uint32_t n_dims = (uint32_t)get_le(img, at.n_dims, 4);
    at.ne = at.n_dims + 4;
    at.type = at.ne + 8 * (uint64_t)n_dims;
    at.offset = at.type + 4;
    return at;
}

/* Position of a metadata entry's type field (the value follows it). */
static uint64_t kv_type_at(const image *img, const char *key)
{
    return find_bytes(img, key) + strlen(key);
}

/* ---- tensor types ---------------------------------------------------------------------- */

static void test_type_layouts(void)
{
    const g4_type_layout *q4k = g4_type_get_layout(G4_TYPE_Q4_K);
    CHECK(q4k && q4k->block_elems == 256 && q4k->block_bytes == 144);
    CHECK(strcmp(g4_type_name(G4_TYPE_BF16), "BF16") == 0);
    CHECK(strcmp(g4_type_name(G4_TYPE_Q8_0), "Q8_0") == 0);
    CHECK(g4_type_get_layout(4) == NULL); /* Q4_2, long gone from ggml */
    CHECK(g4_type_get_layout(16) == NULL);
    CHECK(g4_type_get_layout(G4_TYPE_COUNT) == NULL);
    CHECK(g4_type_get_layout(UINT32_MAX) == NULL);
    CHECK(strcmp(g4_type_name(77), "unknown") == 0);
    CHECK(g4_type_row_ok(G4_TYPE_Q4_0, 64) && !g4_type_row_ok(G4_TYPE_Q4_0, 33));
    CHECK(!g4_type_row_ok((g4_type)77, 32));
    CHECK(g4_type_row_bytes(G4_TYPE_Q4_0, 64) == 36);
    CHECK(g4_type_row_bytes(G4_TYPE_Q6_K, 512) == 420);
    CHECK(g4_type_row_bytes(G4_TYPE_F16, 3) == 6);
    uint64_t n_bytes = 0;
    CHECK(g4_type_n_bytes(G4_TYPE_Q8_0, 96, &n_bytes) && n_bytes == 102);
    CHECK(!g4_type_n_bytes(G4_TYPE_F64, UINT64_MAX / 4, &n_bytes));
    CHECK(!g4_type_n_bytes(G4_TYPE_Q8_0, 33, &n_bytes));
}

/* ---- metadata round trip ------------------------------------------------------------- */

static image build_all_values(void)
{
    gguf_writer *w = new_writer();
    gguf_writer_add_u8(w, "v.u8", 255);
    gguf_writer_add_i8(w, "v.i8", -128);
    gguf_writer_add_u16(w, "v.u16", 65535);
    gguf_writer_add_i16(w, "v.i16", -32768);
    gguf_writer_add_u32(w, "v.u32", UINT32_MAX);
    gguf_writer_add_i32(w, "v.i32", INT32_MIN);
    gguf_writer_add_i32(w, "v.i32_small", 12);
    gguf_writer_add_f32(w, "v.f32", -1.5f);
    gguf_writer_add_bool(w, "v.true", true);
    gguf_writer_add_bool(w, "v.false", false);
    gguf_writer_add_u64(w, "v.u64", UINT64_MAX);
    gguf_writer_add_u64(w, "v.u64_small", 4096);
    gguf_writer_add_i64(w, "v.i64", INT64_MIN);
    gguf_writer_add_f64(w, "v.f64", 0.25);
    gguf_writer_add_f64(w, "v.f64_huge", 1e300);
    gguf_writer_add_str(w, "v.str", "h\xc3\xa9llo");
    gguf_writer_add_str(w, "v.empty_str", "");
    gguf_writer_add_array(w, "a.u8", GGUF_U8, (const uint8_t[]){0, 255}, 2);
    gguf_writer_add_array(w, "a.i8", GGUF_I8, (const int8_t[]){-1, 127}, 2);
    gguf_writer_add_array(w, "a.u16", GGUF_U16, (const uint16_t[]){1, 65535}, 2);
    gguf_writer_add_array(w, "a.i16", GGUF_I16, (const int16_t[]){-300, 300}, 2);
    gguf_writer_add_array(w, "a.u32", GGUF_U32, (const uint32_t[]){7, UINT32_MAX}, 2);
    gguf_writer_add_array(w, "a.i32", GGUF_I32, (const int32_t[]){-7, INT32_MAX, 0}, 3);
    gguf_writer_add_array(w, "a.f32", GGUF_F32, (const float[]){0.5f, -2.0f}, 2);
    gguf_writer_add_array(w, "a.bool", GGUF_BOOL, (const bool[]){true, false, true}, 3);
    gguf_writer_add_array(w, "a.u64", GGUF_U64, (const uint64_t[]){1, UINT64_MAX}, 2);
    gguf_writer_add_array(w, "a.i64", GGUF_I64, (const int64_t[]){INT64_MIN, 5}, 2);
    gguf_writer_add_array(w, "a.f64", GGUF_F64, (const double[]){3.25, -1e300}, 2);
    gguf_writer_add_array(w, "a.empty", GGUF_I32, NULL, 0);
    const gguf_str strings[3] = {{"one", 3}, {"", 0}, {"t\0o", 3}};
    gguf_writer_add_str_array(w, "a.str", strings, 3);
    gguf_writer_add_str_array(w, "a.empty_str", NULL, 0);
    return finish_writer(w);
}

static void check_kv_shape(const gguf_file *f, const char *key, gguf_value_type type,
                           gguf_value_type elem_type, uint64_t count)
{
    const gguf_kv *kv = gguf_find(f, key);
    CHECK_MSG(kv && kv->type == type && kv->elem_type == elem_type && kv->count == count,
              "key %s: wrong type or count", key);
    CHECK_MSG(kv && gguf_str_eq(kv->key, key), "key %s: wrong key view", key);
}

static void check_scalars(const gguf_file *f)
{
    check_kv_shape(f, "v.u8", GGUF_U8, GGUF_U8, 1);
    check_kv_shape(f, "v.i64", GGUF_I64, GGUF_I64, 1);
    check_kv_shape(f, "v.str", GGUF_STRING, GGUF_STRING, 1);
    uint32_t u32 = 0;
    CHECK(gguf_get_u32(f, "v.u8", &u32, NULL) == G4_OK && u32 == 255);
    CHECK(gguf_get_u32(f, "v.u16", &u32, NULL) == G4_OK && u32 == 65535);
    CHECK(gguf_get_u32(f, "v.u32", &u32, NULL) == G4_OK && u32 == UINT32_MAX);
    CHECK(gguf_get_u32(f, "v.i32_small", &u32, NULL) == G4_OK && u32 == 12);
    CHECK(gguf_get_u32(f, "v.u64_small", &u32, NULL) == G4_OK && u32 == 4096);
    const gguf_kv *kv = gguf_find(f, "v.i8");
    CHECK(kv && (int8_t)kv->value[0] == -128);
    kv = gguf_find(f, "v.i16");
    CHECK(kv && kv->value[0] == 0x00 && kv->value[1] == 0x80);
    kv = gguf_find(f, "v.i64");
    CHECK(kv && kv->value[7] == 0x80 && kv->value[0] == 0);
    float f32 = 0;
    CHECK(gguf_get_f32(f, "v.f32", &f32, NULL) == G4_OK && f32 == -1.5f);
    CHECK(gguf_get_f32(f, "v.f64", &f32, NULL) == G4_OK && f32 == 0.25f);
    bool flag = false;
    CHECK(gguf_get_bool(f, "v.true", &flag, NULL) == G4_OK && flag);
    CHECK(gguf_get_bool(f, "v.false", &flag, NULL) == G4_OK && !flag);
    gguf_str s = {0};
    CHECK(gguf_get_str(f, "v.str", &s, NULL) == G4_OK && gguf_str_eq(s, "h\xc3\xa9llo"));
    CHECK(gguf_get_str(f, "v.empty_str", &s, NULL) == G4_OK && s.len == 0);
}

static void check_arrays(const gguf_file *f)
{
    static const struct {
        const char *key;
        gguf_value_type type;
        uint64_t count;
        int64_t last;
    } int_arrays[] = {
        {"a.u8", GGUF_U8, 2, 255},          {"a.i8", GGUF_I8, 2, 127},
        {"a.u16", GGUF_U16, 2, 65535},      {"a.i16", GGUF_I16, 2, 300},
        {"a.u32", GGUF_U32, 2, UINT32_MAX}, {"a.i32", GGUF_I32, 3, 0},
        {"a.bool", GGUF_BOOL, 3, 1},        {"a.i64", GGUF_I64, 2, 5},
    };
    for (size_t i = 0; i < sizeof int_arrays / sizeof int_arrays[0]; i++) {
        check_kv_shape(f, int_arrays[i].key, GGUF_ARRAY, int_arrays[i].type,
                       int_arrays[i].count);
        int64_t value = -99;
        CHECK_MSG(gguf_array_i64(gguf_find(f, int_arrays[i].key), int_arrays[i].count - 1,
                                 &value, NULL) == G4_OK && value == int_arrays[i].last,
                  "%s: last element %lld", int_arrays[i].key, (long long)value);
    }
    int64_t value = 0;
    CHECK(gguf_array_i64(gguf_find(f, "a.i8"), 0, &value, NULL) == G4_OK && value == -1);
    CHECK(gguf_array_i64(gguf_find(f, "a.i16"), 0, &value, NULL) == G4_OK && value == -300);
    CHECK(gguf_array_i64(gguf_find(f, "a.i64"), 0, &value, NULL) == G4_OK &&
          value == INT64_MIN);
    CHECK(gguf_array_i64(gguf_find(f, "a.bool"), 1, &value, NULL) == G4_OK && value == 0);
    CHECK(gguf_array_i64(gguf_find(f, "a.u64"), 0, &value, NULL) == G4_OK && value == 1);
    float x = 0;
    check_kv_shape(f, "a.f32", GGUF_ARRAY, GGUF_F32, 2);
    CHECK(gguf_array_f32(gguf_find(f, "a.f32"), 1, &x, NULL) == G4_OK && x == -2.0f);
    CHECK(gguf_array_f32(gguf_find(f, "a.f64"), 0, &x, NULL) == G4_OK && x == 3.25f);
    check_kv_shape(f, "a.empty", GGUF_ARRAY, GGUF_I32, 0);
    check_kv_shape(f, "a.empty_str", GGUF_ARRAY, GGUF_STRING, 0);
    const gguf_kv *strings = NULL;
    CHECK(gguf_get_array(f, "a.str", GGUF_STRING, &strings, NULL) == G4_OK);
    CHECK(strings && strings->count == 3 && gguf_str_eq(strings->strings[0], "one") &&
          strings->strings[1].len == 0 && strings->strings[2].len == 3 &&
          memcmp(strings->strings[2].ptr, "t\0o", 3) == 0);
}

static void check_getter_errors(const gguf_file *f)
{
    uint32_t u32;
    float f32;
    bool flag;
    gguf_str s;
    int64_t i64;
    const gguf_kv *kv;
    EXPECT_GETTER_FAILS(gguf_get_u32(f, "gemma4.block_count", &u32, &getter_err_),
                        G4_ERR_FORMAT, "metadata key 'gemma4.block_count' is missing");
    EXPECT_GETTER_FAILS(gguf_get_u32(f, "v.str", &u32, &getter_err_), G4_ERR_FORMAT,
                        "'v.str' has type string, expected an unsigned integer");
    EXPECT_GETTER_FAILS(gguf_get_u32(f, "v.i32", &u32, &getter_err_), G4_ERR_FORMAT,
                        "'v.i32' value -2147483648 does not fit u32");
    EXPECT_GETTER_FAILS(gguf_get_u32(f, "v.u64", &u32, &getter_err_), G4_ERR_FORMAT,
                        "value 18446744073709551615 does not fit u32");
    EXPECT_GETTER_FAILS(gguf_get_u32(f, "a.u32", &u32, &getter_err_), G4_ERR_FORMAT,
                        "has type array of u32, expected an unsigned integer");
    EXPECT_GETTER_FAILS(gguf_get_f32(f, "v.f64_huge", &f32, &getter_err_), G4_ERR_FORMAT,
                        "'v.f64_huge' value 1e+300 does not fit f32");
    EXPECT_GETTER_FAILS(gguf_get_f32(f, "v.u32", &f32, &getter_err_), G4_ERR_FORMAT,
                        "has type u32, expected f32 or f64");
    EXPECT_GETTER_FAILS(gguf_get_bool(f, "v.u8", &flag, &getter_err_), G4_ERR_FORMAT,
                        "'v.u8' has type u8, expected bool");
    EXPECT_GETTER_FAILS(gguf_get_str(f, "a.str", &s, &getter_err_), G4_ERR_FORMAT,
                        "has type array of string, expected string");
    EXPECT_GETTER_FAILS(gguf_get_array(f, "a.i32", GGUF_U32, &kv, &getter_err_),
                        G4_ERR_FORMAT, "has type array of i32, expected array of u32");
    EXPECT_GETTER_FAILS(gguf_get_array(f, "nope", GGUF_U32, &kv, &getter_err_),
                        G4_ERR_FORMAT, "'nope' is missing");
    EXPECT_GETTER_FAILS(gguf_array_i64(gguf_find(f, "a.u64"), 1, &i64, &getter_err_),
                        G4_ERR_FORMAT, "'a.u64' element 1 value 18446744073709551615 does "
                                       "not fit i64");
    EXPECT_GETTER_FAILS(gguf_array_i64(gguf_find(f, "a.i32"), 3, &i64, &getter_err_),
                        G4_ERR_FORMAT, "'a.i32' has 3 elements, element 3 is out of range");
    EXPECT_GETTER_FAILS(gguf_array_i64(gguf_find(f, "a.f32"), 0, &i64, &getter_err_),
                        G4_ERR_FORMAT, "expected an array of integers");
    EXPECT_GETTER_FAILS(gguf_array_i64(gguf_find(f, "a.str"), 0, &i64, &getter_err_),
                        G4_ERR_FORMAT, "expected an array of integers");
    EXPECT_GETTER_FAILS(gguf_array_i64(gguf_find(f, "v.u8"), 0, &i64, &getter_err_),
                        G4_ERR_FORMAT, "has type u8, expected an array of integers");
    EXPECT_GETTER_FAILS(gguf_array_i64(NULL, 0, &i64, &getter_err_), G4_ERR_INVALID_ARG,
                        "no metadata entry");
    EXPECT_GETTER_FAILS(gguf_array_f32(gguf_find(f, "a.i32"), 0, &f32, &getter_err_),
                        G4_ERR_FORMAT, "expected an array of f32 or f64");
    EXPECT_GETTER_FAILS(gguf_array_f32(gguf_find(f, "a.f64"), 1, &f32, &getter_err_),
                        G4_ERR_FORMAT, "'a.f64' element 1 value -1e+300 does not fit f32");
    EXPECT_GETTER_FAILS(gguf_array_f32(gguf_find(f, "v.f32"), 0, &f32, &getter_err_),
                        G4_ERR_FORMAT, "has type f32, expected an array of f32 or f64");
    EXPECT_GETTER_FAILS(gguf_array_f32(gguf_find(f, "a.f32"), 2, &f32, &getter_err_),
                        G4_ERR_FORMAT, "has 2 elements, element 2 is out of range");
}

static void test_value_round_trip(void)
{
    image img = build_all_values();
    gguf_file *f = open_ok(&img);
    if (f) {
        CHECK(f->version == 3 && f->n_kv == 31 && f->n_tensors == 0);
        CHECK(f->alignment == 32 && f->data_offset == img.size && img.size % 32 == 0);
        CHECK(gguf_find(f, "missing") == NULL && gguf_find(f, "") == NULL);
        CHECK(gguf_find_tensor(f, "anything") == NULL);
        check_scalars(f);
        check_arrays(f);
        check_getter_errors(f);
        CHECK(strcmp(gguf_type_name(GGUF_F64), "f64") == 0);
        CHECK(strcmp(gguf_type_name((gguf_value_type)13), "unknown") == 0);
        CHECK(gguf_value_size(GGUF_I16) == 2 && gguf_value_size(GGUF_STRING) == 0);
    }
    gguf_close(f);
    free(img.bytes);
}

/* ---- tensor round trip --------------------------------------------------------------- */

typedef struct tensor_case {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[4];
    g4_type type;
    uint64_t n_bytes;
} tensor_case;

static const tensor_case tensor_cases[] = {
    {"t.f32", 2, {3, 2}, G4_TYPE_F32, 24},
    {"t.f16", 1, {5}, G4_TYPE_F16, 10},
    {"t.bf16", 3, {2, 3, 4}, G4_TYPE_BF16, 48},
    {"t.q4_0", 2, {64, 2}, G4_TYPE_Q4_0, 72},
    {"t.q8_0", 1, {32}, G4_TYPE_Q8_0, 34},
    {"t.q4_k", 4, {256, 1, 1, 2}, G4_TYPE_Q4_K, 288},
    {"t.q6_k", 1, {256}, G4_TYPE_Q6_K, 210},
    {"t.i32", 1, {7}, G4_TYPE_I32, 28},
    {"t.empty", 2, {0, 4}, G4_TYPE_F32, 0},
};
#define N_TENSOR_CASES (sizeof tensor_cases / sizeof tensor_cases[0])

static uint8_t tensor_bytes[N_TENSOR_CASES][512];

static image build_tensors(uint32_t alignment)
{
    gguf_writer *w = new_writer();
    gguf_writer_add_u32(w, "general.alignment", alignment);
    for (size_t i = 0; i < N_TENSOR_CASES; i++) {
        for (size_t b = 0; b < sizeof tensor_bytes[i]; b++)
            tensor_bytes[i][b] = (uint8_t)(i * 31 + b * 7 + 1);
        const tensor_case *c = &tensor_cases[i];
        gguf_writer_add_tensor(w, c->name, c->n_dims, c->ne, c->type, tensor_bytes[i],
                               c->n_bytes);
    }
    return finish_writer(w);
}

static void check_tensors(const gguf_file *f, uint32_t alignment)
{
    CHECK(f->n_tensors == N_TENSOR_CASES && f->alignment == alignment);
    CHECK(f->data_offset % alignment == 0);
    for (size_t i = 0; i < N_TENSOR_CASES; i++) {
        const tensor_case *c = &tensor_cases[i];
        const gguf_tensor *t = gguf_find_tensor(f, c->name);
        CHECK_MSG(t == &f->tensors[i], "tensor %s not found in place", c->name);
        if (!t)
            continue;
        bool same_shape = t->n_dims == c->n_dims;
        for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
            same_shape = same_shape && t->ne[d] == (d < c->n_dims ? c->ne[d] : 1);
        CHECK_MSG(same_shape && t->type == c->type && t->n_bytes == c->n_bytes,
                  "tensor %s: shape, type or size differs", c->name);
        CHECK(t->offset % alignment == 0);
        CHECK((const uint8_t *)t->data == f->base + f->data_offset + t->offset);
        CHECK(c->n_bytes == 0 || memcmp(t->data, tensor_bytes[i], c->n_bytes) == 0);
    }
    CHECK(f->tensors[0].n_elements == 6 && f->tensors[5].n_elements == 512);
    CHECK(f->tensors[N_TENSOR_CASES - 1].n_elements == 0);
}

static void test_tensor_round_trip(void)
{
    const uint32_t alignments[] = {32, 64, 1, 4096};
    for (size_t a = 0; a < sizeof alignments / sizeof alignments[0]; a++) {
        image img = build_tensors(alignments[a]);
        gguf_file *f = open_ok(&img);
        if (f)
            check_tensors(f, alignments[a]);
        gguf_close(f);
        free(img.bytes);
    }
}

/* The file writer and gguf_open produce and read the same bytes as the memory path. */
static void test_file_round_trip(void)
{
    image img = build_tensors(64);
    gguf_writer *w = new_writer();
    gguf_writer_add_u32(w, "general.alignment", 64);
    for (size_t i = 0; i < N_TENSOR_CASES; i++) {
        const tensor_case *c = &tensor_cases[i];
        gguf_writer_add_tensor(w, c->name, c->n_dims, c->ne, c->type, tensor_bytes[i],
                               c->n_bytes);
    }
    g4_err err = {0};
    const char *path = temp_path("tensors.gguf");
    CHECK_MSG(gguf_writer_write_file(w, path, &err) == G4_OK, "%s", err.msg);
    gguf_writer_free(w);
    size_t size = 0;
    char *written = test_read_file(path, &size);
    CHECK(written && size == img.size && memcmp(written, img.bytes, size) == 0);
    free(written);
    gguf_file *f = NULL;
    CHECK_MSG(gguf_open(path, &f, &err) == G4_OK, "%s", err.msg);
    if (f) {
        CHECK(f->image != NULL);
        check_tensors(f, 64);
    }
    gguf_close(f);
    remove(path);
    free(img.bytes);
}

static void test_versions_and_padding(void)
{
    image img = build_fixture();
    image v2 = copy_image(&img);
    put_le(&v2, 4, 2, 4);
    gguf_file *f = open_ok(&v2);
    CHECK(f && f->version == 2 && f->n_tensors == 3);
    gguf_close(f);
    free(v2.bytes);
    free(img.bytes);

    /* Without tensors the padding before the (empty) data section may be missing. */
    gguf_writer *w = new_writer();
    gguf_writer_add_u8(w, "k", 1);
    image bare = finish_writer(w);
    CHECK(bare.size == 64);
    image unpadded = {bare.bytes, 24 + 8 + 1 + 4 + 1};
    f = open_ok(&unpadded);
    CHECK(f && f->data_offset == unpadded.size && f->n_kv == 1);
    gguf_close(f);
    free(bare.bytes);
}

static void expect_writer_error(int line, gguf_writer *w, g4_status expected,
                                const char *fragment)
{
    void *data = NULL;
    uint64_t size = 0;
    g4_err err = {0};
    g4_status status = gguf_writer_write_memory(w, &data, &size, &err);
    CHECK_MSG(status == expected && !data && has_text(err.msg, fragment),
              "line %d: writer status %d \"%s\"", line, status, err.msg);
    free(data);
    gguf_writer_free(w);
}

static void test_writer_errors(void)
{
    gguf_writer *w = new_writer();
    CHECK(gguf_writer_add_u8(w, "k", 1) == G4_OK);
    CHECK(gguf_writer_add_u16(w, "k", 1) == G4_ERR_INVALID_ARG);
    CHECK(gguf_writer_add_u8(w, "other", 1) == G4_ERR_INVALID_ARG); /* sticky */
    expect_writer_error(__LINE__, w, G4_ERR_INVALID_ARG, "duplicate metadata key 'k'");

    w = new_writer();
    gguf_writer_add_u32(w, "general.alignment", 48);
    expect_writer_error(__LINE__, w, G4_ERR_INVALID_ARG, "not a power of two");
    w = new_writer();
    gguf_writer_add_u64(w, "general.alignment", 64);
    expect_writer_error(__LINE__, w, G4_ERR_INVALID_ARG, "must be a u32");
    w = new_writer();
    gguf_writer_add_array(w, "a", GGUF_STRING, NULL, 0);
    expect_writer_error(__LINE__, w, G4_ERR_INVALID_ARG, "not a fixed-size element type");

    const float data[4] = {0};
    w = new_writer();
    gguf_writer_add_tensor(w, "t", 1, (const uint64_t[]){4}, G4_TYPE_F32, data, 12);
    expect_writer_error(__LINE__, w, G4_ERR_INVALID_ARG, "12 bytes given, its shape and "
                                                         "type need 16");
    w = new_writer();
    gguf_writer_add_tensor(w, "t", 1, (const uint64_t[]){4}, G4_TYPE_F32, data, 16);
    gguf_writer_add_tensor(w, "t", 1, (const uint64_t[]){4}, G4_TYPE_F32, data, 16);
    expect_writer_error(__LINE__, w, G4_ERR_INVALID_ARG, "duplicate tensor name 't'");
    w = new_writer();
    gguf_writer_add_tensor(w, "t", 1, (const uint64_t[]){4}, (g4_type)77, data, 16);
    expect_writer_error(__LINE__, w, G4_ERR_INVALID_ARG, "does not fit type unknown");
    w = new_writer();
    gguf_writer_add_tensor(w, "t", 1, (const uint64_t[]){33}, G4_TYPE_Q8_0, data, 16);
    expect_writer_error(__LINE__, w, G4_ERR_INVALID_ARG, "does not fit type Q8_0");
    w = new_writer();
    gguf_writer_add_tensor(w, "t", 0, (const uint64_t[]){4}, G4_TYPE_F32, data, 16);
    expect_writer_error(__LINE__, w, G4_ERR_INVALID_ARG, "0 dimensions");

    w = new_writer();
    g4_err err = {0};
    CHECK(gguf_writer_write_file(w, temp_path("no/such/dir.gguf"), &err) == G4_ERR_IO);
    CHECK_MSG(has_text(err.msg, "no/such/dir.gguf: cannot create"), "%s", err.msg);
    gguf_writer_free(w);
}

/* ---- the real test models ------------------------------------------------------------- */

/* CPU time, so that a busy machine does not fail the speed check. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check_gemma4_metadata(const gguf_file *f)
{
    gguf_str s = {0};
    CHECK(gguf_get_str(f, "general.architecture", &s, NULL) == G4_OK &&
          gguf_str_eq(s, "gemma4"));
    uint32_t u32 = 0;
    CHECK(gguf_get_u32(f, "gemma4.block_count", &u32, NULL) == G4_OK && u32 == 12);
    CHECK(gguf_get_u32(f, "gemma4.context_length", &u32, NULL) == G4_OK && u32 == 262144);
    float x = 0;
    CHECK(gguf_get_f32(f, "gemma4.rope.freq_base", &x, NULL) == G4_OK && x == 1e6f);
    bool flag = false;
    CHECK(gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &flag, NULL) == G4_OK && flag);
    const gguf_kv *kv_heads = NULL;
    CHECK(gguf_get_array(f, "gemma4.attention.head_count_kv", GGUF_I32, &kv_heads, NULL) ==
          G4_OK);
    static const int64_t expected_heads[12] = {2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 1};
    for (uint64_t i = 0; kv_heads && i < 12; i++) {
        int64_t heads = 0;
        CHECK(gguf_array_i64(kv_heads, i, &heads, NULL) == G4_OK &&
              heads == expected_heads[i]);
    }
    CHECK(kv_heads && kv_heads->count == 12);
    const gguf_kv *pattern = gguf_find(f, "gemma4.attention.sliding_window_pattern");
    int64_t sliding = -1;
    CHECK(gguf_array_i64(pattern, 5, &sliding, NULL) == G4_OK && sliding == 0);
}

static void check_gemma4_vocab(const gguf_file *f)
{
    const gguf_kv *tokens = gguf_find(f, "tokenizer.ggml.tokens");
    CHECK(tokens && tokens->type == GGUF_ARRAY && tokens->elem_type == GGUF_STRING);
    CHECK(tokens && tokens->count == 262144 && tokens->strings);
    if (tokens && tokens->strings) {
        CHECK(gguf_str_eq(tokens->strings[0], "<pad>"));
        CHECK(gguf_str_eq(tokens->strings[2], "<bos>"));
        CHECK(gguf_str_eq(tokens->strings[106], "<turn|>"));
        CHECK(gguf_str_eq(tokens->strings[262143], "<unused6241>"));
    }
    const gguf_kv *merges = gguf_find(f, "tokenizer.ggml.merges");
    CHECK(merges && merges->count == 514906 && merges->strings);
    if (merges && merges->strings)
        CHECK(gguf_str_eq(merges->strings[514905], "\xe2\x96\x81\xe0\xa4\xa6 "
                                                    "\xe0\xa4\xbf\xe0\xa4\xb2\xe0\xa4\xbe"
                                                    "\xe0\xa4\x88"));
    float score = 0;
    CHECK(gguf_array_f32(gguf_find(f, "tokenizer.ggml.scores"), 1000, &score, NULL) ==
              G4_OK && score == -1000.0f);
}

/* Names in the file are not NUL-terminated, so each is copied before looking it up. */
static void check_every_lookup(const gguf_file *f)
{
    char name[256];
    int wrong = 0;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        snprintf(name, sizeof name, "%.*s", (int)f->kv[i].key.len, f->kv[i].key.ptr);
        wrong += gguf_find(f, name) != &f->kv[i];
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        snprintf(name, sizeof name, "%.*s", (int)f->tensors[i].name.len, f->tensors[i].name.ptr);
        wrong += gguf_find_tensor(f, name) != &f->tensors[i];
    }
    CHECK_MSG(wrong == 0, "%d names were not found in place", wrong);
}

static void test_tiny_gemma4(void)
{
    const char *path = test_data_path("tiny-gemma4u-bf16.gguf");
    gguf_file *f = NULL;
    g4_err err = {0};
    double start = cpu_seconds();
    g4_status status = gguf_open(path, &f, &err);
    double elapsed = cpu_seconds() - start;
    CHECK_MSG(status == G4_OK, "%s", err.msg);
    if (!f)
        return;
    printf("parsed tiny-gemma4u-bf16.gguf (%llu keys, %llu tensors) in %.1f ms of CPU\n",
           (unsigned long long)f->n_kv, (unsigned long long)f->n_tensors, elapsed * 1e3);
    /* About 15 ms in a release build; the margin is for sanitizer builds. What this
     * catches is a lookup or allocation pattern that grows quadratically. */
    CHECK_MSG(elapsed < 1.0, "parsing took %.0f ms", elapsed * 1e3);
    CHECK(f->version == 3 && f->n_kv == 41 && f->n_tensors == 169 && f->alignment == 32);
    check_gemma4_metadata(f);
    check_gemma4_vocab(f);
    const gguf_tensor *embd = gguf_find_tensor(f, "token_embd.weight");
    CHECK(embd && embd->n_dims == 2 && embd->ne[0] == 64 && embd->ne[1] == 262144);
    CHECK(embd && embd->type == G4_TYPE_BF16 && embd->n_bytes == 64ull * 262144 * 2);
    const gguf_tensor *norm = gguf_find_tensor(f, "output_norm.weight");
    CHECK(norm && norm->type == G4_TYPE_F32 && norm->ne[0] == 64 &&
          (const uint8_t *)norm->data + norm->n_bytes <= f->base + f->size);
    CHECK(gguf_find_tensor(f, "blk.12.attn_q.weight") == NULL);
    check_every_lookup(f);
    gguf_close(f);
}

/* Copied into memory, the file parses to the same tensors with the same bytes as mapped. */
static void test_copied_file(void)
{
    const char *path = test_data_path("tiny-gemma4u-q4_0.gguf");
    gguf_open_options copy = {.copy = true};
    gguf_file *mapped = NULL, *copied = NULL;
    g4_err err = {0};
    CHECK_MSG(gguf_open(path, &mapped, &err) == G4_OK, "%s", err.msg);
    CHECK_MSG(gguf_open_with(path, &copy, &copied, &err) == G4_OK, "%s", err.msg);
    if (copied)
        CHECK(gguf_wait_in_memory(copied));
    if (mapped)
        CHECK(!gguf_wait_in_memory(mapped));
    if (mapped && copied) {
        CHECK(copied->size == mapped->size && copied->n_tensors == mapped->n_tensors);
        CHECK(memcmp(copied->base, mapped->base, (size_t)mapped->size) == 0);
        for (uint64_t i = 0; i < mapped->n_tensors && i < copied->n_tensors; i++)
            CHECK(copied->tensors[i].data ==
                  copied->base + ((const uint8_t *)mapped->tensors[i].data - mapped->base));
    }
    gguf_close(mapped);
    gguf_close(copied);
    CHECK(gguf_open_with("/nonexistent/model.gguf", &copy, &copied, &err) == G4_ERR_IO);
}

static void test_reference_file(void)
{
    gguf_file *f = NULL;
    g4_err err = {0};
    CHECK_MSG(gguf_open(test_data_path("reference-public.gguf"), &f, &err) == G4_OK, "%s",
              err.msg);
    if (!f)
        return;
    gguf_str arch = {0};
    CHECK(gguf_get_str(f, "general.architecture", &arch, NULL) == G4_OK &&
          gguf_str_eq(arch, "reference"));
    const gguf_kv *cases = NULL;
    CHECK(gguf_get_array(f, "reference.cases", GGUF_STRING, &cases, NULL) == G4_OK);
    CHECK(cases && cases->count >= 8 && gguf_str_eq(cases->strings[0], "hello"));
    const gguf_tensor *ids = gguf_find_tensor(f, "hello.topk_ids");
    CHECK(ids && ids->type == G4_TYPE_I32 && ids->ne[0] == 16 && ids->ne[1] == 21);
    CHECK(f->n_tensors == 59 && f->n_kv == 57);
    gguf_close(f);
}

/* Every model file shipped for the tests parses. */
static void test_other_data_files(void)
{
    const char *names[] = {"reference-q4_0-public.gguf", "tiny-gemma4u-q4_0.gguf",
                           "tiny-gemma4u-mmproj-f32.gguf", "mtp/reference-mtp.gguf",
                           "mtp/tiny-gemma4u-mtp-bf16.gguf"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        gguf_file *f = NULL;
        g4_err err = {0};
        CHECK_MSG(gguf_open(test_data_path(names[i]), &f, &err) == G4_OK, "%s", err.msg);
        gguf_close(f);
    }
}

/* Arrays of more than a million strings are walked before their views are allocated. */
static void test_large_string_array(void)
{
    const uint64_t count = (1u << 20) + 5;
    gguf_str *strings = malloc(count * sizeof *strings);
    for (uint64_t i = 0; i < count; i++)
        strings[i] = (gguf_str){i % 2 ? "ab" : "c", i % 2 ? 2 : 1};
    gguf_writer *w = new_writer();
    gguf_writer_add_str_array(w, "many", strings, count);
    free(strings);
    image img = finish_writer(w);
    gguf_file *f = open_ok(&img);
    const gguf_kv *many = f ? gguf_find(f, "many") : NULL;
    CHECK(many && many->count == count && gguf_str_eq(many->strings[count - 1], "c"));
    gguf_close(f);
    uint64_t last = img.size - 1;
    while (img.bytes[last] == 0)
        last--; /* skip the padding back to the last string, "c" */
    put_le(&img, last - 8, 1ull << 40, 8);
    EXPECT_FAILURE(&img, G4_ERR_FORMAT, "truncated: metadata entry 0 ('many') declares "
                                        "1099511627776 bytes of string");
    free(img.bytes);
}

/* ---- hostile input ------------------------------------------------------------------- */

static void test_empty_and_magic(const image *fixture)
{
    image empty = {NULL, 0};
    EXPECT_FAILURE(&empty, G4_ERR_FORMAT, "not a GGUF file (the file is empty)");
    image zip = copy_image(fixture);
    memcpy(zip.bytes, "PK\x03\x04", 4);
    EXPECT_FAILURE(&zip, G4_ERR_FORMAT, "not a GGUF file (magic is 'PK\\x03\\x04')");
    zip.size = 2;
    EXPECT_FAILURE(&zip, G4_ERR_FORMAT, "not a GGUF file (magic is 'PK')");
    free(zip.bytes);

    image v = copy_image(fixture);
    put_le(&v, 4, 1, 4);
    EXPECT_FAILURE(&v, G4_ERR_UNSUPPORTED, "GGUF version 1 is not supported");
    put_le(&v, 4, 7, 4);
    EXPECT_FAILURE(&v, G4_ERR_UNSUPPORTED, "GGUF version 7 is not supported");
    put_le(&v, 4, 0x03000000, 4);
    EXPECT_FAILURE(&v, G4_ERR_UNSUPPORTED, "big-endian");
    free(v.bytes);

    gguf_file *f = NULL;
    CHECK(gguf_open_memory(NULL, 10, &f, NULL) == G4_ERR_INVALID_ARG && !f);
}

/* Each prefix lives in its own exact-size allocation, so that the sanitizers see any
 * read past its end. */
static void test_every_truncation(const image *fixture)
{
    int bad = 0;
    for (uint64_t n = 0; n < fixture->size; n++) {
        image prefix = {malloc(n ? n : 1), n};
        memcpy(prefix.bytes, fixture->bytes, n);
        gguf_file *f = NULL;
        g4_err err = {0};
        g4_status status = gguf_open_memory(prefix.bytes, n, &f, &err);
        bool named = has_text(err.msg, "truncated") || has_text(err.msg, "outside the file") ||
                     (n == 0 && has_text(err.msg, "empty"));
        if (status != G4_ERR_FORMAT || f || !named) {
            if (bad++ < 5)
                fprintf(stderr, "    prefix of %llu bytes: status %d \"%s\"\n",
                        (unsigned long long)n, status, err.msg);
        }
        gguf_close(f);
        free(prefix.bytes);
    }
    CHECK_MSG(bad == 0, "%d of %llu prefixes were not rejected as truncated", bad,
              (unsigned long long)fixture->size);
}

static void test_hostile_counts(const image *fixture)
{
    image c = copy_image(fixture);
    put_le(&c, 16, 1ull << 60, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "header declares 1152921504606846976 metadata entries");
    put_le(&c, 16, UINT64_MAX, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "metadata entries");
    memcpy(c.bytes, fixture->bytes, c.size);
    put_le(&c, 8, UINT64_MAX, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "header declares 18446744073709551615 tensors");
    memcpy(c.bytes, fixture->bytes, c.size);
    put_le(&c, 8, 4, 8); /* one more tensor than there is: the data is read as an info */
    gguf_file *f = NULL;
    CHECK(gguf_open_memory(c.bytes, c.size, &f, NULL) != G4_OK && !f);
    free(c.bytes);
}

static void test_hostile_strings(const image *fixture)
{
    image c = copy_image(fixture);
    put_le(&c, 24, UINT64_MAX, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "truncated: metadata entry 0 declares "
                                      "18446744073709551615 bytes of string at byte 32");
    memcpy(c.bytes, fixture->bytes, c.size);
    uint64_t value = kv_type_at(&c, "general.architecture") + 4;
    put_le(&c, value, 1ull << 40, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "metadata entry 0 ('general.architecture') declares "
                                      "1099511627776 bytes of string");
    memcpy(c.bytes, fixture->bytes, c.size);
    uint64_t name = find_bytes(&c, "tensor.beta") - 8;
    put_le(&c, name, UINT64_MAX - 3, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "truncated: tensor info 1 declares");
    /* Control bytes in a name are escaped in messages. */
    memcpy(c.bytes, fixture->bytes, c.size);
    c.bytes[name + 8] = '\n';
    put_le(&c, tensor_fields(&c, "ensor.beta").type, 77, 4);
    EXPECT_FAILURE(&c, G4_ERR_UNSUPPORTED, "tensor '\\x0aensor.beta' has unknown type 77");
    free(c.bytes);
}

static void test_hostile_arrays(const image *fixture)
{
    image c = copy_image(fixture);
    uint64_t ints = kv_type_at(&c, "fixture.ints"); /* type, elem type, count */
    put_le(&c, ints + 8, 1ull << 62, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "metadata entry 3 ('fixture.ints') declares "
                                      "4611686018427387904 i32 elements");
    put_le(&c, ints + 8, UINT64_MAX, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "('fixture.ints') declares 18446744073709551615 i32");
    memcpy(c.bytes, fixture->bytes, c.size);
    uint64_t words = kv_type_at(&c, "fixture.words");
    put_le(&c, words + 8, 1ull << 61, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "('fixture.words') declares 2305843009213693952 strings");
    memcpy(c.bytes, fixture->bytes, c.size);
    put_le(&c, find_bytes(&c, "cde") - 8, 1ull << 40, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "truncated: metadata entry 4 ('fixture.words') declares "
                                      "1099511627776 bytes of string");

    memcpy(c.bytes, fixture->bytes, c.size);
    put_le(&c, ints + 4, GGUF_ARRAY, 4);
    EXPECT_FAILURE(&c, G4_ERR_UNSUPPORTED, "('fixture.ints') is an array of arrays");
    put_le(&c, ints + 4, 99, 4);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "('fixture.ints') is an array of unknown value type 99");
    memcpy(c.bytes, fixture->bytes, c.size);
    put_le(&c, kv_type_at(&c, "fixture.count"), 13, 4);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "metadata entry 2 ('fixture.count') has unknown value "
                                      "type 13");
    put_le(&c, kv_type_at(&c, "fixture.count"), UINT32_MAX, 4);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "unknown value type 4294967295");
    free(c.bytes);
}

static void test_hostile_shapes(const image *fixture)
{
    image c = copy_image(fixture);
    info_fields beta = tensor_fields(&c, "tensor.beta");
    put_le(&c, beta.type, 77, 4);
    EXPECT_FAILURE(&c, G4_ERR_UNSUPPORTED, "tensor 'tensor.beta' has unknown type 77");
    put_le(&c, beta.type, 16, 4); /* a real ggml type (IQ2_XXS) this reader cannot size */
    EXPECT_FAILURE(&c, G4_ERR_UNSUPPORTED, "tensor 'tensor.beta' has unknown type 16");
    memcpy(c.bytes, fixture->bytes, c.size);
    put_le(&c, beta.ne, 33, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "tensor 'tensor.beta' has rows of 33 elements, not a "
                                      "multiple of the Q4_0 block size 32");

    memcpy(c.bytes, fixture->bytes, c.size);
    info_fields alpha = tensor_fields(&c, "tensor.alpha");
    put_le(&c, alpha.n_dims, 0, 4);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "tensor 'tensor.alpha' has 0 dimensions (must be 1 to 4)");
    put_le(&c, alpha.n_dims, 5, 4);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "tensor 'tensor.alpha' has 5 dimensions");
    memcpy(c.bytes, fixture->bytes, c.size);
    put_le(&c, alpha.ne, 1ull << 32, 8);
    put_le(&c, alpha.ne + 8, 1ull << 32, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "tensor 'tensor.alpha' shape [4294967296, 4294967296] "
                                      "has more than 2^63 - 1 elements");
    put_le(&c, alpha.ne, UINT64_MAX, 8);
    put_le(&c, alpha.ne + 8, 0, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "has more than 2^63 - 1 elements");
    put_le(&c, alpha.ne, 1ull << 62, 8);
    put_le(&c, alpha.ne + 8, 1, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "shape [4611686018427387904, 1] is too large for type F32");
    put_le(&c, alpha.ne, 1ull << 40, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "tensor 'tensor.alpha' data [0, 4398046511104) lies "
                                      "outside the file");
    /* A zero dimension empties the tensor; the others must still be sane. */
    put_le(&c, alpha.ne, 0, 8);
    put_le(&c, alpha.ne + 8, 1ull << 62, 8);
    gguf_file *f = open_ok(&c);
    CHECK(f && f->tensors[0].n_elements == 0 && f->tensors[0].n_bytes == 0);
    gguf_close(f);
    free(c.bytes);
}

static void test_hostile_offsets(const image *fixture)
{
    image c = copy_image(fixture);
    info_fields beta = tensor_fields(&c, "tensor.beta");
    info_fields gamma = tensor_fields(&c, "tensor.gamma");
    uint64_t beta_offset = get_le(&c, beta.offset, 8);
    CHECK(beta_offset == 32);
    put_le(&c, beta.offset, beta_offset + 1, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "tensor 'tensor.beta' offset 33 is not a multiple of "
                                      "the alignment 32");
    put_le(&c, beta.offset, 0, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "tensors 'tensor.alpha' [0, 32) and 'tensor.beta' "
                                      "[0, 36) overlap");
    memcpy(c.bytes, fixture->bytes, c.size);
    put_le(&c, gamma.offset, 4096, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "tensor 'tensor.gamma' data [4096, 4112) lies outside "
                                      "the file");
    put_le(&c, gamma.offset, UINT64_MAX - 31, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "tensor 'tensor.gamma' data [18446744073709551584, "
                                      "18446744073709551600) lies outside the file");
    memcpy(c.bytes, fixture->bytes, c.size);
    info_fields alpha = tensor_fields(&c, "tensor.alpha");
    put_le(&c, alpha.ne, 1ull << 60, 8);
    put_le(&c, alpha.ne + 8, 1, 8);
    put_le(&c, alpha.offset, UINT64_MAX - 31, 8);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "tensor 'tensor.alpha' data (4611686018427387904 bytes "
                                      "at offset 18446744073709551584) lies outside the file");
    memcpy(c.bytes, fixture->bytes, c.size);
    uint64_t gamma_offset = get_le(&c, gamma.offset, 8);
    put_le(&c, gamma.offset, gamma_offset - 32, 8); /* onto the end of tensor.beta */
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "'tensor.beta'", "'tensor.gamma'", "overlap");
    free(c.bytes);
}

static void test_hostile_duplicates(const image *fixture)
{
    image c = copy_image(fixture);
    c.bytes[find_bytes(&c, "key.b") + 4] = 'a';
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "duplicate metadata key 'key.a' (entries 5 and 6)");
    memcpy(c.bytes, fixture->bytes, c.size);
    memcpy(c.bytes + find_bytes(&c, "tensor.gamma"), "tensor.alpha", 12);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "duplicate tensor name 'tensor.alpha' (tensors 0 and 2)");
    free(c.bytes);
}

static void test_hostile_alignment(const image *fixture)
{
    image c = copy_image(fixture);
    uint64_t type = kv_type_at(&c, "general.alignment");
    put_le(&c, type + 4, 0, 4);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "general.alignment is 0, must be a non-zero power of two");
    put_le(&c, type + 4, 3, 4);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "general.alignment is 3, must be a non-zero power of two");
    put_le(&c, type + 4, 1u << 31, 4); /* valid, but the data section is then past the end */
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "truncated: the data section starts at byte 2147483648");
    put_le(&c, type + 4, 32, 4);
    put_le(&c, type, GGUF_F32, 4);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "metadata key 'general.alignment' has type f32, "
                                      "expected an unsigned integer");
    put_le(&c, type, GGUF_I32, 4); /* any integer type that holds the value is accepted */
    gguf_file *f = open_ok(&c);
    CHECK(f && f->alignment == 32);
    gguf_close(f);
    put_le(&c, type + 4, UINT32_MAX, 4);
    EXPECT_FAILURE(&c, G4_ERR_FORMAT, "'general.alignment' value -1 does not fit u32");
    free(c.bytes);
}

static void test_file_errors(const image *fixture)
{
    gguf_file *f = NULL;
    g4_err err = {0};
    const char *missing = temp_path("missing.gguf");
    CHECK(gguf_open(missing, &f, &err) == G4_ERR_IO && !f);
    CHECK_MSG(has_text(err.msg, missing) && has_text(err.msg, "cannot open") &&
                  has_text(err.msg, "No such file"),
              "%s", err.msg);
    CHECK(gguf_open(temp_dir, &f, &err) == G4_ERR_IO && !f);
    CHECK_MSG(has_text(err.msg, "not a regular file"), "%s", err.msg);

    const char *empty = temp_path("empty.gguf");
    FILE *file = fopen(empty, "wb");
    CHECK(file && fclose(file) == 0);
    CHECK(gguf_open(empty, &f, &err) == G4_ERR_FORMAT && !f);
    CHECK_MSG(strncmp(err.msg, empty, strlen(empty)) == 0 && has_text(err.msg, ": not a GGUF "
                                                                                "file"),
              "%s", err.msg);
    remove(empty);

    const char *cut = temp_path("cut.gguf");
    file = fopen(cut, "wb");
    CHECK(file && fwrite(fixture->bytes, 1, 350, file) == 350 && fclose(file) == 0);
    CHECK(gguf_open(cut, &f, &err) == G4_ERR_FORMAT && !f);
    char expected[600];
    snprintf(expected, sizeof expected, "%s: truncated: tensor info 1 ('tensor.beta') ends at "
             "byte 358 but the file has 350 bytes", cut);
    CHECK_MSG(strcmp(err.msg, expected) == 0, "%s", err.msg);
    remove(cut);
}

/* Overwrites every byte with a few values; each variant must parse or fail cleanly, and
 * what parses must keep every view inside the image. */
static void test_byte_corruption(const image *fixture)
{
    const uint8_t values[] = {0x00, 0x01, 0x7f, 0xff};
    int escaped = 0, parsed = 0;
    for (uint64_t at = 0; at < fixture->size; at++) {
        for (size_t v = 0; v < sizeof values; v++) {
            image c = copy_image(fixture);
            c.bytes[at] = values[v];
            gguf_file *f = NULL;
            g4_err err = {0};
            g4_status status = gguf_open_memory(c.bytes, c.size, &f, &err);
            if (status != G4_OK && (f || err.msg[0] == '\0'))
                escaped++;
            for (uint64_t i = 0; f && i < f->n_tensors; i++) {
                const gguf_tensor *t = &f->tensors[i];
                uintptr_t start = (uintptr_t)c.bytes, data = (uintptr_t)t->data;
                if (data < start || data - start > c.size || t->n_bytes > c.size - (data - start))
                    escaped++;
            }
            parsed += f != NULL;
            gguf_close(f);
            free(c.bytes);
        }
    }
    CHECK_MSG(escaped == 0, "%d corrupted variants escaped validation", escaped);
    CHECK(parsed > 0);
}

static void test_hostile_input(void)
{
    image fixture = build_fixture();
    gguf_file *f = open_ok(&fixture);
    CHECK(f && f->n_kv == 7 && f->n_tensors == 3);
    gguf_close(f);
    test_empty_and_magic(&fixture);
    test_every_truncation(&fixture);
    test_hostile_counts(&fixture);
    test_hostile_strings(&fixture);
    test_hostile_arrays(&fixture);
    test_hostile_shapes(&fixture);
    test_hostile_offsets(&fixture);
    test_hostile_duplicates(&fixture);
    test_hostile_alignment(&fixture);
    test_file_errors(&fixture);
    test_byte_corruption(&fixture);
    free(fixture.bytes);
}

/* ---- fuzzer seeds --------------------------------------------------------------------- */

static int write_seed(const char *dir, const char *name, image img)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "wb");
    bool ok = file && fwrite(img.bytes, 1, img.size, file) == img.size;
    ok = file && fclose(file) == 0 && ok;
    printf("%s: %llu bytes%s\n", path, (unsigned long long)img.size, ok ? "" : " (FAILED)");
    free(img.bytes);
    return ok ? 0 : 1;
}

static int write_corpus(const char *dir)
{
    gguf_writer *w = new_writer();
    int failures = write_seed(dir, "empty.gguf", finish_writer(w));
    failures += write_seed(dir, "fixture.gguf", build_fixture());
    failures += write_seed(dir, "values.gguf", build_all_values());
    failures += write_seed(dir, "tensors.gguf", build_tensors(64));
    w = new_writer();
    gguf_writer_add_str(w, "general.architecture", "gemma4");
    gguf_writer_add_u32(w, "gemma4.block_count", 2);
    gguf_writer_add_array(w, "gemma4.attention.head_count_kv", GGUF_I32,
                          (const int32_t[]){2, 1}, 2);
    gguf_writer_add_array(w, "gemma4.attention.sliding_window_pattern", GGUF_BOOL,
                          (const bool[]){true, false}, 2);
    const gguf_str tokens[4] = {{"<pad>", 5}, {"<eos>", 5}, {"<bos>", 5}, {"\xe2\x96\x81", 3}};
    gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", tokens, 4);
    gguf_writer_add_array(w, "tokenizer.ggml.scores", GGUF_F32,
                          (const float[]){0, 0, 0, -1}, 4);
    gguf_writer_add_tensor(w, "token_embd.weight", 2, (const uint64_t[]){4, 4},
                           G4_TYPE_BF16, tensor_bytes[0], 32);
    failures += write_seed(dir, "model.gguf", finish_writer(w));
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        return write_corpus(argv[2]);
    if (!mkdtemp(temp_dir)) {
        fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    test_type_layouts();
    test_value_round_trip();
    test_tensor_round_trip();
    test_file_round_trip();
    test_versions_and_padding();
    test_writer_errors();
    test_tiny_gemma4();
    test_copied_file();
    test_reference_file();
    test_other_data_files();
    test_large_string_array();
    test_hostile_input();
    rmdir(temp_dir);
    return test_finish("test_gguf");
}
