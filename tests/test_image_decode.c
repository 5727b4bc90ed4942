/* Still-image decoders (src/media/image_*.c) against the fixtures in
 * tests/data/media/formats (made by make_images.sh there): lossless files must decode to
 * exactly the expected pixels, lossy ones close to their source, and bad input must fail
 * with a message and an empty image. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "harness.h"
#include "media/image.h"

enum { PATTERN_W = 64, PATTERN_H = 48 };

typedef struct bytes {
    uint8_t *data;
    size_t len;
} bytes;

static bytes read_fixture(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "media/formats/%s", name);
    bytes b = {0};
    b.data = (uint8_t *)test_read_file(test_data_path(rel), &b.len);
    CHECK_MSG(b.data != NULL, "cannot read %s", rel);
    return b;
}

/* Decodes a fixture; on failure reports the message and returns an empty image. */
static rgb_image decode_fixture(const char *name)
{
    bytes b = read_fixture(name);
    rgb_image img = {0};
    g4_err err = {0};
    g4_status status = image_decode(b.data, b.len, &img, &err);
    CHECK_MSG(status == G4_OK, "%s: %s", name, err.msg);
    free(b.data);
    return img;
}

static bool same_size(const rgb_image *a, const rgb_image *b)
{
    return a->pixels && b->pixels && a->width == b->width && a->height == b->height;
}

static bool images_equal(const rgb_image *a, const rgb_image *b)
{
    return same_size(a, b) &&
           memcmp(a->pixels, b->pixels, (size_t)a->width * a->height * 3) == 0;
}

static double mean_abs_diff(const rgb_image *a, const rgb_image *b)
{
    if (!same_size(a, b))
        return 1e9;
    size_t n = (size_t)a->width * a->height * 3;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += abs(a->pixels[i] - b->pixels[i]);
    return sum / (double)n;
}

static const uint8_t *pixel_at(const rgb_image *img, int32_t x, int32_t y)
{
    return img->pixels + ((size_t)y * img->width + x) * 3;
}

/* Expected pixels of the synthetic fixtures, as functions of (x, y). */
typedef void (*expected_fn)(int x, int y, uint8_t rgb[3]);

static const uint8_t RGBW[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};

/* make_images.sh's pattern(x, y) */
static void pattern_rgb(int x, int y, uint8_t rgb[3])
{
    rgb[0] = (uint8_t)(x * 4 + y);
    rgb[1] = (uint8_t)(x * 2 + y * 5);
    rgb[2] = (uint8_t)((x ^ y) * 3);
}

/* make_images.sh's gray(x, y), in gray8.png and (as high bytes) in gray16.png */
static void pattern_gray(int x, int y, uint8_t rgb[3])
{
    memset(rgb, (uint8_t)(x * 4 + y * 3), 3);
}

/* gray1.png: 4x4 checks */
static void pattern_bilevel(int x, int y, uint8_t rgb[3])
{
    memset(rgb, ((x >> 2) + (y >> 2)) & 1 ? 255 : 0, 3);
}

/* anim.webp's first frame: all red (the second is blue) */
static void anim_webp_first_frame(int x, int y, uint8_t rgb[3])
{
    (void)x, (void)y;
    rgb[0] = 255, rgb[1] = 0, rgb[2] = 0;
}

/* anim.gif's first frame: 8x8 checks over red, green, blue, white */
static void anim_first_frame(int x, int y, uint8_t rgb[3])
{
    memcpy(rgb, RGBW[((x >> 3) + (y >> 3)) % 4], 3);
}

/* rle8.bmp: 4-pixel runs over red, green, blue, white */
static void rle8_runs(int x, int y, uint8_t rgb[3])
{
    memcpy(rgb, RGBW[(x / 4 + y) % 4], 3);
}

/* partial.gif: a 16x12 screen of background colour (70, 80, 90) with an interlaced 8x6
 * frame at (5, 3) whose local map colours (x + y) % 4. */
