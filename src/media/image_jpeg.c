/* JPEG through libjpeg(-turbo) with its default decoding settings (islow IDCT, fancy
 * upsampling), scaled down by 1/2, 1/4 or 1/8 when the full size is over the pixel limit,
 * then turned upright according to the EXIF orientation (read with libexif). */
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <libexif/exif-data.h>

#include "media/image_formats.h"

/* Memory libjpeg may use besides the output (whole-image coefficient buffers of
 * progressive files); past it libjpeg fails instead of allocating. */
#define JPEG_MAX_MEMORY (512L << 20)
/* Real progressive files have about ten scans; thousands of tiny ones are an attack. */
#define JPEG_MAX_SCANS 200

/* libjpeg reports errors to this; it jumps back to decode_guarded. */
typedef struct jpeg_guard {
    struct jpeg_error_mgr errors; /* first: libjpeg hands back a pointer to it */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    g4_status code;
    char message[JMSG_LENGTH_MAX];
} jpeg_guard;

static _Noreturn void fail_with(j_common_ptr cinfo, g4_status code, const char *message)
{
    jpeg_guard *guard = (jpeg_guard *)cinfo->err;
    guard->code = code;
    snprintf(guard->message, sizeof guard->message, "%s", message);
    longjmp(guard->jump, 1);
}

static _Noreturn void on_error(j_common_ptr cinfo)
{
    int code = cinfo->err->msg_code;
    if (code == JERR_OUT_OF_MEMORY || code == JERR_NO_BACKING_STORE)
        fail_with(cinfo, G4_ERR_NO_MEMORY, "image too large to decode in memory");
    char message[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, message);
    fail_with(cinfo, G4_ERR_FORMAT, message);
}

/* Warnings about damaged data are ignored, as libjpeg does, except running out of data:
 * libjpeg would fill the rest of the image with gray. */
static void on_message(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        fail_with(cinfo, G4_ERR_FORMAT, "truncated data");
}

static void ignore_output(j_common_ptr cinfo) {}

static void limit_scans(j_common_ptr cinfo)
{
    if (((j_decompress_ptr)cinfo)->input_scan_number <= JPEG_MAX_SCANS)
        return;
    char message[64];
    snprintf(message, sizeof message, "more than %d progressive scans", JPEG_MAX_SCANS);
    fail_with(cinfo, G4_ERR_FORMAT, message);
}

static struct jpeg_error_mgr *install_guard(jpeg_guard *guard)
{
    jpeg_std_error(&guard->errors);
    guard->errors.error_exit = on_error;
    guard->errors.emit_message = on_message;
    guard->errors.output_message = ignore_output;
    guard->progress = (struct jpeg_progress_mgr){.progress_monitor = limit_scans};
    return &guard->errors;
}

/* The EXIF orientation (1..8) in an "Exif\0\0" APP1 payload; 1 when absent or invalid. */
static int orientation_from_exif(const uint8_t *payload, unsigned len)
{
    ExifData *exif = exif_data_new();
    if (!exif)
        return 1;
    exif_data_unset_option(exif, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(exif, payload, len);
    int orientation = 1;
    ExifEntry *entry = exif_content_get_entry(exif->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (entry && entry->format == EXIF_FORMAT_SHORT && entry->components >= 1 &&
        entry->size >= 2) {
        int value = exif_get_short(entry->data, exif_data_get_byte_order(exif));
        if (value >= 1 && value <= 8)
            orientation = value;
    }
    exif_data_unref(exif);
    return orientation;
}

static int exif_orientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0)
            return orientation_from_exif(m->data, m->data_length);
    return 1;
}

/* Turns a decoded image upright. Orientations 5..8 swap the axes; then the source is
 * read mirrored horizontally (2, 3, 7, 8) and/or vertically (3, 4, 6, 7). */
static g4_status apply_orientation(rgb_image *img, int orientation, g4_err *err)
{
    if (orientation == 1)
        return G4_OK;
    bool transpose = orientation >= 5;
    bool mirror_x = orientation == 2 || orientation == 3 || orientation == 7 || orientation == 8;
    bool mirror_y = orientation == 3 || orientation == 4 || orientation == 6 || orientation == 7;
    rgb_image upright;
    g4_status status = rgb_image_alloc(&upright, transpose ? img->height : img->width,
                                       transpose ? img->width : img->height, err);
    if (status != G4_OK)
        return status;
    uint8_t *dst = upright.pixels;
    for (int32_t dy = 0; dy < upright.height; dy++)
        for (int32_t dx = 0; dx < upright.width; dx++, dst += 3) {
            int32_t sx = transpose ? dy : dx, sy = transpose ? dx : dy;
            if (mirror_x)
                sx = img->width - 1 - sx;
            if (mirror_y)
                sy = img->height - 1 - sy;
            memcpy(dst, img->pixels + ((size_t)sy * img->width + sx) * 3, 3);
        }
    rgb_image_free(img);
    *img = upright;
    return G4_OK;
}

