"""Structure-aware templating: each string value is a sandboxed Jinja template.

YAML is parsed first; then a video's merged tree is compiled once into a tree
whose templated strings are ``jinja2.Template`` objects and whose constant parts
are shared as they are. Rendering a row walks only the templated paths, so a
100,000-row spec costs one template call per templated string per row and no
re-parsing. Data never becomes YAML syntax.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

TEMPLATE_MARKERS = ("{{", "{%", "{#")
_MISSING_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'|'([^']+)' is undefined")


class TemplateError(Exception):
    """A template failed; ``template_line`` is the line inside the template (1-based)."""

    def __init__(self, message: str, template: str | None, template_line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.template = template
        self.template_line = template_line

    def describe(self) -> str:
        where = ""
        if self.template_line is not None:
            name = self.template if self.template and self.template != "<template>" else None
            where = (
                f" (template {name} line {self.template_line})"
                if name
                else f" (template line {self.template_line})"
            )
        return f"{self.message}{where}"


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


def is_template(value: str) -> bool:
    return any(marker in value for marker in TEMPLATE_MARKERS)


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


class Interpolation:
    """A template that is only literal text and ``{{ row.x }}``-style lookups.

    Most per-row strings are like ``"welcome-{{ row.id }}"``; rendering them through
    Jinja costs a Context per call, which at 100,000 rows dominated `plan`. These
    render as a string join with the same result and the same error message as
    Jinja (Jinja's str() of the value; StrictUndefined's "has no attribute").
    ``simple_parts`` only accepts what behaves identically; anything else is Jinja's.
    """

    __slots__ = ("parts", "path", "source", "template")

    def __init__(
        self,
        path: tuple[str | int, ...],
        source: str,
        parts: tuple[Part, ...],
        template: str | None = None,
    ):
        self.path = path
        self.source = source
        self.parts = parts
        self.template = template  # the included file, when the string was an include

    def render(self, context: dict[str, Any]) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name, attribute, line, operator, literal = part
            try:
                value = context[name][attribute]
            except (KeyError, TypeError):
                message = f"'dict object' has no attribute {attribute!r}"
                raise PathFailure(
                    self.path, TemplateError(_with_hint(message, context), self.template, line)
                ) from None
            if operator is not None:
                value = value == literal if operator == "==" else value != literal
            out.append(value if type(value) is str else str(value))
        return "".join(out)


#: Literal text, or (variable, attribute, template line, comparison operator, literal).
Part = str | tuple[str, str, int, str | None, str | None]
_LOOKUP = re.compile(
    r"\{\{ *(row|vars|loop|spec)\.([A-Za-z_][A-Za-z0-9_]*)"
    r"(?: *(==|!=) *(?:'([^'\\{}]*)'|\"([^\"\\{}]*)\"))? *\}\}"
)
_INCLUDE = re.compile(r"\{%\s*include\s+(['\"])([^'\"]+)\1\s*%\}\n?")
_DICT_ATTRIBUTES = frozenset(dir(dict))  # `row.items` is the method in Jinja, not a column


def simple_parts(source: str) -> tuple[Part, ...] | None:
    """The parts of a template of literal text, lookups (``{{ row.x }}``) and string
    comparisons (``{{ row.x == 'yes' }}``), or None if Jinja must render it."""
    # What Jinja's lexer does to the source first: newlines normalised, and one
    # trailing newline dropped (keep_trailing_newline=False).
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    text = text.removesuffix("\n")
    parts: list[Part] = []
    position = 0
    for match in _LOOKUP.finditer(text):
        literal = text[position : match.start()]
        if is_template(literal) or match.group(2) in _DICT_ATTRIBUTES:
            return None
        if literal:
            parts.append(literal)
        compared = match.group(4) if match.group(4) is not None else match.group(5)
        parts.append(
            (
                match.group(1),
                match.group(2),
                text.count("\n", 0, match.start()) + 1,
                match.group(3),
                compared,
            )
        )
        position = match.end()
    rest = text[position:]
    if is_template(rest):
        return None
    if rest:
        parts.append(rest)
    return tuple(parts)


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


@dataclass(frozen=True)
class PureParts:
    """A template string that ``Interpolation`` renders without Jinja."""

    parts: tuple[Part, ...]
    template: str | None = None  # the included file, when the string was an include


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


class CompileFailure(Exception):
    def __init__(
        self,
        path: tuple[str | int, ...],
        message: str,
        template_line: int | None,
        template: str | None = None,
    ):
        super().__init__(message)
        self.path = path
        self.message = message
        self.template_line = template_line
        self.template = template

    def describe(self) -> str:
        return TemplateError(self.message, self.template, self.template_line).describe()


class PathFailure(Exception):
    def __init__(self, path: tuple[str | int, ...], failure: TemplateError):
        super().__init__(failure.describe())
        self.path = path
        self.failure = failure


def failure_from(exc: BaseException, context: Mapping[str, Any]) -> TemplateError:
    """Translate a Jinja (or Python) error raised while rendering into a TemplateError."""
    template, line = _template_position(exc.__traceback__)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateError(
            f"template syntax: {exc.message}", exc.filename or exc.name, exc.lineno
        )
    if isinstance(exc, jinja2.TemplateNotFound):
        return TemplateError(
            f"template {exc.name!r} not found in templates/ or ../templates/", template, line
        )
    message = getattr(exc, "message", None) or str(exc)
    return TemplateError(_with_hint(message, context), template, line)


def _with_hint(message: str, context: Mapping[str, Any]) -> str:
    match = _MISSING_ATTRIBUTE.search(message)
    if not match:
        return message
    missing = match.group(1) or match.group(2)
    row = context.get("row")
    candidates = list(row) if isinstance(row, Mapping) else []
    if isinstance(context.get("vars"), Mapping):
        candidates += list(context["vars"])
    close = difflib.get_close_matches(missing, candidates, n=1)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    if isinstance(row, Mapping) and row and message.startswith("'dict object'"):
        # Only a mapping can be the row; "'str object' has no attribute" is not about it.
        return f"{message} (row has: {', '.join(sorted(map(str, row)))})"
    return message


def _template_position(tb: TracebackType | None) -> tuple[str | None, int | None]:
    """Jinja rewrites tracebacks so template frames carry template lines: take the last."""
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        # Template frames are "<template>" or the template's file; not "<frozen codecs>".
        if filename == "<template>" or not (filename.endswith(".py") or filename.startswith("<")):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found
