"""`watch --preview --serve`: the gallery of a watch session, kept up to date.

After each batch the watcher prints (the plan, then its previews), ``update``
collects the gallery again from the session's plans and hands it to the server,
which tells the open pages which cards changed (server-sent events): a card
updates by itself when its spec, a template or a data row changed and again when
its preview is rendered. A spec that fails to load keeps its last cards (the
terminal says what is wrong), so a typo does not empty the page.
"""

from __future__ import annotations

import asyncio
import traceback
from pathlib import Path

from reelform.errors import UserError
from reelform.review.build import Gallery, SpecCards, collect
from reelform.review.server import GalleryServer
from reelform.watch.session import Session


class LiveGallery:
    def __init__(self, session: Session, *, previews: bool) -> None:
        self.session = session
        self.previews = previews
        self.server = GalleryServer()
        self._last: dict[Path, SpecCards] = {}

    async def update(self) -> None:
        """Collect and publish; a failure is said on the page and never stops the
        watcher (the cards stay as they were)."""
        try:
            gallery = await asyncio.to_thread(self._collect)
        except UserError as exc:  # e.g. an approvals file that does not parse
            self._fail("; ".join(exc.lines()))
            return
        except Exception:  # a bug: said in the terminal, the watcher goes on
            traceback.print_exc()
            self._fail("the gallery could not be updated (an internal error; see the terminal)")
            return
        self.server.notice = None
        self.server.publish(gallery)

    def _fail(self, text: str) -> None:
        self.server.notice = text
        self.server.hub.publish("notice", {"text": text})

    def _collect(self) -> Gallery:
        paths = list(self.session.specs)
        planned = self.session.planned(paths)
        fresh = collect(planned, previews=self.previews, hash_file=self.session.hashes)
        by_path = {spec.prepared.spec.path.resolve(): spec for spec in fresh.specs}
        specs = []
        for path in paths:
            spec = by_path.get(path) or self._last.get(path)
            if spec is not None:
                specs.append(spec)
        self._last = {p: s for p in paths if (s := by_path.get(p) or self._last.get(p))}
        posters = {**self.server.gallery.posters, **fresh.posters}
        return Gallery(specs, posters)
