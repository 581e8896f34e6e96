"""Benchmark: the review gallery (issue 14's figures).

1. Build: `reelform review SPEC --out DIR` of N completed videos (default 1,000),
   each a real, distinct MP4 (so each has its own sha256 and poster): once with the
   poster cache empty (cold: every poster decoded) and once with it full (cached).
   Wall time and CPU time (the command and its poster workers) of the subprocess.
2. Page load: the same gallery served (`review --serve`), opened in headless
   Chromium (Debian's, through Playwright): from navigation to the script having
   run (``body[data-ready]``), and to the load event (posters are lazy: only those
   on screen are fetched before it).
3. Live: `watch --preview --serve` on a two-video spec; the script of one video is
   edited E times; from the saved edit to its card showing the new script, and to
   its card showing the re-rendered preview's poster.

The videos of (1) are 1-second 180x320 clips written with PyAV (the local renderer
would take minutes for 1,000); what is measured (hashing, probing, decoding a frame,
the page) does not depend on how they were made.

    .venv/bin/python bench/review_gallery.py [--videos 1000] [--edits 5]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plan_noop import build
from reelform.review.headless import CHROMIUM, CHROMIUM_ARGS


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", **extra}


def clip(path: Path, index: int) -> None:
    """A 1 s 180x320 H.264 clip whose colour depends on ``index`` (distinct bytes)."""
    import av
    import numpy as np

    with av.open(str(path), "w", format="mp4") as container:
        stream: Any = container.add_stream("libx264", rate=12, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 180, 320, "yuv420p"
        colour = np.array([index % 256, (index * 7) % 256, (index * 13) % 256], dtype=np.uint8)
        for n in range(12):
            pixels = np.empty((320, 180, 3), dtype=np.uint8)
            pixels[:] = colour
            pixels[n * 20 : n * 20 + 20, :, :] = 255
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def project(folder: Path, videos: int) -> Path:
    """plan_noop's project of N completed videos, each output a real distinct MP4."""
    from reelform.state.lockfile import read_lock, write_lock
    from reelform.state.outputs import sha256_file
    from reelform.state.records import VideoOutput

    spec = build(folder, videos)
    lock = read_lock(spec.with_suffix(".lock"))
    for index, (name, record) in enumerate(list(lock.videos.items())):
        assert record.output is not None and record.output.path
        path = folder / record.output.path
        clip(path, index)
        facts = path.stat()
        output = VideoOutput(
            path=record.output.path,
            sha256=sha256_file(path),
            bytes=facts.st_size,
            mtime_ns=facts.st_mtime_ns,
            duration=1.0,
            url=record.output.url,
        )
        lock.videos[name] = type(record)(**{**_fields(record), "output": output})
    write_lock(spec.with_suffix(".lock"), lock)
    return spec


