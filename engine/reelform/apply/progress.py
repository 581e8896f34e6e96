"""What apply tells the person (or the CI log) while it works.

Three reporters share one interface: a live display per phase on a terminal
(uploads, renders, downloads, with counts and elapsed time), one plain line per
event otherwise, and a JSON event stream (`--json`) for machines. Every line
passes ``redact`` on its way out: no key reaches a log.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any, Protocol, TextIO

import orjson

from reelform.secrets import redact

PHASES = ("upload", "avatar", "render", "download")


class Reporter(Protocol):
    def planned(self, phase: str, count: int) -> None: ...

    def event(self, kind: str, spec: str, name: str, **fields: Any) -> None: ...

    def close(self) -> None: ...


#: event kind -> the phase it advances (when it ends a step of that phase)
DONE = {
    "uploaded": "upload",
    "avatar-ready": "avatar",
    "rendered": "render",
    "render-failed": "render",
    "unknown": "render",
    "no-credit": "render",
    "not-submitted": "render",
    "downloaded": "download",
    "download-failed": "download",
    "copied": "download",  # a copy's file is in place (apply/copies.py)
    "copy-failed": "download",
}


class PlainReporter:
    """One line per event: for logs and pipes."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.start = time.monotonic()

    def planned(self, phase: str, count: int) -> None:
        pass

    def event(self, kind: str, spec: str, name: str, **fields: Any) -> None:
        elapsed = time.monotonic() - self.start
        detail = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        self.stream.write(redact(f"[{elapsed:7.1f}s] {kind:<15} {name}  {detail}".rstrip()) + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass


class JsonReporter:
    """One JSON object per line on stdout: `{"t": seconds, "event": kind, ...}`."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.start = time.monotonic()

    def planned(self, phase: str, count: int) -> None:
        self._write({"event": "planned", "phase": phase, "count": count})

    def event(self, kind: str, spec: str, name: str, **fields: Any) -> None:
        self._write({"event": kind, "spec": spec, "name": name, **fields})

    def _write(self, record: dict[str, Any]) -> None:
        record = {"t": round(time.monotonic() - self.start, 3), **record}
        self.stream.write(redact(orjson.dumps(record, default=str).decode()) + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass


class LiveReporter:
    """A rich progress display with one bar per phase, for terminals."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"),
            console=self.console,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}
        self.failures: Counter[str] = Counter()
        self.progress.start()

    def planned(self, phase: str, count: int) -> None:
        if count:
            self.tasks[phase] = self.progress.add_task(f"{phase}s", total=count, last="")

    def event(self, kind: str, spec: str, name: str, **fields: Any) -> None:
        phase = DONE.get(kind)
        if kind.endswith("failed") or kind in ("unknown", "no-credit"):
            reason = fields.get("reason", "")
            self.progress.console.print(
                redact(f"[red]{kind}[/red] {name}: {reason}"), markup=True, highlight=False
            )
        if phase in self.tasks:
            self.progress.update(self.tasks[phase], advance=1, last=name)

    def close(self) -> None:
        self.progress.stop()


def make_reporter(as_json: bool) -> Reporter:
    if as_json:
        return JsonReporter()
    if sys.stderr.isatty():
        return LiveReporter()
    return PlainReporter()
