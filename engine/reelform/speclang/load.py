"""Reading spec files: YAML with the line and column of every node.

The round-trip loader of ruamel.yaml keeps positions; we convert its tree into
plain Python values right away and keep the positions in a side table keyed by
the path of each node, so that every later stage works on plain data and still
points into the file when it reports a problem.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from reelform.errors import Location, Problem, SpecError

PathKey = tuple[str | int, ...]
SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Source:
    """A loaded YAML document: plain data plus where each node came from."""

    path: Path  # as given (relative paths stay relative, for messages)
    data: Any
    positions: dict[PathKey, tuple[int, int]]  # path -> (line, column), 1-based; values
    key_positions: dict[PathKey, tuple[int, int]]  # path -> position of the mapping key
    #: The sha256 of the file's bytes as read (``load_yaml``): what the expansion memo
    #: keys on (``plan/memo.py``); None for text parsed from elsewhere.
    sha256: str | None = None

    @property
    def display(self) -> str:
        return str(self.path)

    def locate(self, path: PathKey, *, key: bool = False) -> Location:
        """The location of the node at ``path``, or of its nearest existing parent."""
        table = self.key_positions if key else self.positions
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in table:
                line, column = table[prefix]
                return Location(self.display, line, column)
            if prefix in self.positions:
                line, column = self.positions[prefix]
                return Location(self.display, line, column)
        return Location(self.display, 1, 1)

    def problem(self, path: PathKey, message: str, *, key: bool = False) -> Problem:
        return Problem(self.locate(path, key=key), message)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def parse_yaml(text: str, path: Path) -> Source:
    """Parse one YAML document; syntax errors become a located SpecError."""
    try:
        tree = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        context = exc.context
        start = exc.context_mark
        if context and start is not None and mark is not None and start.line != mark.line:
            # "unexpected end of stream" is found far from the cause: say where it began.
            context = f"{context} started at line {start.line + 1}, column {start.column + 1},"
        if exc.problem and "duplicate key" in exc.problem:
            context = None  # "while constructing a mapping" adds nothing to it
        message = " ".join(part for part in (context, exc.problem) if part)
        raise SpecError.at(str(path), line, column, f"YAML syntax: {_tidy(message)}") from None
    except YAMLError as exc:
        raise SpecError.at(str(path), 1, 1, f"YAML: {_tidy(str(exc))}") from None
    positions: dict[PathKey, tuple[int, int]] = {(): (1, 1)}
    key_positions: dict[PathKey, tuple[int, int]] = {}
    broken: list[PathKey] = []
    data = _plain(tree, (), positions, key_positions, broken)
    source = Source(path, data, positions, key_positions)
    if broken:
        raise SpecError(
            [
                source.problem(
                    p,
                    "a \\uD800-\\uDFFF escape without its other half; "
                    "write the character itself or \\UXXXXXXXX",
                )
                for p in broken
            ]
        )
    return source


_SURROGATE = re.compile("[\ud800-\udfff]")


def _join_surrogates(text: str) -> str:
    """YAML's "\\ud83d\\ude00" escapes give two halves of one character: join them
    (as JSON does); a half without its pair stays and is reported."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def load_yaml(path: Path) -> Source:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError.at(str(path), None, None, "no such file") from None
    except OSError as exc:
        raise SpecError.at(str(path), None, None, exc.strerror or str(exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError.at(
            str(path), line, exc.start - line_start + 1, f"not UTF-8 text ({exc.reason})"
        ) from None
    return replace(parse_yaml(text, path), sha256=hashlib.sha256(raw).hexdigest())


def _tidy(message: str) -> str:
    return " ".join(message.split())


def _plain(
    node: Any,
    path: PathKey,
    positions: dict[PathKey, tuple[int, int]],
    key_positions: dict[PathKey, tuple[int, int]],
    broken: list[PathKey],
) -> Any:
    """Convert a ruamel round-trip tree to dict/list/scalars, recording positions."""
    if isinstance(node, CommentedMap):
        result: dict[Any, Any] = {}
        for key, value in node.items():
            child = (*path, str(key))
            try:
                kline, kcol = node.lc.key(key)
                key_positions[child] = (kline + 1, kcol + 1)
                vline, vcol = node.lc.value(key)
                positions[child] = (vline + 1, vcol + 1)
            except (KeyError, TypeError):
                pass
            result[str(key) if not isinstance(key, str) else key] = _plain(
                value, child, positions, key_positions, broken
            )
        return result
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, value in enumerate(node):
            child = (*path, index)
            try:
                line, col = node.lc.item(index)
                positions[child] = (line + 1, col + 1)
            except (KeyError, TypeError):
                pass
            items.append(_plain(value, child, positions, key_positions, broken))
        return items
    if isinstance(node, str):
        text = _join_surrogates(str(node))  # ruamel's ScalarString subclasses -> plain str
        if not text.isascii() and _SURROGATE.search(text):
            broken.append(path)
        return text
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node  # dates and the like: the schema rejects what it does not want


def real_spec_path(path: Path) -> Path:
    """The spec file itself, through any symlink: what its lockfile, its name and the
    relative paths inside it hang off.

    One spec, one lockfile: `current.yaml -> welcome.yaml` is welcome.yaml, locked by
    welcome.lock, so the videos it made are not planned again through the other name.
    Paths inside the spec (assets, data, output, templates) are relative to the folder
    of the real file too, so the lockfile's relative paths (hashed files, outputs)
    mean the same files whichever way the spec is reached; a symlink elsewhere is a
    second way in, not a second project. Without a symlink the path is returned as
    given (messages keep the path as typed); through one, relative to the current
    folder when the real file is below it, else absolute.
    """
    real = os.path.realpath(path)
    if real == os.path.abspath(path):
        return path
    relative = os.path.relpath(real, os.path.realpath(os.getcwd()))
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return Path(real)
    return Path(relative)


def lock_path_for(spec: Path) -> Path:
    """``specs/welcome.yaml`` -> ``specs/welcome.lock``, for the real file (see above)."""
    return real_spec_path(spec).with_suffix(".lock")


def find_specs(targets: list[Path], *, require_specs: bool = False) -> list[Path]:
    """Expand files and folders into the sorted list of spec files they name.

    With ``require_specs`` a folder holding no spec is a problem (validate and plan
    must not pass on nothing); `watch` leaves it off to wait for specs to appear.
    """
    found: list[Path] = []
    problems: list[Problem] = []
    for target in targets:
        if target.is_dir():
            specs = sorted(_walk_specs(target))
            if require_specs and not specs:
                problems.append(
                    Problem(Location(str(target)), "no specs (*.yaml, *.yml) in this folder")
                )
            found.extend(specs)
        elif target.is_file():
            found.append(target)
        else:
            problems.append(Problem(Location(str(target)), "no such file or folder"))
    if problems:
        raise SpecError(problems)
    seen: set[Path] = set()
    unique = []
    for path in found:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique.append(path)
    return unique


NOT_SPEC_FOLDERS = frozenset({"templates", "data", "assets"})


def _walk_specs(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        # Templates and data folders may hold YAML that is not a spec; hidden folders
        # (.git, .github workflows, .venv, .reelform) hold other tools' YAML: not walked.
        dirs[:] = [d for d in dirs if d not in NOT_SPEC_FOLDERS and not d.startswith(".")]
        for name in files:
            if name.endswith(SPEC_SUFFIXES) and not name.startswith("."):
                path = Path(root, name)
                if path.is_file():
                    yield path
