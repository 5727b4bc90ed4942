#!/usr/bin/env bash
# Builds g4 with the CUDA backend and checks it on this machine's GPU:
#   scripts/test_gpu.sh [MODEL.gguf [N_TOKENS [DEPTH]]]
# tests/gpu/check_cuda runs the tiny model's reference cases on the GPU with the tolerances
# of tests/test_reference.c; with a model (the random 12B one), tests/gpu/compare_cuda
# compares GPU and CPU logits on it and times pp512 and tg128. Exit status 3: no usable GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${G4_GPU_BUILD:-build-gpu}
if [ ! -x "$dir/tests/check_cuda" ] || [ "${G4_GPU_REBUILD:-1}" = 1 ]; then
  cmake -S . -B "$dir" -DG4_WERROR=ON -DCMAKE_BUILD_TYPE=Release -DG4_CUDA=ON >/dev/null
  cmake --build "$dir" -j"$(nproc)" --target check_cuda compare_cuda
fi
"$dir/tests/check_cuda"
if [ $# -ge 1 ]; then
  "$dir/tests/compare_cuda" "$@"
fi
