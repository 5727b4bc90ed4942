/* FFmpeg over a memory buffer: a custom AVIOContext whose read and seek callbacks walk
 * the caller's bytes, and the decode loop shared by audio_decode.c and video_decode.c. */
#include "media/av_input.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>

#include "media/image.h"

enum {
    AV_IO_BUFFER_SIZE = 32768,
    /* No legitimate audio frame comes near this many samples; it bounds what one corrupt
     * packet can make a decoder allocate. */
    AV_MAX_FRAME_SAMPLES = 1 << 20,
};

struct av_memory {
    const uint8_t *data;
    size_t len;
    size_t pos;
};

static int memory_read(void *opaque, uint8_t *buf, int buf_size)
{
    av_memory *memory = opaque;
    size_t n = memory->len - memory->pos;
    if (buf_size >= 0 && n > (size_t)buf_size)
        n = (size_t)buf_size;
    if (n == 0 || buf_size < 0)
        return AVERROR_EOF;
    memcpy(buf, memory->data + memory->pos, n);
    memory->pos += n;
    return (int)n;
}

static int64_t memory_seek(void *opaque, int64_t offset, int whence)
{
    av_memory *memory = opaque;
    int64_t len = (int64_t)memory->len, base;
    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
        return len;
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = (int64_t)memory->pos;
        break;
    case SEEK_END:
        base = len;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if (offset < -base || offset > len - base)
        return AVERROR(EINVAL);
    memory->pos = (size_t)(base + offset);
    return base + offset;
}

/* Playlists and references (HLS, concat, DASH, ...) would reach files and the network
 * through this callback: nothing but the given bytes may be read. */
static int refuse_nested_open(AVFormatContext *format, AVIOContext **io, const char *url,
                              int flags, AVDictionary **options)
{
    *io = NULL;
    return AVERROR(EPERM);
}

g4_status av_input_fail(const av_input *in, g4_status code, int averror, const char *context,
                        g4_err *err)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averror, reason, sizeof reason);
    if (averror == AVERROR(ENOMEM))
        code = G4_ERR_NO_MEMORY;
    return g4_fail(err, code, "%s: %s (%s)", in->what, context, reason);
}

static g4_status open_memory_io(av_input *in, const uint8_t *data, size_t len, g4_err *err)
{
    in->memory = malloc(sizeof *in->memory);
    uint8_t *buffer = av_malloc(AV_IO_BUFFER_SIZE);
    if (in->memory && buffer) {
        *in->memory = (av_memory){.data = data, .len = len};
        in->io = avio_alloc_context(buffer, AV_IO_BUFFER_SIZE, 0, in->memory, memory_read,
                                    NULL, memory_seek);
    }
    if (!in->io) {
        av_free(buffer);
        return g4_fail(err, G4_ERR_NO_MEMORY, "%s: out of memory", in->what);
    }
    return G4_OK;
}

/* avformat_find_stream_info decodes the start of each stream with decoders of its own:
 * they get the limits ours have. */
static int find_stream_info(AVFormatContext *format)
{
    unsigned n = format->nb_streams;
    AVDictionary **options = av_calloc(n ? n : 1, sizeof *options);
    if (!options)
        return AVERROR(ENOMEM);
    for (unsigned i = 0; i < n; i++) {
        av_dict_set_int(&options[i], "max_pixels", IMAGE_MAX_PIXELS, 0);
        av_dict_set_int(&options[i], "max_samples", AV_MAX_FRAME_SAMPLES, 0);
    }
    int rc = avformat_find_stream_info(format, options);
    for (unsigned i = 0; i < n; i++)
        av_dict_free(&options[i]);
    av_free(options);
    return rc;
}

static g4_status open_format(av_input *in, g4_err *err)
{
    AVFormatContext *format = avformat_alloc_context();
    if (!format)
        return g4_fail(err, G4_ERR_NO_MEMORY, "%s: out of memory", in->what);
    format->pb = in->io;
    format->io_open = refuse_nested_open;
    int rc = avformat_open_input(&format, NULL, NULL, NULL); /* frees format on failure */
    if (rc < 0)
        return av_input_fail(in, G4_ERR_FORMAT, rc, "unsupported or corrupt data", err);
    in->format = format;
    rc = find_stream_info(format);
    if (rc < 0)
        return av_input_fail(in, G4_ERR_FORMAT, rc, "cannot read the streams", err);
    return G4_OK;
}

