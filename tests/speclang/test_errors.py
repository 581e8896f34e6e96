"""The problem list of a SpecError: sorted by place, deduplicated, stable."""

from __future__ import annotations

from pathlib import Path

from reelform.errors import Location, Problem, SpecError


def test_sorted_by_place_with_and_without_lines_and_columns() -> None:
    problems = [
        Problem(Location("b.yaml", 2, 1), "x"),
        Problem(Location("a.csv", 3), "row"),
        Problem(Location("a.csv", 3, 2), "cell"),
        Problem(Location("a.csv"), "file"),
        Problem(Location("a.csv", 10, 1), "late"),
    ]
    assert SpecError(problems).lines() == [
        "a.csv: file",
        "a.csv:3: row",
        "a.csv:3:2: cell",
        "a.csv:10:1: late",
        "b.yaml:2:1: x",
    ]


def test_same_place_keeps_the_order_found_and_drops_duplicates() -> None:
    at = Location("s.yaml", 1, 1)
    error = SpecError([Problem(at, "b"), Problem(at, "a"), Problem(at, "b")])
    assert error.lines() == ["s.yaml:1:1: b", "s.yaml:1:1: a"]
    assert str(error) == "s.yaml:1:1: b\ns.yaml:1:1: a"


def test_the_same_yaml_file_as_spec_and_as_data(tree, capsys) -> None:
    from reelform.cli import main

    tree.write("rows.yaml", "- a\n")
    tree.spec(
        "version: 1\ndata: {r: rows.yaml}\nvideos:\n"
        "  - {name: 'v{{ loop.index }}', for_each: r, voice: {script: x}}\n"
    )
    assert main(["validate", "spec.yaml", "rows.yaml"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "rows.yaml:1: row 1 is not an object (mapping)",
        "rows.yaml:1:1: a spec must be a mapping (version, videos, ...)",
    ]
    assert Path("rows.yaml").read_text() == "- a\n"
