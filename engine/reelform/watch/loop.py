"""The watcher: file events in, batches of re-plans (and previews) out.

watchfiles groups events: a batch is yielded once nothing changed for
``debounce_ms`` (its ``step``), so an editor's save (write, rename, chmod) is one
batch. The folders watched are derived from what the specs depend on; when that
set changes (a spec starts reading a file elsewhere) the watcher is restarted on
the new folders.

Nothing is missed (a watch that drops a save shows a stale plan with no hint of
it): the folders are watched before the first plan starts, so a save while it
runs is re-planned right after; when the folders change, the new stream is armed
before the old one is closed, and a file in a newly watched folder that changed
after the plan read it is re-planned too.

``REELFORM_WATCH_POLL=1`` polls instead of using inotify/FSEvents (containers,
network file systems; the tests use it); ``REELFORM_WATCH_POLL_MS`` sets the
polling interval (default 100 ms). A poller compares mtimes in whole seconds, so
two saves of one file within the same second are seen as one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import TextIO

import anyio
import watchfiles

from reelform.secrets import redact
from reelform.watch.affected import Change, ChangeKind
from reelform.watch.preview import Previewer
from reelform.watch.session import Batch, Session

KINDS = {
    watchfiles.Change.added: ChangeKind.ADDED,
    watchfiles.Change.modified: ChangeKind.MODIFIED,
    watchfiles.Change.deleted: ChangeKind.DELETED,
}
CLEAR = "\x1b[2J\x1b[H"


class _Filter(watchfiles.DefaultFilter):
    """watchfiles' editor and VCS noise, plus reelform's own working files."""

    ignore_dirs = (*watchfiles.DefaultFilter.ignore_dirs, ".reelform")
    ignore_entity_patterns = (
        *watchfiles.DefaultFilter.ignore_entity_patterns,
        r"\.lock\.(journal|pid)$",
        r"\.tmp$",
        r"^4913$",
        r"^#.*#$",
        r"\.partial$",
    )  # downloads in progress


def watch_roots(paths: Iterable[Path]) -> list[Path]:
    """The fewest existing folders that cover ``paths`` (files or folders, maybe missing).

    Folders rather than files: editors save by writing a new file and renaming it
    over the old one, which a watch on the file itself would lose. A missing file
    is covered by its nearest existing ancestor, so creating it is seen.
    """
    folders: set[Path] = set()
    for path in paths:
        folder = path if path.is_dir() else path.parent
        while not folder.is_dir() and folder != folder.parent:
            folder = folder.parent
        folders.add(folder)
    roots: list[Path] = []
    for folder in sorted(folders, key=lambda p: len(p.parts)):
        if not any(folder.is_relative_to(root) for root in roots):
            roots.append(folder)
    return sorted(roots)


def changes_of(raw: Iterable[tuple[watchfiles.Change, str]]) -> list[Change]:
    """watchfiles' (kind, path) pairs as Changes; the last kind of a path wins
    (a save by rename is deleted + added within one batch: that is a change)."""
    kinds: dict[Path, set[ChangeKind]] = {}
    for kind, path in raw:
        if kind is not watchfiles.Change.deleted and os.path.isdir(path):
            continue  # a folder's own mtime (polling): its files are reported themselves
        kinds.setdefault(Path(path), set()).add(KINDS[kind])
    result = []
    for changed, seen in kinds.items():
        if len(seen) == 1:
            result.append(Change(changed, next(iter(seen))))
        else:
            final = ChangeKind.MODIFIED if changed.exists() else ChangeKind.DELETED
            result.append(Change(changed, final))
    return result


#: What watchfiles yields: (kind, path) pairs.
Raw = set[tuple[watchfiles.Change, str]]


class _Stream:
    """One watchfiles stream on a set of folders, pumped into a queue by a task.

    A task, so that the stream is armed before anything is planned and keeps
    collecting while the loop plans: ``awatch`` builds its notifier (the inotify
    watches, or the poller's first snapshot) when it is first iterated, and every
    event from then on is kept until it is yielded.
    """

    def __init__(self, roots: list[Path], queue: asyncio.Queue[Raw | Exception]) -> None:
        self.roots = roots
        self.queue = queue
        self.stop = anyio.Event()
        self.task: asyncio.Task[None] | None = None
        self.announced = False  # "Watching N folders" printed

    async def start(self, watcher: Watcher) -> None:
        stream = watchfiles.awatch(
            *self.roots,
            watch_filter=_Filter(),
            step=watcher.debounce_ms,
            debounce=max(1600, watcher.debounce_ms * 4),
            stop_event=self.stop,
            force_polling=watcher.polling,
            poll_delay_ms=watcher.poll_ms,
        )
        self.task = asyncio.create_task(self._pump(stream))
        # The task's first step runs before this one resumes (the loop runs ready
        # callbacks in order), and awatch builds its notifier before its first await:
        # from here on the roots are watched.
        await asyncio.sleep(0)

    async def _pump(self, stream: AsyncGenerator[Raw, None]) -> None:
        try:
            async with contextlib.aclosing(stream) as batches:
                async for raw in batches:
                    await self.queue.put(raw)
        except Exception as exc:  # e.g. a root deleted before it was armed: the loop raises it
            await self.queue.put(exc)

    async def close(self) -> None:
        self.stop.set()  # seen by watchfiles' thread at its next step
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


class Watcher:
    def __init__(
        self,
        session: Session,
        *,
        previewer: Previewer | None = None,
        debounce_ms: int = 25,
        clear: bool = False,
        out: TextIO | None = None,
        env: Mapping[str, str] | None = None,
        on_update: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.session = session
        # Called after each batch's plan and again after its previews: the review
        # gallery of `watch --serve` (review/live.py) refreshes its cards there.
        self.on_update = on_update
        self.previewer = previewer
        self.debounce_ms = max(1, debounce_ms)
        self.out = out or sys.stdout
        self.clear = clear and self.out.isatty()
        self.polling = env.get("REELFORM_WATCH_POLL", "") not in ("", "0")
        self.poll_ms = int(env.get("REELFORM_WATCH_POLL_MS", "100") or 100)
        self.queue: asyncio.Queue[Raw | Exception] = asyncio.Queue()
        self._streams: list[_Stream] = []  # open, closed when run ends however it ends

    async def run(self) -> None:
        # Armed before the first plan: a file saved while it runs (a large spec takes
        # seconds) is re-planned right after it, not ignored until the next save.
        self.session.discover()
        try:
            stream = await self._open(self._roots())
            began = time.time()
            await self._show(self.session.start(), preview=list(self.session.specs))
            while True:
                stream = await self._follow(stream, began)
                raw = await self.queue.get()
                if isinstance(raw, Exception):
                    raise raw
                began = time.time()
                batch = self.session.update(changes_of(raw))
                if batch is not None:
                    await self._show(batch, preview=batch.replanned)
        finally:
            for each in self._streams:
                await each.close()
            self._streams.clear()

    async def _open(self, roots: list[Path]) -> _Stream:
        stream = _Stream(roots, self.queue)
        self._streams.append(stream)
        await stream.start(self)
        return stream

    def _roots(self) -> list[Path]:
        return watch_roots(p.resolve() for p in self.session.watched_paths())

    async def _follow(self, stream: _Stream, began: float) -> _Stream:
        """The stream to wait on: ``stream``, or one on the folders the specs now
        depend on (a plan made a spec read a file elsewhere). ``began``: when the plan
        that may have changed them started."""
        roots = self._roots()
        if roots != stream.roots:
            # The new stream is armed before the old one is closed, and the old one is
            # given one poll and one quiet step to deliver what it saw until then.
            old, stream = stream, await self._open(roots)
            await asyncio.sleep(
                ((self.poll_ms if self.polling else 0) + 2 * self.debounce_ms) / 1000
            )
            await old.close()
            self._streams.remove(old)
            # Files in folders that nobody watched until now: the plan read them after
            # `began`, and a change since then was seen by no stream.
            late = self._changed_since(began, outside=old.roots)
            if late:
                self.queue.put_nowait({(watchfiles.Change.modified, str(p)) for p in late})
        if not stream.announced:
            count = len(stream.roots)
            self._say(
                f"Watching {count} folder{'s' if count != 1 else ''} for changes (Ctrl-C to stop)."
            )
            stream.announced = True
        return stream

    def _changed_since(self, began: float, outside: list[Path]) -> list[Path]:
        """Dependencies outside the ``outside`` folders modified since ``began``."""
        # Files are stamped by the kernel's coarse clock, a tick behind time.time().
        since = began - 0.1
        late = []
        for path in sorted(self.session.watched_paths()):
            resolved = path.resolve()
            if any(resolved.is_relative_to(root) for root in outside):
                continue
            with contextlib.suppress(OSError):
                if resolved.is_file() and resolved.stat().st_mtime >= since:
                    late.append(resolved)
        return late

    async def _show(self, batch: Batch, preview: Iterable[Path]) -> None:
        if self.clear:
            self.out.write(CLEAR)
        self._say("")
        self._say(batch.header)
        if batch.text:
            self._say(batch.text)
        self._say(f"(planned in {batch.elapsed * 1000:.0f} ms)")
        if self.on_update is not None:
            await self.on_update()
        if self.previewer is not None:
            planned = self.session.planned(preview)
            if planned:
                for line in await self.previewer.run(planned):
                    self._say(line)
                if self.on_update is not None:
                    await self.on_update()

    def _say(self, text: str) -> None:
        self.out.write(redact(text) + "\n")  # like every message that leaves reelform
        self.out.flush()
