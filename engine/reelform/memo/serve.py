"""The `plan` command's use of the memo: serve an all-unchanged run, or remember one.

``memo_plans`` answers only when every spec of the run has a memo whose inputs are
all the same now and whose value the state confirms as all unchanged; then the
plans are ``plan.unchanged.unchanged_by_memo``'s, which are the full path's (and
have no ``requests``: `plan` prints and saves plans, it does not apply them).
Anything else returns None, and the caller plans in full as if there were no memo:
a missing or damaged memo, a changed input, a state that is not all unchanged, and
any error at all (the full path reports the errors that are the user's).

``REELFORM_DEBUG_MEMO=1`` says on stderr what was used, missed and why, and saved.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reelform import heap
from reelform.memo import inputs as memo_inputs
from reelform.memo.store import MemoFile
from reelform.plan.unchanged import UnchangedMemo, memo_of_keys, unchanged_by_memo

if TYPE_CHECKING:
    from reelform.plan.diff import SpecPlan
    from reelform.project import Prepared
    from reelform.state.backend import StateConfig
    from reelform.state.preload import LockSummary

DEBUG_VARIABLE = "REELFORM_DEBUG_MEMO"


def trace(message: str) -> None:
    if os.environ.get(DEBUG_VARIABLE):
        print(f"reelform memo: {message}", file=sys.stderr)


@dataclass(frozen=True)
class Served:
    """What the memo made of a run: its plans, or None (plan in full); and the states it
    read, by resolved real spec path, which the full path then need not read again
    (``project.prepare_all(summaries=...)``)."""

    plans: list[SpecPlan] | None
    summaries: dict[Path, LockSummary] = field(default_factory=dict)


def memo_plans(
    targets: Sequence[Path], var_overrides: Mapping[str, str] | None, code: str
) -> Served:
    """The plans of the run from the memos when every spec is unchanged."""
    summaries: dict[Path, LockSummary] = {}
    try:
        with heap.paused():
            return Served(_memo_plans(targets, var_overrides, code, summaries), summaries)
    except Exception as exc:  # never an error of its own: the full path reports it
        trace(f"miss ({type(exc).__name__})")  # not the message: it may name a secret
        return Served(None)


def _memo_plans(
    targets: Sequence[Path],
    var_overrides: Mapping[str, str] | None,
    code: str,
    summaries: dict[Path, LockSummary],
) -> list[SpecPlan] | None:
    from reelform.speclang.load import find_specs, lock_path_for

    paths = find_specs(list(targets), require_specs=True)
    if len({lock_path_for(path).resolve() for path in paths}) != len(paths):
        return None  # two specs share a lockfile: the full path says so
    plans = []
    outputs: set[Path] = set()
    for path in paths:
        served = _memo_plan(path, var_overrides, code, summaries)
        if served is None:
            return None
        plan, output = served
        if output in outputs:
            trace(f"miss {path}: shares its output folder with another spec of the run")
            return None  # the full path checks the names for clashes
        outputs.add(output)
        plans.append(plan)
    return plans


def _memo_plan(
    path: Path,
    var_overrides: Mapping[str, str] | None,
    code: str,
    summaries: dict[Path, LockSummary],
) -> tuple[SpecPlan, Path] | None:
    from reelform.speclang.load import real_spec_path
    from reelform.state.backend import state_config

    real = real_spec_path(path)
    memo_file = MemoFile.of(real)
    document = memo_file.load()
    backend = state_config(real)
    if document is None and backend.postgres:
        # A fresh clone: the memo an apply left in the state database, kept here too.
        from reelform.state.pg import memos

        document = memo_file.accepted(memos.load(backend, real))
        if document is not None:
            trace(f"memo of {path} from the state database")
            memo_file.save_document(document)
    memo = _parsed(document) if document is not None else None
    if document is None or memo is None:
        trace(f"miss {path}: no memo")
        return None
    value, output = memo
    inputs = document["inputs"]
    directory = real.parent
    spec_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    changed = memo_inputs.changed_before_state(inputs, directory, spec_sha256, var_overrides, code)
    if changed is not None:
        trace(f"miss {path}: {changed}")
        return None
    summary = _summary(backend, real)
    if backend.postgres or _preloaded(real):
        summaries[real.resolve()] = summary  # as the full path would read it
    if memo_inputs.asset_facts(inputs, directory, summary.files) != inputs["assets"]:
        trace(f"miss {path}: an asset changed")
        return None
    plan = unchanged_by_memo(str(path), value, summary, str(real.with_suffix(".lock")))
    if plan is None:
        trace(f"miss {path}: the state is not all unchanged")
        return None
    trace(f"hit {path}: {plan.unchanged:,} unchanged, not expanded")
    return plan, Path(os.path.normpath(directory / output)).resolve()


def _preloaded(real: Path) -> bool:
    """Whether the full path would plan this lockfile from a summary too (a large one,
    ``state/preload.py``): only then is the summary handed on, so the full path of a
    small lockfile stays the full diff it always was."""
    from reelform.state.preload import PRELOAD_MIN_BYTES

    try:
        return real.with_suffix(".lock").stat().st_size >= PRELOAD_MIN_BYTES
    except OSError:
        return False


def _summary(backend: Any, real: Path) -> LockSummary:
    """The spec's state as `plan` summarizes it (``state/preload.py``), read here."""
    if backend.postgres:
        from reelform.state.pg.read import read_summary

        summary: LockSummary = read_summary(backend, real, real.parent)
        return summary
    from reelform.state.lockfile import read_lock
    from reelform.state.preload import summarize

    return summarize(read_lock(real.with_suffix(".lock")), real.parent)


