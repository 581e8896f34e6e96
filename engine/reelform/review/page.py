"""The gallery's HTML: one page of cards, and a card alone (for live updates).

Jinja with autoescape on: every value a card shows (a name, a script, a data row, a
provider's failure reason) is text in the page, never markup; the page also carries
no inline script, so the server's Content-Security-Policy can forbid any.

``Links`` is the only difference between the served page and a static build: the
server addresses files by key (``/media/<key>``, ``/posters/<sha256>.jpg``), a static
build by relative paths from its folder, so it opens from the file system too.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import jinja2

from reelform.review.build import Gallery
from reelform.review.model import Card, Counts, Media

ASSETS = ("gallery.css", "gallery.js")


@dataclass(frozen=True)
class Links:
    poster: Callable[[Media], str | None]
    media: Callable[[Media], str]
    asset: Callable[[str], str]
    live: bool  # served: approvals and live updates work


def served_links(gallery: Gallery) -> Links:
    posters = gallery.posters

    def poster(media: Media) -> str | None:
        return f"/posters/{media.sha256}.jpg" if media.sha256 in posters else None

    return Links(poster, lambda m: f"/media/{m.key}", lambda name: f"/assets/{name}", True)


def static_links(gallery: Gallery, folder: Path) -> Links:
    posters = gallery.posters
    base = os.path.realpath(folder)

    def poster(media: Media) -> str | None:
        return f"posters/{media.sha256}.jpg" if media.sha256 in posters else None

    def media(m: Media) -> str:
        return quote(Path(os.path.relpath(m.path, base)).as_posix())

    return Links(poster, media, lambda name: f"assets/{name}", False)


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("reelform.review", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )


def title_of(gallery: Gallery) -> str:
    labels = [s.label for s in gallery.specs]
    if len(labels) <= 3:
        return ", ".join(labels)
    return f"{', '.join(labels[:2])} and {len(labels) - 2} more specs"


def render_page(gallery: Gallery, links: Links, notice: str | None = None) -> str:
    cards = gallery.cards
    template = _environment().get_template("page.html.j2")
    return template.render(
        cards=cards,
        counts=Counts.of(cards),
        links=links,
        title=title_of(gallery),
        notice=notice or "",
    )


def render_card(card: Card, links: Links) -> str:
    module = _environment().get_template("card.html.j2").module
    return str(module.card_html(card, links))  # type: ignore[attr-defined]


def render_cards(cards: Sequence[Card], links: Links) -> dict[str, str]:
    return {card.id: render_card(card, links) for card in cards}


def asset_bytes(name: str) -> bytes:
    return resources.files("reelform.review").joinpath("static", name).read_bytes()


def write_static(gallery: Gallery, folder: Path) -> Path:
    """A gallery that opens from the file system: ``folder/index.html``, its assets and
    posters copied beside it, the videos linked where they are. Returns index.html."""
    from reelform.atomic import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assets").mkdir(exist_ok=True)
    for name in ASSETS:
        atomic_write(folder / "assets" / name, asset_bytes(name))
    posters = folder / "posters"
    posters.mkdir(exist_ok=True)
    for sha256, source in gallery.posters.items():
        target = posters / f"{sha256}.jpg"
        if not target.is_file():  # content-addressed: one there is the same
            atomic_write(target, source.read_bytes())  # never a half poster to keep
    index = folder / "index.html"
    atomic_write(index, render_page(gallery, static_links(gallery, folder)).encode("utf-8"))
    return index
