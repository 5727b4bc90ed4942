#!/usr/bin/env bash
# Installs what building and testing g4 needs from Debian's packages.
set -euo pipefail
packages=(build-essential cmake pkg-config libcjson-dev clang libclang-rt-14-dev python3
          libpng-dev libjpeg62-turbo-dev libexif-dev libwebp-dev libgif-dev
          libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libsoxr-dev
          chromium nodejs libmicrohttpd-dev curl libcurl4-openssl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm (it installs the chat page test's playwright-core) is its own package in Debian but
# comes with other builds of nodejs.
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
