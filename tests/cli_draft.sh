#!/usr/bin/env bash
# --draft on the g4 command (tiny model and its MTP drafter): run and chat print the same
# text as without a drafter, greedy and sampled, and say how drafting went; bad drafter
# arguments fail with a clear message; bench --draft prints its table.
# Usage: cli_draft.sh G4_BINARY TEST_DATA_DIR
set -u
g4=$1
data=$2
model=$data/tiny-gemma4u-q4_0.gguf
drafter=$data/mtp/tiny-gemma4u-mtp-bf16.gguf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() { # check NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; fi
}

# run: the same text with and without drafting (a fixed draft count makes every step draft)
for sampling in "--temp 0" "--seed 7"; do
  # shellcheck disable=SC2086
  "$g4" run -m "$model" -p "Tell me a story." -n 40 $sampling >"$tmp/plain.out" 2>/dev/null
  # shellcheck disable=SC2086
  "$g4" run -m "$model" --draft "$drafter" --draft-max 3 --draft-min 3 -p "Tell me a story." \
    -n 40 $sampling >"$tmp/draft.out" 2>"$tmp/draft.err"
  check "run $sampling: same text with --draft" cmp -s "$tmp/plain.out" "$tmp/draft.out"
  check "run $sampling: drafting statistics" grep -q "drafting: [0-9]* steps, 0 of [0-9]* drafts accepted" "$tmp/draft.err"
done

# chat: two turns, the second reusing the first's cache, the same with a drafter
printf 'Hi\nAnd then?\n/exit\n' | "$g4" chat -m "$model" -n 12 --temp 0 >"$tmp/chat_plain.out" 2>/dev/null
printf 'Hi\nAnd then?\n/exit\n' | "$g4" chat -m "$model" --draft "$drafter" -n 12 --temp 0 \
  >"$tmp/chat_draft.out" 2>/dev/null
check "chat: same text with --draft" cmp -s "$tmp/chat_plain.out" "$tmp/chat_draft.out"
check "chat: two replies" [ "$(grep -c '' "$tmp/chat_draft.out")" -ge 2 ]

# bad arguments
"$g4" run -m "$model" --draft "$model" -p x -n 1 >/dev/null 2>"$tmp/err1"
check "a model is not a drafter" grep -q "cannot load the drafter: .*not a Gemma 4 MTP drafter" "$tmp/err1"
"$g4" run -m "$model" --draft "$tmp/missing.gguf" -p x -n 1 >/dev/null 2>"$tmp/err2"
check "a missing drafter" grep -q "cannot load the drafter" "$tmp/err2"
"$g4" run -m "$model" --draft "$drafter" --draft-max 0 -p x >/dev/null 2>"$tmp/err3"
check "--draft-max out of range" grep -q -- "--draft-max expects an integer in 1..8" "$tmp/err3"
"$g4" run -m "$model" --draft "$drafter" --draft-max 2 --draft-min 3 -p x -n 2 >/dev/null 2>"$tmp/err4"
check "--draft-min above --draft-max" grep -q "draft_min (3) exceeds draft_max (2)" "$tmp/err4"

# bench --draft: one row per K with the projected speed-ups
"$g4" bench -m "$model" --draft "$drafter" -n 3 -r 1 >"$tmp/bench.out"
check "bench --draft table" [ "$(grep -c '^| [1-6] | ' "$tmp/bench.out")" -eq 6 ]

echo "cli_draft: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
