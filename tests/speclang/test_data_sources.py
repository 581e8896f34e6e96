"""Row sources: CSV, JSON, JSON Lines, YAML files and inline rows, with their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelform.errors import SpecError
from reelform.speclang.data import read_rows


def rows_of(
    tmp_path: Path, name: str, content: bytes | str
) -> tuple[list[dict[str, object]], list[int]]:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    rows = read_rows(path, name)
    return rows.rows, rows.lines


def errors_of(tmp_path: Path, name: str, content: bytes | str) -> list[str]:
    with pytest.raises(SpecError) as info:
        rows_of(tmp_path, name, content)
    return info.value.lines()


def test_csv_header_bom_blank_lines_and_quoted_newlines(tmp_path: Path) -> None:
    rows, lines = rows_of(tmp_path, "d.csv", '\ufeffid, name \n1,Ann\n\n2,"B\nob"\n3,Cy\n')
    assert rows == [
        {"id": "1", "name": "Ann"},
        {"id": "2", "name": "B\nob"},
        {"id": "3", "name": "Cy"},
    ]
    assert lines == [2, 4, 6]


def test_csv_ragged_rows(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "d.csv", "id,name\n1,a,b\n\n2\n3,c\n") == [
        "d.csv:2: row 1 has 3 fields, the header has 2",
        "d.csv:4: row 2 has 1 field, the header has 2",
    ]


def test_csv_duplicate_and_empty_column_names(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "d.csv", "id,name,id,\n1,2,3,4\n") == [
        "d.csv:1: duplicate column 'id'",
        "d.csv:1: column 4 has no name",
    ]


def test_csv_empty(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "d.csv", "") == ["d.csv:1: empty CSV file: a header row is required"]


def test_csv_header_only_has_no_rows(tmp_path: Path) -> None:
    assert rows_of(tmp_path, "d.csv", "id,name\n") == ([], [])


def test_csv_unterminated_quote(tmp_path: Path) -> None:
    [line] = errors_of(tmp_path, "d.csv", 'id\n"abc\n')
    assert line.startswith("d.csv:") and "CSV:" in line


def test_json_array_of_objects_with_lines(tmp_path: Path) -> None:
    rows, lines = rows_of(tmp_path, "d.json", '[\n  {"a": 1},\n  {"a": "x\\"]}"},\n\n  {"a": 3}\n]')
    assert rows == [{"a": 1}, {"a": 'x"]}'}, {"a": 3}]
    assert lines == [2, 3, 5]


def test_json_not_an_array(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "d.json", '{"a": 1}') == [
        "d.json:1:1: a JSON data file must hold an array of objects"
    ]


def test_json_item_not_an_object(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "d.json", '[\n  {"a": 1},\n  2,\n  [3]\n]') == [
        "d.json:3: row 2 is not an object (mapping)",
        "d.json:4: row 3 is not an object (mapping)",
    ]


def test_json_syntax_error_line_and_column(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "d.json", '[\n  {"a": 1},\n  {"b": }\n]') == [
        "d.json:3:9: JSON: unexpected character, expected a JSON value"
    ]


def test_jsonl(tmp_path: Path) -> None:
    rows, lines = rows_of(tmp_path, "d.jsonl", '{"a": 1}\n\n{"a": 2}\n')
    assert (rows, lines) == ([{"a": 1}, {"a": 2}], [1, 3])


def test_jsonl_bad_lines(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "d.jsonl", '{"a": 1}\n{"a": \n[]\n{"a": }\n') == [
        "d.jsonl:2:7: JSON: unexpected end of data",
        "d.jsonl:4:7: JSON: unexpected character, expected a JSON value",
    ]
    assert errors_of(tmp_path, "d.jsonl", '{"a": 1}\n\n3\n') == [
        "d.jsonl:3: row 2 is not an object (mapping)"
    ]


def test_yaml_list_of_mappings(tmp_path: Path) -> None:
    rows, lines = rows_of(tmp_path, "d.yaml", "# rows\n- {a: 1}\n- a: 2\n  b: x\n")
    assert (rows, lines) == ([{"a": 1}, {"a": 2, "b": "x"}], [2, 3])


def test_yaml_not_a_list(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "d.yml", "a: 1\n") == [
        "d.yml:1:1: a YAML data file must hold a list of mappings"
    ]


def test_yaml_item_not_a_mapping(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "d.yaml", "- {a: 1}\n- x\n") == [
        "d.yaml:2: row 2 is not an object (mapping)"
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    [line] = errors_of(tmp_path, "d.yaml", "- {a: 1\n")
    assert line.startswith("d.yaml:2:1: YAML syntax:")


def test_non_utf8_with_line(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "d.csv", b"id\nok\ncaf\xe9\n") == ["d.csv:3: not UTF-8 text"]


def test_unsupported_extension_and_missing_file(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "d.xlsx", "x") == [
        "d.xlsx: unsupported data file type '.xlsx'; use one of .csv, .json, .jsonl, .yaml, .yml"
    ]
    with pytest.raises(SpecError, match="data file not found"):
        read_rows(tmp_path / "nope.csv", "nope.csv")


def test_through_a_spec(tree, check) -> None:
    tree.write("data/bad.json", "[1]")
    tree.spec("""
        version: 1
        data:
          a: data/nope.csv
          b: data/rows.xlsx
          c: data/bad.json
          inline: [{id: 1}]
        videos:
          - {name: "v{{ row.id }}", for_each: inlin, voice: {script: x}}
          - {name: "w{{ row.id }}", for_each: c, voice: {script: x}}
    """)
    assert check(Path("spec.yaml")) == [
        "data/bad.json:1: row 1 is not an object (mapping)",
        "spec.yaml:3:6: data source 'a': file 'data/nope.csv' not found",
        "spec.yaml:4:6: data source 'b': unsupported file type '.xlsx'; use one of .csv, "
        ".json, .jsonl, .yaml, .yml",
        "spec.yaml:8:39: unknown data source 'inlin'; did you mean 'inline'?",
    ]


def test_inline_rows_remember_their_lines(tree, check) -> None:
    tree.spec("""
        version: 1
        data:
          r:
            - {id: ok}
            - {id: "not ok"}
        videos:
          - {name: "{{ row.id }}", for_each: r, voice: {script: x}}
    """)
    [line] = check(Path("spec.yaml"))
    assert line.endswith(
        "invalid name 'not ok': use letters, digits, '.', '_' and '-', "
        "starting with a letter or digit, at most 128 characters "
        "(row spec.yaml:5)"
    )


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ('[\n  {"id": 1},\n  "two",\n  {"id": 3}\n]', [3]),
        ('[1, 2,\n {"a": [1, {"b": "]"}]},\n true]', [1, 1, 3]),
        ('[{"a": "x,\\"y"},\n\n "s", [\n 1]]', [3, 3]),
    ],
)
def test_json_lines_of_items_that_are_not_objects(
    tmp_path: Path, text: str, lines: list[int]
) -> None:
    problems = errors_of(tmp_path, "d.json", text)
    assert [int(p.split(":")[1]) for p in problems] == lines
