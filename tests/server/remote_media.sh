#!/usr/bin/env bash
# g4 serve --allow-remote-media against a loopback HTTP server (media_host.py): an image
# and an audio clip fetched from URLs give the same answer (text, greedy token ids, prompt
# token count) as the same files sent inline, and as g4 eval computes from the files;
# 404s, unreachable hosts, files over --max-body (announced or endless), other schemes,
# redirects to them and redirect loops are refused with 400 naming the field; a slow fetch
# does not hold up the only slot, and shutting down cancels it; without the flag URLs are
# refused, naming the flag.
#   tests/server/remote_media.sh G4 TEST_DATA WORK_DIR
set -euo pipefail
g4=$1 data=$(realpath "$2") work=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/serve_lib.sh"
model=$data/tiny-gemma4u-q4_0.gguf
mmproj=$data/tiny-gemma4u-mmproj-f32.gguf
# Exact float32 math, as in clients.sh: the second of two equal requests reuses the first
# one's KV cache, and the fast kernels' rounding depends on how a prompt is split.
exact=(--exact --kv-type f32)
n=8
max_body=262144
files=$work/files
mkdir -p "$files"
log=$work/serve.log
failures=0

cp "$data/media/shapes.png" "$data/media/fox16k.wav" "$files/"
head -c $((max_body + 1)) /dev/zero >"$files/big.png"

# request PART: a chat request with one media part and a question, greedy with logprobs.
request() {
  printf '{"messages":[{"role":"user","content":[%s,{"type":"text","text":"What is this?"}]}],' "$1"
  printf '"max_tokens":%d,"temperature":0,"logprobs":true}' "$n"
}
image_part() { printf '{"type":"image_url","image_url":{"url":"%s"}}' "$1"; }
audio_url_part() { printf '{"type":"input_audio","input_audio":{"url":"%s","format":"wav"}}' "$1"; }
audio_data_part() { printf '{"type":"input_audio","input_audio":{"data":"%s","format":"wav"}}' "$1"; }

# What g4 eval computes for a request whose media are local files: "PROMPT_TOKENS IDS".
eval_answer() {
  "$g4" eval -m "$model" "${exact[@]}" --mmproj "$mmproj" --request "$1" --greedy "$n" \
    2>/dev/null | awk '/^prompt:/ {p = NF - 1} /^greedy:/ {$1 = ""; g = $0} END {print p g}'
}
request "$(image_part shapes.png)" >"$files/image.json"
request "$(audio_url_part fox16k.wav)" >"$files/audio.json"
want_image=$(eval_answer "$files/image.json")
want_audio=$(eval_answer "$files/audio.json")

python3 -u "$here/media_host.py" "$files" >"$work/host.port" &
host=$!
trap 'kill $host ${server:-} 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/host.port" ] && break; sleep 0.1; done
files_url=http://127.0.0.1:$(cat "$work/host.port")

start_server "$g4" "$log" -m "$model" "${exact[@]}" --mmproj "$mmproj" --parallel 1 \
  --max-body "$max_body" --allow-remote-media
chat=$base/v1/chat/completions

# answer REQUEST_FILE: "PROMPT_TOKENS IDS" on the first line, the text as JSON on the second.
answer() {
  curl -sf -d @"$1" "$chat" | python3 -c 'import json, sys
r = json.load(sys.stdin)
c = r["choices"][0]
print(r["usage"]["prompt_tokens"], " ".join(str(t["id"]) for t in c["logprobs"]["content"]))
print(json.dumps(c["message"]["content"]))'
}

# same_answer NAME WANT REQUEST_FILES...: every request's answer is the first one's, and
# its tokens are WANT (g4 eval's).
same_answer() {
  local name=$1 want=$2 first="" got
  shift 2
  for r in "$@"; do
    got=$(answer "$r") || got="no answer"
    [ -n "$first" ] || first=$got
    if [ "$got" = "$first" ] && [ "${got%%$'\n'*}" = "$want" ]; then
      echo "ok   $name: $(basename "$r"): ${got//$'\n'/ }"
    else
      echo "FAIL $name: $(basename "$r"): got '$got', wanted '$first' and tokens '$want'"
      failures=$((failures + 1))
    fi
  done
}

