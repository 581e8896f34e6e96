"""API keys are checked when read and when a provider is built: a key pasted with
quotes, a newline or a space inside fails as a ConfigError naming the variable and
the character, never inside httpx and never showing the key."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reelform.errors import ConfigError
from reelform.providers import ProviderContext, make_provider
from reelform.providers.http import api_key

KEY = "jk_live_9f8e7d6c5b4a"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"\u201c{KEY}\u201d", "contains a curly quote (U+201C LEFT DOUBLE QUOTATION MARK)"),
        (f"\u2018{KEY}\u2019", "contains a curly quote (U+2018 LEFT SINGLE QUOTATION MARK)"),
        (f"{KEY}\u201d", "contains a curly quote (U+201D RIGHT DOUBLE QUOTATION MARK)"),
        (f'"{KEY}"', "contains a quote (U+0022 QUOTATION MARK)"),
        (f"'{KEY}'", "contains a quote (U+0027 APOSTROPHE)"),
        (f"{KEY[:6]} {KEY[6:]}", "contains whitespace (U+0020 SPACE) inside the key"),
        (f"{KEY}\n{KEY}", "contains whitespace (U+000A) inside the key"),
        (f"{KEY[:6]}\t{KEY[6:]}", "contains whitespace (U+0009) inside the key"),
        (f"{KEY[:6]}\u00a0{KEY[6:]}", "contains whitespace (U+00A0 NO-BREAK SPACE)"),
        (f"{KEY}\u200b", "contains a non-ASCII character (U+200B ZERO WIDTH SPACE)"),
        (f"{KEY[:6]}\u00e9", "contains a non-ASCII character (U+00E9 LATIN SMALL LETTER E"),
        (f"{KEY}\x1b[0m", "contains a control character (U+001B)"),
        (f"{KEY}\x00", "contains a control character (U+0000)"),
    ],
)
def test_a_malformed_key_is_a_config_error_naming_the_variable_not_the_key(
    value: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        api_key({"JOGG_API_KEY": value}, "JOGG_API_KEY")
    message = str(caught.value)
    assert message.startswith(f"JOGG_API_KEY {problem}"), message
    assert KEY not in message and KEY[:6] not in message
    # The same check without requiring the key (what a provider does when built).
    with pytest.raises(ConfigError, match=r"^JOGG_API_KEY contains"):
        api_key({"JOGG_API_KEY": value}, "JOGG_API_KEY", required=False)


@pytest.mark.parametrize(
    "value", [KEY, f"  {KEY}\n", f"\t{KEY}\r\n", "mk-A1b2.C3~d4_E5+f6/g7=", "!#$%&()*,:;<>?@[]^{|}"]
)
def test_surrounding_whitespace_is_stripped_and_printable_ascii_is_a_key(value: str) -> None:
    assert api_key({"MIRAKO_API_KEY": value}, "MIRAKO_API_KEY") == value.strip()


@pytest.mark.parametrize("env", [{}, {"JOGG_API_KEY": ""}, {"JOGG_API_KEY": " \n"}])
def test_a_missing_key_is_an_error_only_when_required(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="JOGG_API_KEY is not set: export it or put it in a"):
        api_key(env, "JOGG_API_KEY")
    assert api_key(env, "JOGG_API_KEY", required=False) is None


@pytest.mark.parametrize(
    ("provider", "variable"), [("jogg", "JOGG_API_KEY"), ("mirako", "MIRAKO_API_KEY")]
)
def test_a_provider_checks_its_key_when_built(
    provider: str, variable: str, make_context: Callable[..., ProviderContext]
) -> None:
    with pytest.raises(ConfigError, match=rf"^{variable} contains a curly quote"):
        make_provider(provider, {}, make_context(env={variable: f"\u201c{KEY}\u201d"}))
    # Without a key it is still built (webhooks, limits); the key is required when used.
    make_provider(provider, {}, make_context(env={variable: ""}))
