"""The shape of lockfile and journal records, checked where they are read.

Everything downstream (the plan, the executor, the output checks) trusts a
record's fields to have the types reelform wrote: ``inputs`` a mapping,
``output.bytes`` an integer, ``job_id`` a string. A hand edit, a bad merge or
another tool writing the file could break that, and the symptom would be a
traceback far from the file, or worse a wrong plan (a job id that is a dict is
no job id: the video would be submitted, and paid for, again). So records are
checked once, at the boundary, and a bad one is reported with where it is.

Only the fields reelform reads are checked, and only their types: a field this
version does not know is left alone (it may be a newer reelform's, which would
have raised the lockfile version if older ones could not ignore it), and a field
may be absent (old lockfiles, records mid-way through an apply).

The records built from checked dicts (``records.py``) have exactly these fields,
and trust these types without checking them again.

Pure functions: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_NONE = type(None)
_STR: tuple[type, ...] = (str,)
_OPT_STR: tuple[type, ...] = (str, _NONE)
#: Exact types are compared (``type(v) in allowed``): True is not an integer here.
_INT: tuple[type, ...] = (int,)
_OPT_INT: tuple[type, ...] = (int, _NONE)
_OPT_NUM: tuple[type, ...] = (int, float, _NONE)
_DICT: tuple[type, ...] = (dict,)

#: section -> field -> the types it may have.
FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "files": {
        "sha256": _STR,
        "size": _INT,
        "mtime_ns": _INT,
        "format": _OPT_STR,
        "width": _OPT_INT,
        "height": _OPT_INT,
        "duration": _OPT_NUM,
    },
    "uploads": {"url": _STR, "at": _OPT_STR},
    "avatars": {
        "fingerprint": _STR,
        "inputs": _DICT,
        "provider": _STR,
        "model": _OPT_STR,
        "status": _STR,
        "motion_id": _OPT_STR,
        "avatar_id": (int, str, _NONE),
        "error": _OPT_STR,
        "submitted_at": _OPT_STR,
    },
    "videos": {
        "fingerprint": _STR,
        "key": _OPT_STR,
        "inputs": _DICT,
        "provider": _STR,
        "status": _STR,
        "job_id": _OPT_STR,
        "error": _OPT_STR,
        "submitted_at": _OPT_STR,
        "completed_at": _OPT_STR,
        "output": _DICT,
        "copied_from": (dict, _NONE),
    },
}

#: A video's ``output``: where the finished file is and what it was.
OUTPUT_FIELDS: dict[str, tuple[type, ...]] = {
    "path": _OPT_STR,
    "sha256": _OPT_STR,
    "bytes": _OPT_INT,
    "mtime_ns": _OPT_INT,
    "url": _OPT_STR,
    "duration": _OPT_NUM,
    "signed": (bool, _NONE),
}

_JSON_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    dict: "an object",
    list: "an array",
    _NONE: "null",
}


def json_type(value: object) -> str:
    """How JSON names the type of ``value`` ("an object", "an array", ...)."""
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _expected(types: tuple[type, ...]) -> str:
    # An integer is a number: "an integer or a number" would read oddly.
    shown = [t for t in types if t is not _NONE and not (t is int and float in types)]
    text = " or ".join(_JSON_NAMES[t] for t in shown)
    return text + " (or null)" if _NONE in types else text


def where(section: str, key: str) -> str:
    """How messages name a record: ``videos["welcome-1"]``."""
    return f"{section}[{json.dumps(key, ensure_ascii=False)}]"


def record_problem(section: str, record: object) -> str | None:
    """Why ``record`` cannot be a record of ``section`` (None: it can).

    The reason names the field: ``job_id must be a string, not an object``.
    """
    if type(record) is not dict:
        return f"must be an object, not {json_type(record)}"
    fields = FIELDS[section]
    for name, value in record.items():
        allowed = fields.get(name)
        if allowed is not None and type(value) not in allowed:
            return f"{name} must be {_expected(allowed)}, not {json_type(value)}"
    if section == "videos":
        output = record.get("output")
        if output is not None:
            for name, value in output.items():
                allowed = OUTPUT_FIELDS.get(name)
                if allowed is not None and type(value) not in allowed:
                    return f"output.{name} must be {_expected(allowed)}, not {json_type(value)}"
    return None


def section_problems(section: str, records: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, reason) of every bad record of a section, in file order."""
    return [
        (key, reason)
        for key, record in records.items()
        if (reason := record_problem(section, record)) is not None
    ]


def journal_problem(record: object, sections: tuple[str, ...]) -> str | None:
    """Why a decoded journal line is not a change ``{"s", "k", "v"}`` (None: it is)."""
    if type(record) is not dict:
        return f"must be an object, not {json_type(record)}"
    missing = [name for name in ("s", "k", "v") if name not in record]
    if missing:
        return f"no {', '.join(missing)}"
    section, key, value = record["s"], record["k"], record["v"]
    if type(section) is not str or section not in sections:
        return f"unknown section {section!r}" if type(section) is str else "s must be a string"
    if type(key) is not str:
        return f"k must be a string, not {json_type(key)}"
    if value is None:
        return None
    reason = record_problem(section, value)
    return None if reason is None else f"{where(section, key)}: {reason}"
