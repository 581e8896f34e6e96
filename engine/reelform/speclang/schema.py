"""The JSON Schema of the spec format, generated from the pydantic models.

Editors see the file before templates are rendered, so every non-string value
of a video may also be a Jinja template string (``screen_style: "{{ row.s }}"``).

``provider`` (an enum) and ``providers`` (each provider's settings) list the
providers installed when the schema is made: the committed
schemas/reelform.schema.json has the built-ins; a project that uses a provider
plugin runs `reelform schema` to get one that knows the plugin too, so an editor
still flags a misspelt name rather than accepting any string.
"""

from __future__ import annotations

from typing import Any

from reelform.speclang.model import SpecDocument

SCHEMA_ID = "https://reelform.dev/schemas/reelform.schema.json"
TEMPLATE_STRING = {
    "type": "string",
    "pattern": "\\{\\{|\\{%",
    "description": "A Jinja template rendered per row.",
}


def json_schema() -> dict[str, Any]:
    schema = SpecDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    photo = schema.get("$defs", {}).get("PhotoAvatarSpec", {}).get("properties", {})
    if "model" in photo:
        # `model: 2.0` is a YAML number, which reelform reads as "2.0": so may editors.
        model = photo["model"]
        strings = {k: model.pop(k) for k in ("enum", "type") if k in model}
        model["anyOf"] = [strings, {"type": "number", "enum": [1, 2, 3]}]
    entry = schema.get("$defs", {}).get("VideoEntry", {}).get("properties", {})
    if "matrix" in entry:
        # Written out, never rendered (so no template string), and not null; an
        # axis name that does not match the pattern is not an axis.
        matrix = entry["matrix"]
        [axes] = [v for v in matrix.pop("anyOf") if v.get("type") == "object"]
        matrix.pop("default", None)
        matrix.update(axes, additionalProperties=False)
    for name in ("Video", "VideoEntry", "VideoDefaults", "AvatarSpec", "VoiceSpec"):
        definition = schema.get("$defs", {}).get(name)
        if definition:
            for prop in definition.get("properties", {}).values():
                _allow_templates(prop)
    return schema


def _allow_templates(prop: dict[str, Any]) -> None:
    """Let a non-string field also hold a template string."""
    if "$ref" in prop or prop.get("type") == "object":
        return
    variants = prop.get("anyOf", [prop])
    if any(
        v.get("type") == "string" and "enum" not in v and "const" not in v and "pattern" not in v
        for v in variants
    ):
        return  # already accepts any string
    keep = {
        k: prop.pop(k)
        for k in list(prop)
        if k not in ("description", "examples", "default", "title")
    }
    prop["anyOf"] = [*(keep.get("anyOf") or [keep]), TEMPLATE_STRING]