static void partial_gif(int x, int y, uint8_t rgb[3])
{
    static const uint8_t local[4][3] = {{200, 0, 0}, {0, 200, 0}, {0, 0, 200}, {250, 250, 250}};
    static const uint8_t background[3] = {70, 80, 90};
    bool inside = x >= 5 && x < 13 && y >= 3 && y < 9;
    memcpy(rgb, inside ? local[(x - 5 + y - 3) % 4] : background, 3);
}

static bool matches(const rgb_image *img, int width, int height, expected_fn expected)
{
    if (!img->pixels || img->width != width || img->height != height)
        return false;
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            uint8_t want[3];
            expected(x, y, want);
            if (memcmp(pixel_at(img, x, y), want, 3) != 0)
                return false;
        }
    return true;
}

/* Decodes a synthetic fixture and compares it with its expected pixels. */
static void check_synthetic(const char *name, int width, int height, expected_fn expected)
{
    rgb_image img = decode_fixture(name);
    CHECK_MSG(matches(&img, width, height, expected), "%s: wrong pixels", name);
    rgb_image_free(&img);
}

static void check_png(const rgb_image *shapes)
{
    CHECK(shapes->width == 400 && shapes->height == 300);
    CHECK(memcmp(pixel_at(shapes, 0, 0), "\xff\x00\x00", 3) == 0); /* red top edge */
    CHECK(memcmp(pixel_at(shapes, 200, 150), "\xff\xff\x00", 3) == 0); /* yellow disc */
    const char *same_as_shapes[] = {"shapes_rgba.png", "shapes_16.png", "shapes_interlaced.png"};
    for (size_t i = 0; i < sizeof same_as_shapes / sizeof *same_as_shapes; i++) {
        rgb_image img = decode_fixture(same_as_shapes[i]);
        CHECK_MSG(images_equal(&img, shapes), "%s differs from shapes.png", same_as_shapes[i]);
        rgb_image_free(&img);
    }
    rgb_image quant = decode_fixture("shapes_quant.png");
    rgb_image pal = decode_fixture("shapes_pal.png");
    CHECK_MSG(images_equal(&pal, &quant), "palette PNG differs from its RGB copy");
    CHECK(mean_abs_diff(&quant, shapes) < 3.0);
    rgb_image_free(&quant);
    rgb_image_free(&pal);
    check_synthetic("gray8.png", PATTERN_W, PATTERN_H, pattern_gray);
    check_synthetic("gray16.png", PATTERN_W, PATTERN_H, pattern_gray);
    check_synthetic("gray1.png", PATTERN_W, PATTERN_H, pattern_bilevel);
}

/* The pixel at (x, y) of src shown with an EXIF orientation, spelled out case by case. */
static const uint8_t *oriented_source(const rgb_image *src, int orientation, int x, int y)
{
    int w = src->width, h = src->height;
    switch (orientation) {
    case 2: return pixel_at(src, w - 1 - x, y);
    case 3: return pixel_at(src, w - 1 - x, h - 1 - y);
    case 4: return pixel_at(src, x, h - 1 - y);
    case 5: return pixel_at(src, y, x);
    case 6: return pixel_at(src, y, h - 1 - x);      /* rotated 90 degrees clockwise */
    case 7: return pixel_at(src, w - 1 - y, h - 1 - x);
    case 8: return pixel_at(src, w - 1 - y, x);      /* rotated 90 degrees anticlockwise */
    default: return pixel_at(src, x, y);
    }
}

static bool equals_oriented(const rgb_image *img, const rgb_image *src, int orientation)
{
    bool swap = orientation >= 5;
    if (!img->pixels || img->width != (swap ? src->height : src->width) ||
        img->height != (swap ? src->width : src->height))
        return false;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            if (memcmp(pixel_at(img, x, y), oriented_source(src, orientation, x, y), 3) != 0)
                return false;
    return true;
}

/* A copy of a JPEG with a little-endian EXIF APP1 segment holding only the orientation
 * inserted after SOI (shapes_exif6.jpg, written by PIL, is big-endian). */
