"""Approvals: which renders of which videos a reviewer has looked at and passed.

``specs/welcome.yaml`` has its approvals in ``specs/welcome.approvals``, a text
file committed beside the spec and its lockfile::

    # reelform approvals of welcome.yaml: one approved video a line, NAME IDENTITY.
    # ...
    welcome-1 5f0c...e1
    welcome-2 9ab4...07

An approval names a video *and* its render identity (``Request.fingerprint``,
what decides the render), so any later change to the video voids it without
anyone touching this file: the stale line simply no longer matches, and is
harmless. Video names cannot hold spaces (speclang/model.py, ``NAME_PATTERN``)
and an identity is 64 hex digits, so one space between them is unambiguous.

Merging: lines are sorted by name, so two branches approving different videos
touch different lines and merge cleanly; adjacent lines are merged by the
``merge=union`` attribute the scaffolded ``.gitattributes`` sets, which keeps the
lines of both sides. A union can leave two lines for one video (one branch
approved the old render, the other the new): both are kept as approvals of
their own render, which is exactly what each line says, and the next write
keeps them until that video is approved or rejected again.

Writes are atomic (atomic.py) and serialised with an ``flock`` on a sidecar
``welcome.approvals.flock`` (the approvals file itself is replaced on every write,
so it cannot carry the lock): two browser tabs, the gallery and ``reelform
approve`` read-modify-write one after the other and lose nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reelform.atomic import atomic_write
from reelform.errors import ConfigError, Location, Problem, SpecError
from reelform.speclang.load import real_spec_path
from reelform.speclang.model import NAME_RE

SUFFIX = ".approvals"
_IDENTITY_RE = re.compile(r"^[0-9a-f]{64}$")
_CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")


def approvals_path(spec_path: Path) -> Path:
    """``specs/welcome.yaml`` -> ``specs/welcome.approvals``, of the real file (as the lock)."""
    return real_spec_path(spec_path).with_suffix(SUFFIX)


def _flock_path(path: Path) -> Path:
    return path.with_name(path.name + ".flock")


@dataclass(frozen=True)
class Approvals:
    """The approvals of one spec."""

    #: Video name -> the approved render identity (the first line of a name in the file).
    by_name: Mapping[str, str]
    #: Further approved identities of a name, left by a ``merge=union`` of two branches.
    others: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def approved(self, name: str, identity: str) -> bool:
        """Whether this render (``Request.fingerprint``) of the video was approved."""
        if self.by_name.get(name) == identity:
            return True
        extra = self.others.get(name)
        return extra is not None and identity in extra

    def void(self, name: str, identity: str) -> bool:
        """The video was approved, but as another render: it changed since."""
        return name in self.by_name and not self.approved(name, identity)

    def lines(self) -> list[tuple[str, str]]:
        """Every (name, identity) pair, sorted: what the file holds."""
        pairs = {(name, identity) for name, identity in self.by_name.items()}
        pairs.update((name, i) for name, more in self.others.items() for i in more)
        return sorted(pairs)


EMPTY = Approvals({})


def read_approvals(spec_path: Path) -> Approvals:
    """The spec's approvals; no file means none. A malformed line is a SpecError
    (``FILE:LINE:COL: message``), never silently skipped: approvals gate paying."""
    found = find_approvals(spec_path)
    return EMPTY if found is None else found


def find_approvals(spec_path: Path) -> Approvals | None:
    """As ``read_approvals``, but None when the spec has no approvals file (so that
    `plan` says nothing of approvals to a project that does not use them)."""
    path = approvals_path(spec_path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SpecError.at(str(path), None, None, f"cannot read: {exc.strerror}") from None
    return parse_approvals(raw, str(path))


def parse_approvals(raw: bytes, file: str) -> Approvals:
    """Parse the file's bytes (pure); ``file`` is the name problems carry."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError.at(file, where, column, "not UTF-8 text") from None
    by_name: dict[str, str] = {}
    others: dict[str, set[str]] = {}
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        column = len(line) - len(line.lstrip()) + 1
        problem = _line_problem(line, stripped)
        if problem is not None:
            offset, message = problem
            problems.append(Problem(Location(file, number, column + offset), message))
            continue
        name, identity = stripped.split()
        first = by_name.setdefault(name, identity)
        if first != identity:
            others.setdefault(name, set()).add(identity)
    if problems:
        raise SpecError(problems)
    return Approvals(by_name, {name: frozenset(more) for name, more in others.items()})


