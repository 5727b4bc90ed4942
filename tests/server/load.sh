#!/usr/bin/env bash
# 32 concurrent clients on g4 serve (tiny model) for 60 seconds (load.mjs), then: every
# slot comes free (hung-up clients cancelled their jobs), and SIGTERM ends the server
# cleanly: exit status 0, which under AddressSanitizer also means no leak.
#   tests/server/load.sh G4 TEST_DATA WORK_DIR [SECONDS]
set -euo pipefail
g4=$1 data=$2 work=$3 seconds=${4:-60}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/serve_lib.sh"
mkdir -p "$work"
log=$work/serve.log
start_server "$g4" "$log" -m "$data/tiny-gemma4u-q4_0.gguf" --ctx 512 --parallel 4 --queue 8
trap 'kill $server 2>/dev/null || true' EXIT
node "$here/load.mjs" "$base" 32 "$seconds"
for _ in $(seq 100); do
  metrics=$(curl -sf "$base/metrics")
  grep -q '^g4_slots_busy 0$' <<<"$metrics" && grep -q '^g4_queue_length 0$' <<<"$metrics" && break
  sleep 0.1
done
grep -E '^g4_(slots_busy|queue_length|requests_finished_total|generated_tokens_total|prefix_cache_hits_total) ' <<<"$metrics"
grep -q '^g4_slots_busy 0$' <<<"$metrics"
stop_server "$log"
trap - EXIT
