"""`reelform init`: scaffold a video-as-code repository."""

from __future__ import annotations

import os
from pathlib import Path

import click

from reelform.errors import ConfigError


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.option("--force", is_flag=True, help="Overwrite files that exist already.")
@click.option(
    "--install",
    "install",
    metavar="SPEC",
    help="The pinned source of reelform that the workflow installs: "
    "git+https://HOST/PATH@<commit id> or https://HOST/PATH/reelform-...whl#sha256=<hex> "
    "(default: where this reelform came from, if that is pinned).",
)
@click.option(
    "--action",
    "action",
    metavar="OWNER/REPO@COMMIT",
    help="The reelform GitHub action the workflow uses, at a commit id "
    "(default: from the source, if it is a GitHub repository).",
)
def command(directory: Path, force: bool, install: str | None, action: str | None) -> int:
    """Create a video-as-code repository in DIRECTORY (default: here).

    Writes an example spec that renders offline (specs/welcome.yaml), the
    template and CSV it uses, an assets/ folder, the JSON Schema for editors,
    a .gitignore for outputs, and a GitHub Actions workflow that comments the
    plan on pull requests and applies on main. Existing files are never
    overwritten without --force.

    The workflow runs the reelform GitHub action at a commit and installs a
    pinned reelform: a git URL at a commit id or a wheel URL with its sha256,
    never a bare package name. By default it is the one running init, when it
    came from a git checkout or was installed from such a URL.
    """
    from reelform.scaffold import WORKFLOW, Origin, contents, existing, running_origin, write
    from reelform.scaffold.pinned import NotPinned, parse, parse_action

    try:
        source = parse(install) if install is not None else None
    except NotPinned as exc:
        raise ConfigError(f"init: --install: {exc}") from None
    try:
        ref = parse_action(action) if action is not None else None
    except NotPinned as exc:
        raise ConfigError(f"init: --action: {exc}") from None
    # --install without --action: the source's own action (a GitHub repository at a
    # commit) or a placeholder, never an action of another version than the source.
    origin = running_origin() if install is None else Origin.of(source)
    origin = Origin.of(origin.source, ref or origin.action)
    files = contents(origin)
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
    if origin.action is None:
        click.echo(
            f"\nnote: not known where this reelform came from (a pinned source): fill in the "
            f"lines marked CHANGE ME in {directory / WORKFLOW}, or run init again with "
            "--install SPEC or --action OWNER/REPO@COMMIT (see --help)",
            err=True,
        )
    else:
        click.echo(f"\nThe workflow uses reelform's action {origin.action}.")
    where = "" if directory.resolve() == Path.cwd().resolve() else f"cd {os.fspath(directory)} && "
    click.echo(
        f"\nNext: {where}reelform plan    (then `reelform apply` renders the example offline)"
    )
    return 0
