#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/deps.sh
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DG4_FUZZ=ON -DG4_SANITIZE=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_targets
for name in fuzz_gguf fuzz_tokenizer fuzz_chat fuzz_image fuzz_audio fuzz_server fuzz_drafter; do
  corpus=$(mktemp -d)
  cp fuzz/corpus/"${name#fuzz_}"/* "$corpus"/
  echo "fuzzing $name for ${seconds}s"
  status=0
  build-fuzz/fuzz/"$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -max_len=4096 "$corpus" >"$corpus.log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$corpus.log"
    echo "$name found a failure"
    exit 1
  fi
  tail -n 2 "$corpus.log"
  rm -rf "$corpus" "$corpus.log"
done
