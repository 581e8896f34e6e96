"""A template's errors, located: the template (the spec, or an included file), its
line, and the spec path of the string. Shared by the two renderers, Jinja
(``render.Templated``) and the fast path (``interpolation.Interpolation``), which
must fail with the same message.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import jinja2

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
    return TemplateError(with_hint(message, context), template, line)


def with_hint(message: str, context: Mapping[str, Any]) -> str:
    match = _MISSING_ATTRIBUTE.search(message)
    if not match:
        return message
    missing = match.group(1) or match.group(2)
    if missing == "row" and match.group(2) and isinstance(context.get("matrix"), Mapping):
        return f"{message}; a `matrix` video's rows are `matrix.AXIS`"
    row = context.get("row")
    candidates = list(row) if isinstance(row, Mapping) else []
    if isinstance(context.get("vars"), Mapping):
        candidates += list(context["vars"])
    matrix = context.get("matrix")
    if isinstance(matrix, Mapping):
        # A matrix entry: its axes, and the columns of the combination's rows.
        candidates += [str(axis) for axis in matrix]
        candidates += [str(c) for r in matrix.values() if isinstance(r, Mapping) for c in r]
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
