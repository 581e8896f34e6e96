"""`reelform watch`: re-validate and re-plan the affected specs on every change."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from reelform import heap
from reelform.commands.common import default_targets, parse_vars, spec_arguments, var_option


@click.command("watch")
@spec_arguments
@click.option(
    "--preview",
    is_flag=True,
    help="Also render what the plan would render, locally at half size, into "
    "preview/<spec name>/ beside each spec (never a paid provider, never the "
    "real lockfile).",
)
@var_option
@click.option(
    "--debounce",
    "debounce_ms",
    type=click.IntRange(1, 10_000),
    default=25,
    show_default=True,
    metavar="MS",
    help="Wait until files were quiet for MS milliseconds before re-planning.",
)
@click.option("--clear", is_flag=True, help="Clear the terminal before each new plan.")
@click.option(
    "--serve",
    metavar="[HOST:]PORT",
    help="Also serve the review gallery (`reelform review`) on HOST:PORT (default host "
    "127.0.0.1): its cards update by themselves after each change, and again when "
    "their previews are rendered (with --preview).",
)
def command(
    targets: tuple[Path, ...],
    preview: bool,
    variables: tuple[str, ...],
    debounce_ms: int,
    clear: bool,
    serve: str | None,
) -> int:
    """Watch SPEC files (or every spec under DIR) and re-plan on every change.

    Watches the specs and the templates, data files and assets they use. A change
    re-plans only the specs it affects (a template: the specs that include it; a
    CSV: the specs that read it) and prints their new plan, or their errors, below
    a rule with the time and what changed. Errors never stop the watcher. Ctrl-C
    stops it.
    """
    # watch plans again on every change: what each plan made must be freed (heap.py).
    heap.for_many_commands()
    from reelform.plan.show import use_color
    from reelform.watch.loop import Watcher
    from reelform.watch.preview import Previewer
    from reelform.watch.session import Session

    session = Session(default_targets(targets), parse_vars(variables), color=use_color(sys.stdout))
    live = None
    if serve is not None:
        from reelform.review.live import LiveGallery
        from reelform.review.server import parse_address

        address = parse_address(serve)
        live = LiveGallery(session, previews=preview)
    watcher = Watcher(
        session,
        previewer=Previewer() if preview else None,
        debounce_ms=debounce_ms,
        clear=clear,
        on_update=live.update if live is not None else None,
    )
    try:
        if live is None:
            asyncio.run(watcher.run())
        else:
            from reelform.review.server import serve_while

            def ready(url: str) -> None:
                click.echo(f"Serving the gallery at {url} (Ctrl-C to stop)")

            asyncio.run(serve_while(live.server, *address, watcher.run, ready))
    except KeyboardInterrupt:
        # Ctrl-C is how a watch ends: not an error.
        click.echo("\nStopped watching.")
    return 0
