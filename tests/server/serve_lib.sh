# Shared by the g4 serve tests: start_server G4 LOG ARGS... starts g4 serve on a free
# port, waits until /health answers and sets $server (the pid) and $base (the URL);
# expect checks one answer and counts failures in $failures.
start_server() {
  local g4=$1 log=$2
  shift 2
  "$g4" serve --port 0 "$@" 2>"$log" &
  server=$!
  local port=
  for _ in $(seq 300); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
  done
  base=http://127.0.0.1:$port
  curl -sf "$base/health" >/dev/null || { cat "$log"; return 1; }
}

# Stops it with SIGTERM and checks that it shut down cleanly.
stop_server() {
  kill -TERM "$server"
  wait "$server"
  grep -q "shutting down" "$1"
}

# expect STATUS PATTERN CURL_ARGS...: the status code and a pattern the body must match.
expect() {
  local want=$1 pattern=$2
  shift 2
  local body status
  body=$(curl -s -w '\n%{http_code}' "$@")
  status=${body##*$'\n'}
  body=${body%$'\n'*}
  if [ "$status" = "$want" ] && grep -qE -- "$pattern" <<<"$body"; then
    echo "ok   $want ${*: -1}"
  else
    echo "FAIL wanted $want /$pattern/ from $*: got $status $body"
    failures=$((failures + 1))
  fi
}
