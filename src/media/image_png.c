/* PNG through libpng, read from memory. libpng reports errors by longjmp: the decoded
 * pixels live in *out (memory the caller frees), so nothing leaks when it jumps. */
#include <png.h>
#include <stdio.h>
#include <string.h>

#include "media/image_formats.h"

typedef struct png_source {
    const uint8_t *data;
    size_t len;
    size_t pos;
    char message[200]; /* libpng's error message */
} png_source;

static void read_from_memory(png_structp png, png_bytep dst, size_t n)
{
    png_source *source = png_get_io_ptr(png);
    if (n > source->len - source->pos)
        png_error(png, "truncated data");
    memcpy(dst, source->data + source->pos, n);
    source->pos += n;
}

static void record_png_error(png_structp png, png_const_charp message)
{
    png_source *source = png_get_error_ptr(png);
    snprintf(source->message, sizeof source->message, "%s", message);
    png_longjmp(png, 1);
}

static void ignore_png_warning(png_structp png, png_const_charp message) {}

/* Asks libpng for 8-bit RGB rows whatever the stored format; returns the pass count. */
static int request_rgb8(png_structp png, png_infop info)
{
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_gray_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    return passes;
}

/* With interlace handling on, each pass fills in more pixels of the same rows. */
static void read_rows(png_structp png, int passes, rgb_image *out)
{
    size_t stride = (size_t)out->width * 3;
    for (int pass = 0; pass < passes; pass++)
        for (int32_t y = 0; y < out->height; y++)
            png_read_row(png, out->pixels + (size_t)y * stride, NULL);
}

static g4_status read_png(png_structp png, png_infop info, png_source *source,
                                rgb_image *out, g4_err *err)
{
    if (setjmp(png_jmpbuf(png)))
        return g4_fail(err, G4_ERR_FORMAT, "%s", source->message);
    png_read_info(png, info);
    g4_status status =
        image_check_size(png_get_image_width(png, info), png_get_image_height(png, info), err);
    if (status != G4_OK)
        return status;
    int passes = request_rgb8(png, info);
    if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "cannot convert this PNG to 8-bit RGB");
    status = rgb_image_alloc(out, (int32_t)png_get_image_width(png, info),
                             (int32_t)png_get_image_height(png, info), err);
    if (status != G4_OK)
        return status;
    read_rows(png, passes, out);
    return G4_OK;
}

g4_status image_decode_png(const uint8_t *data, size_t len, rgb_image *out, g4_err *err)
{
    png_source source = {.data = data, .len = len};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, record_png_error,
                                             ignore_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    }
    png_set_read_fn(png, &source, read_from_memory);
    g4_status status = read_png(png, info, &source, out, err);
    png_destroy_read_struct(&png, &info, NULL);
    return status;
}
