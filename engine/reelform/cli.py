"""The `reelform` command: parse, dispatch, and map errors to exit codes.

Each subcommand lives in ``reelform.commands.<name>`` as a click command named
``command`` and is imported only when it runs, so `reelform validate` starts fast.
Exit codes: 0 success, 1 a user error (printed as ``FILE:LINE:COL: message``),
2 "changes present" for ``plan --detailed-exitcode`` (and click's usage errors),
3 a bug (with a traceback), 130 interrupted.
"""

from __future__ import annotations

import importlib
import os
import traceback
from typing import NoReturn

# reelform uses no pydantic plugins; looking for them scans every installed
# package's metadata at the first model (a tenth of a small plan's start-up).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import click

from reelform import heap
from reelform.errors import ProviderError, UserError
from reelform.secrets import redact

COMMANDS = {
    "validate": "Check specs, templates and data files; report every problem.",
    "plan": "Show what apply would do (no network, no writes).",
    "apply": "Make the videos exist: upload, submit, poll, download, record.",
    "approve": "Approve (or --reject) the renders a plan would make, for `apply --approved`.",
    "watch": "Re-validate and re-plan on every change.",
    "review": "Build (or serve) a gallery of the videos to look at before paying.",
    "avatars": "List a provider's avatars.",
    "voices": "List a provider's voices.",
    "sim": "Serve simulators of the JoggAI and Mirako APIs on loopback.",
    "schema": "Print the JSON Schema of the spec format.",
    "init": "Scaffold a video-as-code repository.",
    "state": "PostgreSQL state: `state pull` writes lockfiles, `push` imports them, `list`.",
    "lock": "Look after lockfiles: `lock repair SPEC` recovers a damaged one; `lock merge` merges.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"reelform.commands.{cmd_name}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help without importing every command module.
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reelform")
def cli() -> None:
    """reelform: video as code for AI talking-avatar videos.

    Write YAML specs, then `reelform plan` to see what would change and
    `reelform apply` to make it so. Finished jobs are recorded in a lockfile
    beside each spec, so nothing is rendered (or paid for) twice.
    """


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script's entry point)."""
    try:
        result = cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except UserError as exc:
        for line in exc.lines():
            click.echo(redact(line), err=True)
        return 1
    except ProviderError as exc:
        click.echo(redact(f"error: {exc}"), err=True)
        return 1
    except Exception:
        click.echo(redact(traceback.format_exc()), err=True)
        click.echo(
            "reelform: internal error (a bug; please report it with the text above)", err=True
        )
        return 3
    return result if isinstance(result, int) else 0


def run() -> NoReturn:
    """The program's entry point (the console script, and ``python -m reelform``): one
    command, then exit (``heap``: a large spec's objects are not freed one by one)."""
    heap.for_one_command()
    heap.leave(main())
