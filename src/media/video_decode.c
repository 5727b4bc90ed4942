/* Video files to a few evenly spaced RGB frames and a 16 kHz mono sound track.
 *
 * Two passes over the data: the first counts the packets of the video stream (N: one
 * packet is one frame in every common container; stored frame counts such as nb_frames
 * are often missing, as in WebM, or stale, so they are not trusted); the second decodes
 * the video up to the last frame wanted, and the first audio stream to its end. Frame k
 * of the decoder's output (in presentation order) is kept when it is one of the indices
 * floor(i * N / max_frames). A decoder that returns fewer frames than N packets (damaged
 * data, hidden frames) leaves the later indices unfilled: those frames are simply
 * missing from the result.
 *
 * The sound track goes through the audio path (audio_track.h) in the same pass. Its
 * failures fail the call (too long, no decoder, nothing decodable), except that an audio
 * stream without a single sample counts as no sound track. */
#include <stdlib.h>

#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "media/audio_track.h"
#include "media/image_prep.h"
#include "media/video.h"

#define VIDEO_DEFAULT_FPS 24.0
#define VIDEO_SCALE_FLAGS (SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT)

typedef struct frame_sampler {
    av_track track;
    video_frames *out; /* frames and seconds hold n_wanted entries, n_frames filled */
    size_t n_total;    /* frames in the stream */
    size_t n_wanted;   /* min(n_total, max_frames) */
    int budget;        /* soft tokens per frame: the first frame's size sets every frame's */
    size_t max_frames;
    size_t decoded; /* frames seen so far */
    double fps;
    struct SwsContext *scaler;
} frame_sampler;

static double stream_fps(const AVStream *stream)
{
    AVRational rates[] = {stream->avg_frame_rate, stream->r_frame_rate};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        if (rates[i].num > 0 && rates[i].den > 0)
            return av_q2d(rates[i]);
    return VIDEO_DEFAULT_FPS;
}

/* floor(i * n_total / max_frames) without overflow: i < max_frames <= INT_MAX. */
static size_t wanted_index(const frame_sampler *sampler, size_t i)
{
    if (sampler->n_total <= sampler->max_frames)
        return i;
    uint64_t whole = sampler->n_total / sampler->max_frames;
    uint64_t rest = sampler->n_total % sampler->max_frames;
    return (size_t)(i * whole + i * rest / sampler->max_frames);
}

/* The frame's own colour range when it states one; otherwise swscale's choice (full range
 * for the JPEG pixel formats and grey). BT.709 when the matrix is unstated and the frame is
 * HD, BT.601 below. */
static void set_colour_details(struct SwsContext *scaler, const AVFrame *frame)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(frame->format);
    int *inverse_table, *table, src_range, dst_range, brightness, contrast, saturation;
    if (!desc || (desc->flags & AV_PIX_FMT_FLAG_RGB) ||
        sws_getColorspaceDetails(scaler, &inverse_table, &src_range, &table, &dst_range,
                                 &brightness, &contrast, &saturation) < 0)
        return;
    if (frame->color_range != AVCOL_RANGE_UNSPECIFIED)
        src_range = frame->color_range == AVCOL_RANGE_JPEG;
    int space = frame->colorspace;
    if (space == AVCOL_SPC_UNSPECIFIED)
        space = frame->height >= 720 ? SWS_CS_ITU709 : SWS_CS_ITU601;
    sws_setColorspaceDetails(scaler, sws_getCoefficients(space), src_range, table, 1,
                             brightness, contrast, saturation);
}

static g4_status convert_frame(frame_sampler *sampler, const AVFrame *frame,
                               rgb_image *image, g4_err *err)
{
    int width = frame->width, height = frame->height;
    g4_status status = rgb_image_alloc(image, width, height, err);
    if (status != G4_OK)
        return g4_fail_context(err, "video: a %dx%d frame", width, height);
    sampler->scaler = sws_getCachedContext(sampler->scaler, width, height, frame->format,
                                           width, height, AV_PIX_FMT_RGB24, VIDEO_SCALE_FLAGS,
                                           NULL, NULL, NULL);
    if (sampler->scaler) {
        set_colour_details(sampler->scaler, frame);
        uint8_t *planes[4] = {image->pixels};
        int strides[4] = {3 * width};
        if (sws_scale(sampler->scaler, (const uint8_t *const *)frame->data, frame->linesize,
                      0, height, planes, strides) == height)
            return G4_OK;
    }
    rgb_image_free(image);
    const char *format = av_get_pix_fmt_name(frame->format);
    return g4_fail(err, G4_ERR_UNSUPPORTED, "video: cannot convert %s frames to RGB",
                   format ? format : "unknown");
}

static g4_status take_frame(void *state, const AVFrame *frame, bool *done, g4_err *err)
{
    frame_sampler *sampler = state;
    video_frames *out = sampler->out;
    size_t index = sampler->decoded++;
    if (index != wanted_index(sampler, out->n_frames))
        return G4_OK;
    rgb_image full = {0};
    rgb_image *kept = &out->frames[out->n_frames];
    g4_status status = convert_frame(sampler, frame, &full, err);
    if (status == G4_OK && out->n_frames == 0)
        status = image_prepare(&full, sampler->budget, kept, err);
    else if (status == G4_OK)
        status = image_resize(&full, out->frames[0].width, out->frames[0].height, kept, err);
    rgb_image_free(&full);
    if (status != G4_OK)
        return status;
    out->seconds[out->n_frames++] = (double)index / sampler->fps;
    *done = out->n_frames == sampler->n_wanted;
    return G4_OK;
}

