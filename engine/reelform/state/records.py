"""The lockfile's records, typed: what reelform did for a video, a photo avatar, an
upload and a file.

Records are immutable: a change is a new record (``dataclasses.replace``), which the
journal makes durable and mirrors into the ``LockState``. Nothing downstream holds
a dict, so a misspelt field is a type error rather than a silent ``None``, and a
status is a ``Status`` rather than any string.

JSON appears only at the file's edges (parsing, dumping, journal replay), through
``from_json`` and ``to_json``; a lockfile's records are built as they are first read
(``lockfile.Records``). The round trip is exact, because the lockfile is
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


class _Record:
    """What every record has besides its fields; ``_converters`` writes the rest."""

    __slots__ = ()
    extra: Mapping[str, Any]
    nulls: frozenset[str]
    _from_json: ClassVar[Callable[[Mapping[str, Any]], Any]]
    _to_json: ClassVar[Callable[[Any], dict[str, Any]]]


R = TypeVar("R", bound=_Record)


def _converters(
    *,
    read: Mapping[str, Callable[[Any], Any]] | None = None,
    write: Mapping[str, Callable[[Any], Any]] | None = None,
) -> Callable[[type[R]], type[R]]:
    """Give a record class its ``_from_json`` and ``_to_json``, written for its fields
    as dataclasses write ``__init__``: straight-line code, no loop over the fields.

    ``read`` converts a field's JSON (not null) into its value, ``write`` back.

    A lockfile of 100,000 videos is 200,000 records to build and to write; a loop
    over the fields, or the frozen dataclass's ``__init__`` (``object.__setattr__``
    per field, found by name each time), takes twice as long. The record is built
    through its slots' own setters, so every field must be set here: all of them are.
    """
    read, write = read or {}, write or {}

    def prepare(cls: type[R]) -> type[R]:
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        json = [name for name in names if name not in ("extra", "nulls")]
        scope: dict[str, Any] = {
            "new": object.__new__,
            "cls": cls,
            "known": frozenset(json),
            "EMPTY": _EMPTY,
            "NO_NULLS": _NO_NULLS,
            "unknown": _unknown_fields,
            "null": _null_fields,
        }
        scope.update({f"set_{name}": getattr(cls, name).__set__ for name in names})
        scope.update({f"read_{name}": convert for name, convert in read.items()})
        scope.update({f"write_{name}": convert for name, convert in write.items()})
        lines = ["def from_json(data):", "    get = data.get", "    record = new(cls)"]
        for name in json:
            if name in read:
                lines.append(f"    value = get({name!r})")
                lines.append(
                    f"    set_{name}(record, None if value is None else read_{name}(value))"
                )
            else:
                lines.append(f"    set_{name}(record, get({name!r}))")
        lines += [
            "    set_extra(record, EMPTY if data.keys() <= known else unknown(data, known))",
            "    set_nulls(record, NO_NULLS if None not in data.values() else null(data, known))",
            "    return record",
            "def to_json(record):",
            "    data = {}",
        ]
        for name in json:
            value = f"write_{name}(value)" if name in write else "value"
            lines.append(f"    value = record.{name}")
            lines.append(f"    if value is not None: data[{name!r}] = {value}")
        lines += [
            "    if record.extra: data.update(record.extra)  # never a known field's name",
            "    for name in record.nulls: data.setdefault(name, None)",
            "    return data",
        ]
        exec("\n".join(lines), scope)  # our own code, from the field names
        cls._from_json = staticmethod(scope["from_json"])
        cls._to_json = scope["to_json"]
        return cls

    return prepare


def _unknown_fields(data: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    return {name: value for name, value in data.items() if name not in known}


def _null_fields(data: Mapping[str, Any], known: frozenset[str]) -> frozenset[str]:
    return frozenset(name for name, value in data.items() if value is None and name in known)


@_converters()
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
        record: VideoOutput = cls._from_json(data)
        return record

    def to_json(self) -> dict[str, Any]:
        return self._to_json()


@_converters(
    read={"status": Status.of, "output": VideoOutput._from_json},
    write={"output": VideoOutput._to_json},
)
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
    #: A copy (``plan.reuse``): ``{"spec": ..., "name": ...}`` of the video whose render
    #: it copied, the spec relative to this one's folder. Its file is its own.
    copied_from: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = _EMPTY
    nulls: frozenset[str] = _NO_NULLS

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VideoRecord:
        record: VideoRecord = cls._from_json(data)
        return record

    def to_json(self) -> dict[str, Any]:
        return self._to_json()


@_converters(read={"status": Status.of})
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
        record: AvatarRecord = cls._from_json(data)
        return record

    def to_json(self) -> dict[str, Any]:
        return self._to_json()


@_converters()
@dataclass(frozen=True, slots=True)
class UploadRecord(_Record):
    """Where a provider has an asset (keyed ``provider:sha256``): uploaded only once."""

    url: str | None = None
    at: str | None = None
    extra: Mapping[str, Any] = _EMPTY
    nulls: frozenset[str] = _NO_NULLS

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UploadRecord:
        record: UploadRecord = cls._from_json(data)
        return record

    def to_json(self) -> dict[str, Any]:
        return self._to_json()


@_converters()
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
        record: FileRecord = cls._from_json(data)
        return record

    def to_json(self) -> dict[str, Any]:
        return self._to_json()


Record = VideoRecord | AvatarRecord | UploadRecord | FileRecord

#: The record class of each lockfile section.
RECORD_TYPES: dict[str, type[Record]] = {
    "files": FileRecord,
    "uploads": UploadRecord,
    "avatars": AvatarRecord,
    "videos": VideoRecord,
}
