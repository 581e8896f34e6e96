"""`reelform avatars`: list a provider's avatars, as a table or as JSON.

The provider is built through ``make_provider`` like everywhere else, so this
command knows nothing about any one provider. Output is sorted, so two runs over an
unchanged catalog print the same bytes. ``print_rows`` is shared with `voices`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import click

from reelform.commands.common import ProviderChoice
from reelform.providers import ProviderContext, make_provider
from reelform.providers.base import AvatarInfo, Provider
from reelform.secrets import environment

T = TypeVar("T")


def run_with_provider(name: str, use: Callable[[Provider], Coroutine[Any, Any, T]]) -> T:
    """Build the provider, run ``use`` on it and always close it."""

    async def main() -> T:
        provider = make_provider(name, {}, ProviderContext(env=environment()))
        try:
            return await use(provider)
        finally:
            await provider.aclose()

    return anyio.run(main)


def print_rows(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, as_json: bool, title: str
) -> None:
    if as_json:
        click.echo(json.dumps(list(rows), indent=2, sort_keys=True, default=str))
        return
    if not sys.stdout.isatty():
        # Plain, tab-separated: easy to grep, cut and diff.
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join(_cell(row.get(c)) for c in columns))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    Console().print(table)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)


def avatar_row(avatar: AvatarInfo) -> dict[str, Any]:
    return {"id": avatar.id, "name": avatar.name, "kind": avatar.kind, **avatar.details}


def _sort_key(row: Mapping[str, Any]) -> tuple[str, int, str]:
    ident = str(row.get("id", ""))
    return (str(row.get("kind", "")), int(ident) if ident.isdigit() else 0, ident)


FILTERS = ("aspect", "gender", "style", "age", "scene", "ethnicity", "name", "status")


@click.command(
    help="""List the avatars a provider offers.

    Use an avatar's id in a spec (`avatar: {id: 81}` for a public avatar,
    `{id: 12, type: custom}` for your own). Filters are passed to the provider;
    JoggAI filters public avatars by aspect, gender, style, age, scene and ethnicity,
    and custom and photo avatars by name and status. Needs JOGG_API_KEY for jogg.
    """
)
@click.option(
    "--provider",
    "provider_name",
    type=ProviderChoice(),
    default="local",
    show_default=True,
    help="Whose avatars to list.",
)
@click.option(
    "--kind",
    type=click.Choice(["public", "custom", "photo"]),
    help="Only this kind (default: every kind).",
)
@click.option(
    "--aspect",
    type=click.Choice(["portrait", "landscape", "square"]),
    help="Only avatars made for this aspect ratio.",
)
@click.option("--gender", help="e.g. female, male.")
@click.option("--style", help="e.g. professional, social.")
@click.option("--age", help="e.g. adult, senior, young_adult.")
@click.option("--scene", help="e.g. studio, outdoors, business.")
@click.option("--ethnicity", help="e.g. european, east_asian.")
@click.option("--name", help="Custom and photo avatars whose name matches.")
@click.option("--status", help="Custom and photo avatars in this state (e.g. completed).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(provider_name: str, kind: str | None, as_json: bool, **options: str | None) -> int:
    filters = {k: v for k, v in options.items() if k in FILTERS and v}

    async def use(provider: Provider) -> list[AvatarInfo]:
        return await provider.list_avatars(kind, filters or None)

    avatars = run_with_provider(provider_name, use)
    rows = sorted((avatar_row(a) for a in avatars), key=_sort_key)
    columns = ["id", "name", "kind"] + [
        c
        for c in ("aspect_ratio", "gender", "style", "age", "status", "avatar_status")
        if any(c in row for row in rows)
    ]
    print_rows(rows, columns, as_json=as_json, title=f"{provider_name} avatars")
    return 0
