"""The gallery in a real browser: Debian's Chromium, headless, driven by Playwright.

Never skipped in CI (conftest.py fails there when /usr/bin/chromium is missing;
scripts/system-deps/chromium.sh installs it for `make test` and `.ci/run`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from reviewkit import SPEC, Page, Served, edit, write

from reelform.state.lockfile import read_lock, write_lock
from reelform.state.records import Status

EXTRA = """\
  - name: extra
    voice: {script: "One more, not rendered yet"}
"""


def card(page: Any, name: str) -> Any:
    return page.locator(f'article.card:has(h2.name:text-is("{name}"))')


def visible_names(page: Any) -> list[str]:
    names: list[str] = page.eval_on_selector_all(
        "article.card:not([hidden]) h2.name", "nodes => nodes.map(n => n.textContent)"
    )
    return names


def make_varied(repo: Path) -> None:
    """ann and cat completed, bob failed (with a reason), extra to be created."""
    lock_path = repo / "specs/team.lock"
    state = read_lock(lock_path)
    bob = state.videos["hello-bob"]
    state.videos["hello-bob"] = type(bob)(
        fingerprint=bob.fingerprint,
        key=bob.key,
        inputs=bob.inputs,
        provider=bob.provider,
        job_id=bob.job_id,
        status=Status.FAILED,
        error="the renderer said <b>no</b>",
    )
    write_lock(lock_path, state)
    write(repo / "specs/team.yaml", SPEC + EXTRA)


def test_the_gallery_in_a_real_browser(repo: Path, page: Page) -> None:
    make_varied(repo)
    server = Served(["review", "specs/team.yaml", "--serve", "127.0.0.1:0"], repo)
    try:
        view = page.page
        view.goto(server.url)
        view.wait_for_selector("body[data-ready=yes]")
        assert visible_names(view) == ["hello-ann", "hello-bob", "hello-cat", "extra"]

        # Posters load (lazily: each is scrolled into view first).
        for img in view.query_selector_all("img.poster"):
            img.scroll_into_view_if_needed()
        view.wait_for_function(
            "() => { const i = Array.from(document.querySelectorAll('img.poster'));"
            " return i.length === 2 && i.every(x => x.complete && x.naturalWidth > 0); }",
            timeout=15_000,
        )
        assert "not rendered yet" in card(view, "extra").inner_text()
        assert "the renderer said <b>no</b>" in card(view, "hello-bob").inner_text()

        # A row with <script> in it is text, and did not run.
        assert "<script>window.pwned=1</script>Cat" in card(view, "hello-cat").inner_text()
        assert view.evaluate("typeof window.pwned") == "undefined"

        # A <video> plays: its time advances.
        card(view, "hello-ann").locator("button.play").click()
        view.wait_for_function(
            "() => { const v = document.querySelector('video'); return v && v.currentTime > 0.3; }",
            timeout=15_000,
        )

        # Filters and search narrow the cards.
        view.locator("label.chip.status-completed input").uncheck()
        assert visible_names(view) == ["hello-bob", "extra"]
        view.locator("label.chip.status-completed input").check()
        view.fill("#search", "bob")
        assert visible_names(view) == ["hello-bob"]
        view.fill("#search", "<SCRIPT>")  # case-insensitive, and the row's text
        assert visible_names(view) == ["hello-cat"]
        view.fill("#search", "")
        view.locator("label.chip.status-failed input").uncheck()
        assert visible_names(view) == ["hello-ann", "hello-cat", "extra"]
        view.locator("label.chip.status-failed input").check()
        assert view.locator("#shown-count").inner_text() == "4"

        # An approval click is persisted and survives a reload; another open tab sees
        # it at once (server-sent events).
        other = view.context.new_page()
        other.goto(server.url)
        other.wait_for_selector("body[data-ready=yes]")
        card(view, "hello-ann").locator("button.approve").click()
        view.wait_for_selector('article.card[data-approved=yes]:has(h2.name:text-is("hello-ann"))')
        other.wait_for_selector(
            'article.card[data-approved=yes]:has(h2.name:text-is("hello-ann"))', timeout=5_000
        )
        other.close()
        approvals = (repo / "specs/team.approvals").read_text()
        assert "\nhello-ann " in approvals
        view.reload()
        view.wait_for_selector("body[data-ready=yes]")
        ann = card(view, "hello-ann")
        assert ann.get_attribute("data-approved") == "yes"
        assert "approved" in ann.locator(".approval-state").inner_text()
        assert card(view, "hello-bob").get_attribute("data-approved") == "no"
        assert view.locator("#approved-count").inner_text() == "1"

        # Approve the shown (filtered) selection: only what the filter shows.
        view.fill("#search", "cat")
        view.click("#approve-shown")
        view.wait_for_selector('article.card[data-approved=yes]:has(h2.name:text-is("hello-cat"))')
        view.fill("#search", "")
        assert card(view, "hello-bob").get_attribute("data-approved") == "no"
        assert "\nhello-cat " in (repo / "specs/team.approvals").read_text()

        assert page.errors == []
    finally:
        server.stop()


LIVE_SPEC = """\
version: 1
name: promo
provider: local
data:
  people: data/people.csv
