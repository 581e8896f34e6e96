"""Saved plans (`plan --out FILE`, `apply FILE`).

A saved plan holds what was shown (items with fingerprints), how it was made
(specs, `--var`, `--target`), and the digest of each lockfile as it was read.
`apply FILE` re-plans from the same inputs and refuses when the lockfile or the
plan changed since: it applies exactly what was reviewed or nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from reelform.errors import PlanFileError
from reelform.plan.diff import SpecPlan
from reelform.plan.show import PLAN_FORMAT_VERSION, plan_json


@dataclass(frozen=True)
class SavedPlan:
    specs: list[str]
    variables: dict[str, str]
    targets: list[str]
    document: dict[str, Any]
    resubmit_unknown: bool = False


def saved_plan(
    plans: Sequence[SpecPlan],
    variables: Mapping[str, str],
    targets: Sequence[str],
    resubmit_unknown: bool = False,
) -> bytes:
    document = plan_json(plans)
    document["inputs"] = {
        "specs": [p.spec for p in plans],
        "vars": dict(variables),
        "targets": list(targets),
        "resubmit_unknown": resubmit_unknown,
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def is_plan_file(path: Path) -> bool:
    if path.suffix.lower() in (".yaml", ".yml") or path.is_dir():
        return False
    try:
        with path.open("rb") as handle:
            return b"reelform-plan" in handle.read(4096)
    except OSError:
        return False


def load_saved_plan(path: Path) -> SavedPlan:
    try:
        document = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file") from None
    except orjson.JSONDecodeError as exc:
        raise PlanFileError(
            f"{path}:{exc.lineno}:{exc.colno}: not a plan file ({exc.msg})"
        ) from None
    if not isinstance(document, dict) or document.get("format") != "reelform-plan":
        raise PlanFileError(f"{path}: not a reelform plan file")
    if document.get("version") != PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{path}: plan format version {document.get('version')!r} is not "
            f"{PLAN_FORMAT_VERSION}; make the plan again with this reelform"
        )
    inputs = document.get("inputs") or {}
    return SavedPlan(
        list(inputs.get("specs", [])),
        dict(inputs.get("vars", {})),
        list(inputs.get("targets", [])),
        document,
        inputs.get("resubmit_unknown") is True,
    )


def check_fresh(saved: SavedPlan, plans: Sequence[SpecPlan], path: Path) -> None:
    """Refuse a saved plan whose lockfiles or items differ from a fresh plan's."""
    fresh = plan_json(plans)
    old_specs = {s["spec"]: s for s in saved.document.get("specs", [])}
    for spec in fresh["specs"]:
        old = old_specs.get(spec["spec"])
        if old is None:
            raise PlanFileError(f"{path}: stale plan: {spec['spec']} was not in it")
        if old.get("lock_digest") != spec["lock_digest"]:
            raise PlanFileError(
                f"{path}: stale plan: {spec['lock']} changed since the plan "
                "was made; make a new plan"
            )
        if old.get("items") != spec["items"]:
            raise PlanFileError(
                f"{path}: stale plan: {spec['spec']} or its files changed "
                "since the plan was made; make a new plan"
            )
