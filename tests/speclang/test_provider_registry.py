"""`provider:` and `providers:` in a spec are checked against the provider registry."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from reelform import registry
from reelform.errors import ConfigError
from reelform.project import prepare
from reelform.registry import GROUP

VIDEO = "videos:\n  - {name: a, voice: {script: hi}}\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("v3", "spec.yaml:2:33: Input should be 'v1' or 'v2', got 'v3'"),
        ("1", "spec.yaml:2:33: Input should be 'v1' or 'v2', got 1"),
    ],
)
def test_a_setting_takes_only_its_choices(tree, check, value: str, expected: str) -> None:
    tree.spec(f"version: 1\nproviders: {{jogg: {{api_version: {value}}}}}\n" + VIDEO)
    assert check(Path("spec.yaml")) == [expected]


def test_settings_defaults_reach_every_provider(tree) -> None:
    tree.spec(
        "version: 1\nprovider: jogg\ndefaults: {avatar: {id: 1}, voice: {voice_id: v}}\n" + VIDEO
    )
    prepared = prepare(Path("spec.yaml"))
    assert prepared.spec.settings == {"local": {}, "jogg": {"api_version": "v2"}, "mirako": {}}
    assert prepared.requests[0].inputs["settings"] == {"api_version": "v2"}


def test_a_spec_of_built_ins_reads_no_entry_points(tree, check, monkeypatch) -> None:
    """Plugins are looked up only for a name that is not a built-in's: a plan of
    built-ins pays nothing for them."""

    def entry_points(*, group: str) -> list[EntryPoint]:
        raise AssertionError("entry points were read")

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    registry._scan.cache_clear()
    tree.spec(
        "version: 1\nprovider: mirako\nproviders: {jogg: {api_version: v1}}\n"
        "videos:\n  - {name: a, provider: local, voice: {script: hi}}\n"
    )
    try:
        assert check(Path("spec.yaml")) == []
    finally:
        registry._scan.cache_clear()


def test_a_plugin_provider_and_its_settings(tree, check, plugin_module, installed) -> None:
    installed.append(EntryPoint("echo", f"{plugin_module}:TONED", GROUP))
    tree.spec(
        "version: 1\nprovider: echo\nproviders: {echo: {tone: bright}}\n"
        "videos:\n  - {name: a, voice: {script: hi}}\n"
        "  - {name: b, provider: local, voice: {script: hi}}\n"
    )
    prepared = prepare(Path("spec.yaml"))
    assert prepared.spec.settings["echo"] == {"tone": "bright"}
    inputs = {r.name: r.inputs for r in prepared.requests}
    assert inputs["a"] == {
        "provider": "echo",
        "settings": {"tone": "bright"},
        "voice": {"script": "hi", "voice_id": None},
        "captions": False,
        "screen_style": 1,
        # the traits' ignored_fields: no avatar, aspect or title
    }
    assert inputs["b"]["provider"] == "local"

    tree.spec(
        "version: 1\nproviders: {echo: {tone: loud}, eco: {}}\n"
        "videos:\n  - {name: a, provider: ecko, voice: {script: hi}}\n"
    )
    assert check(Path("spec.yaml")) == [
        "spec.yaml:2:26: Input should be 'flat' or 'bright', got 'loud'",
        "spec.yaml:2:33: unknown key 'eco'; did you mean 'echo'?",
        "spec.yaml:4:25: Input should be 'local', 'jogg', 'mirako' or 'echo', got 'ecko'",
    ]


def test_a_broken_plugin_is_a_config_error_when_a_spec_needs_it(
    tree, plugin_module, installed
) -> None:
    installed.append(EntryPoint("echo", "fake_broken:TRAITS", GROUP))
    tree.spec("version: 1\nprovider: echo\n" + VIDEO)
    with pytest.raises(ConfigError, match=r"`echo = fake_broken:TRAITS`.*the plugin is broken"):
        prepare(Path("spec.yaml"))
