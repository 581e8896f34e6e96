"""A watch session: the specs being watched, what each depends on, and re-planning.

The session knows nothing about file watching: it is given batches of changes
(``Change``), asks ``affected.route`` which specs they touch, loads and plans
only those, and returns the text to print. That keeps it testable without a
watcher, and the watcher (``loop.py``) free of planning.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reelform.errors import SpecError, UserError
from reelform.plan.diff import SpecPlan
from reelform.plan.show import render_text
from reelform.project import Prepared, plan_prepared, prepare
from reelform.speclang.expand import expand_spec
from reelform.speclang.load import find_specs
from reelform.watch.affected import Change, Routing, Watched, describe, route, template_dirs
from reelform.watch.cache import HashMemo, LockCache

RULE = "──"


@dataclass
class SpecWatch:
    """One watched spec: as named on the command line, and its last outcome."""

    display: Path  # as `find_specs` gave it (relative paths stay relative)
    dependencies: frozenset[Path]
    prepared: Prepared | None = None
    plan: SpecPlan | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def watched(self) -> Watched:
        return Watched(self.dependencies, failing=self.prepared is None)


@dataclass(frozen=True)
class Batch:
    """What one batch of changes produced, ready to print."""

    header: str
    text: str
    replanned: tuple[Path, ...]  # specs loaded and planned again (absolute)
    elapsed: float  # seconds from the batch to the text (loading + planning)


class Session:
    def __init__(
        self,
        targets: Sequence[Path],
        var_overrides: Mapping[str, str] | None = None,
        *,
        color: bool = False,
        base: Path | None = None,
        after_load: Callable[[Path], None] | None = None,
    ) -> None:
        self.targets = list(targets)
        self.var_overrides = dict(var_overrides or {})
        self.color = color
        self.base = (base or Path.cwd()).resolve()
        self.folders = [t.resolve() for t in targets if t.is_dir()]
        self.specs: dict[Path, SpecWatch] = {}
        self.locks = LockCache()
        self.hashes = HashMemo()
        # Called with a spec's path each time it was loaded and planned: a seam for
        # tests that must change a file at an exact moment (during the first plan).
        self.after_load = after_load
        self._discovered = False

    # --- what to watch ------------------------------------------------------------------

    def watched_paths(self) -> set[Path]:
        """Every file and folder a change in which may matter (missing ones included)."""
        paths: set[Path] = set(self.folders)
        for path, spec in self.specs.items():
            paths |= spec.dependencies
            paths.add(path.parent)
            # Only folders that exist: `../templates` of a spec in /tmp would be `/`.
            paths.update(d for d in template_dirs(path) if d.is_dir())
        return paths

    # --- batches ------------------------------------------------------------------------

    def discover(self) -> None:
        """Find the specs without loading them (SpecError for a target that does not
        exist): enough for ``watched_paths`` to name the folders to watch, so that the
        watcher can be armed before the first plan and miss no change made during it."""
        if self._discovered:
            return
        for display in find_specs(self.targets):
            self.specs[display.resolve()] = SpecWatch(display, frozenset({display.resolve()}))
        self._discovered = True

    def start(self) -> Batch:
        """Load and plan every spec (SpecError for a target that does not exist)."""
        began = time.perf_counter()
        self.discover()
        for path in self.specs:
            self._load(path)
        count = len(self.specs)
        header = f"watching {count:,} spec{'s' if count != 1 else ''}"
        return self._batch(header, list(self.specs), (), began)

    def update(self, changes: Iterable[Change]) -> Batch | None:
        """Re-plan what ``changes`` affect; None when they affect nothing."""
        began = time.perf_counter()
        changes = sorted(set(changes))
        routing = route(changes, {p: s.watched for p, s in self.specs.items()}, self.folders)
        if not routing:
            return None
        for path in routing.removed:
            del self.specs[path]
        for path in routing.added:
            self.specs[path] = SpecWatch(self._display(path), frozenset({path}))
        for path in sorted(routing.specs):
            self._load(path)
        header = f"{describe(changes, self.base)} · {_counted(routing)}"
        return self._batch(header, sorted(routing.specs), sorted(routing.removed), began)

    # --- loading ------------------------------------------------------------------------

    def _display(self, path: Path) -> Path:
        """A new spec as `find_specs` would name it: relative to where watch runs."""
        return Path(os.path.relpath(path, self.base)) if path.is_relative_to(self.base) else path

    def _load(self, path: Path) -> None:
        self._plan(path)
        if self.after_load is not None:
            self.after_load(path)

    def _plan(self, path: Path) -> None:
        spec = self.specs[path]
        try:
            prepared = prepare(spec.display, self.var_overrides, lock_reader=self.locks.read)
            plan = plan_prepared(prepared, hash_file=self.hashes)
        except UserError as exc:
            spec.prepared, spec.plan, spec.problems = None, None, exc.lines()
            spec.dependencies = self._dependencies_of_failed(spec)
            return
        except Exception:  # a bug: say so, and keep watching (the next edit may avoid it)
            spec.prepared, spec.plan = None, None
            spec.problems = [
                *traceback.format_exc().rstrip().splitlines(),
                f"{spec.display}: internal error (a bug; please report it with the text above)",
            ]
            return
        spec.prepared, spec.plan, spec.problems = prepared, plan, []
        # The lockfile is a dependency too: an apply in another terminal changes the plan.
        spec.dependencies = prepared.spec.dependencies | {prepared.spec.lock_path.resolve()}

    def _dependencies_of_failed(self, spec: SpecWatch) -> frozenset[Path]:
        """A failing spec depends on what it read now and on what it read when it last
        loaded: the fix may be in either (a YAML syntax error reads nothing at all)."""
        known = spec.dependencies | {spec.display.resolve()}
        try:
            loaded, _ = expand_spec(spec.display, self.var_overrides)
        except SpecError:
            return known
        return known | loaded.dependencies | {loaded.lock_path.resolve()}

    # --- output -------------------------------------------------------------------------

    def _batch(
        self, what: str, specs: Sequence[Path], removed: Sequence[Path], began: float
    ) -> Batch:
        lines: list[str] = []
        for path in removed:
            lines.append(f"{self._display(path)}: removed; no longer watched")
        failing = [self.specs[p] for p in specs if self.specs[p].prepared is None]
        for spec in failing:
            lines += spec.problems
        plans = [s.plan for p in specs if (s := self.specs[p]).plan is not None]
        if plans:
            if lines:
                lines.append("")
            lines.append(render_text(plans, self.color).rstrip("\n"))
        if failing:
            count = len(failing)
            lines += [
                "",
                f"{count:,} spec{'s have' if count != 1 else ' has'} errors (still watching).",
            ]
        elapsed = time.perf_counter() - began
        stamp = datetime.now().strftime("%H:%M:%S")
        return Batch(f"{RULE} {stamp} · {what} {RULE}", "\n".join(lines), tuple(specs), elapsed)

    def planned(self, paths: Iterable[Path]) -> list[tuple[Prepared, SpecPlan]]:
        """The specs among ``paths`` that planned, for previews."""
        result = []
        for path in paths:
            spec = self.specs.get(path)
            if spec is not None and spec.prepared is not None and spec.plan is not None:
                result.append((spec.prepared, spec.plan))
        return result


def _counted(routing: Routing) -> str:
    """'2 specs', '1 spec removed', '1 spec, 1 removed'."""

    def specs(n: int) -> str:
        return f"{n:,} spec{'s' if n != 1 else ''}"

    count, removed = len(routing.specs), len(routing.removed)
    if not removed:
        return specs(count)
    if not count:
        return f"{specs(removed)} removed"
    return f"{specs(count)}, {removed:,} removed"
