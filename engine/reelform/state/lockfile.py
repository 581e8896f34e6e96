"""The lockfile: what reelform has done for a spec, committed beside it.

``specs/welcome.yaml`` is locked by ``specs/welcome.lock``: JSON with sorted keys
and one record per line, so a changed video changes only its own line in a diff.
Sections (each a mapping, sorted):

    version   1
    files     path -> FileRecord (sha256, size, mtime_ns, format, ...): the hash cache
    uploads   "<provider>:<sha256>" -> UploadRecord (url, at): where a provider has an asset
    avatars   "<provider>/<name>" -> AvatarRecord (fingerprint, inputs, motion_id, status, ...)
    videos    video name -> VideoRecord (fingerprint, key, inputs, job_id, status, output, ...)

In memory the records are typed (``records.py``); their JSON is read only here, in
the journal's replay, in repair and by the preload's summary (which reads it so as
not to build 100,000 records for three fields of each).

Between compactions, changes go to an append-only journal (``journal.py``) beside
the lockfile; ``read_lock`` replays it, so a killed apply loses nothing it had
acknowledged. A lockfile that cannot be read is reported and never overwritten;
`reelform lock repair` (``repair.py``) recovers its good records.
JSON rather than YAML: a 100,000-video lockfile must load and save in under 1 s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

import orjson

from reelform import heap
from reelform.atomic import atomic_write
from reelform.atomic import fsync_dir as fsync_dir  # the journal uses it too
from reelform.errors import LockfileError
from reelform.state.records import (
    RECORD_TYPES,
    AvatarRecord,
    FileRecord,
    Record,
    UploadRecord,
    VideoRecord,
)
from reelform.state.shapes import journal_problem, json_type, section_problems, where

LOCK_VERSION = 1
SECTIONS = ("files", "uploads", "avatars", "videos")
JOURNAL_SUFFIX = ".journal"


R = TypeVar("R", VideoRecord, AvatarRecord, UploadRecord, FileRecord)
T = TypeVar("T")


class Records(MutableMapping[str, R]):
    """A section of a lockfile as read: its records by key, each built from its JSON
    the first time it is read.

    Building every record of 100,000 videos at load would cost half again the time
    it takes to parse the file, and not every reader reads them all: the preload's
    summary reads none (``preload.summarize``), and a record never read is written
    back from the JSON it was read from. Only JSON that ``shapes`` has checked goes
    in (``parse_lock``).
    """

    __slots__ = ("_items", "_kind")

    def __init__(self, kind: type[R], checked: dict[str, Any] | None = None) -> None:
        self._kind: type[R] = kind
        #: A record, or the JSON of one not read yet (``checked`` is taken, not copied).
        self._items: dict[str, Any] = {} if checked is None else checked

    def __getitem__(self, key: str) -> R:
        value = self._items[key]
        if type(value) is dict:
            value = self._items[key] = self._kind.from_json(value)
        record: R = value
        return record

    @overload
    def get(self, key: str, /) -> R | None: ...
    @overload
    def get(self, key: str, /, default: R | T) -> R | T: ...

    def get(self, key: str, /, default: object = None) -> object:
        # Not Mapping's: it goes through __getitem__ raising KeyError for a missing key.
        value = self._items.get(key)
        if value is None:
            return default
        if type(value) is dict:
            value = self._items[key] = self._kind.from_json(value)
        return value

    def __setitem__(self, key: str, record: R) -> None:
        self._items[key] = record

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Records({self._kind.__name__}, {len(self._items):,} records)"

    def json(self, key: str) -> Mapping[str, Any]:
        """The JSON of the record of ``key``: as read, if nobody has read the record."""
        value = self._items[key]
        return value if type(value) is dict else value.to_json()


def _records(kind: type[R]) -> Callable[[], MutableMapping[str, R]]:
    return lambda: Records(kind)


@dataclass
class LockState:
    """The lockfile in memory: its records (immutable), by section and key.

    Read from a file, each section is ``Records`` (built as they are read); any
    mutable mapping of records will do (the tests give dicts).
    """

    files: MutableMapping[str, FileRecord] = field(default_factory=_records(FileRecord))
    uploads: MutableMapping[str, UploadRecord] = field(default_factory=_records(UploadRecord))
    avatars: MutableMapping[str, AvatarRecord] = field(default_factory=_records(AvatarRecord))
    videos: MutableMapping[str, VideoRecord] = field(default_factory=_records(VideoRecord))
    #: sha256 of the lockfile and journal bytes as read: a saved plan's staleness check
    digest: str = ""

    def section(self, name: str) -> Mapping[str, Record]:
        return self._table(name)

    def _table(self, name: str) -> MutableMapping[str, Any]:
        if name not in SECTIONS:
            raise ValueError(f"unknown lockfile section {name!r}")
        table: MutableMapping[str, Any] = getattr(self, name)
        return table

    def apply_change(self, section: str, key: str, value: Record | None) -> None:
        """Set (or, with None, remove) one record of ``section``."""
        table = self._table(section)
        check_change(section, value)
        if value is None:
            if key in table:
                del table[key]  # not pop(): it would build the record it drops
        else:
            table[key] = value

    def to_json(self) -> dict[str, Any]:
        return {
            "version": LOCK_VERSION,
            **{
                name: {key: record.to_json() for key, record in self.section(name).items()}
                for name in SECTIONS
            },
        }


def check_change(section: str, value: Record | None) -> None:
    """Refuse a record of another section's kind: written there, it would be read back
    as that section's (a video's record as a photo avatar's)."""
    if section not in SECTIONS:
        raise ValueError(f"unknown lockfile section {section!r}")
    if value is not None and type(value) is not RECORD_TYPES[section]:
        raise TypeError(f"a {type(value).__name__} is not a record of {section}")


