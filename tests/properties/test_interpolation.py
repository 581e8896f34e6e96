"""The Jinja-free fast path (speclang/interpolation.py) is Jinja, where it answers.

For generated templates (literal text with braces, quotes, newlines and unicode
around lookups, comparisons, near misses and other Jinja) and generated rows
(strings, numbers, None, lists, missing columns): whenever ``simple_parts``
accepts a template, ``Interpolation`` renders Jinja's string or fails with
Jinja's located error (message, template file, line).

Checked able to fail: with ``value == literal`` flipped to ``!=`` in
``Interpolation.render_slowly`` or in the function ``interpolation.joined`` generates,
a ``str()`` dropped there, or the line count in ``simple_parts`` off by one, a
property failed within a few examples. They also found two real differences,
now declined: ``"{{{ row.x }}"`` (Jinja's tag opens one brace earlier: a syntax
error, not "{" and the value) and ``{{ row.x == 'a<newline>b' }}`` on a missing
column (Jinja reports the literal's last line).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reelform.speclang import render
from reelform.speclang.interpolation import Interpolation, joined, simple_parts
from reelform.speclang.template_errors import CompileFailure, PathFailure

# Jinja warns of a backslash in a string literal (a template the fast path declines).
pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")
PROPERTY = settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PATH = ("videos", 0, "title")

#: Columns: real ones, dict methods (Jinja finds the method), names Jinja treats
#: specially elsewhere, and one that is never in a row.
COLUMNS = ["id", "name", "n", "x_1", "Name", "items", "get", "_hidden", "if", "none", "missing"]
AWKWARD = st.text(
    st.sampled_from(list("aZ09 é中🙂-_.,:;!?'\"\\{}%#\n\r\t")) | st.characters(), max_size=8
)
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, width=32)
    | AWKWARD
    | st.sampled_from(["", "7", "007", "1.0", "None", "True", "yes"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(COLUMNS), inner),
    max_leaves=3,
)
#: Usually with the columns the templates name (so lookups find values), often without.
ROWS = st.fixed_dictionaries(
    {"id": VALUES, "name": VALUES},
    optional={c: VALUES for c in COLUMNS if c not in ("id", "name", "missing")},
) | st.dictionaries(st.sampled_from(COLUMNS[:4]), VALUES, max_size=2)
VARS = st.fixed_dictionaries({"company": AWKWARD}, optional={"name": AWKWARD})

QUOTED = st.builds(
    lambda quote, text: quote + text + quote,
    st.sampled_from(["'", '"']),
    st.text(st.sampled_from(list("aé \n%#")), max_size=3)
    | st.text(st.sampled_from(list("ab é'\"{}%#\\\n")), max_size=4),
)
COMPARE = st.builds(
    "{}{}{}".format,
    st.sampled_from(["", " "]),
    st.sampled_from(["==", "!="]),
    st.sampled_from(["", " "]).flatmap(lambda space: QUOTED.map(lambda q: space + q)),
)
#: What the fast path is for: ``{{ row.x }}`` and ``{{ row.x == 'yes' }}``.
LOOKUP = st.builds(
    "{{{{{space}{name}.{column}{compare}{space}}}}}".format_map,
    st.fixed_dictionaries(
        {
            "space": st.sampled_from(["", " ", "  "]),
            "name": st.sampled_from(["row", "row", "vars", "loop", "spec"]),
            "column": st.sampled_from([*COLUMNS, "index", "company"]),
            "compare": st.just("") | COMPARE,
        }
    ),
)
#: Near misses: other spaces, whitespace control, a single brace, other names and
#: operators; each either means the same to Jinja or must be declined.
NEAR_MISS = st.builds(
    lambda open_, space, name, column, compare, close: (
        f"{open_}{space}{name}.{column}{compare}{space}{close}"
    ),
    st.sampled_from(["{{", "{{-", "{", "{{{"]),
    st.sampled_from(["", " ", "\t", "\n"]),
    st.sampled_from(["row", "other", "Row"]),
    st.sampled_from(["id", "name", "items", "__class__"]),
    st.just("") | COMPARE | st.sampled_from([" < 'a'", " == 1", " == row.id", " in 'abc'"]),
    st.sampled_from(["}}", "-}}", "}", "}}}"]),
)
OTHER_JINJA = st.sampled_from(
    [
        "{{ row.id | int }}",
        "{{ row['id'] }}",
        "{% if row.id %}x{% endif %}",
        "{# note #}",
        "{{ row. }}",
        "{{ }}",
        "{%",
        "{{ 'a' }}",
    ]
)
#: Braces next to a lookup are where Jinja's lexer and a regular expression part.
BRACES = st.sampled_from(["{", "}", "{}", "}}", "{ ", "%}", "#}", "}{"])
LITERAL = st.text(st.sampled_from(list("ab é🙂 '\"{}%#\\.\n\r")), min_size=1, max_size=4)


def _template(pieces: list[str], odd: str | None, where: int) -> str:
    if odd is not None:
        pieces.insert(where % (len(pieces) + 1), odd)
    return "".join(pieces)


#: Lookups and literal text, and at most one near miss or other Jinja among them
#: (one is enough to be declined; more would leave little for the fast path).
TEMPLATES = st.builds(
    _template,
    st.lists(st.one_of(LOOKUP, LOOKUP, LITERAL, BRACES), min_size=1, max_size=4),
    st.one_of(st.none(), st.none(), NEAR_MISS, OTHER_JINJA),
    st.integers(0, 4),
)


def context(env: jinja2.Environment, row: dict[str, Any], variables: dict[str, str]) -> Any:
    """What expand.py gives every template of a row."""
    return render.row_context(
        env, {"row": row, "vars": variables, "loop": {"index": 3}, "spec": {"name": "s"}}
    )


def outcome(node: Any, ctx: dict[str, Any]) -> tuple[str, ...]:
    try:
        return ("ok", node.render(ctx))
    except PathFailure as exc:
        return ("error", str(exc.path), exc.failure.describe())


def jinja_outcome(env: jinja2.Environment, source: str, ctx: dict[str, Any]) -> tuple[str, ...]:
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        return ("syntax error", exc.message or "", str(exc.lineno))
    return outcome(render.Templated(PATH, source, template), ctx)


@pytest.fixture(scope="module")
def env() -> jinja2.Environment:
    environment, _ = render.make_environment(Path("."))
    return environment


@PROPERTY
@given(TEMPLATES, ROWS, VARS)
def test_an_accepted_template_renders_as_jinja_does(
    env: jinja2.Environment, source: str, row: dict[str, Any], variables: dict[str, str]
) -> None:
    parts = simple_parts(source)
    if parts is None:
        return  # declined: Jinja renders it
    ctx = context(env, row, variables)
    node = Interpolation(PATH, source, parts)
    expected = jinja_outcome(env, source, ctx)
    assert outcome(node, ctx) == expected
    assert slow_outcome(node, ctx) == expected  # the part-by-part reference
    if expected[0] == "ok":  # the generated function answers itself, not by falling back
        assert joined(parts)(ctx) == expected[1]


def slow_outcome(node: Interpolation, ctx: dict[str, Any]) -> tuple[str, ...]:
    try:
        return ("ok", node.render_slowly(ctx))
    except PathFailure as exc:
        return ("error", str(exc.path), exc.failure.describe())


SIMPLE = st.lists(
    st.builds(
        "{{{{ {}.{} }}}}".format,
        st.sampled_from(["row", "vars", "loop", "spec"]),
        st.sampled_from(["id", "name", "company", "index"]),
    )
    | st.text(st.sampled_from(list("ab é🙂 '\"}%#\\.\n")), min_size=1, max_size=6),
    min_size=1,
    max_size=4,
).map(" ".join)


@settings(max_examples=100, deadline=None)
@given(SIMPLE)
def test_plain_lookups_are_accepted(source: str) -> None:
    """The fast path is taken: literal text (no opening brace) and plain lookups."""
    assert simple_parts(source) is not None


_names = itertools.count()


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spec")
    (folder / "templates").mkdir()
    return folder


@settings(max_examples=100, deadline=None)
@given(TEMPLATES, ROWS)
def test_an_included_template_renders_as_jinja_does(
    templates: Path, included: str, row: dict[str, Any]
) -> None:
    """``{% include 'x' %}`` alone is x itself: the file and line of an error are Jinja's."""
    name = f"t{next(_names)}.j2"  # a new name: the environment caches templates by name
    (templates / "templates" / name).write_text(included, encoding="utf-8", newline="")
    env, _ = render.make_environment(templates)
    source = f"{{% include '{name}' %}}"
    try:
        fast = render.compile_tree(source, env, PATH)
    except CompileFailure:
        return  # the included file does not compile: reported before any row
    if not isinstance(fast, Interpolation):
        return  # declined
    ctx = context(env, row, {})
    assert outcome(fast, ctx) == jinja_outcome(env, source, ctx)