request "$(image_part "data:image/png;base64,$(base64 -w0 "$files/shapes.png")")" \
  >"$work/image_inline.json"
request "$(image_part "$files_url/shapes.png")" >"$work/image_url.json"
request "$(image_part "$files_url/redirect/shapes.png")" >"$work/image_redirect.json"
same_answer image "$want_image" "$work/image_inline.json" "$work/image_url.json" \
  "$work/image_redirect.json"
request "$(audio_data_part "$(base64 -w0 "$files/fox16k.wav")")" >"$work/audio_inline.json"
request "$(audio_url_part "$files_url/fox16k.wav")" >"$work/audio_url.json"
same_answer audio "$want_audio" "$work/audio_inline.json" "$work/audio_url.json"

# refused URL STATUS PATTERN: the image part's URL is refused; the error names the field.
refused() {
  printf '%s: ' "$1"
  expect "$2" "$3.*\"param\":\"messages\\[0\\]\\.content\\[0\\]\"" \
    -d "$(request "$(image_part "$1")")" "$chat"
}
refused "$files_url/missing.png" 400 'answered HTTP status 404'
refused "http://127.0.0.1:1/shapes.png" 400 'cannot fetch the media URL'
refused "$files_url/big.png" 400 "larger than the server's limit of $max_body bytes"
refused "$files_url/endless" 400 "larger than the server's limit of $max_body bytes"
refused "ftp://127.0.0.1/shapes.png" 400 'only http:// and https://'
refused "file://$files/shapes.png" 400 'only http:// and https://'
refused "$files_url/redirect-ftp" 400 'cannot fetch the media URL.*ftp'
refused "$files_url/loop" 400 'redirected more than 5 times'

# A fetch taking 3 s happens before its request is queued: meanwhile another request has
# the only slot and finishes.
request "$(image_part "$files_url/slow/shapes.png")" >"$work/image_slow.json"
curl -s -o /dev/null -d @"$work/image_slow.json" "$chat" &
slow=$!
sleep 0.5
expect 200 '"finish_reason":"length"' -d '{"messages":[{"role":"user","content":"Hi"}],
  "max_tokens":2}' "$chat"
if kill -0 "$slow" 2>/dev/null; then
  echo "ok   a request was answered while a fetch was under way"
else
  echo "FAIL the slow fetch ended before the other request was answered"
  failures=$((failures + 1))
fi
wait "$slow"

# Shutting down cancels a fetch under way: the server is gone before the host answers
# (after 20 s, writing hang.done). The client gets the cancellation as a 400, or no
# answer where the server closed the connection first.
rm -f "$files/hang.started" "$files/hang.done"
request "$(image_part "$files_url/hang/shapes.png")" >"$work/image_hang.json"
curl -s -d @"$work/image_hang.json" "$chat" >"$work/hang_answer" &
hang=$!
for _ in $(seq 100); do [ -e "$files/hang.started" ] && break; sleep 0.1; done
stop_server "$log"
wait "$hang" || true
answer=$(cat "$work/hang_answer")
if [ -e "$files/hang.started" ] && [ ! -e "$files/hang.done" ] &&
   { [ -z "$answer" ] || grep -q 'fetch was cancelled: the server is shutting down' <<<"$answer"; }; then
  echo "ok   shutting down cancelled a fetch under way (answer: '$answer')"
else
  echo "FAIL shutting down during a fetch: $(cd "$files" && ls hang.* 2>/dev/null), answer '$answer'"
  failures=$((failures + 1))
fi

start_server "$g4" "$log" -m "$model" --mmproj "$mmproj" --parallel 1
chat=$base/v1/chat/completions
refused "$files_url/shapes.png" 400 'only when g4 serve runs with --allow-remote-media'
stop_server "$log"
trap - EXIT
kill "$host"
echo "$failures failed"
[ "$failures" -eq 0 ]
