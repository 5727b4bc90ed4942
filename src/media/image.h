/* Still images decoded to 8-bit RGB. */
#ifndef G4_MEDIA_IMAGE_H
#define G4_MEDIA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Row-major pixels, 3 bytes (R, G, B) each, no padding between rows. */
typedef struct rgb_image {
    int32_t width;
    int32_t height;
    uint8_t *pixels;
} rgb_image;

/* The most pixels a decoded image may have (64 Mi pixels = 192 MiB of RGB). Larger JPEGs
 * are decoded at the largest DCT scale (1/2, 1/4, 1/8) that fits; larger images in the
 * other formats are refused before any pixel memory is allocated. */
#define IMAGE_MAX_PIXELS ((int64_t)64 << 20)
/* The longest side accepted in any format. */
#define IMAGE_MAX_SIDE 65535

/* Decodes PNG, JPEG, WebP, BMP or GIF (its first frame), recognised by content, not by
 * name. Grayscale and palette images are expanded to RGB, alpha is dropped, 16-bit
 * samples keep their high byte, and a JPEG's EXIF orientation is applied. On failure
 * *out is left empty and err says what is wrong with the data. */
g4_status image_decode(const uint8_t *data, size_t len, rgb_image *out, g4_err *err);

/* Allocates an uninitialised width x height image (checked against the limits above). */
g4_status rgb_image_alloc(rgb_image *img, int32_t width, int32_t height, g4_err *err);
void rgb_image_free(rgb_image *img);

#endif
