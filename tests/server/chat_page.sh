#!/usr/bin/env bash
# The chat page in headless Chromium (tests/server/chat_page.test.mjs), with the pinned
# playwright-core installed by npm ci into WORK_DIR/chat_page_node the first time.
#   chat_page.sh G4_BINARY TEST_DATA_DIR WORK_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
g4="$1" data="$2" node_dir="$3/chat_page_node"
mkdir -p "$node_dir"
if ! cmp -s "$here/package-lock.json" "$node_dir/package-lock.json" ||
   [ ! -f "$node_dir/node_modules/playwright-core/package.json" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
G4_NODE_DIR="$node_dir" exec node "$here/chat_page.test.mjs" "$g4" "$data"
