"""Saved plans (`plan --out FILE`, `apply FILE`).

A saved plan holds what was shown (items with fingerprints), how it was made
(specs, `--var`, `--target`, `--resubmit-unknown`, `--no-reuse`), and the digest
of each lockfile as it was read.
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
from reelform.state.shapes import json_type


@dataclass(frozen=True)
class SavedPlan:
    specs: list[str]
    variables: dict[str, str]
    targets: list[str]
    document: dict[str, Any]
    resubmit_unknown: bool = False
    no_reuse: bool = False


def saved_plan(
    plans: Sequence[SpecPlan],
    variables: Mapping[str, str],
    targets: Sequence[str],
    resubmit_unknown: bool = False,
    *,
    no_reuse: bool = False,
) -> bytes:
    document = plan_json(plans)
    document["inputs"] = {
        "specs": [p.spec for p in plans],
        "vars": dict(variables),
        "targets": list(targets),
        "resubmit_unknown": resubmit_unknown,
        "no_reuse": no_reuse,
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
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise PlanFileError(
            f"{path}:{exc.lineno}:{exc.colno}: not a plan file ({exc.msg})"
        ) from None
    if not isinstance(document, dict) or document.get("format") != "reelform-plan":
        raise PlanFileError(f"{path}: not a reelform plan file")
    if type(document.get("version")) is not int or document["version"] != PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{path}: plan format version {document.get('version')!r} is not "
            f"{PLAN_FORMAT_VERSION}; make the plan again with this reelform"
        )
    return _checked(document, path)


def _checked(document: dict[str, Any], path: Path) -> SavedPlan:
    """The plan's shape, checked before anything trusts it: a hand-edited or
    damaged plan is a located error, never a traceback mid-apply."""

    def bad(where: str, expected: str, value: object) -> PlanFileError:
        return PlanFileError(
            f"{path}: {where} must be {expected}, not {json_type(value)}; "
            "make the plan again (reelform plan --out FILE)"
        )

    inputs = document.get("inputs")
    if type(inputs) is not dict:
        raise bad("inputs", "an object (the specs, vars and targets it was made from)", inputs)
    specs = inputs.get("specs")
    if type(specs) is not list or not specs:
        raise bad("inputs.specs", "a non-empty array of spec paths", specs)
    for index, spec in enumerate(specs):
        if type(spec) is not str:
            raise bad(f"inputs.specs[{index}]", "a string", spec)
    variables = inputs.get("vars", {})
    if type(variables) is not dict:
        raise bad("inputs.vars", "an object", variables)
    for name, value in variables.items():
        if type(value) is not str:
            raise bad(f"inputs.vars.{name}", "a string", value)
    targets = inputs.get("targets", [])
    if type(targets) is not list:
        raise bad("inputs.targets", "an array of globs", targets)
    for index, target in enumerate(targets):
        if type(target) is not str:
            raise bad(f"inputs.targets[{index}]", "a string", target)
    planned = document.get("specs")
    if type(planned) is not list:
        raise bad("specs", "an array", planned)
    for index, entry in enumerate(planned):
        at = f"specs[{index}]"
        if type(entry) is not dict:
            raise bad(at, "an object", entry)
        for key in ("spec", "lock_digest"):
            if type(entry.get(key)) is not str:
                raise bad(f"{at}.{key}", "a string", entry.get(key))
        items = entry.get("items")
        if type(items) is not list:
            raise bad(f"{at}.items", "an array", items)
        for number, item in enumerate(items):
            if type(item) is not dict:
                raise bad(f"{at}.items[{number}]", "an object", item)
    resubmit = inputs.get("resubmit_unknown", False)
    if type(resubmit) is not bool:
        raise bad("inputs.resubmit_unknown", "true or false", resubmit)
    no_reuse = inputs.get("no_reuse", False)
    if type(no_reuse) is not bool:
        raise bad("inputs.no_reuse", "true or false", no_reuse)
    return SavedPlan(list(specs), dict(variables), list(targets), document, resubmit, no_reuse)


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
        # Approvals are read again when applied (`apply PLANFILE --approved`): a video
        # approved since the plan was saved is no change to what was reviewed.
        same_items = _unapproved(old.get("items")) == _unapproved(spec["items"])
        if not same_items or old.get("labels") != spec.get("labels"):
            raise PlanFileError(
                f"{path}: stale plan: {spec['spec']} or its files changed "
                "since the plan was made; make a new plan"
            )


def _unapproved(items: Any) -> Any:
    if not isinstance(items, list):
        return items
    return [
        {k: v for k, v in item.items() if k != "approved"} if isinstance(item, dict) else item
        for item in items
    ]
