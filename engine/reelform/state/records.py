"""The lockfile's records, typed: what reelform did for a video, a photo avatar, an
upload and a file.

Records are immutable: a change is a new record (``dataclasses.replace``), which the
journal makes durable and mirrors into the ``LockState``. Nothing downstream holds
a dict, so a misspelt field is a type error rather than a silent ``None``, and a
status is a ``Status`` rather than any string.

JSON appears only at the file's edges (parsing, dumping, journal replay), through
``from_json`` and ``to_json``. The round trip is exact, because the lockfile is
committed and a load and save must not rewrite lines nobody changed:

* ``extra`` keeps the fields this reelform does not know, verbatim: an older or
  newer reelform's, or another tool's. They go back out with the record, and with
  every record ``replace`` makes from it.
* ``nulls`` names the known fields the JSON holds as ``null`` rather than leaves
  out. Both read as ``None``; only the bytes written differ.

``from_json`` checks nothing: ``shapes.record_problem`` has checked every record
before it is built (the lockfile's reader, the journal's replay and repair all do),
and checking a 100,000-video lockfile twice would double the cost of reading it.

Pure: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar


class Status(enum.StrEnum):
    """Where the job of a video (or of a photo avatar) stands, as the lockfile says."""

    SUBMITTING = "submitting"  # the intent is durable, the job id is not: it may exist
    SUBMITTED = "submitted"  # a job id is on record: polled, never submitted again
    COMPLETED = "completed"
    FAILED = "failed"  # the provider said so (nothing else makes a job failed)
    UNKNOWN = "unknown"  # whether the provider made the job cannot be known

    @classmethod
    def _missing_(cls, value: object) -> Status | None:
        # A status reelform does not write (a hand edit, another tool) is an unnamed
        # Status, equal to none of the above (the plan calls it unexpected, as it
        # always has) and written back as it was read.
        if not isinstance(value, str):
            return None
        status = str.__new__(cls, value)
        status._name_ = None  # type: ignore[assignment]
        status._value_ = value
        return status

    @classmethod
    def of(cls, value: str) -> Status:
        """``Status(value)``, without the Enum machinery for the statuses reelform writes."""
        return _STATUSES.get(value) or cls(value)


_STATUSES: dict[str, Status] = {status.value: status for status in Status}


class _NoFields(Mapping[str, Any]):
    """The ``extra`` of nearly every record: one empty mapping, immutable, hashable (so
    a dataclass default) and picklable (the preload sends records between processes),
    which neither a dict nor a mapping proxy is all of."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"

    def __reduce__(self) -> str:
        return "_EMPTY"  # unpickled as this module's one instance


_EMPTY: Mapping[str, Any] = _NoFields()
_NO_NULLS: frozenset[str] = frozenset()


_Setter = Callable[[object, object], None]


class _Record:
    """What every record has besides its fields. ``_prepare`` gives each record class
    the rest once it is made: its slots' setters, and the names of its JSON fields."""

    __slots__ = ()
    extra: Mapping[str, Any]
    nulls: frozenset[str]
    _SET: ClassVar[dict[str, _Setter]]  # every field's
    _SETTERS: ClassVar[tuple[tuple[_Setter, str], ...]]  # the JSON fields', with names
    _KNOWN: ClassVar[frozenset[str]]  # the JSON fields' names


R = TypeVar("R", bound=_Record)
_new = object.__new__


def _prepare(cls: type[R]) -> type[R]:
    """Give a record class its slots' setters, for ``_from_json``."""
    cls._SET = {f.name: getattr(cls, f.name).__set__ for f in fields(cls)}  # type: ignore[arg-type]
    names = [name for name in cls._SET if name not in ("extra", "nulls")]
    cls._SETTERS = tuple((cls._SET[name], name) for name in names)
    cls._KNOWN = frozenset(names)
    return cls


def _from_json(cls: type[R], data: Mapping[str, Any]) -> R:
    """A record with every field of ``data`` as it is (a ``Status`` or a nested record
    is the caller's to convert), built without the dataclass's ``__init__``.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``,
    found by name each time; the slots' own setters, found once, take half as long,
    and reading a lockfile of 100,000 videos builds 200,000 records. Every slot is
    set: ``_SETTERS`` holds all the fields but these two.
    """
    record = _new(cls)
    get = data.get
    for setter, name in cls._SETTERS:
        setter(record, get(name))
    known, set_ = cls._KNOWN, cls._SET
    if data.keys() <= known:  # nearly always: one set comparison, in C
        set_["extra"](record, _EMPTY)
    else:
        set_["extra"](record, {name: value for name, value in data.items() if name not in known})
    if None not in data.values():  # nearly always
        set_["nulls"](record, _NO_NULLS)
    else:
        nulls = frozenset(name for name, value in data.items() if value is None and name in known)
        set_["nulls"](record, nulls)
    return record


