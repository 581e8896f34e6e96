"""Row sources for ``for_each``: CSV, JSON, JSON Lines, YAML files and inline rows.

Every row remembers where it came from (file and line) so that a problem in a
row is reported as ``DATAFILE:LINE: row N: message``.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from reelform.errors import Location, Problem, SpecError

DATA_SUFFIXES = (".csv", ".json", ".jsonl", ".yaml", ".yml")


@dataclass(frozen=True)
class Rows:
    """The rows of one source; ``lines[i]`` is the file line of ``rows[i]``."""

    display: str  # the file as the user wrote it, or "<spec>:inline"
    rows: list[dict[str, Any]]
    lines: list[int]
    #: Written in a `matrix:` axis: messages show the item itself (``{code: de}``),
    #: which tells items apart where a line may not (``[{code: en}, {code: de}]``).
    inline: bool = False
    #: The sha256 of the data file's bytes as read (``read_rows``; None inline): what
    #: the expansion memo keys on (``plan/memo.py``).
    sha256: str | None = None

    def where(self, index: int) -> Location:
        return Location(self.display, self.lines[index] if self.lines else None)


def read_rows(path: Path, display: str) -> Rows:
    """Read a data file; every problem is a SpecError located in that file."""
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise SpecError.at(
            display,
            None,
            None,
            f"unsupported data file type {suffix or '(none)'!r}; "
            f"use one of {', '.join(DATA_SUFFIXES)}",
        )
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError.at(display, None, None, "data file not found") from None
    except OSError as exc:
        raise SpecError.at(display, None, None, exc.strerror or str(exc)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError.at(display, line, None, "not UTF-8 text") from None
    return replace(_parse_rows(suffix, text, display), sha256=hashlib.sha256(raw).hexdigest())


def _parse_rows(suffix: str, text: str, display: str) -> Rows:
    if suffix == ".csv":
        return _csv_rows(text, display)
    if suffix == ".json":
        return _json_rows(text, display)
    if suffix == ".jsonl":
        return _jsonl_rows(text, display)
    return _yaml_rows(text, display)


def inline_rows(
    rows: list[dict[str, Any]], display: str, lines: list[int], *, matrix: bool = False
) -> Rows:
    return Rows(display, rows, lines, inline=matrix)


def item_text(row: Mapping[str, Any], limit: int = 60) -> str:
    """An inline row as it is written in flow YAML, ``{code: de}``, shortened if long."""
    text = "{" + ", ".join(f"{key}: {value}" for key, value in row.items()) + "}"
    return text if len(text) <= limit else text[: limit - 4] + "...}"


def _csv_rows(text: str, display: str) -> Rows:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[Problem] = []
    try:
        header = next(reader, None)
        if not header:
            raise SpecError.at(display, 1, None, "empty CSV file: a header row is required")
        names = [h.strip() for h in header]
        for index, name in enumerate(names):
            if not name:
                problems.append(Problem(Location(display, 1), f"column {index + 1} has no name"))
            elif names.index(name) != index:
                problems.append(Problem(Location(display, 1), f"duplicate column {name!r}"))
        rows: list[dict[str, Any]] = []
        lines: list[int] = []
        width = len(names)
        line = reader.line_num
        number = 0  # data rows read, good or bad: "row N" counts what the user sees
        for record in reader:
            start, line = line + 1, reader.line_num
            if not record:
                continue  # a blank line
            number += 1
            if len(record) != width:
                fields = "field" if len(record) == 1 else "fields"
                problems.append(
                    Problem(
                        Location(display, start),
                        f"row {number} has {len(record)} {fields}, the header has {width}",
                    )
                )
                continue
            rows.append(dict(zip(names, record, strict=True)))
            lines.append(start)
    except csv.Error as exc:
        raise SpecError.at(display, reader.line_num, None, f"CSV: {exc}") from None
    if problems:
        raise SpecError(problems)
    return Rows(display, rows, lines)


def _json_rows(text: str, display: str) -> Rows:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise SpecError.at(display, exc.lineno, exc.colno, f"JSON: {exc.msg}") from None
    if not isinstance(data, list):
        raise SpecError.at(display, 1, 1, "a JSON data file must hold an array of objects")
    # orjson keeps no positions; count an object's line by finding the array's items.
    lines = _json_item_lines(text, len(data))
    return _checked(display, data, lines)


def _json_item_lines(text: str, count: int) -> list[int]:
    """The line of each top-level array item: where its first character is."""
    lines: list[int] = []
    depth = 0
    line = 1
    in_string = escape = False
    expect_item = False  # after the array's '[' or a ',' between its items
    for char in text:
        if char == "\n":
            line += 1
        if in_string:
            if escape:
                escape = False
            elif char == "\\":
                escape = True
            elif char == '"':
                in_string = False
            continue
        if expect_item and char not in " \t\r\n":
            if char != "]":
                lines.append(line)
            expect_item = False
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            expect_item = depth == 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 1:
            expect_item = True
    return lines[:count] + [1] * (count - len(lines))


def _jsonl_rows(text: str, display: str) -> Rows:
    rows: list[Any] = []
    lines: list[int] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(orjson.loads(line))
            lines.append(number)
        except orjson.JSONDecodeError as exc:
            problems.append(Problem(Location(display, number, exc.colno), f"JSON: {exc.msg}"))
    if problems:
        raise SpecError(problems)
    return _checked(display, rows, lines)


def _yaml_rows(text: str, display: str) -> Rows:
    from reelform.speclang.load import parse_yaml

    source = parse_yaml(text, Path(display))
    data = source.data
    if not isinstance(data, list):
        raise SpecError.at(display, 1, 1, "a YAML data file must hold a list of mappings")
    lines = [source.positions.get((i,), (1, 1))[0] for i in range(len(data))]
    return _checked(display, data, lines)


def _checked(display: str, data: list[Any], lines: list[int]) -> Rows:
    problems = [
        Problem(Location(display, lines[i]), f"row {i + 1} is not an object (mapping)")
        for i, row in enumerate(data)
        if not isinstance(row, Mapping)
    ]
    if problems:
        raise SpecError(problems)
    return Rows(display, [dict(r) for r in data], lines)
