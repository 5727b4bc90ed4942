/* BMP through FFmpeg's BMP decoder (one packet holding the whole file), converted to RGB24
 * by libswscale. The header's size is checked first, so an image over the limits is
 * refused before FFmpeg allocates its frame. */
#include <limits.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "media/image_formats.h"

enum { BMP_FILE_HEADER = 14, BMP_CORE_HEADER = 12, BMP_MIN_HEADERS = 26 };

static uint32_t read_le(const uint8_t *p, int n)
{
    uint32_t value = 0;
    for (int i = n - 1; i >= 0; i--)
        value = value << 8 | p[i];
    return value;
}

/* The width and height in the info header (OS/2 1.x: 16-bit; Windows: 32-bit signed,
 * a negative height meaning top-down rows). */
static g4_status check_bmp_header(const uint8_t *data, size_t len, g4_err *err)
{
    if (len < BMP_MIN_HEADERS)
        return g4_fail(err, G4_ERR_FORMAT, "truncated header");
    const uint8_t *info = data + BMP_FILE_HEADER;
    int64_t width, height;
    if (read_le(info, 4) == BMP_CORE_HEADER) {
        width = read_le(info + 4, 2);
        height = read_le(info + 6, 2);
    } else {
        width = (int32_t)read_le(info + 4, 4);
        height = (int32_t)read_le(info + 8, 4);
    }
    return image_check_size(width, height < 0 ? -height : height, err);
}

static g4_status ffmpeg_failure(int code, g4_err *err)
{
    if (code == AVERROR(ENOMEM))
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(code, reason, sizeof reason);
    return g4_fail(err, G4_ERR_FORMAT, "truncated or corrupt data (%s)", reason);
}

/* Sends the whole file to an opened decoder as one packet and takes the frame back. */
static int decode_packet(AVCodecContext *decoder, const uint8_t *data, size_t len,
                         AVFrame *frame)
{
    AVPacket *packet = av_packet_alloc();
    if (!packet)
        return AVERROR(ENOMEM);
    int code = av_new_packet(packet, (int)len);
    if (code == 0) {
        memcpy(packet->data, data, len);
        code = avcodec_send_packet(decoder, packet);
    }
    if (code == 0)
        code = avcodec_receive_frame(decoder, frame);
    av_packet_free(&packet);
    return code;
}

static g4_status decode_bmp_frame(const uint8_t *data, size_t len, AVFrame *frame,
                                  g4_err *err)
{
    const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_BMP);
    if (!codec)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "FFmpeg was built without its BMP decoder");
    AVCodecContext *decoder = avcodec_alloc_context3(codec);
    if (!decoder)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    int code = avcodec_open2(decoder, codec, NULL);
    if (code == 0)
        code = decode_packet(decoder, data, len, frame);
    avcodec_free_context(&decoder);
    return code == 0 ? G4_OK : ffmpeg_failure(code, err);
}

static g4_status frame_to_rgb(const AVFrame *frame, rgb_image *out, g4_err *err)
{
    g4_status status = rgb_image_alloc(out, frame->width, frame->height, err);
    if (status != G4_OK)
        return status;
    struct SwsContext *converter =
        sws_getContext(frame->width, frame->height, frame->format, frame->width, frame->height,
                       AV_PIX_FMT_RGB24, SWS_POINT, NULL, NULL, NULL);
    if (!converter)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "cannot convert %s pixels to RGB",
                       av_get_pix_fmt_name(frame->format));
    uint8_t *planes[4] = {out->pixels};
    int strides[4] = {out->width * 3};
    int rows = sws_scale(converter, (const uint8_t *const *)frame->data, frame->linesize, 0,
                         frame->height, planes, strides);
    sws_freeContext(converter);
    if (rows != frame->height)
        return g4_fail(err, G4_ERR_INTERNAL, "libswscale failed to convert the pixels");
    return G4_OK;
}

g4_status image_decode_bmp(const uint8_t *data, size_t len, rgb_image *out, g4_err *err)
{
    av_log_set_level(AV_LOG_QUIET);
    g4_status status = check_bmp_header(data, len, err);
    if (status != G4_OK)
        return status;
    if (len > INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "file too large");
    AVFrame *frame = av_frame_alloc();
    if (!frame)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    status = decode_bmp_frame(data, len, frame, err);
    if (status == G4_OK)
        status = frame_to_rgb(frame, out, err);
    av_frame_free(&frame);
    return status;
}