static bytes with_exif_orientation(bytes jpeg, int orientation)
{
    uint8_t app1[] = {0xff, 0xe1, 0, 34, 'E', 'x', 'i', 'f', 0, 0,  /* marker, length */
                      'I', 'I', 42, 0, 8, 0, 0, 0,                  /* TIFF header */
                      1, 0,                                         /* one IFD entry: */
                      0x12, 0x01, 3, 0, 1, 0, 0, 0, (uint8_t)orientation, 0, 0, 0,
                      0, 0, 0, 0};                                  /* no next IFD */
    bytes out = {malloc(jpeg.len + sizeof app1), jpeg.len + sizeof app1};
    memcpy(out.data, jpeg.data, 2);
    memcpy(out.data + 2, app1, sizeof app1);
    memcpy(out.data + 2 + sizeof app1, jpeg.data + 2, jpeg.len - 2);
    return out;
}

static void check_orientations(const rgb_image *plain)
{
    rgb_image exif6 = decode_fixture("shapes_exif6.jpg");
    CHECK_MSG(equals_oriented(&exif6, plain, 6), "shapes_exif6.jpg is not shapes.jpg rotated");
    /* Orientation 6 turns the red top edge into the right edge. */
    const uint8_t *right = pixel_at(&exif6, exif6.width - 1, exif6.height / 2);
    CHECK(exif6.width == 300 && right[0] > 200 && right[1] < 60 && right[2] < 60);
    rgb_image_free(&exif6);
    bytes jpeg = read_fixture("shapes.jpg");
    for (int orientation = 1; orientation <= 8; orientation++) {
        bytes tagged = with_exif_orientation(jpeg, orientation);
        rgb_image img = {0};
        g4_err err = {0};
        CHECK_MSG(image_decode(tagged.data, tagged.len, &img, &err) == G4_OK, "%s", err.msg);
        CHECK_MSG(equals_oriented(&img, plain, orientation), "orientation %d", orientation);
        rgb_image_free(&img);
        free(tagged.data);
    }
    free(jpeg.data);
}

/* Luma as JPEG defines it (what PIL's convert("L") computes, to within rounding). */
static rgb_image luma_of(const rgb_image *src)
{
    rgb_image gray = {0};
    g4_err err = {0};
    CHECK(rgb_image_alloc(&gray, src->width, src->height, &err) == G4_OK);
    for (size_t i = 0; i < (size_t)src->width * src->height * 3; i += 3) {
        const uint8_t *p = src->pixels + i;
        uint8_t y = (uint8_t)((p[0] * 299 + p[1] * 587 + p[2] * 114 + 500) / 1000);
        memset(gray.pixels + i, y, 3);
    }
    return gray;
}

static bool is_gray(const rgb_image *img)
{
    for (size_t i = 0; i < (size_t)img->width * img->height * 3; i += 3)
        if (img->pixels[i] != img->pixels[i + 1] || img->pixels[i] != img->pixels[i + 2])
            return false;
    return img->pixels != NULL;
}

