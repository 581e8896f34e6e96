"""From a spec file to the list of videos it asks for (no network, no writes).

``load_spec`` runs every stage and collects every problem of the spec before it
raises, so one run reports them all: YAML syntax, schema, unknown keys, data files,
templates (per row, with the data row; per matrix combination, with its rows) and
duplicate names.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from reelform.errors import Location, Problem, SpecError
from reelform.speclang import model as m
from reelform.speclang.data import DATA_SUFFIXES, Rows, inline_rows, item_text, read_rows
from reelform.speclang.load import PathKey, Source, load_yaml, real_spec_path
from reelform.speclang.render import (
    TemplatedDict,
    compile_tree,
    from_spec_folder,
    make_environment,
    render_tree,
    row_context,
)
from reelform.speclang.schema_errors import (
    did_you_mean,
    unknown_key_problems,
    validation_problems,
)
from reelform.speclang.settings import provider_settings, settings_problems
from reelform.speclang.template_errors import CompileFailure, PathFailure

# The same mistake in a template fails for every row; say it a few times, then count.
MAX_REPEATS = 3
EXCLUSIVE = {"avatar": ({"id", "type"}, {"photo"}), "voice": ({"script"}, {"audio"})}
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0", "", "none"}
_AXIS_RE = re.compile(m.IDENTIFIER_PATTERN)


@dataclass(frozen=True)
class AssetDecl:
    name: str
    display: str  # as written in the spec
    path: Path | None = None  # absolute
    url: str | None = None


class DesiredVideo(NamedTuple):
    """One video the spec asks for, after expansion and validation.

    A NamedTuple, not a dataclass: a large spec makes 100,000 of them, and the
    location of the data row is only built when a message needs it.
    """

    name: str
    provider: str
    video: m.Video
    entry: int  # index in `videos:`
    rows: Rows | None = None  # the data source it came from, if any
    row_index: int = 0  # its row in that source
    combination: tuple[tuple[str, Rows, int], ...] = ()  # a matrix's (axis, rows, row)

    @property
    def row(self) -> Location | None:
        """The data row it came from (``DATAFILE:LINE``), for messages."""
        return self.rows.where(self.row_index) if self.rows is not None else None

    @property
    def origin(self) -> str | None:
        """Where it came from, for messages: ``row DATAFILE:LINE`` or a matrix
        combination ``axis=DATAFILE:LINE, ...``; None for a plain video."""
        if self.combination:
            return combination_text(self.combination)
        row = self.row
        return f"row {row}" if row is not None else None


def combination_text(combination: Sequence[tuple[str, Rows, int]]) -> str:
    """``person=data/team.csv:3, lang={code: de}``: each axis's row, located in its
    data file, or itself when it is written in the matrix (``Rows.inline``)."""
    return ", ".join(
        f"{axis}={item_text(rows.rows[i]) if rows.inline else rows.where(i)}"
        for axis, rows, i in combination
    )


@dataclass(frozen=True)
class Reads:
    """Every file the expansion read, by its content: what the expansion memo keys on
    (``memo/``). Templates by the name asked for, with the file found (relative to
    the spec's folder, POSIX) or None when none was: a template that appears later in
    templates/ changes what an include finds."""

    spec: str | None  # the sha256 of the spec file's bytes
    data: tuple[tuple[str, str | None], ...]  # (data file as written, sha256), in order
    templates: tuple[tuple[str, str | None, str | None], ...]  # (name, file, sha256), sorted
    #: False when some file gave two answers (edited while read): nothing to memoize.
    stable: bool = True


@dataclass(frozen=True)
class LoadedSpec:
    path: Path
    name: str
    directory: Path
    head: m.SpecHead
    source: Source
    assets: dict[str, AssetDecl]
    videos: list[DesiredVideo]
    settings: dict[str, dict[str, str]]
    lock_path: Path
    output_dir: Path
    dependencies: frozenset[Path] = field(default_factory=frozenset)
    reads: Reads | None = None

    def locate_video(self, video: DesiredVideo, path: PathKey = ()) -> Location:
        """Where a field of a video is written: in its entry, else in `defaults`."""
        entry_path = ("videos", video.entry, *path)
        if (
            path
            and entry_path not in self.source.positions
            and ("defaults", *path) in self.source.positions
        ):
            return self.source.locate(("defaults", *path))
        return self.source.locate(entry_path)


def load_spec(path: Path, var_overrides: Mapping[str, str] | None = None) -> LoadedSpec:
    """Load, validate and expand one spec; raise SpecError with every problem found."""
    spec, problems = expand_spec(path, var_overrides)
    if problems:
        raise SpecError(problems)
    return spec


def expand_spec(
    path: Path, var_overrides: Mapping[str, str] | None = None
) -> tuple[LoadedSpec, list[Problem]]:
    """Load and expand one spec, returning it with the problems found so far.

    Raises SpecError only when there is no spec to go on (YAML syntax, schema of
    the file's head); otherwise the caller can check more (provider fit on the
    videos that did expand) and report everything in one run.
    """
    source = load_yaml(path)
    problems: list[Problem] = []
    if not isinstance(source.data, dict):
        raise SpecError([source.problem((), "a spec must be a mapping (version, videos, ...)")])
    unknown: list[PathKey] = []

    def at_key(path: PathKey, message: str) -> Problem:
        unknown.append(path)
        return source.problem(path, message, key=True)

    problems += unknown_key_problems(source.data, m.SpecHead, (), at_key)
    try:
        # Unknown keys are reported already; without them the rest can still be checked.
        head = m.SpecHead.model_validate(_without(source.data, unknown))
    except ValidationError as exc:
        problems += validation_problems(exc, (), source.problem)
        raise SpecError(problems) from None
    # Through a symlink, the real file decides the folder, the default name and the
    # lockfile (load.real_spec_path): the same spec is the same videos either way.
    real = real_spec_path(path)
    directory = real.parent
    name = head.name or real.stem
    if head.name is None and not m.NAME_RE.match(name):
        problems.append(
            source.problem((), f"the file name {real.stem!r} is not a valid spec name; set `name:`")
        )
    variables = {**head.vars, **(var_overrides or {})}

    assets, asset_problems = _asset_decls(head, source, directory)
    problems += asset_problems
    data, data_problems, data_files = _data_sources(head, source, directory)
    problems += data_problems

    expansion = _Expansion(source, head, directory, name, variables, data)
    videos = expansion.run()
    problems += expansion.problems
    problems += _reference_problems(head, source, assets)

    output = head.output if head.output is not None else f"out/{name}"
    problems += settings_problems(head.providers, source)
    settings = provider_settings(head.providers, _providers_used(head, videos))
    dependencies = {path, *data_files, *expansion.loader.loaded}
    dependencies |= {a.path for a in assets.values() if a.path is not None}
    reads = Reads(
        source.sha256,
        tuple(
            (written, data[key].sha256 if key in data else None)
            for key, written in head.data.items()
            if isinstance(written, str)
        ),
        tuple(
            sorted(
                (template, from_spec_folder(found, directory), sha256)
                for template, (found, sha256) in expansion.loader.asked.items()
            )
        ),
        expansion.loader.stable,
    )
    spec = LoadedSpec(
        path=path,
        name=name,
        directory=directory,
        head=head,
        source=source,
        assets=assets,
        videos=videos,
        settings=settings,
        lock_path=real.with_suffix(".lock"),
        output_dir=Path(os.path.normpath(directory / output)),
        dependencies=frozenset(p.resolve() for p in dependencies),
        reads=reads,
    )
    return spec, problems


def _providers_used(head: m.SpecHead, videos: list[DesiredVideo]) -> set[str]:
    """The providers of the videos; read off each only where an entry may set one."""
    if "provider" in head.defaults or any("provider" in entry for entry in head.videos):
        return {head.provider, *(v.provider for v in videos)}
    return {head.provider}


def _without(data: Any, paths: list[PathKey]) -> Any:
    """A copy of ``data`` without the mapping keys at ``paths``."""
    if not paths:
        return data
    drop = {p for p in paths if p}
    return _pruned(data, (), drop)


def _pruned(value: Any, path: PathKey, drop: set[PathKey]) -> Any:
    if isinstance(value, dict):
        return {k: _pruned(v, (*path, k), drop) for k, v in value.items() if (*path, k) not in drop}
    if isinstance(value, list):
        return [_pruned(v, (*path, i), drop) for i, v in enumerate(value)]
    return value


def _asset_decls(
    head: m.SpecHead, source: Source, directory: Path
) -> tuple[dict[str, AssetDecl], list[Problem]]:
    assets: dict[str, AssetDecl] = {}
    problems: list[Problem] = []
    for name, spec in head.assets.items():
        if isinstance(spec, m.AssetUrl):
            assets[name] = AssetDecl(name, spec.url, url=spec.url)
            continue
        written = spec if isinstance(spec, str) else spec.path
        full = directory / written
        if not full.is_file():
            where = ("assets", name) if isinstance(spec, str) else ("assets", name, "path")
            what = "is a folder, not a file" if full.is_dir() else "not found"
            problems.append(source.problem(where, f"asset {name!r}: file {written!r} {what}"))
        assets[name] = AssetDecl(name, written, path=full.resolve())
    return assets, problems


def _data_sources(
    head: m.SpecHead, source: Source, directory: Path
) -> tuple[dict[str, Rows], list[Problem], list[Path]]:
    data: dict[str, Rows] = {}
    problems: list[Problem] = []
    files: list[Path] = []
    for name, spec in head.data.items():
        if isinstance(spec, str):
            full = directory / spec
            files.append(full)
            if full.suffix.lower() not in DATA_SUFFIXES:
                # A property of the reference, not of the file: point at the spec.
                problems.append(
                    source.problem(
                        ("data", name),
                        f"data source {name!r}: unsupported file type "
                        f"{full.suffix or '(none)'!r}; use one of "
                        f"{', '.join(DATA_SUFFIXES)}",
                    )
                )
                continue
            if not full.is_file():
                problems.append(
                    source.problem(("data", name), f"data source {name!r}: file {spec!r} not found")
                )
                continue
            try:
                data[name] = read_rows(full, os.path.relpath(full))
            except SpecError as exc:
                problems += exc.problems
        else:
            lines = [source.positions.get(("data", name, i), (1, 1))[0] for i in range(len(spec))]
            data[name] = inline_rows(spec, source.display, lines)
    return data, problems, files


def _reference_problems(
    head: m.SpecHead, source: Source, assets: Mapping[str, AssetDecl]
) -> list[Problem]:
    problems = []
    for name, avatar in head.avatars.items():
        if avatar.image not in assets:
            problems.append(
                source.problem(
                    ("avatars", name, "image"), did_you_mean("asset", avatar.image, assets)
                )
            )
    return problems


def _where(rows: Rows | None, index: int) -> str | None:
    """The data row of a problem; built only when there is a problem to report."""
    return f"row {rows.where(index)}" if rows is not None else None


def merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` over ``base``; alternatives replace each other.

    ``defaults: {avatar: {id: 81}}`` under a video's ``avatar: {photo: founder}``
    gives ``{photo: founder}``, not an avatar with both (and likewise script/audio).
    """
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    result = dict(base)
    for key, value in override.items():
        if key in result and isinstance(value, dict) and isinstance(result[key], dict):
            inherited = dict(result[key])
            for group in EXCLUSIVE.get(key, ()):
                if group & value.keys():
                    for other in EXCLUSIVE[key]:
                        if other is not group:
                            for name in other:
                                inherited.pop(name, None)
                    if key == "voice" and "type" not in value:
                        inherited.pop("type", None)
            result[key] = merge(inherited, value)
        else:
            result[key] = value
    return result


def _truth(value: Any) -> bool | None:
    """What a rendered `when` means; None if it is neither true nor false."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


#: The nested models of a video, which a row's video often holds unchanged.
_NESTED = (("avatar", m.AvatarSpec), ("voice", m.VoiceSpec))


def _constant_models(tree: Any) -> Any:
    """``tree`` with each nested mapping that no template touches (``avatar: {id: 81}``
    in every row) validated once, here, rather than once per row: pydantic takes a
    model instance as it is (the models are frozen, so every video may share it). One
    that is not valid stays a mapping, and each video reports it, located, as before."""
    if not isinstance(tree, TemplatedDict):
        return tree
    for name, model in _NESTED:
        value = tree.constant.get(name)
        if type(value) is dict:
            with contextlib.suppress(ValidationError):
                tree.constant[name] = model.model_validate(value)
    return tree


class _Expansion:
    """Expands every `videos:` entry over its rows, collecting problems."""

    def __init__(
        self,
        source: Source,
        head: m.SpecHead,
        directory: Path,
        name: str,
        variables: dict[str, Any],
        data: dict[str, Rows],
    ) -> None:
        self.source = source
        self.head = head
        self.name = name
        self.variables = variables
        self.data = data
        self.env, self.loader = make_environment(directory)
        self.problems: list[Problem] = []
        self._repeats: Counter[tuple[Location, str, str]] = Counter()
        self._cache: dict[str, Any] = {}

    def run(self) -> list[DesiredVideo]:
        defaults = self.head.defaults
        self.problems += unknown_key_problems(
            defaults, m.VideoDefaults, ("defaults",), self._at_key
        )
        videos: list[DesiredVideo] = []
        for index, entry in enumerate(self.head.videos):
            videos += self._expand_entry(index, entry, defaults)
        self._flush_repeats()
        self._check_unique(videos)
        return videos

    def _at_key(self, path: PathKey, message: str) -> Problem:
        return self.source.problem(path, message, key=True)

    def _locate(self, index: int, path: PathKey) -> Location:
        """A path of the merged video: in the entry if written there, else in defaults."""
        entry_path = ("videos", index, *path)
        if entry_path in self.source.positions:
            return self.source.locate(entry_path)
        if ("defaults", *path) in self.source.positions:
            return self.source.locate(("defaults", *path))
        return self.source.locate(entry_path)

    def _report(
        self, location: Location, message: str, origin: str | None, more: str = "rows"
    ) -> None:
        """A problem of one video; ``origin`` is its row or combination (``_where``)."""
        if origin is None:
            # The same problem of several videos (a bad value in `defaults`) is one line.
            self.problems.append(Problem(location, message))
            return
        key = (location, message, more)
        self._repeats[key] += 1
        if self._repeats[key] <= MAX_REPEATS:
            self.problems.append(Problem(location, f"{message} ({origin})"))

    def _flush_repeats(self) -> None:
        for (location, message, more), count in self._repeats.items():
            if count > MAX_REPEATS:
                self.problems.append(
                    Problem(location, f"{message} (and {count - MAX_REPEATS} more {more})")
                )

    def _expand_entry(
        self, index: int, entry: dict[str, Any], defaults: dict[str, Any]
    ) -> list[DesiredVideo]:
        problem = self.source.problem
        before = len(self.problems)
        self.problems += unknown_key_problems(entry, m.VideoEntry, ("videos", index), self._at_key)
        if len(self.problems) > before:
            return []
        if "for_each" in entry and "matrix" in entry:
            self.problems.append(
                problem(
                    ("videos", index, "matrix"),
                    "`for_each` and `matrix` exclude each other: give one",
                    key=True,
                )
            )
            return []
        body = {k: v for k, v in entry.items() if k not in ("for_each", "matrix", "when")}
        merged = merge(defaults, body)
        try:
            tree = _constant_models(compile_tree(merged, self.env, (), self._cache))
            when = compile_tree(entry.get("when"), self.env, ("when",), self._cache)
        except CompileFailure as exc:
            self.problems.append(Problem(self._locate(index, exc.path), exc.describe()))
            return []
        if "matrix" in entry:
            return self._expand_matrix(index, entry["matrix"], tree, when)
        for_each = entry.get("for_each")
        rows: Rows | None = None
        if for_each is not None:
            if not isinstance(for_each, str) or for_each not in self.head.data:
                self.problems.append(
                    problem(
                        ("videos", index, "for_each"),
                        did_you_mean("data source", str(for_each), self.head.data),
                    )
                )
                return []
            if for_each not in self.data:
                return []  # the data file itself failed; reported already
            rows = self.data[for_each]
        videos: list[DesiredVideo] = []
        count = len(rows.rows) if rows is not None else 1
        default_provider = self.head.provider
        spec_names = {"name": self.name}
        # One context for the whole entry, its row and loop replaced per row: templates
        # only read it (the sandbox is immutable) and no render outlives its row.
        context = row_context(
            self.env, {"row": {}, "vars": self.variables, "loop": {"index": 0}, "spec": spec_names}
        )
        # Looked up once, not once a row: this loop runs for each of 100,000 rows.
        data_rows = rows.rows if rows is not None else None
        validate = m.Video.model_validate
        for i in range(count):
            context["row"] = data_rows[i] if data_rows is not None else {}
            context["loop"] = {"index": i + 1}
            try:
                if when is not None and not self._included(when, context, index, rows, i):
                    continue
                rendered = render_tree(tree, context)
            except PathFailure as exc:
                self._report(self._locate(index, exc.path), exc.failure.describe(), _where(rows, i))
                continue
            try:
                video = validate(rendered)
            except ValidationError as exc:
                for p in validation_problems(
                    exc, (), lambda path, msg: Problem(self._locate(index, path), msg)
                ):
                    self._report(p.location, p.message, _where(rows, i))
                continue
            provider = video.provider or default_provider
            videos.append(DesiredVideo(video.name, provider, video, index, rows, i))
        return videos

    def _included(
        self, when: Any, context: dict[str, Any], index: int, rows: Rows | None, i: int
    ) -> bool:
        if when is None:
            return True
        value = render_tree(when, context)
        truth = _truth(value)
        if truth is None:
            self._report(
                self._locate(index, ("when",)),
                f"`when` must render true or false, got {str(value)!r}",
                _where(rows, i),
            )
            return False
        return truth

    def _matrix_axes(self, index: int, raw: Any) -> list[tuple[str, Rows]] | None:
        """The axes of a `matrix:` (in the order written), or None after reporting."""
        path: PathKey = ("videos", index, "matrix")
        problem = self.source.problem
        if not isinstance(raw, dict) or not raw:
            self.problems.append(
                problem(
                    path,
                    "`matrix` must map axis names to a data source's name or a list of rows",
                )
            )
            return None
        axes: list[tuple[str, Rows]] = []
        complete = True
        for axis, value in raw.items():
            where: PathKey = (*path, axis)
            if not isinstance(axis, str) or not _AXIS_RE.match(axis):
                self.problems.append(
                    problem(
                        where,
                        f"matrix axis {axis!r} is not a valid name (letters, digits, _ and -, "
                        "not starting with a digit or -)",
                        key=True,
                    )
                )
                complete = False
                continue
            rows = self._axis_rows(axis, value, where)
            if rows is None:
                complete = False
            else:
                axes.append((axis, rows))
        return axes if complete else None

    def _axis_rows(self, axis: str, value: Any, where: PathKey) -> Rows | None:
        problem = self.source.problem
        if isinstance(value, str):
            if value not in self.head.data:
                self.problems.append(
                    problem(where, did_you_mean("data source", value, self.head.data))
                )
                return None
            if value not in self.data:
                return None  # the data file itself failed; reported already
            rows = self.data[value]
            if not rows.rows:
                self.problems.append(
                    problem(
                        where, f"matrix axis {axis!r} is empty: data source {value!r} has no rows"
                    )
                )
                return None
            return rows
        if not isinstance(value, list):
            self.problems.append(
                problem(
                    where,
                    f"matrix axis {axis!r}: give a data source's name or a list of rows",
                )
            )
            return None
        if not value:
            self.problems.append(problem(where, f"matrix axis {axis!r} is empty: give rows"))
            return None
        bad = [i for i, item in enumerate(value) if not isinstance(item, dict)]
        for i in bad:
            self.problems.append(
                problem(
                    (*where, i),
                    f"matrix axis {axis!r}: item {i + 1} is not a mapping "
                    "(a row: {key: value, ...})",
                )
            )
        if bad:
            return None
        positions = self.source.positions
        lines = [positions.get((*where, i), (1, 1))[0] for i in range(len(value))]
        return inline_rows(value, self.source.display, lines, matrix=True)

    def _expand_matrix(self, index: int, raw: Any, tree: Any, when: Any) -> list[DesiredVideo]:
        """One video per combination of the axes' rows, like nested loops (the last
        axis fastest). Through Jinja's general path: `matrix.AXIS.x` is not a lookup
        the fast path takes."""
        axes = self._matrix_axes(index, raw)
        if axes is None:
            return []
        names = [axis for axis, _ in axes]
        sources = [rows for _, rows in axes]
        context = row_context(
            self.env,
            {
                "matrix": {},
                "vars": self.variables,
                "loop": {"index": 0},
                "spec": {"name": self.name},
            },
        )
        default_provider = self.head.provider
        videos: list[DesiredVideo] = []
        ranges = [range(len(rows.rows)) for rows in sources]
        for number, picks in enumerate(itertools.product(*ranges), start=1):
            combination = tuple(zip(names, sources, picks, strict=True))
            context["matrix"] = {axis: rows.rows[i] for axis, rows, i in combination}
            context["loop"] = {"index": number}
            try:
                if when is not None:
                    value = render_tree(when, context)
                    truth = _truth(value)
                    if truth is None:
                        self._report(
                            self._locate(index, ("when",)),
                            f"`when` must render true or false, got {str(value)!r}",
                            combination_text(combination),
                            "combinations",
                        )
                    if not truth:
                        continue
                rendered = render_tree(tree, context)
            except PathFailure as exc:
                self._report(
                    self._locate(index, exc.path),
                    exc.failure.describe(),
                    combination_text(combination),
                    "combinations",
                )
                continue
            try:
                video = m.Video.model_validate(rendered)
            except ValidationError as exc:
                for p in validation_problems(
                    exc, (), lambda path, msg: Problem(self._locate(index, path), msg)
                ):
                    self._report(
                        p.location, p.message, combination_text(combination), "combinations"
                    )
                continue
            provider = video.provider or default_provider
            videos.append(DesiredVideo(video.name, provider, video, index, combination=combination))
        return videos

    def _check_unique(self, videos: list[DesiredVideo]) -> None:
        first: dict[str, DesiredVideo] = {}
        duplicates = 0
        for video in videos:
            earlier = first.setdefault(video.name, video)
            if earlier is video:
                continue
            duplicates += 1
            if duplicates <= MAX_REPEATS * 3:
                made_by = earlier.origin or f"videos[{earlier.entry}]"
                origin = f" ({video.origin})" if video.origin else ""
                self.problems.append(
                    Problem(
                        self.source.locate(("videos", video.entry, "name")),
                        f"duplicate video name {video.name!r}{origin}; already made by {made_by}",
                    )
                )
        if duplicates > MAX_REPEATS * 3:
            self.problems.append(
                Problem(
                    self.source.locate(("videos",)),
                    f"{duplicates - MAX_REPEATS * 3} more duplicate names",
                )
            )