/* The size the stream declares, checked before any decoding (each frame's own size is
 * checked again by rgb_image_alloc). */
static g4_status check_declared_size(const AVCodecParameters *par, g4_err *err)
{
    if ((int64_t)par->width * par->height > IMAGE_MAX_PIXELS || par->width > IMAGE_MAX_SIDE ||
        par->height > IMAGE_MAX_SIDE)
        return g4_fail(err, G4_ERR_UNSUPPORTED,
                       "video: frames are %dx%d; the limit is %d pixels a side and %lld in all",
                       par->width, par->height, IMAGE_MAX_SIDE, (long long)IMAGE_MAX_PIXELS);
    return G4_OK;
}

static g4_status sampler_open(frame_sampler *sampler, const av_input *in, int stream_index,
                              size_t n_total, const video_request *request, video_frames *out,
                              g4_err *err)
{
    *sampler = (frame_sampler){.out = out,
                               .n_total = n_total,
                               .max_frames = (size_t)request->max_frames,
                               .budget = request->frame_budget};
    g4_status status = check_declared_size(in->format->streams[stream_index]->codecpar, err);
    if (status != G4_OK)
        return status;
    sampler->n_wanted = n_total < sampler->max_frames ? n_total : sampler->max_frames;
    sampler->fps = stream_fps(in->format->streams[stream_index]);
    out->frames = calloc(sampler->n_wanted, sizeof *out->frames);
    out->seconds = calloc(sampler->n_wanted, sizeof *out->seconds);
    if (!out->frames || !out->seconds)
        return g4_fail(err, G4_ERR_NO_MEMORY, "video: out of memory");
    return av_track_open(&sampler->track, in, stream_index, 0, take_frame, sampler, err);
}

static void sampler_close(frame_sampler *sampler)
{
    av_track_close(&sampler->track);
    sws_freeContext(sampler->scaler);
    sampler->scaler = NULL;
}

static g4_status find_video_stream(const av_input *in, int *stream_index, g4_err *err)
{
    *stream_index = av_input_find_stream(in, AVMEDIA_TYPE_VIDEO);
    if (*stream_index < 0)
        return g4_fail(err, G4_ERR_FORMAT, "video: no video stream in the data (read as %s)",
                       in->format->iformat->name);
    return G4_OK;
}

/* First pass: N, the number of frames of the video stream. */
static g4_status count_frames(const uint8_t *data, size_t len, size_t *n_total, g4_err *err)
{
    av_input in;
    g4_status status = av_input_open(&in, data, len, "video", err);
    if (status != G4_OK)
        return status;
    int stream_index;
    status = find_video_stream(&in, &stream_index, err);
    if (status == G4_OK)
        status = av_input_count_packets(&in, stream_index, n_total, err);
    if (status == G4_OK && *n_total == 0)
        status = g4_fail(err, G4_ERR_FORMAT, "video: the video stream has no frames");
    av_input_close(&in);
    return status;
}

/* Second pass over an opened input: the sampled frames and the sound track. */
static g4_status decode_streams(av_input *in, size_t n_total, const video_request *request,
                                video_frames *out, g4_err *err)
{
    int video_index, audio_index = av_input_find_stream(in, AVMEDIA_TYPE_AUDIO);
    frame_sampler sampler = {0};
    audio_track audio = {0};
    g4_status status = find_video_stream(in, &video_index, err);
    if (status == G4_OK)
        status = sampler_open(&sampler, in, video_index, n_total, request, out, err);
    if (status == G4_OK && audio_index >= 0)
        status = audio_track_open(&audio, in, audio_index, request->max_audio_seconds,
                                  err);
    av_track *tracks[] = {&sampler.track, &audio.track};
    if (status == G4_OK)
        status = av_input_decode(in, tracks, audio_index >= 0 ? 2 : 1, err);
    if (status == G4_OK && out->n_frames == 0)
        status = g4_fail(err, G4_ERR_FORMAT, "video: no frame could be decoded");
    /* An audio stream without a single sample counts as no sound track. */
    if (status == G4_OK && audio.samples_in > 0)
        status = audio_track_finish(&audio, &out->audio, err);
    sampler_close(&sampler);
    audio_track_close(&audio);
    return status;
}

g4_status video_decode(const uint8_t *data, size_t len, const video_request *request,
                       video_frames *out, g4_err *err)
{
    if (!out || !request)
        return g4_fail(err, G4_ERR_INVALID_ARG, "video: no request or output");
    *out = (video_frames){0};
    if (request->max_frames <= 0)
        return g4_fail(err, G4_ERR_INVALID_ARG, "video: max_frames must be positive (got %d)",
                       request->max_frames);
    if (!image_budget_valid(request->frame_budget))
        return g4_fail(err, G4_ERR_INVALID_ARG, "video: frame budget %d is not 70, 140, 280, "
                       "560 or 1120", request->frame_budget);
    size_t n_total;
    g4_status status = count_frames(data, len, &n_total, err);
    av_input in;
    if (status == G4_OK)
        status = av_input_open(&in, data, len, "video", err);
    if (status != G4_OK)
        return status;
    status = decode_streams(&in, n_total, request, out, err);
    av_input_close(&in);
    if (status != G4_OK)
        video_frames_free(out);
    return status;
}

void video_frames_free(video_frames *video)
{
    if (!video)
        return;
    for (size_t i = 0; i < video->n_frames; i++)
        rgb_image_free(&video->frames[i]);
    free(video->frames);
    free(video->seconds);
    audio_clip_free(&video->audio);
    *video = (video_frames){0};
}
