"""Fixtures of the review gallery's tests: a rendered repository, a served gallery,
and a headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reviewkit import Page, Served, copy_repo, render_repo

from reelform.review.headless import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_repo(tmp_path_factory.mktemp("rendered"))


@pytest.fixture
def repo(base_repo: Path, tmp_path: Path) -> Path:
    return copy_repo(base_repo, tmp_path / "repo")


@pytest.fixture
def served(repo: Path) -> Iterator[Served]:
    server = Served(["review", "specs/team.yaml", "--serve", "127.0.0.1:0"], repo)
    try:
        yield server
    finally:
        server.stop()


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: scripts/system-deps/chromium.sh installs it")
    pytest.skip(f"{CHROMIUM} is missing (`make system-deps` installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped, not session-scoped: Playwright's sync API runs an event loop in
    this thread while it is open, and every later test that calls asyncio.run would
    find it running. Closed at the end of the module that uses it."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield Page(context.new_page())
    finally:
        context.close()
