#!/usr/bin/env bash
# The official openai and ollama npm clients (pinned in clients/package.json) against
# g4 serve on the tiny model. The answers are checked against what g4 run and g4 eval
# compute for the same requests: greedy token ids, text and prompt token counts. All run
# in exact float32 math: the fast kernels' rounding depends on how many rows a pass has,
# and a reused prefix was computed in another pass than a fresh prompt's (the tiny
# model's greedy choices are close calls that such rounding can flip).
#   tests/server/clients.sh G4 TEST_DATA WORK_DIR
set -euo pipefail
g4=$1 data=$(realpath "$2") work=$3
here=$(cd "$(dirname "$0")" && pwd)
model=$data/tiny-gemma4u-q4_0.gguf
mmproj=$data/tiny-gemma4u-mmproj-f32.gguf
exact=(--exact --kv-type f32)
n=12

mkdir -p "$work"
cp "$here/clients/package.json" "$here/clients/package-lock.json" \
   "$here/clients/clients.test.mjs" "$work/"
if ! cmp -s "$work/package-lock.json" "$work/node_modules/.installed-lock" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$work/package-lock.json" "$work/node_modules/.installed-lock"
fi

# The requests, with media as paths for g4 eval (the test sends them inline).
cases=$work/cases
mkdir -p "$cases"
cp "$data/media/shapes.png" "$data/media/fox16k.wav" "$cases/"
cat >"$cases/hello.json" <<'JSON'
{"messages": [{"role": "user", "content": "Hello there"}]}
JSON
cat >"$cases/tools.json" <<'JSON'
{"tools": [{"type": "function", "function": {"name": "get_weather",
   "description": "The weather in a city",
   "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                  "required": ["city"]}}}],
 "messages": [
   {"role": "user", "content": "What is the weather in Paris?"},
   {"role": "assistant", "content": "", "tool_calls": [{"id": "call-1", "type": "function",
     "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
   {"role": "tool", "tool_call_id": "call-1", "content": "18 C and sunny"}]}
JSON
cat >"$cases/image.json" <<'JSON'
{"messages": [{"role": "user", "content": [
  {"type": "image_url", "image_url": {"url": "shapes.png"}},
  {"type": "text", "text": "What is in the picture?"}]}]}
JSON
cat >"$cases/audio.json" <<'JSON'
{"messages": [{"role": "user", "content": [
  {"type": "input_audio", "input_audio": {"url": "fox16k.wav", "format": "wav"}},
  {"type": "text", "text": "What is said?"}]}]}
JSON
for name in hello tools image audio; do
  "$g4" eval -m "$model" "${exact[@]}" --mmproj "$mmproj" --request "$cases/$name.json" --greedy "$n" \
    >"$cases/$name.eval" 2>/dev/null
done
"$g4" run -m "$model" "${exact[@]}" -p "Hello there" --temp 0 -n "$n" >"$cases/hello.run" 2>/dev/null
"$g4" template -m "$model" --request "$cases/hello.json" >"$cases/hello.prompt"

source "$here/serve_lib.sh"
log=$work/serve.log
start_server "$g4" "$log" -m "$model" "${exact[@]}" --mmproj "$mmproj" --parallel 2
trap 'kill $server 2>/dev/null || true' EXIT
(cd "$work" && node clients.test.mjs "$base" "$cases" "$n" "$model")
stop_server "$log"
trap - EXIT
