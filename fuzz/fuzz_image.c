/* libFuzzer target for the still-image decoders: every input must decode or fail with a
 * message and an empty image, and a decoded image must be within the limits. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a finding: stop where the fuzzer can see it. */
static void require(bool condition)
{
    if (!condition)
        __builtin_trap();
}

/* Reads both ends of the pixels, so that the sanitizers see a buffer that is too small. */
static void touch_ends(const rgb_image *img)
{
    size_t n = (size_t)img->width * img->height * 3;
    volatile uint8_t sink = img->pixels[0] ^ img->pixels[n - 1];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rgb_image img;
    g4_err err = {0};
    if (image_decode(data, size, &img, &err) != G4_OK) {
        require(img.pixels == NULL && img.width == 0 && img.height == 0);
        require(err.msg[0] != '\0');
        return 0;
    }
    require(img.pixels != NULL && img.width > 0 && img.height > 0);
    require(img.width <= IMAGE_MAX_SIDE && img.height <= IMAGE_MAX_SIDE);
    require((int64_t)img.width * img.height <= IMAGE_MAX_PIXELS);
    touch_ends(&img);
    rgb_image_free(&img);
    return 0;
}
