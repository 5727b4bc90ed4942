#!/usr/bin/env bash
# Makes the audio and video fixtures of tests/test_audio_decode.c and
# tests/test_video_decode.c, and the audio seeds of fuzz/corpus/audio, from
# tests/data/media/fox16k.wav (3.44 s of speech, 16 kHz mono s16, 55015 samples) with
# Debian's ffmpeg. CI does not run this; the outputs are committed.
#   tests/data/media/formats/make_av.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fox=$here/../fox16k.wav
seeds=$here/../../../../fuzz/corpus/audio
mkdir -p "$seeds"

ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
# Drops the 8 KB PADDING block that ffmpeg's FLAC muxer writes.
strip_flac_padding() {
  python3 - "$1" <<'PY'
import sys
path = sys.argv[1]
data = open(path, "rb").read()
pos, blocks = 4, []
while True:
    last, kind = data[pos] & 0x80, data[pos] & 0x7F
    size = int.from_bytes(data[pos + 1:pos + 4], "big")
    if kind != 1:
        blocks.append(bytearray(data[pos:pos + 4 + size]))
    pos += 4 + size
    if last:
        break
for block in blocks:
    block[0] &= 0x7F
blocks[-1][0] |= 0x80
open(path, "wb").write(data[:4] + b"".join(blocks) + data[pos:])
PY
}
plain=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact -flags:v +bitexact)

# Lossless WAV: u8 keeps the whole clip; the wider formats keep 0.75 s (samples
# 16000 .. 27999 of the source) so that each file stays under 100 KB.
excerpt=atrim=start_sample=16000:end_sample=28000,asetpts=PTS-STARTPTS
ff -i "$fox" "${plain[@]}" -c:a pcm_u8 "$here/fox_u8.wav"
ff -i "$fox" "${plain[@]}" -af "$excerpt" -c:a pcm_s24le "$here/fox_s24.wav"
ff -i "$fox" "${plain[@]}" -af "$excerpt" -c:a pcm_s32le "$here/fox_s32.wav"
ff -i "$fox" "${plain[@]}" -af "$excerpt" -c:a pcm_f32le "$here/fox_f32.wav"
ff -i "$fox" "${plain[@]}" -af "$excerpt" -c:a pcm_f64le "$here/fox_f64.wav"

# Stereo: left = fox, right = fox at half volume, so the channel mean is 0.75 * fox.
# At 16 kHz (the same 0.75 s excerpt) as s16 and as AAC (whose decoder gives planar
# float), and at 44.1 kHz (0.5 s: samples 16000 .. 23999 of the source, upsampled by soxr
# before the cut).
halves="asplit[l][r];[r]volume=0.5[h];[l][h]join=inputs=2:channel_layout=stereo"
ff -i "$fox" "${plain[@]}" -filter_complex "[0:a]$excerpt,$halves" -c:a pcm_s16le \
  "$here/fox_stereo.wav"
ff -i "$fox" "${plain[@]}" -filter_complex "[0:a]$excerpt,$halves" -c:a aac -b:a 64k \
  "$here/fox_stereo.m4a"
ff -i "$fox" "${plain[@]}" \
  -filter_complex "[0:a]aresample=44100:resampler=soxr:precision=28,atrim=start_sample=44100:end_sample=66150,$halves" \
  -c:a pcm_s16le "$here/fox44k_stereo.wav"

# Compressed, the whole clip at 16 kHz mono.
ff -i "$fox" "${plain[@]}" -c:a flac "$here/fox.flac"
strip_flac_padding "$here/fox.flac"
ff -i "$fox" "${plain[@]}" -c:a libvorbis -q:a 4 "$here/fox.ogg"
ff -i "$fox" "${plain[@]}" -c:a libmp3lame -b:a 32k "$here/fox.mp3"
ff -i "$fox" "${plain[@]}" -c:a aac -b:a 48k "$here/fox.m4a"

# Video frame n is one solid colour: R = 5 + 10 n, G = 235 - 10 n, B = 128, so a test can
# tell which frames were kept. Near-lossless coding leaves little more than the RGB <-> YUV
# rounding.
colours() { # width height fps seconds [conversion from RGB]
  local rgb="color=c=black:s=$1x$2:r=$3:d=$4,format=gbrp,geq=r='5+10*N':g='235-10*N':b=128"
  echo "$rgb,${5:-format=yuv420p}"
}
# clip.mp4: 96x64, 12 fps, 2 s = 24 frames of H.264 (with B-frames, so the decoder
# reorders), and the fox as AAC.
ff -f lavfi -i "$(colours 96 64 12 2)" -i "$fox" "${plain[@]}" \
  -c:v libx264 -qp 4 -g 12 -x264-params bframes=2:b-adapt=0:scenecut=0 \
  -c:a aac -b:a 48k "$here/clip.mp4"
# clip_silent.webm: 50x30, 10 fps, 1.5 s = 15 frames of VP9, no audio. WebM stores no
# frame count, so the decoder has to count.
ff -f lavfi -i "$(colours 50 30 10 1.5)" "${plain[@]}" \
  -c:v libvpx-vp9 -lossless 1 "$here/clip_silent.webm"
# clip_mjpeg.avi: 32x24, 10 fps, 1 s = 10 frames of Motion JPEG, full-range YUV (the
# conversion must not treat it as limited range).
ff -f lavfi -i "$(colours 32 24 10 1 format=yuvj420p)" "${plain[@]}" \
  -c:v mjpeg -q:v 2 "$here/clip_mjpeg.avi"
# clip_hd.mp4: 1280x720, 10 fps, 3 frames of H.264 in BT.709, tagged as such.
ff -f lavfi -i "$(colours 1280 720 10 0.3 scale=out_color_matrix=bt709,format=yuv420p)" \
  "${plain[@]}" -colorspace bt709 -color_primaries bt709 -color_trc bt709 \
  -c:v libx264 -qp 4 "$here/clip_hd.mp4"

# Fuzzing seeds (< 4 KB each): 0.1 s of audio in each container, and a 3-frame video.
short=(-af atrim=start_sample=16000:end_sample=17600)
ff -i "$fox" "${plain[@]}" "${short[@]}" -c:a pcm_s16le "$seeds/short.wav"
ff -i "$fox" "${plain[@]}" "${short[@]}" -c:a flac "$seeds/short.flac"
strip_flac_padding "$seeds/short.flac"
ff -i "$fox" "${plain[@]}" "${short[@]}" -c:a libmp3lame -b:a 16k "$seeds/short.mp3"
ff -i "$fox" "${plain[@]}" "${short[@]}" -c:a aac -b:a 24k "$seeds/short.m4a"
ff -i "$fox" "${plain[@]}" "${short[@]}" -ar 8000 -c:a libvorbis -q:a 0 "$seeds/short.ogg"
ff -f lavfi -i "$(colours 16 16 10 0.3)" "${plain[@]}" -c:v libx264 -qp 0 \
  "$seeds/tiny.mp4"
ff -f lavfi -i "$(colours 16 16 10 0.3)" "${plain[@]}" -c:v libvpx-vp9 -lossless 1 \
  "$seeds/tiny.webm"
ls -l "$here"/fox* "$here"/clip* "$seeds"
