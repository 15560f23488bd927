#!/usr/bin/env bash
# Every lesson's Try it in headless Chromium (the built site), 3 seeds, each lesson at the
# smallest step count of its range; prints the `lessons --check` table, exits 1 on a miss.
# Options go to web/check.mjs: --only "2 3", --seeds "0 1 2", --budget 60.
set -euo pipefail
cd "$(dirname "$0")"
[ -f ../target/web/resnet_lab_bg.wasm ] || { echo "web/check.sh: no build in target/web: run web/build.sh first" >&2; exit 1; }
[ -d node_modules/playwright-core ] || npm install --no-audit --no-fund >/dev/null
exec node check.mjs "$@"
