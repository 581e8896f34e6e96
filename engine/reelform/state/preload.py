"""Reading a large lockfile on the second core while the spec is expanded.

A no-op `plan` of 100,000 videos spends about as long parsing the lockfile and
checking the output files as it does rendering templates, and the two do not
depend on each other. So when the lockfile is large and the process has a
single thread (forking a threaded process is unsafe), a forked child reads the
lockfile and stats the outputs while the parent expands the spec, and sends
back a ``LockSummary``: per video that is completed with its output file intact,
its fingerprint and label in one string (None for any other). If every video is unchanged, that
summary is the whole plan; otherwise the caller reads the lockfile in full
(``lock_source.py``).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

from reelform.forked import Forked, can_fork
from reelform.state.lockfile import LockState, Records, read_lock
from reelform.state.outputs import OutputFolder, OutputStatus
from reelform.state.records import AvatarRecord, FileRecord
from reelform.traits import LABELS

#: The one label field (``traits.LABELS``) a summary carries: a second would need
#: ``unchanged_key`` to say where each ends (this fails at import until it does).
(LABEL,) = LABELS

#: Below this size, reading the lockfile takes less than a fork costs.
PRELOAD_MIN_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class LockSummary:
    digest: str
    files: MutableMapping[str, FileRecord]
    avatars: MutableMapping[str, AvatarRecord]
    #: name -> ``unchanged_key`` of a video completed with its output file intact, None
    #: for any other: all a no-op plan compares, in one string (each object here is
    #: pickled by the child and unpickled by the parent)
    videos: dict[str, str | None]
    #: the videos whose record keeps superseded jobs (``state.merge``)
    superseded: frozenset[str] = frozenset()


def unchanged_key(fingerprint: object, label: object) -> str | None:
    """A video's fingerprint and label in one string, equal for two videos only when
    both are (None: no key, the video is not unchanged by the summary's word).

    A fingerprint is 64 hex digits, so the label after it cannot be mistaken for part
    of it; no label, the fingerprint alone; a label that is not a string (a lockfile
    edited by hand), no key: the full diff looks at it."""
    if type(fingerprint) is not str or len(fingerprint) != 64:
        return None
    if label is None:
        return fingerprint
    if type(label) is str:
        return f"{fingerprint}:{label}"
    return None


def summarize(state: LockState, directory: Path) -> LockSummary:
    videos: dict[str, str | None] = {}
    table = state.videos
    # Each video's JSON as read, not its record: building 100,000 records for three of
    # their fields would be a third of this child's work, and a no-op plan waits for it.
    json = table.json if isinstance(table, Records) else lambda name: table[name].to_json()
    superseded = []
    with OutputFolder(str(directory)) as folder:
        for name in table:
            entry = json(name)
            if "superseded" in entry:
                superseded.append(name)
            status, output = entry.get("status"), entry.get("output")
            intact = (
                status == "completed"
                and output is not None
                and folder.status(
                    output.get("path"),
                    output.get("bytes"),
                    output.get("mtime_ns"),
                    output.get("sha256"),
                )
                is OutputStatus.OK
            )
            if not intact:
                videos[name] = None
                continue
            inputs = entry.get("inputs")
            label = inputs.get(LABEL) if inputs else None
            videos[name] = unchanged_key(entry.get("fingerprint"), label)
    return LockSummary(state.digest, state.files, state.avatars, videos, frozenset(superseded))


class Preload(Forked[LockSummary]):
    """``summarize`` of a lockfile running in a forked child (``forked.py``); ``result``
    waits for it. (The PostgreSQL backend's read runs in one through ``Forked.start``.)"""

    def __init__(self, lock_path: Path, directory: Path) -> None:
        super().__init__(lambda: summarize(read_lock(lock_path), directory))

    @classmethod
    def start_reading(cls, lock_path: Path, directory: Path) -> Preload | None:
        """The lockfile summarized in a child, when it is large enough to be worth it."""
        try:
            large = lock_path.stat().st_size >= PRELOAD_MIN_BYTES
        except OSError:
            return None
        return cls(lock_path, directory) if large and can_fork() else None
