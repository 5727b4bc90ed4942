/* WebP (lossy, lossless, with or without alpha) through libwebp's advanced decoding API,
 * straight into the output image. Animations are refused: libwebp alone cannot composite
 * their frames. */
#include <webp/decode.h>

#include "media/image_formats.h"

static const char *webp_problem(VP8StatusCode status)
{
    switch (status) {
    case VP8_STATUS_NOT_ENOUGH_DATA:
        return "truncated data";
    case VP8_STATUS_BITSTREAM_ERROR:
        return "corrupt data";
    case VP8_STATUS_UNSUPPORTED_FEATURE:
        return "unsupported feature";
    case VP8_STATUS_OUT_OF_MEMORY:
        return "out of memory";
    default:
        return "cannot decode";
    }
}

static g4_status webp_failure(VP8StatusCode status, g4_err *err)
{
    g4_status code = status == VP8_STATUS_OUT_OF_MEMORY       ? G4_ERR_NO_MEMORY
                     : status == VP8_STATUS_UNSUPPORTED_FEATURE ? G4_ERR_UNSUPPORTED
                                                                : G4_ERR_FORMAT;
    return g4_fail(err, code, "%s", webp_problem(status));
}

g4_status image_decode_webp(const uint8_t *data, size_t len, rgb_image *out, g4_err *err)
{
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config))
        return g4_fail(err, G4_ERR_INTERNAL, "libwebp version mismatch");
    VP8StatusCode vp8 = WebPGetFeatures(data, len, &config.input);
    if (vp8 != VP8_STATUS_OK)
        return webp_failure(vp8, err);
    if (config.input.has_animation)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "animated WebP is not supported");
    g4_status status = rgb_image_alloc(out, config.input.width, config.input.height, err);
    if (status != G4_OK)
        return status;
    config.output.colorspace = MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = out->pixels;
    config.output.u.RGBA.stride = out->width * 3;
    config.output.u.RGBA.size = (size_t)out->width * out->height * 3;
    vp8 = WebPDecode(data, len, &config);
    WebPFreeDecBuffer(&config.output);
    return vp8 == VP8_STATUS_OK ? G4_OK : webp_failure(vp8, err);
}
