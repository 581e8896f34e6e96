"""How the tests, the benchmark and the screenshot script open the gallery in a real
browser: Debian's Chromium, headless, driven by Playwright.

Not used by `reelform review` itself (a person opens the page in their own browser);
it lives here so that the three share one list of flags.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")  # scripts/system-deps/chromium.sh installs it

#: Known to work as root in a container with no network: without the background
#: networking flags Chromium's own connections are refused, many at a time. A fresh
#: profile comes with each launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",  # a test checks that a video plays
    "--mute-audio",
]