def _to_json(record: _Record) -> dict[str, Any]:
    data = dict(record.extra)  # never a known field's name (``_from_json``)
    nulls = record.nulls
    for _, name in record._SETTERS:
        value = getattr(record, name)
        if value is not None:
            data[name] = value
        elif name in nulls:
            data[name] = None
    return data


@_prepare
@dataclass(frozen=True, slots=True)
class VideoOutput(_Record):
    """A finished video: where the provider has it and, once downloaded, its file."""

    path: str | None = None  # relative to the spec's folder, POSIX
    sha256: str | None = None
    bytes: int | None = None
    mtime_ns: int | None = None
    url: str | None = None  # never with a signed URL's query (``decide.recordable_url``)
    duration: float | None = None
    #: The URL was signed and its query dropped: ask the provider for a fresh one.
    signed: bool | None = None
    extra: Mapping[str, Any] = _EMPTY
    nulls: frozenset[str] = _NO_NULLS

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VideoOutput:
        return _from_json(cls, data)

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)


@_prepare
@dataclass(frozen=True, slots=True)
class VideoRecord(_Record):
    """One video: what was asked for (``fingerprint``, ``inputs``) and where its job is.

    Every field may be absent: a lockfile from an older reelform, a record written
    mid-way through an apply. No record at all reads as ``VideoRecord()``.
    """

    fingerprint: str | None = None
    key: str | None = None  # the idempotency key sent to the provider
    inputs: Mapping[str, Any] | None = None  # what the fingerprint was taken of
    provider: str | None = None
    status: Status | None = None
    job_id: str | None = None
    error: str | None = None
    submitted_at: str | None = None
    completed_at: str | None = None
    output: VideoOutput | None = None
    extra: Mapping[str, Any] = _EMPTY
    nulls: frozenset[str] = _NO_NULLS

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VideoRecord:
        record = _from_json(cls, data)
        status = data.get("status")
        if status is not None:
            cls._SET["status"](record, Status.of(status))
        output = data.get("output")
        if output is not None:
            cls._SET["output"](record, VideoOutput.from_json(output))
        return record

    def to_json(self) -> dict[str, Any]:
        data = _to_json(self)
        if self.output is not None:
            data["output"] = self.output.to_json()
        return data


@_prepare
@dataclass(frozen=True, slots=True)
class AvatarRecord(_Record):
    """One photo avatar at one provider (keyed ``provider/name``)."""

    fingerprint: str | None = None
    inputs: Mapping[str, Any] | None = None
    provider: str | None = None
    model: str | None = None
    status: Status | None = None
    motion_id: str | None = None  # the provider's job making it
    avatar_id: int | str | None = None  # what the videos use, once it is made
    error: str | None = None
    submitted_at: str | None = None
    extra: Mapping[str, Any] = _EMPTY
    nulls: frozenset[str] = _NO_NULLS

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AvatarRecord:
        record = _from_json(cls, data)
        status = data.get("status")
        if status is not None:
            cls._SET["status"](record, Status.of(status))
        return record

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)


@_prepare
@dataclass(frozen=True, slots=True)
class UploadRecord(_Record):
    """Where a provider has an asset (keyed ``provider:sha256``): uploaded only once."""

    url: str | None = None
    at: str | None = None
    extra: Mapping[str, Any] = _EMPTY
    nulls: frozenset[str] = _NO_NULLS

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UploadRecord:
        return _from_json(cls, data)

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)


@_prepare
@dataclass(frozen=True, slots=True)
class FileRecord(_Record):
    """The hash cache: an asset file's facts (keyed by its path), so a file whose size
    and mtime are unchanged is not read again (``speclang.assets.FileFacts``)."""

    sha256: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    extra: Mapping[str, Any] = _EMPTY
    nulls: frozenset[str] = _NO_NULLS

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileRecord:
        return _from_json(cls, data)

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)


Record = VideoRecord | AvatarRecord | UploadRecord | FileRecord

#: The record class of each lockfile section.
RECORD_TYPES: dict[str, type[Record]] = {
    "files": FileRecord,
    "uploads": UploadRecord,
    "avatars": AvatarRecord,
    "videos": VideoRecord,
}
