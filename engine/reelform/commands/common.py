"""Options and helpers that several commands share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reelform.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def parse_vars(values: tuple[str, ...]) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--var {value!r}: expected NAME=VALUE")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 arrive as lone surrogates
            raise ConfigError(f"--var {key.strip()}: the value is not UTF-8 text") from None
        result[key.strip()] = text
    return result


def spec_arguments(func: F) -> F:
    """SPEC|DIR ... (default: the `specs` folder)."""
    return click.argument(
        "targets",
        nargs=-1,
        type=click.Path(path_type=Path),
    )(func)


def var_option(func: F) -> F:
    return click.option(
        "--var",
        "variables",
        multiple=True,
        metavar="NAME=VALUE",
        help="Override `vars.NAME` in templates (repeatable).",
    )(func)


def target_option(func: F) -> F:
    return click.option(
        "--target",
        "targets_glob",
        multiple=True,
        metavar="GLOB",
        help="Only videos whose name matches GLOB (repeatable), e.g. 'welcome-*'.",
    )(func)


def no_reuse_option(func: F) -> F:
    return click.option(
        "--no-reuse",
        is_flag=True,
        help="Render every video the plan needs, even one whose identical render is "
        "already done (elsewhere in this spec, another spec of the repository, or this "
        "run): by default that video is copied instead of paid for again.",
    )(func)


def default_targets(targets: tuple[Path, ...]) -> list[Path]:
    if targets:
        return list(targets)
    if Path("specs").is_dir():
        return [Path("specs")]
    raise ConfigError("no SPEC given and there is no `specs` folder here")


class ProviderChoice(click.Choice[str]):
    """`--provider`: a registered provider, built-in or plugin.

    The names are looked up when the option is used or shown, not when the command
    is defined: listing them reads every plugin's entry point, which a command that
    never shows them should not pay for.
    """

    name = "provider"

    def __init__(self) -> None:
        super().__init__((), case_sensitive=True)

    @property
    def choices(self) -> tuple[str, ...]:
        from reelform.registry import known_providers

        return known_providers()

    @choices.setter
    def choices(self, value: object) -> None:
        """click.Choice sets the names once; these are always the registry's."""
