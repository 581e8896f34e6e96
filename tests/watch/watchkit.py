"""A small repository to watch: two specs sharing a template, one reading a CSV, one alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

SPEC_A = """\
version: 1
data:
  people: data/people.csv
defaults:
  avatar: {id: 1}
  voice: {voice_id: en}
videos:
  - name: "hello-{{ row.id }}"
    for_each: people
    voice:
      script: "{% include 'greeting.txt.j2' %} {{ row.name }}"
"""
SPEC_B = """\
version: 1
defaults:
  avatar: {id: 2}
  voice: {voice_id: en}
videos:
  - name: solo
    voice:
      script: "{% include 'greeting.txt.j2' %} you"
"""
SPEC_C = """\
version: 1
videos:
  - name: other
    avatar: {id: 3}
    voice: {script: "Unrelated", voice_id: en}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def edit(path: Path, text: str) -> Path:
    """Rewrite a watched file so that a poller sees it: notify's PollWatcher compares
    mtimes in whole seconds, so a second edit within the same second is invisible."""
    if path.exists():
        while int(time.time()) == int(path.stat().st_mtime):
            time.sleep(0.05)
    return write(path, text)


def make_repo(root: Path) -> Path:
    write(root / "specs/a.yaml", SPEC_A)
    write(root / "specs/b.yaml", SPEC_B)
    write(root / "specs/c.yaml", SPEC_C)
    write(root / "specs/data/people.csv", "id,name\n1,Ann\n2,Bob\n")
    write(root / "templates/greeting.txt.j2", "Hello")
    return root


class WatchProcess:
    """`reelform watch` as a subprocess, its output read line by line in a thread."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        environment = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "NO_COLOR": "1",
            "REELFORM_WATCH_POLL": "1",
            "REELFORM_WATCH_POLL_MS": "50",
            **(env or {}),
        }
        environment.pop("FORCE_COLOR", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reelform", "watch", "--debounce", "30", *args],
            cwd=cwd,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []
        self._seen = 0
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 30) -> list[str]:
        """Lines after the last one consumed, up to the first matching ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(self._seen, len(self.lines)):
                    if predicate(self.lines[index]):
                        taken = self.lines[self._seen : index + 1]
                        self._seen = index + 1
                        return taken
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        "watch did not print what was expected; it printed:\n"
                        + "\n".join(self.lines)
                    )
                self._changed.wait(min(left, 0.5))

    def next_batch(self, timeout: float = 30) -> tuple[str, str]:
        """(the rule line, the text below it) of the next complete batch."""
        lines = self.wait_for(lambda line: line.startswith("(planned in"), timeout)
        rules = [i for i, line in enumerate(lines) if line.startswith("── ")]
        assert rules, lines
        return lines[rules[-1]], "\n".join(lines[rules[-1] + 1 :])

    def ready(self, timeout: float = 30) -> tuple[str, str]:
        """The first batch, once the watcher runs: its folders are watched from before
        the first plan (no pause needed for the poller to take stock)."""
        batch = self.next_batch(timeout)
        self.wait_for(lambda line: line.startswith("Watching "), timeout)
        return batch

    def interrupt(self, timeout: float = 20) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)
