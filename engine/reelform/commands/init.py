"""`reelform init`: scaffold a video-as-code repository."""

from __future__ import annotations

import os
from pathlib import Path

import click

from reelform.errors import ConfigError


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.option("--force", is_flag=True, help="Overwrite files that exist already.")
def command(directory: Path, force: bool) -> int:
    """Create a video-as-code repository in DIRECTORY (default: here).

    Writes an example spec that renders offline (specs/welcome.yaml), the
    template and CSV it uses, an assets/ folder, the JSON Schema for editors,
    a .gitignore for outputs, and a GitHub Actions workflow that comments the
    plan on pull requests and applies on main. Existing files are never
    overwritten without --force.
    """
    from reelform.scaffold import contents, existing, write

    files = contents()
    in_the_way = existing(directory, files)
    if in_the_way and not force:
        listing = "".join(f"\n  {directory / name}" for name in in_the_way)
        count = len(in_the_way)
        raise ConfigError(
            f"init: {count} file{'s exist' if count != 1 else ' exists'} already "
            f"(use --force to overwrite):{listing}"
        )
    replaced = set(in_the_way)
    for name, path in zip(files, write(directory, files), strict=True):
        click.echo(f"  {'overwrote' if name in replaced else 'created'} {path}")
    where = "" if directory.resolve() == Path.cwd().resolve() else f"cd {os.fspath(directory)} && "
    click.echo(
        f"\nNext: {where}reelform plan    (then `reelform apply` renders the example offline)"
    )
    return 0