g4_status av_input_open(av_input *in, const uint8_t *data, size_t len, const char *what,
                        g4_err *err)
{
    *in = (av_input){.what = what};
    if (len == 0)
        return g4_fail(err, G4_ERR_FORMAT, "%s: the data is empty", what);
    if (!data || len > INT64_MAX)
        return g4_fail(err, G4_ERR_INVALID_ARG, "%s: invalid data buffer", what);
    av_log_set_level(AV_LOG_QUIET);
    g4_status status = open_memory_io(in, data, len, err);
    if (status == G4_OK)
        status = open_format(in, err);
    if (status != G4_OK)
        av_input_close(in);
    return status;
}

void av_input_close(av_input *in)
{
    avformat_close_input(&in->format); /* leaves the custom AVIOContext to us */
    if (in->io)
        av_freep(&in->io->buffer);
    avio_context_free(&in->io);
    free(in->memory);
    in->memory = NULL;
}

int av_input_find_stream(const av_input *in, enum AVMediaType type)
{
    for (unsigned i = 0; i < in->format->nb_streams; i++) {
        const AVStream *stream = in->format->streams[i];
        if (stream->codecpar->codec_type == type &&
            !(stream->disposition & AV_DISPOSITION_ATTACHED_PIC))
            return (int)i;
    }
    return -1;
}

g4_status av_track_open(av_track *track, const av_input *in, int stream_index, int threads,
                        av_frame_sink sink, void *state, g4_err *err)
{
    *track = (av_track){.stream_index = stream_index, .sink = sink, .state = state};
    const AVStream *stream = in->format->streams[stream_index];
    enum AVCodecID codec_id = stream->codecpar->codec_id;
    if (codec_id == AV_CODEC_ID_NONE)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "%s: the codec of the stream is unknown",
                       in->what);
    const AVCodec *codec = avcodec_find_decoder(codec_id);
    if (!codec)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "%s: no decoder for the codec %s", in->what,
                       avcodec_get_name(codec_id));
    track->decoder = avcodec_alloc_context3(codec);
    if (!track->decoder)
        return g4_fail(err, G4_ERR_NO_MEMORY, "%s: out of memory", in->what);
    int rc = avcodec_parameters_to_context(track->decoder, stream->codecpar);
    track->decoder->pkt_timebase = stream->time_base;
    track->decoder->thread_count = threads;
    track->decoder->max_pixels = IMAGE_MAX_PIXELS;
    track->decoder->max_samples = AV_MAX_FRAME_SAMPLES;
    if (rc >= 0)
        rc = avcodec_open2(track->decoder, codec, NULL);
    if (rc < 0) {
        char context[96];
        snprintf(context, sizeof context, "cannot open the %s decoder", codec->name);
        av_track_close(track);
        return av_input_fail(in, G4_ERR_UNSUPPORTED, rc, context, err);
    }
    return G4_OK;
}

void av_track_close(av_track *track)
{
    avcodec_free_context(&track->decoder);
}

static void remember_error(av_track *track, int averror)
{
    if (!track->decode_error)
        track->decode_error = averror;
}

/* Hands every frame the decoder has ready to the sink. A decoding error is remembered
 * and ends this round; the next packet may decode again. */