/* RGB output for gray, YCbCr and RGB files; CMYK (converted by read_cmyk_rows) for CMYK
 * and YCCK ones. */
static g4_status choose_colour_space(j_decompress_ptr cinfo, g4_err *err)
{
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo->out_color_space = JCS_RGB;
        return G4_OK;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;
        return G4_OK;
    default:
        return g4_fail(err, G4_ERR_UNSUPPORTED, "unsupported colour space (%d components)",
                       cinfo->num_components);
    }
}

/* The largest DCT scale (1, 1/2, 1/4, 1/8) whose output fits IMAGE_MAX_PIXELS (1/8 always
 * does: a JPEG side is at most 65535). */
static g4_status choose_scale(j_decompress_ptr cinfo, g4_err *err)
{
    cinfo->scale_num = 1;
    for (unsigned denom = 1; denom <= 8; denom *= 2) {
        cinfo->scale_denom = denom;
        jpeg_calc_output_dimensions(cinfo);
        if ((int64_t)cinfo->output_width * cinfo->output_height <= IMAGE_MAX_PIXELS)
            break;
    }
    return image_check_size(cinfo->output_width, cinfo->output_height, err);
}

static void read_rgb_rows(j_decompress_ptr cinfo, rgb_image *out)
{
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = out->pixels + (size_t)cinfo->output_scanline * out->width * 3;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
}

/* Ink-free share of two channels as 8 bits. Adobe's files (all CMYK JPEGs in practice)
 * store inverted CMYK, that is the ink-free amounts themselves. */
static uint8_t cmyk_channel(int ink, int black, bool inverted)
{
    int clear = inverted ? ink : 255 - ink, white = inverted ? black : 255 - black;
    return (uint8_t)((clear * white + 127) / 255);
}

static void read_cmyk_rows(j_decompress_ptr cinfo, rgb_image *out)
{
    JSAMPARRAY cmyk = cinfo->mem->alloc_sarray((j_common_ptr)cinfo, JPOOL_IMAGE,
                                               cinfo->output_width * 4, 1);
    bool inverted = cinfo->saw_Adobe_marker;
    while (cinfo->output_scanline < cinfo->output_height) {
        uint8_t *rgb = out->pixels + (size_t)cinfo->output_scanline * out->width * 3;
        jpeg_read_scanlines(cinfo, cmyk, 1);
        for (JDIMENSION x = 0; x < cinfo->output_width; x++, rgb += 3) {
            const JSAMPLE *p = cmyk[0] + x * 4;
            for (int c = 0; c < 3; c++)
                rgb[c] = cmyk_channel(p[c], p[3], inverted);
        }
    }
}

/* Everything that may make libjpeg jump back here; cinfo and guard belong to the caller,
 * so no local of this function changes between setjmp and longjmp. */
static g4_status decode_guarded(j_decompress_ptr cinfo, jpeg_guard *guard,
                                const uint8_t *data, size_t len, rgb_image *out, g4_err *err)
{
    if (setjmp(guard->jump))
        return g4_fail(err, guard->code, "%s", guard->message);
    jpeg_create_decompress(cinfo);
    cinfo->progress = &guard->progress;
    cinfo->mem->max_memory_to_use = JPEG_MAX_MEMORY;
    jpeg_mem_src(cinfo, data, len);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(cinfo, TRUE);
    g4_status status = choose_colour_space(cinfo, err);
    if (status == G4_OK)
        status = choose_scale(cinfo, err);
    if (status != G4_OK)
        return status;
    jpeg_start_decompress(cinfo);
    status = rgb_image_alloc(out, (int32_t)cinfo->output_width,
                             (int32_t)cinfo->output_height, err);
    if (status != G4_OK)
        return status;
    if (cinfo->out_color_space == JCS_CMYK)
        read_cmyk_rows(cinfo, out);
    else
        read_rgb_rows(cinfo, out);
    return apply_orientation(out, exif_orientation(cinfo), err);
}

g4_status image_decode_jpeg(const uint8_t *data, size_t len, rgb_image *out, g4_err *err)
{
    struct jpeg_decompress_struct cinfo = {0};
    jpeg_guard guard;
    cinfo.err = install_guard(&guard);
    g4_status status = decode_guarded(&cinfo, &guard, data, len, out, err);
    jpeg_destroy_decompress(&cinfo);
    return status;
}
