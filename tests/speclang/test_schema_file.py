"""schemas/reelform.schema.json: up to date with the models, and the examples fit it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from reelform.speclang.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "reelform.schema.json"
EXAMPLES = sorted(p for p in (ROOT / "specs").glob("*.y*ml")) if (ROOT / "specs").is_dir() else []


def expected_text() -> str:
    """What `reelform schema` prints (click.echo adds the newline)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def test_schema_file_is_up_to_date() -> None:
    assert SCHEMA_FILE.is_file(), "schemas/reelform.schema.json is missing: run `make schema`"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == expected_text(), (
        "schemas/reelform.schema.json is out of date with the models: run `make schema` "
        "and commit the file"
    )


def test_schema_command_prints_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    from reelform.cli import main

    assert main(["schema"]) == 0
    assert capsys.readouterr().out == expected_text()


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def test_schema_accepts_templates_where_values_are_not_strings() -> None:
    document = {
        "version": 1,
        "videos": [
            {
                "name": "v-{{ row.id }}",
                "for_each": "rows",
                "when": "{{ row.on }}",
                "voice": {"script": "hi"},
                "screen_style": "{{ row.style }}",
                "captions": "{{ row.cap }}",
                "avatar": {"id": "{{ row.avatar }}"},
            }
        ],
    }
    assert list(validator().iter_errors(document)) == []


def test_schema_rejects_unknown_keys_and_bad_enums() -> None:
    document = {
        "version": 1,
        "videos": [{"name": "a", "voice": {"script": "x"}, "aspect": "wide", "titel": "x"}],
    }
    messages = sorted(e.message for e in validator().iter_errors(document))
    assert any("titel" in m for m in messages), messages
    assert any("wide" in m for m in messages), messages


@pytest.mark.skipif(not EXAMPLES, reason="specs/ has no example specs yet")
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_specs_fit_the_schema(example: Path) -> None:
    document = YAML(typ="safe").load(example.read_text(encoding="utf-8"))
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator().iter_errors(document)
    ]
    assert errors == []


@pytest.mark.skipif(not EXAMPLES, reason="specs/ has no example specs yet")
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_specs_validate(example: Path, check) -> None:
    assert check(example) == []


@pytest.mark.parametrize(
    ("model", "valid"),
    [("2.0", True), (2.0, True), (1, True), ("2.0-Pro", True), (2.5, False), ("4.0", False)],
)
def test_schema_photo_avatar_model_as_reelform_reads_it(model: object, valid: bool) -> None:
    document = {
        "version": 1,
        "avatars": {"a": {"image": "x", "voice_id": "v", "model": model}},
        "videos": [{"name": "a", "voice": {"script": "x"}}],
    }
    assert (list(validator().iter_errors(document)) == []) is valid
