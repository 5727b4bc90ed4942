#!/usr/bin/env bash
# The chat page of g4 serve in headless Chromium: chat_page/chat_page.test.mjs with the
# pinned playwright-core (chat_page/package.json), installed by npm ci into WORK_DIR the
# first time, driving Debian's chromium.
#   tests/server/chat_page.sh G4 TEST_DATA WORK_DIR
set -euo pipefail
g4=$(realpath "$1") data=$(realpath "$2") work=$3
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$work"
cp "$here/chat_page/package.json" "$here/chat_page/package-lock.json" \
   "$here/chat_page/chat_page.test.mjs" "$work/"
if ! cmp -s "$work/package-lock.json" "$work/node_modules/.installed-lock" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$work/package-lock.json" "$work/node_modules/.installed-lock"
fi
cd "$work" && node chat_page.test.mjs "$g4" "$data"
