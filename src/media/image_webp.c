/* WebP (lossy, lossless, with or without alpha) through libwebp's advanced decoding API,
 * straight into the output image; of an animation, the first frame as libwebpdemux
 * composites it on the canvas (alpha dropped, as for still images). */
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

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

/* The first frame of an animation. The canvas size is checked (by rgb_image_alloc)
 * before the animation decoder allocates its own canvas. */
static g4_status decode_first_frame(const uint8_t *data, size_t len,
                                    const WebPBitstreamFeatures *features, rgb_image *out,
                                    g4_err *err)
{
    g4_status status = rgb_image_alloc(out, features->width, features->height, err);
    if (status != G4_OK)
        return status;
    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options))
        return g4_fail(err, G4_ERR_INTERNAL, "libwebpdemux version mismatch");
    options.color_mode = MODE_RGBA;
    options.use_threads = 0;
    WebPData webp = {data, len};
    WebPAnimDecoder *decoder = WebPAnimDecoderNew(&webp, &options);
    WebPAnimInfo info;
    uint8_t *canvas = NULL;
    int timestamp = 0;
    if (!decoder || !WebPAnimDecoderGetInfo(decoder, &info) ||
        info.canvas_width != (uint32_t)out->width || info.canvas_height != (uint32_t)out->height ||
        !WebPAnimDecoderGetNext(decoder, &canvas, &timestamp))
        status = g4_fail(err, G4_ERR_FORMAT, "corrupt animation");
    size_t pixels = (size_t)out->width * (size_t)out->height;
    for (size_t p = 0; status == G4_OK && p < pixels; p++)
        memcpy(out->pixels + 3 * p, canvas + 4 * p, 3);
    WebPAnimDecoderDelete(decoder);
    return status;
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
        return decode_first_frame(data, len, &config.input, out, err);
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