def journal_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + JOURNAL_SUFFIX)


def read_lock(path: Path) -> LockState:
    """Read a lockfile and replay its journal. A missing lockfile is an empty state."""
    import hashlib

    digest = hashlib.sha256()
    missing = False
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raw, missing = b"", True
    except OSError as exc:
        raise LockfileError(f"{path}: cannot read the lockfile: {exc.strerror}") from None
    digest.update(raw)
    # An empty file is not a missing one: reelform never writes one (writes are atomic),
    # and reading it as "nothing done yet" would submit, and pay for, everything again.
    state = LockState() if missing else parse_lock(raw, path)
    journal = journal_path(path)
    try:
        journal_raw = journal.read_bytes()
    except FileNotFoundError:
        journal_raw = b""
    except OSError as exc:
        raise LockfileError(f"{journal}: cannot read the journal: {exc.strerror}") from None
    if journal_raw:
        replay(journal_raw, journal, state)
        # The digest names the state, not how it is stored: with a journal it is the
        # digest of the lockfile that compaction will write (the same bytes), so a
        # plan saved before a compaction is not taken for stale after it.
        digest = hashlib.sha256(dump_lock(state))
    state.digest = digest.hexdigest()
    return state


def repair_command(lock_path: Path) -> str:
    """The command that repairs ``lock_path``: named by its spec where there is one."""
    for suffix in (".yaml", ".yml"):
        spec = lock_path.with_suffix(suffix)
        if spec.is_file():
            return f"reelform lock repair {spec}"
    return f"reelform lock repair {lock_path}"


def parse_lock(raw: bytes, path: Path) -> LockState:
    with heap.paused():
        return _parse_lock(raw, path)


def _parse_lock(raw: bytes, path: Path) -> LockState:
    def advice() -> str:  # only on an error: it looks for the spec beside the lockfile
        # Never "move it away": that would throw away job ids that were paid for.
        return (
            f"it was left as it is; `{repair_command(path)}` keeps every good record and "
            f"names each one it drops (or restore it: git checkout -- {path})"
        )

    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise LockfileError(
            f"{path}:{exc.lineno}:{exc.colno}: corrupt lockfile ({exc.msg}); {advice()}"
        ) from None
    if not isinstance(data, dict):
        raise LockfileError(
            f"{path}: not a reelform lockfile ({json_type(data)}, not an object); it was "
            f"left as it is; restore it (git checkout -- {path})"
        )
    if "version" not in data:
        raise LockfileError(f"{path}: not a reelform lockfile (no version); {advice()}")
    version = data["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise LockfileError(
            f"{path}{_at(raw, 'version')}: lockfile version {version!r} is not a number; {advice()}"
        )
    if version > LOCK_VERSION:
        raise LockfileError(
            f"{path}: written by a newer reelform (lockfile version {version}, "
            f"this reelform reads up to {LOCK_VERSION}); upgrade reelform. "
            "The lockfile was not modified."
        )
    if version < 1:
        raise LockfileError(f"{path}: unknown lockfile version {version}; {advice()}")
    unknown = set(data) - {"version", *SECTIONS}
    if unknown:
        raise LockfileError(
            f"{path}: corrupt lockfile: unknown sections {', '.join(sorted(unknown))}; {advice()}"
        )
    state = LockState()
    bad: list[tuple[str, str, str]] = []
    for name in SECTIONS:
        section = data.get(name, {})
        if type(section) is not dict:
            raise LockfileError(
                f"{path}{_at(raw, name)}: corrupt lockfile: `{name}` must be an object "
                f"mapping names to records, not {json_type(section)}; {advice()}"
            )
        bad += [(name, key, reason) for key, reason in section_problems(name, section)]
        if not bad:  # checked: the records are built from it as they are read
            setattr(state, name, Records(RECORD_TYPES[name], section))
    if bad:
        name, key, reason = bad[0]
        more = f" (and {len(bad) - 1:,} more bad records)" if len(bad) > 1 else ""
        raise LockfileError(
            f"{path}{_at(raw, name, key)}: corrupt lockfile: {where(name, key)}: "
            f"{reason}{more}; {advice()}"
        )
    return state


