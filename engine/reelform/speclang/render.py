"""Structure-aware templating: each string value is a sandboxed Jinja template.

YAML is parsed first; then a video's merged tree is compiled once into a tree
whose templated strings are ``jinja2.Template`` objects and whose constant parts
are shared as they are. Rendering a row walks only the templated paths, so a
100,000-row spec costs one template call per templated string per row and no
re-parsing. Data never becomes YAML syntax. A string of only literal text and
``{{ row.x }}`` lookups skips Jinja altogether (``interpolation.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from reelform.speclang.interpolation import Interpolation, PureParts, is_template, simple_parts
from reelform.speclang.template_errors import CompileFailure, PathFailure, failure_from

_INCLUDE = re.compile(r"\{%\s*include\s+(['\"])([^'\"]+)\1\s*%\}\n?")


class RecordingLoader(jinja2.FileSystemLoader):
    """A file loader that remembers every template file it read (for `watch`), and
    every name it was asked for with what it found: the file and the sha256 of its
    text, or nothing (the expansion memo, ``plan/memo.py``, checks them all again)."""

    def __init__(self, searchpath: list[Path]) -> None:
        super().__init__([str(p) for p in searchpath])
        self.loaded: set[Path] = set()
        #: name -> (the file found, the sha256 of its text), (None, None) when not found
        self.asked: dict[str, tuple[str | None, str | None]] = {}
        #: Whether each name gave the same answer every time it was asked for (a file
        #: edited during the expansion did not): the memo records only a stable one.
        self.stable = True

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        try:
            source, filename, uptodate = super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            self.stable = False  # an error of the spec: no memo is written anyway
            raise jinja2.TemplateError(
                f"template {template!r} is not UTF-8 text ({exc.reason})"
            ) from None
        except jinja2.TemplateNotFound:
            self._answer(template, None, None)
            raise
        self.loaded.add(Path(filename))
        self._answer(template, filename, hashlib.sha256(source.encode()).hexdigest())
        return source, filename, uptodate

    def _answer(self, name: str, filename: str | None, sha256: str | None) -> None:
        if self.asked.setdefault(name, (filename, sha256)) != (filename, sha256):
            self.stable = False


class _Environment(ImmutableSandboxedEnvironment):
    # Immutable: `row` and `vars` are shared by every template of a row (and `vars` by
    # every row); `{{ vars.update(...) }}` would make a video depend on the row order.
    def make_globals(self, d: Mapping[str, Any] | None) -> Any:
        # Jinja chains template globals over the environment's (a ChainMap), and every
        # Context copies that chain's keys: with an include in a per-row template that
        # was most of the rendering time. Our globals never change after setup, so a
        # flat dict (what Jinja itself returned before 3.0) means the same.
        return {**self.globals, **(d or {})}


def template_loader(spec_dir: Path) -> RecordingLoader:
    """Where a spec's templates are found: its folder's templates/, then ../templates/."""
    # Not spec_dir.parent: Path(".").parent is "." itself, so a spec in the working
    # directory would never see ../templates.
    shared = Path(os.path.normpath(spec_dir / os.pardir / "templates"))
    return RecordingLoader([spec_dir / "templates", shared])


def from_spec_folder(found: str | None, spec_dir: Path) -> str | None:
    """A template file as the memo records it: from the spec's folder, POSIX, whatever
    the current folder (``spec_dir`` may be relative to it); None stays None."""
    return None if found is None else Path(os.path.relpath(found, spec_dir)).as_posix()


def ask_again(spec_dir: Path, names: Iterable[str]) -> RecordingLoader:
    """A new loader of the spec's templates, asked for ``names`` as an expansion asks
    (its ``asked`` and ``stable`` then say what the same expansion would find now)."""
    loader = template_loader(spec_dir)
    env = jinja2.Environment()  # get_source reads no setting of it
    for name in names:
        with contextlib.suppress(jinja2.TemplateError):
            loader.get_source(env, name)
    return loader


def make_environment(spec_dir: Path) -> tuple[SandboxedEnvironment, RecordingLoader]:
    """The sandboxed environment for one spec: strict, no autoescape, no reloads."""
    loader = template_loader(spec_dir)
    env = _Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        auto_reload=False,  # do not stat template files once per row
        keep_trailing_newline=False,
        cache_size=-1,
    )
    return env, loader


class Templated:
    """A compiled template string at a path of the tree."""

    __slots__ = ("path", "source", "template")

    def __init__(self, path: tuple[str | int, ...], source: str, template: jinja2.Template):
        self.path = path
        self.source = source
        self.template = template

    def render(self, context: dict[str, Any]) -> str:
        """Render with ``context``, a dict made by ``row_context`` (holds the globals)."""
        template = self.template
        try:
            # Template.render() minus its per-call overhead: the row's context is
            # built once and shared read-only by every template of the row.
            return template.environment.concat(
                template.root_render_func(template.new_context(context, shared=True))
            )
        except Exception:
            # Let Jinja map the compiled code's lines back to template lines.
            try:
                template.environment.handle_exception()
            except Exception as rewritten:
                raise PathFailure(self.path, failure_from(rewritten, context)) from None
            raise  # handle_exception always raises; keeps mypy and readers sure


class TemplatedDict:
    """A mapping some of whose values (at any depth) are templates."""

    __slots__ = ("constant", "templated")

    def __init__(self, constant: dict[str, Any], templated: list[tuple[str, Node]]):
        self.constant = constant
        self.templated = templated

    def render(self, context: dict[str, Any]) -> dict[str, Any]:
        result = dict(self.constant)
        for key, child in self.templated:
            result[key] = child.render(context)
        return result


class TemplatedList:
    __slots__ = ("items",)

    def __init__(self, items: list[Any]):
        self.items = items

    def render(self, context: dict[str, Any]) -> list[Any]:
        return [
            item.render(context) if isinstance(item, NODE_TYPES) else item for item in self.items
        ]


Node = Templated | Interpolation | TemplatedDict | TemplatedList
NODE_TYPES = (Templated, Interpolation, TemplatedDict, TemplatedList)


#: What a template string compiles to.
Compiled = jinja2.Template | PureParts


def compile_tree(
    value: Any,
    env: jinja2.Environment,
    path: tuple[str | int, ...] = (),
    cache: dict[str, Compiled] | None = None,
) -> Any:
    """Compile every templated string below ``value``; constants stay as they are.

    Raises ``CompileFailure`` (with the path) for a template with a syntax error.
    """
    cache = {} if cache is None else cache
    if isinstance(value, str):
        if not is_template(value):
            return value
        compiled = cache.get(value)
        if compiled is None:
            compiled = _compile(value, env, path)
            cache[value] = compiled
        if isinstance(compiled, PureParts):
            return Interpolation(path, value, compiled.parts, compiled.template)
        return Templated(path, value, compiled)
    if isinstance(value, dict):
        constant: dict[str, Any] = {}
        templated: list[tuple[str, Node]] = []
        for key, item in value.items():
            compiled = compile_tree(item, env, (*path, key), cache)
            if isinstance(compiled, NODE_TYPES):
                templated.append((key, compiled))
            else:
                constant[key] = compiled
        return TemplatedDict(constant, templated) if templated else value
    if isinstance(value, list):
        items = [compile_tree(item, env, (*path, i), cache) for i, item in enumerate(value)]
        if any(isinstance(i, NODE_TYPES) for i in items):
            return TemplatedList(items)
        return value
    return value


def _compile(source: str, env: jinja2.Environment, path: tuple[str | int, ...]) -> Compiled:
    parts = simple_parts(source)
    if parts is not None:
        return PureParts(parts)
    include = _INCLUDE.fullmatch(source)
    if include is not None:
        # A string that is one include renders as the included template itself:
        # the same output (an include sees the whole context), one Context less a
        # row, and a missing template is found once, now, rather than per row.
        name = include.group(2)
        try:
            template = env.get_template(name)
            assert env.loader is not None
            included, filename, _ = env.loader.get_source(env, name)
            parts = simple_parts(included)
            return PureParts(parts, filename) if parts is not None else template
        except jinja2.TemplateNotFound:
            raise CompileFailure(
                path, f"template {name!r} not found in templates/ or ../templates/", 1
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise CompileFailure(
                path, f"template syntax: {exc.message}", exc.lineno, template=exc.filename or name
            ) from None
        except jinja2.TemplateError as exc:
            raise CompileFailure(path, exc.message or str(exc), 1) from None
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise CompileFailure(path, f"template syntax: {exc.message}", exc.lineno) from None


def row_context(env: jinja2.Environment, names: Mapping[str, Any]) -> dict[str, Any]:
    """The variables of one row, over the environment's globals (built once per row)."""
    return {**env.globals, **names}


def render_tree(node: Any, context: dict[str, Any]) -> Any:
    """Render a compiled tree for one row. Raises ``PathFailure`` with the path."""
    if isinstance(node, NODE_TYPES):
        return node.render(context)
    return node
