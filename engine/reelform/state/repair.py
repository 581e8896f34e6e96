"""`reelform lock repair`: keep every good record of a damaged lockfile and journal.

A lockfile or journal that cannot be read is refused by everything else (and
never overwritten), because guessing would risk paying for videos twice. But
the way out must not be "move it away": that throws away every job id in it,
and the next apply submits (and pays for) those videos again. Repair keeps
every record that is whole and of the right shape, drops the others, and names
each one it drops (file, line, an excerpt) so a person can see what was lost.

What it can read:

* a lockfile that parses, with bad records (wrong types, see ``shapes``),
  unknown sections or a bad version: the bad parts are dropped;
* a lockfile that does not parse (a bad hand edit, merge conflict markers): it
  is read line by line in the layout reelform writes (one record per line), and
  every line that is a whole record is kept; of two records with the same name
  (both sides of a conflict) the later is kept and the earlier named as dropped;
* a journal with bad lines anywhere: good lines are replayed, in order, and the
  bad ones dropped. A torn last line (a crash mid-append) was never acknowledged
  and is dropped silently by every reader; repair drops it too, but a journal
  whose only flaw it is counts as healthy.

The result is written as the lockfile (atomically) and the journal removed, as
compaction does: a crash in between leaves a journal that replays onto the
repaired lockfile the same way, so running repair again finishes the job.

The pure part (``salvage_lock``, ``salvage_journal``) decides; ``repair`` reads,
holds the spec's process lock (never while an apply runs) and writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from reelform.errors import LockfileError
from reelform.secrets import redact
from reelform.state.lock import spec_lock
from reelform.state.lockfile import (
    LOCK_VERSION,
    SECTIONS,
    LockState,
    apply_journal_record,
    fsync_dir,
    journal_path,
    write_lock,
)
from reelform.state.records import RECORD_TYPES
from reelform.state.shapes import journal_problem, json_type, record_problem, where

#: How much of a dropped line is shown: enough to recognise it (and a job id in it).
EXCERPT = 120


@dataclass(frozen=True)
class Dropped:
    """One thing repair did not keep."""

    file: Path
    line: int | None
    what: str  # 'videos["a"]', "a line", ...
    reason: str
    excerpt: str

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        return f"{place}: dropped {self.what}: {self.reason}: {self.excerpt}"


@dataclass
class Salvage:
    """What could be kept, and what could not."""

    state: LockState
    kept_lock: int = 0
    kept_journal: int = 0
    dropped: list[Dropped] = field(default_factory=list)
    #: The journal ended in a torn record (harmless: never acknowledged).
    torn_tail: bool = False
    #: Damage that dropped no record (a lockfile that was not JSON, but whose every
    #: line was whole): said, and the file rewritten.
    notes: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Nothing to repair: every reader would accept these files as they are."""
        return not self.dropped and not self.notes


def excerpt(raw: bytes) -> str:
    """A short, printable, secret-free rendering of a dropped line or record."""
    text = raw.decode("utf-8", errors="replace").strip()
    text = "".join(c if c.isprintable() else "?" for c in text)
    text = redact(text)  # a lockfile never holds a key; a damaged one might hold anything
    return text if len(text) <= EXCERPT else text[: EXCERPT - 3] + "..."