static g4_status drain(const av_input *in, av_track *track, AVFrame *frame, g4_err *err)
{
    while (!track->done) {
        int rc = avcodec_receive_frame(track->decoder, frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return G4_OK;
        if (rc == AVERROR(ENOMEM))
            return av_input_fail(in, G4_ERR_NO_MEMORY, rc, "decoding", err);
        if (rc < 0) {
            remember_error(track, rc);
            return G4_OK;
        }
        track->frames++;
        g4_status status = track->sink(track->state, frame, &track->done, err);
        av_frame_unref(frame);
        if (status != G4_OK)
            return status;
    }
    return G4_OK;
}

/* Sends a packet (NULL: the end of the stream) and drains what it decodes to. */
static g4_status feed(const av_input *in, av_track *track, const AVPacket *packet,
                      AVFrame *frame, g4_err *err)
{
    int rc = avcodec_send_packet(track->decoder, packet);
    if (rc == AVERROR(EAGAIN)) { /* the decoder is full: empty it, then send again */
        g4_status status = drain(in, track, frame, err);
        if (status != G4_OK || track->done)
            return status;
        rc = avcodec_send_packet(track->decoder, packet);
    }
    if (rc == AVERROR(ENOMEM))
        return av_input_fail(in, G4_ERR_NO_MEMORY, rc, "decoding", err);
    if (rc < 0 && rc != AVERROR_EOF)
        remember_error(track, rc);
    return drain(in, track, frame, err);
}

static av_track *track_of_packet(av_track *const *tracks, size_t n_tracks,
                                 const AVPacket *packet)
{
    for (size_t i = 0; i < n_tracks; i++)
        if (tracks[i]->stream_index == packet->stream_index && !tracks[i]->done)
            return tracks[i];
    return NULL;
}

static bool all_done(av_track *const *tracks, size_t n_tracks)
{
    for (size_t i = 0; i < n_tracks; i++)
        if (!tracks[i]->done)
            return false;
    return true;
}

/* Reads packets to the end of the input (a read error ends it too: the data may simply
 * be truncated), then flushes the decoders. */
static g4_status decode_packets(av_input *in, av_track *const *tracks, size_t n_tracks,
                                AVPacket *packet, AVFrame *frame, g4_err *err)
{
    g4_status status = G4_OK;
    int rc = 0;
    while (status == G4_OK && !all_done(tracks, n_tracks) &&
           (rc = av_read_frame(in->format, packet)) >= 0) {
        av_track *track = track_of_packet(tracks, n_tracks, packet);
        if (track)
            status = feed(in, track, packet, frame, err);
        av_packet_unref(packet);
    }
    if (status == G4_OK && rc == AVERROR(ENOMEM))
        return av_input_fail(in, G4_ERR_NO_MEMORY, rc, "reading", err);
    for (size_t i = 0; status == G4_OK && i < n_tracks; i++)
        if (!tracks[i]->done)
            status = feed(in, tracks[i], NULL, frame, err);
    return status;
}

g4_status av_input_decode(av_input *in, av_track *tracks[], size_t n_tracks, g4_err *err)
{
    AVPacket *packet = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    g4_status status = G4_OK;
    if (!packet || !frame)
        status = g4_fail(err, G4_ERR_NO_MEMORY, "%s: out of memory", in->what);
    if (status == G4_OK)
        status = decode_packets(in, tracks, n_tracks, packet, frame, err);
    for (size_t i = 0; status == G4_OK && i < n_tracks; i++) {
        const av_track *track = tracks[i];
        if (track->frames == 0 && track->decode_error) {
            char context[96];
            snprintf(context, sizeof context, "cannot decode the %s stream",
                     track->decoder->codec->name);
            status = av_input_fail(in, G4_ERR_FORMAT, track->decode_error, context, err);
        }
    }
    av_packet_free(&packet);
    av_frame_free(&frame);
    return status;
}

g4_status av_input_count_packets(av_input *in, int stream_index, size_t *count, g4_err *err)
{
    *count = 0;
    AVPacket *packet = av_packet_alloc();
    if (!packet)
        return g4_fail(err, G4_ERR_NO_MEMORY, "%s: out of memory", in->what);
    int rc;
    while ((rc = av_read_frame(in->format, packet)) >= 0) {
        /* Packets flagged for discarding (before an MP4 edit list's start) are decoded
         * but never shown. */
        if (packet->stream_index == stream_index && packet->size > 0 &&
            !(packet->flags & AV_PKT_FLAG_DISCARD))
            (*count)++;
        av_packet_unref(packet);
    }
    av_packet_free(&packet);
    if (rc == AVERROR(ENOMEM))
        return av_input_fail(in, G4_ERR_NO_MEMORY, rc, "reading", err);
    return G4_OK;
}
