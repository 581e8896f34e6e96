"""The provider registry: classes by name, and what the engine reads off them."""

from __future__ import annotations

import pytest

from reelform.errors import ConfigError
from reelform.providers import PROVIDER_NAMES, provider_class


def test_each_provider_declares_its_rate_limit_and_whether_it_is_free() -> None:
    traits = {
        name: (provider_class(name).submit_rate_per_minute, provider_class(name).free)
        for name in PROVIDER_NAMES
    }
    # docs/providers.md: JoggAI allows 20 POSTs a minute per key; Mirako documents none.
    assert traits == {"jogg": (20.0, False), "mirako": (None, False), "local": (None, True)}
    assert all(provider_class(name).name == name for name in PROVIDER_NAMES)


def test_an_unknown_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown provider 'heygen' \\(known: local, jogg"):
        provider_class("heygen")