/* JPEG: the q90 encodings stay within a mean of 1.5 levels per sample of the source. */
static void check_jpeg(const rgb_image *shapes)
{
    rgb_image plain = decode_fixture("shapes.jpg");
    CHECK(plain.width == 400 && plain.height == 300);
    const char *close_to_shapes[] = {"shapes.jpg", "shapes_progressive.jpg", "shapes_cmyk.jpg"};
    for (size_t i = 0; i < sizeof close_to_shapes / sizeof *close_to_shapes; i++) {
        rgb_image img = decode_fixture(close_to_shapes[i]);
        double diff = mean_abs_diff(&img, shapes);
        CHECK_MSG(diff < 1.5, "%s: mean abs diff %.3f", close_to_shapes[i], diff);
        rgb_image_free(&img);
    }
    /* Bit for bit what PIL gets from libjpeg-turbo with its default settings. */
    struct { const char *jpeg, *png; } as_pil[] = {{"shapes.jpg", "shapes_jpg_pil.png"},
                                                  {"shapes_cmyk.jpg", "shapes_cmyk_pil.png"}};
    for (size_t i = 0; i < sizeof as_pil / sizeof *as_pil; i++) {
        rgb_image img = decode_fixture(as_pil[i].jpeg), pil = decode_fixture(as_pil[i].png);
        CHECK_MSG(images_equal(&img, &pil), "%s differs from %s", as_pil[i].jpeg, as_pil[i].png);
        rgb_image_free(&img);
        rgb_image_free(&pil);
    }
    rgb_image gray = decode_fixture("shapes_gray.jpg"), luma = luma_of(shapes);
    double diff = mean_abs_diff(&gray, &luma);
    CHECK_MSG(is_gray(&gray) && diff < 0.5, "shapes_gray.jpg: mean abs diff %.3f", diff);
    rgb_image_free(&gray);
    rgb_image_free(&luma);
    check_orientations(&plain);
    rgb_image_free(&plain);
}

/* A grayscale JPEG made by libjpeg, every row equal to `row`; with the given scan script
 * (a progressive file) unless scans is NULL. */
static bytes compress_gray(const JSAMPLE *row, int width, int height,
                           const jpeg_scan_info *scans, int n_scans)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr errors;
    cinfo.err = jpeg_std_error(&errors);
    jpeg_create_compress(&cinfo);
    unsigned char *data = NULL;
    unsigned long len = 0;
    jpeg_mem_dest(&cinfo, &data, &len);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 1;
    cinfo.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 10, TRUE);
    cinfo.scan_info = scans;
    cinfo.num_scans = n_scans;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height)
        jpeg_write_scanlines(&cinfo, (JSAMPARRAY)&row, 1);
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return (bytes){data, len};
}

/* 10240x10240, black on the left half and white on the right. */
static bytes make_huge_jpeg(void)
{
    JSAMPLE *row = malloc(10240);
    memset(row, 0, 5120);
    memset(row + 5120, 255, 5120);
    bytes jpeg = compress_gray(row, 10240, 10240, NULL, 0);
    free(row);
    return jpeg;
}

/* 10240x10240 is 100 megapixels: decoded at 1/2 scale, which fits the limit. */
static void check_huge_jpeg(void)
{
    bytes jpeg = make_huge_jpeg();
    rgb_image img = {0};
    g4_err err = {0};
    CHECK_MSG(image_decode(jpeg.data, jpeg.len, &img, &err) == G4_OK, "%s", err.msg);
    CHECK_MSG(img.width == 5120 && img.height == 5120, "decoded as %dx%d", img.width,
              img.height);
    CHECK((int64_t)img.width * img.height <= IMAGE_MAX_PIXELS);
    if (img.pixels) {
        CHECK(pixel_at(&img, 100, 2560)[0] < 20 && pixel_at(&img, 5000, 2560)[0] > 235);
        CHECK(is_gray(&img));
    }
    rgb_image_free(&img);
    free(jpeg.data);
}

static void check_webp(const rgb_image *shapes)
{
    rgb_image lossless = decode_fixture("shapes.webp"), alpha = decode_fixture("shapes_alpha.webp");
    CHECK_MSG(images_equal(&lossless, shapes), "shapes.webp differs from shapes.png");
    CHECK_MSG(images_equal(&alpha, shapes), "shapes_alpha.webp differs from shapes.png");
    rgb_image_free(&lossless);
    rgb_image_free(&alpha);
    rgb_image lossy = decode_fixture("shapes_lossy.webp");
    double diff = mean_abs_diff(&lossy, shapes);
    CHECK_MSG(diff < 2.5, "shapes_lossy.webp: mean abs diff %.3f", diff);
    rgb_image_free(&lossy);
    check_synthetic("anim.webp", PATTERN_W, PATTERN_H, anim_webp_first_frame);
}

