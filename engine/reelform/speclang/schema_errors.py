"""Turning pydantic validation errors and unknown keys into located problems."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from reelform.errors import Problem
from reelform.speclang import model as spec_model
from reelform.speclang.load import PathKey


def unknown_key_problems(
    raw: Any,
    model: type[BaseModel],
    path: PathKey,
    problem: Callable[[PathKey, str], Problem],
) -> list[Problem]:
    """Every key of ``raw`` (recursively) that ``model`` does not know, with a suggestion."""
    if not isinstance(raw, dict):
        return []
    fields = model.model_fields
    problems: list[Problem] = []
    for key, value in raw.items():
        if key not in fields:
            problems.append(problem((*path, key), f"unknown key {key!r}{_hint(str(key), fields)}"))
            continue
        shape, nested = _nested(fields[key].annotation)
        if shape == "model" and isinstance(value, dict):
            problems += unknown_key_problems(value, nested[0], (*path, key), problem)
        elif shape == "union" and isinstance(value, dict):
            problems += _union_keys(value, nested, (*path, key), problem)
        elif shape == "dict" and isinstance(value, dict):
            for name, item in value.items():
                if isinstance(item, dict):
                    problems += (
                        _union_keys(item, nested, (*path, key, name), problem)
                        if len(nested) > 1
                        else unknown_key_problems(item, nested[0], (*path, key, name), problem)
                    )
    return problems


def _union_keys(
    raw: dict[str, Any],
    models: list[type[BaseModel]],
    path: PathKey,
    problem: Callable[[PathKey, str], Problem],
) -> list[Problem]:
    allowed = sorted({name for m in models for name in m.model_fields})
    problems = []
    for key in raw:
        if key not in allowed:
            problems.append(problem((*path, key), f"unknown key {key!r}{_hint(str(key), allowed)}"))
    return problems


def unknown_key_message(key: str, allowed: Iterable[str]) -> str:
    """ "unknown key 'jog'; did you mean 'jogg'?" and its variants."""
    return f"unknown key {key!r}{_hint(key, allowed)}"


def _hint(key: str, allowed: Iterable[str]) -> str:
    names = sorted(allowed)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    if not names:
        return " (no keys are allowed here)"
    return f" (allowed: {', '.join(names)})"


def _nested(annotation: Any) -> tuple[str, list[type[BaseModel]]]:
    """Classify a field annotation: a model, a union of models, or a dict of models."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _nested(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", [annotation]
    if origin is dict and len(args) == 2:
        _, models = _nested(args[1])
        return ("dict", models) if models else ("", [])
    if origin in (typing.Union, types.UnionType):
        models = [m for a in args for m in _nested(a)[1]]
        if len(models) == 1:
            return "model", models
        return ("union", models) if models else ("", [])
    return "", []


def validation_problems(
    exc: ValidationError,
    base: PathKey,
    problem: Callable[[PathKey, str], Problem],
    *,
    skip_unknown_keys: bool = True,
    suffix: str = "",
) -> list[Problem]:
    """One problem per pydantic error, located at the failing node."""
    problems = []
    seen: set[tuple[PathKey, str]] = set()
    for error in exc.errors(include_url=False):
        if skip_unknown_keys and error["type"] == "extra_forbidden":
            continue
        loc = _clean_loc(error["loc"])
        message = _message(error)
        if "[key]" in error["loc"]:
            # A mapping key (an asset, data source or photo avatar name) failed its pattern.
            message = (
                f"invalid name {loc[-1]!r}: use letters, digits, '_' and '-', "
                "starting with a letter or '_'"
            )
        elif len(loc) >= 2 and loc[0] in UNION_HINTS and len(loc) < len(error["loc"]):
            # A value that fits no member of a union: one message, not one per member.
            loc, message = loc[:2], UNION_HINTS[str(loc[0])]
        if (loc, message) in seen:
            continue
        seen.add((loc, message))
        problems.append(problem((*base, *loc), message + suffix))
    return problems


UNION_HINTS = {
    "assets": "an asset is a path, {path: FILE} or {url: URL}",
    "data": "a data source is a file path or a list of rows (mappings)",
}
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "none"})
_MODEL_TAGS = frozenset(
    name
    for name, value in vars(spec_model).items()
    if isinstance(value, type) and issubclass(value, BaseModel)
)


def _is_union_tag(part: int | str) -> bool:
    """pydantic adds union member names ("str", "AssetPath", "function-after[...]") to
    paths; they are not nodes of the file. (User keys such as an asset named "Intro"
    are: they stay.)"""
    return isinstance(part, str) and (part in _TYPE_TAGS or part in _MODEL_TAGS or "[" in part)


def _clean_loc(loc: tuple[int | str, ...]) -> PathKey:
    return tuple(part for part in loc if not _is_union_tag(part))


def _message(error: Any) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    kind = error["type"]
    loc = error["loc"]
    if loc == ("version",) and kind == "literal_error":
        return (
            f"unsupported spec version {error['input']!r}: this reelform reads "
            "version 1 (upgrade reelform for newer versions)"
        )
    if kind == "too_short" and loc == ("videos",):
        return "`videos` is empty: declare at least one video"
    if kind == "missing":
        return f"missing required key {str(error['loc'][-1])!r}"
    if kind == "string_pattern_mismatch" and error["loc"] and error["loc"][-1] == "name":
        return (
            f"invalid name {error['input']!r}: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 128 characters"
        )
    if kind in ("literal_error", "enum") or kind.endswith("_type") or kind.endswith("_parsing"):
        value = error.get("input")
        if not isinstance(value, dict | list):
            return f"{message}, got {value!r}"
    return message


def did_you_mean(kind: str, name: str, known: Mapping[str, object]) -> str:
    """ "unknown asset 'intr'; did you mean 'intro'?" and its variants."""
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return f"unknown {kind} {name!r}; did you mean {close[0]!r}?"
    if known:
        return f"unknown {kind} {name!r} (known: {', '.join(sorted(known))})"
    return f"unknown {kind} {name!r} (the spec declares none)"
