"""The watcher misses no change: not one made during the first plan, nor one made
while it switches to new folders. Driven in-process, with the session's
``after_load`` hook changing files at exact moments (no timing luck)."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from watchkit import SPEC_C, edit, write

from reelform.watch.loop import Watcher
from reelform.watch.session import Session

pytestmark = pytest.mark.slow

POLLING = {"REELFORM_WATCH_POLL": "1", "REELFORM_WATCH_POLL_MS": "50"}


def watch_until(session: Session, done: Callable[[str], bool], timeout: float = 20) -> str:
    """Run the watcher until its output satisfies ``done``; that output."""
    out = io.StringIO()
    watcher = Watcher(session, debounce_ms=30, out=out, env=POLLING)

    async def scenario() -> None:
        task = asyncio.create_task(watcher.run())
        deadline = time.monotonic() + timeout
        try:
            while not done(out.getvalue()):
                if task.done():
                    task.result()  # its error, if it failed
                    raise AssertionError("watch stopped:\n" + out.getvalue())
                if time.monotonic() > deadline:
                    raise AssertionError(
                        "watch did not print what was expected:\n" + out.getvalue()
                    )
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    return out.getvalue()


def batches(output: str) -> list[str]:
    """The batches printed, each from its rule to its '(planned in' line."""
    return re.findall(r"^── .*?^\(planned in", output, re.M | re.S)


def test_a_change_during_the_first_plan_is_replanned(repo: Path) -> None:
    csv = repo / "specs/data/people.csv"
    edited: list[Path] = []

    def during_first_plan(path: Path) -> None:
        # Right after a.yaml read the CSV, before the first plan is even shown.
        if path.name == "a.yaml" and not edited:
            edited.append(edit(csv, "id,name\n1,Ann\n2,Bob\n3,Cy\n"))

    session = Session([Path("specs")], after_load=during_first_plan)
    output = watch_until(session, lambda text: len(batches(text)) >= 2)
    assert edited
    first, second = batches(output)[:2]
    assert "watching 3 specs" in first and "hello-3" not in first
    assert "specs/data/people.csv changed · 1 spec ──" in second
    assert "hello-3" in second


def test_a_change_in_a_newly_watched_folder_before_it_is_watched_is_replanned(
    repo: Path,
) -> None:
    """c.yaml starts reading ../shared/rows.csv; the CSV changes after the plan read
    it, before the watcher watches shared/: it is re-planned all the same."""
    rows = write(repo / "shared/rows.csv", "id\n1\n")
    spec = repo / "specs/c.yaml"
    edited: list[Path] = []

    def after(path: Path) -> None:
        if path.name == "c.yaml" and "rows" in spec.read_text() and not edited:
            edited.append(edit(rows, "id\n1\n2\n"))

    session = Session([Path("specs")], after_load=after)
    write(
        spec,
        SPEC_C.replace("videos:", "data: {rows: ../shared/rows.csv}\nvideos:").replace(
            "  - name: other", '  - name: "row-{{ row.id }}"\n    for_each: rows'
        ),
    )
    output = watch_until(session, lambda text: "row-2" in text)
    assert edited
    assert "row-1" in batches(output)[0]
    assert any("shared/rows.csv changed" in b and "row-2" in b for b in batches(output)[1:])