static void check_gif(void)
{
    rgb_image quant = decode_fixture("shapes_quant.png"), gif = decode_fixture("shapes.gif");
    CHECK_MSG(images_equal(&gif, &quant), "shapes.gif differs from shapes_quant.png");
    rgb_image_free(&gif);
    rgb_image_free(&quant);
    check_synthetic("anim.gif", PATTERN_W, PATTERN_H, anim_first_frame);
    check_synthetic("partial.gif", 16, 12, partial_gif);
}

static void check_bmp(void)
{
    check_synthetic("rle8.bmp", 16, 12, rle8_runs);
    check_synthetic("pattern_topdown.bmp", PATTERN_W, PATTERN_H, pattern_rgb);
    struct { const char *bmp, *png; } pairs[] = {{"shapes_crop.bmp", "shapes_crop.png"},
                                                 {"shapes_crop32.bmp", "shapes_crop.png"},
                                                 {"shapes_pal8.bmp", "shapes_quant_crop.png"}};
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        rgb_image bmp = decode_fixture(pairs[i].bmp), png = decode_fixture(pairs[i].png);
        CHECK_MSG(images_equal(&bmp, &png), "%s differs from %s", pairs[i].bmp, pairs[i].png);
        rgb_image_free(&bmp);
        rgb_image_free(&png);
    }
}

/* Decoding must fail (with code `want` unless it is G4_OK), leave out empty and explain,
 * the message starting with `prefix`. */
static void expect_failure(const uint8_t *data, size_t len, g4_status want, const char *prefix,
                           const char *what)
{
    static uint8_t stale[3];
    rgb_image img = {7, 7, stale};
    g4_err err = {0};
    g4_status status = image_decode(data, len, &img, &err);
    CHECK_MSG(status != G4_OK && (want == G4_OK || status == want), "%s: status %d (%s)", what,
              (int)status, err.msg);
    CHECK_MSG(img.pixels == NULL && img.width == 0 && img.height == 0, "%s: image not empty",
              what);
    CHECK_MSG(err.msg[0] != '\0' && strncmp(err.msg, prefix, strlen(prefix)) == 0,
              "%s: message \"%s\"", what, err.msg);
    if (status == G4_OK)
        rgb_image_free(&img);
}