def _parsed(document: Mapping[str, Any]) -> tuple[UnchangedMemo, str] | None:
    """The value of a memo file, its shape checked (a damaged one is a miss)."""
    inputs, value = document.get("inputs"), document.get("value")
    if type(inputs) is not dict or type(value) is not dict:
        return None
    if not _shaped(inputs):
        return None
    count, videos, output = value.get("count"), value.get("videos"), value.get("output")
    avatars = value.get("avatars")
    if type(count) is not int or type(videos) is not str or type(output) is not str:
        return None
    if type(avatars) is not list or not all(_strings(a, 2) for a in avatars):
        return None
    return UnchangedMemo(count, videos, tuple((a[0], a[1]) for a in avatars)), output


def _shaped(inputs: Mapping[str, Any]) -> bool:
    data, templates, assets = inputs.get("data"), inputs.get("templates"), inputs.get("assets")
    return (
        type(data) is list
        and all(_strings(entry, 2) for entry in data)
        and type(templates) is list
        and all(_row(entry, 3) for entry in templates)
        and type(assets) is list
        and all(
            type(entry) is list
            and len(entry) == 3
            and type(entry[0]) is str
            and type(entry[1]) is str
            and type(entry[2]) is dict
            for entry in assets
        )
    )


def _strings(entry: object, length: int) -> bool:
    return type(entry) is list and len(entry) == length and all(type(x) is str for x in entry)


def _row(entry: object, length: int) -> bool:
    """A template's entry: its name, then the file and digest found, or nulls."""
    return (
        type(entry) is list
        and len(entry) == length
        and type(entry[0]) is str
        and all(x is None or type(x) is str for x in entry[1:])
    )


def remember(
    prepared: Sequence[Prepared],
    plans: Sequence[SpecPlan],
    var_overrides: Mapping[str, str] | None,
    code: str,
) -> None:
    """Write the memo of each spec that the full path found all unchanged (so that the
    next plan of the same inputs is served by it). Never fails: a memo that cannot be
    made or written is not."""
    with heap.paused():
        _remember(prepared, plans, var_overrides, code)


def _remember(
    prepared: Sequence[Prepared],
    plans: Sequence[SpecPlan],
    var_overrides: Mapping[str, str] | None,
    code: str,
) -> None:
    from reelform.speclang.load import real_spec_path

    for each, plan in zip(prepared, plans, strict=True):
        if plan.items or plan.relabel or plan.superseded or plan.held_back:
            continue
        document = _document(each, var_overrides, code)
        saved = document is not None and MemoFile.of(real_spec_path(each.spec.path)).save_document(
            document
        )
        trace(f"{'saved' if saved else 'cannot save'} {plan.spec}")


def _document(
    each: Prepared, var_overrides: Mapping[str, str] | None, code: str
) -> dict[str, Any] | None:
    """The memo of a prepared spec (what its inputs expand to); None when an input
    cannot be captured."""
    from reelform.speclang.load import real_spec_path

    inputs = memo_inputs.recorded(each.spec, each.facts, var_overrides, code)
    keys = each.made.keys()  # made once (spec_requests.py): the plan's, if it made them
    memo = None if keys is None else memo_of_keys(keys, each.avatars)
    if inputs is None or memo is None:
        trace(f"not saved {each.spec.path}: an input cannot be captured")
        return None
    value = {
        "count": memo.count,
        "videos": memo.videos,
        "avatars": [list(a) for a in memo.avatars],
        "output": os.path.relpath(each.spec.output_dir, each.spec.directory),
    }
    return MemoFile.of(real_spec_path(each.spec.path)).document(inputs, value)


def remember_applied(prepared: Sequence[Prepared], var_overrides: Mapping[str, str] | None) -> None:
    """After an apply: the memo of each spec it prepared, in the cache and, for a spec
    whose state is in PostgreSQL, in the database, where any clone's `plan` finds it.

    Written whatever the outcome: a memo says what the inputs expand to, and a plan
    uses it only when the state then confirms every video unchanged. Never fails."""
    from reelform.memo.code import code_identity
    from reelform.speclang.load import real_spec_path

    try:
        with heap.paused():
            code = code_identity()
            # By database (every spec of a repository shares one): one connection each.
            databases: dict[str, tuple[StateConfig, list[tuple[Path, dict[str, Any]]]]] = {}
            for each in prepared:
                document = _document(each, var_overrides, code)
                if document is None:
                    continue
                real = real_spec_path(each.spec.path)
                MemoFile.of(real).save_document(document)
                config = each.backend
                if config is not None and config.url is not None:
                    databases.setdefault(config.url, (config, []))[1].append((real, document))
                trace(f"saved {each.spec.path} after apply")
            if databases:
                from reelform.state.pg import memos

                for config, documents in databases.values():
                    memos.save_all(config, documents)
                    trace(f"saved {len(documents)} in the state database")
    except Exception as exc:  # a cache: never an error of its own
        trace(f"not saved after apply ({type(exc).__name__})")