def _line_problem(line: str, stripped: str) -> tuple[int, str] | None:
    """(column offset within the stripped line, message) of a bad line, or None."""
    if stripped.startswith(_CONFLICT_MARKERS):
        return 0, (
            "an unresolved merge conflict: keep the lines of both sides (each approves "
            "its own render) and delete the markers; `*.approvals merge=union` in "
            ".gitattributes merges them for you"
        )
    fields = stripped.split()
    if len(fields) != 2:
        return 0, (
            f"expected NAME IDENTITY (two fields separated by a space), found {len(fields)} "
            "field" + ("" if len(fields) == 1 else "s")
        )
    name, identity = fields
    if not NAME_RE.match(name):
        return 0, f"{name!r} is not a video name (letters, digits, '.', '_', '-')"
    if not _IDENTITY_RE.match(identity):
        return stripped.index(identity, len(name)), (
            f"{identity!r} is not a render identity (64 lowercase hex digits)"
        )
    return None


def render_approvals(approvals: Approvals, spec_name: str) -> bytes:
    """The file's bytes: a header saying what it is, then one sorted line per approval."""
    header = (
        f"# reelform approvals of {spec_name}: one approved video a line, NAME IDENTITY.\n"
        "# IDENTITY is the render identity of the video a reviewer watched; any change to\n"
        "# the video changes it and voids the line. Written by `reelform approve` and the\n"
        "# review gallery; `reelform apply --approved` submits only approved videos.\n"
    )
    body = "".join(f"{name} {identity}\n" for name, identity in approvals.lines())
    return (header + body).encode("utf-8")


def record_approvals(
    spec_path: Path, approve: Mapping[str, str], reject: Iterable[str]
) -> Approvals:
    """Approve renders (name -> identity) and withdraw approvals (names); returns the new state.

    Read-modify-write under the sidecar lock, written atomically, sorted. Approving a
    video replaces every approval it had (a new render was watched); rejecting removes
    them all. A file that does not parse is left untouched (SpecError). Nothing is
    written when nothing changes.
    """
    rejected = set(reject)
    _check_request(approve, rejected)
    path = approvals_path(spec_path)
    with _serialised(path):
        try:
            raw: bytes | None = path.read_bytes()
        except FileNotFoundError:
            raw = None
        current = EMPTY if raw is None else parse_approvals(raw, str(path))
        by_name = {n: i for n, i in current.by_name.items() if n not in rejected}
        others = {
            n: more for n, more in current.others.items() if n not in rejected and n not in approve
        }
        by_name.update(approve)
        new = Approvals(dict(sorted(by_name.items())), others)
        data = render_approvals(new, real_spec_path(spec_path).name)
        if raw != data and not (raw is None and not new.by_name):
            atomic_write(path, data)
    return new


def _check_request(approve: Mapping[str, str], rejected: set[str]) -> None:
    for name, identity in approve.items():
        if not NAME_RE.match(name):
            raise ConfigError(f"cannot approve {name!r}: not a video name")
        if not _IDENTITY_RE.match(identity):
            raise ConfigError(f"cannot approve {name}: {identity!r} is not a render identity")
    for name in rejected:
        if not NAME_RE.match(name):
            raise ConfigError(f"cannot reject {name!r}: not a video name")
    both = sorted(rejected & approve.keys())
    if both:
        raise ConfigError(f"both approved and rejected: {', '.join(both)}")


@contextlib.contextmanager
def _serialised(path: Path) -> Iterator[None]:
    """Hold the sidecar lock of an approvals file (blocking: writes take milliseconds).

    The sidecar stays on disk: removing it would let a waiter lock a file nobody else
    opens (state/lock.py handles that for the long-held apply lock; here it is not
    worth it). The scaffolded .gitignore ignores ``*.approvals.flock``.
    """
    try:
        fd = os.open(_flock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot lock for writing: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock
