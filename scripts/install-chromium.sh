#!/usr/bin/env bash
# Debian's Chromium for the end-to-end tests (tests/e2e); never a Playwright browser download.
# Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
