"""A small video repository for the gallery's tests, rendered for real by `local`.

``base_repo`` renders it once per session (three short square videos, one with
``<script>`` in its data row); each test works on its own copy (``copy_repo``),
mtimes kept, so the lockfile's outputs are still what it recorded.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SPEC = """\
version: 1
name: team
provider: local
output: out
data:
  people: data/people.csv
defaults:
  avatar: {id: 1}
  voice: {voice_id: en}
  aspect: square
videos:
  - name: "hello-{{ row.id }}"
    for_each: people
    title: "Hello {{ row.name }}"
    voice:
      script: "Hi {{ row.name }}"
"""
PEOPLE = 'id,name\nann,Ann\nbob,Bob\ncat,"<script>window.pwned=1</script>Cat"\n'
NAMES = ("hello-ann", "hello-bob", "hello-cat")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def edit(path: Path, text: str) -> Path:
    """Rewrite a watched file so that a poller sees it (mtimes in whole seconds)."""
    if path.exists():
        while int(time.time()) == int(path.stat().st_mtime):
            time.sleep(0.05)
    return write(path, text)


def env() -> dict[str, str]:
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    environment.pop("FORCE_COLOR", None)
    return environment


def reelform(cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reelform", *args],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def render_repo(root: Path) -> Path:
    write(root / "specs/team.yaml", SPEC)
    write(root / "specs/data/people.csv", PEOPLE)
    done = reelform(root, "apply", "specs/team.yaml", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def copy_repo(base: Path, target: Path) -> Path:
    shutil.copytree(base, target, symlinks=True, dirs_exist_ok=True)  # copy2: mtimes kept
    return target


class Served:
    """`reelform review|watch ... --serve 127.0.0.1:0` as a subprocess; its URL."""

    def __init__(self, args: list[str], cwd: Path, extra_env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reelform", *args],
            cwd=cwd,
            env={**env(), **(extra_env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        line = self.wait_for(lambda text: "Serving the gallery at" in text)
        found = re.search(r"http://\S+/", line)
        assert found, line
        self.url = found.group(0)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(
        self, predicate: Callable[[str], bool], timeout: float = 120, after: int = 0
    ) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[after:]:
                    if predicate(line):
                        return line
                if time.monotonic() > deadline or (
                    self.proc.poll() is not None and not self._reader.is_alive()
                ):
                    raise AssertionError("not printed; the output was:\n" + self.output)
                self._changed.wait(0.2)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(5)
        return self.proc.returncode


class Page:
    """A browser page that records every console error and uncaught exception."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")