def salvage_lock(raw: bytes, path: Path) -> Salvage:
    """The good records of a lockfile's bytes (``b""``: none, nothing dropped).

    Raises LockfileError only for what repair must not touch: a lockfile of a
    newer version (this reelform cannot tell its good records from bad ones).
    """
    if not raw:
        return Salvage(LockState())
    if not raw.strip():
        # reelform never writes an empty lockfile (writes are atomic): its records went
        # missing outside reelform. Writing an empty one would have the next apply pay
        # for every video again; a person must decide that.
        raise LockfileError(
            f"{path}: empty, so there is no record in it to keep; restore it "
            f"(git checkout -- {path}), or remove it if nothing was ever applied"
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        salvage = _salvage_lines(raw, path)
        salvage.notes.append(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); read it line by line"
        )
        return salvage
    if not isinstance(data, dict):
        raise LockfileError(
            f"{path}: not a reelform lockfile ({json_type(data)}, not an object); "
            "there is nothing in it to repair"
        )
    salvage = Salvage(LockState())
    lines = _LineIndex(raw)
    version = data.get("version")
    if type(version) is int and version > LOCK_VERSION:
        raise _newer(path, version)
    if type(version) is not int or version != LOCK_VERSION:
        salvage.dropped.append(
            Dropped(
                path,
                lines.find(None, "version"),
                "the version",
                f"{version!r} is not lockfile version {LOCK_VERSION}; writing {LOCK_VERSION}",
                excerpt(orjson.dumps(version)) if "version" in data else "(none)",
            )
        )
    for name, section in data.items():
        if name == "version":
            continue
        line = lines.find(None, name)
        if name not in SECTIONS:
            salvage.dropped.append(
                Dropped(path, line, f"section {name!r}", "not a lockfile section", _short(section))
            )
            continue
        if type(section) is not dict:
            salvage.dropped.append(
                Dropped(
                    path,
                    line,
                    f"section {name!r}",
                    f"must be an object mapping names to records, not {json_type(section)}",
                    _short(section),
                )
            )
            continue
        build = RECORD_TYPES[name].from_json
        for key, record in section.items():
            reason = record_problem(name, record)
            if reason is None:
                salvage.state.apply_change(name, key, build(record))
                salvage.kept_lock += 1
                continue
            at = lines.find(name, key)
            salvage.dropped.append(Dropped(path, at, where(name, key), reason, _short(record)))
    salvage.dropped.sort(key=lambda d: d.line or 0)  # in file order
    return salvage


def _salvage_lines(raw: bytes, path: Path) -> Salvage:
    """A lockfile that is not JSON, read in the layout ``dump_lock`` writes."""
    salvage = Salvage(LockState())
    section: str | None = None
    seen: dict[tuple[str, str], int] = {}
    for number, line in enumerate(raw.split(b"\n"), start=1):
        text = line.strip()
        if text in (b"", b"{", b"}", b"},"):
            if text in (b"}", b"},"):
                section = None
            continue
        header = _SECTION.fullmatch(text)
        if header is not None:
            name = header.group(1).decode()
            section = name if name in SECTIONS and header.group(2) == b"{" else None
            if name not in SECTIONS:
                salvage.dropped.append(
                    Dropped(path, number, f"section {name!r}", "not a lockfile section", "")
                )
            continue
        version = _VERSION.fullmatch(text)
        if version is not None:
            if int(version.group(1)) > LOCK_VERSION:
                raise _newer(path, int(version.group(1)))
            continue
        record = _one_record(text) if section is not None else None
        if record is None or section is None:
            salvage.dropped.append(
                Dropped(path, number, "a line", "not a whole record", excerpt(line))
            )
            continue
        key, value = record
        reason = record_problem(section, value)
        if reason is not None:
            salvage.dropped.append(
                Dropped(path, number, where(section, key), reason, excerpt(line))
            )
            continue
        table = salvage.state.section(section)
        earlier = seen.get((section, key))
        if earlier is not None:  # both sides of a merge conflict: the later one stays
            salvage.dropped.append(
                Dropped(
                    path,
                    earlier,
                    where(section, key),
                    f"the same record again at line {number}; keeping that one",
                    _short(table[key].to_json()),
                )
            )
            salvage.kept_lock -= 1
        seen[(section, key)] = number
        salvage.state.apply_change(section, key, RECORD_TYPES[section].from_json(value))
        salvage.kept_lock += 1
    salvage.dropped.sort(key=lambda d: d.line or 0)  # in file order
    return salvage


