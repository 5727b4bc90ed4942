#!/usr/bin/env bash
# Makes the image-decoder fixtures in this folder (tests/test_image_decode.c says what each
# one must decode to) and the seeds in fuzz/corpus/image. Needs python3 with PIL and the ffmpeg command. CI does not run this:
# the files it writes are committed.
set -euo pipefail
cd "$(dirname "$0")"

/usr/bin/python3 - <<'PY'
import struct, zlib
from PIL import Image

shapes = Image.open("../shapes.png").convert("RGB")
W, H = 64, 48  # the synthetic patterns


def pattern(x, y):
    """The synthetic RGB pattern; the test computes the same values."""
    return ((x * 4 + y) & 255, (x * 2 + y * 5) & 255, ((x ^ y) * 3) & 255)


def gray(x, y):
    return (x * 4 + y * 3) & 255


def save_plain(im, name):
    im.info.clear()
    im.save(name)


# PNG: every colour type the decoder must expand, all exact.
quant = shapes.quantize(colors=200, dither=Image.Dither.NONE)
save_plain(quant.convert("RGB"), "shapes_quant.png")           # truth for the palette files
quant.save("shapes_pal.png", transparency=0)                     # palette + tRNS
rgba = shapes.copy()
rgba.putalpha(Image.frombytes("L", shapes.size, bytes((x + y) & 255 for y in range(300) for x in range(400))))
save_plain(rgba, "shapes_rgba.png")
g8 = Image.new("L", (W, H))
g8.putdata([gray(x, y) for y in range(H) for x in range(W)])
g8.save("gray8.png")
g1 = Image.new("1", (W, H))
g1.putdata([255 * (((x >> 2) + (y >> 2)) & 1) for y in range(H) for x in range(W)])
g1.save("gray1.png")
g16 = Image.new("I;16", (W, H))
g16.putdata([gray(x, y) * 256 + 255 - gray(x, y) for y in range(H) for x in range(W)])
g16.save("gray16.png")


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def write_png(name, w, h, bit_depth, colour_type, scanlines, interlace=0):
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, colour_type, 0, 0, interlace)
    with open(name, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                png_chunk(b"IDAT", zlib.compress(scanlines, 9)) + png_chunk(b"IEND", b""))


def write_adam7_png(im, name):
    """8-bit RGB, Adam7-interlaced (PIL cannot write interlaced PNGs)."""
    w, h = im.size
    px = im.tobytes()
    raw = b""
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
                           (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        for y in range(y0, h, dy):
            row = b"".join(px[(y * w + x) * 3:(y * w + x) * 3 + 3] for x in range(x0, w, dx))
            if row:
                raw += b"\0" + row
    write_png(name, w, h, 8, 2, raw, interlace=1)


def write_rgb16_png(im, name):
    """16-bit RGB whose high bytes are im's samples (and low bytes their complement)."""
    w, h = im.size
    px = im.tobytes()
    raw = b"".join(b"\0" + b"".join(bytes([v, 255 - v]) for v in px[y * w * 3:(y + 1) * w * 3])
                   for y in range(h))
    write_png(name, w, h, 16, 2, raw)


write_adam7_png(shapes, "shapes_interlaced.png")
write_rgb16_png(shapes, "shapes_16.png")

# JPEG: same encoder settings, so shapes_exif6.jpg has the same DCT data as shapes.jpg.
shapes.save("shapes.jpg", quality=90)
exif = Image.Exif()
exif[0x0112] = 6
shapes.save("shapes_exif6.jpg", quality=90, exif=exif.tobytes())
shapes.save("shapes_progressive.jpg", quality=90, progressive=True)
shapes.convert("L").save("shapes_gray.jpg", quality=90)
shapes.convert("CMYK").save("shapes_cmyk.jpg", quality=95)
# How PIL (libjpeg-turbo with its default settings) decodes them: the decoder must match.
save_plain(Image.open("shapes.jpg").convert("RGB"), "shapes_jpg_pil.png")
save_plain(Image.open("shapes_cmyk.jpg").convert("RGB"), "shapes_cmyk_pil.png")

# WebP.
shapes.save("shapes.webp", lossless=True)
shapes.save("shapes_lossy.webp", quality=80)
rgba.save("shapes_alpha.webp", lossless=True, exact=True)
frames = [Image.new("RGB", (W, H), c) for c in ((255, 0, 0), (0, 0, 255))]
frames[0].save("anim.webp", save_all=True, append_images=frames[1:], duration=100, lossless=True)

# GIF: the quantized image (exact), and a two-frame animation whose first frame is checked.
quant.save("shapes.gif")
palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]
anim = []
for frame in range(2):
    im = Image.new("P", (W, H))
    im.putpalette(palette)
    im.putdata([((x >> 3) + (y >> 3) + frame) % 4 for y in range(H) for x in range(W)])
    anim.append(im)
