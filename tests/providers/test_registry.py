"""The provider registry: one traits record per provider, built-ins and plugins."""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from reelform import registry
from reelform.errors import ConfigError
from reelform.providers import make_provider, provider_class
from reelform.providers.jogg import JoggProvider
from reelform.providers.jogg_answers import KEY_VARIABLE as JOGG_KEY
from reelform.providers.mirako import KEY_VARIABLE as MIRAKO_KEY
from reelform.providers.mirako import MirakoProvider
from reelform.registry import (
    GROUP,
    known_providers,
    load_plugins,
    provider_traits,
    providers_registry,
    traits_problem,
)
from reelform.secrets import SECRET_VARIABLES
from reelform.traits import BUILTIN, ProviderTraits


def test_each_provider_declares_its_rate_limit_and_whether_it_is_free() -> None:
    traits = {
        name: (provider_traits(name).submit_rate_per_minute, provider_traits(name).free)
        for name in BUILTIN
    }
    # docs/providers.md: JoggAI allows 20 POSTs a minute per key; Mirako documents none.
    assert traits == {"jogg": (20.0, False), "mirako": (None, False), "local": (None, True)}


def test_each_client_is_imported_from_its_traits_and_has_its_name() -> None:
    for name, traits in BUILTIN.items():
        module, _, attribute = traits.client.partition(":")
        cls = provider_class(name)
        assert (cls.__module__.startswith(module), cls.__name__) == (True, attribute)
        assert getattr(cls, "name") == name  # noqa: B009 (a factory type has no .name)


def test_the_clients_read_the_variables_their_traits_name() -> None:
    """The traits say which variables hold keys and base URLs (for redaction, test
    isolation, `reelform sim`'s banner); the clients read those same variables."""
    assert provider_traits("jogg").credentials == (JOGG_KEY,)
    assert provider_traits("mirako").credentials == (MIRAKO_KEY,)
    for client in (JoggProvider, MirakoProvider):
        variable = provider_traits(client.name).base_url_variable
        assert f'"{variable}"' in inspect.getsource(client.__init__)
    assert set(SECRET_VARIABLES) == {"JOGG_API_KEY", "MIRAKO_API_KEY", "JOGG_WEBHOOK_SECRET"}


def test_an_unknown_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown provider 'heygen' \\(known: local, jogg"):
        provider_class("heygen")


def test_importing_the_traits_and_registry_loads_nothing_heavy() -> None:
    code = (
        "import sys, reelform.traits, reelform.registry\n"
        "reelform.registry.provider_traits('jogg')\n"
        "heavy = {'httpx', 'av', 'pydantic', 'numpy', 'starlette', 'importlib.metadata'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    # importlib.metadata too: a built-in is answered without reading any entry point.
    assert result.stdout.strip() == "[]"


# --- plugins, from entry points -------------------------------------------------------


def point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name, value, GROUP)


def test_a_plugin_is_found_by_its_entry_point(plugin_module: str, installed: list) -> None:
    installed.append(point("echo", f"{plugin_module}:TRAITS"))
    traits = provider_traits("echo")
    assert (traits.name, traits.poll_first, traits.free) == ("echo", 0.2, False)
    assert known_providers() == ("local", "jogg", "mirako", "echo")
    assert providers_registry()["echo"] is traits
    assert providers_registry()["jogg"] is BUILTIN["jogg"]


def test_a_built_in_is_answered_without_reading_entry_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def entry_points(*, group: str) -> list[EntryPoint]:
        raise AssertionError("entry points were read")

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    registry._scan.cache_clear()
    try:
        assert provider_traits("mirako") is BUILTIN["mirako"]
    finally:
        registry._scan.cache_clear()


def test_the_entry_points_are_read_once(plugin_module: str, monkeypatch) -> None:
    reads: list[str] = []

    def entry_points(*, group: str) -> list[EntryPoint]:
        reads.append(group)
        return [point("echo", f"{plugin_module}:TRAITS")]

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    registry._scan.cache_clear()
    try:
        for _ in range(3):
            provider_traits("echo")
            known_providers()
        assert reads == [GROUP]
    finally:
        registry._scan.cache_clear()


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("jogg", "fake_plugin:TRAITS", "may not replace the built-in provider 'jogg'"),
        ("echo", "fake_broken:TRAITS", "cannot be loaded: RuntimeError: the plugin is broken"),
        ("echo", "fake_plugin:MISSING", "cannot be loaded: AttributeError"),
        ("echo", "no_such_module:TRAITS", "cannot be loaded: ModuleNotFoundError"),
        ("echo", "fake_plugin:NOT_TRAITS", "gives a dict, not a reelform.traits.ProviderTraits"),
        ("echo", "fake_plugin:OTHER", "its traits are named 'other', not 'echo'"),
        ("echo", "fake_plugin:BAD_PATH", "its client 'fake_plugin.Client' is not 'module:name'"),
    ],
)
def test_a_broken_plugin_is_a_config_error_naming_its_entry_point(
    plugin_module: str, installed: list, name: str, value: str, problem: str
) -> None:
    installed.append(point(name, value))
    with pytest.raises(ConfigError) as caught:
        provider_traits("echo")
    message = str(caught.value)
    assert f"provider plugin entry point `{name} = {value}` ({GROUP})" in message
    assert problem in message and message.endswith("fix the plugin or uninstall its package")
    # Built-ins still work, and so does redaction (it must never fail on a plugin).
    assert provider_traits("jogg") is BUILTIN["jogg"]
    assert "JOGG_API_KEY" in registry.loaded_secret_variables()


def test_two_packages_giving_one_name_is_an_error(plugin_module: str) -> None:
    scan = load_plugins([point("echo", f"{plugin_module}:TRAITS")] * 2)
    assert list(scan.plugins) == ["echo"]
    assert len(scan.errors) == 1 and "is already given by" in scan.errors[0]


def test_a_plugin_client_is_checked_when_it_is_built(plugin_module: str, installed) -> None:
    installed.append(point("echo", f"{plugin_module}:TRAITS"))
    with pytest.raises(ConfigError, match=r"its client 'fake_plugin:Client' lacks aclose, "):
        make_provider("echo")


def test_the_built_in_traits_are_well_formed() -> None:
    assert {name: traits_problem(traits) for name, traits in BUILTIN.items()} == dict.fromkeys(
        BUILTIN
    )


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"name": "Echo"}, "provider name 'Echo'"),
        ({"client": "fake_plugin.Client"}, "its client 'fake_plugin.Client' is not 'module:name'"),
        ({"poll_minimum": 0}, "its poll times must be positive"),
        ({"label_fields": ("caption",)}, "its label_fields ['caption'] are not labels"),
    ],
)
def test_a_plugin_s_traits_are_checked_when_loaded(
    changes: dict[str, object], problem: str
) -> None:
    fields: dict[str, object] = {"name": "echo", "label": "Echo", "client": "m:C", **changes}
    traits = ProviderTraits(**fields)  # type: ignore[arg-type]
    assert problem in (traits_problem(traits) or "")
