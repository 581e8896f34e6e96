"""The autouse ``no_real_provider`` fixture (tests/conftest.py): a provider built from
the test environment points at the discard port and has no key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from reelform.errors import ConfigError, ProviderError
from reelform.providers import ProviderContext, make_provider
from reelform.secrets import SECRET_VARIABLES

NOWHERE = "http://127.0.0.1:9"  # as tests/conftest.py sets it


def test_every_secret_variable_is_removed() -> None:
    assert not any(name in os.environ for name in SECRET_VARIABLES)
    assert os.environ["JOGG_BASE_URL"] == os.environ["MIRAKO_BASE_URL"] == NOWHERE


def test_a_developers_real_keys_and_urls_are_shadowed() -> None:
    """The test above, in a pytest run started from a developer's shell."""
    shell = {
        **os.environ,
        **{name: "a_real_key_of_a_developer" for name in SECRET_VARIABLES},
        "JOGG_BASE_URL": "https://api.jogg.ai",
        "MIRAKO_BASE_URL": "https://mirako.co",
    }
    test = f"{Path(__file__).name}::test_every_secret_variable_is_removed"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=Path(__file__).parent,
        env=shell,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


@pytest.mark.parametrize(
    ("name", "variable"), [("jogg", "JOGG_API_KEY"), ("mirako", "MIRAKO_API_KEY")]
)
def test_a_provider_built_from_the_test_environment_goes_nowhere_without_a_key(
    name: str, variable: str
) -> None:
    provider = make_provider(name, {}, ProviderContext())  # its env: os.environ
    assert getattr(provider, "base_url") == NOWHERE  # noqa: B009 - not on the Protocol

    async def call() -> None:
        try:
            await provider.list_avatars()
        finally:
            await provider.aclose()

    with pytest.raises(ConfigError, match=f"{variable} is not set"):
        anyio.run(call)


def test_a_request_to_nowhere_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even with a key, the request meets a closed port on this machine."""
    monkeypatch.setenv("JOGG_API_KEY", "jk_not_a_real_key_1")
    provider = make_provider("jogg", {}, ProviderContext(time_scale=0.0))

    async def call() -> None:
        try:
            await provider.list_avatars()
        finally:
            await provider.aclose()

    with pytest.raises(ProviderError, match="connect"):
        anyio.run(call)


def test_subprocesses_inherit_it() -> None:
    code = "import os; print(os.environ['JOGG_BASE_URL'], 'JOGG_API_KEY' in os.environ)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [NOWHERE, "False"]
