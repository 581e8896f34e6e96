"""`reelform schema`: the JSON Schema of the spec format."""

from __future__ import annotations

import json

import click

from reelform.speclang.schema import json_schema


@click.command("schema")
def command() -> int:
    """Print the JSON Schema of the spec format (version 1).

    It is generated from the same models that validate specs; the repository
    keeps a copy in schemas/reelform.schema.json for editors
    (yaml-language-server reads the `# yaml-language-server: $schema=` line).
    """
    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0
