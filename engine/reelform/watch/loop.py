"""The watcher: file events in, batches of re-plans (and previews) out.

watchfiles groups events: a batch is yielded once nothing changed for
``debounce_ms`` (its ``step``), so an editor's save (write, rename, chmod) is one
batch. The folders watched are derived from what the specs depend on; when that
set changes (a spec starts reading a file elsewhere) the watcher is restarted on
the new folders.

``REELFORM_WATCH_POLL=1`` polls instead of using inotify/FSEvents (containers,
network file systems; the tests use it); ``REELFORM_WATCH_POLL_MS`` sets the
polling interval (default 100 ms). A poller compares mtimes in whole seconds, so
two saves of one file within the same second are seen as one.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

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
    ) -> None:
        env = os.environ if env is None else env
        self.session = session
        self.previewer = previewer
        self.debounce_ms = max(1, debounce_ms)
        self.out = out or sys.stdout
        self.clear = clear and self.out.isatty()
        self.polling = env.get("REELFORM_WATCH_POLL", "") not in ("", "0")
        self.poll_ms = int(env.get("REELFORM_WATCH_POLL_MS", "100") or 100)

    async def run(self) -> None:
        await self._show(self.session.start(), preview=list(self.session.specs))
        while True:
            roots = watch_roots(p.resolve() for p in self.session.watched_paths())
            self._say(
                f"Watching {len(roots)} folder{'s' if len(roots) != 1 else ''} "
                "for changes (Ctrl-C to stop)."
            )
            await self._watch(roots)

    async def _watch(self, roots: list[Path]) -> None:
        """Until the set of folders to watch changes."""
        stream = watchfiles.awatch(
            *roots,
            watch_filter=_Filter(),
            step=self.debounce_ms,
            debounce=max(1600, self.debounce_ms * 4),
            force_polling=self.polling,
            poll_delay_ms=self.poll_ms,
        )
        async with contextlib.aclosing(stream) as batches:
            async for raw in batches:
                batch = self.session.update(changes_of(raw))
                if batch is None:
                    continue
                await self._show(batch, preview=batch.replanned)
                now = watch_roots(p.resolve() for p in self.session.watched_paths())
                if now != roots:
                    return

    async def _show(self, batch: Batch, preview: Iterable[Path]) -> None:
        if self.clear:
            self.out.write(CLEAR)
        self._say("")
        self._say(batch.header)
        if batch.text:
            self._say(batch.text)
        self._say(f"(planned in {batch.elapsed * 1000:.0f} ms)")
        if self.previewer is not None:
            planned = self.session.planned(preview)
            if planned:
                for line in await self.previewer.run(planned):
                    self._say(line)

    def _say(self, text: str) -> None:
        self.out.write(redact(text) + "\n")  # like every message that leaves reelform
        self.out.flush()
