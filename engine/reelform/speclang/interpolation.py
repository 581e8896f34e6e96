"""The fast path of templating: strings of literal text and ``{{ row.x }}`` lookups.

Most per-row strings are like ``"welcome-{{ row.id }}"``; rendering them through
Jinja costs a Context per call, which at 100,000 rows dominated `plan`. Those
render here as a string join instead.

Contract: for every template ``simple_parts`` accepts, ``Interpolation.render``
gives the string Jinja renders, or fails with the located error Jinja fails with
(``TemplateError``: message, template, line). Every other template is declined
(None) and rendered by Jinja (``render.Templated``).
tests/properties/test_interpolation.py checks that over generated templates and rows.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reelform.speclang.template_errors import PathFailure, TemplateError, with_hint

# Jinja's default tag openers. Defined here rather than in render.py, which compiles
# only the strings that have one: ``simple_parts`` needs them too, and render.py
# imports this module.
TEMPLATE_MARKERS = ("{{", "{%", "{#")


def is_template(value: str) -> bool:
    return any(marker in value for marker in TEMPLATE_MARKERS)


#: Literal text, or (variable, attribute, template line, comparison operator, literal).
Part = str | tuple[str, str, int, str | None, str | None]
# No newline in a compared literal: Jinja then reports a missing column at the
# literal's last line, not the lookup's.
_LOOKUP = re.compile(
    r"\{\{ *(row|vars|loop|spec)\.([A-Za-z_][A-Za-z0-9_]*)"
    r"(?: *(==|!=) *(?:'([^'\\{}\n]*)'|\"([^\"\\{}\n]*)\"))? *\}\}"
)
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
        # A brace just before the lookup ("a{{{ row.x }}") moves Jinja's tag one
        # character earlier, where it is a syntax error, not a lookup.
        if is_template(literal) or literal.endswith("{") or match.group(2) in _DICT_ATTRIBUTES:
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


class Interpolation:
    """A template that is only literal text and ``{{ row.x }}``-style lookups.

    Rendered as a string join with Jinja's result (Jinja's str() of the value) and
    Jinja's error (StrictUndefined's "has no attribute", at the lookup's line).
    """

    __slots__ = ("_join", "parts", "path", "source", "template")

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
        self._join = joined(parts)

    def render(self, context: dict[str, Any]) -> str:
        try:
            return self._join(context)
        except (KeyError, TypeError):
            return self.render_slowly(context)  # raises the located error

    def render_slowly(self, context: dict[str, Any]) -> str:
        """``render`` part by part: the reference the joined function follows, and the
        path that knows which lookup failed and how to say so."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name, attribute, line, operator, literal = part
            try:
                value = context[name][attribute]
            except (KeyError, TypeError):
                # A name the context lacks (`row` in a matrix entry) is Jinja's
                # "'row' is undefined"; a missing key, its "no attribute".
                message = (
                    f"'dict object' has no attribute {attribute!r}"
                    if name in context
                    else f"{name!r} is undefined"
                )
                raise PathFailure(
                    self.path, TemplateError(with_hint(message, context), self.template, line)
                ) from None
            if operator is not None:
                value = value == literal if operator == "==" else value != literal
            out.append(value if type(value) is str else str(value))
        return "".join(out)


@functools.lru_cache(maxsize=1024)
def joined(parts: tuple[Part, ...]) -> Callable[[dict[str, Any]], str]:
    """``Interpolation.render_slowly`` for these parts as one generated function: a
    function call and a join per row instead of a loop over the parts, about half the
    time (each of 100,000 rows renders several). Where a lookup fails it raises
    KeyError or TypeError, and ``render`` asks ``render_slowly`` for the located error.

    Nothing of the template is code: its text and names are Python literals (repr)."""
    body = []
    pieces = []
    scopes: dict[str, str] = {}  # `row`, `vars`...: each looked up in the context once
    for index, part in enumerate(parts):
        if isinstance(part, str):
            pieces.append(repr(part))
            continue
        variable, attribute, _, operator, literal = part
        if variable not in scopes:
            scopes[variable] = scope = f"s{len(scopes)}"
            body.append(f"    {scope} = context[{variable!r}]")
        value = f"v{index}"
        body.append(f"    {value} = {scopes[variable]}[{attribute!r}]")
        if operator is None:
            pieces.append(f"({value} if _type({value}) is str else _str({value}))")
        else:  # == or !=, as _LOOKUP matched it
            pieces.append(f"_str({value} {'==' if operator == '==' else '!='} {literal!r})")
    result = f"''.join(({', '.join(pieces)},))" if pieces else "''"
    source = "\n".join(
        ["def render(context, _str=str, _type=type):", *body, f"    return {result}"]
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<interpolation>", "exec"), namespace)
    function: Callable[[dict[str, Any]], str] = namespace["render"]
    return function


@dataclass(frozen=True)
class PureParts:
    """A template string that ``Interpolation`` renders without Jinja."""

    parts: tuple[Part, ...]
    template: str | None = None  # the included file, when the string was an include
