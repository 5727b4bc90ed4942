/* GIF through giflib's low-level reader, from memory: the first frame is drawn on the
 * logical screen, which is first filled with the background colour. Only one row of the
 * frame is held at a time, so a frame larger than the screen costs no memory. */
#include <gif_lib.h>
#include <stdlib.h>
#include <string.h>

#include "media/image_formats.h"

typedef struct gif_source {
    const uint8_t *data;
    size_t len;
    size_t pos;
} gif_source;

static int read_from_memory(GifFileType *gif, GifByteType *dst, int n)
{
    gif_source *source = gif->UserData;
    size_t count = source->len - source->pos;
    if (n >= 0 && (size_t)n < count)
        count = (size_t)n;
    memcpy(dst, source->data + source->pos, count);
    source->pos += count;
    return (int)count;
}

static g4_status gif_failure(int code, g4_err *err)
{
    if (code == D_GIF_ERR_NOT_ENOUGH_MEM)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    if (code == D_GIF_ERR_READ_FAILED)
        return g4_fail(err, G4_ERR_FORMAT, "truncated data");
    const char *problem = GifErrorString(code);
    return g4_fail(err, G4_ERR_FORMAT, "%s", problem ? problem : "cannot decode");
}

static int skip_extension(GifFileType *gif)
{
    int code;
    GifByteType *block;
    if (DGifGetExtension(gif, &code, &block) == GIF_ERROR)
        return GIF_ERROR;
    while (block)
        if (DGifGetExtensionNext(gif, &block) == GIF_ERROR)
            return GIF_ERROR;
    return GIF_OK;
}

/* Reads records up to and including the first image descriptor (into gif->Image). */
static g4_status read_first_frame_header(GifFileType *gif, g4_err *err)
{
    for (;;) {
        GifRecordType type;
        if (DGifGetRecordType(gif, &type) == GIF_ERROR)
            return gif_failure(gif->Error, err);
        if (type == TERMINATE_RECORD_TYPE)
            return g4_fail(err, G4_ERR_FORMAT, "the file has no image");
        if (type == IMAGE_DESC_RECORD_TYPE)
            return DGifGetImageDesc(gif) == GIF_OK ? G4_OK : gif_failure(gif->Error, err);
        if (type == EXTENSION_RECORD_TYPE && skip_extension(gif) == GIF_ERROR)
            return gif_failure(gif->Error, err);
    }
}

/* Colour index in a map; black for an index past its end. */
static GifColorType map_colour(const ColorMapObject *map, int index)
{
    return map && index < map->ColorCount ? map->Colors[index] : (GifColorType){0, 0, 0};
}

static void fill_background(const GifFileType *gif, rgb_image *out)
{
    GifColorType colour = map_colour(gif->SColorMap, gif->SBackGroundColor);
    uint8_t *p = out->pixels;
    for (size_t i = 0; i < (size_t)out->width * out->height; i++, p += 3) {
        p[0] = colour.Red;
        p[1] = colour.Green;
        p[2] = colour.Blue;
    }
}

/* The frame row that the i-th stored row of an interlaced frame of this height is. */
static int interlaced_row(int i, int height)
{
    static const int first[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    for (int pass = 0; pass < 4; pass++) {
        int rows = height > first[pass] ? (height - first[pass] - 1) / step[pass] + 1 : 0;
        if (i < rows)
            return first[pass] + i * step[pass];
        i -= rows;
    }
    return height; /* not reached for i < height */
}

/* Paints one frame row at screen row y, clipped to the screen. */
static void paint_row(rgb_image *out, const GifImageDesc *frame, int y,
                      const GifPixelType *row, const ColorMapObject *map)
{
    if (y >= out->height || frame->Left >= out->width)
        return;
    int width = frame->Width < out->width - frame->Left ? frame->Width : out->width - frame->Left;
    uint8_t *p = out->pixels + ((size_t)y * out->width + frame->Left) * 3;
    for (int x = 0; x < width; x++, p += 3) {
        GifColorType colour = map_colour(map, row[x]);
        p[0] = colour.Red;
        p[1] = colour.Green;
        p[2] = colour.Blue;
    }
}

static g4_status draw_frame(GifFileType *gif, rgb_image *out, g4_err *err)
{
    const GifImageDesc *frame = &gif->Image;
    const ColorMapObject *map = frame->ColorMap ? frame->ColorMap : gif->SColorMap;
    if (!map)
        return g4_fail(err, G4_ERR_FORMAT, "the first frame has no colour map");
    GifPixelType *row = malloc((size_t)frame->Width + 1);
    if (!row)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    g4_status status = G4_OK;
    for (int i = 0; i < frame->Height && status == G4_OK; i++) {
        int y = frame->Interlace ? interlaced_row(i, frame->Height) : i;
        if (DGifGetLine(gif, row, frame->Width) == GIF_ERROR)
            status = gif_failure(gif->Error, err);
        else
            paint_row(out, frame, frame->Top + y, row, map);
    }
    free(row);
    return status;
}

static g4_status decode_first_frame(GifFileType *gif, rgb_image *out, g4_err *err)
{
    g4_status status = image_check_size(gif->SWidth, gif->SHeight, err);
    if (status == G4_OK)
        status = read_first_frame_header(gif, err);
    if (status == G4_OK)
        status = rgb_image_alloc(out, gif->SWidth, gif->SHeight, err);
    if (status != G4_OK)
        return status;
    fill_background(gif, out);
    return draw_frame(gif, out, err);
}

g4_status image_decode_gif(const uint8_t *data, size_t len, rgb_image *out, g4_err *err)
{
    gif_source source = {.data = data, .len = len};
    int code = 0;
    GifFileType *gif = DGifOpen(&source, read_from_memory, &code);
    if (!gif)
        return gif_failure(code, err);
    g4_status status = decode_first_frame(gif, out, err);
    DGifCloseFile(gif, &code);
    return status;
}
