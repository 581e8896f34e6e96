"""`reelform validate`: check specs, templates, data and asset files."""

from __future__ import annotations

from pathlib import Path

import click

from reelform.commands.common import default_targets, parse_vars, spec_arguments, var_option
from reelform.project import prepare_all


@click.command("validate")
@spec_arguments
@var_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when everything is valid.")
def command(targets: tuple[Path, ...], variables: tuple[str, ...], quiet: bool) -> int:
    """Check SPEC files (or every spec under DIR) without touching anything.

    Reports every problem as FILE:LINE:COL: message: YAML syntax, unknown keys
    (with suggestions), template errors (with the data row), data files, missing
    assets, and what each provider accepts (formats, sizes, durations, image
    dimensions), checked on the real files. Exit 0 when valid, 1 otherwise.
    """
    prepared = prepare_all(default_targets(targets), parse_vars(variables))
    if not quiet:
        for item in prepared:
            count = len(item.spec.videos)
            click.echo(f"ok  {item.spec.path}: {count:,} video{'s' if count != 1 else ''}")
    return 0