def _fields(record: Any) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def timed(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the process and its children, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reelform", *args],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"reelform {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


class Served:
    def __init__(self, args: list[str], cwd: Path, **extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reelform", *args],
            cwd=cwd,
            env=env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []
        self.seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        line = self.wait_for(lambda text: "Serving the gallery at" in text)
        found = re.search(r"http://\S+/", line)
        assert found
        self.url = found.group(0)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.seen:
                self.lines.append(line.rstrip("\n"))
                self.seen.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 600) -> str:
        deadline = time.monotonic() + timeout
        with self.seen:
            while True:
                for line in self.lines:
                    if predicate(line):
                        return line
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit("not printed:\n" + "\n".join(self.lines))
                self.seen.wait(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


def page_load(url: str, repeat: int) -> list[tuple[float, float]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        for _ in range(repeat):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            began = time.perf_counter()
            page.goto(url, wait_until="load")
            loaded = time.perf_counter() - began
            page.wait_for_selector("body[data-ready=yes]", state="attached")
            ready = page.evaluate(
                "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
            )
            cards = page.evaluate("document.querySelectorAll('article.card').length")
            assert cards > 0
            results.append((ready / 1000, loaded))
            context.close()
        browser.close()
    return results


LIVE_SPEC = """\
version: 1
name: promo
provider: local
defaults:
  avatar: {id: 2}
  voice: {voice_id: en}
  aspect: square
videos:
  - name: hi
    voice: {script: "SCRIPT"}
  - name: yo
    voice: {script: "Yo"}
"""


def live(folder: Path, edits: int) -> list[tuple[float, float]]:
    from playwright.sync_api import sync_playwright

    spec = folder / "specs/promo.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text(LIVE_SPEC.replace("SCRIPT", "Hi there"))
    served = Served(
        ["watch", "specs/promo.yaml", "--preview", "--serve", "127.0.0.1:0", "--debounce", "25"],
        folder,
    )
    find = (
        "([text, before]) => { const c = Array.from(document.querySelectorAll('article.card'))"
        ".find(a => a.querySelector('h2.name').textContent === 'hi'); if (!c) return false;"
        " const s = c.querySelector('dd.script'); const i = c.querySelector("
        "'figure.media-preview img.poster'); if (before === null) return s && s.textContent"
        " === text; return i && i.getAttribute('src') !== before && i.complete &&"
        " !c.querySelector('figure.media-preview.stale'); }"
    )
    results = []
    try:
        served.wait_for(lambda line: "preview: 2 rendered" in line)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            page = browser.new_page()
            page.goto(served.url)
            page.wait_for_selector("body[data-ready=yes]", state="attached")
            poster = "article.card:has(h2.name:text-is('hi')) figure.media-preview img.poster"
            page.wait_for_selector(poster)
            for n in range(edits):
                before = page.get_attribute(poster, "src")
                text = f"Hi there, edit {n}"
                while int(time.time()) == int(spec.stat().st_mtime):
                    time.sleep(0.05)  # a poller sees one change per second of mtime
                time.sleep(0.2)
                spec.write_text(LIVE_SPEC.replace("SCRIPT", text))
                saved = time.perf_counter()
                page.wait_for_function(find, arg=[text, None], timeout=60_000)
                planned = time.perf_counter() - saved
                page.wait_for_function(find, arg=[text, before], timeout=60_000)
                results.append((planned, time.perf_counter() - saved))
            browser.close()
    finally:
        served.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1_000)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--edits", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reelform-bench-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        spec = project(root / "project", args.videos)
        print(
            f"made {args.videos:,} videos and their lockfile in {time.perf_counter() - began:.1f} s"
        )
        build_args = ["review", str(spec), "--out", str(root / "site")]
        wall, cpu, out = timed(build_args, root)
        print(
            f"build, posters cold:   {wall:6.2f} s wall, {cpu:6.2f} s CPU  ({out.splitlines()[0]})"
        )
        for _ in range(2):
            wall, cpu, _ = timed(build_args, root)
            print(f"build, posters cached: {wall:6.2f} s wall, {cpu:6.2f} s CPU")
        size = (root / "site/index.html").stat().st_size
        print(f"page: {size / 1024:.0f} KiB of HTML for {args.videos:,} cards")
        served = Served(["review", str(spec), "--serve", "127.0.0.1:0"], root)
        try:
            for ready, loaded in page_load(served.url, args.loads):
                print(
                    f"page load, {args.videos:,} cards: DOMContentLoaded {ready:5.2f} s, "
                    f"load {loaded:5.2f} s"
                )
        finally:
            served.stop()
        times = live(root / "live", args.edits)
        plans = [p for p, _ in times]
        previews = [r for _, r in times]
        print(
            f"watch --preview --serve, edit -> card: text {statistics.median(plans):.2f} s "
            f"(max {max(plans):.2f}), new preview {statistics.median(previews):.2f} s "
            f"(max {max(previews):.2f}) over {len(times)} edits"
        )


if __name__ == "__main__":
    main()
