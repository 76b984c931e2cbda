#!/usr/bin/env bash
# Browser libraries the pages serve from /static/vendor (ECharts), from the npm registry at the
# versions package-lock.json pins. Idempotent: does nothing when they are installed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/echarts/dist/echarts.min.js ]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm
  fi
  npm ci --no-audit --no-fund --loglevel=error
fi