def _at(raw: bytes, section: str, key: str | None = None) -> str:
    """``:LINE`` of a top-level field or of a record in a section, for messages.

    Best effort, on the layout ``dump_lock`` writes (each record on its own line);
    a lockfile laid out otherwise is named without a line.
    """
    found = re.search(rb'^[ \t]*"' + re.escape(section.encode()) + rb'"\s*:', raw, re.MULTILINE)
    if found is None:
        return ""
    if key is not None:
        pattern = rb"^[ \t]*" + re.escape(orjson.dumps(key)) + rb"\s*:"
        found = re.compile(pattern, re.MULTILINE).search(raw, found.end())
        if found is None:
            return ""
    line = raw.count(b"\n", 0, found.start()) + 1
    return f":{line}"


def replay(raw: bytes, journal: Path, state: LockState) -> None:
    """Apply journal records in order. A torn last line (a crash mid-append, never
    acknowledged) is ignored; a bad line before the end means corruption."""
    with heap.paused():
        _replay(raw, journal, state)


def _replay(raw: bytes, journal: Path, state: LockState) -> None:
    def advice() -> str:
        return (
            f"it was left as it is; `{repair_command(journal.with_suffix(''))}` keeps every "
            "good record and names each one it drops"
        )

    lines = raw.split(b"\n")
    complete = raw.endswith(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        torn = not complete and number == len(lines)
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            if torn:
                return
            raise LockfileError(
                f"{journal}:{number}: corrupt journal record (not JSON); {advice()}"
            ) from None
        reason = journal_problem(record, SECTIONS)
        if reason is not None:
            if torn:
                return
            raise LockfileError(f"{journal}:{number}: corrupt journal record: {reason}; {advice()}")
        apply_journal_record(state, record)


def apply_journal_record(state: LockState, record: dict[str, Any]) -> None:
    """Apply one journal line ``{"s": section, "k": key, "v": record or null}`` that
    ``journal_problem`` has passed."""
    section, value = record["s"], record["v"]
    change = None if value is None else RECORD_TYPES[section].from_json(value)
    state.apply_change(section, record["k"], change)


def dump_lock(state: LockState) -> bytes:
    """Valid JSON with one record per line: a changed video changes one line of the diff.

    (Indenting every field would triple the size of a large lockfile and its
    load time, for no gain in review: a record's line shows all of it.)
    """
    return _dump({name: state.section(name) for name in SECTIONS}, _record_json)


def dump_json(sections: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The layout of ``dump_lock``, for sections of JSON records (a missing section is
    empty); the tests lay out damaged lockfiles with it, as reelform would."""
    return _dump({name: sections.get(name, {}) for name in SECTIONS}, _same)


def _record_json(section: Mapping[str, Record], key: str) -> Mapping[str, Any]:
    if isinstance(section, Records):
        return section.json(key)  # as read, for a record nobody read
    return section[key].to_json()


def _same(section: Mapping[str, Any], key: str) -> Any:
    return section[key]


def _dump(
    sections: Mapping[str, Mapping[str, Any]], to_json: Callable[[Mapping[str, Any], str], Any]
) -> bytes:
    # Each record's JSON is made, written and dropped in turn: holding 100,000 of them
    # at once would have the cyclic GC scan them all, several times over.
    parts = [b'{\n  "version": ' + str(LOCK_VERSION).encode()]
    for name, section in sections.items():
        if not section:
            parts.append(b',\n  "' + name.encode() + b'": {}')
            continue
        records = b",\n".join(
            b"    "
            + orjson.dumps(key)
            + b": "
            + orjson.dumps(to_json(section, key), option=_SORTED)
            for key in sorted(section)
        )
        parts.append(b',\n  "' + name.encode() + b'": {\n' + records + b"\n  }")
    return b"".join(parts) + b"\n}\n"


_SORTED = orjson.OPT_SORT_KEYS


def write_lock(path: Path, state: LockState) -> bool:
    """Write atomically (temp file, fsync, rename, fsync the folder); only if changed.

    Returns whether the file changed.
    """
    data = dump_lock(state)
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write(path, data)
    return True