static void check_truncated(void)
{
    struct { const char *name, *prefix; } files[] = {
        {"../shapes.png", "PNG: "},         {"shapes_interlaced.png", "PNG: "},
        {"shapes.jpg", "JPEG: "},           {"shapes_progressive.jpg", "JPEG: "},
        {"shapes.webp", "WebP: "},          {"shapes_lossy.webp", "WebP: "},
        {"shapes.gif", "GIF: "},            {"partial.gif", "GIF: "},
        {"shapes_crop.bmp", "BMP: "},       {"shapes_pal8.bmp", "BMP: "}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        bytes b = read_fixture(files[i].name);
        size_t cuts[] = {b.len * 3 / 4, b.len / 2, b.len / 4, 40, 20, 12};
        for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
            char what[128];
            snprintf(what, sizeof what, "%s cut to %zu bytes", files[i].name, cuts[c]);
            expect_failure(b.data, cuts[c], G4_ERR_FORMAT, files[i].prefix, what);
        }
        free(b.data);
    }
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_le(uint8_t *p, uint32_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc >> 1 ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

/* A PNG whose IHDR says width x height, followed by an (empty-image) IDAT and IEND. */
static size_t make_png_header(uint8_t *out, uint32_t width, uint32_t height)
{
    static const uint8_t idat[] = {0, 0, 0, 8, 'I', 'D', 'A', 'T', 0x78, 0x9c, 3, 0, 0, 0, 0, 1};
    memcpy(out, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
    put_be32(out + 16, width);
    put_be32(out + 20, height);
    memcpy(out + 24, "\x08\x02\0\0\0", 5);
    put_be32(out + 29, crc32_of(out + 12, 17));
    memcpy(out + 33, idat, sizeof idat);
    put_be32(out + 33 + sizeof idat, crc32_of(idat + 4, sizeof idat - 4));
    memcpy(out + 37 + sizeof idat, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
    return 49 + sizeof idat;
}

static size_t make_bmp_header(uint8_t *out, uint32_t width, uint32_t height)
{
    memset(out, 0, 54);
    memcpy(out, "BM", 2);
    put_le(out + 2, 54, 4);
    put_le(out + 10, 54, 4);
    put_le(out + 14, 40, 4);
    put_le(out + 18, width, 4);
    put_le(out + 22, height, 4);
    put_le(out + 26, 1, 2);
    put_le(out + 28, 24, 2);
    return 54;
}

static size_t make_gif_header(uint8_t *out, uint32_t width, uint32_t height)
{
    memcpy(out, "GIF89a", 6);
    put_le(out + 6, width, 2);
    put_le(out + 8, height, 2);
    memcpy(out + 10, "\0\0\0;", 4);
    return 14;
}

/* A lossless WebP whose VP8L header says width x height (each at most 16384). */
static size_t make_webp_header(uint8_t *out, uint32_t width, uint32_t height)
{
    memcpy(out, "RIFF\x12\0\0\0WEBPVP8L\x05\0\0\0\x2f", 21);
    put_le(out + 21, (width - 1) | (height - 1) << 14, 4);
    out[25] = 0;
    return 26;
}

/* 10000x10000 is 100 megapixels: refused from the header, before any pixel memory. */
static void check_oversized_headers(void)
{
    size_t (*makers[])(uint8_t *, uint32_t, uint32_t) = {make_png_header, make_bmp_header,
                                                        make_gif_header, make_webp_header};
    const char *prefixes[] = {"PNG: ", "BMP: ", "GIF: ", "WebP: "};
    for (size_t i = 0; i < sizeof makers / sizeof *makers; i++) {
        uint8_t file[128];
        size_t len = makers[i](file, 10000, 10000);
        g4_err err = {0};
        rgb_image img = {0};
        CHECK_MSG(image_decode(file, len, &img, &err) == G4_ERR_UNSUPPORTED, "%s: %s",
                  prefixes[i], err.msg);
        CHECK_MSG(strstr(err.msg, "10000x10000 (100 megapixels); the limit is 67") != NULL,
                  "%s", err.msg);
        rgb_image_free(&img);
        expect_failure(file, len, G4_ERR_UNSUPPORTED, prefixes[i], "100-megapixel header");
    }
}

static void check_corrupt_jpeg(void)
{
    bytes jpeg = read_fixture("shapes.jpg");
    uint8_t *sof = NULL;
    for (size_t i = 0; i + 12 < jpeg.len && !sof; i++)
        if (jpeg.data[i] == 0xff && jpeg.data[i + 1] == 0xc0)
            sof = jpeg.data + i;
    CHECK(sof != NULL);
    if (sof) {
        sof[11] = 3; /* first component: quantization table 3, never defined */
        expect_failure(jpeg.data, jpeg.len, G4_ERR_FORMAT, "JPEG: ", "undefined table");
        sof[7] = sof[8] = 0; /* width 0 */
        expect_failure(jpeg.data, jpeg.len, G4_ERR_FORMAT, "JPEG: ", "zero width");
    }
    memset(jpeg.data + 3, 0x55, jpeg.len - 3);
    expect_failure(jpeg.data, jpeg.len, G4_ERR_FORMAT, "JPEG: ", "garbage after SOI");
    free(jpeg.data);
}

/* A valid progressive file of 256 scans: each of the 64 coefficients sent 4 bits at a time
 * (successive approximation). The decoder stops past 200 scans. */
static void check_too_many_scans(void)
{
    jpeg_scan_info scans[256];
    for (int i = 0; i < 256; i++) {
        int coefficient = i / 4, step = i % 4;
        scans[i] = (jpeg_scan_info){.comps_in_scan = 1, .Ss = coefficient, .Se = coefficient,
                                    .Ah = step == 0 ? 0 : 4 - step, .Al = 3 - step};
    }
    JSAMPLE row[16];
    for (int x = 0; x < 16; x++)
        row[x] = (JSAMPLE)(x * 16);
    bytes jpeg = compress_gray(row, 16, 16, scans, 256);
    expect_failure(jpeg.data, jpeg.len, G4_ERR_FORMAT, "JPEG: more than 200", "256 scans");
    free(jpeg.data);
}

/* A progressive 65000x65000 header needs 8 GB of coefficients: refused (no memory), not
 * allocated. */
static void check_jpeg_memory_limit(void)
{
    bytes jpeg = read_fixture("shapes_progressive.jpg");
    for (size_t i = 0; i + 9 < jpeg.len; i++)
        if (jpeg.data[i] == 0xff && jpeg.data[i + 1] == 0xc2) {
            memcpy(jpeg.data + i + 5, "\xfd\xe8\xfd\xe8", 4);
            break;
        }
    expect_failure(jpeg.data, jpeg.len, G4_ERR_NO_MEMORY, "JPEG: ", "65000x65000 progressive");
    free(jpeg.data);
}

static uint32_t next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* Random bytes, bare or behind each format's magic: whatever happens must be clean. */
static void check_random_bytes(void)
{
    static const char *magics[] = {"", "\x89PNG\r\n\x1a\n", "\xff\xd8\xff", "RIFF\0\1\0\0WEBP",
                                   "GIF89a", "BM"};
    static const size_t magic_lens[] = {0, 8, 3, 12, 6, 2};
    uint32_t state = 12345;
    uint8_t data[2048];
    for (int trial = 0; trial < 300; trial++) {
        size_t m = (size_t)trial % 6, len = 1 + next_random(&state) % sizeof data;
        for (size_t i = 0; i < len; i++)
            data[i] = (uint8_t)next_random(&state);
        memcpy(data, magics[m], magic_lens[m] < len ? magic_lens[m] : len);
        expect_failure(data, len, G4_OK, "", "random bytes");
    }
}

static void check_bad_input(void)
{
    expect_failure(NULL, 0, G4_ERR_FORMAT, "not a PNG, JPEG, WebP, BMP or GIF image", "NULL");
    expect_failure((const uint8_t *)"", 0, G4_ERR_FORMAT, "not a PNG", "empty");
    expect_failure((const uint8_t *)"hello, world", 12, G4_ERR_FORMAT, "not a PNG", "text");
    check_truncated();
    check_oversized_headers();
    check_corrupt_jpeg();
    check_too_many_scans();
    check_jpeg_memory_limit();
    check_random_bytes();
}

static void check_alloc(void)
{
    rgb_image img = {0};
    g4_err err = {0};
    CHECK(rgb_image_alloc(&img, 0, 5, &err) == G4_ERR_FORMAT && img.pixels == NULL);
    CHECK(rgb_image_alloc(&img, IMAGE_MAX_SIDE + 1, 1, &err) == G4_ERR_UNSUPPORTED);
    CHECK(rgb_image_alloc(&img, 8193, 8192, &err) == G4_ERR_UNSUPPORTED && img.pixels == NULL);
    CHECK(rgb_image_alloc(&img, IMAGE_MAX_SIDE, 3, &err) == G4_OK && img.pixels != NULL);
    CHECK(img.width == IMAGE_MAX_SIDE && img.height == 3);
    rgb_image_free(&img);
    CHECK(img.pixels == NULL && img.width == 0 && img.height == 0);
    rgb_image_free(&img); /* an empty image is fine */
    rgb_image_free(NULL);
}

int main(void)
{
    rgb_image shapes = decode_fixture("../shapes.png");
    check_png(&shapes);
    check_jpeg(&shapes);
    check_webp(&shapes);
    rgb_image_free(&shapes);
    check_gif();
    check_bmp();
    check_huge_jpeg();
    check_bad_input();
    check_alloc();
    return test_finish("image_decode");
}
