"""Take the README's screenshot of the review gallery, from the example specs.

    .venv/bin/python scripts/gallery_screenshot.py [--out docs/gallery.png]

In a temporary copy of specs/ and templates/: `apply specs/demo.yaml` (local,
offline), then `review specs/jogg-onboarding.yaml specs/demo.yaml --preview
--serve`, so the JoggAI videos show as "will be created" with their local previews
beside them (no key needed, nothing paid). One card is approved by a click, the
page is captured by headless Chromium (Debian's, through Playwright), and the PNG
is palette-quantised to stay small.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

from reelform.review.headless import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]


def reelform(cwd: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "reelform", *args], cwd=cwd, check=False)
    if done.returncode != 0:
        raise SystemExit(f"reelform {' '.join(args)}: exit {done.returncode}")


def serve(cwd: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelform", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 600
    for line in proc.stdout:
        print(line, end="")
        found = re.search(r"Serving the gallery at (http://\S+/)", line)
        if found:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining
            return proc, found.group(1)
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit("the gallery did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs/gallery.png")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="reelform-gallery-") as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "specs", work / "specs", ignore=shutil.ignore_patterns("*.lock*"))
        shutil.copytree(ROOT / "templates", work / "templates")
        reelform(work, "apply", "specs/demo.yaml", "--yes")
        proc, url = serve(
            work,
            "review",
            "specs/jogg-onboarding.yaml",
            "specs/demo.yaml",
            "--preview",
            "--serve",
            "127.0.0.1:0",
        )
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
                )
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                page.goto(url)
                page.wait_for_selector("body[data-ready=yes]", state="attached")
                page.locator("article.card .approve").first.click()
                page.wait_for_selector("article.card[data-approved=yes]")
                page.wait_for_function(
                    "() => Array.from(document.images).filter(i => i.getBoundingClientRect().top"
                    " < innerHeight).every(i => i.complete && i.naturalWidth > 0)"
                )
                page.screenshot(path=str(work / "shot.png"))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(20)
        image = Image.open(work / "shot.png").convert("RGB")
        image.quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
