#!/usr/bin/env bash
# Sets up a fresh Debian machine, builds g4 and runs it on the tiny model in tests/data.
# The tiny model has random weights: it shows the pipeline working, not sensible text.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
build/g4 run -m tests/data/tiny-gemma4u-q4_0.gguf -p "Why is the sky blue?" -n 48 --seed 1