anim[0].save("anim.gif", save_all=True, append_images=anim[1:], duration=100, loop=0,
             optimize=False)


def lzw_uncompressed(indices, min_code_size):
    """GIF LZW data without compression: a clear code before every pair of indices keeps
    the code width at min_code_size + 1."""
    clear, end, width = 1 << min_code_size, (1 << min_code_size) + 1, min_code_size + 1
    codes = []
    for i in range(0, len(indices), 2):
        codes += [clear] + indices[i:i + 2]
    codes.append(end)
    bits = sum(c << (i * width) for i, c in enumerate(codes))
    data = bits.to_bytes((len(codes) * width + 7) // 8, "little")
    blocks = b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, len(data), 255))
    return bytes([min_code_size]) + blocks + b"\0"


# partial.gif: a 16x12 screen (background index 2 of the global map) with one interlaced
# 8x6 frame at (5, 3) that has its own colour map and value (x + y) % 4 at (x, y).
global_map = bytes([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120])
local_map = bytes([200, 0, 0, 0, 200, 0, 0, 0, 200, 250, 250, 250])
rows = [0, 4, 2, 1, 3, 5]  # the interlaced order of a 6-row frame
indices = [(x + y) % 4 for y in rows for x in range(8)]
with open("partial.gif", "wb") as f:
    f.write(b"GIF89a" + struct.pack("<HHBBB", 16, 12, 0x81, 2, 0) + global_map)
    f.write(b"," + struct.pack("<HHHHB", 5, 3, 8, 6, 0x80 | 0x40 | 0x01) + local_map)
    f.write(lzw_uncompressed(indices, 2) + b";")

# BMP: crops keep them small.
crop = shapes.crop((120, 70, 248, 166))
save_plain(crop, "shapes_crop.png")
crop.save("shapes_crop.bmp")
qcrop = quant.crop((120, 70, 248, 166))
save_plain(qcrop.convert("RGB"), "shapes_quant_crop.png")
qcrop.save("shapes_pal8.bmp")
# pattern_topdown.bmp: 24-bit, rows stored top row first (negative height).
pixels = b"".join(bytes(pattern(x, y)[::-1]) for y in range(H) for x in range(W))
with open("pattern_topdown.bmp", "wb") as f:
    f.write(b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) +
            struct.pack("<IiiHHIIiiII", 40, W, -H, 1, 24, 0, len(pixels), 2835, 2835, 0, 0) + pixels)

# rle8.bmp: 16x12, 8-bit run-length encoded, bottom-up; the pixel at (x, y) (top row 0) has
# palette index (x // 4 + y) % 4.
rle_palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
rle = b""
for y in reversed(range(12)):
    rle += b"".join(bytes([4, (x // 4 + y) % 4]) for x in range(0, 16, 4)) + b"\0\0"
rle += b"\0\1"
colour_table = b"".join(bytes([b, g, r, 0]) for r, g, b in rle_palette)
with open("rle8.bmp", "wb") as f:
    offset = 54 + len(colour_table)
    f.write(b"BM" + struct.pack("<IHHI", offset + len(rle), 0, 0, offset) +
            struct.pack("<IiiHHIIiiII", 40, 16, 12, 1, 8, 1, len(rle), 2835, 2835, 4, 4) +
            colour_table + rle)

# Fuzzing seeds: tiny files of every kind the decoders take (each under 4 KB).
seeds = "../../../../fuzz/corpus/image"
small = shapes.resize((40, 30))
small.save(f"{seeds}/rgb.png")
small.quantize(colors=16).save(f"{seeds}/palette.png", transparency=3)
write_adam7_png(small, f"{seeds}/interlaced.png")
write_rgb16_png(small, f"{seeds}/rgb16.png")
g1.save(f"{seeds}/gray1.png")
small.save(f"{seeds}/baseline.jpg", quality=50, exif=exif.tobytes())
small.save(f"{seeds}/progressive.jpg", quality=50, progressive=True)
small.convert("L").save(f"{seeds}/gray.jpg", quality=50)
small.convert("CMYK").save(f"{seeds}/cmyk.jpg", quality=50)
small.save(f"{seeds}/lossless.webp", lossless=True)
small.save(f"{seeds}/lossy.webp", quality=50)
rgba.resize((40, 30)).save(f"{seeds}/alpha.webp", quality=50)
small.quantize(colors=16).save(f"{seeds}/interlaced.gif", interlace=True)
small.save(f"{seeds}/rgb24.bmp")
small.quantize(colors=16).save(f"{seeds}/palette.bmp")
for name in ("partial.gif", "rle8.bmp", "anim.gif", "anim.webp"):
    with open(name, "rb") as src, open(f"{seeds}/{name}", "wb") as dst:
        dst.write(src.read())
PY

ffmpeg -loglevel error -y -i shapes_crop.png -pix_fmt bgra shapes_crop32.bmp
