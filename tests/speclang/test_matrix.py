"""Matrix videos: one per combination of named axes, like nested loops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelform.speclang import render
from reelform.speclang.expand import MAX_REPEATS, load_spec
from reelform.speclang.interpolation import Interpolation, simple_parts
from reelform.speclang.schema import json_schema
from reelform.speclang.template_errors import PathFailure

TEAM = "id,name\nann,Ann\nbob,Bob\ncid,Cid\n"


def expanded(tree, text: str) -> list[Any]:
    tree.write("data/team.csv", TEAM)
    tree.spec(text)
    return load_spec(Path("spec.yaml")).videos


def test_combinations_in_nested_loop_order(tree) -> None:
    result = expanded(
        tree,
        """
        version: 1
        name: m
        vars: {greeting: Hi}
        data: {team: data/team.csv}
        videos:
          - name: "{{ spec.name }}-{{ loop.index }}-{{ matrix.person.id }}-{{ matrix.lang.code }}"
            matrix:
              person: team
              lang: [{code: en}, {code: de}]
            voice: {script: "{{ vars.greeting }} {{ matrix.person.name }} {{ matrix.lang.code }}"}
        """,
    )
    assert [v.name for v in result] == [
        "m-1-ann-en",
        "m-2-ann-de",
        "m-3-bob-en",
        "m-4-bob-de",
        "m-5-cid-en",
        "m-6-cid-de",
    ]
    assert result[3].video.voice.script == "Hi Bob de"


def test_axes_in_the_order_written(tree) -> None:
    result = expanded(
        tree,
        """
        version: 1
        data: {team: data/team.csv, sizes: [{s: portrait}, {s: square}]}
        videos:
          - name: "{{ matrix.lang.code }}-{{ matrix.person.id }}-{{ matrix.size.s }}"
            matrix: {lang: [{code: en}, {code: de}], person: team, size: sizes}
            aspect: "{{ matrix.size.s }}"
            voice: {script: x}
        """,
    )
    names = [v.name for v in result]
    assert len(names) == 2 * 3 * 2
    assert names[:3] == ["en-ann-portrait", "en-ann-square", "en-bob-portrait"]
    assert names[-1] == "de-cid-square"
    assert [v.video.aspect for v in result[:2]] == ["portrait", "square"]


def test_when_drops_combinations_and_loop_counts_them_all(tree) -> None:
    result = expanded(
        tree,
        """
        version: 1
        data: {team: data/team.csv}
        videos:
          - name: "{{ loop.index }}-{{ matrix.person.id }}-{{ matrix.lang.code }}"
            matrix: {person: team, lang: [{code: en}, {code: de}]}
            when: "{{ matrix.lang.code == 'en' or matrix.person.id == 'bob' }}"
            voice: {script: x}
        """,
    )
    assert [v.name for v in result] == ["1-ann-en", "3-bob-en", "4-bob-de", "5-cid-en"]


def test_an_axis_can_be_an_inline_data_source_and_defaults_apply(tree) -> None:
    result = expanded(
        tree,
        """
        version: 1
        data: {langs: [{code: en}, {code: de}]}
        defaults: {captions: true, voice: {voice_id: "v-{{ matrix.lang.code }}"}}
        videos:
          - name: "x-{{ matrix.lang.code }}"
            matrix: {lang: langs}
            voice: {script: x}
          - name: plain
            voice: {script: "{{ row | length }}", voice_id: v}
        """,
    )
    assert [(v.name, v.video.voice.voice_id, v.video.captions) for v in result[:2]] == [
        ("x-en", "v-en", True),
        ("x-de", "v-de", True),
    ]
    assert result[2].video.voice.script == "0"  # a plain video still has an empty row


def test_a_video_knows_its_combination(tree) -> None:
    result = expanded(
        tree,
        """
        version: 1
        data: {team: data/team.csv}
        videos:
          - name: "{{ matrix.person.id }}-{{ matrix.lang.code }}"
            matrix:
              person: team
              lang:
                - {code: en}
                - {code: de}
            voice: {script: x}
        """,
    )
    assert result[1].origin == "person=data/team.csv:2, lang={code: de}"
    assert result[1].row is None


def test_collisions_name_both_combinations(tree, check) -> None:
    tree.write("data/team.csv", TEAM)
    tree.spec("""
        version: 1
        data: {team: data/team.csv}
        videos:
          - name: "hi-{{ matrix.lang.code }}"
            matrix: {person: team, lang: [{code: en}]}
            voice: {script: x}
    """)
    assert check(Path("spec.yaml")) == [
        f"spec.yaml:4:11: duplicate video name 'hi-en' (person=data/team.csv:{line}, "
        "lang={code: en}); already made by person=data/team.csv:2, lang={code: en}"
        for line in (3, 4)
    ]


def test_collision_with_a_for_each_video(tree, check) -> None:
    tree.spec("""
        version: 1
        data: {langs: [{code: en}]}
        videos:
          - {name: "v-{{ row.code }}", for_each: langs, voice: {script: x}}
          - name: "v-{{ matrix.l.code }}"
            matrix: {l: langs}
            voice: {script: x}
    """)
    assert check(Path("spec.yaml")) == [
        "spec.yaml:5:11: duplicate video name 'v-en' (l=spec.yaml:2); "
        "already made by row spec.yaml:2"
    ]


def test_template_errors_are_capped_per_combination(tree, check) -> None:
    tree.spec("""
        version: 1
        videos:
          - name: "v{{ loop.index }}"
            matrix: {n: [{a: 1}, {a: 2}, {a: 3}, {a: 4}, {a: 5}]}
            title: "{{ matrix.n.b }}"
            voice: {script: x}
    """)
    lines = check(Path("spec.yaml"))
    assert len(lines) == MAX_REPEATS + 1
    assert lines[0] == (
        "spec.yaml:5:12: 'dict object' has no attribute 'b' (template line 1) (n={a: 1})"
    )
    assert lines[-1].endswith(f"(and {5 - MAX_REPEATS} more combinations)")


def test_a_misspelt_axis_gets_a_suggestion(tree, check) -> None:
    tree.spec("""
        version: 1
        videos:
          - name: "v{{ loop.index }}"
            matrix: {person: [{a: 1}]}
            title: "{{ matrix.persn.a }}"
            voice: {script: x}
    """)
    assert check(Path("spec.yaml")) == [
        "spec.yaml:5:12: 'dict object' has no attribute 'persn'; did you mean 'person'? "
        "(template line 1) (person={a: 1})"
    ]


def test_when_garbage_names_the_combination(tree, check) -> None:
    tree.spec("""
        version: 1
        videos:
          - {name: a, matrix: {x: [{on: maybe}]}, when: "{{ matrix.x.on }}", voice: {script: x}}
    """)
    assert check(Path("spec.yaml")) == [
        "spec.yaml:3:49: `when` must render true or false, got 'maybe' (x={on: maybe})"
    ]


def test_a_failed_data_file_is_reported_once(tree, check) -> None:
    tree.write("data/bad.csv", "id\n1,2\n")
    tree.spec("""
        version: 1
        data: {bad: data/bad.csv}
        videos:
          - {name: a, matrix: {x: bad}, voice: {script: x}}
    """)
    assert check(Path("spec.yaml")) == ["data/bad.csv:2: row 1 has 2 fields, the header has 1"]


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ("{}", "spec.yaml:3:23: `matrix` must map axis names to a data source's name or a list"),
        ("[a]", "spec.yaml:3:23: `matrix` must map axis names"),
        ("{1x: [{a: 1}]}", "spec.yaml:3:24: matrix axis '1x' is not a valid name"),
        ("{x: nope}", "spec.yaml:3:27: unknown data source 'nope'"),
    ],
)
def test_bad_matrices(tree, check, matrix: str, expected: str) -> None:
    tree.spec(f"version: 1\nvideos:\n  - {{name: a, matrix: {matrix}, voice: {{script: x}}}}\n")
    [line] = check(Path("spec.yaml"))
    assert line.startswith(expected)


def test_the_schema_knows_matrix_and_its_exclusion() -> None:
    schema = json_schema()
    entry = {"name": "a", "voice": {"script": "x"}}
    document: dict[str, Any] = {"version": 1, "videos": [entry]}

    def valid(**fields: Any) -> bool:
        document["videos"] = [{**entry, **fields}]
        try:
            jsonschema.validate(document, schema)
        except jsonschema.ValidationError:
            return False
        return True

    assert valid(matrix={"person": "team", "lang": [{"code": "en"}]})
    assert valid(for_each="team")
    assert not valid(for_each="team", matrix={"person": "team"})
    assert not valid(matrix={"lang": "en", "bad name": "x"})
    assert not valid(matrix={})
    assert not valid(matrix={"lang": ["en"]})
    assert not valid(matrix={"lang": []})
    assert not valid(matrix="{{ vars.axes }}")  # not rendered: a matrix is written out
    assert not valid(matrix=None)


# --- the fast path in a matrix context ----------------------------------------------
# (tests/properties/test_interpolation.py checks it over rows; here the context has
# `matrix` and no `row`, which Jinja calls "'row' is undefined".)

_COLUMNS = ["id", "name", "items", "missing"]
_LOOKUPS = st.builds(
    "{{{{{0}{1}.{2}{0}}}}}".format,
    st.sampled_from(["", " "]),
    st.sampled_from(["row", "matrix", "vars", "loop", "spec", "matrix.x"]),
    st.sampled_from([*_COLUMNS, "index", "x"]),
)
_TEMPLATES = st.lists(
    _LOOKUPS | st.text(st.sampled_from(list("ab é{}'\n")), min_size=1, max_size=3),
    min_size=1,
    max_size=4,
).map("".join)
_ROWS = st.dictionaries(st.sampled_from(_COLUMNS[:3]), st.text(max_size=3) | st.integers())


def _outcome(node: Any, ctx: dict[str, Any]) -> tuple[str, ...]:
    try:
        return ("ok", node.render(ctx))
    except PathFailure as exc:
        return ("error", exc.failure.describe())


@settings(max_examples=300, deadline=None)
@given(_TEMPLATES, _ROWS)
def test_the_fast_path_is_jinja_in_a_matrix_context(source: str, row: dict[str, Any]) -> None:
    env, _ = render.make_environment(Path("."))
    ctx = render.row_context(
        env, {"matrix": {"x": row}, "vars": {"id": "v"}, "loop": {"index": 1}, "spec": {}}
    )
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError:
        return
    parts = simple_parts(source)
    if parts is None:
        return  # declined: Jinja renders it
    fast = _outcome(Interpolation(("title",), source, parts), ctx)
    assert fast == _outcome(render.Templated(("title",), source, template), ctx)
