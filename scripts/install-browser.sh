#!/usr/bin/env bash
# The browser tests drive Debian's Chromium with a Chinese font; install both with apt-get when
# missing (needs root). Playwright never downloads a browser here.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
        echo "install ${need[*]} with apt-get (needs root)" >&2; exit 1
    fi
else
    sudo=()
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null \
    || { "${sudo[@]}" apt-get update -q >/dev/null && \
         "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; }
