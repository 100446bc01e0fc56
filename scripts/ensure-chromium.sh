#!/usr/bin/env bash
# Make sure Debian's Chromium and ChromeDriver are installed (the dashboard's headless-browser test needs them).
set -u
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "ensure-chromium: installing chromium and chromium-driver from Debian's packages" >&2
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || true
fi
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi
echo "ensure-chromium: chromium/chromedriver unavailable: the browser test skips (and fails when CI is set)" >&2
exit 0
