#!/usr/bin/env bash
# g4 serve's answers to bad requests: status codes and OpenAI-style errors naming the
# field, the API key, the body limit, unknown routes, and the queue limit (429).
#   tests/server/http.sh G4 TEST_DATA WORK_DIR
set -euo pipefail
g4=$1 data=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/serve_lib.sh"
mkdir -p "$work"
log=$work/serve.log
failures=0

start_server "$g4" "$log" -m "$data/tiny-gemma4u-q4_0.gguf" --api-key sesame --max-body 4096 \
  --parallel 1 --queue 1
trap 'kill $server 2>/dev/null || true' EXIT
chat=$base/v1/chat/completions
key=(-H 'Authorization: Bearer sesame')
hello='{"messages":[{"role":"user","content":"Hi"}],"max_tokens":2}'

expect 200 '"status":"ok"' "$base/health"
expect 401 '"type":"authentication_error"' "$base/v1/models"
expect 401 'API key' -H 'Authorization: Bearer sesamf' "$base/v1/models"
expect 401 'API key' -H 'Authorization: Bearer sesame2' "$base/v1/models"
expect 401 '"error":' -d "$hello" "$base/api/chat"
expect 200 '"id":"tiny-gemma4u-q4_0"' "${key[@]}" "$base/v1/models"
expect 200 '"finish_reason":"length"' "${key[@]}" -d "$hello" "$chat"
expect 200 '"capabilities":\["completion","tools","thinking"\]' "${key[@]}" -d '{"model":"x"}' \
  "$base/api/show"
expect 200 '"version":' "${key[@]}" "$base/api/version"
expect 404 '"type":"not_found_error"' "${key[@]}" "$base/v2/nothing"
expect 405 'method' "${key[@]}" "$chat"
expect 400 'not valid JSON' "${key[@]}" -d '{"messages": [' "$chat"
expect 400 'must be a JSON object' "${key[@]}" -d '[1, 2]' "$chat"
expect 400 'not valid UTF-8' "${key[@]}" --data-binary $'{"messages":"\xff\xfe"}' "$chat"
deep="{\"messages\":$(printf '%.0s[' $(seq 200))$(printf '%.0s]' $(seq 200))}"
expect 400 'nests deeper' "${key[@]}" -d "$deep" "$chat"
expect 400 '"param":"messages\[0\].role"' "${key[@]}" \
  -d '{"messages":[{"role":"robot","content":"Hi"}]}' "$chat"
expect 400 '"param":"messages"' "${key[@]}" -d '{"messages":"Hi"}' "$chat"
expect 400 '"param":"max_tokens"' "${key[@]}" \
  -d '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":-1}' "$chat"
expect 400 '"param":"top_logprobs"' "${key[@]}" \
  -d '{"messages":[{"role":"user","content":"Hi"}],"top_logprobs":3}' "$chat"
expect 400 '"param":"stop"' "${key[@]}" \
  -d '{"messages":[{"role":"user","content":"Hi"}],"stop":[1]}' "$chat"
expect 400 '"param":"n"' "${key[@]}" \
  -d '{"messages":[{"role":"user","content":"Hi"}],"n":2}' "$chat"
expect 400 'remote media' "${key[@]}" -d '{"messages":[{"role":"user","content":[{"type":
  "image_url","image_url":{"url":"https://example.com/a.png"}}]}]}' "$chat"
expect 400 'options.temperature' "${key[@]}" \
  -d '{"messages":[{"role":"user","content":"Hi"}],"options":{"temperature":"hot"}}' \
  "$base/api/chat"
expect 413 'too large' "${key[@]}" -d "{\"messages\":\"$(head -c 5000 /dev/zero | tr '\0' a)\"}" \
  "$chat"
expect 413 'too large' "${key[@]}" -H 'Transfer-Encoding: chunked' \
  -d "{\"messages\":\"$(head -c 5000 /dev/zero | tr '\0' a)\"}" "$chat"

# One slot and a queue of one: of three long requests at once, one runs, one waits and
# the third is refused with 429 and Retry-After.
long='{"messages":[{"role":"user","content":"Hi"}],"max_tokens":100}'
clients=()
for i in 1 2 3; do
  curl -s -o /dev/null -D "$work/headers$i" -w '%{http_code}' "${key[@]}" -d "$long" "$chat" \
    >"$work/status$i" &
  clients+=($!)
done
wait "${clients[@]}"
statuses=$(for i in 1 2 3; do cat "$work/status$i"; echo; done | sort | tr '\n' ' ')
if [ "$statuses" = "200 200 429 " ] && grep -qi '^Retry-After: 1' "$work"/headers?; then
  echo "ok   one of three refused with 429 and Retry-After"
else
  echo "FAIL queue limit: statuses $statuses"
  failures=$((failures + 1))
fi
expect 200 'g4_http_responses_total\{code="429"\} 1' "${key[@]}" "$base/metrics"
expect 200 'g4_http_responses_total\{code="413"\} 2' "${key[@]}" "$base/metrics"

stop_server "$log"
trap - EXIT
echo "$failures failed"
[ "$failures" -eq 0 ]