_SECTION = re.compile(rb'"([^"]+)"\s*:\s*(\{\s*\}|\{)\s*,?')
_VERSION = re.compile(rb'"version"\s*:\s*(\d+)\s*,?')


def _one_record(text: bytes) -> tuple[str, dict[str, Any]] | None:
    """``"name": {...},`` -> (name, record), or None when the line is not that."""
    try:
        parsed = orjson.loads(b"{" + text.removesuffix(b",") + b"}")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict) or len(parsed) != 1:
        return None
    ((key, value),) = parsed.items()
    return key, value


def salvage_journal(raw: bytes, path: Path, salvage: Salvage) -> None:
    """Replay the good lines of a journal onto ``salvage.state``, in order."""
    lines = raw.split(b"\n")
    complete = raw.endswith(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        torn = not complete and number == len(lines)
        reason: str | None
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record, reason = None, "not JSON"
        else:
            reason = journal_problem(record, SECTIONS)
        if reason is None:
            apply_journal_record(salvage.state, record)
            salvage.kept_journal += 1
        elif torn:
            salvage.torn_tail = True  # a crash mid-append: never acknowledged, not damage
        else:
            what = "a line" if record is None else "a record"
            if isinstance(record, dict) and type(record.get("k")) is str:
                section = record.get("s")
                what = where(section, record["k"]) if type(section) is str else what
            reason = reason.removeprefix(f"{what}: ")  # named once is enough
            salvage.dropped.append(Dropped(path, number, what, reason, excerpt(line)))


class _LineIndex:
    """Where each top-level field and each record starts, in the layout ``dump_lock``
    writes; built on first use (only a damaged lockfile needs it), in one pass."""

    _HEADER = re.compile(rb'^ {0,2}"([^"\\]+)"\s*:')
    _RECORD = re.compile(rb'^\s+("(?:[^"\\]|\\.)*")\s*:')

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._lines: dict[tuple[str | None, str], int] | None = None

    def find(self, section: str | None, key: str) -> int | None:
        if self._lines is None:
            self._lines = self._build()
        return self._lines.get((section, key))

    def _build(self) -> dict[tuple[str | None, str], int]:
        lines: dict[tuple[str | None, str], int] = {}
        section: str | None = None
        for number, line in enumerate(self._raw.split(b"\n"), start=1):
            header = self._HEADER.match(line)
            if header is not None:
                section = header.group(1).decode("utf-8", errors="replace")
                lines.setdefault((None, section), number)
                continue
            record = self._RECORD.match(line) if section is not None else None
            if record is not None:
                try:
                    key = orjson.loads(record.group(1))
                except orjson.JSONDecodeError:
                    continue
                if isinstance(key, str):
                    lines.setdefault((section, key), number)
        return lines


def _short(value: object) -> str:
    return excerpt(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


def _newer(path: Path, version: int) -> LockfileError:
    return LockfileError(
        f"{path}: written by a newer reelform (lockfile version {version}, this "
        f"reelform reads up to {LOCK_VERSION}); upgrade reelform to repair it. "
        "The lockfile was not modified."
    )


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise LockfileError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def repair(lock_path: Path, spec: str) -> Salvage:
    """Repair ``lock_path`` and its journal in place, holding the spec's lock.

    Changes nothing when both are healthy; otherwise writes the good records as
    the lockfile (atomically) and removes the journal.
    """
    journal = journal_path(lock_path)
    with spec_lock(lock_path, spec, busy_hint="repair it once that apply has finished"):
        salvage = salvage_lock(_read(lock_path, "lockfile"), lock_path)
        salvage_journal(_read(journal, "journal"), journal, salvage)
        if salvage.healthy:
            return salvage
        if lock_path.exists() or any(salvage.state.section(name) for name in SECTIONS):
            write_lock(lock_path, salvage.state)
        journal.unlink(missing_ok=True)
        fsync_dir(lock_path.parent)
    return salvage
