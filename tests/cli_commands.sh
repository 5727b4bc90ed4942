#!/usr/bin/env bash
# The g4 subcommands on the tiny model: each produces what its documentation promises.
# Usage: cli_commands.sh G4_BINARY TEST_DATA_DIR
set -u
g4=$1
data=$2
model=$data/tiny-gemma4u-bf16.gguf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() { # check NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; fi
}

# tokenize: ids of text, special tokens parsed, BOS only with --bos
out=$("$g4" tokenize -m "$model" --text "Hello world")
check "tokenize" [ "$out" = "9259 1902" ]
out=$("$g4" tokenize -m "$model" --text "<|turn>user" --bos)
check "tokenize specials with bos" [ "$out" = "2 105 2364" ]

# template: byte-exact rendering
printf '{"messages": [{"role": "user", "content": "Hi"}]}' >"$tmp/req.json"
"$g4" template -m "$model" --request "$tmp/req.json" >"$tmp/prompt.txt"
printf '<bos><|turn>user\nHi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>' >"$tmp/want.txt"
check "template" cmp -s "$tmp/prompt.txt" "$tmp/want.txt"

# eval: prompt ids, logits file of T x V floats, greedy continuation (reference: hello)
ids="2 105 2364 107 6974 496 678 20517 1003 506 5442 236761 106 107 105 4368 107 100 45518 107 101"
"$g4" eval -m "$model" --ids "$ids" --out "$tmp/logits.f32" --greedy 3 >"$tmp/eval.txt"
check "eval prompt line" grep -qx "prompt: $ids" "$tmp/eval.txt"
check "eval greedy line" grep -qx "greedy: 208621 208621 253674" "$tmp/eval.txt"
size=$(stat -c %s "$tmp/logits.f32")
check "eval logits size" [ "$size" -eq $((21 * 262144 * 4)) ]

# run: streams text and ends with the speed line
"$g4" run -m "$model" -p "Write a haiku about the sea." -n 4 --temp 0 >"$tmp/run.out" 2>"$tmp/run.err"
check "run prints text" [ -s "$tmp/run.out" ]
check "run prints speed" grep -q "generation: 4 tokens" "$tmp/run.err"
"$g4" run -m "$model" --mmap -p "Write a haiku about the sea." -n 4 --temp 0 >"$tmp/run_mmap.out" 2>/dev/null
check "--mmap gives the same text" cmp -s "$tmp/run.out" "$tmp/run_mmap.out"

# chat: two turns through stdin
printf 'Hello\nAnd again\n/exit\n' | "$g4" chat -m "$model" -n 3 --temp 0 >"$tmp/chat.out" 2>"$tmp/chat.err"
check "chat exits cleanly" [ $? -eq 0 ]
check "chat answered twice" [ "$(grep -c '' "$tmp/chat.out")" -ge 2 ]

# info: metadata, tensors, memory
"$g4" info -m "$model" --ctx 1024 >"$tmp/info.txt"
check "info layers" grep -q "layers .*12 (10 sliding-window, 2 global)" "$tmp/info.txt"
check "info memory" grep -q "memory at --ctx 1024" "$tmp/info.txt"

# bench: JSON with both numbers
"$g4" bench -m "$model" -p 16 -n 4 -r 1 --json >"$tmp/bench.json"
check "bench json" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['pp'] > 0 and d['tg'] > 0" "$tmp/bench.json"

# multimodal: eval of a request with a file path (relative to the request), embeddings dump
mmproj=$data/tiny-gemma4u-mmproj-f32.gguf
cp "$data/media/shapes.png" "$data/media/fox16k.wav" "$tmp/"
cat >"$tmp/mm.json" <<'JSON'
{"messages": [{"role": "user", "content": [
  {"type": "image_url", "image_url": {"url": "shapes.png"}},
  {"type": "input_audio", "input_audio": {"url": "fox16k.wav", "format": "wav"}},
  {"type": "text", "text": "Describe both."}]}]}
JSON
"$g4" eval -m "$model" --mmproj "$mmproj" --image-tokens 70 --request "$tmp/mm.json" \
  --dump-embeddings "$tmp/emb.f32" --greedy 2 >"$tmp/mm.txt"
check "eval with media" grep -q "^greedy: " "$tmp/mm.txt"
check "eval expands the image" [ "$(grep -o ' 258880' "$tmp/mm.txt" | grep -c '')" -eq 63 ]
check "eval expands the audio" [ "$(grep -o ' 258881' "$tmp/mm.txt" | grep -c '')" -eq 86 ]
check "embeddings dump size" [ "$(stat -c %s "$tmp/emb.f32")" -eq $(((63 + 86) * 64 * 4)) ]
b64=$(base64 -w0 "$data/media/shapes.png")
printf '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,%s"}},{"type":"text","text":"Hi"}]}]}' "$b64" >"$tmp/mm64.json"
"$g4" eval -m "$model" --mmproj "$mmproj" --request "$tmp/mm64.json" >"$tmp/mm64.txt"
"$g4" eval -m "$model" --mmproj "$mmproj" --image-attention all --request "$tmp/mm64.json" \
  --greedy 2 >"$tmp/mm64all.txt"
check "eval with --image-attention all" grep -q "^greedy: " "$tmp/mm64all.txt"
check "data URI image, 280 tokens" [ "$(grep -o ' 258880' "$tmp/mm64.txt" | grep -c '')" -eq 266 ]
"$g4" bench -m "$model" --mmproj "$mmproj" --image "$data/media/shapes.png" \
  --audio "$data/media/fox16k.wav" -n 4 -r 1 --json >"$tmp/mmbench.json"
check "bench with media" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['soft_tokens'] == 266 + 86 and 0 < d['project_s'] < d['prefill_s'] and d['tg'] > 0" "$tmp/mmbench.json"
"$g4" template -m "$model" --request "$tmp/mm.json" >"$tmp/mm_template.txt"
check "template renders placeholders" grep -q '<|image|><|audio|>Describe both.' "$tmp/mm_template.txt"
"$g4" run -m "$model" --mmproj "$mmproj" --image "$data/media/shapes.png" \
  --audio "$data/media/fox22k.wav" -p "What is this?" -n 2 --temp 0 >"$tmp/mmrun.out" 2>"$tmp/mmrun.err"
check "run with image and audio" grep -q "generation: 2 tokens" "$tmp/mmrun.err"
printf '/image %s\nWhat shapes?\n/exit\n' "$data/media/shapes.png" |
  "$g4" chat -m "$model" --mmproj "$mmproj" -n 2 --temp 0 >"$tmp/mmchat.out" 2>"$tmp/mmchat.err"
check "chat attaches an image" grep -q "attached .*shapes.png (266 tokens)" "$tmp/mmchat.err"

echo "cli_commands: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
