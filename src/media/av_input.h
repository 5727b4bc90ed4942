/* FFmpeg plumbing shared by the audio and video decoders: a media file read from memory
 * (its format recognised by content), decoders for its streams, and the packet loop that
 * hands each decoded frame to a per-stream consumer. */
#ifndef G4_MEDIA_AV_INPUT_H
#define G4_MEDIA_AV_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "core/error.h"

typedef struct av_memory av_memory;

typedef struct av_input {
    AVFormatContext *format; /* streams probed: avformat_find_stream_info has run */
    AVIOContext *io;
    av_memory *memory;
    const char *what; /* "audio" or "video": the first word of every error message */
} av_input;

/* Opens data[0 .. len) (which must outlive the input) as a media file. The data may not
 * refer to other files or URLs: every attempt to open one fails. */
g4_status av_input_open(av_input *in, const uint8_t *data, size_t len, const char *what,
                        g4_err *err);
void av_input_close(av_input *in);

/* Index of the first stream of the given type (attached pictures such as cover art are
 * not video), or -1. */
int av_input_find_stream(const av_input *in, enum AVMediaType type);

/* A consumer of decoded frames. It may set *done to stop receiving frames. */
typedef g4_status (*av_frame_sink)(void *state, const AVFrame *frame, bool *done,
                                   g4_err *err);

typedef struct av_track {
    int stream_index;
    AVCodecContext *decoder;
    av_frame_sink sink;
    void *state;
    bool done;
    size_t frames;     /* frames handed to the sink */
    int decode_error;  /* the first error a packet gave the decoder (0: none) */
} av_track;

/* Opens the decoder of a stream (threads: 0 = as many as FFmpeg finds useful). */
g4_status av_track_open(av_track *track, const av_input *in, int stream_index, int threads,
                        av_frame_sink sink, void *state, g4_err *err);
void av_track_close(av_track *track);

/* Reads the input to its end, decoding the packets of each track until it is done. A
 * packet the decoder rejects is skipped (damaged files keep what can be decoded); a track
 * that yields no frame at all after such an error fails with that error. */
g4_status av_input_decode(av_input *in, av_track *tracks[], size_t n_tracks, g4_err *err);

/* Counts the packets of a stream (reading the input to its end). */
g4_status av_input_count_packets(av_input *in, int stream_index, size_t *count, g4_err *err);

/* Fails with "<what>: <context>: <FFmpeg's description of averror>"; ENOMEM becomes
 * G4_ERR_NO_MEMORY, anything else the given code. */
g4_status av_input_fail(const av_input *in, g4_status code, int averror, const char *context,
                        g4_err *err);

#endif