defaults:
  avatar: {id: 2}
  voice: {voice_id: en}
  aspect: square
videos:
  - name: hi
    voice: {script: "Hi there"}
  - name: "yo-{{ row.id }}"
    for_each: people
    voice: {script: "{% include 'yo.txt.j2' %} {{ row.name }}"}
"""

CARD_SHOWS = """([name, text, before]) => {
  const c = Array.from(document.querySelectorAll('article.card'))
    .find(a => a.querySelector('h2.name').textContent === name);
  if (!c) return false;
  const s = c.querySelector('dd.script');
  if (!s || s.textContent !== text) return false;
  if (before === null) return true;
  const i = c.querySelector('figure.media-preview img.poster');
  return !!i && i.getAttribute('src') !== before && i.complete && i.naturalWidth > 0
    && !c.querySelector('figure.media-preview.stale');
}"""


def preview_src(view: Any, name: str) -> str:
    poster = card(view, name).locator("figure.media-preview img.poster")
    poster.wait_for(timeout=15_000)
    src = poster.get_attribute("src")
    assert src is not None
    return src


def test_edits_update_their_cards_under_watch_preview_serve(tmp_path: Path, page: Page) -> None:
    spec = write(tmp_path / "specs/promo.yaml", LIVE_SPEC)
    people = write(tmp_path / "specs/data/people.csv", "id,name\n1,Ann\n")
    template = write(tmp_path / "templates/yo.txt.j2", "Yo")
    server = Served(
        ["watch", "--debounce", "30", "specs/promo.yaml", "--preview", "--serve", "127.0.0.1:0"],
        tmp_path,
        {"REELFORM_WATCH_POLL": "1", "REELFORM_WATCH_POLL_MS": "50"},
    )
    try:
        server.wait_for(lambda line: "preview: 2 rendered" in line, timeout=120)
        server.wait_for(lambda line: line.startswith("Watching "))
        view = page.page
        view.goto(server.url)
        view.wait_for_selector("body[data-ready=yes]")
        before = preview_src(view, "hi")
        assert not (tmp_path / "specs/promo.lock").exists()  # the real lockfile: untouched

        # A spec edit: the card shows the new script, then the new preview, within 5 s.
        time.sleep(0.3)
        edit(spec, LIVE_SPEC.replace('"Hi there"', '"Hi there, again"'))
        saved = time.monotonic()
        view.wait_for_function(CARD_SHOWS, arg=["hi", "Hi there, again", None], timeout=5_000)
        planned = time.monotonic() - saved
        left = max(100, int((5 - planned) * 1000))
        view.wait_for_function(CARD_SHOWS, arg=["hi", "Hi there, again", before], timeout=left)
        rendered = time.monotonic() - saved
        assert rendered < 5, f"the card showed the new preview {rendered:.1f} s after the save"
        print(f"edit -> card text {planned:.2f} s, -> new preview {rendered:.2f} s")

        # A template edit, then a data row's: the card of the video that uses them.
        yo = preview_src(view, "yo-1")
        edit(template, "Hey")
        view.wait_for_function(CARD_SHOWS, arg=["yo-1", "Hey Ann", yo], timeout=15_000)
        yo = preview_src(view, "yo-1")
        edit(people, "id,name\n1,Anna\n")
        view.wait_for_function(CARD_SHOWS, arg=["yo-1", "Hey Anna", yo], timeout=15_000)

        # A new row is a new card (the page reloads itself, its filters kept).
        view.fill("#search", "yo-")
        edit(people, "id,name\n1,Anna\n2,Bo\n")
        view.wait_for_function(CARD_SHOWS, arg=["yo-2", "Hey Bo", None], timeout=15_000)
        view.wait_for_selector("body[data-ready=yes]")
        assert view.input_value("#search") == "yo-"
        assert visible_names(view) == ["yo-1", "yo-2"]

        # A spec that no longer loads keeps its cards; the terminal says what is wrong.
        edit(spec, LIVE_SPEC.replace("videos:", "videos: [oops"))
        server.wait_for(lambda line: "spec has errors" in line)
        time.sleep(0.5)
        assert card(view, "hi").count() == 1
        assert page.errors == []
    finally:
        assert server.stop() == 0


def test_a_static_build_works_from_the_file_system(repo: Path, page: Page) -> None:
    from reviewkit import reelform

    make_varied(repo)
    done = reelform(repo, "review", "specs/team.yaml", "--out", "site")
    assert done.returncode == 0, done.stderr
    view = page.page
    view.goto((repo / "site/index.html").as_uri())
    view.wait_for_selector("body[data-ready=yes]")
    view.wait_for_function(
        "() => { const i = Array.from(document.querySelectorAll('img.poster'));"
        " return i.length === 2 && i.every(x => x.complete && x.naturalWidth > 0); }",
        timeout=15_000,
    )
    card(view, "hello-cat").locator("button.play").click()
    view.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.currentTime > 0.3; }",
        timeout=15_000,
    )
    view.fill("#search", "ann")
    assert visible_names(view) == ["hello-ann"]
    assert view.locator("button.approve").count() == 0  # no server: nothing to record to
    assert view.evaluate("typeof window.pwned") == "undefined"
    assert page.errors == []
