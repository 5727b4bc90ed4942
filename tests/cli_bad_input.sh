#!/usr/bin/env bash
# Bad input to the g4 command: each case must fail with a clear message and a non-zero
# exit status, never a crash (a signal gives a status of 128 or more).
# Usage: cli_bad_input.sh G4_BINARY TEST_DATA_DIR
set -u
g4=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect_failure NAME PATTERN COMMAND...: the command fails cleanly and stderr matches PATTERN.
expect_failure() {
  local name=$1 pattern=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local status=$?
  if [ "$status" -ne 0 ] && [ "$status" -lt 128 ] && grep -qE -- "$pattern" "$tmp/err"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name (exit $status)"; cat "$tmp/err"
  fi
}

model=$data/tiny-gemma4u-q4_0.gguf
head -c 100000 "$model" >"$tmp/truncated.gguf"
head -c 20 "$model" >"$tmp/header-only.gguf"
printf 'PK\003\004 this is a zip file, not a model' >"$tmp/zip.gguf"
: >"$tmp/empty.gguf"
printf '{"messages": [' >"$tmp/broken.json"
printf '{"messages": [{"role": "robot", "content": "hi"}]}' >"$tmp/robot.json"
printf '[1, 2, 3]' >"$tmp/array.json"

expect_failure "truncated file" "truncated|past the end|outside the file" "$g4" info -m "$tmp/truncated.gguf"
expect_failure "header only" "truncated|past the end" "$g4" info -m "$tmp/header-only.gguf"
expect_failure "not a GGUF" "not a GGUF" "$g4" info -m "$tmp/zip.gguf"
expect_failure "empty file" "empty|truncated|not a GGUF" "$g4" info -m "$tmp/empty.gguf"
expect_failure "missing file" "No such file|cannot open" "$g4" info -m "$tmp/nonexistent.gguf"
expect_failure "wrong architecture" "architecture is 'reference'" "$g4" info -m "$data/reference-public.gguf"
expect_failure "projector given as model" "architecture is 'clip'" "$g4" info -m "$data/tiny-gemma4u-mmproj-f32.gguf"
expect_failure "no model" "no model given" "$g4" run -p hi
expect_failure "token id too large" "outside the vocabulary" "$g4" eval -m "$model" --ids "2 262144"
expect_failure "negative token id" "outside the vocabulary" "$g4" eval -m "$model" --ids "2 -5"
expect_failure "non-numeric ids" "not a token id" "$g4" eval -m "$model" --ids "2 abc"
expect_failure "prompt longer than the context" "do not fit" "$g4" eval -m "$model" --ctx 4 --ids "2 105 2364 107 6974 496"
expect_failure "unreadable request" "cannot open" "$g4" template -m "$model" --request "$tmp/missing.json"
expect_failure "malformed request JSON" "JSON|json" "$g4" template -m "$model" --request "$tmp/broken.json"
expect_failure "unknown role" "robot" "$g4" template -m "$model" --request "$tmp/robot.json"
expect_failure "request not an object" "object" "$g4" eval -m "$model" --request "$tmp/array.json"
expect_failure "bad thread count" "threads" "$g4" run -m "$model" -p hi -t 0
expect_failure "bad temperature" "--temp" "$g4" run -m "$model" -p hi --temp abc
expect_failure "unknown option" "unknown argument" "$g4" run -m "$model" -p hi --frobnicate
expect_failure "unknown command" "unknown command" "$g4" frobnicate

# media
mmproj=$data/tiny-gemma4u-mmproj-f32.gguf
head -c 3000 "$data/media/shapes.png" >"$tmp/truncated.png"
printf 'RIFF\044\000\000\000WAVEfmt \020\000\000\000\001\000\001\000\200\076\000\000\000\175\000\000\002\000\020\000data\000\000\000\000' >"$tmp/silent.wav"
expect_failure "image without --mmproj" "no multimodal projector" "$g4" run -m "$model" --image "$data/media/shapes.png" -p hi
expect_failure "unknown image attention rule" "expects 'sliding' or 'all'" "$g4" run -m "$model" --image-attention both -p hi
expect_failure "text model as projector" "not a multimodal projector" "$g4" run -m "$model" --mmproj "$model" -p hi
expect_failure "truncated PNG" "PNG" "$g4" run -m "$model" --mmproj "$mmproj" --image "$tmp/truncated.png" -p hi
expect_failure "GGUF as an image" "not a PNG, JPEG, WebP, BMP or GIF" "$g4" run -m "$model" --mmproj "$mmproj" --image "$model" -p hi
expect_failure "zero-length audio" "no samples|empty" "$g4" run -m "$model" --mmproj "$mmproj" --audio "$tmp/silent.wav" -p hi
expect_failure "image as audio" "audio" "$g4" run -m "$model" --mmproj "$mmproj" --audio "$data/media/shapes.png" -p hi
expect_failure "audio as video" "video" "$g4" run -m "$model" --mmproj "$mmproj" --video "$data/media/fox16k.wav" -p hi
expect_failure "bad image budget" "70, 140, 280, 560 or 1120" "$g4" run -m "$model" --mmproj "$mmproj" --image-tokens 100 --image "$data/media/shapes.png" -p hi
expect_failure "image over the context" "do not fit" "$g4" run -m "$model" --mmproj "$mmproj" --ctx 64 --image "$data/media/shapes.png" -p hi
printf '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,@@@"}}]}]}' >"$tmp/bad64.json"
expect_failure "invalid base64" "invalid base64" "$g4" eval -m "$model" --mmproj "$mmproj" --request "$tmp/bad64.json"
printf '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}' >"$tmp/remote.json"
expect_failure "remote URL" "remote media URLs are not fetched" "$g4" eval -m "$model" --mmproj "$mmproj" --request "$tmp/remote.json"

echo "cli_bad_input: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
