#!/usr/bin/env bash
# The browser the review gallery's tests drive (tests/review/test_browser.py):
# Debian's chromium, run headless by Playwright with executable_path. Playwright's
# own browser downloads are never used (no internet beyond the package registries).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: /usr/bin/chromium is missing and there is no apt-get to install it" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
echo "chromium.sh: installing Debian's chromium (the review gallery's browser tests need it)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
test -x /usr/bin/chromium
