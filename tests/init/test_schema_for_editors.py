"""The JSON Schema that editors show (and `reelform init` copies): every property
explains itself, with an example to complete from."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reelform.speclang.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]


def properties(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, prop in schema.get("properties", {}).items():
        yield f"(top).{name}", prop
    for model, definition in schema.get("$defs", {}).items():
        for name, prop in definition.get("properties", {}).items():
            yield f"{model}.{name}", prop


def test_every_property_has_a_description_and_an_example() -> None:
    schema = json_schema()
    found = dict(properties(schema))
    assert len(found) > 40
    assert [n for n, p in found.items() if not p.get("description", "").strip()] == []
    assert [n for n, p in found.items() if not p.get("examples")] == []


def test_every_definition_and_the_document_are_described() -> None:
    schema = json_schema()
    assert schema["description"].startswith("A reelform spec")
    assert [n for n, d in schema["$defs"].items() if not d.get("description")] == []


def test_the_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "schemas/reelform.schema.json").read_text())
    assert committed == json_schema(), "run: make schema"
