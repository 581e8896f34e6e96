"""Which specs a changed file affects: pure functions, no I/O.

`watch` re-plans only what a change can alter. Each spec is known by the files
it read when it was last loaded (``LoadedSpec.dependencies``: the spec, its data
files, the templates it included, its assets, plus its lockfile); a spec that
failed keeps the dependencies it had before, so fixing a template it used still
re-plans it. Two kinds of files are not anyone's dependency yet:

- a new spec file in a watched folder (it is added), and
- a file in a template folder that no spec has read: it may be the template a
  failing spec could not find, or one that now shadows ``../templates/x.j2``
  from ``templates/x.j2``. It re-plans the failing specs that search that folder,
  and, when the file is new, every spec that searches it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reelform.speclang.load import SPEC_SUFFIXES, real_spec_path

#: Folders below a watched DIR whose YAML files are not specs (as `find_specs` skips them).
NOT_SPEC_FOLDERS = frozenset({"templates", "data", "assets", ".reelform"})


class ChangeKind(enum.StrEnum):
    ADDED = "added"
    MODIFIED = "changed"
    DELETED = "deleted"


@dataclass(frozen=True, order=True)
class Change:
    path: Path  # absolute and resolved, as the watcher reports it
    kind: ChangeKind


@dataclass(frozen=True)
class Watched:
    """What routing needs to know about one spec."""

    dependencies: frozenset[Path]  # absolute, resolved; includes the spec itself
    failing: bool = False


@dataclass(frozen=True)
class Routing:
    replan: frozenset[Path]  # known specs to load and plan again
    added: frozenset[Path]  # new spec files
    removed: frozenset[Path]  # known specs whose file is gone

    @property
    def specs(self) -> frozenset[Path]:
        return self.replan | self.added

    def __bool__(self) -> bool:
        return bool(self.replan or self.added or self.removed)


def template_dirs(spec: Path) -> tuple[Path, Path]:
    """Where a spec's templates are searched (as ``spec.render.make_environment`` does):
    beside the real file, for a spec reached through a symlink."""
    folder = real_spec_path(spec).parent
    return folder / "templates", folder.parent / "templates"


def is_spec_file(path: Path, folders: Iterable[Path]) -> bool:
    """Would `find_specs` list ``path`` when given one of ``folders``?"""
    if path.suffix not in SPEC_SUFFIXES:
        return False
    for folder in folders:
        if path.is_relative_to(folder):
            between = path.relative_to(folder).parts[:-1]
            if not NOT_SPEC_FOLDERS & set(between):
                return True
    return False


def route(
    changes: Iterable[Change], specs: Mapping[Path, Watched], folders: Sequence[Path]
) -> Routing:
    """Decide what a batch of changes re-plans.

    ``specs`` maps each watched spec (absolute, resolved) to what it depends on;
    ``folders`` are the DIR arguments, where new spec files are picked up.
    """
    replan: set[Path] = set()
    added: set[Path] = set()
    removed: set[Path] = set()
    users: dict[Path, set[Path]] = {}
    for spec, watched in specs.items():
        for dependency in watched.dependencies:
            users.setdefault(dependency, set()).add(spec)
    for change in changes:
        path = change.path
        if path in specs:
            (removed if change.kind is ChangeKind.DELETED else replan).add(path)
            continue
        if path in users:
            replan |= users[path]
            continue
        if change.kind is not ChangeKind.DELETED and is_spec_file(path, folders):
            added.add(path)
            continue
        for spec, watched in specs.items():
            if path.parent in template_dirs(spec) and (
                watched.failing or change.kind is ChangeKind.ADDED
            ):
                replan.add(spec)
    replan -= removed
    return Routing(frozenset(replan), frozenset(added - replan), frozenset(removed))


def describe(changes: Sequence[Change], base: Path, limit: int = 2) -> str:
    """'templates/welcome.txt.j2 changed', 'a.csv, b.csv changed and 3 more'."""

    def shown(path: Path) -> str:
        return path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)

    ordered = sorted(changes)
    kinds = {c.kind for c in ordered}
    verb = next(iter(kinds)).value if len(kinds) == 1 else "changed"
    names = ", ".join(shown(c.path) for c in ordered[:limit])
    more = f" and {len(ordered) - limit} more" if len(ordered) > limit else ""
    return f"{names} {verb}{more}"
