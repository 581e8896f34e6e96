"""Structure-aware templating: each string value is a sandboxed Jinja template.

YAML is parsed first; then a video's merged tree is compiled once into a tree
whose templated strings are ``jinja2.Template`` objects and whose constant parts
are shared as they are. Rendering a row walks only the templated paths, so a
100,000-row spec costs one template call per templated string per row and no
re-parsing. Data never becomes YAML syntax. A string of only literal text and
``{{ row.x }}`` lookups skips Jinja altogether (``interpolation.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from reelform.speclang.interpolation import Interpolation, PureParts, is_template, simple_parts
from reelform.speclang.template_errors import CompileFailure, PathFailure, failure_from

_INCLUDE = re.compile(r"\{%\s*include\s+(['\"])([^'\"]+)\1\s*%\}\n?")


class RecordingLoader(jinja2.FileSystemLoader):
    """A file loader that remembers every template file it read (for `watch`)."""

    def __init__(self, searchpath: list[Path]) -> None:
        super().__init__([str(p) for p in searchpath])
        self.loaded: set[Path] = set()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        try:
            source, filename, uptodate = super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            raise jinja2.TemplateError(
                f"template {template!r} is not UTF-8 text ({exc.reason})"
            ) from None
        self.loaded.add(Path(filename))
        return source, filename, uptodate


class _Environment(ImmutableSandboxedEnvironment):
    # Immutable: `row` and `vars` are shared by every template of a row (and `vars` by
    # every row); `{{ vars.update(...) }}` would make a video depend on the row order.
    def make_globals(self, d: Mapping[str, Any] | None) -> Any:
        # Jinja chains template globals over the environment's (a ChainMap), and every
        # Context copies that chain's keys: with an include in a per-row template that
        # was most of the rendering time. Our globals never change after setup, so a
        # flat dict (what Jinja itself returned before 3.0) means the same.
        return {**self.globals, **(d or {})}


def make_environment(spec_dir: Path) -> tuple[SandboxedEnvironment, RecordingLoader]:
    """The sandboxed environment for one spec: strict, no autoescape, no reloads."""
    # Not spec_dir.parent: Path(".").parent is "." itself, so a spec in the working
    # directory would never see ../templates.
    shared = Path(os.path.normpath(spec_dir / os.pardir / "templates"))
    loader = RecordingLoader([spec_dir / "templates", shared])
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
