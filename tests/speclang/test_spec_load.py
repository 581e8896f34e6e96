"""Reading spec files: YAML syntax, duplicate keys, the document's shape, folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelform.errors import SpecError
from reelform.speclang.load import find_specs, load_yaml, parse_yaml


def errors(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_yaml(text, Path("s.yaml"))
    return info.value.lines()


def test_syntax_error_points_at_line_and_column() -> None:
    assert errors("version: 1\n  videos: x\n") == [
        "s.yaml:2:9: YAML syntax: mapping values are not allowed here"
    ]


def test_unclosed_flow_mapping_says_where_it_began() -> None:
    assert errors("version: 1\nvideos: [{name: a\n") == [
        "s.yaml:3:1: YAML syntax: while parsing a flow mapping started at line 2, column 10, "
        "expected ',' or '}', but got '<stream end>'"
    ]


def test_unclosed_quote_says_where_it_began() -> None:
    assert errors('version: 1\nname: "abc\n\n') == [
        "s.yaml:4:1: YAML syntax: while scanning a quoted scalar started at line 2, column 7, "
        "found unexpected end of stream"
    ]


def test_bad_indentation_in_a_list() -> None:
    [line] = errors("videos:\n  - name: a\n - name: b\n")
    assert line.startswith("s.yaml:3:2: YAML syntax:")


def test_tab_indentation() -> None:
    [line] = errors("version: 1\nvideos:\n\t- name: a\n")
    assert line.startswith("s.yaml:3:1: YAML syntax:")
    assert "\t" not in line


def test_duplicate_key_is_an_error_at_the_second_key() -> None:
    assert errors("version: 1\nname: a\nversion: 2\n") == [
        's.yaml:3:1: YAML syntax: found duplicate key "version" with value "2" '
        '(original value: "1")'
    ]


def test_positions_of_values_and_keys() -> None:
    source = parse_yaml(
        "version: 1\nvideos:\n  - name: a\n    voice: {script: hi}\n", Path("s.yaml")
    )
    assert source.data == {"version": 1, "videos": [{"name": "a", "voice": {"script": "hi"}}]}
    assert str(source.locate(("videos", 0, "voice", "script"))) == "s.yaml:4:21"
    assert str(source.locate(("videos", 0, "voice"), key=True)) == "s.yaml:4:5"
    # a path that does not exist falls back to its nearest parent
    assert str(source.locate(("videos", 0, "voice", "audio"))) == "s.yaml:4:12"


def test_plain_values_not_ruamel_types() -> None:
    data = parse_yaml("a: 'x'\nb: 2.0\nc: [1]\nd: yes\n", Path("s.yaml")).data
    assert type(data["a"]) is str and type(data["b"]) is float
    assert type(data["c"]) is list and type(data["c"][0]) is int
    assert type(data) is dict


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"version: 1\nname: caf\xe9\n")
    with pytest.raises(SpecError) as info:
        load_yaml(path)
    assert info.value.lines() == [f"{path}:2:10: not UTF-8 text (invalid continuation byte)"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load_yaml(tmp_path / "nope.yaml")


def test_non_mapping_document(tree, check) -> None:
    tree.spec("- version: 1\n")
    assert check(Path("spec.yaml")) == [
        "spec.yaml:1:1: a spec must be a mapping (version, videos, ...)"
    ]


def test_empty_document(tree, check) -> None:
    tree.spec("# nothing yet\n")
    assert check(Path("spec.yaml")) == [
        "spec.yaml:1:1: a spec must be a mapping (version, videos, ...)"
    ]


def test_find_specs_skips_templates_data_and_assets(tmp_path: Path) -> None:
    for name in (
        "a.yaml",
        "b.yml",
        "sub/c.yaml",
        "templates/t.yaml",
        "data/rows.yaml",
        "assets/x.yml",
        "sub/data/d.yaml",
        "notes.txt",
        "x.json",
        ".github/workflows/ci.yml",
        ".venv/lib/pkg/x.yaml",
        ".reelform/cache.yaml",
        ".pre-commit-config.yaml",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("version: 1\n")
    found = find_specs([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.yaml", "b.yml", "sub/c.yaml"]


def test_find_specs_files_and_folders_once_each(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\n")
    assert find_specs([tmp_path / "a.yaml", tmp_path]) == [tmp_path / "a.yaml"]


def test_find_specs_reports_every_missing_target(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        find_specs([tmp_path / "x.yaml", tmp_path / "y"])
    assert info.value.lines() == [
        f"{tmp_path / 'x.yaml'}: no such file or folder",
        f"{tmp_path / 'y'}: no such file or folder",
    ]


def test_an_empty_folder_is_a_problem_only_when_specs_are_required(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "t.yaml").write_text("x: 1\n")
    assert find_specs([tmp_path]) == []
    with pytest.raises(SpecError) as info:
        find_specs([tmp_path], require_specs=True)
    assert info.value.lines() == [f"{tmp_path}: no specs (*.yaml, *.yml) in this folder"]


def test_surrogate_pair_escapes_make_one_character() -> None:
    data = parse_yaml('a: "\\ud83d\\ude00 \\U0001F600 \\u00e9"\n', Path("s.yaml")).data
    assert data == {"a": "\U0001f600 \U0001f600 \u00e9"}


def test_half_a_surrogate_pair_is_a_located_problem() -> None:
    assert errors('version: 1\nname: "x \\ud83d"\nlist: ["\\ude00"]\n') == [
        "s.yaml:2:7: a \\uD800-\\uDFFF escape without its other half; write the character "
        "itself or \\UXXXXXXXX",
        "s.yaml:3:8: a \\uD800-\\uDFFF escape without its other half; write the character "
        "itself or \\UXXXXXXXX",
    ]
