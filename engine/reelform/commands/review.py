"""`reelform review`: a gallery of the videos, to look at before paying."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from reelform.commands.common import default_targets, parse_vars, spec_arguments, var_option

DEFAULT_OUT = Path(".reelform") / "review"


@click.command("review")
@spec_arguments
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help=f"Write a static gallery to DIR/index.html (opens from the file system; "
    f"default {DEFAULT_OUT}/ unless --serve is given).",
)
@click.option(
    "--serve",
    metavar="[HOST:]PORT",
    help="Serve the gallery on HOST:PORT (default host 127.0.0.1, loopback only), with "
    "approve/reject buttons; Ctrl-C stops it. PORT 0 picks a free port.",
)
@click.option(
    "--preview",
    is_flag=True,
    help="First render, with the offline `local` provider and its own lockfile (as "
    "`watch --preview`), every video the plan would create or replace, and show each "
    "preview beside its card. Never a paid provider, never the real lockfile.",
)
@var_option
def command(
    targets: tuple[Path, ...],
    out: Path | None,
    serve: str | None,
    preview: bool,
    variables: tuple[str, ...],
) -> int:
    """Build a gallery of the videos of SPEC files (or every spec under DIR).

    One card per video: its poster and an inline player, name, provider, status
    (completed, failed with the provider's reason, unknown, running, pending, will
    be created or replaced with the changed fields), script or audio, aspect,
    captions, the data row it came from and its cost. Filter by status, search by
    text. Posters are cached by each file's sha256 in .reelform/posters/ beside
    the spec. Nothing is fetched from the network.
    """
    from reelform.project import plan_prepared, prepare_all
    from reelform.review.build import collect
    from reelform.review.model import Counts
    from reelform.review.page import write_static
    from reelform.review.server import GalleryServer, is_loopback, parse_address

    address = parse_address(serve) if serve is not None else None
    prepared = prepare_all(default_targets(targets), parse_vars(variables))
    planned = [(p, plan_prepared(p)) for p in prepared]
    if preview:
        from reelform.watch.preview import Previewer

        for line in asyncio.run(Previewer().run(planned)):
            click.echo(line)
    gallery = collect(planned, previews=preview)
    cards = gallery.cards
    counts = Counts.of(cards)
    shown = ", ".join(f"{n:,} {s.label}" for s, n in counts.by_status.items() if n)
    click.echo(f"{len(cards):,} video{'s' if len(cards) != 1 else ''}: {shown or 'none'}")
    problems = [c for c in cards if c.output is not None and c.output.problem is not None]
    for card in problems[:5]:
        assert card.output is not None
        click.echo(f"  {card.name}: {card.output.problem}")
    if len(problems) > 5:
        click.echo(f"  and {len(problems) - 5:,} more with a problem in their output")
    target = out if out is not None else (DEFAULT_OUT if address is None else None)
    if target is not None:
        index = write_static(gallery, target)
        click.echo(f"Wrote {index}")
    if address is None:
        return 0
    host, port = address
    if not is_loopback(host):
        click.echo(
            f"warning: serving on {host}, reachable from the network: anyone who can reach "
            "it can see the videos and approve them",
            err=True,
        )
    server = GalleryServer(gallery)
    try:
        asyncio.run(server.serve(host, port, ready=_announce))
    except KeyboardInterrupt:
        click.echo("\nStopped serving.")
    return 0


def _announce(url: str) -> None:
    click.echo(f"Serving the gallery at {url} (Ctrl-C to stop)")
