/* Private to the image decoders: one entry point per format, each called by image_decode
 * with data whose magic bytes match. A decoder fills *out (allocated with rgb_image_alloc)
 * and, on failure, may leave it partly filled: image_decode frees it. Messages do not name
 * the format; image_decode puts "PNG: " (and so on) in front. */
#ifndef G4_MEDIA_IMAGE_FORMATS_H
#define G4_MEDIA_IMAGE_FORMATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "media/image.h"

g4_status image_decode_png(const uint8_t *data, size_t len, rgb_image *out, g4_err *err);
g4_status image_decode_jpeg(const uint8_t *data, size_t len, rgb_image *out, g4_err *err);
g4_status image_decode_webp(const uint8_t *data, size_t len, rgb_image *out, g4_err *err);
g4_status image_decode_gif(const uint8_t *data, size_t len, rgb_image *out, g4_err *err);
g4_status image_decode_bmp(const uint8_t *data, size_t len, rgb_image *out, g4_err *err);

/* Fails (G4_ERR_FORMAT for a side <= 0, G4_ERR_UNSUPPORTED over IMAGE_MAX_SIDE or
 * IMAGE_MAX_PIXELS) unless a width x height image is allowed. */
g4_status image_check_size(int64_t width, int64_t height, g4_err *err);

#endif
