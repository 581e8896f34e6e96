"""`providers:` in a spec: each provider's settings, as its traits declare them.

The keys a provider accepts, their values and defaults are ``ProviderTraits.settings``
(JoggAI's ``api_version``; a plugin's own), so a plugin's settings are checked like
a built-in's: unknown keys with a suggestion, values that are not among the choices,
each located in the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reelform.errors import Problem
from reelform.registry import is_provider, known_providers, provider_traits, providers_registry
from reelform.speclang.load import Source
from reelform.speclang.model import one_of
from reelform.speclang.schema_errors import unknown_key_message
from reelform.traits import BUILTIN


def settings_problems(given: Mapping[str, Mapping[str, Any]], source: Source) -> list[Problem]:
    """Unknown providers and settings under `providers:`, and values a setting refuses."""
    problems: list[Problem] = []
    for name, values in given.items():
        where = ("providers", name)
        if not is_provider(name):
            message = unknown_key_message(name, known_providers())
            problems.append(source.problem(where, message, key=True))
            continue
        declared = {s.name: s for s in provider_traits(name).settings}
        for key, value in values.items():
            setting = declared.get(key)
            if setting is None:
                message = unknown_key_message(str(key), declared)
                problems.append(source.problem((*where, key), message, key=True))
            elif not isinstance(value, str):
                expected = one_of(setting.choices) if setting.choices else "a valid string"
                problems.append(
                    source.problem((*where, key), f"Input should be {expected}, got {value!r}")
                )
            elif setting.choices and value not in setting.choices:
                problems.append(
                    source.problem(
                        (*where, key), f"Input should be {one_of(setting.choices)}, got {value!r}"
                    )
                )
    return problems


def provider_settings(
    given: Mapping[str, Mapping[str, Any]], used: Iterable[str]
) -> dict[str, dict[str, str]]:
    """The settings of every built-in and of each provider in ``used`` or ``given``:
    the spec's values over the defaults (values already reported are left out)."""
    settings: dict[str, dict[str, str]] = {}
    for name in dict.fromkeys([*BUILTIN, *given, *used]):
        if not is_provider(name):
            continue  # reported by settings_problems
        traits = provider_traits(name)
        values = traits.default_settings()
        for setting in traits.settings:
            value = given.get(name, {}).get(setting.name)
            if isinstance(value, str) and (not setting.choices or value in setting.choices):
                values[setting.name] = value
        settings[name] = values
    return settings


def settings_json_schema() -> dict[str, Any]:
    """The JSON schema of `providers:`, from the providers installed now."""
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            name: {
                "type": "object",
                "additionalProperties": False,
                "description": f"Settings of {traits.label}.",
                "properties": {
                    s.name: {
                        "type": "string",
                        "description": s.description,
                        **({"enum": list(s.choices)} if s.choices else {}),
                        **({"default": s.default} if s.default is not None else {}),
                    }
                    for s in traits.settings
                },
            }
            for name, traits in providers_registry().items()
        },
    }
