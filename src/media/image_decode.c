/* Format sniffing and dispatch for image_decode, and the rgb_image allocator. */
#include "media/image.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "media/image_formats.h"

typedef g4_status (*image_decoder)(const uint8_t *data, size_t len, rgb_image *out,
                                   g4_err *err);

typedef struct image_format {
    const char *name;
    image_decoder decode;
} image_format;

static bool starts_with(const uint8_t *data, size_t len, const char *magic, size_t magic_len)
{
    return len >= magic_len && memcmp(data, magic, magic_len) == 0;
}

/* The format whose magic bytes open data, or NULL. */
static const image_format *sniff_format(const uint8_t *data, size_t len)
{
    static const image_format png = {"PNG", image_decode_png};
    static const image_format jpeg = {"JPEG", image_decode_jpeg};
    static const image_format webp = {"WebP", image_decode_webp};
    static const image_format gif = {"GIF", image_decode_gif};
    static const image_format bmp = {"BMP", image_decode_bmp};
    if (starts_with(data, len, "\x89PNG\r\n\x1a\n", 8))
        return &png;
    if (starts_with(data, len, "\xff\xd8\xff", 3))
        return &jpeg;
    if (starts_with(data, len, "RIFF", 4) && len >= 12 && memcmp(data + 8, "WEBP", 4) == 0)
        return &webp;
    if (starts_with(data, len, "GIF87a", 6) || starts_with(data, len, "GIF89a", 6))
        return &gif;
    if (starts_with(data, len, "BM", 2))
        return &bmp;
    return NULL;
}

g4_status image_decode(const uint8_t *data, size_t len, rgb_image *out, g4_err *err)
{
    g4_err local_err = {0};
    if (!err)
        err = &local_err;
    *out = (rgb_image){0};
    if (!data && len > 0)
        return g4_fail(err, G4_ERR_INVALID_ARG, "image data is NULL");
    const image_format *format = sniff_format(data, len);
    if (!format)
        return g4_fail(err, G4_ERR_FORMAT, "not a PNG, JPEG, WebP, BMP or GIF image");
    g4_status status = format->decode(data, len, out, err);
    if (status == G4_OK)
        return G4_OK;
    rgb_image_free(out);
    return g4_fail_context(err, "%s", format->name);
}

g4_status image_check_size(int64_t width, int64_t height, g4_err *err)
{
    if (width <= 0 || height <= 0)
        return g4_fail(err, G4_ERR_FORMAT, "image is %lldx%lld", (long long)width,
                       (long long)height);
    if (width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE)
        return g4_fail(err, G4_ERR_UNSUPPORTED,
                       "image is %lldx%lld; the longest side allowed is %d pixels",
                       (long long)width, (long long)height, IMAGE_MAX_SIDE);
    int64_t pixels = width * height;
    if (pixels > IMAGE_MAX_PIXELS)
        return g4_fail(err, G4_ERR_UNSUPPORTED,
                       "image is %lldx%lld (%lld megapixels); the limit is %lld megapixels",
                       (long long)width, (long long)height, (long long)(pixels / 1000000),
                       (long long)(IMAGE_MAX_PIXELS / 1000000));
    return G4_OK;
}

g4_status rgb_image_alloc(rgb_image *img, int32_t width, int32_t height, g4_err *err)
{
    *img = (rgb_image){0};
    g4_status status = image_check_size(width, height, err);
    if (status != G4_OK)
        return status;
    uint8_t *pixels = malloc((size_t)width * (size_t)height * 3);
    if (!pixels)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for a %dx%d image", width,
                       height);
    *img = (rgb_image){.width = width, .height = height, .pixels = pixels};
    return G4_OK;
}

void rgb_image_free(rgb_image *img)
{
    if (!img)
        return;
    free(img->pixels);
    *img = (rgb_image){0};
}
